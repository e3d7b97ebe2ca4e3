#!/usr/bin/env python3
"""Throughput of examples/ray_batch.py against a loop of `comrec` commands on the same images.

    examples/ray_bench.py                              # 96 generated 768x512 images, encode, 2 CPUs
    examples/ray_bench.py --command decode --images 32
    examples/ray_bench.py --mode half --size 1536x1024

Makes photo-like images (smooth gradients, discs and grain from a seeded generator: never a data
set), then times `comrec encode FILE -o OUT` run once per file in sequence (the CLI's default
threads: every core) and ray_batch.py on a local Ray of --cpus CPUs, checks that both wrote the
same bytes and prints the rates (medians of --repeat runs) with the CPU model. A Ray job has fixed
costs (Ray's start, then starting its workers and importing numpy, Pillow and comrec in each), so
it runs twice, on the N images and on 2N (the N and N more): N / (time of 2N - time of N) is the
rate a long run keeps, the one to compare with the CLI loop's. For decode, the images are first
encoded with the CLI (not timed). docs/scaling.md has results.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
RAY_BATCH = ROOT / "examples" / "ray_batch.py"


def photo_like(width, height, seed):
    """An RGB image with the statistics that matter to a codec: smooth areas, edges, texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    image = np.zeros((height, width, 3))
    for c in range(3):
        a, b, phase = rng.uniform(-1, 1, 3)
        image[:, :, c] = 128 + 70 * np.sin(3 * (a * x + b * y) + phase)
    for _ in range(12):
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, height / width), rng.uniform(0.02, 0.2)
        inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r
        image[inside] = 0.5 * image[inside] + 0.5 * rng.uniform(0, 255, 3)
    image += rng.normal(0, 6, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            models = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    except OSError:
        models = []
    return f"{models[0] if models else 'unknown CPU'} ({os.cpu_count()} logical CPUs)"


def run_ray(command, images, out, args, options):
    """(the summary of ray_batch.py over `images`, its end-to-end seconds)."""
    report = out.with_suffix(".json")
    started = time.perf_counter()
    run = subprocess.run([sys.executable, RAY_BATCH, command, images, out, "--num-cpus", str(args.cpus),
                          "--batch-size", str(args.batch_size), "--report", report, *options],
                         capture_output=True, text=True)
    end_to_end = time.perf_counter() - started
    if run.returncode != 0:
        sys.exit(f"ray_batch.py failed:\n{run.stderr}")
    return json.loads(report.read_text()), end_to_end


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--command", choices=["encode", "decode"], default="encode")
    parser.add_argument("--images", type=int, default=96, help="N, the images of the CLI loop (default 96)")
    parser.add_argument("--size", default="768x512", help="the images' size, WxH (default 768x512)")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray (default 2)")
    parser.add_argument("--batch-size", type=int, default=48, help="ray_batch.py's (default 48, its own)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the medians are printed (default 3)")
    parser.add_argument("--cli", default=os.environ.get("COMREC_BIN", ROOT / ".build" / "release" / "comrec"),
                        help="the comrec command (default .build/release/comrec, or COMREC_BIN)")
    parser.add_argument("--quality", type=int)
    parser.add_argument("--mode", choices=["auto", "half", "full"])
    parser.add_argument("--profile")
    args = parser.parse_args()
    options = [flag for name in ("quality", "mode", "profile") if getattr(args, name) is not None
               for flag in (f"--{name}", str(getattr(args, name)))]
    width, height = map(int, args.size.split("x"))
    n, suffix = args.images, ".jpg" if args.command == "encode" else ".png"

    with tempfile.TemporaryDirectory(prefix="ray-bench-") as scratch:
        scratch = Path(scratch)
        # Set N is the first half of set 2N (hard links: the same files, read the same way).
        half, full = scratch / "n", scratch / "2n"
        half.mkdir()
        full.mkdir()
        for i in range(2 * n):
            name = f"{i:04d}.png"
            Image.fromarray(photo_like(width, height, seed=i)).save(full / name, compress_level=1)
            if i < n:
                os.link(full / name, half / name)
        if args.command == "decode":
            for folder in (half, full):
                for source in sorted(folder.glob("*.png")):
                    subprocess.run([str(args.cli), "encode", source, "-o", source.with_suffix(".jpg"), *options],
                                   check=True, capture_output=True)
                    source.unlink()
            options = []
        sources = sorted(half.iterdir())

        load = os.getloadavg()[0]
        runs = []  # per repetition: CLI seconds, Ray summary of N, of 2N, end-to-end seconds of N
        for repetition in range(args.repeat):
            cli_out = scratch / f"cli-{repetition}"
            cli_out.mkdir()
            started = time.perf_counter()
            for source in sources:
                subprocess.run([str(args.cli), args.command, source, "-o", cli_out / (source.stem + suffix), *options],
                               check=True, capture_output=True)
            cli_seconds = time.perf_counter() - started
            summary, end_to_end = run_ray(args.command, half, scratch / f"ray-n-{repetition}", args, options)
            summary_2n, _ = run_ray(args.command, full, scratch / f"ray-2n-{repetition}", args, options)
            runs.append((cli_seconds, summary, summary_2n, end_to_end))
            print(f"run {repetition + 1}: CLI loop {cli_seconds:.2f} s; Ray job {n} files {summary['seconds']:.2f} s, "
                  f"{2 * n} files {summary_2n['seconds']:.2f} s", flush=True)
        same = sum((scratch / "cli-0" / (s.stem + suffix)).read_bytes()
                   == (scratch / "ray-n-0" / (s.stem + suffix)).read_bytes() for s in sources)
        load_after = os.getloadavg()[0]

    cli_rate = n / statistics.median([r[0] for r in runs])
    extra = statistics.median([r[2]["seconds"] - r[1]["seconds"] for r in runs])
    if extra <= 0:
        sys.exit(f"{2 * n} files took no longer than {n}: Ray's fixed costs hide the work; give more --images")
    long_rate = n / extra
    job_rate = n / statistics.median([r[1]["seconds"] for r in runs])
    e2e_rate = n / statistics.median([r[3] for r in runs])
    ray_start = statistics.median([r[1]["ray_start_seconds"] for r in runs])
    print(f"CPU: {cpu_model()}; load average {load:.2f} before the runs, {load_after:.2f} after")
    print(f"{n} generated {args.size} images ({n * width * height / 1e6:.1f} megapixels); "
          f"{args.command} {' '.join(options) or '(default options)'}; medians of {args.repeat} runs")
    print(f"CLI loop, one `comrec {args.command}` per file in sequence: {cli_rate:.2f} files/s")
    print(f"Ray job, {args.cpus} CPUs, batches of at most {args.batch_size}, 1 thread per task:")
    print(f"  a long run's rate, {n} / (time of {2 * n} files - time of {n}): {long_rate:.2f} files/s "
          f"({long_rate * width * height / 1e6:.2f} megapixels/s)")
    print(f"  {n} files alone: {job_rate:.2f} files/s; end to end, with Python and Ray's start ({ray_start:.1f} s): "
          f"{e2e_rate:.2f} files/s")
    cpu = statistics.median([r[2]["cpu_seconds_per_megapixel"] for r in runs])
    print(f"  workers' CPU time {cpu} s per megapixel; "
          f"a worker's peak memory {max(r[2]['worker_peak_megabytes'] for r in runs)} MB")
    print(f"ratio to the CLI loop: {long_rate / cli_rate:.2f}x for a long run; {job_rate / cli_rate:.2f}x for "
          f"{n} files; {e2e_rate / cli_rate:.2f}x end to end")
    print(f"outputs identical to the CLI's: {same} of {n}")
    return 0 if same == n else 1


if __name__ == "__main__":
    sys.exit(main())
