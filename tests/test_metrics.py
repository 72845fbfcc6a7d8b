"""Metrics against hand-computed cases."""
import numpy as np
import pytest

from d2rl_lib.evaluation.metrics import eval_regdb, eval_same_camera_excluded, eval_sysu


def test_regdb_hand_computed():
    # one query (id 1); gallery ranked: id 2, id 1, id 3, id 1
    dist = np.array([[0.1, 0.2, 0.3, 0.4]])
    cmc, mAP, mINP = eval_regdb(dist, [1], [2, 1, 3, 1], max_rank=4)
    assert cmc.tolist() == [0, 1, 1, 1]
    assert mAP == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert mINP == pytest.approx(2 / 4)


def test_sysu_removes_cam2_for_cam3_queries_and_collapses_ids():
    # gallery ranked: (id 5, cam2), (id 7, cam1), (id 7, cam4), (id 5, cam1)
    dist = np.array([[0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]])
    g_pids, g_cams = [5, 7, 7, 5], [2, 1, 4, 1]
    cmc, mAP, mINP = eval_sysu(dist, [5, 5], g_pids, [3, 6], g_cams, max_rank=3)
    # cam3 query: cam2 item dropped -> 7, 7, 5; identity-level list 7, 5 -> rank 2
    #   AP = 1/3, INP = 1/3
    # cam6 query: 5, 7, 7, 5 -> rank 1; AP = (1/1 + 2/4)/2 = 0.75; INP = 2/4
    assert cmc.tolist() == [0.5, 1, 1]
    assert mAP == pytest.approx((1 / 3 + 0.75) / 2)
    assert mINP == pytest.approx((1 / 3 + 0.5) / 2)


def test_identity_level_differs_from_per_image():
    dist = np.array([[0.1, 0.2, 0.3]])
    cmc_id, _, _ = eval_sysu(dist, [1], [2, 2, 1], [6], [1, 4, 5], max_rank=3)
    cmc_img, _, _ = eval_regdb(dist, [1], [2, 2, 1], max_rank=3)
    assert cmc_id.tolist() == [0, 1, 1] and cmc_img.tolist() == [0, 0, 1]


def test_queries_without_match_are_skipped_and_all_missing_is_an_error():
    dist = np.array([[0.1, 0.2], [0.2, 0.1]])
    cmc, mAP, _ = eval_regdb(dist, [1, 9], [1, 2], max_rank=2)
    assert cmc.tolist() == [1, 1] and mAP == 1
    with pytest.raises(ValueError, match="no query has a true match"):
        eval_regdb(dist, [8, 9], [1, 2])


def test_same_camera_excluded():
    dist = np.array([[0.1, 0.2, 0.3]])
    cmc, mAP, _ = eval_same_camera_excluded(dist, [1], [1, 2, 1], [1], [1, 2, 4], max_rank=2)
    assert cmc.tolist() == [0, 1] and mAP == pytest.approx(0.5)


def _spy(monkeypatch):
    """The dtypes eval_sums (the fast path) is called with, the real eval_sums still running."""
    from d2rl_lib.evaluation import metrics_fast
    seen, real = [], metrics_fast.eval_sums
    monkeypatch.setattr(metrics_fast, "eval_sums", lambda d, *a: seen.append(d.dtype) or real(d, *a))
    return seen


