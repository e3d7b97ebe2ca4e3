"""The comrec Python package against the comrec command: the same files from encode, the same
pixels from decode, and errors as exceptions with the C API's message.

Needs the host libraries (python/install.sh, or scripts/boards.sh x86_64 x86_64-avx2) and the
release CLI (swift build -c release; COMREC_BIN names another binary).
"""
import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import comrec

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("COMREC_BIN", ROOT / ".build" / "release" / "comrec"))
DEMO = ROOT / "Fixtures" / "synthetic-768x512.png"

needs_cli = pytest.mark.skipif(not CLI.exists(), reason=f"{CLI} is not built: swift build -c release")


def read_png(path):
    """RGB8 (or grey) samples of a non-interlaced 8-bit PNG, as a numpy array, with zlib alone."""
    data = Path(path).read_bytes()
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height = int.from_bytes(header[0:4], "big"), int.from_bytes(header[4:8], "big")
    channels = {0: 1, 2: 3}[header[9]]
    raw = zlib.decompress(idat)
    stride = width * channels
    out = np.zeros((height, stride), dtype=np.int32)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        kind, row = line[0], np.frombuffer(line[1:], dtype=np.uint8).astype(np.int32)
        current = np.zeros(stride, dtype=np.int32)
        for x in range(stride):
            a = current[x - channels] if x >= channels else 0
            b = previous[x]
            c = previous[x - channels] if x >= channels else 0
            if kind == 0:
                predictor = 0
            elif kind == 1:
                predictor = a
            elif kind == 2:
                predictor = b
            elif kind == 3:
                predictor = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            current[x] = (row[x] + predictor) & 255
        out[y], previous = current, current
    image = out.astype(np.uint8).reshape(height, width, channels)
    return np.repeat(image, 3, axis=2) if channels == 1 else image


def demo_pixels():
    return read_png(DEMO)


def cli(*arguments):
    return subprocess.run([str(CLI), *map(str, arguments)], capture_output=True, text=True, check=True)


@pytest.fixture(scope="module")
def image():
    return demo_pixels()


@needs_cli
@pytest.mark.parametrize("options, flags", [
    ({}, []),
    ({"quality": 40, "mode": "half"}, ["--quality", "40", "--mode", "half"]),
    ({"bpp": 0.3}, ["--bpp", "0.3"]),
    ({"quality": 60, "mode": "full", "progressive": True}, ["--quality", "60", "--mode", "full", "--progressive"]),
    ({"quality": 60, "mode": "full", "scans": "baseline"}, ["--quality", "60", "--mode", "full", "--scans", "baseline"]),
    ({"quality": 40, "mode": "half", "scans": "smallest"}, ["--quality", "40", "--mode", "half"]),
    ({"profile": "bicubic", "mode": "half"}, ["--profile", "bicubic", "--mode", "half"]),
    ({"quality": 50, "mode": "full", "tables": "standard"}, ["--quality", "50", "--mode", "full", "--tables", "standard"]),
    ({"quality": 50, "mode": "half", "profile": "paper"}, ["--quality", "50", "--mode", "half", "--profile", "paper"]),
    ({"quality": 50, "mode": "full", "profile": "paper", "tables": "comrec"},
     ["--quality", "50", "--mode", "full", "--profile", "paper", "--tables", "comrec"]),
    ({"quality": 50, "mode": "full", "trellis": False, "tables": "standard"},
     ["--quality", "50", "--mode", "full", "--no-trellis", "--tables", "standard"]),
])
def test_encode_writes_the_clis_file(tmp_path, image, options, flags):
    cli("encode", DEMO, "-o", tmp_path / "cli.jpg", *flags)
    assert comrec.encode(image, **options) == (tmp_path / "cli.jpg").read_bytes()


@needs_cli
@pytest.mark.parametrize("mode", ["half", "full"])
def test_decode_returns_the_clis_pixels(tmp_path, mode):
    cli("encode", DEMO, "-o", tmp_path / "in.jpg", "--mode", mode, "--quality", "50")
    cli("decode", tmp_path / "in.jpg", "-o", tmp_path / "out.png")
    data = (tmp_path / "in.jpg").read_bytes()
    expected = read_png(tmp_path / "out.png")
    for threads in (1, 2):
        pixels = comrec.decode(data, threads=threads)
        assert pixels.dtype == np.uint8 and pixels.shape == (512, 768, 3)
        assert np.array_equal(pixels, expected)


def test_grey_and_pil_inputs(image):
    grey = image[:, :, 1].copy()
    data = comrec.encode(grey, quality=80)
    assert comrec.info(data)["mode"] == "full"
    decoded = comrec.decode(data)
    assert np.array_equal(decoded[:, :, 0], decoded[:, :, 2])
    pil = pytest.importorskip("PIL.Image")
    assert comrec.encode(pil.fromarray(image)) == comrec.encode(image)


