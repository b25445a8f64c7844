r"""Multigrid for the semi-implicit system: the V-cycle is a U-net.

.. math:: A u = f, \qquad A = I + \tau D^\top G D, \qquad
          A_{\ell+1} = R_\ell A_\ell P_\ell, \qquad R_\ell = P_\ell^\top

One cycle on level :math:`\ell`: pre-smooth :math:`u \leftarrow S^{\nu_1}(u)` (damped
Jacobi :math:`u + \omega D_A^{-1}(f - A u)`, a residual block, or red-black Gauss-Seidel,
two masked blocks), restrict the residual :math:`r_H = R(f - A u)` (a strided
convolution), solve :math:`A_H e_H = r_H` by :math:`\gamma` cycles on the next level
(:math:`\gamma = 1`: V, :math:`\gamma = 2`: W; the coarsest level directly), correct
:math:`u \leftarrow u + P e_H` (a transposed convolution and the U-net's additive long
skip connection) and post-smooth :math:`u \leftarrow S^{\nu_2}(u)`. Coarse points are the
even fine indices, for any :math:`N`. Chapter 5 (multigrid solvers are U-nets).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from ._validation import as_int, as_positive, as_scale, as_signal
from .diffusivities import DiffusivityLike, get_diffusivity
from .implicit import semi_implicit_matrix_bands

__all__ = [
    "CYCLES",
    "INTERPOLATIONS",
    "SMOOTHERS",
    "Level",
    "Tridiagonal",
    "convergence_factor",
    "cycle",
    "multigrid_hierarchy",
    "multigrid_solve",
    "semi_implicit_multigrid_step",
    "smooth",
    "v_cycle",
    "w_cycle",
]

#: Smoothers: damped Jacobi (one residual block per sweep) and red-black Gauss-Seidel.
SMOOTHERS = ("jacobi", "rbgs")
#: Prolongations: fixed linear interpolation and operator-dependent interpolation.
INTERPOLATIONS = ("linear", "operator")
#: Cycle names and their number :math:`\gamma` of coarse-grid visits per level.
CYCLES = {"V": 1, "W": 2}

#: Default size at or below which the coarsest level is solved directly.
MIN_SIZE = 32


def _check_choice(value: object, name: str, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError`` listing them."""
    if not isinstance(value, str) or value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {valid}; got {value!r}")
    return value


def _as_omega(omega: object) -> float:
    omega = as_positive(omega, "omega")
    if omega > 1.0:
        raise ValueError(
            f"omega must be in (0, 1] (damped Jacobi converges for diagonally dominant A), "
            f"got omega={omega}"
        )
    return omega


# --- the matrix ------------------------------------------------------------------------


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
        x = _as_vector(x, "x", self.n)
        return self.diag * x + _shifted_products(self.off, x)

    def residual(self, x: object, b: object) -> np.ndarray:
        """Return :math:`b - A x`."""
        x = _as_vector(x, "x", self.n)
        b = _as_vector(b, "b", self.n)
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


def _as_vector(x: object, name: str, n: int) -> np.ndarray:
    arr = as_signal(x, name, min_length=1)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) to match the matrix, got {arr.shape}")
    return arr


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


# --- the hierarchy ---------------------------------------------------------------------


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
        e = _as_vector(e, "e", self.n_coarse)
        out = np.empty(self.n)
        _prolong_into(self.left, self.right, e, out)
        return out

    def restrict(self, r: object) -> np.ndarray:
        r"""Return :math:`R r = P^\top r` for a fine vector ``r`` of length :attr:`n`."""
        self._require_transfer()
        r = _as_vector(r, "r", self.n)
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
    multigrid_solve : cycles with this hierarchy.

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
    interpolation = _check_choice(interpolation, "interpolation", INTERPOLATIONS)
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


# --- smoothers -------------------------------------------------------------------------


def _jacobi(level: Level, x: np.ndarray, b: np.ndarray, sweeps: int, omega: float) -> None:
    inv_diag = level._arrays()["inv_diag"]
    d, e = level.A.diag, level.A.off
    for _ in range(sweeps):
        r = _residual(d, e, x, b)
        r *= inv_diag
        r *= omega
        x += r


