"""Property tests (hypothesis) that the module tests leave out.

Already covered elsewhere, not repeated here: mass, Euclidean stability and the max-min
principle of one explicit step (tests/test_explicit.py), unconditional stability, mass
and max-min of the semi-implicit step (tests/test_implicit.py), the sector condition of
the fluxes (tests/test_diffusivities.py, tests/nets/test_activations.py).

Here, over random signals and parameters:

- explicit evolution: norm and range over many steps at *exactly* the stability limits;
- FED and FSI: mass preservation, and stability of whole cycles (norm at the cycle ends
  never increases, the diffusivity frozen per cycle) although single FED steps exceed
  the explicit limit. In floating point this holds for FED only for short cycles: a
  rounding error late in a cycle of n steps is amplified by up to
  ``perturbation_growth(n)`` (about 1e5 at n = 12, 1e16 at n = 36), the internal
  instability chapter 3 describes; FSI's recursion stays stable (a regression example
  below shows both on one input);
- the semi-implicit step by multigrid: mass, norm and range for any step size;
- multigrid: every cycle decreases the error in the energy norm
  :math:`\\|e\\|_A` (guaranteed for a Galerkin hierarchy with convergent smoothers), the
  residual of a solve ends below where it started, for random SPD tridiagonal matrices
  :math:`I + \\tau D^\\top G D`;
- the symmetric residual block: the norm never increases at or below its bound, for random
  weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import pdecore
import pdecore.nets
from pdecore import multigrid
from pdecore.experiments.acceleration import perturbation_growth

NAMES = ["linear", "perona_malik", "exponential", "charbonnier", "weickert"]

signals = arrays(np.float64, st.integers(3, 40), elements=st.floats(-100.0, 100.0))
lams = st.floats(0.05, 20.0)
names = st.sampled_from(NAMES)


def _scale(u):
    return 1.0 + np.abs(u).max()


# --- explicit evolution at the limits ----------------------------------------------------


@given(u=signals, lam=lams, name=names, steps=st.integers(1, 30))
def test_explicit_evolution_at_the_stability_limit_never_grows(u, lam, name, steps):
    tau = pdecore.stability_limit(u.size)  # exactly the bound 2 / ||D||^2
    ev = pdecore.explicit_evolution(u, tau, steps, name, lam, save_every=1)
    norms = np.linalg.norm(ev.states, axis=-1)
    assert np.all(np.diff(norms) <= 1e-12 * norms[0] + 1e-300)


@given(u=signals, lam=lams, name=names, steps=st.integers(1, 30))
def test_explicit_evolution_at_the_maxmin_limit_stays_in_range(u, lam, name, steps):
    ev = pdecore.explicit_evolution(u, pdecore.maxmin_limit(), steps, name, lam)
    tol = 1e-12 * _scale(u) * steps
    assert ev.u.max() <= u.max() + tol and ev.u.min() >= u.min() - tol


# --- FED and FSI -----------------------------------------------------------------------


fed_params = {
    "u": signals,
    "lam": lams,
    "name": names,
    "cycles": st.integers(1, 4),
    "order": st.sampled_from([1, 2]),
    "fraction": st.floats(0.1, 1.0),
    "time_fraction": st.floats(0.3, 1.0),
}

#: longest cycle tested: rounding errors grow by at most ~perturbation_growth(n) inside
MAX_STEPS = {"fed_evolution": 12, "fsi_evolution": 40}


def _run(scheme, u, lam, name, cycles, order, fraction, time_fraction, steps):
    """Run ``cycles`` cycles of at most ``steps`` steps each (T chosen accordingly)."""
    if u.size <= order:
        u = np.r_[u, 0.0, 1.0]
    tau = fraction * pdecore.stability_limit(u.size, order)
    T = time_fraction * cycles * tau * (steps * steps + steps) / 3.0
    ev = getattr(pdecore, scheme)(u, T, tau, cycles, name, lam, order=order, save_every=1)
    return u, ev


@pytest.mark.parametrize("scheme", ["fed_evolution", "fsi_evolution"])
@given(**fed_params, steps=st.integers(1, 40))
def test_fed_fsi_preserve_mass(scheme, u, lam, name, cycles, order, fraction, time_fraction,
                               steps):
    u, ev = _run(scheme, u, lam, name, cycles, order, fraction, time_fraction, steps)
    assert abs(ev.u.sum() - u.sum()) <= 1e-10 * _scale(u) * u.size


@pytest.mark.parametrize("scheme", ["fed_evolution", "fsi_evolution"])
@given(**fed_params, data=st.data())
def test_fed_fsi_cycles_never_increase_the_norm(scheme, u, lam, name, cycles, order, fraction,
                                                 time_fraction, data):
    steps = data.draw(st.integers(1, MAX_STEPS[scheme]), label="steps")
    u, ev = _run(scheme, u, lam, name, cycles, order, fraction, time_fraction, steps)
    n = (ev.states.shape[0] - 1) // cycles  # steps per cycle
    assert n <= steps
    at_cycle_ends = np.linalg.norm(ev.states[::n], axis=-1)
    assert at_cycle_ends.size == cycles + 1
    assert np.all(np.diff(at_cycle_ends) <= 1e-10 * at_cycle_ends[0] + 1e-300)


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


# --- semi-implicit step by multigrid ----------------------------------------------------


@settings(max_examples=30)
@given(u=arrays(np.float64, st.integers(3, 200), elements=st.floats(-100.0, 100.0)),
       tau=st.floats(1e-3, 1e5), lam=lams, name=names,
       smoother=st.sampled_from(["rbgs", "jacobi"]))
def test_semi_implicit_multigrid_step_is_stable_mass_preserving_and_in_range(
        u, tau, lam, name, smoother):
    x = pdecore.semi_implicit_multigrid_step(u, tau, name, lam, smoother=smoother,
                                             min_size=4, maxiter=400, tol=1e-10)
    s = _scale(u)
    assert np.linalg.norm(x) <= np.linalg.norm(u) + 1e-8 * s
    assert abs(x.sum() - u.sum()) <= 1e-8 * s * u.size
    assert x.max() <= u.max() + 1e-8 * s and x.min() >= u.min() - 1e-8 * s


# --- multigrid: the error decreases in every cycle --------------------------------------


@st.composite
def spd_systems(draw):
    """A random matrix I + tau D^T diag(g) D (g >= 0, jumps included) and a right side."""
    n = draw(st.integers(5, 300))
    g = draw(arrays(np.float64, n - 1, elements=st.floats(0.0, 1.0)))
    g = np.where(draw(arrays(np.bool_, n - 1)), g, g * 1e-4)  # diffusivity jumps
    tau = draw(st.floats(1e-2, 1e4))
    w = tau * g
    diag = np.ones(n)
    diag[:-1] += w
    diag[1:] += w
    b = draw(arrays(np.float64, n, elements=st.floats(-1.0, 1.0)))
    return pdecore.Tridiagonal(diag, -w), b


@settings(max_examples=40)
@given(system=spd_systems(), interpolation=st.sampled_from(["linear", "operator"]),
       smoother=st.sampled_from(["rbgs", "jacobi"]), gamma=st.sampled_from([1, 2]),
       sweeps=st.integers(1, 2))
def test_every_cycle_decreases_the_error_in_the_energy_norm(system, interpolation, smoother,
                                                            gamma, sweeps):
    A, b = system
    S = A.to_sparse()
    exact = np.linalg.solve(S.toarray(), b)
    levels = pdecore.multigrid_hierarchy(A, interpolation, min_size=4)

    def energy(x):
        e = x - exact
        return float(np.sqrt(max(e @ (S @ e), 0.0)))

    x = np.zeros_like(b)
    errors = [energy(x)]
    for _ in range(4):
        x = multigrid.cycle(levels, x, b, gamma=gamma, pre=sweeps, post=sweeps,
                            smoother=smoother)
        errors.append(energy(x))
    scale = errors[0] + 1e-300
    assert np.all(np.diff(errors) <= 1e-9 * np.array(errors[:-1]) + 1e-12 * scale)


@settings(max_examples=40)
@given(system=spd_systems(), interpolation=st.sampled_from(["linear", "operator"]),
       smoother=st.sampled_from(["rbgs", "jacobi"]))
def test_a_solve_decreases_the_residual(system, interpolation, smoother):
    A, b = system
    x, res = pdecore.multigrid_solve(A, b, tol=1e-8, maxiter=30, smoother=smoother,
                                     interpolation=interpolation, min_size=4)
    if res[0] == 0.0:
        return
    assert res[-1] < res[0]
    assert pdecore.convergence_factor(res) < 1.0
    r = b - A.to_sparse() @ x
    assert np.linalg.norm(r) == pytest.approx(res[-1], rel=1e-6, abs=1e-12 * res[0])


# --- the symmetric residual block ---------------------------------------------------------


@settings(max_examples=25)
@given(seed=st.integers(0, 2**31 - 1), channels=st.integers(1, 2), kernel=st.integers(2, 4),
       activation=st.sampled_from(["perona_malik", "charbonnier", "weickert", "linear"]),
       lam=st.floats(0.1, 10.0), fraction=st.floats(0.05, 1.0))
def test_symmetric_block_never_increases_the_norm_at_or_below_its_bound(
        seed, channels, kernel, activation, lam, fraction):
    torch.manual_seed(seed)
    n = 24
    block = pdecore.nets.SymmetricBlock(channels, kernel, activation, lam,
                                        dtype=torch.float64)
    block.tau = fraction * block.stability_bound(n)
    u = 3.0 * lam * torch.randn(4, channels, n, dtype=torch.float64)
    with torch.no_grad():
        ratio = block(u).flatten(1).norm(dim=1) / u.flatten(1).norm(dim=1)
    assert float(ratio.max()) <= 1.0 + 1e-10
