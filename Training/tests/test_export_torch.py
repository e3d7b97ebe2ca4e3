"""export.py: BatchNorm and pixel-scale folding, and the exported folder read back."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from comrec_train import export, models, resample  # noqa: E402
from comrec_train.codec import ExportedCodec, ModelCodec  # noqa: E402
from conftest import make_checkpoint, randomise, synthetic_image  # noqa: E402

pytestmark = pytest.mark.torch
TOLERANCE = 1e-3  # pixels


def as_tensor(img):
    return torch.from_numpy(img.copy()).permute(2, 0, 1)[None].float()


def folded_outputs(config, tensors, img):
    """Float outputs of the exported networks: compact image (before rounding) and, fed with the
    same float compact image, the reconstruction (before rounding)."""
    x = as_tensor(img)
    compact = F.avg_pool2d(x, 2) + export.run_layers(config["networks"]["com"], tensors, x)
    rec = config["networks"]["rec"]
    up = models.upsample2x(compact)
    residual = export.run_layers(rec, tensors, compact if rec["reads"] == "decoded" else up)
    return compact, up + residual


@pytest.mark.parametrize("profile", ["fast", "paper", "tiny"])
def test_folded_networks_equal_the_torch_models(profile):
    com = randomise(models.ComCNN(), 1)
    rec = randomise(models.RECCNN[profile](), 2)
    config, tensors = export.export_config(profile, com, rec, source={})
    img = np.random.default_rng(3).integers(0, 256, (24, 28, 3), dtype=np.uint8)
    with torch.no_grad():
        compact, out = folded_outputs(config, tensors, img)
        ref_compact = com(as_tensor(img))
        ref_out = rec(ref_compact, models.upsample2x(ref_compact))
    assert (compact - ref_compact).abs().max().item() < TOLERANCE
    assert (out - ref_out).abs().max().item() < TOLERANCE
    # The BN layers really were non-trivial: folding them away changed the weights.
    assert any(layer["batchnorm_folded"] for layer in config["networks"]["rec"]["layers"])


def test_fold_layer_formula():
    conv = torch.nn.Conv2d(2, 3, 3, padding=1, bias=False)
    bn = randomise(torch.nn.Sequential(torch.nn.BatchNorm2d(3)), 4)[0]
    w, b = export.fold_layer(conv, bn)
    x = torch.randn(1, 2, 5, 6)
    with torch.no_grad():
        ref = bn(conv(x))
    got = F.conv2d(x.double(), torch.from_numpy(w), torch.from_numpy(b), padding=1)
    assert torch.allclose(got.float(), ref, atol=1e-5)


@pytest.mark.parametrize("profile", ["fast", "paper", "tiny"])
def test_macs_from_layers_match_models(profile):
    config, _ = export.export_config(profile, models.ComCNN(), models.RECCNN[profile](), source={})
    assert export.layer_macs(config["networks"]["rec"]) == models.macs_per_output_pixel(profile)
    # ComCNN's output is the compact image: per input pixel is a quarter of per output pixel.
    assert export.layer_macs(config["networks"]["com"]) / 4 == models.comcnn_macs_per_input_pixel()


def test_export_folder_round_trip(tmp_path):
    ckpt = make_checkpoint(tmp_path / "fast.pt", "fast", seed=5)
    validation = {"curves": {}, "bd": {}, "images": 0}
    (tmp_path / "eval.json").write_text(json.dumps(validation))
    out = tmp_path / "Weights" / "fast"
    export.main(["--checkpoint", str(ckpt), "--profile", "fast", "--weights", "best",
                 "--out", str(out), "--metrics", str(tmp_path / "eval.json"),
                 "--metrics", "cset5=" + str(tmp_path / "eval.json")])
    config, tensors = export.load_exported(out)
    layers = config["networks"]["com"]["layers"] + config["networks"]["rec"]["layers"]
    assert sorted(tensors) == sorted(n for l in layers for n in (l["name"] + ".weight", l["name"] + ".bias"))
    for layer in layers:
        assert tensors[layer["name"] + ".weight"].shape == (layer["cout"], layer["cin"], 3, 3)
        assert tensors[layer["name"] + ".weight"].dtype == np.float32
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["training"]["weights_step"] == 20  # the checkpoint's best, not its latest (30)
    assert metrics["dev"]["step"] == 20 and metrics["validation"] == {"eval": validation, "cset5": validation}
    assert metrics["training"]["wall_hours"] == pytest.approx(0.01)
    assert metrics["reccnn_macs_per_output_pixel"] == models.macs_per_output_pixel("fast")

    # Read back from safetensors, the folded networks give the torch models' outputs.
    _, _, com, rec, _ = export.load_checkpoint(str(ckpt), "best")
    img = synthetic_image(37, 29, seed=6)  # odd sizes: replicate-padded to 38 x 30
    with torch.no_grad():
        padded = np.pad(img, ((0, 1), (0, 1), (0, 0)), mode="edge")
        compact, out_img = folded_outputs(config, tensors, padded)
        ref_compact = com(as_tensor(padded))
        ref_out = rec(ref_compact, models.upsample2x(ref_compact))
    assert compact.shape[-2:] == (19, 15)
    assert (compact - ref_compact).abs().max().item() < TOLERANCE
    assert (out_img - ref_out).abs().max().item() < TOLERANCE

    # And through the uint8 codec paths: at most an occasional off-by-one where float noise
    # crosses a rounding boundary.
    exported, model = ExportedCodec(str(out)), ModelCodec(com, rec)
    c1, c2 = exported.compact(img), model.compact(img)
    assert c1.shape == (19, 15, 3) and np.abs(c1.astype(int) - c2).max() <= 1
    r1, r2 = exported.reconstruct(c2, 37, 29), model.reconstruct(c2, 37, 29)
    assert r1.shape == (37, 29, 3) and np.abs(r1.astype(int) - r2).max() <= 1


def test_export_ablation(tmp_path):
    ckpt = make_checkpoint(tmp_path / "fast.pt", "fast", seed=7)
    config, metrics, out = export.export(str(ckpt), "ablation", str(tmp_path / "abl"))
    assert config["compact"] == "average2x2" and "com" not in config["networks"]
    assert metrics["comcnn_macs_per_input_pixel"] == 0 and metrics["training"]["weights_step"] == 10
    codec = ExportedCodec(out)
    img = synthetic_image(21, 16, seed=8)
    assert np.array_equal(codec.compact(img), resample.average2x2(img))
    _, _, com, rec, _ = export.load_checkpoint(str(ckpt), "ablation")
    assert com is None
    decoded = resample.average2x2(img)
    diff = codec.reconstruct(decoded, 21, 16).astype(int) - ModelCodec(None, rec).reconstruct(decoded, 21, 16)
    assert np.abs(diff).max() <= 1


def test_wrong_profile_is_refused(tmp_path):
    ckpt = make_checkpoint(tmp_path / "fast.pt", "fast")
    with pytest.raises(SystemExit, match="fast"):
        export.load_checkpoint(str(ckpt), "best", profile="paper")
