"""QAT forward pass == numpy integer reference, bit for bit."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from comrec_train import intref, quantize  # noqa: E402


def random_layers(rng, spec):
    layers = []
    for cin, cout, stride in spec:
        layers.append({"weight": rng.normal(0, 0.5 / np.sqrt(9 * cin), (cout, cin, 3, 3)),
                       "bias": rng.normal(0, 0.05, cout), "stride": stride})
    return layers


@pytest.mark.parametrize("spec,size", [
    ([(3, 16, 1), (16, 16, 1), (16, 3, 1)], (9, 11)),
    ([(3, 16, 1), (16, 16, 2), (16, 3, 1)], (10, 7)),
    ([(3, 16, 1), (16, 16, 1), (16, 12, 1)], (5, 6)),
])
def test_qat_forward_is_integer_reference(spec, size):
    rng = np.random.default_rng(3)
    layers = random_layers(rng, spec)
    layers[0]["weight"] /= 255  # first layer reads pixels
    layers[-1]["weight"] *= 255  # last layer writes pixel units
    layers[-1]["bias"] *= 255
    img = rng.integers(0, 256, (*size, 3)).astype(np.uint8)
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float()
    scales = quantize.calibrate(layers, x)
    chain = quantize.QuantChain(layers, scales)
    with torch.no_grad():
        got = chain(x)[0].permute(1, 2, 0).numpy().astype(np.int64)
    q = chain.export()
    feats = img
    for layer, ql in zip(layers[:-1], q[:-1]):
        feats = intref.conv_relu(feats, ql, layer["stride"])
    want = intref.residual(feats, q[-1])
    assert np.array_equal(got, want)
    assert np.abs(want).max() > 0 and feats.max() > 0


@pytest.mark.parametrize("profile,weights", [("fast", "ablation"), ("fast", "best"), ("paper", "best")])
def test_int8_file_runs_as_the_quantised_profile(tmp_path, profile, weights):
    """What qat writes is what it measured: the int8.safetensors read back (as golden.py, the
    compiler and the Swift runtime read it) gives the in-memory quantised profile's pixels. A
    permuted weight array once went to the file in its memory order and passed every other test."""
    from conftest import make_checkpoint, synthetic_image
    from comrec_train import export, golden, qat
    from comrec_train.make_test_model import load_model
    ckpt = make_checkpoint(tmp_path / f"{profile}.pt", profile, seed=4)
    out = tmp_path / profile
    export.export(str(ckpt), weights, out=str(out), profile=profile)
    config, tensors = export.load_exported(str(out))
    crops = np.stack([synthetic_image(32, 32, seed=s) for s in range(4)])
    qp = quantize.QuantProfile.calibrated(config, tensors, crops)
    qat.write_int8(qp, str(out), profile)
    file_config, nets = load_model(str(out))
    image = synthetic_image(23, 30, seed=9)
    compact = qp.compact(image)
    assert np.array_equal(golden.compact_image(file_config, nets, image), compact)
    want = qp.reconstruct(compact, 23, 30)
    got = golden.reconstruct(file_config, nets, compact, 23, 30)
    assert np.array_equal(got, want)
    assert not np.array_equal(want, golden.reconstruct(file_config, nets, compact[::-1].copy(), 23, 30))
