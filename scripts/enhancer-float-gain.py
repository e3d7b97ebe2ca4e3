#!/usr/bin/env python3
"""Mean PSNR gain of `fast`-shaped float enhancer checkpoints over plain JPEGs of a folder's images,
to compare training runs before any export (docs/results.md, "The enhancer's shape and inputs").

Every image is saved by Pillow (libjpeg-turbo, 4:2:0, optimised Huffman) at each quality and
decoded again, as scripts/enhance-gain.py does for the shipped command; each checkpoint's float
network restores the decoded image (rounded to 8 bits) and the gain is its RGB PSNR minus the
decoded JPEG's, averaged over the images. A checkpoint's last weights are used, or its best with
`NAME.pt:best`.

    cd Training
    .venv/bin/python ../scripts/enhancer-float-gain.py ../../shared/datasets/val/cbsd68 \\
        /tmp/cond/cond-none.pt /tmp/warm/warm-fast-q5-20.pt /tmp/fast-full-2.pt:best --qualities 10,20,30
"""
import argparse
import glob
import os
import sys

import numpy as np
import torch
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "Training"))
from comrec_train import jpeg, metrics, models  # noqa: E402


def load(spec):
    path, _, which = spec.partition(":")
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state.get("kind") != "enhancer" or state["config"]["profile"] != "fast":
        raise SystemExit(f"{path} is not a fast enhancer checkpoint")
    net = models.EnhancerFast()
    net.load_state_dict(state["best"]["enhance"] if which == "best" else state["enhance"])
    return net.eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="PNG images")
    parser.add_argument("checkpoints", nargs="+", metavar="CHECKPOINT[:best]")
    parser.add_argument("--qualities", default="10,30")
    parser.add_argument("--threads", type=int, default=1)
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    files = sorted(glob.glob(os.path.join(options.folder, "*.png")))
    if not files:
        raise SystemExit(f"no PNG images in {options.folder}")
    nets = [load(spec) for spec in options.checkpoints]
    for quality in (int(q) for q in options.qualities.split(",")):
        gains = np.zeros((len(nets), len(files)))
        for i, path in enumerate(files):
            img = np.array(Image.open(path).convert("RGB"))
            decoded, _ = jpeg.roundtrip(img, quality)
            x = torch.tensor(decoded).permute(2, 0, 1)[None].float()  # a copy: the decode is read-only
            for n, net in enumerate(nets):
                with torch.no_grad():
                    out = net(x).round().clamp(0, 255)[0].permute(1, 2, 0).numpy().astype(np.uint8)
                gains[n, i] = metrics.psnr(out, img) - metrics.psnr(decoded, img)
        for spec, row in zip(options.checkpoints, gains):
            print(f"quality {quality}: {spec}: {row.mean():+.3f} dB over {len(files)} images")


if __name__ == "__main__":
    main()
