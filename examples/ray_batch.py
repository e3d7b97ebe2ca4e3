#!/usr/bin/env python3
"""Encode (or decode) a folder tree of images with ComRec as a Ray Data job.

    examples/ray_batch.py encode photos/ comrec/                  # every core of this machine
    examples/ray_batch.py encode photos/ comrec/ --num-cpus 2 --quality 60
    examples/ray_batch.py decode comrec/ decoded/ --address auto  # on a running Ray cluster

The tree under SRC_DIR is mirrored under DST_DIR: encode turns .png, .jpg, .jpeg, .ppm and .pgm
files into .jpg ComRec files, decode turns .jpg and .jpeg ComRec files into .png images. Each Ray
task takes a batch of files and runs the comrec Python package (python/, the C API's library) on
them; the files are the ones `comrec encode` and `comrec decode` write with the same options, byte
for byte. Every output is written under a hidden temporary name in its folder and then named, so a
killed job never leaves a partial file; outputs that exist are skipped (unless --overwrite), so
running the same command again after a failure does only what is left. A file that fails is
reported with its one-line error and does not stop the others; the exit status is 1 when any
failed. Workers read and write the paths themselves: on a cluster, SRC_DIR and DST_DIR must be the
same mount on every node. docs/scaling.md has the figures and the cluster set-up.
"""
import argparse
import contextlib
import errno
import io
import json
import math
import os
import resource
import secrets
import struct
import sys
import time
import warnings
import zlib

import numpy as np
from PIL import Image

import comrec

ENCODE_INPUTS = (".png", ".jpg", ".jpeg", ".ppm", ".pgm")
DECODE_INPUTS = (".jpg", ".jpeg")


# ---- Which files: the plan (on the driver) -------------------------------------------------------

def plan(command, source_dir, target_dir, overwrite):
    """(jobs, skipped, failures): a job {"source", "target"} for each input under `source_dir` in
    name order, the number of inputs skipped because their output exists, and (source, error) for
    inputs whose output path another input already has (photo.png and photo.jpg both give
    photo.jpg)."""
    suffixes, out_suffix = (ENCODE_INPUTS, ".jpg") if command == "encode" else (DECODE_INPUTS, ".png")
    target_real = os.path.realpath(target_dir)
    jobs, skipped, failures, claimed = [], 0, [], {}
    for folder, folders, names in os.walk(source_dir):
        # Sorted for a stable order; the destination is never read back as input when it lies
        # inside the source tree.
        folders[:] = sorted(f for f in folders if os.path.realpath(os.path.join(folder, f)) != target_real)
        for name in sorted(names):
            stem, suffix = os.path.splitext(name)
            if suffix.lower() not in suffixes:
                continue
            source = os.path.join(folder, name)
            relative = os.path.relpath(folder, source_dir)
            target = os.path.normpath(os.path.join(target_dir, relative, stem + out_suffix))
            if target in claimed:
                failures.append((source, f"its output {target} is also the output of {claimed[target]}; "
                                         "rename one of them"))
                continue
            claimed[target] = source
            if not overwrite and os.path.lexists(target):
                skipped += 1
                continue
            jobs.append({"source": source, "target": target})
    return jobs, skipped, failures


# ---- One batch of files: what each Ray task runs ------------------------------------------------

def convert_batch(batch, command, codec, threads, overwrite, strip_metadata):
    """Encodes or decodes each file of `batch` (columns "source" and "target"); a failure is
    caught per file, so one bad file never fails its batch. Returns per file its error ("" when it
    worked), its pixels, the CPU seconds it took (all threads of the worker) and the worker's peak
    memory so far (MB)."""
    results = {"source": [], "error": [], "pixels": [], "cpu_seconds": [], "peak_megabytes": []}
    for source, target in zip(batch["source"], batch["target"]):
        source, target = str(source), str(target)
        start = time.process_time()
        try:
            if command == "encode":
                pixels = encode_file(source, target, codec, threads, overwrite, strip_metadata)
            else:
                pixels = decode_file(source, target, threads, overwrite)
            error = ""
        except Exception as failure:  # any one file's failure is reported, never raised
            pixels, error = 0, one_line(failure)
        results["source"].append(source)
        results["error"].append(error)
        results["pixels"].append(pixels)
        results["cpu_seconds"].append(time.process_time() - start)
        results["peak_megabytes"].append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # Linux: KB
    return results


