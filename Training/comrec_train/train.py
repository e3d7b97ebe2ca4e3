"""Train a ComRec profile: RecCNN on a fixed 2x2 average first (the ablation), then ComCNN and
RecCNN in turn, each with the other frozen, as in Jiang et al.

    python -m comrec_train.train --config configs/fast.json [--hours 2] [--device cpu|cuda]

Budgeted in wall-clock time, checkpointed every few minutes to checkpoints/<profile>.pt (latest
state with optimisers, plus the best models so far), resumable from that file on any machine, and
logged to runs/<profile>/train.log. Development figures (held-out training images, never the
validation sets) go to checkpoints/<profile>-dev.jsonl and choose the best checkpoint.

Phases
- ablation: compact = 2x2 average; real JPEG (libjpeg-turbo) at a random quality; RecCNN learns
  (decoded, original). Its result is kept as the `ablation` models: the baseline ComCNN must beat.
- com: RecCNN frozen; ComCNN trained through it with the differentiable JPEG stand-in
  (jpeg.jpeg_proxy, dividing by the quantisation tables of the config's `stored_jpeg`: ComRec's
  own for "comrec", the standard's otherwise). Loss = MSE + lambda * rate ratio, where the ratio
  is ComCNN's estimated rate over the 2x2 average's at the same quality, and lambda follows a multiplier update that holds the
  ratio at `rate_target`: at a ratio of 1 the compact image costs what the plain average costs, so
  any gain is a gain at matched bits per pixel.
- rec: ComCNN frozen; its compact images really encoded and decoded; RecCNN learns to rebuild.

A RecCNN fine-tune (`"init_from"`: another run's checkpoint; `ablation_steps` and `com_phase_steps`
both 0) starts from that run's ComCNN and RecCNN and trains RecCNN alone, on compact JPEGs of the
kind `"stored_jpeg"` names (jpeg.STORED_JPEG_KINDS), under its own `"name"`.
"""
import argparse
import concurrent.futures
import json
import math
import os
import random
import shutil
import signal
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import data, jpeg, metrics, models, resample

HERE = os.path.dirname(os.path.abspath(__file__))
TRAINING = os.path.dirname(HERE)


def log(fh, msg):
    line = time.strftime("%Y-%m-%d %H:%M:%S ") + msg
    print(line, flush=True)
    fh.write(line + "\n")
    fh.flush()


def run_name(cfg):
    """A run's name: its checkpoint is checkpoints/<name>.pt, its log runs/<name>/train.log."""
    return cfg.get("name") or cfg["profile"]


class TrainingRun:
    """What both trainers (this file's and train_enhance.py's) share: the learning-rate schedule,
    batches as tensors, random JPEG qualities, bf16 autocast, the atomic checkpoint write and the
    stop on SIGTERM/Ctrl-C. A subclass has cfg, device, rng, ckpt_path and _state()."""

    def lr(self):
        # Constant, then / 4 at 70% and / 16 at 90% of the planned steps.
        frac = self.step / self.cfg["total_steps"]
        return self.cfg["lr"] * (1.0 if frac < 0.7 else 0.25 if frac < 0.9 else 0.0625)

    def _tensor(self, a):
        return torch.from_numpy(np.ascontiguousarray(a)).to(self.device).permute(0, 3, 1, 2).float()

    def _qualities(self, n):
        lo, hi = self.cfg["quality_range"]
        return [self.rng.randint(lo, hi) for _ in range(n)]

    def roundtrips(self, roundtrip, images, qualities):
        """[roundtrip(image, quality)] in order, on as many threads as torch uses (--threads): the
        JPEG round trips of a batch are most of a step's time on a GPU, and libjpeg-turbo and the
        comrec library run without Python's lock, so they overlap. The results do not depend on
        the number of threads."""
        workers = max(1, torch.get_num_threads())
        if workers == 1 or len(images) < 2:
            return [roundtrip(i, q) for i, q in zip(images, qualities)]
        if getattr(self, "_roundtrip_pool", None) is None or self._roundtrip_pool_size != workers:
            self._roundtrip_pool = concurrent.futures.ThreadPoolExecutor(workers)
            self._roundtrip_pool_size = workers
        return list(self._roundtrip_pool.map(roundtrip, images, qualities))

    def budget_left(self):
        """Whether the run's total budget (steps and training hours) has room for another step."""
        return self.step < self.cfg["total_steps"] and self.elapsed < self.cfg["total_hours"] * 3600

    def autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg["bf16"])

    def save(self):
        tmp = self.ckpt_path + ".tmp"
        torch.save(self._state(), tmp)
        os.replace(tmp, self.ckpt_path)

    def run(self, hours, steps=None, judge_at_stop=False):
        """Trains for at most `hours` of wall time and `steps` steps (None: no step limit) in
        this invocation, within the config's total budget, then saves the checkpoint. SIGTERM or
        Ctrl-C ends the run the same way, after the current step. The end of the whole run is
        always judged on the development set; with `judge_at_stop`, the end of this invocation too."""
        self.judge_at_stop = judge_at_stop
        with StopRequest() as stop:
            self._run(hours, steps, stop)


