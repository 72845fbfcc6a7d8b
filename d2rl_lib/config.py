"""One configuration tree for every stage of D2RL, with named presets.

The tree mirrors the method: ``data`` (which images), ``ti`` (the image-level
sub-network T_I, paper Sec. 3.1), ``tf`` (the feature-level sub-network T_F,
paper Sec. 3.2), ``optim`` (optimisers), ``schedule`` (how many steps of which
stage, paper Sec. 3.3) and ``runtime`` (device, seed, precision, output).
Every value the paper leaves open is listed, with its source, in
``DECISIONS.md``.

Presets (``PRESETS``):

- ``synthetic-ci``: the nbval / CI profile, a few minutes on 2 CPU cores.
- ``synthetic-classroom``: the default story, quality figures, still CPU.
- ``sysu`` / ``regdb``: paper scale on the real datasets, meant for a GPU.

Overrides are strings ``section.field=value`` (``--set`` on the CLI); they are
type-checked against the dataclass annotations and the ``choices`` / ``min``
metadata of each field, and a bad key or value raises :class:`ConfigError`
naming the valid keys or values.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Tuple

from .atomic import atomic_write_text
from .errors import UserError
from .methods import METHOD_NAMES, METHODS

PERSON_BOX = (13 / 16, 3 / 8)   # share of the height and width a person fills in a re-ID crop


class ConfigError(UserError):
    """A preset name, override key or value that does not fit the config tree."""


def _opt(default, help: str, choices: Iterable | None = None, min: float | None = None,
         max: float | None = None):
    """A dataclass field carrying its help text and its valid range."""
    meta = {"help": help}
    if choices is not None:
        meta["choices"] = tuple(choices)
    if min is not None:
        meta["min"] = min
    if max is not None:
        meta["max"] = max
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class DataConfig:
    """Which images, at which size, under which evaluation protocol."""

    dataset: str = _opt("synthetic", "embedded synthetic world, or a real dataset",
                        choices=("synthetic", "sysu", "regdb"))
    root: str = _opt("", "folder holding SYSU-MM01/ or RegDB/ (real datasets only)")
    height: int = _opt(64, "network input height in pixels (multiple of 16)", min=16)
    width: int = _opt(32, "network input width in pixels (multiple of 16)", min=16)
    train_ids: int = _opt(64, "synthetic: identities used for training", min=2)
    test_ids: int = _opt(32, "synthetic: identities held out for testing", min=2)
    images_per_camera: int = _opt(6, "synthetic: images per (identity, camera)", min=1)
    ir_model: str = _opt("nir", "synthetic: the infrared cameras' sensor: 'nir' (near-infrared "
                         "with an illuminator, as SYSU-MM01), 'thermal' (heat, as RegDB), or "
                         "'hue-lookup' (thermal, heat by hue: the hard setting where translation "
                         "fails)", choices=("nir", "thermal", "hue-lookup"))
    ir_hidden_sd: float = _opt(0.08, "synthetic: spread of each garment's hidden heat offset "
                               "(thickness, layers): the part of the infrared image no translator "
                               "can know; 0 removes it", min=0.0)
    val_ids: int = _opt(32, "synthetic: validation identities, rendered after the test ones and never "
                        "trained on: every choice (budget, weights, p, checkpoint) is made on them, the "
                        "test identities only report (`d2rl curve`); adding them changes no train or "
                        "test image", min=0)
    world_seed: int = _opt(0, "synthetic: seed of the world (people, cameras)", min=0)
    search_mode: str = _opt("all", "SYSU-style gallery cameras: all four or indoor only",
                            choices=("all", "indoor"))
    shots: int = _opt(1, "gallery images per (identity, camera): 1 single-shot, 10 multi-shot",
                      choices=(1, 10))
    gallery_sampler: str = _opt("seeded", "SYSU gallery draw: 'seeded' (AGW family) or "
                                "'official' (rand_perm_cam.mat)", choices=("seeded", "official"))
    trials: int = _opt(10, "protocol trials averaged at test time", min=1, max=10)
    trial: int = _opt(1, "RegDB: which of the 10 train/test splits", min=1, max=10)
    flip_test: bool = _opt(False, "average features of the image and its mirror at test time")
    num_workers: int = _opt(0, "DataLoader worker processes", min=0)


@dataclass
class TIConfig:
    """T_I: two VAEs with one shared latent space, two GANs (paper Sec. 3.1)."""

    channels: int = _opt(16, "channels of the first encoder convolution", min=4)
    n_down: int = _opt(1, "stride-2 convolutions in each encoder", min=1, max=4)
    n_res: int = _opt(2, "residual blocks in each private encoder / generator", min=0)
    latent: str = _opt("unit", "latent form: 'unit' (UNIT: z = mu + N(0, I)) or "
                       "'gaussian' (z = mu + sigma * eps)", choices=("unit", "gaussian"))
    disc_channels: int = _opt(16, "channels of the first discriminator convolution", min=4)
    disc_layers: int = _opt(3, "stride-2 layers per discriminator scale", min=1, max=5)
    disc_scales: int = _opt(1, "image scales seen by each discriminator", min=1, max=3)
    disc_view: str = _opt("whole", "what D_v and D_i judge: the 'whole' image or the 'person' "
                          "(the middle 13/16 of the height and 3/8 of the width, where a "
                          "pedestrian detector puts the person)", choices=("whole", "person"))
    gan_loss: str = _opt("lsgan", "adversarial loss", choices=("lsgan", "bce"))
    w_gan: float = _opt(1.0, "weight of each adversarial term", min=0.0)
    w_kl: float = _opt(0.01, "lambda_0: weight of KL(q(z|x) || N(0, I))", min=0.0)
    w_recon: float = _opt(10.0, "lambda_1: weight of the L1 reconstruction", min=0.0)
    w_cycle_kl: float = _opt(0.01, "weight of the KL term on the cycle's latent", min=0.0)
    w_cycle: float = _opt(10.0, "weight of the L1 cycle reconstruction", min=0.0)
    output: str = _opt("image", "what G_v / G_i produce: 'image' (UNIT's generators) or "
                       "'spectral' (G_i: an exposure of one learned colour projection P_v of the "
                       "visible pixels, starting as luminance; G_v: a per-place affine map of the "
                       "infrared pixels), or 'reflectance' (G_i: a per-pixel reflectance of the visible "
                       "colours times an illumination field drawn from z, the near-infrared camera's "
                       "form; G_v as 'spectral')", choices=("image", "spectral", "reflectance"))
    w_match: float = _opt(0.0, "weight of the identity-level match: per identity in a T_I "
                          "batch, the quantiles of its translated images' person-box intensities "
                          "against its real infrared images' (needs schedule.ti_batch_ids)",
                          min=0.0)
    w_reid: float = _opt(1.0, "weight of T_F's re-ID loss in the generators' objective during D2RL's "
                         "joint steps (0: T_I's own objective alone)", min=0.0)
    teacher: "TeachersConfig" = field(default_factory=lambda: TeachersConfig())


@dataclass
class TeacherConfig:
    """A frozen single-modality T_F that scores T_I's translations into its modality
    (``d2rl_lib/training/teacher.py``): its identity cross-entropy + batch-hard triplet on the
    translations beside the batch's real images of that modality (needs schedule.ti_batch_ids)."""

    run: str = _opt("", "a run of T_F trained on this modality only (`d2rl train --set method=baseline "
                    "--set tf.train_modality=...`; its folder or checkpoint); '' for none")
    weight: float = _opt(0.0, "weight of this teacher's term in T_I's objective", min=0.0)


