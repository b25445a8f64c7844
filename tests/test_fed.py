"""Tests for pdecore.fed: FED step sizes, cycle length, schedule and evolution.

References are independent of the package: the step sizes are written out from the
closed form of SPEC.md section 3 with ``math.cos`` in a loop, the operators are dense
``np.diff`` matrices and the fine reference evolution is an explicit Euler loop here.
"""

import math

import numpy as np
import pytest

import pdecore
from pdecore.experiments.acceleration import perturbation_growth

import strategies

SEED = 20220731


# --- independent references ---------------------------------------------------------


def fed_taus_reference(n, tau_max):
    """tau_i = tau_max / (2 cos^2(pi (2i+1) / (4n+2))), written out element by element."""
    return np.array(
        [tau_max / (2.0 * math.cos(math.pi * (2 * i + 1) / (4 * n + 2)) ** 2) for i in range(n)]
    )


def cycle_length_reference(T, tau_max, cycles):
    """Smallest n >= 1 with cycles * tau_max * (n^2 + n) / 3 >= T, by counting up."""
    n = 1
    while cycles * tau_max * (n * n + n) / 3.0 < T * (1.0 - 1e-13):
        n += 1
    return n


def dense_d(n, order, h):
    """D_m as a dense matrix: forward differences of the identity, scaled by h^-m."""
    return np.diff(np.eye(n), n=order, axis=0) / h**order


def dense_tau_max(n, order, h):
    """2 / ||D_m||_2^2 from the dense singular values."""
    return 2.0 / np.linalg.norm(dense_d(n, order, h), 2) ** 2


def make_signal(n, seed=SEED):
    """Piecewise constant plus an oscillation plus noise: all frequencies present."""
    rng = np.random.default_rng(seed)
    steps = np.repeat(rng.uniform(-1.0, 1.0, 4), -(-n // 4))[:n]
    return steps + 0.2 * (-1.0) ** np.arange(n) + 0.05 * rng.standard_normal(n)


def perona_malik_euler(u, T, lam, dt):
    """Fine explicit Euler reference for du/dt = -D^T Phi(D u), Perona-Malik, h = 1."""
    u = np.array(u, dtype=float)
    for _ in range(int(round(T / dt))):
        s = np.diff(u)
        flux = s / (1.0 + s * s / lam**2)
        u = u + dt * np.diff(flux, prepend=0.0, append=0.0)  # -D^T v = diff of padded v
    return u


# --- fed_step_sizes -----------------------------------------------------------------


def test_step_sizes_known_values():
    tau = pdecore.fed_step_sizes(10, 0.5)
    assert isinstance(tau, np.ndarray)
    assert tau.shape == (10,)
    assert tau[0] == pytest.approx(0.251404, abs=5e-7)
    assert tau.sum() == pytest.approx(18.333333, abs=5e-7)
    assert tau.sum() == pytest.approx(0.5 * 110 / 3, rel=1e-13)


@pytest.mark.parametrize("tau_max", [0.5, 0.125, 1.0, 2.0 / 3.999, 7.3])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 10, 16, 31, 64, 100, 257])
def test_step_sizes_closed_form_and_cycle_time(n, tau_max):
    tau = pdecore.fed_step_sizes(n, tau_max)
    np.testing.assert_allclose(tau, fed_taus_reference(n, tau_max), rtol=1e-13, atol=0)
    assert tau.sum() == pytest.approx(tau_max * (n * n + n) / 3.0, rel=1e-12)


def test_step_sizes_n1_is_two_thirds_of_tau_max():
    # n = 1: 1 / (2 cos^2(pi/6)) = 1 / (2 * 3/4) = 2/3
    assert pdecore.fed_step_sizes(1, 0.5)[0] == pytest.approx(1.0 / 3.0, rel=1e-14)


