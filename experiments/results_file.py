"""Where the research scripts of ``experiments/`` write, and ``merge_run``.

``results/`` holds what the story cites (README, notebooks, ``make demo``: the ablation,
the translation table, the chance level, the gap, the benchmark table, timings);
:data:`EXPERIMENTS`, ``results/experiments/``, holds the one-off sweeps and probes of
these scripts. ``merge_run`` keeps one results file with one row per command, for the
diagnostics that are run again with other settings (``ti_fidelity_curve.py``,
``ti_supervised_bound.py``, ``spectral_probe.py``)."""
from __future__ import annotations

import json
from pathlib import Path

EXPERIMENTS = Path(__file__).resolve().parents[1] / "results" / "experiments"


def merge_run(path: Path, what: str, row: dict) -> None:
    """Add ``row`` to the ``runs`` of the results file ``path`` (created with ``what`` if
    missing), replacing an earlier row of the same ``command``: re-running a diagnostic
    updates its row, a different command adds one (``experiments/ti_*.py``)."""
    data = json.loads(path.read_text()) if path.is_file() else {"what": what, "runs": []}
    data["runs"] = [r for r in data["runs"] if r.get("command") != row["command"]] + [row]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
