"""The near-infrared camera model (data.ir_model=nir, the default) beside the thermal and
hue-lookup ones: the physics it promises, determinism, and that the three differ."""
import dataclasses

import numpy as np
import pytest

from d2rl_lib.config import get_config
from d2rl_lib.data.synthetic import SyntheticWorld, WorldSpec
from d2rl_lib.data.synthetic.cameras import CAMERAS
from d2rl_lib.data.synthetic.geometry import OCCLUDER
from d2rl_lib.data.synthetic.nearinfrared import (LUMA, SKIN_NIR, garment_reflectance,
                                                  render_nir)
from d2rl_lib.data.synthetic.people import BG, TOP

SPEC = WorldSpec(world_seed=5, train_ids=4, test_ids=2, images_per_camera=2)


def _plain(g, dye):
    """The garment ``g`` dyed ``dye`` all over, cotton, no hidden offset."""
    return dataclasses.replace(g, dye=np.asarray(dye, float), dye2=np.asarray(dye, float),
                               pattern=0, material=0, hidden_offset=0.0)


def test_nir_is_the_default_of_the_world_and_the_synthetic_presets():
    assert WorldSpec().ir_model == "nir"
    for preset in ("synthetic-ci", "synthetic-classroom"):
        assert get_config(preset).data.ir_model == "nir"


def test_skin_outshines_a_blue_garment_of_the_same_luminance():
    g = SyntheticWorld(SPEC).person(1).top
    blue = np.array([0.1, 0.25, 0.9])
    lum = float(blue @ LUMA)
    skin = SKIN_NIR[0] + SKIN_NIR[1] * lum
    assert skin > garment_reflectance(_plain(g, blue), blue) + 0.2


def _top_brightness(world, person, cam=3):
    """Mean near-infrared intensity of ``person``'s top in camera ``cam``'s first image."""
    _, (lab, alt, s) = world._scene(1, cam, 0)
    img = render_nir(person, CAMERAS[cam], lab, alt, s, np.random.default_rng(0))
    return float(img[lab == TOP].mean()), img, lab


def test_red_clothes_are_brighter_than_green_ones_of_equal_luminance():
    w = SyntheticWorld(SPEC)
    p = w.person(1)
    red, green = np.array([0.7, 0.15, 0.15]), np.array([0.1, 0.45, 0.05])
    assert abs(float(red @ LUMA) - float(green @ LUMA)) < 0.05     # the same in grey
    bright, _, _ = _top_brightness(w, dataclasses.replace(p, top=_plain(p.top, red)))
    dark, _, _ = _top_brightness(w, dataclasses.replace(p, top=_plain(p.top, green)))
    assert bright > 1.8 * dark


def test_the_lit_person_is_brighter_than_the_far_background():
    w = SyntheticWorld(SPEC)
    for pid in (1, 2, 3):
        for cam in (3, 6):
            img, mask = w.render(pid, cam, 0)
            grey = img[..., 0].astype(float)
            assert grey[mask].mean() > grey[~mask].mean() + 20, (pid, cam)


def test_the_spot_is_brightest_in_the_middle():
    w = SyntheticWorld(SPEC)
    _, img, lab = _top_brightness(w, w.person(1))
    back = np.where(lab == BG, img, np.nan)
    h = img.shape[0]
    assert np.nanmean(back[h // 3: 2 * h // 3]) > np.nanmean(back[: h // 8])


@pytest.mark.parametrize("model", ["nir", "thermal", "hue-lookup"])
def test_each_model_renders_deterministically(model):
    spec = dataclasses.replace(SPEC, ir_model=model)
    a, mask = SyntheticWorld(spec).render(2, 6, 1)
    b, _ = SyntheticWorld(spec).render(2, 6, 1)
    assert a.shape == (64, 32, 3) and a.dtype == np.uint8 and mask.any()
    assert np.array_equal(a, b)


def test_the_three_models_differ_in_the_infrared_only():
    worlds = {m: SyntheticWorld(dataclasses.replace(SPEC, ir_model=m))
              for m in ("nir", "thermal", "hue-lookup")}
    ir = {m: w.render(2, 3, 0)[0] for m, w in worlds.items()}
    assert not np.array_equal(ir["nir"], ir["thermal"])
    assert not np.array_equal(ir["nir"], ir["hue-lookup"])
    assert not np.array_equal(ir["thermal"], ir["hue-lookup"])
    vis = [w.render(2, 1, 0)[0] for w in worlds.values()]
    assert all(np.array_equal(vis[0], v) for v in vis[1:])
    assert len({dataclasses.replace(SPEC, ir_model=m).key() for m in worlds}) == 3


def test_colour_carries_across_in_nir_but_not_in_thermal():
    """Plain grey of the visible twin tracks the near-infrared person, not the thermal one."""
    def corr(model):
        w = SyntheticWorld(dataclasses.replace(SPEC, ir_model=model))
        rs = []
        for pid in (1, 2, 3, 4):
            ir, mask = w.render(pid, 3, 0)
            vis, _ = w.render(pid, 3, 0, paired=True)
            keep = mask & ~(w._scene(pid, 3, 0)[1][0] == OCCLUDER)
            rs.append(np.corrcoef((vis.astype(float) @ LUMA)[keep], ir[..., 0][keep])[0, 1])
        return float(np.mean(rs))
    assert corr("nir") > 0.4 > corr("thermal")