@pytest.mark.parametrize("n", [2, 3, 10, 50, 200])
def test_step_sizes_increase(n):
    tau = pdecore.fed_step_sizes(n, 0.5)
    assert np.all(np.diff(tau) > 0)
    # the first is just above tau_max / 2, the last grows like n^2 (about 0.18 n^2 tau_max)
    assert 0.25 < tau[0] < 0.28
    assert tau[-1] > 0.5 * n**2 / 10


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8, 10, 13, 20, 33, 50])
@pytest.mark.parametrize("tau_max", [0.5, 1.7])
def test_cycle_polynomial_is_bounded_on_the_spectrum(n, tau_max):
    """prod_i (1 - tau_i mu) has modulus <= 1 on [0, 2/tau_max]: a linear cycle is stable."""
    tau = pdecore.fed_step_sizes(n, tau_max)
    mu = np.linspace(0.0, 2.0 / tau_max, 20001)
    factors = 1.0 - np.outer(mu, tau)
    cycle = np.prod(factors, axis=1)
    assert np.abs(cycle).max() <= 1.0 + 1e-10
    assert cycle[0] == 1.0
    # the cycle time is the negative slope at 0: P'(0) = -sum tau_i
    assert np.sum(tau) == pytest.approx(tau_max * (n * n + n) / 3.0, rel=1e-12)
    # in increasing order even the partial products stay bounded (no internal blow-up
    # of a linear cycle), while the reverse order blows up for n >= 3
    partial = np.cumprod(factors, axis=1)
    assert np.abs(partial).max() <= 1.0 + 1e-10
    if n >= 3:
        assert np.abs(np.cumprod(factors[:, ::-1], axis=1)).max() > 2.0


@pytest.mark.parametrize("n", [2, 3, 10, 40])
def test_single_steps_exceed_the_stability_limit(n):
    tau_max = 0.5
    tau = pdecore.fed_step_sizes(n, tau_max)
    assert tau.max() > tau_max
    # such a single step amplifies the top eigenvector (mu = 2 / tau_max)
    assert abs(1.0 - tau.max() * 2.0 / tau_max) > 1.0
    # and most of the cycle time lies in such steps
    assert tau[tau > tau_max].sum() > 0.5 * tau.sum()


# --- fed_cycle_length and fed_schedule ----------------------------------------------


def test_cycle_length_doc_value():
    # 0.5 * 110 / 3 = 18.33 >= 18.3 > 0.5 * 90 / 3 = 15
    assert pdecore.fed_cycle_length(18.3, 0.5) == 10


@pytest.mark.parametrize("cycles", [1, 2, 3, 7])
@pytest.mark.parametrize("tau_max", [0.5, 0.25, 1.3])
def test_cycle_length_is_smallest_reaching_T(cycles, tau_max):
    rng = np.random.default_rng(SEED + cycles)
    times = np.r_[rng.uniform(0.01, 400.0, 40), 1e-6, 0.1, 1.0, 1000.0]
    for T in times:
        n = pdecore.fed_cycle_length(T, tau_max, cycles)
        assert isinstance(n, int)
        assert n >= 1
        assert cycles * tau_max * (n * n + n) / 3.0 >= T * (1.0 - 1e-12)
        if n > 1:
            assert cycles * tau_max * ((n - 1) ** 2 + (n - 1)) / 3.0 < T
        assert n == cycle_length_reference(T, tau_max, cycles)


@pytest.mark.parametrize("n", [1, 2, 5, 10, 37, 100])
def test_cycle_length_at_exact_cycle_time(n):
    """T equal to the cycle time of n steps gives n, not n + 1 (rounding safe)."""
    for tau_max, cycles in [(0.5, 1), (0.3, 3), (2.0 / 3.99, 2)]:
        T = cycles * tau_max * (n * n + n) / 3.0
        assert pdecore.fed_cycle_length(T, tau_max, cycles) == n


@pytest.mark.parametrize(("T", "tau_max", "cycles"), [
    (20.0, 0.5, 2), (18.3, 0.5, 1), (1.0, 0.5, 1), (0.01, 0.5, 1), (123.4, 0.49, 5),
    (7.0, 0.125, 3),
])
def test_schedule_sums_to_cycle_time_and_never_exceeds_fed(T, tau_max, cycles):
    taus = pdecore.fed_schedule(T, tau_max, cycles)
    n = cycle_length_reference(T, tau_max, cycles)
    assert taus.shape == (n,)
    assert taus.sum() == pytest.approx(T / cycles, rel=1e-12)
    full = fed_taus_reference(n, tau_max)
    assert np.all(taus <= full * (1.0 + 1e-12))
    # a uniform rescaling of the FED step sizes
    np.testing.assert_allclose(taus / full, (T / cycles) / full.sum(), rtol=1e-12)


def test_schedule_doc_value():
    assert pdecore.fed_schedule(20.0, 0.5, cycles=2).sum() == pytest.approx(10.0, rel=1e-13)


