"""Training T_I alone (paper Sec. 3.1; notebooks 02 and 03), and the trainer object the
joint D2RL step builds on (:class:`d2rl_lib.training.joint.JointStep`).

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

The T_I stage itself (``run_ti``, ``d2rl train --stage ti``) runs in one process; under
torchrun the T_I warm-up inside a method runs identically on every process
(:func:`d2rl_lib.training.run.run_method`, docs/training.md). Under fp16 autocast (CUDA)
both updates go through gradient scalers (:func:`d2rl_lib.runtime.scaled_update`).

x: visible [B, 3, H, W], y: infrared [B, 1, H, W], floats in [-1, 1].
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Dict, Optional

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from .. import distributed
from ..config import Config
from ..data.files import pixels
from ..data.loading import load_data
from ..data.samplers import CrossModalityPKSampler
from ..data.records import INFRARED, VISIBLE, ImageSet, to_signed, to_uint8
from ..errors import UserError
from ..evaluation.fidelity import translation_fidelity
from ..losses.translation import (d_accuracy, gan_d_loss, gan_g_loss,
                                 kl_loss, recon_loss)
from ..models.translation import T_I
from .objective import Batch, terms_of
from ..runtime import (Checkpointed, LossGuard, Progress, RunDir, Update, amp_dtype, autocast,
                      choose_device, grad_scaler, load_checkpoint, scaled_update, seed_everything,
                      set_threads)


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


class UnpairedBatches:
    """Visible and infrared training images drawn independently (never the pairs);
    batch ``step`` is a pure function of (seed, step), so resuming is exact.

    ``ids`` > 0 (``schedule.ti_batch_ids``): each batch holds ``ids`` identities, each with
    ``batch // ids`` visible and as many infrared images, drawn by the re-ID sampler
    (:class:`~d2rl_lib.data.samplers.CrossModalityPKSampler`): the same people, never the
    same instant. :meth:`labelled` also returns their identities (``ti.w_match``)."""

    def __init__(self, train: ImageSet, batch: int, seed: int, ids: int = 0):
        self.train, self.batch_size, self.seed = train, batch, seed
        self.vis = np.flatnonzero(train.modality == VISIBLE)
        self.ir = np.flatnonzero(train.modality == INFRARED)
        self.pixels = pixels(train)                                   # tensor, or files read lazily
        self.sampler = None
        if ids:
            if batch % ids or train.labels is None:
                raise UserError(f"schedule.ti_batch={batch} must be a multiple of schedule.ti_batch_ids="
                                f"{ids}, on a labelled training set (or set ti_batch_ids=0)")
            self.sampler = CrossModalityPKSampler(train.labels, train.modality, ids, batch // ids, seed)

    @classmethod
    def from_config(cls, train: ImageSet, cfg: Config) -> "UnpairedBatches":
        s = cfg.schedule
        return cls(train, s.ti_batch, cfg.runtime.seed, s.ti_batch_ids)

    def labelled(self, step: int):
        """(x [B, 3, H, W], y [B, 1, H, W], identities of x [B] or None, of y [B] or None)."""
        rng = np.random.default_rng([self.seed, step, 17])
        if self.sampler is None:
            iv = rng.choice(self.vis, self.batch_size, replace=len(self.vis) < self.batch_size)
            ii = rng.choice(self.ir, self.batch_size, replace=len(self.ir) < self.batch_size)
        else:                                     # [P, K visible + K infrared] indices
            both = self.sampler.batch(step).reshape(self.sampler.P, 2 * self.sampler.K)
            iv, ii = both[:, : self.sampler.K].ravel(), both[:, self.sampler.K:].ravel()
        x = to_signed(self.pixels[iv])                               # [B, 3, H, W]
        y = to_signed(self.pixels[ii][:, :1])                        # [B, 1, H, W]
        flip = torch.from_numpy(rng.random(2 * self.batch_size) < 0.5)
        x[flip[: self.batch_size]] = x[flip[: self.batch_size]].flip(3)
        y[flip[self.batch_size:]] = y[flip[self.batch_size:]].flip(3)
        if self.sampler is None:
            return x, y, None, None
        labels = torch.as_tensor(self.train.labels)
        return x, y, labels[iv], labels[ii]

    def batch(self, step: int):
        """(x, y) of :meth:`labelled`."""
        return self.labelled(step)[:2]


def train_ti_steps(trainer: TITrainer, batches: UnpairedBatches, start: int, steps: int,
                   run_dir: Optional[RunDir], cfg: Config, desc: str = "T_I",
                   on_checkpoint: Optional[Callable[[int], None]] = None,
                   progress: Progress = tqdm) -> Dict[str, list]:
    """Steps ``start..steps-1`` of T_I training; returns the history of the logged values.
    ``progress``: a tqdm-like factory for the progress bar."""
    guard = LossGuard("T_I", collapse_patience=200,
                      checkpoint_hint=str(run_dir.checkpoints / "ti_last.pt") if run_dir else "")
    history: Dict[str, list] = {"step": [], "d_acc": [], "g": [], "d": [], "recon": [], "cycle": []}
    bar = progress(range(start, steps), desc=desc, initial=start, total=steps, leave=False, mininterval=2.0,
               disable=not distributed.is_main())                    # one bar under torchrun
    for step in bar:
        x, y, kx, ky = batches.labelled(step)
        x, y = x.to(trainer.device), y.to(trainer.device)
        d = trainer.d_step(x, y)
        g = trainer.g_step(x, y, kx=kx, ky=ky)
        vals = guard.check(step, {**{k: v for k, v in g.items()}, "d": d["d"]})
        guard.check_collapse(step, d["d_acc"])
        for k in (k for term in trainer.terms for k in term.logged):  # what the further terms log
            if k in vals and k not in history:
                history[k] = []
        if (step + 1) % cfg.schedule.log_every == 0 or step + 1 == steps:
            for k in history:
                history[k].append(step + 1 if k == "step" else (d["d_acc"] if k == "d_acc" else vals[k]))
            if run_dir is not None:
                run_dir.write_log(f"T_I step {step + 1}/{steps} d_acc={d['d_acc']:.2f} "
                                  + " ".join(f"{k}={v:.4f}" for k, v in vals.items()))
            bar.set_postfix(g=f"{vals['g']:.2f}", d_acc=f"{d['d_acc']:.2f}")
        every = cfg.schedule.sample_every
        if run_dir is not None and every and (step + 1) % every == 0:
            save_samples(trainer, batches, run_dir, step + 1)
        if on_checkpoint and ((cfg.schedule.checkpoint_every and (step + 1) % cfg.schedule.checkpoint_every == 0)
                              or step + 1 == steps):
            on_checkpoint(step + 1)
    return history


@torch.no_grad()
def save_samples(trainer: TITrainer, batches: UnpairedBatches, run_dir: RunDir, step: int, n: int = 6):
    """A PNG grid: visible x, x_hat_i, infrared y, y_hat_v (first n of a fixed batch)."""
    x, y = batches.batch(0)
    x, y = x[:n].to(trainer.device), y[:n].to(trainer.device)
    trainer.t_i.eval()
    rows = [x, trainer.t_i.v2i(x).expand(-1, 3, -1, -1), y.expand(-1, 3, -1, -1),
            trainer.t_i.i2v(y)]
    grid = torch.cat([torch.cat(list(r.cpu()), dim=2) for r in rows], dim=1)   # [3, 4H, nW]
    Image.fromarray(to_uint8(grid).permute(1, 2, 0).numpy()).save(run_dir.samples / f"ti_{step:06d}.png")


def read_ti_stage(path, label: str = "", device: str | torch.device = "cpu") -> dict:
    """The state dict of a T_I stage checkpoint (``d2rl train --stage ti``:
    ``checkpoints/ti_last.pt``), read with ``weights_only=True``; a missing file or another
    kind of checkpoint is refused, naming it as ``label`` (default: the path)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{label or path}: no such file; give the checkpoints/ti_last.pt written by "
                        f"`d2rl train --stage ti --out DIR`")
    state = load_checkpoint(path, map_location=device)
    if "t_i" not in state.get("trainer", {}):
        raise UserError(f"{path} is not a T_I stage checkpoint (no trainer.t_i); give the "
                        f"checkpoints/ti_last.pt written by `d2rl train --stage ti`")
    return state


