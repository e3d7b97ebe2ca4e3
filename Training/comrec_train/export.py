"""Export a trained profile as float weights for the Swift code generator: Weights/<profile>/.

    python -m comrec_train.export --checkpoint checkpoints/fast.pt --profile fast --weights best \
        --out ../Weights/fast [--metrics cbsd68=eval-cbsd68.json ...]

A checkpoint of train_enhance.py (the full-resolution mode) exports the same way, by
default to Weights/<profile>-full: one network `enhance` (see export_enhancer_config), top-level
"mode": "full" and "compact": "none".

A second-pass checkpoint (scripts/enhancer-architecture.py --refine: a frozen trained enhancer,
then a second enhancer of `fast`'s shape on its 8-bit output; state keys `base.*` and
`refiner.*`) exports its second enhancer alone, with --second-pass-of naming the exported folder
of the first (a sibling of --out, e.g. fast-rounded-full): config.json's "second_pass_of", which
qat.py reads to quantise the second pass on the first one's int8 output. --name sets config.json's
profile (the Swift model's name: fast-second for Weights/fast-second-full).

    python -m comrec_train.export --checkpoint /tmp/refine/refine-warm-fast.pt --weights latest \
        --second-pass-of fast-rounded-full --name fast-second --out ../Weights/fast-second-full

Writes three files:
- model.safetensors: float32 tensors `com.<i>.weight`, `com.<i>.bias`, `rec.<i>.weight`,
  `rec.<i>.bias` (or `enhance.<i>.weight`, `enhance.<i>.bias`), i = layer index in network order (safetensors stores names sorted, so the order
  is the one in config.json, not the file's). Weights are OIHW (cout, cin, ky, kx), PyTorch's
  cross-correlation: out[c](y, x) = bias[c] + sum w[c, ci, ky, kx] * in[ci](s*y + ky - 1, s*x + kx - 1),
  zero padding 1, the convention of docs/int8.md.
- config.json: the layer list and the wiring (what each network reads, what its residual is added
  to, pixel shuffle, whether ComCNN or the 2x2 average makes the compact image).
- metrics.json: MACs, training config, steps, wall time, development results of these weights and,
  with --metrics, the validation results of evaluate.py JSONs, one per validation set.

Folding, so that the exported network is a plain chain of conv3x3 (+ ReLU) on pixel units:
- BatchNorm (eval mode, running statistics) into the convolution before it:
  s = gamma / sqrt(var + eps), w' = w * s, b' = (b - mean) * s + beta.
- The models divide their input by 255 (models.PIXEL) and multiply the residual by 255: the first
  layer's weights are divided by 255 and the last layer's weights and bias multiplied by 255, so
  the network maps RGB 0..255 to a residual in pixel units, as the int8 runtime reads and writes.
Folding is done in float64 and rounded to float32 once.
"""
import argparse
import hashlib
import json
import os
import re
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FORMAT = "comrec-float-weights"
FORMAT_VERSION = 1


# ---------------------------------------------------------------- folding (needs torch models)

def _network_parts(net):
    """(conv, batchnorm or None, relu?) for each layer of a ComCNN or RecCNN, in order."""
    from . import models
    if isinstance(net, models.ComCNN):
        return [(net.first, None, True), (net.down, net.bn, True), (net.last, None, False)]
    middle = [(conv, bn, True) for conv, bn in zip(net.middle, net.bns)]
    return [(net.first, None, True)] + middle + [(net.last, None, False)]


def fold_layer(conv, bn, scale_in=1.0, scale_out=1.0):
    """Folded float64 (weight, bias) of conv -> bn, for inputs multiplied by scale_in and outputs
    multiplied by scale_out (the /255 and *255 of the models)."""
    w = conv.weight.detach().double().cpu().numpy()
    b = (conv.bias.detach().double().cpu().numpy() if conv.bias is not None
         else np.zeros(w.shape[0]))
    if bn is not None:
        s = (bn.weight.detach().double().cpu().numpy()
             / np.sqrt(bn.running_var.detach().double().cpu().numpy() + bn.eps))
        w = w * s[:, None, None, None]
        b = (b - bn.running_mean.detach().double().cpu().numpy()) * s + bn.bias.detach().double().cpu().numpy()
    return w * scale_in * scale_out, b * scale_out


