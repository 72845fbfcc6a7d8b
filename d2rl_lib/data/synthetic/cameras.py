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

from ..records import INFRARED, VISIBLE


@dataclass(frozen=True)
class Camera:
    cam: int
    modality: int
    indoor: bool
    light: Tuple[float, float, float]      # visible: RGB illumination (colour cast x strength)
    background: Tuple[float, float, float]  # visible: wall / ground albedo
    background2: Tuple[float, float, float]  # visible: second background tone (floor, sky)
    ambient: float                          # infrared: background temperature, 0..1
    gain: float                             # infrared: sensor gain
    noise: float                            # sensor noise (std, 0..1 units)
    paired_cam: int                         # the camera of the other modality at the same place
    nir_spot: float = 0.0                   # near-infrared: illuminator strength at the person
    nir_stray: float = 0.0                  # near-infrared: stray light everywhere
    nir_far: float = 0.0                    # near-infrared: share of the light the far background gets


CAMERAS: Dict[int, Camera] = {
    1: Camera(1, VISIBLE, True, (1.05, 0.95, 0.80), (0.75, 0.68, 0.55), (0.45, 0.35, 0.28), 0, 0, 0.02, 3),
    2: Camera(2, VISIBLE, True, (0.88, 0.98, 1.08), (0.62, 0.66, 0.70), (0.30, 0.32, 0.36), 0, 0, 0.02, 3),
    3: Camera(3, INFRARED, True, (0, 0, 0), (0, 0, 0), (0, 0, 0), 0.28, 1.0, 0.025, 2, 0.90, 0.10, 0.45),
    4: Camera(4, VISIBLE, False, (1.15, 1.12, 1.05), (0.55, 0.55, 0.52), (0.70, 0.80, 0.95), 0, 0, 0.02, 6),
    5: Camera(5, VISIBLE, False, (0.85, 0.98, 0.80), (0.25, 0.45, 0.20), (0.40, 0.55, 0.35), 0, 0, 0.025, 6),
    6: Camera(6, INFRARED, False, (0, 0, 0), (0, 0, 0), (0, 0, 0), 0.22, 1.08, 0.03, 4, 0.95, 0.05, 0.30),
}
VISIBLE_CAMS = (1, 2, 4, 5)
INFRARED_CAMS = (3, 6)


def camera(cam: int) -> Camera:
    return CAMERAS[cam]


def jitter_light(cam: Camera, rng: np.random.Generator) -> np.ndarray:
    """Per-image variation of a visible camera's light: strength and slight colour."""
    return np.asarray(cam.light) * rng.uniform(0.8, 1.15) * rng.uniform(0.95, 1.05, size=3)
