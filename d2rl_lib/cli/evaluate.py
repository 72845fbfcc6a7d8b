"""``d2rl evaluate``: re-score a saved model on its config's test protocol.

    d2rl evaluate --checkpoint runs/demo-synthetic-classroom/d2rl [--out metrics-again.json]

Loads ``<run>/checkpoints/last.pt`` (or the file given) with ``weights_only=True``
(``d2rl_lib.evaluation.trained.load_run``), scores it exactly as ``d2rl train`` did at the end
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
              "protocol", "directions", "translation")


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


def score_line(result: dict) -> str:
    """One line: the direction, its protocol and the numbers of one evaluation."""
    p = result.get("protocol", {})
    details = [f"{p['mode']}-search" if "mode" in p else "", f"{p['shots']}-shot" if "shots" in p else "",
               f"{p['trials']} trials" if "trials" in p else "",
               f"{p['sampler']} sampler" if "sampler" in p else "",
               f"trial {p['trial']}" if p.get("trial") is not None else ""]
    details = ", ".join(d for d in details if d)
    numbers = "  ".join(f"{name} {result[k]:.1f}" for k, name in (
        ("rank1", "rank-1"), ("rank10", "rank-10"), ("rank20", "rank-20"), ("mAP", "mAP"),
        ("mINP", "mINP")) if result.get(k) is not None)
    return f"{p.get('direction', '?')}" + (f" ({details})" if details else "") + f": {numbers}"


def run(args) -> int:
    from ..atomic import atomic_write_text
    from ..evaluation.trained import evaluate_run, load_run

    run_ = load_run(args.checkpoint, args.device)
    apply_runtime_args(args, run_.cfg)
    metrics = evaluate_run(run_)
    metrics["command"] = command_line(args, ("checkpoint", "out", "device", "threads"))
    if args.out:
        atomic_write_text(Path(args.out), json.dumps(metrics, indent=2) + "\n")
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    print(f"{metrics['method']} ({metrics['preset']}), {run_.checkpoint}, step {run_.step}"
          + ("" if run_.complete else "  [unfinished run: an intermediate checkpoint]"))
    for result in metrics.get("directions", {"": metrics}).values():      # RegDB: both directions
        print(score_line(result))
    single = [f"{name} mAP {metrics[k]:.1f}" for k, name in (("v2v_mAP", "V->V"), ("i2i_mAP", "IR->IR"))
              if metrics.get(k) is not None]
    if single:
        print("   ".join(single))
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
