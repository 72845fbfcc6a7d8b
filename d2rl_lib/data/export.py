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


def export_regdb(world, out: str | Path, images: int = 10, trials: int = 10, seed: int = 0,
                 visible_cam: int = 2, thermal_cam: int = 3) -> Path:
    """RegDB's layout from the world: for every identity (train and test ids pooled, as
    RegDB has no fixed split), ``images`` visible images from ``visible_cam`` and as many
    thermal ones from ``thermal_cam`` (one camera pair, like RegDB), and ``trials`` random
    50/50 identity splits in idx/. Labels are 0-based identity numbers."""
    out = Path(out)
    ids = list(world.ids("train")) + list(world.ids("test"))
    rows = {"visible": [], "thermal": []}
    for label, pid in enumerate(ids):
        for modality, cam, folder, tag in (("visible", visible_cam, "Visible", "v"),
                                           ("thermal", thermal_cam, "Thermal", "t")):
            for i in range(images):
                name = f"{folder}/{pid}/{pid:04d}_{tag}_{i + 1:02d}.bmp"
                path = out / name
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(world.render(pid, cam, i)[0]).save(path)
                rows[modality].append((name, label))
    (out / "idx").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for t in range(1, trials + 1):
        train_labels = set(rng.permutation(len(ids))[: len(ids) // 2].tolist())
        for part in ("train", "test"):
            for modality in ("visible", "thermal"):
                lines = [f"{n} {l}" for n, l in rows[modality] if (l in train_labels) == (part == "train")]
                (out / "idx" / f"{part}_{modality}_{t}.txt").write_text("\n".join(lines) + "\n")
    return out
