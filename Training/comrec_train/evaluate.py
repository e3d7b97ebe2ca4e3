"""Rate-distortion curves over folders of PNGs, and Bjontegaard deltas against JPEG and bicubic.

    python -m comrec_train.evaluate ../../shared/datasets/val/cbsd68 \
        --checkpoint checkpoints/fast.pt --profile fast --weights best ablation \
        [--exported ../Weights/fast] [--limit 4] --json eval.json

Curves (one point per JPEG quality, averaged over the images):
- jpeg: the whole image as a plain JPEG (libjpeg-turbo via Pillow: 4:2:0, optimised Huffman).
- bicubic: resample.downsample2x, JPEG, resample.upsample2x cropped to the original size.
- <profile>-<weights> for each --checkpoint and --weights: the float models of a train.py
  checkpoint (latest: its com/rec; best: the best pair on the development set; ablation: the RecCNN
  trained on the 2x2 average, with the 2x2 average as compact image).
- <profile>-exported for each --exported folder: the folded float networks written by export.py.
The half-resolution paths are ComRec files: their size is the JPEG plus the ComRec APP9 segment
(segment_bytes: 30 + the profile name's length, e.g. 34 bytes for `fast`).

bpp = file bytes * 8 / original pixels. PSNR: metrics.psnr (RGB). MS-SSIM: msssim.ms_ssim (per RGB
channel, averaged); null in every point when any image is smaller than 161 pixels on a side.
BD (in "bd"): metrics.bd_rate / bd_psnr over 0.1-0.6 bpp (fractions: -0.2 = 20% fewer bits; dB).
"bd_bjontegaard" cross-checks with the bjontegaard package (PCHIP, its own definition: the whole
overlap of the two curves, not restricted to 0.1-0.6 bpp), converted to the same units.
"""
import argparse
import json
import os
import sys
import time
import warnings

import numpy as np

from . import metrics, msssim
from .codec import BicubicCodec, ExportedCodec, ModelCodec

# The ComRec APP9 segment that every half-resolution file carries (docs/format.md, "Segment layout";
# Sources/ComRecCodec/Segment.swift): marker 2, length 2, magic "ComRec\0" 7, version 1, name
# length 1, the profile name, model hash 8, width 4, height 4, quality 1: 30 + n bytes, as
# format.md's "Overhead" says. Version 1 defines no extension records. Keep in step with format.md.
COMREC_SEGMENT_FIXED_BYTES = 2 + 2 + 7 + 1 + 1 + 8 + 4 + 4 + 1


def segment_bytes(profile):
    """Bytes the ComRec segment adds to a file of `profile` (no extension records)."""
    return COMREC_SEGMENT_FIXED_BYTES + len(profile.encode())


# JPEG qualities chosen so each curve spans about 0.1-1.0 bpp on CBSD68 (481 x 321): plain JPEG
# needs low qualities (q=3 is about 0.15 bpp, q=30 about 0.95 bpp; q < 3 saturates its tables at
# 255 and stops saving bits), the half-resolution paths code a quarter of the pixels (q=10 is
# about 0.12 bpp, q=90 about 0.9 bpp for the bicubic path).
JPEG_QUALITIES = [3, 5, 7, 10, 13, 16, 20, 25, 30]
HALF_QUALITIES = [10, 20, 30, 40, 50, 60, 70, 80, 90]


def list_images(folders, limit=None):
    paths = []
    for folder in folders:
        if not os.path.isdir(folder):
            raise SystemExit(f"not a folder: {folder}")
        found = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(".png"))
        if not found:
            raise SystemExit(f"no PNG files in {folder}")
        paths += found
    return paths[:limit] if limit else paths


def load_rgb(path):
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _point(q, bpps, psnrs, ssims):
    return {"q": q, "bpp": float(np.mean(bpps)), "psnr": float(np.mean(psnrs)),
            "ms_ssim": None if ssims is None else float(np.mean(ssims))}


def _quality(a, b, with_ssim):
    return metrics.psnr(a, b), (msssim.ms_ssim(a, b) if with_ssim else None)


