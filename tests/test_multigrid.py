"""Multigrid for the semi-implicit system (pdecore.multigrid).

References are built independently of the module: the matrix from the sparse D, the
prolongation from its definition with scipy.sparse, the two-grid cycle and the smoothers
as dense loops.
"""

import numpy as np
import pytest
import scipy.fft
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg

import pdecore
from pdecore.multigrid import (
    CYCLES,
    INTERPOLATIONS,
    SMOOTHERS,
    Level,
    Tridiagonal,
    convergence_factor,
    cycle,
    multigrid_hierarchy,
    multigrid_solve,
    semi_implicit_multigrid_step,
    smooth,
    v_cycle,
    w_cycle,
)

# --- independent references -----------------------------------------------------------


def noisy_steps(n, seed=0, sigma=0.05):
    """Piecewise-constant signal (one jump per 200 points, at least 5) plus noise."""
    f = pdecore.piecewise_constant(n, min(n - 1, max(5, n // 200)), seed=seed)
    return pdecore.add_noise(f, sigma, seed=seed + 1)


def pm_sparse(u, tau, lam, h=1.0):
    """A = I + tau D^T G D from the sparse D (not from the banded code)."""
    d = pdecore.derivative_matrix(u.size, 1, h)
    g = pdecore.diffusivity("perona_malik", (d @ u) ** 2, lam)
    return sp.csr_array(sp.eye(u.size) + tau * d.T @ sp.diags(g) @ d)


def pm_problem(n, lam, tau=50.0, seed=0):
    """(Tridiagonal A, right-hand side f) of a semi-implicit Perona-Malik step."""
    f = noisy_steps(n, seed)
    bands = pdecore.semi_implicit_matrix_bands(f, tau, "perona_malik", lam)
    return Tridiagonal.from_bands(bands), f


def prolongation_reference(a, interpolation):
    """P of size n x ceil(n/2) from its definition; ``a`` is a dense matrix."""
    n = a.shape[0]
    p = sp.lil_array((n, (n + 1) // 2))
    for i in range(n):
        if i % 2 == 0:
            p[i, i // 2] = 1.0
            continue
        has_right = i + 1 < n
        if interpolation == "operator":
            p[i, (i - 1) // 2] = -a[i, i - 1] / a[i, i]
            if has_right:
                p[i, (i + 1) // 2] = -a[i, i + 1] / a[i, i]
        else:
            p[i, (i - 1) // 2] = 0.5 if has_right else 1.0
            if has_right:
                p[i, (i + 1) // 2] = 0.5
    return sp.csr_array(p)


def dense(A):
    return A.to_sparse().toarray()


def jacobi_reference(a, x, b, sweeps, omega):
    for _ in range(sweeps):
        x = x + omega * (b - a @ x) / np.diag(a)
    return x


def gauss_seidel_reference(a, x, b, sweeps, reverse):
    """Point-by-point red-black Gauss-Seidel (a Python loop, the definition)."""
    x = x.copy()
    n = x.size
    colours = [range(1, n, 2), range(0, n, 2)] if reverse else [range(0, n, 2), range(1, n, 2)]
    for _ in range(sweeps):
        for points in colours:
            for i in points:
                x[i] = (b[i] - a[i] @ x + a[i, i] * x[i]) / a[i, i]
    return x


def smoother_reference(a, x, b, sweeps, smoother, reverse, omega=2 / 3):
    if smoother == "jacobi":
        return jacobi_reference(a, x, b, sweeps, omega)
    return gauss_seidel_reference(a, x, b, sweeps, reverse)


SIZES = [2, 3, 4, 5, 7, 8, 16, 17, 33, 100, 101]


# --- the matrix ------------------------------------------------------------------------


def test_tridiagonal_from_bands_is_the_semi_implicit_matrix(rng):
    u = noisy_steps(41)
    A = Tridiagonal.from_bands(pdecore.semi_implicit_matrix_bands(u, 7.0, lam=0.1, h=0.5))
    ref = pm_sparse(u, 7.0, 0.1, h=0.5)
    np.testing.assert_allclose(dense(A), ref.toarray(), rtol=0, atol=1e-12)
    x, b = rng.standard_normal((2, 41))
    np.testing.assert_allclose(A.matvec(x), ref @ x, atol=1e-12)
    np.testing.assert_allclose(A.residual(x, b), b - ref @ x, atol=1e-12)


def test_sparse_input_is_accepted(rng):
    u = noisy_steps(50)
    ref = pm_sparse(u, 20.0, 0.05)
    b = rng.standard_normal(50)
    x, _ = multigrid_solve(ref, b)
    np.testing.assert_allclose(x, scipy.sparse.linalg.spsolve(sp.csc_array(ref), b), atol=1e-10)


# --- transfer operators and the Galerkin product ---------------------------------------


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


# --- smoothers -------------------------------------------------------------------------


@pytest.mark.parametrize("smoother", SMOOTHERS)
def test_smoothing_damps_high_frequencies(rng, smoother):
    n = 256  # Neumann Laplacian + 0.01 I: the DCT-II vectors are its eigenvectors
    diag = np.full(n, 2.0)
    diag[[0, -1]] = 1.0
    A = Tridiagonal(diag + 0.01, np.full(n - 1, -1.0))
    e0 = rng.standard_normal(n)
    e = smooth(A, e0, np.zeros(n), sweeps=2, smoother=smoother)
    c0, c = scipy.fft.dct(e0, norm="ortho"), scipy.fft.dct(e, norm="ortho")
    high = np.linalg.norm(c[n // 2 :]) / np.linalg.norm(c0[n // 2 :])
    low = np.linalg.norm(c[: n // 16]) / np.linalg.norm(c0[: n // 16])
    assert high < 0.1  # the upper half of the spectrum is removed ...
    assert low > 0.9  # ... the smooth part is not (that is the coarse grid's job)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("smoother", SMOOTHERS)
@pytest.mark.parametrize("n", [5, 8])
def test_smoothers_match_dense_definitions(rng, n, smoother, reverse):
    A, _ = pm_problem(n, 0.05, seed=3)
    x0, b = rng.standard_normal((2, n))
    x = smooth(A, x0, b, sweeps=3, smoother=smoother, omega=0.6, reverse=reverse)
    ref = smoother_reference(dense(A), x0, b, 3, smoother, reverse, omega=0.6)
    np.testing.assert_allclose(x, ref, atol=1e-13)


def test_red_black_ends_with_zero_residual_on_black_points(rng):
    A, _ = pm_problem(40, 0.05)
    x0, b = rng.standard_normal((2, 40))
    r = A.residual(smooth(A, x0, b, smoother="rbgs"), b)
    assert np.abs(r[1::2]).max() < 1e-13 < np.abs(r[0::2]).max()


# --- cycles ----------------------------------------------------------------------------


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


# --- the solver ------------------------------------------------------------------------


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


# --- bad input -------------------------------------------------------------------------

A_GOOD = Tridiagonal(np.full(8, 3.0), np.full(7, -1.0))
B_GOOD = np.ones(8)
LEVELS = multigrid_hierarchy(A_GOOD, min_size=2)
PENTADIAGONAL = sp.diags_array([1.0, 4.0, 1.0], offsets=[-2, 0, 2], shape=(5, 5))
NONSYMMETRIC = sp.diags_array([1.0, 4.0, 2.0], offsets=[-1, 0, 1], shape=(5, 5))

#: (callable, expected exception, regex the message must match)
BAD_CALLS = {
    "diag 2-D": (lambda: Tridiagonal(np.ones((2, 3)), np.ones(2)), ValueError, "^diag"),
    "diag nan": (lambda: Tridiagonal([1.0, np.nan], [0.0]), ValueError, "^diag.*NaN"),
    "diag complex": (lambda: Tridiagonal(np.ones(3, complex), np.ones(2)), TypeError, "^diag"),
    "off length": (lambda: Tridiagonal(np.ones(3), np.ones(3)), ValueError, r"^off.*\(2,\)"),
    "bands shape": (lambda: Tridiagonal.from_bands(np.ones((3, 4))), ValueError, "^bands"),
    "A type": (lambda: multigrid_hierarchy(np.eye(3)), TypeError, "^A must be.*from_bands"),
    "A pentadiagonal": (
        lambda: multigrid_hierarchy(PENTADIAGONAL),
        ValueError,
        "^A must be tridiagonal",
    ),
    "A nonsymmetric": (
        lambda: multigrid_hierarchy(NONSYMMETRIC),
        ValueError,
        "^A must be symmetric",
    ),
    "A not square": (
        lambda: multigrid_hierarchy(sp.csr_array(np.ones((3, 4)))),
        ValueError,
        "^A must be a square",
    ),
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
    "omega zero": (lambda: smooth(A_GOOD, B_GOOD, B_GOOD, omega=0.0), ValueError, "^omega"),
    "sweeps": (lambda: smooth(A_GOOD, B_GOOD, B_GOOD, sweeps=-2), ValueError, "^sweeps"),
    "reverse": (lambda: smooth(A_GOOD, B_GOOD, B_GOOD, reverse="yes"), TypeError, "^reverse"),
    "x shape": (lambda: smooth(A_GOOD, np.ones((2, 8)), B_GOOD), ValueError, "^x"),
    "hierarchy": (lambda: cycle(A_GOOD, B_GOOD, B_GOOD), TypeError, "^hierarchy"),
    "hierarchy empty": (lambda: v_cycle([], B_GOOD, B_GOOD), TypeError, "^hierarchy"),
    "gamma": (lambda: cycle(LEVELS, B_GOOD, B_GOOD, gamma=0), ValueError, "^gamma"),
    "cycle x length": (lambda: w_cycle(LEVELS, np.ones(3), B_GOOD), ValueError, "^x"),
    "coarsest prolong": (lambda: LEVELS[-1].prolong([1.0]), ValueError, "coarsest"),
    "prolong length": (lambda: LEVELS[0].prolong(np.ones(3)), ValueError, "^e"),
    "restrict length": (lambda: LEVELS[0].restrict(np.ones(3)), ValueError, "^r"),
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


def test_level_without_prolongation_is_coarsest():
    level = Level(A_GOOD)
    assert level.is_coarsest and level.n == 8 and level.n_coarse == 4


def test_positive_diagonal_but_indefinite_matrix_is_refused():
    from pdecore.multigrid import Tridiagonal, multigrid_solve

    n = 64
    A = Tridiagonal(np.full(n, 1.0), np.full(n - 1, 0.9))  # eigenvalues down to 1 - 1.8
    assert np.linalg.eigvalsh(A.to_sparse().toarray()).min() < 0
    with pytest.raises(ValueError, match="positive definite.*pivot"):
        multigrid_solve(A, np.ones(n))
