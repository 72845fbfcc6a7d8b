"""Features and scores: from a trained T_F and the test images to the reported numbers
(notebooks 05 and 06; ``d2rl evaluate``).

:func:`extract_features` runs T_F over the test images; the protocol drivers turn the
features into CMC / mAP / mINP; :func:`score` applies the configured dataset's protocol and
:func:`run_summary` writes what a run reports (``metrics.json``).

Every result carries a ``protocol`` record saying what produced it (dataset,
direction, search mode, shots, trials, gallery sampler, flip test-time
augmentation, and that no re-ranking was used). Numbers are percentages,
averaged over the trials. The model is never selected by these numbers.
"""
from __future__ import annotations

from typing import Callable, Dict, Iterator, Optional, Sequence, Tuple

import numpy as np
import torch

from ..config import Config
from ..data.files import batches_of, pixels
from ..data.protocol import gallery_indices, query_indices
from ..data.records import INFRARED, MODALITY_NAMES, VISIBLE, ImageSet
from ..data.sysu import load_perm
from .fidelity import translation_fidelity
from ..methods import METHODS
from .metrics import eval_regdb, eval_same_camera_excluded, eval_sysu


def distance(q: torch.Tensor, g: torch.Tensor) -> np.ndarray:
    """Cosine distance (1 - cosine similarity) between L2-normalised features."""
    q = torch.nn.functional.normalize(q.float(), dim=1)
    g = torch.nn.functional.normalize(g.float(), dim=1)
    return (1.0 - q @ g.T).numpy()


def _summary(cmc: np.ndarray, mAP: float, mINP: float) -> Dict[str, float]:
    return {"rank1": 100 * float(cmc[0]), "rank10": 100 * float(cmc[9]),
            "rank20": 100 * float(cmc[19]), "mAP": 100 * mAP, "mINP": 100 * mINP}


def _mean(trials: Sequence[Dict[str, float]]) -> Dict[str, float]:
    return {k: float(np.mean([t[k] for t in trials])) for k in trials[0]}


def sysu_trials(test: ImageSet, features: torch.Tensor, mode: str = "all", shots: int = 1,
                trials: int = 10, sampler: str = "seeded", perm: Optional[Sequence] = None,
                max_rank: int = 20) -> Iterator[Tuple[np.ndarray, float, float]]:
    """(CMC [max_rank], mAP, mINP) of each trial: infrared queries against that trial's
    visible gallery (SYSU-MM01's protocol); fractions, not percent."""
    q = query_indices(test)
    for t in range(trials):
        g = gallery_indices(test, mode, shots, t, sampler, perm)
        yield eval_sysu(distance(features[q], features[g]), test.pids[q], test.pids[g], test.cams[q],
                        test.cams[g], max_rank)


def _sysu_result(test: ImageSet, trial_results: Sequence[Tuple[np.ndarray, float, float]], mode: str,
                 shots: int, trials: int, sampler: str, flip_test: bool = False) -> dict:
    """The reported numbers of :func:`sysu_trials`' results (percent, averaged over the
    trials), with the protocol record and each trial's numbers."""
    per_trial = [_summary(*r) for r in trial_results]
    out = _mean(per_trial)
    out["protocol"] = {"dataset": test.meta.get("dataset", "?"), "direction": "infrared->visible",
                       "mode": mode, "shots": shots, "trials": trials, "sampler": sampler,
                       "query_images": int(len(query_indices(test))), "flip_test": flip_test,
                       "reranking": False}
    out["per_trial"] = per_trial
    return out


def evaluate_sysu_like(test: ImageSet, features: torch.Tensor, mode: str = "all", shots: int = 1,
                       trials: int = 10, sampler: str = "seeded", perm: Optional[Sequence] = None,
                       flip_test: bool = False) -> dict:
    """Infrared queries against visible galleries (SYSU-MM01's protocol), averaged over trials."""
    results = list(sysu_trials(test, features, mode, shots, trials, sampler, perm))
    return _sysu_result(test, results, mode, shots, trials, sampler, flip_test)


def chance_level(test: ImageSet, mode: str = "all", shots: int = 1, trials: int = 10,
                 sampler: str = "seeded", perm: Optional[Sequence] = None, draws: int = 20,
                 dim: int = 64, max_rank: int = 20) -> dict:
    """What a method that learned nothing scores: :func:`evaluate_sysu_like` on random
    Gaussian features (``draws`` seeded draws of [N, ``dim``]). Returns ``{"rank1", "rank10",
    "mAP", "mINP"}`` as ``{"mean", "sd"}`` over the draws, in percent, and ``"cmc"``: the
    mean CMC curve [max_rank] in percent (notebooks 01, 05, 06; experiments/chance_level.py)."""
    rows, curves = [], []
    for draw in range(draws):
        feats = torch.randn(len(test.pids), dim, generator=torch.Generator().manual_seed(draw))
        results = list(sysu_trials(test, feats, mode, shots, trials, sampler, perm, max(max_rank, 20)))
        r = _sysu_result(test, results, mode, shots, trials, sampler)  # one pass: numbers and curves
        rows.append({k: r[k] for k in ("rank1", "rank10", "mAP", "mINP")})
        curves += [cmc[:max_rank] for cmc, _, _ in results]
    out = {k: {"mean": float(np.mean([row[k] for row in rows])),
               "sd": float(np.std([row[k] for row in rows], ddof=1)) if draws > 1 else 0.0} for k in rows[0]}
    out["cmc"] = 100 * np.mean(curves, axis=0)
    out["draws"], out["protocol"] = draws, r["protocol"]
    return out