def fold_network(net, prefix):
    """Folds a ComCNN or RecCNN. Returns (layer descriptions, {name: float32 array})."""
    from . import models
    parts = _network_parts(net)
    layers, tensors = [], {}
    for i, (conv, bn, relu) in enumerate(parts):
        first, last = i == 0, i == len(parts) - 1
        w, b = fold_layer(conv, bn, scale_in=1 / models.PIXEL if first else 1.0,
                          scale_out=models.PIXEL if last else 1.0)
        name = f"{prefix}.{i}"
        tensors[name + ".weight"] = w.astype(np.float32)
        tensors[name + ".bias"] = b.astype(np.float32)
        layers.append({
            "name": name, "kind": "conv3x3", "stride": conv.stride[0], "padding": 1,
            "cin": conv.in_channels, "cout": conv.out_channels,
            "activation": "relu" if relu else "none", "batchnorm_folded": bn is not None,
        })
    return layers, tensors


def export_config(profile, com, rec, source):
    """config.json contents and tensors for a (com or None, rec) pair. com None: the ablation, whose
    compact image is the integer 2x2 average (resample.average2x2)."""
    from . import models
    tensors = {}
    networks = {}
    if com is not None:
        layers, t = fold_network(com, "com")
        tensors.update(t)
        networks["com"] = {
            "reads": "image",  # RGB8 H x W, replicate-padded to even H and W
            "residual_added_to": "average2x2",  # float mean of each 2x2 block of the padded image
            "output": "compact image: round half to even, clamp 0..255; ceil(H/2) x ceil(W/2)",
            "pixel_shuffle": 1,
            "layers": layers,
        }
    layers, t = fold_network(rec, "rec")
    tensors.update(t)
    fast = isinstance(rec, models.RecCNNFast)
    networks["rec"] = {
        # fast: every layer at compact resolution, then PixelShuffle(2); paper: full resolution.
        "reads": "decoded" if fast else "upsampled",
        "residual_added_to": "upsampled",  # resample.upsample2x of the decoded compact image
        "output": "image: round half to even, clamp 0..255, crop to H x W",
        "pixel_shuffle": 2 if fast else 1,
        "layers": layers,
    }
    config = {
        "format": FORMAT, "version": FORMAT_VERSION, "profile": profile, "source": source,
        "compact": "comcnn" if com is not None else "average2x2",
        "input_scale": "RGB 0..255 (the models' /255 is folded into layer 0)",
        "output_scale": "residual in pixel units (the models' *255 is folded into the last layer)",
        "weight_layout": "OIHW float32, cross-correlation, zero padding 1",
        "networks": networks,
    }
    return config, tensors


def export_enhancer_config(profile, net, source):
    """config.json contents and tensors of a full-resolution enhancer (models.EnhancerPaper or
    EnhancerFast): one network, `enhance`, that reads the decoded full-resolution JPEG and adds its
    residual to that same image."""
    from . import models
    fast = isinstance(net, models.EnhancerFast)
    layers, tensors = fold_network(net, "enhance")
    config = {
        "format": FORMAT, "version": FORMAT_VERSION, "profile": profile, "mode": "full",
        "source": source,
        "compact": "none",  # no compact image: the file is a full-resolution JPEG
        "input_scale": "RGB 0..255 (the models' /255 is folded into layer 0)",
        "output_scale": "residual in pixel units (the models' *255 is folded into the last layer)",
        "weight_layout": "OIHW float32, cross-correlation, zero padding 1",
        "networks": {"enhance": {
            # The decoded full-resolution JPEG, RGB8 H x W; fast: replicate-padded to even H and W
            # and read by a stride-2 first layer, every other layer at half resolution.
            "reads": "image",
            "residual_added_to": "image",  # the same decoded image, H x W
            "output": "image: round half to even, clamp 0..255, crop to H x W",
            "pixel_shuffle": 2 if fast else 1,
            "layers": layers,
        }},
    }
    return config, tensors


def layer_macs(net_config):
    """MACs per output pixel of one exported network, from its layer list: each layer's MACs are
    9 * cin * cout per pixel of its own output, scaled by that output's area relative to the
    network's final output."""
    area, total = 1.0, 0.0
    for layer in net_config["layers"]:
        area /= layer["stride"] ** 2
        total += 9 * layer["cin"] * layer["cout"] * area
    return total / (area * net_config["pixel_shuffle"] ** 2)


# ---------------------------------------------------------------- loading (numpy, no torch)

def load_exported(folder):
    """(config, {name: float32 array}) of an exported Weights/<profile>/ folder."""
    from safetensors.numpy import load_file
    with open(os.path.join(folder, "config.json")) as fh:
        config = json.load(fh)
    if config.get("format") != FORMAT or config.get("version") != FORMAT_VERSION:
        raise ValueError(f"{folder}/config.json is not {FORMAT} version {FORMAT_VERSION}")
    return config, load_file(os.path.join(folder, "model.safetensors"))


