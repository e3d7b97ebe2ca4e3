"""The synthetic test models (make_test_model.py) and golden vectors (golden.py): the committed
fixtures are exactly what the scripts make, and the safetensors writer writes real safetensors.
numpy only (CI)."""
import json
import os

import numpy as np
import pytest

from comrec_train import golden, intref, make_test_model, resample

MODELS = os.path.join(make_test_model.REPO, "Fixtures", "models")
# Every committed test model folder: half-resolution (Fixtures/models/test-*) and enhancers
# (Fixtures/models/full/test-*-full).
FOLDERS = sorted(make_test_model.test_model_folders())
FOLDER_IDS = [os.path.basename(f) for f in FOLDERS]


def test_committed_models_are_current():
    assert make_test_model.main(["--check"]) == 0


def test_committed_golden_vectors_are_current():
    assert golden.main(["--check"] + FOLDERS) == 0


def test_enhancers_are_kept_apart_from_the_half_resolution_fixtures():
    """The Swift tests and scripts/qemu-models.sh take every Fixtures/models/test-* folder and every
    Fixtures/golden/*.json as a half-resolution profile: no enhancer may be there (they are in
    the full/ subfolders)."""
    for name in os.listdir(MODELS):
        if name.startswith("test-"):
            assert json.load(open(os.path.join(MODELS, name, "config.json"))).get("mode") != "full", name
    for name in os.listdir(golden.GOLDEN):
        if name.endswith(".json"):
            assert json.load(open(os.path.join(golden.GOLDEN, name))).get("mode") != "full", name
    # full/ holds the test enhancers' golden files and the shipped enhancers' (<profile>-full.json),
    # all of mode full.
    full = sorted(os.listdir(golden.GOLDEN_FULL))
    assert set(n + ".json" for n in make_test_model.TEST_ENHANCERS) <= set(full)
    for name in full:
        assert name.endswith("-full.json"), name
        assert json.load(open(os.path.join(golden.GOLDEN_FULL, name))).get("mode") == "full", name


def test_safetensors_round_trip(tmp_path):
    tensors = {"b.weight": np.arange(-6, 6, dtype=np.int8).reshape(2, 3, 2),
               "a.bias": np.array([-(2 ** 31), 7, 2 ** 31 - 1], np.int32),
               "a.multiplier": np.array([0.5, 1e-7, -3.25], np.float32)}
    path = tmp_path / "t.safetensors"
    make_test_model.write_safetensors(path, tensors, {"format": "x"})
    raw = path.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    assert size % 8 == 0 and json.loads(raw[8:8 + size])["__metadata__"] == {"format": "x"}
    back = make_test_model.read_safetensors(path)
    assert sorted(back) == sorted(tensors)
    for name, a in tensors.items():
        assert back[name].dtype == a.dtype and np.array_equal(back[name], a)


def test_safetensors_package_reads_our_files():
    numpy_loader = pytest.importorskip("safetensors.numpy")
    for folder in FOLDERS:
        path = os.path.join(folder, "int8.safetensors")
        theirs, ours = numpy_loader.load_file(path), make_test_model.read_safetensors(path)
        assert sorted(theirs) == sorted(ours)
        for key in theirs:
            assert theirs[key].dtype == ours[key].dtype and np.array_equal(theirs[key], ours[key])


