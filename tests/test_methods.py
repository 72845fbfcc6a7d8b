"""One method, one place (issue 33): Method.feed builds T_F's input for every phase, the
couplings that cannot work are refused where they are made, the augmentation baselines are
views of the raw batch; validation identities and learning curves (issue 34)."""
import json

import pytest
import torch

from d2rl_lib.cli import main
from d2rl_lib.config import Config, ConfigError, get_config
from d2rl_lib.data.loading import load_data, load_validation
from d2rl_lib.data.records import INFRARED, VISIBLE
from d2rl_lib.data.synthetic import load_synthetic
from d2rl_lib.errors import UserError
from d2rl_lib.evaluation.curve import kept_checkpoints, learning_curve, plateau_step
from d2rl_lib.evaluation.trained import load_run
from d2rl_lib.inputs import feed, prepare_for
from d2rl_lib.models.unify import blank_own_channels, unify
from d2rl_lib.methods import METHODS, Method, method
from d2rl_lib.runtime import RunDir
from d2rl_lib.training.run import run_method

TINY = ["data.train_ids=6", "data.test_ids=4", "data.val_ids=4", "data.images_per_camera=2",
        "data.trials=2", "schedule.batch_ids=3", "schedule.batch_images=2", "schedule.log_every=1",
        "schedule.checkpoint_every=0", "runtime.device=cpu", "schedule.joint_steps=0"]
MOD = torch.tensor([VISIBLE, VISIBLE, INFRARED, INFRARED])


class _Echo:
    """A stand-in T_I: x_hat_i is 0.5 everywhere, y_hat_v -0.5."""

    @staticmethod
    def v2i(x):
        return torch.full_like(x[:, :1], 0.5)

    @staticmethod
    def i2v(y):
        return torch.full_like(y.expand(-1, 3, -1, -1), -0.5)


def _images(channels=3):
    x = torch.rand(4, channels, 8, 4) * 2 - 1
    x[2:, :3] = x[2:, :1].expand(-1, 3, -1, -1)                    # infrared: three equal channels
    return x


def test_feed_is_the_methods_input_in_every_form():
    x = _images()
    assert feed(method("baseline"), x, MOD) is x
    grey = feed(method("grayscale"), x, MOD)
    assert torch.equal(grey[:, 0], grey[:, 1]) and torch.equal(grey[2:], x[2:])
    u = feed(method("d2rl-yyyy"), x, MOD, _Echo)
    assert u.shape == (4, 4, 8, 4) and torch.all(u[:2, 3] == 0.5)
    assert torch.equal(u[2:], x[2:, :1].expand(-1, 4, -1, -1))     # [y, y, y, y]
    assert torch.all(feed(method("d2rl"), x, MOD, _Echo)[2:, :3] == -0.5)   # [y_hat_v, y]
    given = (torch.full((2, 1, 8, 4), 0.25), torch.full((2, 3, 8, 4), 0.75))
    assert torch.all(feed(method("d2rl"), x, MOD, _Echo, translations=given)[:2, 3] == 0.25)
    with pytest.raises(UserError, match="give the trained T_I"):
        feed(method("unify-ir"), x, MOD)


def test_infrared_repeated_feeds_y_four_times_and_visible_images_keep_x_hat_i():
    images = torch.rand(4, 3, 8, 4) * 2 - 1
    images[2:] = images[2:, :1].expand(-1, 3, -1, -1)
    mod = torch.tensor([VISIBLE, VISIBLE, INFRARED, INFRARED])
    u = unify(_Echo, images, mod, "multi-spectral", infrared_input="repeated")
    assert torch.equal(u[2:], images[2:, :1].expand(-1, 4, -1, -1))
    assert torch.equal(u[:2, :3], images[:2]) and torch.all(u[:2, 3] == 0.5)
    t = unify(_Echo, images, mod, "multi-spectral")
    assert torch.all(t[2:, :3] == -0.5) and torch.equal(t[:2], u[:2])
    with pytest.raises(ValueError, match="repeated"):
        unify(_Echo, images, mod, "multi-spectral", infrared_input="twice")


