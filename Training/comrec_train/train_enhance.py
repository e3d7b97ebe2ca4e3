"""Train the full-resolution enhancer: the image is stored as an ordinary full-resolution
JPEG, and a network of the RecCNN family (models.EnhancerPaper / EnhancerFast) removes the JPEG
artifacts at decode.

    python -m comrec_train.train_enhance --config configs/fast-full.json [--hours 2] [--steps N]

Data: random crops of the training images (data.CropSampler), really encoded and decoded by
libjpeg-turbo (jpeg.roundtrip: 4:2:0, optimised Huffman) at a random quality per crop from
`quality_range` (with `"stored_jpeg": "comrec"`, the trellis-quantised JPEG with ComRec's tables
that `comrec encode --mode full` writes instead, through the comrec Python package; "trellis", the
same with the standard's tables: jpeg.stored_roundtrip); loss
MSE(enhancer(decoded), original) on the 0..1 scale. `"init_from": CHECKPOINT` starts a new run
(a fine-tune) from another run's best weights. Budget, checkpoints,
resume and logging work as in train.py: checkpoints/<name>.pt (every random state included),
checkpoints/<name>-dev.jsonl, runs/<name>/train.log, with <name> the config's `name`.

Development evaluation (every `dev_every_minutes` and when the run's total budget is spent): the
12 held-out development crops (data.load_train_and_dev) as plain JPEGs at each of `dev_qualities`,
PSNR of the decoded JPEG and of the enhancer's output (the same file, so the same size), and the
BD-rate of the enhanced curve against plain JPEG over `bd_range_bpp` (default: the bpp range the
development JPEG curve spans). The state with the lowest BD-rate is kept as `best`.
"""
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import data, jpeg, metrics, models
from .train import TRAINING, TrainingRun, _db, _pct, log, parse_run_arguments


def check_config(cfg):
    if cfg["profile"] not in models.ENHANCER:
        raise SystemExit(f"profile must be one of {sorted(models.ENHANCER)}, not {cfg['profile']!r}")
    if cfg.get("mode", "full") != "full":
        raise SystemExit("train_enhance trains the full-resolution mode only (mode: full)")
    if cfg["crop"] % 16:
        raise SystemExit(f"crop must be a multiple of 16 (a whole number of 4:2:0 MCUs), not {cfg['crop']}")
    lo, hi = cfg["quality_range"]
    if not 1 <= lo <= hi <= 100:
        raise SystemExit(f"bad quality_range {cfg['quality_range']}")


def run_name(cfg):
    return cfg.get("name") or cfg["profile"] + "-full"


