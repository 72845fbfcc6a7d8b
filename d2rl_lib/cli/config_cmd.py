"""``d2rl config``: print a preset, with overrides applied, field by field."""
from __future__ import annotations

import json

from ..config import describe
from .common import add_config_args, config_from_args


def register(sub) -> None:
    p = sub.add_parser("config", help="show a preset's resolved configuration")
    add_config_args(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of key = value lines")
    p.set_defaults(func=run)


def run(args) -> int:
    cfg = config_from_args(args)
    print(json.dumps(cfg.to_dict(), indent=2) if args.json else describe(cfg))
    return 0
