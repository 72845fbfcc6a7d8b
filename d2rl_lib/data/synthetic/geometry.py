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
N_LABELS = OCCLUDER + 1  # background, the seven parts and the occluder


def palette_codes(lab: np.ndarray, alt: np.ndarray) -> np.ndarray:
    """Each pixel's entry [H, W] in a renderer's palette of ``2 * N_LABELS`` values: entry
    ``part`` for a part's first dye, ``part + N_LABELS`` for its pattern's second dye, so a
    renderer paints every part in one pass (``np.take(palette, codes)``)."""
    return (lab + N_LABELS * np.asarray(alt, np.uint8)).astype(np.intp)


def one_row(s: np.ndarray) -> np.ndarray:
    """``label_map``'s body coordinate s is one row broadcast down the image: that row
    [1, W] (broadcasts the same), else ``s`` itself."""
    return s[:1] if s.strides[0] == 0 else s


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
    # = rng.choice([0, 0, 0, 1, 2]): the same single draw, without choice's overhead
    occ = (0, 0, 0, 1, 2)[int(rng.integers(0, 5))]
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


def _rows(r: np.ndarray) -> slice:
    """The smallest run of rows that holds every True of a row condition ([H, 1])."""
    idx = np.flatnonzero(r)
    return slice(int(idx[0]), int(idx[-1]) + 1) if idx.size else slice(0, 0)


_SIGNS = np.array([-1.0, 1.0], np.float32)[:, None, None]  # left and right


class _Bands:
    """Rows of the image by the body coordinate t, a column [H, 1] that grows down
    the image: ``rows(a, b)`` is the run of rows where a <= t < b (t compared in
    float32, as ``t >= a`` and ``t < b`` do). A part is drawn on its rows alone."""

    def __init__(self, t: np.ndarray, cuts):
        # t never decreases down the image, so the rows where t < a are the first
        # searchsorted(t, a) rows (one search for all the cuts a part may use).
        at = np.searchsorted(t[:, 0], np.asarray(cuts, np.float32))
        self.at = dict(zip(cuts, at.tolist()))

    def rows(self, a: float, b: float) -> slice:
        return slice(self.at[a], max(self.at[a], self.at[b]))


