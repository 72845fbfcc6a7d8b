"""The notebooks' helpers (the model cache, tables, widgets) and what they call beside
them: the T_I probes, their figures, the paper's numbers and DECISIONS.md."""
import json

import numpy as np

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from d2rl_lib.course import notebook as nbh  # noqa: E402
from d2rl_lib.analysis import probes  # noqa: E402
from d2rl_lib.course import paper, viz  # noqa: E402
from d2rl_lib.config import get_config  # noqa: E402
from d2rl_lib.data.synthetic import load_synthetic  # noqa: E402
from d2rl_lib.models.translation import T_I  # noqa: E402

TINY = ["data.train_ids=4", "data.test_ids=2", "data.images_per_camera=2", "data.trials=1",
        "schedule.ti_batch=2", "schedule.batch_ids=2", "schedule.batch_images=1",
        "schedule.ti_steps=2", "schedule.tf_steps=2", "schedule.joint_steps=1",
        "schedule.checkpoint_every=0", "schedule.sample_every=0",
        "ti.channels=4", "ti.disc_channels=4", "ti.n_res=0", "tf.arch=resnet18", "runtime.device=cpu"]


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setattr(nbh, "RUNS", tmp_path / "runs")
    return tmp_path / "runs"


def test_setup_reads_the_profile_from_the_environment(monkeypatch):
    monkeypatch.setenv("D2RL_PRESET", "synthetic-ci")
    cfg = nbh.setup(["schedule.tf_steps=7"], seed=3)
    assert (cfg.preset, cfg.schedule.tf_steps, cfg.runtime.seed) == ("synthetic-ci", 7, 3)
    assert nbh.run_root(cfg).name == "synthetic-ci-seed3"


def test_config_differences_ignore_neutral_keys():
    cfg = get_config("synthetic-ci")
    saved = cfg.to_dict()
    saved["runtime"]["threads"] = 1
    saved["schedule"]["log_every"] = 5
    assert nbh.config_differences(saved, cfg) == []
    saved["schedule"]["tf_steps"] += 1
    saved["ti"]["channels"] = 8
    assert nbh.config_differences(saved, cfg) == ["schedule.tf_steps", "ti.channels"]


def test_config_differences_read_an_older_config_with_the_defaults():
    """A key missing from a saved config (saved before the setting existed) means the
    setting's default, the behaviour of that time: not a difference; another value is."""
    cfg = get_config("synthetic-ci")
    saved = cfg.to_dict()
    del saved["data"]["ir_hidden_sd"]
    assert nbh.config_differences(saved, cfg) == []
    cfg.data.ir_hidden_sd = 0.0
    assert nbh.config_differences(saved, cfg) == ["data.ir_hidden_sd"]
    saved["ti"]["latent"] = "no-such-form"
    assert nbh.config_differences(saved, cfg)[0].startswith("<invalid: ")


def test_trained_ti_trains_once_then_loads(runs):
    cfg = get_config("synthetic-ci", TINY)
    first = nbh.trained_ti(cfg, quiet=True)
    assert not first.cached and first.checkpoint.is_file() and first.metrics["steps"] == 2
    assert "v2i_corr" in first.fidelity
    second = nbh.trained_ti(cfg, quiet=True)
    assert second.cached and second.root == first.root
    for (k, a), b in zip(first.t_i.state_dict().items(), second.t_i.state_dict().values()):
        assert torch.equal(a, b), k
    # another T_I setting is another model: trained again, into the same folder
    other = get_config("synthetic-ci", TINY + ["ti.w_gan=0.5"])
    third = nbh.trained_ti(other, quiet=True)
    assert not third.cached and third.root == first.root
    assert json.loads((third.root / "config.json").read_text())["ti"]["w_gan"] == 0.5


def test_trained_method_reuses_cached_ti_and_itself(runs):
    cfg = get_config("synthetic-ci", TINY)
    run = nbh.trained(cfg, "d2rl", quiet=True)
    assert not run.cached and run.t_i is not None
    saved = json.loads((run.root / "config.json").read_text())
    if "ti_init" in saved["schedule"]:   # the library can start T_I from the cached stage
        assert saved["schedule"]["ti_init"].endswith("ti_last.pt")
        assert (runs / "synthetic-ci-seed0" / "ti" / "checkpoints" / "ti_last.pt").is_file()
    again = nbh.trained(cfg, "d2rl", quiet=True)
    assert again.cached and again.metrics == run.metrics
    test = load_synthetic(cfg.data).test
    f1 = nbh.features(run, test.images, test.modality)
    f2 = nbh.features(again, test.images, test.modality)
    assert f1.shape == (len(test), run.t_f.feat_dim) and torch.allclose(f1, f2)
    base = nbh.trained(cfg, "baseline", quiet=True)
    assert base.t_i is None and base.t_f.in_channels == 3 and run.t_f.in_channels == 4


