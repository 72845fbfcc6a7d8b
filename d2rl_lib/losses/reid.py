"""Re-ID losses of T_F (paper Sec. 3.2; notebook 05): identity cross-entropy and
batch-hard triplet loss whose positives include the other modality."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def identity_loss(logits: torch.Tensor, labels: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
    """L_id: cross-entropy over the training identities, optionally label-smoothed.
    logits [B, C], labels [B]."""
    return F.cross_entropy(logits, labels, label_smoothing=smoothing)


def batch_hard_triplet(features: torch.Tensor, labels: torch.Tensor, margin: float = 0.3) -> torch.Tensor:
    """L_tri: for each anchor, the farthest image of its identity (from either
    modality: a visible anchor's hardest positive is often infrared) against the
    closest image of another identity:  mean(relu(d(a, p_hard) - d(a, n_hard) + margin)).
    features [B, D], labels [B]."""
    dist = torch.cdist(features, features)                             # [B, B]
    same = labels[:, None] == labels[None, :]                          # [B, B]
    hardest_pos = dist.masked_fill(~same, float("-inf")).amax(1)       # [B]
    hardest_neg = dist.masked_fill(same, float("inf")).amin(1)         # [B]
    return F.relu(hardest_pos - hardest_neg + margin).mean()
