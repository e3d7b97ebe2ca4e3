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
/tmp/arch/arch-NET/train.log): compare the runs at the same step, `--compare /tmp/arch` prints
them and each run's training error against arch-fast's on the same batches. A run resumes from
its checkpoint in `--out`, with `--hours` more, `--bf16` on or off.

`--init CHECKPOINT` fine-tunes instead, from the trained `fast` enhancer that `comrec enhance` runs,
with scripts/enhancer-conditioning.py's recipe (seed 7, 1e-4, `--steps` 2,800), so that its
`--planes none` run is the control for every one of these (run name warm-NET):
- `--net fast --qualities 5,20`: the same network trained on low qualities only;
- `--net unet [--fine F --coarse C]`: the two-level shape (F half-resolution layers on each side
  of C quarter-resolution ones; 2 and 4 above, 1 and 6 the same work) keeps `fast`'s first and last
  layers and its first and last F middle layers; the quarter-resolution path stands in for the
  middle layers it drops, trained alone first for `--distil` steps to turn the features after
  `fast`'s first F middle layers into those after its first 10 - F, then everything together.

    git show 6a2eda4:Training/checkpoints/fast-full-2.pt > /tmp/fast-full-2.pt
    .venv/bin/python ../scripts/enhancer-architecture.py --net unet --init /tmp/fast-full-2.pt \
        --distil 600 --out /tmp/warm --hours 1.6 --threads 1 &
    .venv/bin/python ../scripts/enhancer-architecture.py --net fast --init /tmp/fast-full-2.pt \
        --qualities 5,20 --out /tmp/warm --hours 1.3 --threads 1 &

`--refine CHECKPOINT` trains NET with the from-scratch recipe as a second pass after the trained
`fast` enhancer (frozen; its output rounded to 8 bits, as a second `comrec enhance` pass would read
it; run name refine-NET). Its last layer starts at zero, so the pair starts as the trained enhancer
alone and every development gain above that enhancer's is the second pass's. With `--warm` the
second pass starts from the trained enhancer's layers instead of at random (run name
refine-warm-NET); `--qualities` narrows its training qualities:

    .venv/bin/python ../scripts/enhancer-architecture.py --net fast --refine /tmp/fast-full-2.pt \
        --warm --out /tmp/refine --hours 1.4 --threads 1 --bf16 &
    .venv/bin/python ../scripts/enhancer-architecture.py --net fast --refine /tmp/fast-full-2.pt \
        --warm --qualities 5,40 --out /tmp/refine --hours 1.15 --threads 1 --bf16 &

`--pair CHECKPOINT` fine-tunes a `--refine` run's pair from its last state with the `--init`
recipe: `--train both` trains the two enhancers together as one network (the 8-bit rounding
between them passes the gradient straight through; run name pair-both), `--train second` the
second alone on the frozen first, as the refine run did (the control, pair-second):

    .venv/bin/python ../scripts/enhancer-architecture.py --net fast --pair /tmp/refine/refine-warm-fast.pt \
        --train both --out /tmp/pair --hours 1.25 --threads 1 --bf16 &
    .venv/bin/python ../scripts/enhancer-architecture.py --net fast --pair /tmp/refine/refine-warm-fast.pt \
        --train second --out /tmp/pair --hours 1.25 --threads 1 --bf16 &
"""
import argparse
import json
import os
import random
import re
import sys

import numpy as np

import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "Training"))
from comrec_train import data, models, train, train_enhance  # noqa: E402


def conv_bn_relu_layers(channels, count):
    """`count` x (conv channels->channels without bias + BN + ReLU), as `fast`'s middle layers."""
    return nn.Sequential(*(m for _ in range(count) for m in (
        models.conv3x3(channels, channels, bias=False), nn.BatchNorm2d(channels), nn.ReLU())))


def padded_to_multiple_of_4(decoded):
    """Replicates the last rows and columns so that both sizes divide by 4 (two stride-2 levels)."""
    h, w = decoded.shape[-2:]
    return F.pad(decoded, (0, (-w) % 4, 0, (-h) % 4), mode="replicate")


def zero_conv3x3(in_channels, out_channels):
    """The last layer: it starts at zero, so that an untrained enhancer is the identity."""
    conv = models.conv3x3(in_channels, out_channels)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


