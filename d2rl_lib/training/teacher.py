"""A single-modality teacher for T_I's translations (paper Sec. 3.3, "which network teaches
what"; docs/status.md, "The infrared teacher").

An identity loss asks a translation to be recognisable *to the network that computes it*. A
re-ID network trained on raw images of both modalities already knows a person from the
visible image, so it accepts a V->IR rendering that still looks visible. A T_F trained on
infrared images only (``d2rl train --set method=baseline --set tf.train_modality=infrared``)
knows what person k looks like to the infrared camera: its identity loss on
x_hat_i = G_i(E_v(x_k)) asks for k's infrared appearance. The cross-modal identity labels
that SYSU-MM01 and RegDB give (no pixel pairs) become a per-person signal for the translator.

:class:`Teacher` holds such a frozen T_F (BatchNorm in eval mode, no parameter trained) and
gives T_I's objective the term (``ti.teacher.infrared``, ``ti.teacher.visible``;
:func:`d2rl_lib.training.objective.terms_of`)

    CE(teacher(translated), k_translated) + triplet_batch-hard([translated, real], [k_t, k_r])

where ``real`` are the batch's real images of the teacher's modality, of the same people at
other instants (identity-labelled T_I batches, ``schedule.ti_batch_ids``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict

import torch

from ..config import Config, require_same_training_data
from ..errors import UserError
from ..losses.reid import batch_hard_triplet, identity_loss
from ..models.embedding import T_F
from ..runtime import find_checkpoint, load_checkpoint


class Teacher:
    """A frozen single-modality T_F and its identity loss on translated images (module docstring).

    ``modality``: ``"infrared"`` (it scores x_hat_i, 1 channel, shown as three equal ones) or
    ``"visible"`` (it scores y_hat_v, 3 channels)."""

    def __init__(self, path: str | Path, modality: str, cfg: Config, device: torch.device):
        ckpt = find_checkpoint(path)
        state = load_checkpoint(ckpt, map_location=device)
        if not isinstance(state, dict) or "config" not in state or "num_classes" not in state:
            raise UserError(f"teacher {path}: not a checkpoint of a d2rl method run; give the run "
                            f"of `d2rl train --set method=baseline --set tf.train_modality={modality}`")
        there = state["config"]
        trained_on = there.get("tf", {}).get("train_modality", "both")
        if trained_on != modality or int(state.get("in_channels", 0)) != 3:
            raise UserError(f"teacher {path}: its T_F was trained on {trained_on!r} images "
                            f"({state.get('in_channels')} channels); a {modality} teacher is a 3-channel "
                            f"run trained with --set tf.train_modality={modality}")
        require_same_training_data(there, cfg, f"teacher {path}")
        tcfg = Config.from_dict(there)
        self.modality, self.path = modality, str(ckpt)
        self.t_f = T_F.from_run(state, tcfg.tf.arch, tcfg.tf.last_stride, f"teacher {path}")
        self.t_f.to(device).eval().requires_grad_(False)
        self.smoothing, self.margin = cfg.tf.label_smoothing, cfg.tf.triplet_margin

    def loss(self, translated: torch.Tensor, k_translated: torch.Tensor, real: torch.Tensor,
             k_real: torch.Tensor) -> Dict[str, torch.Tensor]:
        """translated [B, 1 or 3, H, W] (gradients flow back into T_I), real [B', 1 or 3, H, W],
        both in [-1, 1]; k_*: their identities. Returns ``loss`` (CE + triplet), ``ce``,
        ``triplet`` and ``acc`` (the teacher's accuracy on the translations)."""
        t = self.t_f
        t.eval()                                                    # BN statistics stay the teacher's
        imgs = torch.cat([translated.expand(-1, 3, -1, -1), real.expand(-1, 3, -1, -1)])  # [B + B', 3, H, W]
        f, logits = t.features_and_logits(imgs)                     # [B + B', D], [B + B', classes]
        logits = logits[: len(translated)]                          # [B, classes]
        k_t = k_translated.to(logits.device)
        ce = identity_loss(logits, k_t, self.smoothing)
        tri = batch_hard_triplet(f, torch.cat([k_t, k_real.to(logits.device)]), self.margin)
        acc = (logits.argmax(1) == k_t).float().mean()
        return {"loss": ce + tri, "ce": ce, "triplet": tri, "acc": acc}
