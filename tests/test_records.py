"""ImageSet keeps its fields aligned; pixel range conversions invert each other."""
import numpy as np
import pytest
import torch

from d2rl_lib.data.records import INFRARED, VISIBLE, ImageSet, to_signed, to_uint8


def _set(n=6):
    return ImageSet(pids=np.arange(n) // 2, cams=np.array([1, 3] * (n // 2)),
                    modality=np.array([VISIBLE, INFRARED] * (n // 2)),
                    images=torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 3, 2, 2).clone(),
                    names=[f"n{i}" for i in range(n)])


def test_subset_keeps_fields_aligned():
    s = _set().subset([4, 1])
    assert s.pids.tolist() == [2, 0] and s.names == ["n4", "n1"]
    assert s.images[:, 0, 0, 0].tolist() == [4, 1]
    assert len(_set().of_modality(INFRARED)) == 3


def test_misaligned_fields_are_refused():
    with pytest.raises(ValueError, match="cams has 1 entries"):
        ImageSet(pids=np.arange(2), cams=np.arange(1), modality=np.zeros(2), paths=["a", "b"])
    with pytest.raises(ValueError, match="exactly one of images"):
        ImageSet(pids=np.arange(2), cams=np.arange(2), modality=np.zeros(2))


def test_range_conversions_round_trip():
    x = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16).expand(1, 3, 16, 16)
    f = to_signed(x)
    assert f.min() == -1 and f.max() == 1
    assert torch.equal(to_uint8(f), x)
