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


class RankShare:
    """The distributed sampler: process ``rank`` of ``world``'s share of each PK batch.

    Every process draws the same global batch ``sampler.batch(step)`` (a pure function of
    ``(seed, step)``) and keeps the identities ``rank, rank + world, ...`` of it, each with its
    K visible and K infrared images: per process P / world identities x (K + K) images, so
    the batch-hard triplet loss still finds a positive of the other modality for every image,
    the shares are disjoint, and together they are exactly the single-process batch. A
    resumed run, or one with another number of processes, sees the same images per step.
    """

    def __init__(self, sampler: CrossModalityPKSampler, rank: int, world: int):
        if world < 1 or not 0 <= rank < world:
            raise UserError(f"rank {rank} of {world} processes: need 0 <= rank < world")
        if sampler.P % world:
            divisors = [n for n in range(1, sampler.P + 1) if sampler.P % n == 0]
            raise UserError(f"schedule.batch_ids={sampler.P} identities per batch cannot be split "
                            f"over {world} processes; use a multiple of {world} for "
                            f"schedule.batch_ids, or launch {', '.join(map(str, divisors))} processes")
        self.sampler, self.rank, self.world = sampler, rank, world

    def batch(self, step: int) -> np.ndarray:
        """Indices [P / world * 2K]: this rank's identities of ``sampler.batch(step)``."""
        full = self.sampler.batch(step).reshape(self.sampler.P, 2 * self.sampler.K)  # [P, 2K]
        return full[self.rank::self.world].reshape(-1)
