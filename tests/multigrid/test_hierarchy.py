"""The hierarchy (pdecore.multigrid.hierarchy): transfers against their definitions, RAP."""

import numpy as np
import pytest
import scipy.sparse as sp

from pdecore.multigrid import (
    INTERPOLATIONS,
    Level,
    Tridiagonal,
    multigrid_hierarchy,
    multigrid_solve,
)

from .references import A_GOOD, SIZES, dense, pm_problem, prolongation_reference


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("n", SIZES)
def test_galerkin_coarse_operator_is_rap(n, interpolation):
    A, _ = pm_problem(n, 0.05, tau=30.0, seed=n)
    levels = multigrid_hierarchy(A, interpolation, min_size=2)
    assert [lv.n for lv in levels][:2] == ([n, (n + 1) // 2] if n > 2 else [n])
    for fine, coarse in zip(levels[:-1], levels[1:], strict=True):
        a = sp.csr_array(dense(fine.A))
        p = prolongation_reference(a.toarray(), interpolation)
        rap = (p.T @ a @ p).toarray()
        scale = np.abs(rap).max()
        np.testing.assert_allclose(dense(coarse.A), rap, rtol=0, atol=1e-13 * scale)
        np.testing.assert_allclose(fine.prolongation_matrix().toarray(), p.toarray(), atol=1e-15)
    assert levels[-1].n <= 2 and levels[-1].is_coarsest


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("n", [2, 3, 8, 9, 30, 31])
def test_restriction_is_the_transpose_of_prolongation(rng, n, interpolation):
    A, _ = pm_problem(n, 0.1)
    level = multigrid_hierarchy(A, interpolation, min_size=2)[0]
    if n == 2:  # a two-point matrix with min_size 2 is already the coarsest
        assert level.is_coarsest
        return
    nc = level.n_coarse
    p = np.column_stack([level.prolong(np.eye(nc)[j]) for j in range(nc)])
    r = np.column_stack([level.restrict(np.eye(n)[i]) for i in range(n)])
    np.testing.assert_array_equal(r, p.T)
    e, v = rng.standard_normal(nc), rng.standard_normal(n)
    assert np.isclose(level.prolong(e) @ v, e @ level.restrict(v), rtol=1e-14)


@pytest.mark.parametrize("n", [9, 10])
def test_linear_interpolation_is_the_fixed_kernel(n):
    A, _ = pm_problem(n, 0.05)
    level = multigrid_hierarchy(A, "linear", min_size=2)[0]
    np.testing.assert_allclose(level.prolong(np.ones(level.n_coarse)), np.ones(n))
    e = np.arange(level.n_coarse, dtype=float)
    x = np.arange(n) / 2.0
    if n % 2 == 0:
        x[-1] = x[-2]  # the last point copies its only coarse neighbour
    np.testing.assert_allclose(level.prolong(e), x)


@pytest.mark.parametrize("n", [11, 12])
def test_operator_interpolation_is_ideal_and_coarse_is_schur_complement(n):
    A, _ = pm_problem(n, 0.05, tau=80.0)
    a = dense(A)
    c, f = np.arange(0, n, 2), np.arange(1, n, 2)
    a_ff, a_fc, a_cc = a[np.ix_(f, f)], a[np.ix_(f, c)], a[np.ix_(c, c)]
    assert np.count_nonzero(a_ff - np.diag(np.diag(a_ff))) == 0  # A_FF is diagonal
    fine, coarse = multigrid_hierarchy(A, "operator", min_size=2)[:2]
    p = fine.prolongation_matrix().toarray()
    np.testing.assert_allclose(p[f], -np.linalg.solve(a_ff, a_fc), atol=1e-14)
    schur = a_cc - a_fc.T @ np.linalg.solve(a_ff, a_fc)
    np.testing.assert_allclose(dense(coarse.A), schur, atol=1e-12)


def test_level_without_prolongation_is_coarsest():
    level = Level(A_GOOD)
    assert level.is_coarsest and level.n == 8 and level.n_coarse == 4


def test_positive_diagonal_but_indefinite_matrix_is_refused():
    n = 64
    A = Tridiagonal(np.full(n, 1.0), np.full(n - 1, 0.9))  # eigenvalues down to 1 - 1.8
    assert np.linalg.eigvalsh(A.to_sparse().toarray()).min() < 0
    with pytest.raises(ValueError, match="positive definite.*pivot"):
        multigrid_solve(A, np.ones(n))


LEVELS = multigrid_hierarchy(A_GOOD, min_size=2)

#: (callable, expected exception, regex the message must match)
BAD_CALLS = {
    "A negative diag": (
        lambda: multigrid_hierarchy(Tridiagonal([1.0, -1.0, 1.0], [0.1, 0.1])),
        ValueError,
        "^A must have a positive diagonal",
    ),
    "A indefinite": (
        lambda: multigrid_hierarchy(Tridiagonal([1.0, 1.0, 1.0], [2.0, 2.0])),
        ValueError,
        "^A must be symmetric positive definite",
    ),
    "interpolation": (
        lambda: multigrid_hierarchy(A_GOOD, "cubic"),
        ValueError,
        "^interpolation must be one of 'linear', 'operator'; got 'cubic'",
    ),
    "min_size": (lambda: multigrid_hierarchy(A_GOOD, min_size=1), ValueError, "^min_size"),
    "min_size float": (lambda: multigrid_hierarchy(A_GOOD, min_size=4.0), TypeError, "^min_size"),
    "max_levels": (lambda: multigrid_hierarchy(A_GOOD, max_levels=0), ValueError, "^max_levels"),
    "coarsest prolong": (lambda: LEVELS[-1].prolong([1.0]), ValueError, "coarsest"),
    "prolong length": (lambda: LEVELS[0].prolong(np.ones(3)), ValueError, "^e"),
    "restrict length": (lambda: LEVELS[0].restrict(np.ones(3)), ValueError, "^r"),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_input_raises(case):
    call, exc, message = BAD_CALLS[case]
    with pytest.raises(exc, match=message):
        call()
