"""The ``d2rl`` command line (also ``python -m d2rl_lib``).

Thin on purpose: each group lives in its own module (``data``, ``train``,
``evaluate``, ``curve``, ``gap``, ``config``, ``demo``) and calls the library. A
:class:`~d2rl_lib.errors.UserError` is printed as one line ``d2rl: error: ...``
with exit status 2, never as a traceback.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from .. import __version__
from ..errors import DivergenceError, UserError
from . import config_cmd, curve, data, demo, evaluate, gap, train

GROUPS = (config_cmd, data, train, evaluate, curve, gap, demo)


class _Parser(argparse.ArgumentParser):
    """argparse, but usage mistakes end in one line and exit status 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="d2rl", description="D2RL (Wang et al., CVPR 2019), an educational "
                     "reproduction: data, training and evaluation.")
    parser.add_argument("--version", action="version", version=f"d2rl {__version__}")
    sub = parser.add_subparsers(dest="group", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as e:
        print(f"d2rl: error: {e}", file=sys.stderr)
        return 2
    except DivergenceError as e:
        print(f"d2rl: training stopped: {e}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("d2rl: interrupted; run again with --resume to continue from the last checkpoint",
              file=sys.stderr)
        return 130