@dataclass
class TeachersConfig:
    """T_I's teachers, one per modality: ``infrared`` scores x_hat_i, ``visible`` y_hat_v."""

    infrared: TeacherConfig = field(default_factory=TeacherConfig)
    visible: TeacherConfig = field(default_factory=TeacherConfig)


@dataclass
class TFConfig:
    """T_F: the re-ID network on (unified) images (paper Sec. 3.2)."""

    arch: str = _opt("resnet18", "torchvision backbone",
                     choices=("resnet18", "resnet34", "resnet50"))
    pretrained: str = _opt("", "ImageNet weights: '' none, 'torchvision' (the local cache), "
                           "or the path of a .pth state dict")
    last_stride: int = _opt(2, "stride of the last ResNet stage (1 keeps more spatial detail)",
                            choices=(1, 2))
    label_smoothing: float = _opt(0.1, "label smoothing of the identity cross-entropy",
                                  min=0.0, max=0.5)
    triplet_margin: float = _opt(0.3, "margin of the batch-hard triplet loss", min=0.0)
    w_id: float = _opt(1.0, "weight of the identity cross-entropy", min=0.0)
    w_triplet: float = _opt(1.0, "weight of the triplet loss", min=0.0)
    train_modality: str = _opt("both", "which images of each re-ID batch T_F learns from: "
                               "'both' modalities (every method), or one of them only: "
                               "'infrared' trains the infrared teacher of T_I (ti.teacher.infrared.run), "
                               "'visible' the visible one", choices=("both", "visible", "infrared"))
    modality_dropout: float = _opt(0.0, "multi-spectral methods: the chance that an image's own "
                                   "channels are blanked before T_F sees it (a visible image keeps "
                                   "only x_hat_i, an infrared one only y_hat_v), so that T_F must "
                                   "recognise people from the translated channel", min=0.0, max=1.0)


