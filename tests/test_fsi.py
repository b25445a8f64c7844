"""Tests for pdecore.fsi: FSI weights, schedule and evolution.

The references are written here: exact rational weights, dense ``np.diff`` operators and
the three-term recursion of SPEC.md section 3 on dense matrices.
"""

import math
from fractions import Fraction

import numpy as np
import pytest

import pdecore

import strategies

SEED = 20220731


def dense_d(n, order, h):
    """D_m as a dense matrix: forward differences of the identity, scaled by h^-m."""
    return np.diff(np.eye(n), n=order, axis=0) / h**order


def dense_tau_max(n, order, h):
    """2 / ||D_m||_2^2 from the dense singular values."""
    return 2.0 / np.linalg.norm(dense_d(n, order, h), 2) ** 2


def cycle_length_reference(T, tau, cycles):
    """Smallest n >= 1 with cycles * tau * (n^2 + n) / 3 >= T, by counting up."""
    n = 1
    while cycles * tau * (n * n + n) / 3.0 < T * (1.0 - 1e-13):
        n += 1
    return n


def fsi_reference(u0, A, tau, n, cycles, save_all=False):
    """u^{k+1} = a_k (u^k - tau A u^k) + (1 - a_k) u^{k-1}, u^{-1} = u^0, per cycle."""
    u = np.array(u0, dtype=float)
    states = [u]
    for _ in range(cycles):
        prev = u
        for k in range(n):
            alpha = (4.0 * k + 2.0) / (2.0 * k + 3.0)
            new = alpha * (u - tau * (u @ A.T)) + (1.0 - alpha) * prev
            prev, u = u, new
            states.append(u)
    return np.stack(states) if save_all else u