def test_modality_dropout_blanks_an_images_own_channels():
    u = torch.ones(4, 4, 2, 2)
    mod = torch.tensor([VISIBLE, VISIBLE, INFRARED, INFRARED])
    assert blank_own_channels(u, mod, 0.0) is u
    d = blank_own_channels(u, mod, 1.0)
    assert torch.all(d[:2, :3] == 0) and torch.all(d[:2, 3] == 1)    # visible: only x_hat_i left
    assert torch.all(d[2:, :3] == 1) and torch.all(d[2:, 3] == 0)    # infrared: only y_hat_v left
    r = blank_own_channels(u, mod, 1.0, infrared_input="repeated")
    assert torch.all(r[2:] == 1) and torch.all(r[:2, :3] == 0)       # [y, y, y, y] kept whole
    torch.manual_seed(0)
    half = blank_own_channels(torch.ones(400, 4, 1, 1), torch.zeros(400, dtype=torch.long), 0.5)
    assert 150 < int((half[:, 0] == 0).sum()) < 250


def test_modality_dropout_reaches_the_oracle_too():
    """It used to be skipped for d2rl-oracle (the frozen step returned before it)."""
    twin = _images(4)
    dropped = feed(method("d2rl-oracle"), twin, MOD, dropout=1.0)
    assert torch.all(dropped[:2, :3] == 0) and torch.equal(dropped[:2, 3], twin[:2, 3])
    assert torch.equal(dropped[2:], twin[2:])                      # [y, y, y, y] carries no translation
    with pytest.raises(ValueError, match="3 channels"):
        feed(method("baseline"), _images(), MOD, dropout=0.5)


def test_the_evaluation_transform_is_feed_without_dropout():
    images = torch.randint(0, 256, (4, 3, 8, 4), dtype=torch.uint8)
    out = prepare_for(method("grayscale"))(images, MOD)
    assert torch.equal(out, feed(method("grayscale"), images.float() / 127.5 - 1, MOD))
    with pytest.raises(UserError, match="give the trained T_I"):
        prepare_for(method("d2rl"))


@pytest.mark.parametrize("fields, words", [
    (dict(unification="infrared", infrared_input="repeated"), "needs unification='multi-spectral'"),
    (dict(infrared_input="twice"), "choose one of translated, repeated"),
    (dict(joint=True), "joint steps update T_I"),
    (dict(oracle=True), "give the unification"),
    (dict(unification="infrared", views="random_grayscale"), "not with a unification"),
])
def test_a_method_that_cannot_work_is_refused_when_made(fields, words):
    with pytest.raises(ValueError, match=words):
        Method("x", "nothing", **fields)


@pytest.mark.parametrize("overrides, words", [
    (["method=baseline", "tf.modality_dropout=0.5"], "choose a 4-channel method"),
    (["method=unify-ir-oracle", "tf.modality_dropout=0.1"], "feeds T_F 3 channels"),
    (["method=d2rl", "tf.train_modality=infrared"], "use method=baseline for a teacher"),
    (["method=d2rl-oracle", "tf.train_modality=visible"], "needs both modalities"),
    (["ti.teacher.infrared.run=runs/x"], "would teach nothing: ti.teacher.infrared.weight is 0"),
    (["ti.teacher.visible.run=runs/x"], "ti.teacher.visible.weight is 0"),
    (["ti.w_match=1"], "set schedule.ti_batch_ids"),
])
def test_a_config_that_cannot_work_is_refused_with_what_to_set(overrides, words):
    with pytest.raises(ConfigError, match=words):
        get_config("synthetic-ci", overrides)


def test_validation_identities_are_new_people_and_change_no_train_or_test_image():
    cfg = get_config("synthetic-ci", TINY)
    train, test = load_data(cfg)
    val = load_validation(cfg)
    assert set(val.pids).isdisjoint(set(train.pids) | set(test.pids)) and len(set(val.pids)) == 4
    assert min(val.pids) == max(test.pids) + 1
    other = load_synthetic(get_config("synthetic-ci", TINY[:2] + ["data.val_ids=8"] + TINY[3:]).data)
    assert torch.equal(other.train.images, train.images) and torch.equal(other.test.images, test.images)
    with pytest.raises(UserError, match="at least 2"):
        load_validation(get_config("synthetic-ci", TINY + ["data.val_ids=0"]))


