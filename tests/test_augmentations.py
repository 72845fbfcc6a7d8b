"""The field's augmentation baselines (issue 34, point 3b): each one Method entry and one file of
d2rl_lib/augmentations/, trained on its views of the raw batch and scored on raw images."""
import pytest
import torch

from d2rl_lib.augmentations import views
from d2rl_lib.config import get_config
from d2rl_lib.data.records import INFRARED, VISIBLE
from d2rl_lib.runtime import RunDir
from d2rl_lib.training.run import run_method

TINY = ["data.train_ids=6", "data.test_ids=4", "data.images_per_camera=2", "data.trials=2",
        "schedule.batch_ids=3", "schedule.batch_images=2", "schedule.log_every=1",
        "schedule.checkpoint_every=0", "runtime.device=cpu", "schedule.joint_steps=0", "schedule.tf_steps=2"]
MOD = torch.tensor([VISIBLE, VISIBLE, INFRARED, INFRARED])


def _images():
    x = torch.rand(4, 3, 8, 4) * 2 - 1
    x[2:] = x[2:, :1].expand(-1, 3, -1, -1)                        # infrared: three equal channels
    return x


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    return run_method(get_config("synthetic-ci", TINY + ["method=baseline"]),
                      RunDir.create(tmp_path_factory.mktemp("baseline")))


@pytest.mark.parametrize("name", ["random-grayscale", "channel-exchange"])
def test_an_augmentation_method_trains_on_its_views_and_scores_on_raw_images(name, baseline, tmp_path):
    m = run_method(get_config("synthetic-ci", TINY + [f"method={name}"]), RunDir.create(tmp_path / name))
    assert m["method"] == name and m["mAP"] != baseline["mAP"]


def test_random_grayscale_greys_about_half_and_keeps_the_batch():
    torch.manual_seed(0)
    x = torch.rand(400, 3, 2, 2) * 2 - 1
    out, mod, labels = views("random_grayscale")(x, torch.zeros(400, dtype=torch.long), torch.arange(400))
    grey = (out[:, 0] == out[:, 1]).all(-1).all(-1) & (out[:, 1] == out[:, 2]).all(-1).all(-1)
    assert 150 < int(grey.sum()) < 250 and torch.equal(out[~grey], x[~grey])
    assert torch.equal(labels, torch.arange(400)) and len(mod) == 400


def test_channel_exchange_adds_one_band_view_of_each_visible_image():
    torch.manual_seed(0)
    x, labels = _images(), torch.tensor([7, 8, 7, 8])
    out, mod, lab = views("channel_exchange")(x, MOD, labels)
    assert out.shape == (6, 3, 8, 4) and mod.tolist() == [0, 0, 1, 1, 0, 0] and lab.tolist() == [7, 8, 7, 8, 7, 8]
    assert torch.equal(out[:2], x[:2]) and torch.equal(out[2:4], x[2:4])   # infrared: equal channels stay
    for view, original in zip(out[4:], x[:2]):                       # one of R, G, B copied to three
        assert torch.equal(view[0], view[1]) and torch.equal(view[1], view[2])
        assert any(torch.equal(view[0], original[c]) for c in range(3))
