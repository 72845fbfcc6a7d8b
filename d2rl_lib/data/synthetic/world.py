"""The synthetic visible-infrared person world: identities x cameras x images.

``load_synthetic(cfg.data)`` is what the trainers and notebooks call: it renders
(or loads from the cache) every image of the train and test identities in all
six cameras, each with its *paired* twin, the same instant seen in the other
modality, and the person's silhouette mask. Pairs are never used for training;
they measure translation fidelity, which no real dataset allows (notebook 03).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import torch
from scipy.ndimage import correlate1d

from ...errors import UserError
from ...runtime import load_checkpoint, save_checkpoint
from ..records import INFRARED, SYSU_CAMS, SYSU_INFRARED_CAMS, VISIBLE, ImageSet
from .cameras import CAMERAS
from .geometry import OCCLUDER, Instant, label_map, random_instant
from .thermal import hue_table, render_thermal
from .nearinfrared import render_nir
from .people import BG, HIDDEN_HEAT_SD, Person, make_person
from .visible import render_visible

RENDER_VERSION = 3  # bump when the renderer changes: invalidates the disk cache
IR_MODELS = ("nir", "thermal", "hue-lookup")   # data.ir_model: nearinfrared.py, thermal.py
DYE_RESPONSES = ("world", "reversed", "blind")  # WorldSpec.dye_response


@dataclass(frozen=True)
class WorldSpec:
    """The settings that decide every pixel of the world.

    The last three take parts of the world away, to ask what a translator could know
    (``d2rl_lib.analysis.ceilings.translation_ceiling``, notebook 03); they are not in the data
    config, and their defaults are the world itself: ``sensor_noise=False`` renders
    without the cameras' noise, ``average_materials=True`` gives every garment the
    average material in the infrared (``thermal.py``, ``nearinfrared.py``; the visible
    image is unchanged), ``dye_response`` turns the dye's effect on the infrared round
    (``"reversed"``) or removes it (``"blind"``: every dye in the middle).
    """

    world_seed: int = 0
    train_ids: int = 64
    test_ids: int = 32
    images_per_camera: int = 6
    ir_model: str = "nir"
    height: int = 64
    width: int = 32
    ir_hidden_sd: float = HIDDEN_HEAT_SD
    sensor_noise: bool = True
    average_materials: bool = False
    dye_response: str = "world"

    @classmethod
    def from_config(cls, data) -> "WorldSpec":
        return cls(data.world_seed, data.train_ids, data.test_ids, data.images_per_camera,
                   data.ir_model, data.height, data.width, data.ir_hidden_sd)

    def validate(self) -> "WorldSpec":
        if self.train_ids < 2 or self.test_ids < 2:
            raise UserError(f"the synthetic world needs at least 2 train and 2 test identities "
                            f"(got data.train_ids={self.train_ids}, data.test_ids={self.test_ids})")
        if self.images_per_camera < 1:
            raise UserError(f"data.images_per_camera={self.images_per_camera}: must be >= 1")
        if self.height % 16 or self.width % 16 or self.height < 32 or self.width < 16:
            raise UserError(f"image size {self.height}x{self.width} is not valid: height and width "
                            f"must be multiples of 16, at least 32x16 (e.g. 64x32 or 128x64)")
        if self.ir_hidden_sd < 0:
            raise UserError(f"data.ir_hidden_sd={self.ir_hidden_sd}: must be >= 0 (0.08 by default)")
        if self.ir_model not in IR_MODELS:
            raise UserError(f"data.ir_model={self.ir_model!r}: choose one of {', '.join(IR_MODELS)}")
        if self.dye_response not in DYE_RESPONSES:
            raise UserError(f"dye_response={self.dye_response!r}: choose one of {', '.join(DYE_RESPONSES)}")
        return self

    def key(self) -> str:
        """The disk cache's name for this world: a hash of the render version and every field."""
        blob = json.dumps({"v": RENDER_VERSION, **self.__dict__}, sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:16]


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of standard deviation ``sigma`` pixels over the image's rows and
    columns (not its colour channels): ``scipy.ndimage.gaussian_filter(img, (sigma,
    sigma[, 0]))`` step by step, one kernel for both axes, same dtype as ``img``."""
    radius = int(4.0 * sigma + 0.5)               # gaussian_filter's truncate=4
    if radius == 0:                               # a one-tap kernel, [1.0]: no change
        return img.copy()
    x = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 / (sigma * sigma) * x ** 2)
    kernel = (kernel / kernel.sum())[::-1]
    tmp = np.empty_like(img)                      # keeps img's memory layout (colour planes)
    correlate1d(img, kernel, 0, tmp, "reflect", 0.0, 0)
    return correlate1d(tmp, kernel, 1, np.empty(img.shape, img.dtype), "reflect", 0.0, 0)


def _add_noise(img: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """``img + rng.normal(0, std, img.shape)`` (float64): the same draws, fewer passes."""
    noise = rng.standard_normal(img.shape)
    noise *= std
    noise += img
    return noise


def _to_uint8(img: np.ndarray) -> np.ndarray:
    """``(np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)``, in place on float ``img``."""
    np.clip(img, 0, 1, out=img)
    img *= 255
    img += 0.5
    return img.astype(np.uint8)


class SyntheticWorld:
    """People and cameras, rendered on demand, deterministically.

    ``render(pid, cam, index)`` draws image ``index`` of person ``pid`` in camera
    ``cam``; ``render(pid, cam, index, paired=True)`` draws the same instant as
    seen by the camera of the other modality at the same place.
    """

    def __init__(self, spec: WorldSpec):
        self.spec = spec.validate()
        self.table = hue_table(spec.world_seed)
        self._scene_memo = None   # the last (pid, cam, index), its instant and label map

    @lru_cache(maxsize=4096)
    def person(self, pid: int) -> Person:
        return make_person(pid, np.random.default_rng([self.spec.world_seed, pid, 1]),
                           self.spec.ir_hidden_sd)

    def instant(self, pid: int, cam: int, index: int) -> Instant:
        return random_instant(np.random.default_rng([self.spec.world_seed, pid, cam, index, 2]))

    def _scene(self, pid: int, cam: int, index: int):
        """The instant and its label map; an image and its paired twin (rendered one
        after the other by ``image_set``) share them, so the last one is kept."""
        memo = self._scene_memo
        if memo is None or memo[0] != (pid, cam, index):
            it = self.instant(pid, cam, index)
            lab = label_map(self.person(pid), it, self.spec.height, self.spec.width)
            memo = ((pid, cam, index), it, lab)
            self._scene_memo = memo
        return memo[1], memo[2]

    def render(self, pid: int, cam: int, index: int, paired: bool = False
               ) -> Tuple[np.ndarray, np.ndarray]:
        """uint8 image [H, W, 3] and the person's silhouette mask [H, W] (bool)."""
        h = self.spec.height
        p, (it, (lab, alt, s)) = self.person(pid), self._scene(pid, cam, index)
        view_cam = CAMERAS[CAMERAS[cam].paired_cam] if paired else CAMERAS[cam]
        rng = np.random.default_rng([self.spec.world_seed, pid, view_cam.cam, index, 3])
        sigma = it.blur * h / 64
        if view_cam.modality == VISIBLE:
            img = render_visible(p, it, view_cam, lab, alt, s, rng)
            if sigma > 0.05:
                img = _blur(img, sigma)
            if self.spec.sensor_noise:
                img = _add_noise(img, view_cam.noise, rng)
        else:
            spec = self.spec
            if spec.ir_model == "nir":
                ir, soft = render_nir(p, view_cam, lab, alt, s, rng, spec.average_materials,
                                      spec.dye_response), 1.0
            else:                                     # thermal optics are softer
                ir, soft = render_thermal(p, view_cam, lab, alt, s, rng, spec.ir_model, self.table,
                                           spec.average_materials, spec.dye_response), 1.15
            if sigma > 0.05:
                ir = _blur(ir, sigma * soft)
            img = _add_noise(ir, view_cam.noise, rng) if spec.sensor_noise else ir
        img = _to_uint8(img)
        if img.ndim == 2:  # infrared: the same intensity in the three channels
            img = np.repeat(img[..., None], 3, axis=2)
        mask = (lab != BG) & (lab != OCCLUDER)
        return img, mask

    def ids(self, split: str, val_ids: int = 0) -> range:
        """The identities of ``split``: "train" 1..n, "test" the next ``test_ids``, "val" the
        ``val_ids`` after those (people of the same world whom no run trains on or reports:
        the validation identities, ``data.val_ids``). Each person is drawn from (world seed,
        identity), so adding validation identities leaves the train and test images as they were."""
        n, t = self.spec.train_ids, self.spec.test_ids
        spans = {"train": (1, n), "test": (n + 1, t), "val": (n + t + 1, val_ids)}
        if split not in spans:
            raise ValueError(f"split {split!r}: train, test or val")
        first, count = spans[split]
        return range(first, first + count)

    def image_set(self, split: str, val_ids: int = 0) -> ImageSet:
        """Every image of the split's identities in all six cameras, with pairs and masks."""
        ids = list(self.ids(split, val_ids))
        k = self.spec.images_per_camera
        rows = [(pid, cam, i) for pid in ids for cam in SYSU_CAMS for i in range(k)]
        n, h, w = len(rows), self.spec.height, self.spec.width
        images = np.empty((n, h, w, 3), np.uint8)
        paired = np.empty((n, h, w, 3), np.uint8)
        masks = np.empty((n, h, w), bool)
        for j, (pid, cam, i) in enumerate(rows):
            images[j], masks[j] = self.render(pid, cam, i)
            paired[j], _ = self.render(pid, cam, i, paired=True)
        pids = np.array([r[0] for r in rows], np.int64)
        cams = np.array([r[1] for r in rows], np.int64)
        modality = np.where(np.isin(cams, SYSU_INFRARED_CAMS), INFRARED, VISIBLE).astype(np.int64)
        labels = (pids - ids[0]) if split == "train" else None
        return ImageSet(
            pids=pids, cams=cams, modality=modality,
            images=torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),
            paired=torch.from_numpy(paired).permute(0, 3, 1, 2).contiguous(),
            masks=torch.from_numpy(masks)[:, None],
            names=[f"cam{c}/{p:04d}/{i + 1:04d}.jpg" for p, c, i in rows],
            labels=labels,
            meta={"dataset": "synthetic", "split": split, "spec": dict(self.spec.__dict__)},
        )


