"""Multigrid cycles (pdecore.multigrid.cycles) against the two-grid formula and exactness."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pdecore.multigrid import (
    INTERPOLATIONS,
    SMOOTHERS,
    cycle,
    multigrid_hierarchy,
    v_cycle,
    w_cycle,
)

import strategies
from .references import (
    A_GOOD,
    B_GOOD,
    SIZES,
    dense,
    pm_problem,
    prolongation_reference,
    smoother_reference,
)


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("smoother", SMOOTHERS)
@pytest.mark.parametrize("n", [9, 20])
def test_two_level_cycle_is_the_two_grid_formula(rng, n, smoother, interpolation):
    """x <- S_post(x + P A_H^{-1} P^T (b - A S_pre x)) with an exact coarse solve."""
    A, _ = pm_problem(n, 0.05, seed=5)
    levels = multigrid_hierarchy(A, interpolation, min_size=2, max_levels=2)
    assert len(levels) == 2
    a = dense(A)
    p = prolongation_reference(a, interpolation).toarray()
    x0, b = rng.standard_normal((2, n))
    x = smoother_reference(a, x0, b, 2, smoother, reverse=False)
    x = x + p @ np.linalg.solve(p.T @ a @ p, p.T @ (b - a @ x))
    x = smoother_reference(a, x, b, 1, smoother, reverse=True)
    got = cycle(levels, x0, b, pre=2, post=1, smoother=smoother)
    np.testing.assert_allclose(got, x, atol=1e-12)


@pytest.mark.parametrize("n", SIZES + [1000, 1025])
def test_red_black_with_operator_interpolation_is_exact_in_one_cycle(n):
    """In 1D the V-cycle is cyclic reduction: after the black half-sweep the error lies in
    the range of the ideal P and the Galerkin problem is the exact Schur complement."""
    A, f = pm_problem(n, 0.05, tau=100.0)
    x = v_cycle(multigrid_hierarchy(A, min_size=2), np.zeros(n), f, pre=1, post=0)
    assert np.linalg.norm(A.residual(x, f)) <= 1e-13 * np.linalg.norm(f)


def test_v_cycle_with_symmetric_smoothing_is_a_symmetric_operator():
    A, _ = pm_problem(21, 0.1, tau=10.0)
    levels = multigrid_hierarchy(A, "linear", min_size=3)
    for smoother in SMOOTHERS:
        b_to_x = np.column_stack(
            [v_cycle(levels, np.zeros(21), e, smoother=smoother) for e in np.eye(21)]
        )
        np.testing.assert_allclose(b_to_x, b_to_x.T, atol=1e-13)


def test_w_cycle_is_cycle_with_gamma_two(rng):
    A, f = pm_problem(300, 0.05)
    levels = multigrid_hierarchy(A, "linear", min_size=4)
    x0 = rng.standard_normal(300)
    w = w_cycle(levels, x0, f, smoother="jacobi", pre=1, post=1)
    np.testing.assert_array_equal(w, cycle(levels, x0, f, 2, 1, 1, "jacobi"))
    v = v_cycle(levels, x0, f, smoother="jacobi", pre=1, post=1)
    assert np.linalg.norm(A.residual(w, f)) < np.linalg.norm(A.residual(v, f))


LEVELS = multigrid_hierarchy(A_GOOD, min_size=2)

#: (callable, expected exception, regex the message must match)
BAD_CALLS = {
    "hierarchy": (lambda: cycle(A_GOOD, B_GOOD, B_GOOD), TypeError, "^hierarchy"),
    "hierarchy empty": (lambda: v_cycle([], B_GOOD, B_GOOD), TypeError, "^hierarchy"),
    "gamma": (lambda: cycle(LEVELS, B_GOOD, B_GOOD, gamma=0), ValueError, "^gamma"),
    "smoother": (
        lambda: cycle(LEVELS, B_GOOD, B_GOOD, smoother="sor"),
        ValueError,
        "^smoother must be one of 'jacobi', 'rbgs'; got 'sor'",
    ),
    "omega": (lambda: w_cycle(LEVELS, B_GOOD, B_GOOD, omega=2.0), ValueError, r"^omega.*\(0, 1\]"),
    "cycle x length": (lambda: w_cycle(LEVELS, np.ones(3), B_GOOD), ValueError, "^x"),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_input_raises(case):
    call, exc, message = BAD_CALLS[case]
    with pytest.raises(exc, match=message):
        call()


# --- random SPD systems (hypothesis) ------------------------------------------------------


@settings(max_examples=40)
@given(system=strategies.spd_systems(), interpolation=st.sampled_from(["linear", "operator"]),
       smoother=st.sampled_from(["rbgs", "jacobi"]), gamma=st.sampled_from([1, 2]),
       sweeps=st.integers(1, 2))
def test_every_cycle_decreases_the_error_in_the_energy_norm(system, interpolation, smoother,
                                                            gamma, sweeps):
    A, b = system
    S = A.to_sparse()
    exact = np.linalg.solve(S.toarray(), b)
    levels = multigrid_hierarchy(A, interpolation, min_size=4)

    def energy(x):
        e = x - exact
        return float(np.sqrt(max(e @ (S @ e), 0.0)))

    x = np.zeros_like(b)
    errors = [energy(x)]
    for _ in range(4):
        x = cycle(levels, x, b, gamma=gamma, pre=sweeps, post=sweeps,
                            smoother=smoother)
        errors.append(energy(x))
    scale = errors[0] + 1e-300
    assert np.all(np.diff(errors) <= 1e-9 * np.array(errors[:-1]) + 1e-12 * scale)
