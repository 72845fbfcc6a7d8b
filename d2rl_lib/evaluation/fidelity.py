"""Translation fidelity on the synthetic world's hidden pairs (notebook 03).

No real dataset can say whether a translated image is *right*: the true infrared
image of the same instant does not exist. The synthetic world renders it, so we
can measure, on the person's pixels (the silhouette mask):

- ``v2i_l1`` / ``v2i_corr``: x_hat_i = G_i(E_v(x)) against the true infrared twin;
  L1 in intensity units (0..1) and the Pearson correlation within each image,
  averaged over images.
- ``i2v_l1`` / ``i2v_corr``: y_hat_v = G_v(E_i(y)) against the true visible twin.
- ``cycle_l1``: x -> infrared -> visible against x (whole image), averaged with y's cycle.
- ``grey_*``: the naive translation, the visible image in grey; ``grey_matched_*``:
  grey mapped onto the infrared intensity distribution (quantile matching).
- ``v2i_frame_l1`` / ``v2i_frame_corr`` and ``grey_frame_*``: the same over the whole frame,
  background included (the person's measures are blind to the background, which a re-ID
  network sees too).

Why both L1 and correlation: a translator can match the infrared *statistics*
(dark background, bright skin: low L1) while mapping clothing intensities
wrongly (correlation near or below zero). Correlation shows the mapping.

What the world allows a translator to reach (the ceiling of ``v2i_corr``, perfect
translations) is :mod:`d2rl_lib.analysis.ceilings`; what a translation is worth to re-ID
(its gallery scored by a fixed network) is :mod:`d2rl_lib.analysis.usefulness`.
"""
from __future__ import annotations

from typing import Dict

import numpy as np
import torch

from ..data.records import INFRARED, VISIBLE, ImageSet, luminance, to_signed


def per_image_l1_corr(pred: torch.Tensor, true: torch.Tensor, mask: torch.Tensor):
    """pred, true [N, C, H, W] in 0..1, mask [N, 1, H, W] -> (mean L1, mean Pearson r)."""
    l1s, rs = [], []
    for p, t, m in zip(pred, true, mask):
        m = m.expand_as(p)
        a, b = p[m].double(), t[m].double()
        if a.numel() < 3:
            continue
        l1s.append(float((a - b).abs().mean()))
        a, b = a - a.mean(), b - b.mean()
        denom = float(a.norm() * b.norm())
        rs.append(float((a @ b) / denom) if denom > 0 else 0.0)
    return float(np.mean(l1s)), float(np.mean(rs))


def quantile_match(values: torch.Tensor, reference: torch.Tensor, mask_v: torch.Tensor,
                   mask_r: torch.Tensor) -> torch.Tensor:
    """Map ``values`` so that its masked pixels follow the masked distribution of ``reference``."""
    src = values[mask_v].numpy()
    ref = np.sort(reference[mask_r].numpy())
    qs = np.linspace(0, 1, 257)
    mapped = np.interp(values.numpy(), np.quantile(src, qs), np.quantile(ref, qs))
    return torch.from_numpy(mapped).float()


@torch.no_grad()
def translation_fidelity(t_i, test: ImageSet, device, batch: int = 128) -> Dict[str, float]:
    """All the measures above on the test identities' images."""
    t_i.eval()
    vis = np.flatnonzero(test.modality == VISIBLE)
    ir = np.flatnonzero(test.modality == INFRARED)
    unit = lambda a: (a.float().cpu() + 1) / 2  # noqa: E731 - [-1, 1] -> [0, 1]

    def run(fn, imgs):
        return torch.cat([fn(imgs[i:i + batch].to(device)).float().cpu() for i in range(0, len(imgs), batch)])

    x = to_signed(test.images[vis])                          # [Nv, 3, H, W]
    y = to_signed(test.images[ir][:, :1])                    # [Ni, 1, H, W]
    x_true_ir = test.paired[vis][:, :1].float() / 255        # true infrared twins of x
    y_true_vis = test.paired[ir].float() / 255               # true visible twins of y
    m_v, m_i = test.masks[vis], test.masks[ir]

    x_vi = run(t_i.v2i, x)
    y_iv = run(t_i.i2v, y)
    out = {}
    out["v2i_l1"], out["v2i_corr"] = per_image_l1_corr(unit(x_vi), x_true_ir, m_v)
    frame = torch.ones_like(m_v)                             # every pixel
    out["v2i_frame_l1"], out["v2i_frame_corr"] = per_image_l1_corr(unit(x_vi), x_true_ir, frame)
    out["i2v_l1"], out["i2v_corr"] = per_image_l1_corr(unit(y_iv), y_true_vis, m_i)
    x_cyc = run(t_i.i2v, x_vi)
    y_cyc = run(t_i.v2i, y_iv)
    out["cycle_l1"] = float(((unit(x_cyc) - unit(x)).abs().mean() + (unit(y_cyc) - unit(y)).abs().mean()) / 2)
    grey = luminance(test.images[vis].float() / 255)                   # [Nv, 1, H, W]
    out["grey_l1"], out["grey_corr"] = per_image_l1_corr(grey, x_true_ir, m_v)
    out["grey_frame_l1"], out["grey_frame_corr"] = per_image_l1_corr(grey, x_true_ir, frame)
    ir_real = test.images[ir][:, :1].float() / 255
    matched = quantile_match(grey, ir_real, m_v, m_i)
    out["grey_matched_l1"], out["grey_matched_corr"] = per_image_l1_corr(matched, x_true_ir, m_v)
    out["images"] = {"visible": int(len(vis)), "infrared": int(len(ir))}
    return out
