r"""Semi-implicit (linear-implicit) scheme: one banded linear solve per time step.

.. math:: \bigl(I + \tau D_m^\top G(u^k) D_m\bigr)\, u^{k+1} = u^k, \qquad
          G(u^k) = \operatorname{diag}\bigl(g((D_m u^k)^2)\bigr)

The matrix is symmetric positive definite for every :math:`\tau > 0`, so the scheme is
unconditionally stable: :math:`\|u^{k+1}\|_2 \le \|u^k\|_2`, average preserved, and for
:math:`m = 1` a max-min principle (it is an M-matrix). For :math:`m = 1` it is
tridiagonal and solved by LAPACK ``dptsv`` in :math:`O(N)`; for :math:`m = 2`
pentadiagonal, solved by a banded Cholesky factorisation. Chapter 4 (implicit schemes
are recurrent networks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy.linalg import lapack

from ._schemes import LATER, scheme_args
from ._validation import as_damping, as_int, as_positive, as_scale, as_signal
from .diffusivities import Diffusivity, DiffusivityLike, flux_derivative
from .explicit import _diffusivity_values, _explicit_step
from .operators import operator_norm_squared

__all__ = [
    "IterationResult",
    "fixed_point_contraction",
    "flux_lipschitz",
    "implicit_fixed_point_step",
    "semi_implicit_jacobi",
    "semi_implicit_matrix_bands",
    "semi_implicit_step",
]


def semi_implicit_matrix_bands(
    u: object,
    tau: float,
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    h: float = 1.0,
    order: int = 1,
) -> np.ndarray:
    r"""Return the upper bands of :math:`A = I + \tau D_m^\top G(u) D_m` for one signal.

    Parameters
    ----------
    u : (N,) or (B, N) array_like
        The signal(s) that fix the diffusivity.
    tau, diffusivity, lam, h, order
        As in :func:`semi_implicit_step`.

    Returns
    -------
    ndarray, shape (order + 1, N) or (B, order + 1, N)
        Row ``order`` is the diagonal, row ``order - j`` the ``j``-th superdiagonal
        (LAPACK upper band storage, as :func:`scipy.linalg.solveh_banded` expects; the
        first ``j`` entries of row ``order - j`` are unused zeros).

    Examples
    --------
    >>> import pdecore
    >>> print(pdecore.semi_implicit_matrix_bands([0.0, 0.0, 0.0], 1.0, "linear"))
    [[ 0. -1. -1.]
     [ 2.  3.  2.]]
    """
    u, tau, d, lam, h, order = scheme_args(u, tau, diffusivity, lam, h, order)
    return _matrix_bands(u, tau, d, lam, h, order)


def _matrix_bands(u: np.ndarray, tau: float, d: Diffusivity, lam: float, h: float,
                  order: int) -> np.ndarray:
    """:func:`semi_implicit_matrix_bands` on checked arguments."""
    n = u.shape[-1]
    w = _diffusivity_values(u, d, lam, h, order, np.empty(u.shape[:-1] + (n - order,)))
    w *= tau * h ** (-2 * order)
    bands = np.zeros(u.shape[:-1] + (order + 1, n))
    stencil = (-1.0, 1.0) if order == 1 else (1.0, -2.0, 1.0)
    # A = I + sum_i w_i c_i c_i^T with c_i the stencil placed at rows i .. i + m.
    bands[..., order, :] = 1.0
    for a, ca in enumerate(stencil):
        for b in range(a, order + 1):
            bands[..., order - (b - a), b : n - order + b] += w * ca * stencil[b]
    return bands


#: Largest coupling tau g / h^2 a semi-implicit step accepts: beyond it the identity in
#: I + tau A is lost to rounding (relative error ~ 1e-16 times the coupling), and the
#: average, which the exact step preserves, drifts.
_MAX_COUPLING = 1e8


def _check_conditioning(coupling: float, tau: float) -> None:
    if not np.isfinite(coupling) or coupling > _MAX_COUPLING:
        raise ValueError(
            f"tau={tau:g} is too large for a semi-implicit step in floating point: the "
            f"coupling tau*g/h^2 reaches {coupling:.3g} > {_MAX_COUPLING:g}, so the identity "
            f"in I + tau A is lost to rounding and the average drifts. Take several "
            f"smaller steps (the step tends to the constant signal at the average anyway)")


def _solve_spd_tridiagonal(diag: np.ndarray, off: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve the SPD tridiagonal system (diagonal, off-diagonal) x = rhs with LAPACK dptsv.

    ``diag`` and ``off`` are overwritten (pass copies if they are needed again).
    """
    _, _, x, info = lapack.dptsv(diag, off, rhs, overwrite_d=1, overwrite_e=1)
    if info != 0:  # pragma: no cover - A is SPD by construction
        raise np.linalg.LinAlgError(f"dptsv failed with info={info}")
    return x


