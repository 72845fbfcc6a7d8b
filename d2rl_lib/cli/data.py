"""``d2rl data ...``: look at, check and export datasets."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("data", help="summarise, check, split, export and show datasets")
    g = p.add_subparsers(dest="data_cmd", metavar="SUBCOMMAND")
    g.required = True
