"""Integer x2 resampling, bit-exact with Sources/ComRecKernels/Reference/Resample2x.swift.

Keys cubic (a = -0.5) on half-pixel centres; at a factor of two the taps are exact integers:
  upsample:   even outputs [-3, 29, 111, -9] / 128 over source i-2..i+1,
              odd outputs  [-9, 111, 29, -3] / 128 over source i-1..i+2
  downsample: [-3, -9, 29, 111, 111, 29, -9, -3] / 256 over source 2j-3..2j+4
Edges replicate. Rows first (exact int), then columns, one rounding: (sum + half) >> bits, clamp.
Arrays are uint8 H x W x C (channels last), as in the runtime.
"""
import numpy as np

UP_TAPS = (np.array([-3, 29, 111, -9], np.int64), np.array([-9, 111, 29, -3], np.int64))
DOWN_TAPS = np.array([-3, -9, 29, 111, 111, 29, -9, -3], np.int64)


def _upsample_axis(a, axis, out_len):
    n = a.shape[axis]
    idx = np.arange(out_len)
    i, phase = idx >> 1, idx & 1
    acc = 0
    for k in range(4):
        src = np.clip(i - 2 + phase + k, 0, n - 1)
        taps = np.where(phase == 0, UP_TAPS[0][k], UP_TAPS[1][k])
        shape = [1] * a.ndim
        shape[axis] = out_len
        acc = acc + np.take(a, src, axis=axis) * taps.reshape(shape)
    return acc


def upsample2x(img, out_h=None, out_w=None):
    """uint8 (h, w, c) -> uint8 (out_h, out_w, c), out sizes default to 2h, 2w."""
    h, w = img.shape[:2]
    out_h = 2 * h if out_h is None else out_h
    out_w = 2 * w if out_w is None else out_w
    a = img.astype(np.int64)
    horiz = _upsample_axis(a, 1, out_w)
    vert = _upsample_axis(horiz, 0, out_h)
    return np.clip((vert + (1 << 13)) >> 14, 0, 255).astype(np.uint8)


def _downsample_axis(a, axis):
    n = a.shape[axis]
    m = (n + 1) // 2
    j = np.arange(m)
    acc = 0
    for k in range(8):
        src = np.clip(2 * j - 3 + k, 0, n - 1)
        acc = acc + np.take(a, src, axis=axis) * DOWN_TAPS[k]
    return acc


def downsample2x(img):
    """uint8 (h, w, c) -> uint8 (ceil(h/2), ceil(w/2), c), antialiased bicubic."""
    a = img.astype(np.int64)
    v = _downsample_axis(_downsample_axis(a, 1), 0)
    return np.clip((v + (1 << 15)) >> 16, 0, 255).astype(np.uint8)


def average2x2(img):
    """uint8 (h, w, c) -> uint8 (ceil(h/2), ceil(w/2), c): (a + b + c + d + 2) >> 2, edges replicated."""
    h, w = img.shape[:2]
    a = img.astype(np.int64)
    r1 = np.clip(np.arange(0, h, 2) + 1, 0, h - 1)
    c1 = np.clip(np.arange(0, w, 2) + 1, 0, w - 1)
    r0 = np.arange(0, h, 2)
    c0 = np.arange(0, w, 2)
    s = a[r0][:, c0] + a[r0][:, c1] + a[r1][:, c0] + a[r1][:, c1]
    return ((s + 2) >> 2).astype(np.uint8)
