"""What a V->IR translation is worth to re-ID (notebooks 03 and 06; issue of the translator).

A translation can correlate well with the true infrared twin on the person and still be of
little use (wrong exposure, bright background), or the other way round: correlation is a
proxy. The measure here is the user's: a fixed raw-image re-ID run (a ``baseline``, never the
network that taught the translator) scores the IR->V protocol with every visible gallery
image replaced by its one-channel rendering, shown as an infrared image (three equal
channels). Beside it, each rendering's fidelity to the true twin on the person
(``person_l1`` / ``person_corr``, as :func:`d2rl_lib.evaluation.fidelity.translation_fidelity`'s
``v2i_*``) and over the whole frame (``frame_l1`` / ``frame_corr``).

:func:`reference_renderings` gives the rows every translator is placed among: ``grey``
(luminance), ``knowable_twin`` (the twin without the garments' hidden part, near the best a
translator that sees only the visible image could do) and ``true_twin`` (a bound);
:func:`translated` a T_I's rendering; :func:`rendering_fidelity` a rendering's fidelity;
:func:`gallery_usefulness` scores them, with ``raw`` (the gallery as it is) first.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from ..data.records import INFRARED, VISIBLE, ImageSet, luminance, to_signed, to_uint8
from ..data.synthetic import load_synthetic
from ..errors import UserError
from ..evaluation.retrieval import evaluate_sysu_like, extract_features
from ..evaluation.fidelity import per_image_l1_corr

KEYS = ("rank1", "rank10", "mAP", "mINP")


def reference_renderings(run) -> Dict[str, torch.Tensor]:
    """uint8 [Nv, 1, H, W] renderings of the visible test images of ``run``'s world: grey, the
    knowable near-infrared twin and the true one."""
    test, knowable = test_sets(run)
    vis = torch.from_numpy(test.modality == VISIBLE)
    return {"grey": to_uint8(luminance(to_signed(test.images[vis]))),
            "knowable_twin": knowable.paired[vis][:, :1],
            "true_twin": test.paired[vis][:, :1]}


@torch.no_grad()
def translated(t_i: torch.nn.Module, test: ImageSet, batch: int = 128) -> torch.Tensor:
    """uint8 [Nv, 1, H, W]: G_i(E_v(x)) of every visible image of ``test`` (T_I in eval mode:
    the mean latent code)."""
    t_i.eval()
    x = test.images[torch.from_numpy(test.modality == VISIBLE)]
    return torch.cat([to_uint8(t_i.v2i(to_signed(c)).cpu()) for c in x.split(batch)])


def rendering_fidelity(rendering: torch.Tensor, test: ImageSet) -> Dict[str, float]:
    """``person_l1`` / ``person_corr`` (on the silhouette) and ``frame_l1`` / ``frame_corr`` (every
    pixel) of a uint8 rendering [Nv, 1, H, W] of ``test``'s visible images against their true
    infrared twins, in 0..1 intensities, per image and averaged."""
    vis = torch.from_numpy(test.modality == VISIBLE)
    true = test.paired[vis][:, :1].float() / 255                     # [Nv, 1, H, W]
    if rendering.shape != true.shape or rendering.dtype != torch.uint8:
        raise UserError(f"a rendering must be uint8 {tuple(true.shape)} (one channel per visible "
                        f"test image), got {rendering.dtype} {tuple(rendering.shape)}")
    pred, person = rendering.float() / 255, test.masks[vis]
    out = {}
    out["person_l1"], out["person_corr"] = per_image_l1_corr(pred, true, person)
    out["frame_l1"], out["frame_corr"] = per_image_l1_corr(pred, true, torch.ones_like(person))
    return {k: round(v, 4) for k, v in out.items()}


def gallery_usefulness(run, renderings: Dict[str, torch.Tensor],
                       test: Optional[ImageSet] = None) -> Dict[str, dict]:
    """``{"raw": scores, name: scores + fidelity, ...}``: ``run`` (a trained raw-image run,
    :class:`~d2rl_lib.evaluation.trained.TrainedRun`) scores the IR->V protocol on the gallery as it is
    and with the visible images replaced by each rendering (uint8 [Nv, 1, H, W]). ``test``:
    the run's test set, when the caller has it (:func:`test_sets`)."""
    test = test_sets(run)[0] if test is None else test
    vis = torch.from_numpy(test.modality == VISIBLE)
    out = {"raw": protocol_scores(run, test, test.images, test.modality)}
    all_ir = np.full_like(test.modality, INFRARED)
    for name, rendering in renderings.items():
        fidelity = rendering_fidelity(rendering, test)              # checks the rendering first
        images = test.images.clone()
        images[vis] = rendering.expand(-1, 3, -1, -1)
        out[name] = {**protocol_scores(run, test, images, all_ir), **fidelity}
    return out


def protocol_scores(run, test: ImageSet, images: torch.Tensor, modality: np.ndarray) -> dict:
    """``run``'s IR->V scores (:data:`KEYS`) on ``test``'s protocol with its images replaced by
    ``images`` [N, 3, H, W] uint8, read as of ``modality`` [N]."""
    d = run.cfg.data
    feats = extract_features(run.t_f, images, modality, run.prepare, run.device)
    r = evaluate_sysu_like(test, feats, d.search_mode, d.shots, d.trials, d.gallery_sampler)
    return {k: round(r[k], 2) for k in KEYS}


def test_sets(run) -> Tuple[ImageSet, ImageSet]:
    """(test set of ``run``'s synthetic world, the same rendered without the hidden part),
    for a raw-image scorer ``run`` (refused otherwise)."""
    cfg = run.cfg
    if run.t_i is not None or cfg.data.dataset != "synthetic" or run.t_f.in_channels != 3:
        raise UserError(f"the scorer must be a raw-image run (method baseline or grayscale) "
                        f"on the synthetic world, not method={cfg.method} on {cfg.data.dataset}")
    test: ImageSet = load_synthetic(cfg.data).test
    knowable = load_synthetic(dataclasses.replace(cfg.data, ir_hidden_sd=0.0)).test
    return test, knowable
