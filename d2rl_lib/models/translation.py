r"""T_I: the image-level discrepancy reduction sub-network (paper Sec. 3.1, Fig. 3;
notebooks 02 and 03).

Two VAEs share one latent space, as in UNIT: the private encoders
:class:`Encoder` ``E_v`` (visible, 3 channels) and ``E_i`` (infrared, 1 channel)
end in a block they share, and the generators ``G_v``, ``G_i`` start with a
block they share, so that a code ``z`` means the same person whichever
modality it came from:

.. math:: z = E_v(x) = E_i(y), \quad \hat x_i = G_i(E_v(x)), \quad \hat y_v = G_v(E_i(y))

Latent form (``ti.latent``): ``"unit"`` is UNIT's unit-variance VAE, the encoder
outputs the mean and ``z = \mu + \epsilon``, ``\epsilon \sim N(0, I)``, so the KL term
reduces to ``\tfrac12\|\mu\|^2`` (mean over elements here); ``"gaussian"`` adds a
log-variance head and ``z = \mu + \sigma \epsilon``.

Two GANs judge the generated images: ``D_v`` tells real visible images from
translated ones, ``D_i`` likewise for infrared (:class:`Discriminator`, a
multi-scale PatchGAN). Images are float tensors in [-1, 1]; the infrared
modality is one channel inside T_I.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import ResBlock, Up, conv

IR_CHANNELS = 1


class Encoder(nn.Module):
    """E_v or E_i: image [B, C, H, W] -> latent mean [B, 4c, H/4, W/4] (before the shared block)."""

    def __init__(self, in_ch: int, ch: int, n_down: int, n_res: int):
        super().__init__()
        layers = [conv(in_ch, ch, 7)]
        for _ in range(n_down):
            layers.append(conv(ch, ch * 2, 4, stride=2))
            ch *= 2
        layers += [ResBlock(ch) for _ in range(n_res)]
        self.body = nn.Sequential(*layers)
        self.out_channels = ch

    def forward(self, x):
        return self.body(x)


class Generator(nn.Module):
    """G_v or G_i: latent [B, 4c, H/4, W/4] (after the shared block) -> image [B, C, H, W] in [-1, 1]."""

    def __init__(self, out_ch: int, ch: int, n_down: int, n_res: int):
        super().__init__()
        layers = [ResBlock(ch) for _ in range(n_res)]
        for _ in range(n_down):
            layers.append(Up(ch, ch // 2))
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, out_ch, 7), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, h):
        return self.body(h)


class Discriminator(nn.Module):
    """D_v or D_i: a multi-scale PatchGAN. Returns one logit map per scale
    (scale s sees the image average-pooled s times)."""

    def __init__(self, in_ch: int, ch: int, n_layers: int, n_scales: int):
        super().__init__()
        self.nets = nn.ModuleList()
        for _ in range(n_scales):
            layers, c = [conv(in_ch, ch, 4, stride=2, norm=False, act="lrelu")], ch
            for _ in range(n_layers - 1):
                layers.append(conv(c, c * 2, 4, stride=2, norm=False, act="lrelu"))
                c *= 2
            layers.append(nn.Conv2d(c, 1, 1))
            self.nets.append(nn.Sequential(*layers))

    def forward(self, x):
        outs = []
        for net in self.nets:
            outs.append(net(x))                                   # [B, 1, h_s, w_s]
            x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
        return outs


class T_I(nn.Module):
    """The whole image-level sub-network: E_v, E_i, G_v, G_i (two VAEs with a shared
    latent space) and D_v, D_i (two GANs). See the module docstring."""

    def __init__(self, ti_cfg):
        super().__init__()
        c, d, r = ti_cfg.channels, ti_cfg.n_down, ti_cfg.n_res
        self.E_v = Encoder(3, c, d, r)
        self.E_i = Encoder(IR_CHANNELS, c, d, r)
        latent_ch = self.E_v.out_channels
        self.shared_enc = ResBlock(latent_ch)            # last encoder block, shared
        self.shared_dec = ResBlock(latent_ch)            # first generator block, shared
        self.G_v = Generator(3, latent_ch, d, r)
        self.G_i = Generator(IR_CHANNELS, latent_ch, d, r)
        self.logvar = (nn.Conv2d(latent_ch, latent_ch, 1) if ti_cfg.latent == "gaussian" else None)
        self.D_v = Discriminator(3, ti_cfg.disc_channels, ti_cfg.disc_layers, ti_cfg.disc_scales)
        self.D_i = Discriminator(IR_CHANNELS, ti_cfg.disc_channels, ti_cfg.disc_layers, ti_cfg.disc_scales)
        self.down = 2 ** d

    # -- the two VAEs ------------------------------------------------------------------
    def encode(self, img: torch.Tensor, infrared: bool) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """(mu, logvar) of q(z | image); logvar is None in the unit-variance form."""
        h = self.shared_enc((self.E_i if infrared else self.E_v)(img))    # [B, 4c, H/4, W/4]
        return h, (self.logvar(h) if self.logvar is not None else None)

    def sample(self, mu: torch.Tensor, logvar: Optional[torch.Tensor]) -> torch.Tensor:
        """z = mu + sigma * eps (sigma = 1 in the unit form) while training; mu in eval mode."""
        if not self.training:
            return mu
        sigma = torch.exp(0.5 * logvar) if logvar is not None else 1.0
        return mu + sigma * torch.randn_like(mu)

    def decode(self, z: torch.Tensor, infrared: bool) -> torch.Tensor:
        return (self.G_i if infrared else self.G_v)(self.shared_dec(z))

    # -- translation ----------------------------------------------------------------------
    def v2i(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, 3, H, W] -> x_hat_i = G_i(E_v(x)) [B, 1, H, W]."""
        return self.decode(self.encode(x, infrared=False)[0], infrared=True)

    def i2v(self, y: torch.Tensor) -> torch.Tensor:
        """y [B, 1, H, W] -> y_hat_v = G_v(E_i(y)) [B, 3, H, W]."""
        return self.decode(self.encode(y, infrared=True)[0], infrared=False)

    def generator_parameters(self):
        for name, p in self.named_parameters():
            if not name.startswith(("D_v.", "D_i.")):
                yield p

    def discriminator_parameters(self):
        return list(self.D_v.parameters()) + list(self.D_i.parameters())
