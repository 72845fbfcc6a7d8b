"""Several processes training T_F with DistributedDataParallel (torchrun; docs/training.md).

``d2rl train`` launched by ``torchrun --nproc_per_node N -m d2rl_lib train ...`` finds the
variables torchrun sets (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
``MASTER_PORT``), joins a process group (nccl on CUDA, each process on ``cuda:LOCAL_RANK``;
gloo on the CPU) and :mod:`d2rl_lib.training` then

- wraps T_F in DDP (gradients averaged across processes at each backward pass),
- gives each process its share of every step's batch
  (:class:`d2rl_lib.data.samplers.RankShare`),
- averages the T_I gradients by hand in the joint ``d2rl`` steps (:func:`average_gradients`),
- writes logs, checkpoints and ``metrics.json`` on rank 0 only (:func:`is_main`).

Without torchrun (``WORLD_SIZE`` unset or 1) nothing here does anything and training is the
single-process code path, unchanged. ``init_process`` joins a group on localhost by hand
(``torch.multiprocessing.spawn`` in tests/test_ddp.py).
"""
from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from typing import Any, Dict, Iterable, List, Optional

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from .errors import UserError
from .runtime import choose_device

# rank 0 alone scores the test set (and translation fidelity) while the others wait at the
# last collective: at paper scale that takes minutes, more than nccl's default 10 min allows
# on a slow disk, so the group is given an hour.
TIMEOUT = timedelta(minutes=60)


def init_process(rank: int, world_size: int, port: int, backend: str = "gloo") -> None:
    """Join a process group on localhost (rank ``rank`` of ``world_size``)."""
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group(backend, rank=rank, world_size=world_size)


def active() -> bool:
    """True when a process group is running (this process is one of several)."""
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    """Processes in the job: the running group's size, else torchrun's ``WORLD_SIZE``, else 1."""
    if active():
        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def rank() -> int:
    """This process's rank: the running group's, else torchrun's ``RANK``, else 0."""
    if active():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0") or 0)


def local_rank() -> int:
    """This process's index on its machine (torchrun's ``LOCAL_RANK``; the GPU it uses)."""
    return int(os.environ.get("LOCAL_RANK", str(rank())) or 0)


def is_main() -> bool:
    """True on rank 0 or when not distributed (only the main process writes files)."""
    return not active() or dist.get_rank() == 0


def rank_device(preference: str) -> torch.device:
    """The device of this process for ``runtime.device=preference``.

    One process: :func:`d2rl_lib.runtime.choose_device`, unchanged. Several: CUDA
    (``auto`` or ``cuda``) means ``cuda:LOCAL_RANK``, one GPU per process; the CPU is the
    CPU; MPS and an explicit ``cuda:N`` are refused (DDP needs one GPU per process).
    """
    dev = choose_device(preference)
    if world_size() <= 1:
        return dev
    if dev.type == "cuda":
        if dev.index is not None:
            raise UserError(f"runtime.device={preference!r} under torchrun: each process uses the "
                            f"GPU of its LOCAL_RANK; set runtime.device=auto or cuda")
        lr, n = local_rank(), torch.cuda.device_count()
        if lr >= n:
            raise UserError(f"LOCAL_RANK={lr} but only {n} GPU(s) are visible; launch at most "
                            f"--nproc_per_node {n}")
        return torch.device("cuda", lr)
    if dev.type != "cpu":
        raise UserError(f"runtime.device={dev.type!r} under torchrun (WORLD_SIZE={world_size()}): "
                        f"several processes train on 'cuda' (nccl) or 'cpu' (gloo) only")
    return dev


def setup(preference: str) -> torch.device:
    """Join torchrun's process group if this is one of several processes, and return the
    device of this process (:func:`rank_device`). Idempotent; a no-op for one process."""
    device = rank_device(preference)
    if world_size() > 1 and not active():
        for var in ("RANK", "MASTER_ADDR", "MASTER_PORT"):
            if var not in os.environ:
                raise UserError(f"WORLD_SIZE={world_size()} is set but {var} is not: launch "
                                f"several processes with torchrun (docs/training.md)")
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=TIMEOUT)
    return device


def wrap(model: nn.Module) -> nn.Module:
    """Wrap ``model`` in DDP when a process group is running, else return it unchanged.

    A CUDA model is pinned to its device (``device_ids``); DDP broadcasts rank 0's
    parameters and buffers when it is built, so every replica starts identical.
    """
    if not active():
        return model
    dev = next(model.parameters()).device
    ids = [dev] if dev.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DDP wrapper (its state_dict has no ``module.`` prefixes)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def _comm_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" \
        else torch.device("cpu")