def one_line(failure):
    text = str(failure) or type(failure).__name__
    return " ".join(text.split())


def encode_file(source, target, codec, threads, overwrite, strip_metadata):
    with open(source, "rb") as f:
        data = f.read()
    metadata = input_metadata(data, strip_metadata)
    image = read_image(data)
    write_atomically(target, comrec.encode(image, threads=threads, **codec, **metadata), overwrite, source)
    return image.shape[0] * image.shape[1]


def decode_file(source, target, threads, overwrite):
    with open(source, "rb") as f:
        data = f.read()
    pixels = comrec.decode(data, threads=threads)
    segments = jpeg_segments(data)
    grey = jpeg_components(segments) == 1
    image = pixels[:, :, 0] if grey else pixels  # `comrec decode` writes a grey file as a grey PNG
    write_atomically(target, png_file(image, jpeg_metadata(segments)), overwrite, source)
    return pixels.shape[0] * pixels.shape[1]


def write_atomically(target, data, overwrite, source):
    """Writes `data` to `target` as `comrec` does: into a new hidden file in the same folder
    (.NAME.comrec-PID-0-RANDOM.tmp, the CLI's pattern), flushed to disk, then named `target`. Without
    `overwrite` a file that appeared at `target` meanwhile is never replaced (a hard link names it,
    and fails when the name exists)."""
    folder, name = os.path.split(target)
    os.makedirs(folder or ".", exist_ok=True)
    if os.path.lexists(target):
        if os.path.isdir(target):
            raise IsADirectoryError(f"the output {target} is a directory")
        if os.path.exists(source) and os.path.samefile(source, target):
            raise ValueError(f"the output {target} is the input itself")
        if not overwrite:
            raise FileExistsError(f"the output {target} exists; pass --overwrite to replace it")
    temporary = os.path.join(folder, f".{name}.comrec-{os.getpid()}-0-{secrets.randbits(32)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(temporary, target)
            return
        try:
            os.link(temporary, target)
        except OSError as failure:
            # Some network and object-store mounts have no hard links: rename after a last check.
            if failure.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            if os.path.lexists(target):
                raise FileExistsError(f"the output {target} exists; pass --overwrite to replace it") from None
            os.rename(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


# ---- Reading images as `comrec encode` does ---------------------------------------------------

def read_image(data):
    """The pixels `comrec encode` reads from a PNG, JPEG or binary PPM/PGM file (told by its first
    bytes, as the CLI does): uint8 height x width x 3, or height x width for grey. Pillow decodes
    PNG and JPEG (libjpeg-turbo's accurate IDCT and smooth chroma upsampling, the CLI's settings);
    what Pillow would read differently from the CLI is refused instead."""
    if not data:
        raise ValueError("file is empty; give a PNG, JPEG or binary PPM/PGM image")
    if len(data) >= 2 and data[:1] == b"P" and data[1:2] in b"1234567":
        return read_pnm(data)
    is_png = data.startswith(PNG_SIGNATURE)
    if not is_png and not data.startswith(b"\xff\xd8\xff"):
        raise ValueError(f"not a PNG, JPEG or binary PPM/PGM image (it starts with {data[:8]!r})")
    refusal = None if is_png else jpeg_refusal(data)
    if refusal:
        raise ValueError(refusal)
    if is_png and len(data) > 24 and data[24] == 16:
        # Pillow keeps the high byte of 16-bit colour samples; libpng rounds them.
        raise ValueError("16-bit PNG: this job reads 8-bit PNGs; encode it with `comrec encode`")
    Image.MAX_IMAGE_PIXELS = None  # the CLI's limit is checked below, before the pixels are decoded
    with Image.open(io.BytesIO(data)) as picture:
        width, height = picture.size
        if width * height > comrec.DEFAULT_MAX_PIXELS:
            raise ValueError(f"image is {width} x {height}, over the limit of {comrec.DEFAULT_MAX_PIXELS} pixels")
        if picture.mode == "CMYK":
            raise ValueError("CMYK JPEG: ComRec reads RGB and grey images")
        if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
            rgba = np.asarray(picture.convert("RGBA"))
            transparent = int(np.count_nonzero(rgba[:, :, 3] != 255))
            if transparent:
                raise ValueError(f"image has a real alpha channel ({transparent} of {width * height} pixels are not "
                                 "opaque); ComRec stores RGB only: composite it on a background first")
            return np.ascontiguousarray(rgba[:, :, :3])
        if picture.mode in ("1", "L"):
            return np.asarray(picture.convert("L"))
        return np.asarray(picture.convert("RGB"))


def jpeg_refusal(data):
    """Why `comrec encode` would refuse this JPEG by its default rules for hostile files
    (JPEGDecodeRules.swift, docs/security.md), or None: arithmetic coding, more than 100 scans, more
    than 4096 APPn and COM segments or 16 MB of them. Pillow has no such limits."""
    segments = jpeg_segments(data)
    if any(marker in (0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF) for marker, _ in segments):
        return "arithmetic-coded JPEG, refused as by `comrec encode` (whose --allow-arithmetic decodes it)"
    extra = [payload for marker, payload in segments if 0xE0 <= marker <= 0xEF or marker == 0xFE]
    if len(extra) > 4096 or sum(len(payload) for payload in extra) > 16 << 20:
        return "more than 4096 APPn and COM segments or 16 MB of them, refused as by `comrec encode`"
    # Start-of-scan markers (entropy-coded data never holds one: a 0xFF there is followed by 0 or
    # a restart marker), less any inside the segments, such as an EXIF thumbnail's.
    scans = data.count(b"\xff\xda") - sum(payload.count(b"\xff\xda") for _, payload in segments)
    if scans > 100:
        return f"progressive JPEG of {scans} scans, over the 100 that `comrec encode` allows by default"
    return None


def read_pnm(data):
    """Binary PGM (P5) or PPM (P6), 8 or 16 bits, as the CLI reads them: samples of a maxval other
    than 255 scaled to 0...255 with rounding, (v * 255 + maxval // 2) // maxval."""
    if data[1:2] not in (b"5", b"6"):
        raise ValueError(f"Netpbm type P{data[1:2].decode()} is not supported; "
                         "only binary PGM (P5) and PPM (P6) are read")
    channels, position, numbers = (1 if data[1:2] == b"5" else 3), 2, []
    for what in ("width", "height", "maxval"):
        # Whitespace and '#' comments (to the end of the line) may precede each number.
        while position < len(data) and (data[position] in b" \t\n\v\f\r" or data[position] == ord("#")):
            if data[position] == ord("#"):
                while position < len(data) and data[position] not in b"\n\r":
                    position += 1
            else:
                position += 1
        start = position
        while position < len(data) and data[position] in b"0123456789":
            position += 1
        if not 1 <= position - start <= 9:
            raise ValueError(f"PPM/PGM data is invalid: the {what} is not a number of at most 9 digits")
        numbers.append(int(data[start:position]))
    width, height, maxval = numbers
    if position >= len(data) or data[position] not in b" \t\n\v\f\r":
        raise ValueError("PPM/PGM data is invalid: the header is truncated")
    position += 1  # exactly one whitespace byte before the samples
    if not 1 <= maxval <= 65535:
        raise ValueError(f"PPM/PGM data is invalid: maxval {maxval} is not in 1...65535")
    if width < 1 or height < 1 or width * height > comrec.DEFAULT_MAX_PIXELS:
        raise ValueError(f"image is {width} x {height}: empty, or over the limit of {comrec.DEFAULT_MAX_PIXELS} pixels")
    count, sample_bytes = width * height * channels, 2 if maxval > 255 else 1
    if len(data) - position < count * sample_bytes:
        raise ValueError("PPM/PGM data is invalid: the pixel data is truncated")
    samples = np.frombuffer(data, dtype=">u2" if sample_bytes == 2 else np.uint8, count=count, offset=position)
    if int(samples.max()) > maxval:
        raise ValueError(f"PPM/PGM data is invalid: a sample is over maxval {maxval}")
    if maxval != 255:
        samples = (samples.astype(np.int64) * 255 + maxval // 2) // maxval
    image = samples.astype(np.uint8)
    return image.reshape(height, width) if channels == 1 else image.reshape(height, width, 3)


def input_metadata(data, strip):
    """The EXIF, XMP and ICC profile `comrec encode` carries from this PNG or JPEG into its file, as
    comrec.encode's keyword arguments; with `strip` (its --strip-metadata) the profile alone, when
    it can be read. Without `strip` a profile that cannot be read is refused, as the CLI refuses it."""
    try:
        if data.startswith(b"\xff\xd8"):
            found = jpeg_metadata(jpeg_segments(data))
            if found["icc_chunks"] and found["icc"] is None:
                raise UnreadableProfile(f"its {found['icc_chunks']} APP2 ICC_PROFILE chunks are not numbered 1 to N")
            exif, xmp, icc = found["exif"], found["xmp"], found["icc"]
        elif data.startswith(PNG_SIGNATURE):
            found = png_metadata(data)
            exif, xmp, icc = found["exif"], png_xmp(found["xmp"]), png_icc(found["icc"])
            if exif is not None and exif.startswith(EXIF_HEADER):
                exif = exif[len(EXIF_HEADER):]  # some writers keep JPEG's header in eXIf
        else:
            return {}
    except UnreadableProfile as problem:
        if not strip:
            raise ValueError(f"{problem}: pass --strip-metadata to encode it without the profile") from None
        return {}
    if strip:
        exif = xmp = None
    return {"exif": exif, "xmp": xmp, "icc_profile": icc}


class UnreadableProfile(Exception):
    """A colour profile the input has but that cannot be read."""


def png_icc(chunk):
    """The profile of an iCCP chunk (name, NUL, method 0, zlib stream); None without one."""
    if chunk is None:
        return None
    name_end = chunk.find(b"\0", 0, 80)
    if name_end < 0 or name_end + 1 >= len(chunk) or chunk[name_end + 1] != 0:
        raise UnreadableProfile("its iCCP chunk has no profile name or an unknown compression method")
    try:
        return zlib.decompress(chunk[name_end + 2:])
    except zlib.error as failure:
        raise UnreadableProfile(f"its iCCP chunk does not inflate ({failure})") from None


def png_xmp(chunk):
    """The packet of an XMP iTXt chunk (keyword, NUL, flag, method, language, NUL, translated
    keyword, NUL, text: a zlib stream when the flag is 1); None when it cannot be read."""
    if chunk is None:
        return None
    at = len(b"XML:com.adobe.xmp\0")
    if at + 2 > len(chunk):
        return None
    compressed, at = chunk[at] == 1, at + 2
    for _ in range(2):  # language tag, translated keyword
        nul = chunk.find(b"\0", at)
        if nul < 0:
            return None
        at = nul + 1
    try:
        return zlib.decompress(chunk[at:]) if compressed else chunk[at:]
    except zlib.error:
        return None


def png_metadata(data):
    """The first eXIf, iCCP and XMP iTXt chunks with a correct CRC, as the CLI looks for them."""
    found, position = {"exif": None, "xmp": None, "icc": None}, 8
    while position + 12 <= len(data):
        length = int.from_bytes(data[position:position + 4], "big")
        kind, body = data[position + 4:position + 8], data[position + 8:position + 8 + length]
        end = position + 12 + length
        if end > len(data) or kind == b"IEND":
            break
        intact = zlib.crc32(kind + body) == int.from_bytes(data[end - 4:end], "big")
        position = end
        if not intact:
            continue
        if kind == b"eXIf" and found["exif"] is None:
            found["exif"] = body
        elif kind == b"iCCP" and found["icc"] is None:
            found["icc"] = body
        elif kind == b"iTXt" and found["xmp"] is None and body.startswith(b"XML:com.adobe.xmp\0"):
            found["xmp"] = body
    return found


# ---- ComRec files' JPEG segments: metadata and colour ------------------------------------------

EXIF_HEADER, XMP_HEADER, ICC_HEADER = b"Exif\0\0", b"http://ns.adobe.com/xap/1.0/\0", b"ICC_PROFILE\0"


def jpeg_segments(data):
    """(marker, payload) of each marker segment before the image data, as libjpeg reads them."""
    segments, position = [], 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            position += 1
            continue
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1
        elif marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            position += 2
        elif marker in (0xD9, 0xDA):
            break
        else:
            length = int.from_bytes(data[position + 2:position + 4], "big")
            segments.append((marker, data[position + 4:position + 2 + length]))
            position += 2 + length
    return segments


def jpeg_components(segments):
    """The number of colour components in the JPEG's frame header (1: grey)."""
    frames = [payload for marker, payload in segments if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC)]
    return frames[0][5] if frames and len(frames[0]) > 5 else 3


def jpeg_metadata(segments):
    """EXIF, XMP and the ICC profile of a JPEG's segments, by the CLI's rules (ImageMetadata.swift):
    the first APP1 of each kind, and the APP2 ICC chunks when they are numbered 1...N (else none)."""
    found = {"exif": None, "xmp": None, "icc": None, "icc_chunks": 0}
    chunks = []
    for marker, payload in segments:
        if marker == 0xE1 and found["exif"] is None and payload.startswith(EXIF_HEADER):
            found["exif"] = payload[len(EXIF_HEADER):]
        elif marker == 0xE1 and found["xmp"] is None and payload.startswith(XMP_HEADER):
            found["xmp"] = payload[len(XMP_HEADER):]
        elif marker == 0xE2 and payload.startswith(ICC_HEADER) and len(payload) >= len(ICC_HEADER) + 2:
            at = len(ICC_HEADER)
            chunks.append((payload[at], payload[at + 1], payload[at + 2:]))
    found["icc_chunks"] = len(chunks)
    if chunks:
        count = chunks[0][1]
        numbered = sorted(c[0] for c in chunks) == list(range(1, count + 1))
        if count >= 1 and all(c[1] == count for c in chunks) and numbered:
            found["icc"] = b"".join(c[2] for c in sorted(chunks, key=lambda c: c[0]))
    return found


# ---- Writing the PNG `comrec decode` writes -----------------------------------------------------
# The CLI writes PNGs with libpng 1.6 at zlib level 2 and libpng's default choices; the same steps
# here give the same bytes (the CI test compares them): IHDR, the metadata chunks, the rows with the
# filter of least sum of absolute values (ties to the first of None, Sub, Up, Average, Paeth),
# deflated with strategy Z_FILTERED and a window no larger than the data, in IDAT chunks of 8192
# bytes (libpng's buffer), then IEND.

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_LEVEL = 2  # the CLI's default zlib level (PNG.defaultCompressionLevel)
IDAT_BYTES = 8192


def png_file(image, metadata):
    """The PNG of `image` (height x width x 3, or height x width for grey) with the metadata of a
    ComRec file (from jpeg_metadata) in eXIf, iTXt and iCCP chunks, as `comrec decode` writes it."""
    height, width = image.shape[:2]
    channels = 1 if image.ndim == 2 else 3
    header = struct.pack(">IIBBBBB", width, height, 8, 0 if channels == 1 else 2, 0, 0, 0)
    chunks = [(b"IHDR", header)] + png_metadata_chunks(metadata, channels)
    stream = png_image_data(np.ascontiguousarray(image).reshape(height, width * channels), channels)
    chunks += [(b"IDAT", stream[at:at + IDAT_BYTES]) for at in range(0, len(stream), IDAT_BYTES)]
    chunks.append((b"IEND", b""))
    return PNG_SIGNATURE + b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        for kind, body in chunks)


def png_metadata_chunks(metadata, channels):
    """iCCP (when the profile's colour space suits the image: GRAY for grey only), eXIf, iTXt XMP."""
    chunks = []
    icc = metadata.get("icc")
    if icc is not None and len(icc) >= 20 and (icc[16:20] == b"GRAY") == (channels == 1):
        chunks.append((b"iCCP", b"ICC profile\0\0" + zlib.compress(icc, 9)))
    if metadata.get("exif") is not None:
        chunks.append((b"eXIf", metadata["exif"]))
    if metadata.get("xmp") is not None:
        chunks.append((b"iTXt", b"XML:com.adobe.xmp" + b"\0" * 5 + metadata["xmp"]))
    return chunks


def png_image_data(rows, bpp):
    """The zlib stream of the filtered rows, as libpng 1.6 makes it."""
    height, row_bytes = rows.shape
    # libpng drops the filters that need a row above in a one-row image, and those that need a
    # pixel to the left in a one-pixel-wide one.
    wide, tall = row_bytes > bpp, height > 1
    allowed = np.array([True, wide, tall, tall and wide, tall and wide])  # None, Sub, Up, Average, Paeth
    size = (row_bytes + 1) * height if row_bytes < 32768 and height < 32768 else 0xFFFFFFFF
    window_bits = 15
    if size <= 16384:
        while size + 262 <= 1 << (window_bits - 1):
            window_bits -= 1
    strategy = zlib.Z_FILTERED if allowed[1:].any() else zlib.Z_DEFAULT_STRATEGY
    compressor = zlib.compressobj(PNG_LEVEL, zlib.DEFLATED, window_bits, 8, strategy)
    band = max(1, (4 << 20) // row_bytes)  # rows filtered at once: a few MB of temporaries
    parts = [compressor.compress(png_filtered(rows, y, min(height, y + band), bpp, allowed).tobytes())
             for y in range(0, height, band)]
    stream = bytearray(b"".join(parts) + compressor.flush())
    if size <= 16384:
        shrink_window_field(stream, size)
    return bytes(stream)


def png_filtered(rows, start, end, bpp, allowed):
    """Rows start..<end, each with its filter byte, filtered as libpng chooses."""
    raw = rows[start:end]
    above = np.empty_like(raw)
    above[0] = rows[start - 1] if start > 0 else 0
    above[1:] = raw[:-1]
    left, upper_left = np.zeros_like(raw), np.zeros_like(raw)
    left[:, bpp:], upper_left[:, bpp:] = raw[:, :-bpp], above[:, :-bpp]
    a, b, c = left.astype(np.int16), above.astype(np.int16), upper_left.astype(np.int16)
    pa, pb, pc = np.abs(b - c), np.abs(a - c), np.abs(a + b - 2 * c)
    paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, above, upper_left))
    # uint8 arithmetic wraps modulo 256, as the filters do.
    candidates = np.stack([raw, raw - left, raw - above, raw - ((a + b) >> 1).astype(np.uint8), raw - paeth])
    cost = np.minimum(candidates, -candidates).sum(axis=2, dtype=np.int64)  # bytes >= 128 count as negative
    cost[~allowed] = np.iinfo(np.int64).max
    choice = np.argmin(cost, axis=0)  # the first of equal sums, as libpng's strict comparison
    out = np.empty((end - start, rows.shape[1] + 1), dtype=np.uint8)
    out[:, 0] = choice
    out[:, 1:] = candidates[choice, np.arange(end - start)]
    return out


