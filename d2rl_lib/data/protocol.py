"""SYSU-MM01's test protocol on any ImageSet with SYSU camera numbers.

Query: every infrared image of the test identities (cams 3 and 6), in name order.
Gallery: visible images drawn per trial, per (identity, camera):
``all`` search uses cams 1, 2, 4, 5, ``indoor`` cams 1, 2; single-shot one
image, multi-shot ten.

Samplers (say which one produced a number; they are only roughly comparable):

- ``seeded`` (the AGW family): for trial ``t`` (0..9), ``random.seed(t)``, then for
  each test id in sorted order and each gallery camera in the order above that
  has images of that id, ``random.choice(sorted(names))`` (multi-shot:
  ``random.sample`` of up to ten).
- ``official``: the fixed permutations of ``rand_perm_cam.mat`` (the official
  MATLAB code): ``perm[cam-1][0][id-1][t][:shots]`` are image numbers.
"""
from __future__ import annotations

import random
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..errors import UserError
from .records import SYSU_INDOOR_CAMS, SYSU_INFRARED_CAMS, SYSU_VISIBLE_CAMS, ImageSet

GALLERY_CAMS = {"all": SYSU_VISIBLE_CAMS, "indoor": SYSU_INDOOR_CAMS}
QUERY_CAMS = SYSU_INFRARED_CAMS


def _names(test: ImageSet) -> List[str]:
    if test.names is None:
        raise UserError("this ImageSet has no names; the SYSU protocol needs camN/PPPP/NNNN.jpg names")
    return test.names


def query_indices(test: ImageSet) -> np.ndarray:
    """Indices of every infrared (cam3, cam6) image, in name order."""
    names = _names(test)
    idx = np.flatnonzero(np.isin(test.cams, QUERY_CAMS))
    if len(idx) == 0:
        raise UserError("the test set has no infrared (cam3/cam6) images: nothing to query")
    return idx[np.argsort([names[i] for i in idx], kind="stable")]


def gallery_indices(test: ImageSet, mode: str = "all", shots: int = 1, trial: int = 0,
                    sampler: str = "seeded", perm: Optional[Sequence] = None) -> np.ndarray:
    """Indices of the gallery images of ``trial`` (0-based), in protocol order."""
    if mode not in GALLERY_CAMS:
        raise UserError(f"search mode {mode!r}: choose all or indoor")
    if shots not in (1, 10):
        raise UserError(f"shots={shots}: choose 1 (single-shot) or 10 (multi-shot)")
    names = _names(test)
    by_key: Dict[tuple, List[str]] = defaultdict(list)
    where = {}
    for i, (pid, cam) in enumerate(zip(test.pids.tolist(), test.cams.tolist())):
        if cam in GALLERY_CAMS[mode]:
            by_key[(pid, cam)].append(names[i])
            where[names[i]] = i
    ids = sorted({pid for pid, _ in by_key})
    chosen: List[str] = []
    if sampler == "seeded":
        random.seed(trial)
        for pid in ids:
            for cam in GALLERY_CAMS[mode]:
                files = sorted(by_key.get((pid, cam), []))
                if not files:
                    continue
                chosen += [random.choice(files)] if shots == 1 else random.sample(files, min(shots, len(files)))
    elif sampler == "official":
        if perm is None:
            raise UserError("the official sampler needs rand_perm_cam.mat (from the official SYSU-MM01 "
                            "repository, evaluation/data_split/); put it in the dataset root or use "
                            "--sampler seeded")
        for pid in ids:
            for cam in GALLERY_CAMS[mode]:
                if (pid, cam) not in by_key:
                    continue
                numbers = np.asarray(perm[cam - 1][0][pid - 1][trial]).ravel()[:shots]
                for num in numbers:
                    name = f"cam{cam}/{pid:04d}/{int(num):04d}.jpg"
                    if name not in where:
                        raise UserError(f"rand_perm_cam.mat names {name}, which is not in the dataset")
                    chosen.append(name)
    else:
        raise UserError(f"gallery sampler {sampler!r}: choose seeded or official")
    if not chosen:
        raise UserError(f"the {mode}-search gallery is empty: no visible images of the test ids "
                        f"in cams {GALLERY_CAMS[mode]}")
    return np.array([where[n] for n in chosen], dtype=np.int64)
