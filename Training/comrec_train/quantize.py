"""int8 quantisation of an exported float profile: calibration, quantisation-aware fine-tuning and
export, with the forward pass equal bit for bit to the integer semantics (docs/int8.md, intref.py).

Why the forward pass is exact: inputs and weights are integers held in float32, every product and
partial sum of a 3x3 convolution stays below 2^24 (docs/int8.md), so a float32 convolution sums
them exactly in any order; the requantisation is then the same float32 multiply and
round-half-even (torch.round) as the runtime's. Rounding steps pass gradients straight through
(x + (round(x) - x) is exactly round(x) in float32: the difference is a multiple of x's ulp and at
most 0.5, and the sum is a representable integer).

So the torch forward under no_grad is the integer reference, whatever order the convolution sums
in (on the CPU, as here: a GPU's TF32 or Winograd convolutions would not be exact), and faster
than intref's numpy (`paper`, 192 x 192, one thread: 0.6 s against 2 s, and 20 s and more when
OpenBLAS's threads compete for a busy machine): `run_chain`, `QuantProfile.compact_fast` /
`reconstruct_fast` and `QuantEnhancer.enhance_fast` are intref's functions with only the layers
run by torch. qat.py measures the development set with them and checks them against intref on
one image (tests/test_quantize_torch.py: on every wiring).
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ACC_LIMIT = 2 ** 24 - 1
HIDDEN_MAX = 127
RESIDUAL_MAX = 255
PIXEL_MAX = 255


def _ste_round(x):
    return x + (torch.round(x) - x).detach()


class QuantConv(nn.Module):
    """One 3x3 convolution with int8 per-channel weights, int32 bias and float32 multipliers.

    in_scale: real value of one input step (1.0 for pixels); out_scale: of one output step
    (a calibrated activation scale for hidden layers, 1.0 pixel for the residual)."""

    def __init__(self, weight, bias, stride, in_scale, out_scale, in_max, residual):
        super().__init__()
        self.weight = nn.Parameter(torch.as_tensor(weight, dtype=torch.float32).clone())
        self.bias = nn.Parameter(torch.as_tensor(bias, dtype=torch.float32).clone())
        self.stride = stride
        self.in_scale = float(in_scale)
        self.out_scale = float(out_scale)
        self.in_max = in_max
        self.residual = residual

    def weight_scale(self):
        m = self.weight.detach().abs().amax(dim=(1, 2, 3))
        return torch.where(m > 0, m / 127, torch.ones_like(m))

    def quantised(self):
        """(int weights, int biases, float32 multipliers), all as float32 tensors, with
        straight-through gradients to the float weights and biases."""
        s_w = self.weight_scale()
        w_q = _ste_round(self.weight / s_w.view(-1, 1, 1, 1)).clamp(-127, 127)
        b_q = _ste_round(self.bias / (self.in_scale * s_w))
        # Keep |acc| < 2^24 with the bias included (docs/int8.md): the largest sum of products
        # is sum |w_q| * in_max per output channel.
        room = ACC_LIMIT - w_q.detach().abs().sum(dim=(1, 2, 3)) * self.in_max
        b_q = torch.maximum(torch.minimum(b_q, room), -room)
        m = (self.in_scale * s_w / self.out_scale).float()
        return w_q, b_q, m

    def forward(self, x):
        w_q, b_q, m = self.quantised()
        return requantised(F.conv2d(x, w_q, b_q, stride=self.stride, padding=1), m, self.residual)

    def export(self):
        w_q, b_q, m = self.quantised()
        return {
            # canonical layout [cout][ky][kx][cin]. Contiguous: safetensors.numpy writes an
            # array's memory as it lies, so a permuted view would be stored in OIHW order.
            "weight": np.ascontiguousarray(w_q.detach().permute(0, 2, 3, 1).cpu().numpy().astype(np.int8)),
            "bias": b_q.detach().cpu().numpy().astype(np.int32),
            "multiplier": m.detach().cpu().numpy().astype(np.float32),
            "stride": self.stride,
        }


def run_chain(chain, image):
    """uint8 H x W x C -> the chain's last layer output (residual, -255...255) as int64 h x w x c,
    by the torch forward under no_grad on the CPU: intref.run_layers + intref.residual bit for bit
    (module docstring)."""
    x = torch.from_numpy(np.array(image, np.float32)).permute(2, 0, 1)[None]
    with torch.no_grad():
        out = chain(x)
    return out[0].permute(1, 2, 0).numpy().astype(np.int64)


def requantised(acc, multipliers, residual):
    """A layer's int32 sums (integer-valued float32) scaled per output channel, rounded half to
    even and clamped to the residual's or a hidden activation's range, as intref.requantize."""
    v = _ste_round(acc * multipliers.view(1, -1, 1, 1))
    return v.clamp(-RESIDUAL_MAX, RESIDUAL_MAX) if residual else v.clamp(0, HIDDEN_MAX)


class ConvChain(nn.Module):
    """Layers run one after the other; `export` gives them as intref reads them."""

    def forward(self, x):
        for conv in self.convs:
            x = conv(x)
        return x

    def export(self):
        return [conv.export() for conv in self.convs]


class QuantChain(ConvChain):
    """First + hidden layers (ReLU, U7 out) and a last residual layer."""

    def __init__(self, layers, act_scales):
        super().__init__()
        convs = []
        in_scale, in_max = 1.0, PIXEL_MAX
        for i, layer in enumerate(layers):
            last = i == len(layers) - 1
            out_scale = 1.0 if last else act_scales[i]
            convs.append(QuantConv(layer["weight"], layer["bias"], layer["stride"], in_scale,
                                   out_scale, in_max, residual=last))
            in_scale, in_max = out_scale, HIDDEN_MAX
        self.convs = nn.ModuleList(convs)


class FrozenConv(nn.Module):
    """An exported int8 layer (weight [cout][ky][kx][cin], bias, multiplier, stride) run as
    QuantConv.forward runs its quantised weights, so with the same bytes as intref."""

    def __init__(self, layer, residual):
        super().__init__()
        weight = np.ascontiguousarray(np.asarray(layer["weight"], np.float32).transpose(0, 3, 1, 2))
        self.register_buffer("weight", torch.from_numpy(weight))
        self.register_buffer("bias", torch.from_numpy(np.array(layer["bias"], np.float32)))
        self.register_buffer("multiplier", torch.from_numpy(np.array(layer["multiplier"], np.float32)))
        self.stride = layer["stride"]
        self.residual = residual
        self.layer = layer

    def export(self):
        return self.layer

    def forward(self, x):
        return requantised(F.conv2d(x, self.weight, self.bias, stride=self.stride, padding=1), self.multiplier,
                           self.residual)


class FrozenChain(ConvChain):
    """FrozenConv layers, read by QuantEnhancer as it reads a QuantChain."""

    def __init__(self, convs):
        super().__init__()
        self.convs = nn.ModuleList(convs)


@torch.no_grad()
def calibrate(layers, images, percentile=99.99):
    """Activation scale of each hidden layer: the float network's output at `percentile` over the
    calibration images maps to 127. layers: float layers (weight OIHW, bias, stride), first reads
    pixels; images: float tensor N x 3 x H x W on 0..255. Returns one scale per layer but the last."""
    scales = []
    x = images
    for layer in layers[:-1]:
        w = torch.as_tensor(layer["weight"], dtype=torch.float32)
        b = torch.as_tensor(layer["bias"], dtype=torch.float32)
        x = F.relu(F.conv2d(x, w, b, stride=layer["stride"], padding=1))
        top = float(np.percentile(x.flatten().numpy()[::7], percentile))
        scales.append(max(top, 1e-6) / HIDDEN_MAX)
    return scales


# ---------------------------------------------------------------- a whole profile

def float_layers(net_config, tensors):
    """Exported float layers (export.py) as {"weight" OIHW, "bias", "stride"} dicts."""
    return [{"weight": tensors[l["name"] + ".weight"], "bias": tensors[l["name"] + ".bias"],
             "stride": l["stride"]} for l in net_config["layers"]]


class QuantProfile:
    """The int8 networks of one profile: ComCNN (or the 2x2 average) and RecCNN."""

    def __init__(self, config, com_chain, rec_chain):
        self.config = config
        self.profile = config["profile"]
        self.com = com_chain
        self.rec = rec_chain

    @classmethod
    def calibrated(cls, config, tensors, crops, roundtrip=None):
        """crops: uint8 N x H x W x 3 training crops (even sizes); roundtrip: (image, quality) ->
        (decoded, size) of the compact JPEGs (default jpeg.roundtrip, libjpeg's)."""
        from . import intref, jpeg, resample
        x = torch.from_numpy(crops).permute(0, 3, 1, 2).float()
        com = None
        if config["compact"] == "comcnn":
            layers = float_layers(config["networks"]["com"], tensors)
            com = QuantChain(layers, calibrate(layers, x))
        # RecCNN is calibrated on what it reads: decoded compact images (fast) or their x2
        # upsampling (paper), here from the int8 ComCNN and a mid quality.
        tmp = cls(config, com, None)
        compact = np.stack([tmp.compact(c) for c in crops])
        decoded = np.stack([(roundtrip or jpeg.roundtrip)(c, 40)[0] for c in compact])
        reads = config["networks"]["rec"]["reads"]
        if reads == "upsampled":
            decoded = np.stack([resample.upsample2x(d) for d in decoded])
        layers = float_layers(config["networks"]["rec"], tensors)
        rec_in = torch.from_numpy(decoded).permute(0, 3, 1, 2).float()
        return cls(config, com, QuantChain(layers, calibrate(layers, rec_in)))

    def compact(self, image):
        """uint8 H x W x 3 -> compact uint8, exactly as the int8 runtime makes it."""
        from . import intref, resample
        if self.com is None:
            return resample.average2x2(image)
        return intref.comcnn(image, self.com.export())

    def compact_fast(self, image):
        """compact(), bit for bit, with ComCNN's layers run by torch (intref.comcnn otherwise)."""
        from . import intref, resample
        if self.com is None:
            return resample.average2x2(image)
        padded = intref.pad_to_even(image)
        return intref.add_clamp(resample.average2x2(padded), run_chain(self.com, padded))

    def reconstruct_torch(self, decoded, up):
        """decoded: float N x 3 x h x w, up: float N x 3 x H x W (integer valued). Returns the
        int8 network's output image as float (integer valued), with straight-through gradients."""
        net = self.config["networks"]["rec"]
        res = self.rec(decoded if net["reads"] == "decoded" else up)
        if net["pixel_shuffle"] > 1:
            res = F.pixel_shuffle(res, net["pixel_shuffle"])
        res = res[..., :up.shape[-2], :up.shape[-1]]
        out = up + res
        return out + (out.clamp(0, 255) - out).detach()

    def reconstruct(self, decoded, out_h, out_w):
        """uint8 compact -> uint8 image through the numpy integer reference."""
        from . import intref
        fn = intref.RECCNN["fast" if self.config["networks"]["rec"]["reads"] == "decoded" else "paper"]
        return fn(decoded, self.rec.export(), out_h, out_w)

    def reconstruct_fast(self, decoded, out_h, out_w):
        """reconstruct(), bit for bit, with RecCNN's layers run by torch (intref.reccnn_fast /
        reccnn_paper otherwise)."""
        from . import intref, resample
        up = resample.upsample2x(decoded, out_h, out_w)
        if self.config["networks"]["rec"]["reads"] == "decoded":
            return intref.add_clamp(up, intref.pixel_shuffle(run_chain(self.rec, decoded), out_h, out_w))
        return intref.add_clamp(up, run_chain(self.rec, up))

    def int8_tensors(self):
        out = {}
        for prefix, chain in (("com", self.com), ("rec", self.rec)):
            if chain is None:
                continue
            for i, layer in enumerate(chain.export()):
                for key in ("weight", "bias", "multiplier"):
                    out[f"{prefix}.{i}.{key}"] = layer[key]
        return out

    def activation_scales(self):
        return {prefix: [c.out_scale for c in chain.convs]
                for prefix, chain in (("com", self.com), ("rec", self.rec)) if chain is not None}


# ---------------------------------------------------------------- full-resolution enhancer

class QuantEnhancer:
    """The int8 enhancer of a full-resolution export (config "mode": "full", one network
    `enhance`): tensors enhance.<i>.weight / .bias / .multiplier."""

    def __init__(self, config, chain):
        self.config = config
        self.profile = config["profile"]
        self.net = config["networks"]["enhance"]
        self.chain = chain

    @classmethod
    def exported(cls, folder):
        """The enhancer of an exported and quantised folder (its int8.safetensors), frozen: the
        first pass a second-pass enhancer is quantised on (qat.py)."""
        from .make_test_model import load_model
        config, nets = load_model(folder)
        if config.get("mode") != "full":
            raise SystemExit(f"{folder} is not an enhancer (config.json's mode is not full)")
        layers = nets["enhance"]
        return cls(config, FrozenChain([FrozenConv(l, residual=i == len(layers) - 1) for i, l in enumerate(layers)]))

    @classmethod
    def calibrated(cls, config, tensors, decoded):
        """decoded: uint8 N x H x W x 3 decoded JPEGs (even sizes), what the enhancer reads."""
        layers = float_layers(config["networks"]["enhance"], tensors)
        x = torch.from_numpy(np.ascontiguousarray(decoded)).permute(0, 3, 1, 2).float()
        return cls(config, QuantChain(layers, calibrate(layers, x)))

    def wiring(self):
        from . import intref
        return intref.enhancer_wiring(self.net)

    def enhance_torch(self, decoded):
        """decoded: float N x 3 x H x W (integer valued). Returns the int8 enhancer's output image
        as float (integer valued), with straight-through gradients."""
        from . import models
        h, w = decoded.shape[-2:]
        shuffle = self.net["pixel_shuffle"]
        res = self.chain(models.pad_to_even(decoded) if shuffle > 1 else decoded)
        if shuffle > 1:
            res = F.pixel_shuffle(res, shuffle)
        out = decoded + res[..., :h, :w]
        return out + (out.clamp(0, 255) - out).detach()

    def enhance(self, decoded):
        """uint8 H x W x 3 decoded JPEG -> uint8 image through the numpy integer reference."""
        from . import intref
        return intref.ENHANCER[self.wiring()](decoded, self.chain.export())

    def enhance_fast(self, decoded):
        """enhance(), bit for bit, with the layers run by torch (intref.enhancer_fast /
        enhancer_paper otherwise)."""
        from . import intref
        if self.wiring() == "paper":
            return intref.add_clamp(decoded, run_chain(self.chain, decoded))
        assert self.chain.convs[0].stride == 2 and all(c.stride == 1 for c in self.chain.convs[1:])
        h, w = decoded.shape[:2]
        res = run_chain(self.chain, intref.pad_to_even(decoded))
        return intref.add_clamp(decoded, intref.pixel_shuffle(res, h, w))

    def int8_tensors(self):
        out = {}
        for i, layer in enumerate(self.chain.export()):
            for key in ("weight", "bias", "multiplier"):
                out[f"enhance.{i}.{key}"] = layer[key]
        return out

    def activation_scales(self):
        return {"enhance": [c.out_scale for c in self.chain.convs]}
