"""Tests for pdecore.operators: D_m, its adjoint, ||D_m||^2, the stability limit, energy."""

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse
from numpy.testing import assert_allclose, assert_array_equal

import pdecore

NAMES = ["linear", "perona_malik", "exponential", "charbonnier", "weickert"]


# --- the matrix -------------------------------------------------------------------


def test_derivative_matrix_order_1_by_hand():
    expected = np.array(
        [
            [-1.0, 1.0, 0.0, 0.0, 0.0],
            [0.0, -1.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, -1.0, 1.0, 0.0],
            [0.0, 0.0, 0.0, -1.0, 1.0],
        ]
    )
    d = pdecore.derivative_matrix(5)
    assert scipy.sparse.issparse(d)
    assert d.shape == (4, 5)
    assert_array_equal(d.toarray(), expected)
    assert_allclose(pdecore.derivative_matrix(5, order=1, h=0.5).toarray(), 2.0 * expected)


def test_derivative_matrix_order_2_by_hand():
    expected = np.array(
        [
            [1.0, -2.0, 1.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, -2.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, -2.0, 1.0, 0.0],
            [0.0, 0.0, 0.0, 1.0, -2.0, 1.0],
        ]
    )
    d = pdecore.derivative_matrix(6, order=2)
    assert scipy.sparse.issparse(d)
    assert d.shape == (4, 6)
    assert_array_equal(d.toarray(), expected)
    # h = 0.5: scaled by h^-2 = 4; h = 3: by 1/9
    assert_allclose(pdecore.derivative_matrix(6, order=2, h=0.5).toarray(), 4.0 * expected)
    assert_allclose(pdecore.derivative_matrix(6, 2, 3.0).toarray(), expected / 9.0)


@pytest.mark.parametrize("order", [1, 2])
def test_smallest_matrix(order):
    d = pdecore.derivative_matrix(order + 1, order).toarray()
    assert_array_equal(d, [[-1.0, 1.0]] if order == 1 else [[1.0, -2.0, 1.0]])


def test_derivative_matrix_differentiates_polynomials():
    # D_1 is exact on linear, D_2 on quadratic functions (with the grid size h)
    h = 0.1
    x = h * np.arange(30)
    assert_allclose(pdecore.derivative_matrix(30, 1, h) @ (3 * x + 1), 3.0, rtol=1e-12)
    assert_allclose(pdecore.derivative_matrix(30, 2, h) @ (2.5 * x**2 - x), 5.0, rtol=1e-9)
    # natural boundary: constants are in the kernel
    for order in (1, 2):
        assert_allclose(pdecore.derivative_matrix(30, order, h) @ np.ones(30), 0.0)


