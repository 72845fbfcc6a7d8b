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
No python loop runs per query, and no ranking is sorted: queries are processed in
chunks of whole-array operations, which also bounds the memory for large galleries.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

CHUNK = 512


def eval_cross(distmat: np.ndarray, q_pids: np.ndarray, g_pids: np.ndarray,
               remove: Optional[callable] = None, max_rank: int = 20,
               identity_level: bool = False) -> Tuple[np.ndarray, float, float]:
    """The shared core. ``remove(rows) -> bool [q, G]`` marks, in gallery order, the
    items to drop for the queries ``rows``.

    No ranking is sorted: a true match's rank is one plus the number of kept items
    closer to the query (ties broken by gallery order, as a stable sort would), so
    the cost is a few passes over the ``[q, G]`` distance block.
    """
    distmat = np.asarray(distmat)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    nq, ng = distmat.shape
    if len(q_pids) != nq or len(g_pids) != ng:
        raise ValueError(f"distmat is {nq}x{ng} but there are {len(q_pids)} query and "
                         f"{len(g_pids)} gallery ids")
    cols = np.arange(ng)
    by_pid = np.argsort(g_pids, kind="stable")                            # gallery grouped by id
    starts = np.flatnonzero(np.r_[True, np.diff(g_pids[by_pid]) != 0])
    cmc_sum = np.zeros(max_rank)
    ap_sum = inp_sum = 0.0
    valid = 0
    for start in range(0, nq, CHUNK):
        rows = np.arange(start, min(nq, start + CHUNK))
        d = distmat[rows]                                                  # [q, G]
        keep = ~remove(rows) if remove is not None else np.ones(d.shape, bool)
        match = (g_pids[None, :] == q_pids[rows, None]) & keep             # [q, G]
        ok = match.any(1)
        if not ok.any():
            continue
        d, keep, match = d[ok], keep[ok], match[ok]
        n_rel = match.sum(1)                                               # [q]
        r, t = np.nonzero(match)                                           # true matches, by row
        dt = d[r, t]                                                       # [M]
        ahead = keep[r] & ((d[r] < dt[:, None]) | ((d[r] == dt[:, None]) & (cols[None, :] < t[:, None])))
        pos = ahead.sum(1) + 1                                             # [M] rank among kept
        order = np.lexsort((pos, r))                                       # by row, then rank
        r, t, pos = r[order], t[order], pos[order]
        first_of_row = np.r_[0, np.cumsum(n_rel)[:-1]]                    # [q] index into M
        k = np.arange(len(r)) - first_of_row[r] + 1                        # k-th true match
        ap_sum += float((np.bincount(r, k / pos, minlength=len(n_rel)) / n_rel).sum())
        last = pos[first_of_row + n_rel - 1]
        inp_sum += float((n_rel / last).sum())
        if identity_level:
            f_t, f_d = t[first_of_row], d[np.arange(len(n_rel)), t[first_of_row]]
            before = keep & ((d < f_d[:, None]) | ((d == f_d[:, None]) & (cols[None, :] < f_t[:, None])))
            ids_before = np.logical_or.reduceat(before[:, by_pid], starts, axis=1).sum(1)
            rank = ids_before + 1
        else:
            rank = pos[first_of_row]
        cmc_sum += (rank[:, None] <= np.arange(1, max_rank + 1)[None, :]).sum(0)
        valid += len(n_rel)
    if valid == 0:
        raise ValueError("no query has a true match in the gallery: check the query/gallery "
                         "split (ids, cameras)")
    return cmc_sum / valid, ap_sum / valid, inp_sum / valid


def eval_sysu(distmat, q_pids, g_pids, q_camids, g_camids, max_rank: int = 20):
    """SYSU-MM01 protocol: cam3 queries skip every cam2 gallery image; identity-level CMC."""
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)

    def remove(rows):
        return (q_camids[rows, None] == 3) & (g_camids[None, :] == 2)

    return eval_cross(distmat, q_pids, g_pids, remove, max_rank, identity_level=True)


def eval_regdb(distmat, q_pids, g_pids, max_rank: int = 20):
    """RegDB protocol: the whole gallery, per-image CMC."""
    return eval_cross(distmat, q_pids, g_pids, None, max_rank, identity_level=False)


def eval_same_camera_excluded(distmat, q_pids, g_pids, q_camids, g_camids, max_rank: int = 20):
    """Single-modality retrieval (V->V, IR->IR): gallery images from the query's own
    camera are skipped; per-image CMC (the Market-1501 convention)."""
    q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)

    def remove(rows):
        return q_camids[rows, None] == g_camids[None, :]

    return eval_cross(distmat, q_pids, g_pids, remove, max_rank, identity_level=False)
