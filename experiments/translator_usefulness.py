"""Usefulness of V->IR translators: the IR->V protocol scored by a fixed raw-image run with the
visible gallery replaced by each translator's renderings (``d2rl_lib.analysis.usefulness``).

The scorer (``--scorer``) is a trained ``baseline`` run that never taught the translators
(a checkpoint whose ``meta.teacher_run`` or one of its ``ti.teacher.*.run`` is the scorer is
refused). Reference rows: ``raw``
(the gallery as it is), ``grey``, ``knowable_twin`` (the twin without the garments' hidden
part) and ``true_twin``; ``--ti NAME=CHECKPOINT`` (repeatable) adds a T_I stage checkpoint's
row, ``--run-ti NAME=RUN`` the T_I inside a trained method run (e.g. ``d2rl`` after its joint
steps). Every row has the scorer's rank-1 / rank-10 / mAP / mINP and the rendering's fidelity to
the true twin on the person and over the whole frame; a T_I's row also has notebook 02's
shared-latent measure (``latent_sharing``: the distance of E_v(x) to its twin's code E_i(y) over
the distance to another person's, ``analysis.probes.latent_sharing``; 1 = not shared).

    python experiments/translator_usefulness.py --scorer runs/baseline-s1 \\
        [--ti NAME=runs/ti/ti_last.pt ...] [--run-ti NAME=runs/d2rl ...] [--skip-references]

Writes (merges into) results/experiments/translator-usefulness.json: one row per (scorer,
name), replaced when measured again, each with the command that produced it.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from d2rl_lib.analysis.probes import latent_sharing
from d2rl_lib.analysis.usefulness import gallery_usefulness, reference_renderings, test_sets, translated
from d2rl_lib.config import Config, teachers
from d2rl_lib.runtime import load_checkpoint
from d2rl_lib.evaluation.trained import load_run
from d2rl_lib.training.ti_stage import load_ti_stage

from results_file import EXPERIMENTS  # experiments/results_file.py, beside this script

PROTOCOL = ("IR->V, SYSU-like (infrared queries cams 3/6 against a visible single-shot all-search "
            "gallery, 10 seeded trials), the scorer's config; the visible gallery replaced by the "
            "row's one-channel rendering shown as infrared")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scorer", required=True, help="a trained baseline run folder")
    ap.add_argument("--ti", action="append", default=[], metavar="NAME=CHECKPOINT")
    ap.add_argument("--run-ti", action="append", default=[], metavar="NAME=RUN",
                    help="also score the T_I inside a trained method run (e.g. d2rl after its joint steps)")
    ap.add_argument("--skip-references", action="store_true", help="only the --ti rows (and raw)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(EXPERIMENTS / "translator-usefulness.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    run = load_run(args.scorer)
    test = test_sets(run)[0]
    renderings = {} if args.skip_references else reference_renderings(run)
    meta, t_is = {}, {}
    for item in args.ti:
        name, sep, path = item.partition("=")
        if not sep:
            raise SystemExit(f"--ti {item!r}: write NAME=CHECKPOINT")
        state = load_checkpoint(path)
        meta[name] = state.get("meta", {})
        ti = Config.from_dict(state["config"]).ti if "config" in state else None   # the library's teachers
        for teacher in [meta[name].get("teacher_run")] + ([t.run for _, t in teachers(ti)] if ti else []):
            if teacher and Path(teacher).resolve() == Path(args.scorer).resolve():
                raise SystemExit(f"{path} was taught by {teacher}: score it with another run")
        t_is[name] = load_ti_stage(path)[0]
        renderings[name] = translated(t_is[name], test)
    for item in args.run_ti:
        name, sep, path = item.partition("=")
        t_i = load_run(path).t_i if sep else None
        if t_i is None:
            raise SystemExit(f"--run-ti {item!r}: write NAME=RUN, RUN a trained method run with T_I")
        t_is[name] = t_i
        renderings[name] = translated(t_i, test)
    t0 = time.perf_counter()
    rows = gallery_usefulness(run, renderings, test)
    for name, t_i in t_is.items():               # notebook 02's shared-latent measure, same test set
        rows[name]["latent_sharing"] = latent_sharing(t_i, test)["ratio"]
    command = "python experiments/translator_usefulness.py " + " ".join(sys.argv[1:])
    path = Path(args.out)
    data = json.loads(path.read_text()) if path.is_file() else {"what": __doc__.split("\n\n")[0], "rows": []}
    kept = [r for r in data["rows"] if not (r["scorer"] == args.scorer and r["name"] in rows)]
    for name, r in rows.items():
        kept.append({"name": name, "scorer": args.scorer, "scorer_seed": run.cfg.runtime.seed,
                     "scorer_method": run.cfg.method, **r, **({"translator_meta": meta[name]} if name in meta else {}),
                     "command": command})
        fid = (f"  person corr {r['person_corr']:.3f} L1 {r['person_l1']:.3f}  frame corr "
               f"{r['frame_corr']:.3f} L1 {r['frame_l1']:.3f}" if "person_corr" in r else "")
        share = f"  latent sharing {r['latent_sharing']:.2f}" if "latent_sharing" in r else ""
        print(f"{name:32s} mAP {r['mAP']:5.1f}  rank-1 {r['rank1']:5.1f}{fid}{share}")
    data.update(rows=kept, protocol=PROTOCOL)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"{time.perf_counter() - t0:.0f} s -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
