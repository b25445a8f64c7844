"""Tests for pdecore.explicit: the explicit step, its stability bounds, the time loop."""

import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal

import pdecore

import strategies

NAMES = ["linear", "perona_malik", "exponential", "charbonnier", "weickert"]

signals_1d = hnp.arrays(
    np.float64,
    st.integers(3, 40),
    elements=st.floats(-100.0, 100.0, allow_nan=False, allow_infinity=False),
)
lams = st.floats(0.01, 100.0)
fractions = st.floats(0.01, 1.0)


def dense_step(u, tau, g, lam, h, order):
    """u - tau D^T Phi(D u) with the dense matrix and a hand-written g."""
    d = pdecore.derivative_matrix(u.shape[-1], order, h).toarray()
    s = u @ d.T  # works row-wise for a batch
    return u - tau * (g(s**2, lam) * s) @ d


# --- against an independent dense implementation ----------------------------------


def test_doc_example_by_hand():
    # D u = [0, 1, 0], D^T [0, 1, 0] = [0, -1, 1, 0]
    u = np.array([0.0, 0.0, 1.0, 1.0])
    assert_allclose(pdecore.explicit_step(u, 0.25, "linear"), [0.0, 0.25, 0.75, 1.0])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("order, h", [(1, 1.0), (1, 0.4), (2, 1.0), (2, 1.7)])
def test_matches_dense_matrix_implementation(signal, name, order, h, reference_g):
    lam = 0.1
    tau = 0.3 * pdecore.stability_limit(signal.size, order, h)
    expected = dense_step(signal, tau, reference_g[name], lam, h, order)
    got = pdecore.explicit_step(signal, tau, name, lam, h, order)
    assert got.dtype == np.float64
    assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * np.abs(signal).max())


@pytest.mark.parametrize("order", [1, 2])
def test_batch_matches_dense_and_rows(rng, order, reference_g):
    u = rng.standard_normal((5, 30))
    got = pdecore.explicit_step(u, 0.05, "charbonnier", 0.5, 0.8, order)
    assert got.shape == (5, 30)
    assert_allclose(got, dense_step(u, 0.05, reference_g["charbonnier"], 0.5, 0.8, order))
    for b in range(5):
        assert_allclose(got[b], pdecore.explicit_step(u[b], 0.05, "charbonnier", 0.5, 0.8, order))


def test_alternating_shapes_and_threads_give_consistent_results(rng):
    # the step keeps per-thread work arrays: different shapes and threads must not mix
    signals = [rng.standard_normal(shape) for shape in [(20,), (3, 20), (7,), (20,), (2, 9)]]
    expected = [pdecore.explicit_step(u, 0.2, lam=0.3) for u in signals]
    assert_array_equal(pdecore.explicit_step(signals[0], 0.2, lam=0.3), expected[0])
    results = {}

    def worker(i):
        for _ in range(50):
            results[i] = pdecore.explicit_step(signals[i], 0.2, lam=0.3)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(signals))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, u in enumerate(expected):
        assert_array_equal(results[i], u)


# --- input handling, out= ---------------------------------------------------------


def test_input_not_modified(rng):
    u = rng.standard_normal(16)
    u_copy = u.copy()
    new = pdecore.explicit_step(u, 0.25)
    assert_array_equal(u, u_copy)
    assert new is not u
    assert not np.shares_memory(new, u)
    as_list = u.tolist()
    pdecore.explicit_step(as_list, 0.25)
    assert as_list == u_copy.tolist()


def test_integer_and_float32_input_give_float64(rng):
    assert pdecore.explicit_step([0, 0, 4, 4], 0.25, "linear").dtype == np.float64
    u32 = rng.standard_normal(10).astype(np.float32)
    new = pdecore.explicit_step(u32, 0.25)
    assert new.dtype == np.float64
    assert_allclose(new, pdecore.explicit_step(u32.astype(np.float64), 0.25))


