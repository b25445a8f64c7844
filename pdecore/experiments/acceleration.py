r"""Experiment E2: explicit steps, FED and FSI at equal accuracy (error against work).

Every scheme reaches the stopping time :math:`T` on the same noisy signal, and its
root-mean-square error against a converged reference is measured against its work
(explicit steps, i.e. evaluations of :math:`D^\top\Phi(D\,\cdot)`; and measured wall time):

- explicit: :math:`n \ge n_0 = \lceil T/\tau_{\max}\rceil` equal steps
  :math:`\tau = T/n \le \tau_{\max}`, for :math:`n = n_0, 1.01 n_0, 1.02 n_0, 1.05 n_0`
  and then a geometric grid :math:`n_0 r^k`; the edge of stability :math:`n = n_0` is
  only the first point of the curve;
- FED and FSI: :math:`M = 1, r, r^2, \dots` cycles (the cycle length from
  :func:`pdecore.fed_cycle_length`), with the diffusivity frozen per cycle (``"FED"``,
  ``"FSI"``) or, for nonlinear diffusion, updated at every step (``"FED-step"``,
  ``"FSI-step"``).

A curve stops at the first run below the smallest accuracy level asked for (the
explicit one not before :math:`4 n_0` steps), or at ``max_work`` times :math:`n_0`
steps. The **speed-up at accuracy** :math:`\varepsilon` is

.. math::
   S(\varepsilon) = \frac{\min\{W_{\text{explicit}}(n) : e(n) \le \varepsilon\}}
                         {\min\{W_{\text{FED}}(M) : e(M) \le \varepsilon\}},

the cheapest explicit run that reaches :math:`\varepsilon` against the cheapest
accelerated one. Between the last grid point above :math:`\varepsilon` and the first one
below, the parameter (:math:`n` or :math:`M`) is bisected to single steps or cycles
(assuming the error decreases in between), so :math:`S` does not depend on the grid.
A scheme that does not reach :math:`\varepsilon` within the work cap is reported as
"not reached". The wall-time speed-up times the two cheapest runs side by side
(interleaved repeats, median).

The reference is the classical fourth-order Runge-Kutta method with step
``ref_step``; its convergence is checked by rerunning it with twice the step (the change
is reported; the error of the finer one is about a fifteenth of it), and for linear
diffusion against the exact solution :func:`linear_exact`. Chapter 3
(:ref:`ch-acceleration`).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.fft

from .._validation import as_choice, as_int, as_positive, as_scale, as_signal
from ..diffusivities import DiffusivityLike, get_diffusivity
from ..explicit import _explicit_step, explicit_evolution
from ..fed import fed_cycle_length, fed_evolution, fed_step_sizes
from ..fsi import fsi_evolution, fsi_weights
from ..operators import stability_limit
from ..results import resolve_config
from ..signals import add_noise, scanline

__all__ = [
    "CONFIGS",
    "DIFFUSIVITY_TAGS",
    "SCHEMES",
    "AccelerationResult",
    "ReferenceCheck",
    "Speedup",
    "WorkPoint",
    "intermediate_states",
    "level_tag",
    "linear_exact",
    "network_deviation",
    "perturbation_growth",
    "reference_solution",
    "run",
    "run_scheme",
    "scheme_steps",
    "speedup_table",
    "speedup_verdict",
    "work_study",
]

#: Scheme names: explicit; FED/FSI with the diffusivity frozen per cycle; the same with
#: the diffusivity updated at every step (differs from frozen only for nonlinear g).
SCHEMES = ("explicit", "FED", "FSI", "FED-step", "FSI-step")

#: Short tags of the diffusivities, for the keys of :meth:`AccelerationResult.numbers`.
DIFFUSIVITY_TAGS = {"linear": "lin", "perona_malik": "pm"}

_SCHEME_TAGS = {"explicit": "explicit", "FED": "fed", "FSI": "fsi", "FED-step": "fedstep",
                "FSI-step": "fsistep"}

#: Settings of chapter 3. ``levels`` are RMSE targets in grey values; ``grid_ratio`` is
#: the ratio of the geometric grids of step and cycle counts; ``max_work`` caps every
#: curve at ``max_work * ceil(T / tau_max)`` steps; ``ref_step`` is the Runge-Kutta
#: step of the reference; ``timing_repeats`` the interleaved repeats of the measured-time
#: comparison (CPU time, ``time.process_time``); ``net_T``/``net_cycles`` the
#: network-equals-scheme check; ``cycle_length`` the cycle of the FED-instability checks.
CONFIGS: dict[str, dict] = {
    "quick": {"seed": 0, "sigma": 20.0, "lam": 10.0, "times": (10.0, 100.0),
              "levels": (1.0, 0.1, 0.01), "grid_ratio": 2.0**0.5, "max_work": 64,
              "ref_step": 0.0625, "timing_repeats": 1, "net_T": 20.0, "net_cycles": 4,
              "cycle_length": 30},
    "default": {"seed": 0, "sigma": 20.0, "lam": 10.0, "times": (10.0, 100.0, 1000.0),
                "levels": (1.0, 0.1, 0.01), "grid_ratio": 2.0**0.25, "max_work": 64,
                "ref_step": 0.0625, "timing_repeats": 3, "net_T": 20.0, "net_cycles": 4,
                "cycle_length": 30},
    "paper": {"seed": 0, "sigma": 20.0, "lam": 10.0,
              "times": (10.0, 100.0, 1000.0, 10000.0), "levels": (1.0, 0.1, 0.01, 0.001),
              "grid_ratio": 2.0**0.125, "max_work": 128, "ref_step": 0.03125,
              "timing_repeats": 7, "net_T": 20.0, "net_cycles": 4, "cycle_length": 30},
}


#: The clock of the time measurements: CPU time of this process. For these
#: single-threaded numpy runs it equals wall-clock time on an idle machine, and other
#: jobs on a shared machine disturb it far less than they disturb wall-clock time.
CLOCK = time.process_time


def level_tag(level: float) -> str:
    """Key-safe tag of an accuracy level: ``1.0 -> "1"``, ``0.01 -> "0p01"``."""
    return f"{as_positive(level, 'level'):g}".replace(".", "p").replace("-", "m")


# --- references -------------------------------------------------------------------------


def reference_solution(
    f: object, times: Iterable[float], diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0, tau: float = 0.125, h: float = 1.0, order: int = 1,
) -> np.ndarray:
    r"""Solve :math:`\dot u = -D^\top\Phi(Du)`, :math:`u(0) = f`, by classical Runge-Kutta.

    .. math::
       k_1 = F(u^k),\ k_2 = F(u^k + \tfrac{\tau}{2}k_1),\ k_3 = F(u^k + \tfrac{\tau}{2}k_2),
       \ k_4 = F(u^k + \tau k_3),\quad
       u^{k+1} = u^k + \tfrac{\tau}{6}(k_1 + 2k_2 + 2k_3 + k_4),

    fourth order in :math:`\tau`, stable for :math:`\tau\,g_{\max}\|D\|^2 \le 2.78`
    (``tau = 0.125`` is far inside for :math:`h = 1`, :math:`m = 1`). Each interval
    between stopping times is split into equal steps of at most ``tau``.

    Parameters
    ----------
    f : (N,) array_like
        Initial signal.
    times : iterable of float
        Increasing stopping times :math:`T > 0`.
    diffusivity, lam, h, order
        The model, as in :func:`pdecore.explicit_step`.
    tau : float
        Largest Runge-Kutta step.

    Returns
    -------
    ndarray, shape (len(times), N)
        :math:`u(T)` for each stopping time.

    Examples
    --------
    >>> import numpy as np, pdecore
    >>> from pdecore.experiments.acceleration import linear_exact, reference_solution
    >>> f = np.array([0.0, 0.0, 1.0, 3.0])
    >>> u = reference_solution(f, [2.0], "linear", tau=0.125)[0]
    >>> print(np.abs(u - linear_exact(f, 2.0)).max() < 1e-5)
    True
    """
    f = as_signal(f, "f")
    d = get_diffusivity(diffusivity)
    lam, h, tau = as_scale(lam, "lam"), as_scale(h, "h"), as_positive(tau, "tau")
    limit = 2.78 / (d.g_max * (4.0 if order == 1 else 16.0) / h ** (2 * order))
    if tau > limit:
        raise ValueError(f"tau={tau} is outside the Runge-Kutta stability interval; "
                         f"use tau <= {limit:.4g}")
    times = [as_positive(T, "times") for T in times]
    if not times or any(b <= a for a, b in zip(times, times[1:], strict=False)):
        raise ValueError(f"times must be a non-empty increasing sequence, got {times}")
    buf = np.empty_like(f)

    def rhs(v: np.ndarray) -> np.ndarray:
        return _explicit_step(v, 1.0, d, lam, h, order, buf) - v

    u, t, out = f.copy(), 0.0, []
    for T in times:
        n = max(1, math.ceil((T - t) / tau - 1e-9))
        dt = (T - t) / n
        for _ in range(n):
            k1 = rhs(u)
            k2 = rhs(u + (0.5 * dt) * k1)
            k3 = rhs(u + (0.5 * dt) * k2)
            k4 = rhs(u + dt * k3)
            u = u + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        out.append(u.copy())
        t = T
    return np.stack(out)


def linear_exact(f: object, T: float, h: float = 1.0) -> np.ndarray:
    r"""Exact solution of semi-discrete linear diffusion, :math:`u(T) = e^{-TA} f`.

    With :math:`A = D^\top D` (order 1, natural boundary conditions), which the
    orthonormal DCT-II diagonalises with eigenvalues
    :math:`\mu_k = 4\sin^2(\pi k / 2N) / h^2`,
    :math:`u(T) = \mathrm{IDCT}\bigl(e^{-T\mu}\,\mathrm{DCT}(f)\bigr)`.

    Examples
    --------
    >>> import numpy as np
    >>> from pdecore.experiments.acceleration import linear_exact
    >>> print(np.round(linear_exact([0.0, 0.0, 1.0, 3.0], 1e4), 6))  # the mean
    [1. 1. 1. 1.]
    """
    f = as_signal(f, "f")
    if f.ndim != 1:
        raise ValueError(f"f must be one signal (N,), got shape {f.shape}")
    T = as_positive(T, "T", allow_zero=True)
    h = as_scale(h, "h")
    mu = 4.0 * np.sin(np.pi * np.arange(f.size) / (2 * f.size)) ** 2 / h**2
    return scipy.fft.idct(np.exp(-T * mu) * scipy.fft.dct(f, norm="ortho"), norm="ortho")


# --- one run of one scheme --------------------------------------------------------------


def scheme_steps(scheme: str, param: int, T: float, tau_max: float) -> int:
    """Explicit steps (work) of ``scheme`` with ``param`` steps (explicit) or cycles."""
    _check_scheme(scheme)
    param = as_int(param, "param")
    if scheme == "explicit":
        return param
    return param * fed_cycle_length(T, tau_max, param)


def _check_scheme(scheme: str) -> None:
    as_choice(scheme, "scheme", SCHEMES)


def run_scheme(f: object, T: float, scheme: str, param: int,
               diffusivity: DiffusivityLike, lam: float, tau_max: float) -> np.ndarray:
    """Run ``scheme`` to time ``T``: ``param`` explicit steps, or ``param`` FED/FSI cycles.

    ``"FED"``/``"FSI"`` freeze the diffusivity per cycle, ``"FED-step"``/``"FSI-step"``
    update it at every step (:func:`pdecore.fed_evolution`, :func:`pdecore.fsi_evolution`
    with ``tau_max`` as their step-size limit). Returns :math:`u(T)`.
    """
    _check_scheme(scheme)
    f = as_signal(f, "f")
    T, tau_max = as_positive(T, "T"), as_positive(tau_max, "tau_max")
    param = as_int(param, "param")
    if scheme == "explicit":
        return explicit_evolution(f, T / param, param, diffusivity, lam).u
    run = fed_evolution if scheme.startswith("FED") else fsi_evolution
    update = "step" if scheme.endswith("-step") else "cycle"
    return run(f, T, tau_max, param, diffusivity, lam, update=update).u


# --- error against work ----------------------------------------------------------------


@dataclass(frozen=True)
class WorkPoint:
    """One run: ``scheme`` at ``param`` (explicit: steps; FED/FSI: cycles).

    ``rmse`` is ``inf`` when the run overflowed; ``seconds`` is one measured run;
    ``refined`` marks runs added by the bisection at an accuracy level;
    ``cycle_length`` is the FED/FSI cycle length (1 for explicit runs). FED and FSI
    runs with cycle length 1 are explicit runs (one step of size :math:`T/M` per cycle)
    and share their numbers.
    """

    diffusivity: str
    T: float
    scheme: str
    param: int
    steps: int
    rmse: float
    seconds: float
    refined: bool = False
    cycle_length: int = 1


@dataclass(frozen=True)
class Speedup:
    """The cheapest explicit and the cheapest accelerated run at one accuracy level.

    ``steps`` / ``explicit_steps`` are 0 when the scheme did not reach ``level`` within
    the work cap; ``speedup`` (explicit steps / accelerated steps) and ``speedup_time``
    (explicit seconds / accelerated seconds) are then ``nan``. ``status`` is ``"both"``,
    ``"accelerated not reached"``, ``"explicit not reached"`` or ``"neither"``.
    ``cycle_length`` is that of the cheapest accelerated run (1: it is an explicit run).
    """

    diffusivity: str
    T: float
    level: float
    scheme: str
    steps: int
    explicit_steps: int
    rmse: float
    explicit_rmse: float
    seconds: float
    explicit_seconds: float
    status: str
    cycle_length: int = 0

    @property
    def speedup(self) -> float:
        """Explicit steps over accelerated steps (``nan`` unless both reached)."""
        return self.explicit_steps / self.steps if self.status == "both" else math.nan

    @property
    def speedup_time(self) -> float:
        """Explicit over accelerated wall time (``nan`` unless both reached)."""
        if self.status != "both" or not self.seconds > 0:
            return math.nan
        return self.explicit_seconds / self.seconds


class _Study:
    """All runs of one diffusivity and stopping time, cached by (scheme, param)."""

    def __init__(self, f, T, ref, diffusivity, lam, tau_max, max_work):
        self.f, self.T, self.ref = f, T, ref
        self.model = get_diffusivity(diffusivity)
        self.diffusivity = self.model.name
        self.lam, self.tau_max = lam, tau_max
        self.n0 = math.ceil(T / tau_max - 1e-12)
        self.cap = max_work * self.n0
        self.points: dict[tuple[str, int], WorkPoint] = {}

    def evaluate(self, scheme: str, param: int, refined: bool = False) -> WorkPoint:
        key = (scheme, param)
        if key in self.points:
            return self.points[key]
        if scheme != "explicit" and fed_cycle_length(self.T, self.tau_max, param) == 1:
            # a cycle of length 1 is one explicit step of size T/M (FED: tau_0 scaled to
            # T/M; FSI: alpha_0 = 2/3 times 3T/(2M)), whatever the update: the run is the
            # explicit run with M steps
            e = self.evaluate("explicit", param, refined)
            self.points[key] = WorkPoint(self.diffusivity, self.T, scheme, param, e.steps,
                                         e.rmse, e.seconds, refined, 1)
            return self.points[key]
        t0 = CLOCK()
        with np.errstate(all="ignore"):
            u = run_scheme(self.f, self.T, scheme, param, self.model, self.lam,
                            self.tau_max)
        seconds = CLOCK() - t0
        with np.errstate(all="ignore"):
            err = float(np.sqrt(np.mean((u - self.ref) ** 2)))
        steps = scheme_steps(scheme, param, self.T, self.tau_max)
        self.points[key] = WorkPoint(
            self.diffusivity, self.T, scheme, param, steps,
            err if math.isfinite(err) else math.inf, seconds, refined,
            1 if scheme == "explicit" else steps // param)
        return self.points[key]

    def grid(self, scheme: str, ratio: float) -> list[int]:
        if scheme == "explicit":
            factors = [1.0, 1.01, 1.02, 1.05]
            k = 1
            while ratio**k * self.n0 <= self.cap:
                factors.append(ratio**k)
                k += 1
            params = [math.ceil(self.n0 * c - 1e-9) for c in factors]
        else:  # up to the first cycle count with cycle length 1 (explicit steps beyond)
            params, k = [], 0
            while True:
                m = max(1, round(ratio**k))
                if scheme_steps(scheme, m, self.T, self.tau_max) > self.cap:
                    break
                params.append(m)
                if fed_cycle_length(self.T, self.tau_max, m) == 1:
                    break
                k += 1
        return sorted(p for p in set(params)
                      if scheme_steps(scheme, p, self.T, self.tau_max) <= self.cap)

    def curve(self, scheme: str, ratio: float, stop: float) -> None:
        """Run the grid until a run reaches ``stop`` (explicit: at least to 4 n0)."""
        for p in self.grid(scheme, ratio):
            if (self.evaluate(scheme, p).rmse <= stop
                    and (scheme != "explicit" or p >= 4 * self.n0)):
                break

    def _bisect(self, scheme: str, lo: int, hi: int, level: float) -> int:
        """Smallest param in (lo, hi] reaching ``level``, given hi does (lo does not)."""
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.evaluate(scheme, mid, refined=True).rmse <= level:
                hi = mid
            else:
                lo = mid
        return hi

    def explicit_cheapest(self, level: float) -> WorkPoint | None:
        """Fewest explicit steps reaching ``level`` (bisection between curve points)."""
        pts = sorted((p for (s, _), p in self.points.items() if s == "explicit"),
                     key=lambda p: p.param)
        first = next((i for i, p in enumerate(pts) if p.rmse <= level), None)
        if first is None:
            return None
        if first == 0:
            return pts[0]
        return self.evaluate("explicit", self._bisect("explicit", pts[first - 1].param,
                                                      pts[first].param, level))

    def segments(self) -> list[tuple[int, int, int]]:
        """``(n, a, b)``: the cycle counts ``a..b`` that share cycle length ``n``.

        Capped at ``max_work`` steps; the last segment (n = 1) is open-ended.
        """
        out, m = [], 1
        while True:
            n = fed_cycle_length(self.T, self.tau_max, m)
            if m * n > self.cap:
                return out
            if n == 1:
                out.append((1, m, self.cap))
                return out
            c = max(m + 1, math.ceil(3.0 * self.T / (self.tau_max * n * (n - 1))) - 1)
            while c > m + 1 and fed_cycle_length(self.T, self.tau_max, c - 1) < n:
                c -= 1
            while fed_cycle_length(self.T, self.tau_max, c) >= n:
                c += 1
            out.append((n, m, min(c - 1, self.cap // n)))
            m = c

    def cheapest(self, scheme: str, level: float) -> WorkPoint | None:
        """Fewest steps reaching ``level``: explicit, or FED/FSI over all cycle counts.

        FED/FSI: per cycle length n (the cycle counts a..b that share it), the error is
        assumed to fall as M grows (the steps shrink); the right end b is run, and if it
        reaches ``level`` the smallest such M is bisected. Segments that cannot beat the
        best so far are skipped. The n = 1 segment is the explicit scheme with M steps.
        """
        if scheme == "explicit":
            return self.explicit_cheapest(level)
        best = None
        for n, a, b in self.segments():
            if best is not None and a * n >= best.steps:
                continue
            if n == 1:
                e = self.explicit_cheapest(level)
                if e is None:
                    continue
                m = max(a, e.param)
                if m > b:
                    continue
                cand = self.evaluate(scheme, m, refined=True)
                if cand.rmse > level:
                    continue
            else:
                if self.evaluate(scheme, b, refined=True).rmse > level:
                    continue
                if self.evaluate(scheme, a, refined=True).rmse <= level:
                    cand = self.points[scheme, a]
                else:
                    cand = self.points[scheme, self._bisect(scheme, a, b, level)]
            if best is None or cand.steps < best.steps:
                best = cand
        return best


def _interleaved_seconds(funcs: dict, repeats: int, min_time: float = 0.02) -> dict:
    """Median time per call (CPU time, ``time.process_time``), the functions timed in turn.

    One warm-up call each sets how many calls a timing takes (at least ``min_time``
    seconds), so that short runs are not lost in timer and scheduling noise.
    """
    number = {}
    for k, fn in funcs.items():
        t0 = CLOCK()
        fn()
        number[k] = max(1, math.ceil(min_time / max(CLOCK() - t0, 1e-7)))
    times: dict = {k: [] for k in funcs}
    for _ in range(repeats):
        for k, fn in funcs.items():
            t0 = CLOCK()
            for _ in range(number[k]):
                fn()
            times[k].append((CLOCK() - t0) / number[k])
    return {k: statistics.median(v) for k, v in times.items()}


def work_study(
    f: object,
    T: float,
    ref: object,
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    *,
    schemes: Sequence[str] = ("explicit", "FED", "FSI"),
    levels: Sequence[float] = (1.0, 0.1, 0.01),
    grid_ratio: float = 2.0**0.25,
    max_work: int = 64,
    timing_repeats: int = 3,
) -> tuple[list[WorkPoint], list[Speedup]]:
    r"""Error against work of ``schemes`` at one stopping time, and the speed-ups.

    Parameters
    ----------
    f : (N,) array_like
        Initial signal.
    T : float
        Stopping time.
    ref : (N,) array_like
        Converged reference :math:`u(T)` (:func:`reference_solution`).
    diffusivity, lam
        The model (order 1, :math:`h = 1`).
    schemes : sequence of str
        Members of :data:`SCHEMES`; must contain ``"explicit"``.
    levels : sequence of float
        Accuracy levels :math:`\varepsilon` (RMSE).
    grid_ratio : float
        Ratio of the geometric grids of step and cycle counts (> 1).
    max_work : int
        Every curve stops at ``max_work * ceil(T / tau_max)`` steps.
    timing_repeats : int
        Interleaved repeats (median) when timing the cheapest runs; 0 skips timing
        (``seconds`` are then those of the single curve run).

    Returns
    -------
    points : list of WorkPoint
        Every run, sorted by scheme and work.
    speedups : list of Speedup
        One per accelerated scheme and level (:math:`S(\varepsilon)` of the module
        docstring).
    """
    f = as_signal(f, "f")
    if f.ndim != 1:
        raise ValueError(f"f must be one signal (N,), got shape {f.shape}")
    ref = as_signal(ref, "ref")
    if ref.shape != f.shape:
        raise ValueError(f"ref must have f's shape {f.shape}, got {ref.shape}")
    T = as_positive(T, "T")
    schemes = list(schemes)
    for s in schemes:
        _check_scheme(s)
    if "explicit" not in schemes:
        raise ValueError("schemes must contain 'explicit' (the baseline)")
    levels = sorted((as_positive(x, "levels") for x in levels), reverse=True)
    if not levels:
        raise ValueError("levels must not be empty")
    grid_ratio = as_positive(grid_ratio, "grid_ratio")
    if grid_ratio <= 1.0:
        raise ValueError(f"grid_ratio must be > 1, got {grid_ratio}")
    repeats = as_int(timing_repeats, "timing_repeats", minimum=0)
    tau_max = stability_limit(f.size)
    study = _Study(f, T, ref, diffusivity, as_scale(lam, "lam"), tau_max,
                   as_int(max_work, "max_work"))
    for s in schemes:
        study.curve(s, grid_ratio, levels[-1])
    best = {(s, lv): study.cheapest(s, lv) for s in schemes for lv in levels}
    chosen = {p for p in best.values() if p is not None}
    if repeats and chosen:
        funcs = {(p.scheme, p.param): (lambda p=p: run_scheme(
            f, T, p.scheme, p.param, study.model, study.lam, tau_max)) for p in chosen}
        with np.errstate(all="ignore"):
            secs = _interleaved_seconds(funcs, repeats)
    else:
        secs = {(p.scheme, p.param): p.seconds for p in chosen}
    speedups = []
    for lv in levels:
        e = best["explicit", lv]
        for s in schemes:
            if s == "explicit":
                continue
            a = best[s, lv]
            status = ("both" if a and e else "accelerated not reached" if e else
                      "explicit not reached" if a else "neither")
            speedups.append(Speedup(
                study.diffusivity, T, lv, s, a.steps if a else 0, e.steps if e else 0,
                a.rmse if a else math.nan, e.rmse if e else math.nan,
                secs[a.scheme, a.param] if a else math.nan,
                secs[e.scheme, e.param] if e else math.nan, status,
                a.cycle_length if a else 0))
    points = sorted(study.points.values(),
                    key=lambda p: (SCHEMES.index(p.scheme), p.steps, p.param))
    return points, speedups


def speedup_verdict(speedups: Sequence[Speedup], *, time: bool = False) -> dict:
    """Count, over (stopping time, level), where the best accelerated scheme wins.

    For every stopping time and level the best accelerated scheme is the one with the
    largest speed-up (steps, or measured time with ``time=True``). A setting counts as
    ``faster`` when that speed-up is above 1; ``equal`` when it is exactly 1 in steps
    (e.g. the cheapest accelerated run is an explicit run, cycle length 1); ``slower`` when it
    is below 1 or no accelerated scheme reached a level the explicit scheme reached;
    ``explicit_missed`` when only accelerated schemes reached it; ``neither`` otherwise.

    Returns
    -------
    dict
        ``cells``, ``faster``, ``equal``, ``slower``, ``explicit_missed``, ``neither``,
        ``min``/``max`` (of the best speed-ups where both reached; ``nan`` if none) and
        ``text``, a sentence.
    """
    cells: dict[tuple[float, float], list[Speedup]] = {}
    for sp in speedups:
        if not isinstance(sp, Speedup):
            raise TypeError(f"speedups must hold Speedup rows, got {type(sp).__name__}")
        cells.setdefault((sp.T, sp.level), []).append(sp)
    count = {"faster": 0, "equal": 0, "slower": 0, "explicit_missed": 0, "neither": 0}
    best = []
    for rows in cells.values():
        both = [r for r in rows if r.status == "both"
                and math.isfinite(r.speedup_time if time else r.speedup)]
        if both:
            top = max(r.speedup_time if time else r.speedup for r in both)
            best.append(top)
            if top > 1.0:
                count["faster"] += 1
            elif not time and top == 1.0:
                count["equal"] += 1
            else:
                count["slower"] += 1
        elif any(r.status == "explicit not reached" for r in rows):
            count["explicit_missed"] += 1
        elif any(r.status == "accelerated not reached" for r in rows):
            count["slower"] += 1
        else:
            count["neither"] += 1
    n = len(cells)
    text = f"faster than the cheapest explicit run in {count['faster']} of the {n} settings"
    for key, label in (("equal", "equal in steps in {}"), ("slower", "slower in {}"),
                       ("explicit_missed", "the only one to reach the accuracy in {}"),
                       ("neither", "with no scheme reaching the accuracy in {}")):
        if count[key]:
            text += ", " + label.format(count[key])
    return {"cells": n, **count, "min": min(best) if best else math.nan,
            "max": max(best) if best else math.nan, "text": text}


def speedup_table(speedups: Sequence[Speedup], *, time: bool = True) -> str:
    """Return a markdown table of the speed-ups at equal accuracy.

    One row per (diffusivity, stopping time, level): the cheapest explicit run's steps
    and, per accelerated scheme, its steps, cycle length and speed-up in steps (and in
    measured time, in brackets); "not reached" where no run reached the level.
    """
    rows = list(speedups)
    bad = [type(sp).__name__ for sp in rows if not isinstance(sp, Speedup)]
    if bad:
        raise TypeError(f"speedups must hold Speedup rows (see work_study), got {bad[0]}")
    schemes = [s for s in SCHEMES[1:] if any(sp.scheme == s for sp in rows)]
    head = ["diffusivity", "T", "accuracy", "explicit steps"] + [
        f"{s}: steps (cycle), speed-up" + (" [time]" if time else "") for s in schemes]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    cells = list(dict.fromkeys((sp.diffusivity, sp.T, sp.level) for sp in rows))
    for d, T, lv in cells:
        here = {sp.scheme: sp for sp in rows if (sp.diffusivity, sp.T, sp.level) == (d, T, lv)}
        first = next(iter(here.values()))
        out = [d.replace("_", "-"), f"{T:g}", f"{lv:g}",
               str(first.explicit_steps) if first.explicit_steps else "not reached"]
        for s in schemes:
            sp = here.get(s)
            if sp is None:
                out.append("")
            elif sp.status == "both":
                txt = f"{sp.steps} ({sp.cycle_length}), **{sp.speedup:.2f}**"
                if time and math.isfinite(sp.speedup_time):
                    txt += f" [{sp.speedup_time:.2f}]"
                out.append(txt)
            elif sp.steps:
                out.append(f"{sp.steps} ({sp.cycle_length})")
            else:
                out.append("not reached")
        lines.append("| " + " | ".join(out) + " |")
    return "\n".join(lines)


# --- FED's internal instability -------------------------------------------------------


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
    for name, run_ in (("FED", fed_evolution), ("FSI", fsi_evolution)):
        states = run_(f, T, tau_max, 1, diffusivity, lam, save_every=1).states
        norms = np.linalg.norm(states, axis=-1)
        excursion = max(states.max() - f.max(), f.min() - states.min(), 0.0)
        out[name] = {"norm_ratio": float(norms.max() / norms[0]), "excursion": float(excursion)}
    return out


# --- network = scheme ---------------------------------------------------------------------


def network_deviation(
    f: object, T: float, tau_max: float, cycles: int,
    diffusivity: str = "perona_malik", lam: float = 1.0,
) -> dict[str, float]:
    r"""Largest relative deviation of :class:`~pdecore.nets.FEDNet`/``FSINet`` from numpy.

    For each scheme and diffusivity update (``"step"``, ``"cycle"``) returns
    :math:`\max_i |u^{\text{net}}_i - u_i| / \max_i |u_i|` at time ``T`` with ``cycles``
    cycles (float64), under keys like ``"FED/cycle"``.
    """
    import torch

    from ..fed import fed_evolution as fed_np
    from ..fsi import fsi_evolution as fsi_np
    from ..nets import FEDNet, FSINet

    f = as_signal(f, "f")
    x = torch.tensor(f, dtype=torch.float64).view(1, 1, -1)
    out = {}
    with torch.no_grad():
        for name, net_cls, scheme in (("FED", FEDNet, fed_np), ("FSI", FSINet, fsi_np)):
            for update in ("step", "cycle"):
                net = net_cls.from_scheme(T, tau_max, cycles, diffusivity, lam, update=update)
                ref = scheme(f, T, tau_max, cycles, diffusivity, lam, update=update).u
                got = net(x).numpy().ravel()
                out[f"{name}/{update}"] = float(np.abs(got - ref).max() / np.abs(ref).max())
    return out


# --- the experiment -----------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceCheck:
    """Convergence of the reference at one stopping time.

    ``change``: RMSE between the Runge-Kutta solutions with step ``ref_step`` and
    ``2 * ref_step``; ``exact_dev``: RMSE between the reference and
    :func:`linear_exact` (linear diffusion only, else ``nan``).
    """

    diffusivity: str
    T: float
    change: float
    exact_dev: float


@dataclass
class AccelerationResult:
    """E2 at one configuration.

    Attributes
    ----------
    config : dict
        The resolved settings (a member of :data:`CONFIGS`, with overrides).
    seeds : tuple of int
        The noise seed.
    signal : ndarray
        The noisy initial signal all schemes start from.
    tau_max : float
        The explicit stability limit.
    references : list of ReferenceCheck
    points : list of WorkPoint
        Every run (the error-against-work curves and the bisection runs).
    speedups : list of Speedup
    edge : list of Speedup
        The old criterion, for comparison: the explicit scheme at the stability edge
        (:math:`n_0` steps) against the cheapest accelerated run at least as accurate.
    net_dev : dict
        :func:`network_deviation`.
    growth : dict
        :func:`perturbation_growth` for ``cycle_length``.
    inside : dict
        :func:`intermediate_states` (noise-free scan line, Perona-Malik).
    wall_s : float
        Seconds the run took.
    """

    config: dict
    seeds: tuple[int, ...]
    signal: np.ndarray
    tau_max: float
    references: list[ReferenceCheck]
    points: list[WorkPoint]
    speedups: list[Speedup]
    edge: list[Speedup]
    net_dev: dict
    growth: dict
    inside: dict
    wall_s: float = field(default=0.0)

    def schemes(self, diffusivity: str) -> list[str]:
        """Schemes run for ``diffusivity`` (the ``-step`` variants only if nonlinear)."""
        return [s for s in SCHEMES if any(p.scheme == s and p.diffusivity == diffusivity
                                          for p in self.points)]

    def numbers(self) -> dict[str, float | int | str]:
        """Every number chapter 3 states; keys described in the chapter's table cells.

        ``sp_<d>_<T>_<level>_<scheme>`` speed-up in steps (or ``"not reached"`` /
        ``"explicit not reached"`` / ``"neither"``), ``spt_...`` in wall time,
        ``st_<d>_<T>_<level>_<scheme>`` the cheapest steps (0: not reached).
        """
        cfg = self.config
        levels = sorted(cfg["levels"], reverse=True)
        taus = fed_step_sizes(10, 0.5)
        out: dict[str, float | int | str] = {
            "N": int(self.signal.size), "tau_max": float(self.tau_max),
            "sigma": float(cfg["sigma"]), "lam": float(cfg["lam"]), "seed": int(cfg["seed"]),
            "times_text": ", ".join(f"{T:g}" for T in cfg["times"]),
            "levels_text": ", ".join(f"{lv:g}" for lv in levels),
            "level_min": float(levels[-1]), "grid_ratio": float(cfg["grid_ratio"]),
            "max_work": int(cfg["max_work"]), "ref_step": float(cfg["ref_step"]),
            "n_runs": len(self.points), "wall_s": float(self.wall_s),
            "timing_repeats": int(cfg["timing_repeats"]),
            "fed_tau0": float(taus[0]), "fed_sum": float(taus.sum()),
            "fed_above": int((taus > 0.5).sum()),
        }
        # reference convergence
        change = max(r.change for r in self.references)
        out["ref_change_max"] = change
        out["ref_change_pct"] = 100.0 * change / levels[-1]
        out["ref_verdict"] = ("converged" if change < 0.01 * levels[-1] else
                              "NOT converged")
        exact = [r.exact_dev for r in self.references if math.isfinite(r.exact_dev)]
        if exact:
            out["ref_exact_dev"] = max(exact)
        # network = scheme
        out["net_dev"] = max(self.net_dev.values())
        for update in ("step", "cycle"):
            out[f"net_dev_{update}"] = max(v for k, v in self.net_dev.items()
                                           if k.endswith(update))
        # per-cell speed-ups
        for sp in self.speedups:
            key = (f"{DIFFUSIVITY_TAGS.get(sp.diffusivity, sp.diffusivity)}_{sp.T:g}_"
                   f"{level_tag(sp.level)}")
            tag = _SCHEME_TAGS[sp.scheme]
            out[f"st_{key}_explicit"] = sp.explicit_steps
            out[f"st_{key}_{tag}"] = sp.steps
            if sp.status == "both":
                out[f"sp_{key}_{tag}"] = sp.speedup
                if math.isfinite(sp.speedup_time):
                    out[f"spt_{key}_{tag}"] = sp.speedup_time
            else:
                out[f"sp_{key}_{tag}"] = out[f"spt_{key}_{tag}"] = (
                    "not reached" if sp.status == "accelerated not reached" else sp.status)
        # summaries and verdicts per diffusivity
        for d, tag in DIFFUSIVITY_TAGS.items():
            rows = [sp for sp in self.speedups if sp.diffusivity == d]
            if not rows:
                continue
            for kind, use_time in (("", False), ("time_", True)):
                v = speedup_verdict(rows, time=use_time)
                out[f"{kind}cells_{tag}"] = v["cells"]
                for word in ("faster", "equal", "slower", "explicit_missed"):
                    out[f"{kind}{word}_{tag}"] = v[word]
                out[f"{kind}verdict_{tag}"] = v["text"]
                if math.isfinite(v["min"]):
                    out[f"{kind}best_min_{tag}"] = v["min"]
                    out[f"{kind}best_max_{tag}"] = v["max"]
            for lv in levels:
                v = speedup_verdict([sp for sp in rows if sp.level == lv])
                lt = level_tag(lv)
                for word in ("faster", "equal", "slower"):
                    out[f"{word}_{tag}_{lt}"] = v[word]
                out[f"cells_{tag}_{lt}"] = v["cells"]
                if math.isfinite(v["min"]):
                    out[f"best_min_{tag}_{lt}"] = v["min"]
                    out[f"best_max_{tag}_{lt}"] = v["max"]
            for T in cfg["times"]:
                v = speedup_verdict([sp for sp in rows if sp.T == T])
                if math.isfinite(v["min"]):
                    out[f"best_min_{tag}_{T:g}"] = v["min"]
                    out[f"best_max_{tag}_{T:g}"] = v["max"]
            # trends of the best speed-up (steps): with T at each level, with the level
            best = {}
            for sp in rows:
                if sp.status == "both":
                    best[sp.T, sp.level] = max(best.get((sp.T, sp.level), 0.0), sp.speedup)
            times = sorted(cfg["times"])
            grows = all(best.get((a, lv), math.nan) <= best.get((b, lv), math.nan)
                        for lv in levels for a, b in zip(times, times[1:], strict=False))
            shrinks = all(best.get((T, a), math.nan) >= best.get((T, b), math.nan)
                          for T in times for a, b in zip(levels, levels[1:], strict=False))
            out[f"trend_T_{tag}"] = (
                "never decreases" if grows else "sometimes decreases")
            out[f"trend_level_{tag}"] = (
                "never increases" if shrinks else "sometimes increases")
            # explicit: the edge run and the cheapest run per level
            for T in cfg["times"]:
                n0 = math.ceil(T / self.tau_max - 1e-12)
                edge = next(p for p in self.points if p.diffusivity == d and p.T == T
                            and p.scheme == "explicit" and p.param == n0)
                near = next(p for p in self.points if p.diffusivity == d and p.T == T
                            and p.scheme == "explicit" and p.param == math.ceil(1.01 * n0))
                out[f"edge_steps_{tag}_{T:g}"] = n0
                out[f"edge_rmse_{tag}_{T:g}"] = edge.rmse
                out[f"near_steps_{tag}_{T:g}"] = near.param
                out[f"near_rmse_{tag}_{T:g}"] = near.rmse
        # frozen vs per-step diffusivity (Perona-Malik): which update wins more often
        pm = [sp for sp in self.speedups if sp.diffusivity == "perona_malik"]
        if any(sp.scheme.endswith("-step") for sp in pm):
            wins = {"cycle": 0, "step": 0, "tie": 0}
            for sp in pm:
                if sp.scheme.endswith("-step"):
                    continue
                other = next(o for o in pm if o.T == sp.T and o.level == sp.level
                             and o.scheme == sp.scheme + "-step")
                a = sp.steps if sp.steps else math.inf
                b = other.steps if other.steps else math.inf
                wins["cycle" if a < b else "step" if b < a else "tie"] += 1
            out["pm_update_cycle_wins"] = wins["cycle"]
            out["pm_update_step_wins"] = wins["step"]
            out["pm_update_pairs"] = sum(wins.values())
        # the old criterion (edge of stability), to show where large factors come from
        for sp in self.edge:
            key = f"{DIFFUSIVITY_TAGS.get(sp.diffusivity, sp.diffusivity)}_{sp.T:g}"
            tag = _SCHEME_TAGS[sp.scheme]
            out[f"edge_sp_{key}_{tag}"] = (sp.speedup if sp.status == "both" else
                                           "not reached")
        for d, tag in DIFFUSIVITY_TAGS.items():
            vals = [sp.speedup for sp in self.edge
                    if sp.diffusivity == d and sp.status == "both"]
            if vals:
                out[f"edge_sp_max_{tag}"] = max(vals)
        # FSI against FED (frozen), at equal accuracy
        pairs = [(sp, next(o for o in self.speedups if o.diffusivity == sp.diffusivity
                           and o.T == sp.T and o.level == sp.level and o.scheme == "FSI"))
                 for sp in self.speedups if sp.scheme == "FED"]
        out["fsi_fewer"] = sum(0 < b.steps < a.steps or (b.steps and not a.steps)
                               for a, b in pairs)
        out["fed_fewer"] = sum(0 < a.steps < b.steps or (a.steps and not b.steps)
                               for a, b in pairs)
        out["fed_fsi_pairs"] = len(pairs)
        # the bisection's assumption: error falls as the parameter grows (explicit: n;
        # FED/FSI: M at fixed cycle length); count the evaluated pairs that violate it
        groups: dict = {}
        for p in self.points:
            if p.scheme == "explicit" or p.cycle_length > 1:
                groups.setdefault((p.diffusivity, p.T, p.scheme, p.cycle_length),
                                  []).append(p)
        pairs = bad = 0
        for g in groups.values():
            g.sort(key=lambda p: p.param)
            for p, q in zip(g, g[1:], strict=False):
                if math.isfinite(p.rmse) and math.isfinite(q.rmse):
                    pairs += 1
                    bad += q.rmse > p.rmse * (1 + 1e-9)
        out["monotone_pairs"] = pairs
        out["nonmonotone_pairs"] = bad
        # FED runs destroyed by rounding: error > 10x that of FSI with the same cycles
        fsi_err = {(p.T, p.param): p.rmse for p in self.points
                   if p.diffusivity == "linear" and p.scheme == "FSI"}
        blown = [p for p in self.points if p.diffusivity == "linear" and p.scheme == "FED"
                 and (p.T, p.param) in fsi_err and p.rmse > 10.0 * fsi_err[p.T, p.param]]
        out["fed_blowups"] = len(blown)
        out["fed_blowup_min_n"] = min(p.cycle_length for p in blown) if blown else "none"
        # FED's rounding errors in long cycles (linear curves)
        for scheme in ("FED", "FSI"):
            errs = [p.rmse for p in self.points
                    if p.diffusivity == "linear" and p.scheme == scheme]
            finite = [e for e in errs if math.isfinite(e)]
            if finite:
                out[f"worst_{scheme.lower()}"] = max(finite)
            out[f"overflow_{scheme.lower()}"] = len(errs) - len(finite)
        out["growth_fed"] = float(self.growth["FED"].max())
        out["growth_fsi"] = float(self.growth["FSI"].max())
        for scheme, v in self.inside.items():
            out[f"inside_norm_{scheme}"] = v["norm_ratio"]
            out[f"inside_exc_{scheme}"] = v["excursion"]
        return out


def run(config: str | dict = "default", *, progress: bool = False,
        **overrides: object) -> AccelerationResult:
    """Run E2 at a configuration of :data:`CONFIGS` (linear and Perona-Malik diffusion).

    Parameters
    ----------
    config : str or dict
        ``"quick"``, ``"default"``, ``"paper"`` or a settings mapping; ``overrides``
        change single settings (:func:`pdecore.results.resolve_config`).
    progress : bool
        Show a progress bar over (diffusivity, stopping time).

    Returns
    -------
    AccelerationResult
    """
    t_start = time.perf_counter()
    cfg = resolve_config(CONFIGS, config, **overrides)
    cfg["times"] = tuple(sorted(float(T) for T in cfg["times"]))
    cfg["levels"] = tuple(float(x) for x in cfg["levels"])
    seed = as_int(cfg["seed"], "seed", minimum=0)
    lam = as_positive(cfg["lam"], "lam")
    f = add_noise(scanline(), cfg["sigma"], seed=seed)
    tau_max = stability_limit(f.size)
    jobs = [(d, T) for d in ("linear", "perona_malik") for T in cfg["times"]]
    if progress:
        from tqdm.auto import tqdm

        jobs = tqdm(jobs, desc="E2", leave=False)
    refs, checks, points, speedups, edge = {}, [], [], [], []
    for d in ("linear", "perona_malik"):
        fine = reference_solution(f, cfg["times"], d, lam, cfg["ref_step"])
        coarse = reference_solution(f, cfg["times"], d, lam, 2.0 * cfg["ref_step"])
        for T, u, v in zip(cfg["times"], fine, coarse, strict=True):
            refs[d, T] = u
            exact = (float(np.sqrt(np.mean((u - linear_exact(f, T)) ** 2)))
                     if d == "linear" else math.nan)
            checks.append(ReferenceCheck(d, T, float(np.sqrt(np.mean((u - v) ** 2))), exact))
    for d, T in jobs:
        schemes = SCHEMES if d != "linear" else ("explicit", "FED", "FSI")
        pts, sps = work_study(f, T, refs[d, T], d, lam, schemes=schemes,
                              levels=cfg["levels"], grid_ratio=cfg["grid_ratio"],
                              max_work=cfg["max_work"],
                              timing_repeats=cfg["timing_repeats"])
        points += pts
        speedups += sps
        edge += _edge_speedups(pts, f, T, refs[d, T], d, lam, tau_max, cfg)
    growth = perturbation_growth(cfg["cycle_length"])
    inside = intermediate_states(scanline(), cfg["cycle_length"], "perona_malik", lam)
    net_dev = network_deviation(f, cfg["net_T"], tau_max, cfg["net_cycles"],
                                "perona_malik", lam)
    return AccelerationResult(cfg, (seed,), f, tau_max, checks, points, speedups, edge,
                              net_dev, growth, inside, time.perf_counter() - t_start)


def _edge_speedups(pts, f, T, ref, d, lam, tau_max, cfg) -> list[Speedup]:
    """Compare by the old criterion: explicit at n0 steps vs the cheapest FED/FSI as good."""
    n0 = math.ceil(T / tau_max - 1e-12)
    e = next(p for p in pts if p.scheme == "explicit" and p.param == n0)
    study = _Study(f, T, ref, d, lam, tau_max, cfg["max_work"])
    study.points = {(p.scheme, p.param): p for p in pts}
    out = []
    for s in ("FED", "FSI"):
        a = study.cheapest(s, e.rmse)
        out.append(Speedup(d, T, e.rmse, s, a.steps if a else 0, n0,
                           a.rmse if a else math.nan, e.rmse, math.nan, math.nan,
                           "both" if a else "accelerated not reached"))
    return out
