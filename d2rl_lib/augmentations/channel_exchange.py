"""CAJ's channel augmentation: the ``channel-exchange`` method (Ye et al., "Channel Augmented
Joint Learning for Visible-Infrared Recognition", ICCV 2021; read from the paper and the data
loader and channel transforms of its public code, written here anew).

CAJ feeds each visible image twice: as it is, and as a second view in which one of its R, G, B
channels, drawn uniformly, is copied to all three (its ``ChannelExchange(gray=2)``: with
``gray=2`` the grey choice is never drawn). Both views keep the identity label, so a batch of P
identities x (K visible + K infrared) images becomes P x 3K images, and T_F learns that the
same person seen through one colour band is still that person: the visible images are pulled
towards what a single-band (infrared-like) camera records. Infrared images take CAJ's
``ChannelAdapGray(0.5)``: one channel drawn from four choices (R, G, B copied to three; the
fourth keeps the image or, with chance 0.5, makes it grey); with the three equal channels of
an infrared image every choice leaves it as it was, as on SYSU-MM01's infrared frames.

Left to the rest of the project, as for every method: CAJ's channel-level random erasing
(every method here erases a random box, ``d2rl_lib.data.augment``), its losses (this project's
identity cross-entropy + batch-hard triplet on every view) and its backbone. DECISIONS.md,
"The field's augmentation baselines", says why.
"""
from __future__ import annotations

import torch
from torchvision.transforms.v2 import functional as tvf

from ..data.records import VISIBLE

P_GREY = 0.5  # ChannelAdapGray(probability=0.5): the fourth choice makes the image grey with this chance


def one_channel(x: torch.Tensor, channel: torch.Tensor) -> torch.Tensor:
    """x [N, 3, H, W], channel [N] in {0, 1, 2} -> each image's chosen channel copied to three."""
    picked = x[torch.arange(len(x), device=x.device), channel.to(x.device)]   # [N, H, W]
    return picked[:, None].expand(-1, 3, -1, -1).contiguous()


def adaptive_grey(x: torch.Tensor) -> torch.Tensor:
    """CAJ's ChannelAdapGray on x [N, 3, H, W]: one of R, G, B copied to three (3/4), else the
    image kept or, with chance :data:`P_GREY`, made grey."""
    choice = torch.randint(0, 4, (len(x),))                        # [N]
    grey = torch.rand(len(x)) < P_GREY                             # [N]
    out = x.clone()
    band = choice < 3
    if band.any():
        out[band.to(x.device)] = one_channel(x[band.to(x.device)], choice[band])
    to_grey = (~band & grey).to(x.device)
    if to_grey.any():
        out[to_grey] = tvf.rgb_to_grayscale(x[to_grey], num_output_channels=3)
    return out


def views(x: torch.Tensor, modality: torch.Tensor, labels: torch.Tensor):
    """x [B, 3, H, W] in [-1, 1], modality [B] (CPU), labels [B] -> [B + Bv, 3, H, W]: the batch
    (infrared images through :func:`adaptive_grey`), then a second view of its Bv visible images,
    each as one of its channels, with their modality and labels."""
    vis = modality == VISIBLE                                      # [B], CPU
    out = x.clone()
    ir = (~vis).to(x.device)
    if ir.any():
        out[ir] = adaptive_grey(x[ir])
    second = one_channel(x[vis.to(x.device)], torch.randint(0, 3, (int(vis.sum()),)))  # [Bv, 3, H, W]
    return (torch.cat([out, second]), torch.cat([modality, modality[vis]]),
            torch.cat([labels, labels[vis.to(labels.device)]]))
