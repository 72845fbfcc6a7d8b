"""The SYSU-MM01 protocol at full size (3,803 IR queries x 301 visible gallery images x 10
trials), vectorised ``eval_sysu`` against a straightforward per-query loop (issue 4: >= 10x).

    .venv/bin/python benchmarks/eval_speed.py       # writes results/eval_speed.json
"""
import json
import sys
import time
from pathlib import Path

import numpy as np

from d2rl_lib.metrics import eval_sysu

NQ, NG, TRIALS, IDS = 3803, 301, 10, 96


def loop_eval_sysu(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=20):
    """The per-query loop as public code writes it (reference, for timing only)."""
    cmc_all, aps, inps = [], [], []
    for i in range(len(q_pids)):
        order = np.argsort(distmat[i])
        keep = ~((q_camids[i] == 3) & (g_camids[order] == 2))
        ranked = g_pids[order][keep]
        match = ranked == q_pids[i]
        if not match.any():
            continue
        seen, uniq = set(), []
        for p in ranked:
            if p not in seen:
                seen.add(p)
                uniq.append(p)
        new_match = np.array(uniq) == q_pids[i]
        cmc = new_match.cumsum()
        cmc[cmc > 1] = 1
        cmc_all.append(cmc[:max_rank])
        pos = np.where(match)[0]
        inps.append(len(pos) / (pos[-1] + 1))
        aps.append(np.mean((np.arange(len(pos)) + 1) / (pos + 1)))
    return np.mean(cmc_all, 0), float(np.mean(aps)), float(np.mean(inps))


rng = np.random.default_rng(0)
q_pids = rng.integers(0, IDS, NQ)
q_cams = rng.choice([3, 6], NQ)
g_pids = np.repeat(np.arange(IDS), 4)[:NG] if IDS * 4 >= NG else rng.integers(0, IDS, NG)
g_cams = np.tile([1, 2, 4, 5], NG // 4 + 1)[:NG]
q_feat = rng.normal(size=(NQ, 2048)).astype(np.float32)
g_feat = rng.normal(size=(TRIALS, NG, 2048)).astype(np.float32)
dists = [1 - q_feat @ g_feat[t].T / 2048 for t in range(TRIALS)]  # a distance per trial

t0 = time.perf_counter()
fast = [eval_sysu(d, q_pids, g_pids, q_cams, g_cams) for d in dists]
t_fast = time.perf_counter() - t0
t0 = time.perf_counter()
slow = [loop_eval_sysu(d, q_pids, g_pids, q_cams, g_cams) for d in dists]
t_loop = time.perf_counter() - t0
max_diff = max(max(float(np.abs(a[0] - b[0]).max()), abs(a[1] - b[1]), abs(a[2] - b[2]))
               for a, b in zip(fast, slow))
out = {"command": "python benchmarks/eval_speed.py", "queries": NQ, "gallery": NG, "trials": TRIALS,
       "vectorised_seconds": round(t_fast, 3), "loop_seconds": round(t_loop, 3),
       "eval_speedup_vs_loop": round(t_loop / t_fast, 1), "max_abs_difference": max_diff}
Path("results").mkdir(exist_ok=True)
Path("results/eval_speed.json").write_text(json.dumps(out, indent=2) + "\n")
json.dump(out, sys.stdout, indent=2)
