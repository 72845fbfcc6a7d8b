"""Random grayscale on both modalities: the ``random-grayscale`` method (DEEN, CVPR 2023, whose
training transforms apply ``RandomGrayscale(p=0.5)`` to visible and infrared images alike).

Each training image, with chance :data:`P`, becomes its grey (ITU-R 601 luma, three equal
channels). A visible image then looks like an infrared one in colour, so T_F must learn people
from shape and brightness as well as from colour; an infrared image (three equal channels)
stays as it was (to the rounding of the luma weights). The batch keeps its size. Evaluation sees the raw images.
"""
from __future__ import annotations

import torch
from torchvision.transforms.v2 import functional as tvf

P = 0.5   # DEEN's RandomGrayscale(p=0.5)


def views(x: torch.Tensor, modality: torch.Tensor, labels: torch.Tensor):
    """x [B, 3, H, W] in [-1, 1], modality [B], labels [B] -> the same, each image grey with chance P."""
    grey = (torch.rand(len(x)) < P).to(x.device)                  # [B]
    out = x.clone()
    if grey.any():
        out[grey] = tvf.rgb_to_grayscale(x[grey], num_output_channels=3)
    return out, modality, labels
