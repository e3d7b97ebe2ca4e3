"""An SVG plot (PSNR against bits per pixel) of the curves of one or more `comrec eval --json` files.

    python3 docs/results/plot.py OUT.svg TITLE FILE.json [FILE.json ...] [--curves NAME,NAME,...]

`comrec eval --plot` draws the curves of one run; this draws several runs' curves in one figure
(for example the half/full-mode file and the auto-mode file of a set), without measuring again.
Curves with the same name in two files: the later file's wins. Standard library only.
"""
import json
import sys

COLOURS = ["#000000", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
           "#17becf", "#7f7f7f"]


def load(paths, wanted):
    curves = {}
    for path in paths:
        for name, points in json.load(open(path))["curves"].items():
            if not wanted or name in wanted:
                curves[name] = sorted((p["bpp"], p["psnr"]) for p in points)
    order = wanted or sorted(curves, key=lambda n: (n != "jpeg", n))
    return [(n, curves[n]) for n in order if n in curves]


def svg(curves, title, width=720, height=480):
    left, right, top, bottom = 60, 170, 40, 50
    pw, ph = width - left - right, height - top - bottom
    xs = [b for _, pts in curves for b, _ in pts]
    ys = [p for _, pts in curves for _, p in pts]
    max_x = max(0.25, -(-max(xs) // 0.25) * 0.25)
    lo_y, hi_y = int(min(ys)) - 1, int(max(ys)) + 2

    def x(b):
        return left + b / max_x * pw

    def y(p):
        return top + (hi_y - p) / (hi_y - lo_y) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="14">{escape(title)}</text>']
    steps = int(round(max_x / 0.25))
    for i in range(steps + 1):
        b = i * 0.25
        out.append(f'<line x1="{x(b):.1f}" y1="{top}" x2="{x(b):.1f}" y2="{top + ph}" stroke="#ddd"/>')
        out.append(f'<text x="{x(b):.1f}" y="{top + ph + 16}" text-anchor="middle">{b:.2f}</text>')
    for p in range(lo_y, hi_y + 1):
        out.append(f'<line x1="{left}" y1="{y(p):.1f}" x2="{left + pw}" y2="{y(p):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(p) + 4:.1f}" text-anchor="end">{p}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 10}" text-anchor="middle">bits per pixel (whole file)</text>')
    out.append(f'<text x="16" y="{top + ph / 2}" transform="rotate(-90 16 {top + ph / 2})" '
               f'text-anchor="middle">RGB PSNR (dB)</text>')
    for i, (name, pts) in enumerate(curves):
        colour = COLOURS[i % len(COLOURS)]
        path = " ".join(f"{x(b):.1f},{y(p):.1f}" for b, p in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        out += [f'<circle cx="{x(b):.1f}" cy="{y(p):.1f}" r="2.5" fill="{colour}"/>' for b, p in pts]
        ly = top + 10 + 18 * i
        out.append(f'<line x1="{left + pw + 12}" y1="{ly}" x2="{left + pw + 32}" y2="{ly}" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{left + pw + 38}" y="{ly + 4}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def main(argv):
    wanted = None
    if "--curves" in argv:
        i = argv.index("--curves")
        wanted = argv[i + 1].split(",")
        argv = argv[:i] + argv[i + 2:]
    if len(argv) < 3:
        raise SystemExit(__doc__)
    out, title, paths = argv[0], argv[1], argv[2:]
    curves = load(paths, wanted)
    if not curves:
        raise SystemExit("plot.py: no curves to draw")
    with open(out, "w") as fh:
        fh.write(svg(curves, title))


if __name__ == "__main__":
    main(sys.argv[1:])
