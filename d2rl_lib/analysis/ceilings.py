"""What the synthetic world allows a translator to reach (notebooks 03 and 06).

:mod:`d2rl_lib.evaluation.fidelity` measures a translation against the hidden pairs. The two
measures here ask what the world itself allows, with no translator in the loop:

- :func:`translation_ceiling`: how high ``v2i_corr`` could go, the infrared twin
  rendered again with its unknowable parts removed (notebook 03,
  ``experiments/translation_ceiling.py``);
- :func:`perfect_translation_scores`: how a trained raw-image model scores the IR->V
  protocol when one side is replaced by its true twin, the premise of D2RL (Sec. 3)
  tested without a translator (notebook 06, ``experiments/oracle_translation.py``).

Both render from :class:`~d2rl_lib.data.synthetic.world.WorldSpec`; the parts taken
away are its fields (``ir_hidden_sd``, ``sensor_noise``, ``average_materials``,
``dye_response``), so the world everyone else renders is never touched.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Optional

import numpy as np
import torch

from ..data.records import SYSU_VISIBLE_CAMS, VISIBLE
from ..data.synthetic import SyntheticWorld, WorldSpec
from ..evaluation.fidelity import per_image_l1_corr
from . import usefulness

PERFECT_TRANSLATIONS = {
    "as_is": "infrared queries against the visible gallery (the run's own score)",
    "gallery_as_true_infrared": "each visible gallery image replaced by its true infrared twin: "
                                "a perfect V->IR translator, hidden heat included",
    "gallery_as_knowable_infrared": "the twin rendered without the garments' hidden part "
                                    "(data.ir_hidden_sd=0, every other draw the same, sensor noise "
                                    "and materials included): near the best a translator that sees "
                                    "only the visible image could do; translation_ceiling's "
                                    "'knowable' row removes the noise and the materials too",
    "queries_as_true_visible": "each infrared query replaced by its true visible twin: a perfect "
                               "IR->V translator (impossible, colour is not in the infrared "
                               "image; a bound)",
}


def perfect_translation_scores(run, translators: Optional[Dict[str, torch.nn.Module]] = None,
                               keys=("rank1", "rank10", "mAP", "mINP")) -> Dict[str, dict]:
    """Is D2RL's premise true in the synthetic world? How a trained raw-image model
    (``run``: a :class:`~d2rl_lib.evaluation.trained.TrainedRun` of ``baseline`` or ``grayscale``)
    scores the IR->V protocol when one side is replaced by its true twin in the other
    modality (:data:`PERFECT_TRANSLATIONS`); the same weights score every variant.
    Also the fidelity of the knowable twin, measured as
    :func:`~d2rl_lib.evaluation.fidelity.translation_fidelity` measures a translator. ``translators``
    (name -> T_I) adds a row ``gallery_translated_by_<name>`` per translator: the gallery
    as that T_I translates it, with its ``v2i_corr``, to place real translators between
    ``as_is`` and the twins. Notebook 06; ``experiments/oracle_translation.py``."""
    test, knowable = usefulness.test_sets(run)
    vis = test.modality == VISIBLE
    v = torch.from_numpy(vis)[:, None, None, None]
    all_vis = np.full_like(test.modality, VISIBLE)
    gallery = usefulness.gallery_usefulness(run, {
        "gallery_as_true_infrared": test.paired[vis][:, :1],
        "gallery_as_knowable_infrared": knowable.paired[vis][:, :1],
        **{f"gallery_translated_by_{name}": usefulness.translated(t_i, test)
           for name, t_i in (translators or {}).items()}}, test)
    out = {"as_is": gallery.pop("raw")}
    for name, row in gallery.items():
        out[name] = {k: row[k] for k in keys}
        if name.startswith("gallery_translated_by_"):
            out[name]["v2i_corr"] = row["person_corr"]
    out["queries_as_true_visible"] = {k: v for k, v in usefulness.protocol_scores(
        run, test, torch.where(v, test.images, test.paired), all_vis).items() if k in keys}
    fid = gallery["gallery_as_knowable_infrared"]
    out["knowable_infrared_fidelity"] = {"v2i_l1": fid["person_l1"], "v2i_corr": fid["person_corr"]}
    return out


# The renderings of translation_ceiling: the WorldSpec fields each one changes.
CEILING_VARIANTS = {
    "no_noise": {"sensor_noise": False},
    "no_noise_no_hidden": {"sensor_noise": False, "ir_hidden_sd": 0.0},
    "knowable": {"sensor_noise": False, "ir_hidden_sd": 0.0, "average_materials": True},
    "dye_reversed": {"sensor_noise": False, "ir_hidden_sd": 0.0, "average_materials": True,
                     "dye_response": "reversed"},
    "dye_blind": {"sensor_noise": False, "ir_hidden_sd": 0.0, "average_materials": True,
                  "dye_response": "blind"},
}


def translation_ceiling(spec: WorldSpec, per_camera: int) -> Dict[str, Dict[str, float]]:
    """How high ``v2i_corr`` could go in the world ``spec`` (notebook 03).

    The infrared twin of each visible test image (``per_camera`` per visible camera) is
    rendered again from the world's own model with the unknowable parts removed one
    after another (:data:`CEILING_VARIANTS`, fields of ``WorldSpec``), and scored like a
    translation. Returns ``{variant: {"v2i_l1", "v2i_corr"}}`` for ``no_noise`` (no
    sensor noise), ``no_noise_no_hidden`` (nor the garments' hidden heat) and
    ``knowable`` (also every material replaced by the average one: what is left follows
    from what the visible image shows). Two more renderings of the knowable twin ask what
    the correlation rewards: ``dye_reversed`` (the dye's effect turned round: light dyes
    warm in the thermal world, dyes dark at the red end bright in the near-infrared one)
    and ``dye_blind`` (every dye in the middle: only which part is where, pose and
    camera). In the ``hue-lookup`` world the dye acts through its hue, so those two equal
    ``knowable`` there."""
    true_world = SyntheticWorld(spec)
    rows = [(pid, cam, i) for pid in true_world.ids("test") for cam in SYSU_VISIBLE_CAMS
            for i in range(per_camera)]
    twins = [true_world.render(*r, paired=True) for r in rows]
    true = torch.tensor(np.stack([t[0][..., 0] for t in twins]))[:, None].float() / 255
    mask = torch.tensor(np.stack([t[1] for t in twins]))[:, None]
    out = {}
    for name, changes in CEILING_VARIANTS.items():
        w = SyntheticWorld(dataclasses.replace(spec, **changes))
        pred = np.stack([w.render(*r, paired=True)[0][..., 0] for r in rows])
        l1, corr = per_image_l1_corr(torch.tensor(pred)[:, None].float() / 255, true, mask)
        out[name] = {"v2i_l1": round(l1, 4), "v2i_corr": round(corr, 4)}
    return out