def _paint(lab: np.ndarray, band: slice, mask: np.ndarray, value) -> None:
    """``lab[band][mask] = value``; ``value`` may be one label per row ([n, 1])."""
    np.copyto(lab[band], value, where=mask)


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
    spread = (0.02 + 0.05 * it.stride) * (1.6 if side else 1.0)
    leg_w = 0.045
    knee = hip + 0.45 * (1 - hip)
    arm_w = 0.035
    arm_end = hip + 0.08
    arm_len = arm_end - (neck + 0.02)
    sleeve_end = neck + 0.02 + p.sleeves * arm_len * 0.9
    # t is a column [H, 1] and s a row [1, W]: each part below is a test on (t, s),
    # made on the rows its t-range allows (``_Bands``) and painted over the earlier ones.
    bands = _Bands(t, (hip, 0.96, 0.95, neck, hip + 0.04, neck + 0.02, arm_end, rh * 1.5, neck + 0.01,
                       rh, neck + 0.12, -0.01, rh * 0.75, neck + 0.03, hip - 0.02, hip - 0.03, hip - 0.08,
                       hip - 0.05, hip + 0.1, hip))
    tops = np.uint8(TOP)
    abs_s = np.abs(s)

    # Legs and shoes: the left (sign -1) and right (+1) leg tested together, painted in turn.
    legs = bands.rows(hip, 0.96)
    feet = slice(bands.at[0.95], int(np.searchsorted(t[:, 0], np.float32(1.0), "right")))  # 0.95 <= t <= 1
    off = leg_w * 0.9 + spread * (t - hip) / (1 - hip)   # leg centre |c| down the body
    leg = np.abs(s - off[legs] * _SIGNS) < leg_w                           # [2, rows, W]
    shoe = np.abs(s - off[feet] * _SIGNS - 0.015 * turn * side) < leg_w * 1.25
    # Below the knee: trousers, or bare legs under shorts.
    leg_part = np.where(t[legs] < knee, np.uint8(BOTTOM), np.uint8(SKIN)) if p.shorts else np.uint8(BOTTOM)
    for k in (0, 1):
        _paint(lab, legs, leg[k], leg_part)
        _paint(lab, feet, shoe[k], SHOES)
    # Torso (tapers to the hip), with the top garment.
    torso = bands.rows(neck, hip + 0.04)
    t_torso = t[torso]
    torso_half = half * (1 - 0.25 * np.clip((t_torso - neck) / (hip - neck), 0, 1))
    _paint(lab, torso, abs_s < torso_half, np.where(t_torso < hip - 0.02, tops, np.uint8(BOTTOM)))
    # Arms: beside the torso from the front/back, one swinging arm from the side.
    arms = bands.rows(neck + 0.02, arm_end)
    t_arm = t[arms]
    if side:
        swing = (it.stride - 0.5) * 0.12
        centres = [swing * (t_arm - neck) / arm_len]
    else:
        centres = [-(half + arm_w * 0.8), half + arm_w * 0.8]
    arm_part = np.where(t_arm < sleeve_end, tops, np.uint8(SKIN))   # sleeve, then bare arm
    for c in centres:
        _paint(lab, arms, np.abs(s - c) < arm_w, arm_part)
    # Neck, head, hair.
    _paint(lab, bands.rows(rh * 1.5, neck + 0.01), abs_s < rh * 0.5, SKIN)
    # The head and the hair are discs around t = rh: only the rows where
    # (t - rh)^2 < hair_r^2 can hold them.
    hair_r = rh * 1.08
    d2 = (t - rh) ** 2
    cap = _rows(d2 < hair_r ** 2)
    tc, lc, d2 = t[cap], lab[cap], d2[cap]
    head = d2 + (s - 0.15 * rh * turn * side) ** 2 < rh ** 2
    lc[head] = SKIN
    hair = d2 + s ** 2 < hair_r ** 2
    if it.view == BACK:
        lc[hair] = HAIR
    elif side:
        lc[hair & ((tc < rh * 0.9) | (s * turn < -0.2 * rh))] = HAIR
    else:
        lc[hair & (tc < rh * 0.8)] = HAIR
    if p.long_hair:
        long = bands.rows(rh, neck + 0.12)
        if it.view == BACK:
            _paint(lab, long, abs_s < rh * 1.05, HAIR)
        else:
            not_head = np.ones((h, w), dtype=bool)
            not_head[cap] = ~head
            _paint(lab, long, (abs_s < rh * 1.05) & (abs_s > rh * 0.7) & not_head[long], HAIR)
    # Hat.
    if p.hat:
        _paint(lab, bands.rows(-0.01, rh * 0.75), abs_s < rh * 1.2, HAT)
    # Bags.
    if p.bag == 1:  # backpack
        if it.view == BACK:
            _paint(lab, bands.rows(neck + 0.03, hip - 0.02), (s >= -half * 0.8) & (s < half * 0.8), BAG)
        elif side:
            sb = s * -turn
            _paint(lab, bands.rows(neck + 0.03, hip - 0.03), (sb >= half * 0.8) & (sb < half * 0.8 + 0.09), BAG)
        else:
            for sign in (-1.0, 1.0):
                sb = s * sign
                _paint(lab, bands.rows(neck, hip - 0.08), (sb >= half * 0.45) & (sb < half * 0.45 + 0.025), BAG)
    elif p.bag == 2:  # shoulder bag on the right hip, strap across the chest
        bag_s = (half + 0.02) * (0.5 if side else 1.0) * (1 if it.view != BACK else -1)
        _paint(lab, bands.rows(hip - 0.05, hip + 0.1), (s >= bag_s - 0.06) & (s < bag_s + 0.06), BAG)
        chest = bands.rows(neck, hip)
        strap = np.abs((s - (-half * 0.7)) / (2 * half * 0.85) - (t[chest] - neck) / (hip - neck)) < 0.06
        _paint(lab, chest, strap & (abs_s < half), BAG)

    # Pattern of the garments: which pixels take the second dye. Stripes along t
    # depend on the row only and stripes along s on the column only: each is
    # computed on its row or column and broadcast.
    f_top, f_bot = p.top.pattern_freq, p.bottom.pattern_freq
    for part, g, f in ((TOP, p.top, f_top), (BOTTOM, p.bottom, f_bot), (BAG, p.bag_item, 6.0)):
        if g.pattern == 0:
            continue
        m = lab == part
        if not m.any():
            continue
        if g.pattern == 1:
            a = np.sin(2 * np.pi * f * t * 1.6) > 0
        elif g.pattern == 2:
            a = np.sin(2 * np.pi * f * s * 1.6) > 0
        elif g.pattern == 3:
            a = (np.sin(2 * np.pi * f * t * 1.6) > 0) ^ (np.sin(2 * np.pi * f * s * 1.6) > 0)
        else:
            a = s > 0
        alt |= m & a

    # Occluders, in front of everything.
    if it.occlusion == 1:
        width = 0.3 + 0.5 * it.occ_size
        c = (it.occ_pos - 0.5) * 0.6
        box = (v > 1 - it.occ_size * 0.9) & (np.abs(x - c * (w / h)) < width * (w / h) / 2)
        lab[box] = OCCLUDER
    elif it.occlusion == 2:
        c = (it.occ_pos - 0.5) * 0.8 * (w / h)
        lab[:, (np.abs(x - c) < 0.05 + 0.05 * it.occ_size)[0]] = OCCLUDER
    return lab, alt, np.broadcast_to(s, lab.shape)
