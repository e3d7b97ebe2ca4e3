"""examples/ray_batch.py on a local Ray of two CPUs: a tree of generated images encoded and decoded,
every output byte for byte the file of `comrec encode` or `comrec decode`, a corrupt input
reported without a partial output, and a second run that skips what is done. Its helpers (input
reading, the PNG writer, metadata, atomic writes) are checked against the CLI in-process.

Needs Ray (python/requirements-test.txt) and the release CLI (swift build -c release; COMREC_BIN
names another binary). The two Ray runs take about 10 s each, most of it Ray's start.
"""
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray")
Image = pytest.importorskip("PIL.Image")

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "ray_batch.py"
CLI = Path(os.environ.get("COMREC_BIN", ROOT / ".build" / "release" / "comrec"))

pytestmark = pytest.mark.skipif(not CLI.exists(), reason=f"{CLI} is not built: swift build -c release")

spec = importlib.util.spec_from_file_location("ray_batch", SCRIPT)
ray_batch = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ray_batch)


def cli(*arguments):
    return subprocess.run([str(CLI), *map(str, arguments)], capture_output=True, text=True, check=True)


def picture(width, height, seed):
    """Gradients, a disc and grain: enough structure that the codec has work to do."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([(x * 255) // max(width, 1), (y * 255) // max(height, 1), (x + y) % 256], axis=2).astype(float)
    inside = (x - width / 2) ** 2 + (y - height / 3) ** 2 < (min(width, height) / 4) ** 2
    image[inside] = rng.uniform(0, 255, 3)
    return np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)


def encoded(image, kind, **options):
    out = io.BytesIO()
    Image.fromarray(image).save(out, kind, **options)
    return out.getvalue()


def make_tree(root):
    """About thirty inputs of every kind the CLI reads, in nested folders, and one corrupt PNG."""
    files = {}
    sizes = [(1, 1), (1, 7), (9, 1), (31, 17), (64, 48), (97, 65), (128, 96), (300, 200)]
    for i, (w, h) in enumerate(sizes):
        image = picture(w, h, i)
        files[f"png/rgb-{w}x{h}.png"] = encoded(image, "PNG")
        files[f"png/grey/grey-{w}x{h}.png"] = encoded(image[:, :, 1], "PNG")
        files[f"jpeg/photo-{w}x{h}.jpg"] = encoded(image, "JPEG", quality=90)
    image = picture(80, 60, 20)
    files["jpeg/grey.jpeg"] = encoded(image[:, :, 0], "JPEG", quality=85)
    files["jpeg/progressive-444.JPG"] = encoded(image, "JPEG", quality=80, progressive=True, subsampling=0)
    files["png/palette.png"] = encoded(np.asarray(Image.fromarray(image).quantize(32).convert("RGB")), "PNG")
    files["png/opaque-alpha.png"] = encoded(np.dstack([image, np.full(image.shape[:2], 255, np.uint8)]), "PNG")
    files["png/one-bit.png"] = encoded(image[:, :, 0] > 128, "PNG")
    files["pnm/colour.ppm"] = b"P6\n# made by the test\n80 60\n255\n" + image.tobytes()
    files["pnm/grey.pgm"] = b"P5 80 60 255\n" + image[:, :, 2].tobytes()
    deep = np.minimum(image.astype(np.int64) * 257 + 100, 65535).astype(">u2")
    files["pnm/deep.ppm"] = b"P6 80 60 65535\n" + deep.tobytes()
    files["png/corrupt.png"] = encoded(image, "PNG")[:200]
    files["notes.txt"] = b"not an image: not an input either"
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return sorted(name for name in files if not name.endswith(".txt"))


def run_script(*arguments):
    # No usage reports from a test machine; Ray's start prints to stderr, which is kept.
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, arguments)], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The tree, its encode and decode by ray_batch.py on two CPUs (batches of at most 4, so both CPUs
    share the work), and a second decode that should find nothing to do."""
    root = tmp_path_factory.mktemp("ray")
    names = make_tree(root / "images")
    common = ["--num-cpus", 2, "--batch-size", 4]
    encode = run_script("encode", root / "images", root / "comrec", *common, "--report", root / "encode.json")
    decode = run_script("decode", root / "comrec", root / "decoded", *common, "--report", root / "decode.json")
    again = run_script("decode", root / "comrec", root / "decoded", *common, "--report", root / "again.json")
    processes = {"encode": encode, "decode": decode, "again": again}
    for name, process in processes.items():
        assert (root / f"{name}.json").exists(), f"ray_batch.py {name} wrote no report:\n{process.stderr}"
    reports = {name: json.loads((root / f"{name}.json").read_text()) for name in processes}
    return root, names, processes, reports


