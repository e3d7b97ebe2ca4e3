"""Quantise an exported profile to int8: calibrate, fine-tune RecCNN with the exact integer forward
pass (quantize.py), compare int8 with float on the development set, and write the int8 tensors.

    python -m comrec_train.qat --weights ../Weights/fast [--steps 2000] [--hours 1]

Reads Weights/<profile>/config.json and model.safetensors (export.py); writes int8.safetensors
(`<net>.<i>.weight` int8 [cout][3][3][cin], `.bias` int32, `.multiplier` float32, in the layer
order of config.json) and quant.json (activation scales, fine-tuning, int8 vs float figures).
ComCNN is quantised after training only (three layers); RecCNN is fine-tuned on compact images
from the int8 ComCNN, really encoded and decoded, so training sees what the runtime will. The
fine-tuned network is written only if it beats the calibrated one on the development set. The
compact JPEGs are of the kind the RecCNN learnt from (--stored-jpeg; by default config.json's
source, libjpeg's rounding when it says nothing), as for an enhancer below.

A full-resolution export (config "mode": "full", one network `enhance`) is quantised the
same way: calibrated on 32 training crops really encoded and decoded at the qualities
ENHANCER_CALIBRATION_QUALITIES in turn, fine-tuned on crops decoded at random qualities from
--quality-range (default 5-75, the enhancers' training range), compared on the development crops as plain JPEGs at
--dev-qualities (default 10 20 30 50 75 90); tensors `enhance.<i>.*`. Every one of those JPEGs is
the kind the enhancer was trained on and will see (--stored-jpeg; by default what config.json's
source says the run used): libjpeg's rounding ("libjpeg"), or the trellis-quantised JPEG `comrec
encode --mode full` writes with the standard's tables ("trellis") or ComRec's ("comrec")
(jpeg.stored_roundtrip; those two need the comrec Python package, PYTHONPATH=../python).
`max_quality` is then judged against those JPEGs too.

A second-pass enhancer (config.json's "second_pass_of", export.py) reads the first pass's output
instead of the decoded JPEG: every JPEG above is first restored by the first pass's int8 enhancer
(the exported folder of that name beside --weights, its int8.safetensors), as the runtime will
hand it on, so "jpeg_psnr" in its rows is the first pass's PSNR and `max_quality` the highest
quality up to which the second pass still adds to the first.

The int8 figures on the development set come from the torch forward pass under no_grad
(QuantProfile.compact_fast / reconstruct_fast, QuantEnhancer.enhance_fast), equal bit for bit to
the numpy integer reference intref.py and several times faster. After writing int8.safetensors,
one development image at the first development quality is also run through intref, and qat stops
with an error, without writing quant.json, unless both give the same bytes.
"""
import argparse
import copy
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import data, export, jpeg, metrics, quantize, resample


def float_reconstruct(config, tensors, compact_fn, image, quality, roundtrip=jpeg.roundtrip):
    """Float pipeline on one image: compact (float ComCNN, rounded), JPEG (`roundtrip`), float RecCNN."""
    h, w = image.shape[:2]
    compact = compact_fn(image)
    decoded, size = roundtrip(compact, quality)
    up = resample.upsample2x(decoded, h, w)
    net = config["networks"]["rec"]
    src = decoded if net["reads"] == "decoded" else up
    with torch.no_grad():
        res = export.run_layers(net, tensors, torch.from_numpy(src).permute(2, 0, 1)[None].float())
    res = res[0, :, :h, :w].permute(1, 2, 0).numpy()
    return np.clip(np.rint(up + res), 0, 255).astype(np.uint8), size


def float_compact_fn(config, tensors):
    if config["compact"] != "comcnn":
        return resample.average2x2
    net = config["networks"]["com"]

    def fn(image):
        from . import intref
        padded = intref.pad_to_even(image)
        x = torch.from_numpy(padded).permute(2, 0, 1)[None].float()
        with torch.no_grad():
            res = export.run_layers(net, tensors, x)[0].permute(1, 2, 0).numpy()
        base = F.avg_pool2d(x, 2)[0].permute(1, 2, 0).numpy()
        return np.clip(np.rint(base + res), 0, 255).astype(np.uint8)
    return fn


