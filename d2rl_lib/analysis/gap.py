r"""The modality gap, measured (paper Fig. 1 left and Fig. 2; notebooks 01, 04 and 05).

The paper argues with a picture: the modality discrepancy :math:`\delta_m` between an
infrared and a visible image of one person is much larger than the appearance
discrepancy :math:`\delta_a` between two images of that person in one modality
(Fig. 1 left), and D2RL shrinks the gap in two steps, image space -> unified space
-> feature space (Fig. 2). Two numbers make the picture measurable for any set of
vectors (flattened images, unified images, T_F features) with identities and
modalities:

- :func:`gap_ratio`: on L2-normalised vectors, the mean Euclidean distance between
  samples of one identity *across* modalities (``cross``, our :math:`\delta_m`) over
  the mean distance between distinct samples of one identity *within* a modality
  (``within``, our :math:`\delta_a`):

  .. math:: \text{ratio} = \frac{\operatorname{mean}_{p(i)=p(j),\, m(i)\ne m(j)} \|\hat f_i-\hat f_j\|}
                                {\operatorname{mean}_{p(i)=p(j),\, m(i)=m(j),\, i\ne j} \|\hat f_i-\hat f_j\|}

  1 means the modality adds nothing to the ordinary variation of a person; the
  larger, the bigger the gap. ``cross_vs_others`` = ``cross`` / ``different_ids``
  (the mean distance between *different* people within a modality) tests the
  paper's sharper claim: above 1, one person across modalities is farther apart
  than two different people. Read the ratio with it: a weak network can reach a
  ratio near 1 by scattering every person (``within`` close to ``different_ids``).
- :func:`modality_probe`: the balanced accuracy of a linear classifier (logistic
  regression) that tells the modality of a vector, tested on identities it never
  saw. 0.5: the modality cannot be read off linearly; 1: it can, perfectly.

A measure taken on one set of test people varies with which people happen to be in it:
:func:`ratio_draws` resamples the identities (a bootstrap) and :func:`change` says whether a
move between two spaces is larger than that noise (``measurable``); the notebooks say "no
measurable change" when it is not.

The two measures answer different questions: a space can keep a readable modality
direction (probe near 1) that is small next to the distances between people (ratio
near 1). :func:`measure_spaces` computes both in the three spaces of Fig. 2.
"""
from __future__ import annotations

from typing import Callable, Dict, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..data.files import batches_of, pixels as images_of
from ..data.records import INFRARED, VISIBLE, to_signed
from ..errors import UserError
from ..evaluation.retrieval import extract_features

SPACES = ("image", "unified", "feature")


def _validate(features, pids, modality) -> Tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """-> L2-normalised float64 features [N, D], pids [N], modality [N] (0/1)."""
    f = torch.as_tensor(np.asarray(features) if not torch.is_tensor(features) else features)
    f = f.detach().cpu().to(torch.float64)
    if f.dim() != 2:
        raise UserError(f"features must be a 2-D array [N, D]; got shape {tuple(f.shape)} "
                        f"(flatten images first, e.g. x.reshape(len(x), -1))")
    pids, modality = np.asarray(pids).reshape(-1), np.asarray(modality).reshape(-1)
    if not (len(f) == len(pids) == len(modality)):
        raise UserError(f"features, pids and modality must have one entry per sample; got "
                        f"{len(f)}, {len(pids)} and {len(modality)}")
    if len(f) < 2:
        raise UserError(f"need at least 2 samples, got {len(f)}")
    bad = set(np.unique(modality).tolist()) - {VISIBLE, INFRARED}
    if bad:
        raise UserError(f"modality must hold only {VISIBLE} (visible) and {INFRARED} (infrared); "
                        f"found {sorted(bad)}")
    if not torch.isfinite(f).all():
        raise UserError("features contain NaN or inf values")
    norms = f.norm(dim=1)                                        # [N]
    if (norms == 0).any():
        raise UserError(f"{int((norms == 0).sum())} feature vector(s) are all zeros; "
                        f"their direction (and so their distance) is undefined")
    return f / norms[:, None], pids, modality.astype(np.int64)


