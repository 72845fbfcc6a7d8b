"""What the notebooks call: the profile, a cache of trained models, figures, widgets.

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
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np
import torch

from .config import Config, ConfigError, differences, get_config
from .runtime import seed_everything

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIGURES = PROJECT_ROOT / "figures"
RESULTS = PROJECT_ROOT / "results"
RUNS = PROJECT_ROOT / "runs" / "notebooks"
STORY_PRESET = "synthetic-classroom"   # the profile whose figures go into figures/
_figure_dir: Optional[Path] = None

# Config keys that do not change what a run learns: a cached run that differs from
# the requested config only in these is still valid.
NEUTRAL_KEYS = ("runtime.threads", "runtime.out_dir", "runtime.device", "schedule.ti_init",
                "schedule.log_every", "schedule.sample_every", "schedule.checkpoint_every",
                "data.num_workers")

# The paper's published numbers (Wang et al., CVPR 2019, Tables 1-2, as copied into
# later papers' tables): these are citations, the only numbers not computed here.
PAPER_RESULTS = {
    "SYSU-MM01 all-search single-shot": {"rank1": 28.9, "rank10": 70.6, "rank20": 82.4, "mAP": 29.2},
    "RegDB visible->thermal": {"rank1": 43.4, "rank10": 66.1, "rank20": 76.3, "mAP": 44.1},
}


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
    try:
        import matplotlib.pyplot as plt

        _inline_figures()
        plt.rcParams.update({"figure.dpi": 80, "savefig.dpi": 110, "savefig.bbox": "tight"})
    except ImportError:  # plotting is optional for library users
        pass
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
    from .runtime import RunDir

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


@contextlib.contextmanager
def _line_progress():
    """Train with :class:`LineProgress` instead of tqdm's bars (the trainers' ``tqdm``)."""
    from . import train_reid, train_ti

    saved = train_ti.tqdm, train_reid.tqdm
    train_ti.tqdm = train_reid.tqdm = LineProgress
    try:
        yield
    finally:
        train_ti.tqdm, train_reid.tqdm = saved


def _train_or_load(root: Path, cfg: Config, done: Sequence[str], train: Callable,
                   trained_what: str, loaded_what: str, quiet: bool) -> bool:
    """Train ``train(cfg, run_dir)`` into ``root`` unless a finished run of the same
    config is there; returns whether the cached run was used."""
    cached = _cached(root, cfg, done)
    if not cached:
        run_dir = _fresh_run_dir(root)
        cfg.save(run_dir.config)
        t0 = time.perf_counter()
        with _line_progress():
            train(cfg, run_dir)
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
    from .train_ti import load_ti_stage, run_ti

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


def method_config(cfg: Config, method: str) -> Config:
    """``cfg`` with ``method`` set; methods with T_I start from the cached T_I
    (``schedule.ti_init``) when the library supports it, instead of training it again."""
    from .train_reid import TI_MODES

    c = Config.from_dict(cfg.to_dict())
    c.method = method
    if method in TI_MODES and hasattr(c.schedule, "ti_init") and c.schedule.ti_steps > 0:
        c.schedule.ti_init = str(trained_ti(cfg, quiet=True).checkpoint)
    return c


def trained(cfg: Config, method: str, quiet: bool = False):
    """``method`` (baseline, grayscale, unify-ir, unify-visible, d2rl, d2rl-frozen)
    trained and scored with ``cfg``, from the cache or trained now. Returns the
    :class:`~d2rl_lib.trained.TrainedRun` of :func:`~d2rl_lib.trained.load_run`
    (``t_f``, ``t_i``, ``prepare``, ``metrics``, ...) with one more attribute,
    ``cached`` (loaded from the cache, or trained now)."""
    from .train_reid import run_method
    from .trained import load_run

    c = method_config(cfg, method)
    root = run_root(cfg) / method
    cached = _train_or_load(root, c, ("metrics.json", "checkpoints/last.pt"), run_method,
                            method, method, quiet)
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
    from .train_reid import extract_features

    return extract_features(run.t_f, images, modality, run.prepare, torch.device("cpu"))


@torch.no_grad()
def unified_images(t_i: torch.nn.Module, images: torch.Tensor, modality: np.ndarray,
                   mode: str = "multi-spectral", batch: int = 256) -> torch.Tensor:
    """uint8 images [N, 3, H, W] -> unified images [N, 4 or 3, H, W] in [-1, 1], in batches,
    by the same transform T_F's training and scoring use (``train_reid.prepare_unified``)."""
    from .train_reid import prepare_unified

    to_unified, mod = prepare_unified(t_i, mode), torch.as_tensor(modality)
    return torch.cat([to_unified(images[i:i + batch], mod[i:i + batch]).cpu()
                      for i in range(0, len(images), batch)])


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


