"""`d2rl train` on SYSU-MM01 / RegDB folders, end to end on small synthetic exports
written in the official layouts: lazy file loading, DataLoader workers, both protocols."""
import json

import numpy as np
import pytest
import torch

from d2rl_lib.cli import main
from d2rl_lib.config import get_config
from d2rl_lib.data.export import export_regdb, export_sysu
from d2rl_lib.data.files import FileImages, ImageFiles, pixels, step_batches
from d2rl_lib.data.synthetic import SyntheticWorld, WorldSpec, load_synthetic
from d2rl_lib.errors import UserError
from d2rl_lib.data.loading import load_data

SMALL = ["data.train_ids=4", "data.test_ids=3", "data.images_per_camera=2"]
# paper-scale presets shrunk to seconds: ResNet-18 at 32x16, 3 steps, one thread
TINY = ["tf.arch=resnet18", "tf.pretrained=", "data.height=32", "data.width=16",
        "schedule.batch_ids=3", "schedule.batch_images=2", "schedule.tf_steps=2",
        "schedule.joint_steps=1", "schedule.log_every=1", "schedule.checkpoint_every=0",
        "optim.tf_warmup_steps=1", "runtime.device=cpu", "runtime.threads=1", "runtime.amp=off",
        "runtime.channels_last=false", "data.num_workers=2", "method=baseline"]
TI_TINY = ["ti.channels=8", "ti.disc_channels=8", "ti.n_res=1", "ti.disc_scales=1",
           "schedule.ti_steps=1", "schedule.ti_batch=2", "schedule.sample_every=0"]
KEYS = ("rank1", "rank10", "rank20", "mAP", "mINP", "v2v_mAP", "i2i_mAP", "protocol",
        "method", "preset", "train_seconds")


@pytest.fixture(scope="module")
def sysu_root(tmp_path_factory):
    data = load_synthetic(get_config("synthetic-ci", SMALL).data,
                          cache_dir=tmp_path_factory.mktemp("cache"))
    return export_sysu(data.train, data.test, tmp_path_factory.mktemp("SYSU-MM01"))


@pytest.fixture(scope="module")
def regdb_root(tmp_path_factory):
    world = SyntheticWorld(WorldSpec(train_ids=3, test_ids=3))
    return export_regdb(world, tmp_path_factory.mktemp("RegDB"), images=2, trials=2)


def _train(preset, root, out, extra=()):
    args = ["train", "--config", preset, "--out", str(out), "--set", f"data.root={root}"]
    for kv in TINY + list(extra):
        args += ["--set", kv]
    assert main(args) == 0
    return json.loads((out / "metrics.json").read_text())


def test_sysu_folder_trains_and_scores_with_the_sysu_protocol(sysu_root, tmp_path):
    m = _train("sysu", sysu_root, tmp_path / "run")
    for key in KEYS:
        assert key in m, key
    p = m["protocol"]
    assert p["dataset"] == "sysu" and p["direction"] == "infrared->visible"
    assert (p["mode"], p["shots"], p["trials"], p["sampler"]) == ("all", 1, 10, "seeded")
    assert p["query_images"] == 3 * 2 * 2 and p["reranking"] is False and p["flip_test"] is False
    assert len(m["per_trial"]) == 10
    assert all(np.isfinite(m[k]) and 0 <= m[k] <= 100 for k in ("rank1", "mAP", "mINP", "v2v_mAP"))
    assert "translation" not in m                                      # no hidden pairs on real data
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["data"]["dataset"] == "sysu" and cfg["data"]["root"] == str(sysu_root)


def test_sysu_d2rl_joint_steps_run_on_files(sysu_root, tmp_path):
    m = _train("sysu", sysu_root, tmp_path / "d2rl", ["method=d2rl", "ti.n_down=1"] + TI_TINY)
    assert m["method"] == "d2rl" and m["joint_steps"] == 1 and np.isfinite(m["mAP"])
    assert "T_I step 1/1" in (tmp_path / "d2rl" / "log.txt").read_text()


def test_regdb_folder_reports_both_directions_of_the_trial(regdb_root, tmp_path):
    m = _train("regdb", regdb_root, tmp_path / "run", ["data.trial=2"])
    for key in KEYS:
        assert key in m, key
    assert set(m["directions"]) == {"visible->thermal", "thermal->visible"}
    for d, r in m["directions"].items():
        assert r["protocol"]["direction"] == d and r["protocol"]["trial"] == 2
        assert r["protocol"]["reranking"] is False and r["protocol"]["flip_test"] is False
    assert m["mAP"] == m["directions"]["visible->thermal"]["mAP"]
    assert m["v2v_mAP"] is None and m["i2i_mAP"] is None


def test_worker_count_does_not_change_the_batches(sysu_root):
    cfg = get_config("sysu", TINY + [f"data.root={sysu_root}"])
    train, _ = load_data(cfg)
    assert train.images is None and train.meta["size"] == (32, 16)

    def batch_of(step):
        return np.random.default_rng(step).choice(len(train), 6, replace=False)

    a = list(step_batches(train, batch_of, 1, 4, num_workers=0))
    b = list(step_batches(train, batch_of, 1, 4, num_workers=2))
    assert [s for s, _, _ in a] == [1, 2, 3]
    for (sa, ia, xa), (sb, ib, xb) in zip(a, b):
        assert sa == sb and np.array_equal(ia, ib) and torch.equal(xa, xb)
        assert xa.shape == (6, 3, 32, 16) and xa.dtype == torch.uint8
        assert torch.equal(xa, pixels(train)[ia])                    # the same as the lazy view
    ir = pixels(train)[np.flatnonzero(train.modality == 1)[:2]]
    assert torch.equal(ir[:, 0], ir[:, 1]) and torch.equal(ir[:, 0], ir[:, 2])   # 3 equal channels


def test_file_images_resize_and_slices(sysu_root):
    paths = sorted(str(p) for p in (sysu_root / "cam1").rglob("*.jpg"))[:3]
    view = FileImages(paths, 48, 16)
    assert view[0:2].shape == (2, 3, 48, 16) and view[[2]].shape == (1, 3, 48, 16)
    assert len(view) == 3 and ImageFiles(paths, 48, 16)[1].shape == (3, 48, 16)


def test_errors_name_what_is_wrong(sysu_root, tmp_path, capsys):
    with pytest.raises(UserError, match="needs data.root=DIR"):
        load_data(get_config("sysu", TINY))
    with pytest.raises(UserError, match="rand_perm_cam.mat"):
        load_data(get_config("sysu", TINY + [f"data.root={sysu_root}", "data.gallery_sampler=official"]))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(UserError, match="cannot read image .*bad.jpg"):
        ImageFiles([str(bad)], 32, 16)[0]
    assert main(["train", "--config", "regdb", "--out", str(tmp_path / "x"),
                 "--set", f"data.root={tmp_path / 'nowhere'}"] + sum((["--set", kv] for kv in TINY), [])) == 2
    assert "RegDB folder not found" in capsys.readouterr().err
