"""Training one method of the ablation end to end and scoring it (paper Sec. 3.3;
notebooks 05 and 06).

``run_method(cfg, run_dir)`` trains ``cfg.method`` (:mod:`d2rl_lib.methods` says what each
one feeds T_F) on the training identities in four named phases and writes ``metrics.json``:

1. :func:`build`: data, T_I's and T_F's trainers, the re-ID sampler, the checkpoint
   (resumed with ``--resume``);
2. :func:`warm_up_ti`: T_I alone for ``schedule.ti_steps`` (methods that use T_I), or
   loaded from ``schedule.ti_init``;
3. :func:`train_tf`: T_F for ``schedule.tf_steps + schedule.joint_steps`` steps on the
   method's images, T_I frozen, except in the last ``joint_steps`` of a joint method (D2RL),
   which are :class:`~d2rl_lib.training.joint.JointStep` updates of both networks;
4. :func:`score_run`: the test protocol (:func:`d2rl_lib.evaluation.retrieval.run_summary`).

Under ``torchrun`` (several processes, :mod:`d2rl_lib.distributed`; docs/training.md) the
T_F phase of every method and the joint steps are data-parallel: T_F in
DistributedDataParallel, each process on its share of each step's batch
(:class:`~d2rl_lib.data.samplers.RankShare`), the T_I gradients of the joint steps averaged
by hand; the T_I warm-up runs identically on every process; rank 0 alone writes logs and
checkpoints and scores the test set.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import distributed
from ..config import Config, ConfigError, differences, valid_keys
from ..data.augment import augment_batch, reid_augment
from ..data.files import step_batches
from ..data.loading import load_data
from ..data.records import INFRARED, VISIBLE, ImageSet, to_signed
from ..data.samplers import CrossModalityPKSampler, RankShare
from ..errors import UserError
from ..evaluation.retrieval import run_summary
from ..augmentations import views_of
from ..inputs import feed, prepare_for
from ..methods import Method, method
from ..runtime import KEPT_PATTERN, Checkpointed, save_checkpoint, LossGuard, Progress, RunDir, seed_everything, set_threads
from .joint import JointStep
from .tf import TFTrainer
from .ti import TITrainer
from .ti_batches import UnpairedBatches
from .ti_stage import read_ti_stage, train_ti_steps


@dataclass
class MethodRun:
    """Everything one method's training holds between its phases."""

    cfg: Config
    method: Method
    run_dir: RunDir
    device: torch.device
    train: ImageSet
    test: ImageSet
    ti: Optional[TITrainer]                 # None for the methods without T_I
    tf: TFTrainer
    joint: Optional[JointStep]              # the joint update, for a joint method
    batch_of: Callable[[int], np.ndarray]   # step -> this process's indices of the re-ID batch
    ckpt: Checkpointed
    start: int                              # the first step still to train (T_I warm-up included)

    @property
    def ti_end(self) -> int:
        """The steps of the T_I warm-up, counted before T_F's in the checkpoint's step."""
        return self.cfg.ti_warmup_steps

    @property
    def tf_total(self) -> int:
        return self.cfg.schedule.tf_steps + self.cfg.schedule.joint_steps

    def save(self, step: int) -> None:
        """Checkpoint after ``step`` steps (rank 0 writes, the others go on); T_F unwrapped."""
        if not distributed.is_main():
            return
        parts = {"trainer": self.tf.state_dict(), "num_classes": self.tf.num_classes,
                 "in_channels": self.method.in_channels}
        if self.ti is not None:
            parts["ti"] = self.ti.state_dict()
        if self.joint is not None:
            parts["joint"] = self.joint.state_dict()
        if distributed.world_size() > 1:
            parts["world_size"] = distributed.world_size()
        self.ckpt.save(step, **parts)

    def keep(self, tf_step: int) -> None:
        """A snapshot for the learning curve (``schedule.keep_every``, ``d2rl curve``): the weights
        only (no optimiser), as :func:`~d2rl_lib.evaluation.trained.load_run` reads them."""
        if not distributed.is_main():
            return
        parts = {"trainer": {"model": self.tf.model.state_dict()}, "num_classes": self.tf.num_classes,
                 "in_channels": self.method.in_channels, "config": self.cfg.to_dict(),
                 "step": self.ti_end + tf_step, "seconds": self.ckpt.seconds()}
        if self.ti is not None:
            parts["ti"] = {"t_i": self.ti.t_i.state_dict()}
        save_checkpoint(parts, self.run_dir.checkpoints / KEPT_PATTERN.format(tf_step))