def make_signal(n, seed=SEED):
    rng = np.random.default_rng(seed)
    steps = np.repeat(rng.uniform(-1.0, 1.0, 4), -(-n // 4))[:n]
    return steps + 0.2 * (-1.0) ** np.arange(n) + 0.05 * rng.standard_normal(n)


# --- fsi_weights --------------------------------------------------------------------


def test_weights_known_values():
    np.testing.assert_allclose(
        pdecore.fsi_weights(3), [2.0 / 3.0, 6.0 / 5.0, 10.0 / 7.0], rtol=1e-15
    )


@pytest.mark.parametrize("n", [1, 2, 5, 10, 64, 1000])
def test_weights_closed_form(n):
    alpha = pdecore.fsi_weights(n)
    assert isinstance(alpha, np.ndarray)
    assert alpha.shape == (n,)
    exact = [float(Fraction(4 * k + 2, 2 * k + 3)) for k in range(n)]
    np.testing.assert_allclose(alpha, exact, rtol=1e-15, atol=0)
    # increasing from 2/3 towards 2 (never reaching it)
    assert alpha[0] == pytest.approx(2.0 / 3.0, rel=1e-15)
    assert np.all(np.diff(alpha) > 0)
    assert np.all(alpha < 2.0)


# --- fsi_schedule -------------------------------------------------------------------


@pytest.mark.parametrize(("T", "tau_max", "cycles"), [
    (18.0, 0.5, 1), (20.0, 0.5, 2), (0.01, 0.5, 1), (1.0, 0.5, 1), (123.4, 0.49, 5),
    (7.0, 0.125, 3), (0.5 * 110 / 3, 0.5, 1),
])
def test_schedule_cycle_time(T, tau_max, cycles):
    tau_cycle, alphas = pdecore.fsi_schedule(T, tau_max, cycles)
    n = cycle_length_reference(T, tau_max, cycles)
    assert alphas.shape == (n,)
    np.testing.assert_allclose(alphas, [(4 * k + 2) / (2 * k + 3) for k in range(n)], rtol=1e-15)
    assert tau_cycle * (n * n + n) / 3.0 == pytest.approx(T / cycles, rel=1e-12)
    assert 0.0 < tau_cycle <= tau_max * (1.0 + 1e-12)
    if n > 1:  # n - 1 steps with tau_max would not reach T/cycles
        assert tau_max * ((n - 1) ** 2 + (n - 1)) / 3.0 < T / cycles


def test_schedule_doc_value():
    tau_cycle, alphas = pdecore.fsi_schedule(18.0, 0.5)
    assert alphas.size == 10
    assert tau_cycle == pytest.approx(18.0 * 3.0 / 110.0, rel=1e-14)  # 0.4909...


# --- fsi_evolution ------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 6, 10, 25])
def test_fsi_and_fed_cycle_polynomials_coincide(n):
    """Scalar check: on mu in [0, 2/tau] FSI and FED give one polynomial, bounded by 1."""
    tau = 0.5
    mu = np.linspace(0.0, 2.0 / tau, 4001)
    fed = np.ones_like(mu)
    for i in range(n):
        fed *= 1.0 - tau / (2.0 * math.cos(math.pi * (2 * i + 1) / (4 * n + 2)) ** 2) * mu
    prev = cur = np.ones_like(mu)
    for k, alpha in enumerate(pdecore.fsi_weights(n)):
        prev, cur = cur, alpha * (cur - tau * mu * cur) + (1.0 - alpha) * prev
        assert np.abs(cur).max() <= 1.0 + 1e-12, k  # every FSI stage is bounded
    np.testing.assert_allclose(cur, fed, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("order", "h"), [(1, 1.0), (1, 0.7), (2, 1.0), (2, 1.3)])
@pytest.mark.parametrize("update", ["cycle", "step"])
def test_linear_fsi_equals_fed_and_dense_recursion(order, h, update):
    n_points, cycles = 28, 3
    tau_max = dense_tau_max(n_points, order, h)
    T = 40.0 * tau_max
    u0 = np.random.default_rng(SEED).standard_normal((2, n_points))
    u0_copy = u0.copy()
    fsi = pdecore.fsi_evolution(u0, T, tau_max, cycles, "linear", h=h, order=order, update=update)
    fed = pdecore.fed_evolution(u0, T, tau_max, cycles, "linear", h=h, order=order, update=update)
    np.testing.assert_array_equal(u0, u0_copy)
    scale = np.linalg.norm(fed.u)
    assert np.linalg.norm(fsi.u - fed.u) <= 1e-10 * scale
    n = cycle_length_reference(T, tau_max, cycles)
    assert fsi.steps[-1] == fed.steps[-1] == cycles * n
    D = dense_d(n_points, order, h)
    tau_cycle = 3.0 * T / (cycles * (n * n + n))
    expected = fsi_reference(u0, D.T @ D, tau_cycle, n, cycles)
    assert np.linalg.norm(fsi.u - expected) <= 1e-10 * np.linalg.norm(expected)
    # the cycles made progress: the result is far from the start
    assert np.linalg.norm(fsi.u - u0) > 0.5 * np.linalg.norm(u0 - u0.mean(-1, keepdims=True))


@pytest.mark.parametrize("order", [1, 2])
def test_linear_fsi_every_state_is_stable(order):
    n_points, cycles = 40, 2
    tau_max = dense_tau_max(n_points, order, 1.0)
    T = 150.0 * tau_max
    u0 = make_signal(n_points)
    ev = pdecore.fsi_evolution(u0, T, tau_max, cycles, "linear", order=order, save_every=1)
    n = cycle_length_reference(T, tau_max, cycles)
    assert ev.states.shape == (cycles * n + 1, n_points)
    np.testing.assert_array_equal(ev.steps, np.arange(cycles * n + 1))
    norms = np.linalg.norm(ev.states, axis=-1)
    assert np.all(norms <= norms[0] * (1.0 + 1e-12))
    D = dense_d(n_points, order, 1.0)
    expected = fsi_reference(u0, D.T @ D, 3.0 * T / (cycles * (n * n + n)), n, cycles, True)
    np.testing.assert_allclose(ev.states, expected, rtol=0, atol=1e-10 * norms[0])


@pytest.mark.parametrize("diffusivity", ["perona_malik", "charbonnier", "weickert"])
def test_nonlinear_frozen_cycles_are_stable(diffusivity):
    """update="cycle": each stage is a bounded polynomial of a frozen D^T G D."""
    n_points, cycles = 40, 3
    tau_max = dense_tau_max(n_points, 1, 1.0)
    u0 = make_signal(n_points, seed=5)
    ev = pdecore.fsi_evolution(u0, 60.0, tau_max, cycles, diffusivity, 0.2, save_every=1)
    n = cycle_length_reference(60.0, tau_max, cycles)
    norms = np.linalg.norm(ev.states, axis=-1)
    for k in range(cycles):
        inside = norms[k * n: (k + 1) * n + 1]
        assert inside.max() <= inside[0] * (1.0 + 1e-12)
    assert norms[-1] < norms[0]
    np.testing.assert_allclose(ev.u.sum(), u0.sum(), rtol=0, atol=1e-10)


# --- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(("n", "exc"), [(0, ValueError), (-1, ValueError), (2.0, TypeError),
                                         ("3", TypeError), (None, TypeError)])
