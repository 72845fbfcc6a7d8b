"""T_I: module shapes, each loss on hand-made tensors, unification modes."""
import math

import pytest
import torch

from d2rl_lib.config import get_config
from d2rl_lib.losses.translation import d_accuracy, gan_d_loss, gan_g_loss, kl_loss, recon_loss
from d2rl_lib.models.translation import T_I
from d2rl_lib.models.unify import unify


@pytest.fixture(scope="module")
def t_i():
    torch.manual_seed(0)
    return T_I(get_config("synthetic-ci").ti).eval()


def test_shapes(t_i):
    x = torch.zeros(2, 3, 64, 32)
    y = torch.zeros(2, 1, 64, 32)
    mu, logvar = t_i.encode(x, infrared=False)
    assert mu.shape == (2, 32, 32, 16) and logvar is None      # 16 channels * 2, H/2, W/2
    assert t_i.encode(y, infrared=True)[0].shape == mu.shape  # one shared latent space
    assert t_i.v2i(x).shape == (2, 1, 64, 32)
    assert t_i.i2v(y).shape == (2, 3, 64, 32)
    assert t_i.v2i(x).abs().max() <= 1
    outs = t_i.D_v(x)
    assert [o.shape for o in outs] == [(2, 1, 4, 2), (2, 1, 2, 1)]  # 4 stride-2 layers, 2 scales


def test_gaussian_latent_and_multiscale_discriminator():
    cfg = get_config("synthetic-ci", ["ti.latent=gaussian", "ti.disc_layers=3", "ti.disc_scales=2"]).ti
    m = T_I(cfg).train()
    mu, logvar = m.encode(torch.zeros(1, 3, 64, 32), infrared=False)
    assert logvar is not None and logvar.shape == mu.shape
    assert [o.shape[-2:] for o in m.D_i(torch.zeros(1, 1, 64, 32))] == [(8, 4), (4, 2)]


def test_kl_known_values():
    assert kl_loss(torch.tensor([1.0, -1.0, 2.0, 0.0])).item() == pytest.approx(6 / 4)
    mu, logvar = torch.zeros(3), torch.zeros(3)
    assert kl_loss(mu, logvar).item() == pytest.approx(0.0)
    assert kl_loss(torch.ones(1), torch.zeros(1)).item() == pytest.approx(0.5)


def test_recon_and_gan_known_values():
    assert recon_loss(torch.zeros(4), torch.tensor([1.0, -1.0, 0.5, 0.5])).item() == pytest.approx(0.75)
    real, fake = [torch.ones(2, 1)], [torch.zeros(2, 1)]
    assert gan_d_loss(real, fake).item() == 0.0                       # a perfect LSGAN discriminator
    assert gan_g_loss(fake).item() == 1.0                             # (0 - 1)^2
    assert d_accuracy(real, fake) == 1.0 and d_accuracy(fake, real) == 0.0
    bce = gan_g_loss([torch.zeros(1, 1)], kind="bce").item()
    assert bce == pytest.approx(math.log(2))


def test_unify_modes(t_i):
    imgs = torch.rand(4, 3, 64, 32) * 2 - 1
    imgs[2:] = imgs[2:, :1].expand(-1, 3, -1, -1)                     # infrared: identical channels
    mod = torch.tensor([0, 0, 1, 1])
    ms = unify(t_i, imgs, mod, "multi-spectral")
    assert ms.shape == (4, 4, 64, 32)
    assert torch.equal(ms[:2, :3], imgs[:2])                          # [x, x_hat_i]
    assert torch.equal(ms[2:, 3:], imgs[2:, :1])                      # [y_hat_v, y]
    assert torch.allclose(ms[:2, 3:], t_i.v2i(imgs[:2]))
    to_ir = unify(t_i, imgs, mod, "infrared")
    assert to_ir.shape == (4, 3, 64, 32) and torch.equal(to_ir[2:], imgs[2:])
    to_vis = unify(t_i, imgs, mod, "visible")
    assert torch.equal(to_vis[:2], imgs[:2])
    with pytest.raises(ValueError, match="choose one of"):
        unify(t_i, imgs, mod, "thermal")
