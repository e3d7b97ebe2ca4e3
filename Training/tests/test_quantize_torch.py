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
