"""Training augmentation for re-ID batches (torchvision transforms v2), per image:
horizontal flip, pad + random crop, random erasing."""
from __future__ import annotations

import torch
from torchvision.transforms import v2


def reid_augment(height: int, width: int) -> v2.Compose:
    pad = max(2, height // 16)
    return v2.Compose([
        v2.RandomHorizontalFlip(),
        v2.Pad(pad, padding_mode="edge"),
        v2.RandomCrop((height, width)),
        v2.RandomErasing(p=0.5, scale=(0.02, 0.2), value=0),
    ])


def augment_batch(images: torch.Tensor, transform) -> torch.Tensor:
    """Apply ``transform`` to each image of [B, C, H, W] with its own random draw."""
    return torch.stack([transform(img) for img in images])