def _identity_sums(features, pids, modality, max_elements: int = 4_000_000):
    """Per identity k (rows of ``np.unique(pids)``): the sums and counts of its ordered pairs'
    distances of the three kinds (cross, within, different_ids; columns), each pair
    counted from the row of its first sample: ``sums`` float64 [K, 3], ``counts`` int64 [K, 3]."""
    f, pids, mod = _validate(features, pids, modality)
    n = len(f)
    _, row_id = np.unique(pids, return_inverse=True)
    p, m, k_of = torch.as_tensor(pids), torch.as_tensor(mod), torch.as_tensor(row_id.reshape(-1))
    k = int(k_of.max()) + 1
    cols = torch.arange(n)
    sums, counts = torch.zeros(k, 3, dtype=torch.float64), torch.zeros(k, 3, dtype=torch.int64)
    chunk = max(1, max_elements // n)
    for s in range(0, n, chunk):
        a = f[s:s + chunk]                                       # [c, D]
        d = (2 - 2 * a @ f.T).clamp_min(0).sqrt()                # [c, N], |a - b| of unit vectors
        same_id = p[s:s + chunk, None] == p[None]                # [c, N]
        same_mod = m[s:s + chunk, None] == m[None]               # [c, N]
        not_self = cols[s:s + chunk, None] != cols[None]         # [c, N]
        for j, mask in enumerate((same_id & ~same_mod, same_id & same_mod & not_self,
                                  ~same_id & same_mod)):
            sums[:, j].index_add_(0, k_of[s:s + chunk], (d * mask).sum(1))
            counts[:, j].index_add_(0, k_of[s:s + chunk], mask.sum(1))
    return sums.numpy(), counts.numpy()


def gap_ratio(features, pids: Sequence, modality: Sequence, max_elements: int = 4_000_000
              ) -> Dict[str, float]:
    """``cross`` (same identity, other modality), ``within`` (same identity, same
    modality, distinct samples) and ``different_ids`` (other identity, same modality)
    mean distances of L2-normalised ``features`` [N, D] (tensor or array), and
    ``ratio`` = cross / within, ``cross_vs_others`` = cross / different_ids (None with a
    single identity). Pair counts are of unordered pairs. Memory stays below
    ``max_elements`` distances at a time (the rows are processed in chunks)."""
    return _ratio(*_identity_sums(features, pids, modality, max_elements))


def _ratio(sums: np.ndarray, counts: np.ndarray) -> Dict[str, float]:
    """:func:`gap_ratio` from the per-identity sums and counts of :func:`_identity_sums`."""
    sums, counts = sums.sum(0), counts.sum(0)                    # [3], [3]
    if counts[0] == 0:
        raise UserError("no identity has samples in both modalities, so the cross-modality "
                        "distance is undefined; pass images of both modalities for each person")
    if counts[1] == 0:
        raise UserError("no identity has two samples of one modality, so the within-modality "
                        "distance is undefined; pass at least two images per person and modality")
    mean = (sums / np.maximum(counts, 1)).tolist()
    others = mean[2] if counts[2] else None                 # a single identity: undefined
    return {"cross": mean[0], "within": mean[1], "ratio": mean[0] / mean[1],
            "different_ids": others, "cross_vs_others": None if others is None else mean[0] / others,
            "cross_pairs": int(counts[0]) // 2, "within_pairs": int(counts[1]) // 2}


def ratio_draws(features, pids: Sequence, modality: Sequence, draws: int = 1000, seed: int = 0
                ) -> np.ndarray:
    """The gap ratio's bootstrap over identities: ``draws`` values [draws] of cross / within,
    each over a sample of the identities drawn with replacement (a person's pairs stay
    together). The identity samples depend only on (``seed``, the set of identities), so
    two spaces of the same images get the same samples and their draws can be subtracted
    draw by draw (:func:`change`)."""
    return _draws(*_identity_sums(features, pids, modality), draws, seed)


def _draws(sums: np.ndarray, counts: np.ndarray, draws: int, seed: int) -> np.ndarray:
    """:func:`ratio_draws` from the per-identity sums and counts of :func:`_identity_sums`."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(sums), size=(draws, len(sums)))          # [draws, K]
    weight = np.stack([np.bincount(row, minlength=len(sums)) for row in picks])   # [draws, K]
    s, c = weight @ sums, weight @ counts                                 # [draws, 3]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (s[:, 0] / c[:, 0]) / (s[:, 1] / c[:, 1])


def change(before: np.ndarray, after: np.ndarray, level: float = 0.95) -> Dict[str, float]:
    """How a gap measure moved from one space (or method) to another, from paired bootstrap
    draws (:func:`ratio_draws` with one seed): the difference of the means ``after - before``,
    its ``level`` percentile interval (``low``, ``high``) and ``measurable``: False when the
    interval covers 0, i.e. the move is inside the noise of which people were measured."""
    diff = np.asarray(after, float) - np.asarray(before, float)
    diff = diff[np.isfinite(diff)]
    lo, hi = np.quantile(diff, [(1 - level) / 2, (1 + level) / 2])
    return {"difference": float(np.mean(after) - np.mean(before)), "low": float(lo), "high": float(hi),
            "measurable": bool(lo > 0 or hi < 0), "level": level}


def interval(draws: np.ndarray, level: float = 0.95) -> Tuple[float, float]:
    """The ``level`` percentile interval of bootstrap draws."""
    d = np.asarray(draws, float)
    lo, hi = np.quantile(d[np.isfinite(d)], [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def modality_probe(features, modality: Sequence, pids: Sequence, seed: int = 0, folds: int = 2,
                   C: float = 1.0) -> float:
    """Balanced accuracy of a linear probe (standardised L2-normalised features ->
    sklearn ``LogisticRegression``) predicting the modality, in ``folds``-fold
    cross-validation split by identity (``GroupKFold``, shuffled with ``seed``): every
    sample is scored by a probe that never saw its person. 0.5 = modality invisible."""
    f, pids, mod = _validate(features, pids, modality)
    n_ids = len(np.unique(pids))
    if folds < 2 or n_ids < folds:
        raise UserError(f"the probe needs folds >= 2 and at least `folds` identities; got "
                        f"folds={folds} with {n_ids} identities")
    x = f.numpy()
    scores = []
    for k, (tr, te) in enumerate(GroupKFold(folds, shuffle=True, random_state=seed).split(x, mod, pids)):
        for part, idx in (("training", tr), ("test", te)):
            if len(np.unique(mod[idx])) < 2:
                raise UserError(f"fold {k}: the {part} identities have images of one modality "
                                f"only; the probe needs both on each side (give each person "
                                f"images of both modalities, or use fewer folds)")
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))
        probe.fit(x[tr], mod[tr])
        scores.append(balanced_accuracy_score(mod[te], probe.predict(x[te])))
    return float(np.mean(scores))


def gap_measures(features, pids: Sequence, modality: Sequence, seed: int = 0) -> dict:
    """:func:`gap_ratio` and :func:`modality_probe` (key ``probe``) of one space, plus its
    dimension ``dim``."""
    return _measures(_identity_sums(features, pids, modality), features, pids, modality, seed)


def gap_measures_with_draws(features, pids: Sequence, modality: Sequence, seed: int = 0,
                            draws: int = 1000) -> Tuple[dict, np.ndarray]:
    """:func:`gap_measures` plus the ratio's 95% bootstrap interval over identities
    (``ratio_low``, ``ratio_high``), and the bootstrap draws themselves (:func:`ratio_draws`,
    for :func:`change`); the pair distances are computed once for both."""
    parts = _identity_sums(features, pids, modality)
    out = _measures(parts, features, pids, modality, seed)
    d = _draws(*parts, draws, seed)
    out["ratio_low"], out["ratio_high"] = interval(d)
    return out, d


def _measures(parts, features, pids, modality, seed: int) -> dict:
    """:func:`gap_measures` from the (sums, counts) of :func:`_identity_sums`."""
    out = _ratio(*parts)
    out["probe"] = modality_probe(features, modality, pids, seed)
    out["dim"] = int(np.shape(features)[1])
    return out


@torch.no_grad()
def pixel_vectors(images: torch.Tensor, modality: Sequence,
                  transform: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                  pixels: Tuple[int, int] = (32, 16), batch: int = 256) -> torch.Tensor:
    """uint8 images [N, 3, H, W] (a tensor, or the lazy file view of
    ``data.files.pixels``) -> ``transform`` (e.g. a method's ``prepare``) ->
    area-downsampled to ``pixels`` -> flattened float vectors [N, C * h * w]."""
    mod = torch.as_tensor(np.asarray(modality))
    out, i = [], 0
    for chunk in batches_of(images, batch):
        x = transform(chunk, mod[i:i + len(chunk)]).float().cpu()           # [b, C, H, W]
        i += len(chunk)
        x = F.adaptive_avg_pool2d(x, pixels)                                 # [b, C, h, w]
        out.append(x.reshape(len(x), -1))
    return torch.cat(out)


def measure_spaces(t_f: torch.nn.Module, prepare: Callable, images: torch.Tensor, pids: Sequence,
                   modality: Sequence, device: str | torch.device = "cpu", seed: int = 0,
                   pixels: Tuple[int, int] = (32, 16), flip: bool = False) -> dict:
    """The gap in the three spaces of paper Fig. 2, for uint8 ``images`` [N, 3, H, W]
    (a tensor or a lazy file view):

    - ``image``: the raw images in [-1, 1], downsampled to ``pixels`` and flattened;
    - ``unified``: the method's input to T_F (``prepare``), downsampled and flattened:
      the 4-channel multi-spectral image for D2RL, the translated one for unify-*,
      the grey-converted one for ``grayscale``, the raw one for ``baseline``;
    - ``feature``: the T_F embeddings (eval mode), as used for retrieval.

    Returns a JSON-able dict ``{"spaces": {space: gap_measures + the ratio's 95% bootstrap
    interval over identities (ratio_low, ratio_high)}, "changes": {"image->unified": change,
    "unified->feature": change}, ...}`` (:func:`ratio_draws`, :func:`change`)."""
    dev = torch.device(device)
    pids, modality = np.asarray(pids), np.asarray(modality)
    vectors = {
        "image": pixel_vectors(images, modality, lambda x, m: to_signed(x), pixels),
        "unified": pixel_vectors(images, modality, prepare, pixels),
        "feature": extract_features(t_f, images, modality, prepare, dev, flip=flip),
    }
    spaces, draws = {}, {}
    for name, v in vectors.items():
        spaces[name], draws[name] = gap_measures_with_draws(v, pids, modality, seed)
    return {"spaces": spaces,
            "changes": {f"{a}->{b}": change(draws[a], draws[b]) for a, b in zip(SPACES, SPACES[1:])},
            "images": int(len(images)), "identities": int(len(np.unique(pids))),
            "pixels": list(pixels), "seed": seed, "flip": flip,
            "distance": "Euclidean on L2-normalised vectors",
            "probe": "balanced accuracy, logistic regression, 2-fold split by identity"}


def measure_run(run, test, seed: int = 0, pixels: Tuple[int, int] = (32, 16)) -> dict:
    """:func:`measure_spaces` for a :class:`~d2rl_lib.evaluation.trained.TrainedRun` on an ImageSet
    (``test``: the held-out identities; image files are read lazily), with the run's
    flip setting."""
    out = measure_spaces(run.t_f, run.prepare, images_of(test), test.pids, test.modality,
                         run.device, seed, pixels, run.cfg.data.flip_test)
    out["method"] = run.method
    return out