def test_weights_bad_input(n, exc):
    with pytest.raises(exc, match=r"\bn\b"):
        pdecore.fsi_weights(n)


@pytest.mark.parametrize(("kwargs", "exc", "name"), [
    ({"T": 0.0}, ValueError, "T"),
    ({"T": -1.0}, ValueError, "T"),
    ({"tau_max": 0.0}, ValueError, "tau_max"),
    ({"tau_max": -0.5}, ValueError, "tau_max"),
    ({"tau_max": float("nan")}, ValueError, "tau_max"),
    ({"cycles": 0}, ValueError, "cycles"),
    ({"cycles": 2.0}, TypeError, "cycles"),
])
def test_schedule_bad_input(kwargs, exc, name):
    args = {"T": 10.0, "tau_max": 0.5, "cycles": 1} | kwargs
    with pytest.raises(exc, match=rf"\b{name}\b"):
        pdecore.fsi_schedule(**args)


@pytest.mark.parametrize(("kwargs", "exc", "name"), [
    ({"T": 0.0}, ValueError, "T"),
    ({"tau_max": 0.0}, ValueError, "tau_max"),
    ({"tau_max": -1.0}, ValueError, "tau_max"),
    ({"cycles": 0}, ValueError, "cycles"),
    ({"update": "foo"}, ValueError, "update"),
    ({"update": None}, ValueError, "update"),
    ({"lam": -1.0}, ValueError, "lam"),
    ({"h": 0.0}, ValueError, "h"),
    ({"order": 0}, ValueError, "order"),
    ({"diffusivity": "nope"}, ValueError, "diffusivity"),
    ({"diffusivity": 3}, TypeError, "diffusivity"),
    ({"u0": [0.0, np.inf, 1.0]}, ValueError, "u0"),
    ({"u0": np.zeros((1, 1, 4))}, ValueError, "u0"),
    ({"u0": [1.0]}, ValueError, "u0"),
])
def test_evolution_bad_input(kwargs, exc, name):
    args = {"u0": np.linspace(0.0, 1.0, 10), "T": 5.0, "tau_max": 0.5} | kwargs
    with pytest.raises(exc, match=rf"\b{name}\b"):
        pdecore.fsi_evolution(**args)


# --- whole cycles over random inputs (hypothesis) -----------------------------------------

#: Longest cycle tested: FSI's recursion does not amplify rounding errors
#: (test_fed.py: test_long_fed_cycles_amplify_rounding_errors_and_fsi_cycles_do_not).
MAX_STEPS = 40


test_cycles_preserve_mass, test_cycle_ends_never_increase_the_norm = (
    strategies.cycle_property_tests("fsi_evolution", MAX_STEPS))
