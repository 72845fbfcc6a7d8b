"""D2RL's end-to-end update of T_I and T_F together (paper Sec. 3.3; notebook 05).

One :class:`JointStep` call is one iteration of the joint phase, in this order:

1. D_v and D_i take one step on the batch's real and translated images;
2. forward: T_I's objective on the batch (which also yields the translations x_hat_i and
   y_hat_v), the multi-spectral batch built from those very translations, T_F's re-ID
   losses on it;
3. one backward pass of  L_T_I + w * L_reid  into the generators (through the translated
   channels) and into T_F, through this step's gradient scaler; under torchrun T_I's
   gradients are averaged across processes (T_F's are, by DDP, during the backward pass);
   T_F's gradient norm is clipped (``optim.grad_clip``), the generators' is not;
4. T_F's and the generators' optimisers step, the scale is updated, T_F's learning rate
   schedule moves on.

Steps 3 and 4 are one :func:`d2rl_lib.runtime.scaled_update` of the two trainers' updates,
T_F's first (``TFTrainer.update``, ``TITrainer.update_g``): each brings its own optimiser,
parameters, clipping, gradient sync and schedule.
"""
from __future__ import annotations

from typing import Dict

import torch

from ..data.records import VISIBLE
from ..inputs import feed
from ..methods import METHODS, Method
from ..runtime import grad_scaler, scaled_update
from .tf import TFTrainer
from .ti import TITrainer


class JointStep:
    """Owns a D2RL joint update: the two trainers it moves, the gradient scaler of their shared
    backward pass and the weight w of the re-ID loss in the generators' update
    (``ti.w_reid``). See the module docstring for the order of its parts."""

    def __init__(self, ti: TITrainer, tf: TFTrainer, method: Method = METHODS["d2rl"]):
        self.ti, self.tf, self.method = ti, tf, method
        self.w_reid = ti.cfg.ti.w_reid
        self.scaler = grad_scaler(tf.device, tf.amp)                  # active for fp16 only

    def __call__(self, raw: torch.Tensor, modality: torch.Tensor,
                 labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """raw [B, 3, H, W] in [-1, 1] (augmented), modality [B], labels [B]; returns T_F's
        losses (:meth:`TFTrainer.losses`)."""
        ti, tf = self.ti, self.tf
        vis = modality.to(raw.device) == VISIBLE
        x, y = raw[vis], raw[~vis][:, :1]                             # [Bv, 3, H, W], [Bi, 1, H, W]

        # 1. the discriminators
        ti.d_step(x, y)

        # 2. forward through T_I, the unification and T_F
        ti.t_i.train()
        tf.train_model.train()
        l_ti, _, x_vi, y_iv = ti.g_losses(x, y, labels[vis].cpu(), labels[~vis].cpu())
        u = feed(self.method, raw, modality, ti.t_i, translations=(x_vi, y_iv),
                 dropout=tf.cfg.tf.modality_dropout)                # [B, 4, H, W]
        out = tf.losses(u, labels)
        loss = l_ti + self.w_reid * out["reid"]

        # 3.-4. one backward pass into both networks, T_F's update then the generators'
        scaled_update(self.scaler, loss, tf.update, ti.update_g)
        return out

    def state_dict(self) -> dict:
        return {"scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.scaler.load_state_dict(state["scaler"])