@pytest.mark.parametrize("shape", [(12,), (2, 12)])
@pytest.mark.parametrize("order", [1, 2])
def test_out_argument(rng, order, shape):
    u = rng.standard_normal(shape)
    expected = pdecore.explicit_step(u, 0.1, "weickert", 0.5, 1.0, order)
    out = np.full_like(u, np.nan)
    result = pdecore.explicit_step(u, 0.1, "weickert", 0.5, 1.0, order, out=out)
    assert result is out
    assert_array_equal(out, expected)
    # in place
    u_in_place = u.copy()
    result = pdecore.explicit_step(u_in_place, 0.1, "weickert", 0.5, 1.0, order, out=u_in_place)
    assert result is u_in_place
    assert_array_equal(u_in_place, expected)


def test_out_argument_is_checked():
    u = np.linspace(0, 1, 6)
    with pytest.raises(ValueError, match="^out must have u's shape"):
        pdecore.explicit_step(u, 0.1, out=np.empty(5))
    with pytest.raises(TypeError, match="^out must be a float64 ndarray"):
        pdecore.explicit_step(u, 0.1, out=np.empty(6, dtype=np.float32))
    with pytest.raises(TypeError, match="^out must be a float64 ndarray"):
        pdecore.explicit_step(u, 0.1, out=[0.0] * 6)


# --- properties -------------------------------------------------------------------


@pytest.mark.parametrize("order", [1, 2])
@given(u=signals_1d, lam=lams, fraction=st.floats(0.01, 2.0))
def test_mass_is_preserved(order, u, lam, fraction):
    # any tau: 1^T D^T = (D 1)^T = 0
    tau = fraction * pdecore.stability_limit(u.size, order)
    new = pdecore.explicit_step(u, tau, "perona_malik", lam, 1.0, order)
    scale = np.abs(u).sum() + np.abs(new).sum()
    assert abs(new.sum() - u.sum()) <= 1e-13 * scale + 1e-300


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("order, h", [(1, 1.0), (2, 1.0), (1, 0.3), (2, 2.0)])
@given(u=signals_1d, lam=lams, fraction=fractions)
def test_euclidean_norm_does_not_increase(name, order, h, u, lam, fraction):
    tau = fraction * pdecore.stability_limit(u.size, order, h)
    new = pdecore.explicit_step(u, tau, name, lam, h, order)
    norm = np.linalg.norm(u)
    assert np.linalg.norm(new) <= norm * (1 + 1e-12) + 1e-300


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("h", [1.0, 0.5])
@given(u=signals_1d, lam=lams, fraction=fractions)
def test_maxmin_principle(name, h, u, lam, fraction):
    tau = fraction * pdecore.maxmin_limit(h)
    new = pdecore.explicit_step(u, tau, name, lam, h, order=1)
    tol = 1e-12 * np.abs(u).max()
    assert new.min() >= u.min() - tol
    assert new.max() <= u.max() + tol


def test_maxmin_limit_values():
    assert pdecore.maxmin_limit() == 0.5
    assert pdecore.maxmin_limit(h=0.2) == pytest.approx(0.02)
    assert pdecore.maxmin_limit(h=1.0, g_max=0.25) == 2.0


@pytest.mark.parametrize("name", NAMES)
def test_stable_evolution_stays_bounded(signals, name):
    u0 = signals["noisy_steps"]
    tau = pdecore.stability_limit(u0.size)
    ev = pdecore.explicit_evolution(u0, tau, 200, name, lam=0.05, save_every=1)
    norms = np.linalg.norm(ev.states, axis=1)
    assert np.all(np.diff(norms) <= 1e-12 * norms[0])
    assert_allclose(ev.states.sum(axis=1), u0.sum(), rtol=1e-12)


@pytest.mark.parametrize("order", [1, 2])
def test_norm_grows_above_the_limit(signals, order):
    # linear diffusion, alternating signal: the highest frequency is amplified once tau
    # exceeds 2/||D||^2, so the bound of the theorem cannot be dropped
    u = signals["alternating"]
    limit = pdecore.stability_limit(u.size, order)
    new = pdecore.explicit_step(u, 1.5 * limit, "linear", order=order)
    assert np.linalg.norm(new) > 1.2 * np.linalg.norm(u)
    ev = pdecore.explicit_evolution(u, 1.5 * limit, 20, "linear", order=order)
    assert np.linalg.norm(ev.u) > 100 * np.linalg.norm(u)
    # ... and just below the limit it does not grow
    ev = pdecore.explicit_evolution(u, limit, 20, "linear", order=order)
    assert np.linalg.norm(ev.u) <= np.linalg.norm(u) * (1 + 1e-12)