def compare(qp, config, tensors, images, qualities, roundtrip=jpeg.roundtrip):
    """Per quality: mean bpp and PSNR of the float and the int8 pipelines, the compact images
    stored by `roundtrip`."""
    compact_float = float_compact_fn(config, tensors)
    rows = []
    for q in qualities:
        f_bpp, f_psnr, i_bpp, i_psnr = [], [], [], []
        for img in images:
            h, w = img.shape[:2]
            out, size = float_reconstruct(config, tensors, compact_float, img, q, roundtrip)
            f_bpp.append(size * 8 / (h * w))
            f_psnr.append(metrics.psnr(out, img))
            decoded, size = roundtrip(qp.compact_fast(img), q)
            out = qp.reconstruct_fast(decoded, h, w)
            i_bpp.append(size * 8 / (h * w))
            i_psnr.append(metrics.psnr(out, img))
        rows.append({"q": q, "float_bpp": float(np.mean(f_bpp)), "float_psnr": float(np.mean(f_psnr)),
                     "int8_bpp": float(np.mean(i_bpp)), "int8_psnr": float(np.mean(i_psnr))})
    return rows


def check_fast_path(q, image, quality):
    """Runs one image at one quality through the torch path that compare() / compare_enhancer()
    measure with and through the numpy integer reference (intref.py); SystemExit unless every byte
    agrees. q: a QuantProfile or a QuantEnhancer."""
    start = time.time()
    h, w = image.shape[:2]
    if isinstance(q, quantize.QuantEnhancer):
        decoded = jpeg.roundtrip(image, quality)[0]
        pairs = [("enhancer", q.enhance_fast(decoded), q.enhance(decoded))]
    else:
        compact = q.compact(image)
        decoded = jpeg.roundtrip(compact, quality)[0]
        pairs = [("compact image", q.compact_fast(image), compact),
                 ("reconstruction", q.reconstruct_fast(decoded, h, w), q.reconstruct(decoded, h, w))]
    for what, fast, ref in pairs:
        if not np.array_equal(fast, ref):
            raise SystemExit(f"int8 check FAILED at quality {quality}: the torch {what} {fast.shape} is not "
                             f"the numpy integer reference's (intref.py) {ref.shape}, so the development "
                             "figures are not those of int8.safetensors; quant.json not written")
    print(f"int8 check: torch path == intref on one development image at quality {quality} "
          f"({time.time() - start:.1f} s)", flush=True)


def write_int8(qp, folder, profile, mode=None):
    """Writes qp's int8 tensors to folder/int8.safetensors. Every array is made C-contiguous:
    safetensors.numpy stores an array's memory as it lies, whatever its strides."""
    from safetensors.numpy import save_file
    tensors = {k: np.ascontiguousarray(v) for k, v in qp.int8_tensors().items()}
    metadata = {"format": "comrec-int8-weights", "profile": profile}
    if mode:
        metadata["mode"] = mode
    save_file(tensors, os.path.join(folder, "int8.safetensors"), metadata=metadata)


# ---------------------------------------------------------------- full-resolution enhancer

ENHANCER_CALIBRATION_QUALITIES = [10, 20, 30, 50, 75, 90]


def float_enhance(config, tensors, decoded):
    """The exported float enhancer on one decoded uint8 image: rounded (half to even) uint8."""
    net = config["networks"]["enhance"]
    h, w = decoded.shape[:2]
    x = decoded
    if net["pixel_shuffle"] > 1:
        from . import intref
        x = intref.pad_to_even(decoded)
    with torch.no_grad():
        res = export.run_layers(net, tensors, torch.from_numpy(np.array(x, np.float32)).permute(2, 0, 1)[None])
    res = res[0, :, :h, :w].permute(1, 2, 0).numpy()
    return np.clip(np.rint(decoded + res), 0, 255).astype(np.uint8)


def stored_jpeg(args, config):
    """(kind, roundtrip) of the JPEGs to calibrate, fine-tune and judge on: --stored-jpeg, else
    what the training run used (config.json's source; libjpeg's rounding when it says nothing),
    the image's for an enhancer and the compact image's for a half-mode pair."""
    kind = args.stored_jpeg or config.get("source", {}).get("stored_jpeg", "libjpeg")
    return kind, jpeg.stored_roundtrip(kind, config["profile"])


