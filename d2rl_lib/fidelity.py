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

Why both L1 and correlation: a translator can match the infrared *statistics*
(dark background, bright skin: low L1) while mapping clothing intensities
wrongly (correlation near or below zero). Correlation shows the mapping.
"""
from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING, Dict, Optional

import numpy as np
import torch

from .data.records import INFRARED, VISIBLE, ImageSet, to_signed

if TYPE_CHECKING:
    from .data.synthetic.world import WorldSpec

LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


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
    out["i2v_l1"], out["i2v_corr"] = per_image_l1_corr(unit(y_iv), y_true_vis, m_i)
    x_cyc = run(t_i.i2v, x_vi)
    y_cyc = run(t_i.v2i, y_iv)
    out["cycle_l1"] = float(((unit(x_cyc) - unit(x)).abs().mean() + (unit(y_cyc) - unit(y)).abs().mean()) / 2)
    grey = ((test.images[vis].float() / 255) * LUMA).sum(1, keepdim=True)   # [Nv, 1, H, W]
    out["grey_l1"], out["grey_corr"] = per_image_l1_corr(grey, x_true_ir, m_v)
    ir_real = test.images[ir][:, :1].float() / 255
    matched = quantile_match(grey, ir_real, m_v, m_i)
    out["grey_matched_l1"], out["grey_matched_corr"] = per_image_l1_corr(matched, x_true_ir, m_v)
    out["images"] = {"visible": int(len(vis)), "infrared": int(len(ir))}
    return out


PERFECT_TRANSLATIONS = {
    "as_is": "infrared queries against the visible gallery (the run's own score)",
    "gallery_as_true_infrared": "each visible gallery image replaced by its true infrared twin: "
                                "a perfect V->IR translator, hidden heat included",
    "gallery_as_knowable_infrared": "the twin rendered without the garments' hidden heat "
                                    "(data.ir_hidden_sd=0, every other draw the same): the best "
                                    "a translator that sees only the visible image could do",
    "queries_as_true_visible": "each infrared query replaced by its true visible twin: a perfect "
                               "IR->V translator (impossible, colour is not in the infrared "
                               "image; a bound)",
}


def perfect_translation_scores(run, translators: Optional[Dict[str, torch.nn.Module]] = None,
                               keys=("rank1", "rank10", "mAP", "mINP")) -> Dict[str, dict]:
    """Is D2RL's premise true in the synthetic world? How a trained raw-image model
    (``run``: a :class:`~d2rl_lib.trained.TrainedRun` of ``baseline`` or ``grayscale``)
    scores the IR->V protocol when one side is replaced by its true twin in the other
    modality (:data:`PERFECT_TRANSLATIONS`); the same weights score every variant.
    Also the fidelity of the knowable twin, measured as :func:`translation_fidelity`
    measures a translator. ``translators`` (name -> T_I) adds a row
    ``gallery_translated_by_<name>`` per translator: the gallery as that T_I translates it,
    with its ``v2i_corr``, to place real translators between ``as_is`` and the twins.
    Notebook 06; ``benchmarks/oracle_translation.py``."""
    from .data.synthetic import load_synthetic
    from .errors import UserError
    from .evaluate import evaluate_sysu_like
    from .train_reid import extract_features

    cfg = run.cfg
    if run.t_i is not None or cfg.data.dataset != "synthetic":
        raise UserError(f"perfect translations need a raw-image run (method baseline or grayscale) "
                        f"on the synthetic world, not method={cfg.method} on {cfg.data.dataset}")
    test = load_synthetic(cfg.data).test
    knowable = load_synthetic(dataclasses.replace(cfg.data, ir_hidden_sd=0.0)).test
    vis = test.modality == VISIBLE
    assert torch.equal(knowable.images[vis], test.images[vis])    # only the hidden heat differs
    d = cfg.data

    def scored(images: torch.Tensor, modality: np.ndarray) -> dict:
        feats = extract_features(run.t_f, images, modality, run.prepare, run.device)
        r = evaluate_sysu_like(test, feats, d.search_mode, d.shots, d.trials, d.gallery_sampler)
        return {k: round(r[k], 2) for k in keys}

    v = torch.from_numpy(vis)[:, None, None, None]
    all_ir = np.full_like(test.modality, INFRARED)
    all_vis = np.full_like(test.modality, VISIBLE)
    out = {"as_is": scored(test.images, test.modality),
           "gallery_as_true_infrared": scored(torch.where(v, test.paired, test.images), all_ir),
           "gallery_as_knowable_infrared": scored(torch.where(v, knowable.paired, test.images), all_ir),
           "queries_as_true_visible": scored(torch.where(v, test.images, test.paired), all_vis)}
    for name, t_i in (translators or {}).items():
        t_i.eval()
        with torch.no_grad():
            fake = torch.cat([t_i.v2i(to_signed(chunk)) for chunk in test.images[vis].split(128)])
        fake = ((fake + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).expand(-1, 3, -1, -1)
        images = test.images.clone()
        images[torch.from_numpy(vis)] = fake                         # [Nv, 3, H, W], IR as 3 channels
        row = scored(images, all_ir)
        row["v2i_corr"] = round(per_image_l1_corr(fake[:, :1].float() / 255, test.paired[vis][:, :1].float() / 255,
                                                  test.masks[vis])[1], 4)
        out[f"gallery_translated_by_{name}"] = row
    l1, corr = per_image_l1_corr(knowable.paired[vis][:, :1].float() / 255,
                                 test.paired[vis][:, :1].float() / 255, test.masks[vis])
    out["knowable_infrared_fidelity"] = {"v2i_l1": round(l1, 4), "v2i_corr": round(corr, 4)}
    return out


@contextlib.contextmanager
def _without(noise: bool, materials: bool, dye: str = ""):
    """Render without sensor noise and/or with every material set to the average one;
    ``dye``: ``"reversed"`` (a garment's infrared brightness follows the opposite of what
    the world's model says: light dyes run warm in the thermal model, dyes that absorb the
    red end reflect in the near-infrared one) or ``"blind"`` (every dye in the middle),
    else the world's own. Both infrared models (thermal and near-infrared) are patched."""
    from .data.synthetic import infrared as _infrared, nearinfrared as _nir, world as _world

    saved = (_world._add_noise, _infrared.MATERIALS, _infrared.darkness, _nir.MATERIAL_NIR,
             _nir.dye_response)
    saved_darkness, saved_response = _infrared.darkness, _nir.dye_response
    try:
        if noise:
            _world._add_noise = lambda img, std, rng: img
        if materials:
            mean = tuple(np.mean(list(_infrared.MATERIALS.values()), axis=0))
            _infrared.MATERIALS = {name: mean for name in _infrared.MATERIALS}
            mean_nir = float(np.mean(list(_nir.MATERIAL_NIR.values())))
            _nir.MATERIAL_NIR = {name: mean_nir for name in _nir.MATERIAL_NIR}
        if dye == "reversed":
            _infrared.darkness = lambda d: 1.0 - saved_darkness(d)
            _nir.dye_response = lambda d: 1.0 - saved_response(d)
        elif dye == "blind":
            _infrared.darkness = lambda d: 0.5
            _nir.dye_response = lambda d: 0.5
        yield
    finally:
        (_world._add_noise, _infrared.MATERIALS, _infrared.darkness, _nir.MATERIAL_NIR,
         _nir.dye_response) = saved


