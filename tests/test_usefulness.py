"""The usefulness of a translation (d2rl_lib.analysis.usefulness) on cases whose answer is
known: the true twin is a perfect rendering, grey's fidelity is what fidelity.py says, the
raw row is the scorer's own score, and bad inputs are refused."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from d2rl_lib.analysis import usefulness
from d2rl_lib.config import get_config
from d2rl_lib.data.records import VISIBLE
from d2rl_lib.data.synthetic import load_synthetic
from d2rl_lib.errors import UserError
from d2rl_lib.evaluation.retrieval import evaluate_sysu_like, extract_features
from d2rl_lib.evaluation.fidelity import translation_fidelity
from d2rl_lib.inputs import prepare_raw
from d2rl_lib.models.embedding import T_F

SMALL = ["data.train_ids=6", "data.test_ids=4", "data.images_per_camera=2", "data.trials=2",
         "method=baseline"]


def _run(cfg):
    torch.manual_seed(0)
    return SimpleNamespace(cfg=cfg, t_f=T_F(4, 3, "resnet18", 2).eval(), t_i=None, prepare=prepare_raw(),
                           device=torch.device("cpu"))


def test_the_true_twin_is_perfect_and_grey_is_what_fidelity_says():
    cfg = get_config("synthetic-ci", SMALL)
    run = _run(cfg)
    test = load_synthetic(cfg.data).test
    refs = usefulness.reference_renderings(run)
    rows = usefulness.gallery_usefulness(run, refs)
    assert list(rows) == ["raw", "grey", "knowable_twin", "true_twin"]
    true = rows["true_twin"]
    assert true["person_corr"] == pytest.approx(1.0) and true["person_l1"] == 0.0
    assert true["frame_corr"] == pytest.approx(1.0) and true["frame_l1"] == 0.0
    assert 0.9 < rows["knowable_twin"]["person_corr"] < 1.0                  # all but the hidden part
    grey = _grey_fidelity(test)
    assert rows["grey"]["person_corr"] == pytest.approx(grey["grey_corr"], abs=1e-4)
    assert rows["grey"]["frame_l1"] == pytest.approx(grey["grey_frame_l1"], abs=1e-4)
    # the raw row is the scorer's own IR->V score
    d = cfg.data
    own = evaluate_sysu_like(test, extract_features(run.t_f, test.images, test.modality, run.prepare, run.device),
                             d.search_mode, d.shots, d.trials, d.gallery_sampler)
    assert rows["raw"]["mAP"] == round(own["mAP"], 2)
    assert all(0 <= r["mAP"] <= 100 for r in rows.values())


def _grey_fidelity(test):
    """translation_fidelity's grey measures, through a translator that is never used for them."""
    class Grey(torch.nn.Module):
        def v2i(self, x):
            return x[:, :1]

        def i2v(self, y):
            return y.expand(-1, 3, -1, -1)
    return translation_fidelity(Grey(), test, torch.device("cpu"))


def test_bad_renderings_and_scorers_are_refused():
    cfg = get_config("synthetic-ci", SMALL)
    run = _run(cfg)
    n = int((load_synthetic(cfg.data).test.modality == VISIBLE).sum())
    with pytest.raises(UserError, match="uint8"):
        usefulness.gallery_usefulness(run, {"bad": torch.zeros(n, 3, 64, 32, dtype=torch.uint8)})
    with pytest.raises(UserError, match="raw-image run"):
        usefulness.gallery_usefulness(SimpleNamespace(**{**vars(run), "t_i": object()}), {})
    assert np.isfinite(usefulness.gallery_usefulness(run, {})["raw"]["mAP"])