def compare_enhancer(qe, config, tensors, images, qualities, roundtrip=jpeg.roundtrip):
    """Per quality: mean bpp and PSNR of the stored JPEG, the float and the int8 enhancer."""
    rows = []
    for q in qualities:
        bpp, p_jpeg, p_float, p_int8 = [], [], [], []
        for img in images:
            decoded, size = roundtrip(img, q)
            bpp.append(size * 8 / (img.shape[0] * img.shape[1]))
            p_jpeg.append(metrics.psnr(decoded, img))
            p_float.append(metrics.psnr(float_enhance(config, tensors, decoded), img))
            p_int8.append(metrics.psnr(qe.enhance_fast(decoded), img))
        rows.append({"q": q, "bpp": float(np.mean(bpp)), "jpeg_psnr": float(np.mean(p_jpeg)),
                     "float_psnr": float(np.mean(p_float)), "int8_psnr": float(np.mean(p_int8))})
    return rows


def quantise_enhancer(args, config, tensors, sampler, dev, rng):
    """Calibration, fine-tuning and export of a full-resolution enhancer (see the module doc)."""
    kind, roundtrip = stored_jpeg(args, config)
    print(f"qat: calibrating and judging on {kind} JPEGs", flush=True)
    first = config.get("second_pass_of")
    if first:
        roundtrip = after_first_pass(roundtrip, os.path.join(os.path.dirname(os.path.abspath(args.weights)), first),
                                     dev[0], args.dev_qualities[0])
    crops = sampler.batch(32)
    qs = ENHANCER_CALIBRATION_QUALITIES
    decoded_calibration = np.stack([roundtrip(c, qs[k % len(qs)])[0] for k, c in enumerate(crops)])
    qe = quantize.QuantEnhancer.calibrated(config, tensors, decoded_calibration)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2).float()

    def batch_loss():
        crops = sampler.batch(args.batch)
        decoded = np.stack([roundtrip(c, rng.randint(*args.quality_range))[0] for c in crops])
        return F.mse_loss(qe.enhance_torch(t(decoded)) / 255, t(crops) / 255)

    tuned = fine_tune(qe.chain, batch_loss,
                      lambda: compare_enhancer(qe, config, tensors, dev, args.dev_qualities, roundtrip), args)
    write_int8(qe, args.weights, config["profile"], mode="full")
    check_fast_path(qe, dev[0], args.dev_qualities[0])
    return {
        "semantics": "docs/int8.md",
        "mode": "full",
        "activation_scales": qe.activation_scales(),
        "stored_jpeg": kind,
        **({"second_pass_of": first} if first else {}),
        "calibration": {"crops": len(decoded_calibration), "crop": args.crop, "qualities": qs},
        **tuned,
        "min_gain_over_jpeg_db": min(r["int8_psnr"] - r["jpeg_psnr"] for r in tuned["dev_as_written"]),
        "max_quality": max_quality_with_gain(tuned["dev_as_written"]),
    }


def after_first_pass(roundtrip, folder, check_image, check_quality):
    """`roundtrip` followed by the int8 enhancer of the exported `folder`: what a second pass reads.
    That enhancer's torch path is first checked against intref on `check_image`."""
    if not os.path.isdir(folder):
        raise SystemExit(f"config.json's second_pass_of: no model folder {folder}")
    if not os.path.exists(os.path.join(folder, "int8.safetensors")):
        raise SystemExit(f"the first pass {folder} is not quantised yet (no int8.safetensors): run qat on it first")
    first = quantize.QuantEnhancer.exported(folder)
    check_fast_path(first, check_image, check_quality)
    print(f"qat: second pass, on the output of {folder}'s int8 enhancer", flush=True)

    def restored(image, quality):
        decoded, size = roundtrip(image, quality)
        return first.enhance_fast(decoded), size
    return restored


def max_quality_with_gain(rows):
    """The highest development quality up to which the int8 enhancer beats the plain JPEG at every
    measured quality (None when it loses already at the lowest): the `enhancerMaxQuality` to
    register the enhancer with (docs/modes.md). Full-mode files and `comrec enhance` leave JPEGs
    above it as they are."""
    best = None
    for r in sorted(rows, key=lambda r: r["q"]):
        if r["int8_psnr"] <= r["jpeg_psnr"]:
            break
        best = r["q"]
    return best


def mean_int8_psnr(rows):
    return float(np.mean([r["int8_psnr"] for r in rows]))


