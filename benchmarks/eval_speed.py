"""The SYSU-MM01 protocol at full size (3,803 IR queries x 301 visible gallery images x 10
trials) and at the classroom profile's size (256 queries x 128 gallery images x 10 trials),
``eval_sysu``'s vectorised path against its readable per-query loop, for float32 distances
(what the library's features give; float32 keys) and float64 distances (what ordinary NumPy
code gives; float64 keys, d2rl_lib/evaluation/metrics_fast.py says how they differ).
A thin wrapper of ``benchmarks/bench.py``'s ``eval_speed`` (whose float32, full-size case
``python benchmarks/bench.py --only eval`` also runs).

    .venv/bin/python benchmarks/eval_speed.py       # writes results/experiments/eval_speed.json

The file keeps its first keys for float32 (``eval_speedup_vs_loop``, ``classroom_size``);
``float64`` holds the same for float64 distances and ``speedups`` all four side by side.
"""
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

from bench import eval_speed  # benchmarks/bench.py, beside this script

CLASSROOM = {"queries": 256, "gallery": 128, "ids": 32}


def _row(res: dict, ndigits: int) -> dict:
    return {"queries": res["queries"], "gallery": res["gallery"], "trials": res["trials"],
            "dtype": res["dtype"], "keys": res["keys"],
            "vectorised_seconds": round(res["vectorised_seconds"], ndigits),
            "loop_seconds": round(res["loop_seconds"], ndigits),
            "eval_speedup_vs_loop": round(res["speedup"], 1), "max_abs_difference": res["max_abs_difference"]}


torch.set_num_threads(1)
load_before = os.getloadavg()
rows = {}
for dtype in (np.float32, np.float64):
    rows[np.dtype(dtype).name] = (_row(eval_speed(dtype=dtype), 3),
                                  _row(eval_speed(**CLASSROOM, dtype=dtype), 4))
(sysu32, class32), (sysu64, class64) = rows["float32"], rows["float64"]
out = {"command": "python benchmarks/eval_speed.py", "torch": torch.__version__, "numpy": np.__version__,
       "threads": 1, **sysu32, "timing": "vectorised: best of 3 runs of all trials; loop: one run",
       "classroom_size": class32,
       "float64": {**sysu64, "classroom_size": class64},
       "speedups": {"sysu_size": {"float32": sysu32["eval_speedup_vs_loop"],
                                  "float64": sysu64["eval_speedup_vs_loop"]},
                    "classroom_size": {"float32": class32["eval_speedup_vs_loop"],
                                       "float64": class64["eval_speedup_vs_loop"]}},
       "load_average_1min": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)},
       "cpu_count": os.cpu_count(),
       "conditions": "one thread; the machine's cores may be shared with other jobs (see the load "
                     "average), so times vary between runs; the ratios measure both paths alike"}
path = Path(__file__).resolve().parents[1] / "results" / "experiments" / "eval_speed.json"
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps(out, indent=2) + "\n")
json.dump(out, sys.stdout, indent=2)