def decisions(path: Path | None = None) -> List[dict]:
    """The rows of DECISIONS.md's table: ``{"item", "paper says", "we chose", "why"}``."""
    text = (path or PROJECT_ROOT / "DECISIONS.md").read_text()
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 4 or set(cells[0]) <= {"-", " ", ":"}:
            continue
        if cells[0].lower() == "item":
            continue
        rows.append({"item": cells[0], "paper says": cells[1], "we chose": cells[2],
                     "why": " | ".join(cells[3:])})
    return rows


# -- images for the T_I notebooks -----------------------------------------------------------
def pick(images_of, pid: int, cam: int, index: int = 0) -> int:
    """Index in the ImageSet ``images_of`` of image ``index`` of identity ``pid`` in ``cam``."""
    idx = np.flatnonzero((images_of.pids == pid) & (images_of.cams == cam))
    if len(idx) == 0:
        raise ValueError(f"no image of identity {pid} in camera {cam}")
    return int(idx[min(index, len(idx) - 1)])


@torch.no_grad()
def translation_rows(t_i: torch.nn.Module, data, pid: int, vis_cam: int = 1, ir_cam: int = 3,
                     index: int = 0) -> List[List[torch.Tensor]]:
    """Two rows of uint8-able images for one identity:
    visible x, G_i(E_v(x)), x's true infrared twin, G_v(E_i(G_i(E_v(x)))) (the cycle);
    infrared y, G_v(E_i(y)), y's true visible twin, the cycle of y."""
    from .data.records import to_signed, to_uint8

    t_i.eval()
    iv, ii = pick(data, pid, vis_cam, index), pick(data, pid, ir_cam, index)
    x = to_signed(data.images[iv:iv + 1])                     # [1, 3, H, W]
    y = to_signed(data.images[ii:ii + 1, :1])                 # [1, 1, H, W]
    x_vi, y_iv = t_i.v2i(x), t_i.i2v(y)
    three = lambda a: to_uint8(a.expand(-1, 3, -1, -1))[0]    # noqa: E731 - [1, C, H, W] -> [3, H, W]
    twin = lambda i: data.paired[i] if data.paired is not None else torch.zeros_like(data.images[i])  # noqa: E731
    row_v = [three(x), three(x_vi), twin(iv), three(t_i.i2v(x_vi))]
    row_i = [three(y), three(y_iv), twin(ii), three(t_i.v2i(y_iv))]
    return [row_v, row_i]


TRANSLATION_COLUMNS = ["input", "translated", "true twin", "cycle"]


@torch.no_grad()
def reconstruct(t_i: torch.nn.Module, images: torch.Tensor, infrared: bool) -> torch.Tensor:
    """G(E(image)) within one modality: uint8 [N, 3, H, W] -> float [N, C, H, W] in [-1, 1]."""
    from .data.records import to_signed

    t_i.eval()
    x = to_signed(images[:, :1] if infrared else images)
    mu, _ = t_i.encode(x, infrared)
    return t_i.decode(mu, infrared, t_i.pixels(x, infrared))


