"""What the notebooks call: the profile, a cache of trained models, widgets and the
small tables they print.

A notebook runs in the profile named by the environment variable
``D2RL_PRESET`` (``synthetic-classroom`` unless set; ``make test`` sets
``synthetic-ci`` for nbval). Figures are saved as PNG into ``figures/`` at the
project root, so the README can show them.

Training is the only expensive thing the notebooks do, so every trained model
goes through a cache: :func:`trained_ti` (T_I, notebooks 02-04) and
:func:`trained` (a whole re-ID method, notebooks 01 and 05) train into
``runs/notebooks/<preset>-seed<seed>/<name>/`` on first use and load from there
afterwards, as long as the saved ``config.json`` matches the requested config.
Re-running a notebook, or running the next one, reuses what is there; a changed
config trains again into the same folder (nothing is duplicated). Delete
``runs/notebooks/`` to start from scratch.

The rest lives beside the library: the figures in :mod:`d2rl_lib.course.viz`, what a
trained T_I does in :mod:`d2rl_lib.analysis.probes`, the paper's numbers and DECISIONS.md in
:mod:`d2rl_lib.course.paper`. IPython and ipywidgets are optional: without them the
progress line prints nothing and :func:`explore` shows only its static figure.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..config import Config, ConfigError, TeachersConfig, differences, get_config
from ..errors import UserError
from ..evaluation.retrieval import chance_level, extract_features, sysu_trials
from ..methods import METHOD_NAMES, method as method_named
from ..runtime import RunDir, seed_everything
from ..training.run import run_method
from ..training.ti_stage import load_ti_stage, read_ti_stage, run_ti
from ..evaluation.trained import load_run

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FIGURES = PROJECT_ROOT / "figures"
RESULTS = PROJECT_ROOT / "results"
# T_I taught by the infrared teacher, committed so that no class trains it (models/README.md)
TAUGHT_TI = PROJECT_ROOT / "models" / "ti-taught-classroom.pt"
RUNS = PROJECT_ROOT / "runs" / "notebooks"
STORY_PRESET = "synthetic-classroom"   # the profile whose figures go into figures/
_figure_dir: Optional[Path] = None

# Config keys that do not change what a run learns: a cached run that differs from
# the requested config only in these is still valid.
NEUTRAL_KEYS = ("runtime.threads", "runtime.out_dir", "runtime.device", "schedule.ti_init",
                "schedule.log_every", "schedule.sample_every", "schedule.checkpoint_every",
                "schedule.keep_every", "data.num_workers")


def setup(overrides: Iterable[str] = (), seed: int | None = None) -> Config:
    """Resolve the profile's config (``D2RL_PRESET`` + ``overrides``) and seed everything."""
    preset = os.environ.get("D2RL_PRESET", "synthetic-classroom")
    cfg = get_config(preset, list(overrides))
    if seed is not None:
        cfg.runtime.seed = seed
    seed_everything(cfg.runtime.seed)
    global _figure_dir
    # The classroom profile's figures are the committed ones (figures/, shown by the
    # README); other profiles (the CI run of nbval) write beside their models instead.
    _figure_dir = FIGURES if preset == STORY_PRESET else run_root(cfg) / "figures"
    _inline_figures()
    plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 110, "savefig.bbox": "tight"})
    return cfg


def _inline_figures() -> None:
    """Inside a Jupyter kernel, show figures inline even when MPLBACKEND=Agg is set
    (the Makefile sets it for the library's headless runs)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is not None and getattr(ip, "kernel", None) is not None:
        ip.run_line_magic("matplotlib", "inline")


def save_figure(fig, name: str) -> Path:
    """Save ``fig`` as ``<name>.png`` in ``figures/`` (the classroom profile, or before
    :func:`setup` was called) or in ``runs/notebooks/<preset>-seed<seed>/figures/``
    (any other profile), and return the path."""
    folder = _figure_dir or FIGURES
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path)
    return path


# -- the cache of trained models ------------------------------------------------------
def run_root(cfg: Config) -> Path:
    """``runs/notebooks/<preset>-seed<seed>``: where this profile's models live."""
    return RUNS / f"{cfg.preset}-seed{cfg.runtime.seed}"


