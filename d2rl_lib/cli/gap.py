"""``d2rl gap``: the modality gap of trained runs in the three spaces of paper Fig. 2.

    d2rl gap --run runs/demo-synthetic-classroom/baseline --run runs/demo-synthetic-classroom/d2rl \\
        --out results/gap-synthetic-classroom.json

For each run, on the test identities of its configuration: the cross/within
distance ratio and the modality probe (``d2rl_lib.analysis.gap``) in image space, unified
space and feature space. The JSON records the command that produced it.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import UserError
from .saved_runs import add_runtime_args, apply_runtime_args, command_line


def register(sub) -> None:
    p = sub.add_parser("gap", help="measure the modality gap of trained runs (image, unified, "
                                   "feature space)")
    p.add_argument("--run", action="append", required=True, metavar="DIR",
                   help="a run folder written by `d2rl train` (repeat for several runs)")
    p.add_argument("--out", default=None, metavar="JSON", help="write the measures here")
    p.add_argument("--seed", type=int, default=0, help="seed of the probe's identity split")
    p.add_argument("--pixels", default="32x16", metavar="HxW",
                   help="image and unified spaces: downsample to this size first (default 32x16)")
    add_runtime_args(p)
    p.set_defaults(func=run)


def parse_pixels(text: str) -> tuple:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserError(f"--pixels {text!r}: give HEIGHTxWIDTH, e.g. 32x16") from None
    if h < 1 or w < 1:
        raise UserError(f"--pixels {text!r}: both sizes must be positive")
    return h, w


def run(args) -> int:
    from ..analysis.gap import SPACES, measure_run
    from ..atomic import atomic_write_text
    from ..runtime import seed_everything
    from ..evaluation.trained import load_run
    from ..data.loading import load_data

    pixels = parse_pixels(args.pixels)
    runs, tests = {}, {}
    for path in args.run:
        r = load_run(path, args.device)
        apply_runtime_args(args, r.cfg)
        key = json.dumps(r.cfg.to_dict()["data"], sort_keys=True)
        if key not in tests:
            tests[key] = load_data(r.cfg)[1]
        seed_everything(args.seed)
        res = measure_run(r, tests[key], args.seed, pixels)
        name = r.method if r.method not in runs else f"{r.method}@{Path(path).name}"
        res.update({"run": str(path), "preset": r.cfg.preset, "step": r.step, "complete": r.complete})
        runs[name] = res
        for s in SPACES:
            m = res["spaces"][s]
            print(f"{name:>14} {s:>8} space: cross/within {m['ratio']:.3f}  cross/other-ids "
                  f"{m['cross_vs_others']:.3f}  modality probe {m['probe']:.2f}", flush=True)
    presets = sorted({r["preset"] for r in runs.values()})
    out = {"command": command_line(args, ("run", "out", "seed", "pixels", "device", "threads")),
           "preset": presets[0] if len(presets) == 1 else presets,
           "measures": {"ratio": "mean distance same id across modalities / same id within a "
                                 "modality (1: no modality gap)",
                        "cross_vs_others": "mean distance same id across modalities / different "
                                           "ids within a modality (above 1: the modality separates "
                                           "a person more than identity does)",
                        "probe": "linear probe's balanced accuracy at telling the modality, on "
                                 "held-out identities (0.5: modality invisible)"},
           "runs": runs}
    if args.out:
        atomic_write_text(Path(args.out), json.dumps(out, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0
