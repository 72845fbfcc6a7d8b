"""``make demo`` / ``d2rl demo``: the whole story on the embedded default.

Runs the notebooks in ``notebooks/`` in their numbered order with papermill,
in the profile named by ``D2RL_PRESET`` (``synthetic-classroom`` unless set),
writing executed copies beside them, ``figures/`` and ``results/``.
papermill and nbformat are imported only here, when the notebooks run.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence

import torch

from ..errors import UserError


def notebooks(folder: Path) -> List[Path]:
    """The numbered notebooks ``NN_topic.ipynb`` in reading order."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb") if p.is_file())


def clean_notebook(path: str | Path) -> Path:
    """Drop run-specific metadata that papermill writes (timings, papermill block,
    widget state), keeping outputs and execution counts. Returns the path."""
    import nbformat

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in ("kernelspec", "language_info")}
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k in ("tags",)}
        if cell.metadata.get("tags") == []:
            del cell.metadata["tags"]
    nbformat.write(nb, path)
    return path


def run_notebooks(paths: Sequence[Path], preset: str, in_place: bool = True,
                  timeout: int = 1800) -> Dict[str, float]:
    """Execute ``paths`` in order with papermill (outputs and execution counts kept,
    run-specific metadata dropped); return the seconds taken per notebook.

    Each notebook runs into a hidden file beside it (``.NN_topic.running.ipynb``), which
    replaces the notebook in one rename only when it ran to the end: an interrupted or
    failing run leaves the notebook as it was (a failing one keeps its partial run in
    ``.NN_topic.failed.ipynb`` to read the error)."""
    try:
        import papermill
    except ImportError:
        raise UserError("papermill is not installed; run `make demo` (it installs it into .venv)") from None

    os.environ["D2RL_PRESET"] = preset
    seconds: Dict[str, float] = {}
    for i, nb in enumerate(paths, 1):
        t0 = time.perf_counter()
        print(f"[{i}/{len(paths)}] {nb.name} ...", flush=True)
        out = nb if in_place else nb.with_name(nb.stem + ".out.ipynb")
        running, failed = nb.with_name(f".{nb.stem}.running.ipynb"), nb.with_name(f".{nb.stem}.failed.ipynb")
        try:
            papermill.execute_notebook(str(nb), str(running), cwd=str(nb.parent), progress_bar=True,
                                       execution_timeout=timeout, kernel_name="python3")
        except BaseException:
            if running.exists():
                os.replace(running, failed)
            print(f"[{i}/{len(paths)}] {nb.name} did not finish; the notebook is unchanged"
                  + (f" (its partial run: {failed})" if failed.exists() else ""), flush=True)
            raise
        clean_notebook(running)
        os.replace(running, out)
        seconds[nb.name] = round(time.perf_counter() - t0, 1)
        print(f"[{i}/{len(paths)}] {nb.name} done in {seconds[nb.name]:.0f} s", flush=True)
    return seconds


def run(root: Path, preset: str) -> int:
    nbs = notebooks(root / "notebooks")
    if not nbs:
        raise UserError(f"no numbered notebooks (NN_topic.ipynb) in {root / 'notebooks'}")
    per_notebook = run_notebooks(nbs, preset)
    seconds = sum(per_notebook.values())
    (root / "results").mkdir(exist_ok=True)
    summary = {"command": f"d2rl demo --config {preset}", "preset": preset,
               "total_seconds": round(seconds, 1), "notebooks": per_notebook,
               "threads": torch.get_num_threads(), "cpus": os.cpu_count()}
    (root / "results" / f"demo-{preset}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nDemo finished: {len(nbs)} notebooks (executed in place) with preset {preset} "
          f"in {seconds / 60:.1f} min.")
    print(f"Outputs: {root / 'figures'}, {root / 'results'}, {root / 'runs'}", flush=True)
    sys.stdout.flush()
    return 0
