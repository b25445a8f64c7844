r"""The multigrid hierarchy: coarse points, interpolation and Galerkin coarse operators.

.. math:: A_0 = A, \qquad A_{\ell+1} = R_\ell A_\ell P_\ell, \qquad R_\ell = P_\ell^\top

Coarse points are the even fine indices, for any :math:`N`. The prolongation
:math:`P_\ell` copies them and interpolates the odd points from their two coarse
neighbours (a transposed convolution with stride 2), with fixed linear weights or with
operator-dependent weights read from the matrix rows; the restriction :math:`R_\ell` is a
strided convolution. Chapter 5 (multigrid solvers are U-nets).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from .._validation import as_choice, as_int, as_vector
from .tridiagonal import Tridiagonal, _as_tridiagonal

__all__ = ["INTERPOLATIONS", "Level", "multigrid_hierarchy"]

#: Prolongations: fixed linear interpolation and operator-dependent interpolation.
INTERPOLATIONS = ("linear", "operator")

#: Default size at or below which the coarsest level is solved directly.
MIN_SIZE = 32


@dataclass(frozen=True, eq=False)
class Level:
    r"""One level of a multigrid hierarchy: its matrix and the prolongation to it.

    The coarse points of level :math:`\ell` are its even indices :math:`0, 2, 4, \dots`;
    coarse value :math:`j` sits at fine point :math:`2j`. The prolongation copies those and
    interpolates the odd fine points :math:`i = 2j + 1` from their coarse neighbours,

    .. math:: (P e)_{2j} = e_j, \qquad (P e)_{2j+1} = \ell_j e_j + r_j e_{j+1},

    a transposed convolution with stride 2 and kernel :math:`(r_{j-1}, 1, \ell_j)` (fixed
    :math:`(1/2, 1, 1/2)` for linear interpolation). The restriction is :math:`R = P^\top`.

    Attributes
    ----------
    A : Tridiagonal
        The matrix on this level (the Galerkin product :math:`R A P` of the finer level).
    left : ndarray, shape (N // 2,), or None
        Weights :math:`\ell_j` of the left coarse neighbour of odd point ``2j + 1``
        (``None`` on the coarsest level).
    right : ndarray, shape ((N - 1) // 2,), or None
        Weights :math:`r_j` of the right coarse neighbour (for even ``N`` the last odd
        point has none).
    """

    A: Tridiagonal
    left: np.ndarray | None = None
    right: np.ndarray | None = None
    _cache: dict = field(default_factory=dict, init=False, repr=False)

    @property
    def n(self) -> int:
        """Number of unknowns on this level."""
        return self.A.n

    @property
    def n_coarse(self) -> int:
        r"""Number of unknowns on the next coarser level, :math:`\lceil N/2 \rceil`."""
        return (self.A.n + 1) // 2

    @property
    def is_coarsest(self) -> bool:
        """Whether this level is solved directly (it has no prolongation)."""
        return self.left is None

    def prolong(self, e: object) -> np.ndarray:
        """Return :math:`P e` for a coarse vector ``e`` of length :attr:`n_coarse`."""
        self._require_transfer()
        e = as_vector(e, "e", self.n_coarse)
        out = np.empty(self.n)
        _prolong_into(self.left, self.right, e, out)
        return out

    def restrict(self, r: object) -> np.ndarray:
        r"""Return :math:`R r = P^\top r` for a fine vector ``r`` of length :attr:`n`."""
        self._require_transfer()
        r = as_vector(r, "r", self.n)
        return _restrict(self.left, self.right, r)

    def prolongation_matrix(self) -> sp.csr_array:
        """Return :math:`P` as a sparse ``(N, ceil(N/2))`` matrix (for reading and tests)."""
        self._require_transfer()
        n, nc = self.n, self.n_coarse
        nf, nr = self.left.size, self.right.size
        rows = np.concatenate([2 * np.arange(nc), 2 * np.arange(nf) + 1, 2 * np.arange(nr) + 1])
        cols = np.concatenate([np.arange(nc), np.arange(nf), np.arange(nr) + 1])
        vals = np.concatenate([np.ones(nc), self.left, self.right])
        return sp.csr_array((vals, (rows, cols)), shape=(n, nc))

    def _require_transfer(self) -> None:
        if self.is_coarsest:
            raise ValueError("the coarsest level has no prolongation or restriction")

    # cached per-level arrays for the smoothers and the coarse solve
    def _arrays(self) -> dict:
        c = self._cache
        if "inv_diag" not in c:
            d, e = self.A.diag, self.A.off
            c["inv_diag"] = 1.0 / d
            c["inv_even"] = np.ascontiguousarray(c["inv_diag"][0::2])
            c["inv_odd"] = np.ascontiguousarray(c["inv_diag"][1::2])
            c["e_even"] = np.ascontiguousarray(e[0::2])  # couples odd j with even j
            c["e_odd"] = np.ascontiguousarray(e[1::2])  # couples odd j with even j + 1
        return c

    def _factor(self) -> tuple[np.ndarray, np.ndarray]:
        c = self._cache
        if "ldl" not in c:
            dd, ee, info = lapack.dpttrf(self.A.diag, self.A.off)
            if info != 0:
                raise ValueError(
                    "A must be symmetric positive definite: the LDL^T factorisation of the "
                    f"coarsest matrix (N = {self.n}) failed at pivot {info}"
                )
            c["ldl"] = (dd, ee)
        return c["ldl"]


def _prolong_into(left: np.ndarray, right: np.ndarray, e: np.ndarray, out: np.ndarray) -> None:
    nf, nr = left.size, right.size
    out[0::2] = e
    odd = out[1::2]
    np.multiply(left, e[:nf], out=odd)
    odd[:nr] += right * e[1 : nr + 1]


def _restrict(left: np.ndarray, right: np.ndarray, r: np.ndarray) -> np.ndarray:
    nf, nr = left.size, right.size
    rc = r[0::2].copy()
    odd = r[1::2]
    rc[:nf] += left * odd
    rc[1 : nr + 1] += right * odd[:nr]
    return rc


def _interpolation_weights(A: Tridiagonal, interpolation: str) -> tuple[np.ndarray, np.ndarray]:
    """Weights of P at the odd fine points (see :class:`Level`)."""
    n = A.n
    nf, nr = n // 2, (n - 1) // 2
    if interpolation == "operator":
        d_odd = A.diag[1::2]
        left = -A.off[0::2] / d_odd
        right = -A.off[1::2] / d_odd[:nr]
    else:
        left = np.full(nf, 0.5)
        right = np.full(nr, 0.5)
        if nr < nf:  # even N: the last point has no right neighbour; copy (Neumann)
            left[-1] = 1.0
    return left, right


def _galerkin(A: Tridiagonal, left: np.ndarray, right: np.ndarray) -> Tridiagonal:
    r"""Coarse operator :math:`P^\top A P`, vectorised.

    With :math:`P = S_C + S_F W` (:math:`W` bidiagonal: :math:`\ell` on the diagonal,
    :math:`r` above it) and the even/odd blocks of :math:`A`,
    :math:`P^\top A P = A_{CC} + A_{CF} W + W^\top A_{FC} + W^\top A_{FF} W`, which is
    tridiagonal because :math:`A_{FF}` is diagonal.
    """
    d, e = A.diag, A.off
    nr = right.size
    d_odd, e_l, e_r = d[1::2], e[0::2], e[1::2]
    diag = d[0::2].copy()
    diag[: left.size] += left * (2.0 * e_l + d_odd * left)
    diag[1 : nr + 1] += right * (2.0 * e_r + d_odd[:nr] * right)
    off = left[:nr] * e_r + right * (e_l[:nr] + d_odd[:nr] * left[:nr])
    return Tridiagonal(diag, off)


def multigrid_hierarchy(
    A: object,
    interpolation: str = "operator",
    min_size: int = MIN_SIZE,
    max_levels: int | None = None,
) -> list[Level]:
    r"""Build the multigrid hierarchy: prolongations and Galerkin coarse operators.

    .. math:: A_0 = A, \qquad A_{\ell+1} = P_\ell^\top A_\ell P_\ell

    Coarse points are the even indices, so level :math:`\ell + 1` has
    :math:`\lceil N_\ell / 2 \rceil` unknowns, for any :math:`N` (odd or even, not only
    powers of two). Coarsening stops at ``min_size`` unknowns or ``max_levels`` levels.

    Parameters
    ----------
    A : Tridiagonal or scipy.sparse matrix
        Symmetric positive definite tridiagonal matrix, e.g.
        ``Tridiagonal.from_bands(pdecore.semi_implicit_matrix_bands(u, tau))``.
    interpolation : {"operator", "linear"}
        ``"operator"``: operator-dependent weights from the matrix rows,
        :math:`\ell_j = -a_{i,i-1}/a_{ii}`, :math:`r_j = -a_{i,i+1}/a_{ii}` at odd
        :math:`i = 2j + 1` (a data-dependent transposed convolution). ``"linear"``: the
        fixed kernel :math:`(1/2, 1, 1/2)` (the plain U-net picture; an even-length
        level copies its last coarse value to its last point).
    min_size : int
        A level with at most ``min_size`` unknowns is the coarsest, solved directly.
    max_levels : int, optional
        Largest number of levels (``None``: no limit).

    Returns
    -------
    list of Level
        ``levels[0].A`` is ``A``; the last level has no prolongation.

    Raises
    ------
    TypeError
        ``A`` of the wrong type, non-integer ``min_size`` or ``max_levels``.
    ValueError
        Unknown ``interpolation``, ``min_size < 2``, ``max_levels < 1``, a
        non-positive diagonal, or a coarsest matrix that is not positive definite.

    See Also
    --------
    pdecore.multigrid.multigrid_solve : cycles with this hierarchy.

    Notes
    -----
    The odd points couple only to even ones, so :math:`A_{FF}` is diagonal and the
    operator-dependent :math:`P` is the ideal interpolation
    :math:`[-A_{FF}^{-1} A_{FC};\ I]`: the Galerkin operator is then the exact Schur
    complement (cyclic reduction), which is why this interpolation is robust where the
    diffusivity jumps and linear interpolation is not. Used in chapter 5.

    References
    ----------
    .. [1] R. E. Alcouffe, A. Brandt, J. E. Dendy, J. W. Painter, "The multi-grid method
       for the diffusion equation with strongly discontinuous coefficients", SIAM J.
       Sci. Stat. Comput. 2(4), 1981, 430-454. doi:10.1137/0902035
    .. [2] W. L. Briggs, V. E. Henson, S. F. McCormick, *A Multigrid Tutorial*, 2nd ed.,
       SIAM, 2000.

    Examples
    --------
    >>> import numpy as np
    >>> from pdecore.multigrid import Tridiagonal, multigrid_hierarchy
    >>> A = Tridiagonal(np.full(9, 2.0), np.full(8, -1.0))
    >>> levels = multigrid_hierarchy(A, min_size=2)
    >>> print([level.n for level in levels])
    [9, 5, 3, 2]
    >>> print(levels[1].A.diag)
    [1.5 1.  1.  1.  1.5]
    """
    A = _as_tridiagonal(A)
    interpolation = as_choice(interpolation, "interpolation", INTERPOLATIONS)
    min_size = as_int(min_size, "min_size", minimum=2)
    max_levels = None if max_levels is None else as_int(max_levels, "max_levels", minimum=1)
    if not np.all(A.diag > 0):
        raise ValueError(
            f"A must have a positive diagonal (symmetric positive definite); "
            f"min diag = {A.diag.min()}"
        )
    # a positive diagonal is not enough: the LDL^T pivots are all positive iff A is SPD
    info = lapack.dpttrf(A.diag, A.off)[2]
    if info != 0:
        raise ValueError(
            f"A must be symmetric positive definite: the LDL^T factorisation fails at "
            f"pivot {info} of N = {A.n} (A has a zero or negative eigenvalue; for a "
            f"semi-implicit matrix I + tau A_g check tau and the diffusivity)"
        )
    levels = []
    while A.n > min_size and (max_levels is None or len(levels) + 1 < max_levels):
        left, right = _interpolation_weights(A, interpolation)
        levels.append(Level(A, left, right))
        A = _galerkin(A, left, right)
    levels.append(Level(A))
    levels[-1]._factor()
    return levels


def _as_hierarchy(hierarchy: object) -> list[Level]:
    if (
        not isinstance(hierarchy, (list, tuple))
        or not hierarchy
        or not all(isinstance(lv, Level) for lv in hierarchy)
    ):
        raise TypeError(
            "hierarchy must be a non-empty list of Level, as returned by multigrid_hierarchy"
        )
    return list(hierarchy)