def config_differences(saved: dict, cfg: Config) -> List[str]:
    """Keys whose value in the saved config dict differs from ``cfg`` (neutral keys ignored)."""
    try:
        return list(differences(saved, cfg, ignore=NEUTRAL_KEYS))
    except ConfigError as e:                        # saved by a version whose settings are gone
        return [f"<invalid: {e}>"]


def _cached(root: Path, cfg: Config, done: Sequence[str]) -> bool:
    """True when ``root`` holds a finished run (every file in ``done``) of the same config."""
    if not all((root / f).is_file() for f in ("config.json", *done)):
        return False
    try:
        saved = json.loads((root / "config.json").read_text())
    except json.JSONDecodeError:
        return False
    return not config_differences(saved, cfg)


def _fresh_run_dir(root: Path):
    if root.exists():
        shutil.rmtree(root)                        # an unfinished or outdated run
    return RunDir.create(root)


class LineProgress:
    """A stand-in for ``tqdm`` while the notebooks train: one text line
    ("T_I: step 300/1000, 42 s, d_acc=0.61") updated in place through an IPython display
    handle. A saved notebook then keeps only the final line, where tqdm's widget would
    leave a frozen "0%" bar as its text fallback. Outside a kernel it prints nothing."""

    def __init__(self, iterable=None, desc: str = "", initial: int = 0, total: Optional[int] = None,
                 mininterval: float = 2.0, **_ignored):
        self.iterable, self.desc, self.n, self.total = iterable, desc, initial, total
        self.mininterval, self.postfix = mininterval, ""
        self.t0 = self._last = time.perf_counter()
        self.handle = None
        try:
            from IPython import get_ipython
            from IPython.display import Pretty, display

            if get_ipython() is not None and getattr(get_ipython(), "kernel", None) is not None:
                self.handle = display(Pretty(self.line()), display_id=True)
        except ImportError:
            pass

    def line(self) -> str:
        text = f"{self.desc}: step {self.n}/{self.total}, {time.perf_counter() - self.t0:.0f} s"
        return text + (f", {self.postfix}" if self.postfix else "")

    def refresh(self, force: bool = False) -> None:
        now = time.perf_counter()
        if self.handle is not None and (force or now - self._last >= self.mininterval):
            from IPython.display import Pretty

            self._last = now
            self.handle.update(Pretty(self.line()))

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.n += 1
            self.refresh()
        self.refresh(force=True)

    def set_postfix(self, **values) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def close(self) -> None:
        self.refresh(force=True)


def _train_or_load(root: Path, cfg: Config, done: Sequence[str], train: Callable,
                   trained_what: str, loaded_what: str, quiet: bool) -> bool:
    """Train ``train(cfg, run_dir)`` into ``root`` unless a finished run of the same
    config is there; returns whether the cached run was used."""
    cached = _cached(root, cfg, done)
    if not cached:
        run_dir = _fresh_run_dir(root)
        cfg.save(run_dir.config)
        t0 = time.perf_counter()
        train(cfg, run_dir, progress=LineProgress)
        if not quiet:
            print(f"trained {trained_what} in {time.perf_counter() - t0:.0f} s -> {_rel(root)}")
    elif not quiet:
        print(f"{loaded_what} loaded from {_rel(root)} (delete the folder to train again)")
    return cached


@dataclass
class TIRun:
    """A trained T_I and what its training measured."""

    t_i: torch.nn.Module                 # E_v, E_i, G_v, G_i, D_v, D_i, in eval mode
    root: Path                           # the run folder
    checkpoint: Path                     # checkpoints/ti_last.pt (what schedule.ti_init takes)
    metrics: dict                        # ti_metrics.json: steps, seconds, loss history
    fidelity: dict                       # translation.json: the hidden-pair measures
    cached: bool                         # loaded from the cache (True) or trained now (False)


