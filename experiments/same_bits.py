"""Every method's synthetic-ci run made by two commits of the library, compared: metrics.json's
scores and the saved weights of T_F (and T_I), bit for bit. Used for issue 33 (a refactor must
leave what every method learns unchanged).

    # each commit checked out in its own worktree, every method trained at one thread, seed 0:
    #   d2rl train --config synthetic-ci --set method=M [--set tf.modality_dropout=0.5]
    #              --set runtime.threads=1 --set schedule.checkpoint_every=0 --out DIR/NAME
    python experiments/same_bits.py --before DIR_A --after DIR_B --before-commit A --after-commit B
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from results_file import EXPERIMENTS  # experiments/results_file.py, beside this script

KEYS = ("rank1", "rank10", "rank20", "mAP", "mINP", "v2v_mAP", "i2i_mAP", "per_trial", "translation")


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def compare(before: Path, after: Path) -> dict:
    """{run name: {mAP before/after, the metric keys that differ, weights identical}}."""
    rows = {}
    for run in sorted(p for p in before.iterdir() if (p / "metrics.json").is_file()):
        other = after / run.name
        mb, ma = (json.loads((d / "metrics.json").read_text()) for d in (run, other))
        sb, sa = (torch.load(d / "checkpoints" / "last.pt", weights_only=True) for d in (run, other))
        weights = same_weights(sb["trainer"]["model"], sa["trainer"]["model"])
        if "ti" in sb:
            weights = weights and same_weights(sb["ti"]["t_i"], sa["ti"]["t_i"])
        rows[run.name] = {"method": mb["method"], "mAP_before": mb["mAP"],
                          "mAP_after": ma["mAP"], "metrics_that_differ": [k for k in KEYS if mb.get(k) != ma.get(k)],
                          "weights_bit_identical": weights}
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, type=Path)
    ap.add_argument("--after", required=True, type=Path)
    ap.add_argument("--before-commit", required=True)
    ap.add_argument("--after-commit", required=True)
    args = ap.parse_args()
    rows = compare(args.before, args.after)
    same = all(not r["metrics_that_differ"] and r["weights_bit_identical"] for r in rows.values())
    out = {"what": __doc__.splitlines()[0], "before_commit": args.before_commit, "after_commit": args.after_commit,
           "preset": "synthetic-ci", "seed": 0, "threads": 1, "all_identical": same,
           "runs_made_by": "d2rl train --config synthetic-ci --set method=M (NAME-drop: --set tf.modality_dropout=0.5) "
                           "--set runtime.threads=1 --set schedule.checkpoint_every=0 --out DIR/NAME, in a worktree "
                           "of each commit", "runs": rows,
           "command": "python experiments/same_bits.py " + " ".join(sys.argv[1:])}
    path = EXPERIMENTS / "same-bits-issue33.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    for name, r in rows.items():
        print(f"{name:20s} mAP {r['mAP_before']:.4f} -> {r['mAP_after']:.4f}  "
              f"{'identical' if not r['metrics_that_differ'] else 'DIFFER: ' + ', '.join(r['metrics_that_differ'])}, "
              f"weights {'bit-identical' if r['weights_bit_identical'] else 'DIFFER'}")
    print(f"all identical: {same}; wrote {path}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
