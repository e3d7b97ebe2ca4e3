"""numpy integer reference of ComRec networks: the semantics of docs/int8.md, bit for bit.

No PyTorch: CI runs this with numpy alone. Images are uint8 H x W x C (channels last); weights are
int8 [cout][3][3][cin] (the canonical layout the Swift runtime packs from), biases int32 in
accumulator units, multipliers float32 per output channel.

Exactness: float64 matrix products are exact here (every product and partial sum is an integer
below 2^53; docs/int8.md bounds the accumulators below 2^24), so they stand in for int32 sums.
Requantisation is one float32 multiply (numpy float32 * float32 is IEEE, never fused) and
round-half-to-even (np.rint).
"""
import numpy as np

from . import resample

HIDDEN_MAX = 127
RESIDUAL_MAX = 255


def conv3x3_acc(x, weights, bias, stride=1):
    """Int32 accumulators (bias included) of a 3x3 convolution with zero padding 1.
    x: uint8 (H, W, cin); weights: int8 (cout, 3, 3, cin); bias: int32 (cout,).
    Output: int64 (ceil(H / stride), ceil(W / stride), cout)."""
    h, w, cin = x.shape
    cout = weights.shape[0]
    assert weights.shape == (cout, 3, 3, cin), (weights.shape, x.shape)
    ho, wo = (h + stride - 1) // stride, (w + stride - 1) // stride
    padded = np.zeros((h + 2, w + 2, cin), np.float64)
    padded[1:-1, 1:-1] = x
    acc = np.zeros((ho, wo, cout), np.float64)
    wf = weights.astype(np.float64)
    for ky in range(3):
        for kx in range(3):
            window = padded[ky:ky + stride * (ho - 1) + 1:stride, kx:kx + stride * (wo - 1) + 1:stride]
            acc += window @ wf[:, ky, kx, :].T
    acc += bias.astype(np.float64)
    return acc.astype(np.int64)


def requantize(acc, multipliers, lo, hi):
    """clamp(roundHalfEven(float32(acc) * m[c]), lo, hi)."""
    scaled = acc.astype(np.float32) * multipliers.astype(np.float32)
    return np.clip(np.rint(scaled), lo, hi).astype(np.int64)


def conv_relu(x, layer, stride=1):
    """Hidden (or first) layer: U7 output."""
    acc = conv3x3_acc(x, layer["weight"], layer["bias"], stride)
    return requantize(acc, layer["multiplier"], 0, HIDDEN_MAX).astype(np.uint8)


def residual(x, layer):
    """Last layer: signed residual in pixel units, -255...255."""
    acc = conv3x3_acc(x, layer["weight"], layer["bias"], 1)
    return requantize(acc, layer["multiplier"], -RESIDUAL_MAX, RESIDUAL_MAX)


def add_clamp(base, res):
    return np.clip(base.astype(np.int64) + res, 0, 255).astype(np.uint8)


def pixel_shuffle(res, out_h, out_w):
    """(h, w, 12) -> (2h, 2w, 3) in PyTorch PixelShuffle(2) order (channel c*4 + dy*2 + dx),
    cropped to out_h x out_w."""
    h, w, _ = res.shape
    r = res.reshape(h, w, 3, 2, 2).transpose(0, 3, 1, 4, 2).reshape(2 * h, 2 * w, 3)
    return r[:out_h, :out_w]


def run_layers(x, layers):
    """Runs first + hidden layers (everything before the last), returning U7 features."""
    for layer in layers:
        x = conv_relu(x, layer, layer.get("stride", 1))
    return x


def pad_to_even(image):
    """Replicates the last row and/or column so that both sizes are even (ComCNN's input)."""
    h, w = image.shape[:2]
    return np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def comcnn(image, layers):
    """ComCNN: RGB8 (H, W, 3) -> compact RGB8 (ceil(H/2), ceil(W/2), 3): 2x2 average + residual,
    computed on the image replicate-padded to even sizes (as in training, which sees even crops)."""
    image = pad_to_even(image)
    features = run_layers(image, layers[:-1])
    return add_clamp(resample.average2x2(image), residual(features, layers[-1]))


def reccnn_paper(decoded, layers, out_h, out_w):
    """paper RecCNN: residual at full resolution onto the x2 bicubic upsampling."""
    up = resample.upsample2x(decoded, out_h, out_w)
    features = run_layers(up, layers[:-1])
    return add_clamp(up, residual(features, layers[-1]))


def reccnn_fast(decoded, layers, out_h, out_w):
    """fast RecCNN: all layers at compact resolution, pixel-shuffled residual onto the upsampling."""
    up = resample.upsample2x(decoded, out_h, out_w)
    features = run_layers(decoded, layers[:-1])
    return add_clamp(up, pixel_shuffle(residual(features, layers[-1]), out_h, out_w))


RECCNN = {"paper": reccnn_paper, "fast": reccnn_fast}


# ---------------------------------------------------------------- full-resolution mode

def enhancer_paper(decoded, layers):
    """paper enhancer: every layer at full resolution on the decoded JPEG; residual onto it."""
    features = run_layers(decoded, layers[:-1])
    return add_clamp(decoded, residual(features, layers[-1]))


def enhancer_fast(decoded, layers):
    """fast enhancer: the decoded JPEG replicate-padded to even sizes, a stride-2 first layer, the
    other layers at half resolution, the 12-channel residual pixel-shuffled, cropped to H x W and
    added to the decoded image."""
    assert layers[0].get("stride", 1) == 2 and all(l.get("stride", 1) == 1 for l in layers[1:])
    h, w = decoded.shape[:2]
    features = run_layers(pad_to_even(decoded), layers[:-1])
    return add_clamp(decoded, pixel_shuffle(residual(features, layers[-1]), h, w))


ENHANCER = {"paper": enhancer_paper, "fast": enhancer_fast}


def enhancer_wiring(net_config):
    """"fast" or "paper" from an exported "enhance" network's config (pixel_shuffle 2 or 1)."""
    return {2: "fast", 1: "paper"}[net_config["pixel_shuffle"]]
