"""Independent references for the multigrid tests (pdecore.multigrid).

Built without the module under test: the matrix from the sparse D, the prolongation from
its definition with scipy.sparse, the smoothers as dense loops.
"""

import numpy as np
import scipy.sparse as sp

import pdecore
from pdecore.multigrid import Tridiagonal

#: Sizes, odd and even, down to the smallest admissible matrix.
SIZES = [2, 3, 4, 5, 7, 8, 16, 17, 33, 100, 101]

#: A small valid system for the bad-input tests.
A_GOOD = Tridiagonal(np.full(8, 3.0), np.full(7, -1.0))
B_GOOD = np.ones(8)


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
