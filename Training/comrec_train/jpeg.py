"""JPEG in training: the real codec (libjpeg-turbo through Pillow) and a differentiable stand-in.

The real codec is used wherever no gradient is needed: the RecCNN phase trains on compact images
that were really encoded and decoded, with the settings the runtime uses (4:2:0, optimised Huffman,
baseline, accurate integer DCT).

The stand-in lets gradients reach ComCNN: YCbCr (JFIF), 4:2:0 by 2x2 averaging, 8x8 DCT, division
by libjpeg's quantisation tables at the sampled quality, rounding with a straight-through gradient,
and the inverse path. Its rate estimate sums log2(1 + |c| / Q) over the coefficients; it is a proxy
for the entropy-coded size (the training issue measured a steady factor of about 2.2 to the real
size), so training only ever uses it as a ratio against the same estimate for a reference image.
"""
import functools
import io
import math

import numpy as np
from PIL import Image

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the real-codec half works with numpy alone (CI's tests)
    torch = F = None

# ITU-T T.81 Annex K tables, as libjpeg uses them (natural, row-major order).
LUMA_BASE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.float64)
CHROMA_BASE = np.array([
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99], np.float64)


def quant_table(base, quality):
    """libjpeg's jpeg_quality_scaling + jpeg_add_quant_table with force_baseline."""
    quality = min(max(int(quality), 1), 100)
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((base * scale + 50) // 100, 1, 255)


# ---------------------------------------------------------------- real codec (numpy, no grad)

def encode(img, quality, subsampling="4:2:0"):
    """uint8 H x W x 3 -> JPEG bytes (baseline, optimised Huffman)."""
    buf = io.BytesIO()
    sub = {"4:2:0": 2, "4:4:4": 0}[subsampling]
    Image.fromarray(img).save(buf, format="JPEG", quality=int(quality), subsampling=sub,
                              optimize=True)
    return buf.getvalue()


def decode(data):
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def roundtrip(img, quality):
    """Returns (decoded uint8 image, size in bytes)."""
    data = encode(img, quality)
    return decode(data), len(data)


def roundtrip_trellis(img, quality, profile, tables="comrec"):
    """(decoded, size) of the full-mode JPEG `comrec encode --mode full --profile PROFILE --tables
    TABLES` writes: trellis-quantised with the lambda the runtime chooses for that profile and
    quality, with ComRec's quantisation tables ("comrec", what `comrec encode` writes by default)
    or the standard's ("standard"), so that an enhancer can learn from exactly what the encoder
    stores. Needs the comrec Python package
    (python/; PYTHONPATH=../python after python/install.sh has built its library). The size counts
    the whole file (the ComRec segment's few dozen bytes included); the pixels are the JPEG's own."""
    import comrec  # the project's package; only trellis runs need it

    data = comrec.encode(np.ascontiguousarray(img), quality=int(quality), mode="full", profile=profile, threads=1,
                         tables=tables)
    return decode(data), len(data)


# The kinds of stored JPEG a full-mode enhancer can learn from (a config's "stored_jpeg"):
# "libjpeg" rounds with the standard's tables (plain JPEG, `comrec enhance`'s input), "trellis" is
# trellis quantisation with the standard's tables (`comrec encode --tables standard`), "comrec"
# trellis with ComRec's tables (what `comrec encode` writes by default).
STORED_JPEG_KINDS = ("libjpeg", "trellis", "comrec")


def stored_roundtrip(kind, profile):
    """(image, quality) -> (decoded, size) of the stored JPEG of that kind (STORED_JPEG_KINDS)."""
    if kind == "libjpeg":
        return roundtrip
    if kind == "trellis":
        return lambda img, q: roundtrip_trellis(img, q, profile, tables="standard")
    if kind == "comrec":
        return lambda img, q: roundtrip_trellis(img, q, profile, tables="comrec")
    raise SystemExit(f"unknown stored JPEG kind {kind!r} (one of {', '.join(STORED_JPEG_KINDS)})")


def standard_tables(quality):
    """(luma, chroma) quantisation tables of libjpeg at `quality` (the standard's, scaled), natural order."""
    return quant_table(LUMA_BASE, quality), quant_table(CHROMA_BASE, quality)


def file_tables(data):
    """(luma, chroma) quantisation tables of a three-component JPEG file, natural order: the tables
    its DQT segments hold for its first and second components (Pillow reads them in natural order)."""
    im = Image.open(io.BytesIO(data))
    if len(im.layer) != 3:
        raise ValueError(f"expected a three-component JPEG, not {len(im.layer)} components")
    tables = im.quantization
    return (np.array(tables[im.layer[0][3]], np.float64), np.array(tables[im.layer[1][3]], np.float64))


@functools.lru_cache(maxsize=None)
def comrec_tables(quality, profile):
    """(luma, chroma) tables that `comrec encode --mode full --profile PROFILE --tables comrec`
    writes at `quality`, read back from such a file (of a small colour image: a grey one would be
    stored with one component) so that they are the runtime's own, never a copy of its formula."""
    import comrec  # the project's package; only runs with ComRec's tables need it

    img = np.zeros((32, 32, 3), np.uint8)
    img[..., 0] = np.arange(32, dtype=np.uint8)[None, :] * 8
    img[..., 2] = np.arange(32, dtype=np.uint8)[:, None] * 8
    data = comrec.encode(img, quality=int(quality), mode="full", profile=profile, threads=1, tables="comrec")
    return file_tables(data)


def stored_tables(kind, profile):
    """quality -> (luma, chroma) quantisation tables of the stored JPEG of that kind
    (STORED_JPEG_KINDS): the stand-in below divides by these, so that ComCNN learns the steps
    its compact image will really be quantised with."""
    if kind in ("libjpeg", "trellis"):
        return standard_tables
    if kind == "comrec":
        return lambda q: comrec_tables(int(q), profile)
    raise SystemExit(f"unknown stored JPEG kind {kind!r} (one of {', '.join(STORED_JPEG_KINDS)})")


# ---------------------------------------------------------------- differentiable stand-in

def _dct_matrix(device):
    n = torch.arange(8, dtype=torch.float32, device=device)
    k = n.view(-1, 1)
    m = torch.cos(math.pi * (2 * n + 1) * k / 16) * math.sqrt(2 / 8)
    m[0] /= math.sqrt(2)
    return m  # orthonormal: JPEG's DCT is this 2-D DCT-II


def _rgb_to_ycbcr(x):
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
    return y.unsqueeze(1), torch.stack((cb, cr), 1)


def _ycbcr_to_rgb(y, c):
    y = y[:, 0]
    cb, cr = c[:, 0] - 128, c[:, 1] - 128
    return torch.stack((y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb), 1)


def _blocks(x):
    """N x C x H x W (H, W multiples of 8) -> N x C x H/8 x W/8 x 8 x 8."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 8, 8, w // 8, 8).permute(0, 1, 2, 4, 3, 5)


def _unblocks(b):
    n, c, bh, bw = b.shape[:4]
    return b.permute(0, 1, 2, 4, 3, 5).reshape(n, c, bh * 8, bw * 8)


def _round_ste(x):
    return x + (torch.round(x) - x).detach()


def _code_plane(plane, table, dct):
    blocks = _blocks(plane - 128)
    coef = dct @ blocks @ dct.T
    scaled = coef / table
    rate = torch.log2(1 + scaled.abs()).sum(dim=(1, 2, 3, 4, 5))
    rec = dct.T @ (_round_ste(scaled) * table) @ dct
    return _unblocks(rec) + 128, rate


def jpeg_proxy(x, qualities, tables=standard_tables):
    """Differentiable JPEG stand-in. x: N x 3 x H x W on 0..255, H and W multiples of 16;
    qualities: one JPEG quality per image; tables: quality -> (luma, chroma) quantisation tables
    (stored_tables; default the standard's). Returns (decoded estimate, rate estimate per image)."""
    dev = x.device
    dct = _dct_matrix(dev)
    pairs = [tables(q) for q in qualities]
    luma = torch.tensor(np.stack([p[0] for p in pairs]), dtype=torch.float32, device=dev).view(-1, 1, 1, 1, 8, 8)
    chroma = torch.tensor(np.stack([p[1] for p in pairs]), dtype=torch.float32, device=dev).view(-1, 1, 1, 1, 8, 8)
    x = _round_ste(x.clamp(0, 255))
    y, c = _rgb_to_ycbcr(x)
    c = F.avg_pool2d(c, 2)
    y_rec, y_rate = _code_plane(y, luma, dct)
    c_rec, c_rate = _code_plane(c, chroma, dct)
    c_rec = F.interpolate(c_rec, scale_factor=2, mode="bilinear", align_corners=False)
    return _ycbcr_to_rgb(y_rec, c_rec).clamp(0, 255), y_rate + c_rate
