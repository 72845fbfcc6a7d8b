"""Training and scoring a re-ID method end to end (paper Sec. 3.2-3.3; notebooks 01 and 05).

``run_method(cfg, run_dir)`` trains the configured ``cfg.method`` on the training
identities and scores the final model on the test protocol, writing
``metrics.json``. Methods:

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
import time
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

import numpy as np
import torch
from torchvision.transforms.v2 import functional as TF
from tqdm.auto import tqdm

from . import distributed
from .config import Config, ConfigError, differences
from .data.augment import augment_batch, reid_augment
from .data.files import batches_of, pixels, score_regdb, step_batches
from .data.records import INFRARED, VISIBLE, ImageSet, to_signed
from .data.samplers import CrossModalityPKSampler, RankShare
from .data.sysu import load_perm
from .errors import UserError
from .evaluate import evaluate_single_modality, evaluate_sysu_like
from .losses.reid import batch_hard_triplet, identity_loss
from .models.embedding import T_F
from .models.unify import unify
from .runtime import (LossGuard, RunDir, amp_dtype, autocast, grad_scaler, load_checkpoint,
                      rng_state, save_checkpoint, seed_everything, set_rng_state, set_threads)

RAW_METHODS = ("baseline", "grayscale")


def load_data(cfg: Config) -> Tuple[ImageSet, ImageSet]:
    """(train, test) ImageSets of the configured dataset."""
    if cfg.data.dataset == "synthetic":
        from .data.synthetic import load_synthetic

        data = load_synthetic(cfg.data)
        return data.train, data.test
    from .data.files import load_dataset_files

    return load_dataset_files(cfg.data)                              # files, read lazily


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
    training step: identity cross-entropy + batch-hard triplet.

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
        self.train_model.train()
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
                     flip: bool = False, num_workers: int = 0) -> torch.Tensor:
    """Features [N, D] of uint8 images [N, 3, H, W] (a tensor, or the lazy view of image
    files from ``data.files.pixels``, read by ``num_workers`` DataLoader workers), with
    the model in eval mode."""
    model.eval()
    mod = torch.as_tensor(modality)
    out, i = [], 0
    for chunk in batches_of(images, batch, num_workers):
        x = prepare(chunk, mod[i:i + len(chunk)]).to(device)
        i += len(chunk)
        f = model(x)
        if flip:
            f = (f + model(torch.flip(x, dims=[3]))) / 2
        out.append(f.float().cpu())
    return torch.cat(out)


def score(model, test: ImageSet, prepare: Callable, cfg: Config, device) -> dict:
    """The test protocol (IR->V) plus single-modality V->V and IR->IR mAP; on RegDB both
    directions of the configured trial (see data.files.score_regdb)."""
    feats = extract_features(model, pixels(test), test.modality, prepare, device,
                             flip=cfg.data.flip_test, num_workers=cfg.data.num_workers)
    if cfg.data.dataset == "regdb":
        return score_regdb(test, feats, cfg.data.flip_test)
    perm = load_perm(cfg.data.root) if cfg.data.dataset == "sysu" else None
    res = evaluate_sysu_like(test, feats, cfg.data.search_mode, cfg.data.shots, cfg.data.trials,
                             cfg.data.gallery_sampler, perm=perm, flip_test=cfg.data.flip_test)
    res["v2v_mAP"] = evaluate_single_modality(test, feats, VISIBLE)["mAP"]
    res["i2i_mAP"] = evaluate_single_modality(test, feats, INFRARED)["mAP"]
    return res


def run_summary(cfg: Config, model, test: ImageSet, prepare: Callable, device, t_i=None,
                train_seconds: Optional[float] = None) -> dict:
    """A run's ``metrics.json``: :func:`score`, what was trained (method, steps, seed), and
    the translation fidelity on the hidden pairs when there is a T_I and the test set has
    pairs (synthetic world). ``d2rl train`` writes it; ``d2rl evaluate`` recomputes it."""
    metrics = score(model, test, prepare, cfg, device)
    s = cfg.schedule
    metrics.update({"method": cfg.method, "preset": cfg.preset, "seed": cfg.runtime.seed,
                    "train_seconds": None if train_seconds is None else round(train_seconds, 1),
                    "ti_steps": s.ti_steps if t_i is not None else 0, "ti_init": s.ti_init or None,
                    "tf_steps": s.tf_steps + s.joint_steps,
                    "joint_steps": s.joint_steps if cfg.method == "d2rl" else 0})
    if t_i is not None and test.paired is not None and test.masks is not None:
        from .fidelity import translation_fidelity

        metrics["translation"] = translation_fidelity(t_i, test, device)
    return metrics


TI_MODES = {"unify-ir": "infrared", "unify-visible": "visible", "d2rl": "multi-spectral",
            "d2rl-frozen": "multi-spectral"}


def prepare_unified(t_i, mode: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The input transform of a method with T_I: uint8 images -> unified images (T_I in eval mode)."""
    def unified(images: torch.Tensor, modality: torch.Tensor) -> torch.Tensor:
        t_i.eval()
        dev = next(t_i.parameters()).device
        return unify(t_i, to_signed(images).to(dev), modality, mode)
    return unified