def residual_added(decoded, residual):
    """The decoded image plus the residual cropped to its size (the input was padded)."""
    return decoded + residual[..., :decoded.shape[-2], :decoded.shape[-1]]


class QuarterEnhancer(nn.Module):
    """The chain above; input replicate-padded to a multiple of 4, residual cropped."""

    def __init__(self, width=128, middle=9):
        super().__init__()
        self.first = models.conv3x3(3, 64, stride=2)
        self.down = models.conv3x3(64, width, stride=2)
        self.middle = conv_bn_relu_layers(width, middle)
        self.last = zero_conv3x3(width, 48)
        self.shuffle = nn.PixelShuffle(4)

    def forward(self, decoded):
        x = padded_to_multiple_of_4(decoded)
        f = self.middle(F.relu(self.down(F.relu(self.first(x / models.PIXEL)))))
        return residual_added(decoded, self.shuffle(models.PIXEL * self.last(f)))


class UNetEnhancer(nn.Module):
    """The two-level shape above (`fine` half-resolution layers on each side of `coarse`
    quarter-resolution ones); input replicate-padded to a multiple of 4, residual cropped."""

    def __init__(self, width=64, wide=128, fine=2, coarse=4):
        super().__init__()
        self.first = models.conv3x3(3, width, stride=2)
        self.before = conv_bn_relu_layers(width, fine)
        self.down = models.conv3x3(width, wide, stride=2)
        self.coarse = conv_bn_relu_layers(wide, coarse)
        self.up = models.conv3x3(wide, 4 * width)
        self.after = conv_bn_relu_layers(width, fine)
        self.last = zero_conv3x3(width, 12)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, decoded):
        x = padded_to_multiple_of_4(decoded)
        fine = self.before(F.relu(self.first(x / models.PIXEL)))
        f = self.after(self.merged(fine))
        return residual_added(decoded, self.shuffle(models.PIXEL * self.last(f)))

    def load_from_fast(self, fast):
        """Warm start from a trained `fast` enhancer's state: its first and last layers, its first
        `fine` middle layers before the descent and its last `fine` after the ascent; the
        quarter-resolution path new, its ascent zero, so that it starts by adding nothing."""
        own = self.state_dict()
        middle = len([k for k in fast if k.startswith("middle.") and k.endswith(".weight")])
        fine = len(self.before) // 3
        for name in ("first", "last"):
            for key in ("weight", "bias"):
                own[f"{name}.{key}"].copy_(fast[f"{name}.{key}"])
        pairs = [("before", i, i) for i in range(fine)] + [("after", i, middle - fine + i) for i in range(fine)]
        for block, i, j in pairs:
            own[f"{block}.{3 * i}.weight"].copy_(fast[f"middle.{j}.weight"])
            for key in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
                own[f"{block}.{3 * i + 1}.{key}"].copy_(fast[f"bns.{j}.{key}"])
        own["up.weight"].zero_()
        own["up.bias"].zero_()
        self.load_state_dict(own)

    def merged(self, fine):
        """The half-resolution features after the quarter-resolution path's ascent is added."""
        return F.relu(fine + self.shuffle(self.up(self.coarse(F.relu(self.down(fine))))))


def fast_features(fast, decoded, upto):
    """A trained `fast` enhancer's half-resolution features after its first layer and `upto`
    middle layers (eval mode)."""
    f = F.relu(fast.first(padded_to_multiple_of_4(decoded) / models.PIXEL))
    for conv, bn in list(zip(fast.middle, fast.bns))[:upto]:
        f = F.relu(bn(conv(f)))
    return f


def distil_quarter_path(net, fast, batches, steps, log):
    """Trains only the unet's quarter-resolution path (descent, layers, ascent) to turn the
    features after fast's first `fine` middle layers into those after its first `middle - fine`,
    so that the network starts close to the trained `fast` enhancer it replaces. `batches()` gives
    decoded JPEG crops; the loss is the features' MSE over their variance (Adam at 1e-3, / 4 for
    the last quarter of the steps)."""
    fine = len(net.before) // 3
    middle = len(fast.middle)
    fast.eval()
    params = [p for name, p in net.named_parameters() if name.split(".")[0] in ("down", "coarse", "up")]
    opt = torch.optim.Adam(params, lr=1e-3)
    window = []
    for step in range(1, steps + 1):
        with torch.no_grad():
            x = batches()
            source = fast_features(fast, x, fine)
            target = fast_features(fast, x, middle - fine)
        net.train()
        loss = F.mse_loss(net.merged(source), target) / target.var()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        window.append(loss.item())
        if step % 25 == 0:
            log(f"distil step {step}: feature MSE / variance {np.mean(window):.4f}")
            window = []
        if step == steps * 3 // 4:
            for g in opt.param_groups:
                g["lr"] = 2.5e-4


