"""Checkpoints, in one home below the trainers and the evaluation: written atomically, read with
``weights_only=True`` (nothing runs code from a file it reads); where a run stands
(:class:`Checkpointed`, for ``--resume``); the snapshots kept for learning curves
(:data:`KEPT_PATTERN`); a run folder's checkpoint (:func:`find_checkpoint`) and its T_F
(:func:`read_t_f`), which the evaluation and the single-modality teachers both load."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import torch

from ..atomic import atomic_write
from ..errors import UserError
from .seeding import rng_state, set_rng_state


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


def find_checkpoint(path: str | Path) -> Path:
    """``path`` is a run folder (-> its ``checkpoints/last.pt``) or a checkpoint file."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p} does not exist; give a run folder written by `d2rl train` "
                        f"or its checkpoints/last.pt")
    if p.is_file():
        return p
    ckpt = p / "checkpoints" / "last.pt"
    if ckpt.is_file():
        return ckpt
    if (p / "last.pt").is_file():                       # the checkpoints/ folder itself
        return p / "last.pt"
    if (p / "checkpoints" / "ti_last.pt").is_file():
        raise UserError(f"{p} holds only a T_I checkpoint (`d2rl train --stage ti`); evaluating "
                        f"needs a whole method: d2rl train --set method=... --out DIR")
    raise UserError(f"{p} is not a d2rl run: no checkpoints/last.pt inside (train one with "
                    f"`d2rl train --out {p}`)")
