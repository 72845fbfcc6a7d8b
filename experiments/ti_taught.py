"""Train the paper-structured T_I (``ti.output=image``: two VAEs with a shared latent space,
two GANs, cycle consistency) with an extra teacher on its V->IR translations (issue 22,
points 2 and 3), and save it as a T_I stage checkpoint that ``d2rl train --set
schedule.ti_init=...`` accepts.

The T_I objective L_T_I is the library's (``TITrainer.g_losses``, the preset's weights,
``--set`` overrides it); ``--teacher`` adds, on the translations x_hat_i = G_i(E_v(x)) of the
batch's visible images (training-mode codes, as the GAN and cycle terms see them):

- ``none``: nothing (the unpaired T_I, for reference);
- ``pairs``: ``w * L1(x_hat_i, true infrared twin of x)`` with the hidden pairs (never a
  mode of the project: the supervised ceiling of what the architecture can represent);
- ``reid``: ``w * (CE + triplet)`` of a re-ID network (``--teacher-run``, a trained ``baseline``,
  or another 3-channel method such as ``unify-ir``, whose T_F learned people in infrared-looking
  images; only its T_F is used): identity cross-entropy of the translated images (shown as infrared, three
  equal channels) on their identities, plus a batch-hard triplet loss over the translated
  images and the batch's real infrared images of the same people (identity-labelled batches,
  ``schedule.ti_batch_ids``; the visible and infrared images are never the same instant).
  The teacher's BatchNorm stays in eval mode. ``--teacher-lr 0`` keeps it frozen; ``> 0``
  fine-tunes it at the same time on the raw batch (x, y) and the detached translations with
  the same losses (Adam).

Fidelity of the translations of the test identities' visible images (person correlation / L1
against the true twins, and over the whole frame) is logged every ``--eval-every`` steps;
usefulness is measured afterwards by ``experiments/translator_usefulness.py`` with a scorer
that never taught (e.g. the seed-1 baseline).

    python experiments/ti_taught.py --teacher reid \
        --teacher-run runs/baseline-s0 --w-teacher 1 --steps 1000 --batch 32 --batch-ids 8 \
        --set ti.output=image --save runs/ti-reid/ti_last.pt

Writes (merges into) results/experiments/ti-taught.json, one row per command (curve,
final fidelity, seconds), and the checkpoint ``--save`` (with ``meta``: command, teacher run,
curve).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from d2rl_lib.analysis.usefulness import rendering_fidelity, translated
from d2rl_lib.config import get_config
from d2rl_lib.data.loading import load_data
from d2rl_lib.data.records import VISIBLE, luminance, to_signed, to_uint8
from d2rl_lib.data.samplers import CrossModalityPKSampler
from d2rl_lib.losses.reid import batch_hard_triplet
from d2rl_lib.runtime import save_checkpoint, scaled_update, seed_everything
from d2rl_lib.training.ti import TITrainer
from d2rl_lib.evaluation.trained import load_run

from results_file import EXPERIMENTS, merge_run  # experiments/results_file.py, beside this script


class Batches:
    """Identity-labelled batches: ``ids`` identities x (B/ids visible + B/ids infrared),
    drawn as ``UnpairedBatches`` draws them (the re-ID sampler, a pure function of (seed,
    step)), plus the true infrared twins of the visible images (used only by ``pairs``)."""

    def __init__(self, train, batch: int, ids: int, seed: int):
        self.train, self.batch, self.seed = train, batch, seed
        self.sampler = CrossModalityPKSampler(train.labels, train.modality, ids, batch // ids, seed)
        self.labels = torch.as_tensor(train.labels)

    def __call__(self, step: int):
        rng = np.random.default_rng([self.seed, step, 17])
        s = self.sampler
        both = s.batch(step).reshape(s.P, 2 * s.K)
        iv, ii = both[:, : s.K].ravel(), both[:, s.K:].ravel()
        x = to_signed(self.train.images[iv])                       # [B, 3, H, W]
        y = to_signed(self.train.images[ii][:, :1])                # [B, 1, H, W]
        twin = to_signed(self.train.paired[iv][:, :1])             # [B, 1, H, W]
        flip = torch.from_numpy(rng.random(2 * len(iv)) < 0.5)
        fx, fy = flip[: len(iv)], flip[len(iv):]
        x[fx], twin[fx] = x[fx].flip(3), twin[fx].flip(3)
        y[fy] = y[fy].flip(3)
        return x, y, twin, self.labels[iv], self.labels[ii]


def reid_parts(t_f, imgs: torch.Tensor, labels: torch.Tensor, n_ce: int, smoothing: float, margin: float):
    """CE of the first ``n_ce`` images + batch-hard triplet over all; T_F's BN in eval mode.
    imgs [N, 1 or 3, H, W] in [-1, 1]."""
    f, logits = t_f.features_and_logits(imgs.expand(-1, 3, -1, -1))  # [N, D], [N, classes]
    ce = F.cross_entropy(logits[:n_ce], labels[:n_ce], label_smoothing=smoothing)
    tri = batch_hard_triplet(f, labels, margin)
    acc = float((logits[:n_ce].argmax(1) == labels[:n_ce]).float().mean())
    return ce, tri, acc


def identity_match(x_vi: torch.Tensor, y: torch.Tensor, kx: torch.Tensor, ky: torch.Tensor,
                   grid=(16, 4)) -> torch.Tensor:
    """An identity-level match of the frame's *layout*: L1 between, per identity of the batch, the
    mean coarse frame (average-pooled to ``grid``) of its translated visible images and of its
    real infrared images (other instants, other cameras). x_vi [B, 1, H, W], y [B', 1, H, W].
    The library's match (``losses.translation.identity_match_loss``, ``ti.w_match``) compares the
    person box's intensity quantiles and ignores where they lie; this probe asks for the
    layout too (the dim background, the lit middle), which pose moves only a little."""
    px, py = F.adaptive_avg_pool2d(x_vi, grid), F.adaptive_avg_pool2d(y, grid)   # [B, 1, 16, 4]
    ids = torch.unique(kx)
    mx = torch.stack([px[kx == k].mean(0) for k in ids])           # [P, 1, 16, 4]
    my = torch.stack([py[ky == k].mean(0) for k in ids])
    return (mx - my).abs().mean()


def taught_g_step(trainer: TITrainer, x, y, kx, ky, extra) -> dict:
    """One generator update with L_T_I (``TITrainer.g_losses``) + ``extra(x_vi, y_iv)``, the
    teacher's term, through T_I's own scaler: ``TITrainer.g_step`` with one more term."""
    trainer.t_i.train()
    total, parts, x_vi, y_iv = trainer.g_losses(x, y, kx, ky)
    added = extra(x_vi, y_iv)
    total = total + added
    scaled_update(trainer.scaler_g, total, trainer.update_g)
    return {**{k: float(v.detach()) for k, v in parts.items()}, "extra": float(added.detach()),
            "g": float(total.detach())}


def fidelity(t_i, test) -> dict:
    """Person and whole-frame L1 / correlation of G_i(E_v(x)) against the true twins (test)."""
    out = rendering_fidelity(translated(t_i, test), test)
    t_i.train()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="synthetic-classroom")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override (ti.*, optim.ti_*); ti.output=image for the paper's T_I")
    ap.add_argument("--teacher", default="reid", choices=("none", "pairs", "reid"))
    ap.add_argument("--teacher-run", default="runs/baseline-s0")
    ap.add_argument("--teacher-lr", type=float, default=0.0, help="0: frozen teacher")
    ap.add_argument("--w-teacher", type=float, default=1.0)
    ap.add_argument("--w-triplet", type=float, default=1.0, help="triplet weight inside the re-ID term")
    ap.add_argument("--w-match", type=float, default=0.0,
                    help="weight of the identity-level match (identity_match), beside the teacher")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=32, help="visible (and as many infrared) images")
    ap.add_argument("--batch-ids", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--save", default="")
    ap.add_argument("--init", default="", help="start from this T_I checkpoint (trainer state)")
    ap.add_argument("--start", type=int, default=0, help="batch index of the first step (with --init: "
                    "the steps already done, so that the batches continue)")
    ap.add_argument("--out", default=str(EXPERIMENTS / "ti-taught.json"))
    args = ap.parse_args()
    command = "python experiments/ti_taught.py " + " ".join(sys.argv[1:])
    torch.set_num_threads(args.threads)
    overrides = list(args.set) + [f"runtime.seed={args.seed}", f"runtime.threads={args.threads}",
                                  f"schedule.ti_batch={args.batch}", f"schedule.ti_batch_ids={args.batch_ids}"]
    cfg = get_config(args.config, overrides)
    seed_everything(cfg.runtime.seed)
    device = torch.device("cpu")
    train, test = load_data(cfg)
    trainer = TITrainer(cfg, device)
    if args.init:
        trainer.load_state_dict(torch.load(args.init, map_location="cpu", weights_only=True)["trainer"])
    batches = Batches(train, args.batch, args.batch_ids, cfg.runtime.seed)
    t_f = opt_f = None
    if args.teacher == "reid":
        teacher = load_run(args.teacher_run)
        if teacher.t_f.in_channels != 3:
            raise SystemExit("--teacher-run must be a run whose T_F reads 3-channel images (baseline, "
                             "grayscale, unify-ir, unify-visible), not the 4-channel D2RL methods")
        t_f = teacher.t_f.eval()
        if args.teacher_lr > 0:
            opt_f = torch.optim.Adam([p for p in t_f.parameters() if p.requires_grad], lr=args.teacher_lr)
        else:
            t_f.requires_grad_(False)
    tcfg = cfg.tf
    curve = [{"step": 0, **fidelity(trainer.t_i, test)}]
    print(json.dumps(curve[-1]), flush=True)
    logs: dict = {}
    t0 = time.perf_counter()
    for step in range(args.steps):
        x, y, twin, kx, ky = batches(args.start + step)
        trainer.d_step(x, y)
        stats: dict = {}

        def extra(x_vi, y_iv):
            match = x_vi.sum() * 0.0
            if args.w_match > 0:
                match = identity_match(x_vi, y, kx, ky)
                stats["match"] = float(match.detach())
                match = args.w_match * match
            return match + teacher(x_vi)

        def teacher(x_vi):
            if args.teacher == "pairs":
                l1 = (x_vi - twin).abs().mean()
                stats["pair_l1"] = float(l1.detach())
                return args.w_teacher * l1
            if args.teacher == "reid":
                labels = torch.cat([kx, ky])
                ce, tri, acc = reid_parts(t_f, torch.cat([x_vi, y]), labels, len(kx),
                                          tcfg.label_smoothing, tcfg.triplet_margin)
                stats.update(ce=float(ce.detach()), tri=float(tri.detach()), acc=acc)
                return args.w_teacher * (ce + args.w_triplet * tri)
            return x_vi.sum() * 0.0

        out = taught_g_step(trainer, x, y, kx, ky, extra)
        if opt_f is not None:                       # the teacher learns on raw + translated
            with torch.no_grad():
                trainer.t_i.eval()
                x_vi = trainer.t_i.v2i(x)
                trainer.t_i.train()
            imgs = torch.cat([x_vi.expand(-1, 3, -1, -1), x, y.expand(-1, 3, -1, -1)])
            labels = torch.cat([kx, kx, ky])
            ce, tri, _ = reid_parts(t_f, imgs, labels, len(labels), tcfg.label_smoothing, tcfg.triplet_margin)
            opt_f.zero_grad(set_to_none=True)
            (ce + tri).backward()
            opt_f.step()
        for k, v in {**out, **stats}.items():
            logs.setdefault(k, []).append(v)
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            row = {"step": step + 1, "seconds": round(time.perf_counter() - t0, 1),
                   **{k: round(float(np.mean(v)), 4) for k, v in logs.items()}, **fidelity(trainer.t_i, test)}
            curve.append(row)
            logs = {}
            print(json.dumps(row), flush=True)
    seconds = time.perf_counter() - t0
    final = {k: curve[-1][k] for k in ("person_l1", "person_corr", "frame_l1", "frame_corr")}
    vis = torch.from_numpy(test.modality == VISIBLE)
    grey = rendering_fidelity(to_uint8(luminance(to_signed(test.images[vis]))), test)
    ref = {"grey_person_corr": grey["person_corr"], "grey_frame_corr": grey["frame_corr"]}
    meta = {"command": command, "teacher": args.teacher,
            "teacher_run": str(Path(args.teacher_run).resolve()) if args.teacher == "reid" else "",
            "teacher_lr": args.teacher_lr, "w_teacher": args.w_teacher, "w_match": args.w_match, "steps": args.steps,
            "batch": args.batch, "batch_ids": args.batch_ids, "seed": args.seed, "init": args.init,
            "start": args.start,
            "train_seconds": round(seconds, 1), "final": final, "curve": curve}
    if args.save:
        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint({"trainer": trainer.state_dict(), "config": cfg.to_dict(), "step": args.steps,
                         "meta": meta}, args.save)
    row = {**{k: v for k, v in meta.items() if k != "command"}, **ref, "save": args.save,
           "overrides": args.set, "command": command}
    merge_run(Path(args.out), __doc__.split("\n\n")[0], row)
    print(json.dumps({**final, **ref, "seconds": round(seconds, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