def translation_ceiling(spec: WorldSpec, per_camera: int) -> Dict[str, Dict[str, float]]:
    """How high ``v2i_corr`` could go in the world ``spec`` (notebook 03).

    The infrared twin of each visible test image (``per_camera`` per visible camera) is
    rendered again from the world's own model with the unknowable parts removed one
    after another, and scored like a translation. Returns ``{variant: {"v2i_l1",
    "v2i_corr"}}`` for ``no_noise`` (no sensor noise), ``no_noise_no_hidden`` (nor the
    garments' hidden heat) and ``knowable`` (also every material replaced by the average
    one: what is left follows from what the visible image shows). Two more renderings of
    the knowable twin ask what the correlation rewards: ``dye_reversed`` (the dye's effect
    turned round: light dyes warm in the thermal world, dyes dark at the red end bright
    in the near-infrared one) and ``dye_blind`` (every dye in the middle: only which part
    is where, pose and camera). In the ``hue-lookup`` world the dye acts through its hue,
    so those two equal ``knowable`` there. The world module is restored on return."""
    from .data.synthetic.cameras import VISIBLE_CAMS
    from .data.synthetic.world import SyntheticWorld

    true_world = SyntheticWorld(spec)
    rows = [(pid, cam, i) for pid in true_world.ids("test") for cam in VISIBLE_CAMS
            for i in range(per_camera)]
    twins = [true_world.render(*r, paired=True) for r in rows]
    true = torch.tensor(np.stack([t[0][..., 0] for t in twins]))[:, None].float() / 255
    mask = torch.tensor(np.stack([t[1] for t in twins]))[:, None]
    variants = {"no_noise": (True, False, False, ""), "no_noise_no_hidden": (True, True, False, ""),
                "knowable": (True, True, True, ""), "dye_reversed": (True, True, True, "reversed"),
                "dye_blind": (True, True, True, "blind")}
    out = {}
    for name, (noise, hidden, materials, dye) in variants.items():
        w_spec = dataclasses.replace(spec, ir_hidden_sd=0.0) if hidden else spec
        with _without(noise, materials, dye):
            w = SyntheticWorld(w_spec)
            pred = np.stack([w.render(*r, paired=True)[0][..., 0] for r in rows])
        l1, corr = per_image_l1_corr(torch.tensor(pred)[:, None].float() / 255, true, mask)
        out[name] = {"v2i_l1": round(l1, 4), "v2i_corr": round(corr, 4)}
    return out
