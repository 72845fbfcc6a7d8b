"""The modality-gap measures (d2rl_lib.analysis.gap) on hand-made features whose answer is known,
and loading a run back (d2rl_lib.evaluation.trained) with its errors."""
import numpy as np
import pytest
import torch

from d2rl_lib.errors import UserError
from d2rl_lib.analysis.gap import gap_measures, gap_ratio, measure_spaces, modality_probe

torch.set_num_threads(1)


def clusters(offset: float = 0.0, ids: int = 40, per: int = 5, dim: int = 32, noise: float = 0.3,
             seed: int = 0):
    """``ids`` identity centres; ``per`` visible and ``per`` infrared samples around each.
    Infrared samples are shifted by ``offset`` along one fixed axis (a pure modality gap)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(ids, dim))
    pids = np.repeat(np.arange(ids), 2 * per)
    mod = np.tile(np.r_[np.zeros(per), np.ones(per)], ids).astype(np.int64)
    f = centres[pids] + noise * rng.normal(size=(len(pids), dim))
    f[:, 0] += offset * mod
    return f, pids, mod


def brute_force(f, pids, mod):
    f = f / np.linalg.norm(f, axis=1, keepdims=True)
    cross, within = [], []
    for i in range(len(f)):
        for j in range(len(f)):
            if i != j and pids[i] == pids[j]:
                (cross if mod[i] != mod[j] else within).append(np.linalg.norm(f[i] - f[j]))
    return np.mean(cross), np.mean(within)


def test_ratio_matches_a_pairwise_loop_and_chunking_changes_nothing():
    f, pids, mod = clusters(offset=1.0, ids=6, per=3)
    cross, within = brute_force(f, pids, mod)
    g = gap_ratio(f, pids, mod)
    assert g["cross"] == pytest.approx(cross, rel=1e-9) and g["within"] == pytest.approx(within, rel=1e-9)
    assert g["cross_pairs"] == 6 * 3 * 3 and g["within_pairs"] == 6 * 2 * 3
    assert gap_ratio(f[pids == 0], pids[pids == 0], mod[pids == 0])["cross_vs_others"] is None
    chunked = gap_ratio(torch.as_tensor(f, dtype=torch.float32), pids, mod, max_elements=40)
    assert chunked["ratio"] == pytest.approx(g["ratio"], rel=1e-5)


def test_identical_distributions_have_no_gap():
    f, pids, mod = clusters(offset=0.0)
    g = gap_measures(f, pids, mod)
    assert abs(g["ratio"] - 1) < 0.05
    assert abs(g["probe"] - 0.5) < 0.12
    assert g["different_ids"] > 2 * g["within"]           # identities are well apart
    assert g["cross_vs_others"] < 0.5                      # same person, other modality: close


def test_a_constant_modality_offset_is_a_large_gap():
    f, pids, mod = clusters(offset=16.0)                   # |offset| ~ 3 x |feature|
    g = gap_measures(f, pids, mod)
    assert g["ratio"] > 2.5
    assert g["cross_vs_others"] > 1                        # farther than two different people
    assert g["probe"] > 0.95


def test_gap_grows_with_the_offset():
    ratios = [gap_ratio(*clusters(offset=o))["ratio"] for o in (0.0, 1.0, 2.0, 4.0)]
    assert ratios == sorted(ratios) and ratios[-1] > ratios[0] + 0.5


def test_measures_ignore_feature_scale():
    f, pids, mod = clusters(offset=1.0)
    scale = np.random.default_rng(1).uniform(0.1, 50, size=(len(f), 1))   # per-sample scale too
    a, b = gap_ratio(f, pids, mod), gap_ratio(f * scale, pids, mod)
    assert b["ratio"] == pytest.approx(a["ratio"], rel=1e-9)
    assert b["cross_vs_others"] == pytest.approx(a["cross_vs_others"], rel=1e-9)
    assert modality_probe(f * 7.5, mod, pids) == modality_probe(f, mod, pids)


def test_probe_cannot_memorise_people():
    """Each person is mostly one 'modality' (8 of 10 samples), decided at random per
    person, and the features carry no modality signal, only who the person is. A probe
    split by sample would learn each person's majority; split by identity it is at chance."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold, cross_val_score

    f, pids, _ = clusters(offset=0.0, ids=40, noise=0.05)
    rng = np.random.default_rng(3)
    major = rng.integers(0, 2, size=40)
    labels = np.concatenate([rng.permutation([major[p]] * 8 + [1 - major[p]] * 2) for p in range(40)])
    by_sample = cross_val_score(LogisticRegression(max_iter=5000), f, labels,
                                cv=KFold(2, shuffle=True, random_state=0)).mean()
    assert by_sample > 0.65                                 # memorising people pays off ...
    assert abs(modality_probe(f, labels, pids, seed=0) - 0.5) < 0.1    # ... but not here


