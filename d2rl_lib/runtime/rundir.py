"""The layout of one run's outputs (:class:`RunDir`) and the progress-bar factory the trainers
take (:data:`Progress`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from ..errors import UserError

# A tqdm-like factory: ``progress(iterable, desc=..., total=..., ...)`` returns an iterable
# with ``set_postfix``; the trainers take one (tqdm by default; course/notebook.py passes its own).
Progress = Callable[..., Any]


@dataclass
class RunDir:
    """The layout of one run's outputs::

        <root>/config.json        resolved configuration
        <root>/metrics.json       final numbers (written by the trainers)
        <root>/log.txt            progress lines
        <root>/checkpoints/       last.pt (and stage checkpoints)
        <root>/samples/           image grids saved during training
    """

    root: Path

    @classmethod
    def create(cls, out: str | Path | None, parent: str | Path = "runs", name: str = "run") -> "RunDir":
        root = Path(out) if out else Path(parent) / f"{datetime.now():%Y%m%d-%H%M%S}-{name}"
        if root.exists() and not root.is_dir():
            raise UserError(f"output path {root} exists and is not a folder")
        for sub in ("checkpoints", "samples"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        return cls(root)

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def log(self) -> Path:
        return self.root / "log.txt"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    def write_log(self, line: str) -> None:
        with open(self.log, "a") as f:
            f.write(line.rstrip("\n") + "\n")
