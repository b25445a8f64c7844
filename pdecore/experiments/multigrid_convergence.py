r"""Multigrid convergence factors against the grid size (chapter 5).

The test problem is one semi-implicit Perona-Malik step on a noisy piecewise-constant
signal: :math:`A = I + \tau D^\top G(f) D` with a large :math:`\tau`, so that the
diffusivity jumps by orders of magnitude across edges. For every size, contrast and
variant (interpolation x smoother) we solve :math:`A x = f` by V(2,2) cycles and report
the mean residual reduction per cycle.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .. import signals
from ..implicit import semi_implicit_matrix_bands
from ..multigrid import (
    INTERPOLATIONS,
    SMOOTHERS,
    Tridiagonal,
    convergence_factor,
    multigrid_hierarchy,
    multigrid_solve,
)

__all__ = ["factor_sweep", "semi_implicit_problem"]


def semi_implicit_problem(
    n: int, lam: float, tau: float = 50.0, sigma: float = 0.05, seed: int = 0
) -> tuple[Tridiagonal, np.ndarray]:
    """Return the semi-implicit Perona-Malik matrix on a noisy step signal, and the signal."""
    f = signals.piecewise_constant(n, min(n - 1, max(5, n // 200)), seed=seed)
    f = signals.add_noise(f, sigma, seed=seed + 1)
    return Tridiagonal.from_bands(semi_implicit_matrix_bands(f, tau, "perona_malik", lam)), f


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