def test_probe_is_seeded():
    f, pids, mod = clusters(offset=0.5)
    assert modality_probe(f, mod, pids, seed=4) == modality_probe(f, mod, pids, seed=4)


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(features=np.zeros((4, 3, 2))), "2-D"),
    (dict(pids=np.arange(3)), "one entry per sample"),
    (dict(modality=np.array([0, 1, 2, 0])), "modality must hold only"),
    (dict(features=np.array([[1.0, 0], [np.nan, 1], [1, 1], [0, 1]])), "NaN"),
    (dict(features=np.array([[1.0, 0], [0, 0], [1, 1], [0, 1]])), "all zeros"),
    (dict(modality=np.array([0, 0, 0, 0])), "both modalities"),
    (dict(pids=np.array([0, 1, 2, 3])), "no identity has samples in both"),
    (dict(pids=np.array([0, 0, 1, 1]), modality=np.array([0, 1, 0, 1])), "two samples of one modality"),
])
def test_gap_ratio_errors(kwargs, fragment):
    args = dict(features=np.array([[1.0, 0], [0, 1], [1, 1], [0.5, 1]]), pids=np.array([0, 0, 0, 0]),
                modality=np.array([0, 0, 1, 1]))
    args.update(kwargs)
    with pytest.raises(UserError, match=fragment):
        gap_ratio(args["features"], args["pids"], args["modality"])


def test_probe_errors():
    f, pids, mod = clusters(ids=3)
    with pytest.raises(UserError, match="at least `folds` identities"):
        modality_probe(f, mod, pids, folds=4)
    one_sided = np.where(pids < 2, 0, 1)                   # identities 0, 1 visible only
    with pytest.raises(UserError, match="one modality only"):
        modality_probe(f, one_sided, pids, folds=3)


def test_measure_spaces_on_an_untrained_network():
    from d2rl_lib.models.embedding import T_F
    from d2rl_lib.inputs import prepare_raw

    torch.manual_seed(0)
    n_ids, per = 6, 3
    pids = np.repeat(np.arange(n_ids), 2 * per)
    mod = np.tile(np.r_[np.zeros(per), np.ones(per)], n_ids).astype(np.int64)
    images = torch.randint(0, 256, (len(pids), 3, 64, 32), dtype=torch.uint8)
    images[mod == 1] = images[mod == 1][:, :1].expand(-1, 3, -1, -1)     # grey infrared
    t_f = T_F(n_ids, 3, "resnet18", 2)
    out = measure_spaces(t_f, prepare_raw(grey_visible=True), images, pids, mod, pixels=(16, 8))
    assert set(out["spaces"]) == {"image", "unified", "feature"}
    assert out["spaces"]["image"]["dim"] == 3 * 16 * 8 and out["spaces"]["feature"]["dim"] == 512
    # grey conversion makes the visible images grey like the infrared ones: the unified
    # space differs from the image space for `grayscale`
    assert out["spaces"]["unified"]["ratio"] != out["spaces"]["image"]["ratio"]
    assert not t_f.training
    import json
    json.dumps(out)                                                        # JSON-able


# -- loading a run back --------------------------------------------------------------
def test_load_run_refuses_what_is_not_a_run(tmp_path):
    from d2rl_lib.evaluation.trained import load_run

    with pytest.raises(UserError, match="does not exist"):
        load_run(tmp_path / "nope")
    with pytest.raises(UserError, match="not a d2rl run"):
        load_run(tmp_path)
    (tmp_path / "ti" / "checkpoints").mkdir(parents=True)
    torch.save({"trainer": {}, "step": 1}, tmp_path / "ti" / "checkpoints" / "ti_last.pt")
    with pytest.raises(UserError, match="only a T_I checkpoint"):
        load_run(tmp_path / "ti")
    with pytest.raises(UserError, match="T_I-only checkpoint"):
        load_run(tmp_path / "ti" / "checkpoints" / "ti_last.pt")
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(UserError, match="not a checkpoint of a d2rl method run"):
        load_run(other)
    text = tmp_path / "text.pt"
    text.write_text("hello")
    with pytest.raises(UserError, match="cannot read checkpoint"):
        load_run(text)


