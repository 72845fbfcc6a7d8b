"""Training-time views of the raw re-ID batch: the field's augmentation baselines, one file
each (``../shared/reference/d2rl_method.md``, "The field's cheap answers"; notebook 06).

A file here defines ``views(x, modality, labels) -> (x, modality, labels)``: x float
[B, 3, H, W] in [-1, 1] (the batch after the augmentation every method gets), modality [B]
(on the CPU), labels [B]; it returns the batch T_F learns from, which may hold more images than
it was given (a second view of some, with their labels). Random draws come from torch's global
generator, so a seeded run repeats. A :class:`~d2rl_lib.methods.Method` names its file in
``views``; :func:`views_of` calls it in every T_F training step, and evaluation sees the raw
images.
"""
from __future__ import annotations

import importlib
from typing import Callable, Tuple

import torch

from ..methods import Method

Views = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def views(name: str) -> Views:
    """The ``views`` function of the file ``d2rl_lib/augmentations/<name>.py``."""
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{name}":
            raise
        raise ValueError(f"no file d2rl_lib/augmentations/{name}.py (a method's views names one)") from None
    return module.views


def views_of(method: Method, x: torch.Tensor, modality: torch.Tensor, labels: torch.Tensor):
    """The training batch T_F learns from (x, modality, labels), remade by ``method``'s ``views``
    file; unchanged for a method without one."""
    if method.views is None:
        return x, modality, labels
    return views(method.views)(x, modality, labels)
