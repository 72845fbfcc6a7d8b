"""Runtime helpers shared by every stage: device, seeds, precision, run folders,
atomic checkpoints and the divergence guard.

Nothing here knows about models or datasets; the trainers in ``train_*.py``
use these so that every stage saves, resumes and fails the same way.
"""
from __future__ import annotations

import contextlib
import math
import random
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Mapping, Optional

import numpy as np
import torch

from .atomic import atomic_write
from .errors import DivergenceError, UserError


# -- device and precision ----------------------------------------------------------
def choose_device(preference: str = "auto") -> torch.device:
    """``auto``: CUDA if present, else Apple's MPS, else the CPU; or the named device.

    A named device that is not available is refused with a clear message instead
    of failing later inside a kernel.
    """
    pref = (preference or "auto").lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(pref)
    except RuntimeError:
        raise UserError(f"unknown device {preference!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"device {preference!r} asked for, but this torch build sees no CUDA GPU "
                            f"(torch {torch.__version__}); use --device cpu or install a CUDA build")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UserError(f"device {preference!r}: only {torch.cuda.device_count()} GPU(s) visible")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UserError("device 'mps' asked for, but MPS is not available on this machine")
    return dev


def amp_dtype(mode: str, device: torch.device) -> Optional[torch.dtype]:
    """The autocast dtype for ``runtime.amp`` on ``device`` (None: full precision).

    ``auto`` means bf16 on CUDA devices that support it (no loss scaling needed), fp16 on
    older GPUs (with a gradient scaler: :func:`grad_scaler`), and off elsewhere; ``bf16``
    works on CPU and recent GPUs; ``fp16`` is for CUDA only.
    """
    if mode == "off":
        return None
    if mode == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if mode == "fp16":
        if device.type != "cuda":
            raise UserError("runtime.amp=fp16 needs a CUDA device; on the CPU use bf16 or off")
        return torch.float16
    if mode == "bf16":
        return torch.bfloat16
    raise UserError(f"runtime.amp={mode!r}: choose one of auto, off, bf16, fp16")


def autocast(device: torch.device, dtype: Optional[torch.dtype]):
    """A ``torch.autocast`` context for ``dtype``, or a no-op when it is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def grad_scaler(device: torch.device, dtype: Optional[torch.dtype]) -> "torch.amp.GradScaler":
    """A gradient scaler that is active only for fp16 (bf16 needs none)."""
    return torch.amp.GradScaler(device.type, enabled=(dtype == torch.float16))


GradSync = Optional[Callable[[Iterable[torch.nn.Parameter]], None]]


@dataclass
class Update:
    """What one network's update needs, handed out by its trainer: the ``optimizer``, the
    ``params`` it updates (kept as a tuple), the norm to clip their gradient to
    (``max_norm``; 0: no clipping), the gradient ``sync`` (several processes: a function
    averaging the gradients of ``params`` across them; None: one process) and the learning
    rate ``schedule`` stepped after each update (None: a constant rate).
    :func:`scaled_update` runs one or several of them from one loss."""

    optimizer: torch.optim.Optimizer
    params: Iterable[torch.nn.Parameter]
    max_norm: float = 0.0
    sync: GradSync = None
    schedule: Optional[Any] = None      # a torch.optim.lr_scheduler, stepped once per update

    def __post_init__(self):
        self.params = tuple(self.params)                              # a generator is read once


def scaled_update(scaler: "torch.amp.GradScaler", loss: torch.Tensor, *updates: Update) -> None:
    """One step of every update in ``updates`` from one ``loss`` through ``scaler``, in this order:

    1. the gradients of every update's optimiser are zeroed (the loss is already computed:
       its forward pass needs none of them);
    2. one backward pass of the scaled loss;
    3. every ``sync`` (several processes: the gradients are averaged while still scaled, so
       that an fp16 overflow on one process skips the step on all);
    4. every update with ``max_norm`` > 0: unscale its optimiser's gradients, clip the norm
       of its ``params``;
    5. every optimiser steps, in the order given (the scaler skips them after an fp16
       overflow);
    6. the scale is updated once; then every ``schedule`` steps.

    T_F's step and T_I's discriminator and generator steps pass one update each; D2RL's joint
    step passes T_F's and the generators' (:class:`d2rl_lib.training.joint.JointStep`)."""
    for u in updates:
        u.optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    for u in updates:
        if u.sync is not None:
            u.sync(list(u.params))
    for u in updates:
        if u.max_norm > 0:
            scaler.unscale_(u.optimizer)
            torch.nn.utils.clip_grad_norm_(u.params, u.max_norm)
    for u in updates:
        scaler.step(u.optimizer)
    scaler.update()
    for u in updates:
        if u.schedule is not None:
            u.schedule.step()


# A tqdm-like factory: ``progress(iterable, desc=..., total=..., ...)`` returns an iterable
# with ``set_postfix``; the trainers take one (tqdm by default; course/notebook.py passes its own).
Progress = Callable[..., Any]


# -- seeding -------------------------------------------------------------------------
def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed python, numpy and torch (all devices); on request make CPU kernels
    deterministic. Same seed, same result on the CPU (the tests check it)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn`` for DataLoaders: derive numpy/python seeds from torch's."""
    base = torch.initial_seed() % 2**32
    np.random.seed(base)
    random.seed(base)