@dataclass
class OptimConfig:
    """Optimisers for T_I (Adam, as UNIT) and T_F."""

    ti_lr: float = _opt(2e-4, "Adam learning rate of E_v, E_i, G_v, G_i, D_v, D_i", min=0.0)
    ti_spectral_lr: float = _opt(3e-3, "Adam learning rate of P_v, the spectral projection of "
                                 "ti.output=spectral (four numbers) and of the reflectance of ti.output=reflectance", min=0.0)
    ti_beta1: float = _opt(0.5, "Adam beta1 for T_I", min=0.0, max=1.0)
    ti_beta2: float = _opt(0.999, "Adam beta2 for T_I", min=0.0, max=1.0)
    ti_weight_decay: float = _opt(1e-4, "weight decay for T_I", min=0.0)
    tf_optimizer: str = _opt("adam", "optimiser of T_F", choices=("adam", "sgd"))
    tf_lr: float = _opt(6e-3, "learning rate of T_F (Adam on the CPU presets; the paper presets set SGD 0.1)", min=0.0)
    tf_weight_decay: float = _opt(5e-4, "weight decay of T_F", min=0.0)
    tf_warmup_steps: int = _opt(50, "linear learning-rate warm-up steps for T_F", min=0)
    grad_clip: float = _opt(0.0, "clip gradient norm to this value (0: off)", min=0.0)


@dataclass
class ScheduleConfig:
    """How long each stage runs and what a batch holds (paper Sec. 3.3)."""

    ti_steps: int = _opt(300, "T_I pre-training steps (unpaired visible/infrared batches)", min=0)
    tf_init: str = _opt("", "start T_F from the T_F of this method run (its folder or checkpoint; "
                        "weights only, e.g. the infrared teacher): the same identities and input channels")
    ti_init: str = _opt("", "start T_I from this checkpoint of the T_I stage (`d2rl train "
                        "--stage ti`, checkpoints/ti_last.pt) instead of pre-training it "
                        "again; its config's ti section must match")
    tf_steps: int = _opt(300, "T_F training steps before joint training", min=0)
    joint_steps: int = _opt(200, "joint end-to-end steps of T_I and T_F", min=0)
    ti_batch: int = _opt(8, "images per modality in a T_I batch", min=1)
    ti_batch_ids: int = _opt(0, "identities per T_I batch, each with ti_batch / ti_batch_ids "
                             "visible and as many infrared images (never the same instant); 0: "
                             "images drawn at random, unlabelled", min=0)
    batch_ids: int = _opt(8, "P: identities per re-ID batch", min=2)
    batch_images: int = _opt(4, "K: images per identity and modality in a re-ID batch", min=1)
    log_every: int = _opt(25, "steps between progress log lines", min=1)
    sample_every: int = _opt(100, "steps between saved sample grids (0: never)", min=0)
    checkpoint_every: int = _opt(100, "steps between checkpoints (0: only at the end)", min=0)
    keep_every: int = _opt(0, "T_F steps between checkpoints kept as checkpoints/tf_step_NNNNNN.pt "
                           "beside last.pt, for learning curves (d2rl curve); 0: none kept", min=0)


