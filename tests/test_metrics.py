"""Metrics against hand-computed cases."""
import numpy as np
import pytest

from d2rl_lib.metrics import eval_regdb, eval_same_camera_excluded, eval_sysu


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


def test_the_fast_path_in_small_chunks_gives_the_loops_answer(monkeypatch):
    from d2rl_lib import metrics_fast
    rng = np.random.default_rng(0)
    dist = rng.random((50, 40)).astype(np.float32)
    q, g = rng.integers(0, 8, 50), rng.integers(0, 8, 40)
    qc, gc = rng.choice([3, 6], 50), rng.choice([1, 2, 4, 5], 40)
    loop = eval_sysu(dist, q, g, qc, gc, fast=False)
    monkeypatch.setattr(metrics_fast, "CHUNK", 7)
    small = eval_sysu(dist, q, g, qc, gc, fast=True)
    assert np.allclose(loop[0], small[0]) and loop[1] == pytest.approx(small[1]) \
        and loop[2] == pytest.approx(small[2])


def test_the_loop_runs_where_the_fast_path_cannot(monkeypatch):
    """float32-exact distances take the vectorised path unless fast=False; others loop."""
    from d2rl_lib import metrics_fast
    calls = []
    monkeypatch.setattr(metrics_fast, "eval_sums", lambda *a: calls.append(1) or (np.ones(20), 1.0, 1.0, 1))
    dist = np.zeros((4, 5), np.float32)
    eval_regdb(dist, [0] * 4, [0] * 5, fast=False)
    eval_regdb(dist.astype(float) + 1e-12, [0] * 4, [0] * 5)          # float32 cannot hold it
    assert calls == []
    eval_regdb(dist, [0] * 4, [0] * 5)
    assert calls == [1]


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


@pytest.mark.parametrize("seed", range(5))
def test_matches_the_per_query_loop_including_ties(seed):
    rng = np.random.default_rng(seed)
    dist = rng.integers(0, 6, (40, 30)).astype(float)         # many ties on purpose
    q, g = rng.integers(0, 7, 40), rng.integers(0, 7, 30)
    qc, gc = rng.choice([3, 6], 40), rng.choice([1, 2, 4, 5], 30)
    for sysu in (True, False):
        ref = _reference(dist, q, g, qc, gc, 10, sysu)
        for fast in (False, True):
            got = eval_sysu(dist, q, g, qc, gc, 10, fast) if sysu else eval_regdb(dist, q, g, 10, fast)
            assert np.allclose(got[0], ref[0]) and got[1] == pytest.approx(ref[1]) \
                and got[2] == pytest.approx(ref[2])


@pytest.mark.parametrize("seed", range(3))
def test_both_paths_match_the_loop_with_signed_zeros_negatives_and_uneven_ids(seed):
    """float32-exact distances may take the integer-key path, others always loop; both
    must equal the stable-sort loop, ties (and -0.0 == 0.0) included."""
    rng = np.random.default_rng(100 + seed)
    nq, ng = 60, 45
    q, g = rng.integers(0, 9, nq), np.r_[np.zeros(12, int), rng.integers(0, 9, ng - 12)]
    qc, gc = rng.choice([3, 6], nq), rng.choice([1, 2, 4, 5], ng)
    exact = rng.choice([-0.0, 0.0, -1.5, 0.25, 2.0], (nq, ng))               # float32 holds these
    inexact = exact + rng.choice([0.0, 1e-12], (nq, ng))                     # float32 does not
    assert m_exact(exact) is not None and m_exact(inexact) is None
    for dist in (exact, exact.astype(np.float32), inexact):
        for sysu in (True, False):
            ref = _reference(np.asarray(dist, float), q, g, qc, gc, 10, sysu)
            got = eval_sysu(dist, q, g, qc, gc, 10, True) if sysu else eval_regdb(dist, q, g, 10, True)
            assert np.allclose(got[0], ref[0]) and got[1] == pytest.approx(ref[1]) \
                and got[2] == pytest.approx(ref[2])


def m_exact(d):
    from d2rl_lib.metrics_fast import exact_float32

    return exact_float32(np.asarray(d))


def test_chance_level_is_what_random_features_score():
    """Random features on a SYSU-like test set: rank-1 near 1 / (identities in the gallery),
    the same numbers for the same draws, a CMC that only rises, and real features above it."""
    import torch

    from d2rl_lib.config import get_config
    from d2rl_lib.data.synthetic import load_synthetic
    from d2rl_lib.evaluate import chance_level, evaluate_sysu_like

    test = load_synthetic(get_config("synthetic-ci").data).test
    a, b = chance_level(test, trials=2, draws=4), chance_level(test, trials=2, draws=4)
    assert a["mAP"] == b["mAP"] and a["cmc"].tolist() == b["cmc"].tolist()
    ids = len(set(test.pids.tolist()))
    assert 0.3 / ids * 100 < a["rank1"]["mean"] < 3.0 / ids * 100
    assert (np.diff(a["cmc"]) >= 0).all() and a["cmc"][0] == pytest.approx(a["rank1"]["mean"])
    assert a["mAP"]["sd"] > 0 and a["draws"] == 4
    one_hot = torch.nn.functional.one_hot(torch.as_tensor(test.pids)).float()   # a perfect model
    assert evaluate_sysu_like(test, one_hot, trials=2)["mAP"] > a["mAP"]["mean"] + 10 * a["mAP"]["sd"]
