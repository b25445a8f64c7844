r"""The explicit scheme and the shared time-stepping driver.

.. math:: u^{k+1} = u^k - \tau\, D_m^\top \Phi(D_m u^k)

One explicit step is one residual block (chapter 2, :ref:`ch-explicit`): the skip
connection is the time discretisation, :math:`D_m` the first convolution, the flux
:math:`\Phi` the activation and :math:`-\tau D_m^\top` the second (transposed)
convolution. Chapter 1 (:ref:`ch-diffusion`) uses it to show the properties of the model.

All time loops of the package run through :func:`evolve`; a scheme only supplies its
step function.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._schemes import scheme_args
from ._validation import as_int, as_positive, as_scale, as_signal
from .diffusivities import Diffusivity, DiffusivityLike
from .operators import _add_adjoint, _difference, stability_limit

__all__ = ["Evolution", "evolve", "explicit_step", "explicit_evolution", "maxmin_limit"]


_WORK = threading.local()
_FLOAT64 = np.dtype(np.float64)


def _workspace(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Two float64 work arrays of ``shape``, kept per thread for the last shape used.

    Fresh large arrays cost page faults on first touch (about 1.5 ns per point each at
    N = 1e6, half the cost of a whole step), so repeated steps reuse them.
    """
    cached = getattr(_WORK, "buffers", None)
    if cached is None or cached[0].shape != shape:
        cached = (np.empty(shape), np.empty(shape))
        _WORK.buffers = cached
    return cached


def _explicit_step(
    u: np.ndarray,
    tau: float,
    d: Diffusivity,
    lam: float,
    h: float,
    order: int,
    out: np.ndarray,
    g_frozen: np.ndarray | None = None,
) -> np.ndarray:
    """Unchecked explicit step into ``out`` (which may be ``u``).

    With ``g_frozen`` (values of the diffusivity on the N - m difference positions) the
    step is the linear one ``u - tau D^T diag(g_frozen) D u`` (FED/FSI cycles with the
    diffusivity frozen per cycle).
    """
    s, g = _workspace(u.shape[:-1] + (u.shape[-1] - order,))
    _difference(u, order, s)  # h^m D u
    if h != 1.0:
        s *= h**-order
    if g_frozen is None:
        np.multiply(s, s, out=g)
        d.g(g, lam, g)
        s *= g  # Phi(D u)
    else:
        s *= g_frozen
    s *= -tau if h == 1.0 else -tau * h**-order  # scale once; -tau * 1.0 is -tau exactly
    return _add_adjoint(out, s, order, source=u)  # out = u + D^T s, no separate copy of u


def _diffusivity_values(
    u: np.ndarray, d: Diffusivity, lam: float, h: float, order: int, out: np.ndarray
) -> np.ndarray:
    """Write :math:`g((D_m u)^2)` into ``out`` (a diffusivity frozen for one cycle)."""
    _difference(u, order, out)
    if h != 1.0:
        out *= h**-order
    np.multiply(out, out, out=out)
    return d.g(out, lam, out=out)


def explicit_step(
    u: object,
    tau: float,
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    h: float = 1.0,
    order: int = 1,
    *,
    check_stability: bool = False,
    out: np.ndarray | None = None,
) -> np.ndarray:
    r"""Take one explicit step of nonlinear diffusion.

    .. math:: u^{k+1} = u^k - \tau\, D_m^\top \Phi(D_m u^k), \qquad
              \Phi(s) = g(s^2)\, s

    Parameters
    ----------
    u : (N,) or (B, N) array_like
        Current signal(s) :math:`u^k`; not modified (unless passed as ``out``).
    tau : float
        Step size :math:`\tau > 0`.
    diffusivity : str or callable
        Name from :data:`pdecore.DIFFUSIVITIES` or a callable ``g(s2, lam)``.
    lam : float
        Contrast parameter :math:`\lambda > 0`.
    h : float
        Grid size :math:`h > 0`.
    order : {1, 2}
        Derivative order :math:`m` (2 gives fourth-order diffusion).
    check_stability : bool
        If true, raise when ``tau`` exceeds :func:`pdecore.stability_limit` with the
        diffusivity's bound ``g_max`` (1 for the registered ones); for a plain callable,
        which declares no bound, with the largest value it takes on this signal (and
        raise if it returns NaN, inf or negative values).
    out : ndarray, optional
        float64 array of ``u``'s shape to write the result into: ``u`` itself for an
        in-place update, or an array that does not overlap ``u``.

    Returns
    -------
    ndarray
        :math:`u^{k+1}`, float64, same shape as ``u``.

    Raises
    ------
    ValueError
        Bad shape of ``u`` or ``out``, NaN/inf in ``u``, non-positive ``tau``, ``lam``
        or ``h``, unknown diffusivity, ``order`` not in {1, 2}, or (with
        ``check_stability``) ``tau`` above the stability limit.
    TypeError
        Non-numeric input, or ``out`` not a float64 ndarray.

    See Also
    --------
    pdecore.nets.SymmetricBlock : the same step as a residual block.
    stability_limit : :math:`2/(g_{\max}\|D_m\|^2)`.

    Notes
    -----
    The sum of :math:`u` is preserved because
    :math:`\mathbf 1^\top D_m^\top = (D_m \mathbf 1)^\top = 0`. For
    :math:`\tau \le 2/(g_{\max}\|D_m\|^2)` the Euclidean norm does not increase; for
    :math:`m = 1` and :math:`\tau \le h^2/(2 g_{\max})` the step is a convex combination
    of neighbours, so a max-min principle holds. Used in chapters 1 and 2.

    References
    ----------
    .. [1] T. Alt, K. Schrader, M. Augustin, P. Peter, J. Weickert, "Connections
       between numerical algorithms for PDEs and neural networks", J. Math. Imaging
       Vis., 2022, section 3. arXiv:2107.14742

    Examples
    --------
    >>> import numpy as np, pdecore
    >>> u = np.array([0.0, 0.0, 1.0, 1.0])
    >>> print(pdecore.explicit_step(u, 0.25, "linear"))
    [0.   0.25 0.75 1.  ]
    """
    u, tau, d, lam, h, order = scheme_args(u, tau, diffusivity, lam, h, order)
    if check_stability:
        g_max = d.g_max
        if callable(diffusivity) and not isinstance(diffusivity, Diffusivity):
            # a plain callable declares no bound: use its values on this signal
            g_max = _data_g_max(u, d, lam, h, order)
        limit = stability_limit(u.shape[-1], order, h, g_max) if g_max > 0 else np.inf
        if tau > limit * (1 + 1e-12):
            raise ValueError(
                f"tau={tau} exceeds the stability limit {limit:.6g} = "
                f"2/(g_max*||D||^2) with g_max={g_max:.6g} for N={u.shape[-1]}, "
                f"order={order}, h={h}"
            )
    if out is None:
        out = np.empty_like(u)
    elif type(out) is np.ndarray and out.dtype is _FLOAT64 and out.shape == u.shape:
        pass  # the common case, checked cheaply
    elif not isinstance(out, np.ndarray) or out.dtype != np.float64:
        raise TypeError(
            f"out must be a float64 ndarray, got {type(out).__name__} "
            f"with dtype {getattr(out, 'dtype', None)}"
        )
    elif out.shape != u.shape:
        raise ValueError(f"out must have u's shape {u.shape}, got shape {out.shape}")
    return _explicit_step(u, tau, d, lam, h, order, out)


def _data_g_max(u: np.ndarray, d: Diffusivity, lam: float, h: float, order: int) -> float:
    """Largest value of ``d`` on the differences of ``u``; refuses NaN and negative values."""
    s = np.empty(u.shape[:-1] + (u.shape[-1] - order,))
    _difference(u, order, s)
    s *= h**-order
    g = d.g(s * s, lam)
    if not np.all(np.isfinite(g)):
        raise ValueError(f"diffusivity {d.name!r} returned non-finite values on this "
                         f"signal; the stability check needs finite g >= 0")
    if g.size and g.min() < 0:
        raise ValueError(f"diffusivity {d.name!r} returned a negative value "
                         f"({g.min():.3g}); the stability check needs g >= 0")
    return float(g.max()) if g.size else 0.0


