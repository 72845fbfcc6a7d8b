"""The methods of the ablation (paper Sec. 4.3; notebooks 04-06), the oracle rows and the
field's augmentation baselines, described in one place.

A :class:`Method` says what T_F is fed and whether T_I learns with it; the library reads these
fields (never a method's name); the one place that turns a batch
into T_F's input (in the frozen T_F step, the joint step and evaluation) is
:func:`d2rl_lib.inputs.feed`; a method's training views are
:func:`d2rl_lib.augmentations.views_of`:

- ``baseline``: T_F alone on the raw 3-channel images of both modalities (the paper's
  feature-level-constraint baseline, Fig. 1 right).
- ``grayscale``: the same, with visible images converted to grey first: the naive
  "unification" with no learning.
- ``unify-ir`` / ``unify-visible``: T_I trained first and frozen; every image is translated
  into one modality before T_F.
- ``d2rl-frozen``: T_I trained first and frozen; T_F on the 4-channel multi-spectral images
  [x, x_hat_i] / [y_hat_v, y].
- ``d2rl``: the same, then joint steps in which the re-ID loss also updates the generators
  through the translated channels (end to end, paper Sec. 3.3).
- ``d2rl-frozen-yyyy`` / ``d2rl-yyyy``: the same two with an infrared image fed as
  [y, y, y, y] (its own channel in place of y_hat_v, as the oracle feeds it): the IR->V
  translation left out, the V->IR one kept.

The field's cheap answers, without a translator (``../shared/reference/d2rl_method.md``;
each one file of :mod:`d2rl_lib.augmentations`, named by ``views``; tested on raw images):

- ``random-grayscale``: the baseline with every training image turned grey with chance 0.5
  (DEEN's training transforms).
- ``channel-exchange``: the baseline with CAJ's channel augmentation: each visible training
  image also seen as one of its R, G, B channels copied to three.

And two bounds that only the synthetic world can give (notebook 06):

- ``d2rl-oracle``: D2RL's 4-channel images with a perfect V->IR translation: a visible x
  becomes [x, its knowable near-infrared twin] (the hidden pair rendered without the
  garments' hidden offset, :func:`d2rl_lib.data.loading.with_knowable_twins`), an infrared y
  becomes [y, y, y, y] (its own channel repeated in place of y_hat_v); the same T_F, schedule
  and sampler as D2RL. What D2RL's feature level makes of a right translation.
- ``unify-ir-oracle``: the same perfect translation with every image as infrared (the knowable
  twin of x, y itself, three equal channels): whether D2RL's four channels add anything over
  translating everything to infrared.

Adding a method: one entry in ``_ALL`` below, and, for a new training-time view of the raw
batch, one file in ``d2rl_lib/augmentations/`` named by ``views``. A combination of fields
that cannot work is refused when the entry is made. This module imports nothing heavy, so
that :mod:`d2rl_lib.config` can take the method names from here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

from .errors import UserError


INFRARED_INPUTS = ("translated", "repeated")   # an infrared y as [y_hat_v, y] or [y, y, y, y]


@dataclass(frozen=True)
class Method:
    """One method of the ablation: what T_F is fed, and whether T_I learns jointly with it."""

    name: str
    feeds: str                          # what T_F sees, in words (docs, notebooks)
    unification: Optional[str] = None   # models.unify mode of T_I's translations; None: raw images
    grey_visible: bool = False          # raw images with the visible ones converted to grey
    joint: bool = False                 # T_I updated with T_F in the last schedule.joint_steps
    oracle: bool = False                # the translated channel is the world's knowable twin, not T_I's
    infrared_input: str = "translated"  # multi-spectral: an infrared y as [y_hat_v, y] or "repeated" [y, y, y, y]
    views: Optional[str] = None         # training only: a file of d2rl_lib/augmentations/ that remakes the batch

    def __post_init__(self):
        def refuse(why: str):
            raise ValueError(f"method {self.name!r}: {why}")
        if self.infrared_input not in INFRARED_INPUTS:
            refuse(f"infrared_input={self.infrared_input!r}: choose one of {', '.join(INFRARED_INPUTS)}")
        if self.infrared_input != "translated" and self.unification != "multi-spectral":
            refuse("infrared_input says how a multi-spectral image is made: it needs "
                   "unification='multi-spectral'")
        if self.joint and not self.uses_ti:
            refuse("joint steps update T_I with T_F: they need a T_I (a unification, not an oracle)")
        if self.oracle and self.unification is None:
            refuse("an oracle stands in for T_I's translation: give the unification it feeds")
        if (self.grey_visible or self.views) and self.unification is not None:
            refuse("grey_visible and views change raw images: not with a unification")

    @property
    def uses_ti(self) -> bool:
        """True when T_I translates the images T_F sees (so T_I is trained first)."""
        return self.unification is not None and not self.oracle

    @property
    def in_channels(self) -> int:
        """Channels of the images T_F sees: 4 in the multi-spectral space, else 3."""
        return 4 if self.unification == "multi-spectral" else 3


_ALL = (
    Method("baseline", "the raw images of both modalities"),
    Method("grayscale", "the raw images, visible ones converted to grey", grey_visible=True),
    Method("unify-ir", "every image as infrared: x_hat_i for visible x, y itself",
           unification="infrared"),
    Method("unify-visible", "every image as visible: x itself, y_hat_v for infrared y",
           unification="visible"),
    Method("d2rl", "the multi-spectral images [x, x_hat_i] / [y_hat_v, y], T_I trained jointly",
           unification="multi-spectral", joint=True),
    Method("d2rl-frozen", "the multi-spectral images [x, x_hat_i] / [y_hat_v, y], T_I frozen",
           unification="multi-spectral"),
    Method("d2rl-frozen-yyyy", "the multi-spectral images [x, x_hat_i] / [y, y, y, y], T_I frozen",
           unification="multi-spectral", infrared_input="repeated"),
    Method("d2rl-yyyy", "the multi-spectral images [x, x_hat_i] / [y, y, y, y], T_I trained jointly",
           unification="multi-spectral", joint=True, infrared_input="repeated"),
    Method("random-grayscale", "the raw images; in training each image grey with chance 0.5 "
           "(DEEN's augmentation)", views="random_grayscale"),
    Method("channel-exchange", "the raw images; in training each visible image also as one of its "
           "R, G, B channels copied to three (CAJ's channel augmentation)", views="channel_exchange"),
    Method("d2rl-oracle", "the multi-spectral images [x, knowable twin of x] / [y, y, y, y]: "
           "a perfect V->IR translation (synthetic world only)",
           unification="multi-spectral", oracle=True, infrared_input="repeated"),
    Method("unify-ir-oracle", "every image as infrared: the knowable twin of x, y itself: a perfect "
           "V->IR translation, without the visible channels (synthetic world only)",
           unification="infrared", oracle=True),
)
METHODS: Dict[str, Method] = {m.name: m for m in _ALL}
METHOD_NAMES = tuple(METHODS)


def method(name: str) -> Method:
    """The :class:`Method` called ``name``; an unknown name is refused with the valid ones."""
    if name not in METHODS:
        raise UserError(f"unknown method {name!r}: choose one of {', '.join(METHOD_NAMES)}")
    return METHODS[name]


def method_of_row(label: str) -> Optional[Method]:
    """The :class:`Method` a recorded row ran (``results/ablation.json``): a row is named by its
    method (``"d2rl"``) or by what it started from and its method (``"taught: d2rl-yyyy"``,
    ``"taught, modality dropout 0.5: d2rl-yyyy"``); None for a label that names no method."""
    return METHODS.get(label.rpartition(": ")[2])
