"""``d2rl data ...``: look at, check, split, export and show datasets.

The subcommands live in two modules: ``data_protocol`` (summary, split: the
real datasets' readers and protocols) and ``data_world`` (export, show: the
synthetic world).
"""
from __future__ import annotations

from . import data_protocol, data_world


def register(sub) -> None:
    p = sub.add_parser("data", help="summarise, check, split, export and show datasets")
    g = p.add_subparsers(dest="data_cmd", metavar="SUBCOMMAND")
    g.required = True
    data_protocol.register(g)
    data_world.register(g)
