r"""Losses of T_I (paper Sec. 3.1; notebooks 02 and 03), one small function each.

The T_I objective, per modality pair, is

.. math::
   \mathcal L_{T_I} = \lambda_0 (KL_v + KL_i) + \lambda_1 (\|x - G_v(E_v(x))\|_1 + \|y - G_i(E_i(y))\|_1)
   + w_{gan} (\mathcal L_{GAN_v} + \mathcal L_{GAN_i})
   + w_{ckl} (KL^{cyc}_v + KL^{cyc}_i) + w_{cyc} (\|x - x^{cyc}\|_1 + \|y - y^{cyc}\|_1)

with the weights of ``cfg.ti`` (values and sources in DECISIONS.md).
"""
from __future__ import annotations

from typing import List, Optional

import torch
import torch.nn.functional as F

from ..models.translation import person_box


def kl_loss(mu: torch.Tensor, logvar: Optional[torch.Tensor] = None) -> torch.Tensor:
    r"""KL(q(z|x) \| N(0, I)), weighted by lambda_0, averaged over elements.
    Unit-variance form (UNIT): ``mean(mu^2)``; Gaussian form:
    ``mean(-0.5 (1 + logvar - mu^2 - exp(logvar)))``."""
    if logvar is None:
        return mu.pow(2).mean()
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean()


def recon_loss(target: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    r"""L1 reconstruction ``\|x - G(E(x))\|_1`` (mean absolute error), weighted by lambda_1.
    Also the L1 part of the cycle loss ``\|x - G_v(E_i(G_i(E_v(x))))\|_1``."""
    return (target - output).abs().mean()


def gan_d_loss(real_outs: List[torch.Tensor], fake_outs: List[torch.Tensor], kind: str = "lsgan") -> torch.Tensor:
    """The discriminator's side of the adversarial loss, summed over scales.
    LSGAN (default): ``(D(real) - 1)^2 + D(fake)^2``; BCE: the classic log-loss."""
    total = 0.0
    for r, f in zip(real_outs, fake_outs):
        if kind == "lsgan":
            total = total + (r - 1).pow(2).mean() + f.pow(2).mean()
        else:
            total = total + F.binary_cross_entropy_with_logits(r, torch.ones_like(r)) \
                + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))
    return total


def gan_g_loss(fake_outs: List[torch.Tensor], kind: str = "lsgan") -> torch.Tensor:
    """The generator's side, L_GAN: make D call the translated image real.
    LSGAN: ``(D(G(z)) - 1)^2``; BCE: ``-log sigmoid(D(G(z)))``."""
    total = 0.0
    for f in fake_outs:
        if kind == "lsgan":
            total = total + (f - 1).pow(2).mean()
        else:
            total = total + F.binary_cross_entropy_with_logits(f, torch.ones_like(f))
    return total


def d_accuracy(real_outs: List[torch.Tensor], fake_outs: List[torch.Tensor], kind: str = "lsgan") -> float:
    """Fraction of patch decisions the discriminator gets right (real > threshold,
    fake < threshold; 0.5 for LSGAN, 0 for logits). Near 1.0 for long: collapse."""
    th = 0.5 if kind == "lsgan" else 0.0
    right = total = 0
    for r, f in zip(real_outs, fake_outs):
        right += int((r > th).sum()) + int((f < th).sum())
        total += r.numel() + f.numel()
    return right / max(1, total)


def identity_match_loss(fake: torch.Tensor, k_fake: torch.Tensor, real: torch.Tensor,
                        k_real: torch.Tensor, n_quantiles: int = 19) -> torch.Tensor:
    r"""L_match, the identity-level match (a reproduction choice, not in the paper; DECISIONS.md):
    for each identity k with images on both sides, the mean absolute difference between the
    quantiles (5 %, 10 %, ..., 95 %) of the person-box intensities of its translated images
    ``fake`` and of its real infrared images ``real`` [B, 1, H, W]:

    .. math:: \frac{1}{|K|} \sum_k \operatorname{mean}_q \big| Q_q(G_i(E_v(x_k))) - Q_q(y_k) \big|

    The W1 distance between the two intensity distributions, so pose, place and the
    instant do not matter, only how bright the person's clothes and skin are: the visible and
    infrared images of one person are never of the same instant."""
    qs = torch.linspace(0.05, 0.95, n_quantiles, device=fake.device)
    k_fake, k_real = k_fake.to(fake.device), k_real.to(fake.device)
    common = [k for k in torch.unique(k_fake).tolist() if bool((k_real == k).any())]
    if not common:
        return fake.sum() * 0.0
    total = 0.0
    for k in common:
        a = person_box(fake[k_fake == k]).flatten()
        b = person_box(real[k_real == k]).flatten()
        total = total + (torch.quantile(a, qs) - torch.quantile(b, qs)).abs().mean()
    return total / len(common)
