"""The full-resolution enhancer: models, export, int8 (QAT forward == intref, the written
file reads back to the same pixels) and the trainer's resume."""
import json
import os
import signal

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from comrec_train import export, golden, intref, jpeg, models, qat, quantize, train_enhance  # noqa: E402
from comrec_train.make_test_model import load_model  # noqa: E402
from conftest import randomise, synthetic_image  # noqa: E402

pytestmark = pytest.mark.torch
TOLERANCE = 1e-3  # pixels
SIZES = [(1, 1), (7, 5), (16, 12), (17, 12), (23, 30)]


def as_tensor(img):
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float()


def small(profile, seed):
    """A randomised enhancer of the profile's wiring, 16 channels wide (fast tests)."""
    return randomise(models.make_enhancer(profile, width=16, middle=2), seed)


def make_enhancer_checkpoint(path, profile, seed=0, width=16, middle=2):
    """A train_enhance.py-shaped checkpoint with random models: latest and best differ."""
    torch.manual_seed(seed)
    nets = [randomise(models.make_enhancer(profile, width, middle), seed + k) for k in range(2)]
    config = {"profile": profile, "mode": "full", "name": f"{profile}-full", "seed": seed, "crop": 64,
              "batch": 4, "quality_range": [5, 95], "width": width, "middle": middle}
    torch.save({"kind": "enhancer", "config": config, "step": 30, "elapsed": 36.0,
                "enhance": nets[0].state_dict(),
                "best": {"score": -0.1, "step": 20, "dev": {"step": 20, "bd_rate_vs_jpeg": -0.1},
                         "enhance": nets[1].state_dict()}}, path)
    return path


# ---------------------------------------------------------------- models

@pytest.mark.parametrize("profile", ["fast", "paper"])
@pytest.mark.parametrize("h,w", SIZES)
def test_output_has_the_input_size(profile, h, w):
    net = small(profile, 1)
    with torch.no_grad():
        out = net(as_tensor(synthetic_image(h, w, seed=h)))
    assert out.shape == (1, 3, h, w)


@pytest.mark.parametrize("profile", ["fast", "paper"])
def test_a_fresh_enhancer_is_the_identity(profile):
    net = models.make_enhancer(profile).eval()
    for h, w in ((17, 12), (8, 8)):
        x = as_tensor(synthetic_image(h, w, seed=w))
        with torch.no_grad():
            assert torch.equal(net(x), x)


def test_macs():
    assert models.enhancer_macs_per_output_pixel("fast") == (9 * 3 * 64 + 10 * 9 * 64 * 64 + 9 * 64 * 12) / 4
    assert models.enhancer_macs_per_output_pixel("fast") <= 100_000
    assert models.enhancer_macs_per_output_pixel("paper") == models.macs_per_output_pixel("paper") == 667008
    # Board classes: `tiny` at most 25k MAC per output pixel, a quarter of `fast`'s budget.
    assert models.enhancer_macs_per_output_pixel("tiny") <= 25_000
    assert models.macs_per_output_pixel("tiny") == models.enhancer_macs_per_output_pixel("tiny")
    for profile in ("fast", "paper", "tiny"):
        config, _ = export.export_enhancer_config(profile, models.make_enhancer(profile), source={})
        assert export.layer_macs(config["networks"]["enhance"]) == models.enhancer_macs_per_output_pixel(profile)
        net = models.make_enhancer(profile)
        first = net.first
        assert first.stride == ((1, 1) if profile == "paper" else (2, 2)) and first.in_channels == 3
        assert len(net.middle) == {"fast": 10, "paper": 18, "tiny": 9}[profile]


# ---------------------------------------------------------------- export

def exported_output(config, tensors, img):
    """The folded float network on a uint8 image, before rounding: float 1 x 3 x H x W."""
    net = config["networks"]["enhance"]
    h, w = img.shape[:2]
    src = intref.pad_to_even(img) if net["pixel_shuffle"] > 1 else img
    res = export.run_layers(net, tensors, as_tensor(src))
    return as_tensor(img) + res[..., :h, :w]


