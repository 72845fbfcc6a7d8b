"""fidelity.translation_ceiling (benchmarks/translation_ceiling.py): the knowable part of
the infrared twin."""
import dataclasses

import numpy as np
import pytest

from d2rl_lib.config import get_config
from d2rl_lib.data.synthetic.world import SyntheticWorld, WorldSpec
from d2rl_lib.fidelity import translation_ceiling


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
    assert np.array_equal(before, after)                 # noise, materials, dyes restored
