"""What a trained T_I does, measured (notebooks 02-05): reconstructions, the latent
space, translations, the discriminators' verdicts and the unified spaces.

Each probe takes a T_I (:class:`d2rl_lib.models.translation.T_I`) and an ImageSet and
returns tensors or numbers; :mod:`d2rl_lib.course.viz` draws them and the notebooks tabulate
them. The gap measures they feed (the modality gap of a space of vectors) are in
:mod:`d2rl_lib.analysis.gap`.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

from . import gap
from ..data.records import INFRARED, VISIBLE, luminance, to_signed, to_uint8
from ..inputs import prepare_for
from ..methods import METHODS


def pick(images_of, pid: int, cam: int, index: int = 0) -> int:
    """Index in the ImageSet ``images_of`` of image ``index`` of identity ``pid`` in ``cam``."""
    idx = np.flatnonzero((images_of.pids == pid) & (images_of.cams == cam))
    if len(idx) == 0:
        raise ValueError(f"no image of identity {pid} in camera {cam}")
    return int(idx[min(index, len(idx) - 1)])


# -- within one modality: the autoencoders and the latent space (notebook 02) ----------------
@torch.no_grad()
def reconstruct(t_i: torch.nn.Module, images: torch.Tensor, infrared: bool) -> torch.Tensor:
    """G(E(image)) within one modality: uint8 [N, 3, H, W] -> float [N, C, H, W] in [-1, 1]."""
    t_i.eval()
    x = to_signed(images[:, :1] if infrared else images)
    E, G = (t_i.E_i, t_i.G_i) if infrared else (t_i.E_v, t_i.G_v)
    return G(E(x)[0], x)


@torch.no_grad()
def recon_l1(t_i: torch.nn.Module, data) -> Dict[str, float]:
    """Mean L1 (intensity units 0..1) of G_v(E_v(x)) against x and G_i(E_i(y)) against y
    over the ImageSet ``data``."""
    out = {}
    for name, mod in (("visible", VISIBLE), ("infrared", INFRARED)):
        imgs = data.images[torch.from_numpy(np.flatnonzero(data.modality == mod))]
        errs = []
        for i in range(0, len(imgs), 256):
            chunk = imgs[i:i + 256]
            target = to_signed(chunk[:, :1] if mod == INFRARED else chunk)
            errs.append((reconstruct(t_i, chunk, mod == INFRARED) - target).abs().mean((1, 2, 3)) / 2)
        out[name] = float(torch.cat(errs).mean())
    return out


@torch.no_grad()
def latent_walk(t_i: torch.nn.Module, start: torch.Tensor, end: torch.Tensor, start_ir: bool,
                end_ir: bool, steps: int = 7) -> Dict[str, torch.Tensor]:
    """Encode two uint8 images [3, H, W] (each with its own encoder) and decode the
    straight line between their codes, z_t = (1 - t) z_start + t z_end, with both
    generators (the images they map, for a spectral T_I, go the same way, an infrared one as
    three equal channels). Returns ``{"t":
    [steps], "visible": [steps, 3, H, W], "infrared": [steps, 1, H, W]}`` in [-1, 1]."""
    t_i.eval()
    codes, sources = [], []
    for img, ir in ((start, start_ir), (end, end_ir)):
        x = to_signed(img[None, :1] if ir else img[None])
        codes.append((t_i.E_i if ir else t_i.E_v)(x)[0])      # [1, 4c, H/2, W/2]
        sources.append(x.expand(-1, 3, -1, -1))               # [1, 3, H, W]
    ts = torch.linspace(0, 1, steps)
    line = lambda a, b: torch.cat([(1 - t) * a + t * b for t in ts])  # noqa: E731
    z, src = line(*codes), line(*sources)
    return {"t": ts, "visible": t_i.G_v(z, src), "infrared": t_i.G_i(z, src)}


@torch.no_grad()
def latent_sharing(t_i: torch.nn.Module, data, seed: int = 0) -> Dict[str, float]:
    """Is the latent space shared? For every visible image x of ``data``: the mean
    distance (RMS over code elements) from E_v(x) to E_i(y) for y = x's paired
    infrared twin (the same instant), and to E_i(y') for y' = the twin of a
    visible image of another identity. A shared space puts twins closer."""
    t_i.eval()
    vis = np.flatnonzero(data.modality == VISIBLE)
    rng = np.random.default_rng(seed)
    other = np.array([rng.choice(vis[data.pids[vis] != data.pids[i]]) for i in vis])
    dist_pair, dist_other = [], []
    for s in range(0, len(vis), 256):
        i, j = vis[s:s + 256], other[s:s + 256]
        z_v = t_i.E_v(to_signed(data.images[i]))[0]
        z_twin = t_i.E_i(to_signed(data.paired[i][:, :1]))[0]
        z_other = t_i.E_i(to_signed(data.paired[j][:, :1]))[0]
        dist_pair.append((z_v - z_twin).pow(2).mean((1, 2, 3)).sqrt())
        dist_other.append((z_v - z_other).pow(2).mean((1, 2, 3)).sqrt())
    p, o = float(torch.cat(dist_pair).mean()), float(torch.cat(dist_other).mean())
    return {"twin": p, "other identity": o, "ratio": p / o}


# -- across modalities: translations and the discriminators (notebook 03) ---------------------
TRANSLATION_COLUMNS = ["input", "translated", "true twin", "cycle"]


@torch.no_grad()
def translation_rows(t_i: torch.nn.Module, data, pid: int, vis_cam: int = 1, ir_cam: int = 3,
                     index: int = 0) -> List[List[torch.Tensor]]:
    """Two rows of uint8-able images for one identity (columns :data:`TRANSLATION_COLUMNS`):
    visible x, G_i(E_v(x)), x's true infrared twin, G_v(E_i(G_i(E_v(x)))) (the cycle);
    infrared y, G_v(E_i(y)), y's true visible twin, the cycle of y."""
    t_i.eval()
    iv, ii = pick(data, pid, vis_cam, index), pick(data, pid, ir_cam, index)
    x = to_signed(data.images[iv:iv + 1])                     # [1, 3, H, W]
    y = to_signed(data.images[ii:ii + 1, :1])                 # [1, 1, H, W]
    x_vi, y_iv = t_i.v2i(x), t_i.i2v(y)
    three = lambda a: to_uint8(a.expand(-1, 3, -1, -1))[0]    # noqa: E731 - [1, C, H, W] -> [3, H, W]
    twin = lambda i: data.paired[i] if data.paired is not None else torch.zeros_like(data.images[i])  # noqa: E731
    row_v = [three(x), three(x_vi), twin(iv), three(t_i.i2v(x_vi))]
    row_i = [three(y), three(y_iv), twin(ii), three(t_i.v2i(y_iv))]
    return [row_v, row_i]


@torch.no_grad()
def discriminator_scores(t_i: torch.nn.Module, data, batch: int = 256) -> Dict[str, float]:
    """What D_i and D_v say about the test images: the mean patch score (LSGAN: 1 real,
    0 fake) and the fraction of patches called real (score > 0.5), for real images and
    for translated ones."""
    t_i.eval()
    vis = torch.from_numpy(np.flatnonzero(data.modality == VISIBLE))
    ir = torch.from_numpy(np.flatnonzero(data.modality == INFRARED))
    acc: Dict[str, list] = {k: [] for k in ("D_i real", "D_i translated", "D_v real", "D_v translated")}
    for s in range(0, max(len(vis), len(ir)), batch):
        x = to_signed(data.images[vis[s:s + batch]])
        y = to_signed(data.images[ir[s:s + batch]][:, :1])
        if len(x):
            acc["D_v real"] += [o.flatten() for o in t_i.D_v(x)]
            acc["D_i translated"] += [o.flatten() for o in t_i.D_i(t_i.v2i(x))]
        if len(y):
            acc["D_i real"] += [o.flatten() for o in t_i.D_i(y)]
            acc["D_v translated"] += [o.flatten() for o in t_i.D_v(t_i.i2v(y))]
    out = {}
    for k, v in acc.items():
        s = torch.cat(v)
        out[k] = {"mean score": float(s.mean()), "called real": float((s > 0.5).float().mean())}
    return out


def grey_vs_infrared(data, max_pixels: int = 20000, seed: int = 0) -> Dict[str, np.ndarray]:
    """The reference a translation is measured against, with no T_I at all: the person's
    pixels of the visible images in grey (luma) against the same pixels of their hidden
    infrared twins: ``{"grey", "infrared"}`` (0..1, a random sample of at most
    ``max_pixels``) and ``"r"``, the Pearson correlation over all of them."""
    vis = torch.from_numpy(np.flatnonzero(data.modality == VISIBLE))
    grey = luminance(data.images[vis].float() / 255)[:, 0]          # [N, H, W]
    ir = data.paired[vis][:, 0].float() / 255                       # [N, H, W]
    m = data.masks[vis][:, 0]
    g, t = grey[m].numpy(), ir[m].numpy()
    r = float(np.corrcoef(g, t)[0, 1])
    idx = np.random.default_rng(seed).choice(len(g), min(max_pixels, len(g)), replace=False)
    return {"grey": g[idx], "infrared": t[idx], "r": r}


# -- the unified space (notebooks 04, 05) -----------------------------------------------------
# The unifications notebooks 04 and 05 compare, each named by the method whose images it makes.
UNIFICATIONS = {"raw": "baseline", "grey": "grayscale", "multi-spectral": "d2rl-frozen",
                "all infrared": "unify-ir", "all visible": "unify-visible"}


def unification_transform(t_i: Optional[torch.nn.Module], name: str) -> Callable:
    """The input transform (uint8 images, modality -> float images) of a unification in
    :data:`UNIFICATIONS`: ``raw`` (none), ``grey`` (visible to grey, no learning), or one of
    T_I's three (``t_i`` given)."""
    return prepare_for(METHODS[UNIFICATIONS[name]], t_i)


def space_gaps(t_i: Optional[torch.nn.Module], data, names: Sequence[str], seed: int = 0,
               reference: str = "raw") -> Dict[str, dict]:
    """The gap measures (:func:`d2rl_lib.analysis.gap.gap_measures`) of the pixel vectors of ``data``'s
    images under each unification in ``names`` (see :func:`unification_transform`), with the
    ratio's bootstrap interval over identities (``ratio_low``, ``ratio_high``) and, when
    ``reference`` is among ``names``, ``vs_reference``: :func:`d2rl_lib.analysis.gap.change`
    from the reference's ratio to this one (paired draws: the same people resampled)."""
    out, draws = {}, {}
    for name in names:
        v = gap.pixel_vectors(data.images, data.modality, unification_transform(t_i, name))
        out[name], draws[name] = gap.gap_measures_with_draws(v, data.pids, data.modality, seed)
    if reference in draws:
        for name in names:
            out[name]["vs_reference"] = gap.change(draws[reference], draws[name])
    return out
