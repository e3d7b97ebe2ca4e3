#!/usr/bin/env python3
"""Experiment: does `fast`'s enhancer for rounded JPEGs (what `comrec enhance` runs) gain from being
told where the JPEG's 8x8 blocks are and how coarse its quantisation is?

The network cannot know either except from the pixels: its first layer has stride 2, so it sees the
column and row parity but not the position inside a block, and one network serves qualities 5-75.
This fine-tune gives its first layer extra input planes (docs/results.md, "The enhancer's shape
and inputs"):
- grid: 16 planes, one-hot of x mod 8 and of y mod 8 (the block grid starts at the image's corner);
- quality: 2 constant planes, log2 of the mean step of the luma and of the chroma table / 8 (the
  tables libjpeg writes at the crop's quality).
Their weights start at zero, so step 0 is the network as it was; `--planes none` is the control, the
same fine-tune without planes (same seed, so the same crops and qualities at every step).

    git show 6a2eda4:Training/checkpoints/fast-full-2.pt > /tmp/fast-full-2.pt
    cd Training
    .venv/bin/python ../scripts/enhancer-conditioning.py --planes none --init /tmp/fast-full-2.pt \
        --out /tmp/cond --hours 1.4 --threads 1 &
    .venv/bin/python ../scripts/enhancer-conditioning.py --planes grid,quality --init /tmp/fast-full-2.pt \
        --out /tmp/cond --hours 1.4 --threads 1 &
    wait; .venv/bin/python ../scripts/enhancer-conditioning.py --compare /tmp/cond

Each run fine-tunes `--steps` steps (2,800 by default) with fast-full-2's recipe (libjpeg's rounded
JPEGs, qualities 5-75, 128-pixel crops of cbsd432, batch 16) at 1e-4, divided by 4 at 70% and by 16
at 90% of the steps, and judges the 12 development crops every 8 minutes and at the end. `--compare`
prints each run's development gains at its last step and the training loss of the two runs on the
same batches (the mean of 10 log10 of the control's MSE over the conditioned run's, per logged window
of 50 steps): the development crops are few, so that paired difference is the sharper measure.
"""
import argparse
import json
import os
import re
import sys

import numpy as np
import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "Training"))
from comrec_train import models, train, train_enhance  # noqa: E402

STANDARD_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], float)
STANDARD_CHROMA = np.array([
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99] + [99] * 32, float)


def quality_features(quality):
    """log2(mean step) / 8 of the luma and chroma tables libjpeg writes at `quality` (baseline)."""
    scale = 5000 / quality if quality < 50 else 200 - 2 * quality
    tables = [np.clip(np.floor((t * scale + 50) / 100), 1, 255) for t in (STANDARD_LUMA, STANDARD_CHROMA)]
    return [float(np.log2(t.mean())) / 8 for t in tables]


class ConditionedEnhancer(models.EnhancerFast):
    """EnhancerFast whose first layer also reads the grid and/or quality planes. Set `qualities`
    (one per image) before each forward when the quality planes are on."""

    def __init__(self, planes):
        super().__init__()
        self.grid, self.quality = "grid" in planes, "quality" in planes
        extra = 16 * self.grid + 2 * self.quality
        self.qualities = None
        if extra:
            first = self.first
            self.first = models.conv3x3(3 + extra, first.out_channels, stride=2)
            with torch.no_grad():
                self.first.weight.zero_()

    def planes(self, n, h, w, device):
        out = []
        if self.grid:
            columns = F.one_hot(torch.arange(w, device=device) % 8, 8).T.float()[:, None, :].expand(8, h, w)
            rows = F.one_hot(torch.arange(h, device=device) % 8, 8).T.float()[:, :, None].expand(8, h, w)
            out.append(torch.cat([columns, rows])[None].expand(n, 16, h, w))
        if self.quality:
            features = torch.tensor([quality_features(q) for q in self.qualities], device=device)
            out.append(features[:, :, None, None].expand(n, 2, h, w))
        return out

    def forward(self, decoded):
        x = models.pad_to_even(decoded)
        inputs = torch.cat([x / models.PIXEL] + self.planes(x.shape[0], x.shape[2], x.shape[3], x.device), 1)
        f = F.relu(self.first(inputs))
        for conv, bn in zip(self.middle, self.bns):
            f = F.relu(bn(conv(f)))
        residual = self.shuffle(models.PIXEL * self.last(f))
        return decoded + residual[..., :decoded.shape[-2], :decoded.shape[-1]]


