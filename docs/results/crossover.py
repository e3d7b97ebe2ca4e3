"""Where a half-mode curve of a `comrec eval --json` file falls below plain JPEG (docs/results.md).

    python3 docs/results/crossover.py docs/results/cbsd68.json [--against REF] [CURVE ...]
    (default: fast against jpeg; for a profile with an enhancer, --against fast-full)

For each point of the curve (mean bpp and PSNR over the images), the PSNR of the REF curve at
the same bits per pixel, interpolated linearly in log bpp between its two neighbouring points
(points outside the jpeg curve's range are left out), and the difference. The crossover is the
first rate where the difference turns from positive to zero or negative, found by interpolating the
difference linearly in log bpp between the two points around the sign change; `none` when the
curve stays above JPEG over the whole range. Standard library only.
"""
import json
import math
import sys


def psnr_at(ref, bpp):
    points = sorted((p["bpp"], p["psnr"]) for p in ref)
    for (b0, p0), (b1, p1) in zip(points, points[1:]):
        if b0 <= bpp <= b1:
            t = (math.log(bpp) - math.log(b0)) / (math.log(b1) - math.log(b0))
            return p0 + t * (p1 - p0)
    return None


def differences(curves, name, against="jpeg"):
    rows = []
    for p in sorted(curves[name], key=lambda p: p["bpp"]):
        j = psnr_at(curves[against], p["bpp"])
        if j is not None:
            rows.append((p["q"], p["bpp"], p["psnr"], p["psnr"] - j))
    return rows


def crossover(rows):
    for (_, b0, _, d0), (_, b1, _, d1) in zip(rows, rows[1:]):
        if d0 > 0 >= d1:
            t = d0 / (d0 - d1)
            return math.exp(math.log(b0) + t * (math.log(b1) - math.log(b0)))
    return None


def main(argv):
    path, rest = argv[0], argv[1:]
    against = "jpeg"
    if rest[:1] == ["--against"]:
        against, rest = rest[1], rest[2:]
    names = rest or ["fast"]
    curves = json.load(open(path))["curves"]
    for name in names:
        rows = differences(curves, name, against)
        for q, bpp, psnr, diff in rows:
            print(f"{name} q={q}: {bpp:.4f} bpp, {psnr:.2f} dB, {diff:+.3f} dB against {against}")
        x = crossover(rows)
        print(f"{name}: crossover {'none' if x is None else f'{x:.3f} bpp'}")


if __name__ == "__main__":
    main(sys.argv[1:])
