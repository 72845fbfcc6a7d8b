"""``d2rl demo``: run the whole story (what ``make demo`` calls)."""
from __future__ import annotations

import os
from pathlib import Path

from ..config import PRESETS


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the notebooks in order on the embedded default")
    p.add_argument("--config", default=os.environ.get("D2RL_PRESET", "synthetic-classroom"),
                   choices=list(PRESETS), metavar="PRESET", help="profile to run in")
    p.add_argument("--root", default=".", help="project folder holding notebooks/ (default: .)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..course import demo

    return demo.run(Path(args.root).resolve(), args.config)