# --- matrix-free products ---------------------------------------------------------


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("h", [1.0, 0.37])
@pytest.mark.parametrize("n", [3, 4, 17])
def test_apply_matches_the_matrix(rng, order, h, n):
    d = pdecore.derivative_matrix(n, order, h)
    u = rng.standard_normal(n)
    v = rng.standard_normal(n - order)
    assert_allclose(pdecore.apply_derivative(u, order, h), d @ u, rtol=1e-13, atol=1e-13)
    assert_allclose(pdecore.apply_adjoint(v, order, h), d.T @ v, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("h", [1.0, 2.5])
def test_adjointness(rng, order, h):
    n = 23
    u = rng.standard_normal(n)
    v = rng.standard_normal(n - order)
    lhs = pdecore.apply_derivative(u, order, h) @ v
    rhs = u @ pdecore.apply_adjoint(v, order, h)
    assert lhs == pytest.approx(rhs, rel=1e-12)


@pytest.mark.parametrize("order", [1, 2])
def test_batch_is_row_by_row(rng, order):
    u = rng.standard_normal((4, 15))
    du = pdecore.apply_derivative(u, order, 0.5)
    assert du.shape == (4, 15 - order)
    dtv = pdecore.apply_adjoint(du, order, 0.5)
    assert dtv.shape == (4, 15)
    for b in range(4):
        assert_allclose(du[b], pdecore.apply_derivative(u[b], order, 0.5), rtol=1e-15)
        assert_allclose(dtv[b], pdecore.apply_adjoint(du[b], order, 0.5), rtol=1e-15)


def test_apply_does_not_modify_its_input(rng):
    u = rng.standard_normal(9)
    u_copy = u.copy()
    pdecore.apply_derivative(u, 2)
    pdecore.apply_adjoint(u, 2)
    assert_array_equal(u, u_copy)


def test_apply_accepts_lists_and_ints():
    assert_allclose(pdecore.apply_derivative([0, 1, 4, 9]), [1.0, 3.0, 5.0])
    assert_allclose(pdecore.apply_derivative([0, 1, 4, 9], order=2), [2.0, 2.0])
    assert_allclose(pdecore.apply_adjoint([1, 3, 5]), [-1.0, -2.0, -2.0, 5.0])


# --- operator norm and stability limit --------------------------------------------


def _dense_norm_squared(n, order, h):
    d = pdecore.derivative_matrix(n, order, h).toarray()
    return np.linalg.eigvalsh(d.T @ d)[-1]


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("h", [1.0, 0.5, 3.0])
@pytest.mark.parametrize("n", [3, 4, 5, 6, 7, 8, 11, 32, 101])
def test_operator_norm_squared_matches_dense_eigenvalue(n, order, h):
    expected = _dense_norm_squared(n, order, h)
    assert pdecore.operator_norm_squared(n, order, h) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("n", [500, 2001])
def test_operator_norm_squared_order_2_large_n(n):
    # the largest eigenvalue of the pentadiagonal D_2 D_2^T from LAPACK's banded solver
    m = n - 2
    band = np.zeros((3, m))
    band[0, 2:], band[1, 1:], band[2, :] = 1.0, -4.0, 6.0
    top = scipy.linalg.eigvals_banded(band, select="i", select_range=(m - 1, m - 1))[0]
    value = pdecore.operator_norm_squared(n, 2)
    assert value == pytest.approx(top, rel=1e-12)
    assert 15.99 < value < 16.0


@pytest.mark.parametrize("h", [1.0, 0.25])
@pytest.mark.parametrize("n", [2, 3, 8, 25])
def test_all_eigenvalues_of_the_neumann_laplacian(n, h):
    d = pdecore.derivative_matrix(n, 1, h).toarray()
    k = np.arange(n)
    expected = 4.0 / h**2 * np.sin(k * np.pi / (2 * n)) ** 2
    assert_allclose(np.linalg.eigvalsh(d.T @ d), expected, rtol=1e-12, atol=1e-12 / h**2)
    assert pdecore.operator_norm_squared(n, 1, h) == pytest.approx(expected[-1], rel=1e-13)


@pytest.mark.parametrize("order, bound", [(1, 4.0), (2, 16.0)])
def test_operator_norm_is_below_its_bound(order, bound):
    for n in [order + 1, 10, 100, 10_000]:
        assert pdecore.operator_norm_squared(n, order) < bound
    assert pdecore.operator_norm_squared(10_000, order) > bound * (1 - 1e-6)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("h", [1.0, 0.3])
@pytest.mark.parametrize("g_max", [1.0, 0.5, 2.0])
@pytest.mark.parametrize("n", [5, 40])
def test_stability_limit(n, order, h, g_max):
    expected = 2.0 / (g_max * _dense_norm_squared(n, order, h))
    assert pdecore.stability_limit(n, order, h, g_max) == pytest.approx(expected, rel=1e-12)


def test_stability_limit_classic_values():
    # m = 1, h = 1: just above 1/2; m = 2: just above 1/8
    assert 0.5 < pdecore.stability_limit(1000) < 0.5001
    assert 0.125 < pdecore.stability_limit(1000, order=2) < 0.1251
    assert pdecore.stability_limit(1000, h=0.1) == pytest.approx(
        0.01 * pdecore.stability_limit(1000), rel=1e-14
    )


# --- energy -----------------------------------------------------------------------


def test_energy_by_hand():
    # linear: sum of s^2/2 over differences 1, 2
    assert pdecore.energy([0.0, 1.0, 3.0], "linear") == pytest.approx(2.5)
    # PM with lam = 2: lam^2/2 * log(1 + s^2/lam^2) summed over s = 1, 2
    expected = 2.0 * (np.log(1.25) + np.log(2.0))
    assert pdecore.energy([0.0, 1.0, 3.0], "perona_malik", lam=2.0) == pytest.approx(expected)
    # order 2, h = 0.5: one second difference (3 - 2*1 + 0) / 0.25 = 4, energy 4^2/2
    assert pdecore.energy([0.0, 1.0, 3.0], "linear", h=0.5, order=2) == pytest.approx(8.0)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("order, h", [(1, 1.0), (1, 0.5), (2, 1.0), (2, 0.7)])
def test_energy_is_the_sum_of_potentials(rng, name, order, h):
    u = rng.standard_normal(12)
    s = np.diff(u, n=order) / h**order
    expected = pdecore.potential(name, s, 0.8).sum()
    assert pdecore.energy(u, name, 0.8, h, order) == pytest.approx(expected, rel=1e-14)
    batch = np.stack([u, 2 * u, u[::-1]])
    energies = pdecore.energy(batch, name, 0.8, h, order)
    assert energies.shape == (3,)
    for b in range(3):
        assert energies[b] == pytest.approx(pdecore.energy(batch[b], name, 0.8, h, order))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("order, h", [(1, 1.0), (1, 0.5), (2, 1.0), (2, 1.5)])
def test_energy_gradient_is_the_explicit_update(rng, name, order, h):
    # grad E(u) = D^T Phi(D u) = (u - explicit_step(u, tau)) / tau: E is the potential
    # of the gradient flow that the explicit scheme discretises
    lam = 0.6
    u = np.cumsum(rng.standard_normal(14)) * 0.4
    tau = 0.01
    grad = (u - pdecore.explicit_step(u, tau, name, lam, h, order)) / tau
    eps = 1e-6
    fd = np.empty_like(u)
    for i in range(u.size):
        e = np.zeros_like(u)
        e[i] = eps
        fd[i] = (
            pdecore.energy(u + e, name, lam, h, order) - pdecore.energy(u - e, name, lam, h, order)
        ) / (2 * eps)
    scale = np.abs(grad).max()
    assert scale > 0.1
    assert_allclose(fd, grad, rtol=1e-6, atol=1e-7 * scale)
