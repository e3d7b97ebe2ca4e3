#!/usr/bin/env python3
"""Experiment: `fast`'s enhancer against other shapes of about the same work, each trained from
scratch with one recipe (docs/results.md, "The enhancer's shape and inputs").

`fast` spends its 94.3k multiply-accumulates per pixel at half resolution (12 layers of 64
channels). At quarter resolution a layer costs a quarter as much per pixel, so the same budget buys
more channels and a wider receptive field:
- quarter: conv 3->64 stride 2 + ReLU; conv 64->128 stride 2 + ReLU; 9 x (conv 128->128 + BN +
  ReLU); conv 128->48; PixelShuffle(4), the residual added to the decoded image (1728 / 4 + 73728 /
  16 + 9 * 147456 / 16 + 55296 / 16 = 91.4k MAC per pixel);
- unet: a half-resolution path for the detail around a quarter-resolution one for the context:
  conv 3->64 stride 2 + ReLU; 2 x (conv 64->64 + BN + ReLU) at half resolution; conv 64->128
  stride 2 + ReLU; 4 x (conv 128->128 + BN + ReLU); conv 128->256 + PixelShuffle(2) back to 64
  channels at half resolution, added to the half-resolution features before the descent, + ReLU;
  2 x (conv 64->64 + BN + ReLU); conv 64->12; PixelShuffle(2) (1728 / 4 + 4 * 36864 / 4 + 73728 /
  16 + 4 * 147456 / 16 + 294912 / 16 + 6912 / 4 = 98.9k MAC per pixel).

    cd Training
    .venv/bin/python ../scripts/enhancer-architecture.py --net fast --out /tmp/arch --hours 1.45 --threads 1 &
    .venv/bin/python ../scripts/enhancer-architecture.py --net quarter --out /tmp/arch --hours 1.45 --threads 1 &
    wait   # then --net unet the same way (a third run beside them would share two cores three ways)

Every shape trains with one recipe (libjpeg's rounded JPEGs at qualities 5-75, 128-pixel crops of
cbsd432, batch 16, Adam at 2e-4, seed 5, so the same crops and qualities at every step) and judges
the 12 development crops every 4 minutes (/tmp/arch/arch-NET-dev.jsonl, the log in
/tmp/arch/arch-NET/train.log): compare the runs at the same step.
"""
import argparse
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "Training"))
from comrec_train import models, train_enhance  # noqa: E402


def conv_bn_relu_layers(channels, count):
    """`count` x (conv channels->channels without bias + BN + ReLU), as `fast`'s middle layers."""
    return nn.Sequential(*(m for _ in range(count) for m in (
        models.conv3x3(channels, channels, bias=False), nn.BatchNorm2d(channels), nn.ReLU())))


def padded_to_multiple_of_4(decoded):
    """Replicates the last rows and columns so that both sizes divide by 4 (two stride-2 levels)."""
    h, w = decoded.shape[-2:]
    return F.pad(decoded, (0, (-w) % 4, 0, (-h) % 4), mode="replicate")


class QuarterEnhancer(nn.Module):
    """The chain above; input replicate-padded to a multiple of 4, residual cropped."""

    def __init__(self, width=128, middle=9):
        super().__init__()
        self.first = models.conv3x3(3, 64, stride=2)
        self.down = models.conv3x3(64, width, stride=2)
        self.middle = conv_bn_relu_layers(width, middle)
        self.last = models.conv3x3(width, 48)
        self.shuffle = nn.PixelShuffle(4)
        nn.init.zeros_(self.last.weight)
        nn.init.zeros_(self.last.bias)

    def forward(self, decoded):
        x = padded_to_multiple_of_4(decoded)
        f = self.middle(F.relu(self.down(F.relu(self.first(x / models.PIXEL)))))
        residual = self.shuffle(models.PIXEL * self.last(f))
        return decoded + residual[..., :decoded.shape[-2], :decoded.shape[-1]]


class UNetEnhancer(nn.Module):
    """The two-level shape above; input replicate-padded to a multiple of 4, residual cropped."""

    def __init__(self, width=64, coarse=128):
        super().__init__()
        self.first = models.conv3x3(3, width, stride=2)
        self.before = conv_bn_relu_layers(width, 2)
        self.down = models.conv3x3(width, coarse, stride=2)
        self.coarse = conv_bn_relu_layers(coarse, 4)
        self.up = models.conv3x3(coarse, 4 * width)
        self.after = conv_bn_relu_layers(width, 2)
        self.last = models.conv3x3(width, 12)
        self.shuffle = nn.PixelShuffle(2)
        nn.init.zeros_(self.last.weight)
        nn.init.zeros_(self.last.bias)

    def forward(self, decoded):
        x = padded_to_multiple_of_4(decoded)
        fine = self.before(F.relu(self.first(x / models.PIXEL)))
        coarse = self.coarse(F.relu(self.down(fine)))
        f = self.after(F.relu(fine + self.shuffle(self.up(coarse))))
        residual = self.shuffle(models.PIXEL * self.last(f))
        return decoded + residual[..., :decoded.shape[-2], :decoded.shape[-1]]


SHAPES = {"quarter": QuarterEnhancer, "unet": UNetEnhancer}


def config(net):
    with open(os.path.join(REPO, "Training", "configs", "fast-full-2.json")) as fh:
        cfg = json.load(fh)
    for key in ("init_from", "init_weights"):
        cfg.pop(key)
    cfg.update(name="arch-" + net, seed=5, lr=2e-4, total_steps=100000, total_hours=3, log_every=50,
               dev_every_minutes=4, checkpoint_every_minutes=10)
    return cfg


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--net", choices=["fast", "quarter", "unet"], required=True)
    parser.add_argument("--out", default="/tmp/arch", help="checkpoints and logs")
    parser.add_argument("--hours", type=float, default=1.45)
    parser.add_argument("--threads", type=int, default=1)
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    if options.net in SHAPES:
        models.ENHANCER["fast"] = lambda width, middle: SHAPES[options.net]()
    cfg = config(options.net)
    trainer = train_enhance.EnhanceTrainer(cfg, "cpu", os.path.join(options.out, cfg["name"]), options.out)
    trainer.run(options.hours, None, True)


if __name__ == "__main__":
    main()
