"""Diagnostic: how high could a V->IR translator's correlation go in this world?

``v2i_corr`` (``d2rl_lib.evaluation.fidelity``) compares a translation with the true infrared twin on
the person's pixels. Part of that twin no translator can know from the visible image: the
sensor noise, each garment's hidden heat offset, and (nearly) its material, which sets the
emissivity and the heat passed from the body but barely shows in colour. This script
(``d2rl_lib.analysis.ceilings.translation_ceiling``) renders, for every visible test image, the
infrared twin from the world's own model with those parts removed one after another, and
scores each rendering like a translation:

- ``no_noise``: the twin without its sensor noise;
- ``no_noise_no_hidden``: also without the garments' hidden heat (``data.ir_hidden_sd=0``);
- ``knowable``: also with every material replaced by the average material, so what is
  left follows from what the visible image shows (part, dye darkness, pose, camera).

``knowable`` is the ceiling of a translator that has learned the infrared model exactly;
the T_I of notebook 02 reaches 0.17 (``results/translation.json``). Two more renderings
of the knowable twin show what the correlation rewards:

- ``dye_reversed``: light dyes run warm instead of dark ones (the garments' mapping
  turned round, everything else right);
- ``dye_blind``: every garment at middle darkness, so only which body part is where, the
  pose and the camera are left.

Each rendering is the preset's world with some ``WorldSpec`` fields changed
(``d2rl_lib.analysis.ceilings.CEILING_VARIANTS``); the preset's own world is not touched.

    python experiments/translation_ceiling.py [--config synthetic-classroom]

Writes results/experiments/translation-ceiling-<preset>.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from d2rl_lib.analysis.ceilings import translation_ceiling
from d2rl_lib.config import get_config
from d2rl_lib.data.synthetic.world import WorldSpec

from results_file import EXPERIMENTS  # experiments/results_file.py, beside this script


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="synthetic-classroom")
    ap.add_argument("--out", default="", help="default results/experiments/translation-ceiling-<preset>.json")
    args = ap.parse_args()
    cfg = get_config(args.config)
    if cfg.data.dataset != "synthetic":
        sys.exit(f"--config {args.config}: the ceiling needs the synthetic world's twins "
                 f"(data.dataset={cfg.data.dataset!r}); use synthetic-classroom or synthetic-ci")
    t0 = time.perf_counter()
    scores = translation_ceiling(WorldSpec.from_config(cfg.data), cfg.data.images_per_camera)
    data = {"what": __doc__.split("\n\n")[0], "preset": args.config, "scores": scores,
            "seconds": round(time.perf_counter() - t0, 1),
            "command": "python experiments/translation_ceiling.py " + " ".join(sys.argv[1:])}
    out = Path(args.out or EXPERIMENTS / f"translation-ceiling-{args.config}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2) + "\n")
    for name, s in scores.items():
        print(f"{name:20s} V->IR correlation {s['v2i_corr']:.3f}  L1 {s['v2i_l1']:.3f}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
