"""The solver (pdecore.multigrid.solve): direct-solve agreement, convergence factors.

The factor tests are pyamg's: (r_k / r_0)^(1/k) below a threshold, over several N to show
that it does not grow with N.
"""

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import pdecore
from pdecore.multigrid import (
    CYCLES,
    INTERPOLATIONS,
    SMOOTHERS,
    convergence_factor,
    multigrid_hierarchy,
    multigrid_solve,
    semi_implicit_multigrid_step,
)

import strategies
from .references import A_GOOD, B_GOOD, SIZES, noisy_steps, pm_problem, pm_sparse


@pytest.mark.parametrize("cycle_name", sorted(CYCLES))
@pytest.mark.parametrize("smoother", SMOOTHERS)
@pytest.mark.parametrize("n", SIZES + [257, 999, 4096])
def test_solve_reaches_tolerance_and_matches_direct_solve(n, smoother, cycle_name):
    A, f = pm_problem(n, 0.05, tau=60.0, seed=n)
    x, res = multigrid_solve(A, f, cycle=cycle_name, smoother=smoother, min_size=4)
    assert np.linalg.norm(pm_sparse(f, 60.0, 0.05) @ x - f) <= 1e-10 * np.linalg.norm(f)
    assert res[-1] <= 1e-10 * np.linalg.norm(f) and res.size <= 15
    upper = pdecore.semi_implicit_matrix_bands(f, 60.0, "perona_malik", 0.05)
    ref = scipy.linalg.solveh_banded(upper, f)
    np.testing.assert_allclose(x, ref, rtol=0, atol=1e-9 * np.abs(ref).max())


def test_solve_with_a_reused_hierarchy_and_a_start_vector(rng):
    A, f = pm_problem(500, 0.1)
    levels = multigrid_hierarchy(A, "linear")
    x0 = rng.standard_normal(500)
    before = x0.copy()
    x, res = multigrid_solve(levels, f, x0, smoother="jacobi", tol=1e-8, maxiter=200)
    np.testing.assert_array_equal(x0, before)
    assert res[0] == pytest.approx(np.linalg.norm(A.residual(x0, f)))
    assert res[-1] <= 1e-8 * np.linalg.norm(f) < res[-2]


def test_zero_right_hand_side_and_maxiter_zero():
    A, f = pm_problem(64, 0.1)
    x, res = multigrid_solve(A, np.zeros(64))
    assert np.all(x == 0) and res.tolist() == [0.0]
    x, res = multigrid_solve(A, f, maxiter=0)
    assert np.all(x == 0) and res.size == 1
    _, res = multigrid_solve(A, f, tol=0.0, maxiter=3, smoother="jacobi")
    assert res.size == 4


# --- convergence factors (the targets of the issue) ------------------------------------

FACTOR_SIZES = [2**8, 2**10 + 1, 3000, 2**16]


@pytest.fixture(scope="module")
def factors():
    """Factor per V(2,2) cycle for each (N, lam, smoother, interpolation), tau = 50."""
    out = {}
    for n in FACTOR_SIZES:
        for lam in (0.05, 0.1):
            A, f = pm_problem(n, lam, tau=50.0)
            for interpolation in INTERPOLATIONS:
                levels = multigrid_hierarchy(A, interpolation)
                for smoother in SMOOTHERS:
                    _, res = multigrid_solve(levels, f, smoother=smoother, maxiter=12)
                    out[n, lam, smoother, interpolation] = convergence_factor(res)
    return out


@pytest.mark.parametrize("smoother", SMOOTHERS)
@pytest.mark.parametrize("lam", [0.05, 0.1])
@pytest.mark.parametrize("n", FACTOR_SIZES)
def test_operator_interpolation_factor_at_most_0_2(factors, n, lam, smoother):
    assert factors[n, lam, smoother, "operator"] <= 0.2


@pytest.mark.parametrize("smoother", SMOOTHERS)
@pytest.mark.parametrize("lam", [0.05, 0.1])
@pytest.mark.parametrize("n", FACTOR_SIZES)
def test_linear_interpolation_is_slower_where_the_diffusivity_jumps(factors, n, lam, smoother):
    linear = factors[n, lam, smoother, "linear"]
    assert linear > 0.2 and linear > 2 * factors[n, lam, smoother, "operator"]


@pytest.mark.parametrize("lam", [0.05, 0.1])
def test_jacobi_factor_is_independent_of_n(factors, lam):
    rho = [factors[n, lam, "jacobi", "operator"] for n in FACTOR_SIZES]
    assert max(rho) - min(rho) < 0.03, rho


def test_red_black_operator_cycle_reaches_rounding_level(factors):
    assert max(v for k, v in factors.items() if k[2:] == ("rbgs", "operator")) < 1e-12


def test_convergence_factor_is_the_geometric_mean():
    assert convergence_factor([8.0, 4.0, 2.0, 1.0]) == pytest.approx(0.5)
    assert convergence_factor(np.array([1.0, 1e-3])) == pytest.approx(1e-3)
    assert convergence_factor([2.0, 0.0]) == 0.0


# --- the semi-implicit step ------------------------------------------------------------


@pytest.mark.parametrize("smoother", SMOOTHERS)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_semi_implicit_multigrid_step_matches_direct_step(smoother, interpolation):
    u = noisy_steps(333, seed=7)
    before = u.copy()
    kwargs = {"smoother": smoother, "interpolation": interpolation, "maxiter": 200}
    v = semi_implicit_multigrid_step(u, 40.0, "perona_malik", 0.05, **kwargs)
    np.testing.assert_array_equal(u, before)
    np.testing.assert_allclose(v, pdecore.semi_implicit_step(u, 40.0, lam=0.05), atol=1e-9)


