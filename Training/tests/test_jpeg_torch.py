"""jpeg.py: libjpeg's quantisation tables, and the differentiable stand-in against the real codec.
(jpeg.py imports torch at module level, so even the table test needs torch.)"""
import io
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from comrec_train import jpeg, metrics  # noqa: E402
from conftest import synthetic_image  # noqa: E402

pytestmark = pytest.mark.torch
QUALITIES = [5, 10, 20, 30, 40, 50, 60, 70, 80, 90]


@pytest.mark.parametrize("quality", [1, 2, 5, 10, 25, 49, 50, 51, 75, 90, 95, 100])
def test_quant_table_equals_what_pillow_writes(quality):
    from PIL import Image
    data = jpeg.encode(synthetic_image(32, 32), quality)
    tables = Image.open(io.BytesIO(data)).quantization  # Pillow gives natural (row-major) order
    assert list(jpeg.quant_table(jpeg.LUMA_BASE, quality)) == list(tables[0])
    assert list(jpeg.quant_table(jpeg.CHROMA_BASE, quality)) == list(tables[1])


def _proxy_vs_real(images, tables=jpeg.standard_tables, roundtrip=jpeg.roundtrip):
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()
    gaps, rates = [], []
    for q in QUALITIES:
        dec, rate = jpeg.jpeg_proxy(x, [q] * len(images), tables)
        dec = dec.round().clamp(0, 255).permute(0, 2, 3, 1).to(torch.uint8).numpy()
        gaps.append([metrics.psnr(d, img) - metrics.psnr(roundtrip(img, q)[0], img)
                     for d, img in zip(dec, images)])
        rates.append(rate.numpy())
    return np.array(gaps), np.array(rates)


def _check(images, **kind):
    gaps, rates = _proxy_vs_real(images, **kind)
    # The decoded estimate is close to the real round trip (measured here: within 0.6 dB).
    assert np.abs(gaps).max() < 1.5, gaps
    # The rate estimate rises with quality for every image: lower quality, fewer bits.
    assert np.all(np.diff(rates, axis=0) > 0), rates


def test_proxy_on_synthetic_images():
    _check([synthetic_image(64, 64, seed=s) for s in range(4)])


def test_the_standard_kinds_use_the_standard_tables():
    for kind in ("libjpeg", "trellis"):
        luma, chroma = jpeg.stored_tables(kind, "fast")(30)
        assert list(luma) == list(jpeg.quant_table(jpeg.LUMA_BASE, 30))
        assert list(chroma) == list(jpeg.quant_table(jpeg.CHROMA_BASE, 30))


def test_comrec_tables_are_the_runtimes():
    comrec = pytest.importorskip("comrec", reason="the comrec package (python/install.sh, PYTHONPATH=../python)")
    tables = jpeg.stored_tables("comrec", "fast")
    differs = False
    for q in (5, 10, 30, 50, 75, 90):
        data = comrec.encode(synthetic_image(48, 64, seed=q), quality=q, mode="full", profile="fast",
                             threads=1, tables="comrec")
        luma, chroma = jpeg.file_tables(data)
        assert list(tables(q)[0]) == list(luma) and list(tables(q)[1]) == list(chroma), q
        differs |= list(luma) != list(jpeg.standard_tables(q)[0])
    assert differs, "ComRec's tables are not the standard's"


def test_proxy_with_comrec_tables_follows_the_comrec_codec():
    pytest.importorskip("comrec", reason="the comrec package (python/install.sh, PYTHONPATH=../python)")
    _check([synthetic_image(64, 64, seed=s) for s in range(4)], tables=jpeg.stored_tables("comrec", "fast"),
           roundtrip=lambda img, q: jpeg.roundtrip_trellis(img, q, "fast", tables="comrec"))


@pytest.mark.datasets
def test_proxy_on_photo_crops(datasets_root):
    from PIL import Image
    folder = os.path.join(datasets_root, "train", "cbsd432")
    names = sorted(os.listdir(folder))[:4]
    crops = [np.asarray(Image.open(os.path.join(folder, n)).convert("RGB"))[96:160, 160:224]
             for n in names]
    _check(crops)