@pytest.mark.parametrize("profile", ["fast", "paper"])
def test_folded_enhancer_equals_the_torch_model(profile):
    net = small(profile, 2)
    config, tensors = export.export_enhancer_config(profile, net, source={})
    assert config["mode"] == "full" and config["compact"] == "none" and list(config["networks"]) == ["enhance"]
    layers = config["networks"]["enhance"]["layers"]
    assert layers[0]["stride"] == (2 if profile == "fast" else 1) and layers[-1]["cout"] == (12 if profile == "fast" else 3)
    assert any(layer["batchnorm_folded"] for layer in layers)
    for h, w in SIZES:
        img = synthetic_image(h, w, seed=w)
        with torch.no_grad():
            assert (exported_output(config, tensors, img) - net(as_tensor(img))).abs().max().item() < TOLERANCE


def test_export_folder_round_trip(tmp_path):
    ckpt = make_enhancer_checkpoint(tmp_path / "fast-full.pt", "fast", seed=5)
    out = tmp_path / "Weights" / "fast-full"
    export.main(["--checkpoint", str(ckpt), "--profile", "fast", "--weights", "best", "--out", str(out)])
    config, tensors = export.load_exported(str(out))
    assert config["profile"] == "fast" and config["mode"] == "full"
    # The run's kind of JPEG travels with the weights, for qat to calibrate and judge on it.
    assert config["source"]["stored_jpeg"] == "libjpeg"
    assert jpeg.stored_roundtrip(config["source"]["stored_jpeg"], "fast") is jpeg.roundtrip
    with pytest.raises(SystemExit, match="unknown stored JPEG"):
        jpeg.stored_roundtrip("mozjpeg", "fast")
    spec = config["networks"]["enhance"]
    assert spec["reads"] == "image" and spec["residual_added_to"] == "image" and spec["pixel_shuffle"] == 2
    assert sorted(tensors) == sorted(n for l in spec["layers"] for n in (l["name"] + ".weight", l["name"] + ".bias"))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["training"]["weights_step"] == 20 and metrics["dev"]["step"] == 20
    assert metrics["enhancer_macs_per_output_pixel"] == models.enhancer_macs_per_output_pixel("fast", 16, 2)
    assert metrics["training"]["wall_hours"] == pytest.approx(0.01) and metrics["mode"] == "full"
    _, _, net, step = export.load_enhancer_checkpoint(str(ckpt), "best")
    assert step == 20
    img = synthetic_image(37, 29, seed=6)
    with torch.no_grad():
        assert (exported_output(config, tensors, img) - net(as_tensor(img))).abs().max().item() < TOLERANCE
    with pytest.raises(SystemExit, match="latest and best"):
        export.load_enhancer_checkpoint(str(ckpt), "ablation")
    with pytest.raises(SystemExit, match="fast"):
        export.load_enhancer_checkpoint(str(ckpt), "best", profile="paper")


# ---------------------------------------------------------------- int8

def calibrated(profile, seed, width=16, middle=2):
    net = randomise(models.make_enhancer(profile, width, middle), seed)
    config, tensors = export.export_enhancer_config(profile, net, source={})
    decoded = np.stack([synthetic_image(32, 32, seed=s) for s in range(4)])
    return quantize.QuantEnhancer.calibrated(config, tensors, decoded)


@pytest.mark.parametrize("profile", ["fast", "paper"])
def test_qat_forward_is_the_integer_reference(profile):
    qe = calibrated(profile, 3)
    for h, w in SIZES:
        img = synthetic_image(h, w, seed=h + w)
        with torch.no_grad():
            got = qe.enhance_torch(as_tensor(img))[0].permute(1, 2, 0).numpy()
        want = qe.enhance(img)
        assert got.shape == img.shape and np.array_equal(got.astype(np.int64), want.astype(np.int64)), (h, w)
    assert not np.array_equal(want, img)


