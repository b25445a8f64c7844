r"""Multigrid = U-net (chapter 5): the fixed-weight network, and convergence against N.

The test problem is one semi-implicit Perona-Malik step on a noisy piecewise-constant
signal: :math:`A = I + \tau D^\top G(f) D` with a large :math:`\tau`, so that the
diffusivity jumps by orders of magnitude across edges.

- :func:`scheme_deviations`: :meth:`pdecore.nets.MultigridUNet.from_scheme` against
  :func:`pdecore.multigrid.cycle` for every interpolation and smoother (a verified
  identity, not an experiment);
- :func:`factor_sweep`: for every size, contrast and variant (interpolation x smoother)
  solve :math:`A x = f` by V(2,2) cycles and report the mean residual reduction per
  cycle.

:func:`run` does both for one configuration of :data:`CONFIGS`; its
:class:`ConvergenceResult` holds the numbers of chapter 5's first part.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .. import signals
from .._validation import as_int, as_positive
from ..implicit import semi_implicit_matrix_bands
from ..multigrid import (
    INTERPOLATIONS,
    SMOOTHERS,
    Tridiagonal,
    convergence_factor,
    cycle,
    multigrid_hierarchy,
    multigrid_solve,
)
from ..nets.unet import MultigridUNet
from ..results import resolve_config

__all__ = [
    "CONFIGS",
    "ConvergenceResult",
    "factor_sweep",
    "run",
    "scheme_deviations",
    "semi_implicit_problem",
]

#: Settings of chapter 5's first part: grid sizes of the factor sweep, contrasts,
#: step size, and the size of the equivalence check.
CONFIGS: dict[str, dict[str, Any]] = {
    "quick": {"sizes": tuple(2**k for k in range(8, 13)), "lams": (0.05, 0.1),
              "tau": 50.0, "tol": 1e-10, "maxiter": 20, "equivalence_n": 1000},
    "default": {"sizes": tuple(2**k for k in range(8, 19, 2)), "lams": (0.05, 0.1),
                "tau": 50.0, "tol": 1e-10, "maxiter": 20, "equivalence_n": 1000},
    "paper": {"sizes": tuple(2**k for k in range(8, 21)), "lams": (0.02, 0.05, 0.1, 0.2),
              "tau": 50.0, "tol": 1e-10, "maxiter": 20, "equivalence_n": 1000},
}


def semi_implicit_problem(
    n: int, lam: float, tau: float = 50.0, sigma: float = 0.05, seed: int = 0
) -> tuple[Tridiagonal, np.ndarray]:
    """Return the semi-implicit Perona-Malik matrix on a noisy step signal, and the signal."""
    f = signals.piecewise_constant(n, min(n - 1, max(5, n // 200)), seed=seed)
    f = signals.add_noise(f, sigma, seed=seed + 1)
    return Tridiagonal.from_bands(semi_implicit_matrix_bands(f, tau, "perona_malik", lam)), f


def scheme_deviations(n: int = 1000, lam: float = 0.05, tau: float = 50.0
                      ) -> dict[str, float]:
    r"""Largest relative deviation of the fixed-weight U-net from the numpy cycle.

    For every interpolation and smoother, one V(2,2) cycle of
    :meth:`pdecore.nets.MultigridUNet.from_scheme` (torch, float64) from :math:`x = 0` on
    :func:`semi_implicit_problem` is compared with :func:`pdecore.multigrid.cycle`:
    :math:`\max_i |x^\text{net}_i - x^\text{np}_i| / \max_i |x^\text{np}_i|`.

    Returns
    -------
    dict
        ``{"<interpolation>/<smoother>": deviation}``.

    Examples
    --------
    >>> from pdecore.experiments.multigrid_convergence import scheme_deviations
    >>> print(max(scheme_deviations(200).values()) < 1e-12)
    True
    """
    A, f = semi_implicit_problem(as_int(n, "n", minimum=2), lam, tau)
    x0 = np.zeros_like(f)
    out = {}
    for interp in INTERPOLATIONS:
        hierarchy = multigrid_hierarchy(A, interp)
        for smoother in SMOOTHERS:
            ref = cycle(hierarchy, x0, f, smoother=smoother)
            net = MultigridUNet.from_scheme(hierarchy, smoother=smoother)
            x = net(torch.tensor(f)).numpy()
            out[f"{interp}/{smoother}"] = float(np.abs(x - ref).max() / np.abs(ref).max())
    return out


def factor_sweep(
    sizes: Iterable[int],
    lams: Iterable[float],
    *,
    tau: float = 50.0,
    tol: float = 1e-10,
    maxiter: int = 20,
    interpolations: Iterable[str] = INTERPOLATIONS,
    smoothers: Iterable[str] = SMOOTHERS,
    progress: bool = False,
) -> list[dict]:
    """Convergence factor and cycle count of each variant for each size and contrast.

    Returns
    -------
    list of dict
        Keys ``n``, ``lam``, ``interpolation``, ``smoother``, ``factor``, ``cycles``.
    """
    configs = [(n, lam) for n in sizes for lam in lams]
    if progress:
        from tqdm.auto import tqdm

        configs = tqdm(configs, desc="multigrid sizes", leave=False)
    rows = []
    for n, lam in configs:
        A, f = semi_implicit_problem(n, lam, tau)
        for interpolation in interpolations:
            levels = multigrid_hierarchy(A, interpolation)
            for smoother in smoothers:
                _, res = multigrid_solve(levels, f, tol=tol, maxiter=maxiter, smoother=smoother)
                rows.append({"n": n, "lam": lam, "interpolation": interpolation,
                             "smoother": smoother, "factor": convergence_factor(res),
                             "cycles": res.size - 1})
    return rows


@dataclass(frozen=True)
class ConvergenceResult:
    """The fixed-weight equivalence and the factor sweep of chapter 5.

    Attributes
    ----------
    config : dict
        The resolved settings (:data:`CONFIGS`).
    seeds : tuple of int
        The signal seed of :func:`semi_implicit_problem` (``(0,)``; nothing is learned).
    deviations : dict
        :func:`scheme_deviations` on the equivalence problem.
    n_levels : int
        Levels of the equivalence problem's hierarchy.
    rows : list of dict
        :func:`factor_sweep`.
    """

    config: dict
    seeds: tuple[int, ...]
    deviations: dict
    n_levels: int
    rows: list

    def worst_factors(self) -> dict[str, float]:
        """``{"<interpolation>/<smoother>": largest factor over N and lambda}``."""
        worst: dict[str, float] = {}
        for r in self.rows:
            key = f"{r['interpolation']}/{r['smoother']}"
            worst[key] = max(worst.get(key, 0.0), r["factor"])
        return worst

    def numbers(self) -> dict[str, float | int | str]:
        """Return the numbers of chapter 5's first part (``unet_dev``, ``f_op_jac``, ...)."""
        worst = self.worst_factors()
        out: dict[str, float | int | str] = {
            "unet_dev": max(self.deviations.values()),
            "n_levels": self.n_levels,
            "equivalence_n": int(self.config["equivalence_n"]),
            "n_max": max(r["n"] for r in self.rows),
            "n_min": min(r["n"] for r in self.rows),
            "tau_mg": float(self.config["tau"]),
        }
        names = {"operator/jacobi": "f_op_jac", "operator/rbgs": "f_op_rb",
                 "linear/jacobi": "f_lin_jac", "linear/rbgs": "f_lin_rb"}
        for key, name in names.items():
            if key in worst:
                out[name] = worst[key]
        return out