@dataclass
class RuntimeConfig:
    """Where and how the code runs."""

    device: str = _opt("auto", "'auto' (cuda, else mps, else cpu), 'cpu', 'cuda', 'cuda:N', 'mps'")
    seed: int = _opt(0, "seed of python, numpy, torch and the DataLoader workers", min=0)
    amp: str = _opt("auto", "mixed precision: 'auto' (bf16 on CUDA where supported, "
                    "else fp16 with a gradient scaler; off on CPU), 'off', 'bf16', 'fp16'",
                    choices=("auto", "off", "bf16", "fp16"))
    channels_last: bool = _opt(False, "use the channels_last memory format (fast on GPUs)")
    threads: int = _opt(0, "torch CPU threads (0: torch's default)", min=0)
    out_dir: str = _opt("runs", "parent folder of run directories")


@dataclass
class Config:
    """The whole configuration of one run."""

    preset: str = _opt("synthetic-classroom", "name of the preset this config started from")
    method: str = _opt("d2rl", "which model to train (d2rl_lib/methods.py says what "
                     "each one feeds T_F)", choices=METHOD_NAMES)
    data: DataConfig = field(default_factory=DataConfig)
    ti: TIConfig = field(default_factory=TIConfig)
    tf: TFConfig = field(default_factory=TFConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    @property
    def ti_warmup_steps(self) -> int:
        """The T_I warm-up steps a method run counts before T_F's in its checkpoints' ``step``
        (``schedule.ti_steps`` for a method with T_I, else 0): training and evaluation read it here."""
        return self.schedule.ti_steps if METHODS[self.method].uses_ti else 0

    # -- conversion -----------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> Path:
        """Write the resolved config as JSON (atomically) and return the path."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Config":
        cfg = cls()
        for key, value in _flatten(d):
            _set_path(cfg, key, value, from_string=False)
        cfg.validate()
        return cfg

    @classmethod
    def load(cls, path: str | Path) -> "Config":
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        try:
            return cls.from_dict(json.loads(p.read_text()))
        except json.JSONDecodeError as e:
            raise ConfigError(f"{p} is not valid JSON: {e}") from None

    # -- checks ---------------------------------------------------------------------
    def validate(self) -> "Config":
        """Check every field against its choices / range, and the cross-field rules."""
        for key, value, f in _walk(self):
            _check_value(key, value, f)
        for name in ("height", "width"):
            v = getattr(self.data, name)
            if v % 16:
                raise ConfigError(f"data.{name}={v} is not a multiple of 16; the encoders "
                                  f"and ResNet stages halve the image 4 times (try "
                                  f"{max(16, round(v / 16) * 16)})")
        m = METHODS[self.method]
        if m.uses_ti:
            self.check_translator()
        for modality, t in teachers(self.ti):
            path, w, name, w_name = t.run, t.weight, f"ti.teacher.{modality}.run", f"ti.teacher.{modality}.weight"
            if w > 0 and not path:
                raise ConfigError(f"{name} is empty while its weight is {w}: give the run of T_F trained on "
                                  f"that modality only (`d2rl train --set tf.train_modality=...`), or set "
                                  f"the weight to 0")
            if path and w == 0:
                raise ConfigError(f"{name}={path!r} would teach nothing: {w_name} is 0; set {w_name} "
                                  f"(e.g. 1) or leave {name} empty")
            if w > 0 and not self.schedule.ti_batch_ids:
                raise ConfigError(f"{name} needs identity-labelled T_I batches: set schedule.ti_batch_ids "
                                  f"(e.g. 4 with schedule.ti_batch=8)")
        if self.ti.w_match > 0 and not self.schedule.ti_batch_ids:
            raise ConfigError(f"ti.w_match={self.ti.w_match} matches each identity's translations with its "
                              f"infrared images: set schedule.ti_batch_ids (e.g. 4 with schedule.ti_batch=8), "
                              f"or ti.w_match=0")
        if self.tf.modality_dropout > 0 and m.in_channels != 4:
            raise ConfigError(f"tf.modality_dropout={self.tf.modality_dropout} blanks a multi-spectral image's "
                              f"own channels, but method={self.method} feeds T_F {m.in_channels} channels: set "
                              f"tf.modality_dropout=0, or choose a 4-channel method ("
                              + ", ".join(n for n, k in METHODS.items() if k.in_channels == 4) + ")")
        if self.tf.train_modality != "both" and (m.uses_ti or m.oracle or m.views):
            raise ConfigError(f"tf.train_modality={self.tf.train_modality} trains a single-modality teacher "
                              f"on raw images; method={self.method} needs both modalities: use "
                              f"method=baseline for a teacher, or tf.train_modality=both")
        if METHODS[self.method].oracle and self.data.dataset != "synthetic":
            raise ConfigError(f"method={self.method} needs the synthetic world's hidden twins; "
                              f"data.dataset={self.data.dataset!r} has none (use data.dataset=synthetic)")
        return self

    def check_translator(self) -> "Config":
        """The image size must suit T_I's discriminators: scale s of D_v / D_i sees the
        image halved s times, then ti.disc_layers stride-2 convolutions, each of which
        needs an input of at least 2 pixels (its reflection padding)."""
        t, side = self.ti, min(self.data.height, self.data.width)
        seen = "images"
        if t.disc_view == "person":                     # models.translation.person_box
            side = min(round(self.data.height * PERSON_BOX[0]), round(self.data.width * PERSON_BOX[1]))
            seen = "a person box (ti.disc_view=person: 13/16 of the height, 3/8 of the width)"
        need = 2 ** (t.disc_scales - 1 + t.disc_layers)
        if side < need:
            raise ConfigError(f"ti.disc_layers={t.disc_layers} with ti.disc_scales={t.disc_scales} "
                              f"needs {seen} of at least {need} px on the short side, but "
                              f"data.width x data.height is {self.data.width}x{self.data.height}"
                              f"{f' (box {side} px wide)' if t.disc_view == 'person' else ''}: "
                              f"lower ti.disc_layers or ti.disc_scales, or use larger images")
        return self


# -- presets ------------------------------------------------------------------------
def _cpu_translator(cfg: Config) -> Config:
    """T_I settings of the CPU presets (DECISIONS.md, "T_I on the CPU presets"): the spectral
    generators, which start from luminance and keep the person's pixels, and discriminators
    that judge the person (3 layers, one scale, on the middle of the crop) with UNIT's 2018
    adversarial weight; a higher learning rate than UNIT's for a few hundred steps."""
    cfg.ti.output, cfg.ti.disc_view = "spectral", "person"
    cfg.ti.disc_layers, cfg.ti.disc_scales, cfg.ti.w_gan = 3, 1, 1.0
    cfg.optim.ti_lr = 4e-4
    return cfg


def _synthetic_ci() -> Config:
    cfg = _cpu_translator(Config(preset="synthetic-ci"))
    cfg.data.train_ids, cfg.data.test_ids, cfg.data.images_per_camera = 32, 16, 4
    cfg.data.trials = 3
    cfg.ti.channels, cfg.ti.disc_channels = 16, 16
    cfg.schedule.ti_steps, cfg.schedule.tf_steps, cfg.schedule.joint_steps = 60, 80, 20
    cfg.schedule.sample_every = 0
    cfg.schedule.batch_ids = 8
    return cfg


def _synthetic_classroom() -> Config:
    cfg = _cpu_translator(Config(preset="synthetic-classroom"))
    cfg.data.train_ids, cfg.data.test_ids, cfg.data.images_per_camera = 192, 32, 4
    # Sized so that the six notebooks (T_I once, the baseline, D2RL from that T_I) fit in
    # 15 minutes on 2 CPU cores: see README, "Notebooks".
    cfg.schedule.ti_steps, cfg.schedule.tf_steps, cfg.schedule.joint_steps = 600, 500, 50
    cfg.schedule.checkpoint_every, cfg.schedule.sample_every = 250, 250
    return cfg


def _sysu() -> Config:
    cfg = Config(preset="sysu")
    cfg.data.dataset, cfg.data.height, cfg.data.width = "sysu", 288, 144
    cfg.data.num_workers = 4
    cfg.ti.channels, cfg.ti.n_res, cfg.ti.disc_channels, cfg.ti.disc_scales = 64, 4, 64, 3
    cfg.ti.n_down, cfg.ti.disc_layers = 2, 4                          # UNIT's sizes
    cfg.tf.arch, cfg.tf.pretrained, cfg.tf.last_stride = "resnet50", "torchvision", 1
    cfg.optim.tf_optimizer, cfg.optim.tf_lr, cfg.optim.tf_warmup_steps = "sgd", 0.1, 1000
    cfg.schedule.ti_steps, cfg.schedule.tf_steps, cfg.schedule.joint_steps = 20000, 5000, 20000
    cfg.schedule.ti_batch, cfg.schedule.batch_ids, cfg.schedule.batch_images = 8, 8, 4
    cfg.schedule.log_every, cfg.schedule.sample_every = 100, 1000
    cfg.schedule.checkpoint_every = 1000
    cfg.runtime.channels_last = True
    return cfg


def _regdb() -> Config:
    cfg = _sysu()
    cfg.preset = "regdb"
    cfg.data.dataset = "regdb"
    cfg.data.height, cfg.data.width = 256, 128
    cfg.schedule.ti_steps, cfg.schedule.tf_steps, cfg.schedule.joint_steps = 10000, 3000, 10000
    return cfg


PRESETS: Dict[str, Callable[[], Config]] = {
    "synthetic-ci": _synthetic_ci,
    "synthetic-classroom": _synthetic_classroom,
    "sysu": _sysu,
    "regdb": _regdb,
}


def get_config(preset: str = "synthetic-classroom", overrides: Iterable[str] = ()) -> Config:
    """The preset ``preset`` with ``overrides`` (``"section.field=value"``) applied."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    cfg = PRESETS[preset]()
    return apply_overrides(cfg, overrides)


def apply_overrides(cfg: Config, overrides: Iterable[str], validate: bool = True) -> Config:
    """Apply ``"section.field=value"`` strings to ``cfg`` in place."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key=value "
                              f"(e.g. schedule.ti_steps=100)")
        key, raw = item.split("=", 1)
        _set_path(cfg, key.strip(), raw.strip(), from_string=True)
    return cfg.validate() if validate else cfg