def _rbgs(level: Level, x: np.ndarray, b: np.ndarray, sweeps: int, reverse: bool) -> None:
    c = level._arrays()
    inv_even, inv_odd, e_l, e_r = c["inv_even"], c["inv_odd"], c["e_even"], c["e_odd"]
    nf, nr = e_l.size, e_r.size
    x_even, x_odd = x[0::2], x[1::2]
    b_even, b_odd = b[0::2], b[1::2]

    def red() -> None:  # even points from their odd neighbours
        t = b_even.copy()
        t[:nf] -= e_l * x_odd
        t[1 : nr + 1] -= e_r * x_odd[:nr]
        np.multiply(t, inv_even, out=x_even)

    def black() -> None:  # odd points from their even neighbours
        t = b_odd - e_l * x_even[:nf]
        t[:nr] -= e_r * x_even[1 : nr + 1]
        np.multiply(t, inv_odd, out=x_odd)

    order = (black, red) if reverse else (red, black)
    for _ in range(sweeps):
        for half in order:
            half()


def _smooth(
    level: Level,
    x: np.ndarray,
    b: np.ndarray,
    sweeps: int,
    smoother: str,
    omega: float,
    reverse: bool,
) -> None:
    if sweeps == 0:
        return
    if smoother == "jacobi":
        _jacobi(level, x, b, sweeps, omega)
    else:
        _rbgs(level, x, b, sweeps, reverse)


def smooth(
    A: object,
    x: object,
    b: object,
    sweeps: int = 1,
    smoother: str = "rbgs",
    omega: float = 2.0 / 3.0,
    reverse: bool = False,
) -> np.ndarray:
    r"""Apply ``sweeps`` sweeps of a smoother to :math:`A x = b`.

    .. math::

        \text{jacobi:}\quad x \leftarrow x + \omega\, D_A^{-1} (b - A x), \qquad
        \text{rbgs:}\quad x_{\text{red}} \leftarrow D_{\text{red}}^{-1}
        (b - A_{\text{red},\text{black}} x_{\text{black}}),\ \text{then black}

    Damped Jacobi is one residual block per sweep (with weight :math:`\omega`);
    red-black Gauss-Seidel updates the even ("red") points from their odd neighbours,
    then the odd ("black") ones: two residual blocks masked to alternate points.

    Parameters
    ----------
    A : Tridiagonal or scipy.sparse matrix
        Symmetric tridiagonal matrix with positive diagonal.
    x : (N,) array_like
        Initial guess; not modified.
    b : (N,) array_like
        Right-hand side.
    sweeps : int
        Number of sweeps, ``>= 0``.
    smoother : {"rbgs", "jacobi"}
        Red-black Gauss-Seidel or damped Jacobi.
    omega : float
        Jacobi weight, :math:`0 < \omega \le 1` (default 2/3; unused by ``"rbgs"``).
    reverse : bool
        For ``"rbgs"``: black points first (the post-smoothing order that keeps a
        V-cycle symmetric).

    Returns
    -------
    ndarray, shape (N,)
        The smoothed iterate.

    Raises
    ------
    ValueError
        Wrong shapes, NaN/inf, unknown ``smoother``, ``omega`` outside (0, 1],
        non-positive diagonal.
    TypeError
        Wrong types.

    See Also
    --------
    cycle : smoothing inside a multigrid cycle.

    Notes
    -----
    Damped Jacobi with :math:`\omega = 2/3` reduces the high-frequency half of the
    Fourier modes of the 1D Laplacian by at least the factor 1/3 per sweep; red-black
    Gauss-Seidel ending with the black (odd) points leaves a residual that vanishes on
    them, which with operator-dependent interpolation makes a cycle exact in 1D. Used in
    chapter 5.

    Examples
    --------
    >>> import numpy as np
    >>> from pdecore.multigrid import Tridiagonal, smooth
    >>> A = Tridiagonal(np.full(64, 2.0), np.full(63, -1.0))
    >>> x0 = np.cos(np.pi * np.arange(64))  # the highest frequency
    >>> x = smooth(A, x0, np.zeros(64), sweeps=1, smoother="jacobi")
    >>> print(f"{np.linalg.norm(x) / np.linalg.norm(x0):.3f}")
    0.328
    """
    A = _as_tridiagonal(A)
    x = _as_vector(x, "x", A.n).copy()
    b = _as_vector(b, "b", A.n)
    sweeps = as_int(sweeps, "sweeps", minimum=0)
    smoother = _check_choice(smoother, "smoother", SMOOTHERS)
    omega = _as_omega(omega)
    reverse = _as_bool(reverse, "reverse")
    if not np.all(A.diag > 0):
        raise ValueError(f"A must have a positive diagonal; min diag = {A.diag.min()}")
    _smooth(Level(A), x, b, sweeps, smoother, omega, reverse)
    return x