def maxmin_limit(h: float = 1.0, g_max: float = 1.0) -> float:
    r"""Step-size bound :math:`h^2/(2 g_{\max})` for the max-min principle (m = 1).

    For :math:`\tau \le h^2/(2 g_{\max})` each explicit step writes :math:`u^{k+1}_i`
    as a convex combination of :math:`u^k_{i-1}, u^k_i, u^k_{i+1}`, so
    :math:`\min f \le u^k_i \le \max f` for all :math:`k`.

    Examples
    --------
    >>> import pdecore
    >>> print(pdecore.maxmin_limit())
    0.5
    """
    return as_scale(h, "h") ** 2 / (2.0 * as_positive(g_max, "g_max"))


@dataclass(frozen=True)
class Evolution:
    """The result of :func:`evolve`.

    Attributes
    ----------
    u : ndarray
        The final state after ``n_steps`` steps.
    states : ndarray, shape ``(n_saved, *u.shape)``
        Saved states, the initial one first and the final one last.
    steps : ndarray of int, shape (n_saved,)
        Step index of each saved state.
    """

    u: np.ndarray
    states: np.ndarray
    steps: np.ndarray


def evolve(
    u0: object,
    step: Callable[[np.ndarray, int], np.ndarray],
    n_steps: int,
    *,
    save_every: int = 0,
    progress: bool = False,
) -> Evolution:
    r"""Iterate ``u^{k+1} = step(u^k, k)`` for ``k = 0, ..., n_steps - 1``.

    The one time loop of the package: explicit, FED, FSI and implicit evolutions supply
    only their ``step`` (the torchdiffeq ``FixedGridODESolver`` pattern).

    Parameters
    ----------
    u0 : (N,) or (B, N) array_like
        Initial state (not modified).
    step : callable
        ``step(u, k) -> ndarray``; it must not keep references to ``u`` that it
        modifies later.
    n_steps : int
        Number of steps, ``>= 0``.
    save_every : int
        Save every ``save_every``-th state (and always the first and the last);
        0 saves only those two.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    Evolution

    Examples
    --------
    >>> import numpy as np, pdecore
    >>> ev = pdecore.evolve(np.ones(3), lambda u, k: 0.5 * u, 3, save_every=1)
    >>> print(ev.steps, ev.u)
    [0 1 2 3] [0.125 0.125 0.125]
    """
    u = as_signal(u0, "u0", min_length=1).copy()
    n_steps = as_int(n_steps, "n_steps", minimum=0)
    save_every = as_int(save_every, "save_every", minimum=0)
    if not callable(step):
        raise TypeError(f"step must be callable step(u, k), got {type(step).__name__}")
    states, steps = [u.copy()], [0]
    iterator = range(n_steps)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, desc="time steps", leave=False)
    for k in iterator:
        u = step(u, k)
        if (save_every and (k + 1) % save_every == 0) or k + 1 == n_steps:
            states.append(np.array(u, copy=True))
            steps.append(k + 1)
    return Evolution(u=u, states=np.stack(states), steps=np.asarray(steps))


def explicit_evolution(
    u0: object,
    tau: float,
    n_steps: int,
    diffusivity: DiffusivityLike = "perona_malik",
    lam: float = 1.0,
    h: float = 1.0,
    order: int = 1,
    *,
    save_every: int = 0,
    progress: bool = False,
) -> Evolution:
    r"""Run ``n_steps`` explicit steps (:func:`explicit_step`) from ``u0``.

    Parameters are those of :func:`explicit_step` and :func:`evolve`. The diffusion
    time reached is :math:`T = \tau\, n_{\text{steps}}`.

    Returns
    -------
    Evolution

    Examples
    --------
    >>> import numpy as np, pdecore
    >>> ev = pdecore.explicit_evolution(np.array([0.0, 0.0, 1.0, 1.0]), 0.25, 100, "linear")
    >>> print(np.round(ev.u, 6))
    [0.5 0.5 0.5 0.5]
    """
    u0, tau, d, lam, h, order = scheme_args(u0, tau, diffusivity, lam, h, order, name="u0")
    buffers = [np.empty_like(u0), np.empty_like(u0)]

    def step(u: np.ndarray, k: int) -> np.ndarray:  # ping-pong between two buffers
        return _explicit_step(u, tau, d, lam, h, order, buffers[k % 2])

    return evolve(u0, step, n_steps, save_every=save_every, progress=progress)
