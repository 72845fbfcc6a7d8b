"""``d2rl evaluate ...``: re-score a saved model on a dataset's test protocol."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="score a checkpoint on the test protocol")
    p.set_defaults(func=lambda args: p.error("evaluation is not available yet"))
