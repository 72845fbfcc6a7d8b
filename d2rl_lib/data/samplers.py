"""The identity-balanced cross-modality sampler: P identities x (K visible + K infrared).

Batch ``step`` is a pure function of ``(seed, step)``, so a resumed run draws the
same batches as an uninterrupted one, and every rank of a distributed run can
take its own share of the same batch.
"""
from __future__ import annotations

import numpy as np

from ..errors import UserError
from .records import INFRARED, VISIBLE


class CrossModalityPKSampler:
    """Draws batches of ``P`` identities with ``K`` visible and ``K`` infrared images each.

    Identities without images in both modalities are left out. Images are drawn
    without replacement within an identity when it has enough, else with.
    """

    def __init__(self, labels: np.ndarray, modality: np.ndarray, P: int, K: int, seed: int = 0):
        labels, modality = np.asarray(labels), np.asarray(modality)
        self.P, self.K, self.seed = P, K, seed
        self.pools = {}
        for lab in np.unique(labels):
            vis = np.flatnonzero((labels == lab) & (modality == VISIBLE))
            ir = np.flatnonzero((labels == lab) & (modality == INFRARED))
            if len(vis) and len(ir):
                self.pools[int(lab)] = (vis, ir)
        self.ids = np.array(sorted(self.pools))
        if len(self.ids) < P:
            raise UserError(f"the sampler needs P={P} identities with images in both modalities; "
                            f"the training set has {len(self.ids)} (lower schedule.batch_ids)")

    def batch(self, step: int) -> np.ndarray:
        """Indices [P * 2K]: for each identity K visible, then K infrared."""
        rng = np.random.default_rng([self.seed, step])
        out = []
        for lab in rng.choice(self.ids, self.P, replace=False):
            for pool in self.pools[int(lab)]:
                out.append(rng.choice(pool, self.K, replace=len(pool) < self.K))
        return np.concatenate(out)
