"""Figures the notebooks and the CLI draw: image grids, training histories, what a
trained T_I does (latent walks, translations, unified images; measured by
:mod:`d2rl_lib.analysis.probes`), t-SNE maps, CMC curves, and (with seaborn) the methods
over seeds, the modality gap per space with its bootstrap interval and learning curves.

Importing it needs no display: without one, matplotlib falls back to its Agg backend
(the Makefile sets ``MPLBACKEND=Agg``; the notebooks switch to inline figures).
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from sklearn.manifold import TSNE

from ..data.records import INFRARED, VISIBLE, to_uint8
from ..errors import UserError
from ..methods import method_of_row
from ..analysis.probes import TRANSLATION_COLUMNS, latent_walk, pick, translation_rows, unification_transform


def image_grid(rows: Sequence[Sequence[np.ndarray | torch.Tensor]], row_labels: Sequence[str] = (),
               col_labels: Sequence[str] = (), scale: float = 0.9, title: Optional[str] = None):
    """A matplotlib figure with one image per cell. Images are uint8 [3, H, W] tensors or
    [H, W, 3] arrays."""
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    first = _hwc(rows[0][0])
    aspect = first.shape[1] / first.shape[0]
    fig, axes = plt.subplots(n_rows, n_cols, squeeze=False,
                             figsize=(n_cols * scale * aspect * 1.6 + 0.8, n_rows * scale * 1.6))
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.set_xticks([]), ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c < len(row):
                ax.imshow(_hwc(row[c]))
            if c == 0 and r < len(row_labels):
                ax.set_ylabel(row_labels[r], fontsize=9)
            if r == 0 and c < len(col_labels):
                ax.set_title(col_labels[c], fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _hwc(img) -> np.ndarray:
    if torch.is_tensor(img):
        img = img.detach().cpu()
        if img.dtype != torch.uint8:
            img = img.add(1).mul(127.5).clamp(0, 255).to(torch.uint8)
        img = img.permute(1, 2, 0).numpy()
    return img


def identity_grid(world, pids: Sequence[int], index: int = 0):
    """For each identity, its image in every camera (visible cams 1, 2, 4, 5, then
    infrared cams 3, 6) and below it the paired twin in the other modality."""
    cams = (1, 2, 4, 5, 3, 6)
    rows, labels = [], []
    for pid in pids:
        rows.append([world.render(pid, c, index)[0] for c in cams])
        rows.append([world.render(pid, c, index, paired=True)[0] for c in cams])
        labels += [f"id {pid}", "paired"]
    return image_grid(rows, labels, [f"cam{c}" + (" (IR)" if c in (3, 6) else "") for c in cams])


# -- training and what a trained T_I does (notebooks 02-04) ------------------------------
def plot_history(history: Dict[str, list], keys: Sequence[str], title: str = ""):
    """One small panel per logged value of a training history (``{"step": [...], key: [...]}``)."""
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.6), squeeze=False)
    for ax, k in zip(axes[0], keys):
        ax.plot(history["step"], history[k], marker=".")
        ax.set_title(k, fontsize=10)
        ax.set_xlabel("step")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def walk_figure(t_i: torch.nn.Module, data, start_id: int, end_id: int,
                end_modality: str = "infrared", steps: int = 7, index: int = 0):
    """The latent walk (:func:`d2rl_lib.analysis.probes.latent_walk`) from a visible image of
    ``start_id`` (camera 1) to an image of ``end_id`` (camera 3 if ``end_modality`` is
    infrared, else camera 4), decoded by G_v (top row) and G_i (bottom row)."""
    end_ir = end_modality == "infrared"
    a = pick(data, start_id, 1, index)
    b = pick(data, end_id, 3 if end_ir else 4, index)
    walk = latent_walk(t_i, data.images[a], data.images[b], False, end_ir, steps)
    rows = [list(walk["visible"]), [g.expand(3, -1, -1) for g in walk["infrared"]]]
    cols = [f"t={t:.2f}" for t in walk["t"].tolist()]
    return image_grid(rows, ["G_v(z_t)", "G_i(z_t)"], cols, scale=0.8,
                      title=f"id {start_id} (visible) → id {end_id} ({end_modality})")


def translation_figure(t_i: torch.nn.Module, data, pids: Sequence[int], vis_cam: int = 1,
                       ir_cam: int = 3, index: int = 0):
    """For each identity two rows (visible input, infrared input) of
    input / translated / true twin / cycle (see :func:`d2rl_lib.analysis.probes.translation_rows`)."""
    rows, labels = [], []
    for pid in pids:
        rows += translation_rows(t_i, data, int(pid), vis_cam, ir_cam, index)
        labels += [f"id {pid} cam{vis_cam}", f"id {pid} cam{ir_cam}"]
    return image_grid(rows, labels, TRANSLATION_COLUMNS, scale=0.8)


@torch.no_grad()
def unified_figure(t_i: torch.nn.Module, data, pid: int, vis_cam: int = 1, ir_cam: int = 3, index: int = 0):
    """One identity's visible and infrared image under the three unifications: for the
    4-channel multi-spectral image its RGB part and its IR part, each labelled real or
    generated; for the single-modality unifications the one image."""
    iv, ii = pick(data, pid, vis_cam, index), pick(data, pid, ir_cam, index)
    images = data.images[[iv, ii]]
    mod = torch.tensor([VISIBLE, INFRARED])
    ms = unification_transform(t_i, "multi-spectral")(images, mod)            # [2, 4, H, W]
    to_ir = unification_transform(t_i, "all infrared")(images, mod)          # [2, 3, H, W]
    to_v = unification_transform(t_i, "all visible")(images, mod)            # [2, 3, H, W]
    rows = []
    for k in range(2):
        rows.append([to_uint8(ms[k, :3]), to_uint8(ms[k, 3:].expand(3, -1, -1)), to_uint8(to_ir[k]),
                     to_uint8(to_v[k])])
    cols = ["4-ch: RGB part", "4-ch: IR part", "all infrared", "all visible"]
    fig = image_grid(rows, [f"visible x (cam{vis_cam})", f"infrared y (cam{ir_cam})"], cols, scale=0.9)
    marks = [["real", "generated", "generated", "real"], ["generated", "real", "real", "generated"]]
    for r, row in enumerate(marks):
        for c, text in enumerate(row):
            ax = fig.axes[r * 4 + c]
            ax.set_xlabel(text, fontsize=8, color="tab:green" if text == "real" else "tab:orange")
    return fig


# -- the modality gap and retrieval curves (notebooks 01, 04, 05) ----------------------
MODALITY_MARKERS = {0: ("o", "visible"), 1: ("^", "infrared")}


def tsne_plot(features, pids, modality, ax=None, seed: int = 0, title: Optional[str] = None,
              perplexity: float = 30.0):
    """A 2-D t-SNE map (sklearn ``TSNE``, PCA start, seeded) of ``features`` [N, D] (L2-
    normalised first, as retrieval sees them): colour = identity, circle = visible,
    triangle = infrared (paper Fig. 1 left / Fig. 2 as a picture; ``d2rl_lib.analysis.gap``
    measures the same thing). Returns the Axes (``ax.figure`` is the Figure)."""
    f = torch.as_tensor(np.asarray(features) if not torch.is_tensor(features) else features)
    f = torch.nn.functional.normalize(f.detach().float().cpu().reshape(len(f), -1), dim=1).numpy()
    pids, modality = np.asarray(pids), np.asarray(modality)
    if not len(f) == len(pids) == len(modality) or len(f) < 3:
        raise UserError(f"tsne_plot needs at least 3 samples and one pid and modality per sample; "
                        f"got {len(f)} features, {len(pids)} pids, {len(modality)} modalities")
    xy = TSNE(2, perplexity=min(perplexity, (len(f) - 1) / 3), init="pca",
              random_state=seed).fit_transform(f)                         # [N, 2]
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    ids = np.unique(pids)
    colours = plt.get_cmap("tab20" if len(ids) > 10 else "tab10")
    colour_of = {p: colours(i % colours.N) for i, p in enumerate(ids)}
    for m, (marker, name) in MODALITY_MARKERS.items():
        sel = modality == m
        if sel.any():
            ax.scatter(xy[sel, 0], xy[sel, 1], c=[colour_of[p] for p in pids[sel]], marker=marker,
                       s=28, edgecolors="black" if m == 1 else "none", linewidths=0.5, label=name)
    ax.set_xticks([]), ax.set_yticks([])
    legend = ax.legend(loc="best", fontsize=8, title="colour = identity", title_fontsize=8)
    for handle in legend.legend_handles:
        handle.set_facecolor("0.6")
    if title:
        ax.set_title(title)
    return ax


def tsne_panels(vectors: Dict[str, torch.Tensor], pids, modality, seed: int = 0, size: float = 3.6):
    """Side-by-side t-SNE maps (:func:`tsne_plot`), one per named set of vectors."""
    fig, axes = plt.subplots(1, len(vectors), figsize=(size * len(vectors), size), squeeze=False)
    for ax, (name, v) in zip(axes[0], vectors.items()):
        tsne_plot(v, pids, modality, ax=ax, seed=seed, title=name)
        if ax is not axes[0][-1]:
            ax.get_legend().remove()
    fig.tight_layout()
    return fig


def cmc_plot(curves, ax=None, max_rank: int = 20, title: Optional[str] = None, chance=None):
    """Cumulative matching characteristic curves, ``{name: cmc}`` with cmc[k] the
    rate of a correct match within the top k+1 (fractions 0..1 or percentages);
    ``chance``: the curve of random features (:func:`d2rl_lib.evaluation.retrieval.chance_level`), drawn
    dashed in grey. Returns the Axes."""
    if not curves:
        raise UserError("cmc_plot needs at least one curve: {name: cmc array}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))

    def percent(cmc):
        c = np.asarray(cmc, dtype=float).reshape(-1)[:max_rank]
        return c * 100 if c.max(initial=0) <= 1 else c

    for name, cmc in curves.items():
        c = percent(cmc)
        ax.plot(np.arange(1, len(c) + 1), c, marker=".", label=name)
    if chance is not None:
        c = percent(chance)
        ax.plot(np.arange(1, len(c) + 1), c, ls="--", color="grey", label="chance (random features)")
    ax.set_xlabel("rank")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))          # ranks are whole numbers
    ax.set_ylabel("matching rate (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def _kind(name: str) -> str:
    """"D2RL" for a row whose T_F sees D2RL's 4-channel multi-spectral images (d2rl and its
    frozen, yyyy and oracle variants, also as a recorded row such as "taught: d2rl-yyyy"),
    "other" for the rest and for a label that names no method (read from its
    :class:`~d2rl_lib.methods.Method`, :func:`~d2rl_lib.methods.method_of_row`, never from its name)."""
    m = method_of_row(name)
    return "D2RL" if m is not None and m.in_channels == 4 else "other"


def methods_chart(per_seed: Dict[str, Sequence[float]], chance: Optional[float] = None,
                  chance_sd: float = 0.0, ax=None, ylabel: str = "IR→V mAP (%)",
                  title: Optional[str] = None):
    """One bar per method (seaborn): the mean over its seeds, the standard deviation as an
    error bar and every seed as a dot (a method with one seed has no bar of spread); D2RL's
    methods in red (:func:`_kind`), the others in blue; ``chance``: the score of random
    features, a dashed line with its spread shaded (notebook 06). ``per_seed``:
    ``{method: [value of each seed]}``. Returns the Axes."""
    if not per_seed:
        raise UserError("methods_chart needs {method: [value per seed]}")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.1 * len(per_seed) + 1.5, 3.2))
    rows = pd.DataFrame([{"method": name, "value": float(v),
                          "kind": _kind(name)}
                         for name, values in per_seed.items() for v in values])
    palette = {"D2RL": "tab:red", "other": "tab:blue"}
    sns.barplot(rows, x="method", y="value", hue="kind", palette=palette, errorbar="sd", capsize=0.2,
                alpha=0.6, legend=False, ax=ax, order=list(per_seed))
    sns.stripplot(rows, x="method", y="value", color="black", size=4, jitter=0.08, ax=ax,
                  order=list(per_seed))
    ax.set_ylim(0, 1.25 * rows["value"].max())                   # room for the legend
    if chance is not None:
        ax.axhline(chance, ls="--", color="grey", label="chance (random features)")
        ax.axhspan(chance - chance_sd, chance + chance_sd, color="grey", alpha=0.15)
        ax.legend(fontsize=8, loc="upper right")
    ax.tick_params(axis="x", rotation=20)
    ax.set_xlabel("")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


def gap_bars(gap, ax=None, measure: str = "ratio", title: Optional[str] = None):
    """Grouped bars of a gap measure (``ratio`` or ``probe``) per space (image, unified,
    feature) and per method (seaborn): paper Fig. 2 as numbers. ``gap`` is the JSON of
    ``d2rl gap`` ({"runs": {name: {"spaces": ...}}}), its ``runs`` part, or a plain
    ``{name: {space: value}}``. Where a space holds the ratio's bootstrap interval
    (``ratio_low``, ``ratio_high``: :func:`d2rl_lib.analysis.gap.measure_spaces`), it is drawn
    as an error bar. Returns the Axes."""
    runs = gap.get("runs", gap)
    rows = []
    for name, entry in runs.items():
        for space, v in entry.get("spaces", entry).items():
            low = high = np.nan
            if isinstance(v, dict) and measure == "ratio" and "ratio_low" in v:
                low, high = v["ratio_low"], v["ratio_high"]
            rows.append({"run": name, "space": f"{space} space",
                         "value": v[measure] if isinstance(v, dict) else float(v), "low": low, "high": high})
    if not rows:
        raise UserError("gap_bars needs at least one run: {name: {space: value}}")
    rows = pd.DataFrame(rows)
    order = [f"{s} space" for s in ("image", "unified", "feature") if f"{s} space" in set(rows["space"])]
    order += sorted(set(rows["space"]) - set(order))
    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 + 1.4 * len(order), 3.5))
    sns.barplot(rows, x="space", y="value", hue="run", order=order, errorbar=None, ax=ax)
    for run, bars in zip(rows["run"].unique(), ax.containers):       # one container per run
        mine = rows[rows["run"] == run].set_index("space")
        for space, bar in zip(order, bars):
            if space in mine.index and np.isfinite(mine.loc[space, "low"]):
                x = bar.get_x() + bar.get_width() / 2
                ax.errorbar(x, mine.loc[space, "value"], color="black", capsize=3, lw=1,
                            yerr=[[mine.loc[space, "value"] - mine.loc[space, "low"]],
                                  [mine.loc[space, "high"] - mine.loc[space, "value"]]])
    ref = 0.5 if measure == "probe" else 1.0
    ax.axhline(ref, color="black", lw=0.8, ls="--",
               label="chance" if measure == "probe" else "no modality gap")
    ax.set_xlabel("")
    ax.set_ylabel({"ratio": "cross / within distance", "probe": "modality probe accuracy"}.get(measure, measure))
    if measure == "probe":
        ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))        # beside the bars
    if title:
        ax.set_title(title)
    return ax


CURVE_PANELS = (("mAP", "IR→V mAP (cross-modal)"), ("v2v_mAP", "V→V mAP"), ("i2i_mAP", "IR→IR mAP"))


def learning_curves(curves: Sequence[dict], class_budget: Optional[int] = None, split: str = "val"):
    """Validation (``split``) scores against T_F steps, one panel per direction
    (:data:`CURVE_PANELS`), one line per run of ``results/learning-curves.json`` (colour by its
    label, a line per seed); ``class_budget`` (the classroom profile's T_F steps) marked."""
    rows = [{"label": c["label"], "seed": c["seed"], "step": p["tf_step"], **p[split]}
            for c in curves for p in c["points"]]
    frame = pd.DataFrame(rows)
    fig, axes = plt.subplots(1, len(CURVE_PANELS), figsize=(4.2 * len(CURVE_PANELS), 3.4), sharex=True)
    for ax, (key, title) in zip(axes, CURVE_PANELS):
        sns.lineplot(frame, x="step", y=key, hue="label", units="seed", estimator=None, marker="o",
                     markersize=3, ax=ax, legend=ax is axes[0])
        if class_budget:
            ax.axvline(class_budget, color="0.5", ls=":", lw=1)
            ax.text(class_budget, ax.get_ylim()[0], " class budget", color="0.4", fontsize=8, va="bottom")
        ax.set(title=title, xlabel="T_F steps", ylabel=f"{split} mAP" if ax is axes[0] else "")
    if axes[0].get_legend() is not None:
        axes[0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig
