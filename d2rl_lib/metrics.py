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

How it is fast (exact, ties broken by gallery order as a stable sort would): no
ranking is sorted and no python loop runs per query. A true match's rank is one plus
the number of kept gallery items ahead of it. Each distance becomes one int64 key
ordering by (distance, gallery position), removed items last (float32 bits read as
an integer order like the floats), so "ahead" is one integer comparison. The gallery
is laid out grouped by identity, padded to the largest group ``[ids, m]``, so a
query's true matches are one contiguous row of ``m`` keys (no search), and the
first item of every identity, which identity-level CMC needs, is a ``min`` over
that axis. Queries are processed in chunks, which bounds the memory. Distances
float32 cannot hold exactly (or NaN) take a slower two-comparison path.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

CHUNK = 256                 # queries per chunk at most (256 was fastest at SYSU size)
CHUNK_ELEMENTS = 1 << 22    # and at most this many (query, true match, gallery slot) comparisons
MAX_KEY = np.iinfo(np.int64).max


def eval_cross(distmat: np.ndarray, q_pids: np.ndarray, g_pids: np.ndarray,
               remove: Optional[callable] = None, max_rank: int = 20,
               identity_level: bool = False) -> Tuple[np.ndarray, float, float]:
    """The shared core. ``remove(rows) -> bool [q, G]`` marks, in gallery order, the
    items to drop for the queries ``rows`` (see the module docstring for the method)."""
    distmat = np.asarray(distmat)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    nq, ng = distmat.shape
    if len(q_pids) != nq or len(g_pids) != ng:
        raise ValueError(f"distmat is {nq}x{ng} but there are {len(q_pids)} query and "
                         f"{len(g_pids)} gallery ids")
    d32 = _exact_float32(distmat)
    groups = _groups(g_pids)
    if d32 is not None and groups[0].size <= 4 * ng + 64:                 # padding stays small
        sums = _eval_grouped(d32, q_pids, groups, remove, max_rank, identity_level)
    else:
        sums = _eval_generic(distmat, q_pids, g_pids, remove, max_rank, identity_level)
    cmc_sum, ap_sum, inp_sum, valid = sums
    if valid == 0:
        raise ValueError("no query has a true match in the gallery: check the query/gallery "
                         "split (ids, cameras)")
    return cmc_sum / valid, ap_sum / valid, inp_sum / valid


def _exact_float32(d: np.ndarray) -> Optional[np.ndarray]:
    """``d`` as float32 when that changes no value (and there is no NaN), else None."""
    if d.dtype == np.float32:
        return None if np.isnan(d).any() else d
    if not (np.issubdtype(d.dtype, np.floating) or np.issubdtype(d.dtype, np.integer)):
        return None
    d32 = d.astype(np.float32)
    return d32 if np.array_equal(d32, d) else None                         # False with NaN


def _groups(g_pids: np.ndarray):
    """(table [ids, m] of gallery columns grouped by identity in gallery order, padded
    with the index ``G`` of a sentinel column; the sorted distinct ids)."""
    ids, code, counts = np.unique(g_pids, return_inverse=True, return_counts=True)
    code = code.reshape(-1)
    m = int(counts.max())
    by_id = np.argsort(code, kind="stable")
    slot = np.arange(len(g_pids)) - np.r_[0, np.cumsum(counts)[:-1]][code[by_id]]
    table = np.full((len(ids), m), len(g_pids), dtype=np.int64)
    table[code[by_id], slot] = by_id
    return table, ids


def _keys(d: np.ndarray, col_bits: int) -> np.ndarray:
    """int64 keys [q, G + 1] ordering each row by (distance, gallery position); the last
    column is a sentinel that is never ahead of anything.

    The bits of a float32 read as a signed integer order like the floats once the
    magnitude bits of negative values are flipped; -0.0 is first turned into 0.0 so
    that it ties with 0.0, as a comparison of floats says."""
    q, ng = d.shape
    bits = (d + np.float32(0.0)).view(np.int32)                           # -0.0 + 0.0 = 0.0
    key = np.empty((q, ng + 1), dtype=np.int64)
    key[:, :ng] = bits ^ ((bits >> 31) & np.int32(0x7FFFFFFF))             # orders like the floats
    key[:, :ng] <<= col_bits
    key[:, :ng] |= np.arange(ng, dtype=np.int64)[None, :]                  # ties: gallery order
    key[:, ng] = MAX_KEY
    return key


def _eval_grouped(d: np.ndarray, q_pids: np.ndarray, groups, remove, max_rank: int,
                  identity_level: bool):
    """The fast path for float32 distances (module docstring); returns the sums."""
    table, ids = groups
    nq, ng = d.shape
    n_ids, m = table.shape
    flat = table.reshape(-1)                                               # [S = ids * m]
    col_bits = max(1, int(ng).bit_length())
    q_code = np.clip(np.searchsorted(ids, q_pids), 0, n_ids - 1)
    q_known = ids[q_code] == q_pids                                        # id present in the gallery
    ranks = np.arange(1, max_rank + 1)
    k = np.arange(1, m + 1)
    rows_per_chunk = max(1, min(CHUNK, CHUNK_ELEMENTS // (m * flat.size)))
    cmc_sum = np.zeros(max_rank)
    ap_sum = inp_sum = 0.0
    valid = 0
    for start in range(0, nq, rows_per_chunk):
        rows = np.arange(start, min(nq, start + rows_per_chunk))
        rows = rows[q_known[rows]]
        if len(rows) == 0:
            continue
        key = _keys(d[rows], col_bits)                                     # [q, G + 1]
        if remove is not None:
            np.putmask(key[:, :ng], remove(rows), MAX_KEY)                 # removed: never ahead
        kp = key[:, flat].reshape(len(rows), n_ids, m)                     # grouped by identity
        kt = kp[np.arange(len(rows)), q_code[rows]]                        # [q, m] the true matches
        is_match = kt != MAX_KEY
        n_rel = is_match.sum(1)
        ok = n_rel > 0
        if not ok.all():
            kp, kt, is_match, n_rel = kp[ok], kt[ok], is_match[ok], n_rel[ok]
        if len(n_rel) == 0:
            continue
        q = len(n_rel)
        ahead = np.count_nonzero(kp.reshape(q, 1, -1) < kt[:, :, None], axis=2)   # [q, m]
        pos = np.sort(np.where(is_match, ahead + 1, np.iinfo(np.int64).max), axis=1)
        real = k[None, :] <= n_rel[:, None]                               # the k-th true match
        ap_sum += float((np.where(real, k[None, :] / pos, 0.0).sum(1) / n_rel).sum())
        inp_sum += float((n_rel / pos[np.arange(q), n_rel - 1]).sum())
        if identity_level:                                                 # ids with an item ahead
            first = kt.min(1)
            rank = np.count_nonzero(kp.min(2) < first[:, None], axis=1) + 1
        else:
            rank = pos[:, 0]
        cmc_sum += (rank[:, None] <= ranks[None, :]).sum(0)
        valid += q
    return cmc_sum, ap_sum, inp_sum, valid


def _eval_generic(distmat: np.ndarray, q_pids: np.ndarray, g_pids: np.ndarray,
               remove: Optional[callable] = None, max_rank: int = 20,
               identity_level: bool = False) -> Tuple[np.ndarray, float, float]:
    """Any distance (float64 that float32 cannot hold exactly, NaN): a true match's rank
    is one plus the number of kept items closer to the query, ties broken by gallery
    order, computed with two comparisons per (true match, gallery item)."""
    nq, ng = distmat.shape
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
    return cmc_sum, ap_sum, inp_sum, valid


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
