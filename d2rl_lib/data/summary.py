"""Dataset statistics with the keys of ``d2rl data summary`` (the same for SYSU-MM01
and the synthetic world, which uses SYSU's cameras)."""
from __future__ import annotations

from collections import Counter

import numpy as np

from .protocol import GALLERY_CAMS, QUERY_CAMS
from .records import INFRARED, VISIBLE, ImageSet


def sysu_summary(train: ImageSet, test: ImageSet) -> dict:
    """train_ids, train_rgb_images, train_ir_images, query_images and gallery_images
    {"all"|"indoor": {"single": one per existing (test id, camera), "multi": up to 10 per pair}}."""
    per_pair = Counter(zip(test.pids.tolist(), test.cams.tolist()))
    gallery = {}
    for mode, cams in GALLERY_CAMS.items():
        counts = [n for (pid, cam), n in per_pair.items() if cam in cams]
        gallery[mode] = {"single": len(counts), "multi": int(sum(min(10, n) for n in counts))}
    return {
        "train_ids": int(len(np.unique(train.pids))),
        "train_rgb_images": int((train.modality == VISIBLE).sum()),
        "train_ir_images": int((train.modality == INFRARED).sum()),
        "test_ids": int(len(np.unique(test.pids))),
        "query_images": int(np.isin(test.cams, QUERY_CAMS).sum()),
        "gallery_images": gallery,
    }


def format_table(summary: dict, title: str) -> str:
    lines = [title]
    for k, v in summary.items():
        if isinstance(v, dict):
            for mode, d in v.items():
                lines.append(f"  {k} ({mode}-search): " + ", ".join(f"{s}-shot {n}" for s, n in d.items()))
        else:
            lines.append(f"  {k}: {v}")
    return "\n".join(lines)
