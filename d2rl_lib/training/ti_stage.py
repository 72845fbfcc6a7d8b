"""The T_I stage: T_I trained alone (``d2rl train --stage ti``; a method's warm-up), its sample
grids, and its checkpoint read back (paper Sec. 3.1; notebooks 02, 03)."""
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
from ..data.loading import load_data
from ..data.records import to_uint8
from ..errors import UserError
from ..evaluation.fidelity import translation_fidelity
from ..models.translation import T_I
from ..runtime import (Checkpointed, LossGuard, Progress, RunDir, choose_device, load_checkpoint,
                       seed_everything, set_threads)
from .ti import TITrainer
from .ti_batches import UnpairedBatches


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
