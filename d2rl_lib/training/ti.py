"""T_I's trainer (paper Sec. 3.1; notebooks 02 and 03): the object the T_I stage
(:mod:`.ti_stage`) and the joint D2RL step (:class:`d2rl_lib.training.joint.JointStep`) build on;
its batches are :class:`~d2rl_lib.training.ti_batches.UnpairedBatches`.

:class:`TITrainer` is the contract:

- ``t_i``: the :class:`~d2rl_lib.models.translation.T_I` module.
- ``d_step(x, y)``: one update of D_v and D_i on real x / y and translated images.
- ``g_losses(x, y)``: the T_I objective's terms and the translations (no update).
- ``g_step(x, y)``: one update of E_v, E_i, G_v, G_i with that objective.
- ``state_dict()`` / ``load_state_dict()``: models, optimisers, scalers, for checkpoints.
- ``update_d``, ``update_g``: the discriminators' and the generators' parts of an update
  (:class:`~d2rl_lib.runtime.Update`: optimiser and parameters, no clipping, no schedule);
  the joint D2RL step runs ``update_g`` beside T_F's. Their ``sync`` is None, or under
  torchrun :func:`d2rl_lib.distributed.average_gradients`, set for both by
  :func:`d2rl_lib.distributed.share_t_i` before the joint steps.

The T_I stage itself (:func:`~d2rl_lib.training.ti_stage.run_ti`, ``d2rl train --stage ti``) runs in one process; under
torchrun the T_I warm-up inside a method runs identically on every process
(:func:`d2rl_lib.training.run.run_method`, docs/training.md). Under fp16 autocast (CUDA)
both updates go through gradient scalers (:func:`d2rl_lib.runtime.scaled_update`).

x: visible [B, 3, H, W], y: infrared [B, 1, H, W], floats in [-1, 1].
"""
from __future__ import annotations

from typing import Dict, Optional

import torch

from ..config import Config
from ..losses.translation import d_accuracy, gan_d_loss, gan_g_loss, kl_loss, recon_loss
from ..models.translation import T_I
from ..runtime import Update, amp_dtype, autocast, grad_scaler, scaled_update
from .objective import Batch, terms_of


