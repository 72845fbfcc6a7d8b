"""Diagnostic: how far would a *perfect* translation take cross-modal matching?

D2RL's premise is that translating one modality into the other makes cross-modal
matching easier. The synthetic world can test the premise without any translator: every
test image has its true twin in the other modality. A trained raw-image model (the
`baseline` of notebook 01 by default) scores the IR->V protocol with one side replaced by
its twin (``d2rl_lib.analysis.ceilings.perfect_translation_scores``; notebook 06 does the same):

- ``as_is``: the run's own score;
- ``gallery_as_true_infrared``: a perfect V->IR translator, hidden heat included;
- ``gallery_as_knowable_infrared``: the twin without the garments' hidden heat, the best a
  translator that sees only the visible image could do;
- ``queries_as_true_visible``: a perfect IR->V translator (impossible: a bound);
- ``gallery_translated_by_<NAME>`` for each ``--ti NAME=CHECKPOINT``: the gallery as that
  T_I translates it, with its correlation to the true twins.

    python experiments/oracle_translation.py [--run runs/notebooks/synthetic-classroom-seed0/baseline]
        [--ti notebook02=runs/notebooks/synthetic-classroom-seed0/ti/checkpoints/ti_last.pt]

Writes results/experiments/oracle-translation-<preset>.json.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from d2rl_lib.analysis.ceilings import PERFECT_TRANSLATIONS, perfect_translation_scores
from d2rl_lib.training.ti_stage import load_ti_stage
from d2rl_lib.evaluation.trained import load_run

from results_file import EXPERIMENTS  # experiments/results_file.py, beside this script

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default="runs/notebooks/synthetic-classroom-seed0/baseline",
                    help="folder of a trained baseline or grayscale run (make demo trains one)")
    ap.add_argument("--ti", action="append", default=[], metavar="NAME=CHECKPOINT",
                    help="also score the gallery as this T_I translates it (a T_I stage "
                    "checkpoint, checkpoints/ti_last.pt); repeatable")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    run = load_run(args.run)
    translators = {}
    for item in args.ti:
        name, sep, path = item.partition("=")
        if not sep:
            raise SystemExit(f"--ti {item!r}: write NAME=CHECKPOINT, e.g. --ti notebook02=runs/ti/checkpoints/ti_last.pt")
        translators[name] = load_ti_stage(path)[0]
    scores = perfect_translation_scores(run, translators)
    fid = scores.pop("knowable_infrared_fidelity")
    out = {"what": __doc__.split("\n\n")[0], "command": "python experiments/oracle_translation.py "
           + " ".join(sys.argv[1:]), "run": args.run, "method": run.cfg.method,
           "preset": run.cfg.preset, "seed": run.cfg.runtime.seed,
           "protocol": "IR->V, SYSU-like, as the run's config", "variants": PERFECT_TRANSLATIONS,
           "scores": scores, "knowable_infrared_fidelity": fid}
    path = EXPERIMENTS / f"oracle-translation-{run.cfg.preset}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    for name, r in scores.items():
        corr = f"  (v2i_corr {r['v2i_corr']:.2f})" if "v2i_corr" in r else ""
        print(f"{name:34s} IR->V mAP {r['mAP']:5.1f}  rank-1 {r['rank1']:5.1f}{corr}")
    print(f"knowable twin against the true twin: v2i_corr {fid['v2i_corr']:.2f}, v2i_l1 {fid['v2i_l1']:.3f}")
    print(f"-> {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
