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
