"""Synthetic int8 models for tests and benchmarks: random weights, no training, numpy only.

    python -m comrec_train.make_test_model                  # rewrite Fixtures/models/test-*/ and full/test-*/
    python -m comrec_train.make_test_model --check          # exit 1 if they differ from this script
    python -m comrec_train.make_test_model --shape paper --out /tmp/paper-shape   # full-size shapes

Each model folder is what export.py + qat.py write for a trained profile, so the Swift code
generator (comrec-compile) and the golden vectors (golden.py) read it like real weights:
- config.json: export.py's layer list and wiring (format comrec-float-weights, version 1);
- int8.safetensors: qat.py's tensors `<net>.<i>.weight` int8 [cout][3][3][cin], `.bias` int32 in
  accumulator units, `.multiplier` float32, net = com | rec.
There is no model.safetensors (float weights): nothing here needs one.

Full-resolution enhancers (export.export_enhancer_config: "mode": "full", one network
`enhance`, tensors `enhance.<i>.*`) are made the same way: TEST_ENHANCERS, written to
Fixtures/models/full/ (apart from Fixtures/models/test-*, which the Swift tests take as the
compiled-in half-resolution test models).

The weights are random (np.random.RandomState, whose stream numpy keeps stable) but the
requantisation multipliers are calibrated on a synthetic image, so that hidden activations spread
over 0..127 instead of saturating and residuals stay a few grey levels: every layer then matters
to the output bytes, which is what makes a golden hash a test. safetensors is written by a small
writer below, byte for byte the same with or without the safetensors package.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

from . import golden, intref

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(REPO, "Fixtures", "models")

# The committed test models. Hidden widths are multiples of 16: a layer's output tensor holds its
# channels padded to 16 (Sources/ComRecKernels/Network/Packing.swift) and the next layer reads that
# tensor as is. test-paper: the paper wiring with the 2x2 average as compact image (the ablation
# path); test-fast: ComCNN and the fast (pixel shuffle) RecCNN, with 32 channels to span two
# 16-channel blocks.
TEST_MODELS = {
    "test-paper": {"compact": "average2x2", "rec": "paper", "rec_width": 16, "rec_middle": 2, "seed": 11},
    "test-fast": {"compact": "comcnn", "com_width": 16, "rec": "fast", "rec_width": 32, "rec_middle": 1,
                  "seed": 12},
}

# The shapes of the real profiles (models.py), for benchmarks: random weights, right sizes.
FULL_SHAPES = {
    "paper": {"compact": "comcnn", "com_width": 64, "rec": "paper", "rec_width": 64, "rec_middle": 18, "seed": 21},
    "fast": {"compact": "comcnn", "com_width": 64, "rec": "fast", "rec_width": 64, "rec_middle": 10, "seed": 22},
}

# Test enhancers (folder name: {spec}); profile is the test profile they belong to, as an exported
# enhancer's profile is `fast` or `paper`. test-fast-full: 3->16 stride 2, 16->16, 16->12 and a
# pixel shuffle; test-paper-full: 3->16, 16->16, 16->3 at full resolution.
FIXTURES_FULL = os.path.join(FIXTURES, "full")
TEST_ENHANCERS = {
    "test-fast-full": {"mode": "full", "profile": "test-fast", "wiring": "fast", "width": 16, "middle": 1, "seed": 13},
    "test-paper-full": {"mode": "full", "profile": "test-paper", "wiring": "paper", "width": 16, "middle": 1,
                        "seed": 14},
}
FULL_SHAPES.update({
    "fast-full": {"mode": "full", "profile": "fast", "wiring": "fast", "width": 64, "middle": 10, "seed": 23},
    "paper-full": {"mode": "full", "profile": "paper", "wiring": "paper", "width": 64, "middle": 18, "seed": 24},
})

HIDDEN_TARGET = 100.0  # 99th percentile of a hidden channel maps to this U7 level
RESIDUAL_STD = 10.0  # standard deviation of a residual channel, in grey levels


# ---------------------------------------------------------------- safetensors (numpy only)

DTYPES = {np.dtype(np.int8): "I8", np.dtype(np.int32): "I32", np.dtype(np.float32): "F32"}
NUMPY = {"I8": np.dtype("<i1"), "I32": np.dtype("<i4"), "F32": np.dtype("<f4")}


def write_safetensors(path, tensors, metadata):
    """The safetensors format: u64 little-endian header size, a JSON header (padded with spaces to
    a multiple of 8), then the little-endian tensor data in header order (names sorted here)."""
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        kind = DTYPES[a.dtype]
        data = a.astype(NUMPY[kind]).tobytes()
        header[name] = {"dtype": kind, "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def read_safetensors(path):
    """{name: numpy array} of a safetensors file with I8, I32 and F32 tensors."""
    with open(path, "rb") as fh:
        raw = fh.read()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    header.pop("__metadata__", None)
    out = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        out[name] = np.frombuffer(raw[8 + size + begin:8 + size + end], NUMPY[t["dtype"]]).reshape(t["shape"])
    return out


def load_model(folder):
    """(config, {"com": layers or None, "rec": layers}) of a model folder, layers as intref reads
    them: dicts of weight, bias, multiplier and stride."""
    with open(os.path.join(folder, "config.json")) as fh:
        config = json.load(fh)
    tensors = read_safetensors(os.path.join(folder, "int8.safetensors"))
    nets = {"com": None}
    for net, spec in config["networks"].items():
        nets[net] = [{"weight": tensors[l["name"] + ".weight"], "bias": tensors[l["name"] + ".bias"],
                      "multiplier": tensors[l["name"] + ".multiplier"], "stride": l["stride"]}
                     for l in spec["layers"]]
    return config, nets


# ---------------------------------------------------------------- random, calibrated layers

def _layer_config(prefix, i, cin, cout, stride, last):
    return {"name": f"{prefix}.{i}", "kind": "conv3x3", "stride": stride, "padding": 1, "cin": cin,
            "cout": cout, "activation": "none" if last else "relu", "batchnorm_folded": False}


def _random_chain(rng, shapes, x):
    """Random int8 layers for `shapes` [(cin, cout, stride)], calibrated on the input `x` (uint8
    H x W x 3). Returns the layers as intref reads them."""
    layers = []
    for i, (cin, cout, stride) in enumerate(shapes):
        last = i == len(shapes) - 1
        w = np.clip(np.rint(rng.normal(0, 45, (cout, 3, 3, cin))), -127, 127).astype(np.int8)
        acc = intref.conv3x3_acc(x, w, np.zeros(cout, np.int32), stride)
        std = np.maximum(acc.reshape(-1, cout).std(axis=0), 1.0)
        mean = acc.reshape(-1, cout).mean(axis=0)
        # Centre each channel, then shift it by up to one standard deviation either way: some
        # channels mostly active, some mostly zero after the ReLU, as in trained networks.
        bias = np.rint(-mean + rng.uniform(-1.0, 1.0, cout) * std).astype(np.int32)
        acc = acc + bias
        if last:
            m = (RESIDUAL_STD / np.maximum(acc.reshape(-1, cout).std(axis=0), 1.0)).astype(np.float32)
        else:
            top = np.percentile(acc.reshape(-1, cout), 99, axis=0)
            m = (HIDDEN_TARGET / np.maximum(top, 1.0)).astype(np.float32)
        layer = {"weight": w, "bias": bias, "multiplier": m, "stride": stride}
        layers.append(layer)
        if not last:
            x = intref.conv_relu(x, layer, stride)
    return layers


def make_model(name, spec, calibration_size=(48, 64)):
    """(config dict, {tensor name: array}) of a synthetic model."""
    rng = np.random.RandomState(spec["seed"])
    h, w = calibration_size
    image = golden.synthetic_image(w, h, seed=spec["seed"])
    networks, tensors = {}, {}
    com = None
    if spec["compact"] == "comcnn":
        cw = spec["com_width"]
        shapes = [(3, cw, 1), (cw, cw, 2), (cw, 3, 1)]
        com = _random_chain(rng, shapes, intref.pad_to_even(image))
        networks["com"] = {
            "reads": "image", "residual_added_to": "average2x2",
            "output": "compact image: round half to even, clamp 0..255; ceil(H/2) x ceil(W/2)",
            "pixel_shuffle": 1,
            "layers": [_layer_config("com", i, *s, i == len(shapes) - 1) for i, s in enumerate(shapes)],
        }
    fast = spec["rec"] == "fast"
    rw, middle = spec["rec_width"], spec["rec_middle"]
    shapes = [(3, rw, 1)] + [(rw, rw, 1)] * middle + [(rw, 12 if fast else 3, 1)]
    compact = intref.comcnn(image, com) if com else intref.resample.average2x2(image)
    rec_input = compact if fast else intref.resample.upsample2x(compact, h, w)
    rec = _random_chain(rng, shapes, rec_input)
    networks["rec"] = {
        "reads": "decoded" if fast else "upsampled", "residual_added_to": "upsampled",
        "output": "image: round half to even, clamp 0..255, crop to H x W",
        "pixel_shuffle": 2 if fast else 1,
        "layers": [_layer_config("rec", i, *s, i == len(shapes) - 1) for i, s in enumerate(shapes)],
    }
    config = {
        "format": "comrec-float-weights", "version": 1, "profile": name,
        "source": {"synthetic": "Training/comrec_train/make_test_model.py", "seed": spec["seed"],
                   "note": "random weights with calibrated multipliers; not a trained model"},
        "compact": spec["compact"],
        "input_scale": "RGB 0..255 (the models' /255 is folded into layer 0)",
        "output_scale": "residual in pixel units (the models' *255 is folded into the last layer)",
        "weight_layout": "OIHW float32, cross-correlation, zero padding 1",
        "networks": networks,
    }
    for prefix, chain in (("com", com), ("rec", rec)):
        for i, layer in enumerate(chain or []):
            for key in ("weight", "bias", "multiplier"):
                tensors[f"{prefix}.{i}.{key}"] = layer[key]
    return config, tensors


def make_enhancer_model(profile, spec, calibration_size=(48, 64)):
    """(config dict, {tensor name: array}) of a synthetic full-resolution enhancer."""
    rng = np.random.RandomState(spec["seed"])
    h, w = calibration_size
    image = golden.synthetic_image(w, h, seed=spec["seed"])
    fast = spec["wiring"] == "fast"
    width, middle = spec["width"], spec["middle"]
    shapes = [(3, width, 2 if fast else 1)] + [(width, width, 1)] * middle + [(width, 12 if fast else 3, 1)]
    layers = _random_chain(rng, shapes, intref.pad_to_even(image) if fast else image)
    config = {
        "format": "comrec-float-weights", "version": 1, "profile": profile, "mode": "full",
        "source": {"synthetic": "Training/comrec_train/make_test_model.py", "seed": spec["seed"],
                   "note": "random weights with calibrated multipliers; not a trained model"},
        "compact": "none",
        "input_scale": "RGB 0..255 (the models' /255 is folded into layer 0)",
        "output_scale": "residual in pixel units (the models' *255 is folded into the last layer)",
        "weight_layout": "OIHW float32, cross-correlation, zero padding 1",
        "networks": {"enhance": {
            "reads": "image", "residual_added_to": "image",
            "output": "image: round half to even, clamp 0..255, crop to H x W",
            "pixel_shuffle": 2 if fast else 1,
            "layers": [_layer_config("enhance", i, *s, i == len(shapes) - 1) for i, s in enumerate(shapes)],
        }},
    }
    tensors = {f"enhance.{i}.{key}": layer[key] for i, layer in enumerate(layers)
               for key in ("weight", "bias", "multiplier")}
    return config, tensors


def write_model(folder, name, spec):
    """name: the profile in config.json."""
    os.makedirs(folder, exist_ok=True)
    full = spec.get("mode") == "full"
    config, tensors = (make_enhancer_model if full else make_model)(name, spec)
    with open(os.path.join(folder, "config.json"), "w") as fh:
        json.dump(config, fh, indent=2)
        fh.write("\n")
    metadata = {"format": "comrec-int8-weights", "profile": name}
    if full:
        metadata["mode"] = "full"
    write_safetensors(os.path.join(folder, "int8.safetensors"), tensors, metadata)


def test_model_folders(root=None):
    """{folder: (profile, spec)} of every committed test model, half-resolution and enhancers.
    root: one folder for all of them instead of Fixtures/models and Fixtures/models/full."""
    out = {os.path.join(root or FIXTURES, name): (name, spec) for name, spec in TEST_MODELS.items()}
    out.update({os.path.join(root or FIXTURES_FULL, name): (spec["profile"], spec)
                for name, spec in TEST_ENHANCERS.items()})
    return out


def _files(folder):
    out = {}
    for name in ("config.json", "int8.safetensors"):
        path = os.path.join(folder, name)
        out[name] = open(path, "rb").read() if os.path.exists(path) else None
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true",
                   help="compare Fixtures/models/ (and Fixtures/models/full/) with this script instead of writing")
    p.add_argument("--shape", choices=sorted(FULL_SHAPES), help="write one model with a real profile's shapes")
    p.add_argument("--name", help="profile name in config.json for --shape (default: <shape>; "
                                  "fast-full and paper-full: fast and paper)")
    p.add_argument("--out", help="output folder (default: Fixtures/models, enhancers Fixtures/models/full; "
                                 "--shape: Fixtures/models/<shape>-shape)")
    args = p.parse_args(argv)
    if args.shape:
        spec = FULL_SHAPES[args.shape]
        out = args.out or os.path.join(FIXTURES, args.shape + "-shape")
        write_model(out, args.name or spec.get("profile", args.shape), spec)
        print(f"wrote {out}", file=sys.stderr)
        return 0
    import tempfile
    stale = []
    for folder, (name, spec) in test_model_folders(args.out).items():
        if args.check:
            with tempfile.TemporaryDirectory() as tmp:
                write_model(tmp, name, spec)
                if _files(tmp) != _files(folder):
                    stale.append(folder)
        else:
            write_model(folder, name, spec)
            print(f"wrote {folder}", file=sys.stderr)
    if stale:
        print("differ from make_test_model.py (rerun it and the generator, see docs/models.md): "
              + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
