r"""Fast Semi-Iterative (FSI) schemes: explicit steps with an extrapolating skip connection.

With a fixed stable step size :math:`\tau \le \tau_{\max}`, a cycle of :math:`n` steps

.. math::
    u^{k+1} = \alpha_k\bigl(u^k - \tau D_m^\top\Phi(D_m u^k)\bigr) + (1-\alpha_k)\,u^{k-1},
    \qquad \alpha_k = \frac{4k+2}{2k+3}, \quad u^{-1} = u^0,

reaches the diffusion time :math:`\tau(n^2+n)/3`, like FED, but every intermediate state
is stable. Network view (chapter 3, :ref:`ch-acceleration`): an additional skip
connection from two layers back, weighted by :math:`1 - \alpha_k` (momentum).
"""

from __future__ import annotations

import numpy as np

from ._schemes import LATER, scheme_args
from ._validation import as_choice, as_int, as_signal
from .diffusivities import DiffusivityLike
from .explicit import Evolution, _diffusivity_values, _explicit_step, evolve
from .fed import UPDATE_MODES, fed_cycle_length

__all__ = ["fsi_evolution", "fsi_schedule", "fsi_weights"]


def fsi_weights(n: int) -> np.ndarray:
    r"""Return the FSI extrapolation weights :math:`\alpha_k = (4k+2)/(2k+3)`.

    Parameters
    ----------
    n : int
        Cycle length, ``n >= 1``.

    Returns
    -------
    ndarray, shape (n,)
        :math:`\alpha_0 = 2/3`, increasing towards 2.

    See Also
    --------
    fsi_evolution : runs FSI cycles.
    pdecore.fed_step_sizes : the FED alternative.
    pdecore.nets.FSINet : the network with the extra skip connection.

    Notes
    -----
    The weights make the cycle polynomial a scaled Legendre-type polynomial; its
    derivative at 0 gives the cycle time :math:`\tau(n^2+n)/3`. Used in chapter 3.

    References
    ----------
    .. [1] D. Hafner, P. Ochs, J. Weickert, M. Reissel, S. Grewenig, "FSI schemes: fast
       semi-iterative solvers for PDEs and optimisation methods", GCPR 2016, LNCS 9796,
       91-102.

    Examples
    --------
    >>> import pdecore
    >>> print(pdecore.fsi_weights(3).round(4))
    [0.6667 1.2    1.4286]
    """
    k = np.arange(as_int(n, "n", minimum=1))
    return (4.0 * k + 2.0) / (2.0 * k + 3.0)


def fsi_schedule(T: float, tau_max: float, cycles: int = 1) -> tuple[float, np.ndarray]:
    r"""Step size and weights of one cycle such that ``cycles`` FSI cycles take time ``T``.

    The cycle length :math:`n` is the smallest with :math:`M\tau_{\max}(n^2+n)/3 \ge T`
    (:func:`pdecore.fed_cycle_length`); the step size is then reduced to
    :math:`\tau = 3T/(M(n^2+n)) \le \tau_{\max}`.

    Parameters
    ----------
    T : float
        Stopping time, ``> 0``.
    tau_max : float
        Largest stable explicit step size, e.g. :func:`pdecore.stability_limit`.
    cycles : int
        Number of cycles :math:`M`.

    Returns
    -------
    tau_cycle : float
        The step size :math:`\tau` of every step.
    alphas : ndarray, shape (n,)
        The weights :func:`fsi_weights` of one cycle.

    Examples
    --------
    >>> import pdecore
    >>> tau, alphas = pdecore.fsi_schedule(18.0, 0.5)
    >>> print(alphas.size, f"{tau:.4f}")
    10 0.4909
    """
    n = fed_cycle_length(T, tau_max, cycles)
    return (T / cycles) / ((n * n + n) / 3.0), fsi_weights(n)


def fsi_evolution(
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
    r"""Reach the stopping time ``T`` with ``cycles`` FSI cycles.

    The cycle length :math:`n` is the smallest with :math:`M\tau_{\max}(n^2+n)/3 \ge T`;
    the step size is then reduced so that every cycle takes exactly :math:`T/M`
    (:func:`fsi_schedule`).

    Parameters
    ----------
    u0 : (N,) or (B, N) array_like
        Initial signal(s).
    T : float
        Stopping time.
    tau_max : float
        Largest stable explicit step size, e.g. ``pdecore.stability_limit(N)`` (the
        argument of the same name of :func:`pdecore.fed_evolution`).
    cycles : int
        Number of cycles :math:`M`.
    diffusivity, lam, h, order
        As in :func:`pdecore.explicit_step`.
    update : {"cycle", "step"}
        Freeze the diffusivity per cycle or recompute it every step.
    save_every, progress
        As in :func:`pdecore.evolve`.

    Returns
    -------
    Evolution
    """
    _, _, d, lam, h, order = scheme_args(LATER, LATER, diffusivity, lam, h, order)
    cycles = as_int(cycles, "cycles", minimum=1)
    update = as_choice(update, "update", UPDATE_MODES)
    u0 = as_signal(u0, "u0", min_length=order + 1)  # tau_max: checked by fsi_schedule
    tau_cycle, alphas = fsi_schedule(T, tau_max, cycles)
    n = alphas.size
    frozen = np.empty(u0.shape[:-1] + (u0.shape[-1] - order,))
    state = {"prev": u0}

    def step(u: np.ndarray, k: int) -> np.ndarray:
        j = k % n
        if j == 0:
            state["prev"] = u  # restart: u^{-1} = u^0
            if update == "cycle":
                _diffusivity_values(u, d, lam, h, order, frozen)
        g = frozen if update == "cycle" else None
        new = _explicit_step(u, tau_cycle, d, lam, h, order, np.empty_like(u), g)
        new *= alphas[j]
        new += (1.0 - alphas[j]) * state["prev"]
        state["prev"] = u
        return new

    return evolve(u0, step, cycles * n, save_every=save_every, progress=progress)