def run_layers(net_config, tensors, x):
    """Runs an exported network on a float32 torch tensor N x C x H x W (pixel units). Returns the
    residual, pixel-shuffled when the network says so (not yet cropped or added)."""
    import torch
    import torch.nn.functional as F
    for layer in net_config["layers"]:
        w = torch.from_numpy(tensors[layer["name"] + ".weight"])
        b = torch.from_numpy(tensors[layer["name"] + ".bias"])
        x = F.conv2d(x, w, b, stride=layer["stride"], padding=layer["padding"])
        if layer["activation"] == "relu":
            x = F.relu(x)
    if net_config["pixel_shuffle"] > 1:
        x = F.pixel_shuffle(x, net_config["pixel_shuffle"])
    return x


# ---------------------------------------------------------------- checkpoint -> folder

def load_enhancer_checkpoint(path, weights, profile=None, ckpt=None):
    """Loads a train_enhance.py checkpoint; returns (checkpoint dict, profile, enhancer in eval
    mode, step of the chosen weights). weights: latest or best (lowest development BD-rate)."""
    import torch
    from . import models
    if ckpt is None:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if ckpt.get("kind") != "enhancer":
        raise SystemExit(f"{path} is not an enhancer checkpoint (train_enhance.py)")
    cfg = ckpt["config"]
    name = cfg["profile"]
    if profile is not None and profile != name:
        raise SystemExit(f"{path} holds profile {name!r}, not {profile!r}")
    if weights == "latest":
        state, step = ckpt["enhance"], ckpt["step"]
    elif weights == "best":
        if ckpt.get("best") is None:
            raise SystemExit(f"{path} has no best enhancer yet (step {ckpt['step']}): use --weights latest")
        state, step = ckpt["best"]["enhance"], ckpt["best"]["step"]
    else:
        raise SystemExit(f"an enhancer checkpoint has latest and best weights, not {weights!r}")
    second_pass = is_second_pass(state)
    if second_pass:
        state = second_pass_part(state, SECOND_PASS_PREFIX)
        if any(key.startswith("coarse.") for key in state):
            raise SystemExit(f"{path}: a two-level second pass (--net unet) has no int8 runtime; only fast's shape exports")
    net = models.make_enhancer(name, cfg.get("width"), cfg.get("middle"))
    net.load_state_dict(state)
    net.eval()
    return ckpt, name, net, step


def second_pass_part(state, prefix):
    """The enhancer under `prefix` of a second-pass state (SECOND_PASS_PREFIX or FIRST_PASS_PREFIX)."""
    return {key[len(prefix):]: value for key, value in state.items() if key.startswith(prefix)}


SECOND_PASS_PREFIX = "refiner."  # scripts/enhancer-architecture.py's Refined: base.* (frozen), refiner.*
FIRST_PASS_PREFIX = "base."


def check_first_pass(checkpoint, state, profile, cfg, folder):
    """SystemExit unless the frozen first enhancer of a second-pass `state` is the one exported to
    `folder` (its model.safetensors, within float rounding): the second pass only works after the
    enhancer it learnt from."""
    from . import models
    if not os.path.exists(os.path.join(folder, "model.safetensors")):
        raise SystemExit(f"--second-pass-of: no exported enhancer in {folder}")
    base = models.make_enhancer(profile, cfg.get("width"), cfg.get("middle"))
    base.load_state_dict(second_pass_part(state, FIRST_PASS_PREFIX))
    base.eval()
    _, tensors = export_enhancer_config(profile, base, source={})
    _, exported = load_exported(folder)
    if sorted(tensors) != sorted(exported) or any(
            not np.allclose(tensors[k], exported[k], rtol=1e-5, atol=1e-6) for k in tensors):
        raise SystemExit(f"{checkpoint}'s first enhancer is not the one exported to {folder}: "
                         "a second pass only works after the enhancer it learnt from")


def is_second_pass(state):
    """Whether an enhancer state is a second-pass pair's (see the module doc)."""
    return any(key.startswith(SECOND_PASS_PREFIX) for key in state)


