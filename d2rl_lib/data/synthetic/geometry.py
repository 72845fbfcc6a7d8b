"""From a person and one instant (pose, place, occlusion) to a part-label map.

Both modalities start from the same label map, which is what makes a visible
image and its infrared twin a true pair: same pose, same pixels per part.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Tuple

import numpy as np

from .people import BAG, BOTTOM, HAIR, HAT, SHOES, SKIN, TOP, Person

FRONT, BACK, LEFT, RIGHT = range(4)
OCCLUDER = 8  # label of an occluding object (a bin, a bench, a pole)


@dataclass
class Instant:
    """Everything that changes from one image of a person to the next."""

    view: int            # FRONT, BACK, LEFT or RIGHT
    stride: float        # walking phase: how far the legs are apart, 0..1
    dx: float            # horizontal offset of the body centre, fraction of the width
    scale: float         # body size relative to the person's own height
    foot: float          # vertical position of the feet, fraction of the height
    occlusion: int       # 0 none, 1 low box, 2 vertical pole
    occ_pos: float       # where the occluder stands, 0..1
    occ_size: float      # how much it covers, 0..1
    blur: float          # Gaussian blur sigma in pixels at 64 px height
    light_seed: int      # seed of per-image lighting jitter and sensor noise


def random_instant(rng: np.random.Generator) -> Instant:
    occ = int(rng.choice([0, 0, 0, 1, 2]))
    return Instant(
        view=int(rng.integers(4)), stride=float(rng.uniform(0, 1)),
        dx=float(rng.uniform(-0.08, 0.08)), scale=float(rng.uniform(0.88, 1.06)),
        foot=float(rng.uniform(0.94, 1.0)), occlusion=occ,
        occ_pos=float(rng.uniform(0, 1)), occ_size=float(rng.uniform(0.2, 0.4)),
        blur=float(rng.uniform(0.0, 0.9)), light_seed=int(rng.integers(2**31)),
    )


@lru_cache(maxsize=8)
def _grid(h: int, w: int) -> Tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates: v down (0..1 of the height), x across in height units."""
    v = (np.arange(h, dtype=np.float32) + 0.5) / h
    x = ((np.arange(w, dtype=np.float32) + 0.5) / w - 0.5) * (w / h)
    return v[:, None], x[None, :]


def _box(t, s, t0, t1, s0, s1):
    return (t >= t0) & (t < t1) & (s >= s0) & (s < s1)


