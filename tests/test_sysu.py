"""SYSU-MM01 reader and protocol on a synthetic export (the exact official layout)."""
import random

import numpy as np
import pytest
from scipy.io import savemat

from d2rl_lib.cli import main
from d2rl_lib.config import get_config
from d2rl_lib.data.export import export_sysu
from d2rl_lib.data.protocol import gallery_indices, query_indices
from d2rl_lib.data.summary import sysu_summary
from d2rl_lib.data.synthetic import load_synthetic
from d2rl_lib.data.sysu import load_sysu
from d2rl_lib.errors import UserError

SMALL = ["data.train_ids=4", "data.test_ids=3", "data.images_per_camera=2"]


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    data = load_synthetic(get_config("synthetic-ci", SMALL).data,
                          cache_dir=tmp_path_factory.mktemp("cache"))
    root = export_sysu(data.train, data.test, tmp_path_factory.mktemp("SYSU-MM01"))
    return data, root


def test_round_trip_through_the_reader(export):
    data, root = export
    train, test = load_sysu(root)
    assert (root / "cam3" / "0001" / "0001.jpg").is_file()
    assert (root / "exp" / "val_id.txt").read_text().strip() == "4"
    assert train.names == data.train.names and test.names == data.test.names
    assert sorted(set(train.labels)) == [0, 1, 2, 3]               # train + val, relabelled
    assert sysu_summary(train, test) == sysu_summary(data.train, data.test)


def test_summary_counts(export):
    data, _ = export
    s = sysu_summary(data.train, data.test)
    # 3 test ids, 2 images per camera: query = 3 ids x 2 IR cams x 2 images
    assert s["query_images"] == 12
    assert s["gallery_images"]["all"] == {"single": 12, "multi": 24}
    assert s["gallery_images"]["indoor"] == {"single": 6, "multi": 12}
    assert s["train_rgb_images"] == 4 * 4 * 2 and s["train_ir_images"] == 4 * 2 * 2


def test_seeded_sampler_is_the_agw_draw(export):
    data, _ = export
    test = data.test
    g = gallery_indices(test, "all", 1, trial=3, sampler="seeded")
    random.seed(3)
    expected = []
    for pid in sorted(set(test.pids.tolist())):
        for cam in (1, 2, 4, 5):
            files = sorted(n for n, p, c in zip(test.names, test.pids, test.cams) if p == pid and c == cam)
            expected.append(random.choice(files))
    assert [test.names[i] for i in g] == expected
    assert set(test.cams[gallery_indices(test, "indoor", 1, 0)]) == {1, 2}
    assert set(test.cams[query_indices(test)]) == {3, 6}


def test_official_sampler_reads_the_permutation(export):
    data, root = export
    test = data.test
    n_ids = int(test.pids.max())
    # perm[cam-1][0][id-1][trial] -> image numbers (1-based)
    perm = np.empty((6, 1), dtype=object)
    for cam in range(6):
        per_id = np.empty((n_ids,), dtype=object)
        for pid in range(n_ids):
            per_id[pid] = np.array([[2, 1], [1, 2]])
        perm[cam, 0] = per_id
    g = gallery_indices(test, "all", 1, trial=0, sampler="official", perm=perm)
    assert all(test.names[i].endswith("0002.jpg") for i in g)
    savemat(str(root / "exp" / "rand_perm_cam.mat"), {"rand_perm_cam": perm})
    with pytest.raises(UserError, match="needs rand_perm_cam.mat"):
        gallery_indices(test, "all", 1, 0, "official", None)


def test_cli_summary_and_split(export, capsys):
    _, root = export
    assert main(["data", "summary", "--dataset", "sysu", "--root", str(root), "--json"]) == 0
    assert '"query_images": 12' in capsys.readouterr().out
    assert main(["data", "split", "--root", str(root), "--part", "gallery", "--trial", "1"]) == 0
    lines = capsys.readouterr().out.split()
    assert len(lines) == 12 and all(l.startswith(("cam1/", "cam2/", "cam4/", "cam5/")) for l in lines)


def test_wrong_folders_are_refused(tmp_path, export):
    with pytest.raises(UserError, match="folder not found"):
        load_sysu(tmp_path / "nowhere")
    (tmp_path / "cam1").mkdir()
    with pytest.raises(UserError, match="no cam2, cam3"):
        load_sysu(tmp_path)
    for c in range(2, 7):
        (tmp_path / f"cam{c}").mkdir()
    with pytest.raises(UserError, match="missing .*train_id.txt"):
        load_sysu(tmp_path)
    (tmp_path / "exp").mkdir()
    for s in ("train", "val", "test"):
        (tmp_path / "exp" / f"{s}_id.txt").write_text("1,2")
    with pytest.raises(UserError, match="no images of the train ids"):
        load_sysu(tmp_path)
