"""Training crops from ../shared/datasets/train, and a fixed development set held out of it.

Validation images (../shared/datasets/val) are never read here: they are for reported figures.
Checkpoints are chosen on the development set: a few training images held out of training.
"""
import os
import numpy as np
from PIL import Image

DEFAULT_ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "datasets")
DEV_COUNT = 12  # cbsd432 images (the last in sorted order) held out for checkpoint selection


def dataset_root(root=None):
    root = os.path.abspath(root or os.environ.get("COMREC_DATASETS", DEFAULT_ROOT))
    if not os.path.isdir(os.path.join(root, "train")):
        raise SystemExit(f"datasets not found at {root}: expected ../shared/datasets beside the "
                         "repository, or set COMREC_DATASETS")
    return root


def _load(path):
    return np.asarray(Image.open(path).convert("RGB"))


def _list(folder):
    return sorted(os.path.join(folder, f) for f in os.listdir(folder)
                  if f.lower().endswith((".png", ".jpg", ".jpeg")))


TRAIN_SETS = ("cbsd432", "wikipedia")


def load_train_and_dev(root=None, sets=TRAIN_SETS):
    """(training images, development crops). `sets` names the folders of train/ to train on (a
    config's "train_sets"); the development set always comes from cbsd432, which must be there."""
    root = dataset_root(root)
    unknown = sorted(set(sets) - set(TRAIN_SETS))
    if unknown or "cbsd432" not in sets:
        raise SystemExit(f"train_sets must include cbsd432 and name only {list(TRAIN_SETS)}, not {list(sets)}")
    bsd = _list(os.path.join(root, "train", "cbsd432"))
    extra = [p for s in sets if s != "cbsd432" for p in _list(os.path.join(root, "train", s))]
    train = [_load(p) for p in bsd[:-DEV_COUNT] + extra]
    dev = []
    for p in bsd[-DEV_COUNT:]:
        img = _load(p)
        h, w = img.shape[:2]
        y, x = (h - 192) // 2, (w - 192) // 2
        dev.append(np.ascontiguousarray(img[y:y + 192, x:x + 192]))
    return train, dev


class CropSampler:
    """Random crops (probability proportional to image area), flips and 90-degree rotations."""

    def __init__(self, images, size, seed):
        self.images = images
        self.size = size
        self.rng = np.random.default_rng(seed)
        areas = np.array([i.shape[0] * i.shape[1] for i in images], np.float64)
        self.p = areas / areas.sum()

    def batch(self, n):
        out = np.empty((n, self.size, self.size, 3), np.uint8)
        for k in range(n):
            img = self.images[self.rng.choice(len(self.images), p=self.p)]
            h, w = img.shape[:2]
            y = self.rng.integers(0, h - self.size + 1)
            x = self.rng.integers(0, w - self.size + 1)
            c = img[y:y + self.size, x:x + self.size]
            if self.rng.integers(2):
                c = c[:, ::-1]
            c = np.rot90(c, self.rng.integers(4))
            out[k] = c
        return out

    def state(self):
        return self.rng.bit_generator.state

    def set_state(self, s):
        self.rng.bit_generator.state = s
