"""What T_F is fed: a method's input transform, made from its description
(:class:`d2rl_lib.methods.Method`; notebooks 04-06).

A transform takes uint8 images [B, 3, H, W] and their modality [B] and returns float images
[B, C, H, W] in [-1, 1]: raw (C = 3), raw with the visible images in grey (C = 3), or
unified by T_I (:func:`d2rl_lib.models.unify.unify`; C = 4 multi-spectral, else 3).
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torchvision.transforms.v2 import functional as tvf

from .data.records import VISIBLE, to_signed
from .errors import UserError
from .methods import Method
from .models.unify import unify

Prepare = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def prepare_raw(grey_visible: bool = False, fourth_only: bool = False) -> Prepare:
    """The raw images as floats; with ``grey_visible`` the visible ones converted to grey; with
    ``fourth_only`` (``unify-ir-oracle``) the oracle's 4-channel images [B, 4, H, W] reduced to
    their fourth channel (the knowable twin of x, or y) shown as three."""
    def raw(images: torch.Tensor, modality: torch.Tensor) -> torch.Tensor:
        x = to_signed(images)                                        # [B, 3 or 4, H, W]
        if fourth_only:
            return x[:, 3:4].expand(-1, 3, -1, -1).contiguous()      # [B, 3, H, W]
        if grey_visible:
            vis = modality == VISIBLE
            if vis.any():
                x[vis] = tvf.rgb_to_grayscale(x[vis], num_output_channels=3)
        return x
    return raw


def prepare_unified(t_i, mode: str, infrared: str = "translated") -> Prepare:
    """The images unified by T_I (in eval mode) in ``mode`` (:data:`d2rl_lib.models.unify.MODES`;
    ``infrared``: how the multi-spectral mode feeds an infrared image)."""
    def unified(images: torch.Tensor, modality: torch.Tensor) -> torch.Tensor:
        t_i.eval()
        dev = next(t_i.parameters()).device
        return unify(t_i, to_signed(images).to(dev), modality, mode,
                     infrared=infrared)                              # [B, 4 or 3, H, W]
    return unified


def prepare_raw_for(method: Method) -> Prepare:
    """The raw-image transform of a method without T_I (baseline, grayscale, the oracles)."""
    return prepare_raw(method.grey_visible, method.oracle_as_infrared)


def prepare_for(method: Method, t_i: Optional[torch.nn.Module] = None) -> Prepare:
    """The input transform of ``method`` (its trained T_I given when it has one)."""
    if not method.uses_ti:
        return prepare_raw_for(method)
    if t_i is None:
        raise UserError(f"method {method.name!r} translates its images with T_I: give the trained T_I")
    return prepare_unified(t_i, method.unification, method.infrared_input)
