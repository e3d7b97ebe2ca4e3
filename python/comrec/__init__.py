"""ComRec from Python: encode images into ComRec files (ordinary JPEGs) and decode them again.

    import comrec
    data = comrec.encode(image, quality=60)        # numpy array (H x W x 3 or H x W) or PIL image
    pixels = comrec.decode(data)                   # numpy uint8 array, H x W x 3
    comrec.info(data)                              # {"width": ..., "mode": "half", ...}
    comrec.open("photo.jpg")                       # PIL.Image of the full-size image

It runs the C API (include/comrec.h) of the shared library libcomrec.so through ctypes, so the
files and pixels are those of the `comrec` command: `encode` takes the CLI's defaults (profile
`fast`, quality 75, mode `auto`, effort 1) and `decode` returns the pixels `comrec decode` writes.
Errors raise ComRecError with the C API's message. docs/python.md has the details.
"""
import builtins
import io
import ctypes
import os
import threading

import numpy as np

from . import _capi

__all__ = ["ComRecError", "encode", "decode", "info", "open", "profiles", "version"]

_lib = _capi.load()


class ComRecError(Exception):
    """A failure of the C API: `status` is its comrec_status code, `name` its meaning."""

    def __init__(self, status, message):
        self.status = status
        self.name = _lib.comrec_status_string(status).decode()
        super().__init__(message or self.name)


def _threads(threads):
    if threads is None:
        threads = int(os.environ.get("COMREC_THREADS", 0)) or os.cpu_count() or 1
    if not 1 <= threads <= 64:
        raise ValueError(f"threads must be 1...64, not {threads}")
    return threads


# One C context per Python thread and thread count: a context is not shared between threads, and
# creating one starts its worker threads, so it is kept for the next call.
_contexts = threading.local()


def _context(threads):
    cache = _contexts.__dict__.setdefault("by_threads", {})
    if threads not in cache:
        handle = ctypes.c_void_p()
        status = _lib.comrec_context_create(threads, ctypes.byref(handle))
        if status != 0:
            raise ComRecError(status, f"cannot create a context with {threads} threads")
        cache[threads] = _Context(handle)
    return cache[threads].handle


class _Context:
    def __init__(self, handle):
        self.handle = handle

    def __del__(self):
        _lib.comrec_context_destroy(self.handle)


DEFAULT_MAX_PIXELS = 100_000_000  # the CLI's --max-pixels default and the C API's


def _set_max_pixels(context, max_pixels):
    """Every call sets the limit, so that one call's limit never stays on the cached context."""
    limit = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    if not isinstance(limit, int) or limit < 1:
        raise ValueError(f"max_pixels must be a positive number of pixels, not {max_pixels!r}")
    status = _lib.comrec_context_set_max_pixels(context, limit)
    if status != 0:
        _fail(status, context)


def _fail(status, context):
    message = _lib.comrec_context_message(context).decode() if context else ""
    raise ComRecError(status, message)


def _bytes(data):
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError(f"expected the bytes of a ComRec file, not {type(data).__name__}")


def info(data):
    """The facts of a ComRec file's header, as a dict (no pixels are decoded)."""
    data = _bytes(data)
    facts = _capi.Info()
    status = _lib.comrec_read_info(data, len(data), ctypes.byref(facts))
    if status != 0:
        raise ComRecError(status, None)
    return {
        "width": facts.width, "height": facts.height,
        "stored_width": facts.stored_width, "stored_height": facts.stored_height,
        "mode": "half" if facts.mode == _capi.MODE_HALF else "full",
        "quality": facts.quality, "progressive": bool(facts.progressive),
        "profile": facts.profile.decode(), "model_hash": f"{facts.model_hash:016x}",
        "decodable": bool(facts.decodable),
    }


def decode(data, threads=None, max_pixels=None):
    """The full-size image of a ComRec file: a numpy uint8 array of height x width x 3 (a grey
    file's three channels are equal). `max_pixels` (default 100 million) refuses larger images
    before any pixel memory is allocated."""
    data = _bytes(data)
    context = _context(_threads(threads))
    _set_max_pixels(context, max_pixels)
    facts = info(data)
    arena_bytes = ctypes.c_size_t()
    status = _lib.comrec_decode_arena_bytes_for_file(context, data, len(data), ctypes.byref(arena_bytes))
    if status != 0:
        _fail(status, context)
    arena = ctypes.create_string_buffer(max(arena_bytes.value, 1))
    width, height = facts["width"], facts["height"]
    image = np.empty((height, width, 3), dtype=np.uint8)
    base, row_bytes = image.ctypes.data, width * 3

    def row(_user, y, rgb, row_width):
        if y >= height or row_width != width:
            return 1
        ctypes.memmove(base + y * row_bytes, rgb, row_bytes)
        return 0

    status = _lib.comrec_decode(context, data, len(data), arena, arena_bytes.value, _capi.ROW_CALLBACK(row), None)
    if status != 0:
        _fail(status, context)
    return image


