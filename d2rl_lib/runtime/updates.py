"""One network's optimiser update (:class:`Update`) and the update sequence every trainer runs
from one loss (:func:`scaled_update`); :func:`count_parameters` for the notebooks."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

import torch


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


def count_parameters(modules: Iterable[torch.nn.Module] | torch.nn.Module) -> int:
    if isinstance(modules, torch.nn.Module):
        modules = [modules]
    return sum(p.numel() for m in modules for p in m.parameters())