@dataclass
class SyntheticData:
    train: ImageSet
    test: ImageSet
    world: SyntheticWorld


def default_cache_dir() -> Path:
    """``.cache/synthetic`` at the project root (a source checkout), else ~/.cache/d2rl."""
    root = Path(__file__).resolve().parents[3]
    if (root / "pyproject.toml").is_file():
        return root / ".cache" / "synthetic"
    return Path.home() / ".cache" / "d2rl" / "synthetic"


_MEMORY: dict = {}


def _pack(s: ImageSet) -> dict:
    return {"pids": torch.from_numpy(s.pids), "cams": torch.from_numpy(s.cams),
            "modality": torch.from_numpy(s.modality), "images": s.images, "paired": s.paired,
            "masks": s.masks, "names": s.names,
            "labels": None if s.labels is None else torch.from_numpy(s.labels)}


def _unpack(d: dict, meta: dict) -> ImageSet:
    return ImageSet(pids=d["pids"].numpy(), cams=d["cams"].numpy(), modality=d["modality"].numpy(),
                    images=d["images"], paired=d["paired"], masks=d["masks"], names=list(d["names"]),
                    labels=None if d["labels"] is None else d["labels"].numpy(), meta=meta)


def _disk_cached(path: Path, spec: WorldSpec, splits: Tuple[str, ...], render, use_cache: bool = True):
    """The ImageSets ``splits`` of ``spec``'s world stored at ``path``, or ``render()``-ed (a tuple
    in that order) and stored; a stale or corrupt file is rendered again."""
    meta = lambda split: {"dataset": "synthetic", "split": split, "spec": dict(spec.__dict__)}  # noqa: E731
    if use_cache and path.is_file():
        try:
            blob = load_checkpoint(path)
            return tuple(_unpack(blob[split], meta(split)) for split in splits)
        except (UserError, KeyError):
            pass
    sets = render()
    if use_cache:
        save_checkpoint({split: _pack(s) for split, s in zip(splits, sets)}, path)
    return sets


