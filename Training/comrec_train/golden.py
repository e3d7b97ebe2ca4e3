"""Golden vectors of the int8 networks: what the numpy integer reference (intref.py) makes of a few
synthetic images, as SHA-256 hashes that the Swift runtime must reproduce bit for bit.

    python -m comrec_train.golden Fixtures/models/test-paper [...]   # writes Fixtures/golden/<profile>.json
    python -m comrec_train.golden --check Fixtures/models/test-*     # exit 1 if a file differs
    python -m comrec_train.golden ../Weights/paper --out ../Fixtures/golden

For each case (sizes chosen to include 1 x 1, odd and thin images):
- compact: the compact image of synthetic_image(width, height, image_seed), made by ComCNN
  (intref.comcnn) or by the 2x2 average, as the encoder makes it;
- reconstructed: RecCNN's output (intref.reccnn_paper / reccnn_fast) for a synthetic "decoded"
  compact image synthetic_image(ceil(width/2), ceil(height/2), decoded_seed), cropped to
  width x height. No JPEG is involved, so the hashes do not depend on a libjpeg version.
Hashes are over the raw RGB bytes, rows top to bottom, no header.

A full-resolution model folder (config "mode": "full", one network `enhance`) gets, per
case, `enhanced_sha256`: the enhancer's output (intref.enhancer_paper / enhancer_fast) for a
synthetic decoded full-resolution image synthetic_image(width, height, decoded_seed). Its file is
named <profile>-full.json and goes by default to Fixtures/golden/full/ (apart from
Fixtures/golden/*.json, which the Swift golden tests and scripts/qemu-models.sh take as
half-resolution profiles; Tests/ComRecModelsTests/EnhancerGoldenTests.swift reads full/).

synthetic_image is integer arithmetic only, so that Swift (Tests/ComRecTestModels/
SyntheticImage.swift) and the Embedded qemu check compute the same pixels.
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np

from . import intref, resample

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
GOLDEN = os.path.join(REPO, "Fixtures", "golden")
GOLDEN_FULL = os.path.join(GOLDEN, "full")  # enhancers (full-resolution mode)

# (width, height, image_seed, decoded_seed). Small: the Swift tests run them in debug builds on
# every kernel family, thread count and tile height.
CASES = [(1, 1, 1, 101), (7, 5, 2, 102), (33, 17, 3, 103), (24, 40, 4, 104), (3, 29, 5, 105)]


def synthetic_image(width, height, seed):
    """uint8 (height, width, 3): a diagonal colour ramp, blocky edges and hashed noise.

    pixel(x, y, c) = clamp(ramp + block + noise - 32, 0, 255) with
      ramp  = (x * 255 // max(width - 1, 1) * (c + 1) + y * 255 // max(height - 1, 1) * (3 - c)) // 4
      block = 96 if (x // 5 + y // 7 + seed) % 3 == 0 else 0
      noise = h & 63, h = mix32((x * 73856093) ^ (y * 19349663) ^ ((c + 3 * seed) * 83492791))
      mix32(v) = v ^= v >> 13; v = v * 1274126177 (mod 2^32); v ^= v >> 16
    all in unsigned 32-bit arithmetic."""
    y, x, c = np.meshgrid(np.arange(height, dtype=np.uint64), np.arange(width, dtype=np.uint64),
                          np.arange(3, dtype=np.uint64), indexing="ij")
    mask = np.uint64(0xFFFFFFFF)
    h = ((x * np.uint64(73856093)) & mask) ^ ((y * np.uint64(19349663)) & mask) \
        ^ (((c + np.uint64(3 * seed)) * np.uint64(83492791)) & mask)
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(1274126177)) & mask
    h ^= h >> np.uint64(16)
    xi, yi, ci = x.astype(np.int64), y.astype(np.int64), c.astype(np.int64)
    ramp = (xi * 255 // max(width - 1, 1) * (ci + 1) + yi * 255 // max(height - 1, 1) * (3 - ci)) // 4
    block = np.where((xi // 5 + yi // 7 + seed) % 3 == 0, 96, 0)
    value = ramp + block + (h & np.uint64(63)).astype(np.int64) - 32
    return np.clip(value, 0, 255).astype(np.uint8)


def sha256(image):
    return hashlib.sha256(np.ascontiguousarray(image, np.uint8).tobytes()).hexdigest()


def compact_image(config, nets, image):
    if config["compact"] == "comcnn":
        return intref.comcnn(image, nets["com"])
    return resample.average2x2(image)


def reconstruct(config, nets, decoded, height, width):
    wiring = "fast" if config["networks"]["rec"]["reads"] == "decoded" else "paper"
    return intref.RECCNN[wiring](decoded, nets["rec"], height, width)


def is_full(config):
    return config.get("mode") == "full"


def golden_name(config):
    """File name (without .json) of a model's golden vectors: the profile, plus -full for an
    enhancer."""
    return config["profile"] + ("-full" if is_full(config) else "")


def enhance(config, nets, decoded):
    wiring = intref.enhancer_wiring(config["networks"]["enhance"])
    return intref.ENHANCER[wiring](decoded, nets["enhance"])


def golden(folder, cases=CASES):
    """The golden-vector document of the model folder `folder`."""
    from .make_test_model import load_model
    config, nets = load_model(folder)
    with open(os.path.join(folder, "int8.safetensors"), "rb") as fh:
        weights_sha = hashlib.sha256(fh.read()).hexdigest()
    if is_full(config):
        out = []
        for width, height, _, decoded_seed in cases:
            decoded = synthetic_image(width, height, decoded_seed)
            enhanced = enhance(config, nets, decoded)
            assert enhanced.shape == (height, width, 3)
            out.append({"width": width, "height": height, "decoded_seed": decoded_seed,
                        "enhanced_sha256": sha256(enhanced)})
        return {
            "profile": config["profile"],
            "mode": "full",
            "about": "SHA-256 of the numpy integer reference's enhancer outputs on synthetic decoded "
                     "images; see Training/comrec_train/golden.py and docs/training.md",
            "int8_safetensors_sha256": weights_sha,
            "cases": out,
        }
    out = []
    for width, height, image_seed, decoded_seed in cases:
        image = synthetic_image(width, height, image_seed)
        compact = compact_image(config, nets, image)
        assert compact.shape == ((height + 1) // 2, (width + 1) // 2, 3)
        decoded = synthetic_image((width + 1) // 2, (height + 1) // 2, decoded_seed)
        rebuilt = reconstruct(config, nets, decoded, height, width)
        out.append({"width": width, "height": height, "image_seed": image_seed, "decoded_seed": decoded_seed,
                    "compact_sha256": sha256(compact), "reconstructed_sha256": sha256(rebuilt)})
    return {
        "profile": config["profile"],
        "about": "SHA-256 of the numpy integer reference's outputs; see Training/comrec_train/golden.py "
                 "and docs/models.md",
        "int8_safetensors_sha256": weights_sha,
        "cases": out,
    }


def render(doc):
    return json.dumps(doc, indent=2) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folders", nargs="+", help="model folders (config.json + int8.safetensors)")
    p.add_argument("--out", default=None,
                   help="output folder (default Fixtures/golden, Fixtures/golden/full for enhancers)")
    p.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on a difference")
    args = p.parse_args(argv)
    stale = []
    for folder in args.folders:
        doc = golden(folder)
        out_dir = args.out or (GOLDEN_FULL if doc.get("mode") == "full" else GOLDEN)
        path = os.path.join(out_dir, golden_name(doc) + ".json")
        text = render(doc)
        if args.check:
            if not os.path.exists(path) or open(path).read() != text:
                stale.append(path)
            continue
        os.makedirs(out_dir, exist_ok=True)
        with open(path, "w") as fh:
            fh.write(text)
        print(f"wrote {path}", file=sys.stderr)
    if stale:
        print("golden vectors differ from the reference (rerun golden.py, see docs/models.md): "
              + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
