"""Writing the synthetic world in SYSU-MM01's layout, so the real readers and
protocols run on it unchanged (``d2rl data export``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .records import ImageSet


def export_sysu(train: ImageSet, test: ImageSet, out: str | Path, val_fraction: float = 0.25,
                quality: int = 95) -> Path:
    """camN/PPPP/NNNN.jpg for every image, and exp/{train,val,test,available}_id.txt.
    The last ``val_fraction`` of the train ids go to val (SYSU trains on train + val)."""
    out = Path(out)
    for s in (train, test):
        for img, name in zip(s.images, s.names):
            path = out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img.permute(1, 2, 0).numpy()).save(path, quality=quality)
    train_ids = sorted(set(train.pids.tolist()))
    n_val = int(round(len(train_ids) * val_fraction))
    ids = {"train": train_ids[: len(train_ids) - n_val], "val": train_ids[len(train_ids) - n_val:],
           "test": sorted(set(test.pids.tolist()))}
    ids["available"] = sorted(ids["train"] + ids["val"] + ids["test"])
    (out / "exp").mkdir(parents=True, exist_ok=True)
    for split, lst in ids.items():
        (out / "exp" / f"{split}_id.txt").write_text(",".join(str(i) for i in lst) + "\n")
    return out