# --- fed_evolution ------------------------------------------------------------------


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("update", ["cycle", "step"])
def test_linear_evolution_is_the_matrix_polynomial(order, update):
    n_points, h, cycles = 30, 0.8, 3
    D = dense_d(n_points, order, h)
    A = D.T @ D
    tau_max = dense_tau_max(n_points, order, h)
    T = 9.5 * tau_max * 4.0
    n = cycle_length_reference(T, tau_max, cycles)
    full = fed_taus_reference(n, tau_max)
    taus = full * (T / cycles) / full.sum()
    cycle = np.eye(n_points)
    for tau in taus:
        cycle = (np.eye(n_points) - tau * A) @ cycle
    rng = np.random.default_rng(SEED)
    u0 = rng.standard_normal((3, n_points))
    u0_copy = u0.copy()
    ev = pdecore.fed_evolution(
        u0, T, tau_max, cycles, "linear", h=h, order=order, update=update, save_every=n
    )
    np.testing.assert_array_equal(u0, u0_copy)  # input untouched
    assert ev.u.shape == u0.shape
    assert list(ev.steps) == [k * n for k in range(cycles + 1)]
    expected = u0
    for k in range(1, cycles + 1):
        expected = expected @ cycle.T
        err = np.linalg.norm(ev.states[k] - expected) / np.linalg.norm(expected)
        assert err < 1e-10, (k, err)
    np.testing.assert_array_equal(ev.u, ev.states[-1])
    # the average grey value is preserved (1^T D^T = 0)
    np.testing.assert_allclose(ev.u.mean(axis=-1), u0.mean(axis=-1), atol=1e-12)


def test_linear_evolution_single_signal_matches_batch_row():
    u0 = make_signal(25)
    tau_max = dense_tau_max(25, 1, 1.0)
    one = pdecore.fed_evolution(u0, 12.0, tau_max, 2, "linear").u
    batch = pdecore.fed_evolution(np.stack([u0, -u0]), 12.0, tau_max, 2, "linear").u
    assert one.shape == (25,)
    np.testing.assert_allclose(batch[0], one, rtol=0, atol=1e-14)
    np.testing.assert_allclose(batch[1], -one, rtol=0, atol=1e-14)


@pytest.mark.parametrize("diffusivity", ["perona_malik", "exponential", "charbonnier", "weickert"])
@pytest.mark.parametrize("lam", [0.1, 1.0])
def test_nonlinear_cycles_do_not_increase_the_norm(diffusivity, lam):
    """update="cycle" freezes g: every cycle is a polynomial of D^T G D, bounded by 1."""
    n_points = 48
    u0 = make_signal(n_points, seed=7)
    tau_max = dense_tau_max(n_points, 1, 1.0)
    T, cycles = 60.0, 4
    n = cycle_length_reference(T, tau_max, cycles)
    assert max(fed_taus_reference(n, tau_max)) > 4 * tau_max  # single steps are unstable
    ev = pdecore.fed_evolution(
        u0, T, tau_max, cycles, diffusivity, lam, update="cycle", save_every=1
    )
    norms = np.linalg.norm(ev.states, axis=-1)
    assert norms.size == cycles * n + 1
    at_cycle_ends = norms[::n]
    assert at_cycle_ends.size == cycles + 1
    assert np.all(np.diff(at_cycle_ends) <= 1e-12 * norms[0])
    assert at_cycle_ends[-1] < norms[0]
    # with steps in increasing order no state inside a frozen cycle exceeds its start
    for k in range(cycles):
        inside = norms[k * n: (k + 1) * n + 1]
        assert inside.max() <= inside[0] * (1.0 + 1e-12)
    np.testing.assert_allclose(ev.u.sum(), u0.sum(), rtol=0, atol=1e-10)


def test_fed_converges_to_a_fine_explicit_reference():
    n_points, lam, T = 40, 0.5, 5.0
    u0 = make_signal(n_points, seed=2)
    reference = perona_malik_euler(u0, T, lam, dt=2.5e-4)
    tau_max = dense_tau_max(n_points, 1, 1.0)
    errors = []
    for cycles in [1, 2, 4, 8, 16]:
        u = pdecore.fed_evolution(u0, T, tau_max, cycles, "perona_malik", lam).u
        errors.append(np.linalg.norm(u - reference) / np.linalg.norm(reference))
    assert all(b < a for a, b in zip(errors, errors[1:], strict=False)), errors
    assert errors[-1] < 0.2 * errors[0], errors
    assert errors[-1] < 1e-2, errors


