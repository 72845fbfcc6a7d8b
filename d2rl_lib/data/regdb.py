"""Reading RegDB from the layout public loaders use (notebook 06; docs/datasets.md).

    RegDB/
      Visible/<id>/*.bmp   Thermal/<id>/*.bmp
      idx/train_visible_{1..10}.txt  train_thermal_{1..10}.txt
          test_visible_{1..10}.txt   test_thermal_{1..10}.txt
          each line: "<path relative to RegDB/> <label>"

Protocol: 10 random 50/50 identity splits ("trials"). Train on ``train_*_N`` and
test on ``test_*_N`` of the SAME trial N (testing on another trial's split leaks
training identities). Camera 1 is visible, camera 2 thermal.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import numpy as np

from ..errors import UserError
from .records import INFRARED, VISIBLE, ImageSet

LAYOUT = ("expected RegDB layout: ROOT/Visible/<id>/*.bmp, ROOT/Thermal/<id>/*.bmp and "
          "ROOT/idx/{train,test}_{visible,thermal}_{1..10}.txt with lines '<relative path> <label>'")


def read_index(root: Path, part: str, modality: str, trial: int) -> Tuple[List[str], List[int]]:
    path = root / "idx" / f"{part}_{modality}_{trial}.txt"
    if not path.is_file():
        raise UserError(f"missing index file {path}; {LAYOUT}")
    names, labels = [], []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise UserError(f"{path}:{n}: expected '<relative path> <label>', got {line!r}")
        if not (root / parts[0]).is_file():
            raise UserError(f"{path}:{n} names {parts[0]}, which is not under {root}")
        names.append(parts[0])
        labels.append(int(parts[1]))
    if not names:
        raise UserError(f"{path} lists no images")
    return names, labels


def _image_set(root: Path, part: str, trial: int) -> ImageSet:
    names, pids, cams = [], [], []
    for modality, cam in (("visible", 1), ("thermal", 2)):
        n, l = read_index(root, part, modality, trial)
        names += n
        pids += l
        cams += [cam] * len(n)
    pids_a, cams_a = np.array(pids, np.int64), np.array(cams, np.int64)
    labels = None
    if part == "train":
        lut = {p: i for i, p in enumerate(sorted(set(pids)))}
        labels = np.array([lut[p] for p in pids], np.int64)
    return ImageSet(pids=pids_a, cams=cams_a,
                    modality=np.where(cams_a == 2, INFRARED, VISIBLE).astype(np.int64),
                    paths=[str(root / n) for n in names], names=names, labels=labels,
                    meta={"dataset": "regdb", "split": part, "trial": trial, "root": str(root)})


def load_regdb(root: str | Path, trial: int = 1) -> Tuple[ImageSet, ImageSet]:
    """(train, test) ImageSets of one RegDB trial (1..10)."""
    if not 1 <= trial <= 10:
        raise UserError(f"RegDB trial {trial}: choose 1..10")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise UserError(f"RegDB folder not found: {root}; {LAYOUT}")
    for sub in ("Visible", "Thermal", "idx"):
        if not (root / sub).is_dir():
            raise UserError(f"{root} has no {sub}/ folder; {LAYOUT}")
    return _image_set(root, "train", trial), _image_set(root, "test", trial)


def regdb_summary(train: ImageSet, test: ImageSet) -> dict:
    return {
        "train_ids": int(len(np.unique(train.pids))),
        "train_visible_images": int((train.modality == VISIBLE).sum()),
        "train_thermal_images": int((train.modality == INFRARED).sum()),
        "test_ids": int(len(np.unique(test.pids))),
        "test_visible_images": int((test.modality == VISIBLE).sum()),
        "test_thermal_images": int((test.modality == INFRARED).sum()),
    }