def trained_ti(cfg: Config, name: str = "ti", quiet: bool = False) -> TIRun:
    """T_I trained for ``cfg.schedule.ti_steps`` steps, from the cache or trained now."""
    root = run_root(cfg) / name
    ckpt = root / "checkpoints" / "ti_last.pt"
    cached = _train_or_load(root, cfg, ("ti_metrics.json", "checkpoints/ti_last.pt"), run_ti,
                            f"T_I ({cfg.schedule.ti_steps} steps)", "T_I", quiet)
    t_i = load_ti_stage(ckpt)[0]
    fid_path = root / "translation.json"
    return TIRun(t_i=t_i, root=root, checkpoint=ckpt,
                 metrics=json.loads((root / "ti_metrics.json").read_text()),
                 fidelity=json.loads(fid_path.read_text()) if fid_path.is_file() else {},
                 cached=cached)


def method_config(cfg: Config, method: str, ti_checkpoint: Optional[Path] = None) -> Config:
    """``cfg`` with ``method`` set; a method with T_I starts from ``ti_checkpoint`` (a T_I
    stage checkpoint, ``schedule.ti_init``) when one is given, instead of training T_I again."""
    c = Config.from_dict(cfg.to_dict())
    c.method = method
    if ti_checkpoint is not None and method_named(method).uses_ti:
        c.schedule.ti_init = str(ti_checkpoint)
    return c


def trained(cfg: Config, method: str, quiet: bool = False):
    """``method`` (baseline, grayscale, unify-ir, unify-visible, d2rl, d2rl-frozen)
    trained and scored with ``cfg``, from the cache or trained now. A method with T_I starts
    from the notebooks' T_I (:func:`trained_ti`, notebook 02's), which is trained first if
    it is not cached yet. Returns the :class:`~d2rl_lib.evaluation.trained.TrainedRun` of
    :func:`~d2rl_lib.evaluation.trained.load_run` (``t_f``, ``t_i``, ``prepare``, ``metrics``, ...) with
    one more attribute, ``cached`` (loaded from the cache, or trained now)."""
    ti_checkpoint = None
    if method_named(method).uses_ti and cfg.schedule.ti_steps > 0:
        ti_checkpoint = trained_ti(cfg, quiet=quiet).checkpoint
    c = method_config(cfg, method, ti_checkpoint)
    root = run_root(cfg) / method
    cached = _train_or_load(root, c, ("metrics.json", "checkpoints/last.pt"), run_method,
                            method, method, quiet)
    run = load_run(root, "cpu")
    run.cached = cached
    return run


def taught_ti() -> TIRun:
    """The committed T_I taught by the infrared teacher (:data:`TAUGHT_TI`, ``models/README.md``
    says which command trained it): loaded, never trained in class (notebooks 03, 05)."""
    if not TAUGHT_TI.is_file():
        raise UserError(f"{_rel(TAUGHT_TI)} is missing: it is committed with the project; restore it with "
                        f"`git checkout -- {_rel(TAUGHT_TI)}` or train it as models/README.md says")
    state = read_ti_stage(TAUGHT_TI)
    return TIRun(t_i=load_ti_stage(TAUGHT_TI)[0], root=TAUGHT_TI.parent, checkpoint=TAUGHT_TI,
                 metrics=state.get("history", {}), fidelity={}, cached=True)


def trained_taught(cfg: Config, method: str, quiet: bool = False):
    """``method`` (a method with T_I) trained and scored with ``cfg`` from the committed taught
    T_I (:func:`taught_ti`; its ``ti.*`` settings, its teachers aside), into
    ``<profile folder>/taught-<method>``; from the cache when it is there. Returns what
    :func:`trained` returns."""
    if not method_named(method).uses_ti:
        raise UserError(f"method {method!r} has no T_I; the taught T_I serves the methods with one")
    saved = Config.from_dict(read_ti_stage(TAUGHT_TI)["config"])
    c = method_config(cfg, method, TAUGHT_TI)
    c.ti = dataclasses.replace(saved.ti, teacher=TeachersConfig())      # its teachers taught it; none here
    c.validate()
    root = run_root(cfg) / f"taught-{method}"
    cached = _train_or_load(root, c, ("metrics.json", "checkpoints/last.pt"), run_method,
                            f"{method} from the taught T_I", f"{method} (taught T_I)", quiet)
    run = load_run(root, "cpu")
    run.cached = cached
    return run