def test_unfinished_run_is_trained_again(runs):
    cfg = get_config("synthetic-ci", TINY)
    run = nbh.trained(cfg, "baseline", quiet=True)
    (run.root / "metrics.json").unlink()
    assert not nbh.trained(cfg, "baseline", quiet=True).cached


def _tiny_ti():
    torch.manual_seed(0)
    return T_I(get_config("synthetic-ci", TINY).ti).eval()


def test_latent_walk_ends_at_the_reconstructions():
    cfg = get_config("synthetic-ci", TINY)
    test = load_synthetic(cfg.data).test
    t_i = _tiny_ti()
    a, b = probes.pick(test, test.pids[0], 1), probes.pick(test, test.pids[-1], 3)
    walk = probes.latent_walk(t_i, test.images[a], test.images[b], False, True, steps=5)
    assert walk["visible"].shape == (5, 3, 64, 32) and walk["infrared"].shape == (5, 1, 64, 32)
    assert torch.allclose(walk["visible"][0], probes.reconstruct(t_i, test.images[a:a + 1], False)[0], atol=1e-5)
    assert torch.allclose(walk["infrared"][-1], probes.reconstruct(t_i, test.images[b:b + 1], True)[0], atol=1e-5)


def test_translation_rows_and_pick():
    cfg = get_config("synthetic-ci", TINY)
    test = load_synthetic(cfg.data).test
    t_i = _tiny_ti()
    rows = probes.translation_rows(t_i, test, int(test.pids[0]))
    assert len(rows) == 2 and all(len(r) == len(probes.TRANSLATION_COLUMNS) for r in rows)
    assert all(img.shape == (3, 64, 32) and img.dtype == torch.uint8 for r in rows for img in r)
    i = probes.pick(test, int(test.pids[0]), 1)
    assert torch.equal(rows[0][2], test.paired[i])            # the hidden twin, untouched
    with pytest.raises(ValueError):
        probes.pick(test, 10_000, 1)


def test_tables_and_words():
    rows = nbh.score_rows({"a": {"rank1": 12.345, "mAP": 20.0}})
    assert rows[0]["method"] == "a" and rows[0]["IR→V rank-1"] == 12.3 and rows[0]["V→V mAP"] is None
    assert nbh.compare(12.0, 10.0) == "above" and nbh.compare(9.0, 10.5) == "below"
    assert nbh.compare(10.4, 10.0) == "level with"
    d = paper.decisions()
    assert len(d) > 10 and {"item", "paper says", "we chose", "why"} <= set(d[0])
    assert not any(r["item"].lower() == "item" or set(r["item"]) <= {"-"} for r in d)


def test_explore_draws_the_static_figure_once():
    import matplotlib.pyplot as plt

    calls = []

    def draw(k=1, name="a"):
        calls.append((k, name))
        fig, ax = plt.subplots()
        ax.plot([0, k])
        return fig

    fig, box = nbh.explore(draw, {"k": (1, 5, 1), "name": ["a", "b"]}, k=2, name="b")
    assert calls == [(2, "b")] and fig is not None
    if box is not None:                      # moving a control redraws with its value
        box.children[0].children[0].value = 4
        assert calls[-1] == (4, "b")
    plt.close("all")


