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
    mu, logvar = t_i.E_v(x)
    assert mu.shape == (2, 32, 32, 16) and logvar is None      # 16 channels * 2, H/2, W/2
    assert t_i.E_i(y)[0].shape == mu.shape                     # one shared latent space
    assert t_i.E_v.shared is t_i.E_i.shared and t_i.G_v.shared is t_i.G_i.shared
    private = lambda m: {id(p) for p in m.private.parameters()}  # noqa: E731
    assert not private(t_i.E_v) & private(t_i.E_i) and not private(t_i.G_v) & private(t_i.G_i)
    assert t_i.v2i(x).shape == (2, 1, 64, 32)
    assert t_i.i2v(y).shape == (2, 3, 64, 32)
    assert t_i.v2i(x).abs().max() <= 1
    outs = t_i.D_v(x)
    assert [o.shape for o in outs] == [(2, 1, 6, 1)]   # 3 stride-2 layers on the 52 x 12 person box


def test_gaussian_latent_and_multiscale_discriminator():
    cfg = get_config("synthetic-ci", ["ti.latent=gaussian", "ti.disc_view=whole", "ti.disc_layers=3",
                                      "ti.disc_scales=2"]).ti
    m = T_I(cfg).train()
    mu, logvar = m.E_v(torch.zeros(1, 3, 64, 32))
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



def test_spectral_generators_start_as_luminance_and_identity():
    """ti.output=spectral: before any training, G_i(E_v(x)) is x's luminance, G_v(E_i(y)) is
    y in grey, and each VAE gives its image back; the maps keep the input's size."""
    torch.manual_seed(0)
    m = T_I(get_config("synthetic-ci", ["ti.output=spectral"]).ti).eval()
    x = torch.rand(2, 3, 64, 32) * 2 - 1
    y = torch.rand(2, 1, 64, 32) * 2 - 1
    luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    assert m.v2i(x).shape == (2, 1, 64, 32) and m.i2v(y).shape == (2, 3, 64, 32)
    assert torch.allclose(m.v2i(x), (x * luma).sum(1, keepdim=True), atol=1e-5)
    assert torch.allclose(m.i2v(y), y.expand(-1, 3, -1, -1), atol=1e-5)
    z_v, z_i = m.E_v(x)[0], m.E_i(y)[0]
    assert torch.allclose(m.G_v(z_v, x), x, atol=1e-5)
    assert torch.allclose(m.G_i(z_i, y), y, atol=1e-5)
    with pytest.raises(ValueError, match="pixels"):
        m.G_i(z_v)


def test_spectral_maps_follow_the_code_and_the_projection():
    """G_i's exposure comes from z (another code, another exposure; the same correlation with
    the projection), G_v's per-place colour map too, and P_v sets which colours run bright."""
    torch.manual_seed(0)
    m = T_I(get_config("synthetic-ci", ["ti.output=spectral"]).ti).eval()
    with torch.no_grad():
        m.G_i.private.head.weight.normal_(0, 0.05)
        m.G_v.private.body[-1].weight.normal_(0, 0.05)
    x = torch.rand(1, 3, 64, 32) * 2 - 1
    z = m.E_v(x)[0]                                         # [1, 32, 32, 16]
    a = m.G_i(z, x)
    b = m.G_i(z + 1.0, x)
    assert not torch.allclose(a, b)
    inside = (a.abs() < 1) & (b.abs() < 1)                  # not clipped to [-1, 1]
    flat = torch.stack([a[inside], b[inside]])
    assert torch.corrcoef(flat)[0, 1] > 0.9999              # exposure: gain and offset only
    y = torch.rand(1, 1, 64, 32) * 2 - 1
    zi = m.E_i(y)[0]
    assert not torch.allclose(m.G_v(zi, y), m.G_v(zi + 1.0, y))
    red = torch.tensor([0.8, -0.6, -0.6]).view(1, 3, 1, 1).expand(1, 3, 64, 32)
    before = m.v2i(red).mean()
    with torch.no_grad():
        m.P_v.weight.copy_(torch.tensor([0.75, 0.2, 0.05]).view(1, 3, 1, 1))
    assert m.v2i(red).mean() > before + 0.2                 # a red-end response: red runs bright


def test_identity_match_known_values():
    """L_match is 0 for the same intensities in any order, the shift for a shifted copy, and
    compares each identity with itself only."""
    from d2rl_lib.losses.translation import identity_match_loss

    torch.manual_seed(0)
    real = torch.rand(4, 1, 64, 32) * 2 - 1
    k = torch.tensor([0, 0, 1, 1])
    from d2rl_lib.models.translation import person_box
    box = person_box(real)                                   # [4, 1, 52, 12]
    same = torch.zeros_like(real) - 1
    same[..., 6:58, 10:22] = box.flip(-1)                    # the same box pixels, mirrored
    assert float(identity_match_loss(same, k, real, k)) < 1e-6
    shuffled = torch.zeros_like(real) - 1                    # ... or in another order ("pose")
    shuffled[..., 6:58, 10:22] = box.flatten(1)[:, torch.randperm(box[0].numel())].view_as(box)
    assert float(identity_match_loss(shuffled, k, real, k)) < 1e-6
    assert float(identity_match_loss(shuffled + 0.5, k, real, k)) > 0.4
    assert abs(float(identity_match_loss(same + 0.25, k, real, k)) - 0.25) < 1e-5
    swapped = identity_match_loss(real, k, torch.cat([real[2:], real[:2]]), k)
    assert float(swapped) > 0.0
    assert float(identity_match_loss(real, k, shuffled, torch.tensor([2, 2, 3, 3]))) == 0.0


def test_reflectance_generator_starts_as_grey_and_learns_per_pixel_and_per_place():
    """ti.output=reflectance: G_i(E_v(x)) starts as x's luminance; its reflectance is a function
    of each pixel's colour alone (the same colour anywhere, the same reflectance), and the
    illumination field it is multiplied by comes from z and varies over the image."""
    torch.manual_seed(0)
    m = T_I(get_config("synthetic-ci", ["ti.output=reflectance"]).ti).eval()
    x = torch.rand(2, 3, 64, 32) * 2 - 1
    luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    assert torch.allclose(m.v2i(x), (x * luma).sum(1, keepdim=True).clamp(-1, 1), atol=1e-5)
    assert m.i2v(torch.zeros(2, 1, 64, 32)).shape == (2, 3, 64, 32)
    with torch.no_grad():
        m.P_v.net[-1].weight.normal_(0, 0.5)
        m.G_i.private.body[-1].weight.normal_(0, 0.05)
    flat = torch.rand(1, 3, 1, 1).expand(1, 3, 64, 32) * 2 - 1      # one colour everywhere
    r = m.P_v(flat)
    assert torch.allclose(r, r[:, :, :1, :1].expand_as(r))
    assert not torch.allclose(r, (flat * luma).sum(1, keepdim=True), atol=1e-3)   # not luminance any more
    z = m.E_v(x)[0]
    field = m.G_i.private(m.G_i.shared(z))                   # [2, 2, 32, 16] gain and offset per place
    assert field.shape[1] == 2 and field[:, 0].std() > 1e-4 # the illumination varies over the image
    assert not torch.allclose(m.G_i(z, x), m.G_i(z + 1.0, x))
