"""Images read lazily from files (SYSU-MM01, RegDB), and the batches the training
loop consumes, from memory (the synthetic world) or through DataLoader workers.

- :class:`ImageFiles`: a ``torch.utils.data.Dataset`` over image paths; item ``i``
  is the image opened with PIL, converted to 3 channels (SYSU's infrared JPEGs
  already hold three identical channels; a one-channel thermal BMP is repeated)
  and resized to ``(height, width)`` with torchvision: uint8 ``[3, H, W]``.
- :func:`pixels`: an ImageSet's pixels as something indexable by an index array
  or a slice: its in-memory tensor, or a :class:`FileImages` view of its files.
- :func:`step_batches`: ``(step, indices, uint8 images)`` for every training step,
  the indices drawn by a pure function of the step (the PK sampler), so resuming
  and the number of workers never change what a step sees.
"""
from __future__ import annotations

from typing import Callable, Iterator, List, Sequence, Tuple

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms.v2 import functional as tvf

from ..errors import UserError
from ..runtime import seed_worker, torch_generator
from .records import ImageSet
from .regdb import load_regdb
from .sysu import load_perm, load_sysu


def read_image(path: str, height: int, width: int) -> torch.Tensor:
    """uint8 [3, height, width] of the image file ``path`` (bilinear, antialiased)."""
    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
    except FileNotFoundError:
        raise UserError(f"image not found: {path}") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise UserError(f"cannot read image {path} ({e}); the file is corrupt or not an image") from None
    t = tvf.pil_to_tensor(img)                                      # [3, h, w] uint8
    if t.shape[1:] != (height, width):
        t = tvf.resize(t, [height, width], antialias=True)
    return t


class ImageFiles(Dataset):
    """Image files as uint8 [3, height, width] tensors (see the module docstring)."""

    def __init__(self, paths: Sequence[str], height: int, width: int):
        self.paths, self.height, self.width = list(paths), height, width

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> torch.Tensor:
        return read_image(self.paths[i], self.height, self.width)


class FileImages:
    """The files of an ImageSet, indexable like an image tensor: ``view[idx]`` with an
    index array / tensor / list or a slice loads those images into [n, 3, H, W] uint8."""

    def __init__(self, paths: Sequence[str], height: int, width: int):
        self.files = ImageFiles(paths, height, width)
        self.shape = (len(self.files), 3, height, width)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index) -> torch.Tensor:
        if isinstance(index, slice):
            rows: List[int] = list(range(len(self.files)))[index]
        else:
            rows = np.asarray(index, dtype=np.int64).reshape(-1).tolist()
        if not rows:
            return torch.empty((0, 3, self.files.height, self.files.width), dtype=torch.uint8)
        return torch.stack([self.files[i] for i in rows])


def image_size(images: ImageSet) -> Tuple[int, int]:
    size = images.meta.get("size")
    if size is None:
        raise UserError("this ImageSet reads files but has no meta['size'] = (height, width); "
                        "load it through d2rl_lib.data.loading.load_data")
    return int(size[0]), int(size[1])


def pixels(images: ImageSet):
    """The in-memory uint8 tensor of ``images``, or a lazy :class:`FileImages` view."""
    if images.images is not None:
        return images.images
    return FileImages(images.paths, *image_size(images))


class _StepIndices:
    """A batch sampler: the sampler's index array for each step in ``range(start, stop)``."""

    def __init__(self, batch_of: Callable[[int], np.ndarray], start: int, stop: int):
        self.batch_of, self.start, self.stop = batch_of, start, stop

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __iter__(self):
        for step in range(self.start, self.stop):
            yield self.batch_of(step).tolist()


def step_batches(images: ImageSet, batch_of: Callable[[int], np.ndarray], start: int, stop: int,
                 num_workers: int = 0, seed: int = 0) -> Iterator[Tuple[int, np.ndarray, torch.Tensor]]:
    """``(step, indices, uint8 [B, 3, H, W])`` for ``step`` in ``range(start, stop)``.

    In-memory sets are indexed directly (no DataLoader); file-backed sets are read by a
    DataLoader with ``num_workers`` worker processes (0: in this process), which loads
    the next batches while the current step trains. The images of a step depend only
    on ``batch_of(step)``, never on the number of workers.
    """
    if images.images is not None:
        for step in range(start, stop):
            idx = batch_of(step)
            yield step, idx, images.images[torch.from_numpy(idx)]
        return
    loader = DataLoader(ImageFiles(images.paths, *image_size(images)),
                        batch_sampler=_StepIndices(batch_of, start, stop), num_workers=num_workers,
                        worker_init_fn=seed_worker if num_workers else None,
                        generator=torch_generator(seed), persistent_workers=False,
                        prefetch_factor=2 if num_workers else None)
    for step, batch in zip(range(start, stop), loader):
        yield step, batch_of(step), batch


def batches_of(images, batch: int, num_workers: int = 0) -> Iterator[torch.Tensor]:
    """Every image of ``images`` (a uint8 tensor or a :class:`FileImages` view) in order,
    ``batch`` at a time (feature extraction); files are read by a DataLoader."""
    if isinstance(images, FileImages):
        yield from DataLoader(images.files, batch_size=batch, shuffle=False, num_workers=num_workers)
        return
    for i in range(0, len(images), batch):
        yield images[i:i + batch]


def load_dataset_files(data) -> Tuple[ImageSet, ImageSet]:
    """(train, test) of ``data.dataset`` (sysu or regdb) read from ``data.root``: file-backed
    ImageSets whose images are read at ``data.height`` x ``data.width`` when used.

    SYSU-MM01: train = train + val ids relabelled 0..C-1, test = every image of the test
    ids (query and gallery are drawn by the protocol). RegDB: trial ``data.trial``."""
    if not data.root:
        layout = ("ROOT/cam1..cam6/PPPP/NNNN.jpg and ROOT/exp/{train,val,test}_id.txt"
                  if data.dataset == "sysu" else
                  "ROOT/Visible/<id>/*.bmp, ROOT/Thermal/<id>/*.bmp and "
                  "ROOT/idx/{train,test}_{visible,thermal}_{1..10}.txt")
        raise UserError(f"data.dataset={data.dataset} needs data.root=DIR, the dataset folder "
                        f"({layout}); check it first with `d2rl data summary --dataset "
                        f"{data.dataset} --root DIR` (see docs/datasets.md)")
    if data.dataset == "sysu":
        train, test = load_sysu(data.root)
        if data.gallery_sampler == "official" and load_perm(data.root) is None:
            raise UserError(f"data.gallery_sampler=official needs {data.root}/exp/rand_perm_cam.mat "
                            f"(from the official SYSU-MM01 repository, evaluation/data_split/); "
                            f"add it or use data.gallery_sampler=seeded")
    elif data.dataset == "regdb":
        train, test = load_regdb(data.root, data.trial)
    else:
        raise UserError(f"data.dataset={data.dataset!r} is not read from files; choose sysu or regdb")
    for s in (train, test):
        s.meta["size"] = (data.height, data.width)
    return train, test