def load_synthetic(data, cache_dir: Optional[Path | str] = None, use_cache: bool = True) -> SyntheticData:
    """Render the world described by ``data`` (a DataConfig), or load it from the cache.

    The cache is kept in memory (per process) and on disk (``.cache/synthetic``),
    keyed by every setting that changes a pixel, so a notebook never renders the
    same world twice.
    """
    spec = WorldSpec.from_config(data).validate()
    world = SyntheticWorld(spec)
    key = spec.key()
    if use_cache and key in _MEMORY:
        train, test = _MEMORY[key]
        return SyntheticData(train, test, world)
    path = Path(cache_dir or default_cache_dir()) / f"world-{key}.pt"
    train, test = _disk_cached(path, spec, ("train", "test"),
                               lambda: (world.image_set("train"), world.image_set("test")), use_cache)
    if use_cache:
        _MEMORY[key] = (train, test)
    return SyntheticData(train, test, world)


def load_synthetic_validation(data, cache_dir: Optional[Path | str] = None) -> ImageSet:
    """The validation identities of the world ``data`` describes (``data.val_ids`` people after
    the test ones, :meth:`SyntheticWorld.ids`), rendered once and cached beside the world."""
    spec = WorldSpec.from_config(data).validate()
    if data.val_ids < 2:
        raise UserError(f"data.val_ids={data.val_ids}: validation needs at least 2 identities "
                        f"(e.g. --set data.val_ids=32)")
    key = f"{spec.key()}-val{data.val_ids}"
    if key not in _MEMORY:
        path = Path(cache_dir or default_cache_dir()) / f"world-{key}.pt"
        _MEMORY[key], = _disk_cached(path, spec, ("val",),
                                     lambda: (SyntheticWorld(spec).image_set("val", data.val_ids),))
    return _MEMORY[key]