def _progress(name, point, seconds):
    ssim = "n/a" if point["ms_ssim"] is None else f"{point['ms_ssim']:.4f}"
    print(f"  {name} q={point['q']}: {point['bpp']:.4f} bpp, {point['psnr']:.2f} dB, "
          f"MS-SSIM {ssim} ({seconds:.1f} s)", file=sys.stderr, flush=True)


def jpeg_curve(images, qualities, with_ssim):
    from . import jpeg
    curve = []
    for q in qualities:
        t0 = time.time()
        bpps, psnrs, ssims = [], [], []
        for img in images:
            data = jpeg.encode(img, q)
            p, s = _quality(jpeg.decode(data), img, with_ssim)
            bpps.append(len(data) * 8 / (img.shape[0] * img.shape[1]))
            psnrs.append(p)
            ssims.append(s)
        curve.append(_point(q, bpps, psnrs, ssims if with_ssim else None))
        _progress("jpeg", curve[-1], time.time() - t0)
    return curve


def half_curve(name, codec, images, qualities, with_ssim, extra_bytes):
    """Curve of a half-resolution path: compact images once, then every quality."""
    from . import jpeg
    compacts = [codec.compact(img) for img in images]
    curve = []
    for q in qualities:
        t0 = time.time()
        bpps, psnrs, ssims = [], [], []
        for img, compact in zip(images, compacts):
            data = jpeg.encode(compact, q)
            out = codec.reconstruct(jpeg.decode(data), img.shape[0], img.shape[1])
            p, s = _quality(out, img, with_ssim)
            bpps.append((len(data) + extra_bytes) * 8 / (img.shape[0] * img.shape[1]))
            psnrs.append(p)
            ssims.append(s)
        curve.append(_point(q, bpps, psnrs, ssims if with_ssim else None))
        _progress(name, curve[-1], time.time() - t0)
    return curve


def _pairs(curve):
    return [(p["bpp"], p["psnr"]) for p in curve]


def _chain(curve):
    """Points sorted by bpp with bpp and PSNR both strictly increasing (what PCHIP needs)."""
    out = []
    for b, p in sorted(_pairs(curve)):
        if not out or (b > out[-1][0] and p > out[-1][1]):
            out.append((b, p))
    return np.array(out)


def bd_package(anchor, test):
    """BD-rate (fraction) and BD-PSNR (dB) from the bjontegaard package, or None where undefined."""
    import bjontegaard
    a, t = _chain(anchor), _chain(test)
    if len(a) < 2 or len(t) < 2:
        return None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rate = bjontegaard.bd_rate(a[:, 0], a[:, 1], t[:, 0], t[:, 1], method="pchip",
                                   require_matching_points=False, min_overlap=0)
        psnr = bjontegaard.bd_psnr(a[:, 0], a[:, 1], t[:, 0], t[:, 1], method="pchip",
                                   require_matching_points=False, min_overlap=0)
    rate = None if np.isnan(rate) else float(rate) / 100
    psnr = None if np.isnan(psnr) else float(psnr)
    return rate, psnr


def bd_tables(curves, lo, hi):
    jpeg, bicubic = _pairs(curves["jpeg"]), _pairs(curves["bicubic"])
    bd, cross = {}, {}
    for name, curve in curves.items():
        c = _pairs(curve)
        bd[name] = {
            "bd_rate_vs_jpeg": metrics.bd_rate(jpeg, c, lo, hi),
            "bd_psnr_vs_jpeg": metrics.bd_psnr(jpeg, c, lo, hi),
            "bd_rate_vs_bicubic": metrics.bd_rate(bicubic, c, lo, hi),
        }
        rj, pj = bd_package(curves["jpeg"], curve)
        rb, _ = bd_package(curves["bicubic"], curve)
        cross[name] = {"bd_rate_vs_jpeg": rj, "bd_psnr_vs_jpeg": pj, "bd_rate_vs_bicubic": rb}
    return bd, cross


