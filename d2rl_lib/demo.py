"""``make demo`` / ``d2rl demo``: the whole story on the embedded default.

Runs the notebooks in ``notebooks/`` in their numbered order with papermill,
in the profile named by ``D2RL_PRESET`` (``synthetic-classroom`` unless set),
writing executed copies beside them, ``figures/`` and ``results/``. Where no
notebook exists yet, it runs the end-to-end CLI steps instead.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import List, Sequence

from .errors import UserError

# CLI steps run when there are no notebooks: each is an argv for ``d2rl``.
CLI_STEPS: List[List[str]] = [
    ["config", "--config", "{preset}"],
]


def notebooks(folder: Path) -> List[Path]:
    """The numbered notebooks ``NN_topic.ipynb`` in reading order."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb") if p.is_file())


def run_notebooks(paths: Sequence[Path], preset: str, in_place: bool = True,
                  timeout: int = 1800) -> float:
    """Execute ``paths`` in order with papermill; return the seconds taken."""
    try:
        import papermill
    except ImportError:
        raise UserError("papermill is not installed; run `make demo` (it installs it into .venv)") from None
    os.environ["D2RL_PRESET"] = preset
    start = time.perf_counter()
    for i, nb in enumerate(paths, 1):
        t0 = time.perf_counter()
        print(f"[{i}/{len(paths)}] {nb.name} ...", flush=True)
        out = nb if in_place else nb.with_name(nb.stem + ".out.ipynb")
        papermill.execute_notebook(str(nb), str(out), cwd=str(nb.parent), progress_bar=True,
                                   execution_timeout=timeout, kernel_name="python3")
        print(f"[{i}/{len(paths)}] {nb.name} done in {time.perf_counter() - t0:.0f} s", flush=True)
    return time.perf_counter() - start


def run_cli_steps(preset: str) -> float:
    from .cli import main

    start = time.perf_counter()
    for i, step in enumerate(CLI_STEPS, 1):
        argv = [a.format(preset=preset) for a in step]
        print(f"[{i}/{len(CLI_STEPS)}] d2rl {' '.join(argv)}", flush=True)
        code = main(argv)
        if code:
            raise UserError(f"demo step `d2rl {' '.join(argv)}` failed with exit status {code}")
    return time.perf_counter() - start


def run(root: Path, preset: str) -> int:
    nbs = notebooks(root / "notebooks")
    if nbs:
        seconds = run_notebooks(nbs, preset)
        what = f"{len(nbs)} notebooks (executed in place)"
    else:
        seconds = run_cli_steps(preset)
        what = "the CLI steps (no notebooks yet)"
    print(f"\nDemo finished: {what} with preset {preset} in {seconds / 60:.1f} min.")
    print(f"Outputs: {root / 'figures'}, {root / 'results'}, {root / 'runs'}", flush=True)
    sys.stdout.flush()
    return 0
