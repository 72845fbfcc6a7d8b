"""T_I's objective as a list of terms (paper Sec. 3.1, Eq. 1-4 and the reproduction's additions;
notebooks 02, 03).

UNIT's terms come from one forward pass of the two VAEs and GANs and are summed by
:meth:`~d2rl_lib.training.ti.TITrainer.g_losses` (``ti.w_kl``, ``ti.w_recon``, ``ti.w_gan``,
``ti.w_cycle_kl``, ``ti.w_cycle``). Every further term is a :class:`Term` of :func:`terms_of`,
made from its own part of the config and added in that order: the identity-level match
(``ti.w_match``) and a frozen single-modality teacher per modality (``ti.teacher.infrared``,
``ti.teacher.visible``; :mod:`d2rl_lib.training.teacher`). A term needs identity-labelled T_I
batches (``schedule.ti_batch_ids``); the history keys it logs (``logged``) follow from the list.

Adding a term: a function of :class:`Batch` returning ``{"loss": ..., **logged values}``, and
one line in :func:`terms_of` that makes it when its weight is above 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Tuple

import torch

from ..config import Config, teachers
from ..losses.translation import identity_match_loss
from .teacher import Teacher


@dataclass
class Batch:
    """What a term may read: the real images and their identities, and T_I's translations
    (x_hat_i [B, 1, H, W], y_hat_v [B, 3, H, W], in fp32, gradients flowing into T_I)."""

    x: torch.Tensor
    y: torch.Tensor
    kx: torch.Tensor
    ky: torch.Tensor
    x_vi: torch.Tensor
    y_iv: torch.Tensor


@dataclass
class Term:
    """One weighted term of T_I's objective: ``parts[name] = compute(batch)["loss"]`` enters the
    total as ``weight * loss``; the other values it returns are logged under their keys, and
    those named in ``logged`` are kept in the training history."""

    name: str
    weight: float
    compute: Callable[[Batch], Dict[str, torch.Tensor]]
    logged: Tuple[str, ...] = ()


def _teacher_term(modality: str, teacher: Teacher, weight: float) -> Term:
    """The teacher of ``modality`` scores the translations into it beside the batch's real images
    of it: x_hat_i beside y (infrared), y_hat_v beside x (visible)."""
    def compute(b: Batch) -> Dict[str, torch.Tensor]:
        translated, k_t, real, k_r = ((b.x_vi, b.kx, b.y, b.ky) if modality == "infrared"
                                      else (b.y_iv, b.ky, b.x, b.kx))
        out = teacher.loss(translated, k_t, real, k_r)
        return {"loss": out["loss"], f"teacher_{modality}_acc": out["acc"]}
    return Term(f"teacher_{modality}", weight, compute, logged=(f"teacher_{modality}_acc",))


def terms_of(cfg: Config, device: torch.device) -> List[Term]:
    """The further terms ``cfg`` asks for (weight above 0), in the order they are added; the
    teachers are loaded (frozen) here."""
    out = []
    if cfg.ti.w_match > 0:
        out.append(Term("match", cfg.ti.w_match,
                        lambda b: {"loss": identity_match_loss(b.x_vi, b.kx, b.y, b.ky)}))
    for modality, t in teachers(cfg.ti):
        if t.weight > 0:
            out.append(_teacher_term(modality, Teacher(t.run, modality, cfg, device), t.weight))
    return out