def valid_keys() -> list[str]:
    return [k for k, _, _ in _walk(Config())]


# -- internals ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Field:
    metadata: typing.Mapping[str, Any]
    type: Any


def _walk(obj, prefix: str = ""):
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            yield from _walk(value, key + ".")
        else:
            yield key, value, _Field(f.metadata, hints[f.name])


def flatten(d: Dict[str, Any]) -> Dict[str, Any]:
    """A nested config dict as one level: ``{"ti.w_gan": 5.0, ...}``."""
    return dict(_flatten(d))


def differences(saved: Dict[str, Any], cfg: "Config", prefix: str = "",
                ignore: Iterable[str] = ()) -> Dict[str, Tuple[Any, Any]]:
    """``{key: (saved value, value in cfg)}`` for the keys (``"ti.channels"``, ...) under
    ``prefix`` where a saved config dict differs from ``cfg``, in key order. The saved dict
    is read as :meth:`Config.from_dict` reads it, so a key it lacks (saved before that
    setting existed) takes the setting's default, which is the behaviour of that time; a
    dict that is no longer a valid config raises :class:`ConfigError`."""
    theirs = flatten(Config.from_dict(saved).to_dict())
    mine, ignore = flatten(cfg.to_dict()), tuple(ignore)
    return {k: (theirs[k], mine[k]) for k in sorted(mine)
            if k.startswith(prefix) and k not in ignore and theirs[k] != mine[k]}


