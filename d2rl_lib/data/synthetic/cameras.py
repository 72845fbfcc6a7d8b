"""The six cameras of the synthetic world, modelled on SYSU-MM01.

| cam | modality | place (as SYSU-MM01)                  |
|-----|----------|---------------------------------------|
| 1   | visible  | indoor, room 1, warm light            |
| 2   | visible  | indoor, room 2, cool fluorescent light |
| 3   | infrared | indoor, room 2, dark (same room as 2) |
| 4   | visible  | outdoor, gate, daylight               |
| 5   | visible  | outdoor, garden, green shade          |
| 6   | infrared | outdoor passage, cold night           |

A visible camera has a light colour and strength and a background; an
infrared camera has a gain and its own noise, and, as a thermal camera
(``data.ir_model=thermal``), an ambient temperature, or, as a near-infrared
camera with its own illuminator (``nir``, the default), the illuminator's
strength, some stray light and how dim the far background stays.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

import numpy as np

from ..records import INFRARED, SYSU_CAMS, SYSU_VISIBLE_CAMS, VISIBLE


@dataclass(frozen=True, kw_only=True)
class Camera:
    """One camera; each names the fields of its own modality (the others keep their defaults)."""

    cam: int
    modality: int
    indoor: bool
    paired_cam: int                                 # the camera of the other modality at the same place
    noise: float                                    # sensor noise (std, 0..1 units)
    light: Tuple[float, float, float] = (0, 0, 0)   # visible: RGB illumination (colour cast x strength)
    background: Tuple[float, float, float] = (0, 0, 0)   # visible: wall / ground albedo
    background2: Tuple[float, float, float] = (0, 0, 0)  # visible: second background tone (floor, sky)
    ambient: float = 0.0                            # infrared: background temperature, 0..1
    gain: float = 0.0                               # infrared: sensor gain
    nir_spot: float = 0.0                           # near-infrared: illuminator strength at the person
    nir_stray: float = 0.0                          # near-infrared: stray light everywhere
    nir_far: float = 0.0                            # near-infrared: share of the light the far background gets


CAMERAS: Dict[int, Camera] = {
    1: Camera(cam=1, modality=VISIBLE, indoor=True, paired_cam=3, noise=0.02, light=(1.05, 0.95, 0.80),
              background=(0.75, 0.68, 0.55), background2=(0.45, 0.35, 0.28)),
    2: Camera(cam=2, modality=VISIBLE, indoor=True, paired_cam=3, noise=0.02, light=(0.88, 0.98, 1.08),
              background=(0.62, 0.66, 0.70), background2=(0.30, 0.32, 0.36)),
    3: Camera(cam=3, modality=INFRARED, indoor=True, paired_cam=2, noise=0.025, ambient=0.28, gain=1.0,
              nir_spot=0.90, nir_stray=0.10, nir_far=0.45),
    4: Camera(cam=4, modality=VISIBLE, indoor=False, paired_cam=6, noise=0.02, light=(1.15, 1.12, 1.05),
              background=(0.55, 0.55, 0.52), background2=(0.70, 0.80, 0.95)),
    5: Camera(cam=5, modality=VISIBLE, indoor=False, paired_cam=6, noise=0.025, light=(0.85, 0.98, 0.80),
              background=(0.25, 0.45, 0.20), background2=(0.40, 0.55, 0.35)),
    6: Camera(cam=6, modality=INFRARED, indoor=False, paired_cam=4, noise=0.03, ambient=0.22, gain=1.08,
              nir_spot=0.95, nir_stray=0.05, nir_far=0.30),
}
assert tuple(CAMERAS) == SYSU_CAMS and all(
    (c.modality == VISIBLE) == (n in SYSU_VISIBLE_CAMS) for n, c in CAMERAS.items())


def jitter_light(cam: Camera, rng: np.random.Generator) -> np.ndarray:
    """Per-image variation of a visible camera's light: strength and slight colour."""
    return np.asarray(cam.light) * rng.uniform(0.8, 1.15) * rng.uniform(0.95, 1.05, size=3)
