"""Seeds and random state: same seed, same result on the CPU (the tests check it), and a
resumed run that continues exactly (:func:`rng_state` is stored in every checkpoint)."""
from __future__ import annotations

import random
from typing import Any, Dict, Mapping

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed python, numpy and torch (all devices); on request make CPU kernels
    deterministic. Same seed, same result on the CPU (the tests check it)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn`` for DataLoaders: derive numpy/python seeds from torch's."""
    base = torch.initial_seed() % 2**32
    np.random.seed(base)
    random.seed(base)


def torch_generator(seed: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def rng_state() -> Dict[str, Any]:
    """Every random-number state a resumed run needs to continue exactly."""
    state = {
        "python": list(_py_state_to_list(random.getstate())),
        "numpy": _np_state_to_dict(np.random.get_state()),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    random.setstate(_py_state_from_list(state["python"]))
    np.random.set_state(_np_state_from_dict(state["numpy"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _py_state_to_list(st):
    version, internal, gauss = st
    return [version, list(internal), gauss]


def _py_state_from_list(lst):
    version, internal, gauss = lst
    return (version, tuple(internal), gauss)


def _np_state_to_dict(st):
    name, keys, pos, has_gauss, cached = st
    return {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached": float(cached)}


def _np_state_from_dict(d):
    return (d["name"], d["keys"].numpy().astype(np.uint32), d["pos"], d["has_gauss"], d["cached"])