def _same(a, b):
    return np.allclose(a[0], b[0]) and a[1] == pytest.approx(b[1]) and a[2] == pytest.approx(b[2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_fast_path_in_small_chunks_gives_the_loops_answer(monkeypatch, dtype):
    from d2rl_lib.evaluation import metrics_fast
    rng = np.random.default_rng(0)
    dist = rng.random((50, 40)).astype(dtype)
    q, g = rng.integers(0, 8, 50), rng.integers(0, 8, 40)
    qc, gc = rng.choice([3, 6], 50), rng.choice([1, 2, 4, 5], 40)
    loop = eval_sysu(dist, q, g, qc, gc, fast=False)
    monkeypatch.setattr(metrics_fast, "CHUNK", 7)
    seen = _spy(monkeypatch)
    assert _same(eval_sysu(dist, q, g, qc, gc, fast=True), loop) and seen == [np.dtype(dtype)]


def test_the_fast_path_serves_float32_and_float64_and_the_loop_the_rest(monkeypatch):
    """float32-exact distances get float32 keys, other float64 (and int) distances float64
    keys; fast=False, complex distances and integers float64 cannot hold loop."""
    from d2rl_lib.evaluation import metrics_fast
    seen = []
    monkeypatch.setattr(metrics_fast, "eval_sums",
                        lambda d, *a: seen.append(d.dtype) or (np.ones(20), 1.0, 1.0, 1))
    dist = np.zeros((4, 5), np.float32)
    ids = [0] * 4, [0] * 5
    eval_regdb(dist, *ids, fast=False)
    eval_regdb(dist.astype(complex), *ids)
    eval_regdb(np.full((4, 5), 2 ** 60 + 1), *ids)                   # float64 cannot hold it
    assert seen == []
    eval_regdb(dist, *ids)
    eval_regdb(dist.astype(float) + 0.25, *ids)                        # float32 holds it
    eval_regdb(dist.astype(np.float16), *ids)
    eval_regdb(np.full((4, 5), 2 ** 24), *ids)
    assert seen == [np.float32] * 4
    eval_regdb(dist.astype(float) + 1e-12, *ids)                       # float32 cannot hold it
    eval_regdb(np.full((4, 5), 2 ** 24 + 1), *ids)
    eval_regdb(np.full((4, 5), 1e300), *ids)                           # float32 overflows
    assert seen == [np.float32] * 4 + [np.float64] * 3


def test_the_values_the_fast_path_reads_are_the_inputs_values():
    from d2rl_lib.evaluation.metrics_fast import fast_values
    for d, dtype in ((np.array([[0.1, -0.0, np.nan, np.inf]]), np.float64),
                     (np.array([[0.5, -0.0, np.nan, -np.inf]]), np.float32),
                     (np.array([[2 ** 53, -(2 ** 53)]]), np.float64),
                     (np.array([[True, False]]), np.float32)):
        v = fast_values(d)
        assert v.dtype == dtype and np.array_equal(v, d, equal_nan=True)
        assert np.array_equal(np.signbit(v), np.signbit(d))
    assert fast_values(np.array([[2 ** 53 + 1]])) is None and fast_values(np.array([[1j]])) is None


def _reference(dist, q, g, qc, gc, max_rank, sysu):
    """The straightforward per-query loop (stable sort, then collapse ids for SYSU)."""
    cmcs, aps, inps = [], [], []
    for i in range(len(q)):
        order = np.argsort(dist[i], kind="stable")
        keep = ~((qc[i] == 3) & (gc[order] == 2)) if sysu else np.ones(len(order), bool)
        ranked = g[order][keep]
        match = ranked == q[i]
        if not match.any():
            continue
        if sysu:
            _, first = np.unique(ranked, return_index=True)
            ranked_ids = ranked[np.sort(first)]
            hit = np.flatnonzero(ranked_ids == q[i])[0]
        else:
            hit = np.flatnonzero(match)[0]
        cmcs.append(np.arange(max_rank) >= hit)
        pos = np.flatnonzero(match) + 1
        aps.append(np.mean(np.arange(1, len(pos) + 1) / pos))
        inps.append(len(pos) / pos[-1])
    return np.mean(cmcs, 0), np.mean(aps), np.mean(inps)


# float32 keys: values float32 holds (their float64 copies too); float64 keys: tenths,
# which float32 does not hold; each with many ties and both zeros
TIED = {"float32": (np.float32, [-0.0, 0.0, -1.5, 0.25, 2.0]),
        "float64 of float32 values": (np.float64, [-0.0, 0.0, -1.5, 0.25, 2.0]),
        "float64": (np.float64, [-0.0, 0.0, -0.1, 0.3, 0.7])}


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("kind", TIED)
def test_fast_path_equals_the_loop_with_ties_signed_zeros_and_uneven_ids(monkeypatch, kind, seed):
    """Distances drawn from five values, so every row is full of ties (-0.0 == 0.0
    included): the fast path (float32 or float64 keys, as said) must give the loop's
    numbers, and the straightforward reference's, for SYSU and RegDB."""
    dtype, values = TIED[kind]
    rng = np.random.default_rng(100 + seed)
    nq, ng = 60, 45
    q, g = rng.integers(0, 9, nq), np.r_[np.zeros(12, int), rng.integers(0, 9, ng - 12)]
    qc, gc = rng.choice([3, 6], nq), rng.choice([1, 2, 4, 5], ng)
    dist = rng.choice(values, (nq, ng)).astype(dtype)
    assert (dist == 0).sum() > 100 and np.signbit(dist[dist == 0]).any()
    seen = _spy(monkeypatch)
    for sysu in (True, False):
        args = (dist, q, g, qc, gc, 10) if sysu else (dist, q, g, 10)
        run = eval_sysu if sysu else eval_regdb
        loop, fast = run(*args, fast=False), run(*args, fast=True)
        assert _same(fast, loop) and _same(fast, _reference(dist.astype(float), q, g, qc, gc, 10, sysu))
    keys = np.float32 if kind != "float64" else np.float64
    assert seen == [keys, keys]                                        # the loop did not run


@pytest.mark.parametrize("seed", range(5))
def test_matches_the_per_query_loop_including_ties(seed):
    rng = np.random.default_rng(seed)
    for dist in (rng.integers(0, 6, (40, 30)).astype(float),          # float32 keys
                 rng.integers(0, 6, (40, 30)) / 10):                   # float64 keys
        q, g = rng.integers(0, 7, 40), rng.integers(0, 7, 30)
        qc, gc = rng.choice([3, 6], 40), rng.choice([1, 2, 4, 5], 30)
        for sysu in (True, False):
            ref = _reference(dist, q, g, qc, gc, 10, sysu)
            for fast in (False, True):
                got = eval_sysu(dist, q, g, qc, gc, 10, fast) if sysu else eval_regdb(dist, q, g, 10, fast)
                assert _same(got, ref)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_and_infinite_distances_rank_as_the_loop_ranks_them(monkeypatch, dtype):
    """np.argsort puts NaN after +inf, NaNs in gallery order (negative NaNs too): the fast
    path agrees, a true match at NaN ranking behind the other NaNs that come before it."""
    rng = np.random.default_rng(7)
    nq, ng = 40, 30
    q, g = rng.integers(0, 5, nq), rng.integers(0, 5, ng)
    qc, gc = rng.choice([3, 6], nq), rng.choice([1, 2, 4, 5], ng)
    dist = rng.choice([np.nan, -np.nan, np.inf, -np.inf, 0.1, 0.5, -0.0], (nq, ng)).astype(dtype)
    assert np.signbit(dist[np.isnan(dist)]).any()
    seen = _spy(monkeypatch)
    for sysu in (True, False):
        args = (dist, q, g, qc, gc, 10) if sysu else (dist, q, g, 10)
        run = eval_sysu if sysu else eval_regdb
        assert _same(run(*args, fast=True), run(*args, fast=False))
    assert seen == [np.dtype(dtype)] * 2
    one = np.array([[np.nan, 0.5, np.nan, np.nan]], dtype)             # ranked 0.5, then the NaNs in order
    assert eval_regdb(one, [1], [2, 3, 2, 1], max_rank=4)[0].tolist() == [0, 0, 0, 1]


def test_chance_level_is_what_random_features_score():
    """Random features on a SYSU-like test set: rank-1 near 1 / (identities in the gallery),
    the same numbers for the same draws, a CMC that only rises, and real features above it."""
    import torch

    from d2rl_lib.config import get_config
    from d2rl_lib.data.synthetic import load_synthetic
    from d2rl_lib.evaluation.retrieval import chance_level, evaluate_sysu_like

    test = load_synthetic(get_config("synthetic-ci").data).test
    a, b = chance_level(test, trials=2, draws=4), chance_level(test, trials=2, draws=4)
    assert a["mAP"] == b["mAP"] and a["cmc"].tolist() == b["cmc"].tolist()
    ids = len(set(test.pids.tolist()))
    assert 0.3 / ids * 100 < a["rank1"]["mean"] < 3.0 / ids * 100
    assert (np.diff(a["cmc"]) >= 0).all() and a["cmc"][0] == pytest.approx(a["rank1"]["mean"])
    assert a["mAP"]["sd"] > 0 and a["draws"] == 4
    one_hot = torch.nn.functional.one_hot(torch.as_tensor(test.pids)).float()   # a perfect model
    assert evaluate_sysu_like(test, one_hot, trials=2)["mAP"] > a["mAP"]["mean"] + 10 * a["mAP"]["sd"]