def load_checkpoint(path, weights, profile=None):
    """Loads a train.py checkpoint; returns (checkpoint dict, profile, com or None, rec, step of
    the chosen weights) with the models in eval mode. weights: latest (the checkpoint's own com/rec), best (the best pair on the
    development set), ablation (the RecCNN trained on the 2x2 average; com is None)."""
    import torch
    from . import models
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    name = ckpt["config"]["profile"]
    if profile is not None and profile != name:
        raise SystemExit(f"{path} holds profile {name!r}, not {profile!r}")
    if weights == "latest":
        com_state, rec_state, step = ckpt["com"], ckpt["rec"], ckpt["step"]
    elif weights == "best":
        if ckpt.get("best") is None:
            raise SystemExit(f"{path} has no best models yet (step {ckpt['step']}): "
                             "use --weights latest or ablation")
        com_state, rec_state, step = ckpt["best"]["com"], ckpt["best"]["rec"], ckpt["best"]["step"]
    elif weights == "ablation":
        if ckpt.get("ablation") is None:
            raise SystemExit(f"{path} has no ablation models yet (step {ckpt['step']}): "
                             "use --weights latest")
        com_state, rec_state, step = None, ckpt["ablation"]["rec"], ckpt["ablation"]["step"]
    else:
        raise ValueError(weights)
    rec = models.RECCNN[name]()
    rec.load_state_dict(rec_state)
    rec.eval()
    com = None
    if com_state is not None:
        com = models.ComCNN()
        com.load_state_dict(com_state)
        com.eval()
    return ckpt, name, com, rec, step


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_metrics(ckpt, profile, weights, step, config, validation=None):
    from . import models
    chosen = {"latest": None, "best": ckpt.get("best"), "ablation": ckpt.get("ablation")}[weights]
    com = config["networks"].get("com")
    rec_macs = models.macs_per_output_pixel(profile)
    if abs(layer_macs(config["networks"]["rec"]) - rec_macs) > 1e-6:
        raise AssertionError("exported RecCNN layers disagree with models.macs_per_output_pixel")
    elapsed = ckpt.get("elapsed")
    return {
        "profile": profile,
        "weights": weights,
        "compact": config["compact"],
        "reccnn_macs_per_output_pixel": rec_macs,
        # The ablation's compact image is the 2x2 average: no ComCNN MACs.
        "comcnn_macs_per_input_pixel": models.comcnn_macs_per_input_pixel() if com else 0,
        "training": {
            "config": ckpt["config"],
            "checkpoint_step": ckpt["step"],
            "weights_step": step,
            "wall_hours": None if elapsed is None else elapsed / 3600,
        },
        # Development-set result of these weights as train.py recorded it (none for `latest`).
        "dev": None if chosen is None else chosen.get("dev"),
        "validation": validation,
    }


def build_enhancer_metrics(ckpt, profile, weights, step, config, validation=None):
    from . import models
    cfg = ckpt["config"]
    macs = layer_macs(config["networks"]["enhance"])
    if abs(macs - models.enhancer_macs_per_output_pixel(profile, cfg.get("width"), cfg.get("middle"))) > 1e-6:
        raise AssertionError("exported enhancer layers disagree with models.enhancer_macs_per_output_pixel")
    elapsed = ckpt.get("elapsed")
    chosen = ckpt.get("best") if weights == "best" else None
    return {
        "profile": profile,
        "mode": "full",
        "weights": weights,
        "enhancer_macs_per_output_pixel": macs,
        "training": {
            "config": cfg,
            "checkpoint_step": ckpt["step"],
            "weights_step": step,
            "wall_hours": None if elapsed is None else elapsed / 3600,
        },
        # Development-set result of these weights as train_enhance.py recorded it (none for `latest`).
        "dev": None if chosen is None else chosen.get("dev"),
        "validation": validation,
    }


def read_validation(specs):
    """{set name: evaluate.py JSON} from 'NAME=PATH' strings (a bare PATH is named after its file)."""
    validation = {}
    for spec in ([specs] if isinstance(specs, str) else specs):
        name, _, path = spec.rpartition("=")
        name = name or os.path.splitext(os.path.basename(path))[0]
        with open(path) as fh:
            validation[name] = json.load(fh)
    return validation


