"""The half-resolution codec paths as the runtime runs them, in float, for evaluation.

Every path has two halves around the real JPEG:
    compact(img)                      uint8 H x W x 3 -> uint8 ceil(H/2) x ceil(W/2) x 3
    reconstruct(decoded, H, W)        decoded compact image -> uint8 H x W x 3

Odd sizes are handled as the runtime will: the image is replicate-padded to even H and W before
ComCNN (so the compact image has ceil sizes), the decoded compact image is upsampled x2 in full
(2 ceil(H/2) x 2 ceil(W/2)), RecCNN runs on all of it, and the result is cropped to H x W.
Rounding to uint8 is round half to even, as train.py and docs/int8.md do.
"""
import numpy as np

from . import resample


def pad_even(img):
    """Replicate the last row / column of an odd-sized H x W x C image."""
    h, w = img.shape[:2]
    return np.pad(img, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def _tensor(img, device="cpu"):
    import torch
    return torch.from_numpy(np.array(img)).permute(2, 0, 1)[None].float().to(device)  # copy: writable


def _uint8(t):
    import torch
    return t.round().clamp(0, 255)[0].permute(1, 2, 0).to(torch.uint8).cpu().numpy()


class BicubicCodec:
    """The `bicubic` baseline: integer antialiased bicubic /2, JPEG, integer bicubic x2."""

    def compact(self, img):
        return resample.downsample2x(img)

    def reconstruct(self, decoded, height, width):
        return resample.upsample2x(decoded, height, width)


class ModelCodec:
    """Float PyTorch models (models.ComCNN, models.RECCNN[profile]) in eval mode. com None: the
    compact image is the integer 2x2 average (resample.average2x2), as for the ablation. `device`
    ("cpu" or "cuda") is where the networks run; the pixels are the same up to float rounding."""

    def __init__(self, com, rec, device="cpu"):
        self.device = device
        self.com = None if com is None else com.eval().to(device)
        self.rec = rec.eval().to(device)

    def compact(self, img):
        if self.com is None:
            return resample.average2x2(img)
        import torch
        with torch.no_grad():
            return _uint8(self.com(_tensor(pad_even(img), self.device)))

    def reconstruct(self, decoded, height, width):
        import torch
        up = resample.upsample2x(decoded)
        with torch.no_grad():
            out = self.rec(_tensor(decoded, self.device), _tensor(up, self.device))
        return _uint8(out)[:height, :width]


class ExportedCodec:
    """The folded float networks of an exported Weights/<profile>/ folder (export.py)."""

    def __init__(self, folder):
        from . import export
        self.config, self.tensors = export.load_exported(folder)
        self.profile = self.config["profile"]

    def compact(self, img):
        import torch
        import torch.nn.functional as F
        from .export import run_layers
        if self.config["compact"] == "average2x2":
            return resample.average2x2(img)
        net = self.config["networks"]["com"]
        with torch.no_grad():
            x = _tensor(pad_even(img))
            return _uint8(F.avg_pool2d(x, 2) + run_layers(net, self.tensors, x))

    def reconstruct(self, decoded, height, width):
        import torch
        from .export import run_layers
        net = self.config["networks"]["rec"]
        up = resample.upsample2x(decoded)
        with torch.no_grad():
            u = _tensor(up)
            x = _tensor(decoded) if net["reads"] == "decoded" else u
            residual = run_layers(net, self.tensors, x)[..., :u.shape[-2], :u.shape[-1]]
            return _uint8(u + residual)[:height, :width]
