"""Reading SYSU-MM01 from its official layout (notebook 06; docs/datasets.md).

    SYSU-MM01/
      cam1/ ... cam6/        cam3, cam6 infrared (3-channel JPEGs)
        0001/ 0001.jpg ...   PPPP person id / NNNN image number
      exp/train_id.txt, val_id.txt, test_id.txt   one line of comma-separated ids
      exp/rand_perm_cam.mat  optional: the official gallery permutations

Training uses train + val ids, relabelled 0..C-1 in sorted order; the test
ImageSet holds every image of the test ids in all cameras (the protocol in
``protocol.py`` picks query and gallery from it).
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
from scipy.io import loadmat

from ..errors import UserError
from .protocol import QUERY_CAMS
from .records import INFRARED, SYSU_CAMS, VISIBLE, ImageSet
LAYOUT = ("expected SYSU-MM01 layout: ROOT/cam1..cam6/PPPP/NNNN.jpg and ROOT/exp/{train,val,test}_id.txt "
          "(one line of comma-separated ids each)")


def read_ids(path: Path) -> List[int]:
    if not path.is_file():
        raise UserError(f"missing {path}; {LAYOUT}")
    text = path.read_text().strip()
    try:
        ids = [int(t) for t in text.replace("\n", ",").split(",") if t.strip()]
    except ValueError:
        raise UserError(f"{path} should hold comma-separated integer ids, e.g. 1,2,3") from None
    if not ids:
        raise UserError(f"{path} lists no ids")
    return ids


def _images(root: Path, ids: List[int]) -> Tuple[list, list, list, list]:
    pids, cams, paths, names = [], [], [], []
    for pid in sorted(ids):
        for cam in SYSU_CAMS:
            folder = root / f"cam{cam}" / f"{pid:04d}"
            if not folder.is_dir():
                continue
            for f in sorted(folder.glob("*.jpg")):
                pids.append(pid)
                cams.append(cam)
                paths.append(str(f))
                names.append(f"cam{cam}/{pid:04d}/{f.name}")
    return pids, cams, paths, names


def _image_set(root: Path, ids: List[int], split: str, relabel: bool) -> ImageSet:
    pids, cams, paths, names = _images(root, ids)
    if not pids:
        raise UserError(f"no images of the {split} ids under {root}/cam*/PPPP/; {LAYOUT}")
    pids_a, cams_a = np.array(pids, np.int64), np.array(cams, np.int64)
    labels = None
    if relabel:
        lut = {p: i for i, p in enumerate(sorted(set(pids)))}
        labels = np.array([lut[p] for p in pids], np.int64)
    modality = np.where(np.isin(cams_a, QUERY_CAMS), INFRARED, VISIBLE).astype(np.int64)
    return ImageSet(pids=pids_a, cams=cams_a, modality=modality, paths=paths, names=names,
                    labels=labels, meta={"dataset": "sysu", "split": split, "root": str(root)})


def check_root(root: str | Path) -> Path:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise UserError(f"SYSU-MM01 folder not found: {root}; {LAYOUT}")
    missing = [f"cam{c}" for c in SYSU_CAMS if not (root / f"cam{c}").is_dir()]
    if missing:
        raise UserError(f"{root} has no {', '.join(missing)} folder(s); {LAYOUT}")
    return root


def load_sysu(root: str | Path) -> Tuple[ImageSet, ImageSet]:
    """(train over train+val ids relabelled 0..C-1, test over the test ids, all cameras)."""
    root = check_root(root)
    train_ids = read_ids(root / "exp" / "train_id.txt") + read_ids(root / "exp" / "val_id.txt")
    test_ids = read_ids(root / "exp" / "test_id.txt")
    return _image_set(root, train_ids, "train", True), _image_set(root, test_ids, "test", False)


def load_perm(root: str | Path) -> Optional[list]:
    """The official gallery permutations, or None when rand_perm_cam.mat is absent."""
    for p in (Path(root) / "exp" / "rand_perm_cam.mat", Path(root) / "rand_perm_cam.mat"):
        if p.is_file():
            return loadmat(str(p))["rand_perm_cam"]
    return None