# Data settings that change no training image: two runs that differ only in these learned the same.
DATA_NEUTRAL = ("data.num_workers", "data.trials", "data.val_ids", "data.flip_test")


def require_same_training_data(saved: Dict[str, Any], cfg: "Config", what: str) -> None:
    """Refuse a run whose saved config (``saved``) learned other identities than ``cfg`` would
    (any ``data.*`` difference outside :data:`DATA_NEUTRAL`), naming ``what`` and the keys."""
    diff = {k: v for k, v in differences(saved, cfg, prefix="data.").items() if k not in DATA_NEUTRAL}
    if diff:
        raise ConfigError(f"{what} learned other identities ("
                          + ", ".join(f"{k}: {a!r} there, {b!r} here" for k, (a, b) in diff.items())
                          + "); train it on this run's data settings")


def overrides_from_preset(cfg: Config, ignore: Iterable[str] = ("runtime.out_dir",)) -> list:
    """The ``key=value`` overrides that turn ``cfg``'s preset into ``cfg`` (``method`` first),
    e.g. to rebuild the ``d2rl train`` command of a saved run."""
    base = flatten(get_config(cfg.preset).to_dict())
    mine = flatten(cfg.to_dict())
    keys = ["method"] + [k for k in mine if k != "method"]
    return [f"{k}={mine[k]}" for k in keys
            if k not in tuple(ignore) and (k == "method" or base.get(k) != mine[k])]