def run_method(cfg: Config, run_dir: RunDir, resume: bool = False, progress: Progress = tqdm) -> dict:
    """Train ``cfg.method`` and score it; returns (and writes) the metrics. Every method's
    T_F sees the same number of steps. ``progress``: a tqdm-like factory for the progress
    bars. Under torchrun every process calls this and gets rank 0's metrics back; one
    process runs exactly the single-process code path."""
    run = build(cfg, run_dir, resume)
    warm_up_ti(run, progress)
    train_tf(run, progress)
    return score_run(run)


def build(cfg: Config, run_dir: RunDir, resume: bool = False) -> MethodRun:
    """Phase 1: seeds, device (joining torchrun's group, if any), data, trainers, sampler and
    checkpoint; with ``resume`` the trainers' state and the step come from the checkpoint."""
    m = method(cfg.method)
    seed_everything(cfg.runtime.seed)
    set_threads(cfg.runtime.threads)
    device = distributed.setup(cfg.runtime.device)
    world, rank = distributed.world_size(), distributed.rank()
    train, test = load_data(cfg)
    ti = TITrainer(cfg, device) if m.uses_ti else None
    tf = TFTrainer(cfg, int(train.labels.max()) + 1, m.in_channels, device)  # DDP if world > 1
    joint = JointStep(ti, tf, m) if m.joint else None
    sampler = CrossModalityPKSampler(train.labels, train.modality, cfg.schedule.batch_ids,
                                     cfg.schedule.batch_images, cfg.runtime.seed)
    batch_of = sampler.batch if world == 1 else RankShare(sampler, rank, world).batch
    run = MethodRun(cfg, m, run_dir, device, train, test, ti, tf, joint, batch_of,
                    Checkpointed(run_dir.checkpoints / "last.pt", cfg.to_dict()), start=0)
    if cfg.schedule.tf_init and not resume:
        tf.start_from(cfg.schedule.tf_init)
    if resume:
        state = run.ckpt.resume()
        tf.load_state_dict(state["trainer"])
        if ti is not None:
            ti.load_state_dict(state["ti"])
        if joint is not None:
            joint.load_state_dict(state["joint"])
        run.start = run.ckpt.step
    if world > 1 and distributed.is_main():
        run_dir.write_log(f"distributed: {world} processes ({device.type}), each step's batch of "
                          f"{cfg.schedule.batch_ids} identities split {cfg.schedule.batch_ids // world} "
                          f"per process" + (f", resumed at step {run.start}" if run.start else ""))
    return run


def warm_up_ti(run: MethodRun, progress: Progress = tqdm) -> None:
    """Phase 2: T_I alone (the same on every process), or loaded from ``schedule.ti_init``;
    under torchrun the replicas then share rank 0's T_I and average its later gradients."""
    if run.ti is None:
        return
    cfg = run.cfg
    if cfg.schedule.ti_init and run.start < run.ti_end:                # trained elsewhere
        load_ti_init(run.ti, cfg)
        run.start = run.ti_end
    if run.start < run.ti_end:
        train_ti_steps(run.ti, UnpairedBatches.from_config(run.train, cfg), run.start, run.ti_end,
                       run.run_dir if distributed.is_main() else None, cfg,
                       desc=f"T_I ({cfg.method})", on_checkpoint=run.save, progress=progress)
        run.start = run.ti_end
    if distributed.world_size() > 1:
        distributed.share_t_i(run.ti)