def test_qat_gradients_reach_the_float_weights():
    qe = calibrated("fast", 4)
    x = as_tensor(synthetic_image(16, 16, seed=1))
    loss = (qe.enhance_torch(x) / 255 - x / 255).pow(2).mean()
    loss.backward()
    assert all(c.weight.grad is not None and c.weight.grad.abs().sum() > 0 for c in qe.chain.convs)


@pytest.mark.parametrize("profile,width,middle", [("fast", None, None), ("paper", 16, 2)])
def test_int8_file_runs_as_the_quantised_enhancer(tmp_path, profile, width, middle):
    """What qat writes is what it measured: int8.safetensors read back as golden.py, the compiler
    and the runtime read it gives the in-memory quantised enhancer's pixels."""
    ckpt = make_enhancer_checkpoint(tmp_path / "e.pt", profile, seed=4, width=width, middle=middle)
    out = tmp_path / f"{profile}-full"
    export.export(str(ckpt), "best", out=str(out), profile=profile)
    config, tensors = export.load_exported(str(out))
    decoded = np.stack([synthetic_image(32, 32, seed=s) for s in range(4)])
    qe = quantize.QuantEnhancer.calibrated(config, tensors, decoded)
    qat.write_int8(qe, str(out), profile, mode="full")
    file_config, nets = load_model(str(out))
    assert sorted(nets) == ["com", "enhance"] and nets["com"] is None
    image = synthetic_image(23, 30, seed=9)
    want = qe.enhance(image)
    assert np.array_equal(golden.enhance(file_config, nets, image), want)
    assert not np.array_equal(want, image)
    doc = golden.golden(str(out))
    assert doc["mode"] == "full" and golden.golden_name(doc) == f"{profile}-full"
    assert golden.main([str(out), "--out", str(tmp_path / "golden")]) == 0
    assert (tmp_path / "golden" / f"{profile}-full.json").exists()


def make_second_pass_checkpoint(path, seed=0):
    """A checkpoint shaped as scripts/enhancer-architecture.py --refine writes it: a frozen first
    enhancer under `base.` and the trained second one under `refiner.`; latest and best differ."""
    torch.manual_seed(seed)
    pairs = []
    for k in range(2):
        base, refiner = small("fast", seed + 2 * k), small("fast", seed + 2 * k + 1)
        pairs.append({**{"base." + key: v for key, v in base.state_dict().items()},
                      **{"refiner." + key: v for key, v in refiner.state_dict().items()}})
    config = {"profile": "fast", "mode": "full", "name": "refine-warm-fast", "seed": seed, "crop": 64,
              "batch": 4, "quality_range": [5, 75], "width": 16, "middle": 2}
    torch.save({"kind": "enhancer", "config": config, "step": 30, "elapsed": 36.0, "enhance": pairs[0],
                "best": {"score": -0.1, "step": 20, "dev": {"step": 20}, "enhance": pairs[1]}}, path)
    part = lambda pair, prefix: {key[len(prefix):]: v for key, v in pair.items() if key.startswith(prefix)}
    return path, [part(pair, "refiner.") for pair in pairs], [part(pair, "base.") for pair in pairs]


def test_a_pair_trained_together_sees_what_the_frozen_pair_sees_and_teaches_both():
    """scripts/enhancer-architecture.py's Refined: with `joint` the same forward pass (the first
    enhancer's output rounded to 8 bits), and the gradient reaches the first enhancer through the
    rounding; without it only the second learns."""
    import importlib.util
    script = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "enhancer-architecture.py")
    spec = importlib.util.spec_from_file_location("enhancer_architecture", script)
    shapes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shapes)
    img = as_tensor(synthetic_image(20, 12, seed=5))
    outputs = {}
    for joint in (False, True):
        torch.manual_seed(3)  # the same convolution weights for both pairs
        pair = shapes.Refined(small("fast", 1), small("fast", 2), joint=joint).train()
        out = pair(img)
        outputs[joint] = out.detach()
        out.square().mean().backward()
        first = [p.grad for p in pair.base.parameters()]
        assert all(g is not None and g.abs().sum() > 0 for g in first) if joint else all(g is None for g in first)
        assert all(p.grad is not None for p in pair.refiner.parameters())
    assert torch.equal(outputs[False], outputs[True])


