"""ceilings.perfect_translation_scores: the premise test of notebook 06 on a tiny world."""
import pytest
import torch

from d2rl_lib.analysis.ceilings import perfect_translation_scores
from d2rl_lib.config import get_config
from d2rl_lib.errors import UserError
from d2rl_lib.models.translation import T_I
from d2rl_lib.runtime import RunDir
from d2rl_lib.training.run import run_method
from d2rl_lib.evaluation.trained import load_run

TINY = ["data.train_ids=6", "data.test_ids=4", "data.images_per_camera=2", "data.trials=2",
        "schedule.batch_ids=3", "schedule.batch_images=2", "schedule.tf_steps=2",
        "schedule.checkpoint_every=0", "runtime.device=cpu", "method=baseline"]


class TwinTranslator(torch.nn.Module):
    """A stand-in T_I whose V->IR translation is whatever it is told (the true twins)."""

    def __init__(self, twins: torch.Tensor):
        super().__init__()
        self.twins = twins                                       # [Nv, 1, H, W] in [-1, 1]

    def v2i(self, x):
        out, self.twins = self.twins[:len(x)], self.twins[len(x):]
        return out


def test_rows_and_what_they_mean(tmp_path):
    run_method(get_config("synthetic-ci", TINY + ["data.ir_hidden_sd=0.3"]), RunDir.create(tmp_path / "b"))
    run = load_run(tmp_path / "b")
    from d2rl_lib.data.records import VISIBLE, to_signed
    from d2rl_lib.data.synthetic import load_synthetic

    test = load_synthetic(run.cfg.data).test
    twins = to_signed(test.paired[test.modality == VISIBLE][:, :1])
    t_i = T_I(run.cfg.ti)
    s = perfect_translation_scores(run, {"twin": TwinTranslator(twins), "untrained": t_i})
    assert set(s) == {"as_is", "gallery_as_true_infrared", "gallery_as_knowable_infrared",
                      "queries_as_true_visible", "gallery_translated_by_twin",
                      "gallery_translated_by_untrained", "knowable_infrared_fidelity"}
    assert abs(s["as_is"]["mAP"] - run.metrics["mAP"]) < 0.01          # the run's own score
    # a translator that returns the true twins is the perfect translator, and correlates 1
    assert s["gallery_translated_by_twin"]["mAP"] == s["gallery_as_true_infrared"]["mAP"]
    assert s["gallery_translated_by_twin"]["v2i_corr"] == pytest.approx(1.0, abs=1e-3)
    assert s["gallery_translated_by_untrained"]["v2i_corr"] < 0.9
    # with a large hidden heat, the knowable twin is clearly not the true one
    assert s["knowable_infrared_fidelity"]["v2i_corr"] < 0.95 and s["knowable_infrared_fidelity"]["v2i_l1"] > 0.01


def test_without_hidden_heat_the_knowable_twin_is_the_true_one(tmp_path):
    run_method(get_config("synthetic-ci", TINY + ["data.ir_hidden_sd=0"]), RunDir.create(tmp_path / "b"))
    s = perfect_translation_scores(load_run(tmp_path / "b"))
    assert s["gallery_as_knowable_infrared"] == s["gallery_as_true_infrared"]
    assert s["knowable_infrared_fidelity"] == {"v2i_l1": 0.0, "v2i_corr": 1.0}


def test_refuses_a_run_with_t_i(tmp_path):
    cfg = get_config("synthetic-ci", TINY + ["method=d2rl-frozen", "schedule.ti_steps=1", "schedule.ti_batch=2",
                                            "ti.channels=8", "ti.disc_channels=8", "ti.n_res=1"])
    run_method(cfg, RunDir.create(tmp_path / "f"))
    with pytest.raises(UserError, match="raw-image run"):
        perfect_translation_scores(load_run(tmp_path / "f"))
