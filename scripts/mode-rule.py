#!/usr/bin/env python3
"""Fits and compares rules for `--mode auto` at effort 1 on scripts/mode-study.py's rows.

    python3 scripts/mode-rule.py scratch/mode-study-fast.jsonl [more.jsonl ...]

A rule sees only what the encoder has cheaply before choosing: the full-mode file's bits per pixel
(the budget) and JPEG quality, the PSNR of that JPEG decoded without its enhancer, and the image's detail PSNR
(against each 2x2 block's mean). Each rule is judged by its regret: the mean PSNR
given up against the per-image oracle (the better of the two decoded candidates, which is what
effort 2 keeps), in leave-one-image-out cross-validation, so that no image judges a rule fitted on
it. Rules:

- bpp: half mode when the budget is at most T (HalfModeRule.maxBitsPerPixel; T fitted);
- quality: half mode when the full-mode JPEG's quality is at most Q (HalfModeRule.maxQuality);
- bpp+detail: half mode when log2(budget) <= a + b * detail_psnr (a line in that plane);
- bpp+detail+plain: the same with c * (plain_psnr - detail_psnr) added.
Prints each rule's fitted parameters on all rows and its cross-validated regret, and the regret of
what `comrec encode` chose (rows with auto_mode, from mode-study.py --auto).
"""
import json
import math
import sys

import numpy as np


def load(path):
    rows = [json.loads(line) for line in open(path)]
    return [r for r in rows if r["half_psnr"] is not None]


def regret(rows, choose):
    loss = [max(r["half_psnr"], r["full_psnr"]) - (r["half_psnr"] if choose(r) else r["full_psnr"]) for r in rows]
    return float(np.mean(loss)) if loss else 0.0


def fit_bpp(rows):
    grid = [0.1 + 0.01 * i for i in range(50)]
    t = min(grid, key=lambda t: regret(rows, lambda r: r["budget_bpp"] <= t))
    return {"T": t}, lambda r, t=t: r["budget_bpp"] <= t


def fit_quality(rows):
    q = min(range(1, 101), key=lambda q: regret(rows, lambda r: r["q"] <= q))
    return {"Q": q}, lambda r, q=q: r["q"] <= q


def fit_line(rows, with_plain):
    # Crossing condition: log2(budget) <= a + b * detail [+ c * (plain - detail)]. For fixed b and
    # c, choosing half mode for the rows whose key is at most a means a prefix of the rows sorted
    # by key, so cumulative sums give every a's regret at once; b and c come from a grid.
    l2 = np.log2([r["budget_bpp"] for r in rows])
    detail = np.array([r["detail_psnr"] for r in rows])
    gap = np.array([r["plain_psnr"] for r in rows]) - detail
    half = np.array([r["half_psnr"] for r in rows])
    full = np.array([r["full_psnr"] for r in rows])
    best_psnr = np.maximum(half, full)
    best = None
    for b in [0.02 * i for i in range(-10, 16)]:
        for c in ([0.05 * i for i in range(-6, 7)] if with_plain else [0.0]):
            k = l2 - b * detail - c * gap
            order = np.argsort(k)
            lose_half = np.concatenate([[0.0], np.cumsum((best_psnr - half)[order])])
            lose_full = np.concatenate([np.cumsum((best_psnr - full)[order][::-1])[::-1], [0.0]])
            total = lose_half + lose_full
            i = int(np.argmin(total))
            ks = k[order]
            a = -math.inf if i == 0 else (ks[i - 1] if i == len(ks) else (ks[i - 1] + ks[i]) / 2)
            if best is None or total[i] < best[0]:
                best = (total[i], a, b, c)
    _, a, b, c = best
    return {"a": round(float(a), 4), "b": b, "c": c}, lambda r: key(r, b, c) <= a


def key(r, b, c):
    return math.log2(r["budget_bpp"]) - b * r["detail_psnr"] - c * (r["plain_psnr"] - r["detail_psnr"])


def cross_validated(rows, fit):
    images = sorted({r["image"] for r in rows})
    losses = []
    for image in images:
        train = [r for r in rows if r["image"] != image]
        test = [r for r in rows if r["image"] == image]
        _, choose = fit(train)
        losses += [regret([r], choose) for r in test]
    return float(np.mean(losses))


def main():
    rows = [r for path in sys.argv[1:] for r in load(path)]
    print(f"{len(rows)} rows, {len({r['image'] for r in rows})} images; "
          f"oracle keeps half mode in {sum(r['half_psnr'] > r['full_psnr'] for r in rows)}")
    print(f"always full: regret {regret(rows, lambda r: False):.3f} dB")
    auto = [r for r in rows if "auto_mode" in r]
    if auto:
        print(f"comrec encode (effort 1, the profile's rule; {len(auto)} rows): regret "
              f"{regret(auto, lambda r: r['auto_mode'] == 'half'):.3f} dB")
    for name, fit in [("bpp", fit_bpp), ("quality", fit_quality), ("bpp+detail", lambda rs: fit_line(rs, False)),
                      ("bpp+detail+plain", lambda rs: fit_line(rs, True))]:
        params, choose = fit(rows)
        print(f"{name}: fitted {params}, regret on all {regret(rows, choose):.3f} dB, "
              f"cross-validated {cross_validated(rows, fit):.3f} dB")


if __name__ == "__main__":
    main()
