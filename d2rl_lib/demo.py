"""``make demo`` / ``d2rl demo``: the whole story on the embedded default.

Runs the notebooks in ``notebooks/`` in their numbered order with papermill,
in the profile named by ``D2RL_PRESET`` (``synthetic-classroom`` unless set),
writing executed copies beside them, ``figures/`` and ``results/``. Where no
notebook exists yet, it runs the end-to-end CLI steps instead.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence

from .errors import UserError

# CLI steps run when there are no notebooks: each is an argv for ``d2rl``.
CLI_STEPS: List[List[str]] = [
    ["data", "summary", "--config", "{preset}"],
    ["data", "show", "--config", "{preset}", "--out", "figures/world_grid.png"],
    ["train", "--config", "{preset}", "--set", "method=baseline", "--out", "runs/demo-{preset}/baseline"],
    ["train", "--config", "{preset}", "--set", "method=d2rl", "--out", "runs/demo-{preset}/d2rl"],
]
METRIC_KEYS = ("rank1", "rank10", "rank20", "mAP", "mINP", "v2v_mAP", "i2i_mAP", "train_seconds")


def notebooks(folder: Path) -> List[Path]:
    """The numbered notebooks ``NN_topic.ipynb`` in reading order."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb") if p.is_file())


def run_notebooks(paths: Sequence[Path], preset: str, in_place: bool = True,
                  timeout: int = 1800) -> Dict[str, float]:
    """Execute ``paths`` in order with papermill (outputs and execution counts kept,
    run-specific metadata dropped); return the seconds taken per notebook."""
    try:
        import papermill
    except ImportError:
        raise UserError("papermill is not installed; run `make demo` (it installs it into .venv)") from None
    from .notebook import clean_notebook

    os.environ["D2RL_PRESET"] = preset
    seconds: Dict[str, float] = {}
    for i, nb in enumerate(paths, 1):
        t0 = time.perf_counter()
        print(f"[{i}/{len(paths)}] {nb.name} ...", flush=True)
        out = nb if in_place else nb.with_name(nb.stem + ".out.ipynb")
        papermill.execute_notebook(str(nb), str(out), cwd=str(nb.parent), progress_bar=True,
                                   execution_timeout=timeout, kernel_name="python3")
        clean_notebook(out)
        seconds[nb.name] = round(time.perf_counter() - t0, 1)
        print(f"[{i}/{len(paths)}] {nb.name} done in {seconds[nb.name]:.0f} s", flush=True)
    return seconds


def run_cli_steps(root: Path, preset: str) -> float:
    """Run the CLI steps from ``root`` and gather their numbers into results/demo-<preset>.json."""
    from .cli import main

    os.chdir(root)
    start = time.perf_counter()
    for i, step in enumerate(CLI_STEPS, 1):
        argv = [a.format(preset=preset) for a in step]
        print(f"[{i}/{len(CLI_STEPS)}] d2rl {' '.join(argv)}", flush=True)
        code = main(argv)
        if code:
            raise UserError(f"demo step `d2rl {' '.join(argv)}` failed with exit status {code}")
    seconds = time.perf_counter() - start
    runs = root / "runs" / f"demo-{preset}"
    summary = {"command": f"d2rl demo --config {preset}", "preset": preset,
               "total_seconds": round(seconds, 1), "methods": {}}
    for m in sorted(runs.glob("*/metrics.json")):
        data = json.loads(m.read_text())
        summary["methods"][m.parent.name] = {k: data[k] for k in METRIC_KEYS if k in data}
        summary["protocol"] = data.get("protocol")
        if "translation" in data:
            summary.setdefault("translation", {})[m.parent.name] = data["translation"]
    (root / "results").mkdir(exist_ok=True)
    (root / "results" / f"demo-{preset}.json").write_text(json.dumps(summary, indent=2) + "\n")
    return seconds


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def run(root: Path, preset: str) -> int:
    nbs = notebooks(root / "notebooks")
    if nbs:
        per_notebook = run_notebooks(nbs, preset)
        seconds = sum(per_notebook.values())
        what = f"{len(nbs)} notebooks (executed in place)"
        (root / "results").mkdir(exist_ok=True)
        summary = {"command": f"d2rl demo --config {preset}", "preset": preset,
                   "total_seconds": round(seconds, 1), "notebooks": per_notebook,
                   "threads": torch_threads(), "cpus": os.cpu_count()}
        (root / "results" / f"demo-{preset}.json").write_text(json.dumps(summary, indent=2) + "\n")
    else:
        seconds = run_cli_steps(root, preset)
        what = "the CLI steps (no notebooks yet)"
    print(f"\nDemo finished: {what} with preset {preset} in {seconds / 60:.1f} min.")
    print(f"Outputs: {root / 'figures'}, {root / 'results'}, {root / 'runs'}", flush=True)
    sys.stdout.flush()
    return 0