def _rel(p: Path) -> str:
    try:
        return str(p.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(p)


# -- features and tables ---------------------------------------------------------------
@torch.no_grad()
def features(run, images: torch.Tensor, modality: np.ndarray) -> torch.Tensor:
    """T_F features [N, D] of uint8 images [N, 3, H, W] (retrieval features, post-BN)
    of a run returned by :func:`trained`."""
    return extract_features(run.t_f, images, modality, run.prepare, torch.device("cpu"))


def cmc_curve(feats: torch.Tensor, test, cfg: Config, max_rank: int = 20) -> np.ndarray:
    """The IR→V CMC curve (percent, ranks 1..max_rank) of features [N, D] of the ImageSet
    ``test`` under the configured SYSU-style protocol, averaged over the trials: the same
    computation as the run's metrics.json, kept as a whole curve."""
    d = cfg.data
    curves = [np.asarray(cmc, dtype=float)[:max_rank] for cmc, _, _ in
              sysu_trials(test, feats, d.search_mode, d.shots, d.trials, d.gallery_sampler, max_rank=max_rank)]
    return 100 * np.mean(curves, axis=0)


def chance(cfg: Config, test, draws: int = 20) -> dict:
    """IR→V scores of random features under ``cfg``'s SYSU-style protocol on the ImageSet
    ``test`` (:func:`~d2rl_lib.evaluation.retrieval.chance_level`): the level of a model that learned
    nothing. ``chance["mAP"]["mean"]``, ``chance["cmc"]`` (percent, ranks 1..20), ..."""
    d = cfg.data
    return chance_level(test, d.search_mode, d.shots, d.trials, d.gallery_sampler, draws=draws)


SCORE_KEYS = {"rank1": "IR→V rank-1", "mAP": "IR→V mAP", "mINP": "IR→V mINP",
              "v2v_mAP": "V→V mAP", "i2i_mAP": "IR→IR mAP"}


def score_rows(metrics: Dict[str, dict], keys: Dict[str, str] = SCORE_KEYS) -> List[dict]:
    """One row per method: ``{"method": name, <label>: value rounded to 0.1, ...}``."""
    rows = []
    for name, m in metrics.items():
        row = {"method": name}
        for k, label in keys.items():
            v = m.get(k)
            row[label] = None if v is None else round(float(v), 1)
        rows.append(row)
    return rows


def compare(a: float, b: float, tolerance: float = 1.0) -> str:
    """How ``a`` stands against ``b`` in words, treating differences within
    ``tolerance`` as a tie: 'above', 'below' or 'level with'."""
    if a > b + tolerance:
        return "above"
    if a < b - tolerance:
        return "below"
    return "level with"


# The rows of results/ablation.json trained at the learned budget (issue 34: 4,050 T_F steps,
# where the validation curves have flattened) are named "learned ...: <method>"; the others
# belong to the class budget (550 steps).
LEARNED = "learned"


def recorded_rows(path: Path = RESULTS / "ablation.json", learned: bool = False) -> Dict[str, dict]:
    """The recorded ablation's rows over seeds (``over_seeds`` of ``results/ablation.json``:
    per method ``seeds``, ``mAP_mean``, ``mAP_sd``, ...), each with its per-seed IR→V mAP
    (``mAP_per_seed``, in seed order): the class budget's rows, or with ``learned`` those of the
    learned budget (:data:`LEARNED`). Every verdict the notebooks print comes from these."""
    data = json.loads(Path(path).read_text())
    rows = {}
    for name, row in data.get("over_seeds", {}).items():
        if name.startswith(LEARNED) != learned:
            continue
        per = data["per_seed"][name]
        rows[name] = dict(row, mAP_per_seed=[per[s]["mAP"] for s in row["seeds"]])
    return rows


def verdict(a: Sequence[float], b: Sequence[float], run_sd: float) -> dict:
    """Method A against method B from their runs' scores over seeds (run the same way): the
    mean difference, its noise and a verdict in words. ``run_sd`` is the spread of one run
    (``results/noise.json``: over seeds, thread counts and machines, whichever is larger);
    the difference of two means then has the standard error
    ``run_sd * sqrt(1/len(a) + 1/len(b))``, and a difference within two of those is "no
    difference the noise can show", whatever its sign."""
    diff = float(np.mean(a) - np.mean(b))
    se = float(run_sd * np.sqrt(1 / len(a) + 1 / len(b)))
    if diff > 2 * se:
        words = "ahead of"
    elif diff < -2 * se:
        words = "behind"
    else:
        words = "level with (no difference the noise can show)"
    return {"difference": diff, "se": se, "words": words,
            "text": f"{diff:+.1f} mAP (noise: ±{2 * se:.1f} for {len(a)} and {len(b)} seeds)"}


def change_words(c: dict, digits: int = 2) -> str:
    """A gap change (:func:`d2rl_lib.analysis.gap.change`) in words, by the notebooks' rule: a
    move whose 95% bootstrap interval covers 0 is "no measurable change", whatever its sign."""
    span = f"{c['difference']:+.{digits}f}, 95% interval {c['low']:+.{digits}f} to {c['high']:+.{digits}f}"
    if not c["measurable"]:
        return f"no measurable change ({span})"
    return f"a measurable {'fall' if c['difference'] < 0 else 'rise'} ({span})"


def cached_metrics(cfg: Config) -> Dict[str, dict]:
    """``{method: metrics.json}`` of every method the notebooks trained in this profile
    (in ``runs/notebooks/<preset>-seed<seed>/``), in the order of :data:`d2rl_lib.methods.METHODS`."""
    root = run_root(cfg)
    return {m: json.loads((root / m / "metrics.json").read_text())
            for m in METHOD_NAMES if (root / m / "metrics.json").is_file()}


def write_results(cfg: Config, summary: dict) -> Path:
    """Write ``summary`` as JSON: ``results/notebooks-<preset>.json`` for the classroom
    profile (the committed story), beside the models for any other profile."""
    folder = RESULTS if cfg.preset == STORY_PRESET else run_root(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"notebooks-{cfg.preset}.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return path


# -- widgets that degrade to a static figure ---------------------------------------------
def explore(draw: Callable[..., object], controls: Dict[str, object], **defaults):
    """Show ``draw(**defaults)`` as a static figure, always; then, if ipywidgets is
    installed, add one widget per entry of ``controls`` (anything
    ``ipywidgets.interactive`` accepts: a list of options, a (min, max, step)
    tuple, ...) that redraws into an output area when moved.

    Without a widget frontend (papermill, nbval, a rendered notebook on the web) the
    static figure is what the reader sees; the widget costs nothing until it is
    moved, because nothing is redrawn before that.
    Returns the static figure (and the widget box, or None)."""
    fig = draw(**defaults)
    plt.show()
    try:
        import ipywidgets as w
        from IPython.display import display
    except ImportError:
        return fig, None
    boxes = w.interactive(lambda **kw: None, **controls).children[:-1]   # the controls alone
    for b in boxes:
        if b.description in defaults:
            b.value = defaults[b.description]
    out = w.Output()

    def redraw(_change=None):
        with out:
            out.clear_output(wait=True)
            draw(**{b.description: b.value for b in boxes})
            plt.show()

    for b in boxes:
        b.observe(redraw, names="value")
    box = w.VBox([w.HBox(list(boxes)), out])
    display(box)
    return fig, box
