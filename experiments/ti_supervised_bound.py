"""Diagnostic: can T_I's networks represent the visible -> infrared mapping at all?

Trains E_v -> G_i of a fresh T_I *supervised* on the synthetic world's hidden pairs
(L1 against the true infrared twin; never a training mode of the project, only an upper
bound) and reports the V->IR fidelity that ``d2rl_lib.evaluation.fidelity`` measures for the
unpaired T_I. If this supervised bound is high while the unpaired T_I stays near grey
conversion, the networks are not the limit: the unpaired objective does not pick the
right mapping at this budget (see docs/status.md).

``--net`` swaps the translator for one of two small stand-ins, to ask what kind of
function the mapping is: ``pixel`` maps each pixel's colour alone (three 1x1
convolutions: if the infrared intensity were a function of the visible colour, this
would learn it), ``local`` sees an 11x11 neighbourhood at full resolution (five 3x3
convolutions, 32 channels), enough to tell a face from a shirt of the same colour.

    python experiments/ti_supervised_bound.py --steps 1500 --lr 1e-3
    python experiments/ti_supervised_bound.py --steps 600 --lr 2e-4
    python experiments/ti_supervised_bound.py --net pixel --steps 3000 --batch 32

Writes (merges into) results/experiments/ti_supervised_bound.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from d2rl_lib.config import get_config
from d2rl_lib.data.records import VISIBLE, to_signed
from d2rl_lib.evaluation.fidelity import translation_fidelity
from d2rl_lib.models.translation import T_I
from d2rl_lib.runtime import save_checkpoint, seed_everything
from d2rl_lib.data.loading import load_data

from results_file import EXPERIMENTS, merge_run  # experiments/results_file.py, beside this script


def stand_in(kind: str) -> torch.nn.Module:
    """x [B, 3, H, W] -> x_hat_i [B, 1, H, W] in [-1, 1]: ``pixel`` (1x1) or ``local`` (3x3) layers."""
    k, depth = (1, 3) if kind == "pixel" else (3, 5)
    layers, ch = [], 3
    for _ in range(depth - 1):
        layers += [torch.nn.Conv2d(ch, 32, k, padding=k // 2), torch.nn.LeakyReLU(0.2)]
        ch = 32
    return torch.nn.Sequential(*layers, torch.nn.Conv2d(ch, 1, k, padding=k // 2), torch.nn.Tanh())


class _StandIn(torch.nn.Module):
    """Gives a stand-in the ``v2i`` / ``i2v`` of a T_I, as ``translation_fidelity`` calls them
    (IR -> V is not trained here: grey repeated, its scores are not reported)."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def v2i(self, x):
        return self.net(x)

    def i2v(self, y):
        return y.expand(-1, 3, -1, -1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="synthetic-classroom")
    ap.add_argument("--net", default="ti", choices=("ti", "pixel", "local"),
                    help="ti: E_v -> G_i of T_I (default); pixel / local: the stand-ins above")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(EXPERIMENTS / "ti_supervised_bound.json"))
    ap.add_argument("--save", default="", help="also write the trained T_I here, in the format "
                    "of a T_I stage checkpoint (for experiments/oracle_translation.py --ti)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = get_config(args.config)
    seed_everything(cfg.runtime.seed)
    train, test = load_data(cfg)
    if args.net == "ti":
        t_i = T_I(cfg.ti)
        t_i.sample = lambda mu, logvar: mu        # deterministic code: a plain regression
        params = [p for n, p in t_i.named_parameters() if n.startswith(("E_v.", "G_i."))]
    else:
        if args.save:
            sys.exit("--save writes a T_I checkpoint; it needs --net ti")
        t_i = _StandIn(stand_in(args.net))
        params = list(t_i.parameters())
    opt = torch.optim.Adam(params, lr=args.lr, betas=(0.5, 0.999))
    vis = np.flatnonzero(train.modality == VISIBLE)
    rng = np.random.default_rng(cfg.runtime.seed)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        idx = rng.choice(vis, args.batch)
        x = to_signed(train.images[idx])                    # [B, 3, H, W]
        y = to_signed(train.paired[idx][:, :1])             # [B, 1, H, W] the true infrared twin
        loss = (t_i.v2i(x) - y).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - t0
    fid = translation_fidelity(t_i, test, torch.device("cpu"))
    row = {k: round(fid[k], 4) for k in ("v2i_l1", "v2i_corr", "grey_l1", "grey_corr",
                                          "grey_matched_l1", "grey_matched_corr")}
    row.update({"net": args.net, "steps": args.steps, "lr": args.lr, "batch": args.batch,
                "threads": args.threads, "train_seconds": round(seconds, 1), "preset": args.config,
                "command": "python experiments/ti_supervised_bound.py " + " ".join(sys.argv[1:])})
    if args.save:
        save_checkpoint({"trainer": {"t_i": t_i.state_dict()}, "config": cfg.to_dict(),
                         "step": args.steps}, args.save)
    merge_run(Path(args.out), __doc__.split("\n\n")[0], row)
    print(json.dumps(row, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