@torch.no_grad()
def latent_walk(t_i: torch.nn.Module, start: torch.Tensor, end: torch.Tensor, start_ir: bool,
                end_ir: bool, steps: int = 7) -> Dict[str, torch.Tensor]:
    """Encode two uint8 images [3, H, W] (each with its own encoder) and decode the
    straight line between their codes, z_t = (1 - t) z_start + t z_end, with both
    generators (a spectral T_I's pixels [3, H, W] go the same way). Returns ``{"t":
    [steps], "visible": [steps, 3, H, W], "infrared": [steps, 1, H, W]}`` in [-1, 1]."""
    from .data.records import to_signed

    t_i.eval()
    codes, pixels = [], []
    for img, ir in ((start, start_ir), (end, end_ir)):
        x = to_signed(img[None, :1] if ir else img[None])
        codes.append(t_i.encode(x, ir)[0])                    # [1, 4c, H/2, W/2]
        pixels.append(t_i.pixels(x, ir))                      # [1, 3, H, W] or None
    ts = torch.linspace(0, 1, steps)
    line = lambda a, b: torch.cat([(1 - t) * a + t * b for t in ts])  # noqa: E731
    z = line(*codes)
    p = None if pixels[0] is None else line(*pixels)
    return {"t": ts, "visible": t_i.decode(z, False, p), "infrared": t_i.decode(z, True, p)}


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
    import matplotlib.pyplot as plt

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


def clean_notebook(path: str | Path) -> Path:
    """Drop run-specific metadata that papermill writes (timings, papermill block,
    widget state), keeping outputs and execution counts. Returns the path."""
    import nbformat

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in ("kernelspec", "language_info")}
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in ("tags",)}
        if cell.metadata.get("tags") == []:
            del cell.metadata["tags"]
    nbformat.write(nb, path)
    return path


# -- measures and figures for notebooks 01-03 ------------------------------------------------
# SYSU-MM01's own counts (Wu et al., ICCV 2017; train + val ids, relabelled), the figures
# `d2rl data summary --dataset sysu` should print on the real data: a citation, for comparison.
SYSU_MM01_SUMMARY = {"train_ids": 395, "train_rgb_images": 22258, "train_ir_images": 11909,
                     "test_ids": 96, "query_images": 3803}


