"""What the notebooks' in-class exercises cost to compute (docs/teaching.md's plan): each
exercise's computing, done the way a student would (one answer sketch each), timed on this
machine with the notebooks' models cached (the others compute nothing: reading, reasoning,
the widgets), plus the cost of each homework exercise: the training time read from the runs that trained
the same stage (``train_seconds`` of their metrics; grayscale from its own run, trained here
with ``--train-grayscale`` as a student would, and the recorded ablation's grayscale runs at one
thread beside it, never the baseline's) and, for the hue-lookup world, its render time measured
here (rendered anew, the disk cache bypassed).

    python benchmarks/exercise_costs.py [--config synthetic-classroom] [--threads 2] [--train-grayscale]

Writes results/exercise-costs.json (seconds per exercise, thread count, command). The
thinking time a class needs is not measured here; docs/teaching.md adds it.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from d2rl_lib.analysis import gap
from d2rl_lib.course import notebook as nb
from d2rl_lib.data.records import VISIBLE, to_signed
from d2rl_lib.data.synthetic import load_synthetic
from d2rl_lib.inputs import prepare_raw

ROOT = Path(__file__).resolve().parents[1]


def timed(fn):
    """(seconds, value) of one call of ``fn``."""
    t0 = time.perf_counter()
    value = fn()
    return round(time.perf_counter() - t0, 2), value


def grey_gap(test):                                           # 01 ex. 1
    v = gap.pixel_vectors(test.images, test.modality, prepare_raw(grey_visible=True))
    return gap.gap_measures(v, test.pids, test.modality)


def toy_clouds():                                             # 01 ex. 2
    rng = np.random.default_rng(0)
    pids = np.repeat(np.arange(20), 10)
    mod = np.tile([0] * 5 + [1] * 5, 20)
    f = rng.normal(size=(200, 16)) * 5 + 0.05 * mod[:, None]   # a tiny, perfectly readable offset
    return gap.gap_measures(f, pids, mod)


def pooled_sharing(t_i, test):                                # 02 ex. 3
    vis = np.flatnonzero(test.modality == VISIBLE)
    with torch.no_grad():
        z_v = t_i.E_v(to_signed(test.images[vis]))[0].mean((2, 3))
        z_t = t_i.E_i(to_signed(test.paired[vis][:, :1]))[0].mean((2, 3))
    return float((z_v - z_t).norm(dim=1).mean() / (z_v - z_t.roll(1, 0)).norm(dim=1).mean())


def grey_multispectral(test):                                 # 04 ex. 2
    def grey_unified(images, modality):
        x = to_signed(images)
        grey = prepare_raw(grey_visible=True)(images, modality)[:, :1]
        return torch.cat([x, grey], 1)
    v = gap.pixel_vectors(test.images, test.modality, grey_unified)
    return gap.gap_measures(v, test.pids, test.modality)


def person_pixels_gap(test):                                  # 04 ex. 3
    x = to_signed(test.images) * test.masks                   # background set to 0
    v = torch.nn.functional.adaptive_avg_pool2d(x.float(), (32, 16)).reshape(len(x), -1)
    return gap.gap_measures(v, test.pids, test.modality)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="synthetic-classroom")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "results" / "exercise-costs.json"))
    ap.add_argument("--train-grayscale", action="store_true",
                    help="train 01 ex. 3's grayscale run into the notebooks' cache first (about 2 min)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = nb.setup([f"runtime.threads={args.threads}"])
    test = load_synthetic(cfg.data).test
    ti = nb.trained_ti(cfg, quiet=True)
    sharing_seconds, sharing = timed(lambda: pooled_sharing(ti.t_i, test))
    in_class = {
        "01 ex. 1 (the gap of grey images)": timed(lambda: grey_gap(test))[0],
        "01 ex. 2 (toy point clouds)": timed(toy_clouds)[0],
        "02 ex. 3 (pooled codes)": sharing_seconds,
        "04 ex. 2 (grey as the translation)": timed(lambda: grey_multispectral(test))[0],
        "04 ex. 3 (the person's pixels only)": timed(lambda: person_pixels_gap(test))[0],
    }
    root = nb.run_root(cfg)
    seconds = lambda path: json.loads((root / path).read_text())["train_seconds"]   # noqa: E731
    stages = {"T_I": seconds("ti/ti_metrics.json"), "baseline": seconds("baseline/metrics.json"),
              "d2rl": seconds("d2rl/metrics.json")}
    if args.train_grayscale:                                   # 01 ex. 3, as a student runs it
        nb.trained(cfg, "grayscale", quiet=True)
    grayscale = seconds("grayscale/metrics.json") if (root / "grayscale/metrics.json").is_file() else None
    render_seconds, _ = timed(lambda: load_synthetic(replace(cfg.data, ir_model="hue-lookup"), use_cache=False))
    homework = {
        "01 ex. 3 (grayscale: its own T_F run, nb.trained(cfg, 'grayscale'); None: not trained, "
        "pass --train-grayscale)": grayscale,
        "01 ex. 4 (render the hue-lookup world; cached after the first time)": render_seconds,
        "02 ex. 1-2, 03 ex. 2 (one more T_I each)": stages["T_I"],
        "03 ex. 1 (the hue-lookup world: render it, then one more T_I)": render_seconds + stages["T_I"],
        "05 ex. 1-3 (one more D2RL-like run each, T_I cached)": stages["d2rl"],
    }
    ablation = json.loads((ROOT / "results" / "ablation.json").read_text())
    one_thread = {m: [round(ablation["per_seed"][m][s]["train_seconds"], 1) for s in ablation["over_seeds"][m]["seeds"]]
                  for m in ("grayscale", "baseline") if m in ablation.get("over_seeds", {})}
    out = {"command": " ".join(["python benchmarks/exercise_costs.py", *sys.argv[1:]]), "preset": cfg.preset,
           "threads": args.threads, "in_class_compute_seconds": in_class,
           "homework_training_seconds": {k: None if v is None else round(v, 1) for k, v in homework.items()},
           "homework_from": f"train_seconds of the notebooks' runs in {nb._rel(root)} at their thread count; "
                            "the render time measured here",
           "homework_one_thread_seconds": {"01 ex. 3 (grayscale: its own T_F run, per recorded seed)": one_thread.get("grayscale"),
                                           "the baseline beside it (per recorded seed)": one_thread.get("baseline")},
           "one_thread_from": "train_seconds of results/ablation.json's per-seed runs (runtime.threads=1)",
           "probe": {"pooled_sharing_ratio": round(sharing, 3)}}
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
