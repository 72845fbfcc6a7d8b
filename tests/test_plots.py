"""The gap and retrieval plots of d2rl_lib.course.viz: they draw on tiny inputs, return Axes,
and show what they claim (markers per modality, one bar per method and space)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from d2rl_lib.errors import UserError  # noqa: E402
from d2rl_lib.course.viz import CURVE_PANELS, cmc_plot, gap_bars, learning_curves, methods_chart, tsne_plot  # noqa: E402

torch.set_num_threads(1)


def teardown_function(_):
    plt.close("all")


def test_library_imports_without_matplotlib_loaded():
    """Only the figures (viz) and the notebooks' helpers load matplotlib."""
    import subprocess
    import sys

    code = ("import sys, d2rl_lib.analysis.probes, d2rl_lib.analysis.gap, d2rl_lib.evaluation.trained; "
            "print('matplotlib' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr


def test_figures_import_and_draw_without_a_display(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    code = ("import d2rl_lib.course.notebook, d2rl_lib.course.viz as viz, matplotlib; "
            "viz.plot_history({'step': [1, 2], 'a': [1, 0]}, ['a']).savefig('x.png'); "
            "print(matplotlib.get_backend().lower())")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "agg", r.stderr
    assert (tmp_path / "x.png").is_file()


def test_tsne_plot_on_tiny_input():
    rng = np.random.default_rng(0)
    pids = np.repeat(np.arange(4), 4)
    mod = np.tile([0, 0, 1, 1], 4)
    ax = tsne_plot(torch.as_tensor(rng.normal(size=(16, 8))), pids, mod, title="tiny")
    assert ax.get_title() == "tiny"
    markers = [c for c in ax.collections]
    assert len(markers) == 2                               # one scatter per modality
    assert [len(c.get_offsets()) for c in markers] == [8, 8]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["visible", "infrared"]
    assert ax.figure is not None


def test_tsne_plot_is_seeded_and_refuses_bad_input():
    rng = np.random.default_rng(0)
    f, pids, mod = rng.normal(size=(12, 5)), np.repeat(np.arange(3), 4), np.tile([0, 1], 6)
    a = tsne_plot(f, pids, mod, seed=3).collections[0].get_offsets()
    b = tsne_plot(f, pids, mod, seed=3).collections[0].get_offsets()
    assert np.allclose(a, b)
    with pytest.raises(UserError, match="at least 3 samples"):
        tsne_plot(f, pids[:5], mod)


def test_cmc_plot_accepts_fractions_and_percentages():
    fig, ax = plt.subplots()
    out = cmc_plot({"baseline": np.linspace(0.1, 1, 30), "d2rl": np.linspace(20, 100, 25)}, ax=ax)
    assert out is ax
    lines = ax.get_lines()
    assert len(lines) == 2 and len(lines[0].get_xdata()) == 20       # cut at max_rank
    assert lines[0].get_ydata()[0] == pytest.approx(10.0)             # fraction -> percent
    assert lines[1].get_ydata()[0] == pytest.approx(20.0)
    with pytest.raises(UserError):
        cmc_plot({})
    ax = cmc_plot({"baseline": np.linspace(0.1, 1, 30)}, chance=np.linspace(0.02, 0.4, 30))
    assert ax.get_lines()[-1].get_label() == "chance (random features)"
    assert ax.get_lines()[-1].get_ydata()[0] == pytest.approx(2.0)


def test_methods_chart_shows_the_seeds_their_spread_and_chance():
    ax = methods_chart({"baseline": [30.0, 31.0, 32.0], "grayscale": [26.0], "d2rl": [26.0, 27.0, 28.0]},
                       chance=7.0, chance_sd=0.3)
    bars = [p for c in ax.containers for p in c]                     # the bars, not the shaded band
    assert sorted(b.get_height() for b in bars) == pytest.approx([26.0, 27.0, 31.0])
    dots = [c.get_offsets() for c in ax.collections if len(c.get_offsets())]   # the seeds
    assert [len(d) for d in dots] == [3, 1, 3]
    assert sorted(dots[0][:, 1]) == pytest.approx([30.0, 31.0, 32.0])
    spread = [np.nanmax(y) - np.nanmin(y) for y in (line.get_ydata() for line in ax.get_lines()[:3])
              if np.isfinite(y).any()]
    assert spread == pytest.approx([2.0, 2.0])          # +- 1 sd (1 here); one seed: no bar
    chance = [line for line in ax.get_lines() if line.get_label() == "chance (random features)"]
    assert chance and chance[0].get_ydata()[0] == pytest.approx(7.0)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["baseline", "grayscale", "d2rl"]
    with pytest.raises(UserError):
        methods_chart({})


def test_methods_chart_colours_d2rls_multi_spectral_methods_red():
    """Red: the methods whose T_F sees the 4-channel images (d2rl-oracle too); blue: the rest,
    unify-ir-oracle and a label that names no method included; a recorded row "<its T_I>: <method>"
    by its method."""
    names = ["baseline", "unify-ir-oracle", "d2rl-frozen", "d2rl-oracle", "my label",
             "taught, modality dropout 0.5: d2rl-yyyy", "taught: unify-ir", "taught: no-such-method"]
    ax = methods_chart({n: [10.0 + i] for i, n in enumerate(names)})
    colour = {round(b.get_height()): "red" if b.get_facecolor()[0] > b.get_facecolor()[2] else "blue"
              for c in ax.containers for b in c if b.get_height() > 0}   # seaborn desaturates them
    assert [colour[10 + i] for i in range(len(names))] == ["blue", "blue", "red", "red", "blue",
                                                           "red", "blue", "blue"]


def test_gap_bars_reads_the_gap_json():
    gap = {"runs": {"baseline": {"spaces": {"image": {"ratio": 1.3, "probe": 0.99},
                                            "unified": {"ratio": 1.3, "probe": 0.99},
                                            "feature": {"ratio": 1.1, "probe": 0.9}}},
                    "d2rl": {"spaces": {"image": {"ratio": 1.3, "probe": 0.99},
                                        "unified": {"ratio": 1.2, "probe": 1.0},
                                        "feature": {"ratio": 1.05, "probe": 0.8}}}}}
    ax = gap_bars(gap)
    heights = [p.get_height() for c in ax.containers for p in c]
    assert heights == pytest.approx([1.3, 1.3, 1.1, 1.3, 1.2, 1.05])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["image space", "unified space", "feature space"]
    ax = gap_bars(gap["runs"], measure="probe")
    assert [p.get_height() for c in ax.containers for p in c][-1] == pytest.approx(0.8)
    ax = gap_bars({"plain": {"image": 2.0, "feature": 1.0}})
    assert [p.get_height() for c in ax.containers for p in c] == [2.0, 1.0]
    # a bootstrap interval becomes an error bar from ratio_low to ratio_high
    ax = gap_bars({"d2rl": {"image": {"ratio": 1.3, "ratio_low": 1.2, "ratio_high": 1.45, "probe": 1.0}}})
    caps = [float(line.get_ydata()[0]) for line in ax.get_lines() if len(line.get_ydata()) == 1]
    assert sorted(caps) == pytest.approx([1.2, 1.3, 1.45])         # the caps and the value
    with pytest.raises(UserError):
        gap_bars({})


def test_learning_curves_draw_one_line_per_run_in_each_direction_with_the_class_budget():
    curves = [{"label": label, "seed": seed, "points": [
        {"tf_step": s, "val": {"mAP": s / d, "v2v_mAP": s / (d + 1), "i2i_mAP": s / (d + 2)}} for s in (250, 500, 750)]}
        for label, d in (("baseline", 100), ("d2rl", 90)) for seed in (0, 1)]
    fig = learning_curves(curves, class_budget=550)
    assert len(fig.axes) == len(CURVE_PANELS)
    for ax in fig.axes:
        drawn = [line for line in ax.get_lines() if len(line.get_xdata()) == 3]
        assert len(drawn) == 4                                   # two labels x two seeds
        assert any(list(line.get_xdata()) == [550, 550] for line in ax.get_lines())