def test_encode_writes_the_clis_files_and_reports_the_corrupt_input(runs, tmp_path):
    root, names, processes, reports = runs
    encode, report = processes["encode"], reports["encode"]
    assert encode.returncode == 1, encode.stderr
    assert report["done"] == len(names) - 1 and report["failed"] == 1 and report["skipped"] == 0
    (failure,) = report["failures"]
    assert failure["source"].endswith("png/corrupt.png") and "truncated" in failure["error"]
    assert f"failed: {failure['source']}: {failure['error']}" in encode.stderr
    assert not (root / "comrec" / "png" / "corrupt.jpg").exists()
    written = sorted(p.relative_to(root / "comrec").as_posix() for p in (root / "comrec").rglob("*") if p.is_file())
    assert written == sorted(str(Path(n).with_suffix(".jpg")) for n in names if n != "png/corrupt.png")
    for name in names:
        if name == "png/corrupt.png":
            continue
        cli("encode", root / "images" / name, "-o", tmp_path / "cli.jpg", "--force")
        assert (root / "comrec" / name).with_suffix(".jpg").read_bytes() == (tmp_path / "cli.jpg").read_bytes(), name


def test_decode_writes_the_clis_pngs_and_a_rerun_skips_them(runs, tmp_path):
    root, names, processes, reports = runs
    assert processes["decode"].returncode == 0, processes["decode"].stderr
    assert reports["decode"]["done"] == len(names) - 1 and reports["decode"]["failed"] == 0
    for source in sorted((root / "comrec").rglob("*.jpg")):
        relative = source.relative_to(root / "comrec")
        cli("decode", source, "-o", tmp_path / "cli.png", "--force")
        decoded = (root / "decoded" / relative).with_suffix(".png")
        assert decoded.read_bytes() == (tmp_path / "cli.png").read_bytes(), relative
    again = processes["again"]
    assert again.returncode == 0 and reports["again"]["done"] == 0
    assert reports["again"]["skipped"] == len(names) - 1 and reports["again"]["ray_start_seconds"] == 0


def test_no_temporary_file_is_left(runs):
    root = runs[0]
    hidden = [p for p in root.rglob(".*") if p.is_file()]
    assert hidden == []


