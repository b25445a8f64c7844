r"""Experiment E2: reach a stopping time with explicit steps, FED and FSI.

For each stopping time :math:`T` the three schemes run on the same signal:

- explicit: :math:`\lceil T/\tau_{\max}\rceil` steps of equal size :math:`\le \tau_{\max}`;
- FED and FSI: :math:`M` cycles with the diffusivity frozen per cycle, for several
  :math:`M`, the cycle length from :func:`pdecore.fed_cycle_length`.

Errors are root-mean-square deviations from a fine explicit reference
(step size ``tau_max / ref_refine``). Chapter 3 (:ref:`ch-acceleration`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .._validation import as_int, as_positive, as_signal
from ..diffusivities import DiffusivityLike
from ..explicit import explicit_evolution
from ..fed import fed_evolution, fed_step_sizes
from ..fsi import fsi_evolution, fsi_weights
from ..operators import stability_limit

__all__ = [
    "AccelerationRow",
    "acceleration_experiment",
    "perturbation_growth",
    "intermediate_states",
    "matched_speedup",
]


@dataclass(frozen=True)
class AccelerationRow:
    """One scheme at one stopping time with one number of cycles."""

    T: float
    scheme: str
    cycles: int
    steps: int
    rmse: float


def acceleration_experiment(
    f: object,
    stopping_times: Iterable[float],
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    cycles: Iterable[int] = (1, 2, 4, 8, 16, 32, 64),
    ref_refine: int = 20,
    progress: bool = False,
) -> list[AccelerationRow]:
    """Run E2 on the signal ``f`` for each stopping time (order 1, h = 1).

    Parameters
    ----------
    f : (N,) array_like
        Initial signal.
    stopping_times : iterable of float
        Stopping times :math:`T`.
    diffusivity, lam
        The model.
    cycles : iterable of int
        Numbers of FED/FSI cycles to try (those above the explicit step count are
        skipped); the diffusivity is frozen per cycle.
    ref_refine : int
        The reference uses step size ``tau_max / ref_refine``.
    progress : bool
        Show a progress bar over stopping times.

    Returns
    -------
    list of AccelerationRow
        The explicit run has ``cycles == steps``.
    """
    f = as_signal(f, "f")
    ref_refine = as_int(ref_refine, "ref_refine")
    cycles = [as_int(m, "cycles") for m in cycles]
    tau_max = stability_limit(f.shape[-1])
    times = list(stopping_times)
    if progress:
        from tqdm.auto import tqdm

        times = tqdm(times, desc="E2 stopping times", leave=False)
    rows = []
    for T in times:
        T = as_positive(T, "T")
        n_exp = math.ceil(T / tau_max)
        ref = explicit_evolution(f, T / (n_exp * ref_refine), n_exp * ref_refine, diffusivity,
                                 lam).u
        rmse = lambda u, ref=ref: float(np.sqrt(np.mean((u - ref) ** 2)))  # noqa: E731
        u = explicit_evolution(f, T / n_exp, n_exp, diffusivity, lam).u
        rows.append(AccelerationRow(T, "explicit", n_exp, n_exp, rmse(u)))
        for m in (m for m in cycles if m <= n_exp):
            for name, run in (("FED", fed_evolution), ("FSI", fsi_evolution)):
                ev = run(f, T, tau_max, m, diffusivity, lam)
                rows.append(AccelerationRow(T, name, m, int(ev.steps[-1]), rmse(ev.u)))
    return rows


def matched_speedup(rows: list[AccelerationRow]) -> list[dict]:
    """For each stopping time and scheme, the cheapest run at least as accurate as explicit.

    Returns
    -------
    list of dict
        Keys ``T``, ``scheme``, ``explicit_steps``, ``explicit_rmse``, ``steps``,
        ``rmse``, ``speedup`` (explicit steps / steps) and ``matched`` (False when no run
        reached the explicit error; then the most accurate run is reported).
    """
    bad = [type(r).__name__ for r in rows if not isinstance(r, AccelerationRow)]
    if bad:
        raise TypeError(f"rows must hold AccelerationRow (see acceleration_experiment), "
                        f"got {bad[0]}")
    out = []
    for T in dict.fromkeys(r.T for r in rows):
        exp = next((r for r in rows if r.T == T and r.scheme == "explicit"), None)
        if exp is None:
            raise ValueError(f"rows hold no explicit run for T={T}")
        for scheme in ("FED", "FSI"):
            runs = sorted((r for r in rows if r.T == T and r.scheme == scheme),
                          key=lambda r: r.steps)
            good = [r for r in runs if r.rmse <= exp.rmse]
            best = good[0] if good else min(runs, key=lambda r: r.rmse)
            out.append({"T": T, "scheme": scheme, "explicit_steps": exp.steps,
                        "explicit_rmse": exp.rmse, "steps": best.steps, "rmse": best.rmse,
                        "speedup": exp.steps / best.steps, "matched": bool(good)})
    return out


def perturbation_growth(n: int, num: int = 4001) -> dict[str, np.ndarray]:
    r"""Worst-case growth of a perturbation (e.g. a rounding error) inside one linear cycle.

    For an eigenvalue :math:`\mu \in [0, 2/\tau_{\max}]` of :math:`D^\top G D`, a
    perturbation of :math:`u^k` reaches the end of the cycle multiplied by
    :math:`\prod_{i \ge k}(1 - \tau_i\mu)` in FED (ascending step sizes), and by the
    remainder of the three-term recursion in FSI. Returns
    :math:`\max_\mu |\cdot|` for :math:`k = 0, \dots, n-1` (with :math:`\tau_{\max} = 1`).
    The whole cycle (:math:`k = 0`) is stable in both; late perturbations in FED are not.
    """
    n = as_int(n, "n")
    mu = np.linspace(0.0, 2.0, as_int(num, "num", minimum=2))
    factors = 1.0 - fed_step_sizes(n, 1.0)[:, None] * mu
    fed = np.abs(np.cumprod(factors[::-1], axis=0)[::-1]).max(axis=1)
    alphas = fsi_weights(n)
    fsi = []
    for k in range(n):
        prev, cur = np.zeros_like(mu), np.ones_like(mu)  # perturb u^k only
        for alpha in alphas[k:]:
            prev, cur = cur, alpha * (1.0 - mu) * cur + (1.0 - alpha) * prev
        fsi.append(np.abs(cur).max())
    return {"FED": fed, "FSI": np.array(fsi)}


def intermediate_states(
    f: object, n: int, diffusivity: DiffusivityLike = "linear", lam: float = 1.0
) -> dict[str, dict[str, float]]:
    r"""How far the states *inside* one FED and one FSI cycle of length ``n`` stray.

    Returns, per scheme, the largest norm ratio :math:`\|u^k\|/\|u^0\|` and the largest
    excursion beyond the range :math:`[\min f, \max f]` (0 if none) over the cycle.
    """
    f = as_signal(f, "f")
    n = as_int(n, "n")
    tau_max = stability_limit(f.shape[-1])
    T = tau_max * (n * n + n) / 3.0
    out = {}
    for name, run in (("FED", fed_evolution), ("FSI", fsi_evolution)):
        states = run(f, T, tau_max, 1, diffusivity, lam, save_every=1).states
        norms = np.linalg.norm(states, axis=-1)
        excursion = max(states.max() - f.max(), f.min() - states.min(), 0.0)
        out[name] = {"norm_ratio": float(norms.max() / norms[0]), "excursion": float(excursion)}
    return out