def torch_generator(seed: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def set_threads(n: int) -> None:
    if n > 0:
        torch.set_num_threads(n)


# -- files ----------------------------------------------------------------------------
def save_checkpoint(state: Mapping[str, Any], path: str | Path) -> Path:
    """Save ``state`` with ``torch.save`` atomically (:func:`d2rl_lib.atomic.atomic_write`):
    a crash never leaves a half-written checkpoint, the previous one stays until the new
    one is complete.

    ``state`` must hold only tensors, numbers, strings, lists and dicts, so that
    :func:`load_checkpoint` can read it with ``weights_only=True``.
    """
    return atomic_write(path, lambda tmp: torch.save(dict(state), tmp))


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> Dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`; never runs code from it."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # corrupt file, foreign pickle with code in it, ...
        raise UserError(f"cannot read checkpoint {path}: {type(e).__name__}: {e}") from None


def rng_state() -> Dict[str, Any]:
    """Every random-number state a resumed run needs to continue exactly."""
    state = {
        "python": list(_py_state_to_list(random.getstate())),
        "numpy": _np_state_to_dict(np.random.get_state()),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    random.setstate(_py_state_from_list(state["python"]))
    np.random.set_state(_np_state_from_dict(state["numpy"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _py_state_to_list(st):
    version, internal, gauss = st
    return [version, list(internal), gauss]


def _py_state_from_list(lst):
    version, internal, gauss = lst
    return (version, tuple(internal), gauss)


def _np_state_to_dict(st):
    name, keys, pos, has_gauss, cached = st
    return {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached": float(cached)}


def _np_state_from_dict(d):
    return (d["name"], d["keys"].numpy().astype(np.uint32), d["pos"], d["has_gauss"], d["cached"])


# -- run directories ----------------------------------------------------------------
# A snapshot kept after that many T_F steps (schedule.keep_every), read by d2rl curve.
KEPT_PATTERN = "tf_step_{:06d}.pt"


class Checkpointed:
    """Where a training run stands, for its checkpoint at ``path`` and ``--resume``: the step,
    the seconds trained over every session, the random state. ``resume()`` reads the
    checkpoint back (restoring the random state) and returns it for the trainers' own
    parts; ``save(step, **parts)`` writes the parts with the step, seconds, random state and
    ``config`` (a dict) atomically."""

    def __init__(self, path: Path, config: Dict[str, Any]):
        self.path, self.config = Path(path), config
        self.step, self._before, self._t0 = 0, 0.0, time.perf_counter()
        self.saved_seconds: Optional[float] = None           # the seconds of the last save

    def resume(self) -> Dict[str, Any]:
        state = load_checkpoint(self.path)
        set_rng_state(state["rng"])
        self.step, self._before, self._t0 = state["step"], state["seconds"], time.perf_counter()
        return state

    def seconds(self) -> float:
        return self._before + time.perf_counter() - self._t0

    def save(self, step: int, **parts: Any) -> Path:
        self.saved_seconds = self.seconds()
        return save_checkpoint({**parts, "rng": rng_state(), "step": step, "seconds": self.saved_seconds,
                                "config": self.config}, self.path)


@dataclass
class RunDir:
    """The layout of one run's outputs::

        <root>/config.json        resolved configuration
        <root>/metrics.json       final numbers (written by the trainers)
        <root>/log.txt            progress lines
        <root>/checkpoints/       last.pt (and stage checkpoints)
        <root>/samples/           image grids saved during training
    """

    root: Path

    @classmethod
    def create(cls, out: str | Path | None, parent: str | Path = "runs", name: str = "run") -> "RunDir":
        root = Path(out) if out else Path(parent) / f"{datetime.now():%Y%m%d-%H%M%S}-{name}"
        if root.exists() and not root.is_dir():
            raise UserError(f"output path {root} exists and is not a folder")
        for sub in ("checkpoints", "samples"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        return cls(root)

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def log(self) -> Path:
        return self.root / "log.txt"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    def write_log(self, line: str) -> None:
        with open(self.log, "a") as f:
            f.write(line.rstrip("\n") + "\n")


# -- divergence guard ---------------------------------------------------------------
class LossGuard:
    """Stops a run with a clear report when a loss turns NaN/inf, or when a GAN
    collapses (a discriminator that wins on every batch for ``patience`` steps).

    Call :meth:`check` with the step's losses (floats or 0-d tensors); it raises
    :class:`DivergenceError` naming the stage, step, loss and the recent history.
    """

    def __init__(self, stage: str, history: int = 10, collapse_patience: int = 0,
                 checkpoint_hint: str = ""):
        self.stage = stage
        self.recent: deque = deque(maxlen=history)
        self.collapse_patience = collapse_patience
        self.checkpoint_hint = checkpoint_hint
        self._d_wins = 0

    def check(self, step: int, losses: Mapping[str, Any]) -> Dict[str, float]:
        values = {k: float(v.detach()) if torch.is_tensor(v) else float(v) for k, v in losses.items()}
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            raise DivergenceError(self._report(step, f"loss {', '.join(bad)} became "
                                               f"{', '.join(str(values[k]) for k in bad)}"))
        self.recent.append((step, values))
        return values

    def check_collapse(self, step: int, d_accuracy: float) -> None:
        """``d_accuracy``: fraction of real and fake images the discriminators got
        right on this step. 1.0 on ``collapse_patience`` steps in a row is a collapse."""
        if self.collapse_patience <= 0:
            return
        self._d_wins = self._d_wins + 1 if d_accuracy >= 0.999 else 0
        if self._d_wins >= self.collapse_patience:
            raise DivergenceError(self._report(
                step, f"GAN collapse: the discriminators classified every real and fake image "
                      f"correctly for {self._d_wins} steps in a row (the generators get no signal); "
                      f"lower optim.ti_lr or ti.w_gan, or raise ti.w_recon"))

    def _report(self, step: int, what: str) -> str:
        hist = "; ".join(f"step {s}: " + ", ".join(f"{k}={v:.4g}" for k, v in vals.items())
                         for s, vals in list(self.recent)[-3:])
        msg = f"{self.stage} diverged at step {step}: {what}."
        if hist:
            msg += f" Last good steps: {hist}."
        if self.checkpoint_hint:
            msg += f" Last checkpoint: {self.checkpoint_hint}."
        return msg


def count_parameters(modules: Iterable[torch.nn.Module] | torch.nn.Module) -> int:
    if isinstance(modules, torch.nn.Module):
        modules = [modules]
    return sum(p.numel() for m in modules for p in m.parameters())
