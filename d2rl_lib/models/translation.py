r"""T_I: the image-level discrepancy reduction sub-network (paper Sec. 3.1, Fig. 3;
notebooks 02 and 03).

Two VAEs share one latent space, as in UNIT: the encoders :class:`Encoder` ``E_v``
(visible, 3 channels) and ``E_i`` (infrared, 1 channel) have private layers and end in
a block they share, and the generators :class:`Generator` ``G_v``, ``G_i`` start with a
block they share, so that a code ``z`` means the same person whichever modality it came
from:

.. math:: z = E_v(x) = E_i(y), \quad \hat x_i = G_i(E_v(x)), \quad \hat y_v = G_v(E_i(y))

In code: ``mu, logvar = t_i.E_v(x)``; ``z = t_i.sample(mu, logvar)``; ``t_i.G_i(z, x)``
(the generators also take the image the code came from, which the spectral generators
map; UNIT's ignore it); ``t_i.v2i(x)`` and ``t_i.i2v(y)`` translate with the mean code.

Latent form (``ti.latent``): ``"unit"`` is UNIT's unit-variance VAE, the encoder
outputs the mean and ``z = \mu + \epsilon``, ``\epsilon \sim N(0, I)``, so the KL term
reduces to ``\tfrac12\|\mu\|^2`` (mean over elements here); ``"gaussian"`` adds a
log-variance head and ``z = \mu + \sigma \epsilon``.

What the generators produce (``ti.output``): ``"image"`` is UNIT's generator, the whole
image drawn from z. ``"spectral"`` (the CPU presets) keeps the image's own pixels past the
bottleneck: ``G_i`` scales and shifts one learned colour projection ``P_v`` of the visible
pixels (starting as luminance) by an exposure it reads from z, and ``G_v`` maps each
infrared pixel by a colour map whose coefficients it draws from z; both start as the naive
translations (grey, and the infrared image in grey), so a translation keeps the person
from the first step (notebook 03; measured in DECISIONS.md). ``"reflectance"`` gives G_i the
form of the near-infrared camera's physics, image = illumination x reflectance: a per-pixel
reflectance ``P_v`` of the visible colours (:class:`Reflectance`, luminance plus a small
per-pixel network that starts at zero) times an illumination field with an offset that G_i
draws from z at the code's resolution (upsampled); it starts as grey, and G_v is the
spectral one's colour map.

Two GANs judge the generated images: ``D_v`` tells real visible images from
translated ones, ``D_i`` likewise for infrared (:class:`Discriminator`, a
multi-scale PatchGAN, on the whole image or on the person). Images are float tensors
in [-1, 1]; the infrared modality is one channel inside T_I.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ..config import PERSON_BOX
from ..data.records import LUMA
from .blocks import ResBlock, Up, conv

IR_CHANNELS = 1


class PrivateEncoder(nn.Module):
    """The private layers of E_v or E_i: image [B, C, H, W] -> [B, c 2^d, H/2^d, W/2^d]
    (``ti.n_down`` = d stride-2 convolutions, then ``ti.n_res`` residual blocks)."""

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


class PrivateGenerator(nn.Module):
    """The private layers of G_v or G_i: latent [B, 4c, H/s, W/s] (after the shared block)
    -> image [B, C, H, W] in [-1, 1] (``ti.output="image"``, UNIT's generator).

    With ``affine_in=k`` (G_v of ``ti.output="spectral"``) it stays at the latent's resolution and
    returns, per latent pixel, the coefficients of an affine map from k input channels to
    C output channels: [B, C*k + C, H/s, W/s], weights first, then offsets. Its last
    convolution starts at zero with ``init`` as its bias, so every map starts as ``init``."""

    def __init__(self, out_ch: int, ch: int, n_down: int, n_res: int, affine_in: int = 0,
                 init: Optional[torch.Tensor] = None):
        super().__init__()
        layers = [ResBlock(ch) for _ in range(n_res)]
        if affine_in:
            last = nn.Conv2d(ch, out_ch * (affine_in + 1), 3)
            nn.init.zeros_(last.weight)
            with torch.no_grad():
                last.bias.copy_(init)
            layers += [nn.ReflectionPad2d(1), last]
        else:
            for _ in range(n_down):
                layers.append(Up(ch, ch // 2))
                ch //= 2
            layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, out_ch, 7), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, h):
        return self.body(h)


class Exposure(nn.Module):
    """G_i of the spectral T_I: latent [B, 4c, H/s, W/s] -> the exposure of the image it
    renders, [B, 2, 1, 1] (log gain, offset), starting at (0, 0); T_I applies it to the
    spectral projection of the pixels (:class:`Generator`, kind ``"exposure"``)."""

    def __init__(self, ch: int, n_res: int):
        super().__init__()
        self.body = nn.Sequential(*[ResBlock(ch) for _ in range(n_res)], nn.AdaptiveAvgPool2d(1))
        self.head = nn.Conv2d(ch, 2, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, h):
        return self.head(self.body(h))


class Reflectance(nn.Module):
    """P_v of ``ti.output="reflectance"``: visible pixels [B, 3, H, W] -> a per-pixel
    reflectance [B, 1, H, W] on the images' [-1, 1] scale: their luminance plus a small
    network of each pixel's colour alone (1x1 convolutions, so it cannot see where the pixel
    is), whose last layer starts at zero. Colour to near-infrared reflectance is a per-pixel
    function in the world's physics (a dye's red end, skin), which this form makes cheap."""

    def __init__(self, hidden: int = 16):
        super().__init__()
        self.luma = nn.Conv2d(3, IR_CHANNELS, 1)
        with torch.no_grad():
            self.luma.weight.copy_(torch.as_tensor(LUMA).view(1, 3, 1, 1))
            self.luma.bias.zero_()
        self.net = nn.Sequential(nn.Conv2d(3, hidden, 1), nn.ReLU(), nn.Conv2d(hidden, IR_CHANNELS, 1))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, x):
        return self.luma(x) + self.net(x)                            # [B, 1, H, W]


class Encoder(nn.Module):
    """E_v or E_i (paper Fig. 3; notebook 02): image [B, C, H, W] -> (mu, logvar) of q(z | image),
    mu [B, 4c, H/s, W/s]: the modality's private layers, then the block E_v and E_i share
    (the same module object in both), then, for ``ti.latent="gaussian"``, the shared
    log-variance head (logvar is None in UNIT's unit-variance form)."""

    def __init__(self, private: PrivateEncoder, shared: nn.Module, logvar: Optional[nn.Module] = None):
        super().__init__()
        self.private, self.shared, self.logvar = private, shared, logvar

    @property
    def out_channels(self) -> int:
        return self.private.out_channels

    def forward(self, img: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        mu = self.shared(self.private(img))                       # [B, 4c, H/s, W/s]
        return mu, (self.logvar(mu) if self.logvar is not None else None)


class Generator(nn.Module):
    """G_v or G_i (paper Fig. 3; notebooks 02-03): a code z [B, 4c, H/s, W/s] -> image
    [B, C, H, W] in [-1, 1]: the first block, which G_v and G_i share, then the modality's
    private layers.

    ``G(z, source)``: ``source`` is the image the code was encoded from ([B, 3 or 1, H, W];
    an infrared one is read as three equal channels). UNIT's generators
    (``ti.output="image"``) draw the whole image from z and ignore it; the spectral ones map
    its pixels: G_i (``exposure``) scales and shifts the spectral projection ``P_v(pixels)``
    by the log gain and offset it reads from z; G_v (``colour_map``) maps each pixel's
    colours by an affine map whose coefficients it draws from z at the code's resolution
    (upsampled), so the person's edges and texture come from the image."""

    def __init__(self, shared: nn.Module, private: nn.Module, kind: str = "image",
                 P_v: Optional[nn.Module] = None):
        super().__init__()
        if kind not in ("image", "exposure", "colour_map", "illumination"):
            raise ValueError(f"generator kind {kind!r}: image, exposure, colour_map or illumination")
        self.shared, self.private, self.kind = shared, private, kind
        self.P_v = P_v                                            # the exposure's projection

    def forward(self, z: torch.Tensor, source: Optional[torch.Tensor] = None) -> torch.Tensor:
        out = self.private(self.shared(z))
        if self.kind == "image":
            return out                                            # [B, C, H, W]
        if source is None:
            raise ValueError("a spectral generator maps the pixels of the image the code came "
                             "from: call G(z, source)")
        pixels = source.expand(-1, 3, -1, -1)                     # [B, 3, H, W]
        if self.kind == "exposure":                               # out: [B, 2, 1, 1] log gain, offset
            return (out[:, :1].exp() * (self.P_v(pixels) + 1) - 1 + out[:, 1:]).clamp(-1, 1)
        b, k, h, w = pixels.shape
        coef = F.interpolate(out, size=(h, w), mode="bilinear", align_corners=False)
        if self.kind == "illumination":                           # coef: [B, 2, H, W] illumination, offset
            return (coef[:, :1] * self.P_v(pixels) + coef[:, 1:]).clamp(-1, 1)
        weights = coef[:, : 3 * k].view(b, 3, k, h, w)                         # [B, 3, 3, H, W]
        return ((weights * pixels.unsqueeze(1)).sum(2) + coef[:, 3 * k:]).clamp(-1, 1)


class Discriminator(nn.Module):
    """D_v or D_i: a multi-scale PatchGAN. Returns one logit map per scale
    (scale s sees the image average-pooled s times).

    ``view="person"`` (``ti.disc_view``) judges only the middle of the crop, where a
    pedestrian detector puts the person (``config.PERSON_BOX`` of the height and width), so the
    verdict is about how the person looks, not the background."""

    def __init__(self, in_ch: int, ch: int, n_layers: int, n_scales: int, view: str = "whole"):
        super().__init__()
        self.view = view
        self.nets = nn.ModuleList()
        for _ in range(n_scales):
            layers, c = [conv(in_ch, ch, 4, stride=2, norm=False, act="lrelu")], ch
            for _ in range(n_layers - 1):
                layers.append(conv(c, c * 2, 4, stride=2, norm=False, act="lrelu"))
                c *= 2
            layers.append(nn.Conv2d(c, 1, 1))
            self.nets.append(nn.Sequential(*layers))

    def forward(self, x):
        if self.view == "person":
            x = person_box(x)                                     # [B, C, 13H/16, 3W/8]
        outs = []
        for net in self.nets:
            outs.append(net(x))                                   # [B, 1, h_s, w_s]
            x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
        return outs


def person_box(x: torch.Tensor) -> torch.Tensor:
    """The middle of each image [B, C, H, W]: ``config.PERSON_BOX`` of its height and width."""
    h, w = x.shape[-2:]
    bh, bw = round(h * PERSON_BOX[0]), round(w * PERSON_BOX[1])
    top, left = (h - bh) // 2, (w - bw) // 2
    return x[..., top:top + bh, left:left + bw]


class T_I(nn.Module):
    """The whole image-level sub-network (paper Sec. 3.1, Fig. 3): E_v, E_i, G_v, G_i (two
    VAEs with a shared latent space) and D_v, D_i (two GANs). See the module docstring."""

    def __init__(self, ti_cfg):
        super().__init__()
        c, d, r = ti_cfg.channels, ti_cfg.n_down, ti_cfg.n_res
        private_v = PrivateEncoder(3, c, d, r)
        private_i = PrivateEncoder(IR_CHANNELS, c, d, r)
        latent_ch = private_v.out_channels
        shared_enc = ResBlock(latent_ch)                 # last encoder block, shared
        shared_dec = ResBlock(latent_ch)                 # first generator block, shared
        self.maps_pixels = ti_cfg.output in ("spectral", "reflectance")   # G_i maps the pixels by P_v

        def colour_map() -> Generator:                   # G_v of both: per-place colour maps of y
            identity = torch.cat([torch.eye(3).flatten(), torch.zeros(3)])    # [3*3 + 3]
            return Generator(shared_dec, PrivateGenerator(3, latent_ch, d, r, affine_in=3, init=identity),
                             "colour_map")
        if ti_cfg.output == "spectral":
            # P_v: one colour projection for every visible pixel, starting as luminance: the
            # cameras' spectral response, which G_i's exposure then scales and shifts.
            P_v = nn.Conv2d(3, IR_CHANNELS, 1)
            with torch.no_grad():
                P_v.weight.copy_(torch.as_tensor(LUMA).view(1, 3, 1, 1))
                P_v.bias.zero_()
            self.G_v = colour_map()
            self.G_i = Generator(shared_dec, Exposure(latent_ch, r), "exposure", P_v)
        elif ti_cfg.output == "reflectance":
            # illumination x reflectance: a gain and an offset per latent pixel, starting at (1, 0)
            self.G_v = colour_map()
            lit = PrivateGenerator(IR_CHANNELS, latent_ch, d, r, affine_in=1, init=torch.tensor([1.0, 0.0]))
            self.G_i = Generator(shared_dec, lit, "illumination", Reflectance())
        else:
            self.G_v = Generator(shared_dec, PrivateGenerator(3, latent_ch, d, r))
            self.G_i = Generator(shared_dec, PrivateGenerator(IR_CHANNELS, latent_ch, d, r))
        logvar = nn.Conv2d(latent_ch, latent_ch, 1) if ti_cfg.latent == "gaussian" else None
        self.E_v = Encoder(private_v, shared_enc, logvar)
        self.E_i = Encoder(private_i, shared_enc, logvar)
        disc = (ti_cfg.disc_channels, ti_cfg.disc_layers, ti_cfg.disc_scales, ti_cfg.disc_view)
        self.D_v = Discriminator(3, *disc)
        self.D_i = Discriminator(IR_CHANNELS, *disc)

    @property
    def P_v(self) -> Optional[nn.Module]:
        """The per-pixel map of G_i (``ti.output="spectral"``: the colour projection;
        ``"reflectance"``: :class:`Reflectance`), else None."""
        return self.G_i.P_v

    def sample(self, mu: torch.Tensor, logvar: Optional[torch.Tensor]) -> torch.Tensor:
        """z = mu + sigma * eps (sigma = 1 in the unit form) while training; mu in eval mode."""
        if not self.training:
            return mu
        sigma = torch.exp(0.5 * logvar) if logvar is not None else 1.0
        return mu + sigma * torch.randn_like(mu)

    # -- translation ----------------------------------------------------------------------
    def v2i(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, 3, H, W] -> x_hat_i = G_i(E_v(x)) [B, 1, H, W] (the mean code)."""
        return self.G_i(self.E_v(x)[0], x)

    def i2v(self, y: torch.Tensor) -> torch.Tensor:
        """y [B, 1, H, W] -> y_hat_v = G_v(E_i(y)) [B, 3, H, W] (the mean code)."""
        return self.G_v(self.E_i(y)[0], y)

    def generator_parameters(self):
        """E_v, E_i, G_v, G_i (each shared block once)."""
        for name, p in self.named_parameters():
            if not name.startswith(("D_v.", "D_i.")):
                yield p

    def discriminator_parameters(self):
        return list(self.D_v.parameters()) + list(self.D_i.parameters())