def joint_step(ti, trainer: "ReIDTrainer", raw: torch.Tensor, modality: torch.Tensor,
               labels: torch.Tensor) -> Dict[str, torch.Tensor]:
    """One joint D2RL iteration on a re-ID batch (paper Sec. 3.3): a D_v/D_i update, then
    one backward pass of  L_T_I + w * L_reid(T_F(unified batch))  that updates the
    generators (through the translated channels of the unified images) and T_F.
    raw [B, 3, H, W] in [-1, 1] (augmented), modality [B], labels [B]."""
    vis = modality.to(raw.device) == VISIBLE
    x, y = raw[vis], raw[~vis][:, :1]                                # [Bv, 3, H, W], [Bi, 1, H, W]
    ti.d_step(x, y)
    held = {}

    def reid_through_generators(x_vi: torch.Tensor, y_iv: torch.Tensor) -> torch.Tensor:
        u = raw.new_zeros(raw.shape[0], 4, *raw.shape[2:])           # [B, 4, H, W]
        u[vis] = torch.cat([x, x_vi], 1)
        u[~vis] = torch.cat([y_iv, y], 1)
        trainer.train_model.train()
        held.update(trainer.losses(u, labels))
        return trainer.cfg.tf.w_reid_to_ti * held["reid"]

    trainer.optim.zero_grad(set_to_none=True)
    ti.g_step(x, y, extra_loss=reid_through_generators,              # backward reaches T_F too
              kx=labels[vis].cpu(), ky=labels[~vis].cpu())
    trainer.optim.step()
    trainer.sched.step()
    return held


def load_ti_init(ti, cfg: Config) -> None:
    """Load the T_I stage checkpoint ``cfg.schedule.ti_init`` into ``ti`` (models and
    optimisers), refusing one whose ``ti`` settings differ from ``cfg.ti``."""
    from .train_ti import read_ti_stage

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