def test_maxmin_principle_fails_above_its_limit(signals):
    # interior points of the alternating signal map to (1 - 4 tau) u_i = -1.4 u_i
    u = signals["alternating"]
    new = pdecore.explicit_step(u, 0.6, "linear")  # above h^2/2
    assert new.max() > u.max() + 0.3
    assert new.min() < u.min() - 0.3


@pytest.mark.parametrize("order, h", [(1, 1.0), (2, 1.0), (1, 0.5)])
def test_check_stability(order, h):
    u = np.linspace(0, 1, 30)
    limit = pdecore.stability_limit(30, order, h)
    with pytest.raises(ValueError, match="stability limit") as info:
        pdecore.explicit_step(u, 1.01 * limit, order=order, h=h, check_stability=True)
    assert "tau=" in str(info.value)
    # at and below the limit it passes, and without the check nothing is raised
    pdecore.explicit_step(u, limit, order=order, h=h, check_stability=True)
    pdecore.explicit_step(u, 0.5 * limit, order=order, h=h, check_stability=True)
    pdecore.explicit_step(u, 10 * limit, order=order, h=h)


@pytest.mark.parametrize("name", ["perona_malik", "linear", "exponential", "charbonnier"])
@pytest.mark.parametrize("lam", [0.02, 0.1, 1.0])
def test_energy_decreases(signal, name, lam):
    # descent lemma: E has an L-Lipschitz gradient, L = ||D||^2 sup|Phi'| <= 4 * 1,
    # so steps tau = 1/4 < 2/L decrease E
    ev = pdecore.explicit_evolution(signal, 0.25, 60, name, lam=lam, save_every=1)
    energies = pdecore.energy(ev.states, name, lam)
    assert energies.shape == (61,)
    assert np.all(np.diff(energies) <= 1e-12 * energies[0])
    if np.abs(ev.states[1] - ev.states[0]).max() > 1e-9:  # not (numerically) steady
        assert energies[-1] < energies[0]


# --- the time loop ----------------------------------------------------------------


def test_evolve_saves_states():
    u0 = np.array([1.0, 2.0, 4.0])
    u0_copy = u0.copy()

    def step(u, k):
        return 0.5 * u + k

    ev = pdecore.evolve(u0, step, 10, save_every=3)
    assert_array_equal(ev.steps, [0, 3, 6, 9, 10])
    assert ev.states.shape == (5, 3)
    # the recursion by hand
    expected = [u0_copy]
    u = u0_copy
    for k in range(10):
        u = 0.5 * u + k
        expected.append(u)
    for row, k in zip(ev.states, ev.steps, strict=True):
        assert_allclose(row, expected[k])
    assert_array_equal(ev.states[0], u0_copy)
    assert_array_equal(ev.states[-1], ev.u)
    assert_array_equal(u0, u0_copy)


@pytest.mark.parametrize(
    "n_steps, save_every, steps",
    [(5, 0, [0, 5]), (4, 2, [0, 2, 4]), (0, 0, [0]), (3, 1, [0, 1, 2, 3]), (2, 7, [0, 2])],
)
def test_evolve_step_bookkeeping(n_steps, save_every, steps):
    ev = pdecore.evolve(np.zeros((2, 4)), lambda u, k: u + 1.0, n_steps, save_every=save_every)
    assert_array_equal(ev.steps, steps)
    assert ev.states.shape == (len(steps), 2, 4)
    assert_array_equal(ev.states[:, 0, 0], steps)
    assert_array_equal(ev.u, np.full((2, 4), float(n_steps)))


def test_evolve_copies_states_of_an_in_place_step():
    def step(u, k):
        u *= 2.0
        return u

    u0 = np.ones(3)
    ev = pdecore.evolve(u0, step, 3, save_every=1)
    assert_array_equal(ev.states[:, 0], [1.0, 2.0, 4.0, 8.0])
    assert_array_equal(u0, np.ones(3))


def test_evolve_progress_bar_does_not_change_the_result(capsys):
    a = pdecore.evolve(np.ones(3), lambda u, k: u / 2, 4, progress=True)
    b = pdecore.evolve(np.ones(3), lambda u, k: u / 2, 4)
    assert_array_equal(a.u, b.u)


