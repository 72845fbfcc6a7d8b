"""Training and scoring a re-ID method end to end (paper Sec. 3.2-3.3; notebooks 01 and 05).

``run_method(cfg, run_dir)`` trains the configured ``cfg.method`` on the training
identities and scores the final model on the test protocol, writing
``metrics.json``. Methods:

- ``baseline``: T_F alone on the raw 3-channel images of both modalities (the
  paper's feature-level-constraint baseline, Fig. 1 right).
- ``grayscale``: the same, with visible images converted to grey first: the
  naive "unification" with no learning.
- ``unify-ir``, ``unify-visible``, ``d2rl``, ``d2rl-frozen``: need T_I (the image
  translation network) and are built on ``train_ti``.
"""
from __future__ import annotations

import json
import math
import time
from typing import Callable, Dict, Optional, Tuple

import numpy as np
import torch
from torchvision.transforms.v2 import functional as TF
from tqdm.auto import tqdm

from .config import Config
from .data.augment import augment_batch, reid_augment
from .data.records import INFRARED, VISIBLE, ImageSet, to_signed
from .data.samplers import CrossModalityPKSampler
from .errors import UserError
from .evaluate import evaluate_single_modality, evaluate_sysu_like
from .losses.reid import batch_hard_triplet, identity_loss
from .models.embedding import T_F
from .runtime import (LossGuard, RunDir, amp_dtype, autocast, choose_device, grad_scaler,
                      load_checkpoint, rng_state, save_checkpoint, seed_everything, set_rng_state,
                      set_threads)

RAW_METHODS = ("baseline", "grayscale")


def load_data(cfg: Config) -> Tuple[ImageSet, ImageSet]:
    """(train, test) ImageSets of the configured dataset."""
    if cfg.data.dataset == "synthetic":
        from .data.synthetic import load_synthetic

        data = load_synthetic(cfg.data)
        return data.train, data.test
    raise UserError(f"data.dataset={cfg.data.dataset}: training on the real datasets needs their "
                    f"readers (d2rl_lib/data/sysu.py, regdb.py), which are not in this version yet")


