#!/usr/bin/env python3
"""Hostile files against the comrec CLI: each is crafted here, run through the commands that read
it, and held to the promise of docs/security.md ("Hostile files").

Every file is refused (exit 1, exactly one line on stderr, nothing left in the output folder) or
decoded (exit 0), within 2 s and 64 MB of peak resident memory above the size of what was
written; no run dies of a signal; damaged data gives exit 0 only with --lenient, and then one
warning line. Input files of absurd size are refused unread. A batch encode killed with SIGKILL leaves no partial or temporary file, and the
same batch run again works.

The files are crafted into a temporary folder (never the repository) with the standard library
and libjpeg-turbo's cjpeg. Each run gets a fresh, empty output folder; its wall time and peak RSS
are its own (/usr/bin/time). Prints a Markdown table (progress on stderr) and ends with
"hostile files: N passed, M failed"; exits 1 on any failure. A known failure (a case listed with
its reason) is shown as one and does not fail the run unless --strict; one that passes does.

    python3 scripts/hostile-files.py [--cli .build/release/comrec] [--only TEXT] [--strict]
"""

import argparse
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

# The promise being checked (docs/security.md, "Hostile files").
MAX_SECONDS = 2.0
MAX_MB_ABOVE_OUTPUT = 64

# A run still going after this long has failed the bound long since: it is stopped (SIGKILL),
# which keeps a hung or slow case from holding up CI.
STOP_SECONDS = 10

MB = 1 << 20


# MARK: Crafting

def ppm(width, height, pixel):
    """A binary PPM whose pixel (x, y) is the RGB tuple pixel(x, y)."""
    rows = (bytes(c for x in range(width) for c in pixel(x, y)) for y in range(height))
    return b"P6\n%d %d\n255\n" % (width, height) + b"".join(rows)


def texture(x, y):
    """Busy colour pixels, so that every JPEG block holds data and a cut removes some."""
    v = (x * 37 + y * 11) ^ (x * y * 5)
    return (v & 255, (v * 3 + 50) & 255, (v * 7 + 100) & 255)


def cjpeg(image, *options):
    """A JPEG of the PPM or PGM `image` made by libjpeg-turbo's cjpeg with `options`."""
    return subprocess.run(["cjpeg", *options], input=image, stdout=subprocess.PIPE, check=True).stdout


def jpeg_segments(jpeg):
    """(offset, marker, length) of each segment from SOI up to and including the first SOS."""
    assert jpeg[:2] == b"\xff\xd8", "not a JPEG"
    at = 2
    while True:
        assert jpeg[at] == 0xFF, "JPEG segments out of step"
        marker = jpeg[at + 1]
        length = struct.unpack(">H", jpeg[at + 2:at + 4])[0]
        yield at, marker, length
        if marker == 0xDA:
            return
        at += 2 + length


def patch_sof(jpeg, width, height):
    """The JPEG with its frame header claiming width x height (the data stays as it was)."""
    for at, marker, _ in jpeg_segments(jpeg):
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return jpeg[:at + 5] + struct.pack(">HH", height, width) + jpeg[at + 9:]
    raise ValueError("no SOF segment")


def after_app0(jpeg):
    """Where a segment goes after SOI and the JFIF APP0 segment (docs/format.md)."""
    for at, marker, length in jpeg_segments(jpeg):
        if marker != 0xE0:
            return at
    raise ValueError("no segment after APP0")


