"""Gather the classroom runs of issue 22 (baselines, and D2RL started from a taught T_I) into
results/experiments/d2rl-taught-ti.json, each row with the command that trained it.

The runs are trained by the CLI, one at a time at one thread, e.g.

    python -m d2rl_lib train --config synthetic-classroom --set method=baseline \
        --set runtime.seed=0 --set runtime.threads=1 --out runs/baseline-s0
    python -m d2rl_lib train --config synthetic-classroom --set method=d2rl-frozen \
        --set ti.output=image --set schedule.ti_init=runs/ti/reid-w1-1200.pt \
        --set runtime.seed=0 --set runtime.threads=1 --out runs/d2rlf-reid-s0

and this script reads each run folder's metrics.json and config.json:

    python experiments/gather_d2rl_taught.py runs/baseline-s0 runs/d2rlf-reid-s0 ...

Rows are replaced when gathered again (keyed by run folder). The reference row is the
committed results/ablation.json baseline (30.6 +- 1.6 over seeds 0-2; chance 7.0).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from d2rl_lib.config import Config, overrides_from_preset

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "experiments" / "d2rl-taught-ti.json"
KEYS = ("mAP", "rank1", "mINP", "v2v_mAP", "i2i_mAP", "train_seconds")


def main() -> int:
    data = json.loads(OUT.read_text()) if OUT.is_file() else {"what": __doc__.split("\n\n")[0], "runs": []}
    for folder in sys.argv[1:]:
        p = Path(folder)
        m = json.loads((p / "metrics.json").read_text())
        cfg = Config.load(p / "config.json")
        ovr = overrides_from_preset(cfg)
        ovr += [] if any(o.startswith("runtime.seed=") for o in ovr) else [f"runtime.seed={cfg.runtime.seed}"]
        sets = " ".join(f"--set {o}" for o in ovr)
        row = {"run": folder, "method": cfg.method, "seed": cfg.runtime.seed,
               "ti_init": cfg.schedule.ti_init, **{k: (round(m[k], 2) if isinstance(m.get(k), float) else m.get(k))
                                                   for k in KEYS},
               "command": f"python -m d2rl_lib train --config {cfg.preset} {sets} --out {folder}"}
        data["runs"] = [r for r in data["runs"] if r["run"] != folder] + [row]
        print(f"{folder:32s} {cfg.method:12s} seed {cfg.runtime.seed}  IR->V mAP {row['mAP']:5.1f}  rank-1 {row['rank1']:5.1f}")
    data["reference"] = {"results/ablation.json baseline IR->V mAP": "30.6 +- 1.6 (seeds 0-2: 28.8, 31.0, 31.9)",
                         "chance": 7.0}
    OUT.write_text(json.dumps(data, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
