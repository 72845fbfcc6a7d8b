"""Gather the translation fidelity of T_I stage runs into results/translation.json.

    python experiments/gather_translation.py \\
        --run default=runs/notebooks/synthetic-classroom-seed0/ti \\
        --run unit-defaults=runs/diagnostics/ti-variants/unit-defaults ...

The first run is the preset's own T_I (the one the notebooks and the ablation use); runs
named ``<first>-seedN`` are the same T_I with other seeds, averaged in ``over_seeds`` against
histogram-matched grey (the bar: correlation + 0.05 and a lower L1); others are variants
(another world, other settings; DECISIONS.md). ``--usefulness`` adds the usefulness rows
(``experiments/translator_usefulness.py``: a fixed raw-image scorer's IR->V mAP with the visible
gallery replaced by each translator's rendering, whole-frame fidelity, latent sharing), each with
its command. ``--add --usefulness FILE`` merges only the usefulness rows of ``--scorer`` into the
existing file (keeping its runs and every other row), e.g. after new translators were scored.
Every number is read from the run's own ``translation.json`` and ``ti_metrics.json``
(written by ``d2rl train --stage ti`` on the synthetic world); the command that reproduces
a run is rebuilt from its ``config.json``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from gather_ablation import ROOT, command

SETTINGS = ("data.ir_model", "ti.output", "ti.disc_view", "ti.disc_layers", "ti.disc_scales", "ti.w_gan",
            "optim.ti_lr", "schedule.ti_steps", "runtime.seed")


def usefulness(path: str, scorer: str) -> dict:
    """``{"usefulness": {"scorer", "protocol", "what", "rows": {name: row}}}`` from
    experiments/translator_usefulness.py's file (each row keeps its command), or {}."""
    if not path:
        return {}
    data = json.loads(Path(path).read_text())
    rows = {r["name"]: {k: v for k, v in r.items() if k not in ("name", "translator_meta")}
            for r in data["rows"] if r["scorer"] == scorer}
    if not rows:
        raise SystemExit(f"{path} has no rows scored by {scorer}")
    return {"usefulness": {"scorer": scorer, "what": data["what"], "protocol": data["protocol"], "rows": rows}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="append", default=[], help="NAME=RUN_DIR (repeat); first = default")
    ap.add_argument("--add", action="store_true", help="merge the --usefulness rows of --scorer into the "
                    "existing --out file, keeping everything else")
    ap.add_argument("--fidelity", action="append", default=[], metavar="NAME=TRANSLATION_JSON",
                    help="with --add: a T_I stage's translation.json (V->IR and IR->V fidelity on the hidden "
                    "pairs) kept under 'taught' as NAME, with the command given by --fidelity-command")
    ap.add_argument("--fidelity-command", default="", help="how the --fidelity runs were trained")
    ap.add_argument("--usefulness", default="", help="rows of experiments/translator_usefulness.py's JSON to "
                    "include (section 'usefulness'), those of one --scorer")
    ap.add_argument("--scorer", default="runs/baseline-s1", help="the scorer whose usefulness rows to take")
    ap.add_argument("--out", default=str(ROOT / "results" / "translation.json"))
    args = ap.parse_args()
    if args.add:
        return add_usefulness(args)
    if not args.run:
        ap.error("give --run NAME=RUN_DIR (or --add --usefulness FILE)")
    runs, images = {}, None
    for item in args.run:
        name, _, folder = item.rpartition("=")
        run = Path(folder)
        fid = json.loads((run / "translation.json").read_text())
        images = fid.get("images") if images is None else images     # the first run's test set
        ti = json.loads((run / "ti_metrics.json").read_text())
        cfg = json.loads((run / "config.json").read_text())
        settings = {k: cfg[k.split(".")[0]].get(k.split(".")[1]) for k in SETTINGS}
        runs[name] = {"settings": settings, **{k: v for k, v in fid.items() if k != "images"},
                      "d_acc_mean": ti.get("d_acc_mean"), "d_acc_last_quarter": ti.get("d_acc_last_quarter"),
                      "train_seconds": ti.get("train_seconds"), "command": command(run, stage="ti")}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    default = next(iter(runs))
    seeds = [r for name, r in runs.items() if name == default or name.startswith(default + "-seed")]
    mean = lambda key: float(sum(r[key] for r in seeds) / len(seeds))  # noqa: E731
    over_seeds = {"runs": len(seeds), "v2i_corr_mean": mean("v2i_corr"), "v2i_l1_mean": mean("v2i_l1"),
                  "grey_matched_corr": mean("grey_matched_corr"), "grey_matched_l1": mean("grey_matched_l1")}
    over_seeds["beats_matched_grey"] = (over_seeds["v2i_corr_mean"] >= over_seeds["grey_matched_corr"] + 0.05
                                        and over_seeds["v2i_l1_mean"] < over_seeds["grey_matched_l1"])
    out = {"default": default, "commit": commit, "runs": runs, "over_seeds": over_seeds,
           "images": images, **usefulness(args.usefulness, args.scorer),
           "gathered_by": "python experiments/gather_translation.py " + " ".join(sys.argv[1:])}
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print("| run | world | generators | D layers × scales | w_gan | lr | steps | V→IR L1 | V→IR corr | IR→V corr "
          "| cycle L1 | D acc |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in runs.items():
        s = r["settings"]
        print(f"| {name} | {s['data.ir_model']} | {s['ti.output']} | {s['ti.disc_layers']} × {s['ti.disc_scales']} | "
              f"{s['ti.w_gan']:g} | "
              f"{s['optim.ti_lr']:g} | {s['schedule.ti_steps']} | {r['v2i_l1']:.3f} | {r['v2i_corr']:.3f} | "
              f"{r['i2v_corr']:.3f} | {r['cycle_l1']:.3f} | {r['d_acc_mean']:.2f} |")
    g = runs[default]
    print(f"naive: grey L1 {g['grey_l1']:.3f} corr {g['grey_corr']:.3f}; "
          f"grey matched L1 {g['grey_matched_l1']:.3f} corr {g['grey_matched_corr']:.3f}")
    print(f"over {len(seeds)} seeds of {default}: " + json.dumps(over_seeds))
    return 0


def add_usefulness(args) -> int:
    """Merge the usefulness rows of ``args.scorer`` from ``args.usefulness`` (and the fidelity of
    the ``--fidelity`` runs, under ``taught``) into ``args.out``."""
    if not args.usefulness:
        raise SystemExit("--add needs --usefulness FILE")
    path = Path(args.out)
    out = json.loads(path.read_text())
    for item in args.fidelity:
        name, _, file = item.partition("=")
        fid = json.loads(Path(file).read_text())
        out.setdefault("taught", {})[name] = {**{k: v for k, v in fid.items() if k != "images"},
                                              "source": file, "command": args.fidelity_command}
    new = usefulness(args.usefulness, args.scorer)["usefulness"]
    if out.get("usefulness", {}).get("scorer", args.scorer) != args.scorer:
        raise SystemExit(f"{path}'s usefulness rows were scored by {out['usefulness']['scorer']}, not {args.scorer}")
    section = out.setdefault("usefulness", {k: v for k, v in new.items() if k != "rows"})
    section.setdefault("rows", {}).update(new["rows"])
    out.setdefault("added_by", []).append("python experiments/gather_translation.py " + " ".join(sys.argv[1:]))
    path.write_text(json.dumps(out, indent=2) + "\n")
    for name in new["rows"]:
        r = section["rows"][name]
        print(f"{name:40s} mAP {r['mAP']:5.1f}" + (f"  person corr {r['person_corr']:.3f}" if "person_corr" in r else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