def shrink_window_field(stream, size):
    """libpng's optimize_cmf: the zlib header's window size lowered to the smallest that holds
    `size` bytes (deflate needed 262 bytes more than inflate does)."""
    cmf = stream[0]
    if (cmf & 0x0F) != 8 or (cmf & 0xF0) > 0x70:
        return
    info = cmf >> 4
    half = 1 << (info + 7)
    if size > half:
        return
    while True:
        half >>= 1
        info -= 1
        if not (info > 0 and size <= half):
            break
    cmf = (cmf & 0x0F) | (info << 4)
    flags = stream[1] & 0xE0
    flags += 0x1F - ((cmf << 8) + flags) % 0x1F
    stream[0], stream[1] = cmf, flags


# ---- The job -------------------------------------------------------------------------------------

def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        prog="ray_batch.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("command", choices=["encode", "decode"],
                        help="encode: images -> ComRec .jpg files; decode: ComRec .jpg files -> .png images")
    parser.add_argument("source", metavar="SRC_DIR", help="folder tree of inputs (read only)")
    parser.add_argument("target", metavar="DST_DIR", help="folder tree of outputs (created as needed)")
    rate = parser.add_mutually_exclusive_group()
    rate.add_argument("--quality", type=int, default=75, metavar="Q",
                      help="encode: JPEG quality 1...100, as `comrec encode --quality` (default 75)")
    rate.add_argument("--bpp", type=float, metavar="B",
                      help="encode: the largest file of at most B bits per pixel (replaces --quality)")
    parser.add_argument("--profile", default="fast", metavar="P",
                        help=f"encode: codec profile, one of {', '.join(comrec.profiles())} (default fast)")
    parser.add_argument("--mode", choices=["auto", "half", "full"], default="auto",
                        help="encode: as `comrec encode --mode` (default auto)")
    parser.add_argument("--strip-metadata", action="store_true",
                        help="encode: keep only the inputs' ICC profiles, as `comrec encode --strip-metadata` "
                             "(by default EXIF, XMP and ICC profiles are carried, as `comrec encode` does)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace outputs that exist (by default they are skipped, so a re-run resumes)")
    parser.add_argument("--address", metavar="ADDR",
                        help="Ray cluster to join (`auto`, or host:port); default: start Ray on this machine")
    parser.add_argument("--num-cpus", type=int, metavar="N",
                        help="without --address: the CPUs the local Ray may use (default: all)")
    parser.add_argument("--batch-size", type=int, default=48, metavar="N",
                        help="files per Ray task (default 48; fewer when there are not 4 batches per CPU)")
    parser.add_argument("--threads-per-task", type=int, default=1, metavar="T",
                        help="comrec threads in each task; each task also reserves T CPUs from Ray, so tasks x "
                             "threads never exceed the cores (default 1: one task per core, the best throughput)")
    parser.add_argument("--report", metavar="FILE", help="also write the summary as JSON to FILE")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.source):
        parser.error(f"{args.source} is not a folder")
    if os.path.realpath(args.source) == os.path.realpath(args.target):
        parser.error("DST_DIR must differ from SRC_DIR (encode writes .jpg files, which would replace .jpg inputs)")
    if not 1 <= args.quality <= 100:
        parser.error(f"--quality must be 1...100, not {args.quality}")
    if args.bpp is not None and not args.bpp > 0:
        parser.error(f"--bpp must be a positive number of bits per pixel, not {args.bpp}")
    if args.profile not in comrec.profiles():
        parser.error(f"--profile must be one of {', '.join(comrec.profiles())}, not {args.profile}")
    if args.batch_size < 1 or not 1 <= args.threads_per_task <= 64 or (args.num_cpus is not None and args.num_cpus < 1):
        parser.error("--batch-size, --threads-per-task (at most 64) and --num-cpus must be at least 1")
    if args.address and args.num_cpus:
        parser.error("--num-cpus is for a local Ray; a cluster has the CPUs it was started with")
    # Workers do not share the driver's working directory: they get absolute paths.
    args.source, args.target = os.path.abspath(args.source), os.path.abspath(args.target)
    return args