class TITrainer:
    """T_I with its two Adam optimisers (generators, discriminators). See the module docstring."""

    def __init__(self, cfg: Config, device: torch.device):
        self.cfg, self.device = cfg, device
        self.t_i = T_I(cfg.ti).to(device)
        o = cfg.optim
        betas = (o.ti_beta1, o.ti_beta2)
        pixel_map = list(self.t_i.P_v.parameters()) if self.t_i.maps_pixels else []   # spectral, reflectance
        rest = [p for p in self.t_i.generator_parameters() if all(p is not q for q in pixel_map)]
        groups = [{"params": rest}] + ([{"params": pixel_map, "lr": o.ti_spectral_lr}] if pixel_map else [])
        self.opt_g = torch.optim.Adam(groups, lr=o.ti_lr, betas=betas, weight_decay=o.ti_weight_decay)
        self.opt_d = torch.optim.Adam(self.t_i.discriminator_parameters(), lr=o.ti_lr, betas=betas,
                                      weight_decay=o.ti_weight_decay)
        self.amp = amp_dtype(cfg.runtime.amp, device)
        self.scaler_g, self.scaler_d = grad_scaler(device, self.amp), grad_scaler(device, self.amp)
        self.update_d = Update(self.opt_d, self.t_i.discriminator_parameters())
        self.update_g = Update(self.opt_g, self.t_i.generator_parameters())
        self.terms = terms_of(cfg, device)                           # the match, the teachers (objective.py)

    def d_step(self, x: torch.Tensor, y: torch.Tensor) -> Dict[str, float]:
        t, kind = self.t_i, self.cfg.ti.gan_loss
        t.train()
        with torch.no_grad(), autocast(self.device, self.amp):
            x_vi = t.G_i(t.sample(*t.E_v(x)), x)                      # [B, 1, H, W]
            y_iv = t.G_v(t.sample(*t.E_i(y)), y)                      # [B, 3, H, W]
        with autocast(self.device, self.amp):
            ri, fi = t.D_i(y), t.D_i(x_vi.detach())
            rv, fv = t.D_v(x), t.D_v(y_iv.detach())
            ri, fi, rv, fv = ([o.float() for o in outs] for outs in (ri, fi, rv, fv))
            loss = self.cfg.ti.w_gan * (gan_d_loss(ri, fi, kind) + gan_d_loss(rv, fv, kind))
        scaled_update(self.scaler_d, loss, self.update_d)
        acc = (d_accuracy(ri, fi, kind) + d_accuracy(rv, fv, kind)) / 2
        return {"d": float(loss.detach()), "d_acc": acc}

    def g_losses(self, x: torch.Tensor, y: torch.Tensor, kx: Optional[torch.Tensor] = None,
                 ky: Optional[torch.Tensor] = None):
        """All generator-side terms; returns (weighted total, parts, x_vi, y_iv). ``kx``, ``ky``:
        the identities of x and y [B], for the further terms (:attr:`terms`,
        :func:`d2rl_lib.training.objective.terms_of`: the identity-level match, the teachers)."""
        t, c, kind = self.t_i, self.cfg.ti, self.cfg.ti.gan_loss
        with autocast(self.device, self.amp):
            mu_v, lv_v = t.E_v(x)                                     # [B, 4c, H/s, W/s]
            mu_i, lv_i = t.E_i(y)
            z_v, z_i = t.sample(mu_v, lv_v), t.sample(mu_i, lv_i)
            x_vv, y_ii = t.G_v(z_v, x), t.G_i(z_i, y)                 # reconstructions
            x_vi, y_iv = t.G_i(z_v, x), t.G_v(z_i, y)                 # translations
            mu_vi, lv_vi = t.E_i(x_vi)
            mu_iv, lv_iv = t.E_v(y_iv)
            x_cyc = t.G_v(t.sample(mu_vi, lv_vi), x_vi)               # x -> IR -> visible
            y_cyc = t.G_i(t.sample(mu_iv, lv_iv), y_iv)               # y -> visible -> IR
            adv_i = [o.float() for o in t.D_i(x_vi)]
            adv_v = [o.float() for o in t.D_v(y_iv)]
        f = lambda a: a.float()  # noqa: E731 - losses in fp32 under autocast
        parts = {
            "kl": kl_loss(f(mu_v), lv_v) + kl_loss(f(mu_i), lv_i),
            "recon": recon_loss(x, f(x_vv)) + recon_loss(y, f(y_ii)),
            "gan": gan_g_loss(adv_i, kind) + gan_g_loss(adv_v, kind),
            "cycle_kl": kl_loss(f(mu_vi), lv_vi) + kl_loss(f(mu_iv), lv_iv),
            "cycle": recon_loss(x, f(x_cyc)) + recon_loss(y, f(y_cyc)),
        }
        total = (c.w_kl * parts["kl"] + c.w_recon * parts["recon"] + c.w_gan * parts["gan"]
                 + c.w_cycle_kl * parts["cycle_kl"] + c.w_cycle * parts["cycle"])
        if kx is not None:                                            # identity-labelled batch
            batch = Batch(x, y, kx, ky, f(x_vi), f(y_iv))
            for term in self.terms:
                out = term.compute(batch)
                parts.update({term.name: out.pop("loss"), **out})
                total = total + term.weight * parts[term.name]
        return total, parts, f(x_vi), f(y_iv)

    def g_step(self, x: torch.Tensor, y: torch.Tensor, kx: Optional[torch.Tensor] = None,
               ky: Optional[torch.Tensor] = None) -> Dict[str, float]:
        """One update of the encoders and generators with the T_I objective (:meth:`g_losses`)."""
        self.t_i.train()
        total, parts, _, _ = self.g_losses(x, y, kx, ky)
        scaled_update(self.scaler_g, total, self.update_g)
        return {**{k: float(v.detach()) for k, v in parts.items()}, "g": float(total.detach())}

    def state_dict(self) -> dict:
        return {"t_i": self.t_i.state_dict(), "opt_g": self.opt_g.state_dict(),
                "opt_d": self.opt_d.state_dict(), "scaler_g": self.scaler_g.state_dict(),
                "scaler_d": self.scaler_d.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.t_i.load_state_dict(state["t_i"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.scaler_g.load_state_dict(state["scaler_g"])
        self.scaler_d.load_state_dict(state["scaler_d"])
