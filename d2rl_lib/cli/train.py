"""``d2rl train ...``: train a stage (T_I, T_F) or a whole method."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("train", help="train T_I, T_F, a baseline or the joint D2RL model")
    p.set_defaults(func=lambda args: p.error("no training stage is available yet"))