def _as_bool(value: object, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


# --- cycles ----------------------------------------------------------------------------


def _cycle(
    levels: list[Level],
    k: int,
    x: np.ndarray,
    b: np.ndarray,
    gamma: int,
    pre: int,
    post: int,
    smoother: str,
    omega: float,
) -> None:
    level = levels[k]
    if level.is_coarsest:
        dd, ee = level._factor()
        x[:] = lapack.dpttrs(dd, ee, b)[0]
        return
    _smooth(level, x, b, pre, smoother, omega, reverse=False)
    r = _residual(level.A.diag, level.A.off, x, b)
    rc = _restrict(level.left, level.right, r)
    ec = np.zeros(level.n_coarse)
    visits = 1 if levels[k + 1].is_coarsest else gamma
    for _ in range(visits):
        _cycle(levels, k + 1, ec, rc, gamma, pre, post, smoother, omega)
    _prolong_into(level.left, level.right, ec, r)  # r is free now: reuse it for P e
    x += r
    _smooth(level, x, b, post, smoother, omega, reverse=True)


def _cycle_options(gamma, pre, post, smoother, omega):
    return (
        as_int(gamma, "gamma", minimum=1),
        as_int(pre, "pre", minimum=0),
        as_int(post, "post", minimum=0),
        _check_choice(smoother, "smoother", SMOOTHERS),
        _as_omega(omega),
    )


def cycle(
    hierarchy: list[Level],
    x: object,
    b: object,
    gamma: int = 1,
    pre: int = 2,
    post: int = 2,
    smoother: str = "rbgs",
    omega: float = 2.0 / 3.0,
) -> np.ndarray:
    r"""Apply one multigrid cycle to :math:`A x = b` (V for ``gamma=1``, W for 2).

    .. math::

        x \leftarrow S^{\nu_1} x, \quad
        e_H \leftarrow \mathrm{MG}_H^{\gamma}(0, R(b - A x)), \quad
        x \leftarrow S^{\nu_2}(x + P e_H)

    with the coarsest level solved directly (LAPACK ``dpttrf``/``dpttrs``).

    Parameters
    ----------
    hierarchy : list of Level
        From :func:`multigrid_hierarchy`.
    x : (N,) array_like
        Current iterate; not modified.
    b : (N,) array_like
        Right-hand side.
    gamma : int
        Coarse-grid visits per level: 1 (V-cycle) or 2 (W-cycle), ``>= 1``.
    pre, post : int
        Numbers :math:`\nu_1, \nu_2` of pre- and post-smoothing sweeps, ``>= 0``.
    smoother : {"rbgs", "jacobi"}
        See :func:`smooth`; post-smoothing runs red-black in reverse order.
    omega : float
        Jacobi weight, :math:`0 < \omega \le 1`.

    Returns
    -------
    ndarray, shape (N,)
        The new iterate.

    Raises
    ------
    ValueError
        Wrong shapes, NaN/inf, unknown ``smoother``, bad counts.
    TypeError
        Wrong types.

    See Also
    --------
    v_cycle, w_cycle, multigrid_solve

    Notes
    -----
    The recursion over levels is the U of a U-net: smoothing blocks on the way down,
    the strided convolution :math:`R`, the coarse solve at the bottom, the transposed
    convolution :math:`P` and the additive long skip connection :math:`x + P e_H` on
    the way up. A V-cycle costs :math:`O(N)`, a W-cycle :math:`O(N \log N)` in 1D
    (halving the size while doubling the visits). Used in chapter 5.

    References
    ----------
    .. [1] T. Alt, K. Schrader, M. Augustin, P. Peter, J. Weickert, "Connections
       between numerical algorithms for PDEs and neural networks", J. Math. Imaging
       Vis., 2022, section on multigrid and U-nets. arXiv:2107.14742

    Examples
    --------
    >>> import numpy as np
    >>> from pdecore.multigrid import Tridiagonal, cycle, multigrid_hierarchy
    >>> A = Tridiagonal(np.full(100, 3.0), np.full(99, -1.0))
    >>> levels = multigrid_hierarchy(A, interpolation="linear", min_size=4)
    >>> b = np.ones(100)
    >>> x = cycle(levels, np.zeros(100), b, smoother="jacobi")
    >>> print(f"{np.linalg.norm(A.residual(x, b)) / np.linalg.norm(b):.1e}")
    5.7e-03
    """
    levels = _as_hierarchy(hierarchy)
    n = levels[0].n
    x = _as_vector(x, "x", n).copy()
    b = _as_vector(b, "b", n)
    options = _cycle_options(gamma, pre, post, smoother, omega)
    _cycle(levels, 0, x, b, *options)
    return x


def v_cycle(hierarchy: list[Level], x: object, b: object, **options) -> np.ndarray:
    r"""Apply one V-cycle: :func:`cycle` with ``gamma=1``.

    Parameters
    ----------
    hierarchy, x, b
        As in :func:`cycle`.
    **options
        ``pre``, ``post``, ``smoother``, ``omega`` as in :func:`cycle`.

    Returns
    -------
    ndarray, shape (N,)

    Examples
    --------
    >>> import numpy as np
    >>> from pdecore.multigrid import Tridiagonal, multigrid_hierarchy, v_cycle
    >>> A = Tridiagonal(np.full(37, 4.0), np.full(36, -2.0))
    >>> b = np.linspace(0.0, 1.0, 37)
    >>> x = v_cycle(multigrid_hierarchy(A, min_size=2), np.zeros(37), b)
    >>> print(np.linalg.norm(A.residual(x, b)) < 1e-12 * np.linalg.norm(b))  # exact in 1D
    True
    """
    return cycle(hierarchy, x, b, gamma=1, **options)


def w_cycle(hierarchy: list[Level], x: object, b: object, **options) -> np.ndarray:
    r"""Apply one W-cycle: :func:`cycle` with ``gamma=2``.

    Parameters
    ----------
    hierarchy, x, b
        As in :func:`cycle`.
    **options
        ``pre``, ``post``, ``smoother``, ``omega`` as in :func:`cycle`.

    Returns
    -------
    ndarray, shape (N,)

    Examples
    --------
    >>> import numpy as np
    >>> from pdecore.multigrid import Tridiagonal, multigrid_hierarchy, w_cycle
    >>> A = Tridiagonal(np.full(100, 3.0), np.full(99, -1.0))
    >>> levels = multigrid_hierarchy(A, interpolation="linear", min_size=4)
    >>> b = np.ones(100)
    >>> x = w_cycle(levels, np.zeros(100), b, smoother="jacobi")
    >>> print(f"{np.linalg.norm(A.residual(x, b)) / np.linalg.norm(b):.1e}")
    5.6e-03
    """
    return cycle(hierarchy, x, b, gamma=2, **options)


# --- solver ----------------------------------------------------------------------------


def multigrid_solve(
    A: object,
    b: object,
    x0: object = None,
    *,
    tol: float = 1e-10,
    maxiter: int = 50,
    cycle: str = "V",
    pre: int = 2,
    post: int = 2,
    smoother: str = "rbgs",
    interpolation: str = "operator",
    omega: float = 2.0 / 3.0,
    min_size: int = MIN_SIZE,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Solve :math:`A x = b` by multigrid cycles until :math:`\|b - Ax\|_2 \le tol\,\|b\|_2`.

    Parameters
    ----------
    A : Tridiagonal, scipy.sparse matrix, or list of Level
        The symmetric positive definite tridiagonal matrix, or a hierarchy from
        :func:`multigrid_hierarchy` (reused; ``interpolation`` and ``min_size`` are
        then ignored).
    b : (N,) array_like
        Right-hand side.
    x0 : (N,) array_like, optional
        Initial guess (default zero); not modified.
    tol : float
        Relative residual tolerance, ``>= 0`` (0: run ``maxiter`` cycles).
    maxiter : int
        Largest number of cycles, ``>= 0``.
    cycle : {"V", "W"}
        Cycle type (:math:`\gamma = 1` or 2).
    pre, post : int
        Pre- and post-smoothing sweeps per level.
    smoother : {"rbgs", "jacobi"}
        Red-black Gauss-Seidel or damped Jacobi.
    interpolation : {"operator", "linear"}
        Prolongation, see :func:`multigrid_hierarchy`.
    omega : float
        Jacobi weight, :math:`0 < \omega \le 1`.
    min_size : int
        Size of the coarsest level, solved directly.

    Returns
    -------
    x : ndarray, shape (N,)
        The last iterate.
    residual_norms : ndarray, shape (n_cycles + 1,)
        :math:`\|b - A x_k\|_2` before the first cycle and after each cycle. The solve
        converged iff ``residual_norms[-1] <= tol * norm(b)`` (no warning is issued).

    Raises
    ------
    ValueError
        Wrong shapes, NaN/inf, unknown option strings (the message lists the valid
        ones), negative counts, ``omega`` outside (0, 1], a matrix that is not positive
        definite.
    TypeError
        Wrong types.

    See Also
    --------
    multigrid_hierarchy, cycle, convergence_factor
    pdecore.semi_implicit_step : the direct tridiagonal solve of the same system.

    Notes
    -----
    With red-black Gauss-Seidel and operator-dependent interpolation a cycle is exact in
    1D up to rounding (the odd points' residual vanishes after the black half-sweep,
    so the error lies in the range of the ideal :math:`P`, and the Galerkin coarse
    problem is the exact Schur complement): one cycle reaches about 1e-15. Jacobi
    smoothing gives a factor of about 0.1 per V(2,2) cycle, independent of :math:`N`.
    Used in chapter 5.

    Examples
    --------
    >>> import numpy as np, pdecore
    >>> from pdecore.multigrid import Tridiagonal, convergence_factor, multigrid_solve
    >>> f = pdecore.add_noise(pdecore.piecewise_constant(1000, 8, seed=1), 0.05, seed=2)
    >>> A = Tridiagonal.from_bands(pdecore.semi_implicit_matrix_bands(f, 50.0, lam=0.05))
    >>> x, res = multigrid_solve(A, f, smoother="jacobi")
    >>> print(len(res) - 1, res[-1] / res[0] < 1e-10)
    10 True
    >>> print(f"{convergence_factor(res):.2f}")
    0.10
    """
    if isinstance(A, (list, tuple)):
        levels = _as_hierarchy(A)
    else:
        levels = multigrid_hierarchy(A, interpolation, min_size)
    n = levels[0].n
    b = _as_vector(b, "b", n)
    x = np.zeros(n) if x0 is None else _as_vector(x0, "x0", n).copy()
    tol = as_positive(tol, "tol", allow_zero=True)
    maxiter = as_int(maxiter, "maxiter", minimum=0)
    gamma = CYCLES[_check_choice(cycle, "cycle", tuple(CYCLES))]
    options = _cycle_options(gamma, pre, post, smoother, omega)
    d, e = levels[0].A.diag, levels[0].A.off
    target = tol * np.linalg.norm(b)
    norms = [np.linalg.norm(b if x0 is None else _residual(d, e, x, b))]
    while norms[-1] > target and len(norms) <= maxiter:
        _cycle(levels, 0, x, b, *options)
        norms.append(np.linalg.norm(_residual(d, e, x, b)))
        if not np.isfinite(norms[-1]) or norms[-1] > 1e8 * max(norms[0], 1e-300):
            raise ValueError(
                f"multigrid diverged: the residual grew from {norms[0]:.3g} to "
                f"{norms[-1]:.3g} in {len(norms) - 1} cycles (is the hierarchy built from "
                f"a symmetric positive definite A? for Jacobi smoothing, is omega <= 1?)")
    return x, np.asarray(norms)


def convergence_factor(residual_norms: object) -> float:
    r"""Return the mean residual reduction factor per cycle (geometric mean).

    .. math:: \rho = \left(\frac{\|r_k\|}{\|r_0\|}\right)^{1/k}

    Parameters
    ----------
    residual_norms : (k + 1,) array_like
        Residual norms before the first and after each of :math:`k \ge 1` cycles, as
        returned by :func:`multigrid_solve`.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Fewer than two norms, negative values, NaN/inf, or a zero initial norm.
    TypeError
        Non-numeric input.

    Examples
    --------
    >>> from pdecore.multigrid import convergence_factor
    >>> print(f"{convergence_factor([1.0, 0.1, 0.01]):.2f}")
    0.10
    """
    r = as_signal(residual_norms, "residual_norms", min_length=2)
    if r.ndim != 1:
        raise ValueError(f"residual_norms must have shape (k + 1,), got shape {r.shape}")
    if np.any(r < 0):
        raise ValueError("residual_norms must be >= 0 (they are norms)")
    if r[0] == 0:
        raise ValueError("residual_norms[0] must be > 0 (nothing to reduce)")
    return float((r[-1] / r[0]) ** (1.0 / (r.size - 1)))


def semi_implicit_multigrid_step(
    u: object,
    tau: float,
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    h: float = 1.0,
    *,
    tol: float = 1e-10,
    maxiter: int = 50,
    cycle: str = "V",
    pre: int = 2,
    post: int = 2,
    smoother: str = "rbgs",
    interpolation: str = "operator",
    omega: float = 2.0 / 3.0,
    min_size: int = MIN_SIZE,
) -> np.ndarray:
    r"""Take one semi-implicit diffusion step with the system solved by multigrid.

    .. math:: \bigl(I + \tau D^\top G(u^k) D\bigr)\, u^{k+1} = u^k

    Parameters
    ----------
    u : (N,) or (B, N) array_like
        Current signal(s) :math:`u^k`; not modified (also the initial guess).
    tau, diffusivity, lam, h
        As in :func:`pdecore.semi_implicit_step` (first order, :math:`m = 1`).
    tol, maxiter, cycle, pre, post, smoother, interpolation, omega, min_size
        As in :func:`multigrid_solve`.

    Returns
    -------
    ndarray
        :math:`u^{k+1}`, float64, same shape as ``u``.

    Raises
    ------
    ValueError
        Bad shape, NaN/inf, non-positive ``tau``, ``lam`` or ``h``, unknown
        diffusivity or option string.
    TypeError
        Wrong types.

    Warns
    -----
    RuntimeWarning
        If a solve stops at ``maxiter`` above the tolerance.

    See Also
    --------
    pdecore.semi_implicit_step : the same step with a direct tridiagonal solve.

    Notes
    -----
    Used in chapter 5 to compare the multigrid U-net with the direct solve.

    Examples
    --------
    >>> import numpy as np, pdecore
    >>> from pdecore.multigrid import semi_implicit_multigrid_step
    >>> u = pdecore.add_noise(pdecore.piecewise_constant(500, 5, seed=3), 0.05, seed=4)
    >>> v = semi_implicit_multigrid_step(u, 20.0, lam=0.1)
    >>> print(np.abs(v - pdecore.semi_implicit_step(u, 20.0, lam=0.1)).max() < 1e-12)
    True
    """
    d = get_diffusivity(diffusivity)
    tau, lam, h = as_positive(tau, "tau"), as_scale(lam, "lam"), as_scale(h, "h")
    u = as_signal(u, min_length=2)
    bands = semi_implicit_matrix_bands(u, tau, d, lam, h, 1)
    rows, band_rows = u.reshape(-1, u.shape[-1]), bands.reshape(-1, 2, u.shape[-1])
    out = np.empty_like(rows)
    for k, (row, ab) in enumerate(zip(rows, band_rows, strict=True)):
        x, norms = multigrid_solve(
            Tridiagonal.from_bands(ab), row, row, tol=tol, maxiter=maxiter, cycle=cycle,
            pre=pre, post=post, smoother=smoother, interpolation=interpolation,
            omega=omega, min_size=min_size,
        )  # fmt: skip
        if norms[-1] > tol * np.linalg.norm(row):
            warnings.warn(
                f"multigrid stopped after maxiter={maxiter} cycles at relative residual "
                f"{norms[-1] / np.linalg.norm(row):.2e} > tol={tol}",
                RuntimeWarning,
                stacklevel=2,
            )
        out[k] = x
    return out.reshape(u.shape)
