"""The synthetic world: determinism, pairing, layout of the ImageSets, bad settings."""
import dataclasses

import numpy as np
import pytest
import torch

from d2rl_lib.config import get_config
from d2rl_lib.data.records import INFRARED, VISIBLE
from d2rl_lib.data.synthetic import SyntheticWorld, WorldSpec, load_synthetic
from d2rl_lib.errors import UserError

SMALL = WorldSpec(world_seed=3, train_ids=3, test_ids=2, images_per_camera=2)


def test_same_seed_same_bytes_other_seed_other_bytes():
    a, _ = SyntheticWorld(SMALL).render(2, 1, 0)
    b, _ = SyntheticWorld(SMALL).render(2, 1, 0)
    c, _ = SyntheticWorld(WorldSpec(world_seed=4)).render(2, 1, 0)
    assert a.dtype == np.uint8 and a.shape == (64, 32, 3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_infrared_is_three_identical_channels_and_differs_from_grey():
    w = SyntheticWorld(SMALL)
    ir, _ = w.render(1, 3, 0)
    assert np.array_equal(ir[..., 0], ir[..., 1]) and np.array_equal(ir[..., 1], ir[..., 2])
    vis, _ = w.render(1, 3, 0, paired=True)          # the same instant in visible light
    grey = vis.astype(float) @ np.array([0.299, 0.587, 0.114])
    assert np.corrcoef(grey.ravel(), ir[..., 0].astype(float).ravel())[0, 1] < 0.9


def test_pairs_share_the_instant():
    w = SyntheticWorld(SMALL)
    for cam in (1, 3, 5):
        img, mask = w.render(1, cam, 1)
        twin, twin_mask = w.render(1, cam, 1, paired=True)
        assert np.array_equal(mask, twin_mask)       # same pose, same silhouette
        is_ir = img[..., 0].tolist() == img[..., 1].tolist()
        twin_ir = twin[..., 0].tolist() == twin[..., 1].tolist()
        assert is_ir != twin_ir                      # the other modality


def test_image_sets_layout(tmp_path):
    cfg = get_config("synthetic-ci", ["data.train_ids=3", "data.test_ids=2", "data.images_per_camera=2"])
    data = load_synthetic(cfg.data, cache_dir=tmp_path)
    tr, te = data.train, data.test
    assert len(tr) == 3 * 6 * 2 and len(te) == 2 * 6 * 2
    assert tr.images.shape == (36, 3, 64, 32) and tr.images.dtype == torch.uint8
    assert tr.paired.shape == tr.images.shape and tr.masks.shape == (36, 1, 64, 32)
    assert set(tr.pids) == {1, 2, 3} and set(te.pids) == {4, 5}
    assert sorted(set(tr.labels)) == [0, 1, 2] and te.labels is None
    assert set(tr.cams[tr.modality == INFRARED]) == {3, 6}
    assert set(tr.cams[tr.modality == VISIBLE]) == {1, 2, 4, 5}
    assert tr.names[0] == "cam1/0001/0001.jpg"
    # the disk cache returns the same bytes
    again = load_synthetic(cfg.data, cache_dir=tmp_path)
    assert torch.equal(again.train.images, tr.images)
    assert list(tmp_path.glob("world-*.pt"))


@pytest.mark.parametrize("spec, fragment", [
    (WorldSpec(train_ids=1), "at least 2 train"),
    (WorldSpec(height=60), "multiples of 16"),
    (WorldSpec(height=16, width=16), "at least 32x16"),
    (WorldSpec(ir_model="rainbow"), "choose one of nir, thermal, hue-lookup"),
    (WorldSpec(ir_hidden_sd=-0.1), "ir_hidden_sd=-0.1: must be >= 0"),
    (WorldSpec(dye_response="inverted"), "choose one of world, reversed, blind"),
])
def test_invalid_settings_are_refused(spec, fragment):
    with pytest.raises(UserError, match=fragment):
        SyntheticWorld(spec)


def test_hue_lookup_changes_only_infrared():
    smooth = SyntheticWorld(WorldSpec(world_seed=1, ir_model="thermal"))
    hard = SyntheticWorld(WorldSpec(world_seed=1, ir_model="hue-lookup"))
    assert np.array_equal(smooth.render(3, 1, 0)[0], hard.render(3, 1, 0)[0])
    assert not np.array_equal(smooth.render(3, 3, 0)[0], hard.render(3, 3, 0)[0])


def test_hidden_heat_knob_changes_only_the_infrared_and_keeps_the_default_key():
    none_spec = dataclasses.replace(SMALL, ir_hidden_sd=0.0)
    assert SMALL.key() == dataclasses.replace(SMALL, ir_hidden_sd=0.08).key() != none_spec.key()
    base, none = SyntheticWorld(SMALL), SyntheticWorld(none_spec)
    garments = lambda p: (p.top, p.bottom, p.shoes, p.bag_item, p.hat_item)  # noqa: E731
    assert all(g.hidden_offset == 0 for g in garments(none.person(1)))
    assert any(g.hidden_offset != 0 for g in garments(base.person(1)))
    assert np.array_equal(base.render(1, 1, 0)[0], none.render(1, 1, 0)[0])        # visible: same
    assert not np.array_equal(base.render(1, 3, 0)[0], none.render(1, 3, 0)[0])    # infrared: not