class Trainer(TrainingRun):
    def __init__(self, cfg, device, run_dir, ckpt_dir):
        self.cfg = cfg
        self.device = torch.device(device)
        self.profile = cfg["profile"]
        self.name = run_name(cfg)
        self.run_dir = run_dir
        self.ckpt_path = os.path.join(ckpt_dir, f"{self.name}.pt")
        self.dev_path = os.path.join(ckpt_dir, f"{self.name}-dev.jsonl")
        os.makedirs(run_dir, exist_ok=True)
        os.makedirs(ckpt_dir, exist_ok=True)
        self.log = open(os.path.join(run_dir, "train.log"), "a")

        seed = cfg["seed"]
        torch.manual_seed(seed)
        self.rng = random.Random(seed)
        self.com = models.ComCNN().to(self.device)
        self.rec = models.RECCNN[self.profile]().to(self.device)
        self.opt_com = torch.optim.Adam(self.com.parameters(), lr=cfg["lr"])
        self.opt_rec = torch.optim.Adam(self.rec.parameters(), lr=cfg["lr"])
        self.step = 0
        self.elapsed = 0.0
        self.log_lambda = math.log(cfg["rate_lambda_init"])
        self.best = None  # {"score", "step", "com", "rec"}
        self.ablation = None  # {"step", "rec", "dev"}

        train, self.dev = data.load_train_and_dev(cfg.get("datasets"), cfg.get("train_sets", data.TRAIN_SETS))
        self.sampler = data.CropSampler(train, cfg["crop"], seed)
        self._roundtrip = jpeg.stored_roundtrip(cfg.get("stored_jpeg", "libjpeg"), self.profile)
        self._tables = jpeg.stored_tables(cfg.get("stored_jpeg", "libjpeg"), self.profile)
        self.reference_curves = self._reference_curves()
        if os.path.exists(self.ckpt_path):
            self._load()
        elif cfg.get("init_from"):
            self._initialise(cfg["init_from"])

    # ------------------------------------------------------------------ schedule

    def rec_only(self):
        """A RecCNN fine-tune: no ablation and no ComCNN phase."""
        return self.cfg["ablation_steps"] == 0 and self.cfg["com_phase_steps"] == 0

    def phase(self, step=None):
        step = self.step if step is None else step
        a = self.cfg["ablation_steps"]
        if step < a:
            return "ablation"
        c, r = self.cfg["com_phase_steps"], self.cfg["rec_phase_steps"]
        return "com" if (step - a) % (c + r) < c else "rec"

    # ------------------------------------------------------------------ batches

    @torch.no_grad()
    def compact_images(self, crops, use_com):
        """uint8 N x h x w x 3 compact images, exactly as the codec would produce them."""
        if not use_com:
            return np.stack([resample.average2x2(c) for c in crops])
        self.com.eval()
        x = self._tensor(crops)
        c = self.com(x).round().clamp(0, 255)
        return c.permute(0, 2, 3, 1).to(torch.uint8).cpu().numpy()

    def real_codec_batch(self, crops, compact, qualities):
        """Decoded compact JPEGs (of the config's `stored_jpeg` kind), their x2 upsampling and sizes."""
        decoded, sizes = zip(*self.roundtrips(self._roundtrip, compact, qualities))
        decoded = np.stack(decoded)
        up = np.stack([resample.upsample2x(d) for d in decoded])
        return decoded, up, np.array(sizes)

    # ------------------------------------------------------------------ steps

    def rec_step(self, use_com):
        crops = self.sampler.batch(self.cfg["batch"])
        qs = self._qualities(len(crops))
        compact = self.compact_images(crops, use_com)
        decoded, up, _ = self.real_codec_batch(crops, compact, qs)
        self.rec.train()
        with self.autocast():
            out = self.rec(self._tensor(decoded), self._tensor(up))
        loss = F.mse_loss(out.float() / 255, self._tensor(crops) / 255)
        self.opt_rec.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_rec.step()
        return {"mse": loss.item()}

    def com_step(self):
        crops = self.sampler.batch(self.cfg["batch"])
        qs = self._qualities(len(crops))
        x = self._tensor(crops)
        self.com.train()
        self.rec.eval()
        with self.autocast():
            compact = self.com(x).float()
        dec, rate = jpeg.jpeg_proxy(compact, qs, self._tables)
        with torch.no_grad():
            _, ref_rate = jpeg.jpeg_proxy(models.average2x2(x).round(), qs, self._tables)
        ratio = (rate / ref_rate).mean()
        # RecCNN is frozen here: no weight gradients for it (a third of its backward pass), only
        # the gradient through it to ComCNN.
        self.rec.requires_grad_(False)
        try:
            with self.autocast():
                out = self.rec(dec, models.upsample2x(dec))
            mse = F.mse_loss(out.float() / 255, x / 255)
            lam = math.exp(self.log_lambda)
            loss = mse + lam * ratio
            self.opt_com.zero_grad(set_to_none=True)
            loss.backward()
        finally:
            self.rec.requires_grad_(True)
        self.opt_com.step()
        # Multiplier update: raise lambda while over budget, lower it while under.
        self.log_lambda += self.cfg["rate_lambda_step"] * (ratio.item() - self.cfg["rate_target"])
        self.log_lambda = min(max(self.log_lambda, -16.0), 2.0)
        return {"mse": mse.item(), "ratio": ratio.item(), "lambda": lam}

    @torch.no_grad()
    def measure_com(self, n=8):
        """Real-codec check of the ComCNN phase: real JPEG size ratio (of the config's stored JPEG
        kind) against the 2x2 average at the same qualities, and the PSNR the stand-in predicts
        against what the real codec gives."""
        crops = self.sampler.batch(n)
        qs = self._qualities(n)
        self.com.eval()
        self.rec.eval()
        compact = self.compact_images(crops, True)
        avg = self.compact_images(crops, False)
        real_sizes = sum(size for _, size in self.roundtrips(self._roundtrip, compact, qs))
        avg_sizes = sum(size for _, size in self.roundtrips(self._roundtrip, avg, qs))
        x = self._tensor(crops)
        dec_p, _ = jpeg.jpeg_proxy(self.com(x), qs, self._tables)
        out_p = self.rec(dec_p, models.upsample2x(dec_p)).round().clamp(0, 255)
        decoded, up, _ = self.real_codec_batch(crops, compact, qs)
        out_r = self.rec(self._tensor(decoded), self._tensor(up)).round().clamp(0, 255)
        to_np = lambda t: t.permute(0, 2, 3, 1).to(torch.uint8).cpu().numpy()
        p_proxy = np.mean([metrics.psnr(a, b) for a, b in zip(to_np(out_p), crops)])
        p_real = np.mean([metrics.psnr(a, b) for a, b in zip(to_np(out_r), crops)])
        return {"real_size_ratio": real_sizes / avg_sizes, "psnr_proxy": p_proxy, "psnr_real": p_real}

    # ------------------------------------------------------------------ development set

    def _reference_curves(self):
        curves = {"jpeg": [], "bicubic": []}
        for q in self.cfg["jpeg_qualities"]:
            bpp, ps = [], []
            for img in self.dev:
                dec, size = jpeg.roundtrip(img, q)
                bpp.append(size * 8 / (img.shape[0] * img.shape[1]))
                ps.append(metrics.psnr(dec, img))
            curves["jpeg"].append((float(np.mean(bpp)), float(np.mean(ps))))
        for q in self.cfg["dev_qualities"]:
            bpp, ps = [], []
            for img in self.dev:
                dec, size = jpeg.roundtrip(resample.downsample2x(img), q)
                out = resample.upsample2x(dec, img.shape[0], img.shape[1])
                bpp.append(size * 8 / (img.shape[0] * img.shape[1]))
                ps.append(metrics.psnr(out, img))
            curves["bicubic"].append((float(np.mean(bpp)), float(np.mean(ps))))
        return curves

    @torch.no_grad()
    def dev_curve(self, use_com):
        self.com.eval()
        self.rec.eval()
        curve = []
        for q in self.cfg["dev_qualities"]:
            bpp, ps = [], []
            for img in self.dev:
                compact = self.compact_images(img[None], use_com)
                decoded, up, sizes = self.real_codec_batch(img[None], compact, [q])
                out = self.rec(self._tensor(decoded), self._tensor(up)).round().clamp(0, 255)
                out = out.permute(0, 2, 3, 1).to(torch.uint8).cpu().numpy()[0]
                bpp.append(sizes[0] * 8 / (img.shape[0] * img.shape[1]))
                ps.append(metrics.psnr(out, img))
            curve.append((float(np.mean(bpp)), float(np.mean(ps))))
        return curve

    def evaluate(self, use_com):
        curve = self.dev_curve(use_com)
        ref = self.reference_curves
        return {
            "step": self.step, "phase": self.phase(max(self.step - 1, 0)), "hours": self.elapsed / 3600,
            "use_com": use_com, "curve": curve,
            "bd_rate_vs_jpeg": metrics.bd_rate(ref["jpeg"], curve),
            "bd_rate_vs_bicubic": metrics.bd_rate(ref["bicubic"], curve),
            "bd_psnr_vs_jpeg": metrics.bd_psnr(ref["jpeg"], curve),
        }

    # ------------------------------------------------------------------ checkpoints

    def _state(self):
        return {
            "config": self.cfg, "step": self.step, "elapsed": self.elapsed,
            "log_lambda": self.log_lambda,
            "com": self.com.state_dict(), "rec": self.rec.state_dict(),
            "opt_com": self.opt_com.state_dict(), "opt_rec": self.opt_rec.state_dict(),
            "rng": self.rng.getstate(), "sampler": self.sampler.state(),
            "torch_rng": torch.get_rng_state(),
            "best": self.best, "ablation": self.ablation,
        }

    def _load(self):
        s = torch.load(self.ckpt_path, map_location=self.device, weights_only=False)
        if s["config"]["profile"] != self.profile:
            raise SystemExit(f"{self.ckpt_path} is for profile {s['config']['profile']}")
        self.com.load_state_dict(s["com"])
        self.rec.load_state_dict(s["rec"])
        self.opt_com.load_state_dict(s["opt_com"])
        self.opt_rec.load_state_dict(s["opt_rec"])
        self.step, self.elapsed, self.log_lambda = s["step"], s["elapsed"], s["log_lambda"]
        self.rng.setstate(s["rng"])
        self.sampler.set_state(s["sampler"])
        torch.set_rng_state(s["torch_rng"].cpu())  # map_location moved it to the device
        self.best, self.ablation = s["best"], s["ablation"]
        log(self.log, f"resumed {self.ckpt_path} at step {self.step}, {self.elapsed / 3600:.2f} h")

    def _initialise(self, path):
        """A fine-tune's start: ComCNN and RecCNN of another run's checkpoint (its best pair, or
        its last with `init_weights` "last"), with this run's optimisers, step 0 and no best yet."""
        s = torch.load(path, map_location=self.device, weights_only=False)
        if s.get("kind") == "enhancer" or s["config"]["profile"] != self.profile:
            raise SystemExit(f"{path} is not a {self.profile} half-resolution checkpoint")
        use_best = self.cfg.get("init_weights", "best") == "best" and s.get("best")
        pair = s["best"] if use_best else s
        self.com.load_state_dict(pair["com"])
        self.rec.load_state_dict(pair["rec"])
        step = s["best"]["step"] if use_best else s["step"]
        log(self.log, f"initialised from {path} ({'best' if use_best else 'last'}, step {step})")

    def record_dev(self, result):
        with open(self.dev_path, "a") as fh:
            fh.write(json.dumps(result) + "\n")
        log(self.log, "dev step {step} {phase} com={use_com}: BD-rate vs JPEG {j}, vs bicubic {b}, "
            "BD-PSNR vs JPEG {p}".format(
                j=_pct(result["bd_rate_vs_jpeg"]), b=_pct(result["bd_rate_vs_bicubic"]),
                p=_db(result["bd_psnr_vs_jpeg"]), **result))

    def judge(self):
        """Development curve of the current pair, recorded and considered for `best`."""
        result = self.evaluate(use_com=True)
        self.record_dev(result)
        self.consider_best(result)

    def consider_best(self, result):
        score = result["bd_rate_vs_jpeg"]
        if score is None:
            return
        if self.best is None or score < self.best["score"]:
            self.best = {"score": score, "step": self.step, "dev": result,
                         "com": {k: v.detach().clone() for k, v in self.com.state_dict().items()},
                         "rec": {k: v.detach().clone() for k, v in self.rec.state_dict().items()}}
            log(self.log, f"new best at step {self.step}: BD-rate vs JPEG {_pct(score)}")

    # ------------------------------------------------------------------ main loop

    def _run(self, hours, steps, stop):
        cfg = self.cfg
        start = time.time()
        first_step = self.step
        last_ckpt = last_dev = start
        window = []
        log(self.log, f"profile {self.profile} ({self.name}) on {self.device}, step {self.step}, budget {hours} h "
            f"this run, total {cfg['total_hours']} h / {cfg['total_steps']} steps")
        last_dev_step = None
        if self.rec_only() and self.step == 0 and self.best is None:
            # A fine-tune's starting pair is judged first, on its own kind of JPEG: the baseline.
            self.judge()
            last_dev_step = 0
        while self.budget_left():
            t0 = time.time()
            if t0 - start > hours * 3600 or (steps is not None and self.step - first_step >= steps) or stop.requested:
                break
            phase = self.phase()
            for opt in (self.opt_com, self.opt_rec):
                for g in opt.param_groups:
                    g["lr"] = self.lr()
            stats = self.com_step() if phase == "com" else self.rec_step(phase == "rec")
            self.step += 1
            now = time.time()
            self.elapsed += now - t0
            window.append(stats)
            if self.step % cfg["log_every"] == 0:
                keys = window[0].keys()
                avg = {k: np.mean([w[k] for w in window]) for k in keys}
                msg = " ".join(f"{k}={v:.5g}" for k, v in avg.items())
                if phase == "com":
                    msg += " " + " ".join(f"{k}={v:.4g}" for k, v in self.measure_com().items())
                log(self.log, f"step {self.step} {phase} lr={self.lr():.3g} {msg} "
                    f"({(now - t0):.2f} s/step)")
                window = []
            if phase == "ablation" and self.step == cfg["ablation_steps"]:
                result = self.evaluate(use_com=False)
                self.record_dev(result)
                self.ablation = {"step": self.step, "dev": result,
                                 "rec": {k: v.detach().clone() for k, v in self.rec.state_dict().items()}}
                last_dev = time.time()
            elif phase == "ablation" and now - last_dev > cfg["dev_every_minutes"] * 60:
                self.record_dev(self.evaluate(use_com=False))
                last_dev = time.time()
            elif phase == "rec" and self.phase() == "com" and not self.rec_only():
                # A RecCNN phase just ended: the pair is consistent, so judge it.
                self.judge()
                last_dev = time.time()
            elif self.rec_only() and now - last_dev > cfg["dev_every_minutes"] * 60:
                self.judge()
                last_dev, last_dev_step = time.time(), self.step
            if time.time() - last_ckpt > cfg["checkpoint_every_minutes"] * 60:
                self.save()
                last_ckpt = time.time()
        if self.rec_only() and (not self.budget_left() or self.judge_at_stop) and last_dev_step != self.step:
            self.judge()  # the end of a fine-tune is always judged
        self.save()
        log(self.log, f"stopped at step {self.step}, {self.elapsed / 3600:.2f} h in total" + stop.describe())