def test_info_and_open(tmp_path, image):
    data = comrec.encode(image, quality=30, mode="half")
    facts = comrec.info(data)
    assert (facts["width"], facts["height"], facts["stored_width"], facts["stored_height"]) == (768, 512, 384, 256)
    assert facts["mode"] == "half" and facts["quality"] == 30 and facts["profile"] == "fast" and facts["decodable"]
    assert "fast" in comrec.profiles() and comrec.version()["api"] == comrec._capi.API_VERSION
    pil = pytest.importorskip("PIL.Image")
    (tmp_path / "x.jpg").write_bytes(data)
    opened = comrec.open(tmp_path / "x.jpg")
    assert opened.size == (768, 512) and np.array_equal(np.asarray(opened), comrec.decode(data))


def test_metadata_round_trips_and_is_the_clis(tmp_path, image):
    """A camera JPEG's EXIF (orientation 6) and ICC profile, passed to encode, make the CLI's
    file of that JPEG's pixels and metadata, and come back in comrec.open's info."""
    Image = pytest.importorskip("PIL.Image")
    cms = pytest.importorskip("PIL.ImageCms")
    icc = cms.ImageCmsProfile(cms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0112] = 6
    camera = tmp_path / "camera.jpg"
    Image.fromarray(image).save(camera, "JPEG", quality=90, exif=exif.tobytes(), icc_profile=icc)
    with Image.open(camera) as photo:
        data = comrec.encode(photo, quality=60, mode="half", exif=photo.info["exif"], icc_profile=photo.info["icc_profile"])
    cli("encode", camera, "-o", tmp_path / "cli.jpg", "--quality", "60", "--mode", "half")
    assert data == (tmp_path / "cli.jpg").read_bytes()
    (tmp_path / "x.jpg").write_bytes(data)
    opened = comrec.open(tmp_path / "x.jpg")
    assert opened.getexif()[0x0112] == 6 and opened.info["icc_profile"] == icc
    with pytest.raises(comrec.ComRecError) as caught:
        comrec.encode(image, exif=b"not a TIFF structure")
    assert caught.value.status == 1 and "TIFF header" in str(caught.value)
    with pytest.raises(comrec.ComRecError) as caught:
        comrec.encode(image, xmp=b"x" * 70000)
    assert caught.value.status == 1 and "XMP of 70000 bytes" in str(caught.value)


def test_an_encode_the_memory_cannot_hold_is_refused_not_trapped(tmp_path):
    """Auto mode holds the whole image and its candidates: with less address space than that, the
    library refuses the image with the bytes it needs (COMREC_ERROR_TOO_LARGE) instead of trapping
    on the failed allocation. In a child process, whose address space is limited."""
    script = tmp_path / "limited.py"
    script.write_text("""
import resource, sys
import numpy as np
import comrec
with open("/proc/self/status") as f:
    size = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
image = np.zeros((8000, 8000, 3), dtype=np.uint8)  # 192 MB; auto mode at effort 2 with trellis needs 1024 MB
resource.setrlimit(resource.RLIMIT_AS, (size + 600 * 2**20, resource.RLIM_INFINITY))
try:
    comrec.encode(image, mode="auto", effort=2, threads=1)
except comrec.ComRecError as error:
    print(error.status, error)
    sys.exit(0)
print("encoded")
""")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("6 ") and f"{8000 * 8000 * 16} bytes of memory" in done.stdout, done.stdout


def test_errors_carry_the_c_apis_status_and_message(image):
    data = comrec.encode(image, quality=30, mode="half")
    with pytest.raises(comrec.ComRecError) as caught:
        comrec.decode(b"\x89PNG\r\n\x1a\n not a jpeg")
    assert caught.value.status == 2 and caught.value.name
    with pytest.raises(comrec.ComRecError) as caught:
        comrec.decode(data[: len(data) // 2])
    assert caught.value.status == 3 and str(caught.value)
    with pytest.raises(comrec.ComRecError) as caught:
        comrec.encode(image, profile="no-such-profile")
    assert caught.value.status == 1 and "no-such-profile" in str(caught.value)
    with pytest.raises(comrec.ComRecError) as caught:
        comrec.decode(data, max_pixels=1000)
    assert caught.value.status == 6
    assert comrec.decode(data).shape == (512, 768, 3)  # the limit was for that call only
    with pytest.raises(ValueError):
        comrec.encode(image, mode="sideways")
    with pytest.raises(ValueError):
        comrec.encode(image, tables="flat")
    with pytest.raises(ValueError, match="scans"):
        comrec.encode(image, scans="interlaced")
    for other in ("baseline", "smallest"):
        with pytest.raises(ValueError, match=f"cannot go with scans='{other}'"):
            comrec.encode(image, scans=other, progressive=True)
    with pytest.raises(ValueError):
        comrec.encode(np.zeros((4, 4, 4), dtype=np.uint8))
    with pytest.raises(ValueError):
        comrec.encode(np.zeros((4, 4, 3), dtype=np.float32))
    with pytest.raises(TypeError):
        comrec.decode("a string")
