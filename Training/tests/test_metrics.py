"""metrics.py: PSNR and the Bjontegaard deltas restricted to a bpp range."""
import math

import numpy as np
import pytest

from comrec_train import metrics

# A JPEG-like curve spanning 0.08-0.9 bpp (PSNR concave in log bpp).
CURVE = [(b, 20 + 8 * math.log10(b / 0.05) - 1.5 * math.log10(b / 0.05) ** 2)
         for b in (0.08, 0.12, 0.18, 0.27, 0.4, 0.6, 0.9)]


def test_psnr():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    assert metrics.psnr(a, b) == float("inf")
    b[0, 0, 0] = 16  # MSE = 256 / 48
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 * 48 / 256))


def test_curve_against_itself_is_zero():
    assert metrics.bd_rate(CURVE, CURVE) == pytest.approx(0, abs=1e-12)
    assert metrics.bd_psnr(CURVE, CURVE) == pytest.approx(0, abs=1e-12)


def test_scaled_bpp_gives_that_rate_change():
    cheaper = [(0.8 * b, p) for b, p in CURVE]
    assert metrics.bd_rate(CURVE, cheaper) == pytest.approx(-0.2, abs=1e-9)
    dearer = [(1.25 * b, p) for b, p in CURVE]
    assert metrics.bd_rate(CURVE, dearer) == pytest.approx(0.25, abs=1e-9)


def test_psnr_shift():
    better = [(b, p + 0.5) for b, p in CURVE]
    assert metrics.bd_psnr(CURVE, better) == pytest.approx(0.5, abs=1e-9)
    assert metrics.bd_rate(CURVE, better) < 0


def test_no_overlap_is_none():
    far = [(10 * b, p) for b, p in CURVE]  # 0.8 bpp and up: nothing inside 0.1-0.6 overlaps
    assert metrics.bd_rate(CURVE, far) is None
    assert metrics.bd_psnr(CURVE, far) is None
