"""data.load_train_and_dev: which folders of train/ are read (a config's "train_sets"), on a
made-up tree. numpy and Pillow only."""
import pytest
from PIL import Image

from comrec_train import data
from conftest import synthetic_image


@pytest.fixture
def two_set_tree(tmp_path):
    """train/cbsd432 with 14 images (the last 12 are the development set) and train/wikipedia
    with 3 of another size."""
    for name, count, size in (("cbsd432", 14, (200, 208)), ("wikipedia", 3, (240, 256))):
        folder = tmp_path / "train" / name
        folder.mkdir(parents=True)
        for k in range(count):
            Image.fromarray(synthetic_image(*size, seed=k)).save(folder / f"{k:03d}.png")
    return str(tmp_path)


def test_train_sets_choose_the_folders_and_keep_the_development_set(two_set_tree):
    both, dev_both = data.load_train_and_dev(two_set_tree)
    bsd_only, dev_bsd = data.load_train_and_dev(two_set_tree, ["cbsd432"])
    assert len(both) == 2 + 3 and len(bsd_only) == 2
    assert sorted(i.shape for i in both if i.shape[:2] == (240, 256)) == [(240, 256, 3)] * 3
    assert all(i.shape[:2] == (200, 208) for i in bsd_only)
    assert len(dev_both) == len(dev_bsd) == data.DEV_COUNT
    assert all((a == b).all() for a, b in zip(dev_both, dev_bsd))


@pytest.mark.parametrize("sets", [["wikipedia"], ["cbsd432", "kodak"], []])
def test_train_sets_must_name_known_folders_and_include_cbsd432(two_set_tree, sets):
    with pytest.raises(SystemExit, match="train_sets must include cbsd432"):
        data.load_train_and_dev(two_set_tree, sets)
