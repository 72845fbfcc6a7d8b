"""One entry point to the configured dataset: the embedded synthetic world, or the image
files of SYSU-MM01 / RegDB read lazily (``data.dataset``, ``data.root``)."""
from __future__ import annotations

import dataclasses
from typing import Tuple

import torch

from ..config import Config
from ..methods import METHODS
from .files import load_dataset_files
from .records import VISIBLE, ImageSet
from ..errors import UserError
from .synthetic import load_synthetic
from .synthetic.world import load_synthetic_validation


def load_data(cfg: Config) -> Tuple[ImageSet, ImageSet]:
    """(train, test) ImageSets of the configured dataset; for an oracle method
    (``d2rl-oracle``) with its 4-channel images (:func:`with_knowable_twins`)."""
    if cfg.data.dataset != "synthetic":
        return load_dataset_files(cfg.data)                          # files, read lazily
    data = load_synthetic(cfg.data)
    if not METHODS[cfg.method].oracle:
        return data.train, data.test
    knowable = load_synthetic(dataclasses.replace(cfg.data, ir_hidden_sd=0.0))
    return with_knowable_twins(data.train, knowable.train), with_knowable_twins(data.test, knowable.test)


def load_validation(cfg: Config) -> ImageSet:
    """The validation identities (``data.val_ids``), for every choice a run makes (its budget,
    weights, checkpoint; ``d2rl curve``), in the form the method reads (with the knowable twins
    for an oracle method). The synthetic world renders people after the test ones."""
    if cfg.data.dataset != "synthetic":
        raise UserError(f"validation identities are rendered by the synthetic world only; on "
                        f"data.dataset={cfg.data.dataset!r} hold some training identities out by hand "
                        f"(a copy of the dataset's train list without them) and score on those")
    val = load_synthetic_validation(cfg.data)
    if not METHODS[cfg.method].oracle:
        return val
    knowable = load_synthetic_validation(dataclasses.replace(cfg.data, ir_hidden_sd=0.0))
    return with_knowable_twins(val, knowable)


def with_knowable_twins(data: ImageSet, knowable: ImageSet) -> ImageSet:
    """``data`` with 4-channel images [N, 4, H, W]: a visible x becomes [x, its knowable
    near-infrared twin] (``knowable``: the same world rendered with ``data.ir_hidden_sd=0``,
    the twin a translator that sees only x could at best make), an infrared y [y, y, y, y]."""
    vis = torch.from_numpy(data.modality == VISIBLE)
    if not torch.equal(knowable.images[vis], data.images[vis]):
        raise ValueError("the knowable world's visible images differ from the data's: not the same world")
    fourth = torch.where(vis[:, None, None, None], knowable.paired[:, :1], data.images[:, :1])
    return dataclasses.replace(data, images=torch.cat([data.images, fourth], 1))
