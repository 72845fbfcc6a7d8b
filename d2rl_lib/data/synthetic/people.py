"""Identities of the synthetic world: body, hair, clothing, accessories.

Each person is drawn once from the world's seed and then seen by every camera.
A garment has a *dye* (its visible colour), a *material* (cotton, wool,
synthetic, leather, denim: sets its infrared emissivity and heat transfer) and
a hidden *thermal offset* (thickness, layers underneath: seen only in the
infrared and not predictable from the visible image). Notebook 01 shows them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# material: (emissivity, heat transfer from the body in 0..1, visible sheen)
MATERIALS = {
    "cotton": (0.95, 0.55, 0.00),
    "wool": (0.93, 0.25, 0.00),
    "synthetic": (0.85, 0.65, 0.10),
    "leather": (0.60, 0.35, 0.25),
    "denim": (0.92, 0.45, 0.00),
}
MATERIAL_NAMES = tuple(MATERIALS)
PATTERNS = ("plain", "h-stripes", "v-stripes", "checks", "two-tone")

# Part labels of the label map every render starts from.
BG, SKIN, HAIR, TOP, BOTTOM, SHOES, BAG, HAT = range(8)
GARMENT_PARTS = (TOP, BOTTOM, SHOES, BAG, HAT)


@dataclass
class Garment:
    """One piece of clothing or an accessory."""

    dye: np.ndarray         # [3] linear RGB albedo in 0..1
    dye2: np.ndarray        # [3] second dye for patterns
    material: int           # index into MATERIAL_NAMES
    pattern: int            # index into PATTERNS
    pattern_freq: float     # stripes per garment height
    hidden_offset: float    # hidden: what the infrared adds (heat in the thermal world, reflectance
    #                         in the near-infrared one), invisible in the visible image


@dataclass
class Person:
    """Everything that stays the same about one identity."""

    pid: int
    height: float            # fraction of the frame height the standing body fills
    width: float             # shoulder width relative to height
    head: float              # head radius relative to height
    leg_ratio: float         # fraction of the body below the hips
    skin: np.ndarray         # [3] skin albedo
    skin_heat: float         # 0..1, exposed skin temperature above ambient
    hair: np.ndarray         # [3] hair albedo
    long_hair: bool
    top: Garment
    bottom: Garment
    shoes: Garment
    sleeves: float           # 0 (none) .. 1 (long)
    shorts: bool
    bag: int                 # 0 none, 1 backpack, 2 shoulder bag
    bag_item: Garment
    hat: bool
    hat_item: Garment


def _dye(rng: np.random.Generator) -> np.ndarray:
    """A dye: a hue with a saturation and a darkness spread over the whole range."""
    hue = rng.uniform(0, 1)
    sat = rng.uniform(0.15, 0.95)
    val = rng.uniform(0.08, 0.95)
    # HSV -> RGB, vectorised over one colour.
    h6 = hue * 6
    c = val * sat
    x = c * (1 - abs(h6 % 2 - 1))
    rgb = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)][int(h6) % 6]
    return np.clip(np.array(rgb) + (val - c), 0, 1)


def dye_effect(value: float, mode: str = "world") -> float:
    """A dye's effect on an infrared camera (0..1: the thermal model's darkness, the
    near-infrared model's response) as ``WorldSpec.dye_response`` takes it: the model's own
    ``value`` (``"world"``), turned round (``"reversed"``) or the same for every dye
    (``"blind"``: 0.5)."""
    if mode == "blind":
        return 0.5
    return 1.0 - value if mode == "reversed" else value


HIDDEN_HEAT_SD = 0.08  # default spread of a garment's hidden thermal offset (data.ir_hidden_sd)


def _garment(rng: np.random.Generator, patterned: float = 0.5,
             hidden_sd: float = HIDDEN_HEAT_SD) -> Garment:
    return Garment(
        dye=_dye(rng), dye2=_dye(rng),
        material=int(rng.integers(len(MATERIALS))),
        pattern=int(rng.integers(1, len(PATTERNS))) if rng.random() < patterned else 0,
        pattern_freq=float(rng.uniform(3, 7)),
        hidden_offset=float(rng.normal(0, hidden_sd)),
    )


def make_person(pid: int, rng: np.random.Generator, hidden_sd: float = HIDDEN_HEAT_SD) -> Person:
    """Identity ``pid`` drawn from ``rng``; ``hidden_sd`` scales every garment's hidden
    thermal offset (0: the infrared image follows from the visible one up to noise)."""
    skin_tone = rng.uniform(0.25, 0.9)
    hair_choices = np.array([[0.05, 0.04, 0.03], [0.3, 0.18, 0.08], [0.75, 0.6, 0.3],
                             [0.6, 0.6, 0.6], [0.45, 0.12, 0.05]])
    return Person(
        pid=pid,
        height=float(rng.uniform(0.78, 0.92)),
        width=float(rng.uniform(0.20, 0.30)),
        head=float(rng.uniform(0.055, 0.075)),
        leg_ratio=float(rng.uniform(0.42, 0.52)),
        skin=np.array([0.95, 0.75, 0.6]) * skin_tone + 0.05,
        skin_heat=float(rng.uniform(0.75, 0.95)),
        hair=hair_choices[rng.integers(len(hair_choices))] * rng.uniform(0.8, 1.2),
        long_hair=bool(rng.random() < 0.4),
        top=_garment(rng, 0.55, hidden_sd),
        bottom=_garment(rng, 0.25, hidden_sd),
        shoes=_garment(rng, 0.0, hidden_sd),
        sleeves=float(rng.choice([0.0, 0.5, 1.0])),
        shorts=bool(rng.random() < 0.25),
        bag=int(rng.choice([0, 0, 1, 2])),
        bag_item=_garment(rng, 0.3, hidden_sd),
        hat=bool(rng.random() < 0.25),
        hat_item=_garment(rng, 0.0, hidden_sd),
    )