def run_method(cfg: Config, run_dir: RunDir, resume: bool = False) -> dict:
    """Train ``cfg.method`` and score it; returns (and writes) the metrics.

    Schedule (DECISIONS.md): T_I warm-up for ``schedule.ti_steps`` (methods with T_I),
    then T_F for ``schedule.tf_steps`` on the (unified) images with T_I frozen, then
    ``schedule.joint_steps`` more: joint updates of T_I and T_F for ``d2rl``, plain T_F
    steps for every other method, so that every T_F sees the same number of steps.

    Under torchrun (``WORLD_SIZE`` > 1; module docstring) every process calls this and gets
    rank 0's metrics back; one process runs exactly the single-process code path."""
    from .train_ti import TITrainer, UnpairedBatches, train_ti_steps

    if cfg.method not in RAW_METHODS + tuple(TI_MODES):
        raise UserError(f"unknown method {cfg.method!r}")
    seed_everything(cfg.runtime.seed)
    set_threads(cfg.runtime.threads)
    device = distributed.setup(cfg.runtime.device)                  # joins torchrun's group, if any
    world, rank, main = distributed.world_size(), distributed.rank(), distributed.is_main()
    train, test = load_data(cfg)
    mode = TI_MODES.get(cfg.method)
    ti = TITrainer(cfg, device) if mode else None
    num_classes = int(train.labels.max()) + 1
    in_channels = 4 if mode == "multi-spectral" else 3
    trainer = ReIDTrainer(cfg, num_classes, in_channels, device)   # T_F in DDP if world > 1
    prepare = prepare_unified(ti.t_i, mode) if mode else prepare_raw(cfg.method)
    sampler = CrossModalityPKSampler(train.labels, train.modality, cfg.schedule.batch_ids,
                                     cfg.schedule.batch_images, cfg.runtime.seed)
    batch_of = sampler.batch if world == 1 else RankShare(sampler, rank, world).batch
    aug = reid_augment(cfg.data.height, cfg.data.width)
    ckpt = run_dir.checkpoints / "last.pt"
    guard = LossGuard("T_F", checkpoint_hint=str(ckpt))
    ti_end = cfg.schedule.ti_steps if mode else 0
    tf_total = cfg.schedule.tf_steps + cfg.schedule.joint_steps
    start, elapsed = 0, 0.0
    if resume:
        state = load_checkpoint(ckpt)
        trainer.load_state_dict(state["trainer"])
        if ti is not None:
            ti.load_state_dict(state["ti"])
        set_rng_state(state["rng"])
        start, elapsed = state["step"], state["seconds"]
    t0 = time.perf_counter()

    def checkpoint(step: int) -> None:                               # unwrapped T_F: no "module."
        if not main:                                                 # rank 0 writes, the others go on
            return
        state = {"trainer": trainer.state_dict(), "rng": rng_state(), "step": step,
                 "seconds": elapsed + time.perf_counter() - t0, "config": cfg.to_dict(),
                 "num_classes": num_classes, "in_channels": in_channels}
        if ti is not None:
            state["ti"] = ti.state_dict()
        if world > 1:
            state["world_size"] = world
        save_checkpoint(state, ckpt)

    if world > 1 and main:
        run_dir.write_log(f"distributed: {world} processes ({device.type}), each step's batch of "
                          f"{cfg.schedule.batch_ids} identities split {cfg.schedule.batch_ids // world} "
                          f"per process" + (f", resumed at step {start}" if start else ""))

    if ti is not None and cfg.schedule.ti_init and start < ti_end:  # phase 1 done elsewhere
        load_ti_init(ti, cfg)
        start = ti_end
    if ti is not None and start < ti_end:                            # phase 1: T_I warm-up
        batches = UnpairedBatches.from_config(train, cfg)
        train_ti_steps(ti, batches, start, ti_end, run_dir if main else None, cfg,
                       desc=f"T_I ({cfg.method})", on_checkpoint=checkpoint)  # same on every rank
        start = ti_end
    if ti is not None and world > 1:                                 # identical T_I replicas, then
        distributed.broadcast_state(ti.t_i, ti.opt_g, ti.opt_d)      # the joint steps average
        ti.grad_sync = distributed.average_gradients                 # their T_I gradients
    labels_all = torch.as_tensor(train.labels)
    raw_prepare = prepare_raw("baseline")
    tf_batches = step_batches(train, batch_of, start - ti_end, tf_total, cfg.data.num_workers,
                              cfg.runtime.seed)                       # (step, idx, uint8 images)
    bar = tqdm(tf_batches, desc=f"T_F ({cfg.method})", initial=start - ti_end,
               total=tf_total, leave=False, mininterval=2.0, disable=not main)
    for step, idx, images in bar:                                     # phases 2 and 3
        if world > 1:                  # each rank its own augmentations, a pure function of the step
            torch.manual_seed(distributed.step_seed(cfg.runtime.seed, step, rank))
        mod = torch.as_tensor(train.modality[idx])
        labels = labels_all[idx].to(device)
        if cfg.method == "d2rl" and step >= cfg.schedule.tf_steps:
            raw = augment_batch(raw_prepare(images, mod), aug).to(device)
            out = joint_step(ti, trainer, raw, mod, labels)
        elif mode:
            raw = augment_batch(raw_prepare(images, mod), aug).to(device)
            with torch.no_grad():
                ti.t_i.eval()
                x = unify(ti.t_i, raw, mod, mode)
            out = trainer.step(x, labels)
        else:
            x = augment_batch(prepare(images, mod), aug)
            out = trainer.step(x.to(device), labels)
        vals = guard.check(step, distributed.mean_across_ranks(    # the same on every rank
            {k: out[k] for k in ("reid", "id", "triplet")}))
        if main and (step + 1) % cfg.schedule.log_every == 0:
            line = f"step {step + 1}/{tf_total} " + " ".join(f"{k}={v:.3f}" for k, v in vals.items())
            run_dir.write_log(line)
            bar.set_postfix(loss=f"{vals['reid']:.3f}", acc=f"{float(out['acc']):.2f}")
        every = cfg.schedule.checkpoint_every
        if (every and (step + 1) % every == 0) or step + 1 == tf_total:
            checkpoint(ti_end + step + 1)
    train_seconds = elapsed + time.perf_counter() - t0
    replicas = None
    if world > 1:                                                    # every rank's weights, hashed
        replicas = distributed.gather_objects(
            {"T_F": distributed.fingerprint(trainer.model),
             **({"T_I": distributed.fingerprint(ti.t_i)} if ti is not None else {})})
    if not main:                                # wait for rank 0's scores (the last collective)
        return distributed.broadcast_object(None)
    metrics = run_summary(cfg, trainer.model, test, prepare, device,    # the unwrapped T_F, rank 0 only
                          ti.t_i if ti is not None else None, train_seconds)
    if replicas is not None:
        same = all(r == replicas[0] for r in replicas)
        metrics.update({"processes": world, "replicas_identical": same})
        run_dir.write_log(f"replicas ({world} processes): " + "; ".join(
            f"{net} " + " ".join(r[net] for r in replicas) for net in replicas[0])
            + ("" if same else "  DIFFER (a bug: please report it)"))
    run_dir.metrics.write_text(json.dumps(metrics, indent=2) + "\n")
    return distributed.broadcast_object(metrics)
