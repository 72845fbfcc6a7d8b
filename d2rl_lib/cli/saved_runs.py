"""Options shared by the commands that read trained runs (``evaluate``, ``gap``)."""
from __future__ import annotations

import argparse
import shlex
from typing import Sequence

from ..config import Config
from ..runtime import set_threads


def add_runtime_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="torch CPU threads (default: the run's runtime.threads; 0: torch's default)")


def apply_runtime_args(args: argparse.Namespace, cfg: Config) -> None:
    """Set torch's thread count from --threads, or from the run's configuration."""
    set_threads(cfg.runtime.threads if args.threads is None else args.threads)


def command_line(args: argparse.Namespace, options: Sequence[str], command: str = "") -> str:
    """The ``d2rl`` command that reproduces ``args`` (the options given, in order)."""
    words = ["d2rl", command or args.group]
    for name in options:
        value = getattr(args, name, None)
        if value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        for v in value if isinstance(value, list) else [value]:
            words += [flag] if v is True else [flag, str(v)]
    return " ".join(shlex.quote(w) for w in words)
