r"""The symmetric tridiagonal matrix of the 1D semi-implicit system, and its kernels.

.. math:: (A x)_i = e_{i-1} x_{i-1} + d_i x_i + e_i x_{i+1}, \qquad
          A = I + \tau D^\top G(u) D

:class:`Tridiagonal` stores the diagonal :math:`d` and the off-diagonal :math:`e`; its
product and residual are the stencil (a convolution with a position-dependent kernel)
that every level of the multigrid hierarchy applies. Chapter 5 (multigrid solvers are
U-nets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._validation import as_signal, as_vector

__all__ = ["Tridiagonal"]


@dataclass(frozen=True, eq=False)
class Tridiagonal:
    r"""A symmetric tridiagonal matrix stored by its diagonal and off-diagonal.

    .. math:: (A x)_i = e_{i-1} x_{i-1} + d_i x_i + e_i x_{i+1}

    Parameters
    ----------
    diag : (N,) array_like
        Diagonal :math:`d`, ``N >= 2``.
    off : (N - 1,) array_like
        Off-diagonal :math:`e` (sub- and superdiagonal, the matrix is symmetric).

    Raises
    ------
    ValueError
        Wrong shapes or lengths, NaN/inf.
    TypeError
        Non-numeric input.

    See Also
    --------
    Tridiagonal.from_bands : from the band storage of
        :func:`pdecore.semi_implicit_matrix_bands`.

    Examples
    --------
    >>> import numpy as np
    >>> from pdecore.multigrid import Tridiagonal
    >>> A = Tridiagonal([2.0, 2.0, 2.0], [-1.0, -1.0])
    >>> print(A.matvec(np.ones(3)))
    [1. 0. 1.]
    """

    diag: np.ndarray
    off: np.ndarray

    def __post_init__(self) -> None:
        diag = as_signal(self.diag, "diag", min_length=2)
        if diag.ndim != 1:
            raise ValueError(f"diag must have shape (N,), got shape {diag.shape}")
        off = as_signal(self.off, "off", min_length=1)
        if off.shape != (diag.size - 1,):
            raise ValueError(
                f"off must have shape (N - 1,) = ({diag.size - 1},) for N = {diag.size}, "
                f"got shape {off.shape}"
            )
        object.__setattr__(self, "diag", np.ascontiguousarray(diag))
        object.__setattr__(self, "off", np.ascontiguousarray(off))

    @classmethod
    def from_bands(cls, bands: object) -> Tridiagonal:
        """Build from upper band storage ``(2, N)``: row 1 diagonal, row 0[1:] superdiagonal.

        This is the layout of :func:`pdecore.semi_implicit_matrix_bands` (order 1) and
        of :func:`scipy.linalg.solveh_banded`.
        """
        arr = as_signal(bands, "bands", min_length=2)
        if arr.ndim != 2 or arr.shape[0] != 2:
            raise ValueError(f"bands must have shape (2, N), got shape {arr.shape}")
        return cls(arr[1], arr[0, 1:])

    @property
    def n(self) -> int:
        """Number of unknowns :math:`N`."""
        return self.diag.size

    def matvec(self, x: object) -> np.ndarray:
        """Return :math:`A x` for ``x`` of shape ``(N,)``."""
        x = as_vector(x, "x", self.n)
        return self.diag * x + _shifted_products(self.off, x)

    def residual(self, x: object, b: object) -> np.ndarray:
        """Return :math:`b - A x`."""
        x = as_vector(x, "x", self.n)
        b = as_vector(b, "b", self.n)
        return _residual(self.diag, self.off, x, b)

    def to_sparse(self) -> sp.csr_array:
        """Return the matrix as a :class:`scipy.sparse.csr_array`."""
        return sp.diags_array([self.off, self.diag, self.off], offsets=[-1, 0, 1], format="csr")


def _shifted_products(e: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Off-diagonal part of :math:`A x`: :math:`e_{i-1} x_{i-1} + e_i x_{i+1}`."""
    out = np.zeros_like(x)
    out[:-1] = e * x[1:]
    out[1:] += e * x[:-1]
    return out


def _residual(d: np.ndarray, e: np.ndarray, x: np.ndarray, b: np.ndarray) -> np.ndarray:
    r = b - d * x
    r[:-1] -= e * x[1:]
    r[1:] -= e * x[:-1]
    return r


def _as_tridiagonal(A: object) -> Tridiagonal:
    """Accept a :class:`Tridiagonal` or a symmetric tridiagonal scipy.sparse matrix."""
    if isinstance(A, Tridiagonal):
        return A
    if sp.issparse(A):
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be a square matrix, got shape {A.shape}")
        coo = sp.coo_array(A)
        if coo.nnz and np.abs(coo.row - coo.col).max() > 1:
            raise ValueError("A must be tridiagonal: it has entries beyond the first off-diagonal")
        csr = sp.csr_array(A, dtype=np.float64)
        diag, upper, lower = csr.diagonal(0), csr.diagonal(1), csr.diagonal(-1)
        if not np.array_equal(upper, lower):
            raise ValueError("A must be symmetric: its super- and subdiagonal differ")
        return Tridiagonal(diag, upper)
    raise TypeError(
        "A must be a pdecore.multigrid.Tridiagonal or a scipy.sparse matrix, got "
        f"{type(A).__name__}; for band storage use Tridiagonal.from_bands(bands)"
    )