def mean_across_ranks(values: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The mean of each scalar over all processes (one all-reduce); the input unchanged for
    one process. Used for the logged losses, so every rank sees (and the divergence guard
    checks) the same numbers."""
    if not active():
        return values
    keys = list(values)
    flat = torch.stack([torch.as_tensor(values[k]).detach().float().reshape(())
                        for k in keys]).to(_comm_device())            # [n]
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    return {k: flat[i] for i, k in enumerate(keys)}


def average_gradients(params: Iterable[nn.Parameter]) -> None:
    """Average the ``.grad`` of ``params`` over all processes in place (one flat all-reduce).

    What DDP does for T_F, done by hand for T_I in the joint step, whose two optimisers
    and two update passes (discriminators, generators) do not fit one DDP wrapper. The
    parameters that received a gradient are the same on every rank (same graph)."""
    if not active():
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])                  # [sum of numels]
    dev = flat.device
    flat = flat.to(_comm_device())
    dist.all_reduce(flat)
    flat = (flat / dist.get_world_size()).to(dev)
    i = 0
    for g in grads:
        g.copy_(flat[i:i + g.numel()].view_as(g))
        i += g.numel()


def broadcast_state(module: nn.Module, *optimizers: torch.optim.Optimizer) -> None:
    """Copy rank 0's parameters, buffers and optimiser moments to every process.

    T_I is warmed up identically on every rank; on a GPU, non-deterministic kernels can still
    make the copies differ in the last bits, so they are made equal before the joint phase."""
    if not active():
        return
    tensors: List[torch.Tensor] = list(module.state_dict().values())
    for opt in optimizers:
        for st in opt.state.values():
            tensors += [v for v in st.values() if torch.is_tensor(v)]
    comm = _comm_device()
    for t in tensors:
        buf = t.detach().to(comm)
        dist.broadcast(buf, 0)
        if buf.data_ptr() != t.data_ptr():
            t.detach().copy_(buf)


def fingerprint(module: nn.Module) -> str:
    """SHA-256 (first 16 hex digits) of every parameter of ``module``, bit for bit.

    Parameters only: DDP copies rank 0's buffers (BatchNorm running statistics) to the
    others before each forward pass, so after the last step each rank holds the statistics
    of its own last share; rank 0's are the ones saved."""
    h = hashlib.sha256()
    for name, t in module.named_parameters():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def share_t_i(ti) -> None:
    """Before the joint steps: every process's T_I (a :class:`~d2rl_lib.training.ti.TITrainer`)
    takes rank 0's weights and optimiser state, and averages its gradients in every later
    update: the ``sync`` of its discriminators' and generators' updates (``ti.update_d``,
    ``ti.update_g``; the joint step runs the latter), set here and nowhere else."""
    broadcast_state(ti.t_i, ti.opt_g, ti.opt_d)
    for update in (ti.update_d, ti.update_g):
        update.sync = average_gradients


def replica_fingerprints(t_f: nn.Module, t_i: Optional[nn.Module] = None) -> Optional[List[Dict[str, str]]]:
    """Every process's hashes of T_F (and T_I) after training, for :func:`replica_report`;
    None for one process. Called by every process."""
    if world_size() <= 1:
        return None
    return gather_objects({"T_F": fingerprint(t_f), **({"T_I": fingerprint(t_i)} if t_i is not None else {})})


def replica_report(replicas: List[Dict[str, str]], run_dir) -> Dict[str, Any]:
    """Logs every replica's hashes into the run's log; the metrics entries saying whether
    they are identical (they must be: DDP and the averaged T_I gradients keep them so)."""
    same = all(r == replicas[0] for r in replicas)
    run_dir.write_log(f"replicas ({len(replicas)} processes): " + "; ".join(
        f"{net} " + " ".join(r[net] for r in replicas) for net in replicas[0])
        + ("" if same else "  DIFFER (a bug: please report it)"))
    return {"processes": len(replicas), "replicas_identical": same}


def step_seed(seed: int, step: int, rank: int) -> int:
    """The torch seed of ``rank`` at T_F step ``step``: augmentations (and T_I's sampling noise
    in joint steps) differ between processes yet repeat exactly after ``--resume``."""
    return int(np.random.SeedSequence([seed, step, rank, 29]).generate_state(1, np.uint64)[0] >> 1)


def gather_objects(obj: Any) -> List[Any]:
    """``[obj of rank 0, obj of rank 1, ...]`` on every process; ``[obj]`` for one process."""
    if not active():
        return [obj]
    out: List[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any) -> Any:
    """Rank 0's ``obj`` on every process (the input itself for one process)."""
    if not active():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def finish() -> None:
    """Wait until every rank has finished its work (rank 0 writes the last files alone).

    Called on the normal path only, before :func:`cleanup`: a rank that leaves the gloo
    group while another still works on its last files can make that one abort at exit
    ("terminate called without an active exception"). After an exception the ranks do not
    wait for each other (torchrun stops the others when one fails)."""
    if active():
        dist.barrier()


def cleanup() -> None:
    """Leave the process group if one is running."""
    if active():
        dist.destroy_process_group()