def export_first_pass(path, state, out):
    """Exports the enhancer `state` (a second-pass checkpoint's base) as a plain enhancer folder."""
    config = {"profile": "fast", "mode": "full", "name": "fast-full", "seed": 0, "crop": 64, "batch": 4,
              "quality_range": [5, 75], "width": 16, "middle": 2}
    torch.save({"kind": "enhancer", "config": config, "step": 1, "elapsed": 1.0, "enhance": state, "best": None}, path)
    export.main(["--checkpoint", str(path), "--weights", "latest", "--out", str(out)])


def test_a_second_pass_exports_its_second_enhancer_alone(tmp_path):
    ckpt, refiners, bases = make_second_pass_checkpoint(tmp_path / "refine.pt", seed=8)
    weights = tmp_path / "Weights"
    out = weights / "fast-second-full"
    with pytest.raises(SystemExit, match="--second-pass-of"):
        export.main(["--checkpoint", str(ckpt), "--weights", "latest", "--out", str(out)])
    second = ["--checkpoint", str(ckpt), "--weights", "latest", "--out", str(out), "--name", "fast-second"]
    with pytest.raises(SystemExit, match="no exported enhancer"):
        export.main(second + ["--second-pass-of", "fast-first-full"])
    # The first enhancer of the best state is not the latest one's: refused as the wrong folder.
    export_first_pass(tmp_path / "other.pt", bases[1], weights / "fast-other-full")
    with pytest.raises(SystemExit, match="not the one exported to"):
        export.main(second + ["--second-pass-of", "fast-other-full"])
    with pytest.raises(SystemExit):
        export.main(second[:-1] + ["Fast Second", "--second-pass-of", "fast-other-full"])
    export_first_pass(tmp_path / "first.pt", bases[0], weights / "fast-first-full")
    export.main(second + ["--second-pass-of", "fast-first-full"])
    config, tensors = export.load_exported(str(out))
    assert config["profile"] == "fast-second" and config["second_pass_of"] == "fast-first-full"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["profile"] == "fast-second" and metrics["training"]["weights_step"] == 30
    net = models.make_enhancer("fast", 16, 2)
    net.load_state_dict(refiners[0])  # latest: the refiner, not the frozen base
    net.eval()
    img = synthetic_image(21, 14, seed=2)
    with torch.no_grad():
        assert (exported_output(config, tensors, img) - net(as_tensor(img))).abs().max().item() < TOLERANCE
    plain = make_enhancer_checkpoint(tmp_path / "plain.pt", "fast", seed=1)
    with pytest.raises(SystemExit, match="not a second-pass checkpoint"):
        export.main(["--checkpoint", str(plain), "--out", str(tmp_path / "x"), "--second-pass-of", "fast-first-full"])


