import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import pdecore

NAMES = sorted(pdecore.DIFFUSIVITIES)


def dense_matrix(u, tau, name, lam, h, order):
    """A = I + tau D^T G D assembled from the sparse D (independent of the banded code)."""
    d = pdecore.derivative_matrix(u.size, order, h)
    g = pdecore.diffusivity(name, (d @ u) ** 2, lam)
    return (sp.eye(u.size) + tau * d.T @ sp.diags(g) @ d).toarray()


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("h", [1.0, 0.6])
def test_solves_the_linear_system(rng, order, name, h):
    u = rng.standard_normal(40)
    a = dense_matrix(u, 2.5, name, 0.7, h, order)
    x = pdecore.semi_implicit_step(u, 2.5, name, 0.7, h, order)
    assert np.abs(a @ x - u).max() < 1e-12 * np.abs(u).max() * np.linalg.cond(a)
    np.testing.assert_allclose(x, np.linalg.solve(a, u), rtol=0, atol=1e-12)


@pytest.mark.parametrize("order", [1, 2])
def test_bands_match_dense_matrix(rng, order):
    u = rng.standard_normal(30)
    a = dense_matrix(u, 1.7, "perona_malik", 0.5, 0.8, order)
    bands = pdecore.semi_implicit_matrix_bands(u, 1.7, "perona_malik", 0.5, 0.8, order)
    for j in range(order + 1):
        np.testing.assert_allclose(bands[order - j, j:], np.diag(a, j), atol=1e-13)
        assert np.all(bands[order - j, :j] == 0)


def test_batch_is_row_by_row(rng):
    u = rng.standard_normal((3, 25))
    x = pdecore.semi_implicit_step(u, 4.0, "charbonnier", 0.3)
    for row, xr in zip(u, x, strict=True):
        np.testing.assert_array_equal(xr, pdecore.semi_implicit_step(row, 4.0, "charbonnier", 0.3))
    assert pdecore.semi_implicit_matrix_bands(u, 1.0).shape == (3, 2, 25)


def test_input_not_modified(rng):
    u = rng.standard_normal(20)
    before = u.copy()
    pdecore.semi_implicit_step(u, 3.0)
    pdecore.semi_implicit_step(u, 3.0, order=2)
    np.testing.assert_array_equal(u, before)


def test_small_tau_agrees_with_explicit_to_first_order(rng):
    u = np.sin(np.linspace(0, 3, 60)) + 0.1 * rng.standard_normal(60)
    errs = []
    for tau in (1e-2, 1e-3):
        errs.append(np.abs(pdecore.semi_implicit_step(u, tau, "perona_malik", 0.5)
                           - pdecore.explicit_step(u, tau, "perona_malik", 0.5)).max())
    assert errs[1] < errs[0] / 50  # local error O(tau^2)


def test_large_tau_converges_to_the_mean(rng):
    u = rng.standard_normal(50)
    x = pdecore.semi_implicit_step(u, 1e8, "linear")
    np.testing.assert_allclose(x, u.mean(), atol=1e-6)


signals = arrays(np.float64, st.integers(3, 40), elements=st.floats(-100, 100))


@given(u=signals, tau=st.floats(1e-3, 1e4), lam=st.floats(0.05, 20.0),
       name=st.sampled_from(NAMES), order=st.sampled_from([1, 2]))
def test_unconditionally_stable_and_mass_preserving(u, tau, lam, name, order):
    x = pdecore.semi_implicit_step(u, tau, name, lam, order=order)
    scale = 1.0 + np.abs(u).max()
    assert np.linalg.norm(x) <= np.linalg.norm(u) * (1 + 1e-10) + 1e-10 * scale
    assert abs(x.sum() - u.sum()) <= 1e-8 * scale * u.size


@given(u=signals, tau=st.floats(1e-3, 1e4), lam=st.floats(0.05, 20.0),
       name=st.sampled_from(NAMES))
def test_maxmin_principle_order_1(u, tau, lam, name):
    x = pdecore.semi_implicit_step(u, tau, name, lam)
    tol = 1e-9 * (1.0 + np.abs(u).max())
    assert x.max() <= u.max() + tol
    assert x.min() >= u.min() - tol


# --- fully implicit step by fixed point, semi-implicit by Jacobi -----------------------


def test_fixed_point_solves_the_implicit_equation(rng):
    u = rng.standard_normal(64)
    res = pdecore.implicit_fixed_point_step(u, 0.15, "perona_malik", 0.8, tol=1e-13)
    assert res.converged and res.contraction < 1
    d = pdecore.derivative_matrix(64)
    residual = res.u - u + 0.15 * d.T @ pdecore.flux("perona_malik", d @ res.u, 0.8)
    assert np.abs(residual).max() < 1e-11
    # contraction: successive updates shrink at least by the factor q
    upd = res.residuals[1:]
    assert np.all(upd[1:] <= res.contraction * upd[:-1] * (1 + 1e-9) + 1e-15)


def test_fixed_point_fails_for_large_tau(rng):
    u = rng.standard_normal(64)
    res = pdecore.implicit_fixed_point_step(u, 2.0, "linear", maxiter=200)
    assert res.contraction > 1 and not res.converged


def test_contraction_bound_closed_form():
    q = pdecore.fixed_point_contraction(50, 0.1, "linear")
    assert q == pytest.approx(0.1 * 4 * np.sin(49 * np.pi / 100) ** 2, rel=1e-12)
    assert pdecore.flux_lipschitz("weickert") > 2.0  # Phi' reaches about -2.33


@pytest.mark.parametrize("omega", [1.0, 0.7])
def test_jacobi_converges_to_the_direct_solve(rng, omega):
    u = rng.standard_normal(80)
    res = pdecore.semi_implicit_jacobi(u, 3.0, "charbonnier", 0.5, omega=omega, tol=1e-12)
    assert res.converged and res.contraction < 1
    np.testing.assert_allclose(res.u, pdecore.semi_implicit_step(u, 3.0, "charbonnier", 0.5),
                               atol=1e-10)


def test_jacobi_slows_down_with_tau(rng):
    u = rng.standard_normal(80)
    its = [pdecore.semi_implicit_jacobi(u, tau, "linear").iterations for tau in (0.5, 5.0, 50.0)]
    assert its[0] < its[1] < its[2]


def test_jacobi_bad_omega():
    with pytest.raises(ValueError, match="omega"):
        pdecore.semi_implicit_jacobi(np.ones(5), 1.0, omega=1.5)


@pytest.mark.parametrize("diffusivity, order", [("linear", 1), ("perona_malik", 1),
                                                ("linear", 2)])
def test_a_step_too_large_for_floating_point_is_refused(diffusivity, order):
    u = np.sin(np.linspace(0, 6, 40)) * 10
    with pytest.raises(ValueError, match="tau=1e\\+16 is too large"):
        pdecore.semi_implicit_step(u, 1e16, diffusivity, order=order)
    # large but representable steps keep the average (the exact step preserves it)
    v = pdecore.semi_implicit_step(u, 1e6, diffusivity, order=order)
    assert v.mean() == pytest.approx(u.mean(), abs=1e-8)
