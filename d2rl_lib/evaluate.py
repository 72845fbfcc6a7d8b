"""Protocol drivers: from features of the test images to the reported numbers.

Every result carries a ``protocol`` record saying what produced it (dataset,
direction, search mode, shots, trials, gallery sampler, flip test-time
augmentation, and that no re-ranking was used). Numbers are percentages,
averaged over the trials. The model is never selected by these numbers.
"""
from __future__ import annotations

from typing import Dict, Iterator, Optional, Sequence, Tuple

import numpy as np
import torch

from .data.protocol import gallery_indices, query_indices
from .data.records import INFRARED, MODALITY_NAMES, VISIBLE, ImageSet
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


def evaluate_sysu_like(test: ImageSet, features: torch.Tensor, mode: str = "all", shots: int = 1,
                       trials: int = 10, sampler: str = "seeded", perm: Optional[Sequence] = None,
                       flip_test: bool = False) -> dict:
    """Infrared queries against visible galleries (SYSU-MM01's protocol), averaged over trials."""
    q = query_indices(test)
    per_trial = [_summary(*r) for r in sysu_trials(test, features, mode, shots, trials, sampler, perm)]
    out = _mean(per_trial)
    out["protocol"] = {"dataset": test.meta.get("dataset", "?"), "direction": "infrared->visible",
                       "mode": mode, "shots": shots, "trials": trials, "sampler": sampler,
                       "query_images": int(len(q)), "flip_test": flip_test, "reranking": False}
    out["per_trial"] = per_trial
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