def _flatten(d: Dict[str, Any], prefix: str = ""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _flatten(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


# Keys of earlier versions, read as their new names (saved configs, commands in results/).
RENAMED = {"ti.teacher_ir": "ti.teacher.infrared.run", "ti.w_teacher": "ti.teacher.infrared.weight",
           "ti.teacher_visible": "ti.teacher.visible.run", "ti.w_teacher_visible": "ti.teacher.visible.weight",
           "tf.w_reid_to_ti": "ti.w_reid"}


def teachers(ti: "TIConfig"):
    """(modality, :class:`TeacherConfig`) of each of T_I's teachers, in the order of
    :class:`TeachersConfig`."""
    return [(f.name, getattr(ti.teacher, f.name)) for f in dataclasses.fields(ti.teacher)]


def _set_path(cfg: Config, key: str, value: Any, from_string: bool) -> None:
    key = RENAMED.get(key, key)
    fields = {k: f for k, _, f in _walk(cfg)}
    if key not in fields:
        close = [k for k in fields if k.split(".")[-1] == key.split(".")[-1]]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(f"unknown config key {key!r}{hint}; valid keys: {', '.join(fields)}")
    f = fields[key]
    if from_string:
        value = _parse(key, value, f.type)
    else:
        value = _coerce(key, value, f.type)
    _check_value(key, value, f)
    *parents, leaf = key.split(".")
    target = cfg
    for p in parents:
        target = getattr(target, p)
    setattr(target, leaf, value)


def _parse(key: str, raw: str, typ) -> Any:
    try:
        if typ is bool:
            low = raw.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if typ is int:
            return int(raw)
        if typ is float:
            return float(raw)
        if typ is str:
            return raw
    except ValueError:
        pass
    else:
        raise ConfigError(f"config key {key!r} has an unsupported type {typ}")
    raise ConfigError(f"{key}={raw!r} is not a valid {typ.__name__}"
                      + (" (use true or false)" if typ is bool else ""))


def _coerce(key: str, value: Any, typ) -> Any:
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        raise ConfigError(f"{key}={value!r} should be a {typ.__name__}")
    return value


def _check_value(key: str, value: Any, f: _Field) -> None:
    meta = f.metadata
    if "choices" in meta and value not in meta["choices"]:
        raise ConfigError(f"{key}={value!r} is not valid; choose one of: "
                          f"{', '.join(map(str, meta['choices']))}")
    if "min" in meta and value < meta["min"]:
        raise ConfigError(f"{key}={value!r} is too small; it must be >= {meta['min']}")
    if "max" in meta and value > meta["max"]:
        raise ConfigError(f"{key}={value!r} is too large; it must be <= {meta['max']}")


def describe(cfg: Config) -> str:
    """A readable listing ``key = value  # help`` of every field."""
    lines = []
    for key, value, f in _walk(cfg):
        lines.append(f"{key} = {value!r}  # {f.metadata.get('help', '')}")
    return "\n".join(lines)

