"""T_F's trainer: the feature-level sub-network with its optimiser, schedule and losses
(paper Sec. 3.2; notebook 05). Under ``torchrun`` T_F trains in DistributedDataParallel
(:mod:`d2rl_lib.distributed`); :func:`d2rl_lib.training.run.run_method` drives it.
"""
from __future__ import annotations

import math
from typing import Dict

import torch

from .. import distributed
from ..config import Config, require_same_training_data
from ..errors import UserError
from ..models.blocks import load_weights
from ..losses.reid import batch_hard_triplet, identity_loss
from ..models.embedding import T_F
from ..runtime import Update, amp_dtype, autocast, find_checkpoint, grad_scaler, load_checkpoint, scaled_update


class TFTrainer:
    """T_F with its optimiser, warm-up + cosine learning-rate schedule and gradient scaler,
    :meth:`losses` (identity cross-entropy + batch-hard triplet) and :meth:`step`, one update
    on given images. ``update`` (:class:`~d2rl_lib.runtime.Update`) is T_F's part of any
    update: its optimiser, its parameters with their gradient clipped to ``optim.grad_clip``,
    its schedule (no gradient sync: under torchrun DDP averages T_F's gradients during the
    backward pass). :meth:`step` runs it alone; D2RL's joint update of T_F and T_I
    (:class:`~d2rl_lib.training.joint.JointStep`) runs it beside T_I's generators' on
    :meth:`losses`.

    ``model`` is T_F itself (what checkpoints store and scoring uses); ``train_model`` is
    what the training steps call: ``model`` in one process, ``model`` wrapped in
    DistributedDataParallel when a process group is running (torchrun)."""

    def __init__(self, cfg: Config, num_classes: int, in_channels: int, device: torch.device):
        self.cfg, self.device, self.num_classes = cfg, device, num_classes
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
        self.update = Update(self.optim, self.model.parameters(), max_norm=o.grad_clip,
                             schedule=self.sched)

    def start_from(self, path: str) -> None:
        """T_F's weights from the T_F of the method run at ``path`` (``schedule.tf_init``; its
        optimiser and schedule are not taken): it must have learned the same identities from
        images of as many channels."""
        state = load_checkpoint(find_checkpoint(path), map_location=self.device)
        if not {"config", "num_classes", "in_channels"} <= set(state):
            raise UserError(f"schedule.tf_init={path}: not a checkpoint of a d2rl method run")
        require_same_training_data(state["config"], self.cfg, f"schedule.tf_init={path}")
        if (int(state["num_classes"]), int(state["in_channels"])) != (self.num_classes, self.model.in_channels):
            raise UserError(f"schedule.tf_init={path}: its T_F has {state['num_classes']} identities and "
                            f"{state['in_channels']} input channels, this run's {self.num_classes} and "
                            f"{self.model.in_channels}; start from a run of a method with the same input")
        load_weights(self.model, state["trainer"]["model"], f"schedule.tf_init={path}", "T_F")

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
        scaled_update(self.scaler, out["reid"], self.update)
        return out

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "optim": self.optim.state_dict(),
                "sched": self.sched.state_dict(), "scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optim.load_state_dict(state["optim"])
        self.sched.load_state_dict(state["sched"])
        self.scaler.load_state_dict(state["scaler"])