def load_ti_stage(path, device: str | torch.device = "cpu"):
    """(T_I in eval mode, its Config) from a checkpoint of the T_I stage (:func:`read_ti_stage`)."""
    state = read_ti_stage(path, device=device)
    if "config" not in state:
        raise UserError(f"{path}: a T_I stage checkpoint without its config; train T_I again "
                        f"with `d2rl train --stage ti`")
    cfg = Config.from_dict(state["config"])
    t_i = T_I(cfg.ti)
    t_i.load_state_dict(state["trainer"]["t_i"])
    return t_i.to(device).eval(), cfg


def require_single_process() -> None:
    """Refuse the T_I stage under torchrun (``WORLD_SIZE`` > 1): it runs in one process."""
    if distributed.world_size() > 1:
        raise UserError(f"the T_I stage (--stage ti) runs in one process, not under torchrun "
                        f"(WORLD_SIZE={distributed.world_size()}): launch it with plain `d2rl train "
                        f"--stage ti`; several processes train the methods (`d2rl train` without "
                        f"--stage ti: the T_F phases of every method and the joint d2rl steps)")


def run_ti(cfg: Config, run_dir: RunDir, resume: bool = False, progress: Progress = tqdm) -> TITrainer:
    """Train T_I for ``schedule.ti_steps`` steps on the training images, write
    checkpoints/ti_last.pt, ti_metrics.json and (synthetic world) translation.json.
    ``progress``: a tqdm-like factory for the progress bar."""
    require_single_process()
    cfg.check_translator()
    seed_everything(cfg.runtime.seed)
    set_threads(cfg.runtime.threads)
    device = choose_device(cfg.runtime.device)
    train, test = load_data(cfg)
    trainer = TITrainer(cfg, device)
    batches = UnpairedBatches.from_config(train, cfg)
    run = Checkpointed(run_dir.checkpoints / "ti_last.pt", cfg.to_dict())
    hist0: Dict[str, list] = {}
    if resume:
        state = run.resume()
        trainer.load_state_dict(state["trainer"])
        hist0 = state["history"]
    history: Dict[str, list] = {}

    def checkpoint(step: int) -> None:
        merged = {k: hist0.get(k, []) + history.get(k, []) for k in (history or hist0)}
        run.save(step, trainer=trainer.state_dict(), history=merged)

    history = train_ti_steps(trainer, batches, run.step, cfg.schedule.ti_steps, run_dir, cfg,
                             on_checkpoint=checkpoint, progress=progress)
    if hist0:
        history = {k: hist0.get(k, []) + history.get(k, []) for k in history}
    seconds = run.seconds()
    accs = history.get("d_acc", [])
    summary = {"preset": cfg.preset, "steps": cfg.schedule.ti_steps, "train_seconds": round(seconds, 1),
               "d_acc_mean": float(np.mean(accs)) if accs else None,
               "d_acc_last_quarter": float(np.mean(accs[-max(1, len(accs) // 4):])) if accs else None,
               "history": history}
    (run_dir.root / "ti_metrics.json").write_text(json.dumps(summary, indent=2) + "\n")
    if test.paired is not None and test.masks is not None:
        fid = translation_fidelity(trainer.t_i, test, device)
        fid.update({"preset": cfg.preset, "ti_steps": cfg.schedule.ti_steps,
                    "ti_train_seconds": round(seconds, 1), "d_acc_mean": summary["d_acc_mean"]})
        (run_dir.root / "translation.json").write_text(json.dumps(fid, indent=2) + "\n")
    return trainer
