"""resample.py against a direct evaluation of the Keys cubic (a = -0.5) on half-pixel centres.

The reference below never uses resample's tap tables: it evaluates the kernel at the geometric
distances, builds the full resampling matrices (edge samples replicated), applies them in float64
(exact here: every weight is a multiple of 1/128 or 1/256 and the sums stay far below 2^53), and
rounds once with floor(v + 0.5), clamped to 0..255, which is what (sum + half) >> bits does.
"""
import math

import numpy as np
import pytest

from comrec_train import resample
from conftest import synthetic_image

SIZES = [(1, 1), (1, 5), (2, 3), (3, 2), (5, 7), (8, 8), (9, 4), (16, 11), (23, 30)]


def keys(x, a=-0.5):
    x = abs(x)
    if x <= 1:
        return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1
    if x < 2:
        return a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a
    return 0.0


def up_matrix(n, out_len):
    """out_len x n: output i sits at source coordinate (i + 0.5) / 2 - 0.5."""
    m = np.zeros((out_len, n))
    for i in range(out_len):
        s = (i + 0.5) / 2 - 0.5
        for j in range(math.floor(s) - 2, math.floor(s) + 4):
            m[i, min(max(j, 0), n - 1)] += keys(s - j)
    return m


def down_matrix(n):
    """ceil(n/2) x n: output o sits at source coordinate 2o + 0.5; the kernel is stretched x2
    (antialiasing), so its support is 8 source samples and its weights are keys(d / 2) / 2."""
    out_len = (n + 1) // 2
    m = np.zeros((out_len, n))
    for o in range(out_len):
        s = 2 * o + 0.5
        for j in range(math.floor(s) - 4, math.floor(s) + 6):
            m[o, min(max(j, 0), n - 1)] += keys((j - s) / 2) / 2
    return m


def apply(rows, cols, img):
    out = np.einsum("ij,jkc,lk->ilc", rows, img.astype(np.float64), cols)
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


def test_kernel_gives_the_integer_taps():
    # Interior rows of the matrices are exactly the documented taps.
    up = up_matrix(12, 24)
    assert list(up[10, 3:7] * 128) == [-3, 29, 111, -9]  # output 2i, i = 5: source 3..6
    assert list(up[11, 4:8] * 128) == [-9, 111, 29, -3]  # output 2i+1: source 4..7
    down = down_matrix(20)
    assert list(down[5, 7:15] * 256) == [-3, -9, 29, 111, 111, 29, -9, -3]  # source 2j-3..2j+4
    assert np.allclose(up.sum(1), 1) and np.allclose(down.sum(1), 1)


@pytest.mark.parametrize("h,w", SIZES)
def test_upsample_matches_direct_kernel(h, w):
    rng = np.random.default_rng(h * 100 + w)
    for img in (rng.integers(0, 256, (h, w, 3), dtype=np.uint8),  # noise: exercises the clamp
                synthetic_image(h, w, seed=h + w)):
        expected = apply(up_matrix(h, 2 * h), up_matrix(w, 2 * w), img)
        assert np.array_equal(resample.upsample2x(img), expected)


@pytest.mark.parametrize("h,w", SIZES)
def test_upsample_crop_to_odd_size(h, w):
    img = np.random.default_rng(7).integers(0, 256, (h, w, 3), dtype=np.uint8)
    full = resample.upsample2x(img)
    oh, ow = 2 * h - 1, 2 * w - 1
    assert np.array_equal(resample.upsample2x(img, oh, ow), full[:oh, :ow])
    assert np.array_equal(resample.upsample2x(img, oh, ow), apply(up_matrix(h, oh), up_matrix(w, ow), img))


@pytest.mark.parametrize("h,w", SIZES)
def test_downsample_matches_direct_kernel(h, w):
    rng = np.random.default_rng(h * 31 + w)
    for img in (rng.integers(0, 256, (h, w, 3), dtype=np.uint8), synthetic_image(h, w, seed=h * w)):
        out = resample.downsample2x(img)
        assert out.shape == ((h + 1) // 2, (w + 1) // 2, 3)
        assert np.array_equal(out, apply(down_matrix(h), down_matrix(w), img))


@pytest.mark.parametrize("h,w", SIZES)
def test_average2x2_direct(h, w):
    img = np.random.default_rng(h + 5 * w).integers(0, 256, (h, w, 3), dtype=np.uint8)
    out = resample.average2x2(img)
    assert out.shape == ((h + 1) // 2, (w + 1) // 2, 3)
    for y in range(out.shape[0]):
        for x in range(out.shape[1]):
            block = [img[min(2 * y + dy, h - 1), min(2 * x + dx, w - 1)].astype(int)
                     for dy in (0, 1) for dx in (0, 1)]
            assert np.array_equal(out[y, x], (sum(block) + 2) // 4)