def plot_history(history: Dict[str, list], keys: Sequence[str], title: str = ""):
    """One small panel per logged value of a training history (``{"step": [...], key: [...]}``)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.6), squeeze=False)
    for ax, k in zip(axes[0], keys):
        ax.plot(history["step"], history[k], marker=".")
        ax.set_title(k, fontsize=10)
        ax.set_xlabel("step")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@torch.no_grad()
def recon_l1(t_i: torch.nn.Module, data) -> Dict[str, float]:
    """Mean L1 (intensity units 0..1) of G_v(E_v(x)) against x and G_i(E_i(y)) against y
    over the ImageSet ``data``."""
    from .data.records import INFRARED, VISIBLE, to_signed

    out = {}
    for name, mod in (("visible", VISIBLE), ("infrared", INFRARED)):
        imgs = data.images[torch.from_numpy(np.flatnonzero(data.modality == mod))]
        errs = []
        for i in range(0, len(imgs), 256):
            chunk = imgs[i:i + 256]
            target = to_signed(chunk[:, :1] if mod == INFRARED else chunk)
            errs.append((reconstruct(t_i, chunk, mod == INFRARED) - target).abs().mean((1, 2, 3)) / 2)
        out[name] = float(torch.cat(errs).mean())
    return out


@torch.no_grad()
def latent_sharing(t_i: torch.nn.Module, data, seed: int = 0) -> Dict[str, float]:
    """Is the latent space shared? For every visible image x of ``data``: the mean
    distance (RMS over code elements) from E_v(x) to E_i(y) for y = x's paired
    infrared twin (the same instant), and to E_i(y') for y' = the twin of a
    visible image of another identity. A shared space puts twins closer."""
    from .data.records import VISIBLE, to_signed

    t_i.eval()
    vis = np.flatnonzero(data.modality == VISIBLE)
    rng = np.random.default_rng(seed)
    other = np.array([rng.choice(vis[data.pids[vis] != data.pids[i]]) for i in vis])
    dist_pair, dist_other = [], []
    for s in range(0, len(vis), 256):
        i, j = vis[s:s + 256], other[s:s + 256]
        z_v = t_i.encode(to_signed(data.images[i]), False)[0]
        z_twin = t_i.encode(to_signed(data.paired[i][:, :1]), True)[0]
        z_other = t_i.encode(to_signed(data.paired[j][:, :1]), True)[0]
        dist_pair.append((z_v - z_twin).pow(2).mean((1, 2, 3)).sqrt())
        dist_other.append((z_v - z_other).pow(2).mean((1, 2, 3)).sqrt())
    p, o = float(torch.cat(dist_pair).mean()), float(torch.cat(dist_other).mean())
    return {"twin": p, "other identity": o, "ratio": p / o}


def walk_figure(t_i: torch.nn.Module, data, start_id: int, end_id: int,
                end_modality: str = "infrared", steps: int = 7, index: int = 0):
    """The latent walk from a visible image of ``start_id`` (camera 1) to an image of
    ``end_id`` (camera 3 if ``end_modality`` is infrared, else camera 4), decoded by
    G_v (top row) and G_i (bottom row)."""
    from .viz import image_grid

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
    input / translated / true twin / cycle (see :func:`translation_rows`)."""
    from .viz import image_grid

    rows, labels = [], []
    for pid in pids:
        rows += translation_rows(t_i, data, int(pid), vis_cam, ir_cam, index)
        labels += [f"id {pid} cam{vis_cam}", f"id {pid} cam{ir_cam}"]
    return image_grid(rows, labels, TRANSLATION_COLUMNS, scale=0.8)


@torch.no_grad()
def discriminator_scores(t_i: torch.nn.Module, data, batch: int = 256) -> Dict[str, float]:
    """What D_i and D_v say about the test images: the mean patch score (LSGAN: 1 real,
    0 fake) and the fraction of patches called real (score > 0.5), for real images and
    for translated ones."""
    from .data.records import INFRARED, VISIBLE, to_signed

    t_i.eval()
    vis = torch.from_numpy(np.flatnonzero(data.modality == VISIBLE))
    ir = torch.from_numpy(np.flatnonzero(data.modality == INFRARED))
    acc: Dict[str, list] = {k: [] for k in ("D_i real", "D_i translated", "D_v real", "D_v translated")}
    for s in range(0, max(len(vis), len(ir)), batch):
        x = to_signed(data.images[vis[s:s + batch]])
        y = to_signed(data.images[ir[s:s + batch]][:, :1])
        if len(x):
            acc["D_v real"] += [o.flatten() for o in t_i.D_v(x)]
            acc["D_i translated"] += [o.flatten() for o in t_i.D_i(t_i.v2i(x))]
        if len(y):
            acc["D_i real"] += [o.flatten() for o in t_i.D_i(y)]
            acc["D_v translated"] += [o.flatten() for o in t_i.D_v(t_i.i2v(y))]
    out = {}
    for k, v in acc.items():
        s = torch.cat(v)
        out[k] = {"mean score": float(s.mean()), "called real": float((s > 0.5).float().mean())}
    return out


def grey_vs_infrared(data, max_pixels: int = 20000, seed: int = 0) -> Dict[str, np.ndarray]:
    """The person's pixels of the visible images in grey (luma) against the same pixels
    of their hidden infrared twins: ``{"grey", "infrared"}`` (0..1, a random sample of
    at most ``max_pixels``) and ``"r"``, the Pearson correlation over all of them."""
    from .data.records import VISIBLE

    vis = torch.from_numpy(np.flatnonzero(data.modality == VISIBLE))
    luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    grey = (data.images[vis].float() / 255 * luma).sum(1)          # [N, H, W]
    ir = data.paired[vis][:, 0].float() / 255                       # [N, H, W]
    m = data.masks[vis][:, 0]
    g, t = grey[m].numpy(), ir[m].numpy()
    r = float(np.corrcoef(g, t)[0, 1])
    idx = np.random.default_rng(seed).choice(len(g), min(max_pixels, len(g)), replace=False)
    return {"grey": g[idx], "infrared": t[idx], "r": r}


def cmc_curve(feats: torch.Tensor, test, cfg: Config, max_rank: int = 20) -> np.ndarray:
    """The IR→V CMC curve (percent, ranks 1..max_rank) of features [N, D] of the ImageSet
    ``test`` under the configured SYSU-style protocol, averaged over the trials: the same
    computation as the run's metrics.json, kept as a whole curve."""
    from .evaluate import sysu_trials

    d = cfg.data
    curves = [np.asarray(cmc, dtype=float)[:max_rank] for cmc, _, _ in
              sysu_trials(test, feats, d.search_mode, d.shots, d.trials, d.gallery_sampler, max_rank=max_rank)]
    return 100 * np.mean(curves, axis=0)


# -- notebook 04: the unified space ---------------------------------------------------------
UNIFICATIONS = {"multi-spectral": "multi-spectral", "all infrared": "infrared", "all visible": "visible"}


def unification_transform(t_i: Optional[torch.nn.Module], name: str) -> Callable:
    """The input transform (uint8 images, modality -> float images) of a unification:
    ``raw`` (none), ``grey`` (visible to grey, no learning), or one of :data:`UNIFICATIONS`."""
    from .train_reid import prepare_raw, prepare_unified

    if name == "raw":
        return prepare_raw("baseline")
    if name == "grey":
        return prepare_raw("grayscale")
    return prepare_unified(t_i, UNIFICATIONS[name])


@torch.no_grad()
def unified_figure(t_i: torch.nn.Module, data, pid: int, vis_cam: int = 1, ir_cam: int = 3, index: int = 0):
    """One identity's visible and infrared image under the three unifications: for the
    4-channel multi-spectral image its RGB part and its IR part, each labelled real or
    generated; for the single-modality unifications the one image."""
    from .data.records import INFRARED, VISIBLE, to_uint8
    from .viz import image_grid

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


def space_gaps(t_i: Optional[torch.nn.Module], data, names: Sequence[str], seed: int = 0) -> Dict[str, dict]:
    """The gap measures (:func:`d2rl_lib.gap.gap_measures`) of the pixel vectors of ``data``'s
    images under each unification in ``names`` (see :func:`unification_transform`)."""
    from . import gap

    out = {}
    for name in names:
        v = gap.pixel_vectors(data.images, data.modality, unification_transform(t_i, name))
        out[name] = gap.gap_measures(v, data.pids, data.modality, seed)
    return out


def tsne_panels(vectors: Dict[str, torch.Tensor], pids, modality, seed: int = 0, size: float = 3.6):
    """Side-by-side t-SNE maps (:func:`d2rl_lib.viz.tsne_plot`), one per named set of vectors."""
    import matplotlib.pyplot as plt

    from .viz import tsne_plot

    fig, axes = plt.subplots(1, len(vectors), figsize=(size * len(vectors), size), squeeze=False)
    for ax, (name, v) in zip(axes[0], vectors.items()):
        tsne_plot(v, pids, modality, ax=ax, seed=seed, title=name)
        if ax is not axes[0][-1]:
            ax.get_legend().remove()
    fig.tight_layout()
    return fig


# -- notebook 06: results ----------------------------------------------------------------------
# Published SYSU-MM01 all-search single-shot results (rank-1, mAP) of D2RL and its peers,
# as reported by their papers: citations, for context only (another dataset than ours).
PUBLISHED_SYSU = {
    "Zero-Padding (ICCV 2017)": (14.8, 16.0), "BDTR (IJCAI 2018)": (17.1, 19.7),
    "D-HSME (AAAI 2019)": (20.7, 23.2), "cmGAN (IJCAI 2018)": (27.0, 27.8),
    "D2RL (CVPR 2019)": (28.9, 29.2), "Hi-CMD (CVPR 2020)": (34.9, 35.9),
    "JSIA-ReID (AAAI 2020)": (38.1, 36.9), "AlignGAN (ICCV 2019)": (42.4, 40.7),
    "AGW (TPAMI 2021)": (47.5, 47.65), "DDAG (ECCV 2020)": (54.75, 53.02),
    "CAJ (ICCV 2021)": (69.88, 66.89),
}


def cached_metrics(cfg: Config) -> Dict[str, dict]:
    """``{method: metrics.json}`` of every method the notebooks trained in this profile
    (in ``runs/notebooks/<preset>-seed<seed>/``), in the order of ``config.METHODS``."""
    from .config import METHODS

    root = run_root(cfg)
    return {m: json.loads((root / m / "metrics.json").read_text())
            for m in METHODS if (root / m / "metrics.json").is_file()}


def write_results(cfg: Config, summary: dict) -> Path:
    """Write ``summary`` as JSON: ``results/notebooks-<preset>.json`` for the classroom
    profile (the committed story), beside the models for any other profile."""
    folder = RESULTS if cfg.preset == STORY_PRESET else run_root(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"notebooks-{cfg.preset}.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return path