@contextlib.contextmanager
def ray_session(args):
    """Ray on this machine (--num-cpus of its cores), or the cluster at --address; shut down after."""
    import logging

    import ray
    import ray.data  # which configures its loggers when imported: quietened below, after it

    if args.address:
        ray.init(address=args.address, logging_level=logging.WARNING)
    else:
        ray.init(num_cpus=args.num_cpus, include_dashboard=False, logging_level=logging.WARNING)
    try:
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        # This script prints its own progress, and needs no notice that Ray's bars are off.
        logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.max_errored_blocks = -1  # a lost task fails its own files (main reports them), not the job
        yield ray
    finally:
        ray.shutdown()


def file_results(ray, jobs, args, codec):
    """Each file's result, as its batch finishes: the plan is a dataset of one block per batch,
    and each block is one task of convert_batch. Ray gives a task the CPUs of its threads, so on
    every node the tasks running at once use at most its cores."""
    # Smaller batches when there are few files, so that every CPU gets several and none waits on
    # the last long one; --batch-size on a long run.
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)) // args.threads_per_task)
    batch_size = max(1, min(args.batch_size, len(jobs) // (4 * cpus)))
    dataset = ray.data.from_items(jobs, override_num_blocks=math.ceil(len(jobs) / batch_size))
    with warnings.catch_warnings():
        # max_retries is a "remote argument", deprecated in Ray 2.60 with no named replacement yet;
        # without it a worker that dies on a file (it should not: the decoder is fuzzed) is
        # retried forever, the default of Ray Data.
        warnings.simplefilter("ignore", DeprecationWarning)
        dataset = dataset.map_batches(
            convert_batch, batch_size=batch_size, num_cpus=args.threads_per_task, max_retries=1,
            fn_kwargs={"command": args.command, "codec": codec, "threads": args.threads_per_task,
                       "overwrite": args.overwrite, "strip_metadata": args.strip_metadata})
    return dataset.iter_rows()


def log(line):
    print(f"ray_batch: {line}", file=sys.stderr, flush=True)


def main(argv=None):
    args = parse_arguments(argv)
    codec = {"quality": args.quality, "bpp": args.bpp, "profile": args.profile, "mode": args.mode}
    jobs, skipped, failures = plan(args.command, args.source, args.target, args.overwrite)
    for source, error in failures:
        log(f"error: {source}: {error}")
    log(f"{len(jobs)} files to do, {skipped} skipped (their output exists)")
    done, pixels, cpu_seconds, peak, ray_start, seconds = 0, 0, 0.0, 0.0, 0.0, 0.0
    if jobs:
        started = time.perf_counter()
        with ray_session(args) as ray:
            ray_start = time.perf_counter() - started
            started, last_progress, finished = time.perf_counter(), time.perf_counter(), set()
            for row in file_results(ray, jobs, args, codec):
                finished.add(row["source"])
                cpu_seconds += row["cpu_seconds"]
                peak = max(peak, row["peak_megabytes"])
                if row["error"]:
                    failures.append((row["source"], row["error"]))
                    log(f"error: {row['source']}: {row['error']}")
                else:
                    done += 1
                    pixels += row["pixels"]
                if time.perf_counter() - last_progress > 10:
                    last_progress = time.perf_counter()
                    log(f"{len(finished)} of {len(jobs)} files")
            seconds = time.perf_counter() - started
        for job in jobs:
            if job["source"] not in finished:  # its task was lost twice (a worker that died)
                failures.append((job["source"], "its Ray task failed (the worker died); see the Ray logs"))
    summary = {
        "command": args.command, "done": done, "skipped": skipped, "failed": len(failures),
        "failures": [{"source": source, "error": error} for source, error in failures],
        "seconds": round(seconds, 3), "ray_start_seconds": round(ray_start, 3),
        "files_per_second": round(done / seconds, 3) if seconds else 0.0, "megapixels": round(pixels / 1e6, 3),
        # The workers' CPU time per megapixel (failed files' included): what sizes a cluster.
        "cpu_seconds_per_megapixel": round(cpu_seconds * 1e6 / pixels, 3) if pixels else None,
        "worker_peak_megabytes": round(peak),  # the largest resident memory of a worker process
    }
    verb = "encoded" if args.command == "encode" else "decoded"
    megapixels_per_second = pixels / 1e6 / seconds if seconds else 0
    log(f"{verb} {done} files, {skipped} skipped, {len(failures)} failed, in {seconds:.1f} s (and {ray_start:.1f} s "
        f"to start Ray): {summary['files_per_second']} files/s, {megapixels_per_second:.2f} megapixels/s")
    for source, error in failures:
        log(f"failed: {source}: {error}")
    if args.report:
        with open(args.report, "w") as f:
            json.dump(summary, f, indent=1)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
