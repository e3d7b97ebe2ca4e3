#!/usr/bin/env python3
"""Per-image study of `--mode auto`'s choice, on training images only (never the validation sets).

For each image and each size budget (full mode at a JPEG quality), it makes what `comrec encode`
would store in either mode at that budget, decodes both with `comrec decode`, and records the
PSNR of each with the statistics a rule could read cheaply at encode time:

    python3 scripts/mode-study.py --profile fast --out scratch/mode-study-fast.jsonl [--every 18]

- budget_bpp: bits per pixel of the full-mode file (the effort-1 rule's only input today);
- plain_psnr: PSNR of the full-mode JPEG decoded without its enhancer (libjpeg, through Pillow);
- detail_psnr: PSNR of the image against each 2x2 block's mean (what half resolution cannot
  hold, before any network or JPEG);
- full_psnr, half_psnr: the two candidates as decoded (half mode at the largest file within the
  full-mode file's bytes, as effort 1 and 2 make it; null when it cannot get that small);
- auto_mode (with --auto): the mode `comrec encode --quality Q` chose, the profile's own rule.

Images: train/cbsd432 every N-th (JPEG originals) and every train/wikipedia image, downscaled to at
most 800 pixels on the long side (Pillow's Lanczos) to keep the run short. Writes one JSON line per
image and budget; `scripts/mode-rule.py` fits and checks rules on them.
"""
import argparse
import io
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 99.0 if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def detail_psnr(rgb):
    """PSNR of the image against each 2x2 block's mean (odd last row and column left out): how
    much of it lies in detail that half resolution cannot hold. As ModeChoice.swift computes it."""
    h, w = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
    x = rgb[:h, :w].astype(np.float64)
    mean = (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2]) / 4
    up = np.repeat(np.repeat(mean, 2, axis=0), 2, axis=1)
    mse = np.mean((x - up) ** 2)
    return 99.0 if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def run(args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--profile", default="fast")
    p.add_argument("--comrec", default=os.path.join(REPO, ".build/release/comrec"))
    p.add_argument("--datasets", default=os.path.join(REPO, "..", "shared", "datasets"))
    p.add_argument("--every", type=int, default=18, help="every N-th cbsd432 image")
    p.add_argument("--qualities", default="3,5,7,10,13,16,20,25,30,40")
    p.add_argument("--auto", action="store_true",
                   help="also record the mode `comrec encode --quality Q` (effort 1) chooses (auto_mode)")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    train = os.path.join(a.datasets, "train")
    if not os.path.isdir(train):
        sys.exit(f"mode-study: no {train} (the training images)")
    names = sorted(os.listdir(os.path.join(train, "cbsd432")))[:: a.every]
    paths = [os.path.join(train, "cbsd432", n) for n in names]
    wiki = os.path.join(train, "wikipedia")
    if os.path.isdir(wiki):
        paths += [os.path.join(wiki, n) for n in sorted(os.listdir(wiki)) if n.endswith(".png")][::3]
    qualities = [int(q) for q in a.qualities.split(",")]
    with tempfile.TemporaryDirectory() as tmp, open(a.out, "w") as out:
        for path in paths:
            img = Image.open(path).convert("RGB")
            if max(img.size) > 800:
                s = 800 / max(img.size)
                img = img.resize((round(img.width * s), round(img.height * s)), Image.LANCZOS)
            rgb = np.asarray(img)
            src = os.path.join(tmp, "src.png")
            img.save(src)
            pixels = rgb.shape[0] * rgb.shape[1]
            detail = detail_psnr(rgb)
            for q in qualities:
                row = {"image": os.path.relpath(path, train), "q": q, "detail_psnr": detail}
                full = os.path.join(tmp, "full.jpg")
                run([a.comrec, "encode", src, "-o", full, "--force", "--profile", a.profile, "--mode", "full",
                     "--quality", str(q)])
                data = open(full, "rb").read()
                row["budget_bpp"] = len(data) * 8 / pixels
                row["plain_psnr"] = psnr(rgb, np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
                run([a.comrec, "decode", full, "-o", os.path.join(tmp, "full.ppm"), "--force"])
                row["full_psnr"] = psnr(rgb, np.asarray(Image.open(os.path.join(tmp, "full.ppm"))))
                if a.auto:
                    auto = os.path.join(tmp, "auto.jpg")
                    run([a.comrec, "encode", src, "-o", auto, "--force", "--profile", a.profile, "--quality", str(q)])
                    row["auto_mode"] = "full" if open(auto, "rb").read() == data else "half"
                half = os.path.join(tmp, "half.jpg")
                try:
                    run([a.comrec, "encode", src, "-o", half, "--force", "--profile", a.profile, "--mode", "half",
                         "--bpp", repr(len(data) * 8 / pixels)])
                    run([a.comrec, "decode", half, "-o", os.path.join(tmp, "half.ppm"), "--force"])
                    row["half_bpp"] = os.path.getsize(half) * 8 / pixels
                    row["half_psnr"] = psnr(rgb, np.asarray(Image.open(os.path.join(tmp, "half.ppm"))))
                except subprocess.CalledProcessError:
                    row["half_bpp"] = row["half_psnr"] = None
                out.write(json.dumps(row) + "\n")
                out.flush()
            print(f"mode-study: {row['image']}", file=sys.stderr)


if __name__ == "__main__":
    main()