@pytest.mark.parametrize("order, h", [(1, 1.0), (2, 1.0), (1, 0.6), (2, 1.3)])
@pytest.mark.parametrize("shape", [(25,), (3, 25)])
def test_explicit_evolution_equals_repeated_steps(rng, order, h, shape):
    u0 = rng.standard_normal(shape)
    u0_copy = u0.copy()
    tau = 0.9 * pdecore.stability_limit(25, order, h)
    ev = pdecore.explicit_evolution(u0, tau, 7, "weickert", 0.3, h, order, save_every=2)
    assert_array_equal(ev.steps, [0, 2, 4, 6, 7])
    u = u0_copy
    states = [u]
    for _ in range(7):
        u = pdecore.explicit_step(u, tau, "weickert", 0.3, h, order)
        states.append(u)
    assert_allclose(ev.u, u, rtol=1e-14, atol=1e-14)
    assert_allclose(ev.states, np.stack([states[k] for k in ev.steps]), rtol=1e-14, atol=1e-14)
    assert_array_equal(u0, u0_copy)
    # the returned final state is not overwritten by a later evolution
    final = ev.u.copy()
    pdecore.explicit_evolution(u0, tau, 3, "linear", 0.3, h, order)
    assert_array_equal(ev.u, final)


def test_stability_check_uses_a_callable_s_values_on_the_data():
    u = np.sin(np.linspace(0, 6, 50))
    # a callable above 1: tau = 0.25 is stable for g <= 1 but not for g = 5
    with pytest.raises(ValueError, match="g_max=5"):
        pdecore.explicit_step(u, 0.25, lambda s2, lam: 5.0 + 0 * s2, check_stability=True)
    pdecore.explicit_step(u, 0.09, lambda s2, lam: 5.0 + 0 * s2, check_stability=True)
    with pytest.raises(ValueError, match="non-finite"):
        pdecore.explicit_step(u, 0.1, lambda s2, lam: np.nan * s2, check_stability=True)
    with pytest.raises(ValueError, match="negative"):
        pdecore.explicit_step(u, 0.1, lambda s2, lam: -1.0 + 0 * s2, check_stability=True)
    # the registered diffusivities keep their declared bound 1
    with pytest.raises(ValueError, match="g_max=1"):
        pdecore.explicit_step(u, 0.6, "perona_malik", check_stability=True)


# --- whole evolutions at exactly the limits (hypothesis) ---------------------------------


@given(u=strategies.signals, lam=strategies.lams, name=strategies.names, steps=st.integers(1, 30))
def test_explicit_evolution_at_the_stability_limit_never_grows(u, lam, name, steps):
    tau = pdecore.stability_limit(u.size)  # exactly the bound 2 / ||D||^2
    ev = pdecore.explicit_evolution(u, tau, steps, name, lam, save_every=1)
    norms = np.linalg.norm(ev.states, axis=-1)
    assert np.all(np.diff(norms) <= 1e-12 * norms[0] + 1e-300)


@given(u=strategies.signals, lam=strategies.lams, name=strategies.names, steps=st.integers(1, 30))
def test_explicit_evolution_at_the_maxmin_limit_stays_in_range(u, lam, name, steps):
    ev = pdecore.explicit_evolution(u, pdecore.maxmin_limit(), steps, name, lam)
    tol = 1e-12 * strategies.scale(u) * steps
    assert ev.u.max() <= u.max() + tol and ev.u.min() >= u.min() - tol


@given(u=strategies.signals, lam=strategies.lams, name=strategies.names,
       order=st.sampled_from([1, 2]), steps=st.integers(1, 30))
def test_explicit_evolution_at_the_stability_limit_never_increases_the_energy(
        u, lam, name, order, steps):
    # chapter 1, prop-energy: every registered g is nonincreasing, so E decreases
    if u.size <= order:
        u = np.r_[u, 0.0, 1.0]
    tau = pdecore.stability_limit(u.size, order)
    ev = pdecore.explicit_evolution(u, tau, steps, name, lam, order=order, save_every=1)
    energy = pdecore.energy(ev.states, name, lam, order=order)
    assert np.all(np.diff(energy) <= 1e-10 * energy[0] + 1e-300)