def _rgb_array(image):
    """A C-contiguous uint8 height x width x 3 array of a numpy array or PIL image."""
    if hasattr(image, "convert") and hasattr(image, "mode"):  # a PIL image, without importing PIL
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            raise ValueError("the image has an alpha channel; ComRec stores RGB: composite it first")
        image = np.asarray(image.convert("RGB"))
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ValueError(f"expected 8-bit samples (uint8), not {array.dtype}")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected height x width x 3 (RGB) or height x width (grey), not shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"the image is empty ({array.shape[1]} x {array.shape[0]})")
    return np.ascontiguousarray(array)


def encode(image, quality=75, bpp=None, profile="fast", mode="auto", effort=1, progressive=False, threads=None,
           max_pixels=None, exif=None, xmp=None, icc_profile=None, trellis=True, tables=None, scans=None):
    """The ComRec file of `image` (numpy array or PIL image) as bytes: what `comrec encode` writes
    with --quality (or --bpp), --profile, --mode, --effort, --scans (scans="smallest",
    "baseline" or "progressive"; None: "smallest", as the CLI; progressive=True is
    scans="progressive", as --progressive),
    --no-trellis (trellis=False: the stored JPEG rounded instead of trellis-quantised) and --tables
    (tables="comrec" or "standard"; None: the profile's, as the CLI). `exif` (the TIFF
    structure, with or without JPEG's b"Exif\\0\\0" in front), `xmp` (the packet) and `icc_profile`
    (bytes) go into the file as `comrec encode` stores an input's metadata; a PIL image's own are
    not taken unless passed (`icc_profile=image.info.get("icc_profile")`)."""
    array = _rgb_array(image)
    height, width = array.shape[:2]
    if mode not in _capi.MODES:
        raise ValueError(f"mode must be one of {sorted(_capi.MODES)}, not {mode!r}")
    options = _capi.EncodeOptions()
    _lib.comrec_encode_options_init(ctypes.byref(options))
    options.profile = profile.encode()
    options.quality = quality
    options.mode = _capi.MODES[mode]
    options.effort = effort
    if scans is not None and scans not in _capi.SCANS:
        raise ValueError(f"scans must be None, 'smallest', 'baseline' or 'progressive', not {scans!r}")
    if progressive and scans not in (None, "progressive"):
        raise ValueError(f"progressive=True is scans='progressive'; it cannot go with scans={scans!r}")
    options.progressive = _capi.SCANS["progressive" if progressive else scans or "smallest"]
    options.trellis = 1 if trellis else 0
    if tables not in _capi.TABLES:
        raise ValueError(f"tables must be None, 'comrec' or 'standard', not {tables!r}")
    options.tables = _capi.TABLES[tables]
    if exif is not None and bytes(exif[:6]) == b"Exif\0\0":
        exif = exif[6:]
    for field, value in (("exif", exif), ("xmp", xmp), ("icc", icc_profile)):
        if value is not None:
            data = bytes(value)
            setattr(options, field, data)  # the structure keeps a reference to the bytes
            setattr(options, field + "_bytes", len(data))
    if bpp is not None:
        if not bpp > 0:
            raise ValueError(f"bpp must be a positive number of bits per pixel, not {bpp}")
        options.max_bits_per_pixel = float(bpp)
    context = _context(_threads(threads))
    _set_max_pixels(context, max_pixels)
    # 0 for options the library refuses: comrec_encode then says why.
    arena_bytes = _lib.comrec_encode_arena_bytes(context, ctypes.byref(options), width)
    arena = ctypes.create_string_buffer(max(arena_bytes, 1))
    base, row_bytes = array.ctypes.data, width * 3
    chunks = []

    def read(_user, y, rgb, row_width):
        if y >= height or row_width != width:
            return 1
        ctypes.memmove(rgb, base + y * row_bytes, row_bytes)
        return 0

    def write(_user, data, size):
        chunks.append(ctypes.string_at(data, size))
        return 0

    status = _lib.comrec_encode(context, width, height, _capi.READ_CALLBACK(read), None, ctypes.byref(options),
                                arena, arena_bytes, _capi.WRITE_CALLBACK(write), None)
    if status != 0:
        _fail(status, context)
    return b"".join(chunks)


def open(path, threads=None):
    """The full-size image of the ComRec file at `path` as a PIL image (needs Pillow), with the
    file's EXIF, XMP and ICC profile in its `info` as Pillow names them ("exif", "xmp",
    "icc_profile"), so that `PIL.ImageOps.exif_transpose` shows it upright."""
    from PIL import Image

    with builtins.open(path, "rb") as f:
        data = f.read()
    image = Image.fromarray(decode(data, threads=threads), "RGB")
    # The file is a JPEG: Pillow reads its metadata segments from the header alone.
    with Image.open(io.BytesIO(data)) as stored:
        image.info.update({key: stored.info[key] for key in ("exif", "xmp", "icc_profile") if key in stored.info})
    return image


def profiles():
    """The profiles of the library, in the order `comrec --help` lists them."""
    return [_lib.comrec_profile_name(i).decode() for i in range(_lib.comrec_profile_count())]


def version():
    """The library's version, C API version and kernel family."""
    return {"version": _lib.comrec_version().decode(), "api": _lib.comrec_api_version(),
            "kernels": _lib.comrec_kernel_family().decode()}

