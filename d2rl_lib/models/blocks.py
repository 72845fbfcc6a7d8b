"""Small building blocks shared by the networks: T_I's layers, and loading saved weights."""
from __future__ import annotations

from torch import nn

from ..errors import UserError


def conv(cin: int, cout: int, k: int, stride: int = 1, norm: bool = True, act: str = "relu") -> nn.Sequential:
    """Reflection-padded convolution, optional instance norm, activation."""
    layers = [nn.ReflectionPad2d((k - 1) // 2) if k > 1 else nn.Identity(),
              nn.Conv2d(cin, cout, k, stride, padding=0, bias=not norm)]
    if norm:
        layers.append(nn.InstanceNorm2d(cout, affine=True))
    if act == "relu":
        layers.append(nn.ReLU(inplace=True))
    elif act == "lrelu":
        layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


class ResBlock(nn.Module):
    """x + conv(conv(x)), instance-normalised (UNIT / CycleGAN residual block)."""

    def __init__(self, ch: int):
        super().__init__()
        self.body = nn.Sequential(conv(ch, ch, 3), conv(ch, ch, 3, act="none"))

    def forward(self, x):
        return x + self.body(x)


class Up(nn.Module):
    """Nearest-neighbour upsampling by 2, then a 3x3 convolution (no checkerboard)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv = conv(cin, cout, 3)

    def forward(self, x):
        return self.conv(self.up(x))


def load_weights(module: nn.Module, weights: dict, source: str, name: str) -> nn.Module:
    """``module`` with ``weights`` loaded; weights that do not fit it are refused naming ``source``
    (a checkpoint) and the network ``name`` (T_F, T_I)."""
    try:
        module.load_state_dict(weights)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise UserError(f"{source}: the {name} weights do not fit the network its config describes "
                        f"({first})") from None
    return module
