"""The synthetic world's rendering helpers compute exactly what the plain numpy / scipy
calls they replace compute (the world's bytes must not change with a speed-up)."""
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from d2rl_lib.data.synthetic import SyntheticWorld, WorldSpec
from d2rl_lib.data.synthetic.geometry import _Bands, random_instant
from d2rl_lib.data.synthetic.world import _add_noise, _blur, _to_uint8


@pytest.mark.parametrize("sigma", [0.06, 0.3, 0.9, 1.37, 2.07])
def test_blur_is_gaussian_filter(sigma):
    rng = np.random.default_rng(0)
    rgb = rng.random((3, 32, 16)).transpose(1, 2, 0)         # colour planes, as render_visible
    assert np.array_equal(_blur(rgb, sigma), gaussian_filter(rgb, sigma=(sigma, sigma, 0)))
    ir = rng.random((32, 16)).astype(np.float32)
    out = _blur(ir, sigma)
    assert out.dtype == np.float32 and np.array_equal(out, gaussian_filter(ir, sigma=sigma))


def test_noise_and_uint8_are_the_plain_expressions():
    img = np.random.default_rng(1).random((16, 8, 3)) * 1.2 - 0.1
    plain, fast = np.random.default_rng(2), np.random.default_rng(2)
    want = img + plain.normal(0, 0.03, img.shape)
    got = _add_noise(img, 0.03, fast)
    assert np.array_equal(got, want)
    assert plain.random() == fast.random()                  # the same draws consumed
    assert np.array_equal(_to_uint8(got.copy()), (np.clip(want, 0, 1) * 255 + 0.5).astype(np.uint8))


def test_instant_draw_is_rng_choice():
    for seed in range(300):
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        assert random_instant(a).occlusion == int(b.choice([0, 0, 0, 1, 2]))


def test_bands_are_the_rows_of_the_t_range():
    t = np.linspace(-0.1, 1.05, 64, dtype=np.float32)[:, None]
    cuts = (0.0, 0.3, 0.95, float(t[10, 0]), 1.2, -0.5)
    bands = _Bands(t, cuts)
    for a in cuts:
        for b in cuts:
            rows = np.flatnonzero(((t >= a) & (t < b))[:, 0])
            assert list(range(64)[bands.rows(a, b)]) == rows.tolist()


def test_paired_render_reuses_nothing_it_should_not():
    world = SyntheticWorld(WorldSpec(height=64, width=32))
    a = world.render(3, 2, 1)
    b = world.render(3, 2, 1, paired=True)
    c = world.render(4, 2, 1)
    fresh = SyntheticWorld(WorldSpec(height=64, width=32))
    for got, want in ((c, fresh.render(4, 2, 1)), (b, fresh.render(3, 2, 1, paired=True)),
                      (a, fresh.render(3, 2, 1))):
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
