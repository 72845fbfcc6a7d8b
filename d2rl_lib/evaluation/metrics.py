"""Re-ID metrics: CMC, mAP and mINP, as the community's ``eval_sysu`` / ``eval_regdb``
(the AGW family) compute them (notebooks 01 and 05).

``distmat`` is a distance (smaller is closer), ``[num_query, num_gallery]``. Results are
fractions; ``cmc`` has ``max_rank`` entries. Queries with no true match left in the
gallery are skipped.

- SYSU-MM01: a query from cam3 ignores EVERY cam2 gallery image (same room); CMC is
  identity-level (repeated identities in the ranking are collapsed, keeping the first);
  mAP and mINP use the raw ranking after the removal.
- RegDB: nothing is removed; CMC is per image.

One query at a time (:func:`score_query`): rank the gallery by distance (a stable sort, so
ties keep gallery order), drop the removed items, and read the true matches' positions:

- CMC: 1 from the rank of the first true match on (identities collapsed for SYSU);
- AP = mean over the true matches of (k / rank of the k-th true match);
- INP (Ye et al.) = number of true matches / rank of the last true match.

The library computes the same numbers with a vectorised path, :mod:`d2rl_lib.evaluation.metrics_fast`,
for every real input: float32 distances (and anything float32 holds exactly) and float64
ones (and integers float64 holds), ties, signed zeros and NaN as this loop ranks them (NaN
after every number, NaNs in gallery order: ``np.argsort``'s documented order). Its speed
against this loop, per dtype and at the classroom profile's and SYSU-MM01's sizes, is
measured by ``benchmarks/eval_speed.py`` into ``results/experiments/eval_speed.json``; it is
tested equal to this loop (``tests/test_metrics.py``). ``fast=False`` runs the loop, as do
inputs it cannot read exactly (complex, object, integers beyond 2**53).
"""
from __future__ import annotations

from typing import Callable, Optional, Tuple

import numpy as np

from . import metrics_fast


def score_query(dist: np.ndarray, q_pid: int, g_pids: np.ndarray, keep: np.ndarray,
                identity_level: bool, max_rank: int) -> Optional[Tuple[np.ndarray, float, float]]:
    """(CMC [max_rank] of 0/1, AP, INP) of one query, or None when no true match is kept.
    dist [G]: its distances to the gallery; keep [G] bool: the gallery items it may see."""
    order = np.argsort(dist, kind="stable")                  # closest first, ties in gallery order
    ranked = g_pids[order][keep[order]]                      # the identities it sees, ranked
    match = ranked == q_pid
    if not match.any():
        return None
    hits = np.flatnonzero(match) + 1                         # ranks of the true matches (1-based)
    if identity_level:                                       # each identity once, at its first place
        _, first = np.unique(ranked, return_index=True)
        ranked = ranked[np.sort(first)]
    first_hit = np.flatnonzero(ranked == q_pid)[0]           # 0-based
    cmc = (np.arange(max_rank) >= first_hit).astype(float)
    ap = float(np.sum(np.arange(1, len(hits) + 1) / hits) / len(hits))
    inp = len(hits) / float(hits[-1])
    return cmc, ap, inp


def eval_cross(distmat: np.ndarray, q_pids: np.ndarray, g_pids: np.ndarray,
               remove: Optional[Callable[[np.ndarray], np.ndarray]] = None, max_rank: int = 20,
               identity_level: bool = False, fast: Optional[bool] = None
               ) -> Tuple[np.ndarray, float, float]:
    """(CMC, mAP, mINP) over the queries. ``remove(rows) -> bool [q, G]`` marks the gallery
    items to drop for the queries ``rows``. ``fast``: None or True takes the vectorised path
    (:func:`metrics_fast.fast_values`: float32 or float64 distances, NaN included) unless
    the input is not real numbers or the identities are so uneven that padding the gallery
    by identity would more than quadruple it; False always loops."""
    distmat = np.asarray(distmat)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    nq, ng = distmat.shape
    if len(q_pids) != nq or len(g_pids) != ng:
        raise ValueError(f"distmat is {nq}x{ng} but there are {len(q_pids)} query and "
                         f"{len(g_pids)} gallery ids")
    values = metrics_fast.fast_values(distmat) if fast is not False else None   # float32/64
    grouped = metrics_fast.groups(g_pids) if values is not None else None
    if grouped is not None and grouped[0].size <= 4 * ng + 64:      # the padding stays small
        cmc_sum, ap_sum, inp_sum, valid = metrics_fast.eval_sums(values, q_pids, grouped, remove,
                                                                 max_rank, identity_level)
    else:                                                     # the readable loop, query by query
        scored = []
        for i in range(nq):
            keep = ~remove(np.array([i]))[0] if remove is not None else np.ones(ng, bool)
            one = score_query(distmat[i], q_pids[i], g_pids, keep, identity_level, max_rank)
            if one is not None:
                scored.append(one)
        cmcs, aps, inps = (np.array(col) for col in zip(*scored)) if scored else ([], [], [])
        cmc_sum, ap_sum, inp_sum, valid = np.sum(cmcs, 0), float(np.sum(aps)), float(np.sum(inps)), len(scored)
    if valid == 0:
        raise ValueError("no query has a true match in the gallery: check the query/gallery "
                         "split (ids, cameras)")
    return cmc_sum / valid, ap_sum / valid, inp_sum / valid


def eval_sysu(distmat, q_pids, g_pids, q_camids, g_camids, max_rank: int = 20, fast=None):
    """SYSU-MM01 protocol: cam3 queries skip every cam2 gallery image; identity-level CMC."""
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)

    def remove(rows):
        return (q_camids[rows, None] == 3) & (g_camids[None, :] == 2)

    return eval_cross(distmat, q_pids, g_pids, remove, max_rank, identity_level=True, fast=fast)


def eval_regdb(distmat, q_pids, g_pids, max_rank: int = 20, fast=None):
    """RegDB protocol: the whole gallery, per-image CMC."""
    return eval_cross(distmat, q_pids, g_pids, None, max_rank, identity_level=False, fast=fast)


def eval_same_camera_excluded(distmat, q_pids, g_pids, q_camids, g_camids, max_rank: int = 20,
                              fast=None):
    """Single-modality retrieval (V->V, IR->IR): gallery images from the query's own
    camera are skipped; per-image CMC (the Market-1501 convention)."""
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)

    def remove(rows):
        return q_camids[rows, None] == g_camids[None, :]

    return eval_cross(distmat, q_pids, g_pids, remove, max_rank, identity_level=False, fast=fast)