def _codecs(args):
    """(name, codec, profile, source description) for every learned curve asked for. The profile
    (not the curve name) is what the segment would carry; an ablation has no profile of its own yet
    and is counted with its profile's name."""
    out = []
    for path in args.checkpoint or []:
        from .export import load_checkpoint
        for weights in args.weights:
            _, profile, com, rec, step = load_checkpoint(path, weights, args.profile)
            out.append((f"{profile}-{weights}", ModelCodec(com, rec, args.device), profile,
                        {"checkpoint": path, "weights": weights, "step": step}))
    for folder in args.exported or []:
        codec = ExportedCodec(folder)
        out.append((f"{codec.profile}-exported", codec, codec.profile,
                    {"exported": folder, "source": codec.config.get("source")}))
    names = [entry[0] for entry in out]
    for n in set(names):
        if names.count(n) > 1 or n in ("jpeg", "bicubic"):
            raise SystemExit(f"two curves would be named {n!r}: evaluate them in separate runs")
    return out


def evaluate(args):
    paths = list_images(args.dirs, args.limit)
    images = [load_rgb(p) for p in paths]
    smallest = min(min(i.shape[:2]) for i in images)
    with_ssim = smallest >= msssim.min_side(5)
    if not with_ssim:
        print(f"note: an image has a side of {smallest} < {msssim.min_side(5)} pixels: "
              "MS-SSIM (5 scales) is left out (null)", file=sys.stderr)
    learned = _codecs(args)
    curves, sources, segments = {}, {}, {}
    todo = [("jpeg", None, None, None), ("bicubic", BicubicCodec(), "bicubic", None)] + learned
    for name, codec, profile, source in todo:
        t0 = time.time()
        print(f"curve {name}: {len(images)} images", file=sys.stderr, flush=True)
        if codec is None:
            curves[name] = jpeg_curve(images, args.jpeg_qualities, with_ssim)
        else:
            extra = segment_bytes(profile) if args.segment_bytes is None else args.segment_bytes
            segments[name] = extra
            curves[name] = half_curve(name, codec, images, args.half_qualities, with_ssim, extra)
        if source:
            sources[name] = source
        print(f"curve {name} done in {time.time() - t0:.1f} s", file=sys.stderr, flush=True)
    bd, cross = bd_tables(curves, *args.bd_range)
    return {
        "curves": curves,
        "bd": bd,
        "images": len(images),
        "bd_bjontegaard": cross,
        "bd_range_bpp": list(args.bd_range),
        "folders": args.dirs,
        "segment_bytes": segments,
        "sources": sources,
    }


def _qualities(text):
    return [int(q) for q in text.split(",") if q.strip()]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dirs", nargs="+", metavar="DIR", help="folders of PNG images")
    p.add_argument("--checkpoint", action="append", help="train.py checkpoint (repeatable)")
    p.add_argument("--profile", help="expected profile of the checkpoints (checked)")
    p.add_argument("--weights", nargs="+", default=["best"], choices=["latest", "best", "ablation"],
                   help="which models of each checkpoint (default: best)")
    p.add_argument("--exported", action="append", help="exported Weights/<profile> folder (repeatable)")
    p.add_argument("--json", required=True, help="output JSON path")
    p.add_argument("--limit", type=int, help="only the first N images (in folder, then name order)")
    p.add_argument("--jpeg-qualities", type=_qualities, default=JPEG_QUALITIES,
                   help="comma list for the plain JPEG curve (default %(default)s)")
    p.add_argument("--half-qualities", type=_qualities, default=HALF_QUALITIES,
                   help="comma list for the half-resolution curves (default %(default)s)")
    p.add_argument("--bd-range", type=float, nargs=2, default=(0.1, 0.6), metavar=("LO", "HI"),
                   help="bpp range of the BD figures (default 0.1 0.6)")
    p.add_argument("--segment-bytes", type=int, default=None,
                   help="bytes added to every half-resolution file (default: the ComRec segment, "
                        f"{COMREC_SEGMENT_FIXED_BYTES} + length of the profile name)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                   help="where the checkpoints' float networks run (default cpu)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    result = evaluate(args)
    with open(args.json, "w") as fh:
        json.dump(result, fh, indent=2)
        fh.write("\n")
    for name, row in result["bd"].items():
        fmt = lambda v, pct=True: "n/a" if v is None else (f"{100 * v:+.1f}%" if pct else f"{v:+.2f} dB")
        print(f"{name}: BD-rate vs JPEG {fmt(row['bd_rate_vs_jpeg'])}, vs bicubic "
              f"{fmt(row['bd_rate_vs_bicubic'])}, BD-PSNR vs JPEG {fmt(row['bd_psnr_vs_jpeg'], False)}",
              file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
