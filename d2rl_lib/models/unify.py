"""Modality unification (paper Sec. 3.1, "modality unification"; notebook 04).

Three choices, one function:

- ``"multi-spectral"`` (D2RL's): every image becomes 4 channels [RGB, IR].
  A visible x becomes [x, x_hat_i], an infrared y becomes [y_hat_v, y] (or, with
  ``infrared_input="repeated"``, [y, y, y, y]: its own channel in place of y_hat_v, as the
  ``-yyyy`` methods and the oracle feed it).
- ``"infrared"``: everything as infrared: x -> x_hat_i (3 identical channels), y stays.
- ``"visible"``: everything as visible: x stays, y -> y_hat_v.

Images are float [B, 3, H, W] in [-1, 1]; infrared images carry 3 identical
channels in the data, of which T_I uses one. Gradients flow into T_I's
generators unless the caller wraps the call in ``torch.no_grad()``. During D2RL's joint
steps the translations come from the T_I objective's own forward pass (``translations``),
so the re-ID loss reaches the generators through the very images T_I's losses judge.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch

from ..data.records import INFRARED

from ..methods import INFRARED_INPUTS

MODES = ("multi-spectral", "infrared", "visible")


def unify(t_i, images: torch.Tensor, modality: torch.Tensor, mode: str = "multi-spectral",
          translations: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
          infrared_input: str = "translated") -> torch.Tensor:
    """images [B, 3, H, W], modality [B] (0 visible, 1 infrared) -> unified images
    [B, 4, H, W] (multi-spectral) or [B, 3, H, W].

    ``translations``: (x_hat_i [Bv, 1, H, W], y_hat_v [Bi, 3, H, W]) of the batch's visible
    and infrared images, in batch order, already computed; otherwise ``t_i`` translates.
    ``infrared_input``: in the multi-spectral mode, an infrared y becomes [y_hat_v, y]
    (``"translated"``, the paper's) or [y, y, y, y] (``"repeated"``)."""
    if mode not in MODES:
        raise ValueError(f"unification mode {mode!r}: choose one of {', '.join(MODES)}")
    if infrared_input not in INFRARED_INPUTS:
        raise ValueError(f"infrared input {infrared_input!r}: choose one of {', '.join(INFRARED_INPUTS)}")
    ir = (modality.to(images.device) == INFRARED)
    vis = ~ir
    b, _, h, w = images.shape
    out_ch = 4 if mode == "multi-spectral" else 3
    out = images.new_zeros(b, out_ch, h, w)
    if vis.any():
        x = images[vis]                                          # [Bv, 3, H, W]
        if mode == "visible":
            out[vis] = x
        else:
            x_hat_i = t_i.v2i(x) if translations is None else translations[0]  # [Bv, 1, H, W]
            out[vis] = torch.cat([x, x_hat_i], 1) if mode == "multi-spectral" else x_hat_i.expand(-1, 3, -1, -1)
    if ir.any():
        y = images[ir][:, :1]                                    # [Bi, 1, H, W]
        if mode == "infrared" or (mode == "multi-spectral" and infrared_input == "repeated"):
            out[ir] = y.expand(-1, out_ch, -1, -1)
        else:
            y_hat_v = t_i.i2v(y) if translations is None else translations[1]  # [Bi, 3, H, W]
            out[ir] = torch.cat([y_hat_v, y], 1) if mode == "multi-spectral" else y_hat_v
    return out


def blank_own_channels(u: torch.Tensor, modality: torch.Tensor, p: float,
                       infrared_input: str = "translated") -> torch.Tensor:
    """Modality dropout on multi-spectral images u [B, 4, H, W] (``tf.modality_dropout``): each
    image, with chance ``p``, loses the channels its own camera took (set to 0, mid-grey): a
    visible [x, x_hat_i] becomes [0, 0, 0, x_hat_i], an infrared [y_hat_v, y] becomes
    [y_hat_v, 0]. T_F must then know the person from the translated channel alone, which makes
    it a teacher of T_I in the joint steps. Infrared images fed as [y, y, y, y]
    (``infrared_input="repeated"``) carry no translation and are left whole. Returns a new tensor."""
    if p <= 0:
        return u
    ir = (modality.to(u.device) == INFRARED)
    drop = torch.rand(len(u), device=u.device) < p                # [B]
    if infrared_input == "repeated":
        drop = drop & ~ir
    keep = torch.ones_like(u[:, :, :1, :1])                       # [B, 4, 1, 1]
    keep[drop & ~ir, :3] = 0
    keep[drop & ir, 3:] = 0
    return u * keep
