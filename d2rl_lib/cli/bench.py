"""``d2rl bench``: speed, efficiency and memory benchmarks written to results/."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("bench", help="measure speed and memory, write results/bench.json")
    p.set_defaults(func=lambda args: p.error("no benchmark is available yet"))
