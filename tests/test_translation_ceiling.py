"""ceilings.translation_ceiling (experiments/translation_ceiling.py): the knowable part of
the infrared twin."""
import dataclasses

import numpy as np
import pytest

from d2rl_lib.analysis.ceilings import translation_ceiling
from d2rl_lib.config import get_config
from d2rl_lib.data.synthetic.world import SyntheticWorld, WorldSpec


@pytest.mark.parametrize("ir_model", ["nir", "thermal"])
def test_ceiling_orders_and_leaves_the_world_unchanged(ir_model):
    cfg = get_config("synthetic-ci", [f"data.ir_model={ir_model}"])
    spec = dataclasses.replace(WorldSpec.from_config(cfg.data), test_ids=4)
    before = SyntheticWorld(spec).render(spec.train_ids + 1, 1, 0, paired=True)[0]
    scores = translation_ceiling(spec, per_camera=1)
    corr = [scores[k]["v2i_corr"] for k in ("no_noise", "no_noise_no_hidden", "knowable")]
    # each removal takes away part of the twin: less and less of it is left to correlate
    assert 1.0 > corr[0] > corr[1] > corr[2] > 0.5
    # the dye carries part of the knowable twin: turning its effect round or ignoring it costs
    assert scores["dye_reversed"]["v2i_corr"] < corr[2]
    assert scores["dye_blind"]["v2i_corr"] < corr[2]
    after = SyntheticWorld(spec).render(spec.train_ids + 1, 1, 0, paired=True)[0]
    assert np.array_equal(before, after)                 # the variants are other WorldSpecs


def test_the_knobs_are_part_of_the_cache_key_and_the_default_key_is_unchanged():
    spec = WorldSpec()
    # the key of a default world is the one it had before the knobs existed
    assert spec.key() == dataclasses.replace(spec, sensor_noise=True, average_materials=False,
                                             dye_response="world").key()
    keys = {spec.key(), dataclasses.replace(spec, sensor_noise=False).key(),
            dataclasses.replace(spec, average_materials=True).key(),
            dataclasses.replace(spec, dye_response="reversed").key(),
            dataclasses.replace(spec, dye_response="blind").key()}
    assert len(keys) == 5


def test_the_knobs_change_only_what_they_say():
    spec = WorldSpec(world_seed=2, train_ids=2, test_ids=2, images_per_camera=1)
    world = SyntheticWorld(spec)
    quiet = SyntheticWorld(dataclasses.replace(spec, average_materials=True, dye_response="blind"))
    assert np.array_equal(world.render(1, 1, 0)[0], quiet.render(1, 1, 0)[0])      # visible: same
    assert not np.array_equal(world.render(1, 3, 0)[0], quiet.render(1, 3, 0)[0])  # infrared: not
    clean = SyntheticWorld(dataclasses.replace(spec, sensor_noise=False))
    assert not np.array_equal(world.render(1, 1, 0)[0], clean.render(1, 1, 0)[0])
