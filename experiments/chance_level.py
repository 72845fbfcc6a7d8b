"""The chance level of the test protocol: IR→V scores of random features.

    python experiments/chance_level.py [--config synthetic-classroom] [--draws 20]

A method whose infrared→visible mAP is close to this has learned little about matching a
person across modalities. Writes results/chance-<preset>.json.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from d2rl_lib.config import get_config
from d2rl_lib.data.synthetic import load_synthetic
from d2rl_lib.evaluation.retrieval import chance_level

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="synthetic-classroom")
    ap.add_argument("--draws", type=int, default=20, help="random feature sets to average over")
    ap.add_argument("--dim", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = get_config(args.config)
    test = load_synthetic(cfg.data).test
    d = cfg.data
    c = chance_level(test, d.search_mode, d.shots, d.trials, d.gallery_sampler, draws=args.draws, dim=args.dim)
    out = {"command": "python experiments/chance_level.py " + " ".join(sys.argv[1:]), "preset": args.config,
           "draws": args.draws, "protocol": c["protocol"]}
    for k in ("rank1", "rank10", "mAP", "mINP"):
        out[f"{k}_mean"], out[f"{k}_sd"] = round(c[k]["mean"], 2), round(c[k]["sd"], 2)
    path = ROOT / "results" / f"chance-{args.config}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"random features, {args.draws} draws: IR→V mAP {out['mAP_mean']:.1f} ± {out['mAP_sd']:.1f}, "
          f"rank-1 {out['rank1_mean']:.1f} ± {out['rank1_sd']:.1f} -> {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
