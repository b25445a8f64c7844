"""The argument check that every numerical scheme of :mod:`pdecore` starts with.

The explicit, FED, FSI, semi-implicit and multigrid steps share the arguments
``(u, tau, diffusivity, lam, h, order)``. :func:`scheme_args` sends them through the gate
of :mod:`pdecore._validation` in one fixed order (diffusivity, order, tau, lam, h, then the
signal, which needs ``order + 1`` points), so that every scheme reports the same first bad
argument with the same message. It lives beside the schemes rather than in
``_validation`` because it resolves diffusivity names (``pdecore.diffusivities`` itself
uses the gate).
"""

from __future__ import annotations

import numpy as np

from ._validation import as_order, as_positive, as_scale, as_signal
from .diffusivities import Diffusivity, DiffusivityLike, get_diffusivity

__all__ = ["LATER", "scheme_args"]


class _Later:
    """Type of :data:`LATER` (a readable repr in tracebacks)."""

    def __repr__(self) -> str:
        return "LATER"


#: Pass as ``u`` or ``tau`` when the scheme checks that argument itself: later (after its
#: own options, to keep the order of its checks) or under another name (``tau_max``).
LATER = _Later()


def scheme_args(
    u: object,
    tau: object,
    diffusivity: DiffusivityLike,
    lam: object,
    h: object,
    order: object,
    *,
    name: str = "u",
) -> tuple[np.ndarray, float, Diffusivity, float, float, int]:
    """Check the arguments shared by the schemes and return them, in the same order.

    Checks, in this order: ``diffusivity`` (a name, :class:`~pdecore.Diffusivity` or
    callable), ``order`` (1 or 2), ``tau`` (``> 0``), ``lam`` and ``h`` (positive
    scales), then the signal ``u`` with at least ``order + 1`` points, reported as
    ``name``. ``u`` or ``tau`` given as :data:`LATER` is skipped and returned as is.

    Returns
    -------
    u : ndarray
        float64, ``(N,)`` or ``(B, N)`` (the input itself when it already is one).
    tau : float
    d : Diffusivity
    lam, h : float
    order : int

    Raises
    ------
    TypeError, ValueError
        From the gate's helpers; each message starts with the argument's name.
    """
    d = get_diffusivity(diffusivity)
    order = as_order(order)
    if tau is not LATER:
        tau = as_positive(tau, "tau")
    lam = as_scale(lam, "lam")
    h = as_scale(h, "h")
    if u is not LATER:
        u = as_signal(u, name, min_length=order + 1)
    return u, tau, d, lam, h, order