class ComRecSegment:
    """The ComRec APP9 segment of a real `comrec encode --profile bicubic --mode full` file (a
    plain-JPEG full-mode file: decode runs no network), with its size patched in."""

    def __init__(self, cli, folder):
        source = os.path.join(folder, "segment-source.ppm")
        made = os.path.join(folder, "segment-source.jpg")
        with open(source, "wb") as f:
            f.write(ppm(8, 8, texture))
        subprocess.run([cli, "encode", source, "-o", made, "--profile", "bicubic", "--mode", "full"],
                       stdout=subprocess.DEVNULL, check=True)
        with open(made, "rb") as f:
            jpeg = f.read()
        for at, marker, length in jpeg_segments(jpeg):
            payload = jpeg[at + 4:at + 2 + length]
            if marker == 0xE9 and payload.startswith(b"ComRec\0"):
                # Version 2 layout: magic 7, version 1, mode 1, name length n, name n, hash 8,
                # then width and height (docs/format.md).
                assert payload[7] == 2 and payload[8] == 1, "not a version 2 full-mode segment"
                self.payload = payload
                self.size_at = 10 + payload[9] + 8
                return
        raise ValueError("comrec wrote no ComRec segment")

    def add(self, jpeg, width, height):
        """`jpeg` as a ComRec file of a width x height image (full mode, no network)."""
        p = self.payload
        payload = p[:self.size_at] + struct.pack(">II", width, height) + p[self.size_at + 8:]
        segment = b"\xff\xe9" + struct.pack(">H", len(payload) + 2) + payload
        at = after_app0(jpeg)
        return jpeg[:at] + segment + jpeg[at:]