class EnhanceTrainer(TrainingRun):
    def __init__(self, cfg, device, run_dir, ckpt_dir):
        check_config(cfg)
        self.cfg = cfg
        self.device = torch.device(device)
        self.profile = cfg["profile"]
        self.name = run_name(cfg)
        self.ckpt_path = os.path.join(ckpt_dir, f"{self.name}.pt")
        self.dev_path = os.path.join(ckpt_dir, f"{self.name}-dev.jsonl")
        os.makedirs(run_dir, exist_ok=True)
        os.makedirs(ckpt_dir, exist_ok=True)
        self.log = open(os.path.join(run_dir, "train.log"), "a")

        seed = cfg["seed"]
        torch.manual_seed(seed)
        self.rng = random.Random(seed)
        self.net = models.make_enhancer(self.profile, cfg.get("width"), cfg.get("middle")).to(self.device)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=cfg["lr"])
        self.step = 0
        self.elapsed = 0.0
        self.best = None  # {"score", "step", "dev", "enhance"}

        train, self.dev = data.load_train_and_dev(cfg.get("datasets"), cfg.get("train_sets", data.TRAIN_SETS))
        self.sampler = data.CropSampler(train, cfg["crop"], seed)
        self._roundtrip = jpeg.stored_roundtrip(cfg.get("stored_jpeg", "libjpeg"), self.profile)
        self.reference = self._reference()
        if os.path.exists(self.ckpt_path):
            self._load()
        elif cfg.get("init_from"):
            self._initialise(cfg["init_from"])


    def batch(self):
        """(original crops, their JPEG round trips at random qualities), uint8 N x H x W x 3."""
        crops = self.sampler.batch(self.cfg["batch"])
        decoded = np.stack([d for d, _ in self.roundtrips(self.roundtrip, crops, self._qualities(len(crops)))])
        return crops, decoded

    def roundtrip(self, img, q):
        """The JPEG the enhancer learns from (`stored_jpeg`, jpeg.STORED_JPEG_KINDS): libjpeg's
        rounding ("libjpeg", the default), or what `comrec encode` writes with the standard's
        tables ("trellis") or its own ("comrec")."""
        return self._roundtrip(img, q)

    def train_step(self):
        crops, decoded = self.batch()
        target, x = self._tensor(crops) / 255, self._tensor(decoded)
        self.net.train()
        with self.autocast():
            out = self.net(x)
        loss = F.mse_loss(out.float() / 255, target)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"mse": loss.item(), "mse_jpeg": F.mse_loss(x / 255, target).item()}

    # ------------------------------------------------------------------ development set

    def _reference(self):
        """Per development quality: the decoded plain JPEGs, mean bpp and mean PSNR."""
        rows = []
        for q in self.cfg["dev_qualities"]:
            decoded, bpp, ps = [], [], []
            for img in self.dev:
                dec, size = self.roundtrip(img, q)
                decoded.append(dec)
                bpp.append(size * 8 / (img.shape[0] * img.shape[1]))
                ps.append(metrics.psnr(dec, img))
            rows.append({"q": q, "decoded": np.stack(decoded), "bpp": float(np.mean(bpp)),
                         "psnr": float(np.mean(ps))})
        return rows

    def bd_range(self):
        if self.cfg.get("bd_range_bpp"):
            return tuple(self.cfg["bd_range_bpp"])
        bpps = [r["bpp"] for r in self.reference]
        return min(bpps), max(bpps)

    @torch.no_grad()
    def enhance(self, decoded):
        """uint8 N x H x W x 3 -> the float enhancer's output, rounded (half to even), uint8."""
        self.net.eval()
        out = self.net(self._tensor(decoded)).round().clamp(0, 255)
        return out.permute(0, 2, 3, 1).to(torch.uint8).cpu().numpy()

    def evaluate(self):
        rows = []
        for ref in self.reference:
            out = self.enhance(ref["decoded"])
            p = float(np.mean([metrics.psnr(o, img) for o, img in zip(out, self.dev)]))
            rows.append({"q": ref["q"], "bpp": ref["bpp"], "psnr_jpeg": ref["psnr"], "psnr_enhanced": p,
                         "gain_db": p - ref["psnr"]})
        plain = [(r["bpp"], r["psnr_jpeg"]) for r in rows]
        enhanced = [(r["bpp"], r["psnr_enhanced"]) for r in rows]
        lo, hi = self.bd_range()
        return {
            "step": self.step, "hours": self.elapsed / 3600, "qualities": rows,
            "bd_range_bpp": [lo, hi],
            "bd_rate_vs_jpeg": metrics.bd_rate(plain, enhanced, lo, hi),
            "bd_psnr_vs_jpeg": metrics.bd_psnr(plain, enhanced, lo, hi),
            "mean_gain_db": float(np.mean([r["gain_db"] for r in rows])),
        }

    def record_dev(self, result):
        with open(self.dev_path, "a") as fh:
            fh.write(json.dumps(result) + "\n")
        gains = " ".join(f"q{r['q']}:{r['gain_db']:+.2f}" for r in result["qualities"])
        log(self.log, f"dev step {result['step']}: BD-rate vs JPEG {_pct(result['bd_rate_vs_jpeg'])}, "
            f"BD-PSNR {_db(result['bd_psnr_vs_jpeg'])} over {result['bd_range_bpp'][0]:.3f}-"
            f"{result['bd_range_bpp'][1]:.3f} bpp; gain dB {gains}")
        score = result["bd_rate_vs_jpeg"]
        if score is not None and (self.best is None or score < self.best["score"]):
            self.best = {"score": score, "step": self.step, "dev": result,
                         "enhance": {k: v.detach().clone() for k, v in self.net.state_dict().items()}}
            log(self.log, f"new best at step {self.step}: BD-rate vs JPEG {_pct(score)}")

    # ------------------------------------------------------------------ checkpoints

    def _state(self):
        return {
            "kind": "enhancer", "config": self.cfg, "step": self.step, "elapsed": self.elapsed,
            "enhance": self.net.state_dict(), "opt": self.opt.state_dict(),
            "rng": self.rng.getstate(), "sampler": self.sampler.state(),
            "torch_rng": torch.get_rng_state(), "best": self.best,
        }

    def _load(self):
        s = torch.load(self.ckpt_path, map_location=self.device, weights_only=False)
        if s.get("kind") != "enhancer" or s["config"]["profile"] != self.profile:
            raise SystemExit(f"{self.ckpt_path} is not a {self.profile} enhancer checkpoint")
        self.net.load_state_dict(s["enhance"])
        self.opt.load_state_dict(s["opt"])
        self.step, self.elapsed, self.best = s["step"], s["elapsed"], s["best"]
        self.rng.setstate(s["rng"])
        self.sampler.set_state(s["sampler"])
        torch.set_rng_state(s["torch_rng"].cpu())  # map_location moved it to the device
        log(self.log, f"resumed {self.ckpt_path} at step {self.step}, {self.elapsed / 3600:.2f} h")

    def _initialise(self, path):
        """A fine-tune's start: the weights of another run's checkpoint (its best state, or its
        last with `init_weights` "last"), with this run's own optimiser, step 0 and no best yet
        (its development set may differ, so the scores do not compare)."""
        s = torch.load(path, map_location=self.device, weights_only=False)
        if s.get("kind") != "enhancer" or s["config"]["profile"] != self.profile:
            raise SystemExit(f"{path} is not a {self.profile} enhancer checkpoint")
        use_best = self.cfg.get("init_weights", "best") == "best" and s.get("best")
        self.net.load_state_dict(s["best"]["enhance"] if use_best else s["enhance"])
        log(self.log, f"initialised from {path} ({'best, step ' + str(s['best']['step']) if use_best else 'last, step ' + str(s['step'])})")

    # ------------------------------------------------------------------ main loop

    def _run(self, hours, steps, stop):
        cfg = self.cfg
        start = time.time()
        first_step = self.step
        last_ckpt = last_dev = start
        last_dev_step = None
        window = []
        log(self.log, f"enhancer {self.name} ({self.profile}) on {self.device}, step {self.step}, budget "
            f"{hours} h this run, total {cfg['total_hours']} h / {cfg['total_steps']} steps")
        if self.step == 0 and self.best is None and cfg.get("init_from"):
            # A fine-tune's starting weights are judged first: its baseline on its own JPEGs.
            self.record_dev(self.evaluate())
            last_dev_step = 0
        while self.budget_left():
            t0 = time.time()
            if t0 - start > hours * 3600 or (steps is not None and self.step - first_step >= steps) or stop.requested:
                break
            for g in self.opt.param_groups:
                g["lr"] = self.lr()
            window.append(self.train_step())
            self.step += 1
            now = time.time()
            self.elapsed += now - t0
            if self.step % cfg["log_every"] == 0:
                mse = np.mean([w["mse"] for w in window])
                mse_jpeg = np.mean([w["mse_jpeg"] for w in window])
                log(self.log, f"step {self.step} lr={self.lr():.3g} mse={mse:.5g} mse_jpeg={mse_jpeg:.5g} "
                    f"gain={10 * np.log10(mse_jpeg / mse):+.2f} dB ({now - t0:.2f} s/step)")
                window = []
            if now - last_dev > cfg["dev_every_minutes"] * 60:
                self.record_dev(self.evaluate())
                last_dev, last_dev_step = time.time(), self.step
            if time.time() - last_ckpt > cfg["checkpoint_every_minutes"] * 60:
                self.save()
                last_ckpt = time.time()
        if (not self.budget_left() or self.judge_at_stop) and last_dev_step != self.step:
            self.record_dev(self.evaluate())  # the end of the whole run is always judged
        self.save()
        log(self.log, f"stopped at step {self.step}, {self.elapsed / 3600:.2f} h in total" + stop.describe())


def main(argv=None):
    args, cfg = parse_run_arguments(__doc__, "configs/fast-full.json, configs/paper-full.json", argv)
    run_dir = args.run_dir or os.path.join(TRAINING, "runs", run_name(cfg))
    EnhanceTrainer(cfg, args.device, run_dir, args.checkpoint_dir).run(args.hours, args.steps, args.judge_at_stop)


if __name__ == "__main__":
    sys.exit(main())
