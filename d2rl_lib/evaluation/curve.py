"""Learning curves on the validation identities (issue 34; ``d2rl curve``; notebook 06).

A run trained with ``schedule.keep_every=N`` keeps T_F's checkpoint every N steps beside
``last.pt`` (``checkpoints/tf_step_NNNNNN.pt``). :func:`learning_curve` scores each of them on
the validation identities (``data.val_ids``: people of the same world whom nothing trains on,
:func:`d2rl_lib.data.loading.load_validation`) and, to report only, on the test identities:
IR->V mAP and rank-1, V->V and IR->IR mAP at every kept step. Every choice (a budget, a
checkpoint) is read off the validation curve; the test curve is never used to choose.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Tuple

from ..data.loading import load_data, load_validation
from ..runtime import KEPT_PATTERN, find_checkpoint, seed_everything
from .retrieval import score
from .trained import load_run

CURVE_KEYS = ("mAP", "rank1", "v2v_mAP", "i2i_mAP")
_KEPT = re.compile(KEPT_PATTERN.replace("{:06d}", r"(\d+)").replace(".", r"\."))


def kept_checkpoints(run_dir: str | Path) -> List[Tuple[int, Path]]:
    """(T_F step, file) of every checkpoint a run kept (``schedule.keep_every``), by step; the
    run's ``last.pt`` is added at its own step when no kept file has that step."""
    last = find_checkpoint(run_dir)
    kept = sorted((int(m.group(1)), p) for p in last.parent.iterdir() if (m := _KEPT.fullmatch(p.name)))
    final = load_run(last)
    if final.tf_step not in {s for s, _ in kept}:
        kept.append((final.tf_step, last))
    return kept


def learning_curve(run_dir: str | Path, device: str = "cpu") -> Dict:
    """The run's curve: ``{"run", "method", "seed", "tf_total", "points": [{"tf_step", "val":
    {...}, "test": {...}}]}``, each set's :data:`CURVE_KEYS` in percent."""
    points, first = [], None
    for step, path in kept_checkpoints(run_dir):
        run = load_run(path, device)
        if first is None:
            first = run
            sets = {"val": load_validation(run.cfg), "test": load_data(run.cfg)[1]}
        seed_everything(run.cfg.runtime.seed)
        points.append({"tf_step": step, **{name: {k: round(float(v), 2) for k, v in score(
            run.t_f, images, run.prepare, run.cfg, run.device).items() if k in CURVE_KEYS}
            for name, images in sets.items()}})
    s = first.cfg.schedule
    return {"run": str(Path(run_dir)), "method": first.cfg.method, "seed": first.cfg.runtime.seed,
            "val_ids": first.cfg.data.val_ids, "tf_total": s.tf_steps + s.joint_steps, "points": points}


def plateau_step(points: List[Dict], key: str = "mAP", tolerance: float = 1.0) -> int:
    """The first kept step from which validation ``key`` never again rises by more than
    ``tolerance`` (points of mAP) above its value there: where the curve has stopped rising."""
    vals = [p["val"][key] for p in points]
    for i, p in enumerate(points):
        if max(vals[i:]) - vals[i] <= tolerance:
            return p["tf_step"]
    return points[-1]["tf_step"]
