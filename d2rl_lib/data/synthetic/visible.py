"""Visible rendering: albedo x light x shading, over the camera's background.

Colour is the strongest visible cue and it does not survive into the infrared
(only each dye's darkness does, see ``thermal.py``).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .cameras import Camera, jitter_light
from .geometry import N_LABELS, OCCLUDER, Instant, _grid, one_row, palette_codes
from .people import BAG, BG, BOTTOM, HAIR, HAT, MATERIAL_NAMES, MATERIALS, SHOES, SKIN, TOP, Person


def part_albedo(p: Person) -> dict:
    """Per part: (first dye, second dye, sheen) in linear RGB."""
    out = {SKIN: (p.skin, p.skin, 0.0), HAIR: (p.hair, p.hair, 0.05)}
    for part, g in ((TOP, p.top), (BOTTOM, p.bottom), (SHOES, p.shoes), (BAG, p.bag_item),
                    (HAT, p.hat_item)):
        out[part] = (g.dye, g.dye2, MATERIALS[MATERIAL_NAMES[g.material]][2])
    return out


@lru_cache(maxsize=None)
def _tones(cam: Camera):
    """The camera's (upper, lower) background tones as float32 colour columns [3, 1, 1]."""
    upper, lower = (cam.background, cam.background2) if cam.indoor else (cam.background2, cam.background)
    return np.asarray(upper, np.float32)[:, None, None], np.asarray(lower, np.float32)[:, None, None]


def background(cam: Camera, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """[H, W, 3] background albedo: wall over floor indoors, ground under sky outdoors.

    Stored as three colour planes ([3, H, W], returned transposed) so that the
    renderer works on contiguous planes."""
    v = _grid(h, w)[0]                                # pixel-centre heights [H, 1]
    horizon = rng.uniform(0.55, 0.75) if cam.indoor else rng.uniform(0.3, 0.45)
    upper, lower = _tones(cam)
    planes = np.empty((3, h, w), np.float32)
    planes[...] = np.where(v < horizon, upper, lower)
    # A few vertical structures (doors, trees, posts) in the camera's tones.
    for _ in range(int(rng.integers(1, 4))):
        c0 = int(rng.integers(0, w))
        c1 = min(w, c0 + int(rng.integers(1, max(2, w // 5))))
        planes[:, : int(h * horizon), c0:c1] *= rng.uniform(0.6, 1.3)
    return planes.transpose(1, 2, 0)


def render_visible(p: Person, it: Instant, cam: Camera, lab: np.ndarray, alt: np.ndarray,
                   s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """[H, W, 3] float image in 0..1 (before blur and noise)."""
    h, w = lab.shape
    bg = background(cam, h, w, rng).transpose(2, 0, 1)          # [3, H, W] planes
    # Each pixel takes its part's colour from a small palette indexed by the label
    # map: entry ``part`` holds the first dye, entry ``part + N_LABELS`` the second
    # (pattern) dye, so every part is painted in one pass.
    palette = np.zeros((3, 2 * N_LABELS), np.float32)
    sheen = np.zeros(2 * N_LABELS, np.float32)
    for part, (d1, d2, gloss) in part_albedo(p).items():
        palette[:, part], palette[:, part + N_LABELS] = d1, d2
        sheen[part] = sheen[part + N_LABELS] = gloss
    occ = lab == OCCLUDER
    occluded = occ.any()
    if occluded:
        palette[:, OCCLUDER] = rng.uniform(0.15, 0.7, size=3)
    body = (lab != BG) & ~occ
    code = palette_codes(lab, alt)
    s = one_row(s)
    # Sheen: glossy materials (and hair) shine towards the body's midline.
    gloss = np.take(sheen, code) * np.clip(1 - np.abs(s * 8), 0, 1)
    # Round-body shading: darker towards the silhouette's edges.
    shade = 1.0 - 0.35 * np.clip((s * 4.0) ** 2, 0, 1)
    light = jitter_light(cam, rng)
    colour = np.take(palette, code, axis=1)                     # [3, H, W]
    colour += gloss
    colour *= shade
    img = np.where(body, colour, bg)
    if occluded:                                                # flat colour, no shading
        img[:, occ] = palette[:, OCCLUDER, None]
    img = img * light[:, None, None]                            # float64 from here
    np.clip(img, 0, 1, out=img)
    return img.transpose(1, 2, 0)