def evaluate_single_modality(test: ImageSet, features: torch.Tensor, modality: int) -> dict:
    """V->V or IR->IR: each image of ``modality`` queries all others of that modality
    taken by a different camera (per-image CMC)."""
    idx = np.flatnonzero(test.modality == modality)
    dist = distance(features[idx], features[idx])
    out = _summary(*eval_same_camera_excluded(dist, test.pids[idx], test.pids[idx],
                                              test.cams[idx], test.cams[idx]))
    name = MODALITY_NAMES[modality]
    out["protocol"] = {"dataset": test.meta.get("dataset", "?"), "direction": f"{name}->{name}",
                       "gallery": "all other images of the modality from other cameras",
                       "reranking": False}
    return out


def evaluate_regdb(test: ImageSet, features: torch.Tensor, direction: str = "visible->thermal") -> dict:
    """One RegDB trial: the whole other-modality gallery, per-image CMC."""
    vis, ir = np.flatnonzero(test.modality == VISIBLE), np.flatnonzero(test.modality == INFRARED)
    if direction == "visible->thermal":
        q, g = vis, ir
    elif direction == "thermal->visible":
        q, g = ir, vis
    else:
        raise ValueError(f"direction {direction!r}: visible->thermal or thermal->visible")
    out = _summary(*eval_regdb(distance(features[q], features[g]), test.pids[q], test.pids[g]))
    out["protocol"] = {"dataset": "regdb", "direction": direction, "trial": test.meta.get("trial"),
                       "reranking": False}
    return out


def evaluate_regdb_both(test: ImageSet, features: torch.Tensor, flip_test: bool) -> dict:
    """RegDB's test protocol for the loaded trial, both directions, each against the whole
    other-modality gallery (per-image CMC). The top-level numbers are visible->thermal;
    ``directions`` holds both. V->V / IR->IR are ``None``: RegDB has one camera per
    modality, so a same-modality gallery from another camera does not exist."""
    both = {d: evaluate_regdb(test, features, d) for d in ("visible->thermal", "thermal->visible")}
    for r in both.values():
        r["protocol"]["flip_test"] = flip_test
    out = {k: v for k, v in both["visible->thermal"].items()}
    out["protocol"] = dict(out["protocol"], directions=list(both), trials=1)
    out["directions"] = both
    out["v2v_mAP"] = out["i2i_mAP"] = None
    return out


# -- from a model to the numbers ---------------------------------------------------------
@torch.no_grad()
def extract_features(model: torch.nn.Module, images: torch.Tensor, modality: np.ndarray,
                     prepare: Callable, device: torch.device, batch: int = 256,
                     flip: bool = False, num_workers: int = 0) -> torch.Tensor:
    """Features [N, D] of uint8 images [N, 3, H, W] (a tensor, or the lazy view of image
    files from ``data.files.pixels``, read by ``num_workers`` DataLoader workers), with
    the model in eval mode; ``prepare`` is the method's input transform
    (:func:`d2rl_lib.inputs.prepare_for`)."""
    model.eval()
    mod = torch.as_tensor(modality)
    out, i = [], 0
    for chunk in batches_of(images, batch, num_workers):
        x = prepare(chunk, mod[i:i + len(chunk)]).to(device)
        i += len(chunk)
        f = model(x)
        if flip:
            f = (f + model(torch.flip(x, dims=[3]))) / 2
        out.append(f.float().cpu())
    return torch.cat(out)


def score(model, test: ImageSet, prepare: Callable, cfg: Config, device) -> dict:
    """The test protocol (IR->V) plus single-modality V->V and IR->IR mAP; on RegDB both
    directions of the configured trial (:func:`evaluate_regdb_both`)."""
    feats = extract_features(model, pixels(test), test.modality, prepare, device,
                             flip=cfg.data.flip_test, num_workers=cfg.data.num_workers)
    if cfg.data.dataset == "regdb":
        return evaluate_regdb_both(test, feats, cfg.data.flip_test)
    perm = load_perm(cfg.data.root) if cfg.data.dataset == "sysu" else None
    res = evaluate_sysu_like(test, feats, cfg.data.search_mode, cfg.data.shots, cfg.data.trials,
                             cfg.data.gallery_sampler, perm=perm, flip_test=cfg.data.flip_test)
    res["v2v_mAP"] = evaluate_single_modality(test, feats, VISIBLE)["mAP"]
    res["i2i_mAP"] = evaluate_single_modality(test, feats, INFRARED)["mAP"]
    return res


def run_summary(cfg: Config, model, test: ImageSet, prepare: Callable, device, t_i=None,
                train_seconds: Optional[float] = None) -> dict:
    """A run's ``metrics.json``: :func:`score`, what was trained (method, steps, seed), and
    the translation fidelity on the hidden pairs when there is a T_I and the test set has
    pairs (synthetic world). ``d2rl train`` writes it; ``d2rl evaluate`` recomputes it."""
    metrics = score(model, test, prepare, cfg, device)
    s = cfg.schedule
    metrics.update({"method": cfg.method, "preset": cfg.preset, "seed": cfg.runtime.seed,
                    "train_seconds": None if train_seconds is None else round(train_seconds, 1),
                    "ti_steps": s.ti_steps if t_i is not None else 0, "ti_init": s.ti_init or None,
                    "tf_updates": s.tf_steps + s.joint_steps,
                    "joint_steps": s.joint_steps if METHODS[cfg.method].joint else 0})
    if t_i is not None and test.paired is not None and test.masks is not None:
        metrics["translation"] = translation_fidelity(t_i, test, device)
    return metrics
