"""T_F: the feature-level sub-network (paper Sec. 3.2; notebook 05).

A torchvision ResNet whose first convolution takes the unified image (3 channels
for raw or single-modality images, 4 for the multi-spectral [RGB, IR] image),
global average pooling, a BN neck, and an identity classifier.

    x [B, C, H, W] in [-1, 1]  ->  backbone  ->  f [B, D]  ->  BN  ->  f_bn [B, D]  ->  logits [B, num_ids]

Training uses ``f`` for the triplet loss and ``logits`` for cross-entropy (the
"BNNeck" of the strong re-ID baselines); retrieval uses ``f_bn``.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torchvision
from torch import nn

from ..errors import UserError
from .blocks import load_weights

# ImageNet statistics, mapped from [-1, 1] inputs: (x + 1) / 2 -> (v - mean) / std.
_MEAN = torch.tensor([0.485, 0.456, 0.406])
_STD = torch.tensor([0.229, 0.224, 0.225])
_WEIGHTS = {"resnet18": "ResNet18_Weights", "resnet34": "ResNet34_Weights", "resnet50": "ResNet50_Weights"}


def _imagenet_state(arch: str, pretrained: str):
    """ImageNet weights from a local file or torchvision's own cache; None (with one
    clear warning) when they are not available. Nothing is downloaded."""
    if not pretrained:
        return None
    if pretrained == "torchvision":
        weights = getattr(torchvision.models, _WEIGHTS[arch]).IMAGENET1K_V1
        cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
        if not cached.is_file():
            warnings.warn(f"ImageNet weights for {arch} are not in torchvision's cache ({cached}); "
                          f"T_F starts from random weights. Copy the file there, or pass its path "
                          f"with --set tf.pretrained=/path/to/{Path(weights.url).name}")
            return None
        pretrained = str(cached)
    path = Path(pretrained)
    if not path.is_file():
        raise UserError(f"tf.pretrained={pretrained!r}: no such file (give a .pth state dict of "
                        f"torchvision's {arch}, 'torchvision' for its cache, or '' for none)")
    return torch.load(path, map_location="cpu", weights_only=True)


class T_F(nn.Module):
    """The re-ID network on (unified) images. See the module docstring."""

    def __init__(self, num_classes: int, in_channels: int = 3, arch: str = "resnet18",
                 last_stride: int = 1, pretrained: str = ""):
        super().__init__()
        if arch not in _WEIGHTS:
            raise UserError(f"tf.arch={arch!r}: choose one of {', '.join(_WEIGHTS)}")
        net = getattr(torchvision.models, arch)(weights=None)
        state = _imagenet_state(arch, pretrained)
        if state is not None:
            net.load_state_dict(state)
        if in_channels != 3:
            net.conv1 = _widen_stem(net.conv1, in_channels)
        if last_stride == 1:
            block = net.layer4[0]
            (block.conv2 if hasattr(block, "conv3") else block.conv1).stride = (1, 1)
            block.downsample[0].stride = (1, 1)
        self.in_channels = in_channels
        self.feat_dim = net.fc.in_features
        net.fc = nn.Identity()
        self.backbone = net
        self.neck = nn.BatchNorm1d(self.feat_dim)
        self.neck.bias.requires_grad_(False)
        self.classifier = nn.Linear(self.feat_dim, num_classes, bias=False)
        nn.init.normal_(self.classifier.weight, std=0.001)
        mean = torch.cat([_MEAN, _MEAN.mean().view(1).expand(max(0, in_channels - 3))])[:in_channels]
        std = torch.cat([_STD, _STD.mean().view(1).expand(max(0, in_channels - 3))])[:in_channels]
        self.register_buffer("mean", mean.view(1, -1, 1, 1))
        self.register_buffer("std", std.view(1, -1, 1, 1))

    @classmethod
    def from_run(cls, state: dict, arch: str, last_stride: int, source: str = "the checkpoint") -> "T_F":
        """The T_F of a method run's checkpoint ``state`` (``d2rl train``: ``trainer.model``,
        ``num_classes``, ``in_channels``), every weight from it (no ImageNet file is read); weights
        that do not fit the described network are refused naming ``source``."""
        t_f = cls(int(state["num_classes"]), int(state["in_channels"]), arch, last_stride, pretrained="")
        return load_weights(t_f, state["trainer"]["model"], source, "T_F")

    def features_and_logits(self, x: torch.Tensor):
        """x [B, C, H, W] in [-1, 1] -> (f [B, D] before the BN neck, logits [B, num_classes]),
        in the mode the network is in (training; or a frozen teacher's eval mode)."""
        x = ((x + 1) / 2 - self.mean) / self.std           # [B, C, H, W], ImageNet statistics
        f = self.backbone(x)                               # [B, D]
        return f, self.classifier(self.neck(f))            # [B, D], [B, num_classes]

    def forward(self, x: torch.Tensor):
        """Training: (f, logits) (:meth:`features_and_logits`); eval: the retrieval feature f_bn [B, D]."""
        if self.training:
            return self.features_and_logits(x)
        x = ((x + 1) / 2 - self.mean) / self.std           # [B, C, H, W]
        return self.neck(self.backbone(x))                 # [B, D]


def _widen_stem(conv: nn.Conv2d, in_channels: int) -> nn.Conv2d:
    """A first convolution for ``in_channels`` inputs: the RGB filters are kept and
    every extra channel starts from the mean of the RGB filters (paper Sec. 3.2)."""
    new = nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                    conv.padding, bias=conv.bias is not None)
    with torch.no_grad():
        new.weight[:, :3] = conv.weight
        new.weight[:, 3:] = conv.weight.mean(dim=1, keepdim=True)
    return new
