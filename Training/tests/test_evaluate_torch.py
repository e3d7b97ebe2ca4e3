"""evaluate.py end to end on two small synthetic PNGs with a tiny checkpoint and its export."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from comrec_train import evaluate, export, jpeg, metrics, resample  # noqa: E402
from conftest import make_checkpoint, synthetic_image  # noqa: E402

pytestmark = pytest.mark.torch


def write_pngs(folder, sizes):
    from PIL import Image
    folder.mkdir()
    images = []
    for k, (h, w) in enumerate(sizes):
        img = synthetic_image(h, w, seed=20 + k)
        Image.fromarray(img).save(folder / f"img{k}.png")
        images.append(img)
    return images


def test_end_to_end(tmp_path):
    # One even and one odd size, both large enough for 5-scale MS-SSIM (>= 161).
    images = write_pngs(tmp_path / "pngs", [(168, 176), (163, 171)])
    ckpt = make_checkpoint(tmp_path / "fast.pt", "fast", seed=3)
    export.export(str(ckpt), "best", str(tmp_path / "W"))
    out = tmp_path / "eval.json"
    evaluate.main([str(tmp_path / "pngs"), "--checkpoint", str(ckpt), "--profile", "fast",
                   "--weights", "best", "ablation", "--exported", str(tmp_path / "W"),
                   "--jpeg-qualities", "5,20,50", "--half-qualities", "20,60,90",
                   "--json", str(out), "--threads", "1"])
    result = json.loads(out.read_text())
    names = {"jpeg", "bicubic", "fast-best", "fast-ablation", "fast-exported"}
    assert result["images"] == 2 and set(result["curves"]) == names
    assert set(result["bd"]) == names and set(result["bd_bjontegaard"]) == names
    for name, curve in result["curves"].items():
        assert [p["q"] for p in curve] == ([5, 20, 50] if name == "jpeg" else [20, 60, 90])
        for p in curve:
            assert set(p) == {"q", "bpp", "psnr", "ms_ssim"}
            assert p["bpp"] > 0 and 10 < p["psnr"] < 60 and 0 < p["ms_ssim"] <= 1
        assert np.all(np.diff([p["bpp"] for p in curve]) > 0)
    for row in result["bd"].values():
        assert set(row) == {"bd_rate_vs_jpeg", "bd_psnr_vs_jpeg", "bd_rate_vs_bicubic"}
    assert result["bd"]["jpeg"]["bd_rate_vs_jpeg"] in (0.0, None)

    # The bicubic point recomputed by hand: JPEG of the /2 image plus the ComRec segment.
    assert result["segment_bytes"]["bicubic"] == 37 and result["segment_bytes"]["fast-best"] == 34
    bpp = np.mean([(len(jpeg.encode(resample.downsample2x(i), 60)) + 37)
                   * 8 / (i.shape[0] * i.shape[1]) for i in images])
    psnr = np.mean([metrics.psnr(resample.upsample2x(jpeg.decode(jpeg.encode(resample.downsample2x(i), 60)),
                                                     i.shape[0], i.shape[1]), i) for i in images])
    point = result["curves"]["bicubic"][1]
    assert point["bpp"] == pytest.approx(bpp) and point["psnr"] == pytest.approx(psnr)

    # The exported float networks reproduce the checkpoint's curve.
    for a, b in zip(result["curves"]["fast-best"], result["curves"]["fast-exported"]):
        assert a["bpp"] == pytest.approx(b["bpp"], rel=0.01)
        assert a["psnr"] == pytest.approx(b["psnr"], abs=0.05)
    assert result["sources"]["fast-best"]["step"] == 20


def test_small_images_limit_and_no_msssim(tmp_path):
    write_pngs(tmp_path / "pngs", [(40, 48), (33, 27), (16, 16)])
    out = tmp_path / "eval.json"
    evaluate.main([str(tmp_path / "pngs"), "--limit", "2", "--jpeg-qualities", "10,50",
                   "--half-qualities", "30,90", "--json", str(out)])
    result = json.loads(out.read_text())
    assert result["images"] == 2 and set(result["curves"]) == {"jpeg", "bicubic"}
    assert all(p["ms_ssim"] is None for c in result["curves"].values() for p in c)
