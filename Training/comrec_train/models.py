"""ComCNN and RecCNN for the `paper` and `fast` profiles.

Pixel tensors are float N x 3 x H x W on the 0..255 scale (the runtime's RGB8), so the integer
model later reads RGB8 directly. Every convolution is 3x3 with zero padding 1; BatchNorm sits only
where the paper puts it and is folded into the convolution at export (see export.py).

Both networks start as the plain resize path (ComCNN: 2x2 average, RecCNN: bicubic upsampling),
because their last layers start at zero: a sane starting point that the training issue found
necessary for stability.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .resample import UP_TAPS

# Scale of the networks' inputs and residual outputs: features see pixels / 255 (well-conditioned
# for training); the exporter folds this factor into the first and last layers.
PIXEL = 255.0


def conv3x3(cin, cout, stride=1, bias=True):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=bias)


def average2x2(x):
    """Float 2x2 average (the base of ComCNN). Inputs have even sizes in training."""
    return F.avg_pool2d(x, 2)


def _up_kernels(device, dtype):
    even = torch.tensor(UP_TAPS[0], dtype=dtype, device=device) / 128.0
    odd = torch.tensor(UP_TAPS[1], dtype=dtype, device=device) / 128.0
    return even, odd


def upsample2x(x):
    """Float version of the runtime's integer bicubic x2 upsampling (same taps, same edge
    replication), without the final rounding: differentiable, for the ComCNN phase. The RecCNN
    phase uses the exact integer version from resample.py on real decoded JPEGs."""
    n, c, h, w = x.shape
    even, odd = _up_kernels(x.device, x.dtype)

    def along_last(t):
        # Output 2i reads i-2..i+1 (taps even), output 2i+1 reads i-1..i+2 (taps odd).
        p = F.pad(t, (2, 2, 0, 0), mode="replicate")  # index j of p is source j-2
        length = t.shape[-1]
        e = sum(even[k] * p[..., k:k + length] for k in range(4))
        o = sum(odd[k] * p[..., k + 1:k + 1 + length] for k in range(4))
        return torch.stack((e, o), dim=-1).reshape(*t.shape[:-1], 2 * length)

    t = along_last(x.reshape(n * c, 1, h, w))  # rows
    t = along_last(t.transpose(-1, -2)).transpose(-1, -2)  # columns
    return t.reshape(n, c, 2 * h, 2 * w)


class ComCNN(nn.Module):
    """conv 3->64 + ReLU; conv stride 2 64->64 + BN + ReLU; conv 64->3; added to the 2x2 average.
    About 11k MAC per input pixel."""

    def __init__(self, width=64):
        super().__init__()
        self.first = conv3x3(3, width)
        self.down = conv3x3(width, width, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(width)
        self.last = conv3x3(width, 3)
        nn.init.zeros_(self.last.weight)
        nn.init.zeros_(self.last.bias)

    def forward(self, x):
        f = F.relu(self.first(x / PIXEL))
        f = F.relu(self.bn(self.down(f)))
        return average2x2(x) + PIXEL * self.last(f)


class RecCNNPaper(nn.Module):
    """The paper's RecCNN: conv 3->64 + ReLU; 18 x (conv 64->64 + BN + ReLU); conv 64->3; the
    residual is added to the x2-upsampled decoded compact image. ~0.67 M MAC per output pixel."""

    def __init__(self, width=64, middle=18):
        super().__init__()
        self.first = conv3x3(3, width)
        self.middle = nn.ModuleList(conv3x3(width, width, bias=False) for _ in range(middle))
        self.bns = nn.ModuleList(nn.BatchNorm2d(width) for _ in range(middle))
        self.last = conv3x3(width, 3)
        nn.init.zeros_(self.last.weight)
        nn.init.zeros_(self.last.bias)

    def forward(self, compact, upsampled):
        f = F.relu(self.first(upsampled / PIXEL))
        for conv, bn in zip(self.middle, self.bns):
            f = F.relu(bn(conv(f)))
        return upsampled + PIXEL * self.last(f)


class RecCNNFast(nn.Module):
    """The `fast` RecCNN: every layer at the compact resolution, then a sub-pixel convolution.
    conv 3->64 + ReLU; 10 x (conv 64->64 + BN + ReLU); conv 64->12; PixelShuffle(2) gives a
    full-resolution residual added to the x2-upsampled decoded image.
    (1728 + 10 * 36864 + 6912) / 4 = 94.3 k MAC per output pixel."""

    def __init__(self, width=64, middle=10, first_stride=1):
        super().__init__()
        self.first = conv3x3(3, width, stride=first_stride)  # 2: the full-resolution enhancer
        self.middle = nn.ModuleList(conv3x3(width, width, bias=False) for _ in range(middle))
        self.bns = nn.ModuleList(nn.BatchNorm2d(width) for _ in range(middle))
        self.last = conv3x3(width, 12)
        self.shuffle = nn.PixelShuffle(2)
        nn.init.zeros_(self.last.weight)
        nn.init.zeros_(self.last.bias)

    def forward(self, compact, upsampled):
        f = F.relu(self.first(compact / PIXEL))
        for conv, bn in zip(self.middle, self.bns):
            f = F.relu(bn(conv(f)))
        residual = self.shuffle(PIXEL * self.last(f))
        return upsampled + residual[..., :upsampled.shape[-2], :upsampled.shape[-1]]


# The `tiny` profile, for Cortex-A53-class boards (at most 25k MAC per output pixel at decode):
# the `fast` wiring with half the width and one layer fewer.
TINY_SIZES = (32, 9)  # (width, middle layers)


class RecCNNTiny(RecCNNFast):
    """The `tiny` RecCNN: RecCNNFast's wiring with 32 channels and 9 middle layers.
    9 * (3 * 32 + 9 * 32 * 32 + 32 * 12) / 4 = 21.8 k MAC per output pixel."""

    def __init__(self, width=TINY_SIZES[0], middle=TINY_SIZES[1]):
        super().__init__(width, middle)


RECCNN = {"paper": RecCNNPaper, "fast": RecCNNFast, "tiny": RecCNNTiny}


def macs_per_output_pixel(profile):
    """Multiply-accumulates of the decoder (RecCNN) per full-resolution output pixel."""
    if profile == "paper":
        return 9 * (3 * 64 + 18 * 64 * 64 + 64 * 3)
    if profile == "fast":
        return 9 * (3 * 64 + 10 * 64 * 64 + 64 * 12) / 4
    if profile == "tiny":
        w, m = TINY_SIZES
        return 9 * (3 * w + m * w * w + w * 12) / 4
    raise ValueError(profile)


def comcnn_macs_per_input_pixel():
    return 9 * 3 * 64 + 9 * 64 * 64 / 4 + 9 * 64 * 3 / 4


# ---------------------------------------------------------------- full-resolution mode
#
# The image is stored as an ordinary full-resolution JPEG; an enhancer of the RecCNN family removes
# the JPEG artifacts at decode. It reads the decoded image (pixels / 255) and adds PIXEL * residual
# to that same decoded image. Last layers start at zero: an untrained enhancer is the identity.

class EnhancerPaper(RecCNNPaper):
    """RecCNNPaper's layers on the decoded full-resolution JPEG: conv 3->64 + ReLU;
    18 x (conv 64->64 + BN + ReLU); conv 64->3; residual added to the decoded image.
    ~0.67 M MAC per output pixel."""

    def forward(self, decoded):
        return super().forward(decoded, decoded)


def pad_to_even(x):
    """Replicates the last row and/or column of N x C x H x W so that H and W are even (as
    intref.pad_to_even and ComCNN's input)."""
    h, w = x.shape[-2:]
    if h % 2 == 0 and w % 2 == 0:
        return x
    return F.pad(x, (0, w % 2, 0, h % 2), mode="replicate")


class EnhancerFast(RecCNNFast):
    """The `fast` enhancer: RecCNNFast's layers with a stride-2 first layer, on the decoded image
    replicate-padded to even sizes: conv 3->64 stride 2 + ReLU; 10 x (conv 64->64 + BN + ReLU) at
    half resolution; conv 64->12; PixelShuffle(2); the residual cropped to H x W and added to the
    decoded image. (1728 + 10 * 36864 + 6912) / 4 = 94.3 k MAC per output pixel."""

    def __init__(self, width=64, middle=10):
        super().__init__(width, middle, first_stride=2)

    def forward(self, decoded):
        return super().forward(pad_to_even(decoded), decoded)


class EnhancerTiny(EnhancerFast):
    """The `tiny` enhancer: EnhancerFast's wiring at the `tiny` sizes (32 channels, 9 middle
    layers): 21.8 k MAC per output pixel."""

    def __init__(self, width=TINY_SIZES[0], middle=TINY_SIZES[1]):
        super().__init__(width, middle)


ENHANCER = {"paper": EnhancerPaper, "fast": EnhancerFast, "tiny": EnhancerTiny}
ENHANCER_SIZES = {"paper": (64, 18), "fast": (64, 10), "tiny": TINY_SIZES}  # (width, middle layers)


def make_enhancer(profile, width=None, middle=None):
    """ENHANCER[profile] with the profile's sizes unless width / middle say otherwise (tests)."""
    w, m = ENHANCER_SIZES[profile]
    return ENHANCER[profile](width=width or w, middle=m if middle is None else middle)


def enhancer_macs_per_output_pixel(profile, width=None, middle=None):
    """Multiply-accumulates of the enhancer per output pixel."""
    w, m = ENHANCER_SIZES[profile]
    w, m = width or w, m if middle is None else middle
    if profile == "paper":
        return 9 * (3 * w + m * w * w + w * 3)
    if profile in ("fast", "tiny"):
        return 9 * (3 * w + m * w * w + w * 12) / 4
    raise ValueError(profile)
