"""T_F pieces: sampler composition, the 4-channel stem, the losses."""
import numpy as np
import pytest
import torch

from d2rl_lib.data.records import INFRARED, VISIBLE
from d2rl_lib.data.samplers import CrossModalityPKSampler
from d2rl_lib.errors import UserError
from d2rl_lib.losses.reid import batch_hard_triplet, identity_loss
from d2rl_lib.models.embedding import T_F, _widen_stem


def test_sampler_composition_and_determinism():
    labels = np.repeat(np.arange(6), 10)
    modality = np.tile([VISIBLE] * 6 + [INFRARED] * 4, 6)
    s = CrossModalityPKSampler(labels, modality, P=4, K=3, seed=1)
    b = s.batch(7)
    assert len(b) == 4 * 2 * 3
    for chunk in b.reshape(4, 2, 3):
        assert len(set(labels[chunk.ravel()])) == 1
        assert (modality[chunk[0]] == VISIBLE).all() and (modality[chunk[1]] == INFRARED).all()
    assert np.array_equal(b, s.batch(7)) and not np.array_equal(b, s.batch(8))
    with pytest.raises(UserError, match="needs P=7"):
        CrossModalityPKSampler(labels, modality, P=7, K=3)


def test_four_channel_stem_starts_from_the_rgb_mean():
    conv = torch.nn.Conv2d(3, 8, 3)
    new = _widen_stem(conv, 4)
    assert torch.equal(new.weight[:, :3], conv.weight)
    assert torch.allclose(new.weight[:, 3], conv.weight.mean(1))
    m = T_F(num_classes=5, in_channels=4)
    f, logits = m(torch.zeros(2, 4, 64, 32))
    assert f.shape == (2, 512) and logits.shape == (2, 5)
    m.eval()
    assert m(torch.zeros(2, 4, 64, 32)).shape == (2, 512)


def test_missing_imagenet_weights_fall_back_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.warns(UserWarning, match="not in torchvision's cache"):
        T_F(num_classes=3, pretrained="torchvision")
    with pytest.raises(UserError, match="no such file"):
        T_F(num_classes=3, pretrained=str(tmp_path / "nope.pth"))


def test_imagenet_weights_load_from_a_local_file(tmp_path):
    import torchvision
    ref = torchvision.models.resnet18(weights=None)
    torch.save(ref.state_dict(), tmp_path / "r18.pth")
    m = T_F(num_classes=3, in_channels=4, pretrained=str(tmp_path / "r18.pth"))
    assert torch.equal(m.backbone.layer1[0].conv1.weight, ref.layer1[0].conv1.weight)
    assert torch.allclose(m.backbone.conv1.weight[:, 3], ref.conv1.weight.mean(1))


def test_triplet_positives_include_the_other_modality():
    # anchor 0 (visible, id 0); its infrared image (index 1) is far away; a negative is near
    f = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.5, 0.0], [10.0, 0.0]])
    labels = torch.tensor([0, 0, 1, 1])
    loss = batch_hard_triplet(f, labels, margin=0.3)
    # anchor 0: d(pos)=3, d(neg)=0.5 -> 2.8; anchor 1: d(pos)=3, d(neg)=2.5 -> 0.8
    # anchor 2: d(pos)=9.5, d(neg)=0.5 -> 9.3; anchor 3: d(pos)=9.5, d(neg)=7 -> 2.8
    assert loss.item() == pytest.approx((2.8 + 0.8 + 9.3 + 2.8) / 4, rel=1e-5)


def test_identity_loss_known_value():
    logits = torch.tensor([[0.0, 0.0]])
    assert identity_loss(logits, torch.tensor([0])).item() == pytest.approx(np.log(2))


def test_one_bf16_autocast_step_on_cpu():
    from d2rl_lib.runtime import autocast

    torch.manual_seed(0)
    m = T_F(num_classes=4, in_channels=3)
    opt = torch.optim.SGD(m.parameters(), lr=0.01)
    x = torch.rand(8, 3, 64, 32) * 2 - 1
    y = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    before = m.classifier.weight.detach().clone() if hasattr(m, "classifier") else None
    with autocast(torch.device("cpu"), torch.bfloat16):
        f, logits = m(x)
        assert logits.dtype == torch.bfloat16
        loss = identity_loss(logits, y)
    loss.float().backward()
    opt.step()
    assert torch.isfinite(loss.float())
    if before is not None:
        assert not torch.equal(before, m.classifier.weight)
