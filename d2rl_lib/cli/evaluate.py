"""``d2rl evaluate``: re-score a saved model on its config's test protocol.

    d2rl evaluate --checkpoint runs/demo-synthetic-classroom/d2rl [--out metrics-again.json]

Loads ``<run>/checkpoints/last.pt`` (or the file given) with ``weights_only=True``
(``d2rl_lib.trained.load_run``), scores it exactly as ``d2rl train`` did at the end
of training, and prints the numbers; ``--out`` writes them as JSON with the keys of
the run's ``metrics.json``. When the run folder has a ``metrics.json``, says whether
the numbers agree with it.
"""
from __future__ import annotations

import json
from pathlib import Path

from .saved_runs import add_runtime_args, apply_runtime_args, command_line

# Keys that depend on the model's weights; the rest (train_seconds, ...) are bookkeeping.
SCORE_KEYS = ("rank1", "rank10", "rank20", "mAP", "mINP", "v2v_mAP", "i2i_mAP", "per_trial",
              "protocol", "translation")


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="score a checkpoint on the test protocol")
    p.add_argument("--checkpoint", required=True, metavar="FILE_OR_RUN_DIR",
                   help="a run folder written by `d2rl train`, or its checkpoints/last.pt")
    p.add_argument("--out", default=None, metavar="JSON", help="write the metrics here")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    add_runtime_args(p)
    p.set_defaults(func=run)


def differing_keys(new: dict, stored: dict) -> list:
    """The score keys whose values differ between two metrics dicts."""
    return [k for k in SCORE_KEYS if (k in new or k in stored) and new.get(k) != stored.get(k)]


def run(args) -> int:
    from ..runtime import atomic_write_text
    from ..trained import evaluate_run, load_run

    run_ = load_run(args.checkpoint, args.device)
    apply_runtime_args(args, run_.cfg)
    metrics = evaluate_run(run_)
    metrics["command"] = command_line(args, ("checkpoint", "out", "device", "threads"))
    if args.out:
        atomic_write_text(Path(args.out), json.dumps(metrics, indent=2) + "\n")
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    p = metrics["protocol"]
    print(f"{metrics['method']} ({metrics['preset']}), {run_.checkpoint}, step {run_.step}"
          + ("" if run_.complete else "  [unfinished run: an intermediate checkpoint]"))
    print(f"IR->V ({p['mode']}-search, {p['shots']}-shot, {p['trials']} trials, {p['sampler']} "
          f"sampler): rank-1 {metrics['rank1']:.1f}  rank-10 {metrics['rank10']:.1f}  "
          f"rank-20 {metrics['rank20']:.1f}  mAP {metrics['mAP']:.1f}  mINP {metrics['mINP']:.1f}")
    print(f"V->V mAP {metrics['v2v_mAP']:.1f}   IR->IR mAP {metrics['i2i_mAP']:.1f}")
    if "translation" in metrics:
        t = metrics["translation"]
        print(f"T_I on the hidden pairs: V->IR L1 {t['v2i_l1']:.3f} corr {t['v2i_corr']:.2f}, "
              f"IR->V L1 {t['i2v_l1']:.3f} corr {t['i2v_corr']:.2f}, cycle L1 {t['cycle_l1']:.3f}")
    if run_.metrics is not None:
        diff = differing_keys(metrics, run_.metrics)
        print("same numbers as the run's metrics.json" if not diff
              else f"differs from the run's metrics.json in: {', '.join(diff)}")
    if args.out:
        print(f"wrote {args.out}")
    return 0
