"""What every stage shares to run, save, resume and fail the same way, one duty a file:

- :mod:`.device`: the device, CPU threads, mixed precision (autocast, gradient scaler);
- :mod:`.updates`: one network's optimiser update and the update sequence from one loss;
- :mod:`.seeding`: seeds and the random state a resumed run restores;
- :mod:`.checkpoints`: atomic checkpoints read with ``weights_only=True``, where a run stands,
  the snapshots kept for learning curves, a run folder's checkpoint;
- :mod:`.rundir`: the layout of a run's outputs, the progress-bar factory;
- :mod:`.guard`: the divergence guard.

Nothing here knows about models or datasets; the trainers (:mod:`d2rl_lib.training`), the
evaluation and the data cache use these. Every name is also importable from
``d2rl_lib.runtime`` itself.
"""
from .checkpoints import (KEPT_PATTERN, Checkpointed, find_checkpoint, load_checkpoint,
                          save_checkpoint)
from .device import amp_dtype, autocast, choose_device, grad_scaler, set_threads
from .guard import LossGuard
from .rundir import Progress, RunDir
from .seeding import rng_state, seed_everything, seed_worker, set_rng_state, torch_generator
from .updates import GradSync, Update, count_parameters, scaled_update

__all__ = ["KEPT_PATTERN", "Checkpointed", "find_checkpoint", "load_checkpoint", "save_checkpoint",
           "amp_dtype", "autocast", "choose_device", "grad_scaler", "set_threads", "LossGuard", "Progress",
           "RunDir", "rng_state", "seed_everything", "seed_worker", "set_rng_state", "torch_generator",
           "GradSync", "Update", "count_parameters", "scaled_update"]
