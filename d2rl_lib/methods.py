"""The six methods of the ablation (paper Sec. 4.3; notebooks 04-06) and what each one
feeds T_F. The method names are :data:`d2rl_lib.config.METHODS`; here is what they mean:

- ``baseline``: T_F alone on the raw 3-channel images of both modalities (the
  paper's feature-level-constraint baseline, Fig. 1 right).
- ``grayscale``: the same, with visible images converted to grey first: the
  naive "unification" with no learning.
- ``unify-ir`` / ``unify-visible``: T_I trained first and frozen; every image is
  translated into one modality before T_F.
- ``d2rl-frozen``: T_I trained first and frozen; T_F on the 4-channel multi-spectral
  images [x, x_hat_i] / [y_hat_v, y].
- ``d2rl``: the same, then joint steps in which the re-ID loss also updates the
  generators through the translated channels (end to end, paper Sec. 3.3).
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torchvision.transforms.v2 import functional as TF

from .config import METHODS, RAW_METHODS
from .data.records import VISIBLE, to_signed
from .errors import UserError
from .models.unify import unify

# the unification mode (models.unify.MODES) of each method that uses T_I
TI_MODES = {"unify-ir": "infrared", "unify-visible": "visible", "d2rl": "multi-spectral",
            "d2rl-frozen": "multi-spectral"}
assert set(TI_MODES) == set(METHODS) - set(RAW_METHODS)

Prepare = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def check_method(method: str) -> None:
    if method not in METHODS:
        raise UserError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")


def ti_mode(method: str) -> Optional[str]:
    """The unification mode of ``method``, or None for a method without T_I."""
    check_method(method)
    return TI_MODES.get(method)


def in_channels(method: str) -> int:
    """Channels of the images T_F sees: 4 for the multi-spectral space, else 3."""
    return 4 if ti_mode(method) == "multi-spectral" else 3


def prepare_raw(method: str) -> Prepare:
    """The input transform of a method without T_I: uint8 [B, 3, H, W] + modality [B]
    -> float [B, 3, H, W] in [-1, 1]."""
    def raw(images: torch.Tensor, modality: torch.Tensor) -> torch.Tensor:
        x = to_signed(images)
        if method == "grayscale":
            vis = modality == VISIBLE
            if vis.any():
                x[vis] = TF.rgb_to_grayscale(x[vis], num_output_channels=3)
        return x
    return raw


def prepare_unified(t_i, mode: str) -> Prepare:
    """The input transform of a method with T_I: uint8 images -> unified images (T_I in eval mode)."""
    def unified(images: torch.Tensor, modality: torch.Tensor) -> torch.Tensor:
        t_i.eval()
        dev = next(t_i.parameters()).device
        return unify(t_i, to_signed(images).to(dev), modality, mode)
    return unified


def prepare_for(method: str, t_i=None) -> Prepare:
    """The input transform of ``method`` (its T_I given when it has one)."""
    mode = ti_mode(method)
    if mode is None:
        return prepare_raw(method)
    if t_i is None:
        raise UserError(f"method {method!r} translates its images with T_I: give the trained T_I")
    return prepare_unified(t_i, mode)
