"""DDP helpers for training T_F on several processes (notebook 06 mentions them; GPU scale).

The single-process trainer in :mod:`d2rl_lib.train_reid` is what the CPU presets use; these
helpers let a launcher (``torchrun`` or ``torch.multiprocessing.spawn``) wrap T_F in
DistributedDataParallel with the gloo backend on CPU or nccl on CUDA.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn


def init_process(rank: int, world_size: int, port: int, backend: str = "gloo") -> None:
    """Join a process group on localhost (rank ``rank`` of ``world_size``)."""
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group(backend, rank=rank, world_size=world_size)


def wrap(model: nn.Module) -> nn.Module:
    """Wrap ``model`` in DDP when a process group is running, else return it unchanged."""
    if dist.is_available() and dist.is_initialized():
        return nn.parallel.DistributedDataParallel(model)
    return model


def is_main() -> bool:
    """True on rank 0 or when not distributed (only the main process writes files)."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def cleanup() -> None:
    """Leave the process group if one is running."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
