r"""The multigrid solver, its convergence factor and the semi-implicit multigrid step.

.. math:: A x = b, \qquad x^{k+1} = \mathrm{MG}(x^k, b) \quad
          \text{until } \|b - A x^k\|_2 \le \mathrm{tol}\, \|b\|_2

Cycles of :mod:`pdecore.multigrid.cycles` on a hierarchy of
:mod:`pdecore.multigrid.hierarchy`; with :math:`A = I + \tau D^\top G(u^k) D` one solve is
one semi-implicit diffusion step. Chapter 5 (multigrid solvers are U-nets).
"""

from __future__ import annotations

import warnings

import numpy as np

from .._schemes import scheme_args
from .._validation import as_choice, as_int, as_positive, as_signal, as_vector
from ..diffusivities import DiffusivityLike
from ..implicit import semi_implicit_matrix_bands
from .cycles import CYCLES, _cycle, _cycle_options
from .hierarchy import MIN_SIZE, _as_hierarchy, multigrid_hierarchy
from .tridiagonal import Tridiagonal, _residual

__all__ = ["convergence_factor", "multigrid_solve", "semi_implicit_multigrid_step"]


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
    multigrid_hierarchy, pdecore.multigrid.cycle, convergence_factor
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
    b = as_vector(b, "b", n)
    x = np.zeros(n) if x0 is None else as_vector(x0, "x0", n).copy()
    tol = as_positive(tol, "tol", allow_zero=True)
    maxiter = as_int(maxiter, "maxiter", minimum=0)
    gamma = CYCLES[as_choice(cycle, "cycle", CYCLES)]
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
    u, tau, d, lam, h, _ = scheme_args(u, tau, diffusivity, lam, h, 1)
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
