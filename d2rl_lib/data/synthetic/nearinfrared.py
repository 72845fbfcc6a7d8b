r"""The near-infrared camera model (``data.ir_model="nir"``, the default): what SYSU-MM01's
infrared cameras 3 and 6 see.

They are not thermal cameras. An illuminator of about 850 nm beside the lens lights the
scene, and the sensor sees the light each surface *reflects* at that wavelength:

.. math::  I = g \cdot L(u, v) \cdot \rho_{nir} \cdot s + n

with camera gain ``g``, the illumination ``L`` (a spot centred where the lens points,
brightest in the middle, plus a little stray light; the far background gets only a
fraction of it, as light falls off with distance), the surface's near-infrared
reflectance ``rho_nir``, the round body's shading ``s`` and sensor noise ``n`` (then the
optics' blur). The reflectances (constants below, reasons in DECISIONS.md):

- **skin** reflects strongly at 850 nm whatever its visible tone (melanin absorbs little
  there): ``0.55 + 0.3 luminance(skin)``.
- **hair** by its melanin: ``0.12 + 0.6 luminance(hair)``: dark hair darker, never black.
- **a garment**: most dyes are transparent in the near infrared from the red end on, so
  the fabric's reflectance follows mostly the dye's red end, an order that is not the
  visible luminance (red and yellow bright, blue and green dark):
  ``(0.10 + 0.85 (0.75 R + 0.2 G + 0.05 B)) * material + hidden / 2``, with a factor per
  material (leather and denim lower) and the garment's hidden offset (finish, carbon
  content: :attr:`~d2rl_lib.data.synthetic.people.Garment.hidden_offset`, spread
  ``data.ir_hidden_sd``), which no translator can know. A pattern survives where its two
  dyes differ at the red end.
- **background** walls and ground: a grey reflectance with a few structures, lit by what
  reaches that far.

So a visible pixel's colour already tells most of its near-infrared intensity: plain grey
is a fair translation, and a translator that learns the red-end weights, bright skin and
the dim background does better (notebook 03). Compare ``thermal.py`` (RegDB's thermal
sensor), where colour says almost nothing.

As in ``thermal.py``, two :class:`~d2rl_lib.data.synthetic.world.WorldSpec` switches
(``d2rl_lib.analysis.ceilings.translation_ceiling``, notebook 03) take parts away:
``average_materials`` (every fabric factor the average one) and ``dye_response``
(``"reversed"``: dyes dark at the red end bright; ``"blind"``: every dye in the middle).
"""
from __future__ import annotations

import numpy as np

from ..records import LUMA
from .cameras import Camera
from .geometry import N_LABELS, OCCLUDER, _grid, one_row, palette_codes
from .people import BAG, BG, BOTTOM, HAIR, HAT, MATERIAL_NAMES, SHOES, SKIN, TOP, Garment, Person, dye_effect

DYE_NIR = np.array([0.75, 0.20, 0.05])   # a dye's near-infrared response: mostly its red end
# Reflectance factor of the fabric itself (cotton = 1): leather and denim (indigo) lower.
MATERIAL_NIR = {"cotton": 1.00, "wool": 0.93, "synthetic": 1.06, "leather": 0.80, "denim": 0.90}
SKIN_NIR = (0.55, 0.30)                  # skin: base + slope x visible luminance
HAIR_NIR = (0.12, 0.60)                  # hair: base + slope x visible luminance
BACKGROUND_NIR = (0.35, 0.25)            # wall / ground reflectance (upper, lower part)
SPOT_WIDTH = 0.45                        # the illuminator's spot: Gaussian sigma, frame heights
AVERAGE_MATERIAL_NIR = float(np.mean(list(MATERIAL_NIR.values())))   # WorldSpec.average_materials


def dye_reflectance(dye: np.ndarray) -> float:
    """0..1: how much of the illuminator's light a dye lets the fabric return."""
    return float(dye @ DYE_NIR)


def garment_reflectance(g: Garment, dye: np.ndarray, average_materials: bool = False,
                        dye_mode: str = "world") -> float:
    """A garment's near-infrared reflectance for one of its dyes (module docstring)."""
    base = 0.10 + 0.85 * dye_effect(dye_reflectance(dye), dye_mode)
    factor = AVERAGE_MATERIAL_NIR if average_materials else MATERIAL_NIR[MATERIAL_NAMES[g.material]]
    return base * factor + 0.5 * g.hidden_offset


def illumination(cam: Camera, h: int, w: int, strength: float) -> np.ndarray:
    """[H, W] light reaching a surface at the person's distance: the spot plus stray light."""
    v, x = _grid(h, w)                                            # [H, 1], [1, W]
    r2 = (v - 0.5) ** 2 + x ** 2
    return cam.nir_stray + strength * np.exp(-0.5 * r2 / SPOT_WIDTH ** 2)


def render_nir(p: Person, cam: Camera, lab: np.ndarray, alt: np.ndarray, s: np.ndarray,
               rng: np.random.Generator, average_materials: bool = False,
               dye_response: str = "world") -> np.ndarray:
    """[H, W] float image in 0..1 (before blur and noise); ``average_materials`` and
    ``dye_response`` as the :class:`~d2rl_lib.data.synthetic.world.WorldSpec` fields."""
    h, w = lab.shape
    light = illumination(cam, h, w, cam.nir_spot * rng.uniform(0.9, 1.1))  # auto-exposure jitter
    v = _grid(h, w)[0]
    horizon = rng.uniform(0.55, 0.75) if cam.indoor else rng.uniform(0.3, 0.45)
    back = np.where(v < horizon, *BACKGROUND_NIR).astype(np.float32) * np.ones((1, w), np.float32)
    for _ in range(int(rng.integers(1, 4))):                      # doors, posts, trees
        c0 = int(rng.integers(0, w))
        c1 = min(w, c0 + int(rng.integers(1, max(2, w // 5))))
        back[: int(h * horizon), c0:c1] *= rng.uniform(0.6, 1.3)
    img = back * light * cam.nir_far                              # far away: dimly lit
    # Reflectance per label, painted in one pass (geometry.palette_codes), as the thermal
    # renderer does: entry ``part`` for the first dye, ``part + n`` for a pattern's second.
    n = N_LABELS
    refl = np.zeros(2 * n, np.float32)
    refl[SKIN] = refl[SKIN + n] = SKIN_NIR[0] + SKIN_NIR[1] * float(p.skin @ LUMA)
    refl[HAIR] = refl[HAIR + n] = HAIR_NIR[0] + HAIR_NIR[1] * float(p.hair @ LUMA)
    for part, g in ((TOP, p.top), (BOTTOM, p.bottom), (SHOES, p.shoes), (BAG, p.bag_item),
                    (HAT, p.hat_item)):
        refl[part] = garment_reflectance(g, g.dye, average_materials, dye_response)
        if g.pattern:
            refl[part + n] = garment_reflectance(g, g.dye2, average_materials, dye_response)
    occ = lab == OCCLUDER
    body = (lab != BG) & ~occ
    shade = 1.0 - 0.35 * np.clip((one_row(s) * 4.0) ** 2, 0, 1)  # lit from the lens: round body
    img = np.where(body, np.take(refl, palette_codes(lab, alt)) * shade * light, img)
    if occ.any():                                                 # an object in front: flat, lit
        img[occ] = rng.uniform(0.15, 0.6) * light[occ]
    return np.clip(cam.gain * img, 0, 1)