def test_semi_implicit_multigrid_step_batch_and_other_diffusivities():
    u = np.stack([noisy_steps(64, seed=s) for s in range(3)])
    v = semi_implicit_multigrid_step(u, 5.0, "charbonnier", 0.2, h=0.5, cycle="W")
    assert v.shape == u.shape
    np.testing.assert_allclose(
        v, pdecore.semi_implicit_step(u, 5.0, "charbonnier", 0.2, h=0.5), atol=1e-10
    )


def test_semi_implicit_multigrid_step_warns_when_not_converged():
    u = noisy_steps(200)
    with pytest.warns(RuntimeWarning, match="maxiter=2"):
        semi_implicit_multigrid_step(u, 50.0, lam=0.05, smoother="jacobi", maxiter=2)


#: (callable, expected exception, regex the message must match)
BAD_CALLS = {
    "b length": (
        lambda: multigrid_solve(A_GOOD, np.ones(7)),
        ValueError,
        r"^b must have shape \(8,\)",
    ),
    "b nan": (lambda: multigrid_solve(A_GOOD, np.full(8, np.nan)), ValueError, "^b.*NaN"),
    "b strings": (lambda: multigrid_solve(A_GOOD, ["a"] * 8), TypeError, "^b"),
    "x0 length": (lambda: multigrid_solve(A_GOOD, B_GOOD, np.ones(9)), ValueError, "^x0"),
    "tol": (lambda: multigrid_solve(A_GOOD, B_GOOD, tol=-1.0), ValueError, "^tol"),
    "tol type": (lambda: multigrid_solve(A_GOOD, B_GOOD, tol="small"), TypeError, "^tol"),
    "maxiter": (lambda: multigrid_solve(A_GOOD, B_GOOD, maxiter=-1), ValueError, "^maxiter"),
    "cycle": (
        lambda: multigrid_solve(A_GOOD, B_GOOD, cycle="F"),
        ValueError,
        "^cycle must be one of 'V', 'W'",
    ),
    "smoother": (
        lambda: multigrid_solve(A_GOOD, B_GOOD, smoother="sor"),
        ValueError,
        "^smoother must be one of 'jacobi', 'rbgs'",
    ),
    "pre": (lambda: multigrid_solve(A_GOOD, B_GOOD, pre=-1), ValueError, "^pre"),
    "post": (lambda: multigrid_solve(A_GOOD, B_GOOD, post=1.5), TypeError, "^post"),
    "omega": (lambda: multigrid_solve(A_GOOD, B_GOOD, omega=1.5), ValueError, r"^omega.*\(0, 1\]"),
    "factor short": (lambda: convergence_factor([1.0]), ValueError, "^residual_norms"),
    "factor zero": (lambda: convergence_factor([0.0, 0.0]), ValueError, r"^residual_norms\[0\]"),
    "factor negative": (lambda: convergence_factor([1.0, -0.5]), ValueError, "^residual_norms"),
    "factor 2-D": (lambda: convergence_factor(np.ones((2, 2))), ValueError, "^residual_norms"),
    "step u nan": (
        lambda: semi_implicit_multigrid_step([0.0, np.nan, 1.0], 1.0),
        ValueError,
        "^u.*NaN",
    ),
    "step tau": (lambda: semi_implicit_multigrid_step(B_GOOD, -1.0), ValueError, "^tau"),
    "step lam": (lambda: semi_implicit_multigrid_step(B_GOOD, 1.0, lam=0.0), ValueError, "^lam"),
    "step diffusivity": (
        lambda: semi_implicit_multigrid_step(B_GOOD, 1.0, "perona-malik"),
        ValueError,
        "unknown diffusivity",
    ),
    "step interpolation": (
        lambda: semi_implicit_multigrid_step(B_GOOD, 1.0, interpolation=None),
        ValueError,
        "^interpolation must be one of",
    ),
    "step kwarg": (
        lambda: semi_implicit_multigrid_step(B_GOOD, 1.0, sweeps=2),
        TypeError,
        "sweeps",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_input_raises(case):
    call, exc, message = BAD_CALLS[case]
    with pytest.raises(exc, match=message):
        call()


# --- random SPD systems and signals (hypothesis) -------------------------------------------


@settings(max_examples=30)
@given(u=arrays(np.float64, st.integers(3, 200), elements=st.floats(-100.0, 100.0)),
       tau=st.floats(1e-3, 1e5), lam=strategies.lams, name=strategies.names,
       smoother=st.sampled_from(["rbgs", "jacobi"]))
def test_semi_implicit_multigrid_step_is_stable_mass_preserving_and_in_range(
        u, tau, lam, name, smoother):
    x = semi_implicit_multigrid_step(u, tau, name, lam, smoother=smoother,
                                             min_size=4, maxiter=400, tol=1e-10)
    s = strategies.scale(u)
    assert np.linalg.norm(x) <= np.linalg.norm(u) + 1e-8 * s
    assert abs(x.sum() - u.sum()) <= 1e-8 * s * u.size
    assert x.max() <= u.max() + 1e-8 * s and x.min() >= u.min() - 1e-8 * s


@settings(max_examples=40)
@given(system=strategies.spd_systems(), interpolation=st.sampled_from(["linear", "operator"]),
       smoother=st.sampled_from(["rbgs", "jacobi"]))
def test_a_solve_decreases_the_residual(system, interpolation, smoother):
    A, b = system
    x, res = multigrid_solve(A, b, tol=1e-8, maxiter=30, smoother=smoother,
                                     interpolation=interpolation, min_size=4)
    if res[0] == 0.0:
        return
    assert res[-1] < res[0]
    assert convergence_factor(res) < 1.0
    r = b - A.to_sparse() @ x
    assert np.linalg.norm(r) == pytest.approx(res[-1], rel=1e-6, abs=1e-12 * res[0])