# --- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "exc", "name"), [
    ({"n": 0}, ValueError, "n"),
    ({"n": -3}, ValueError, "n"),
    ({"n": 2.5}, TypeError, "n"),
    ({"n": 3.0}, TypeError, "n"),
    ({"n": True}, TypeError, "n"),
    ({"tau_max": 0.0}, ValueError, "tau_max"),
    ({"tau_max": -0.5}, ValueError, "tau_max"),
    ({"tau_max": float("nan")}, ValueError, "tau_max"),
    ({"tau_max": float("inf")}, ValueError, "tau_max"),
    ({"tau_max": "0.5"}, TypeError, "tau_max"),
])
def test_step_sizes_bad_input(kwargs, exc, name):
    args = {"n": 5, "tau_max": 0.5} | kwargs
    with pytest.raises(exc, match=rf"\b{name}\b"):
        pdecore.fed_step_sizes(**args)


@pytest.mark.parametrize("func", [pdecore.fed_cycle_length, pdecore.fed_schedule])
@pytest.mark.parametrize(("kwargs", "exc", "name"), [
    ({"T": 0.0}, ValueError, "T"),
    ({"T": -1.0}, ValueError, "T"),
    ({"T": float("nan")}, ValueError, "T"),
    ({"tau_max": 0.0}, ValueError, "tau_max"),
    ({"tau_max": -1.0}, ValueError, "tau_max"),
    ({"cycles": 0}, ValueError, "cycles"),
    ({"cycles": 1.5}, TypeError, "cycles"),
])
def test_cycle_length_and_schedule_bad_input(func, kwargs, exc, name):
    args = {"T": 10.0, "tau_max": 0.5, "cycles": 1} | kwargs
    with pytest.raises(exc, match=rf"\b{name}\b"):
        func(**args)


@pytest.mark.parametrize(("kwargs", "exc", "name"), [
    ({"T": 0.0}, ValueError, "T"),
    ({"T": -2.0}, ValueError, "T"),
    ({"tau_max": 0.0}, ValueError, "tau_max"),
    ({"tau_max": -0.5}, ValueError, "tau_max"),
    ({"cycles": 0}, ValueError, "cycles"),
    ({"update": "foo"}, ValueError, "update"),
    ({"lam": 0.0}, ValueError, "lam"),
    ({"h": -1.0}, ValueError, "h"),
    ({"order": 3}, ValueError, "order"),
    ({"diffusivity": "nope"}, ValueError, "diffusivity"),
    ({"u0": np.array([0.0, np.nan, 1.0])}, ValueError, "u0"),
    ({"u0": np.ones((2, 2, 5))}, ValueError, "u0"),
    ({"u0": np.array(["a", "b", "c"])}, TypeError, "u0"),
    ({"save_every": -1}, ValueError, "save_every"),
])
def test_evolution_bad_input(kwargs, exc, name):
    args = {"u0": np.linspace(0.0, 1.0, 10), "T": 5.0, "tau_max": 0.5} | kwargs
    with pytest.raises(exc, match=rf"\b{name}\b"):
        pdecore.fed_evolution(**args)


# --- whole cycles over random inputs (hypothesis) -----------------------------------------

#: Longest cycle tested: in floating point a rounding error late in a cycle of n steps is
#: amplified by up to perturbation_growth(n) (about 1e5 at n = 12, 1e16 at n = 36).
MAX_STEPS = 12


test_cycles_preserve_mass, test_cycle_ends_never_increase_the_norm = (
    strategies.cycle_property_tests("fed_evolution", MAX_STEPS))


def test_long_fed_cycles_amplify_rounding_errors_and_fsi_cycles_do_not():
    # found by the property test above with unbounded cycles: one linear cycle of 36 steps
    # at the order-2 limit; in exact arithmetic both end at norm 1.897 (the linear fit)
    u = np.array([0.0, 1.0, 1.0, 1.0, 1.0])
    tau = pdecore.stability_limit(5, 2)
    fed = pdecore.fed_evolution(u, 70.0, tau, 1, "linear", order=2)
    fsi = pdecore.fsi_evolution(u, 70.0, tau, 1, "linear", order=2)
    assert np.linalg.norm(fed.u) > 1.05 * np.linalg.norm(u)  # rounding, amplified ~1e16
    assert np.linalg.norm(fsi.u) == pytest.approx(1.8973733, abs=1e-6)
    growth = perturbation_growth(36)
    assert growth["FED"].max() > 1e15 and growth["FSI"].max() < 10
