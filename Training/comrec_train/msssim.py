"""MS-SSIM (Wang, Simoncelli and Bovik, "Multi-scale structural similarity for image quality
assessment", 2003), in numpy/scipy, as the project reports it.

Definition used here (the one of the authors' msssim.m, with pytorch_msssim's clamp):
- Inputs are uint8 (or float on 0..255) images, H x W x C or H x W; data range L = 255.
- RGB: MS-SSIM is computed on each channel separately and the per-channel values are averaged
  (as pytorch_msssim and CompressAI report it for RGB). Not on luma: the codec's outputs are RGB
  and PSNR is also measured on RGB.
- At each scale: SSIM statistics with an 11 x 11 Gaussian window (sigma 1.5, normalised to sum 1),
  'valid' filtering only (no padding), C1 = (0.01 L)^2, C2 = (0.03 L)^2;
  cs = mean((2 sigma_xy + C2) / (sigma_x^2 + sigma_y^2 + C2)),
  ssim = mean(luminance term * the cs map).
- Between scales: 2 x 2 average then keep every other pixel; an odd last row or column is averaged
  with itself (msssim.m's 'symmetric' boundary), so a side n becomes ceil(n / 2).
- MS-SSIM = prod_{j<M} max(cs_j, 0)^w_j * max(ssim_M, 0)^w_M with M = 5 and
  w = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]. The clamp at 0 only matters for images that are
  nearly unrelated (a negative base with a fractional power has no real value).

Size: every scale needs at least one full 11 x 11 window, so 5 scales need both sides >= 161
(161 -> 81 -> 41 -> 21 -> 11). Smaller images raise ValueError rather than silently changing the
metric; `scales` < 5 is available for tests or small crops and then uses the first `scales`
weights renormalised to sum 1 (a different metric: do not compare it with 5-scale figures).
"""
import numpy as np
from scipy.ndimage import correlate1d

WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
WINDOW = 11
SIGMA = 1.5
K1, K2 = 0.01, 0.03


def gaussian_window(size=WINDOW, sigma=SIGMA):
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-(x ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def min_side(scales=5):
    """Smallest image side for which all `scales` scales still hold one 11 x 11 window."""
    return (WINDOW - 1) * 2 ** (scales - 1) + 1


def _filter_valid(a, g):
    """Separable 'valid' Gaussian filtering of a 2-D float64 plane."""
    half = len(g) // 2
    # correlate1d's boundary mode never reaches the kept (interior) outputs.
    t = correlate1d(a, g, axis=0, mode="constant")[half:-half]
    return correlate1d(t, g, axis=1, mode="constant")[:, half:-half]


def _ssim_cs(x, y, data_range):
    """Mean SSIM and mean contrast-structure term of two 2-D float64 planes."""
    g = gaussian_window()
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    mx, my = _filter_valid(x, g), _filter_valid(y, g)
    sxx = _filter_valid(x * x, g) - mx * mx
    syy = _filter_valid(y * y, g) - my * my
    sxy = _filter_valid(x * y, g) - mx * my
    cs_map = (2 * sxy + c2) / (sxx + syy + c2)
    ssim_map = (2 * mx * my + c1) / (mx * mx + my * my + c1) * cs_map
    return float(ssim_map.mean()), float(cs_map.mean())


def _downsample(a):
    """2 x 2 average keeping every other pixel; an odd edge row/column is replicated."""
    h, w = a.shape
    a = np.pad(a, ((0, h % 2), (0, w % 2)), mode="edge")
    return 0.25 * (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2])


def ms_ssim_plane(x, y, scales=5, data_range=255.0):
    """MS-SSIM of two 2-D planes (one channel)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    # The standard weights sum to 1.0001; they are used as published. Only a truncated set (fewer
    # scales) is renormalised, so that identical images still score exactly 1.
    weights = WEIGHTS if scales == len(WEIGHTS) else WEIGHTS[:scales] / WEIGHTS[:scales].sum()
    value = 1.0
    for level in range(scales):
        ssim, cs = _ssim_cs(x, y, data_range)
        if level == scales - 1:
            value *= max(ssim, 0.0) ** weights[level]
        else:
            value *= max(cs, 0.0) ** weights[level]
            x, y = _downsample(x), _downsample(y)
    return float(value)


def ms_ssim(a, b, scales=5, data_range=255.0):
    """MS-SSIM of two images (H x W x C or H x W, 0..255): mean over channels of the per-channel
    MS-SSIM. Raises ValueError when a side is shorter than min_side(scales)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"MS-SSIM needs images of one shape, got {a.shape} and {b.shape}")
    if not 1 <= scales <= len(WEIGHTS):
        raise ValueError(f"scales must be 1..{len(WEIGHTS)}, got {scales}")
    need = min_side(scales)
    if min(a.shape[:2]) < need:
        raise ValueError(f"MS-SSIM with {scales} scales needs both sides >= {need} pixels, "
                         f"got {a.shape[1]} x {a.shape[0]}")
    if a.ndim == 2:
        return ms_ssim_plane(a, b, scales, data_range)
    return float(np.mean([ms_ssim_plane(a[..., c], b[..., c], scales, data_range)
                          for c in range(a.shape[2])]))
