"""Quality metrics and Bjontegaard deltas restricted to a bits-per-pixel range.

BD-rate over [lo, hi] bpp: each curve is cut to the PSNR interval it spans inside [lo, hi] bpp
(by monotone PCHIP interpolation of PSNR against log bpp); over the intersection of the two
intervals, log bpp is interpolated against PSNR (PCHIP) for both curves, and
BD-rate = 10 ** mean(log10 bpp_test - log10 bpp_anchor) - 1 (negative: the test needs fewer bits).
BD-PSNR: mean PSNR difference over the log-bpp interval where both curves exist inside [lo, hi].
"""
import numpy as np
from scipy.interpolate import PchipInterpolator


def psnr(a, b):
    """RGB PSNR in dB between two uint8 images (MSE over all channels)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def _monotone(points):
    """Sort by bpp and keep a strictly increasing (bpp, psnr) chain."""
    pts = sorted((float(b), float(p)) for b, p in points)
    out = []
    for b, p in pts:
        if not out or (b > out[-1][0] and p > out[-1][1]):
            out.append((b, p))
    return np.array(out)


def _psnr_at(curve, bpp):
    return PchipInterpolator(np.log10(curve[:, 0]), curve[:, 1])(np.log10(bpp))


def bd_rate(anchor, test, lo=0.1, hi=0.6, samples=200):
    """anchor, test: iterables of (bpp, psnr). Returns BD-rate as a fraction, or None when the
    curves do not overlap inside [lo, hi]."""
    a, t = _monotone(anchor), _monotone(test)
    if len(a) < 2 or len(t) < 2:
        return None
    intervals = []
    for c in (a, t):
        b0, b1 = max(lo, c[0, 0]), min(hi, c[-1, 0])
        if b0 >= b1:
            return None
        intervals.append((_psnr_at(c, b0), _psnr_at(c, b1)))
    p0 = max(intervals[0][0], intervals[1][0])
    p1 = min(intervals[0][1], intervals[1][1])
    if p0 >= p1:
        return None
    ps = np.linspace(p0, p1, samples)
    la = PchipInterpolator(a[:, 1], np.log10(a[:, 0]))(ps)
    lt = PchipInterpolator(t[:, 1], np.log10(t[:, 0]))(ps)
    return float(10 ** np.mean(lt - la) - 1)


def bd_psnr(anchor, test, lo=0.1, hi=0.6, samples=200):
    a, t = _monotone(anchor), _monotone(test)
    if len(a) < 2 or len(t) < 2:
        return None
    b0 = max(lo, a[0, 0], t[0, 0])
    b1 = min(hi, a[-1, 0], t[-1, 0])
    if b0 >= b1:
        return None
    bs = np.geomspace(b0, b1, samples)
    return float(np.mean(_psnr_at(t, bs) - _psnr_at(a, bs)))
