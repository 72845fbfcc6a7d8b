"""Re-ID metrics: CMC, mAP and mINP, drop-in compatible with the community's
``eval_sysu`` / ``eval_regdb`` (the AGW family), vectorised.

``distmat`` is a distance (smaller is closer), ``[num_query, num_gallery]``.
Results are fractions; ``cmc`` has ``max_rank`` entries. Queries with no true
match left in the gallery are skipped.

- SYSU-MM01: a query from cam3 ignores EVERY cam2 gallery image (same room);
  CMC is identity-level (repeated identities in the ranking are collapsed,
  keeping the first); mAP and mINP use the raw ranking after the removal.
- RegDB: nothing is removed; CMC is per image.

mAP: AP = mean over the true matches of (k / rank of the k-th true match).
mINP (Ye et al.): INP = number of true matches / rank of the last true match.
No python loop runs per query: queries are processed in chunks of whole-array
operations, which also bounds the memory for large galleries.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

CHUNK = 512


def eval_cross(distmat: np.ndarray, q_pids: np.ndarray, g_pids: np.ndarray,
               remove: Optional[callable] = None, max_rank: int = 20,
               identity_level: bool = False) -> Tuple[np.ndarray, float, float]:
    """The shared core. ``remove(rows, order) -> bool [q, G]`` marks ranked gallery
    items to drop for the queries ``rows`` (gallery indices in ranked order)."""
    distmat = np.asarray(distmat)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    nq, ng = distmat.shape
    if len(q_pids) != nq or len(g_pids) != ng:
        raise ValueError(f"distmat is {nq}x{ng} but there are {len(q_pids)} query and "
                         f"{len(g_pids)} gallery ids")
    cmc_sum = np.zeros(max_rank)
    ap_sum = inp_sum = 0.0
    valid = 0
    for start in range(0, nq, CHUNK):
        rows = np.arange(start, min(nq, start + CHUNK))
        order = np.argsort(distmat[rows], axis=1, kind="stable")          # [q, G]
        ranked = g_pids[order]                                             # [q, G]
        keep = ~remove(rows, order) if remove is not None else np.ones(order.shape, bool)
        match = (ranked == q_pids[rows, None]) & keep
        n_rel = match.sum(1)
        ok = n_rel > 0
        if not ok.any():
            continue
        match, keep, ranked, n_rel = match[ok], keep[ok], ranked[ok], n_rel[ok]
        pos = np.cumsum(keep, axis=1)                                      # rank among kept
        hits = np.cumsum(match, axis=1)
        ap_sum += float((np.where(match, hits / np.maximum(pos, 1), 0).sum(1) / n_rel).sum())
        last = np.where(match, pos, 0).max(1)
        inp_sum += float((n_rel / last).sum())
        first = match.argmax(1)                                            # first true match
        if identity_level:
            first_of_id = _first_occurrence(ranked, keep)
            rank = np.cumsum(first_of_id, axis=1)[np.arange(len(first)), first]
        else:
            rank = pos[np.arange(len(first)), first]
        cmc_sum += (rank[:, None] <= np.arange(1, max_rank + 1)[None, :]).sum(0)
        valid += int(ok.sum())
    if valid == 0:
        raise ValueError("no query has a true match in the gallery: check the query/gallery "
                         "split (ids, cameras)")
    return cmc_sum / valid, ap_sum / valid, inp_sum / valid


def _first_occurrence(ranked: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """bool [q, G]: the kept item is its identity's first kept appearance in the row."""
    q, g = ranked.shape
    span = int(ranked.max()) + 1 if ranked.size else 1
    keys = np.where(keep, np.arange(q)[:, None] * span + ranked, -1).ravel()
    _, idx = np.unique(keys, return_index=True)
    out = np.zeros(q * g, bool)
    out[idx] = True
    out &= keys >= 0
    return out.reshape(q, g)


def eval_sysu(distmat, q_pids, g_pids, q_camids, g_camids, max_rank: int = 20):
    """SYSU-MM01 protocol: cam3 queries skip every cam2 gallery image; identity-level CMC."""
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)

    def remove(rows, order):
        return (q_camids[rows, None] == 3) & (g_camids[order] == 2)

    return eval_cross(distmat, q_pids, g_pids, remove, max_rank, identity_level=True)


def eval_regdb(distmat, q_pids, g_pids, max_rank: int = 20):
    """RegDB protocol: the whole gallery, per-image CMC."""
    return eval_cross(distmat, q_pids, g_pids, None, max_rank, identity_level=False)


def eval_same_camera_excluded(distmat, q_pids, g_pids, q_camids, g_camids, max_rank: int = 20):
    """Single-modality retrieval (V->V, IR->IR): gallery images from the query's own
    camera are skipped; per-image CMC (the Market-1501 convention)."""
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)

    def remove(rows, order):
        return q_camids[rows, None] == g_camids[order]

    return eval_cross(distmat, q_pids, g_pids, remove, max_rank, identity_level=False)
