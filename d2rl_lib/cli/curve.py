"""``d2rl curve``: learning curves of trained runs on the validation identities.

    d2rl train --config synthetic-classroom --set method=baseline --set schedule.keep_every=250 --out runs/b0
    d2rl curve runs/b0 [runs/d0 ...] --out results/learning-curves.json

Scores every checkpoint a run kept (``schedule.keep_every``) and its last one on the
validation identities (``data.val_ids``, never trained on: choose here) and the test
identities (report only); prints one line per kept step and, with ``--out``, merges the
curves into that JSON file (one entry per run folder, replaced when scored again).
"""
from __future__ import annotations

import json
from pathlib import Path

from .saved_runs import add_runtime_args, command_line


def register(sub) -> None:
    p = sub.add_parser("curve", help="learning curves of runs with kept checkpoints (validation identities)")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders written by `d2rl train`")
    p.add_argument("--out", default=None, metavar="JSON", help="merge the curves into this file")
    p.add_argument("--label", default=None, help="a name for the runs' row in --out (default: the method)")
    add_runtime_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..atomic import atomic_write_text
    from ..evaluation.curve import learning_curve, plateau_step
    from ..runtime import set_threads

    set_threads(args.threads or 0)
    out = Path(args.out) if args.out else None
    book = json.loads(out.read_text()) if out and out.is_file() else {"curves": []}
    for run_dir in args.runs:
        curve = learning_curve(run_dir, args.device)
        curve["label"] = args.label or curve["method"]
        curve["command"] = command_line(args, ("out", "label"), command="curve") + f" {run_dir}"
        last = curve["points"][-1]["tf_step"]
        finished = last >= curve["tf_total"]
        curve["val_plateau_tf_step"] = plateau_step(curve["points"]) if finished else None
        print(f"{run_dir} ({curve['method']}, seed {curve['seed']}): " + (
            f"validation IR->V mAP stops rising (within 1.0) at T_F step {curve['val_plateau_tf_step']}"
            if finished else f"the run stopped at T_F step {last} of {curve['tf_total']}: no plateau read"))
        for p in curve["points"]:
            v, t = p["val"], p["test"]
            print(f"  step {p['tf_step']:5d}  val IR->V {v['mAP']:5.1f} V->V {v['v2v_mAP']:5.1f} "
                  f"IR->IR {v['i2i_mAP']:5.1f}  |  test IR->V {t['mAP']:5.1f}")
        book["curves"] = [c for c in book["curves"] if c["run"] != curve["run"]] + [curve]
    if out:
        atomic_write_text(out, json.dumps(book, indent=2) + "\n")
        print(f"wrote {out}")
    return 0
