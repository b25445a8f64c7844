r"""Experiment E3: explicit, semi-implicit and fully implicit steps against a converged reference.

For one stopping time :math:`T` and a range of step sizes :math:`\tau`, each scheme takes
:math:`T/\tau` steps of the semi-discrete model

.. math:: \dot u = -A(u)\,u = -D^\top \Phi(D u), \qquad A(u) = D^\top G(u) D,

and its error is the RMSE against a *converged* reference: the classical fourth-order
Runge-Kutta method (RK4) applied to the same ODE, its step halved until halving it once
more changes the solution by less than ``ref_rtol`` (1 %) of the smallest error compared.
Two independent checks come with it: SciPy's ``solve_ivp`` (DOP853, tight tolerances) and,
for linear diffusion, the closed form :math:`u(T) = e^{-T D^\top D} f` by the discrete
cosine transform.

The schemes:

- explicit, :math:`u^{k+1} = u^k - \tau A(u^k) u^k` (stable for :math:`\tau \le 2/\|D\|^2`);
- semi-implicit, :math:`(I + \tau A(u^k)) u^{k+1} = u^k` (one tridiagonal solve, stable for
  every :math:`\tau`);
- fully implicit, :math:`u^{k+1} = u^k - \tau A(u^{k+1}) u^{k+1}`, solved by the
  fixed-point iteration (a recurrent network; converges for
  :math:`\tau\,\mathrm{Lip}(\Phi)\|D\|^2 < 1`) and by a damped Newton method (direct
  tridiagonal solves) that minimises :math:`\tfrac12\|v - u^k\|^2 + \tau\sum_i\Psi((Dv)_i)`.

By Taylor expansion, with :math:`M(w) = (A'(u)[w])\,u` the change of the operator caused by
a change of the diffusivity, the local errors of one step are

.. math::

   \text{explicit: } -\tfrac{\tau^2}{2}\ddot u, \qquad
   \text{fully implicit: } +\tfrac{\tau^2}{2}\ddot u, \qquad
   \text{semi-implicit: } \tfrac{\tau^2}{2}\bigl(A^2u - M(Au)\bigr),
   \qquad \ddot u = A^2 u + M(Au),

so all three are first order; the explicit and the fully implicit errors are equal and
opposite to leading order, and the semi-implicit scheme (the operator implicit, the change
of the diffusivity explicit) differs from both unless :math:`M = 0` (linear diffusion, where
it *is* the fully implicit scheme).

**Fourth order.** The explicit and the semi-implicit scheme also run for :math:`m = 2`
(:math:`D = D_2`, second differences; the semi-implicit matrix is pentadiagonal and
solved by a banded Cholesky factorisation), against an RK4 reference of the fourth-order
ODE converged in the same way (``m2_*`` settings). The fully implicit scheme is not
implemented for :math:`m = 2`: its fixed-point iteration is guaranteed to converge only for
:math:`\tau\,\mathrm{Lip}(\Phi)\|D_2\|^2 < 1` (for Perona-Malik half the explicit
limit), and the damped Newton method would need pentadiagonal, possibly shifted, systems.
Chapter 4 (:ref:`ch-implicit`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.integrate import solve_ivp
from scipy.linalg import eigh, eigvalsh_tridiagonal, lapack

from .. import results
from .._validation import as_int, as_order, as_positive, as_scale, as_signal
from ..diffusivities import (
    Diffusivity,
    DiffusivityLike,
    flux_derivative,
    get_diffusivity,
    potential,
)
from ..explicit import _diffusivity_values, _explicit_step
from ..implicit import (
    IterationResult,
    _matrix_bands,
    implicit_fixed_point_step,
    semi_implicit_jacobi,
    semi_implicit_matrix_bands,
)
from ..implicit import semi_implicit_step as _semi_implicit_step_checked
from ..operators import _add_adjoint, _difference, derivative_matrix, stability_limit
from ..signals import add_noise, scanline
from .acceleration import linear_exact
from .acceleration import reference_solution as _rk4

__all__ = [
    "CONFIGS",
    "COST_TIE_FACTOR",
    "SCHEMES",
    "ImplicitResult",
    "ReferenceCheck",
    "SchemeRun",
    "fixed_point_sweep",
    "implicit_newton_step",
    "jacobi_sweep",
    "local_error_terms",
    "reference_solution",
    "run",
    "scheme_comparison",
]

#: Scheme identifiers of E3 (keys of the results) and their labels in tables and figures.
SCHEMES = {
    "explicit": "explicit",
    "semi": "semi-implicit",
    "fixpoint": "fully implicit (fixed point)",
    "newton": "fully implicit (Newton)",
}

_MODEL_KEYS = {"linear": "lin", "perona_malik": "pm"}

#: Settings of E3. ``taus``: step sizes of the comparison; ``order_tau_max``: the orders of
#: convergence are fitted on the step sizes up to this one; ``ref_tau``: first RK4 step of
#: the reference, halved until halving changes it by less than ``ref_rtol`` times the
#: smallest error compared; ``accuracies``: RMSE levels (grey values) at which costs are
#: compared; a run shorter than ``repeat_below_s`` seconds is timed again in ``repeats - 1``
#: further passes over the grid (each time repeated until 0.02 s / (repeats - 1) are
#: spent, at most 30 times) and its fastest time counts; longer runs are timed once;
#: ``sweep_taus`` / ``jacobi_taus``: one step of the fixed-point / Jacobi iteration;
#: ``local_samples``: times along the reference at which the local errors are compared;
#: ``m2_taus``, ``m2_order_tau_max``, ``m2_ref_tau``: step sizes, order fit and first RK4
#: step of the fourth-order (m = 2) comparison of the explicit and semi-implicit schemes.
CONFIGS: dict[str, dict[str, Any]] = {
    "quick": dict(
        seed=0, sigma=20.0, lam=10.0, T=20.0, models=("linear", "perona_malik"),
        taus=(0.05, 0.1, 0.2, 0.45, 1.0, 5.0), order_tau_max=0.1,
        ref_tau=0.2, ref_rtol=0.01, ref_max_halvings=8, ivp_rtol=1e-10,
        accuracies=(1.0, 0.1), repeats=2, repeat_below_s=0.02,
        tol=1e-10, maxiter=500, newton_maxiter=200, local_samples=8,
        sweep_taus=(0.1, 0.2, 0.25, 0.3, 0.4, 0.5), jacobi_taus=(0.1, 1.0, 10.0),
        m2_taus=(0.02, 0.05, 0.1, 0.125, 0.5, 2.0, 10.0), m2_order_tau_max=0.05,
        m2_ref_tau=0.1,
    ),
    "default": dict(
        seed=0, sigma=20.0, lam=10.0, T=20.0, models=("linear", "perona_malik"),
        taus=(0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.45, 0.5, 0.7, 1.0, 2.0, 5.0, 10.0),
        order_tau_max=0.1, ref_tau=0.2, ref_rtol=0.01, ref_max_halvings=8, ivp_rtol=1e-12,
        accuracies=(1.0, 0.1, 0.01), repeats=3, repeat_below_s=0.2,
        tol=1e-10, maxiter=500, newton_maxiter=200, local_samples=8,
        sweep_taus=(0.1, 0.2, 0.25, 0.3, 0.4, 0.5), jacobi_taus=(0.1, 1.0, 10.0),
        m2_taus=(0.005, 0.007, 0.01, 0.014, 0.02, 0.03, 0.05, 0.07, 0.1, 0.125, 0.15, 0.2,
                 0.3, 0.5, 0.7, 1.0, 1.4, 2.0, 3.0, 5.0, 7.0, 10.0),
        m2_order_tau_max=0.05, m2_ref_tau=0.1,
    ),
    "paper": dict(
        seed=0, sigma=20.0, lam=10.0, T=20.0, models=("linear", "perona_malik"),
        taus=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.45, 0.48, 0.5, 0.7, 1.0, 1.5,
              2.0, 3.0, 5.0, 10.0),
        order_tau_max=0.1, ref_tau=0.2, ref_rtol=0.01, ref_max_halvings=10, ivp_rtol=1e-12,
        accuracies=(1.0, 0.1, 0.01), repeats=5, repeat_below_s=1.0,
        tol=1e-10, maxiter=1000, newton_maxiter=400, local_samples=16,
        sweep_taus=(0.1, 0.2, 0.25, 0.3, 0.4, 0.5), jacobi_taus=(0.1, 0.3, 1.0, 3.0, 10.0),
        m2_taus=(0.0025, 0.0035, 0.005, 0.007, 0.01, 0.014, 0.02, 0.03, 0.05, 0.07, 0.1,
                 0.125, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0, 1.4, 2.0, 3.0, 5.0, 7.0, 10.0),
        m2_order_tau_max=0.05, m2_ref_tau=0.1,
    ),
}


# --- records ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchemeRun:
    r"""One scheme with one step size: error against the reference, work and time.

    ``seconds`` is the CPU time of the whole run to ``T`` on its thread (the minimum over
    the timed repetitions; the schemes run on one thread, so on an idle machine this is
    their wall time, and unlike wall time it does not count time lost to other
    processes); ``inner_iterations`` counts fixed-point iterations or Newton steps (linear
    solves) over all time steps (0 for the explicit and semi-implicit schemes);
    ``norm_ratio`` is the largest :math:`\|u^k\|/\|f\|`; a diverged run has
    ``rmse = inf``; ``converged`` is False if an inner iteration missed its tolerance.
    """

    scheme: str
    tau: float
    steps: int
    rmse: float
    norm_ratio: float
    inner_iterations: int
    seconds: float
    converged: bool = True
    model: str = ""

    @property
    def ok(self) -> bool:
        """Finite error and converged inner iterations (a point of the error curves)."""
        return self.converged and bool(np.isfinite(self.rmse))


@dataclass(frozen=True)
class ReferenceCheck:
    r"""How converged the reference of one model is.

    Attributes
    ----------
    tau, steps : float, int
        Step size and steps of the accepted RK4 reference.
    change : float
        RMSE between the accepted reference and the one with twice its step.
    smallest_error : float
        The smallest RMSE of the compared runs.
    ratio : float
        ``change / smallest_error`` (accepted when below ``ref_rtol``).
    halvings : int
        How often the first step ``ref_tau`` was halved.
    ivp_deviation : float
        RMSE against SciPy's ``solve_ivp`` (DOP853) with ``rtol = ivp_rtol``.
    exact_deviation : float
        RMSE against the closed form :math:`e^{-T D^\top D} f` (linear diffusion; NaN
        otherwise).
    old_reference_error : float
        RMSE of the explicit scheme with :math:`\tau = 0.01` (the book's former reference;
        NaN for :math:`m = 2`).
    """

    tau: float
    steps: int
    change: float
    smallest_error: float
    ratio: float
    halvings: int
    ivp_deviation: float
    exact_deviation: float
    old_reference_error: float


# --- schemes (lean kernels, the same per-step overhead for every scheme) -------------------


def _neg_div(u: np.ndarray, d: Diffusivity, lam: float, out: np.ndarray,
             order: int = 1) -> np.ndarray:
    """``out = -D_m^T Phi(D_m u)`` (h = 1), the right-hand side of the ODE."""
    s = np.empty(u.shape[-1] - order)
    _difference(u, order, s)
    s *= d.g(s * s, lam)
    s *= -1.0
    out.fill(0.0)
    return _add_adjoint(out, s, order)


def reference_solution(
    f: object,
    T: float,
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    tau: float = 0.1,
) -> np.ndarray:
    r"""Solve :math:`\dot u = -D^\top\Phi(D u)`, :math:`u(0) = f`, to time ``T`` by RK4.

    The classical fourth-order Runge-Kutta method with ``ceil(T / tau)`` equal steps
    (global error :math:`O(\tau^4)`; stable for :math:`\tau\,\mathrm{Lip}(\Phi)\|D\|^2
    \lesssim 2.78`).

    Parameters
    ----------
    f : (N,) array_like
        Initial signal.
    T : float
        Stopping time.
    diffusivity, lam
        The model (order 1, h = 1).
    tau : float
        Largest admissible step; the step used is ``T / ceil(T / tau)``.

    Returns
    -------
    ndarray
        :math:`u(T)`.

    Examples
    --------
    >>> import numpy as np
    >>> u = reference_solution([0.0, 1.0], 1.0, "linear", tau=0.05)
    >>> print(np.round(u, 6), np.round(0.5 - 0.5 * np.exp(-2.0), 6))
    [0.432332 0.567668] 0.432332
    """
    f = as_signal(f, "f")
    if f.ndim != 1:
        raise ValueError(f"f must be one signal of shape (N,), got shape {f.shape}")
    T = as_positive(T, "T")
    tau = as_positive(tau, "tau")
    d = get_diffusivity(diffusivity)
    lam = as_scale(lam, "lam")
    return _rk4(f, [T], d, lam, tau)[0]  # the one RK4 of the book (chapter 3)


def local_error_terms(
    u: object, diffusivity: DiffusivityLike = "perona_malik", lam: float = 1.0
) -> dict[str, np.ndarray]:
    r"""Leading local errors of one step from ``u``, divided by :math:`\tau^2/2`.

    With :math:`s = Du`, :math:`A = D^\top G(u) D` and :math:`\Phi' = g + 2s^2g'`,
    one step of size :math:`\tau` deviates from the exact solution by

    .. math::

       \text{explicit: } -\tfrac{\tau^2}{2} D^\top\bigl(\Phi'(s)\, D A u\bigr), \quad
       \text{fully implicit: } +\tfrac{\tau^2}{2} D^\top\bigl(\Phi'(s)\, D A u\bigr), \quad
       \text{semi-implicit: } +\tfrac{\tau^2}{2} D^\top\bigl((2g - \Phi')(s)\, D A u\bigr),

    plus :math:`O(\tau^3)`. The explicit and fully implicit terms are weighted by the
    flux slope :math:`\Phi'`; the semi-implicit one by :math:`2g - \Phi' = g - 2s^2g'`
    (equal to :math:`\Phi'` only for :math:`g' = 0`, linear diffusion).

    Parameters
    ----------
    u : (N,) array_like
        The state the step starts from.
    diffusivity, lam
        The model (order 1, h = 1).

    Returns
    -------
    dict
        ``"explicit"``, ``"implicit"`` and ``"semi"``: the three vectors (multiply by
        :math:`\tau^2/2`).

    Examples
    --------
    >>> import numpy as np
    >>> t = local_error_terms([0.0, 1.0, 3.0, 2.0], "linear")
    >>> bool(np.allclose(t["semi"], t["implicit"]))
    True
    """
    u = as_signal(u)
    if u.ndim != 1:
        raise ValueError(f"u must be one signal of shape (N,), got shape {u.shape}")
    d = get_diffusivity(diffusivity)
    lam = as_scale(lam, "lam")
    s = np.diff(u)
    g = d.g(s * s, lam)
    slope = flux_derivative(d, s, lam)
    au = _add_adjoint(np.zeros_like(u), g * s, 1)  # A u = D^T (g s)
    dau = np.diff(au)
    exp = _add_adjoint(np.zeros_like(u), -slope * dau, 1)  # -D^T (Phi' D A u)
    semi = _add_adjoint(np.zeros_like(u), (2.0 * g - slope) * dau, 1)
    return {"explicit": exp, "implicit": -exp, "semi": semi}


def _ivp_solution(f: np.ndarray, T: float, d: Diffusivity, lam: float, rtol: float,
                  order: int = 1) -> np.ndarray:
    """SciPy DOP853 with ``rtol`` and ``atol = rtol * max|f|`` (independent reference)."""
    out = np.empty_like(f)
    sol = solve_ivp(lambda t, y: _neg_div(y, d, lam, out, order).copy(), (0.0, T), f,
                    method="DOP853", rtol=rtol, atol=rtol * float(np.abs(f).max()))
    return sol.y[:, -1]


def _linear_exact(f: np.ndarray, T: float, order: int = 1) -> np.ndarray:
    r"""Return :math:`e^{-T D_m^\top D_m} f`.

    :math:`m = 1`: the DCT-II diagonalises :math:`D^\top D`. :math:`m = 2`: the boundary
    rows of :math:`D_2^\top D_2` are not those of :math:`(D^\top D)^2`, so its
    eigenvectors come from a dense symmetric eigensolver.
    """
    if order == 1:
        return linear_exact(f, T)
    d2 = derivative_matrix(f.size, 2).toarray()
    lam, vec = eigh(d2.T @ d2)
    return vec @ (np.exp(-T * np.maximum(lam, 0.0)) * (vec.T @ f))


def _semi_step(u: np.ndarray, tau: float, d: Diffusivity, lam: float,
               w: np.ndarray, order: int = 1) -> np.ndarray:
    """One semi-implicit step (as :func:`pdecore.semi_implicit_step`, unchecked)."""
    if order == 2:  # banded Cholesky (LAPACK dpbsv) of the pentadiagonal SPD matrix
        _, x, info = lapack.dpbsv(_matrix_bands(u, tau, d, lam, 1.0, 2), u)
        if info != 0:  # pragma: no cover - SPD by construction
            raise np.linalg.LinAlgError(f"dpbsv failed with info={info}")
        return x
    _diffusivity_values(u, d, lam, 1.0, 1, w)
    w *= -tau
    diag = np.ones(u.size)
    diag[:-1] -= w
    diag[1:] -= w
    _, _, x, info = lapack.dptsv(diag, w, u.copy(), overwrite_d=1, overwrite_e=1)
    if info != 0:  # pragma: no cover - SPD by construction
        raise np.linalg.LinAlgError(f"dptsv failed with info={info}")
    return x


def _fixed_point(u: np.ndarray, tau: float, d: Diffusivity, lam: float, tol: float,
                 maxiter: int) -> tuple[np.ndarray, int, bool]:
    """Fixed-point iteration of one fully implicit step (as implicit_fixed_point_step)."""
    v, new = u.copy(), np.empty_like(u)
    scale = max(float(np.linalg.norm(u)), np.finfo(float).tiny)
    for it in range(1, maxiter + 1):
        _explicit_step(v, tau, d, lam, 1.0, 1, new)
        new += u
        new -= v  # u - tau D^T Phi(D v)
        upd = float(np.linalg.norm(new - v))
        v, new = new, v
        if upd <= tol * scale:
            return v, it, True
        if not upd < 1e30 * scale:
            return v, it, False
    return v, maxiter, False


def _newton(u: np.ndarray, tau: float, d: Diffusivity, lam: float, tol: float,
            maxiter: int) -> tuple[np.ndarray, list[float], bool]:
    r"""Damped Newton method for :math:`F(v) = v - u + \tau D^\top\Phi(Dv) = 0`.

    :math:`F` is the gradient of :math:`E(v) = \frac12\|v-u\|^2 + \tau\sum\Psi((Dv)_i)`,
    its Jacobian :math:`H = I + \tau D^\top \mathrm{diag}(\Phi'(Dv)) D` is tridiagonal.
    Where :math:`H` is not positive definite (only possible for
    :math:`\tau \max(-\Phi')\|D\|^2 \ge 1`) it is shifted by a multiple of :math:`I`
    (Levenberg-Marquardt); an Armijo backtracking on :math:`E` makes every step a
    descent. Stops when :math:`\|F(v)\| \le \mathrm{tol}\,\|u\|`, the fixed-point
    iteration's criterion (its update is :math:`-F(v^l)`). Returns the iterate, the
    residual norms (index 0: before the first step) and whether it converged.
    """
    dphi = d.dphi if d.dphi is not None else (lambda s, lm: flux_derivative(d, s, lm))
    psi = d.psi if d.psi is not None else (lambda s, lm: potential(d, s, lm))
    scale = max(float(np.linalg.norm(u)), np.finfo(float).tiny)
    n = u.size
    s = np.empty(n - 1)

    def residual(v: np.ndarray) -> np.ndarray:
        _difference(v, 1, s)
        flux = s * d.g(s * s, lam)
        flux *= tau
        return _add_adjoint(v - u, flux, 1)

    def energy(v: np.ndarray) -> float:
        r = v - u
        return 0.5 * float(np.dot(r, r)) + tau * float(psi(np.diff(v), lam).sum())

    v = u.copy()
    F = residual(v)
    norms = [float(np.linalg.norm(F))]
    for _ in range(maxiter):
        if norms[-1] <= tol * scale:
            return v, norms, True
        _difference(v, 1, s)
        w = tau * dphi(s, lam)
        diag = np.ones(n)
        diag[:-1] += w
        diag[1:] += w
        _, _, dv, info = lapack.dptsv(diag.copy(), -w, F.copy())
        if info != 0:  # indefinite: shift by the Gershgorin defect
            aw = np.abs(w)
            lower = diag.copy()
            lower[:-1] -= aw
            lower[1:] -= aw
            shift = 1e-3 - float(lower.min())
            _, _, dv, info = lapack.dptsv(diag + shift, -w, F.copy())
            if info != 0:  # pragma: no cover - strictly diagonally dominant
                return v, norms, False
        # full Newton steps while they reduce ||F||; otherwise Armijo backtracking on E
        # (E is evaluated only then: near the solution it cannot resolve the decrease)
        slope = -float(np.dot(F, dv))
        step, e_now = 1.0, None
        while True:
            trial = v - step * dv
            f_trial = residual(trial)
            n_trial = float(np.linalg.norm(f_trial))
            if n_trial <= (1 - 1e-4 * step) * norms[-1] or step < 1e-10:
                break
            e_now = energy(v) if e_now is None else e_now
            if energy(trial) <= e_now + 1e-4 * step * slope:
                break
            step *= 0.5
        v, F = trial, f_trial
        norms.append(n_trial)
    return v, norms, norms[-1] <= tol * scale


def implicit_newton_step(
    u: object,
    tau: float,
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    *,
    tol: float = 1e-10,
    maxiter: int = 200,
) -> IterationResult:
    r"""Solve one fully implicit step by a damped Newton method (direct tridiagonal solves).

    .. math:: F(v) = v - u^k + \tau D^\top\Phi(D v) = 0, \qquad
              v \leftarrow v - \alpha H^{-1} F(v), \quad
              H = I + \tau D^\top \operatorname{diag}\bigl(\Phi'(Dv)\bigr) D

    :math:`F` is the gradient of the strictly convex (for
    :math:`\tau\,\max(0, -\min\Phi')\,\|D\|^2 < 1`) energy
    :math:`E(v) = \tfrac12\|v - u^k\|^2 + \tau\sum_i \Psi((Dv)_i)`, so the fully implicit
    step is the minimiser of :math:`E` (a minimising movement) and a line search on
    :math:`E` makes Newton's method converge from :math:`v = u^k` for every such
    :math:`\tau`. Beyond it :math:`H` may be indefinite; it is then shifted by a multiple
    of :math:`I` and the method converges to a stationary point of :math:`E`, one of
    possibly several solutions.

    Parameters
    ----------
    u : (N,) array_like
        The current state :math:`u^k` (one signal).
    tau, diffusivity, lam
        As in :func:`pdecore.explicit_step` (order 1, h = 1).
    tol : float
        Stop when :math:`\|F(v)\| \le \mathrm{tol}\,\|u^k\|` (the criterion of
        :func:`pdecore.implicit_fixed_point_step`, whose update is :math:`-F`).
    maxiter : int
        Newton steps at most.

    Returns
    -------
    pdecore.IterationResult
        ``residuals`` are :math:`\|F(v)\|` before each Newton step and after the last
        (so ``iterations`` counts the linear solves); ``contraction`` is NaN (Newton's
        method has no fixed contraction factor).

    Examples
    --------
    >>> import numpy as np, pdecore
    >>> u = np.array([0.0, 0.0, 1.0, 1.0])
    >>> r = implicit_newton_step(u, 1.0, "linear")
    >>> bool(np.allclose(r.u, pdecore.semi_implicit_step(u, 1.0, "linear")))
    True
    """
    u = as_signal(u)
    if u.ndim != 1:
        raise ValueError(f"u must be one signal of shape (N,), got shape {u.shape}")
    tau = as_positive(tau, "tau")
    d = get_diffusivity(diffusivity)
    lam = as_scale(lam, "lam")
    tol = as_positive(tol, "tol")
    maxiter = as_int(maxiter, "maxiter")
    v, norms, ok = _newton(u, tau, d, lam, tol, maxiter)
    return IterationResult(v, np.asarray(norms), ok, float("nan"))


# --- one comparison --------------------------------------------------------------------


def _stepper(scheme: str, d: Diffusivity, lam: float, tol: float, maxiter: int,
             newton_maxiter: int, n: int, order: int = 1) -> Callable[[np.ndarray, float], tuple]:
    """``step(u, tau) -> (u_next, inner_iterations, converged)`` for one scheme."""
    if scheme == "explicit":
        return lambda u, tau: (_explicit_step(u, tau, d, lam, 1.0, order, np.empty_like(u)),
                               0, True)
    if scheme == "semi":
        if d.name == "linear":  # g = 1: the matrix never changes, so factorise it once
            return _linear_semi_stepper(d, n, order)
        w = np.empty(n - order)
        return lambda u, tau: (_semi_step(u, tau, d, lam, w, order), 0, True)
    if order != 1:
        raise ValueError(f"the {SCHEMES[scheme]} scheme of E3 is implemented for order 1 "
                         f"only, got order={order}")
    if scheme == "fixpoint":
        return lambda u, tau: _fixed_point(u, tau, d, lam, tol, maxiter)

    def newton(u: np.ndarray, tau: float) -> tuple[np.ndarray, int, bool]:
        v, norms, ok = _newton(u, tau, d, lam, tol, newton_maxiter)
        return v, len(norms) - 1, ok

    return newton


def _linear_semi_stepper(d: Diffusivity, n: int,
                         order: int) -> Callable[[np.ndarray, float], tuple]:
    r"""Semi-implicit steps of linear diffusion: one factorisation per ``tau``, then solves.

    :math:`I + \tau D_m^\top D_m` does not depend on the state, so the competitor at its
    best factorises it once (LAPACK ``dpttrf`` for :math:`m = 1`, ``dpbtrf`` for
    :math:`m = 2`) and only back-substitutes in every step (``dpttrs`` / ``dpbtrs``).
    """
    factors: dict[float, tuple] = {}

    def step(u: np.ndarray, tau: float) -> tuple[np.ndarray, int, bool]:
        if tau not in factors:  # the first step of a run pays for the factorisation
            bands = _matrix_bands(np.zeros(n), tau, d, 1.0, 1.0, order)
            if order == 1:
                *fac, info = lapack.dpttrf(bands[1], bands[0, 1:])
            else:
                c, info = lapack.dpbtrf(bands)
                fac = (c,)
            if info != 0:  # pragma: no cover - SPD by construction
                raise np.linalg.LinAlgError(f"factorisation failed with info={info}")
            factors[tau] = tuple(fac)
        solve = lapack.dpttrs if order == 1 else lapack.dpbtrs
        x, info = solve(*factors[tau], u)
        if info != 0:  # pragma: no cover
            raise np.linalg.LinAlgError(f"solve failed with info={info}")
        return x, 0, True

    return step


def _evolve(scheme: str, f: np.ndarray, tau: float, steps: int, d: Diffusivity, lam: float,
            tol: float, maxiter: int, newton_maxiter: int, order: int = 1) -> tuple:
    """Run one scheme; ``(u, peak norm ratio, inner iterations, converged, seconds)``."""
    step = _stepper(scheme, d, lam, tol, maxiter, newton_maxiter, f.size, order)
    norm0 = max(float(np.linalg.norm(f)), np.finfo(float).tiny)
    u, peak, inner, converged = f.copy(), 1.0, 0, True
    t0 = time.thread_time()
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            u, its, ok = step(u, tau)
            inner += its
            converged = converged and ok
            norm = float(np.linalg.norm(u)) / norm0
            peak = max(peak, norm) if np.isfinite(norm) else np.inf
            if not converged or not peak <= 1e6:
                break
    return u, peak, inner, converged, time.thread_time() - t0


#: Short runs are repeated until at least this many seconds are spent on them (timer and
#: scheduler noise are then small against the time measured).
_MIN_TIMED = 0.02


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


@dataclass
class _Comparison:
    runs: list[SchemeRun]
    reference: ReferenceCheck
    ref_u: np.ndarray
    finals: dict[tuple[str, float], np.ndarray] = field(default_factory=dict)
    old_u: np.ndarray | None = None


def _compare(f: np.ndarray, T: float, taus: Iterable[float], d: Diffusivity, lam: float, *,
             model: str, ref_tau: float, ref_rtol: float, ref_max_halvings: int,
             ivp_rtol: float, tol: float, maxiter: int, newton_maxiter: int, repeats: int,
             repeat_below: float = 0.05, progress: bool = False, order: int = 1,
             schemes: Iterable[str] = tuple(SCHEMES)) -> _Comparison:
    raw = []
    schemes = tuple(schemes)
    for tau in taus:
        steps = max(1, round(T / as_positive(tau, "tau")))
        tau = T / steps
        for scheme in schemes:
            u, peak, inner, conv, sec = _evolve(scheme, f, tau, steps, d, lam, tol, maxiter,
                                                newton_maxiter, order)
            ok = bool(np.isfinite(peak) and peak <= 1e6)
            raw.append([scheme, tau, steps, u if ok else None, peak, inner, sec, conv])
    # timing: runs shorter than repeat_below are timed again in repeats - 1 further passes
    # over the whole grid (so a slow spell of the machine cannot hit all repetitions of one
    # run), each time until _MIN_TIMED / (repeats - 1) seconds are spent on it (at most 30
    # times); the fastest time counts. Longer runs are timed once.
    for _ in range(repeats - 1):
        for row in raw:
            scheme, tau, steps, *_rest = row
            spent, count = 0.0, 0
            while row[6] < repeat_below and count < 30 and spent < _MIN_TIMED / (repeats - 1):
                again = _evolve(scheme, f, tau, steps, d, lam, tol, maxiter,
                                newton_maxiter, order)[4]
                row[6], spent, count = min(row[6], again), spent + again, count + 1
    if progress:
        for scheme, tau, _, _, _, _, sec, _ in raw:
            print(f"E3 m={order} {model:12s} {scheme:8s} tau={tau:7.4f} {sec:8.4f} s",
                  flush=True)
    # the reference: halve the RK4 step until one more halving changes it by < ref_rtol of
    # the smallest error compared
    def reference(step: float) -> np.ndarray:
        return _rk4(f, [T], d, lam, step, 1.0, order)[0]

    halvings, h = 0, ref_tau
    coarse = reference(h)
    fine = reference(h / 2)
    while True:
        smallest = min(_rmse(r[3], fine) for r in raw if r[3] is not None and r[7])
        change = _rmse(fine, coarse)
        halvings += 1
        h /= 2
        if change < ref_rtol * smallest or halvings >= ref_max_halvings:
            break
        coarse, fine = fine, reference(h / 2)
    ivp = _ivp_solution(f, T, d, lam, ivp_rtol, order)
    exact = _linear_exact(f, T, order) if d.name == "linear" else None
    old = None
    if order == 1:  # the book's former reference: explicit, tau = 0.01
        n_old = math.ceil(T / 0.01 - 1e-9)
        old, buf = f.copy(), np.empty_like(f)
        for _ in range(n_old):
            _explicit_step(old, T / n_old, d, lam, 1.0, 1, buf)
            old, buf = buf, old
    check = ReferenceCheck(
        tau=h, steps=math.ceil(T / h - 1e-9), change=change, smallest_error=smallest,
        ratio=change / smallest, halvings=halvings, ivp_deviation=_rmse(ivp, fine),
        exact_deviation=_rmse(exact, fine) if exact is not None else float("nan"),
        old_reference_error=_rmse(old, fine) if old is not None else float("nan"))
    runs, finals = [], {}
    for scheme, tau, steps, u, peak, inner, sec, conv in raw:
        rmse = _rmse(u, fine) if u is not None else float("inf")
        runs.append(SchemeRun(scheme, tau, steps, rmse, peak, inner, sec, conv, model))
        if u is not None:
            finals[(scheme, tau)] = u
    return _Comparison(runs, check, fine, finals, old)


def scheme_comparison(
    f: object,
    T: float,
    taus: Iterable[float],
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    ref_tau: float = 0.2,
    maxiter: int = 500,
    *,
    ref_rtol: float = 0.01,
    repeats: int = 1,
) -> list[SchemeRun]:
    r"""Run the four schemes of E3 to ``T`` for each step size, against a converged reference.

    Parameters
    ----------
    f : (N,) array_like
        Initial signal.
    T : float
        Stopping time.
    taus : iterable of float
        Step sizes; each is rounded so that ``T / tau`` steps reach ``T`` exactly.
    diffusivity, lam
        The model (order 1, h = 1).
    ref_tau : float
        First step of the RK4 reference (:func:`reference_solution`), halved until one
        more halving changes it by less than ``ref_rtol`` times the smallest error.
    maxiter : int
        Fixed-point iterations per implicit step at most.
    ref_rtol : float
        Convergence criterion of the reference.
    repeats : int
        Timed repetitions per run (the minimum CPU time counts).

    Returns
    -------
    list of SchemeRun
        For each step size the schemes ``"explicit"``, ``"semi"``, ``"fixpoint"`` and
        ``"newton"`` (:data:`SCHEMES`).
    """
    f = as_signal(f, "f")
    if f.ndim != 1:
        raise ValueError(f"f must be one signal of shape (N,), got shape {f.shape}")
    T = as_positive(T, "T")
    d = get_diffusivity(diffusivity)
    taus = [as_positive(t, "tau") for t in taus]
    if not taus:
        raise ValueError("taus must hold at least one step size")
    return _compare(
        f, T, taus, d, as_scale(lam, "lam"), model=d.name,
        ref_tau=as_positive(ref_tau, "ref_tau"), ref_rtol=as_positive(ref_rtol, "ref_rtol"),
        ref_max_halvings=8, ivp_rtol=1e-10, tol=1e-10, maxiter=as_int(maxiter, "maxiter"),
        newton_maxiter=200, repeats=as_int(repeats, "repeats")).runs


# --- the iterative solvers of one step ----------------------------------------------------


def fixed_point_sweep(
    f: object,
    taus: Iterable[float],
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    maxiter: int = 500,
) -> list[dict]:
    """Fixed-point iterations of one fully implicit step from ``f`` for each ``tau``.

    Returns
    -------
    list of dict
        Keys ``tau``, ``contraction`` (the bound q), ``iterations``, ``converged`` and
        ``updates`` (update norms per iteration, relative to the first).
    """
    f = as_signal(f, "f")
    maxiter = as_int(maxiter, "maxiter")
    out = []
    for tau in taus:
        res = implicit_fixed_point_step(f, tau, diffusivity, lam, tol=1e-10, maxiter=maxiter)
        upd = res.residuals[1:]
        out.append({"tau": float(tau), "contraction": res.contraction,
                    "iterations": res.iterations, "converged": res.converged,
                    "updates": upd / upd[0]})
    return out


def _best_time(fn: Callable[[], object], repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.thread_time()
        fn()
        best = min(best, time.thread_time() - t0)
    return best


def _jacobi_radius(f: np.ndarray, tau: float, d: Diffusivity, lam: float) -> float:
    r"""Spectral radius of :math:`I - \mathrm{diag}(A)^{-1} A` for the semi-implicit matrix.

    The iteration matrix is similar to :math:`I - S`, :math:`S = \mathrm{diag}(A)^{-1/2} A
    \,\mathrm{diag}(A)^{-1/2}` symmetric tridiagonal, so its eigenvalues are real and
    come from a tridiagonal eigensolver in :math:`O(N^2)` instead of a dense one.
    """
    bands = semi_implicit_matrix_bands(f, tau, d, lam)
    diag, off = bands[1], bands[0, 1:]
    root = np.sqrt(diag)
    eig = eigvalsh_tridiagonal(np.ones_like(diag), off / (root[:-1] * root[1:]))
    return float(np.abs(1.0 - eig).max())


def jacobi_sweep(
    f: object,
    taus: Iterable[float],
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    *,
    tol: float = 1e-10,
    maxiter: int = 10_000,
    repeats: int = 3,
) -> list[dict]:
    r"""One semi-implicit system from ``f``: Jacobi iterations against the direct solve.

    Returns
    -------
    list of dict
        Keys ``tau``, ``iterations`` (Jacobi, to the relative residual ``tol``),
        ``converged``, ``rho`` (spectral radius of the Jacobi iteration matrix),
        ``deviation`` (largest difference to the direct ``dptsv`` solution, relative to
        its largest value), ``jacobi_seconds`` and ``direct_seconds`` (CPU time of the
        thread, best of ``repeats``).
    """
    f = as_signal(f, "f")
    if f.ndim != 1:
        raise ValueError(f"f must be one signal of shape (N,), got shape {f.shape}")
    tol, maxiter = as_positive(tol, "tol"), as_int(maxiter, "maxiter")
    repeats = as_int(repeats, "repeats")
    d = get_diffusivity(diffusivity)
    lam = as_scale(lam, "lam")
    out = []
    for tau in taus:
        tau = as_positive(tau, "tau")
        batch = f[None, :]  # a batch of one: semi_implicit_jacobi skips its dense eigvals
        res = semi_implicit_jacobi(batch, tau, d, lam, tol=tol, maxiter=maxiter)
        direct = _semi_implicit_step_checked(f, tau, d, lam)
        tj = _best_time(lambda: semi_implicit_jacobi(batch, tau, d, lam, tol=tol,  # noqa: B023
                                                     maxiter=maxiter), repeats)
        td = _best_time(lambda: _semi_implicit_step_checked(f, tau, d, lam), repeats)  # noqa: B023
        out.append({"tau": tau, "iterations": res.iterations, "converged": res.converged,
                    "rho": _jacobi_radius(f, tau, d, lam),
                    "deviation": float(np.abs(res.u[0] - direct).max()
                                       / np.abs(direct).max()),
                    "jacobi_seconds": tj, "direct_seconds": td})
    return out


# --- the experiment ---------------------------------------------------------------------


def _level_key(level: float) -> str:
    """``1.0 -> 'e1'``, ``0.1 -> 'e0p1'``, ``0.01 -> 'e0p01'`` (glue-safe)."""
    return "e" + f"{level:g}".replace(".", "p").replace("-", "m")


def _fit_order(runs: list[SchemeRun], tau_max: float) -> tuple[float, float, int]:
    """Least-squares fit ``log rmse = p log tau + log C`` over the runs with tau <= tau_max."""
    pts = [(r.tau, r.rmse) for r in runs if r.ok and r.tau <= tau_max * (1 + 1e-9)]
    if len(pts) < 2:
        return float("nan"), float("nan"), len(pts)
    x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    p, c = np.polyfit(x, y, 1)
    return float(p), float(np.exp(c)), len(pts)


#: Two run times closer than this factor count as "about the same cost": at N = 512 a
#: step costs microseconds, mostly interpreter overhead, so per-step cost ratios below 2
#: change with the machine and its load (timings vary by tens of percent between runs).
COST_TIE_FACTOR = 2.0


def _cost_verdict(times: Mapping[str, float]) -> str:
    """Name the cheapest scheme (a sentence fragment), ties by :data:`COST_TIE_FACTOR`."""
    if not times:
        return "no scheme reaches this accuracy on the step-size grid"
    order = sorted(times, key=times.get)
    best = SCHEMES[order[0]]
    if len(order) == 1:
        return f"only the {best} scheme reaches it"
    factor = times[order[1]] / times[order[0]]
    second = SCHEMES[order[1]]
    if factor >= COST_TIE_FACTOR:
        return f"the {best} scheme is cheapest, {factor:.1f} times faster than the {second} one"
    first, other = sorted(order[:2], key=list(SCHEMES).index)  # a tie: fixed order
    return (f"the {SCHEMES[first]} and the {SCHEMES[other]} scheme cost about the same "
            f"(within a factor {COST_TIE_FACTOR:g}; the {best} one was {factor:.2f} times "
            "faster in this run)")


def _comparison_word(ratio: float) -> str:
    """Error ratio (scheme / explicit) as words: within 10 % counts as 'about as accurate as'."""
    if ratio < 1 / 1.1:
        return "more accurate than"
    if ratio > 1.1:
        return "less accurate than"
    return "about as accurate as"


@dataclass(frozen=True)
class ImplicitResult:
    r"""Everything E3 computed, with its inputs; :meth:`numbers` is what chapter 4 states.

    Attributes
    ----------
    config : dict
        The resolved settings.
    seeds : tuple of int
        The noise seed of the test signal.
    f : ndarray
        The noisy scanline all runs start from.
    tau_explicit : float
        The explicit stability limit :math:`2/\|D\|^2`.
    runs : dict
        Model name -> list of :class:`SchemeRun`.
    references : dict
        Model name -> :class:`ReferenceCheck`.
    reference_u : dict
        Model name -> the accepted reference :math:`u(T)`.
    symmetry : dict
        Model name -> RMSE of :math:`u_\text{explicit} + u_\text{implicit} - 2u_\text{ref}`
        over RMSE of :math:`u_\text{explicit} - u_\text{ref}` at the smallest step (small:
        the two errors are equal and opposite).
    semi_vs_implicit : dict
        Model name -> largest RMSE between the semi-implicit and the Newton solutions
        over all step sizes (zero up to solver tolerance for linear diffusion).
    local_ratios : dict
        Model name -> :func:`local_error_terms` ratio semi-implicit / explicit at
        ``local_samples`` times along the reference solution.
    old_reference_bias : dict
        Model name -> the RMSEs of the explicit and the fully implicit (Newton) run at
        the smallest step ``tau`` above 0.01 against the former reference (explicit,
        :math:`\tau = 0.01`; keys ``explicit_old``, ``implicit_old``) and against the
        converged one (``explicit_new``, ``implicit_new``).
    sweep : list of dict
        :func:`fixed_point_sweep` (Perona-Malik).
    jacobi : list of dict
        :func:`jacobi_sweep` (Perona-Malik).
    m2_runs, m2_references : dict
        As ``runs`` and ``references`` for fourth order (:math:`m = 2`; explicit and
        semi-implicit schemes only).
    m2_tau_explicit : float
        The explicit stability limit :math:`2/\|D_2\|^2` of :math:`m = 2`.
    """

    config: dict
    seeds: tuple[int, ...]
    f: np.ndarray
    tau_explicit: float
    runs: dict[str, list[SchemeRun]]
    references: dict[str, ReferenceCheck]
    reference_u: dict[str, np.ndarray]
    symmetry: dict[str, float]
    semi_vs_implicit: dict[str, float]
    local_ratios: dict[str, list[float]]
    old_reference_bias: dict[str, dict[str, float]]
    sweep: list[dict]
    jacobi: list[dict]
    m2_runs: dict[str, list[SchemeRun]] = field(default_factory=dict)
    m2_references: dict[str, ReferenceCheck] = field(default_factory=dict)
    m2_tau_explicit: float = float("nan")

    def runs_of(self, order: int = 1) -> dict[str, list[SchemeRun]]:
        """Model name -> runs of order ``order`` (1: :attr:`runs`, 2: :attr:`m2_runs`)."""
        return {1: self.runs, 2: self.m2_runs}[as_order(order)]

    def schemes(self, model: str, order: int = 1) -> list[str]:
        """Scheme ids that ran for ``model`` and ``order``, in the order of :data:`SCHEMES`."""
        ran = {r.scheme for r in self.runs_of(order)[model]}
        return [s for s in SCHEMES if s in ran]

    def orders(self, model: str, order: int = 1) -> dict[str, tuple[float, float, int]]:
        """Scheme id -> (order p, constant C, points) of ``rmse ~ C tau^p`` for ``model``."""
        tmax = self.config["order_tau_max" if order == 1 else "m2_order_tau_max"]
        runs = self.runs_of(order)[model]
        return {s: _fit_order([r for r in runs if r.scheme == s], tmax)
                for s in self.schemes(model, order)}

    def cheapest(self, model: str, level: float,
                 order: int = 1) -> dict[str, SchemeRun | None]:
        """Scheme id -> its fastest run with RMSE <= ``level`` (None: not reached)."""
        out: dict[str, SchemeRun | None] = {}
        for s in self.schemes(model, order):
            ok = [r for r in self.runs_of(order)[model]
                  if r.scheme == s and r.ok and r.rmse <= level]
            out[s] = min(ok, key=lambda r: r.seconds) if ok else None
        return out

    def orders_table(self, order: int = 1) -> str:
        """Markdown table: fitted order and constant of ``rmse ~ C tau^p`` per scheme."""
        lines = ["| model | scheme | order $p$ | constant $C$ | $C$ / explicit $C$ |",
                 "|---|---|---|---|---|"]
        for model in self.runs_of(order):
            orders = self.orders(model, order)
            c_exp = orders["explicit"][1]
            for s, (p, c, npts) in orders.items():
                if npts >= 2:
                    lines.append(f"| {model.replace('_', '-')} | {SCHEMES[s]} | {p:.3f} | "
                                 f"{c:.3g} | {c / c_exp:.2f} |")
        return "\n".join(lines)

    def cost_table(self, order: int = 1) -> str:
        """Markdown table: per accuracy level, each scheme's fewest steps and fastest run."""
        lines = ["| model | RMSE at most | scheme | fewest steps | its $\\tau$ | "
                 "fastest run reaching it (ms CPU) |", "|---|---|---|---|---|---|"]
        for model in self.runs_of(order):
            for level in self.config["accuracies"]:
                cheap = self.cheapest(model, level, order)
                for s in self.schemes(model, order):
                    few = self.fewest_steps(model, level, s, order)
                    if few is None:
                        lines.append(f"| {model.replace('_', '-')} | {level:g} | {SCHEMES[s]} "
                                     "| not reached | | |")
                        continue
                    lines.append(f"| {model.replace('_', '-')} | {level:g} | {SCHEMES[s]} | "
                                 f"{few.steps} | {few.tau:.3g} | "
                                 f"{1e3 * cheap[s].seconds:.3g} |")
        return "\n".join(lines)

    def fewest_steps(self, model: str, level: float, scheme: str,
                     order: int = 1) -> SchemeRun | None:
        """Return the run of ``scheme`` with the fewest steps and RMSE <= ``level``, or None."""
        ok = [r for r in self.runs_of(order)[model]
              if r.scheme == scheme and r.ok and r.rmse <= level]
        return min(ok, key=lambda r: r.steps) if ok else None

    def _m2_numbers(self) -> dict[str, float | int | str]:
        """Return the fourth-order comparison's numbers (``m2_*``; empty if it did not run)."""
        if not self.m2_runs:
            return {}
        cfg = self.config
        out: dict[str, float | int | str] = {
            "m2_tau_explicit": self.m2_tau_explicit,
            "m2_exp_min_steps": math.ceil(cfg["T"] / self.m2_tau_explicit),
            "m2_n_taus": len(cfg["m2_taus"]), "m2_tau_min": float(min(cfg["m2_taus"])),
            "m2_tau_max_run": float(max(cfg["m2_taus"])),
            "m2_order_tau_max": float(cfg["m2_order_tau_max"]),
        }
        faster = slower = cells = 0
        for model in self.m2_runs:
            m = _MODEL_KEYS.get(model, model)
            ref = self.m2_references[model]
            out.update({f"m2_ref_tau_{m}": ref.tau, f"m2_ref_ratio_pct_{m}": 100.0 * ref.ratio,
                        f"m2_min_err_{m}": ref.smallest_error,
                        f"m2_ref_ivp_dev_{m}": ref.ivp_deviation})
            if np.isfinite(ref.exact_deviation):
                out[f"m2_ref_exact_dev_{m}"] = ref.exact_deviation
            nb = self._scheme_numbers(model, 2)
            out |= {f"m2_{k}": v for k, v in nb.items()}
            for level in cfg["accuracies"]:
                ratio = nb.get(f"semi_vs_exp_time_{m}_{_level_key(level)}")
                if ratio is not None:
                    cells += 1
                    faster += ratio < 1 / COST_TIE_FACTOR
                    slower += ratio > COST_TIE_FACTOR
        out["m2_semi_max_ratio"] = max(out[f"m2_semi_max_ratio_{_MODEL_KEYS.get(m, m)}"]
                                       for m in self.m2_runs)
        out.update({"m2_semi_faster": faster, "m2_semi_slower": slower, "m2_cells": cells})
        orders = [out[k] for k in out if k.startswith("m2_order_") and k != "m2_order_tau_max"]
        out["m2_order_min"], out["m2_order_max"] = float(min(orders)), float(max(orders))
        out["m2_order_word"] = ("both are first order again"
                                if max(abs(p - 1.0) for p in orders) < 0.1
                                else "not both first order (|p - 1| >= 0.1 for some)")
        converged = all(r.ratio < cfg["ref_rtol"] for r in self.m2_references.values())
        out["m2_ref_word"] = (
            f"converged: halving its step changes it by less than "
            f"{100 * cfg['ref_rtol']:g} % of the smallest error, for both models"
            if converged else
            f"NOT converged within {cfg['ref_max_halvings']} halvings for some model")
        return out

    def _scheme_numbers(self, model: str, order: int) -> dict[str, float | int | str]:
        """Orders, accuracy, stability and cost of one model's schemes (keys end in ``_m``)."""
        m = _MODEL_KEYS.get(model, model)
        runs = self.runs_of(order)[model]
        out: dict[str, float | int | str] = {}
        orders = self.orders(model, order)
        for s, (p, c, _) in orders.items():
            if np.isfinite(p):
                out[f"order_{m}_{s}"] = p
                out[f"const_{m}_{s}"] = c
        c_exp = orders["explicit"][1]
        others = [s for s in orders if s not in ("explicit", "fixpoint")]
        for s in others:
            ratio = orders[s][1] / c_exp
            out[f"acc_ratio_{m}_{s}"] = ratio
            out[f"acc_word_{m}_{s}"] = _comparison_word(ratio)
        best = min(["explicit", *others], key=lambda s: orders[s][1])
        out[f"acc_best_{m}"] = SCHEMES[best]
        # stability
        exp = [r for r in runs if r.scheme == "explicit"]
        stable = [r for r in exp if r.ok and r.norm_ratio <= 1 + 1e-9]
        out[f"exp_largest_stable_tau_{m}"] = max(r.tau for r in stable)
        unstable = [r for r in exp if r not in stable]
        if unstable:
            out[f"exp_smallest_unstable_tau_{m}"] = min(r.tau for r in unstable)
        big = max(exp, key=lambda r: r.tau)
        out[f"exp_big_ratio_{m}"] = float(min(big.norm_ratio, 1e6))
        semi = [r for r in runs if r.scheme == "semi"]
        out[f"semi_max_ratio_{m}"] = max(r.norm_ratio for r in semi)
        out[f"semi_big_rmse_{m}"] = max(semi, key=lambda r: r.tau).rmse
        # per-step time relative to the explicit step (median over step sizes)
        per_step = {s: float(np.median([r.seconds / r.steps for r in runs
                                        if r.scheme == s and r.ok and r.steps >= 10]))
                    for s in ("explicit", "semi")}
        out[f"semi_step_cost_{m}"] = per_step["semi"] / per_step["explicit"]
        # cost at equal accuracy
        for level in self.config["accuracies"]:
            lk = _level_key(level)
            cheap = self.cheapest(model, level, order)
            reached = {sc: r for sc, r in cheap.items() if r is not None}
            for sc, r in cheap.items():
                out[f"time_{m}_{lk}_{sc}"] = r.seconds if r else "not reached"
                few = self.fewest_steps(model, level, sc, order)
                out[f"steps_{m}_{lk}_{sc}"] = few.steps if few else "not reached"
                if sc == "explicit":
                    out[f"rmse_{m}_{lk}_explicit"] = few.rmse if few else "not reached"
            out[f"cost_verdict_{m}_{lk}"] = _cost_verdict(
                {sc: r.seconds for sc, r in reached.items()})
            if "explicit" in reached and "semi" in reached:
                out[f"semi_vs_exp_time_{m}_{lk}"] = (reached["semi"].seconds
                                                     / reached["explicit"].seconds)
        return out

    def numbers(self) -> dict[str, float | int | str]:
        """Every number and verdict word of chapter 4's E3 text, flat."""
        cfg = self.config
        out: dict[str, float | int | str] = {
            "T": float(cfg["T"]), "lam": float(cfg["lam"]), "sigma": float(cfg["sigma"]),
            "tau_explicit": self.tau_explicit,
            "exp_min_steps": math.ceil(cfg["T"] / self.tau_explicit),
            "order_tau_max": float(cfg["order_tau_max"]),
            "ref_rtol_pct": 100.0 * float(cfg["ref_rtol"]),
            "n_taus": len(cfg["taus"]), "tau_min": float(min(cfg["taus"])),
            "tau_max_run": float(max(cfg["taus"])),
            "cost_tie_factor": COST_TIE_FACTOR, "tol": float(cfg["tol"]),
            "n_points": int(self.f.size),
        }
        all_orders = [p for model in self.runs for (p, _, n) in self.orders(model).values()
                      if n >= 2]
        out["order_min"], out["order_max"] = float(min(all_orders)), float(max(all_orders))
        out["order_word"] = ("all first order, as expected of one-step methods of "
                             "consistency order one"
                             if max(abs(p - 1.0) for p in all_orders) < 0.1
                             else "not all first order (|p - 1| >= 0.1 for some)")
        fp_its, nt_its = [], []
        for model, runs in self.runs.items():
            m = _MODEL_KEYS.get(model, model)
            ref = self.references[model]
            out.update({
                f"ref_tau_{m}": ref.tau, f"ref_steps_{m}": ref.steps,
                f"ref_change_{m}": ref.change, f"ref_ratio_pct_{m}": 100.0 * ref.ratio,
                f"min_err_{m}": ref.smallest_error, f"ref_ivp_dev_{m}": ref.ivp_deviation,
                f"old_ref_err_{m}": ref.old_reference_error,
                f"old_ref_ratio_{m}": ref.old_reference_error / ref.smallest_error,
                f"sym_{m}": self.symmetry[model],
                f"local_ratio_min_{m}": float(min(self.local_ratios[model])),
                f"local_ratio_max_{m}": float(max(self.local_ratios[model])),
            })
            if model == "linear":
                out["semi_impl_dev_lin"] = self.semi_vs_implicit[model]
            if np.isfinite(ref.exact_deviation):
                out[f"ref_exact_dev_{m}"] = ref.exact_deviation
            out.update(self._scheme_numbers(model, 1))
            out["semi_max_ratio"] = max(out.get("semi_max_ratio", 0.0),
                                        out[f"semi_max_ratio_{m}"])
            bias = self.old_reference_bias[model]
            out.update({f"bias_tau_{m}": bias["tau"],
                        f"bias_exp_old_{m}": bias["explicit_old"],
                        f"bias_exp_new_{m}": bias["explicit_new"],
                        f"bias_impl_old_{m}": bias["implicit_old"],
                        f"bias_impl_new_{m}": bias["implicit_new"]})
            newton = [r for r in runs if r.scheme == "newton"]
            out[f"newton_largest_tau_{m}"] = max(r.tau for r in newton if r.ok)
            bad = [r.tau for r in newton if not r.ok]
            out[f"newton_failed_{m}"] = len(bad)
            if bad:
                out[f"newton_first_failed_tau_{m}"] = min(bad)
            fps = [r for r in runs if r.scheme == "fixpoint" and r.ok]
            out[f"fp_largest_tau_{m}"] = max(r.tau for r in fps) if fps else 0.0
            failed = [r.tau for r in runs if r.scheme == "fixpoint" and not r.ok]
            out[f"fp_failed_text_{m}"] = (f"it failed from τ = {min(failed):.2f} on"
                                          if failed else "it converged at every step size")
            fp_its += [r.inner_iterations / r.steps for r in fps]
            nt_its += [r.inner_iterations / r.steps for r in newton if r.ok]
        out |= self._m2_numbers()
        out["fp_its_min"] = float(min(fp_its)) if fp_its else 0.0
        out["fp_its_max"] = float(max(fp_its)) if fp_its else 0.0
        out["newton_its_min"] = float(min(nt_its))
        out["newton_its_max"] = float(max(nt_its))
        # one fixed-point step (the sweep)
        conv = [r for r in self.sweep if r["converged"]]
        largest = max(conv, key=lambda r: r["tau"]) if conv else None
        out["fp_largest"] = largest["tau"] if largest else 0.0
        out["fp_q_largest"] = float(largest["contraction"]) if largest else 0.0
        out["fp_sweep_its_max"] = int(largest["iterations"]) if largest else 0
        out["fp_sweep_failed"] = sum(1 for r in self.sweep if not r["converged"])
        # Jacobi against the direct solve
        first, last = self.jacobi[0], self.jacobi[-1]
        out.update({
            "jac_tau_first": first["tau"], "jac_its_first": int(first["iterations"]),
            "jac_rho_first": float(first["rho"]), "jac_tau_last": last["tau"],
            "jac_its_last": int(last["iterations"]), "jac_rho_last": float(last["rho"]),
            "jac_dev_max": max(float(r["deviation"]) for r in self.jacobi),
            "jac_time_ratio_first": first["jacobi_seconds"] / first["direct_seconds"],
            "jac_time_ratio_last": last["jacobi_seconds"] / last["direct_seconds"],
        })
        return out


def run(config: str | Mapping[str, Any] = "default", *, progress: bool = False,
        **overrides: Any) -> ImplicitResult:
    """Run E3 with the settings ``config`` of :data:`CONFIGS` (and ``overrides``).

    The test signal is the scanline of :func:`pdecore.scanline` with Gaussian noise
    (``sigma``, ``seed``). For each model the four schemes run at every step size in
    ``taus`` against the converged RK4 reference; then one fixed-point step and one
    semi-implicit system are solved iteratively for the step sizes of ``sweep_taus`` and
    ``jacobi_taus`` (Perona-Malik).

    Parameters
    ----------
    config : {"quick", "default", "paper"} or mapping
        A named configuration or a full settings mapping.
    progress : bool
        Print one line per run.
    **overrides
        Settings to change (``seed``, ``sigma``, ``lam``, ``T``, ...).

    Returns
    -------
    ImplicitResult
    """
    cfg = results.resolve_config(CONFIGS, config, **overrides)
    seed = as_int(cfg["seed"], "seed", minimum=0)
    sigma = as_positive(cfg["sigma"], "sigma", allow_zero=True)
    lam, T = as_positive(cfg["lam"], "lam"), as_positive(cfg["T"], "T")
    for key in ("ref_tau", "ref_rtol", "ivp_rtol", "tol", "order_tau_max"):
        as_positive(cfg[key], key)
    as_positive(cfg["repeat_below_s"], "repeat_below_s", allow_zero=True)
    for key in ("repeats", "maxiter", "newton_maxiter", "ref_max_halvings", "local_samples"):
        as_int(cfg[key], key)
    taus = [as_positive(t, "taus") for t in cfg["taus"]]
    if len([t for t in taus if t <= cfg["order_tau_max"]]) < 2:
        raise ValueError("taus must hold at least two step sizes <= order_tau_max to fit "
                         f"orders, got taus={cfg['taus']}")
    if not cfg["accuracies"]:
        raise ValueError("accuracies must hold at least one RMSE level")
    for a in cfg["accuracies"]:
        as_positive(a, "accuracies")
    f = add_noise(scanline(), sigma, seed=seed)
    runs, refs, ref_u, sym, svi, local, bias = {}, {}, {}, {}, {}, {}, {}
    for model in cfg["models"]:
        d = get_diffusivity(model)
        comp = _compare(f, T, taus, d, lam, model=d.name, ref_tau=cfg["ref_tau"],
                        ref_rtol=cfg["ref_rtol"], ref_max_halvings=cfg["ref_max_halvings"],
                        ivp_rtol=cfg["ivp_rtol"], tol=cfg["tol"], maxiter=cfg["maxiter"],
                        newton_maxiter=cfg["newton_maxiter"], repeats=cfg["repeats"],
                        repeat_below=cfg["repeat_below_s"], progress=progress)
        runs[d.name], refs[d.name], ref_u[d.name] = comp.runs, comp.reference, comp.ref_u
        tmin = min(r.tau for r in comp.runs)
        e_exp = comp.finals[("explicit", tmin)] - comp.ref_u
        e_imp = comp.finals[("newton", tmin)] - comp.ref_u
        sym[d.name] = _rmse(e_exp + e_imp, 0.0) / _rmse(e_exp, 0.0)
        svi[d.name] = max(_rmse(comp.finals[("semi", t)], comp.finals[("newton", t)])
                          for (s, t) in comp.finals if s == "newton")
        # leading local errors along the reference solution, at local_samples times
        u, ratios = f, []
        for _ in range(cfg["local_samples"]):
            u = reference_solution(u, T / cfg["local_samples"], d, lam,
                                   comp.reference.tau)
            terms = local_error_terms(u, d, lam)
            ratios.append(float(np.linalg.norm(terms["semi"])
                                / np.linalg.norm(terms["explicit"])))
        local[d.name] = ratios
        above = [t for (s, t) in comp.finals if s == "newton" and t > 0.01 * (1 + 1e-9)
                 and ("explicit", t) in comp.finals]
        tb = min(above) if above else tmin
        bias[d.name] = {
            "tau": tb,
            "explicit_old": _rmse(comp.finals[("explicit", tb)], comp.old_u),
            "explicit_new": _rmse(comp.finals[("explicit", tb)], comp.ref_u),
            "implicit_old": _rmse(comp.finals[("newton", tb)], comp.old_u),
            "implicit_new": _rmse(comp.finals[("newton", tb)], comp.ref_u)}
    m2_taus = [as_positive(t, "m2_taus") for t in cfg["m2_taus"]]
    if len([t for t in m2_taus if t <= cfg["m2_order_tau_max"]]) < 2:
        raise ValueError("m2_taus must hold at least two step sizes <= m2_order_tau_max, got "
                         f"m2_taus={cfg['m2_taus']}")
    m2_runs, m2_refs = {}, {}
    for model in cfg["models"]:
        d = get_diffusivity(model)
        comp = _compare(f, T, m2_taus, d, lam, model=d.name,
                        ref_tau=as_positive(cfg["m2_ref_tau"], "m2_ref_tau"),
                        ref_rtol=cfg["ref_rtol"], ref_max_halvings=cfg["ref_max_halvings"],
                        ivp_rtol=cfg["ivp_rtol"], tol=cfg["tol"], maxiter=cfg["maxiter"],
                        newton_maxiter=cfg["newton_maxiter"], repeats=cfg["repeats"],
                        repeat_below=cfg["repeat_below_s"], progress=progress, order=2,
                        schemes=("explicit", "semi"))
        m2_runs[d.name], m2_refs[d.name] = comp.runs, comp.reference
    sweep = fixed_point_sweep(f, cfg["sweep_taus"], "perona_malik", lam, cfg["maxiter"])
    jac = jacobi_sweep(f, cfg["jacobi_taus"], "perona_malik", lam, tol=cfg["tol"],
                       repeats=max(cfg["repeats"], 3))
    return ImplicitResult(config=cfg, seeds=(seed,), f=f, tau_explicit=stability_limit(f.size),
                          runs=runs, references=refs, reference_u=ref_u, symmetry=sym,
                          semi_vs_implicit=svi, local_ratios=local,
                          old_reference_bias=bias, sweep=sweep, jacobi=jac,
                          m2_runs=m2_runs, m2_references=m2_refs,
                          m2_tau_explicit=stability_limit(f.size, 2))