def test_measures_for_the_ti_notebooks():
    import matplotlib.pyplot as plt

    cfg = get_config("synthetic-ci", TINY)
    test = load_synthetic(cfg.data).test
    t_i = _tiny_ti()
    rec = probes.recon_l1(t_i, test)
    assert set(rec) == {"visible", "infrared"} and all(0 <= v <= 1 for v in rec.values())
    share = probes.latent_sharing(t_i, test)
    assert share["twin"] > 0 and share["ratio"] == pytest.approx(share["twin"] / share["other identity"])
    d = probes.discriminator_scores(t_i, test)
    assert set(d) == {"D_i real", "D_i translated", "D_v real", "D_v translated"}
    assert all(0 <= v["called real"] <= 1 for v in d.values())
    g = probes.grey_vs_infrared(test, max_pixels=100)
    assert len(g["grey"]) == len(g["infrared"]) == 100 and -1 <= g["r"] <= 1
    pid = int(test.pids[0])
    walk = viz.walk_figure(t_i, test, pid, int(test.pids[-1]), "visible", steps=3)
    assert len(walk.axes) == 2 * 3 and all(len(ax.images) == 1 for ax in walk.axes)
    assert [ax.get_title() for ax in walk.axes[:3]] == ["t=0.00", "t=0.50", "t=1.00"]
    assert [ax.get_ylabel() for ax in walk.axes[::3]] == ["G_v(z_t)", "G_i(z_t)"]
    trans = viz.translation_figure(t_i, test, [pid, int(test.pids[-1])])
    assert len(trans.axes) == 2 * 2 * len(viz.TRANSLATION_COLUMNS)         # 2 ids x 2 rows
    assert trans.axes[0].get_ylabel() == f"id {pid} cam1" and all(len(ax.images) == 1 for ax in trans.axes)
    fig = viz.plot_history({"step": [1, 2], "a": [3, 2], "b": [1, 1]}, ["a", "b"])
    assert len(fig.axes) == 2
    plt.close("all")


def test_figures_of_the_ci_profile_stay_out_of_figures(runs, monkeypatch, tmp_path):
    import matplotlib.pyplot as plt

    monkeypatch.setattr(nbh, "FIGURES", tmp_path / "figures")
    monkeypatch.setenv("D2RL_PRESET", "synthetic-ci")
    cfg = nbh.setup()
    path = nbh.save_figure(plt.figure(), "x")
    assert path == nbh.run_root(cfg) / "figures" / "x.png" and path.is_file()
    monkeypatch.setenv("D2RL_PRESET", "synthetic-classroom")
    nbh.setup()
    assert nbh.save_figure(plt.figure(), "x") == tmp_path / "figures" / "x.png"
    plt.close("all")


def test_cmc_curve_matches_the_run_metrics(runs):
    cfg = get_config("synthetic-ci", TINY)
    run = nbh.trained(cfg, "baseline", quiet=True)
    test = load_synthetic(cfg.data).test
    curve = nbh.cmc_curve(nbh.features(run, test.images, test.modality), test, cfg)
    assert curve[0] == pytest.approx(run.metrics["rank1"])
    assert (curve[1:] >= curve[:-1]).all() and curve[-1] <= 100


def test_unification_helpers():
    import matplotlib.pyplot as plt

    cfg = get_config("synthetic-ci", TINY)
    test = load_synthetic(cfg.data).test
    t_i = _tiny_ti()
    raw = probes.unification_transform(None, "raw")(test.images[:4], torch.as_tensor(test.modality[:4]))
    assert raw.shape == (4, 3, 64, 32)
    fig = viz.unified_figure(t_i, test, int(test.pids[0]))
    assert len(fig.axes) == 8
    gaps = probes.space_gaps(t_i, test, ["raw", "multi-spectral"])
    assert set(gaps) == {"raw", "multi-spectral"} and gaps["multi-spectral"]["dim"] == 4 * 32 * 16
    # each ratio inside its bootstrap interval; the reference against itself: exactly no change
    for g in gaps.values():
        assert g["ratio_low"] <= g["ratio"] <= g["ratio_high"]
    same = gaps["raw"]["vs_reference"]
    assert same["difference"] == 0 and not same["measurable"]
    assert nbh.change_words(same).startswith("no measurable change")
    assert nbh.change_words({**same, "difference": -0.2, "low": -0.3, "high": -0.1,
                             "measurable": True}).startswith("a measurable fall (-0.20")
    fig = viz.tsne_panels({"a": torch.randn(30, 5), "b": torch.randn(30, 3)},
                          np.repeat(np.arange(5), 6), np.tile([0, 1], 15))
    assert len(fig.axes) == 2
    plt.close("all")


