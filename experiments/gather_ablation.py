"""Gather finished runs of the six methods into results/ablation.json and print the
README's markdown table.

    python experiments/gather_ablation.py \\
        --run baseline=runs/notebooks/synthetic-classroom-seed0/baseline \\
        --run d2rl=runs/notebooks/synthetic-classroom-seed0/d2rl \\
        --run grayscale=runs/ablation/grayscale ... \\
        --run baseline=runs/ablation/seed1/baseline --run d2rl=runs/ablation/seed1/d2rl ...

The first seed given is the full one-seed table (``methods``); a method given with runs of
other seeds also gets its mean and standard deviation over them (``over_seeds``).

``--add`` puts the given methods' runs into the existing file instead, keeping every other
method's rows (e.g. the oracle row, run after the others):

    python experiments/gather_ablation.py --add --run d2rl-oracle=runs/ablation/seed0/d2rl-oracle \
        --run d2rl-oracle=runs/ablation/seed1/d2rl-oracle --run d2rl-oracle=runs/ablation/seed2/d2rl-oracle
Every number is read from the run's own metrics.json; the command that reproduces a run
is rebuilt from its config.json (the overrides that differ from the preset).
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

from d2rl_lib.config import Config, overrides_from_preset
from d2rl_lib.course.notebook import verdict

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("rank1", "rank10", "rank20", "mAP", "mINP", "v2v_mAP", "i2i_mAP", "train_seconds")


def command(run: Path, stage: str = "") -> str:
    """`d2rl train` with the overrides that turn the preset into this run's config."""
    saved = Config.from_dict(json.loads((run / "config.json").read_text()))
    sets = [f"--set {o}" for o in overrides_from_preset(saved)]
    if stage:                                             # a --stage run: its method is moot
        sets = [s for s in sets if not s.startswith("--set method=")] + ["--stage", stage]
    line = " ".join(["d2rl train --config", saved.preset, *sets, "--out", str(run)])
    return line.replace(f"{ROOT}/", "")                  # paths relative to the repository


def over_seeds(per_seed: dict) -> dict:
    """Mean and sample standard deviation of each score over a method's seeds."""
    out = {"seeds": sorted(per_seed, key=int)}
    for k in ("rank1", "mAP", "v2v_mAP", "i2i_mAP"):
        vals = np.array([v[k] for v in per_seed.values() if v.get(k) is not None], float)
        if len(vals):
            out[f"{k}_mean"] = round(float(vals.mean()), 2)
            out[f"{k}_sd"] = round(float(vals.std(ddof=1)), 2) if len(vals) > 1 else None
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="append", required=True,
                    help="NAME=RUN_DIR (repeat; repeat a NAME for its runs with other seeds)")
    ap.add_argument("--out", default=str(ROOT / "results" / "ablation.json"))
    ap.add_argument("--chance", default="", help="results/chance-<preset>.json of "
                    "experiments/chance_level.py: the chance level, kept beside the methods")
    ap.add_argument("--add", action="store_true", help="add (or replace) the given methods' rows "
                    "in the existing --out file, keeping the others")
    ap.add_argument("--against", default="", metavar="LABEL", help="with --add: each added row's paired "
                    "difference from the row LABEL on their common seeds, with its verdict against one "
                    "run's noise (results/noise.json), into the file's 'paired'")
    args = ap.parse_args()
    if args.add:
        return add(args)
    methods, commands, protocol, preset, seed = {}, {}, None, None, None
    seeds, seed_commands = {}, {}
    for item in args.run:
        name, _, folder = item.partition("=")
        run = Path(folder)
        metrics = json.loads((run / "metrics.json").read_text())
        seed = metrics.get("seed") if seed is None else seed       # the first run's seed
        row = {k: metrics.get(k) for k in KEYS}
        if str(metrics.get("seed")) in seeds.get(name, {}):
            sys.exit(f"two runs of {name!r} with seed {metrics.get('seed')}: give each seed once")
        seeds.setdefault(name, {})[str(metrics.get("seed"))] = row
        seed_commands.setdefault(name, {})[str(metrics.get("seed"))] = command(run)
        if metrics.get("seed") == seed and name not in methods:   # the one-seed full table
            methods[name] = dict(row, translation=metrics.get("translation"))
            commands[name] = command(run)
            protocol, preset = metrics.get("protocol"), metrics.get("preset")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    multi = {name: over_seeds(per) for name, per in seeds.items() if len(per) > 1}
    out = {"preset": preset, "seed": seed, "commit": commit, "protocol": protocol,
           "commands": commands, "methods": methods,
           "chance": json.loads(Path(args.chance).read_text()) if args.chance else None,
           "over_seeds": multi, "per_seed": {n: seeds[n] for n in multi},
           "per_seed_commands": {n: seed_commands[n] for n in multi},
           "gathered_by": "python experiments/gather_ablation.py " + " ".join(sys.argv[1:])}
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print_tables(out)
    return 0


