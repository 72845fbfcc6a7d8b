"""Figures the notebooks and the CLI draw: image grids (and, later, t-SNE and CMC plots)."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch


def image_grid(rows: Sequence[Sequence[np.ndarray | torch.Tensor]], row_labels: Sequence[str] = (),
               col_labels: Sequence[str] = (), scale: float = 0.9, title: Optional[str] = None):
    """A matplotlib figure with one image per cell. Images are uint8 [3, H, W] tensors or
    [H, W, 3] arrays."""
    import matplotlib.pyplot as plt

    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    first = _hwc(rows[0][0])
    aspect = first.shape[1] / first.shape[0]
    fig, axes = plt.subplots(n_rows, n_cols, squeeze=False,
                             figsize=(n_cols * scale * aspect * 1.6 + 0.8, n_rows * scale * 1.6))
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.set_xticks([]), ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c < len(row):
                ax.imshow(_hwc(row[c]))
            if c == 0 and r < len(row_labels):
                ax.set_ylabel(row_labels[r], fontsize=9)
            if r == 0 and c < len(col_labels):
                ax.set_title(col_labels[c], fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _hwc(img) -> np.ndarray:
    if torch.is_tensor(img):
        img = img.detach().cpu()
        if img.dtype != torch.uint8:
            img = img.add(1).mul(127.5).clamp(0, 255).to(torch.uint8)
        img = img.permute(1, 2, 0).numpy()
    return img


def identity_grid(world, pids: Sequence[int], index: int = 0):
    """For each identity, its image in every camera (visible cams 1, 2, 4, 5, then
    infrared cams 3, 6) and below it the paired twin in the other modality."""
    cams = (1, 2, 4, 5, 3, 6)
    rows, labels = [], []
    for pid in pids:
        rows.append([world.render(pid, c, index)[0] for c in cams])
        rows.append([world.render(pid, c, index, paired=True)[0] for c in cams])
        labels += [f"id {pid}", "paired"]
    return image_grid(rows, labels, [f"cam{c}" + (" (IR)" if c in (3, 6) else "") for c in cams])
