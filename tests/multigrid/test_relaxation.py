"""The smoothers (pdecore.multigrid.relaxation) against their dense definitions."""

import numpy as np
import pytest
import scipy.fft

from pdecore.multigrid import SMOOTHERS, Tridiagonal, smooth

from .references import A_GOOD, B_GOOD, dense, pm_problem, smoother_reference


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


#: (callable, expected exception, regex the message must match)
BAD_CALLS = {
    "omega zero": (lambda: smooth(A_GOOD, B_GOOD, B_GOOD, omega=0.0), ValueError, "^omega"),
    "omega above 1": (
        lambda: smooth(A_GOOD, B_GOOD, B_GOOD, omega=1.5),
        ValueError,
        r"^omega must be in \(0, 1\]",
    ),
    "sweeps": (lambda: smooth(A_GOOD, B_GOOD, B_GOOD, sweeps=-2), ValueError, "^sweeps"),
    "smoother": (
        lambda: smooth(A_GOOD, B_GOOD, B_GOOD, smoother="sor"),
        ValueError,
        "^smoother must be one of 'jacobi', 'rbgs'; got 'sor'",
    ),
    "reverse": (lambda: smooth(A_GOOD, B_GOOD, B_GOOD, reverse="yes"), TypeError, "^reverse"),
    "x shape": (lambda: smooth(A_GOOD, np.ones((2, 8)), B_GOOD), ValueError, "^x"),
    "negative diag": (
        lambda: smooth(Tridiagonal([1.0, -1.0, 1.0], [0.1, 0.1]), np.ones(3), np.ones(3)),
        ValueError,
        "^A must have a positive diagonal",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_input_raises(case):
    call, exc, message = BAD_CALLS[case]
    with pytest.raises(exc, match=message):
        call()