def print_tables(out: dict) -> None:
    """The file's one-seed table and its table over seeds, as markdown (README, docs/status.md)."""
    print(f"seed {out['seed']}:")
    print("| method | IR→V rank-1 | IR→V mAP | IR→V mINP | V→V mAP | IR→IR mAP | training s |")
    print("|---|---|---|---|---|---|---|")
    for name, m in out["methods"].items():
        cells = [f"{m[k]:.1f}" if m.get(k) is not None else "–" for k in
                 ("rank1", "mAP", "mINP", "v2v_mAP", "i2i_mAP", "train_seconds")]
        print(f"| `{name}` | " + " | ".join(cells) + " |")
    if out["over_seeds"]:
        print("\nover seeds (mean ± sd):")
        print("| method | seeds | IR→V rank-1 | IR→V mAP | V→V mAP | IR→IR mAP | IR→V mAP per seed |")
        print("|---|---|---|---|---|---|---|")
        for name, o in out["over_seeds"].items():
            cells = [f"{o[k + '_mean']:.1f} ± {o[k + '_sd']:.1f}" for k in ("rank1", "mAP", "v2v_mAP", "i2i_mAP")]
            each = ", ".join(f"{out['per_seed'][name][s]['mAP']:.1f}" for s in o["seeds"])
            print(f"| `{name}` | {', '.join(o['seeds'])} | " + " | ".join(cells) + f" | {each} |")


def paired(per_seed: dict, name: str, against: str) -> dict:
    """Row ``name`` minus row ``against`` in IR->V mAP (and V->V mAP) on each seed both have, and
    the verdict of :func:`d2rl_lib.course.notebook.verdict` with one run's noise (none from a
    single seed: DECISIONS.md, "Verdicts in the notebooks")."""
    seeds = sorted(set(per_seed[name]) & set(per_seed.get(against, {})), key=int)
    if not seeds:
        sys.exit(f"{name!r} and {against!r} share no seed")
    run_sd = json.loads((ROOT / "results" / "noise.json").read_text())["run_sd"]
    a = [per_seed[name][s]["mAP"] for s in seeds]
    b = [per_seed[against][s]["mAP"] for s in seeds]
    v = verdict(a, b, run_sd)
    return {"against": against, "seeds": seeds, "run_sd": run_sd,
            "mAP_difference_per_seed": [round(x - y, 2) for x, y in zip(a, b)],
            "v2v_mAP_difference_per_seed": [round(per_seed[name][s]["v2v_mAP"] - per_seed[against][s]["v2v_mAP"], 2)
                                            for s in seeds],
            "mAP_difference": round(v["difference"], 2),
            "verdict": (f"{v['words']}: {v['text']}" if len(seeds) > 1 else     # the notebooks' rule
                        f"no verdict from one seed ({v['text']})"),
            "ahead_on_every_seed": all(x > y for x, y in zip(a, b))}


def add(args) -> int:
    """Put the runs of ``args.run`` into the existing file: per seed, over seeds and, for the
    file's own seed, the one-seed table."""
    path = Path(args.out)
    out = json.loads(path.read_text())
    for item in args.run:
        name, _, folder = item.partition("=")
        run = Path(folder)
        metrics = json.loads((run / "metrics.json").read_text())
        if metrics.get("preset") != out["preset"] or metrics.get("protocol") != out["protocol"]:
            sys.exit(f"{run}: preset or protocol differ from {path}'s; gather them apart")
        seed = str(metrics.get("seed"))
        out["per_seed"].setdefault(name, {})[seed] = {k: metrics.get(k) for k in KEYS}
        out["per_seed_commands"].setdefault(name, {})[seed] = command(run)
        if metrics.get("seed") == out["seed"]:
            out["methods"][name] = dict({k: metrics.get(k) for k in KEYS}, translation=metrics.get("translation"))
            out["commands"][name] = command(run)
        if len(out["per_seed"][name]) > 1:
            out["over_seeds"][name] = over_seeds(out["per_seed"][name])
    if args.against:
        for name in dict.fromkeys(item.partition("=")[0] for item in args.run):
            if name != args.against:
                out.setdefault("paired", {})[name] = paired(out["per_seed"], name, args.against)
    line = "python experiments/gather_ablation.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    out["added_by"] = [c for c in out.get("added_by", []) if c != line] + [line]
    path.write_text(json.dumps(out, indent=2) + "\n")
    print_tables(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