def label_map(p: Person, it: Instant, h: int, w: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Part labels [H, W] (uint8), the pattern's second-dye map [H, W] (bool) and
    the body-relative coordinates used for shading (s: [H, W], across the body)."""
    v, x = _grid(h, w)
    length = p.height * it.scale                      # body length, fraction of the height
    top = it.foot - length
    t = (v - top) / length                            # 0 at the top of the head, 1 at the feet
    cx = it.dx * (w / h)
    s = (x - cx) / length                             # across, in body lengths
    side = it.view in (LEFT, RIGHT)
    turn = -1.0 if it.view == LEFT else 1.0

    lab = np.zeros((h, w), dtype=np.uint8)
    alt = np.zeros((h, w), dtype=bool)
    rh = p.head / p.height                            # head radius in body lengths
    hip = 1.0 - p.leg_ratio
    half = p.width / 2 * (0.6 if side else 1.0)       # half shoulder width
    neck = 2 * rh

    # Legs and shoes.
    spread = (0.02 + 0.05 * it.stride) * (1.6 if side else 1.0)
    leg_w = 0.045
    for sign in (-1.0, 1.0):
        c = sign * (leg_w * 0.9 + spread * (t - hip) / (1 - hip))
        leg = (t >= hip) & (t < 0.96) & (np.abs(s - c) < leg_w)
        knee = hip + 0.45 * (1 - hip)
        lab[leg & ((t < knee) | (not p.shorts))] = BOTTOM
        lab[leg & (t >= knee) & p.shorts] = SKIN
        lab[(t >= 0.95) & (t <= 1.0) & (np.abs(s - c - 0.015 * turn * side) < leg_w * 1.25)] = SHOES
    # Torso (tapers to the hip), with the top garment.
    torso_half = half * (1 - 0.25 * np.clip((t - neck) / (hip - neck), 0, 1))
    torso = (t >= neck) & (t < hip + 0.04) & (np.abs(s) < torso_half)
    lab[torso & (t < hip - 0.02)] = TOP
    lab[torso & (t >= hip - 0.02)] = BOTTOM
    # Arms: beside the torso from the front/back, one swinging arm from the side.
    arm_w = 0.035
    arm_end = hip + 0.08
    arm_len = arm_end - (neck + 0.02)
    sleeve_end = neck + 0.02 + p.sleeves * arm_len * 0.9
    if side:
        swing = (it.stride - 0.5) * 0.12
        centres = [swing * (t - neck) / arm_len]
    else:
        centres = [-(half + arm_w * 0.8), half + arm_w * 0.8]
    for c in centres:
        arm = (t >= neck + 0.02) & (t < arm_end) & (np.abs(s - c) < arm_w)
        lab[arm & (t < sleeve_end)] = TOP
        lab[arm & (t >= sleeve_end)] = SKIN
    # Neck, head, hair.
    lab[(t >= rh * 1.5) & (t < neck + 0.01) & (np.abs(s) < rh * 0.5)] = SKIN
    head = (t - rh) ** 2 + (s - 0.15 * rh * turn * side) ** 2 < rh ** 2
    lab[head] = SKIN
    hair_r = rh * 1.08
    hair = (t - rh) ** 2 + s ** 2 < hair_r ** 2
    if it.view == BACK:
        lab[hair] = HAIR
    elif side:
        lab[hair & ((t < rh * 0.9) | (s * turn < -0.2 * rh))] = HAIR
    else:
        lab[hair & (t < rh * 0.8)] = HAIR
    if p.long_hair:
        long = (t >= rh) & (t < neck + 0.12) & (np.abs(s) < rh * 1.05)
        if it.view == BACK:
            lab[long] = HAIR
        else:
            lab[long & (np.abs(s) > rh * 0.7) & ~head] = HAIR
    # Hat.
    if p.hat:
        lab[(t >= -0.01) & (t < rh * 0.75) & (np.abs(s) < rh * 1.2)] = HAT
    # Bags.
    if p.bag == 1:  # backpack
        if it.view == BACK:
            lab[_box(t, s, neck + 0.03, hip - 0.02, -half * 0.8, half * 0.8)] = BAG
        elif side:
            lab[_box(t, s * -turn, neck + 0.03, hip - 0.03, half * 0.8, half * 0.8 + 0.09)] = BAG
        else:
            for sign in (-1.0, 1.0):
                lab[_box(t, s * sign, neck, hip - 0.08, half * 0.45, half * 0.45 + 0.025)] = BAG
    elif p.bag == 2:  # shoulder bag on the right hip, strap across the chest
        bag_s = (half + 0.02) * (0.5 if side else 1.0) * (1 if it.view != BACK else -1)
        lab[_box(t, s, hip - 0.05, hip + 0.1, bag_s - 0.06, bag_s + 0.06)] = BAG
        strap = np.abs((s - (-half * 0.7)) / (2 * half * 0.85) - (t - neck) / (hip - neck)) < 0.06
        lab[strap & (t >= neck) & (t < hip) & (np.abs(s) < half)] = BAG

    # Pattern of the garments: which pixels take the second dye.
    f_top, f_bot = p.top.pattern_freq, p.bottom.pattern_freq
    for part, g, f in ((TOP, p.top, f_top), (BOTTOM, p.bottom, f_bot), (BAG, p.bag_item, 6.0)):
        m = lab == part
        if g.pattern == 0 or not m.any():
            continue
        tt, ss = np.broadcast_to(t, lab.shape), np.broadcast_to(s, lab.shape)
        if g.pattern == 1:
            a = np.sin(2 * np.pi * f * tt * 1.6) > 0
        elif g.pattern == 2:
            a = np.sin(2 * np.pi * f * ss * 1.6) > 0
        elif g.pattern == 3:
            a = (np.sin(2 * np.pi * f * tt * 1.6) > 0) ^ (np.sin(2 * np.pi * f * ss * 1.6) > 0)
        else:
            a = ss > 0
        alt |= m & a

    # Occluders, in front of everything.
    if it.occlusion == 1:
        width = 0.3 + 0.5 * it.occ_size
        c = (it.occ_pos - 0.5) * 0.6
        box = (v > 1 - it.occ_size * 0.9) & (np.abs(x - c * (w / h)) < width * (w / h) / 2)
        lab[box] = OCCLUDER
    elif it.occlusion == 2:
        c = (it.occ_pos - 0.5) * 0.8 * (w / h)
        lab[np.broadcast_to(np.abs(x - c) < 0.05 + 0.05 * it.occ_size, lab.shape)] = OCCLUDER
    return lab, alt, np.broadcast_to(s, lab.shape)