def png(width, height, idat, color_type=2, palette=None):
    """A PNG of 8-bit samples from its compressed image data `idat` (zlib stream)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    extra = chunk(b"PLTE", palette) if palette else b""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def png_69_bytes():
    """69 bytes: a PNG claiming 10000 x 10000 with 12 bytes of image data."""
    for n in range(1, 200):
        idat = zlib.compress(b"\0" * n, 9)
        if len(idat) == 12:
            return png(10000, 10000, idat)
    raise AssertionError("no 12-byte zlib stream")


def png_plausible(width, height):
    """A real PNG (filter 0, grey-blue rows), compressed about as far as deflate goes: the PNG
    plausibility check passes, so only the memory check can refuse it early."""
    row = b"\0" + b"\x30\x40\x50" * width
    packer = zlib.compressobj(9)
    parts = [packer.compress(row) for _ in range(height)]
    parts.append(packer.flush())
    return png(width, height, b"".join(parts))


def png_cut(width, height, rows):
    """A PNG of width x height whose image data stops after `rows` rows, padded with an unknown
    ancillary chunk (which readers skip) to the size that could hold the whole image."""
    row = b"\0" + bytes(range(256)) * (width * 3 // 256) + bytes(width * 3 % 256)
    packer = zlib.compressobj(9)
    idat = b"".join([packer.compress(row) for _ in range(rows)] + [packer.flush()])
    whole = png(width, height, idat)
    padding = -(-width * height * 3 // 1032) - len(whole)   # up to ComRec's deflate ceiling (1032:1)
    if padding <= 12:
        return whole
    chunk = b"caRP" + bytes(padding - 12)   # length, name, data, CRC: 12 bytes of framing
    chunk = struct.pack(">I", padding - 12) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return whole[:33] + chunk + whole[33:]   # after the signature and IHDR


def png_palette_overrun():
    """A 64 x 64 palette PNG with a 2-entry palette whose indices run to 255 (most pixels past
    the palette, which libpng would silently decode as black)."""
    rows = b"".join(b"\0" + bytes((x + 4 * y) & 255 for x in range(64)) for y in range(64))
    return png(64, 64, zlib.compress(rows, 9), color_type=3, palette=b"\xff\0\0\0\0\xff")


def segment_bomb(jpeg, count=1_000_000):
    """`jpeg` with `count` empty APP1, APP9 and COM segments (4 bytes each) after SOI."""
    empty = [b"\xff\xe1\x00\x02", b"\xff\xe9\x00\x02", b"\xff\xfe\x00\x02"]
    bomb = b"".join(empty[i % 3] for i in range(count))
    return jpeg[:2] + bomb + jpeg[2:]


class BitWriter:
    """Entropy-coded JPEG data: bits most significant first, 0xFF bytes stuffed with 0x00."""

    def __init__(self):
        self.out, self.bits, self.count = bytearray(), 0, 0

    def put(self, value, count):
        self.bits, self.count = (self.bits << count) | value, self.count + count
        while self.count >= 8:
            self.count -= 8
            byte = (self.bits >> self.count) & 0xFF
            self.out += b"\xff\x00" if byte == 0xFF else bytes((byte,))
        self.bits &= (1 << self.count) - 1

    def finish(self):
        if self.count:   # pad the last byte with 1 bits
            self.put((1 << (8 - self.count)) - 1, 8 - self.count)
        return bytes(self.out)


def segment(marker, payload):
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def many_scans(side):
    """A legal progressive JPEG of a mid-grey side x side image (4:2:0 colour) with 2,647 scans:
    the DC coefficients in one scan, then every AC coefficient of every component in scans of its
    own, first at point transform 13 (the largest the standard allows for 8-bit data), then one
    refinement scan per bit down to 0 (1 + 63 x 3 x 14). Written here because libjpeg's encoder
    stops at Al 10 and jpegtran at 100 scans.

    Mid-grey makes every coefficient 0: the DC scan codes "no change" in one bit per block, and
    each AC scan is a few runs of up to 32,767 empty blocks (EOBRUN), so the file stays small
    while each scan is still a pass over all the blocks of its component."""
    assert side % 16 == 0
    ac_codes = {r: (r, 4) for r in range(15)}   # EOBr -> its 4-bit code (symbols 0x00 ... 0xE0)

    def empty_blocks(count):
        bits = BitWriter()
        while count:
            run = min(count, 32767)
            r = run.bit_length() - 1
            bits.put(*ac_codes[r])
            bits.put(run - (1 << r), r)
            count -= run
        return bits.finish()

    luma_blocks, chroma_blocks = (side // 8) ** 2, (side // 16) ** 2
    dc_bits = luma_blocks + 2 * chroma_blocks   # one bit ("0": no change) per block
    parts = [b"\xff\xd8", segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"),
             segment(0xDB, b"\0" + b"\x01" * 64),
             segment(0xC2, struct.pack(">BHHB", 8, side, side, 3) + b"\x01\x22\0\x02\x11\0\x03\x11\0"),
             # DC table 0: one code "0" for category 0; AC table 0: EOB0 ... EOB14 in 4 bits each.
             segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00"
                     + b"\x10" + bytes([0, 0, 0, 15] + [0] * 12) + bytes(r << 4 for r in range(15))),
             # The DC scan: three components, table 0 each, Ss = Se = 0, Ah = Al = 0.
             segment(0xDA, b"\x03\x01\x00\x02\x00\x03\x00\x00\x00\x00"),
             bytes(dc_bits // 8)]
    assert dc_bits % 8 == 0
    data = {1: empty_blocks(luma_blocks), 2: empty_blocks(chroma_blocks)}
    for k in range(1, 64):
        for component in (1, 2, 3):
            blocks = data[min(component, 2)]
            for ah, al in [(0, 13)] + [(al + 1, al) for al in reversed(range(13))]:
                parts.append(segment(0xDA, bytes((1, component, 0x00, k, k, ah << 4 | al))))
                parts.append(blocks)
    parts.append(b"\xff\xd9")
    return b"".join(parts)


def count_scans(jpeg):
    """SOS markers in the file: in entropy-coded data 0xFF is always followed by 0x00."""
    return jpeg.count(b"\xff\xda")


# MARK: Running

class Case:
    """One command on one file, and what it must do. `says`: text the refusal must contain (so
    that it is refused for the right reason). `known`: why it is expected to fail today (a known
    failure is reported but does not fail the run, unless --strict)."""

    def __init__(self, label, path, command, extra, expect, says=None, address_space=None, known=None):
        self.label, self.path, self.command, self.extra = label, path, command, extra
        self.expect, self.says, self.address_space, self.known = expect, says, address_space, known

    @property
    def shown(self):
        """The command as the table shows it: options without the output path."""
        words = [self.command] + [a for a in self.extra if not a.startswith("{out}") and a != "-o"]
        if self.address_space:
            words.append("(ulimit -v %d MB)" % (self.address_space // MB))
        return " ".join(words)


class Run:
    """One command's outcome."""

    def __init__(self, label, command, returncode, stderr, stdout, seconds, peak_kb, leftovers, known=None):
        self.file, self.command, self.known = label, command, known
        self.returncode, self.seconds, self.peak_kb = returncode, seconds, peak_kb
        self.stderr_lines, self.stdout_lines = stderr.splitlines(), stdout.splitlines()
        self.leftovers = leftovers
        self.output_bytes = sum(size for _, size in leftovers)
        self.stopped = False
        self.summary = None   # replaces the message in the table
        self.problems = []

    @property
    def message(self):
        if self.summary:
            return self.summary
        lines = self.stderr_lines or ["(stdout) " + line for line in self.stdout_lines[:1]]
        return lines[0] if lines else ""