def test_kept_checkpoints_give_a_curve_on_validation_and_test(tmp_path):
    cfg = get_config("synthetic-ci", TINY + ["method=baseline", "schedule.tf_steps=4", "schedule.keep_every=2"])
    run_dir = RunDir.create(tmp_path / "b")
    metrics = run_method(cfg, run_dir)
    assert [s for s, _ in kept_checkpoints(run_dir.root)] == [2, 4]
    curve = learning_curve(run_dir.root)
    assert [p["tf_step"] for p in curve["points"]] == [2, 4]
    assert curve["points"][-1]["test"]["mAP"] == pytest.approx(metrics["mAP"], abs=0.01)
    assert curve["points"][-1]["val"]["mAP"] != curve["points"][-1]["test"]["mAP"]
    out = tmp_path / "curves.json"
    assert main(["curve", str(run_dir.root), "--out", str(out), "--threads", "1"]) == 0
    book = json.loads(out.read_text())
    assert len(book["curves"]) == 1 and book["curves"][0]["command"].startswith("d2rl curve")


def test_the_plateau_is_where_validation_stops_rising():
    pts = [{"tf_step": s, "val": {"mAP": v}} for s, v in ((1, 10.0), (2, 20.0), (3, 25.0), (4, 25.5), (5, 25.2))]
    assert plateau_step(pts) == 3
    assert plateau_step(pts[:3]) == 3


def test_the_earlier_names_of_renamed_keys_still_read():
    """Commands in results/ and configs saved in checkpoints used the flat teacher keys."""
    cfg = get_config("synthetic-ci", ["ti.teacher_ir=runs/t", "ti.w_teacher=2", "schedule.ti_batch_ids=4",
                                      "tf.w_reid_to_ti=0.5"])
    assert cfg.ti.teacher.infrared.run == "runs/t" and cfg.ti.teacher.infrared.weight == 2.0
    assert cfg.ti.w_reid == 0.5
    assert Config.from_dict({"ti": {"teacher_visible": "runs/v", "w_teacher_visible": 1.0},
                             "schedule": {"ti_batch_ids": 4}}).ti.teacher.visible.run == "runs/v"


def test_every_method_is_named_in_the_config_choices():
    cfg = get_config("synthetic-ci")
    for name in METHODS:
        cfg.method = name
        cfg.validate()


def test_tf_init_starts_t_f_from_another_runs_weights_and_refuses_what_does_not_fit(tmp_path):
    """The teacher's knowledge without a translator (issue 34, point 3c): T_F started from a run."""
    from d2rl_lib.training.tf import TFTrainer
    first = RunDir.create(tmp_path / "teacher")
    run_method(get_config("synthetic-ci", TINY + ["method=baseline", "schedule.tf_steps=1"]), first)
    cfg = get_config("synthetic-ci", TINY + ["method=baseline", f"schedule.tf_init={first.root}"])
    tf = TFTrainer(cfg, 6, 3, torch.device("cpu"))
    tf.start_from(cfg.schedule.tf_init)
    saved = load_run(first.root).t_f.state_dict()
    assert all(torch.equal(v, tf.model.state_dict()[k]) for k, v in saved.items())
    with pytest.raises(UserError, match="3 input channels, this run.s 6 and 4"):
        TFTrainer(get_config("synthetic-ci", TINY + ["method=d2rl-oracle"]), 6, 4,
                  torch.device("cpu")).start_from(str(first.root))
    with pytest.raises(UserError, match="learned other identities"):
        TFTrainer(get_config("synthetic-ci", TINY[1:] + ["data.train_ids=8"]), 8, 3,
                  torch.device("cpu")).start_from(str(first.root))
