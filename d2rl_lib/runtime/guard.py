"""The divergence guard: a NaN/inf loss or a collapsed GAN stops a run with a report that names
the stage, the step, the loss, the last good steps and the last checkpoint."""
from __future__ import annotations

import math
from collections import deque
from typing import Any, Dict, Mapping

import torch

from ..errors import DivergenceError


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