def folder_contents(folder):
    """(name, size) of every entry under `folder`, hidden ones included."""
    found = []
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            found.append((os.path.relpath(path, folder), os.path.getsize(path)))
    return found


def children(pid):
    """The ids of the processes whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except (OSError, ValueError):
            continue
        # pid (comm) state ppid ...: the command name may hold spaces and parentheses.
        if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
            found.append(int(entry))
    return found


def measured(argv, cwd, address_space=None, kill_when=None):
    """Runs argv under /usr/bin/time and returns (exit status, stdout, stderr, seconds, peak RSS
    in KB); the status is negative for a signal, as in subprocess. /usr/bin/time forks the
    command from its own small process, so the peak is the command's own (a child forked from
    this script would start with the script's resident memory as its peak).
    `address_space`: the command's `ulimit -v` in bytes. `kill_when`: a function polled while
    the command runs; when it returns True the command gets SIGKILL. A command still running
    after STOP_SECONDS gets SIGKILL too."""
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    with tempfile.TemporaryDirectory() as scratch:
        report, out, err = (os.path.join(scratch, name) for name in ("time", "out", "err"))
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            start = time.perf_counter()
            timer = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", report, *argv], cwd=cwd,
                                     stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                     preexec_fn=limit if address_space else None)
            while True:
                try:
                    timer.wait(timeout=0.01 if kill_when else STOP_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    if time.perf_counter() - start >= STOP_SECONDS or (kill_when and kill_when()):
                        # The command, not /usr/bin/time, which then reports the signal and the peak.
                        for pid in children(timer.pid):
                            os.kill(pid, signal.SIGKILL)
            seconds = time.perf_counter() - start
        # "Command exited with non-zero status N" or "Command terminated by signal N", then %M.
        with open(report) as f:
            lines = f.read().splitlines()
        status = 0
        for line in lines[:-1]:
            if line.startswith("Command terminated by signal"):
                status = -int(line.split()[-1])
            elif line.startswith("Command exited with non-zero status"):
                status = int(line.split()[-1])
        with open(out, "rb") as f, open(err, "rb") as g:
            return (status, f.read().decode(errors="replace"), g.read().decode(errors="replace"),
                    seconds, int(lines[-1]))


def run(cli, work, case):
    """Runs the case in the crafted files' folder (the input named relatively and the output
    folder shown as OUT, so that messages are short), with a fresh, empty output folder."""
    files = os.path.join(work, "files")
    out = tempfile.mkdtemp(prefix="out-", dir=work)
    args = [case.command, os.path.relpath(case.path, files)]
    args += [a.replace("{out}", out) for a in case.extra]
    returncode, stdout, stderr, seconds, peak_kb = measured([cli, *args], files, case.address_space)
    result = Run(case.label, case.shown, returncode, stderr.replace(out, "OUT"), stdout.replace(out, "OUT"),
                 seconds, peak_kb, folder_contents(out), case.known)
    result.stopped = returncode == -signal.SIGKILL and seconds >= STOP_SECONDS
    shutil.rmtree(out)
    return result


# Expectations.
REFUSED = "refused"   # exit 1, one error line on stderr, nothing written
LENIENT = "lenient"   # exit 0, one warning line on stderr, a file written
EITHER = "either"     # a legal file: done (exit 0, nothing on stderr) or refused as above


def check(r, expect, says=None):
    """Adds to r.problems every way in which r breaks the promise."""
    if r.stopped:
        r.problems.append("stopped after %d s" % STOP_SECONDS)
    elif r.returncode < 0 or r.returncode >= 128:
        r.problems.append("crashed (%s)" % exit_text(r.returncode))
        return
    refused = r.returncode != 0
    if expect == REFUSED and not refused:
        r.problems.append("exit 0: expected a refusal")
    if expect == LENIENT and refused:
        r.problems.append("refused: --lenient should have kept the damaged data")
    if refused and not r.stopped:
        if r.returncode != 1:
            r.problems.append("exit %d, not 1" % r.returncode)
        if len(r.stderr_lines) != 1 or not r.stderr_lines[0].startswith("comrec: error: "):
            r.problems.append("%d lines on stderr, expected one error line" % len(r.stderr_lines))
        if r.leftovers:
            r.problems.append("left in the output folder: %s" % ", ".join(n for n, _ in r.leftovers))
        if says and not (r.stderr_lines and says.lower() in r.stderr_lines[0].lower()):
            r.problems.append("the message does not say \"%s\"" % says)
    elif expect == LENIENT:
        if len(r.stderr_lines) != 1 or not r.stderr_lines[0].startswith("comrec: warning: "):
            r.problems.append("expected exactly one warning line on stderr")
    elif not refused and r.stderr_lines:
        r.problems.append("exit 0 with a message on stderr")
    if r.seconds > MAX_SECONDS:
        r.problems.append("%.1f s > %g s" % (r.seconds, MAX_SECONDS))
    if r.peak_kb * 1024 > MAX_MB_ABOVE_OUTPUT * MB + r.output_bytes:
        r.problems.append("peak %.0f MB > %d MB + output" % (r.peak_kb / 1024, MAX_MB_ABOVE_OUTPUT))


# MARK: SIGKILL during a batch

def killed_batch(cli, work, inputs, label):
    """Encodes `inputs` into a fresh folder with --effort 2 (about half a second each) and kills
    comrec with SIGKILL 0.2 s after the first output appears, in the middle of the second file.
    Only complete files that `comrec info` reads may be left. Then the same batch again with
    --force must succeed and leave exactly one file per input."""
    out = os.path.join(tempfile.mkdtemp(prefix="out-", dir=work), "batch")
    args = [cli, "encode", *inputs, "-o", out, "--effort", "2"]
    appeared = []

    def first_output_and_a_moment():
        if not appeared and os.path.isdir(out) and os.listdir(out):
            appeared.append(time.perf_counter())
        return bool(appeared) and time.perf_counter() - appeared[0] >= 0.2

    returncode, _, stderr, seconds, peak_kb = measured(args, work, kill_when=first_output_and_a_moment)
    left = folder_contents(out) if os.path.isdir(out) else []
    killed = Run(label, "encode --effort 2, SIGKILL 0.2 s after the first output", returncode, stderr, "",
                 seconds, peak_kb, left)
    if returncode != -signal.SIGKILL:
        killed.problems.append("not killed (%s): the batch ended before the kill" % exit_text(returncode))
    for name, size in left:
        path = os.path.join(out, name)
        readable = subprocess.run([cli, "info", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
        if name.startswith(".") or size == 0 or not readable:
            killed.problems.append("partial or temporary file left: %s (%d bytes)" % (name, size))
    if not killed.problems:
        killed.summary = "%d of %d files complete, nothing else in the folder" % (len(left), len(inputs))

    returncode, _, stderr, seconds, peak_kb = measured(args + ["--force"], work)
    left = folder_contents(out)
    again = Run(label, "the same batch again, with --force", returncode, stderr, "", seconds, peak_kb, left)
    if returncode != 0:
        again.problems.append("%s after the killed run" % exit_text(returncode))
    expected = sorted(os.path.splitext(os.path.basename(i))[0] + ".jpg" for i in inputs)
    if sorted(name for name, _ in left) != expected:
        again.problems.append("the folder holds %s, expected %s" % (sorted(n for n, _ in left), expected))
    shutil.rmtree(os.path.dirname(out))
    return [killed, again]


# MARK: The cases

def cases(cli, work, files):
    """Crafts the hostile files into `files` and returns the cases."""
    segment = ComRecSegment(cli, work)

    def save(name, data):
        path = os.path.join(files, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    found = []

    # Plain JPEGs go to encode and enhance (which refuses ComRec files); the same JPEG with a
    # ComRec segment (full mode, no network) to decode and info.
    def through_all(label, name, jpeg, width, height, expect, says=None, known=None):
        plain, comrec = save(name + ".jpg", jpeg), save(name + ".comrec.jpg", segment.add(jpeg, width, height))
        found.append(Case(label, comrec, "decode", ["-o", "{out}/out.png"], expect, says, known=known))
        found.append(Case(label, comrec, "info", [], EITHER, says))
        found.append(Case(label, plain, "enhance", ["-o", "{out}/out.png"], expect, says, known=known))
        found.append(Case(label, plain, "encode", ["-o", "{out}/out.jpg"], expect, says, known=known))

    # 1. A million empty segments (4 MB).
    bomb = segment_bomb(cjpeg(ppm(64, 64, texture), "-quality", "75"))
    through_all("1,000,000 empty APP1/APP9/COM segments (%.1f MB)" % (len(bomb) / 1e6), "segments", bomb,
                64, 64, REFUSED, "more than 4096 APPn or COM segments")

    # 2. Thousands of legal scans at 8192 x 8192.
    scans = many_scans(8192)
    through_all("8192 x 8192 progressive, %d legal scans (%d KB)" % (count_scans(scans), len(scans) // 1000),
                "scans", scans, 8192, 8192, REFUSED, "more than 100 scans")

    # 3. Small files claiming 10000 x 10000.
    path = save("claims.png", png_69_bytes())
    found.append(Case("%d-byte PNG claiming 10000 x 10000" % os.path.getsize(path), path, "encode",
                      ["-o", "{out}/out.jpg"], REFUSED, "69 bytes cannot hold 10000 x 10000 pixels"))
    # A PNG that passes the plausibility check (its size could hold the image) but whose data
    # stops after a tenth of the rows: memory must follow the rows decoded, not the claim.
    path = save("claims-cut.png", png_cut(10000, 10000, 1000))
    found.append(Case("%d KB PNG claiming 10000 x 10000, data for 1000 rows" % (os.path.getsize(path) // 1000),
                      path, "encode", ["-o", "{out}/out.jpg"], REFUSED, "Not enough image data"))
    tiny = patch_sof(cjpeg(ppm(16, 16, texture), "-quality", "75"), 10000, 10000)
    through_all("%d-byte JPEG claiming 10000 x 10000" % len(tiny), "claims", tiny, 10000, 10000, REFUSED,
                "premature end of data segment")
    arith = patch_sof(cjpeg(ppm(48, 48, texture), "-quality", "75", "-arithmetic"), 10000, 10000)
    # Legal (an arithmetic decoder goes on with zeros where the data ends), so refused unless
    # --allow-arithmetic asks for it; with it, the image it claims costs what such an image costs.
    through_all("%d-byte arithmetic JPEG claiming 10000 x 10000" % len(arith), "claims-arith", arith,
                10000, 10000, REFUSED, "arithmetic-coded")

    # 4. Damaged data: refused, or with --lenient kept with one warning line.
    busy = cjpeg(ppm(256, 256, texture), "-quality", "75")
    for label, name, jpeg, height, says in (
            ("JPEG cut at half its data (256 x 256)", "truncated", busy[:len(busy) // 2], 256,
             "Premature end of JPEG file"),
            ("JPEG whose SOF says 512 rows, data for 256", "inflated", patch_sof(busy, 256, 512), 512,
             "premature end of data segment")):
        plain, comrec = save(name + ".jpg", jpeg), save(name + ".comrec.jpg", segment.add(jpeg, 256, height))
        for command, path, ext in (("decode", comrec, "png"), ("enhance", plain, "png"), ("encode", plain, "jpg")):
            found.append(Case(label, path, command, ["-o", "{out}/out." + ext], REFUSED, says))
            found.append(Case(label, path, command, ["-o", "{out}/out." + ext, "--lenient"], LENIENT))
    path = save("palette.png", png_palette_overrun())
    for extra in ([], ["--lenient"]):
        found.append(Case("palette PNG, indices past its 2 colours", path, "encode", ["-o", "{out}/out.jpg", *extra],
                          REFUSED, "palette index past the end of its palette"))

    # 5. Limits raised: the memory check refuses what the machine cannot hold.
    path = save("huge.png", png(65535, 65535, zlib.compress(b"\0" * 16)))   # only the header is real
    found.append(Case("65535 x 65535 PNG header", path, "encode", ["-o", "{out}/out.jpg", "--max-pixels", "5000000000"],
                      REFUSED, "65535 x 65535"))
    path = save("large.png", png_plausible(8000, 8000))
    found.append(Case("8000 x 8000 PNG (%d KB)" % (os.path.getsize(path) // 1000), path, "encode",
                      ["-o", "{out}/out.jpg", "--max-pixels", "5000000000"], REFUSED, "working memory", address_space=400 * MB))

    # 6. Input files of absurd size (sparse: they take no disk). Over the memory allowed for an
    # image, refused from their size before a byte is read; under it but of another format,
    # refused from their first bytes without reading the rest.
    def sparse(name, start, size):
        path = save(name, start)
        os.truncate(path, size)
        return path
    path = sparse("100g.jpg", b"\xff\xd8\xff\xe0", 100 << 30)
    for command, extra in (("decode", ["-o", "{out}/out.png"]), ("info", []), ("enhance", ["-o", "{out}/out.png"]),
                           ("encode", ["-o", "{out}/out.jpg"])):
        found.append(Case("100 GB file starting as a JPEG", path, command, extra, REFUSED, "an input may have"))
    path = sparse("3g.bin", b"\0", 3 << 30)
    for command, extra, says in (("decode", ["-o", "{out}/out.png"], "not a JPEG"),
                                 ("enhance", ["-o", "{out}/out.png"], "not a JPEG"),
                                 ("encode", ["-o", "{out}/out.jpg"], "not a PNG, JPEG or binary PPM/PGM image")):
        found.append(Case("3 GB file of zeros, --max-memory 4G", path, command, extra + ["--max-memory", "4G"],
                          REFUSED, says))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cli", default=".build/release/comrec", help="the comrec binary (default: %(default)s)")
    parser.add_argument("--only", help="run only the cases whose file, its description or command contain this text")
    parser.add_argument("--strict", action="store_true", help="count the known failures as failures")
    parser.add_argument("--keep", action="store_true", help="keep the crafted files and say where")
    options = parser.parse_args()
    cli = os.path.abspath(options.cli)
    if not os.access(cli, os.X_OK):
        sys.exit("hostile-files: %s is not an executable; build it with `swift build -c release`" % cli)
    for tool in ("cjpeg", "/usr/bin/time"):
        if not shutil.which(tool):
            sys.exit("hostile-files: %s is missing (scripts/setup.sh installs it)" % tool)

    work = tempfile.mkdtemp(prefix="comrec-hostile-")
    try:
        ok = run_all(cli, work, options)
    finally:
        if options.keep:
            print("crafted files kept in %s" % os.path.join(work, "files"))
        else:
            shutil.rmtree(work)
    sys.exit(0 if ok else 1)


def run_all(cli, work, options):
    files = os.path.join(work, "files")
    os.mkdir(files)
    results = []
    for case in cases(cli, work, files):
        texts = (case.label, case.shown, os.path.basename(case.path))
        if options.only and not any(options.only in text for text in texts):
            continue
        r = run(cli, work, case)
        check(r, case.expect, case.says)
        results.append(r)
        report_progress(r)

    # SIGKILL during a batch encode of several files into a folder.
    label = "batch of 4 PNGs, 768 x 768"
    if not options.only or options.only in label + " encode SIGKILL":
        image = png_texture(768, 768)
        inputs = []
        for i in range(4):
            inputs.append(os.path.join(files, "batch-%d.png" % i))
            with open(inputs[-1], "wb") as f:
                f.write(image)
        for r in killed_batch(cli, work, inputs, label):
            results.append(r)
            report_progress(r)

    print_table(results)
    failed = [r for r in results if r.problems and (options.strict or not r.known)]
    known = [r for r in results if r.problems and r.known and not options.strict]
    # A known failure that passes is a failure too: the list of known failures must stay true.
    fixed = [r for r in results if r.known and not r.problems]
    for r in fixed:
        r.problems.append("passes: no longer a known failure")
    line = "\nhostile files: %d passed, %d failed" % (len(results) - len(failed) - len(known) - len(fixed),
                                                      len(failed) + len(fixed))
    print(line + (" (and %d known failures)" % len(known) if known else ""))
    return not failed and not fixed


def png_texture(width, height):
    """A busy RGB PNG."""
    rows = b"".join(b"\0" + bytes(c for x in range(width) for c in texture(x, y)) for y in range(height))
    return png(width, height, zlib.compress(rows, 1))


def exit_text(returncode):
    return "signal %s" % signal.Signals(-returncode).name if returncode < 0 else "exit %d" % returncode


def report_progress(r):
    status = "FAIL: " + "; ".join(r.problems) if r.problems else "ok"
    print("%-55s %-50s %-12s %6.2f s  %s" % (r.file[:55], r.command[:50], exit_text(r.returncode), r.seconds, status),
          file=sys.stderr, flush=True)


def print_table(results):
    reasons = []
    print("| file | command | exit | message (first line of stderr, or of stdout) | s | peak MB | output | result |")
    print("|---|---|---|---|---:|---:|---:|---|")
    for r in results:
        message = r.message.replace("|", "\\|")
        if len(message) > 160:
            message = message[:157] + "..."
        if not r.problems:
            verdict = "ok"
        elif r.known:
            if r.known not in reasons:
                reasons.append(r.known)
            verdict = "known failure [%d]: %s" % (reasons.index(r.known) + 1, "; ".join(r.problems))
        else:
            verdict = "FAIL: " + "; ".join(r.problems)
        output = human_bytes(r.output_bytes) if r.output_bytes else "-"
        exit_status = "SIGKILL" if r.returncode == -signal.SIGKILL else exit_text(r.returncode).replace("exit ", "")
        print("| %s | %s | %s | %s | %.2f | %.0f | %s | %s |"
              % (r.file, r.command, exit_status, message, r.seconds, r.peak_kb / 1024, output, verdict))
    for i, reason in enumerate(reasons):
        print("\n[%d] %s." % (i + 1, reason[0].upper() + reason[1:]))


def human_bytes(n):
    for unit, size in (("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return "%.1f %s" % (n / size, unit)
    return "%d B" % n


if __name__ == "__main__":
    main()
