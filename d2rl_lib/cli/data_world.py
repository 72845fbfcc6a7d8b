"""``d2rl data export`` and ``d2rl data show``: the synthetic world on disk and on screen."""
from __future__ import annotations


def register(g) -> None:
    """Add the synthetic-world subcommands to the ``data`` group ``g``."""
