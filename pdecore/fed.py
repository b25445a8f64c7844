r"""Fast Explicit Diffusion (FED): explicit steps with cyclically varying step sizes.

A FED cycle of :math:`n` explicit steps uses

.. math:: \tau_i = \frac{\tau_{\max}}{2\cos^2\!\left(\pi\frac{2i+1}{4n+2}\right)},
          \qquad i = 0, \dots, n-1,

and reaches the diffusion time :math:`\sum_i \tau_i = \tau_{\max}\frac{n^2+n}{3}`:
:math:`O(n^2)` time in :math:`n` steps. Single steps exceed the stability limit
:math:`\tau_{\max}`; the cycle as a whole is stable. Network view (chapter 3,
:ref:`ch-acceleration`): a ResNet whose blocks share their weights but have prescribed,
varying step sizes.
"""

from __future__ import annotations

import math

import numpy as np

from ._schemes import LATER, scheme_args
from ._validation import as_choice, as_int, as_positive, as_signal
from .diffusivities import DiffusivityLike
from .explicit import Evolution, _diffusivity_values, _explicit_step, evolve

__all__ = [
    "UPDATE_MODES",
    "fed_cycle_length",
    "fed_evolution",
    "fed_schedule",
    "fed_step_sizes",
]

#: How the diffusivity of a nonlinear problem is updated inside a cycle.
UPDATE_MODES = ("cycle", "step")


def fed_step_sizes(n: int, tau_max: float) -> np.ndarray:
    r"""Return the :math:`n` step sizes of one FED cycle.

    .. math:: \tau_i = \frac{\tau_{\max}}{2\cos^2\!\left(\pi\frac{2i+1}{4n+2}\right)}

    Parameters
    ----------
    n : int
        Cycle length, ``n >= 1``.
    tau_max : float
        Stability limit of the explicit scheme (e.g. :func:`pdecore.stability_limit`).

    Returns
    -------
    ndarray, shape (n,)
        Increasing step sizes; their sum is :math:`\tau_{\max}(n^2 + n)/3`.

    Raises
    ------
    ValueError
        ``n < 1`` or ``tau_max <= 0``.
    TypeError
        Non-integer ``n``.

    See Also
    --------
    fed_evolution : runs FED cycles.
    pdecore.fsi_weights : the FSI alternative with a fixed step size.
    pdecore.nets.FEDNet : the same cycle as a ResNet with varying step sizes.

    Notes
    -----
    The cycle polynomial :math:`\prod_i (1 - \tau_i \mu)` is a scaled Chebyshev-type
    polynomial bounded by 1 in modulus on :math:`[0, 2/\tau_{\max}]`, the spectrum of
    :math:`D^\top G D`; that is why the cycle is stable. Used in chapter 3.

    References
    ----------
    .. [1] S. Grewenig, J. Weickert, A. Bruhn, "From box filtering to fast explicit
       diffusion", DAGM 2010, LNCS 6376, 533-542.

    Examples
    --------
    >>> import pdecore
    >>> tau = pdecore.fed_step_sizes(10, 0.5)
    >>> print(f"{tau[0]:.6f} {tau.sum():.6f}")
    0.251404 18.333333
    """
    n = as_int(n, "n", minimum=1)
    tau_max = as_positive(tau_max, "tau_max")
    i = np.arange(n)
    return tau_max / (2.0 * np.cos(np.pi * (2 * i + 1) / (4 * n + 2)) ** 2)


def fed_cycle_length(T: float, tau_max: float, cycles: int = 1) -> int:
    r"""Smallest cycle length :math:`n` with which ``cycles`` FED cycles reach time ``T``.

    .. math:: n = \left\lceil -\tfrac12 + \sqrt{\tfrac14 + \frac{3T}{M\tau_{\max}}}\,\right\rceil

    Parameters
    ----------
    T : float
        Stopping time, ``> 0``.
    tau_max : float
        Stability limit of the explicit scheme.
    cycles : int
        Number of cycles :math:`M`.

    Returns
    -------
    int

    Examples
    --------
    >>> import pdecore
    >>> print(pdecore.fed_cycle_length(18.3, 0.5))
    10
    """
    T = as_positive(T, "T")
    tau_max = as_positive(tau_max, "tau_max")
    cycles = as_int(cycles, "cycles", minimum=1)
    n = math.ceil(-0.5 + math.sqrt(0.25 + 3.0 * T / (cycles * tau_max)) - 1e-12)
    return max(n, 1)


def fed_schedule(T: float, tau_max: float, cycles: int = 1) -> np.ndarray:
    r"""Step sizes of one cycle such that ``cycles`` FED cycles take exactly time ``T``.

    :func:`fed_step_sizes` for :func:`fed_cycle_length`, scaled by
    :math:`(T/M) / \sum_i \tau_i \le 1`, so no step gets longer.

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> import pdecore
    >>> print(f"{pdecore.fed_schedule(20.0, 0.5, cycles=2).sum():.6f}")
    10.000000
    """
    n = fed_cycle_length(T, tau_max, cycles)
    taus = fed_step_sizes(n, tau_max)
    return taus * ((T / cycles) / taus.sum())


def fed_evolution(
    u0: object,
    T: float,
    tau_max: float,
    cycles: int = 1,
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    h: float = 1.0,
    order: int = 1,
    *,
    update: str = "cycle",
    save_every: int = 0,
    progress: bool = False,
) -> Evolution:
    r"""Reach the stopping time ``T`` with ``cycles`` FED cycles.

    The cycle length is :func:`fed_cycle_length`; the step sizes of
    :func:`fed_step_sizes` are scaled down slightly so that every cycle takes exactly
    :math:`T/M`.

    Parameters
    ----------
    u0 : (N,) or (B, N) array_like
        Initial signal(s).
    T : float
        Stopping time.
    tau_max : float
        Stability limit of the explicit scheme, e.g. ``pdecore.stability_limit(N)``.
    cycles : int
        Number of cycles :math:`M`; more cycles follow the nonlinearity more closely.
    diffusivity, lam, h, order
        As in :func:`pdecore.explicit_step`.
    update : {"cycle", "step"}
        ``"cycle"`` freezes the diffusivity at the start of each cycle (the cycle is then
        a linear, provably stable operator); ``"step"`` recomputes it at every step.
    save_every, progress
        As in :func:`pdecore.evolve`.

    Returns
    -------
    Evolution
        ``steps`` counts single explicit steps (``cycles * n`` in all).

    Raises
    ------
    ValueError
        Bad parameters or an unknown ``update``.
    """
    _, _, d, lam, h, order = scheme_args(LATER, LATER, diffusivity, lam, h, order)
    cycles = as_int(cycles, "cycles", minimum=1)
    update = as_choice(update, "update", UPDATE_MODES)
    u0 = as_signal(u0, "u0", min_length=order + 1)  # tau_max: checked by fed_schedule
    taus = fed_schedule(T, tau_max, cycles)
    n = taus.size
    buffers = [np.empty_like(u0), np.empty_like(u0)]
    frozen = np.empty(u0.shape[:-1] + (u0.shape[-1] - order,))

    def step(u: np.ndarray, k: int) -> np.ndarray:
        g = None
        if update == "cycle":
            if k % n == 0:
                _diffusivity_values(u, d, lam, h, order, frozen)
            g = frozen
        return _explicit_step(u, taus[k % n], d, lam, h, order, buffers[k % 2], g)

    return evolve(u0, step, cycles * n, save_every=save_every, progress=progress)