def test_metadata_is_carried_as_the_cli_carries_it(tmp_path):
    """A camera JPEG (EXIF orientation 6, an ICC profile, XMP) and a PNG with eXIf, iCCP and a
    compressed XMP iTXt: each file is the CLI's, with and without --strip-metadata."""
    cms = pytest.importorskip("PIL.ImageCms")
    icc = cms.ImageCmsProfile(cms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: what a camera writes for a portrait photo
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    image = picture(40, 30, 7)
    camera = tmp_path / "camera.jpg"
    jpeg = encoded(image, "JPEG", quality=90, exif=exif.tobytes(), icc_profile=icc)
    # Pillow writes no XMP into a JPEG: an APP1 XMP segment goes in after the SOI by hand.
    xmp_payload = b"http://ns.adobe.com/xap/1.0/\0" + xmp
    camera.write_bytes(jpeg[:2] + b"\xff\xe1" + (len(xmp_payload) + 2).to_bytes(2, "big") + xmp_payload + jpeg[2:])
    png = tmp_path / "scan.png"
    png.write_bytes(png_with_chunks(encoded(image, "PNG"), [
        (b"eXIf", exif.tobytes()[6:] if exif.tobytes().startswith(b"Exif\0\0") else exif.tobytes()),
        (b"iCCP", b"sRGB\0\0" + zlib.compress(icc)),
        (b"iTXt", b"XML:com.adobe.xmp\0\1\0\0\0" + zlib.compress(xmp)),
    ]))
    codec = {"quality": 75, "bpp": None, "profile": "fast", "mode": "auto"}
    for source in (camera, png):
        for strip in (False, True):
            ours, theirs = tmp_path / f"{source.stem}-{strip}.jpg", tmp_path / f"{source.stem}-{strip}.cli.jpg"
            ray_batch.encode_file(str(source), str(ours), codec, 1, False, strip)
            cli("encode", source, "-o", theirs, *(["--strip-metadata"] if strip else []))
            assert ours.read_bytes() == theirs.read_bytes(), (source.name, strip)
            kept = Image.open(ours)
            assert ("exif" in kept.info) != strip and kept.info.get("icc_profile") == icc, (source.name, strip)
            if not strip:
                assert kept.getexif()[0x0112] == 6


def png_with_chunks(png, chunks):
    """`png` with `chunks` (type, data) inserted after IHDR."""
    after_ihdr = 8 + 8 + 13 + 4
    extra = b"".join(len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
                     for kind, data in chunks)
    return png[:after_ihdr] + extra + png[after_ihdr:]


def test_an_unreadable_profile_is_refused_unless_stripped(tmp_path):
    image = picture(40, 30, 5)
    source = tmp_path / "broken-profile.png"
    source.write_bytes(png_with_chunks(encoded(image, "PNG"), [(b"iCCP", b"sRGB\0\0not a zlib stream")]))
    codec = {"quality": 75, "bpp": None, "profile": "fast", "mode": "half"}
    with pytest.raises(ValueError, match="iCCP chunk does not inflate"):
        ray_batch.encode_file(str(source), str(tmp_path / "kept.jpg"), codec, 1, False, False)
    assert not (tmp_path / "kept.jpg").exists()
    ray_batch.encode_file(str(source), str(tmp_path / "stripped.jpg"), codec, 1, False, True)
    cli("encode", source, "-o", tmp_path / "cli.jpg", "--mode", "half", "--strip-metadata")
    assert (tmp_path / "stripped.jpg").read_bytes() == (tmp_path / "cli.jpg").read_bytes()


def test_decoded_png_carries_the_files_metadata_as_the_cli_does(tmp_path):
    """EXIF and the ICC profile of a ComRec file that the CLI made from a camera JPEG go into the
    PNG; an RGB profile is left out of a grey PNG."""
    profile = pytest.importorskip("PIL.ImageCms")
    icc = profile.ImageCmsProfile(profile.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0112] = 6
    for name, image in (("colour", picture(50, 40, 3)), ("grey", picture(50, 40, 4)[:, :, 0])):
        (tmp_path / f"{name}.jpg").write_bytes(encoded(image, "JPEG", quality=90, exif=exif.tobytes(), icc_profile=icc))
        cli("encode", tmp_path / f"{name}.jpg", "-o", tmp_path / f"{name}.comrec.jpg")
        cli("decode", tmp_path / f"{name}.comrec.jpg", "-o", tmp_path / f"{name}.cli.png")
        ray_batch.decode_file(str(tmp_path / f"{name}.comrec.jpg"), str(tmp_path / f"{name}.png"), 1, False)
        assert (tmp_path / f"{name}.png").read_bytes() == (tmp_path / f"{name}.cli.png").read_bytes(), name


def test_an_arithmetic_coded_jpeg_is_refused_as_by_the_cli(tmp_path):
    cjpeg = shutil.which("cjpeg")
    if not cjpeg:
        pytest.skip("cjpeg (libjpeg-turbo-progs, scripts/setup.sh) makes the arithmetic-coded JPEG")
    image = picture(40, 30, 9)
    (tmp_path / "in.ppm").write_bytes(b"P6 40 30 255\n" + image.tobytes())
    data = subprocess.run([cjpeg, "-arithmetic", str(tmp_path / "in.ppm")], capture_output=True, check=True).stdout
    with pytest.raises(ValueError, match="arithmetic-coded"):
        ray_batch.read_image(data)
    (tmp_path / "arithmetic.jpg").write_bytes(data)
    assert subprocess.run([str(CLI), "encode", tmp_path / "arithmetic.jpg", "-o", tmp_path / "out.jpg"]).returncode == 1


@pytest.mark.parametrize("flags, codec", [
    (["--mode", "half", "--quality", "40"], {"quality": 40, "bpp": None, "profile": "fast", "mode": "half"}),
    (["--bpp", "0.8"], {"quality": 75, "bpp": 0.8, "profile": "fast", "mode": "auto"}),
    (["--profile", "bicubic", "--mode", "half"], {"quality": 75, "bpp": None, "profile": "bicubic", "mode": "half"}),
])
def test_options_map_onto_the_clis(tmp_path, flags, codec):
    source = tmp_path / "in.png"
    source.write_bytes(encoded(picture(120, 80, 11), "PNG"))
    ray_batch.encode_file(str(source), str(tmp_path / "job.jpg"), codec, 2, False, False)
    cli("encode", source, "-o", tmp_path / "cli.jpg", *flags)
    assert (tmp_path / "job.jpg").read_bytes() == (tmp_path / "cli.jpg").read_bytes()


def test_an_output_that_exists_is_kept_without_overwrite(tmp_path):
    target = tmp_path / "out.jpg"
    target.write_bytes(b"earlier")
    with pytest.raises(FileExistsError, match="--overwrite"):
        ray_batch.write_atomically(str(target), b"new", False, str(tmp_path / "in.png"))
    assert target.read_bytes() == b"earlier"
    ray_batch.write_atomically(str(target), b"new", True, str(tmp_path / "in.png"))
    assert target.read_bytes() == b"new" and sorted(p.name for p in tmp_path.iterdir()) == ["out.jpg"]


def test_outputs_that_would_collide_fail_in_the_plan(tmp_path):
    (tmp_path / "in").mkdir()
    for name in ("a.png", "a.jpg", "b.ppm"):
        (tmp_path / "in" / name).write_bytes(b"")
    jobs, skipped, failures = ray_batch.plan("encode", str(tmp_path / "in"), str(tmp_path / "out"), False)
    assert [Path(j["source"]).name for j in jobs] == ["a.jpg", "b.ppm"] and skipped == 0
    assert len(failures) == 1 and failures[0][0].endswith("a.png") and "also the output of" in failures[0][1]
