#!/usr/bin/env python3
"""Generates ComRec's synthetic test images (Fixtures/). Standard library only (zlib for PNG).

    python3 Fixtures/generate.py            # rewrite every fixture next to this script
    python3 Fixtures/generate.py --check    # exit 1 if a fixture's pixels differ from these formulas

Every image is computed from a formula here, so nothing comes from a dataset. Tests rely on the
formulas (Tests/ComRecIOTests/FixtureTests.swift recomputes the small ones), so change both
together. PNG bytes depend on the zlib version, pixels do not: --check compares pixels.
"""
import math
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

# MARK: Pixel formulas (shared with the Swift tests)


def small_rgb(x, y):
    """RGB pattern of the small odd-size images: every channel differs from its neighbours."""
    return ((x * 37 + y * 11) % 256, (x * 5 + y * 53 + 7) % 256, (x * y * 3 + 100) % 256)


def small_grey(x, y):
    return (x * 29 + y * 13 + 3) % 256


def rgb16(x, y):
    """16-bit samples that exercise rounding to 8 bits (values between 8-bit steps)."""
    return ((x * 2731 + y * 977) % 65536, (x * 401 + y * 5003 + 129) % 65536, (x * y * 611 + 32767) % 65536)


PALETTE = [((i * 67) % 256, (i * 131 + 40) % 256, (255 - i * 23) % 256) for i in range(16)]


