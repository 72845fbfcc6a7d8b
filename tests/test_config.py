"""Config tree: presets, overrides (good and bad), save/load round trip."""
import json

import pytest

from d2rl_lib.config import (PRESETS, Config, ConfigError, apply_overrides, flatten, get_config,
                             overrides_from_preset, valid_keys)


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_builds_and_names_itself(name):
    cfg = get_config(name)
    assert cfg.preset == name


def test_ci_preset_is_smaller_than_classroom():
    ci, room = get_config("synthetic-ci"), get_config("synthetic-classroom")
    assert ci.schedule.ti_steps < room.schedule.ti_steps
    assert ci.data.train_ids <= room.data.train_ids


def test_overrides_are_typed():
    cfg = get_config("synthetic-ci", ["schedule.ti_steps=7", "ti.w_gan=2", "data.flip_test=true",
                                      "method=baseline", "runtime.device=cpu"])
    assert cfg.schedule.ti_steps == 7 and isinstance(cfg.schedule.ti_steps, int)
    assert cfg.ti.w_gan == 2.0 and isinstance(cfg.ti.w_gan, float)
    assert cfg.data.flip_test is True
    assert cfg.method == "baseline"


@pytest.mark.parametrize("override, fragment", [
    ("schedule.nope=1", "unknown config key"),
    ("ti_steps=1", "did you mean schedule.ti_steps"),
    ("schedule.ti_steps=ten", "not a valid int"),
    ("data.flip_test=maybe", "true or false"),
    ("method=magic", "choose one of"),
    ("data.train_ids=1", "must be >= 2"),
    ("data.height=60", "multiple of 16"),
    ("noequals", "key=value"),
])
def test_bad_overrides_are_refused_with_a_clear_message(override, fragment):
    with pytest.raises(ConfigError, match=fragment):
        get_config("synthetic-ci", [override])


def test_unknown_preset():
    with pytest.raises(ConfigError, match="valid presets: synthetic-ci"):
        get_config("tiny")


def test_real_dataset_presets_build_without_a_root():
    assert get_config("sysu").data.root == ""  # printable; the readers ask for the root
    assert get_config("sysu", ["data.root=/x"]).data.root == "/x"


def test_save_load_round_trip(tmp_path):
    cfg = get_config("synthetic-ci", ["ti.w_cycle=3.5"])
    path = cfg.save(tmp_path / "cfg" / "config.json")
    assert json.loads(path.read_text())["ti"]["w_cycle"] == 3.5
    assert Config.load(path) == cfg


def test_load_rejects_unknown_keys(tmp_path):
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"ti": {"bogus": 1}}))
    with pytest.raises(ConfigError, match="unknown config key 'ti.bogus'"):
        Config.load(p)


def test_every_field_has_help():
    from d2rl_lib.config import _walk

    missing = [k for k, _, f in _walk(Config()) if not f.metadata.get("help")]
    assert not missing
    assert "schedule.joint_steps" in valid_keys()


def test_apply_overrides_validates_cross_field_rules():
    cfg = get_config("synthetic-ci")
    with pytest.raises(ConfigError, match="multiple of 16"):
        apply_overrides(cfg, ["data.width=40"])
    with pytest.raises(ConfigError, match="ti.disc_layers=3 with ti.disc_scales=1 needs a person box "
                                          r".* of at least 8 px .* \(box 6 px wide\)"):
        apply_overrides(get_config("synthetic-ci"), ["data.height=32", "data.width=16"])
    small = apply_overrides(get_config("synthetic-ci"), ["data.height=32", "data.width=16", "ti.disc_layers=2"])
    assert small.data.width == 16
    whole = ["ti.disc_view=whole", "ti.disc_layers=4", "ti.disc_scales=2"]
    with pytest.raises(ConfigError, match="ti.disc_layers=4 with ti.disc_scales=2 needs images of at least 32 px"):
        apply_overrides(get_config("synthetic-ci"), ["data.height=32", "data.width=16"] + whole)
    raw = apply_overrides(get_config("synthetic-ci"), ["method=baseline", "data.height=32", "data.width=16"] + whole)
    with pytest.raises(ConfigError, match="needs images of at least 32 px"):   # no T_I in the method,
        raw.check_translator()                                                 # but the T_I stage checks


def test_overrides_from_preset_rebuild_the_config():
    cfg = get_config("synthetic-classroom", ["method=baseline", "ti.w_gan=2", "runtime.seed=3"])
    sets = overrides_from_preset(cfg)
    assert sets == ["method=baseline", "ti.w_gan=2.0", "runtime.seed=3"]
    assert get_config("synthetic-classroom", sets).to_dict() == cfg.to_dict()
    assert overrides_from_preset(get_config("synthetic-ci")) == ["method=d2rl"]
    assert flatten(cfg.to_dict())["ti.w_gan"] == 2.0
