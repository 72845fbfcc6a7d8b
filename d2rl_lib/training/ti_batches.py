"""T_I's training batches (paper Sec. 3.1: unpaired visible and infrared images; notebooks 02, 03).

x: visible [B, 3, H, W], y: infrared [B, 1, H, W], floats in [-1, 1].
"""
from __future__ import annotations

import numpy as np
import torch

from ..config import Config
from ..data.files import pixels
from ..data.records import INFRARED, VISIBLE, ImageSet, to_signed
from ..data.samplers import CrossModalityPKSampler
from ..errors import UserError


class UnpairedBatches:
    """Visible and infrared training images drawn independently (never the pairs);
    batch ``step`` is a pure function of (seed, step), so resuming is exact.

    ``ids`` > 0 (``schedule.ti_batch_ids``): each batch holds ``ids`` identities, each with
    ``batch // ids`` visible and as many infrared images, drawn by the re-ID sampler
    (:class:`~d2rl_lib.data.samplers.CrossModalityPKSampler`): the same people, never the
    same instant. :meth:`labelled` also returns their identities (``ti.w_match``)."""

    def __init__(self, train: ImageSet, batch: int, seed: int, ids: int = 0):
        self.train, self.batch_size, self.seed = train, batch, seed
        self.vis = np.flatnonzero(train.modality == VISIBLE)
        self.ir = np.flatnonzero(train.modality == INFRARED)
        self.pixels = pixels(train)                                   # tensor, or files read lazily
        self.sampler = None
        if ids:
            if batch % ids or train.labels is None:
                raise UserError(f"schedule.ti_batch={batch} must be a multiple of schedule.ti_batch_ids="
                                f"{ids}, on a labelled training set (or set ti_batch_ids=0)")
            self.sampler = CrossModalityPKSampler(train.labels, train.modality, ids, batch // ids, seed)

    @classmethod
    def from_config(cls, train: ImageSet, cfg: Config) -> "UnpairedBatches":
        s = cfg.schedule
        return cls(train, s.ti_batch, cfg.runtime.seed, s.ti_batch_ids)

    def labelled(self, step: int):
        """(x [B, 3, H, W], y [B, 1, H, W], identities of x [B] or None, of y [B] or None)."""
        rng = np.random.default_rng([self.seed, step, 17])
        if self.sampler is None:
            iv = rng.choice(self.vis, self.batch_size, replace=len(self.vis) < self.batch_size)
            ii = rng.choice(self.ir, self.batch_size, replace=len(self.ir) < self.batch_size)
        else:                                     # [P, K visible + K infrared] indices
            both = self.sampler.batch(step).reshape(self.sampler.P, 2 * self.sampler.K)
            iv, ii = both[:, : self.sampler.K].ravel(), both[:, self.sampler.K:].ravel()
        x = to_signed(self.pixels[iv])                               # [B, 3, H, W]
        y = to_signed(self.pixels[ii][:, :1])                        # [B, 1, H, W]
        flip = torch.from_numpy(rng.random(2 * self.batch_size) < 0.5)
        x[flip[: self.batch_size]] = x[flip[: self.batch_size]].flip(3)
        y[flip[self.batch_size:]] = y[flip[self.batch_size:]].flip(3)
        if self.sampler is None:
            return x, y, None, None
        labels = torch.as_tensor(self.train.labels)
        return x, y, labels[iv], labels[ii]

    def batch(self, step: int):
        """(x, y) of :meth:`labelled`."""
        return self.labelled(step)[:2]
