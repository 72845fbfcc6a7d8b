"""T_I training: the objective goes down, resume is exact, the guard stops NaN, bf16 runs."""
import json
import re

import pytest
import torch

from d2rl_lib.config import get_config
from d2rl_lib.errors import DivergenceError
from d2rl_lib.runtime import RunDir, seed_everything
from d2rl_lib.training.ti import TITrainer
from d2rl_lib.training.ti_stage import run_ti

TINY = ["data.train_ids=4", "data.test_ids=2", "data.images_per_camera=2", "schedule.ti_batch=4",
        "schedule.log_every=1", "schedule.sample_every=0", "schedule.checkpoint_every=0",
        "ti.channels=8", "ti.disc_channels=8", "ti.n_res=1", "runtime.device=cpu"]


def _fixed_batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(4, 3, 64, 32, generator=g) * 2 - 1, torch.rand(4, 1, 64, 32, generator=g) * 2 - 1


def test_a_few_steps_lower_the_objective():
    torch.manual_seed(0)
    tr = TITrainer(get_config("synthetic-ci", TINY), torch.device("cpu"))
    x, y = _fixed_batch()
    first = tr.g_step(x, y)["g"]
    for _ in range(15):
        tr.d_step(x, y)
        last = tr.g_step(x, y)["g"]
    assert last < first


def _log(run):
    """The logged values per step, without the 'of N steps' part that differs."""
    return [re.sub(r"/\d+", "", l) for l in run.log.read_text().splitlines() if l.startswith("T_I")]


def test_run_writes_fidelity_and_resumes_exactly(tmp_path):
    full = RunDir.create(tmp_path / "full")
    run_ti(get_config("synthetic-ci", TINY + ["schedule.ti_steps=3"]), full)
    fid = json.loads((full.root / "translation.json").read_text())
    for k in ("v2i_l1", "v2i_corr", "i2v_l1", "i2v_corr", "cycle_l1", "grey_l1", "grey_corr",
              "grey_matched_l1", "grey_matched_corr"):
        assert k in fid
    part = RunDir.create(tmp_path / "part")
    run_ti(get_config("synthetic-ci", TINY + ["schedule.ti_steps=2"]), part)
    run_ti(get_config("synthetic-ci", TINY + ["schedule.ti_steps=3"]), part, resume=True)
    assert _log(part) == _log(full)


def test_nan_guard_stops_with_a_report():
    tr = TITrainer(get_config("synthetic-ci", TINY), torch.device("cpu"))
    x, y = _fixed_batch()
    x[0, 0, 0, 0] = float("nan")
    from d2rl_lib.runtime import LossGuard
    g = tr.g_step(x, y)
    with pytest.raises(DivergenceError, match="T_I diverged at step 5"):
        LossGuard("T_I").check(5, g)


def test_bf16_autocast_step_on_cpu():
    # Seeded: the tiny T_I's first bf16 step gives an infinite discriminator loss from 3 of 40
    # initialisations (seeds 6, 11, 37), so an unseeded test passed or failed with the order the
    # tests ran in.
    seed_everything(0)
    tr = TITrainer(get_config("synthetic-ci", TINY + ["runtime.amp=bf16"]), torch.device("cpu"))
    x, y = _fixed_batch()
    d = tr.d_step(x, y)
    g = tr.g_step(x, y)
    assert all(torch.isfinite(torch.tensor(v)) for v in list(d.values()) + list(g.values()))


def test_identity_batches_hold_the_same_people_in_both_modalities(tmp_path):
    """schedule.ti_batch_ids: P identities x K visible + K infrared images, labels returned,
    the same batch for the same step, and the identity match reaches the generators."""
    from d2rl_lib.data.records import INFRARED, VISIBLE
    from d2rl_lib.data.synthetic import load_synthetic
    from d2rl_lib.training.ti_batches import UnpairedBatches

    cfg = get_config("synthetic-ci", TINY + ["schedule.ti_batch_ids=2", "ti.w_match=10"])
    train = load_synthetic(cfg.data, cache_dir=tmp_path).train
    batches = UnpairedBatches.from_config(train, cfg)
    x, y, kx, ky = batches.labelled(3)
    assert x.shape == (4, 3, 64, 32) and y.shape == (4, 1, 64, 32)
    assert kx.tolist() == ky.tolist() and len(set(kx.tolist())) == 2       # 2 people x 2 images
    assert kx[0] == kx[1] and kx[2] == kx[3]
    again = batches.labelled(3)
    assert torch.equal(again[0], x) and torch.equal(again[1], y)
    assert set(train.modality[batches.sampler.pools[int(kx[0])][0]]) == {VISIBLE}
    assert set(train.modality[batches.sampler.pools[int(kx[0])][1]]) == {INFRARED}
    tr = TITrainer(cfg, torch.device("cpu"))
    out = tr.g_step(x, y, kx=kx, ky=ky)
    assert out["match"] > 0
    assert "match" not in tr.g_step(x, y)                                   # no labels: no term
    with pytest.raises(Exception, match="multiple of schedule.ti_batch_ids"):
        UnpairedBatches(train, 4, 0, ids=3)
