"""Shared test helpers. numpy only at import time: the CI runs `pytest -m "not torch"` without
PyTorch, so anything that needs torch imports it inside the fixture that uses it."""
import os

import numpy as np
import pytest

TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def synthetic_image(h, w, seed=0):
    """A photo-like uint8 RGB test image made here (never copied from a data set): smooth colour
    gradients, hard-edged shapes, a fine texture and a little noise, so JPEG and the resamplers see
    flat areas, edges and detail."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.empty((h, w, 3))
    for c in range(3):
        a, b, p = rng.uniform(-1, 1, 3)
        img[..., c] = 128 + 60 * np.sin(a * x / 23 + b * y / 31 + 3 * p)
    for _ in range(6):  # rectangles and discs with sharp edges
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(4, max(6, min(h, w) / 4))
        mask = ((y - cy) ** 2 + (x - cx) ** 2 < r * r) if rng.integers(2) else \
            ((abs(y - cy) < r) & (abs(x - cx) < r / 2))
        img[mask] = rng.uniform(0, 255, 3)
    img += 12 * np.sin(x * 1.3 + y * 0.7)[..., None] * (x > w / 2)[..., None]  # texture
    img += rng.normal(0, 3, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


@pytest.fixture
def datasets_root():
    """../shared/datasets (or $COMREC_DATASETS); skips the test, visibly, when it is absent."""
    root = os.path.abspath(os.environ.get(
        "COMREC_DATASETS", os.path.join(TRAINING, "..", "..", "shared", "datasets")))
    if not os.path.isdir(os.path.join(root, "train")):
        pytest.skip(f"datasets not found at {root} (set COMREC_DATASETS to run this test)")
    return root


@pytest.fixture(scope="session")
def tiny_datasets(tmp_path_factory):
    """A made-up train/ tree for trainer tests: 14 synthetic images (12 become the development
    set)."""
    from PIL import Image
    root = tmp_path_factory.mktemp("datasets")
    bsd = root / "train" / "cbsd432"
    bsd.mkdir(parents=True)
    (root / "train" / "wikipedia").mkdir()
    for k in range(14):
        Image.fromarray(synthetic_image(200, 208, seed=k)).save(bsd / f"{k:03d}.png")
    return str(root)


def randomise(module, seed, scale=0.05):
    """Gives a freshly built model non-trivial weights and BatchNorm statistics: the models start
    with a zero last layer (output = base), which would make equivalence tests vacuous."""
    import torch
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if "last" in name:
                p.copy_(torch.randn(p.shape, generator=g) * scale)
        for m in module.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return module.eval()


def make_checkpoint(path, profile="fast", seed=0):
    """A train.py-shaped checkpoint (the keys evaluate.py and export.py read) with random models,
    without training: latest, best and ablation all differ."""
    import torch
    from comrec_train import models
    torch.manual_seed(seed)
    pairs = []
    for k in range(3):
        com = randomise(models.ComCNN(), seed + 10 * k)
        rec = randomise(models.RECCNN[profile](), seed + 10 * k + 1)
        pairs.append((com.state_dict(), rec.state_dict()))
    config = {"profile": profile, "seed": seed, "crop": 64, "batch": 4, "quality_range": [5, 90]}
    torch.save({
        "config": config, "step": 30, "elapsed": 36.0,
        "com": pairs[0][0], "rec": pairs[0][1],
        "best": {"score": -0.1, "step": 20, "dev": {"step": 20, "bd_rate_vs_jpeg": -0.1},
                 "com": pairs[1][0], "rec": pairs[1][1]},
        "ablation": {"step": 10, "dev": {"step": 10, "bd_rate_vs_jpeg": -0.05}, "rec": pairs[2][1]},
    }, path)
    return path


def pytest_collection_modifyitems(config, items):
    # Test modules named *_torch.py need PyTorch: mark them all, so that `pytest -m "not torch"`
    # deselects them even in files that do not set the marker themselves.
    for item in items:
        if item.path.name.endswith("_torch.py"):
            item.add_marker(pytest.mark.torch)
