"""MS-SSIM: known properties, and a brute-force evaluation of the definition window by window."""
import numpy as np
import pytest

from comrec_train import msssim
from conftest import synthetic_image


def test_identical_images_give_one():
    img = synthetic_image(170, 180, seed=1)
    assert msssim.ms_ssim(img, img) == pytest.approx(1.0, abs=1e-12)


def test_monotone_in_noise():
    img = synthetic_image(176, 192, seed=2)
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1, img.shape)
    values = [msssim.ms_ssim(img, np.clip(np.rint(img + s * noise), 0, 255).astype(np.uint8))
              for s in (1, 3, 8, 20, 50)]
    assert all(a > b for a, b in zip(values, values[1:])), values
    assert 0 < values[-1] < values[0] < 1


def test_symmetric_and_rgb_is_mean_of_channels():
    a = synthetic_image(165, 171, seed=3)  # odd sizes: the downsampling replicates the last row
    b = np.clip(a.astype(int) + np.random.default_rng(1).integers(-9, 10, a.shape), 0, 255).astype(np.uint8)
    assert msssim.ms_ssim(a, b) == pytest.approx(msssim.ms_ssim(b, a), abs=1e-12)
    per_channel = [msssim.ms_ssim(a[..., c], b[..., c]) for c in range(3)]
    assert msssim.ms_ssim(a, b) == pytest.approx(np.mean(per_channel), abs=1e-12)


def test_unrelated_images_clamp_at_zero():
    # A negative SSIM cannot take a fractional power: the definition clamps it to 0.
    a = synthetic_image(19, 23, seed=4)[..., 0]
    b = 255 - a
    assert msssim.ms_ssim(a, b, scales=1) == 0.0


def test_too_small_for_five_scales_is_an_error():
    assert msssim.min_side(5) == 161
    ok = synthetic_image(161, 161)
    msssim.ms_ssim(ok, ok)
    small = synthetic_image(160, 300)
    with pytest.raises(ValueError, match="161"):
        msssim.ms_ssim(small, small)
    assert msssim.ms_ssim(small, small, scales=4) == pytest.approx(1.0)


# ---------------------------------------------------------------- brute force, window by window

def brute_ssim_cs(x, y):
    """Mean SSIM and cs over every 11 x 11 window position, straight from the formulas."""
    g1 = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5 ** 2))
    g = np.outer(g1, g1) / np.outer(g1, g1).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    ssims, css = [], []
    for i in range(x.shape[0] - 10):
        for j in range(x.shape[1] - 10):
            px, py = x[i:i + 11, j:j + 11], y[i:i + 11, j:j + 11]
            mx, my = (g * px).sum(), (g * py).sum()
            vx, vy = (g * (px - mx) ** 2).sum(), (g * (py - my) ** 2).sum()
            cov = (g * (px - mx) * (py - my)).sum()
            cs = (2 * cov + c2) / (vx + vy + c2)
            css.append(cs)
            ssims.append((2 * mx * my + c1) / (mx * mx + my * my + c1) * cs)
    return np.mean(ssims), np.mean(css)


def brute_half(x):
    h, w = x.shape
    out = np.empty(((h + 1) // 2, (w + 1) // 2))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.mean([x[min(2 * i + a, h - 1), min(2 * j + b, w - 1)]
                                 for a in (0, 1) for b in (0, 1)])
    return out


def test_one_scale_is_mean_ssim():
    a = synthetic_image(19, 23, seed=4)[..., 0].astype(np.float64)
    b = np.clip(a + np.random.default_rng(3).normal(0, 20, a.shape), 0, 255)
    ssim, _ = brute_ssim_cs(a, b)
    assert 0 < ssim < 0.99
    assert msssim.ms_ssim(a, b, scales=1) == pytest.approx(ssim, rel=1e-10)


def test_two_scales_odd_size_brute_force():
    a = synthetic_image(23, 25, seed=6)[..., 1].astype(np.float64)
    b = np.clip(a + np.random.default_rng(2).normal(0, 10, a.shape), 0, 255)
    w = msssim.WEIGHTS[:2] / msssim.WEIGHTS[:2].sum()
    _, cs1 = brute_ssim_cs(a, b)
    ssim2, _ = brute_ssim_cs(brute_half(a), brute_half(b))
    expected = cs1 ** w[0] * ssim2 ** w[1]
    assert 0 < expected < 0.99
    assert msssim.ms_ssim(a, b, scales=2) == pytest.approx(expected, rel=1e-10)