class ConditionedTrainer(train_enhance.EnhanceTrainer):
    """EnhanceTrainer that tells the network each crop's quality."""

    def __init__(self, cfg, device, run_dir, ckpt_dir):
        super().__init__(cfg, device, run_dir, ckpt_dir)
        self.quality_of = {id(r["decoded"]): r["q"] for r in self.reference}

    def batch(self):
        crops = self.sampler.batch(self.cfg["batch"])
        qualities = self._qualities(len(crops))
        self.net.qualities = qualities
        decoded = np.stack([d for d, _ in self.roundtrips(self.roundtrip, crops, qualities)])
        return crops, decoded

    def enhance(self, decoded):
        self.net.qualities = [self.quality_of[id(decoded)]] * len(decoded)
        return super().enhance(decoded)

    def _initialise(self, path):
        """The start: the checkpoint's best weights, the planes' weights zero."""
        s = torch.load(path, map_location=self.device, weights_only=False)
        own = self.net.state_dict()
        for key, value in s["best"]["enhance"].items():
            if key == "first.weight":
                own[key][:, :3] = value
            else:
                own[key].copy_(value)
        self.net.load_state_dict(own)
        train.log(self.log, f"initialised from {path} (best, step {s['best']['step']}), planes {self.cfg['planes']}")


def config(planes, init, steps):
    with open(os.path.join(REPO, "Training", "configs", "fast-full-2.json")) as fh:
        cfg = json.load(fh)
    cfg.update(name="cond-" + ("-".join(planes) or "none"), planes=planes, seed=7, init_from=init, lr=1e-4,
               total_steps=steps, total_hours=3, log_every=50, dev_every_minutes=8, checkpoint_every_minutes=10)
    return cfg


def compare(folder):
    runs = sorted(d for d in os.listdir(folder) if d.startswith("cond-") and os.path.isdir(os.path.join(folder, d)))
    losses = {}
    for run in runs:
        text = open(os.path.join(folder, run, "train.log")).read()
        last = re.findall(r"dev step (\d+):.*gain dB (.*)", text)[-1]
        print(f"{run}: development gain at step {last[0]}: {last[1]}")
        losses[run] = {int(s): float(m) for s, m in re.findall(r"step (\d+) lr=\S+ mse=(\S+)", text)}
    control = losses.pop("cond-none", None)
    for run, mse in losses.items():
        steps = sorted(set(mse) & set(control or {}))
        if steps:
            gain = [10 * np.log10(control[s] / mse[s]) for s in steps]
            late = gain[len(gain) // 2:]
            print(f"{run} against cond-none on the same batches: {np.mean(gain):+.4f} dB over {len(steps)} windows, "
                  f"{np.mean(late):+.4f} dB over the last {len(late)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--planes", default="grid,quality", help="grid, quality, both (comma-separated) or none")
    parser.add_argument("--init", help="fast-full-2's checkpoint (see above)")
    parser.add_argument("--out", default="/tmp/cond", help="checkpoints and logs")
    parser.add_argument("--steps", type=int, default=2800)
    parser.add_argument("--hours", type=float, default=1.5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--compare", metavar="FOLDER", help="print the comparison of finished runs in FOLDER")
    options = parser.parse_args()
    if options.compare:
        return compare(options.compare)
    planes = [p for p in options.planes.split(",") if p != "none"]
    if not options.init or any(p not in ("grid", "quality") for p in planes):
        parser.error("--init is required and --planes takes grid, quality or none")
    torch.set_num_threads(options.threads)
    cfg = config(planes, options.init, options.steps)
    models.ENHANCER["fast"] = lambda width, middle: ConditionedEnhancer(planes)
    trainer = ConditionedTrainer(cfg, "cpu", os.path.join(options.out, cfg["name"]), options.out)
    trainer.run(options.hours, None, True)


if __name__ == "__main__":
    main()