class Refined(nn.Module):
    """A second enhancer run on a trained one's output: `base` (frozen, eval mode) restores the
    decoded JPEG, its output is rounded and clamped to 8 bits as a separate pass would write it,
    and `refiner` (last layer zero, so the pair starts as `base` alone) learns what is left.
    Under the trainer's bf16 autocast `base` runs in bfloat16 too (twice as fast), so the training
    pixels it hands on may differ here and there by a level from its fp32 output, which the
    development crops and enhancer-float-gain.py see. With `joint` `base` learns too: the rounding
    passes the gradient through unchanged (straight through), and its BatchNorm still keeps the
    trained statistics."""

    def __init__(self, base, refiner, joint=False):
        super().__init__()
        self.base = base.requires_grad_(joint)
        self.refiner = refiner
        self.joint = joint

    def train(self, mode=True):
        super().train(mode)
        self.base.eval()  # its BatchNorm keeps the trained statistics
        return self

    def forward(self, decoded):
        if not self.joint:
            with torch.no_grad():
                restored = self.base(decoded).round().clamp(0, 255)
            return self.refiner(restored)
        out = self.base(decoded)
        return self.refiner(out + (out.round().clamp(0, 255) - out).detach())


def refined(checkpoint, refiner, warm):
    """Refined(the trained `fast` enhancer of `checkpoint` (its best state), refiner); with `warm`
    the refiner starts from that enhancer's layers (all of them for `fast`'s shape, as
    UNetEnhancer.load_from_fast for the two-level one), its last layer zero all the same."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)["best"]["enhance"]
    base = models.EnhancerFast()
    base.load_state_dict(state)
    if warm:
        if hasattr(refiner, "load_from_fast"):
            refiner.load_from_fast(state)
        else:
            refiner.load_state_dict(state)
        nn.init.zeros_(refiner.last.weight)
        nn.init.zeros_(refiner.last.bias)
    return Refined(base, refiner)


SHAPES = {"quarter": QuarterEnhancer, "unet": UNetEnhancer}


def run_name(options):
    shape = options.net
    if options.net == "unet" and (options.fine, options.coarse) != (2, 4):
        shape += f"-{options.fine}-{options.coarse}"
    if options.qualities:
        shape += "-q" + options.qualities.replace(",", "-")
    if options.refine:
        return ("refine-warm-" if options.warm else "refine-") + shape
    if options.pair:
        return "pair-" + options.train
    return ("warm-" if options.init else "arch-") + shape


LOG_EVERY = 50  # steps per log line of the from-scratch and fine-tune runs, which --compare pairs


def config(options):
    with open(os.path.join(REPO, "Training", "configs", "fast-full-2.json")) as fh:
        cfg = json.load(fh)
    for key in ("init_from", "init_weights"):
        cfg.pop(key)
    if options.init or options.pair:  # enhancer-conditioning.py's fine-tune recipe, so its control compares
        cfg.update(name=run_name(options), seed=7, lr=1e-4, total_steps=options.steps or 2800, total_hours=3,
                   log_every=LOG_EVERY, dev_every_minutes=8, checkpoint_every_minutes=10,
                   init_from=options.init or options.pair, distil_steps=options.distil)
        if options.pair:  # the pair as its run left it (the shipped second pass is a run's last state)
            cfg["init_weights"] = "last"
    else:
        # Resumable across sessions (the same --out): the budget is each invocation's --hours.
        cfg.update(name=run_name(options), seed=5, lr=2e-4, total_steps=options.steps or 100000, total_hours=100, log_every=LOG_EVERY,
                   dev_every_minutes=4, checkpoint_every_minutes=10)
    if options.qualities:
        cfg["quality_range"] = [int(q) for q in options.qualities.split(",")]
    return cfg


class WarmStartTrainer(train_enhance.EnhanceTrainer):
    """EnhanceTrainer whose fine-tune starts a new shape from a trained `fast` enhancer; with the
    config's `bf16` its weights are kept channels-last, the layout the CPU's bfloat16 convolutions
    run fastest in (the batches already are: `_tensor` permutes the N x H x W x 3 crops)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.cfg["bf16"]:
            self.net.to(memory_format=torch.channels_last)

    def _initialise(self, path):
        if not hasattr(self.net, "load_from_fast"):
            return super()._initialise(path)
        s = torch.load(path, map_location=self.device, weights_only=False)
        self.net.load_from_fast(s["best"]["enhance"])
        train.log(self.log, f"initialised from {path} (best, step {s['best']['step']}): first, last and "
                  f"{2 * len(self.net.before) // 3} middle layers; the quarter-resolution path new")
        steps = self.cfg.get("distil_steps", 0)
        if steps:
            fast = models.EnhancerFast().to(self.device)  # models.ENHANCER["fast"] is this run's shape
            fast.load_state_dict(s["best"]["enhance"])
            # Its own crops and qualities, so that the fine-tune after it sees the control's.
            sampler = data.CropSampler(self.sampler.images, self.cfg["crop"], self.cfg["seed"] + 1000)
            rng = random.Random(self.cfg["seed"] + 1000)
            lo, hi = self.cfg["quality_range"]

            def batches():
                crops = sampler.batch(self.cfg["batch"])
                qualities = [rng.randint(lo, hi) for _ in crops]
                return self._tensor(np.stack([d for d, _ in self.roundtrips(self.roundtrip, crops, qualities)]))

            distil_quarter_path(self.net, fast, batches, steps, lambda m: train.log(self.log, m))


