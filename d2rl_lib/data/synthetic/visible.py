"""Visible rendering: albedo x light x shading, over the camera's background.

Colour is the strongest visible cue and it does not survive into the infrared
(only each dye's darkness does, see ``infrared.py``).
"""
from __future__ import annotations

import numpy as np

from .cameras import Camera, jitter_light
from .geometry import OCCLUDER, Instant
from .people import BAG, BG, BOTTOM, HAIR, HAT, MATERIAL_NAMES, MATERIALS, SHOES, SKIN, TOP, Person


def part_albedo(p: Person) -> dict:
    """Per part: (first dye, second dye, sheen) in linear RGB."""
    out = {SKIN: (p.skin, p.skin, 0.0), HAIR: (p.hair, p.hair, 0.05)}
    for part, g in ((TOP, p.top), (BOTTOM, p.bottom), (SHOES, p.shoes), (BAG, p.bag_item),
                    (HAT, p.hat_item)):
        out[part] = (g.dye, g.dye2, MATERIALS[MATERIAL_NAMES[g.material]][2])
    return out


def background(cam: Camera, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """[H, W, 3] background albedo: wall over floor indoors, ground under sky outdoors."""
    v = (np.arange(h, dtype=np.float32)[:, None, None] + 0.5) / h
    horizon = rng.uniform(0.55, 0.75) if cam.indoor else rng.uniform(0.3, 0.45)
    upper, lower = (cam.background, cam.background2) if cam.indoor else (cam.background2, cam.background)
    img = np.where(v < horizon, np.asarray(upper, np.float32), np.asarray(lower, np.float32))
    img = np.broadcast_to(img, (h, w, 3)).copy()
    # A few vertical structures (doors, trees, posts) in the camera's tones.
    for _ in range(int(rng.integers(1, 4))):
        c0 = int(rng.integers(0, w))
        c1 = min(w, c0 + int(rng.integers(1, max(2, w // 5))))
        img[: int(h * horizon), c0:c1] *= rng.uniform(0.6, 1.3)
    return img


def render_visible(p: Person, it: Instant, cam: Camera, lab: np.ndarray, alt: np.ndarray,
                   s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """[H, W, 3] float image in 0..1 (before blur and noise)."""
    h, w = lab.shape
    img = background(cam, h, w, rng)
    albedo = part_albedo(p)
    for part, (d1, d2, sheen) in albedo.items():
        m = lab == part
        if m.any():
            img[m & ~alt] = d1
            img[m & alt] = d2
            if sheen:
                img[m] += sheen * np.clip(1 - np.abs(s[m] * 8), 0, 1)[:, None]
    occ = lab == OCCLUDER
    if occ.any():
        img[occ] = rng.uniform(0.15, 0.7, size=3)
    # Round-body shading: darker towards the silhouette's edges.
    body = (lab != BG) & ~occ
    shade = np.ones((h, w), np.float32)
    shade[body] = 1.0 - 0.35 * np.clip((s[body] * 4.0) ** 2, 0, 1)
    light = jitter_light(cam, rng)
    return np.clip(img * shade[..., None] * light, 0, 1)
