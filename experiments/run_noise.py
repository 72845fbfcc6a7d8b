"""How much one training run's IR->V mAP moves, over seeds, thread counts and machines: the
noise every verdict of the notebooks is read against (``d2rl_lib.course.notebook.verdict``).

    python experiments/run_noise.py --ablation results/ablation.json --method baseline \\
        --run threads2=runs/i27/threads2/seed0-baseline --run threads2=runs/i27/threads2/seed1-baseline \\
        --reported "machine-B=0:31.3,1:29.8,2:34.2,3:30.8" --reported-source "issue 27 ..."

Reads the method's per-seed scores from the recorded ablation (one thread, this machine),
the same method's runs under other conditions (``--run CONDITION=RUN_DIR``, the seed read from
the run's metrics.json), and scores reported from another machine (``--reported``, with their
source). Writes results/noise.json:

- ``seed_sd``: the spread over seeds, one condition (this machine, one thread);
- ``condition_differences``: per seed, each other condition's score minus this one's;
- ``condition_sd``: the spread those differences imply for one run (sd of the differences / sqrt 2);
- ``run_sd``: the larger of the two: the noise of one run, whatever changed.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ablation", default=str(ROOT / "results" / "ablation.json"))
    ap.add_argument("--method", default="baseline")
    ap.add_argument("--run", action="append", default=[], metavar="CONDITION=RUN_DIR")
    ap.add_argument("--reported", action="append", default=[], metavar="CONDITION=SEED:mAP,...")
    ap.add_argument("--reported-source", default="")
    ap.add_argument("--out", default=str(ROOT / "results" / "noise.json"))
    args = ap.parse_args()
    ablation = json.loads(Path(args.ablation).read_text())
    here = {s: r["mAP"] for s, r in ablation["per_seed"][args.method].items()}
    other: dict = {}
    for item in args.run:
        cond, _, folder = item.partition("=")
        metrics = json.loads((Path(folder) / "metrics.json").read_text())
        if metrics["method"] != args.method or metrics["preset"] != ablation["preset"]:
            sys.exit(f"{folder}: method {metrics['method']} / preset {metrics['preset']}, not "
                     f"{args.method} / {ablation['preset']}")
        threads = json.loads((Path(folder) / "config.json").read_text())["runtime"]["threads"]
        other.setdefault(cond, {})[str(metrics["seed"])] = {"mAP": metrics["mAP"], "threads": threads,
                                                            "run": folder}
    for item in args.reported:
        cond, _, pairs = item.partition("=")
        for pair in pairs.split(","):
            seed, _, value = pair.partition(":")
            other.setdefault(cond, {})[seed.strip()] = {"mAP": float(value), "reported": args.reported_source}
    diffs = {cond: {s: round(v["mAP"] - here[s], 2) for s, v in runs.items() if s in here}
             for cond, runs in other.items()}
    every = [d for per in diffs.values() for d in per.values()]
    seed_sd = float(np.std(list(here.values()), ddof=1))
    condition_sd = float(np.sqrt(np.mean(np.square(every)) / 2)) if every else 0.0
    out = {"what": __doc__.split("\n\n")[0], "method": args.method, "preset": ablation["preset"],
           "this_machine_one_thread": here, "other_conditions": other,
           "condition_differences": diffs, "seed_sd": round(seed_sd, 2),
           "condition_sd": round(condition_sd, 2), "run_sd": round(max(seed_sd, condition_sd), 2),
           "command": "python experiments/run_noise.py " + " ".join(sys.argv[1:])}
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: out[k] for k in ("this_machine_one_thread", "condition_differences", "seed_sd",
                                          "condition_sd", "run_sd")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
