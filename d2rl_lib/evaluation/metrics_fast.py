"""The fast path of :mod:`d2rl_lib.evaluation.metrics`: the same numbers, vectorised, for large
protocols (SYSU-MM01's 3,803 queries x 301 gallery images x 10 trials). Its speed against
the readable loop, float32 and float64, is in ``results/experiments/eval_speed.json``
(``benchmarks/eval_speed.py``); ``tests/test_metrics.py`` checks it equals the loop, ties,
signed zeros and NaN included. Read :mod:`d2rl_lib.evaluation.metrics` first.

How it is fast (exact, ties broken by gallery order as the loop's stable sort breaks them):
no ranking is sorted and no python loop runs per query. A true match's rank is one plus the
number of kept gallery items ahead of it, "ahead" meaning smaller in (distance, gallery
position). Each distance becomes an int64 key that orders like the distance (the bits of
a float read as an integer, negative values' magnitude bits flipped), removed items last.
The gallery is laid out grouped by identity, padded to the largest group ``[ids, m]``, so a
query's true matches are one contiguous row of ``m`` keys (no search), and identity-level
CMC counts the identities with any of their ``m`` items ahead of the query's first true
match. Queries are processed in chunks ``[q, G]``, which bounds the memory.

Two kinds of key, one per kind of input (:func:`fast_values` picks):

- float32, and every input float32 holds exactly (integers up to 2**24, float16, float64
  values such as 0.25): the float's 32 bits leave room for the gallery position in the low
  bits of the int64, so the key orders by (distance, position) and "ahead" is ONE integer
  comparison per (query, true match, gallery item).
- float64, and integers up to 2**53: the float's 64 bits fill the key, no room for the
  position. Ranking each row first (an argsort per query) would make room, but at SYSU
  size it costs several times the whole comparison pass, so ties are broken directly:
  ahead = #(key smaller) + #(key equal AND position smaller). The second count is a second
  pass, run only in the chunks where an item's key equals a true match's (one equality
  count says so): distances of real features seldom tie, rounded ones do.

Everything else (complex, object, integers or long doubles float64 cannot hold) goes to
the loop. -0.0 is read as 0.0 (they tie, as a comparison of floats says). A NaN distance
ranks after every number, +inf included, and NaNs tie among themselves (so gallery order
decides): that is where the loop's ``np.argsort`` puts them (numpy documents that NaNs sort
to the end), so both paths agree, and the tests check it.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

CHUNK = 256                 # queries per chunk at most (256 was fastest at SYSU size)
CHUNK_ELEMENTS = 1 << 22    # and at most this many (query, true match, gallery slot) comparisons
MAX_KEY = np.iinfo(np.int64).max                       # removed items and padding: never ahead
NO_KEY = np.iinfo(np.int64).min                        # no distance has it (it would be a NaN)
NAN_BITS = {np.dtype(np.float32): np.int64(0x7F800001),          # just above +inf's key
            np.dtype(np.float64): np.int64(0x7FF0000000000001)}
_AS_INT = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}


def as_exact(d: np.ndarray, dtype) -> Optional[np.ndarray]:
    """``d`` as ``dtype`` (float32 or float64) when that changes no value, else None. NaN
    stays NaN; bool, integers and floats only."""
    dtype = np.dtype(dtype)
    if d.dtype == dtype:
        return d
    if d.dtype.kind not in "biuf":                                      # complex, object, ...
        return None
    if d.dtype.kind in "iu" and d.size:                                 # |v| <= 2**(mantissa+1)
        limit = 2 ** (np.finfo(dtype).nmant + 1)
        if int(d.min()) < -limit or int(d.max()) > limit:
            return None
    with np.errstate(over="ignore", invalid="ignore"):                  # inf where it overflows
        if d.dtype.kind == "f" and not np.array_equal(d[:1].astype(dtype), d[:1], equal_nan=True):
            return None                                                 # the first row says no
        out = d.astype(dtype)
        return out if d.dtype.kind in "biu" or np.array_equal(out, d, equal_nan=True) else None


def fast_values(d: np.ndarray) -> Optional[np.ndarray]:
    """The distances ``[q, G]`` the fast path reads: float32 when float32 holds them exactly
    (one comparison per item), else float64 when float64 does (two), else None (the loop)."""
    d32 = as_exact(d, np.float32)
    return d32 if d32 is not None else as_exact(d, np.float64)


def groups(g_pids: np.ndarray):
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
    """int64 keys [q, G + 1] ordering each row like the distances ``d`` (float32 or
    float64); the last column is a sentinel that is never ahead of anything. For float32
    the gallery position fills the low ``col_bits`` bits (ties: gallery order); for
    float64 equal distances give equal keys (the caller breaks the ties).

    The bits of a float read as a signed integer order like the floats once the
    magnitude bits of negative values are flipped; -0.0 is first turned into 0.0 so
    that it ties with 0.0, as a comparison of floats says; every NaN gets one key just
    above +inf's, so NaNs tie (np.argsort puts them last, in gallery order)."""
    q, ng = d.shape
    as_int = _AS_INT[d.dtype]
    top = np.iinfo(as_int).bits - 1
    bits = (d + d.dtype.type(0.0)).view(as_int)                           # -0.0 + 0.0 = 0.0
    key = np.empty((q, ng + 1), dtype=np.int64)
    key[:, :ng] = bits ^ ((bits >> top) & as_int(np.iinfo(as_int).max))   # orders like the floats
    nan = np.isnan(d)
    if nan.any():
        key[:, :ng][nan] = NAN_BITS[d.dtype]
    if d.dtype == np.float32:
        key[:, :ng] <<= col_bits
        key[:, :ng] |= np.arange(ng, dtype=np.int64)[None, :]              # ties: gallery order
    key[:, ng] = MAX_KEY
    return key