@pytest.mark.parametrize("folder", FOLDERS, ids=FOLDER_IDS)
def test_models_have_the_exported_format(folder):
    config, nets = make_test_model.load_model(folder)
    assert golden.golden_name(config) == os.path.basename(folder) and config["format"] == "comrec-float-weights"
    for net, spec in config["networks"].items():
        layers = spec["layers"]
        assert layers[0]["cin"] == 3
        for i, (l, q) in enumerate(zip(layers, nets[net])):
            assert l["name"] == f"{net}.{i}"
            assert q["weight"].dtype == np.int8 and q["weight"].shape == (l["cout"], 3, 3, l["cin"])
            assert q["weight"].min() >= -127
            assert q["bias"].dtype == np.int32 and q["bias"].shape == (l["cout"],)
            assert q["multiplier"].dtype == np.float32 and q["multiplier"].shape == (l["cout"],)
            if i < len(layers) - 1:
                assert l["cout"] % 16 == 0 and l["activation"] == "relu"
                assert layers[i + 1]["cin"] == l["cout"]
        assert layers[-1]["cout"] == 3 * spec["pixel_shuffle"] ** 2
    assert ("com" in config["networks"]) == (config["compact"] == "comcnn")
    if config.get("mode") == "full":
        assert list(config["networks"]) == ["enhance"] and config["compact"] == "none"
        spec = config["networks"]["enhance"]
        assert spec["reads"] == spec["residual_added_to"] == "image"
        strides = [l["stride"] for l in spec["layers"]]
        assert strides == [spec["pixel_shuffle"]] + [1] * (len(strides) - 1)


@pytest.mark.parametrize("folder", FOLDERS, ids=FOLDER_IDS)
def test_hidden_activations_are_spread(folder):
    """Random weights with calibrated multipliers: neither dead nor saturated, so that every layer
    changes the golden hashes."""
    config, nets = make_test_model.load_model(folder)
    image = golden.synthetic_image(33, 17, 3)
    for net, layers in nets.items():
        if layers is None:
            continue
        reads = config["networks"][net]["reads"]
        x = {"image": intref.pad_to_even(image), "decoded": resample.average2x2(image),
             "upsampled": image}[reads]
        for layer in layers[:-1]:
            x = intref.conv_relu(x, layer, layer["stride"])
            assert 0.2 < (x == 0).mean() < 0.8 and (x == 127).mean() < 0.05
        res = intref.residual(x, layers[-1])
        assert 3 < res.std() < 40


def test_average2x2_profile_compact_is_the_average():
    config, nets = make_test_model.load_model(os.path.join(MODELS, "test-paper"))
    image = golden.synthetic_image(9, 6, 1)
    assert np.array_equal(golden.compact_image(config, nets, image), resample.average2x2(image))


def test_synthetic_image_is_pinned():
    """Literal values, repeated in the Swift port's test (Tests/ComRecModelsTests)."""
    image = golden.synthetic_image(13, 7, 9)
    assert image.shape == (7, 13, 3)
    assert list(image[0, 0]) == [64, 86, 84] and list(image[6, 12]) == [255, 239, 255]
    assert list(image[3, 5]) == [93, 95, 121]
    assert golden.sha256(image) == "15c7cf197bf290bcf9831633c0ec5d53b7ab29f38d732ab8def82f24dc052a2f"
    assert golden.synthetic_image(1, 1, 0).shape == (1, 1, 3)


def test_golden_cases_cover_odd_and_tiny_sizes():
    sizes = [(w, h) for w, h, _, _ in golden.CASES]
    assert (1, 1) in sizes
    assert any(w % 2 and h % 2 for w, h in sizes) and any(w % 2 == 0 and h % 2 == 0 for w, h in sizes)


@pytest.mark.parametrize("name", sorted(make_test_model.TEST_ENHANCERS))
def test_enhancer_golden_cases_change_the_image(name):
    config, nets = make_test_model.load_model(os.path.join(make_test_model.FIXTURES_FULL, name))
    doc = golden.golden(os.path.join(make_test_model.FIXTURES_FULL, name))
    assert doc["mode"] == "full" and [c["width"] for c in doc["cases"]] == [w for w, _, _, _ in golden.CASES]
    for c in doc["cases"]:
        decoded = golden.synthetic_image(c["width"], c["height"], c["decoded_seed"])
        out = golden.enhance(config, nets, decoded)
        assert out.shape == decoded.shape and golden.sha256(out) == c["enhanced_sha256"]
        if c["width"] * c["height"] > 1:
            assert not np.array_equal(out, decoded)