def run(config: str | Mapping[str, Any] = "default", *, progress: bool = False,
        **overrides: Any) -> ConvergenceResult:
    """Run the equivalence check and the factor sweep of one configuration.

    Parameters
    ----------
    config : str or mapping
        ``"quick"``, ``"default"`` or ``"paper"`` (:data:`CONFIGS`), or a full mapping.
    progress : bool
        tqdm bar over the sizes.
    **overrides
        Settings to change (``sizes``, ``lams``, ``tau``, ...).

    Returns
    -------
    ConvergenceResult

    Raises
    ------
    ValueError
        Unknown configuration or setting, bad sizes or contrasts.

    Examples
    --------
    >>> from pdecore.experiments import multigrid_convergence
    >>> res = multigrid_convergence.run("quick", sizes=(256,), equivalence_n=200)
    >>> print(res.numbers()["unet_dev"] < 1e-12, res.numbers()["f_op_rb"] < 1e-10)
    True True
    """
    cfg = resolve_config(CONFIGS, config, **overrides)
    sizes = tuple(as_int(n, "sizes", minimum=2) for n in cfg["sizes"])
    lams = tuple(as_positive(lam, "lams") for lam in cfg["lams"])
    if not sizes or not lams:
        raise ValueError("sizes and lams must each hold at least one value")
    tau = as_positive(cfg["tau"], "tau")
    cfg.update(sizes=sizes, lams=lams, tau=tau)
    n_eq = as_int(cfg["equivalence_n"], "equivalence_n", minimum=2)
    deviations = scheme_deviations(n_eq, lams[0], tau)
    n_levels = len(multigrid_hierarchy(semi_implicit_problem(n_eq, lams[0], tau)[0]))
    rows = factor_sweep(sizes, lams, tau=tau, tol=cfg["tol"], maxiter=cfg["maxiter"],
                        progress=progress)
    return ConvergenceResult(cfg, (0,), deviations, n_levels, rows)
