"""The single-modality teachers of T_I (ti.teacher.infrared / ti.teacher.visible), the teachers'
training (tf.train_modality), the committed taught T_I."""
import pytest
import torch

from d2rl_lib.config import ConfigError, get_config
from d2rl_lib.data.records import INFRARED, VISIBLE
from d2rl_lib.errors import UserError
from d2rl_lib.inputs import prepare_for
from d2rl_lib.methods import method
from d2rl_lib.runtime import RunDir
from d2rl_lib.training.run import run_method
from d2rl_lib.training.teacher import Teacher
from d2rl_lib.training.ti import TITrainer
from d2rl_lib.training.ti_batches import UnpairedBatches
from d2rl_lib.data.loading import load_data

TINY = ["data.train_ids=6", "data.test_ids=4", "data.images_per_camera=2", "data.trials=2",
        "schedule.batch_ids=3", "schedule.batch_images=2", "schedule.log_every=1",
        "schedule.checkpoint_every=0", "runtime.device=cpu", "schedule.joint_steps=0"]
TI_TINY = ["schedule.ti_batch=4", "schedule.ti_batch_ids=2", "ti.channels=8", "ti.disc_channels=8",
           "ti.n_res=1", "ti.output=image"]


@pytest.fixture(scope="module")
def teachers(tmp_path_factory):
    """An infrared-only and a both-modalities T_F, two steps each, on the tiny world."""
    root = tmp_path_factory.mktemp("teachers")
    out = {}
    for modality in ("infrared", "both"):
        cfg = get_config("synthetic-ci", TINY + ["schedule.tf_steps=2", "method=baseline",
                                                 f"tf.train_modality={modality}"])
        out[modality] = RunDir.create(root / modality)
        run_method(cfg, out[modality])
    return out


def test_train_modality_trains_on_that_half_of_the_batch(teachers):
    log = teachers["infrared"].log.read_text().splitlines()
    both = teachers["both"].log.read_text().splitlines()
    assert len(log) == len(both) == 2 and log != both          # other images, other losses


def test_teacher_loss_reaches_the_translation_and_not_the_teacher(teachers):
    cfg = get_config("synthetic-ci", TINY + TI_TINY)
    teacher = Teacher(teachers["infrared"].root, "infrared", cfg, torch.device("cpu"))
    x_vi = torch.zeros(4, 1, 32, 16, requires_grad=True)
    y = torch.rand(4, 1, 32, 16) * 2 - 1
    k = torch.tensor([0, 0, 1, 1])
    out = teacher.loss(x_vi, k, y, k)
    out["loss"].backward()
    assert x_vi.grad is not None and x_vi.grad.abs().sum() > 0
    assert all(p.grad is None for p in teacher.t_f.parameters())
    assert not teacher.t_f.training and 0.0 <= float(out["acc"]) <= 1.0


def test_a_teacher_of_both_modalities_or_of_other_people_is_refused(teachers):
    cfg = get_config("synthetic-ci", TINY + TI_TINY)
    with pytest.raises(UserError, match="tf.train_modality=infrared"):
        Teacher(teachers["both"].root, "infrared", cfg, torch.device("cpu"))
    other = get_config("synthetic-ci", TINY + TI_TINY + ["data.world_seed=5"])
    with pytest.raises(UserError, match="data.world_seed"):
        Teacher(teachers["infrared"].root, "infrared", other, torch.device("cpu"))


def test_config_asks_for_the_teacher_and_labelled_batches():
    with pytest.raises(ConfigError, match="ti.teacher.infrared.run is empty"):
        get_config("synthetic-ci", ["ti.teacher.infrared.weight=1"])
    with pytest.raises(ConfigError, match="schedule.ti_batch_ids"):
        get_config("synthetic-ci", ["ti.teacher.infrared.weight=1", "ti.teacher.infrared.run=runs/x", "schedule.ti_batch_ids=0"])


def test_t_i_objective_gains_the_teachers_term_and_it_moves_g_i(teachers):
    cfg = get_config("synthetic-ci", TINY + TI_TINY + [f"ti.teacher.infrared.run={teachers['infrared'].root}",
                                                       "ti.teacher.infrared.weight=1"])
    train, _ = load_data(cfg)
    torch.manual_seed(0)
    trainer = TITrainer(cfg, torch.device("cpu"))
    x, y, kx, ky = UnpairedBatches.from_config(train, cfg).labelled(0)
    total, parts, _, _ = trainer.g_losses(x, y, kx, ky)
    assert "teacher_infrared" in parts and "teacher_visible" not in parts
    _, untaught, _, _ = trainer.g_losses(x, y)                    # no identities: no teacher term
    assert "teacher_infrared" not in untaught
    parts["teacher_infrared"].backward()
    g_i = [p.grad for p in trainer.t_i.G_i.parameters() if p.grad is not None]
    assert g_i and sum(float(g.abs().sum()) for g in g_i) > 0
    assert all(p.grad is None for p in trainer.t_i.D_i.parameters())


def test_unify_ir_oracle_sees_the_fourth_channel_as_three():
    m = method("unify-ir-oracle")
    assert m.in_channels == 3 and m.oracle and not m.uses_ti
    images = torch.randint(0, 256, (2, 4, 8, 4), dtype=torch.uint8)
    out = prepare_for(m)(images, torch.tensor([VISIBLE, INFRARED]))
    assert out.shape == (2, 3, 8, 4)
    assert torch.equal(out[:, 0], out[:, 2]) and torch.equal(out[:, 1], images[:, 3].float() / 127.5 - 1)


def test_the_committed_taught_t_i_loads_and_starts_a_method(tmp_path):
    """models/ti-taught-classroom.pt: a T_I stage checkpoint (read with weights_only=True), taught
    by an infrared teacher, that translates and that a method run accepts as schedule.ti_init."""
    from d2rl_lib.course.notebook import TAUGHT_TI, taught_ti
    from d2rl_lib.training.run import load_ti_init
    run = taught_ti()
    x = torch.rand(2, 3, 64, 32) * 2 - 1
    assert run.t_i.v2i(x).shape == (2, 1, 64, 32) and not run.t_i.training
    cfg = get_config("synthetic-ci", ["ti.output=image", f"schedule.ti_init={TAUGHT_TI}"])
    load_ti_init(TITrainer(cfg, torch.device("cpu")), cfg)                  # its teachers are not asked for
    with pytest.raises(UserError, match="ti.output"):
        load_ti_init(TITrainer(get_config("synthetic-ci", [f"schedule.ti_init={TAUGHT_TI}"]), torch.device("cpu")),
                     get_config("synthetic-ci", [f"schedule.ti_init={TAUGHT_TI}"]))
