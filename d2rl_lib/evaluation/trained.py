"""A trained run, loaded back for evaluation and analysis (notebooks 01, 04 and 05).

``d2rl train`` writes ``<run>/checkpoints/last.pt`` (see :mod:`d2rl_lib.training.run`).
:func:`load_run` rebuilds from it, with ``weights_only=True`` (no code is ever run
from a checkpoint):

- the resolved configuration (``cfg``),
- T_F, the re-ID network (paper Sec. 3.2), in eval mode,
- T_I, the image-level network (paper Sec. 3.1), in eval mode, for the methods
  that have one (``Method.uses_ti``: the unifications and the D2RL methods),
- ``prepare``: the method's evaluation transform (:func:`d2rl_lib.inputs.prepare_for`),
  uint8 images [B, 3, H, W] + modality [B] -> float images [B, C, H, W] in [-1, 1] that
  T_F takes (raw, grey-converted, unified by T_I or by the oracle's twin),
- the run's ``metrics.json``, when there is one.

    run = load_run("runs/demo-synthetic-classroom/d2rl")
    feats = extract_features(run.t_f, test.images, test.modality, run.prepare, run.device)
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import torch

from ..config import Config, ConfigError
from ..errors import UserError
from ..models.blocks import load_weights
from ..models.embedding import T_F
from ..models.translation import T_I
from ..data.loading import load_data
from .retrieval import run_summary
from ..inputs import prepare_for
from ..methods import METHODS
from ..runtime import choose_device, find_checkpoint, load_checkpoint, seed_everything

REQUIRED_KEYS = ("trainer", "config", "num_classes", "in_channels")


@dataclass
class TrainedRun:
    """One trained method, ready to be evaluated. See the module docstring."""

    cfg: Config
    t_f: T_F                                   # eval mode
    t_i: Optional[T_I]                         # eval mode; None for the methods without T_I
    prepare: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    metrics: Optional[dict]                    # metrics.json of the run, if present
    checkpoint: Path
    step: int                                  # training steps done (T_I warm-up included)
    seconds: Optional[float]                   # training time recorded in the checkpoint
    device: torch.device

    @property
    def method(self) -> str:
        return self.cfg.method

    @property
    def tf_step(self) -> int:
        """T_F's steps done: the checkpoint's step less the T_I warm-up counted before them."""
        return self.step - self.cfg.ti_warmup_steps

    @property
    def complete(self) -> bool:
        """False when ``last.pt`` is an intermediate checkpoint of an unfinished run."""
        s = self.cfg.schedule
        return self.tf_step >= s.tf_steps + s.joint_steps

    @property
    def root(self) -> Path:
        """The run folder (the checkpoint's grandparent)."""
        return self.checkpoint.parent.parent


def load_run(path: str | Path, device: str | torch.device = "cpu") -> TrainedRun:
    """Rebuild the config, T_F and (if the method has one) T_I of a run folder or
    checkpoint file, in eval mode on ``device``. See the module docstring."""
    ckpt = find_checkpoint(path)
    dev = device if isinstance(device, torch.device) else choose_device(device)
    state = load_checkpoint(ckpt, map_location=dev)
    if not isinstance(state, dict) or any(k not in state for k in REQUIRED_KEYS):
        found = sorted(state) if isinstance(state, dict) else type(state).__name__
        hint = (" (a T_I-only checkpoint of `d2rl train --stage ti`)"
                if isinstance(state, dict) and "trainer" in state and "num_classes" not in state else "")
        raise UserError(f"{ckpt} is not a checkpoint of a d2rl method run{hint}: it needs the keys "
                        f"{', '.join(REQUIRED_KEYS)}, it has {found}")
    try:
        cfg = Config.from_dict(state["config"])
    except ConfigError as e:
        raise UserError(f"{ckpt}: its stored configuration is not valid here: {e}") from None
    if cfg.method not in METHODS:
        raise UserError(f"{ckpt}: unknown method {cfg.method!r} in its configuration")
    method = METHODS[cfg.method]
    if method.uses_ti and "ti" not in state:
        raise UserError(f"{ckpt}: method {cfg.method} needs T_I, but the checkpoint has no 'ti' entry")

    t_f = T_F.from_run(state, cfg.tf.arch, cfg.tf.last_stride, str(ckpt)).to(dev).eval()
    t_i = None
    if method.uses_ti:
        t_i = load_weights(T_I(cfg.ti), state["ti"]["t_i"], str(ckpt), "T_I").to(dev).eval()
    prepare = prepare_for(method, t_i)
    metrics_path = ckpt.parent.parent / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else None
    seconds = state.get("seconds")
    return TrainedRun(cfg, t_f, t_i, prepare, metrics, ckpt, int(state.get("step", 0)),
                      None if seconds is None else float(seconds), dev)


def evaluate_run(run: TrainedRun, test=None) -> dict:
    """Score a loaded run on its config's test protocol: the keys of the run's
    ``metrics.json`` (:func:`d2rl_lib.training.run.run_method`), computed again from the checkpoint,
    plus ``checkpoint``, ``step`` and ``complete``. ``test``: the test ImageSet (loaded
    from the config when None)."""
    cfg = run.cfg
    seed_everything(cfg.runtime.seed)
    if test is None:
        test = load_data(cfg)[1]
    metrics = run_summary(cfg, run.t_f, test, run.prepare, run.device, run.t_i, run.seconds)
    metrics.update({"checkpoint": str(run.checkpoint), "step": run.step, "complete": run.complete})
    return metrics
