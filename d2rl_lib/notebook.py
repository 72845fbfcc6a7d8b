"""What every notebook's setup cell calls: the profile, seeds, figures.

A notebook runs in the profile named by the environment variable
``D2RL_PRESET`` (``synthetic-classroom`` unless set; ``make test`` sets
``synthetic-ci`` for nbval). Figures are saved as PNG into ``figures/`` at the
project root, so the README can show them.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from .config import Config, get_config
from .runtime import seed_everything

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIGURES = PROJECT_ROOT / "figures"
RESULTS = PROJECT_ROOT / "results"


def setup(overrides: Iterable[str] = (), seed: int | None = None) -> Config:
    """Resolve the profile's config (``D2RL_PRESET`` + ``overrides``) and seed everything."""
    preset = os.environ.get("D2RL_PRESET", "synthetic-classroom")
    cfg = get_config(preset, list(overrides))
    seed_everything(cfg.runtime.seed if seed is None else seed)
    try:
        import matplotlib.pyplot as plt

        plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 120, "savefig.bbox": "tight"})
    except ImportError:  # plotting is optional for library users
        pass
    return cfg


def save_figure(fig, name: str) -> Path:
    """Save ``fig`` as ``figures/<name>.png`` and return the path."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    path = FIGURES / f"{name}.png"
    fig.savefig(path)
    return path
