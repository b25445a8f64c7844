"""The matrix type (pdecore.multigrid.tridiagonal): products, band and sparse input."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg

import pdecore
from pdecore.multigrid import Tridiagonal, multigrid_hierarchy, multigrid_solve

from .references import dense, noisy_steps, pm_sparse


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


PENTADIAGONAL = sp.diags_array([1.0, 4.0, 1.0], offsets=[-2, 0, 2], shape=(5, 5))
NONSYMMETRIC = sp.diags_array([1.0, 4.0, 2.0], offsets=[-1, 0, 1], shape=(5, 5))

#: (callable, expected exception, regex the message must match)
BAD_CALLS = {
    "diag 2-D": (lambda: Tridiagonal(np.ones((2, 3)), np.ones(2)), ValueError, "^diag"),
    "diag nan": (lambda: Tridiagonal([1.0, np.nan], [0.0]), ValueError, "^diag.*NaN"),
    "diag complex": (lambda: Tridiagonal(np.ones(3, complex), np.ones(2)), TypeError, "^diag"),
    "off length": (lambda: Tridiagonal(np.ones(3), np.ones(3)), ValueError, r"^off.*\(2,\)"),
    "bands shape": (lambda: Tridiagonal.from_bands(np.ones((3, 4))), ValueError, "^bands"),
    "matvec length": (
        lambda: Tridiagonal(np.ones(3), np.zeros(2)).matvec(np.ones(4)),
        ValueError,
        r"^x must have shape \(3,\)",
    ),
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
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_input_raises(case):
    call, exc, message = BAD_CALLS[case]
    with pytest.raises(exc, match=message):
        call()
