#!/usr/bin/env python3
"""What `comrec enhance` adds to plain JPEGs: each PNG of a folder saved as a JPEG by Pillow
(libjpeg-turbo, 4:2:0, optimised Huffman) at each quality, restored with `comrec enhance
--effort E`, and the mean PSNR gain over Pillow's decode of the same file printed per quality and
effort (RGB PSNR, the whole image). Needs Pillow and numpy (Training/.venv has both).

    Training/.venv/bin/python scripts/enhance-gain.py ../shared/datasets/val/cbsd68 \
        [--qualities 10,30] [--efforts 1,2] [--cli .build/release/comrec] [--limit N]
"""

import argparse
import glob
import os
import subprocess
import tempfile

import numpy as np
from PIL import Image


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--qualities", default="10,30")
    parser.add_argument("--efforts", default="1,2")
    parser.add_argument("--cli", default=".build/release/comrec")
    parser.add_argument("--limit", type=int, default=0, help="only the first N images (0: all)")
    options = parser.parse_args()
    images = sorted(glob.glob(os.path.join(options.folder, "*.png")))
    if options.limit:
        images = images[:options.limit]
    if not images:
        raise SystemExit(f"no PNG images in {options.folder}")
    efforts = [int(e) for e in options.efforts.split(",")]
    print(f"{len(images)} images of {options.folder}; gain of `comrec enhance` over the plain decode (dB)")
    print("| quality | plain PSNR | " + " | ".join(f"effort {e}" for e in efforts) + " |")
    print("|---:|---:|" + "---:|" * len(efforts))
    with tempfile.TemporaryDirectory() as work:
        for quality in (int(q) for q in options.qualities.split(",")):
            plain_psnr, gains = [], {e: [] for e in efforts}
            for path in images:
                original = np.asarray(Image.open(path).convert("RGB"))
                jpeg = os.path.join(work, "image.jpg")
                Image.fromarray(original).save(jpeg, quality=quality, subsampling=2, optimize=True)
                plain = psnr(original, np.asarray(Image.open(jpeg).convert("RGB")))
                plain_psnr.append(plain)
                for effort in efforts:
                    out = os.path.join(work, f"enhanced-{effort}.png")
                    subprocess.run([options.cli, "enhance", jpeg, "-o", out, "--force", "--effort", str(effort)],
                                   check=True, capture_output=True)
                    gains[effort].append(psnr(original, np.asarray(Image.open(out).convert("RGB"))) - plain)
            print(f"| {quality} | {np.mean(plain_psnr):.2f} | "
                  + " | ".join(f"{np.mean(gains[e]):+.3f}" for e in efforts) + " |", flush=True)


if __name__ == "__main__":
    main()
