"""The numpy integer reference against a plain loop nest that reads like docs/int8.md."""
import numpy as np
import pytest

from comrec_train import intref


def loop_conv(x, w, b, m, stride, lo, hi):
    h, wd, cin = x.shape
    cout = w.shape[0]
    ho, wo = -(-h // stride), -(-wd // stride)
    out = np.zeros((ho, wo, cout), np.int64)
    for y in range(ho):
        for xx in range(wo):
            for c in range(cout):
                acc = int(b[c])
                for ky in range(3):
                    for kx in range(3):
                        sy, sx = stride * y + ky - 1, stride * xx + kx - 1
                        if 0 <= sy < h and 0 <= sx < wd:
                            acc += int(np.dot(x[sy, sx].astype(np.int64), w[c, ky, kx].astype(np.int64)))
                v = np.float32(acc) * np.float32(m[c])
                out[y, xx, c] = min(max(int(np.rint(v)), lo), hi)
    return out


@pytest.mark.parametrize("shape,cin,cout,stride,xmax", [
    ((5, 7), 3, 8, 1, 255), ((6, 5), 8, 4, 2, 127), ((1, 1), 4, 3, 1, 127), ((7, 3), 4, 12, 2, 127)])
def test_conv_matches_loops(shape, cin, cout, stride, xmax):
    rng = np.random.default_rng(1)
    x = rng.integers(0, xmax + 1, (*shape, cin)).astype(np.uint8)
    w = rng.integers(-127, 128, (cout, 3, 3, cin)).astype(np.int8)
    b = rng.integers(-5000, 5000, cout).astype(np.int32)
    m = (rng.random(cout) * 0.01).astype(np.float32)
    layer = {"weight": w, "bias": b, "multiplier": m}
    got = intref.requantize(intref.conv3x3_acc(x, w, b, stride), m, 0, 127)
    assert np.array_equal(got, loop_conv(x, w, b, m, stride, 0, 127))
    assert np.array_equal(intref.conv_relu(x, layer, stride), got.astype(np.uint8))


def test_extremes_stay_exact():
    # All 127 inputs times all +-127 weights over 64 channels: the largest accumulators there are.
    x = np.full((4, 4, 64), 127, np.uint8)
    for sign in (1, -1):
        w = np.full((16, 3, 3, 64), sign * 127, np.int8)
        acc = intref.conv3x3_acc(x, w, np.zeros(16, np.int32))
        assert acc[1, 1, 0] == sign * 9 * 64 * 127 * 127
        assert abs(acc).max() < 2 ** 24


def test_requantize_rounds_half_to_even():
    acc = np.array([1, 3, 5, -1, -3], np.int64)
    got = intref.requantize(acc, np.float32(0.5), -255, 255)
    assert got.tolist() == [0, 2, 2, 0, -2]


def test_pixel_shuffle_order():
    res = np.arange(12).reshape(1, 1, 12)
    out = intref.pixel_shuffle(res, 2, 2)
    # channel c*4 + dy*2 + dx -> output (dy, dx, c)
    for c in range(3):
        for dy in range(2):
            for dx in range(2):
                assert out[dy, dx, c] == c * 4 + dy * 2 + dx


def _random_layers(rng, shapes):
    """Integer layers with multipliers that keep activations in range (not calibrated)."""
    layers = []
    for i, (cin, cout, stride) in enumerate(shapes):
        layers.append({"weight": rng.integers(-127, 128, (cout, 3, 3, cin)).astype(np.int8),
                       "bias": rng.integers(-3000, 3000, cout).astype(np.int32),
                       "multiplier": np.full(cout, 0.3 / (9 * cin * (255 if i == 0 else 64)), np.float32) * 127,
                       "stride": stride})
    return layers


@pytest.mark.parametrize("h,w", [(1, 1), (5, 7), (6, 4), (9, 12)])
def test_enhancer_fast_is_padded_strided_shuffled_and_cropped(h, w):
    """The fast enhancer by hand with the loop nest: replicate-pad to even, stride-2 first layer,
    pixel shuffle, crop to H x W, add onto the decoded image."""
    rng = np.random.default_rng(h * 31 + w)
    layers = _random_layers(rng, [(3, 8, 2), (8, 8, 1), (8, 12, 1)])
    img = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
    x = np.pad(img, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    for l in layers[:-1]:
        x = loop_conv(x, l["weight"], l["bias"], l["multiplier"], l["stride"], 0, 127)
    l = layers[-1]
    res = loop_conv(x, l["weight"], l["bias"], l["multiplier"], 1, -255, 255)
    full = np.zeros((2 * res.shape[0], 2 * res.shape[1], 3), np.int64)
    for c in range(3):
        for dy in range(2):
            for dx in range(2):
                full[dy::2, dx::2, c] = res[:, :, c * 4 + dy * 2 + dx]
    want = np.clip(img.astype(np.int64) + full[:h, :w], 0, 255).astype(np.uint8)
    got = intref.enhancer_fast(img, layers)
    assert got.shape == img.shape and np.array_equal(got, want)
    assert np.abs(full).max() > 0 and not np.array_equal(got, img)


def test_enhancer_paper_adds_its_residual_to_the_decoded_image():
    rng = np.random.default_rng(5)
    layers = _random_layers(rng, [(3, 8, 1), (8, 8, 1), (8, 3, 1)])
    img = rng.integers(0, 256, (7, 5, 3)).astype(np.uint8)
    x = img
    for l in layers[:-1]:
        x = loop_conv(x, l["weight"], l["bias"], l["multiplier"], 1, 0, 127)
    l = layers[-1]
    res = loop_conv(x, l["weight"], l["bias"], l["multiplier"], 1, -255, 255)
    want = np.clip(img.astype(np.int64) + res, 0, 255).astype(np.uint8)
    assert np.array_equal(intref.enhancer_paper(img, layers), want)
    assert np.abs(res).max() > 0 and not np.array_equal(want, img)
    assert intref.enhancer_wiring({"pixel_shuffle": 1}) == "paper"
    assert intref.enhancer_wiring({"pixel_shuffle": 2}) == "fast"


def test_enhancer_with_a_zero_last_layer_is_the_identity():
    rng = np.random.default_rng(6)
    for wiring, shapes in (("fast", [(3, 8, 2), (8, 12, 1)]), ("paper", [(3, 8, 1), (8, 3, 1)])):
        layers = _random_layers(rng, shapes)
        layers[-1]["weight"][:] = 0
        layers[-1]["bias"][:] = 0
        img = rng.integers(0, 256, (5, 9, 3)).astype(np.uint8)
        assert np.array_equal(intref.ENHANCER[wiring](img, layers), img)
