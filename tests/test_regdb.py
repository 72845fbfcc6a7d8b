"""RegDB reader on a synthetic export in RegDB's layout: counts, trials, errors."""
import pytest

from d2rl_lib.cli import main
from d2rl_lib.data.export import export_regdb
from d2rl_lib.data.regdb import load_regdb, regdb_summary
from d2rl_lib.data.synthetic import SyntheticWorld, WorldSpec
from d2rl_lib.errors import UserError


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    world = SyntheticWorld(WorldSpec(train_ids=3, test_ids=3))
    return export_regdb(world, tmp_path_factory.mktemp("RegDB"), images=2, trials=2)


def test_counts_and_disjoint_split(root):
    train, test = load_regdb(root, trial=1)
    s = regdb_summary(train, test)
    assert s == {"train_ids": 3, "train_visible_images": 6, "train_thermal_images": 6,
                 "test_ids": 3, "test_visible_images": 6, "test_thermal_images": 6}
    assert not set(train.pids) & set(test.pids)
    assert sorted(set(train.labels)) == [0, 1, 2] and test.labels is None
    assert set(train.cams[train.modality == 1]) == {2}
    train2, test2 = load_regdb(root, trial=2)
    assert not set(train2.pids) & set(test2.pids)
    assert set(train2.pids) | set(test2.pids) == set(train.pids) | set(test.pids)


def test_cli_summary(root, capsys):
    assert main(["data", "summary", "--dataset", "regdb", "--root", str(root), "--trial", "2", "--json"]) == 0
    assert '"test_thermal_images": 6' in capsys.readouterr().out


def test_errors(root, tmp_path):
    with pytest.raises(UserError, match="trial 11"):
        load_regdb(root, 11)
    with pytest.raises(UserError, match="no Visible/ folder"):
        load_regdb(tmp_path)
    for sub in ("Visible", "Thermal", "idx"):
        (tmp_path / sub).mkdir()
    with pytest.raises(UserError, match="missing index file"):
        load_regdb(tmp_path)
    for part in ("train", "test"):
        for m in ("visible", "thermal"):
            (tmp_path / "idx" / f"{part}_{m}_1.txt").write_text("Visible/1/a.bmp 0\n")
    with pytest.raises(UserError, match="names Visible/1/a.bmp, which is not under"):
        load_regdb(tmp_path)