def _pct(v):
    return "n/a" if v is None else f"{100 * v:+.1f}%"


def _db(v):
    return "n/a" if v is None else f"{v:+.2f} dB"


class StopRequest:
    """While active (a `with` block), SIGTERM and SIGINT do not kill the trainer: they set
    `requested`, and the training loop finishes its step, saves the checkpoint and returns, so
    `kill PID` or Ctrl-C loses nothing. The previous handlers are put back on exit."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.requested = None

    def __enter__(self):
        self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def _handle(self, signum, frame):
        self.requested = signal.Signals(signum).name

    def __exit__(self, *exc):
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        return False

    def describe(self):
        return f" (stopped by {self.requested})" if self.requested else ""


def parse_run_arguments(doc, config_help, argv=None):
    """The command line of train.py and train_enhance.py: (args, config dict), with torch's
    thread count set."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help=f"JSON config ({config_help})")
    p.add_argument("--hours", type=float, default=1.0, help="wall-clock budget of this invocation")
    p.add_argument("--steps", type=int, default=None, help="step budget of this invocation (default: none)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    p.add_argument("--run-dir", default=None, help="log folder (default runs/<run name>)")
    p.add_argument("--checkpoint-dir", default=os.path.join(TRAINING, "checkpoints"))
    p.add_argument("--judge-at-stop", action="store_true",
                   help="judge the last weights on the development set when this invocation stops "
                        "(budget, --steps or a signal), not only every dev_every_minutes: for short "
                        "runs on a borrowed machine, whose last minutes would otherwise go unjudged")
    args = p.parse_args(argv)
    with open(args.config) as fh:
        cfg = json.load(fh)
    if args.threads:
        torch.set_num_threads(args.threads)
    return args, cfg


def main(argv=None):
    args, cfg = parse_run_arguments(__doc__, "configs/paper.json, configs/fast.json", argv)
    run_dir = args.run_dir or os.path.join(TRAINING, "runs", run_name(cfg))
    Trainer(cfg, args.device, run_dir, args.checkpoint_dir).run(args.hours, args.steps, args.judge_at_stop)


if __name__ == "__main__":
    sys.exit(main())