def test_load_run_refuses_weights_that_do_not_fit(tmp_path):
    from d2rl_lib.config import get_config
    from d2rl_lib.models.embedding import T_F
    from d2rl_lib.evaluation.trained import load_run

    cfg = get_config("synthetic-ci", ["method=baseline"])
    state = {"trainer": {"model": T_F(5, 3, "resnet18", 2).state_dict()}, "config": cfg.to_dict(),
             "num_classes": 7, "in_channels": 3, "step": 3}
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(UserError, match="do not fit"):
        load_run(tmp_path / "bad.pt")
    state["num_classes"] = 5
    torch.save(state, tmp_path / "good.pt")
    run = load_run(tmp_path / "good.pt")
    assert run.t_i is None and not run.t_f.training and run.metrics is None and not run.complete


def test_image_files_measure_like_images_in_memory(tmp_path):
    """measure_run reads file-backed sets (SYSU-MM01, RegDB) lazily; PNG is lossless, so
    the numbers equal those of the same images in memory."""
    from types import SimpleNamespace

    from PIL import Image

    from d2rl_lib.config import get_config
    from d2rl_lib.data.records import ImageSet
    from d2rl_lib.analysis.gap import measure_run
    from d2rl_lib.models.embedding import T_F
    from d2rl_lib.inputs import prepare_raw

    torch.manual_seed(0)
    pids = np.repeat(np.arange(4), 4)
    mod = np.tile([0, 0, 1, 1], 4)
    images = torch.randint(0, 256, (16, 3, 32, 16), dtype=torch.uint8)
    paths = []
    for i, img in enumerate(images):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(img.permute(1, 2, 0).numpy()).save(paths[-1])
    cams = np.where(mod == 0, 1, 3)
    memory = ImageSet(pids=pids, cams=cams, modality=mod, images=images)
    files = ImageSet(pids=pids, cams=cams, modality=mod, paths=paths, meta={"size": (32, 16)})
    run = SimpleNamespace(t_f=T_F(4, 3, "resnet18", 2), prepare=prepare_raw(),
                          device=torch.device("cpu"), method="baseline",
                          cfg=get_config("synthetic-ci", ["method=baseline"]))
    a, b = measure_run(run, memory, pixels=(8, 4)), measure_run(run, files, pixels=(8, 4))
    assert a == b and a["method"] == "baseline"


def test_ratio_bootstrap_over_identities_and_change():
    """The bootstrap resamples whole identities (the same samples for two spaces of one
    seed), its interval holds the ratio, and ``change`` calls a shift measurable only when
    it is larger than the noise of which people were drawn."""
    from d2rl_lib.analysis.gap import change, interval, ratio_draws
    f, pids, mod = clusters(offset=2.0)
    draws = ratio_draws(f, pids, mod, draws=300, seed=1)
    lo, hi = interval(draws)
    assert draws.shape == (300,) and lo < gap_ratio(f, pids, mod)["ratio"] < hi
    assert np.array_equal(draws, ratio_draws(f, pids, mod, draws=300, seed=1))
    # the one-pass form gives the same measures, draws and interval
    from d2rl_lib.analysis.gap import gap_measures_with_draws
    measures, same_draws = gap_measures_with_draws(f, pids, mod, seed=1, draws=300)
    assert np.array_equal(same_draws, draws) and (measures["ratio_low"], measures["ratio_high"]) == (lo, hi)
    assert {k: v for k, v in measures.items() if not k.startswith("ratio_")} == gap_measures(f, pids, mod, seed=1)
    # a space with the modality offset removed: a large, measurable fall of the ratio
    closer = ratio_draws(*clusters(offset=0.0), draws=300, seed=1)
    moved = change(draws, closer)
    assert moved["measurable"] and moved["high"] < 0 and moved["difference"] < 0
    # the same space with a tiny perturbation: no measurable change
    same = ratio_draws(f + 1e-4 * np.random.default_rng(0).normal(size=f.shape), pids, mod, draws=300, seed=1)
    assert not change(draws, same)["measurable"]
