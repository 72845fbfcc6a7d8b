"""What T_F is fed: :func:`feed`, the one place where a method's description
(:class:`d2rl_lib.methods.Method`) turns a batch into T_F's input, in the frozen T_F step, the
joint step and evaluation (notebooks 04-06).

:func:`feed` takes float images in [-1, 1] (the raw images, augmented in training; an oracle's
[image, knowable twin] 4-channel images) and returns [B, C, H, W]: raw (C = 3), raw with the
visible images in grey (C = 3), unified by T_I (:func:`d2rl_lib.models.unify.unify`; C = 4
multi-spectral, else 3) or by the oracle's twin, then, in training, with modality dropout
(:func:`d2rl_lib.models.unify.blank_own_channels`). :func:`prepare_for` wraps it for evaluation:
uint8 images [B, 3, H, W] and their modality [B] in, T_F's input out.
"""
from __future__ import annotations

from typing import Callable, Optional, Tuple

import torch
from torchvision.transforms.v2 import functional as tvf

from .data.records import VISIBLE, to_signed
from .errors import UserError
from .methods import Method
from .models.unify import blank_own_channels, unify

Prepare = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def visible_as_grey(x: torch.Tensor, modality: torch.Tensor) -> torch.Tensor:
    """x [B, 3, H, W] with its visible images converted to grey (three equal channels); a copy."""
    x = x.clone()
    vis = (modality == VISIBLE).to(x.device)
    if vis.any():
        x[vis] = tvf.rgb_to_grayscale(x[vis], num_output_channels=3)
    return x


def feed(method: Method, x: torch.Tensor, modality: torch.Tensor, t_i=None,
         translations: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
         dropout: float = 0.0) -> torch.Tensor:
    """T_F's input for ``method``: x [B, 3, H, W] (an oracle's [B, 4, H, W]) in [-1, 1],
    modality [B] -> [B, method.in_channels, H, W].

    ``t_i``: the T_I that translates (methods that use one; gradients flow into it unless the
    caller holds ``torch.no_grad()``); ``translations``: (x_hat_i, y_hat_v) already computed by
    T_I's objective (the joint step); ``dropout``: ``tf.modality_dropout``, training only."""
    if method.grey_visible:
        x = visible_as_grey(x, modality)
    if method.oracle and method.unification == "infrared":
        x = x[:, 3:4].expand(-1, 3, -1, -1).contiguous()            # the twin of x, or y: [B, 3, H, W]
    elif method.uses_ti:
        if t_i is None:
            raise UserError(f"method {method.name!r} translates its images with T_I: give the trained T_I")
        x = unify(t_i, x, modality, method.unification, translations,
                  infrared_input=method.infrared_input)              # [B, 4 or 3, H, W]
    if dropout > 0:
        if x.shape[1] != 4:
            raise ValueError(f"modality dropout blanks a multi-spectral image's own channels; method "
                             f"{method.name!r} feeds {x.shape[1]} channels")
        x = blank_own_channels(x, modality, dropout, method.infrared_input)
    return x


def prepare_raw(grey_visible: bool = False) -> Prepare:
    """The raw images as floats (with ``grey_visible`` the visible ones converted to grey): the input
    transform of the baseline (or the grayscale method) for notebooks and exercises."""
    def raw(images: torch.Tensor, modality: torch.Tensor) -> torch.Tensor:
        x = to_signed(images)                                        # [B, 3, H, W]
        return visible_as_grey(x, modality) if grey_visible else x
    return raw


def prepare_for(method: Method, t_i: Optional[torch.nn.Module] = None) -> Prepare:
    """The evaluation transform of ``method`` (its trained T_I given when it has one, used in
    eval mode): uint8 images [B, 3 or 4, H, W], modality [B] -> :func:`feed` without dropout."""
    if method.uses_ti and t_i is None:
        raise UserError(f"method {method.name!r} translates its images with T_I: give the trained T_I")

    def prepare(images: torch.Tensor, modality: torch.Tensor) -> torch.Tensor:
        x = to_signed(images)
        if t_i is not None:
            t_i.eval()
            x = x.to(next(t_i.parameters()).device)
        return feed(method, x, modality, t_i)
    return prepare
