"""``d2rl data summary`` and ``d2rl data split``: dataset statistics and protocol splits."""
from __future__ import annotations


def register(g) -> None:
    """Add the protocol subcommands to the ``data`` group ``g``."""