def test_a_second_pass_is_quantised_on_the_first_ones_int8_output(tmp_path):
    """QuantEnhancer.exported runs a written int8 enhancer as intref does, and qat's second pass
    reads that enhancer's output of each JPEG."""
    ckpt = make_enhancer_checkpoint(tmp_path / "e.pt", "fast", seed=4)
    first = tmp_path / "first-full"
    export.export(str(ckpt), "best", out=str(first), profile="fast")
    config, tensors = export.load_exported(str(first))
    decoded = np.stack([synthetic_image(32, 32, seed=s) for s in range(4)])
    qe = quantize.QuantEnhancer.calibrated(config, tensors, decoded)
    qat.write_int8(qe, str(first), "fast", mode="full")
    frozen = quantize.QuantEnhancer.exported(str(first))
    for h, w in SIZES:
        img = synthetic_image(h, w, seed=h * w)
        assert np.array_equal(frozen.enhance_fast(img), qe.enhance(img)), (h, w)
    image = synthetic_image(48, 40, seed=3)
    restored = qat.after_first_pass(jpeg.roundtrip, str(first), image, 30)
    got, size = restored(image, 30)
    decoded, want_size = jpeg.roundtrip(image, 30)
    assert size == want_size and np.array_equal(got, qe.enhance(decoded)) and not np.array_equal(got, decoded)
    with pytest.raises(SystemExit, match="no model folder"):
        qat.after_first_pass(jpeg.roundtrip, str(tmp_path / "nowhere"), image, 30)
    os.remove(first / "int8.safetensors")
    with pytest.raises(SystemExit, match="not quantised yet"):
        qat.after_first_pass(jpeg.roundtrip, str(first), image, 30)


# ---------------------------------------------------------------- trainer

def tiny_config(**extra):
    cfg = {"profile": "fast", "mode": "full", "name": "tiny-full", "seed": 3, "crop": 32, "batch": 2,
           "quality_range": [5, 95], "lr": 0.001, "bf16": False, "width": 16, "middle": 2,
           "total_steps": 6, "total_hours": 1, "log_every": 2, "dev_every_minutes": 1000,
           "checkpoint_every_minutes": 1000, "dev_qualities": [10, 30, 75]}
    cfg.update(extra)
    return cfg




def make_trainer(cfg, root, tmp):
    return train_enhance.EnhanceTrainer(dict(cfg, datasets=root), "cpu", os.path.join(tmp, "runs"),
                                        os.path.join(tmp, "ckpt"))


def test_config_is_checked():
    with pytest.raises(SystemExit, match="multiple of 16"):
        train_enhance.check_config(tiny_config(crop=40))
    with pytest.raises(SystemExit, match="profile"):
        train_enhance.check_config(tiny_config(profile="slow"))
    for name in ("fast-full", "paper-full", "tiny-full"):
        with open(os.path.join(train_enhance.TRAINING, "configs", name + ".json")) as fh:
            cfg = json.load(fh)
        train_enhance.check_config(cfg)
        assert train_enhance.run_name(cfg) == name and cfg["quality_range"] == [5, 75]


def test_resume_matches_an_uninterrupted_run(tiny_datasets, tmp_path):
    torch.set_num_threads(1)
    cfg = tiny_config()
    whole = make_trainer(cfg, tiny_datasets, str(tmp_path / "whole"))
    whole.run(hours=1)
    assert whole.step == cfg["total_steps"]

    first = make_trainer(cfg, tiny_datasets, str(tmp_path / "cut"))
    first.run(hours=1, steps=4)
    resumed = make_trainer(cfg, tiny_datasets, str(tmp_path / "cut"))
    assert resumed.step == 4
    resumed.run(hours=1)
    a, b = whole.net.state_dict(), resumed.net.state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), f"enhance.{k} differs after resuming"
    assert any(not torch.equal(v, models.make_enhancer("fast", 16, 2).state_dict()[k])
               for k, v in a.items() if "last" in k), "the enhancer trained"

    # The end of the run is judged on the development set, and the result is the best so far.
    lines = open(tmp_path / "whole" / "ckpt" / "tiny-full-dev.jsonl").read().splitlines()
    assert len(lines) == 1
    dev = json.loads(lines[0])
    assert [r["q"] for r in dev["qualities"]] == cfg["dev_qualities"] and dev["step"] == 6
    bpps = [r["bpp"] for r in dev["qualities"]]
    assert dev["bd_range_bpp"] == [min(bpps), max(bpps)]
    for r in dev["qualities"]:
        assert r["gain_db"] == pytest.approx(r["psnr_enhanced"] - r["psnr_jpeg"])
    assert whole.best is not None and whole.best["step"] == 6 and whole.best["score"] == dev["bd_rate_vs_jpeg"]
    assert open(tmp_path / "whole" / "runs" / "train.log").read().count("dev step 6") == 1

    # And the checkpoint exports.
    config, metrics, out = export.export(str(tmp_path / "whole" / "ckpt" / "tiny-full.pt"), "best",
                                         out=str(tmp_path / "exported"))
    assert metrics["training"]["checkpoint_step"] == 6 and metrics["dev"]["step"] == 6
    assert config["networks"]["enhance"]["pixel_shuffle"] == 2


