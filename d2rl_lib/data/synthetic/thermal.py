r"""The thermal camera model (``data.ir_model="thermal"``, RegDB's sensor; the default is
the near-infrared camera of SYSU-MM01, ``nearinfrared.py``).

A thermal (far-infrared) camera sees
the radiance a surface emits, which grows with its temperature ``T`` and its
emissivity ``eps``; a poor emitter also reflects the cool surroundings:

.. math::  I = g \cdot \big(\varepsilon\,T + (1-\varepsilon)\,T_{amb}\big) + n

with camera gain ``g``, ambient temperature ``T_amb`` and sensor noise ``n``.
The surface temperature of each part is told physically (``ir_model="thermal"``):

- **skin**: warm, ``T = skin_heat`` (0.75..0.95), emissivity 0.98: the brightest
  part, whatever the skin's visible colour.
- **hair**: insulates, ``T = 0.45``.
- **a garment**: ambient plus body heat passed through the fabric, plus sun /
  lamp heat absorbed by the dye, plus a hidden offset:
  ``T = T_amb + 0.5 transfer(material) (0.85 - T_amb) + 0.3 darkness(dye) + offset``.
  ``darkness = 1 - luminance(dye)``: dark dyes absorb more light and run warmer,
  so a striped shirt stays striped in the infrared, but a red and a green dye of
  the same darkness look the same. ``transfer`` and the emissivity come from the
  material (wool insulates, leather reflects); the material barely shows in the
  visible image. ``offset`` (thickness, layers underneath) is drawn per garment
  and is invisible in the visible image: the part no translator can know. Its spread
  is ``data.ir_hidden_sd`` (0.08; 0 removes it).
- **background and occluders**: the camera's ambient temperature with a little
  structure; cold, dark.

So the visible image determines most of the infrared one through a smooth
relation (part, dye darkness, material) plus a hidden part: learnable, but lossy.

``ir_model="hue-lookup"`` is the hard setting: a garment's temperature follows
its dye's *hue* through a fixed, non-monotone lookup table instead of its
darkness. Nothing smooth links the visible colour to the infrared intensity,
and unpaired translation cannot recover the mapping (notebook 04's exercise:
when does the paper's premise fail?).

Two switches of :class:`~d2rl_lib.data.synthetic.world.WorldSpec` take parts of this
model away, for ``d2rl_lib.analysis.ceilings.translation_ceiling`` (notebook 03) only:
``average_materials`` gives every garment the average material, ``dye_response`` turns
the dye's darkness round (``"reversed"``) or sets it to the middle (``"blind"``).
"""
from __future__ import annotations

import colorsys

import numpy as np

from ..records import LUMA
from .cameras import Camera
from .geometry import N_LABELS, OCCLUDER, one_row, palette_codes
from .people import (BAG, BG, BOTTOM, HAIR, HAT, MATERIAL_NAMES, MATERIALS, SHOES, SKIN, TOP, Garment, Person,
                     dye_effect)

HAIR_T = 0.45
SKIN_EMISSIVITY = 0.98


# Every material's (emissivity, heat transfer, sheen) averaged: WorldSpec.average_materials.
AVERAGE_MATERIAL = tuple(np.mean(list(MATERIALS.values()), axis=0))


def darkness(dye: np.ndarray) -> float:
    return float(1.0 - dye @ LUMA)


def material_of(g: Garment, average_materials: bool = False) -> tuple:
    """The garment's (emissivity, heat transfer, sheen), or the average material's."""
    return AVERAGE_MATERIAL if average_materials else MATERIALS[MATERIAL_NAMES[g.material]]


def hue_table(world_seed: int, bins: int = 12) -> np.ndarray:
    """The hard setting's lookup: temperature per hue bin, shuffled (non-monotone)."""
    rng = np.random.default_rng(world_seed + 7919)
    return rng.permutation(np.linspace(0.15, 0.85, bins))


def garment_temperature(g: Garment, dye: np.ndarray, ambient: float, ir_model: str,
                        table: np.ndarray, average_materials: bool = False,
                        dye_response: str = "world") -> float:
    eps, transfer, _ = material_of(g, average_materials)
    if ir_model == "hue-lookup":
        hue = colorsys.rgb_to_hsv(*dye)[0]
        base = table[int(hue * len(table)) % len(table)]
    else:
        base = ambient + 0.5 * transfer * (0.85 - ambient) + 0.3 * dye_effect(darkness(dye), dye_response)
    return base + g.hidden_offset


def garment_radiance(g: Garment, dye: np.ndarray, ambient: float, ir_model: str,
                     table: np.ndarray, average_materials: bool = False,
                     dye_response: str = "world") -> float:
    eps = material_of(g, average_materials)[0]
    t = garment_temperature(g, dye, ambient, ir_model, table, average_materials, dye_response)
    return eps * t + (1 - eps) * ambient


def render_thermal(p: Person, cam: Camera, lab: np.ndarray, alt: np.ndarray, s: np.ndarray,
                    rng: np.random.Generator, ir_model: str, table: np.ndarray,
                    average_materials: bool = False, dye_response: str = "world") -> np.ndarray:
    """[H, W] float radiance image in 0..1 (before blur and noise); ``average_materials``
    and ``dye_response`` as the :class:`~d2rl_lib.data.synthetic.world.WorldSpec` fields."""
    h, w = lab.shape
    amb = cam.ambient * rng.uniform(0.95, 1.05)
    v = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h
    img = np.empty((h, w), np.float32)
    img[...] = amb + 0.06 * (v - 0.5) * (1 if cam.indoor else -1)
    for _ in range(int(rng.integers(0, 3))):  # a few lukewarm objects (radiators, lamps, cars)
        c0 = int(rng.integers(0, w))
        r0 = int(rng.integers(0, h // 2))
        img[r0:r0 + h // 6, c0:c0 + max(1, w // 8)] += rng.uniform(0.05, 0.2)
    skin = SKIN_EMISSIVITY * p.skin_heat + (1 - SKIN_EMISSIVITY) * amb
    # Radiance per label, painted in one pass (geometry.palette_codes): entry ``part`` for
    # the first dye and ``part + n`` for a pattern's second dye (only a patterned garment
    # has such pixels; a garment out of view gets a value no pixel uses).
    n = N_LABELS
    radiance = np.zeros(2 * n, np.float32)
    radiance[SKIN] = radiance[SKIN + n] = skin
    radiance[HAIR] = radiance[HAIR + n] = HAIR_T
    for part, g in ((TOP, p.top), (BOTTOM, p.bottom), (SHOES, p.shoes), (BAG, p.bag_item),
                    (HAT, p.hat_item)):
        radiance[part] = garment_radiance(g, g.dye, amb, ir_model, table, average_materials, dye_response)
        if g.pattern:
            radiance[part + n] = garment_radiance(g, g.dye2, amb, ir_model, table, average_materials,
                                                  dye_response)
    occ = lab == OCCLUDER
    occ_t = amb + rng.uniform(-0.05, 0.1) if occ.any() else None
    body = (lab != BG) & ~occ
    grazing = 1.0 - 0.15 * np.clip((one_row(s) * 4.0) ** 2, 0, 1)  # cooler at grazing angles
    img = np.where(body, np.take(radiance, palette_codes(lab, alt)) * grazing, img)
    if occ_t is not None:
        img[occ] = occ_t
    return np.clip(cam.gain * img, 0, 1)