def fine_tune(module, batch_loss, evaluate, args):
    """Fine-tunes the calibrated `module` (Adam at args.lr, at most args.steps steps and args.hours)
    on `batch_loss()`, judging before and after with `evaluate()` (rows with int8_psnr and
    float_psnr). Fine-tuning on small noisy batches can lose to the calibrated network (measured
    on `fast`: -0.002 dB after calibration, -0.04 dB after 1400 steps), so the calibrated state is
    put back unless the fine-tuned one is better on the development set. Returns quant.json's
    fine-tuning keys."""
    before = evaluate()
    print("after calibration:", json.dumps(before), flush=True)
    calibrated_state = copy.deepcopy(module.state_dict())
    opt = torch.optim.Adam(module.parameters(), lr=args.lr)
    start, step = time.time(), 0
    while step < args.steps and time.time() - start < args.hours * 3600:
        loss = batch_loss()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % 50 == 0:
            print(f"qat step {step} mse {loss.item():.6f}", flush=True)
    hours = (time.time() - start) / 3600
    after = evaluate() if step else None
    kept, written = ("fine-tuned", after) if step else ("calibrated", before)
    if step:
        print("after fine-tuning:", json.dumps(after), flush=True)
        if mean_int8_psnr(after) < mean_int8_psnr(before):
            module.load_state_dict(calibrated_state)
            kept, written = "calibrated", before
            print("fine-tuning did not help on the development set: keeping the calibrated network", flush=True)
    return {
        "kept": kept,
        "fine_tuning": {"steps": step, "hours": hours, "lr": args.lr, "batch": args.batch, "crop": args.crop,
                        "quality_range": args.quality_range, "seed": args.seed},
        "dev_after_calibration": before,
        "dev_after_fine_tuning": after,
        "dev_as_written": written,
        "max_psnr_loss_db": max(r["float_psnr"] - r["int8_psnr"] for r in written),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True, help="exported folder, Weights/<profile>")
    p.add_argument("--steps", type=int, default=2000, help="fine-tuning steps (0: calibration only)")
    p.add_argument("--hours", type=float, default=1.0, help="wall-clock budget of the fine-tuning")
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=int, default=96)
    p.add_argument("--quality-range", type=int, nargs=2, default=None,
                   help="fine-tuning qualities (default 5 90; full-resolution mode 5 75)")
    p.add_argument("--dev-qualities", type=int, nargs="+", default=None,
                   help="default 10 20 40 60 90; full-resolution mode 10 20 30 50 75 90")
    p.add_argument("--stored-jpeg", choices=list(jpeg.STORED_JPEG_KINDS), default=None,
                   help="the JPEGs (of the compact image in half mode) to calibrate, fine-tune and judge on "
                        "(default: what the training run used, from config.json's source)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)

    config, tensors = export.load_exported(args.weights)
    full = config.get("mode") == "full"
    if args.quality_range is None:
        args.quality_range = [5, 75] if full else [5, 90]
    if args.dev_qualities is None:
        args.dev_qualities = ENHANCER_CALIBRATION_QUALITIES if full else [10, 20, 40, 60, 90]
    train, dev = data.load_train_and_dev()
    sampler = data.CropSampler(train, args.crop, args.seed)
    if full:
        doc = quantise_enhancer(args, config, tensors, sampler, dev, rng)
        with open(os.path.join(args.weights, "quant.json"), "w") as fh:
            json.dump(doc, fh, indent=2)
            fh.write("\n")
        return 0
    kind, roundtrip = stored_jpeg(args, config)
    qp = quantize.QuantProfile.calibrated(config, tensors, sampler.batch(32), roundtrip)

    def batch_loss():
        crops = sampler.batch(args.batch)
        qs = [rng.randint(*args.quality_range) for _ in crops]
        decoded = np.stack([roundtrip(qp.compact(c), q)[0] for c, q in zip(crops, qs)])
        up = np.stack([resample.upsample2x(d) for d in decoded])
        t = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).float()
        return F.mse_loss(qp.reconstruct_torch(t(decoded), t(up)) / 255, t(crops) / 255)

    tuned = fine_tune(qp.rec, batch_loss, lambda: compare(qp, config, tensors, dev, args.dev_qualities, roundtrip), args)
    write_int8(qp, args.weights, config["profile"])
    check_fast_path(qp, dev[0], args.dev_qualities[0])
    with open(os.path.join(args.weights, "quant.json"), "w") as fh:
        json.dump({
            "semantics": "docs/int8.md",
            "activation_scales": qp.activation_scales(),
            "stored_jpeg": kind,
            **tuned,
        }, fh, indent=2)
        fh.write("\n")


if __name__ == "__main__":
    sys.exit(main())