def complete_windows(log_text):
    """{step: mean batch MSE} of a train.log's log lines whose window of LOG_EVERY steps ran
    whole (the first line after a start or resume covers fewer steps, so it is left out)."""
    windows, previous = {}, None
    for line in log_text.splitlines():
        resumed = re.search(r"(?:resumed .* at|on \S+,) step (\d+)", line)
        logged = re.search(r"step (\d+) lr=\S+ mse=(\S+)", line)
        if resumed:
            previous = int(resumed.group(1))
        elif logged:
            step = int(logged.group(1))
            if previous is not None and step - previous == LOG_EVERY:
                windows[step] = float(logged.group(2))
            previous = step
    return windows


def compare(folder, span=2000):
    """Each run's development gains averaged over each `span` steps, and each from-scratch run's
    training error against arch-fast's on the same batches, in dB, over the same spans."""
    runs = sorted(d for d in os.listdir(folder)
                  if d.startswith(("arch-", "refine-")) and os.path.isdir(os.path.join(folder, d)))
    windows = {}
    for run in runs:
        with open(os.path.join(folder, run, "train.log")) as fh:
            text = fh.read()
        windows[run] = complete_windows(text)
        spans = {}  # the development rows of each span, averaged: one row is noisy at a constant rate
        for step, gains in re.findall(r"dev step (\d+):.*gain dB (.*)", text):
            spans.setdefault((int(step) - 1) // span, []).append(
                (int(step), {q: float(g) for q, g in re.findall(r"(q\d+):(\S+)", gains)}))
        for index, rows in sorted(spans.items()):
            mean = " ".join(f"{q}:{np.mean([g[q] for _, g in rows]):+.2f}" for q in rows[0][1])
            print(f"{run} development gain, mean of {len(rows)} rows at steps {rows[0][0]}-{rows[-1][0]}: {mean}")
    control = windows.pop("arch-fast", {})
    for run, mse in windows.items():
        if not run.startswith("arch-"):
            continue  # arch-fast is no control for a second pass: it starts from a trained enhancer
        steps = sorted(set(mse) & set(control))
        for start in range(0, steps[-1] if steps else 0, span):
            chosen = [s for s in steps if start < s <= start + span]
            if chosen:
                lower = np.mean([10 * np.log10(control[s] / mse[s]) for s in chosen])
                print(f"{run} against arch-fast on the same batches, steps {start + 1}-{chosen[-1]}: training "
                      f"error lower by {lower:+.3f} dB ({len(chosen)} windows of {LOG_EVERY} steps)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--net", choices=["fast", "quarter", "unet"])
    parser.add_argument("--fine", type=int, default=2, help="unet: half-resolution layers on each side")
    parser.add_argument("--coarse", type=int, default=4, help="unet: quarter-resolution layers")
    parser.add_argument("--init", metavar="CHECKPOINT",
                        help="fine-tune from a trained fast enhancer (fast-full-2's checkpoint, see above)")
    parser.add_argument("--steps", type=int, help="with --init: the fine-tune's steps (default 2800); otherwise "
                        "(--refine, from scratch): the planned steps, the rate dropping to a quarter at 70%% of them "
                        "and a sixteenth at 90%% (default 100,000); resume with the same --steps, as the plan is not "
                        "stored")
    parser.add_argument("--distil", type=int, default=0, metavar="STEPS",
                        help="unet with --init: first train the quarter-resolution path alone to stand in "
                             "for the middle layers it replaces, for STEPS steps")
    parser.add_argument("--qualities", metavar="LO,HI",
                        help="with --init or --refine: train on JPEG qualities LO-HI only (default: the recipe's 5-75)")
    parser.add_argument("--refine", metavar="CHECKPOINT",
                        help="train NET as a second pass on the output of the trained fast enhancer of "
                             "CHECKPOINT (fast-full-2's, see above), which stays frozen; from random weights "
                             "unless --warm")
    parser.add_argument("--warm", action="store_true",
                        help="with --refine: the second pass starts from the trained enhancer's layers "
                             "(its last layer zero all the same) instead of at random")
    parser.add_argument("--pair", metavar="CHECKPOINT",
                        help="fine-tune a --refine run's pair of fast enhancers from its last state with the "
                             "--init recipe (run name pair-TRAIN)")
    parser.add_argument("--train", choices=["both", "second"], default="both",
                        help="with --pair: train both enhancers together (the rounding between them straight "
                             "through) or the second alone, the first frozen as --refine has it (the control)")
    parser.add_argument("--out", default="/tmp/arch", help="checkpoints and logs")
    parser.add_argument("--hours", type=float, default=1.45)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (a lent GPU; --bf16 there too)")
    parser.add_argument("--bf16", action="store_true",
                        help="bfloat16 autocast for the training steps (the development crops stay fp32): "
                             "about twice as fast per step on a CPU with AVX-512 BF16; it may be switched on when resuming")
    parser.add_argument("--compare", metavar="FOLDER",
                        help="print the runs of FOLDER (an --out), the from-scratch ones against arch-fast, and stop")
    options = parser.parse_args()
    if options.compare:
        return compare(options.compare)
    if not options.net:
        parser.error("--net is required (or --compare)")
    if options.qualities and not (options.init or options.refine):
        parser.error("--qualities goes with --init or --refine")
    if options.init and options.net == "quarter":
        parser.error("--init starts fast or unet, not quarter")
    if options.init and options.refine:
        parser.error("--init and --refine do not go together")
    if options.warm and not options.refine:
        parser.error("--warm goes with --refine")
    if options.refine and options.warm and options.net == "quarter":
        parser.error("--warm starts fast or unet, not quarter")
    if options.refine and options.distil:
        parser.error("--distil goes with --init")
    if options.pair and (options.init or options.refine or options.net != "fast" or options.qualities or options.distil):
        parser.error("--pair goes with --net fast alone (the pair's shape is the refine run's)")
    torch.set_num_threads(options.threads)
    shape = {"unet": lambda: UNetEnhancer(fine=options.fine, coarse=options.coarse), "quarter": QuarterEnhancer,
             "fast": models.EnhancerFast}[options.net]
    if options.refine:
        models.ENHANCER["fast"] = lambda width, middle: refined(options.refine, shape(), options.warm)
    elif options.pair:
        models.ENHANCER["fast"] = lambda width, middle: Refined(
            models.EnhancerFast(), models.EnhancerFast(), joint=options.train == "both")
    elif options.net != "fast":
        models.ENHANCER["fast"] = lambda width, middle: shape()
    cfg = config(options)
    cfg["bf16"] = options.bf16
    trainer = WarmStartTrainer(cfg, options.device, os.path.join(options.out, cfg["name"]), options.out)
    trainer.run(options.hours, None, True)


if __name__ == "__main__":
    main()