def _any_last(b: np.ndarray) -> np.ndarray:
    """``b.any(-1)`` for a short last axis (the ``m`` items of an identity), one ``|`` per
    item: numpy's reduction over a short inner axis is several times slower."""
    out = b[..., 0].copy()
    for j in range(1, b.shape[-1]):
        out |= b[..., j]
    return out


def eval_sums(d: np.ndarray, q_pids: np.ndarray, grouped, remove, max_rank: int,
              identity_level: bool):
    """(CMC sum [max_rank], AP sum, INP sum, number of queries scored) over the queries of
    the distances ``d`` [q, G], float32 or float64 (:func:`fast_values`; module
    docstring); ``grouped``: :func:`groups`'s answer."""
    table, ids = grouped
    nq, ng = d.shape
    n_ids, m = table.shape
    flat = table.reshape(-1)                                               # [S = ids * m]
    col_bits = max(1, int(ng).bit_length())
    ties = d.dtype != np.float32                                           # keys may be equal
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
        # grouped by identity; np.take keeps C order (key[:, flat] would not: every pass below
        # would stride across rows, several times slower)
        kp = np.take(key, flat, axis=1).reshape(len(rows), n_ids, m)
        kt = kp[np.arange(len(rows)), q_code[rows]]                        # [q, m] the true matches
        pt = table[q_code[rows]]                                           # [q, m] their positions
        is_match = kt != MAX_KEY
        n_rel = is_match.sum(1)
        ok = n_rel > 0
        if not ok.all():
            kp, kt, pt, is_match, n_rel = kp[ok], kt[ok], pt[ok], is_match[ok], n_rel[ok]
        if len(n_rel) == 0:
            continue
        q = len(n_rel)
        kq = kp.reshape(q, 1, -1)
        ahead = np.count_nonzero(kq < kt[:, :, None], axis=2)              # [q, m]
        if ties:                                                           # equal, earlier in the gallery
            eq = kq == np.where(is_match, kt, NO_KEY)[:, :, None]          # [q, m, S]
            if np.count_nonzero(eq) > is_match.sum():                      # more than themselves
                eq &= flat[None, None, :] < pt[:, :, None]
                ahead += np.count_nonzero(eq, axis=2)
        pos = np.sort(np.where(is_match, ahead + 1, np.iinfo(np.int64).max), axis=1)
        real = k[None, :] <= n_rel[:, None]                               # the k-th true match
        ap_sum += float((np.where(real, k[None, :] / pos, 0.0).sum(1) / n_rel).sum())
        inp_sum += float((n_rel / pos[np.arange(q), n_rel - 1]).sum())
        if identity_level:                                                 # ids with an item ahead
            first = kt.argmin(1)           # the first true match: on equal keys the first slot,
            kf = kt[np.arange(q), first]   # which is the earliest in the gallery
            before = kq[:, 0] < kf[:, None]                                # [q, S]
            if ties:
                before |= (kq[:, 0] == kf[:, None]) & (flat[None, :] < pt[np.arange(q), first][:, None])
            rank = np.count_nonzero(_any_last(before.reshape(q, n_ids, m)), axis=1) + 1
        else:
            rank = pos[:, 0]
        cmc_sum += (rank[:, None] <= ranks[None, :]).sum(0)
        valid += q
    return cmc_sum, ap_sum, inp_sum, valid
