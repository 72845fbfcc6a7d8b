"""One entry point to the configured dataset: the embedded synthetic world, or the image
files of SYSU-MM01 / RegDB read lazily (``data.dataset``, ``data.root``)."""
from __future__ import annotations

from typing import Tuple

from ..config import Config
from .files import load_dataset_files
from .records import ImageSet
from .synthetic import load_synthetic


def load_data(cfg: Config) -> Tuple[ImageSet, ImageSet]:
    """(train, test) ImageSets of the configured dataset."""
    if cfg.data.dataset == "synthetic":
        data = load_synthetic(cfg.data)
        return data.train, data.test
    return load_dataset_files(cfg.data)                              # files, read lazily