def test_a_fine_tune_starts_from_the_best_weights_and_judges_them_first(tiny_datasets, tmp_path):
    torch.set_num_threads(1)
    cfg = tiny_config()
    source = make_trainer(cfg, tiny_datasets, str(tmp_path / "source"))
    source.run(hours=1)
    best = source.best["enhance"]
    tune = dict(cfg, name="tuned", init_from=str(tmp_path / "source" / "ckpt" / "tiny-full.pt"), total_steps=2)
    tuned = make_trainer(tune, tiny_datasets, str(tmp_path / "tuned"))
    assert tuned.step == 0 and tuned.best is None
    for k, v in tuned.net.state_dict().items():
        assert torch.equal(v, best[k]), f"enhance.{k} is not the source's best"
    tuned.run(hours=1)
    steps = [json.loads(line)["step"] for line in open(tmp_path / "tuned" / "ckpt" / "tuned-dev.jsonl")]
    assert steps == [0, 2], "the starting weights are judged before training, the end after it"


def test_the_round_trip_threads_do_not_change_the_batches(tiny_datasets, tmp_path):
    batches = []
    for threads in (1, 3):
        torch.set_num_threads(threads)
        t = make_trainer(tiny_config(batch=5), tiny_datasets, str(tmp_path / f"threads-{threads}"))
        batches.append([t.batch() for _ in range(2)])
    torch.set_num_threads(1)
    for (crops1, dec1), (crops3, dec3) in zip(*batches):
        assert np.array_equal(crops1, crops3) and np.array_equal(dec1, dec3)


def test_judge_at_stop_judges_the_end_of_an_invocation(tiny_datasets, tmp_path):
    torch.set_num_threads(1)
    cfg = tiny_config()
    t = make_trainer(cfg, tiny_datasets, str(tmp_path / "plain"))
    t.run(hours=1, steps=2)
    assert not os.path.exists(tmp_path / "plain" / "ckpt" / "tiny-full-dev.jsonl"), "mid-run stops are not judged"
    t = make_trainer(cfg, tiny_datasets, str(tmp_path / "judged"))
    t.run(hours=1, steps=2, judge_at_stop=True)
    steps = [json.loads(line)["step"] for line in open(tmp_path / "judged" / "ckpt" / "tiny-full-dev.jsonl")]
    assert steps == [2]
    assert t.best["step"] == 2


def test_a_fast_checkpoint_is_not_resumed_as_an_enhancer(tiny_datasets, tmp_path):
    os.makedirs(tmp_path / "ckpt")
    torch.save({"config": {"profile": "fast"}, "step": 1}, tmp_path / "ckpt" / "tiny-full.pt")
    with pytest.raises(SystemExit, match="not a fast enhancer"):
        make_trainer(tiny_config(), tiny_datasets, str(tmp_path))


def test_sigterm_stops_after_the_step_and_saves(tiny_datasets, tmp_path):
    torch.set_num_threads(1)
    cfg = tiny_config()
    t = make_trainer(cfg, tiny_datasets, str(tmp_path))
    real_step, calls = t.train_step, []

    def step_then_signal():
        out = real_step()
        calls.append(1)
        if len(calls) == 2:
            signal.raise_signal(signal.SIGINT)
        return out

    t.train_step = step_then_signal
    t.run(hours=1)
    assert t.step == 2
    assert make_trainer(cfg, tiny_datasets, str(tmp_path)).step == 2, "the checkpoint holds step 2"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