def palette_index(x, y):
    return (x // 2 + y * 3) % 16


def alpha_rgba(x, y):
    """RGBA with a transparent left half, a half-transparent band and an opaque rest."""
    r, g, b = small_rgb(x, y)
    a = 0 if x < 3 else (128 if x < 6 else 255)
    return (r, g, b, a)


def demo_pixel(x, y, w, h):
    """The 768x512 demo image: gradients, hard edges, a disc, stripes and text-like marks.
    Smooth and sharp regions both, so that rate and PSNR figures mean something."""
    # Background: two crossing gradients.
    r = int(255 * x / (w - 1))
    g = int(255 * y / (h - 1))
    b = int(128 + 100 * math.sin(x / 61.0) * math.cos(y / 47.0))
    # A dark rectangle with a bright frame (hard edges).
    if 60 <= x < 300 and 50 <= y < 200:
        frame = x < 66 or x >= 294 or y < 56 or y >= 194
        r, g, b = (250, 240, 30) if frame else (20, 30, 60)
    # A disc with a radial gradient.
    dx, dy = x - 560, y - 150
    d = math.hypot(dx, dy)
    if d < 110:
        t = d / 110
        r, g, b = int(230 * (1 - t) + 40 * t), int(60 + 120 * t), int(90 + 150 * (1 - t))
    # Vertical stripes of rising frequency (aliasing test for the x2 resamplers).
    if 360 <= y < 420:
        period = 2 + (x // 96)
        v = 235 if (x // period) % 2 == 0 else 20
        r, g, b = v, v, v
    # Diagonal lines.
    if 230 <= y < 340 and 40 <= x < 320 and (x + y) % 18 < 2:
        r, g, b = 0, 0, 0
    # "Text": rows of glyph-like marks from a 5x7 bitmap font.
    if 450 <= y < 500 and 24 <= x < 744:
        gx, gy = (x - 24) // 2, (y - 450) // 2
        cell, col, row = gx // 6, gx % 6, gy % 9
        line = gy // 9
        if col < 5 and row < 7:
            ch = TEXT[(cell + line * 60) % len(TEXT)]
            if (FONT[ch][row] >> (4 - col)) & 1:
                r, g, b = 15, 15, 15
            else:
                r, g, b = 245, 245, 240
        else:
            r, g, b = 245, 245, 240
    return (max(0, min(255, r)), max(0, min(255, g)), max(0, min(255, b)))


TEXT = "COMREC 0123456789 HALF SIZE COMPACT IMAGE JPEG "
FONT = {  # 5x7, one int per row, bit 4 = leftmost column
    " ": [0, 0, 0, 0, 0, 0, 0],
    "0": [14, 17, 19, 21, 25, 17, 14], "1": [4, 12, 4, 4, 4, 4, 14], "2": [14, 17, 1, 2, 4, 8, 31],
    "3": [31, 2, 4, 2, 1, 17, 14], "4": [2, 6, 10, 18, 31, 2, 2], "5": [31, 16, 30, 1, 1, 17, 14],
    "6": [6, 8, 16, 30, 17, 17, 14], "7": [31, 1, 2, 4, 8, 8, 8], "8": [14, 17, 17, 14, 17, 17, 14],
    "9": [14, 17, 17, 15, 1, 2, 12], "A": [14, 17, 17, 31, 17, 17, 17], "C": [14, 17, 16, 16, 16, 17, 14],
    "E": [31, 16, 16, 30, 16, 16, 31], "F": [31, 16, 16, 30, 16, 16, 16], "G": [14, 17, 16, 23, 17, 17, 15],
    "H": [17, 17, 17, 31, 17, 17, 17], "I": [14, 4, 4, 4, 4, 4, 14], "J": [7, 2, 2, 2, 2, 18, 12],
    "L": [16, 16, 16, 16, 16, 16, 31], "M": [17, 27, 21, 21, 17, 17, 17], "O": [14, 17, 17, 17, 17, 17, 14],
    "P": [30, 17, 17, 30, 16, 16, 16], "R": [30, 17, 17, 30, 20, 18, 17], "S": [15, 16, 16, 14, 1, 1, 30],
    "T": [31, 4, 4, 4, 4, 4, 4], "Z": [31, 1, 2, 4, 8, 16, 31],
}

# MARK: Writers


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def filter_rows(rows, bpp):
    """Per row, the PNG filter (None, Sub or Up) with the smallest sum of absolute values."""
    out = bytearray()
    prev = bytes(len(rows[0])) if rows else b""
    for row in rows:
        candidates = [(0, row),
                      (1, bytes((row[i] - (row[i - bpp] if i >= bpp else 0)) & 255 for i in range(len(row)))),
                      (2, bytes((row[i] - prev[i]) & 255 for i in range(len(row))))]
        kind, data = min(candidates, key=lambda c: sum(v if v < 128 else 256 - v for v in c[1]))
        out.append(kind)
        out += data
        prev = row
    return bytes(out)


def write_png(name, width, height, color_type, bit_depth, rows, palette=None, trns=None, interlaced=False):
    """rows: list of bytes objects, already packed for (color_type, bit_depth)."""
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    bpp = max(1, channels * bit_depth // 8)
    if interlaced:
        raw = adam7(rows, width, height, channels, bit_depth, bpp)
    else:
        raw = filter_rows(rows, bpp)
    data = b"\x89PNG\r\n\x1a\n"
    data += png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1 if interlaced else 0))
    if palette is not None:
        data += png_chunk(b"PLTE", b"".join(bytes(c) for c in palette))
    if trns is not None:
        data += png_chunk(b"tRNS", trns)
    data += png_chunk(b"IDAT", zlib.compress(raw, 9))
    data += png_chunk(b"IEND", b"")
    save(name, data)


def adam7(rows, width, height, channels, bit_depth, bpp):
    """Adam7 passes of 8-bit-or-wider rows, each pass filtered on its own."""
    assert bit_depth >= 8
    sample = channels * bit_depth // 8
    out = b""
    for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
        sub = [b"".join(rows[y][x * sample:(x + 1) * sample] for x in range(x0, width, dx)) for y in range(y0, height, dy)]
        sub = [r for r in sub if r]
        if sub:
            out += filter_rows(sub, bpp)
    return out


def write_pnm(name, magic, width, height, maxval, samples, comment=None):
    header = magic + b"\n" + (b"# " + comment + b"\n" if comment else b"") + b"%d %d\n%d\n" % (width, height, maxval)
    if maxval > 255:
        body = b"".join(struct.pack(">H", v) for v in samples)
    else:
        body = bytes(samples)
    save(name, header + body)


def save(name, data):
    path = os.path.join(HERE, name)
    if CHECK:
        return
    with open(path, "wb") as f:
        f.write(data)


# MARK: The fixtures


def rgb_rows(width, height, f):
    return [bytes(v for x in range(width) for v in f(x, y)) for y in range(height)]


def generate():
    w, h = 768, 512
    write_png("synthetic-768x512.png", w, h, 2, 8, [bytes(v for x in range(w) for v in demo_pixel(x, y, w, h)) for y in range(h)])
    for width, height in [(1, 1), (7, 5), (33, 17)]:
        write_png(f"rgb-{width}x{height}.png", width, height, 2, 8, rgb_rows(width, height, small_rgb))
    write_pnm("rgb-7x5.ppm", b"P6", 7, 5, 255, [v for y in range(5) for x in range(7) for v in small_rgb(x, y)],
              comment=b"ComRec fixture: same pixels as rgb-7x5.png")
    write_png("grey-20x12.png", 20, 12, 0, 8, [bytes(small_grey(x, y) for x in range(20)) for y in range(12)])
    write_pnm("grey-20x12.pgm", b"P5", 20, 12, 255, [small_grey(x, y) for y in range(12) for x in range(20)])
    write_png("rgb16-24x16.png", 24, 16, 2, 16,
              [b"".join(struct.pack(">HHH", *rgb16(x, y)) for x in range(24)) for y in range(16)])
    write_pnm("rgb16-24x16.ppm", b"P6", 24, 16, 65535, [v for y in range(16) for x in range(24) for v in rgb16(x, y)])
    write_png("palette-16x16.png", 16, 16, 3, 8, [bytes(palette_index(x, y) for x in range(16)) for y in range(16)],
              palette=PALETTE)
    write_png("rgba-alpha-12x10.png", 12, 10, 6, 8, rgb_rows(12, 10, alpha_rgba))
    write_png("rgba-opaque-8x8.png", 8, 8, 6, 8, rgb_rows(8, 8, lambda x, y: small_rgb(x, y) + (255,)))
    write_png("interlaced-17x11.png", 17, 11, 2, 8, rgb_rows(17, 11, small_rgb), interlaced=True)


def check():
    """Re-reads the PNG/PNM fixtures' pixels with a minimal decoder and compares with the formulas."""
    ok = True
    for name, width, height, f in [("rgb-7x5.png", 7, 5, small_rgb), ("rgb-33x17.png", 33, 17, small_rgb)]:
        ok &= read_png_rgb8(os.path.join(HERE, name)) == rgb_rows(width, height, f)
    w, h = 768, 512
    ok &= read_png_rgb8(os.path.join(HERE, "synthetic-768x512.png")) == [
        bytes(v for x in range(w) for v in demo_pixel(x, y, w, h)) for y in range(h)]
    print("fixtures match" if ok else "fixtures differ from generate.py")
    return ok


def read_png_rgb8(path):
    """Rows of a non-interlaced 8-bit RGB PNG (enough for --check)."""
    data = open(path, "rb").read()
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * 3, [], bytes(width * 3)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - 3] if i >= 3 else 0
            up, ul = prev[i], (prev[i - 3] if i >= 3 else 0)
            p = left + up - ul
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - ul)
            pred = [0, left, up, (left + up) // 2, left if pa <= pb and pa <= pc else (up if pb <= pc else ul)][kind]
            line[i] = (line[i] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return rows


if __name__ == "__main__":
    CHECK = "--check" in sys.argv
    if CHECK:
        sys.exit(0 if check() else 1)
    generate()
