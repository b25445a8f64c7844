"""Tests for pdecore.signals: the scan line, seeded noise, piecewise-constant signals."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import pdecore


def test_scanline_shape_range_dtype():
    f = pdecore.scanline()
    assert f.shape == (512,)
    assert f.dtype == np.float64
    assert 0.0 <= f.min() and f.max() <= 255.0
    assert f.std() > 10.0  # a real image row, not a constant


def test_scanline_is_deterministic_and_depends_on_the_row():
    assert_array_equal(pdecore.scanline(123), pdecore.scanline(123))
    assert not np.array_equal(pdecore.scanline(100), pdecore.scanline(400))


@pytest.mark.parametrize("step, size", [(1, 512), (2, 256), (3, 171), (8, 64)])
def test_scanline_step(step, size):
    f = pdecore.scanline(50, step=step)
    assert f.shape == (size,)
    assert_array_equal(f, pdecore.scanline(50)[::step])


def test_scanline_row_bounds():
    assert pdecore.scanline(599).shape == (512,)
    with pytest.raises(ValueError, match="^row must be < 600"):
        pdecore.scanline(600)
    with pytest.raises(ValueError, match="^row must be >= 0"):
        pdecore.scanline(-1)


def test_add_noise_is_seeded():
    f = np.zeros(1000)
    assert_array_equal(pdecore.add_noise(f, 1.0, seed=3), pdecore.add_noise(f, 1.0, seed=3))
    assert not np.array_equal(pdecore.add_noise(f, 1.0, seed=3), pdecore.add_noise(f, 1.0, 4))
    # same seed, other sigma: the same noise pattern, scaled
    assert_allclose(pdecore.add_noise(f, 2.5, seed=3), 2.5 * pdecore.add_noise(f, 1.0, seed=3))


@pytest.mark.parametrize("sigma", [0.1, 2.0, 30.0])
def test_add_noise_statistics(sigma):
    f = np.linspace(0.0, 100.0, 40_000)
    noise = pdecore.add_noise(f, sigma, seed=11) - f
    # standard errors: sigma/sqrt(n) = 0.005 sigma for the mean, ~0.0035 sigma for the std
    assert abs(noise.mean()) < 0.02 * sigma
    assert noise.std() == pytest.approx(sigma, rel=0.02)


def test_add_noise_keeps_input_and_shape(rng):
    f = rng.uniform(size=(3, 50))
    f_copy = f.copy()
    g = pdecore.add_noise(f, 0.5, seed=1)
    assert g.shape == (3, 50)
    assert g.dtype == np.float64
    assert_array_equal(f, f_copy)
    assert not np.array_equal(g, f)
    # sigma = 0 returns the signal itself (as a new array)
    g0 = pdecore.add_noise(f, 0.0)
    assert_array_equal(g0, f)
    assert not np.shares_memory(g0, f)
    assert pdecore.add_noise([1, 2, 3], 0.0).dtype == np.float64


@pytest.mark.parametrize("n, n_jumps", [(100, 3), (50, 0), (20, 19), (2, 1), (1000, 40)])
def test_piecewise_constant_jumps_and_range(n, n_jumps):
    f = pdecore.piecewise_constant(n, n_jumps, seed=5)
    assert f.shape == (n,)
    assert np.count_nonzero(np.diff(f)) == n_jumps
    assert 0.0 <= f.min() and f.max() <= 1.0


def test_piecewise_constant_batch():
    f = pdecore.piecewise_constant(64, 4, batch=6, seed=2)
    assert f.shape == (6, 64)
    assert all(np.count_nonzero(np.diff(row)) == 4 for row in f)
    assert 0.0 <= f.min() and f.max() <= 1.0
    # the rows differ from each other
    assert len({row.tobytes() for row in f}) == 6
    # batch=1 still has the batch axis
    assert pdecore.piecewise_constant(64, 4, batch=1).shape == (1, 64)


def test_piecewise_constant_is_seeded():
    assert_array_equal(
        pdecore.piecewise_constant(80, 5, seed=9), pdecore.piecewise_constant(80, 5, seed=9)
    )
    assert not np.array_equal(
        pdecore.piecewise_constant(80, 5, seed=9), pdecore.piecewise_constant(80, 5, seed=10)
    )


def test_piecewise_constant_bad_jump_count():
    with pytest.raises(ValueError, match="^n_jumps must be < n=10"):
        pdecore.piecewise_constant(10, 10)
    with pytest.raises(ValueError, match="^n_jumps must be >= 0"):
        pdecore.piecewise_constant(10, -1)
    with pytest.raises(ValueError, match="^batch must be >= 1"):
        pdecore.piecewise_constant(10, 2, batch=0)


# --- piecewise-linear signals -------------------------------------------------------


def kinks(f, tol=1e-12):
    """Indices where the slope changes: nonzero second differences (interior points)."""
    return np.nonzero(np.abs(np.diff(f, 2)) > tol)[0] + 1


@pytest.mark.parametrize("n, n_kinks", [(100, 3), (50, 0), (20, 18), (2, 0), (3, 1), (1000, 40)])
def test_piecewise_linear_kinks_and_range(n, n_kinks):
    f = pdecore.piecewise_linear(n, n_kinks, seed=5)
    assert f.shape == (n,)
    assert f.dtype == np.float64
    assert len(kinks(f)) == n_kinks
    assert 0.0 <= f.min() and f.max() <= 1.0


def test_piecewise_linear_is_continuous_and_linear_between_kinks():
    f = pdecore.piecewise_linear(200, 6, seed=3)
    knots = np.r_[0, kinks(f), 199]
    for a, b in zip(knots[:-1], knots[1:], strict=True):
        # a straight line through the two end values, checked independently of np.interp
        line = f[a] + (f[b] - f[a]) * (np.arange(a, b + 1) - a) / (b - a)
        assert_allclose(f[a : b + 1], line, rtol=0, atol=1e-14)
    # neighbouring segments share their end point, so the lines above join continuously


def test_piecewise_linear_without_kinks_is_a_line():
    f = pdecore.piecewise_linear(30, 0, seed=7)
    assert_allclose(np.diff(f, 2), 0.0, atol=1e-14)
    assert f[0] != f[-1]


def test_piecewise_linear_batch_and_seed():
    f = pdecore.piecewise_linear(64, 4, batch=6, seed=2)
    assert f.shape == (6, 64)
    assert all(len(kinks(row)) == 4 for row in f)
    assert len({row.tobytes() for row in f}) == 6
    assert 0.0 <= f.min() and f.max() <= 1.0
    assert pdecore.piecewise_linear(64, 4, batch=1).shape == (1, 64)
    assert_array_equal(pdecore.piecewise_linear(80, 5, seed=9),
                       pdecore.piecewise_linear(80, 5, seed=9))
    assert not np.array_equal(pdecore.piecewise_linear(80, 5, seed=9),
                              pdecore.piecewise_linear(80, 5, seed=10))


def test_piecewise_linear_bad_kink_count():
    with pytest.raises(ValueError, match=r"^n_kinks must be <= n - 2 = 8"):
        pdecore.piecewise_linear(10, 9)
    with pytest.raises(ValueError, match="^n_kinks must be >= 0"):
        pdecore.piecewise_linear(10, -1)
    with pytest.raises(ValueError, match="^n must be >= 2"):
        pdecore.piecewise_linear(1, 0)
    with pytest.raises(TypeError, match="^batch must be an integer"):
        pdecore.piecewise_linear(10, 2, batch=2.0)
