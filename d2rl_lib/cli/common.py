"""Options shared by the commands that build a configuration."""
from __future__ import annotations

import argparse

from ..config import PRESETS, Config, get_config


def add_config_args(p: argparse.ArgumentParser, default_preset: str = "synthetic-classroom") -> None:
    p.add_argument("--config", default=default_preset, metavar="PRESET",
                   help=f"named preset: {', '.join(PRESETS)} (default: {default_preset})")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config field, e.g. --set schedule.ti_steps=100 (repeatable)")
    p.add_argument("--device", default=None, help="auto, cpu, cuda, cuda:N or mps "
                   "(overrides runtime.device)")


def config_from_args(args: argparse.Namespace) -> Config:
    overrides = list(args.overrides)
    if getattr(args, "device", None):
        overrides.append(f"runtime.device={args.device}")
    return get_config(args.config, overrides)
