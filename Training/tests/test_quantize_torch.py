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


# ---------------------------------------------------------------- the fast exact path of qat's evaluation

FAST_PATH_SIZES = [(23, 30), (17, 9), (8, 13), (1, 3)]


def quantised_profile(tmp_path, profile, weights):
    from conftest import make_checkpoint, synthetic_image
    from comrec_train import export
    ckpt = make_checkpoint(tmp_path / f"{profile}.pt", profile, seed=5)
    out = tmp_path / f"{profile}-{weights}"
    export.export(str(ckpt), weights, out=str(out), profile=profile)
    config, tensors = export.load_exported(str(out))
    crops = np.stack([synthetic_image(32, 32, seed=s) for s in range(4)])
    return quantize.QuantProfile.calibrated(config, tensors, crops)


@pytest.mark.parametrize("profile,weights,reads,compact", [
    ("fast", "best", "decoded", "comcnn"), ("paper", "best", "upsampled", "comcnn"),
    ("fast", "ablation", "decoded", "average2x2")])
def test_fast_path_is_the_integer_reference(tmp_path, profile, weights, reads, compact):
    """qat.compare() measures with compact_fast / reconstruct_fast (the torch forward under no_grad):
    they must give intref's bytes, for both RecCNN wirings (paper: reads the upsampled image; fast:
    reads the decoded compact image, pixel shuffle) and odd sizes (a cropped shuffle)."""
    from conftest import synthetic_image
    from comrec_train import jpeg, resample
    qp = quantised_profile(tmp_path, profile, weights)
    assert qp.config["networks"]["rec"]["reads"] == reads and qp.config["compact"] == compact
    rng = np.random.default_rng(7)
    changed = 0
    for h, w in FAST_PATH_SIZES:
        image = synthetic_image(h, w, seed=h * w)
        compact_image = qp.compact(image)
        got = qp.compact_fast(image)
        assert got.dtype == np.uint8 and np.array_equal(got, compact_image), (h, w)
        noise = rng.integers(0, 256, compact_image.shape).astype(np.uint8)  # drives the clamps
        for decoded in (jpeg.roundtrip(compact_image, 30)[0], noise):
            want = qp.reconstruct(decoded, h, w)
            got = qp.reconstruct_fast(decoded, h, w)
            assert got.dtype == np.uint8 and got.shape == (h, w, 3) == want.shape, (h, w)
            assert np.array_equal(got, want), (h, w, int(np.sum(got != want)))
            changed += int(np.sum(want != resample.upsample2x(decoded, h, w)))
    # not vacuous: the network changes the upsampled image, ComCNN the 2x2 average
    assert changed > 100
    if compact == "comcnn":
        assert not np.array_equal(compact_image, resample.average2x2(intref.pad_to_even(image)))


@pytest.mark.parametrize("profile,shuffle", [("fast", 2), ("paper", 1)])
def test_fast_enhancer_is_the_integer_reference(profile, shuffle):
    """qat.compare_enhancer() measures with enhance_fast: intref's bytes for both enhancer wirings
    (fast: replicate-padded, stride 2, pixel shuffle, cropped; paper: full resolution)."""
    from conftest import randomise, synthetic_image
    from comrec_train import export, jpeg, models
    net = randomise(models.make_enhancer(profile, width=16, middle=2), 3)
    config, tensors = export.export_enhancer_config(profile, net, source={})
    decoded = np.stack([synthetic_image(32, 32, seed=s) for s in range(4)])
    qe = quantize.QuantEnhancer.calibrated(config, tensors, decoded)
    assert qe.net["pixel_shuffle"] == shuffle and qe.wiring() == profile
    rng = np.random.default_rng(8)
    for h, w in FAST_PATH_SIZES + [(1, 1), (16, 12)]:
        image = synthetic_image(h, w, seed=h + w)
        for src in (jpeg.roundtrip(image, 20)[0], rng.integers(0, 256, (h, w, 3)).astype(np.uint8)):
            want = qe.enhance(src)
            got = qe.enhance_fast(src)
            assert got.dtype == np.uint8 and got.shape == (h, w, 3) == want.shape, (h, w)
            assert np.array_equal(got, want), (h, w, int(np.sum(got != want)))
    assert not np.array_equal(want, src)


def test_qat_checks_the_fast_path_against_intref(tmp_path, monkeypatch, capsys):
    """qat.main's one numpy-reference check passes on the real path and stops qat when the torch
    path is off by one."""
    from conftest import synthetic_image
    from comrec_train import qat
    qp = quantised_profile(tmp_path, "fast", "best")
    image = synthetic_image(24, 22, seed=2)
    qat.check_fast_path(qp, image, 20)
    assert "torch path == intref" in capsys.readouterr().out
    real = quantize.run_chain
    monkeypatch.setattr(quantize, "run_chain", lambda chain, x: real(chain, x) + 1)
    with pytest.raises(SystemExit, match="int8 check FAILED"):
        qat.check_fast_path(qp, image, 20)


def test_max_quality_is_where_the_enhancer_stops_gaining():
    from comrec_train.qat import max_quality_with_gain
    rows = lambda gains: [{"q": q, "jpeg_psnr": 30.0, "int8_psnr": 30.0 + g} for q, g in gains]
    assert max_quality_with_gain(rows([(50, 0.2), (10, 0.6), (75, -0.1), (90, 0.05)])) == 50
    assert max_quality_with_gain(rows([(10, 0.5), (90, 0.01)])) == 90
    assert max_quality_with_gain(rows([(10, 0.0), (20, 0.3)])) is None
