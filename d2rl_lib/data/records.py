"""The one container every data source returns: :class:`ImageSet`.

Camera numbers follow SYSU-MM01 everywhere: visible cameras 1, 2 (indoor),
4, 5 (outdoor) and infrared cameras 3 (indoor) and 6 (outdoor). RegDB, which
has one camera pair, uses 1 for visible and 2 for thermal.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import List, Optional, Sequence

import numpy as np
import torch

VISIBLE, INFRARED = 0, 1
MODALITY_NAMES = {VISIBLE: "visible", INFRARED: "infrared"}
LUMA = np.array([0.299, 0.587, 0.114])      # ITU-R 601 luminance weights of R, G, B
# The camera sets, here only (the readers, the protocols and the synthetic world import them)
SYSU_CAMS = (1, 2, 3, 4, 5, 6)
SYSU_VISIBLE_CAMS = (1, 2, 4, 5)
SYSU_INFRARED_CAMS = (3, 6)
SYSU_INDOOR_CAMS = (1, 2)                   # the visible cameras of the indoor search


@dataclass
class ImageSet:
    """Person images with their identities, cameras and modalities.

    Exactly one of ``images`` (in memory, the synthetic world) or ``paths``
    (files on disk, the real datasets) holds the pixels.
    """

    pids: np.ndarray                          # [N] int64, person id as the dataset numbers it
    cams: np.ndarray                          # [N] int64, camera number (see module docstring)
    modality: np.ndarray                      # [N] int64, VISIBLE (0) or INFRARED (1)
    images: Optional[torch.Tensor] = None     # [N, 3, H, W] uint8, in memory
    paths: Optional[List[str]] = None         # [N] image files, when read from disk
    names: Optional[List[str]] = None         # [N] path relative to the dataset root in its
    #                                           official layout, e.g. "cam3/0012/0004.jpg"
    labels: Optional[np.ndarray] = None       # [N] int64, training ids relabelled 0..C-1
    paired: Optional[torch.Tensor] = None     # [N, 3, H, W] uint8: the same instant seen in the
    #                                           other modality (synthetic only; never trained on)
    masks: Optional[torch.Tensor] = None      # [N, 1, H, W] bool, person silhouette (synthetic only)
    meta: dict = field(default_factory=dict)  # free-form description (dataset, split, trial, ...)

    def __post_init__(self) -> None:
        n = len(self.pids)
        for name in ("cams", "modality"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"ImageSet.{name} has {len(getattr(self, name))} entries, pids has {n}")
        if (self.images is None) == (self.paths is None):
            raise ValueError("ImageSet needs exactly one of images (in memory) or paths (on disk)")
        if self.images is not None and len(self.images) != n:
            raise ValueError(f"ImageSet.images has {len(self.images)} entries, pids has {n}")
        for name in ("paths", "names", "labels", "paired", "masks"):
            v = getattr(self, name)
            if v is not None and len(v) != n:
                raise ValueError(f"ImageSet.{name} has {len(v)} entries, pids has {n}")

    def __len__(self) -> int:
        return len(self.pids)

    def subset(self, index: Sequence[int] | np.ndarray) -> "ImageSet":
        """The images at ``index`` (in that order), with every field kept aligned."""
        idx = np.asarray(index, dtype=np.int64)
        t = torch.from_numpy(idx)
        return replace(
            self,
            pids=self.pids[idx], cams=self.cams[idx], modality=self.modality[idx],
            images=None if self.images is None else self.images[t],
            paths=None if self.paths is None else [self.paths[i] for i in idx],
            names=None if self.names is None else [self.names[i] for i in idx],
            labels=None if self.labels is None else self.labels[idx],
            paired=None if self.paired is None else self.paired[t],
            masks=None if self.masks is None else self.masks[t],
            meta=dict(self.meta),
        )

    def of_modality(self, modality: int) -> "ImageSet":
        return self.subset(np.flatnonzero(self.modality == modality))

    @property
    def num_ids(self) -> int:
        return int(len(np.unique(self.pids)))


def to_signed(images: torch.Tensor) -> torch.Tensor:
    """uint8 [..., 3, H, W] in 0..255 -> float in [-1, 1], the range every network takes."""
    return images.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float in [-1, 1] -> uint8 in 0..255 (clamped), for saving and showing images."""
    return images.detach().add(1.0).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)


def luminance(images: torch.Tensor) -> torch.Tensor:
    """Grey images [B, 1, H, W] of float RGB images [B, 3, H, W] (:data:`LUMA`)."""
    weights = torch.as_tensor(LUMA, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images * weights).sum(1, keepdim=True)
