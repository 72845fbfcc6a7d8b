"""Diagnostic: the unpaired T_I's translation fidelity as training goes on.

Trains T_I with the trainer, unpaired batches and seed of ``d2rl train --stage ti`` and
measures ``d2rl_lib.evaluation.fidelity.translation_fidelity`` on the hidden test pairs every
``--every`` steps, so one can see whether a longer schedule would reach the V->IR
correlation the T_I issue asks for (0.5), or whether it has levelled off.

    python experiments/ti_fidelity_curve.py --steps 2000 --every 500
    python experiments/ti_fidelity_curve.py --steps 1200 --every 300 --set ti.w_cycle=1

Writes (merges into) results/experiments/ti-fidelity-curve-<preset>.json, one entry per command.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from d2rl_lib.config import ConfigError, get_config
from d2rl_lib.evaluation.fidelity import translation_fidelity
from d2rl_lib.runtime import seed_everything
from d2rl_lib.data.loading import load_data
from d2rl_lib.training.ti import TITrainer
from d2rl_lib.training.ti_batches import UnpairedBatches
from d2rl_lib.training.ti_stage import train_ti_steps

from results_file import EXPERIMENTS, merge_run  # experiments/results_file.py, beside this script


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="synthetic-classroom")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--every", type=int, default=500)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="config override, as for d2rl train")
    ap.add_argument("--out", default="", help="default results/experiments/ti-fidelity-curve-<preset>.json")
    args = ap.parse_args()
    if args.every < 1 or args.steps < args.every:
        sys.exit(f"--steps {args.steps} --every {args.every}: need 1 <= every <= steps")
    try:                                     # a bad --set is refused by name, as by d2rl train
        cfg = get_config(args.config, args.sets + [f"runtime.threads={args.threads}"])
        cfg.check_translator()
    except ConfigError as e:
        sys.exit(f"error: {e}")
    if cfg.data.dataset != "synthetic":
        sys.exit(f"--config {args.config}: fidelity needs the synthetic world's hidden pairs")
    torch.set_num_threads(args.threads)
    seed_everything(cfg.runtime.seed)
    train, test = load_data(cfg)
    trainer = TITrainer(cfg, torch.device("cpu"))
    batches = UnpairedBatches.from_config(train, cfg)
    curve, t0 = [], time.perf_counter()
    for start in range(0, args.steps, args.every):
        end = min(start + args.every, args.steps)
        history = train_ti_steps(trainer, batches, start, end, None, cfg)
        fid = translation_fidelity(trainer.t_i, test, torch.device("cpu"))
        d_acc = history["d_acc"]
        row = {"step": end, **{k: round(fid[k], 4) for k in ("v2i_corr", "v2i_l1", "i2v_corr", "cycle_l1")},
               "d_acc": round(sum(d_acc) / max(1, len(d_acc)), 3),
               "seconds": round(time.perf_counter() - t0, 1)}
        curve.append(row)
        print(json.dumps(row), flush=True)
    command = "python experiments/ti_fidelity_curve.py " + " ".join(sys.argv[1:])
    out = Path(args.out or EXPERIMENTS / f"ti-fidelity-curve-{args.config}.json")
    merge_run(out, __doc__.split("\n\n")[0], {"command": command, "settings": args.sets, "curve": curve})
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