def semi_implicit_step(
    u: object,
    tau: float,
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    h: float = 1.0,
    order: int = 1,
) -> np.ndarray:
    r"""Take one semi-implicit step of nonlinear diffusion.

    .. math:: \bigl(I + \tau D_m^\top G(u^k) D_m\bigr)\, u^{k+1} = u^k

    Parameters
    ----------
    u : (N,) or (B, N) array_like
        Current signal(s) :math:`u^k`; not modified.
    tau : float
        Step size :math:`\tau > 0`; any size is stable.
    diffusivity : str or callable
        Name from :data:`pdecore.DIFFUSIVITIES` or a callable ``g(s2, lam)``.
    lam : float
        Contrast parameter :math:`\lambda > 0`.
    h : float
        Grid size :math:`h > 0`.
    order : {1, 2}
        Derivative order :math:`m`.

    Returns
    -------
    ndarray
        :math:`u^{k+1}`, float64, same shape as ``u``.

    Raises
    ------
    ValueError
        Bad shape, NaN/inf, non-positive ``tau``, ``lam`` or ``h``, unknown diffusivity,
        ``order`` not in {1, 2}, or a step so large (:math:`\tau g/h^{2m}` beyond
        :math:`10^8`) that rounding would lose the identity in :math:`I + \tau A`.
    TypeError
        Non-numeric input.

    See Also
    --------
    pdecore.explicit_step : the conditionally stable explicit step.

    Notes
    -----
    For :math:`m = 1` the tridiagonal system is solved by LAPACK ``dptsv``
    (:math:`LDL^\top` for symmetric positive definite tridiagonal matrices), which is
    cheaper than the general banded solver. Used in chapter 4.

    References
    ----------
    .. [1] J. Weickert, *Anisotropic Diffusion in Image Processing*, Teubner, 1998,
       section 4.2 (semi-implicit schemes).

    Examples
    --------
    >>> import numpy as np, pdecore
    >>> u = np.array([0.0, 0.0, 1.0, 1.0])
    >>> v = pdecore.semi_implicit_step(u, 100.0, "linear")
    >>> print(f"{v.mean():.3f} {v.max() - v.min():.3f}")
    0.500 0.020
    """
    u, tau, d, lam, h, order = scheme_args(u, tau, diffusivity, lam, h, order)
    rows = u.reshape(-1, u.shape[-1])
    out = np.empty_like(rows)
    n = rows.shape[-1]
    w = np.empty(n - order)
    for r, row in enumerate(rows):
        if order == 1:
            _diffusivity_values(row, d, lam, h, 1, w)
            w *= -tau / h**2  # off-diagonal e_i = -tau g_{i+1/2} / h^2
            _check_conditioning(-w.min(initial=0.0), tau)
            diag = np.ones(n)
            diag[:-1] -= w
            diag[1:] -= w
            out[r] = _solve_spd_tridiagonal(diag, w, row)
        else:
            bands = _matrix_bands(row, tau, d, lam, h, 2)
            _check_conditioning(float(bands[-1].max() - 1.0), tau)
            out[r] = scipy.linalg.solveh_banded(bands, row, check_finite=False)
    return out.reshape(u.shape)


@dataclass(frozen=True)
class IterationResult:
    r"""The outcome of an iterative solve of one implicit step.

    Attributes
    ----------
    u : ndarray
        The last iterate.
    residuals : ndarray
        Residual norm after each iteration (index 0: before the first).
    converged : bool
        Whether the relative residual fell below ``tol``.
    contraction : float
        For the fixed-point iteration, the bound :math:`\tau\,\mathrm{Lip}(\Phi)\|D\|^2`
        (convergence is guaranteed below 1); for Jacobi, the spectral radius of the
        iteration matrix.
    """

    u: np.ndarray
    residuals: np.ndarray
    converged: bool
    contraction: float

    @property
    def iterations(self) -> int:
        """Number of iterations performed."""
        return self.residuals.size - 1


def flux_lipschitz(diffusivity: DiffusivityLike = "perona_malik", lam: float = 1.0) -> float:
    r"""Return :math:`\mathrm{Lip}(\Phi) = \sup_s |\Phi'(s)|`, evaluated on a fine grid.

    Examples
    --------
    >>> import pdecore
    >>> print(f"{pdecore.flux_lipschitz('perona_malik', 2.0):.3f}")
    1.000
    """
    lam = as_scale(lam, "lam")
    s = lam * np.linspace(0.0, 50.0, 200_001)
    return float(np.abs(flux_derivative(diffusivity, s, lam)).max())


def fixed_point_contraction(
    n: int,
    tau: float,
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    h: float = 1.0,
    order: int = 1,
) -> float:
    r"""Return the contraction bound :math:`q = \tau\,\mathrm{Lip}(\Phi)\,\|D_m\|_2^2`.

    The fixed-point map :math:`v \mapsto u - \tau D^\top\Phi(D v)` is a contraction, and
    the iteration converges to the fully implicit step, when :math:`q < 1`.

    Examples
    --------
    >>> import pdecore
    >>> print(f"{pdecore.fixed_point_contraction(100, 0.2, 'perona_malik'):.3f}")
    0.800
    """
    tau = as_positive(tau, "tau")
    return tau * flux_lipschitz(diffusivity, lam) * operator_norm_squared(n, order, h)