def train_tf(run: MethodRun, progress: Progress = tqdm) -> None:
    """Phase 3: T_F on the method's images, T_I frozen; the last ``schedule.joint_steps`` of a
    joint method update both networks (:class:`~d2rl_lib.training.joint.JointStep`)."""
    cfg, main, rank = run.cfg, distributed.is_main(), distributed.rank()
    labels_all = torch.as_tensor(run.train.labels)
    aug = reid_augment(cfg.data.height, cfg.data.width)
    guard = LossGuard("T_F", checkpoint_hint=str(run.ckpt.path))
    first = run.start - run.ti_end
    batches = step_batches(run.train, run.batch_of, first, run.tf_total, cfg.data.num_workers,
                           cfg.runtime.seed)                          # (step, idx, uint8 images)
    bar = progress(batches, desc=f"T_F ({cfg.method})", initial=first, total=run.tf_total,
                   leave=False, mininterval=2.0, disable=not main)
    only = {"visible": VISIBLE, "infrared": INFRARED}.get(cfg.tf.train_modality)  # None: both
    for step, idx, images in bar:
        if distributed.world_size() > 1:    # each rank its own augmentations, a function of the step
            torch.manual_seed(distributed.step_seed(cfg.runtime.seed, step, rank))
        if only is not None:                # a single-modality teacher: that half of the batch
            keep = run.train.modality[idx] == only
            idx, images = idx[keep], images[torch.from_numpy(keep)]
        mod = torch.as_tensor(run.train.modality[idx])
        labels = labels_all[idx].to(run.device)
        raw = augment_batch(to_signed(images), aug).to(run.device)    # [B, 3 (oracle 4), H, W] in [-1, 1]
        raw, mod, labels = views_of(run.method, raw, mod, labels)     # an augmentation baseline's views
        out = tf_step(run, step, raw, mod, labels)
        vals = guard.check(step, distributed.mean_across_ranks(      # the same on every rank
            {k: out[k] for k in ("reid", "id", "triplet")}))
        if main and (step + 1) % cfg.schedule.log_every == 0:
            run.run_dir.write_log(f"step {step + 1}/{run.tf_total} "
                                  + " ".join(f"{k}={v:.3f}" for k, v in vals.items()))
            bar.set_postfix(loss=f"{vals['reid']:.3f}", acc=f"{float(out['acc']):.2f}")
        every, keep = cfg.schedule.checkpoint_every, cfg.schedule.keep_every
        if (every and (step + 1) % every == 0) or step + 1 == run.tf_total:
            run.save(run.ti_end + step + 1)
        if keep and (step + 1) % keep == 0:
            run.keep(step + 1)


def tf_step(run: MethodRun, step: int, raw: torch.Tensor, mod: torch.Tensor,
            labels: torch.Tensor) -> dict:
    """One step of phase 3 on an augmented raw batch [B, 3, H, W]: a joint update in the joint
    phase, else T_F alone on the method's images (:func:`~d2rl_lib.inputs.feed`: unified by the frozen
    T_I, if it has one, with modality dropout)."""
    if run.joint is not None and step >= run.cfg.schedule.tf_steps:
        return run.joint(raw, mod, labels)
    t_i = run.ti.t_i.eval() if run.ti is not None else None
    with torch.no_grad():
        x = feed(run.method, raw, mod, t_i, dropout=run.cfg.tf.modality_dropout)  # [B, 3 or 4, H, W]
    return run.tf.step(x, labels)


def score_run(run: MethodRun) -> dict:
    """Phase 4: rank 0 scores the trained model on the test protocol and writes
    ``metrics.json`` (its training time is the last checkpoint's, so that re-scoring the
    checkpoint gives the same file); every process returns rank 0's metrics."""
    seconds = run.ckpt.saved_seconds if run.ckpt.saved_seconds is not None else run.ckpt.seconds()
    t_i = run.ti.t_i if run.ti is not None else None
    replicas = distributed.replica_fingerprints(run.tf.model, t_i)
    if not distributed.is_main():             # wait for rank 0's scores (the last collective)
        return distributed.broadcast_object(None)
    metrics = run_summary(run.cfg, run.tf.model, run.test, prepare_for(run.method, t_i),
                          run.device, t_i, seconds)
    if replicas is not None:
        metrics.update(distributed.replica_report(replicas, run.run_dir))
    run.run_dir.metrics.write_text(json.dumps(metrics, indent=2) + "\n")
    return distributed.broadcast_object(metrics)


# Who taught T_I says how it was trained, not what it is: a method run loads a taught T_I
# without naming its teachers (and its joint steps, if any, go on without them); the weight of
# the re-ID loss in the joint steps is the method run's own.
NOT_THE_TRANSLATOR = ("ti.w_reid",) + tuple(k for k in valid_keys() if k.startswith("ti.teacher."))


def load_ti_init(ti: TITrainer, cfg: Config) -> None:
    """Load the T_I stage checkpoint ``cfg.schedule.ti_init`` into ``ti`` (models and
    optimisers), refusing one whose ``ti`` settings differ from ``cfg.ti`` (its teachers
    aside: :data:`NOT_THE_TRANSLATOR`)."""
    path = Path(cfg.schedule.ti_init)
    state = read_ti_stage(path, f"schedule.ti_init={str(path)!r}")
    try:
        diff = differences(state.get("config", {}), cfg, prefix="ti.", ignore=NOT_THE_TRANSLATOR)
    except ConfigError as e:
        raise UserError(f"{path}: its stored configuration is not valid here ({e}); train T_I again") from None
    if diff:
        raise UserError(f"{path} was trained with other T_I settings ("
                        + ", ".join(f"{k}: {there!r} there, {here!r} here" for k, (there, here) in diff.items())
                        + "); use the same ti.* settings or train T_I again")
    ti.load_state_dict(state["trainer"])
