"""models.py: the float x2 upsampling is the integer one before its rounding."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from comrec_train import models, resample  # noqa: E402
from conftest import synthetic_image  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.mark.parametrize("h,w", [(1, 1), (3, 5), (8, 8), (17, 12), (40, 33)])
def test_float_upsample_rounds_to_the_integer_one(h, w):
    # Every product and partial sum is a multiple of 2^-14 below 2^10 in magnitude: exact in
    # float32, so floor(v + 0.5) must reproduce (sum + 2^13) >> 14 bit for bit.
    rng = np.random.default_rng(h * w)
    for img in (rng.integers(0, 256, (h, w, 3), dtype=np.uint8), synthetic_image(h, w, seed=h)):
        x = torch.from_numpy(img.copy()).permute(2, 0, 1)[None].float()
        v = models.upsample2x(x)[0].permute(1, 2, 0)
        out = torch.floor(v + 0.5).clamp(0, 255).to(torch.uint8).numpy()
        assert np.array_equal(out, resample.upsample2x(img))
