"""Where a run computes and in what precision: the device, the CPU thread count, autocast and
the gradient scaler (docs/training.md, "On a GPU")."""
from __future__ import annotations

import contextlib
from typing import Optional

import torch

from ..errors import UserError


def choose_device(preference: str = "auto") -> torch.device:
    """``auto``: CUDA if present, else Apple's MPS, else the CPU; or the named device.

    A named device that is not available is refused with a clear message instead
    of failing later inside a kernel.
    """
    pref = (preference or "auto").lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(pref)
    except RuntimeError:
        raise UserError(f"unknown device {preference!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"device {preference!r} asked for, but this torch build sees no CUDA GPU "
                            f"(torch {torch.__version__}); use --device cpu or install a CUDA build")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UserError(f"device {preference!r}: only {torch.cuda.device_count()} GPU(s) visible")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UserError("device 'mps' asked for, but MPS is not available on this machine")
    return dev


def amp_dtype(mode: str, device: torch.device) -> Optional[torch.dtype]:
    """The autocast dtype for ``runtime.amp`` on ``device`` (None: full precision).

    ``auto`` means bf16 on CUDA devices that support it (no loss scaling needed), fp16 on
    older GPUs (with a gradient scaler: :func:`grad_scaler`), and off elsewhere; ``bf16``
    works on CPU and recent GPUs; ``fp16`` is for CUDA only.
    """
    if mode == "off":
        return None
    if mode == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if mode == "fp16":
        if device.type != "cuda":
            raise UserError("runtime.amp=fp16 needs a CUDA device; on the CPU use bf16 or off")
        return torch.float16
    if mode == "bf16":
        return torch.bfloat16
    raise UserError(f"runtime.amp={mode!r}: choose one of auto, off, bf16, fp16")


def autocast(device: torch.device, dtype: Optional[torch.dtype]):
    """A ``torch.autocast`` context for ``dtype``, or a no-op when it is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def grad_scaler(device: torch.device, dtype: Optional[torch.dtype]) -> "torch.amp.GradScaler":
    """A gradient scaler that is active only for fp16 (bf16 needs none)."""
    return torch.amp.GradScaler(device.type, enabled=(dtype == torch.float16))


def set_threads(n: int) -> None:
    """Torch's CPU threads (0: leave torch's default). One run's numbers depend on it (~3 mAP)."""
    if n > 0:
        torch.set_num_threads(n)