def test_results_helpers(runs, monkeypatch, tmp_path):
    monkeypatch.setattr(nbh, "RESULTS", tmp_path / "results")
    cfg = get_config("synthetic-ci", TINY)
    assert nbh.cached_metrics(cfg) == {}
    nbh.trained(cfg, "baseline", quiet=True)
    got = nbh.cached_metrics(cfg)
    assert list(got) == ["baseline"] and "mAP" in got["baseline"]
    path = nbh.write_results(cfg, {"a": 1})
    assert path.parent == nbh.run_root(cfg) and json.loads(path.read_text()) == {"a": 1}
    story = get_config("synthetic-classroom")
    assert nbh.write_results(story, {"b": 2}).parent == tmp_path / "results"
    assert all(0 < r1 < 100 and 0 < m < 100 for r1, m in paper.PUBLISHED_SYSU.values())


def test_line_progress_iterates_and_the_trainers_take_it(tmp_path):
    from d2rl_lib.runtime import RunDir
    from d2rl_lib.training.run import run_method
    from d2rl_lib.training.ti_stage import run_ti

    bar = nbh.LineProgress(range(3), desc="x", initial=0, total=3)
    assert list(bar) == [0, 1, 2] and bar.n == 3
    bar.set_postfix(a="1")
    assert bar.line().startswith("x: step 3/3") and bar.line().endswith("a=1")
    seen = []

    def recording(iterable, **kw):
        seen.append(kw["desc"])
        return nbh.LineProgress(iterable, **kw)

    cfg = get_config("synthetic-ci", TINY + ["method=d2rl-frozen"])
    run_ti(cfg, RunDir.create(tmp_path / "ti"), progress=recording)
    run_method(cfg, RunDir.create(tmp_path / "m"), progress=recording)
    assert seen == ["T_I", "T_I (d2rl-frozen)", "T_F (d2rl-frozen)"]

def test_the_course_finds_the_project_folders():
    """figures/, results/, runs/ and DECISIONS.md are the repository's, wherever the course
    package sits inside d2rl_lib."""
    assert (nbh.PROJECT_ROOT / "README.md").is_file() and (nbh.PROJECT_ROOT / "notebooks").is_dir()
    assert nbh.FIGURES.parent == nbh.RESULTS.parent == nbh.PROJECT_ROOT
    assert paper.DECISIONS.is_file()


def test_verdict_counts_a_difference_only_beyond_twice_its_standard_error():
    from d2rl_lib.course.notebook import verdict
    base = [31.0, 32.0, 30.0, 33.0, 31.0]
    assert verdict([40.0] * 5, base, run_sd=1.5)["words"] == "ahead of"
    assert verdict([20.0] * 3, base, run_sd=1.5)["words"] == "behind"
    level = verdict([33.0, 32.5, 33.5], base, run_sd=1.5)        # +1.6 against 2 se = 2.2
    assert level["words"].startswith("level") and abs(level["difference"] - 1.6) < 1e-9
    assert abs(level["se"] - 1.5 * (1 / 3 + 1 / 5) ** 0.5) < 1e-12
    assert verdict([33.0, 32.5, 33.5], base, run_sd=0.5)["words"] == "ahead of"   # less noise: a verdict


def test_recorded_rows_carry_each_seed_in_order(tmp_path):
    import json
    from d2rl_lib.course.notebook import recorded_rows
    data = {"over_seeds": {"m": {"seeds": ["0", "2"], "mAP_mean": 2.0}},
            "per_seed": {"m": {"2": {"mAP": 3.0}, "0": {"mAP": 1.0}}}}
    (tmp_path / "a.json").write_text(json.dumps(data))
    assert recorded_rows(tmp_path / "a.json")["m"]["mAP_per_seed"] == [1.0, 3.0]


def test_recorded_rows_keep_the_class_budget_and_the_learned_budget_apart(tmp_path):
    import json
    from d2rl_lib.course.notebook import recorded_rows
    row = {"seeds": ["0", "1"], "mAP_mean": 2.0}
    per = {"0": {"mAP": 1.0}, "1": {"mAP": 3.0}}
    data = {"over_seeds": {"baseline": row, "learned 4,050 steps: baseline": row},
            "per_seed": {"baseline": per, "learned 4,050 steps: baseline": per}}
    (tmp_path / "a.json").write_text(json.dumps(data))
    assert list(recorded_rows(tmp_path / "a.json")) == ["baseline"]
    assert list(recorded_rows(tmp_path / "a.json", learned=True)) == ["learned 4,050 steps: baseline"]
