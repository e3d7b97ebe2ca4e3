"""msssim.ms_ssim against pytorch_msssim's algorithm, re-implemented here in torch (float64).

pytorch_msssim (VainF/pytorch-msssim) is the implementation most learned-compression papers
report with. Its steps: separable 11-tap Gaussian (sigma 1.5) 'valid' convolution, SSIM and cs
maps averaged per channel, relu, avg_pool2d(2) between scales (zero padding on odd sides, so the
images here have sides that stay even through all four halvings), product of cs^w over the first
four scales and ssim^w at the fifth, mean over channels.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from comrec_train import msssim  # noqa: E402
from conftest import synthetic_image  # noqa: E402

pytestmark = pytest.mark.torch


def torch_ms_ssim(x, y, data_range=255.0):
    c = x.shape[1]
    coords = torch.arange(11, dtype=torch.float64) - 5
    g = torch.exp(-(coords ** 2) / (2 * 1.5 ** 2))
    g = (g / g.sum()).view(1, 1, 1, 11).repeat(c, 1, 1, 1)

    def blur(t):
        t = F.conv2d(t, g, groups=c)
        return F.conv2d(t, g.transpose(2, 3), groups=c)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    weights = torch.tensor([0.0448, 0.2856, 0.3001, 0.2363, 0.1333], dtype=torch.float64)
    mcs = []
    for level in range(5):
        mu1, mu2 = blur(x), blur(y)
        s11 = blur(x * x) - mu1 ** 2
        s22 = blur(y * y) - mu2 ** 2
        s12 = blur(x * y) - mu1 * mu2
        cs_map = (2 * s12 + c2) / (s11 + s22 + c2)
        ssim_map = ((2 * mu1 * mu2 + c1) / (mu1 ** 2 + mu2 ** 2 + c1)) * cs_map
        ssim_pc = torch.relu(ssim_map.flatten(2).mean(-1))
        cs = torch.relu(cs_map.flatten(2).mean(-1))
        if level < 4:
            mcs.append(cs)
            pad = [s % 2 for s in x.shape[2:]]
            x = F.avg_pool2d(x, 2, padding=pad)
            y = F.avg_pool2d(y, 2, padding=pad)
    stack = torch.stack(mcs + [ssim_pc], 0)
    return torch.prod(stack ** weights.view(-1, 1, 1), 0).mean().item()


def to_t(a):
    return torch.from_numpy(a.astype(np.float64)).permute(2, 0, 1)[None]


@pytest.mark.parametrize("sigma", [2, 10, 40])
def test_matches_pytorch_msssim_algorithm(sigma):
    a = synthetic_image(176, 192, seed=sigma)
    b = np.clip(np.rint(a + np.random.default_rng(sigma).normal(0, sigma, a.shape)), 0, 255).astype(np.uint8)
    assert msssim.ms_ssim(a, b) == pytest.approx(torch_ms_ssim(to_t(a), to_t(b)), abs=1e-9)
