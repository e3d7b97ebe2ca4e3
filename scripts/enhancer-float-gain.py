#!/usr/bin/env python3
"""Mean PSNR gain of `fast`-shaped float enhancer checkpoints over plain JPEGs of a folder's images,
to compare training runs before any export (docs/results.md, "The enhancer's shape and inputs").

Every image is saved by Pillow (libjpeg-turbo, 4:2:0, optimised Huffman) at each quality and
decoded again, as scripts/enhance-gain.py does for the shipped command; each checkpoint's float
network restores the decoded image (rounded to 8 bits) and the gain is its RGB PSNR minus the
decoded JPEG's, averaged over the images. A checkpoint's last weights are used, or its best with
`NAME.pt:best`; a refine run's checkpoint (enhancer-architecture.py --refine) is its pair of
passes. `--orientations 8` averages each network over the eight flips and transposes, as `comrec
enhance --effort 2` does.

    cd Training
    .venv/bin/python ../scripts/enhancer-float-gain.py ../../shared/datasets/val/cbsd68 \\
        /tmp/cond/cond-none.pt /tmp/warm/warm-fast-q5-20.pt /tmp/fast-full-2.pt:best --qualities 10,20,30
"""
import argparse
import glob
import importlib.util
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "Training"))
from comrec_train import jpeg, metrics, models  # noqa: E402


def enhancer_architecture():
    """scripts/enhancer-architecture.py as a module (its file name is not an identifier)."""
    spec = importlib.util.spec_from_file_location("enhancer_architecture",
                                                  os.path.join(REPO, "scripts", "enhancer-architecture.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load(spec):
    """A checkpoint's float enhancer: `fast`'s shape, or a refine run's pair (enhancer-architecture.py
    --refine: the trained enhancer, then a second pass of `fast`'s shape or the default two-level
    one)."""
    path, _, which = spec.partition(":")
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state.get("kind") != "enhancer" or state["config"]["profile"] != "fast":
        raise SystemExit(f"{path} is not a fast enhancer checkpoint")
    weights = state["best"]["enhance"] if which == "best" else state["enhance"]
    if any(key.startswith("refiner.") for key in weights):
        shapes = enhancer_architecture()
        unet = any(key.startswith("refiner.coarse.") for key in weights)
        net = shapes.Refined(models.EnhancerFast(), shapes.UNetEnhancer() if unet else models.EnhancerFast())
    else:
        net = models.EnhancerFast()
    try:
        net.load_state_dict(weights)
    except RuntimeError as error:  # another shape (a quarter chain, other --fine / --coarse)
        raise SystemExit(f"{path}: not a network this script builds ({str(error).splitlines()[0]})")
    return net.eval()


def dihedral(x, k):
    """The k-th of the eight flips and transposes of N x C x H x W (0: itself)."""
    if k & 4:
        x = x.transpose(-2, -1)
    return torch.rot90(x, k & 3, (-2, -1))


def undihedral(x, k):
    """dihedral's inverse."""
    x = torch.rot90(x, -(k & 3), (-2, -1))
    return x.transpose(-2, -1) if k & 4 else x


@torch.no_grad()
def restored(net, x, orientations):
    """net(x) rounded to 8 bits; with 8 orientations, as `comrec enhance --effort 2` does
    (SelfEnsemble.swift): x padded to a multiple of 16 (last column and row repeated, so that the
    JPEG's blocks stay on the grid), net's 8-bit output on each of its eight flips and transposes
    turned back, and the mean of the eight rounded half up."""
    if orientations == 1:
        return net(x).round().clamp(0, 255)
    h, w = x.shape[-2:]
    padded = F.pad(x, (0, (-w) % 16, 0, (-h) % 16), mode="replicate")
    total = sum(undihedral(net(dihedral(padded, k)).round().clamp(0, 255), k) for k in range(8))
    return torch.floor((total + 4) / 8)[..., :h, :w]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="PNG images")
    parser.add_argument("checkpoints", nargs="+", metavar="CHECKPOINT[:best]")
    parser.add_argument("--qualities", default="10,30")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--orientations", type=int, choices=[1, 8], default=1,
                        help="8: average over the image's flips and transposes (as --effort 2)")
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
                out = restored(net, x, options.orientations)[0].permute(1, 2, 0).numpy().astype(np.uint8)
                gains[n, i] = metrics.psnr(out, img) - metrics.psnr(decoded, img)
        for spec, row in zip(options.checkpoints, gains):
            print(f"quality {quality}: {spec}: {row.mean():+.3f} dB over {len(files)} images"
                  f"{' in 8 orientations' if options.orientations == 8 else ''}")


if __name__ == "__main__":
    main()