def implicit_fixed_point_step(
    u: object,
    tau: float,
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    h: float = 1.0,
    order: int = 1,
    *,
    tol: float = 1e-10,
    maxiter: int = 1000,
) -> IterationResult:
    r"""Solve the fully implicit step by fixed-point iteration (a recurrent network).

    .. math:: u^{k+1} = u^k - \tau D^\top\Phi(D u^{k+1}), \qquad
              v^{l+1} = u^k - \tau D^\top \Phi(D v^l), \quad v^0 = u^k

    The same block is applied again and again, with the input :math:`u^k` injected at
    every iteration (:class:`pdecore.nets.FixedPointRNN`).

    Parameters
    ----------
    u : (N,) or (B, N) array_like
        The current state :math:`u^k`.
    tau, diffusivity, lam, h, order
        As in :func:`pdecore.explicit_step`.
    tol : float
        Stop when :math:`\|v^{l+1} - v^l\| \le \mathrm{tol}\,\|u^k\|`.
    maxiter : int
        Iteration limit.

    Returns
    -------
    IterationResult
        ``residuals`` are the update norms :math:`\|v^{l+1} - v^l\|`; ``contraction`` is
        :func:`fixed_point_contraction` (no convergence guarantee when it is >= 1).
    """
    _, tau, d, lam, h, order = scheme_args(LATER, tau, diffusivity, lam, h, order)
    tol = as_positive(tol, "tol")
    maxiter = as_int(maxiter, "maxiter")
    u = as_signal(u, min_length=order + 1)  # the signal last, after tol and maxiter
    q = fixed_point_contraction(u.shape[-1], tau, d, lam, h, order)
    v, new = u.copy(), np.empty_like(u)
    scale = max(float(np.linalg.norm(u)), np.finfo(float).tiny)
    updates = [float(np.linalg.norm(u))]
    for _ in range(maxiter):
        _explicit_step(v, tau, d, lam, h, order, new)  # v - tau D^T Phi(D v)
        new += u
        new -= v  # u - tau D^T Phi(D v)
        updates.append(float(np.linalg.norm(new - v)))
        v, new = new, v
        if updates[-1] <= tol * scale or updates[-1] > 1e30 * scale:  # converged / diverged
            break
    converged = bool(updates[-1] <= tol * scale)
    return IterationResult(v, np.asarray(updates), converged, q)


def semi_implicit_jacobi(
    u: object,
    tau: float,
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    h: float = 1.0,
    *,
    omega: float = 1.0,
    tol: float = 1e-10,
    maxiter: int = 10_000,
) -> IterationResult:
    r"""Solve the semi-implicit system of one step by (damped) Jacobi iteration (m = 1).

    .. math:: x^{l+1} = x^l + \omega\, \mathrm{diag}(A)^{-1}\bigl(u^k - A x^l\bigr),
              \qquad A = I + \tau D^\top G(u^k) D, \quad x^0 = u^k

    Each iteration is a residual block with the input injected: a recurrent network
    (:class:`pdecore.nets.JacobiRNN`).

    Parameters
    ----------
    u : (N,) or (B, N) array_like
        The current state(s) :math:`u^k`.
    tau, diffusivity, lam, h
        As in :func:`semi_implicit_step`.
    omega : float
        Damping, :math:`0 < \omega \le 1`.
    tol : float
        Stop when :math:`\|u^k - A x^l\| \le \mathrm{tol}\,\|u^k\|`.
    maxiter : int
        Iteration limit.

    Returns
    -------
    IterationResult
        ``residuals`` are :math:`\|u^k - A x^l\|`; ``contraction`` is the spectral
        radius of the iteration matrix (computed densely for one signal with
        N <= 2000, else NaN).
    """
    omega = as_damping(omega)
    tol, maxiter = as_positive(tol, "tol"), as_int(maxiter, "maxiter")
    u = as_signal(u)
    bands = semi_implicit_matrix_bands(u, tau, diffusivity, lam, h, 1)
    diag, off = bands[..., 1, :], bands[..., 0, 1:]

    def matvec(x: np.ndarray) -> np.ndarray:
        y = diag * x
        y[..., :-1] += off * x[..., 1:]
        y[..., 1:] += off * x[..., :-1]
        return y

    x = u.copy()
    scale = max(float(np.linalg.norm(u)), np.finfo(float).tiny)
    r = u - matvec(x)
    residuals = [float(np.linalg.norm(r))]
    for _ in range(maxiter):
        if residuals[-1] <= tol * scale:
            break
        x += omega * r / diag
        r = u - matvec(x)
        residuals.append(float(np.linalg.norm(r)))
    rho = float("nan")
    if u.ndim == 1 and u.size <= 2000:
        a = np.diag(diag) + np.diag(off, 1) + np.diag(off, -1)
        it = np.eye(u.size) - omega * a / diag[:, None]
        rho = float(np.abs(np.linalg.eigvals(it)).max())
    return IterationResult(x, np.asarray(residuals), residuals[-1] <= tol * scale, rho)