def export(checkpoint, weights, out=None, profile=None, metrics_json=None, second_pass_of=None, name_as=None):
    """Writes the three files; out defaults to <repo>/Weights/<profile>. Returns (config, metrics, out).
    second_pass_of: for a second-pass checkpoint (required there), the first pass's exported
    folder name; name_as: config.json's profile instead of the checkpoint's."""
    import torch
    from safetensors.numpy import save_file
    raw = torch.load(checkpoint, map_location="cpu", weights_only=False)
    enhancer = raw.get("kind") == "enhancer"
    if enhancer:
        second_pass = is_second_pass(raw["enhance"])
        if second_pass != bool(second_pass_of):
            raise SystemExit(f"{checkpoint} is a second-pass checkpoint: say which exported enhancer it follows "
                             "with --second-pass-of" if second_pass else
                             f"{checkpoint} is not a second-pass checkpoint: --second-pass-of does not apply")
        ckpt, name, net, step = load_enhancer_checkpoint(checkpoint, weights, profile, ckpt=raw)
        out = out or os.path.join(REPO, "Weights", (name_as or name) + "-full")
        source = {"checkpoint": os.path.basename(checkpoint), "weights": weights, "step": step,
                  "stored_jpeg": ckpt["config"].get("stored_jpeg", "libjpeg")}
        config, tensors = export_enhancer_config(name, net, source)
        if second_pass:
            out_parent = os.path.dirname(os.path.abspath(out))
            check_first_pass(checkpoint, raw["best"]["enhance"] if weights == "best" else raw["enhance"], name,
                             ckpt["config"], os.path.join(out_parent, second_pass_of))
            # Reads the first pass's output (8-bit RGB, same size) and adds its residual to it.
            config["second_pass_of"] = second_pass_of
    elif second_pass_of:
        raise SystemExit(f"{checkpoint} is not an enhancer checkpoint: --second-pass-of does not apply")
    else:
        ckpt, name, com, rec, step = load_checkpoint(checkpoint, weights, profile)
        out = out or os.path.join(REPO, "Weights", name)
        source = {"checkpoint": os.path.basename(checkpoint), "weights": weights, "step": step,
                  "stored_jpeg": ckpt["config"].get("stored_jpeg", "libjpeg")}
        config, tensors = export_config(name, com, rec, source)
    validation = read_validation(metrics_json) if metrics_json else None
    trained_as = config["profile"]
    if name_as:
        config["profile"] = name_as
    os.makedirs(out, exist_ok=True)
    model_path = os.path.join(out, "model.safetensors")
    tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}  # see qat.write_int8
    save_file(tensors, model_path, metadata={"format": FORMAT, "profile": name})
    with open(os.path.join(out, "config.json"), "w") as fh:
        json.dump(config, fh, indent=2)
        fh.write("\n")
    build = build_enhancer_metrics if enhancer else build_metrics
    metrics = build(ckpt, trained_as, weights, step, config, validation)
    metrics["profile"] = config["profile"]
    metrics["model_safetensors_sha256"] = _sha256(model_path)
    with open(os.path.join(out, "metrics.json"), "w") as fh:
        json.dump(metrics, fh, indent=2)
        fh.write("\n")
    return config, metrics, out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True,
                   help="train.py checkpoint (checkpoints/<profile>.pt) or train_enhance.py checkpoint "
                        "(checkpoints/<profile>-full.pt)")
    p.add_argument("--profile", help="expected profile (checked against the checkpoint)")
    p.add_argument("--weights", default="best", choices=["best", "latest", "ablation"])
    p.add_argument("--out", help="output folder (default <repo>/Weights/<profile>, enhancers "
                                 "<repo>/Weights/<profile>-full)")
    p.add_argument("--metrics", action="append", metavar="[SET=]JSON",
                   help="evaluate.py JSON to copy into metrics.json under validation.SET (repeatable)")
    p.add_argument("--second-pass-of", metavar="FOLDER",
                   help="second-pass checkpoints: the exported folder (a sibling of --out) of the enhancer "
                        "whose output this one refines, e.g. fast-rounded-full")
    p.add_argument("--name", help="config.json's profile, the Swift model's name (default: the checkpoint's)")
    args = p.parse_args(argv)
    if args.name is not None and not re.fullmatch(r"[a-z0-9_-]{1,16}", args.name):
        p.error(f"--name {args.name!r}: a profile name is 1-16 of a-z, 0-9, _ and - (the Swift runtime's rule)")
    config, metrics, out = export(args.checkpoint, args.weights, args.out, args.profile, args.metrics,
                                  args.second_pass_of, args.name)
    if config.get("mode") == "full":
        what = f"enhancer, {metrics['enhancer_macs_per_output_pixel']:.0f} MAC per output pixel"
    else:
        what = (f"{len(config['networks'])} networks, "
                f"{metrics['reccnn_macs_per_output_pixel']:.0f} RecCNN MAC per output pixel")
    print(f"exported {config['profile']} ({args.weights}, step {metrics['training']['weights_step']}) "
          f"to {out}: {what}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
