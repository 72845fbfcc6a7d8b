"""Training a re-ID method end to end: T_F on the (unified) images, after T_I's warm-up,
and D2RL's joint steps (paper Sec. 3.2-3.3; notebooks 05 and 06).

``run_method(cfg, run_dir)`` trains the configured ``cfg.method`` (:mod:`d2rl_lib.methods`
says what each one feeds T_F) on the training identities and scores the final model on
the test protocol (:func:`d2rl_lib.evaluate.run_summary`), writing ``metrics.json``. Its
three phases: T_I alone (:func:`d2rl_lib.train_ti.train_ti_steps`), T_F with T_I frozen
(:meth:`TFTrainer.step`), and for ``d2rl`` the joint steps (:meth:`TFTrainer.joint_step`).

Under ``torchrun`` (several processes, :mod:`d2rl_lib.distributed`; docs/training.md) the
T_F phases of every method and the joint ``d2rl`` steps are data-parallel: T_F in
DistributedDataParallel, each process on its share of each step's batch
(:class:`~d2rl_lib.data.samplers.RankShare`), the T_I gradients of the joint steps
averaged by hand; the T_I warm-up runs identically on every process; rank 0 alone writes
logs and checkpoints and scores the test set.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Dict

import torch
from tqdm.auto import tqdm

from . import distributed
from .config import Config, ConfigError, differences
from .data.augment import augment_batch, reid_augment
from .data.files import step_batches
from .data.loading import load_data
from .data.records import VISIBLE
from .data.samplers import CrossModalityPKSampler, RankShare
from .errors import UserError
from .evaluate import run_summary
from .losses.reid import batch_hard_triplet, identity_loss
from .methods import in_channels as method_channels
from .methods import prepare_for, prepare_raw, ti_mode
from .models.embedding import T_F
from .models.unify import unify
from .runtime import (Checkpointed, LossGuard, Progress, RunDir, amp_dtype, autocast, grad_scaler,
                      scaled_step, seed_everything, set_threads)
from .train_ti import TITrainer, UnpairedBatches, read_ti_stage, train_ti_steps


class TFTrainer:
    """T_F with its optimiser, warm-up + cosine learning-rate schedule and gradient scaler,
    and its two kinds of update: :meth:`step` (identity cross-entropy + batch-hard triplet
    on given images) and :meth:`joint_step` (D2RL's end-to-end step with T_I).

    ``model`` is T_F itself (what checkpoints store and scoring uses); ``train_model`` is
    what the training steps call: ``model`` in one process, ``model`` wrapped in
    DistributedDataParallel when a process group is running (torchrun)."""

    def __init__(self, cfg: Config, num_classes: int, in_channels: int, device: torch.device):
        self.cfg, self.device = cfg, device
        self.model = T_F(num_classes, in_channels, cfg.tf.arch, cfg.tf.last_stride,
                         cfg.tf.pretrained).to(device)
        if cfg.runtime.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        o = cfg.optim
        params = [p for p in self.model.parameters() if p.requires_grad]
        if o.tf_optimizer == "adam":                                  # fused: one kernel (bench: faster)
            fused = {"fused": True} if device.type in ("cpu", "cuda") else {}
            self.optim = torch.optim.Adam(params, lr=o.tf_lr, weight_decay=o.tf_weight_decay, **fused)
        else:
            self.optim = torch.optim.SGD(params, lr=o.tf_lr, momentum=0.9,
                                         weight_decay=o.tf_weight_decay, nesterov=True)
        total = max(1, cfg.schedule.tf_steps + cfg.schedule.joint_steps)
        warm = o.tf_warmup_steps

        def lr_factor(step: int) -> float:
            if step < warm:
                return (step + 1) / warm
            return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.optim, lr_factor)
        self.amp = amp_dtype(cfg.runtime.amp, device)
        self.scaler = grad_scaler(device, self.amp)
        self.train_model = distributed.wrap(self.model)                # DDP under torchrun

    def losses(self, x: torch.Tensor, labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """x [B, C, H, W] in [-1, 1] (gradients may flow back into x), labels [B]."""
        t = self.cfg.tf
        if self.cfg.runtime.channels_last:                            # the model's memory format
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(self.device, self.amp):
            f, logits = self.train_model(x)                          # [B, D], [B, classes]
        f, logits = f.float(), logits.float()
        l_id = identity_loss(logits, labels, t.label_smoothing)
        l_tri = batch_hard_triplet(f, labels, t.triplet_margin)
        acc = (logits.argmax(1) == labels).float().mean()
        return {"reid": t.w_id * l_id + t.w_triplet * l_tri, "id": l_id, "triplet": l_tri, "acc": acc}

    def step(self, x: torch.Tensor, labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """One update of T_F on images x [B, C, H, W] in [-1, 1] with identities labels [B]."""
        self.train_model.train()
        out = self.losses(x, labels)
        self.optim.zero_grad(set_to_none=True)
        self._update(out["reid"])
        return out

    def joint_step(self, ti: TITrainer, raw: torch.Tensor, modality: torch.Tensor,
                   labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """One joint D2RL iteration on a re-ID batch (paper Sec. 3.3): a D_v/D_i update, then
        one backward pass of  L_T_I + w * L_reid(T_F(unified batch))  that updates the
        generators (through the translated channels of the multi-spectral images) and T_F,
        through this trainer's gradient scaler and clipping.
        raw [B, 3, H, W] in [-1, 1] (augmented), modality [B], labels [B]."""
        vis = modality.to(raw.device) == VISIBLE
        x, y = raw[vis], raw[~vis][:, :1]                            # [Bv, 3, H, W], [Bi, 1, H, W]
        ti.d_step(x, y)
        ti.t_i.train()
        self.optim.zero_grad(set_to_none=True)
        l_ti, _, x_vi, y_iv = ti.g_losses(x, y, labels[vis].cpu(), labels[~vis].cpu())
        u = unify(ti.t_i, raw, modality, "multi-spectral", translations=(x_vi, y_iv))  # [B, 4, H, W]
        self.train_model.train()
        out = self.losses(u, labels)
        ti.opt_g.zero_grad(set_to_none=True)
        self._update(l_ti + self.cfg.tf.w_reid_to_ti * out["reid"],
                     also=(ti.opt_g, list(ti.t_i.generator_parameters()), ti.grad_sync))
        return out

    def _update(self, loss: torch.Tensor, also=None) -> None:
        """Backward through the scaler, clip T_F's gradients, step (T_F's optimiser, and
        ``also``'s: (optimiser, its parameters, gradient sync or None)), advance the schedule."""
        scaled_step(self.scaler, loss, self.optim, self.model.parameters(),
                    self.cfg.optim.grad_clip, also=also)
        self.sched.step()

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "optim": self.optim.state_dict(),
                "sched": self.sched.state_dict(), "scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optim.load_state_dict(state["optim"])
        self.sched.load_state_dict(state["sched"])
        self.scaler.load_state_dict(state["scaler"])


def load_ti_init(ti, cfg: Config) -> None:
    """Load the T_I stage checkpoint ``cfg.schedule.ti_init`` into ``ti`` (models and
    optimisers), refusing one whose ``ti`` settings differ from ``cfg.ti``."""
    path = Path(cfg.schedule.ti_init)
    state = read_ti_stage(path, f"schedule.ti_init={str(path)!r}")
    try:
        diff = differences(state.get("config", {}), cfg, prefix="ti.")
    except ConfigError as e:
        raise UserError(f"{path}: its stored configuration is not valid here ({e}); train T_I again") from None
    if diff:
        raise UserError(f"{path} was trained with other T_I settings ("
                        + ", ".join(f"{k}: {there!r} there, {here!r} here" for k, (there, here) in diff.items())
                        + "); use the same ti.* settings or train T_I again")
    ti.load_state_dict(state["trainer"])


def run_method(cfg: Config, run_dir: RunDir, resume: bool = False, progress: Progress = tqdm) -> dict:
    """Train ``cfg.method`` and score it; returns (and writes) the metrics.

    Schedule (DECISIONS.md): phase 1, T_I warm-up for ``schedule.ti_steps`` (methods with
    T_I); phase 2, T_F for ``schedule.tf_steps`` on the (unified) images with T_I frozen;
    phase 3, ``schedule.joint_steps`` more: joint updates of T_I and T_F for ``d2rl``, plain
    T_F steps for every other method, so that every T_F sees the same number of steps.
    ``progress``: a tqdm-like factory for the progress bars.

    Under torchrun (``WORLD_SIZE`` > 1; module docstring) every process calls this and gets
    rank 0's metrics back; one process runs exactly the single-process code path."""
    mode = ti_mode(cfg.method)
    seed_everything(cfg.runtime.seed)
    set_threads(cfg.runtime.threads)
    device = distributed.setup(cfg.runtime.device)                  # joins torchrun's group, if any
    world, rank, main = distributed.world_size(), distributed.rank(), distributed.is_main()
    train, test = load_data(cfg)
    ti = TITrainer(cfg, device) if mode else None
    num_classes = int(train.labels.max()) + 1
    in_channels = method_channels(cfg.method)
    trainer = TFTrainer(cfg, num_classes, in_channels, device)     # T_F in DDP if world > 1
    sampler = CrossModalityPKSampler(train.labels, train.modality, cfg.schedule.batch_ids,
                                     cfg.schedule.batch_images, cfg.runtime.seed)
    batch_of = sampler.batch if world == 1 else RankShare(sampler, rank, world).batch
    aug = reid_augment(cfg.data.height, cfg.data.width)
    run = Checkpointed(run_dir.checkpoints / "last.pt", cfg.to_dict())
    guard = LossGuard("T_F", checkpoint_hint=str(run.path))
    ti_end = cfg.schedule.ti_steps if mode else 0
    tf_total = cfg.schedule.tf_steps + cfg.schedule.joint_steps
    if resume:
        state = run.resume()
        trainer.load_state_dict(state["trainer"])
        if ti is not None:
            ti.load_state_dict(state["ti"])
    start = run.step

    def checkpoint(step: int) -> None:                               # unwrapped T_F: no "module."
        if main:                                                     # rank 0 writes, the others go on
            run.save(step, trainer=trainer.state_dict(), num_classes=num_classes, in_channels=in_channels,
                     **({"ti": ti.state_dict()} if ti is not None else {}),
                     **({"world_size": world} if world > 1 else {}))

    if world > 1 and main:
        run_dir.write_log(f"distributed: {world} processes ({device.type}), each step's batch of "
                          f"{cfg.schedule.batch_ids} identities split {cfg.schedule.batch_ids // world} "
                          f"per process" + (f", resumed at step {start}" if start else ""))

    # -- phase 1: T_I alone (the same on every process) -----------------------------------
    if ti is not None and cfg.schedule.ti_init and start < ti_end:  # done elsewhere: load it
        load_ti_init(ti, cfg)
        start = ti_end
    if ti is not None and start < ti_end:
        train_ti_steps(ti, UnpairedBatches.from_config(train, cfg), start, ti_end,
                       run_dir if main else None, cfg, desc=f"T_I ({cfg.method})",
                       on_checkpoint=checkpoint, progress=progress)
        start = ti_end
    if ti is not None and world > 1:
        distributed.share_t_i(ti)                                    # identical replicas, averaged grads

    # -- phases 2 and 3: T_F on the (unified) images; joint steps for d2rl ----------------
    labels_all = torch.as_tensor(train.labels)
    raw_prepare = prepare_raw("baseline" if mode else cfg.method)
    tf_batches = step_batches(train, batch_of, start - ti_end, tf_total, cfg.data.num_workers,
                              cfg.runtime.seed)                       # (step, idx, uint8 images)
    bar = progress(tf_batches, desc=f"T_F ({cfg.method})", initial=start - ti_end,
                   total=tf_total, leave=False, mininterval=2.0, disable=not main)
    for step, idx, images in bar:
        if world > 1:                  # each rank its own augmentations, a pure function of the step
            torch.manual_seed(distributed.step_seed(cfg.runtime.seed, step, rank))
        mod = torch.as_tensor(train.modality[idx])
        labels = labels_all[idx].to(device)
        raw = augment_batch(raw_prepare(images, mod), aug).to(device)  # [B, 3, H, W] in [-1, 1]
        if cfg.method == "d2rl" and step >= cfg.schedule.tf_steps:   # phase 3, D2RL
            out = trainer.joint_step(ti, raw, mod, labels)
        elif mode:                                                   # T_I frozen
            with torch.no_grad():
                ti.t_i.eval()
                x = unify(ti.t_i, raw, mod, mode)                   # [B, 3 or 4, H, W]
            out = trainer.step(x, labels)
        else:
            out = trainer.step(raw, labels)
        vals = guard.check(step, distributed.mean_across_ranks(    # the same on every rank
            {k: out[k] for k in ("reid", "id", "triplet")}))
        if main and (step + 1) % cfg.schedule.log_every == 0:
            line = f"step {step + 1}/{tf_total} " + " ".join(f"{k}={v:.3f}" for k, v in vals.items())
            run_dir.write_log(line)
            bar.set_postfix(loss=f"{vals['reid']:.3f}", acc=f"{float(out['acc']):.2f}")
        every = cfg.schedule.checkpoint_every
        if (every and (step + 1) % every == 0) or step + 1 == tf_total:
            checkpoint(ti_end + step + 1)
    train_seconds = run.seconds()

    # -- the scores (rank 0) -----------------------------------------------------------------
    replicas = distributed.replica_fingerprints(trainer.model, ti.t_i if ti else None)
    if not main:                                # wait for rank 0's scores (the last collective)
        return distributed.broadcast_object(None)
    metrics = run_summary(cfg, trainer.model, test, prepare_for(cfg.method, ti.t_i if ti else None),
                          device, ti.t_i if ti is not None else None, train_seconds)
    if replicas is not None:
        metrics.update(distributed.replica_report(replicas, run_dir))
    run_dir.metrics.write_text(json.dumps(metrics, indent=2) + "\n")
    return distributed.broadcast_object(metrics)
