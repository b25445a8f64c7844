r"""Experiment E3: explicit, semi-implicit and fully implicit steps; fixed-point vs tau.

For one stopping time :math:`T` and a range of step sizes :math:`\tau`, each scheme takes
:math:`T/\tau` steps; the error is the RMSE against an explicit reference with a tiny step.
The explicit scheme is only stable for :math:`\tau \le 2/\|D\|^2`; the semi-implicit one
for every :math:`\tau`; the fully implicit one needs a converging fixed-point iteration
(:math:`\tau\,\mathrm{Lip}(\Phi)\|D\|^2 < 1` guarantees it). Chapter 4 (:ref:`ch-implicit`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .._validation import as_int, as_positive, as_signal
from ..diffusivities import DiffusivityLike
from ..explicit import explicit_evolution, explicit_step
from ..implicit import implicit_fixed_point_step, semi_implicit_step

__all__ = ["SchemeRun", "fixed_point_sweep", "scheme_comparison"]


@dataclass(frozen=True)
class SchemeRun:
    """One scheme with one step size: error, work and wall time per unit diffusion time."""

    scheme: str
    tau: float
    steps: int
    rmse: float
    norm_ratio: float
    inner_iterations: int
    seconds: float
    converged: bool = True


def scheme_comparison(
    f: object,
    T: float,
    taus: Iterable[float],
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    ref_tau: float = 0.01,
    maxiter: int = 200,
) -> list[SchemeRun]:
    r"""Run explicit, semi-implicit and fully implicit (fixed point) evolutions to ``T``.

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
        Step size of the explicit reference.
    maxiter : int
        Fixed-point iterations per implicit step at most.

    Returns
    -------
    list of SchemeRun
        ``norm_ratio`` is the largest :math:`\|u^k\|/\|f\|`; a diverged run has
        ``rmse = inf``; ``converged`` is False if a fixed-point iteration did not
        reach its tolerance within ``maxiter``.
    """
    f = as_signal(f, "f")
    T = as_positive(T, "T")
    n_ref = math.ceil(T / as_positive(ref_tau, "ref_tau"))
    ref = explicit_evolution(f, T / n_ref, n_ref, diffusivity, lam).u
    norm0 = float(np.linalg.norm(f))
    runs = []
    for tau in taus:
        steps = max(1, round(T / as_positive(tau, "tau")))
        tau = T / steps
        for scheme in ("explicit", "semi-implicit", "implicit"):
            u, peak, inner, t0 = f.copy(), 1.0, 0, time.perf_counter()
            converged = True
            with np.errstate(over="ignore", invalid="ignore"):
                for _ in range(steps):
                    if scheme == "explicit":
                        u = explicit_step(u, tau, diffusivity, lam)
                    elif scheme == "semi-implicit":
                        u = semi_implicit_step(u, tau, diffusivity, lam)
                    else:
                        res = implicit_fixed_point_step(u, tau, diffusivity, lam,
                                                        tol=1e-10, maxiter=maxiter)
                        u, inner = res.u, inner + res.iterations
                        converged = converged and res.converged
                    norm = float(np.linalg.norm(u))
                    peak = max(peak, norm / norm0) if np.isfinite(norm) else np.inf
                    if not np.isfinite(peak) or peak > 1e6:
                        break
            seconds = (time.perf_counter() - t0) / T
            ok = np.isfinite(peak) and peak <= 1e6
            rmse = float(np.sqrt(np.mean((u - ref) ** 2))) if ok else np.inf
            runs.append(SchemeRun(scheme, tau, steps, rmse, peak, inner, seconds, converged))
    return runs


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