def prepare_raw(method: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
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


class ReIDTrainer:
    """T_F with its optimiser, warm-up + cosine learning-rate schedule, and one
    training step: identity cross-entropy + batch-hard triplet."""

    def __init__(self, cfg: Config, num_classes: int, in_channels: int, device: torch.device):
        self.cfg, self.device = cfg, device
        self.model = T_F(num_classes, in_channels, cfg.tf.arch, cfg.tf.last_stride,
                         cfg.tf.pretrained).to(device)
        if cfg.runtime.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        o = cfg.optim
        params = [p for p in self.model.parameters() if p.requires_grad]
        if o.tf_optimizer == "adam":
            self.optim = torch.optim.Adam(params, lr=o.tf_lr, weight_decay=o.tf_weight_decay)
        else:
            self.optim = torch.optim.SGD(params, lr=o.tf_lr, momentum=0.9,
                                         weight_decay=o.tf_weight_decay, nesterov=True)
        joint = cfg.schedule.joint_steps if cfg.method not in RAW_METHODS else 0
        total = max(1, cfg.schedule.tf_steps + joint)
        warm = o.tf_warmup_steps

        def lr_factor(step: int) -> float:
            if step < warm:
                return (step + 1) / warm
            return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.optim, lr_factor)
        self.amp = amp_dtype(cfg.runtime.amp, device)
        self.scaler = grad_scaler(device, self.amp)

    def losses(self, x: torch.Tensor, labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """x [B, C, H, W] in [-1, 1] (gradients may flow back into x), labels [B]."""
        t = self.cfg.tf
        with autocast(self.device, self.amp):
            f, logits = self.model(x)
        f, logits = f.float(), logits.float()
        l_id = identity_loss(logits, labels, t.label_smoothing)
        l_tri = batch_hard_triplet(f, labels, t.triplet_margin)
        acc = (logits.argmax(1) == labels).float().mean()
        return {"reid": t.w_id * l_id + t.w_triplet * l_tri, "id": l_id, "triplet": l_tri, "acc": acc}

    def step(self, x: torch.Tensor, labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        self.model.train()
        out = self.losses(x, labels)
        self.optim.zero_grad(set_to_none=True)
        self.scaler.scale(out["reid"]).backward()
        if self.cfg.optim.grad_clip > 0:
            self.scaler.unscale_(self.optim)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.grad_clip)
        self.scaler.step(self.optim)
        self.scaler.update()
        self.sched.step()
        return out

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "optim": self.optim.state_dict(),
                "sched": self.sched.state_dict(), "scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optim.load_state_dict(state["optim"])
        self.sched.load_state_dict(state["sched"])
        self.scaler.load_state_dict(state["scaler"])


@torch.no_grad()
def extract_features(model: torch.nn.Module, images: torch.Tensor, modality: np.ndarray,
                     prepare: Callable, device: torch.device, batch: int = 256,
                     flip: bool = False) -> torch.Tensor:
    """Features [N, D] of uint8 images [N, 3, H, W], with the model in eval mode."""
    model.eval()
    mod = torch.as_tensor(modality)
    out = []
    for i in range(0, len(images), batch):
        x = prepare(images[i:i + batch], mod[i:i + batch]).to(device)
        f = model(x)
        if flip:
            f = (f + model(torch.flip(x, dims=[3]))) / 2
        out.append(f.float().cpu())
    return torch.cat(out)


def score(model, test: ImageSet, prepare: Callable, cfg: Config, device) -> dict:
    """The test protocol (IR->V) plus single-modality V->V and IR->IR mAP."""
    feats = extract_features(model, test.images, test.modality, prepare, device,
                             flip=cfg.data.flip_test)
    res = evaluate_sysu_like(test, feats, cfg.data.search_mode, cfg.data.shots, cfg.data.trials,
                             cfg.data.gallery_sampler, flip_test=cfg.data.flip_test)
    res["v2v_mAP"] = evaluate_single_modality(test, feats, VISIBLE)["mAP"]
    res["i2i_mAP"] = evaluate_single_modality(test, feats, INFRARED)["mAP"]
    return res


def run_method(cfg: Config, run_dir: RunDir, resume: bool = False) -> dict:
    """Train ``cfg.method`` and score it; returns (and writes) the metrics."""
    if cfg.method not in RAW_METHODS:
        raise UserError(f"method={cfg.method!r} needs T_I (the image translation network), which "
                        f"is not in this version yet; available now: {', '.join(RAW_METHODS)}")
    seed_everything(cfg.runtime.seed)
    set_threads(cfg.runtime.threads)
    device = choose_device(cfg.runtime.device)
    train, test = load_data(cfg)
    prepare = prepare_raw(cfg.method)
    trainer = ReIDTrainer(cfg, int(train.labels.max()) + 1, 3, device)
    sampler = CrossModalityPKSampler(train.labels, train.modality, cfg.schedule.batch_ids,
                                     cfg.schedule.batch_images, cfg.runtime.seed)
    aug = reid_augment(cfg.data.height, cfg.data.width)
    ckpt = run_dir.checkpoints / "last.pt"
    guard = LossGuard("T_F", checkpoint_hint=str(ckpt))
    start, elapsed = 0, 0.0
    if resume:
        state = load_checkpoint(ckpt)
        trainer.load_state_dict(state["trainer"])
        set_rng_state(state["rng"])
        start, elapsed = state["step"], state["seconds"]
    steps = cfg.schedule.tf_steps
    labels_all = torch.as_tensor(train.labels)
    t0 = time.perf_counter()
    bar = tqdm(range(start, steps), desc=f"T_F ({cfg.method})", initial=start, total=steps,
               leave=False, mininterval=2.0)
    for step in bar:
        idx = sampler.batch(step)
        x = augment_batch(prepare(train.images[idx], torch.as_tensor(train.modality[idx])), aug)
        out = trainer.step(x.to(device), labels_all[idx].to(device))
        vals = guard.check(step, {k: out[k] for k in ("reid", "id", "triplet")})
        if (step + 1) % cfg.schedule.log_every == 0:
            line = f"step {step + 1}/{steps} " + " ".join(f"{k}={v:.3f}" for k, v in vals.items())
            run_dir.write_log(line)
            bar.set_postfix(loss=f"{vals['reid']:.3f}", acc=f"{float(out['acc']):.2f}")
        every = cfg.schedule.checkpoint_every
        if (every and (step + 1) % every == 0) or step + 1 == steps:
            save_checkpoint({"trainer": trainer.state_dict(), "rng": rng_state(), "step": step + 1,
                             "seconds": elapsed + time.perf_counter() - t0,
                             "config": cfg.to_dict(), "num_classes": int(train.labels.max()) + 1,
                             "in_channels": 3}, ckpt)
    train_seconds = elapsed + time.perf_counter() - t0
    metrics = score(trainer.model, test, prepare, cfg, device)
    metrics.update({"method": cfg.method, "preset": cfg.preset, "seed": cfg.runtime.seed,
                    "train_seconds": round(train_seconds, 1), "steps": steps})
    run_dir.metrics.write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
