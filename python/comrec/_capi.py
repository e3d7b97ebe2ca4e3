"""ctypes declarations of include/comrec.h (the C API), and where the shared library is found.

The library is libcomrec.so, built by `scripts/boards.sh x86_64 x86_64-avx2` into
.build-boards/<target>/ (portable kernels, and AVX2 kernels for CPUs that have them) and copied into
this package by python/install.sh. COMREC_LIBRARY names another file.
"""
import ctypes
import os
from pathlib import Path

API_VERSION = 6  # COMREC_API_VERSION of the header these declarations follow

MODE_HALF, MODE_FULL, MODE_AUTO = 0, 1, 2
MODES = {"half": MODE_HALF, "full": MODE_FULL, "auto": MODE_AUTO}
TABLES = {None: 0, "comrec": 1, "standard": 2}  # comrec_encode_options.tables
SCANS = {"baseline": 0, "progressive": 1, "smallest": 2}  # comrec_encode_options.progressive


class Info(ctypes.Structure):
    _fields_ = [
        ("width", ctypes.c_uint32), ("height", ctypes.c_uint32),
        ("stored_width", ctypes.c_uint32), ("stored_height", ctypes.c_uint32),
        ("mode", ctypes.c_int), ("quality", ctypes.c_int), ("progressive", ctypes.c_int),
        ("decodable", ctypes.c_int), ("model_hash", ctypes.c_uint64), ("profile", ctypes.c_char * 17),
    ]


class EncodeOptions(ctypes.Structure):
    _fields_ = [
        ("profile", ctypes.c_char_p), ("quality", ctypes.c_int), ("mode", ctypes.c_int),
        ("progressive", ctypes.c_int), ("max_bits_per_pixel", ctypes.c_double), ("effort", ctypes.c_int),
        ("exif", ctypes.c_char_p), ("exif_bytes", ctypes.c_size_t), ("xmp", ctypes.c_char_p),
        ("xmp_bytes", ctypes.c_size_t), ("icc", ctypes.c_char_p), ("icc_bytes", ctypes.c_size_t),
        ("trellis", ctypes.c_int),
        ("optimize_huffman", ctypes.c_int),
        ("tables", ctypes.c_int),
    ]


ROW_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint8), ctypes.c_uint32)
READ_CALLBACK = ROW_CALLBACK  # same shape: (user, y, rgb, width); the buffer is written, not read
WRITE_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint8), ctypes.c_size_t)


def cpu_has_avx2():
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " avx2" in line for line in f)
    except OSError:
        return False


def library_path():
    """COMREC_LIBRARY, else the copy inside the package, else the repository's build folder; the
    AVX2 build of the library where the CPU has AVX2 (same bytes, several times faster)."""
    if os.environ.get("COMREC_LIBRARY"):
        return Path(os.environ["COMREC_LIBRARY"])
    here = Path(__file__).resolve().parent
    builds = here.parents[1] / ".build-boards"
    variants = [("libcomrec-avx2.so", "x86_64-avx2")] if cpu_has_avx2() else []
    variants.append(("libcomrec.so", "x86_64"))
    for name, target in variants:
        for candidate in (here / name, builds / target / "libcomrec.so"):
            if candidate.exists():
                return candidate
    raise ImportError(
        "libcomrec.so not found: run python/install.sh from a ComRec clone (it builds the library with "
        "scripts/boards.sh and installs this package with it), or set COMREC_LIBRARY")


def load():
    lib = ctypes.CDLL(str(library_path()))
    c = ctypes
    declarations = {
        "comrec_status_string": (c.c_char_p, [c.c_int]),
        "comrec_api_version": (c.c_int, []),
        "comrec_version": (c.c_char_p, []),
        "comrec_kernel_family": (c.c_char_p, []),
        "comrec_profile_count": (c.c_int, []),
        "comrec_profile_name": (c.c_char_p, [c.c_int]),
        "comrec_profile_model_hash": (c.c_uint64, [c.c_int, c.c_int]),
        "comrec_context_create": (c.c_int, [c.c_int, c.POINTER(c.c_void_p)]),
        "comrec_context_destroy": (None, [c.c_void_p]),
        "comrec_context_message": (c.c_char_p, [c.c_void_p]),
        "comrec_context_set_max_pixels": (c.c_int, [c.c_void_p, c.c_uint64]),
        "comrec_read_info": (c.c_int, [c.c_char_p, c.c_size_t, c.POINTER(Info)]),
        "comrec_decode_arena_bytes_for_file": (c.c_int, [c.c_void_p, c.c_char_p, c.c_size_t, c.POINTER(c.c_size_t)]),
        "comrec_decode": (c.c_int, [c.c_void_p, c.c_char_p, c.c_size_t, c.c_void_p, c.c_size_t, ROW_CALLBACK, c.c_void_p]),
        "comrec_encode_options_init": (None, [c.POINTER(EncodeOptions)]),
        "comrec_encode_arena_bytes": (c.c_size_t, [c.c_void_p, c.POINTER(EncodeOptions), c.c_uint32]),
        "comrec_encode": (c.c_int, [c.c_void_p, c.c_uint32, c.c_uint32, READ_CALLBACK, c.c_void_p,
                                    c.POINTER(EncodeOptions), c.c_void_p, c.c_size_t, WRITE_CALLBACK, c.c_void_p]),
    }
    for name, (restype, argtypes) in declarations.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    if lib.comrec_api_version() != API_VERSION:
        raise ImportError(f"{library_path()}: C API version {lib.comrec_api_version()}, this package speaks {API_VERSION}")
    return lib
