"""Data: the embedded synthetic world, readers for SYSU-MM01 and RegDB, samplers.

Every source returns :class:`~d2rl_lib.data.records.ImageSet` objects, so the
protocols, samplers and trainers never care where the pixels came from.
"""
from .records import INFRARED, VISIBLE, ImageSet

__all__ = ["ImageSet", "VISIBLE", "INFRARED"]
