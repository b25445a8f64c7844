r"""Diffusivities :math:`g(s^2)` and their flux functions :math:`\Phi(s) = g(s^2)\,s`.

The nonlinear diffusion model of chapter 1 (:ref:`ch-diffusion`),

.. math:: \partial_t u = -D^*\,\Phi(D u), \qquad \Phi(s) = g(s^2)\, s,

is specified by a diffusivity ``g`` with a contrast parameter :math:`\lambda > 0`.
In the network view (chapter 2) the flux :math:`\Phi` is the activation function.
All diffusivities here satisfy :math:`0 \le g \le 1`, i.e. the sector condition
:math:`0 \le \Phi(s)/s \le 1` that the stability theorem needs.

The registry :data:`DIFFUSIVITIES` maps a name to a :class:`Diffusivity`; the numpy
schemes and the torch activations (:mod:`pdecore.nets`) both read it, so the two cannot
drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Union

import numpy as np
import scipy.special

from ._validation import as_scale

__all__ = [
    "DIFFUSIVITIES",
    "Diffusivity",
    "diffusivity",
    "flux",
    "flux_derivative",
    "potential",
    "get_diffusivity",
]

#: Weickert's constant: it puts the maximum of the flux exactly at :math:`|s| = \lambda`.
WEICKERT_C = 3.31488

Array = np.ndarray
DiffusivityLike = Union[str, "Diffusivity", Callable]


def _as_array(x: object, name: str) -> Array:
    arr = np.asarray(x)
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return np.asarray(arr, dtype=np.float64)


def _as_gradient(x: object, name: str = "s") -> Array:
    arr = _as_array(x, name)
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    return arr


# --- g(s^2, lam, out) for each diffusivity: written with out= so the explicit step can
# --- evaluate them without temporaries (see pdecore.explicit).


def _out(s2: Array, out: Array | None) -> Array:
    # A ufunc on a 0-d array returns a numpy scalar, which cannot serve as out= of the
    # next in-place ufunc, so allocate an array (0-d for scalar input) up front.
    return np.empty(np.shape(s2)) if out is None else out


#: 1.0 as a 0-d array: a ufunc takes it without the conversion a Python float costs
#: (about 0.3 us a call, several per cent of an explicit step at N = 256); same bits.
_ONE = np.array(1.0)
_ONE.flags.writeable = False


def _scaled(s2: Array, factor: float, out: Array | None) -> Array:
    """``s2 * factor`` into ``out``; with ``out is s2`` and ``factor == 1`` nothing to do.

    ``x * 1.0`` is ``x`` exactly, so skipping that pass (``lam = 1``, the default) changes
    no bit of the result.
    """
    if factor == 1.0 and out is s2:
        return out
    return np.multiply(s2, factor, out=_out(s2, out))


def _g_linear(s2: Array, lam: float, out: Array | None = None) -> Array:
    if out is None:
        return np.ones_like(s2)
    out.fill(1.0)
    return out


def _g_perona_malik(s2: Array, lam: float, out: Array | None = None) -> Array:
    out = _scaled(s2, 1.0 / lam**2, out)
    out += _ONE
    return np.divide(_ONE, out, out=out)  # faster than np.reciprocal here


def _g_exponential(s2: Array, lam: float, out: Array | None = None) -> Array:
    out = np.multiply(s2, -0.5 / lam**2, out=_out(s2, out))
    return np.exp(out, out=out)


def _g_charbonnier(s2: Array, lam: float, out: Array | None = None) -> Array:
    out = _scaled(s2, 1.0 / lam**2, out)
    out += _ONE
    np.sqrt(out, out=out)
    return np.divide(_ONE, out, out=out)


def _g_weickert(s2: Array, lam: float, out: Array | None = None) -> Array:
    # 1 - exp(-C / (s/lam)^8) = -expm1(-C / x^4), x = s^2/lam^2; x = 0 gives -C/0 = -inf
    # and g = 1, the continuous extension g(0) = 1.
    out = _scaled(s2, 1.0 / lam**2, out)
    with np.errstate(divide="ignore", under="ignore", over="ignore"):
        np.power(out, 4, out=out)
        np.divide(-WEICKERT_C, out, out=out)
        np.expm1(out, out=out)
    return np.negative(out, out=out)


# --- Closed forms of Phi'(s) (for marking backward diffusion) and of the potential
# --- Psi(s) = int_0^s Phi (the energy E(u) = h sum Psi((Du)_i) of the gradient flow).


def _dphi_linear(s: Array, lam: float) -> Array:
    return np.ones_like(s)


def _dphi_perona_malik(s: Array, lam: float) -> Array:
    x = (s / lam) ** 2
    return (1.0 - x) / (1.0 + x) ** 2


def _dphi_exponential(s: Array, lam: float) -> Array:
    x = (s / lam) ** 2
    return (1.0 - x) * np.exp(-0.5 * x)


def _dphi_charbonnier(s: Array, lam: float) -> Array:
    return (1.0 + (s / lam) ** 2) ** -1.5


def _dphi_weickert(s: Array, lam: float) -> Array:
    # Phi' = 1 - (1 + 8 C y) exp(-C y),  y = (lam/s)^8
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        cy = WEICKERT_C * (lam / np.abs(s)) ** 8
        val = 1.0 - (1.0 + 8.0 * cy) * np.exp(-cy)
    return np.where(np.isfinite(cy), val, 1.0)


def _psi_linear(s: Array, lam: float) -> Array:
    return 0.5 * s**2


def _psi_perona_malik(s: Array, lam: float) -> Array:
    return 0.5 * lam**2 * np.log1p((s / lam) ** 2)


def _psi_exponential(s: Array, lam: float) -> Array:
    return -(lam**2) * np.expm1(-0.5 * (s / lam) ** 2)


def _psi_charbonnier(s: Array, lam: float) -> Array:
    x = (s / lam) ** 2
    return lam**2 * x / (np.sqrt(1.0 + x) + 1.0)  # = lam^2 (sqrt(1+x) - 1), no cancellation


def _psi_weickert(s: Array, lam: float) -> Array:
    # With U = C (lam/s)^8, substituting u = C (lam/t)^8 in int_0^s t exp(-C (lam/t)^8) dt
    # gives Psi = s^2/2 (1 - e^-U) + lam^2 C^(1/4) Gamma(3/4, U) / 2 (upper incomplete
    # gamma). Exact for all s; a fixed quadrature rule on [0, s] misses the steep drop
    # of g near |t| = lam once |s| >> lam. s = 0 gives U = inf and Psi = 0.
    with np.errstate(divide="ignore", over="ignore"):
        u = WEICKERT_C * (lam / np.abs(s)) ** 8
    tail = scipy.special.gammaincc(0.75, u) * scipy.special.gamma(0.75)
    return -0.5 * s**2 * np.expm1(-u) + 0.5 * lam**2 * WEICKERT_C**0.25 * tail


@dataclass(frozen=True)
class Diffusivity:
    r"""A diffusivity :math:`g(s^2)` with its flux, flux derivative and potential.

    Attributes
    ----------
    name : str
        Registry key.
    g : callable
        ``g(s2, lam, out=None)``, vectorised over ``s2``.
    dphi : callable or None
        Closed form of :math:`\Phi'(s)`; ``None`` means "use a finite difference".
    psi : callable or None
        Closed form of :math:`\Psi(s) = \int_0^s \Phi`; ``None`` means quadrature.
    monotone : bool
        Whether the flux :math:`\Phi` is nondecreasing (forward diffusion everywhere).
    g_max : float
        :math:`\sup g`, the sector bound :math:`L` of :math:`\Phi(s)/s`.
    formula : str
        The diffusivity in LaTeX, for tables and plot legends.
    """

    name: str
    g: Callable[..., Array]
    dphi: Callable[[Array, float], Array] | None = None
    psi: Callable[[Array, float], Array] | None = None
    monotone: bool = True
    g_max: float = 1.0
    formula: str = ""


#: The registry: each name maps to its :class:`Diffusivity` (g, flux derivative, potential).
DIFFUSIVITIES: dict[str, Diffusivity] = {
    d.name: d
    for d in [
        Diffusivity("linear", _g_linear, _dphi_linear, _psi_linear, True, 1.0, "1"),
        Diffusivity(
            "perona_malik",
            _g_perona_malik,
            _dphi_perona_malik,
            _psi_perona_malik,
            False,
            1.0,
            r"\frac{1}{1 + s^2/\lambda^2}",
        ),
        Diffusivity(
            "exponential",
            _g_exponential,
            _dphi_exponential,
            _psi_exponential,
            False,
            1.0,
            r"\exp\left(-\frac{s^2}{2\lambda^2}\right)",
        ),
        Diffusivity(
            "charbonnier",
            _g_charbonnier,
            _dphi_charbonnier,
            _psi_charbonnier,
            True,
            1.0,
            r"\frac{1}{\sqrt{1 + s^2/\lambda^2}}",
        ),
        Diffusivity(
            "weickert",
            _g_weickert,
            _dphi_weickert,
            _psi_weickert,
            False,
            1.0,
            r"1 - \exp\left(-\frac{3.31488}{(s/\lambda)^8}\right)",
        ),
    ]
}
#: Other spellings accepted for registry names.
ALIASES = {"perona_malik_exp": "exponential", "pm": "perona_malik"}


def get_diffusivity(name: DiffusivityLike) -> Diffusivity:
    """Look up a diffusivity by name, or wrap a callable ``g(s2, lam)``.

    Parameters
    ----------
    name : str, Diffusivity or callable
        A key of :data:`DIFFUSIVITIES` (or an alias), a :class:`Diffusivity`, or a
        callable ``g(s2, lam)`` returning values in ``[0, 1]``.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid names.
    TypeError
        For anything that is neither a string nor callable.
    """
    if type(name) is str and name in DIFFUSIVITIES:  # fast path: a registered name
        return DIFFUSIVITIES[name]
    if isinstance(name, Diffusivity):
        return name
    if isinstance(name, str):
        key = ALIASES.get(name, name)
        if key not in DIFFUSIVITIES:
            raise ValueError(
                f"unknown diffusivity {name!r}; choose one of {sorted(DIFFUSIVITIES)} "
                "or pass a callable g(s2, lam)"
            )
        return DIFFUSIVITIES[key]
    if callable(name):
        fn = name

        def g(s2: Array, lam: float, out: Array | None = None) -> Array:
            val = np.asarray(fn(s2, lam), dtype=np.float64)
            if out is None:
                return val
            out[...] = val
            return out

        label = getattr(fn, "__name__", "custom")
        return Diffusivity(label, g, None, None, False, 1.0, label)
    raise TypeError(
        "diffusivity must be a name from "
        f"{sorted(DIFFUSIVITIES)} or a callable g(s2, lam), got {type(name).__name__}"
    )


def diffusivity(name: DiffusivityLike, s2: object, lam: float = 1.0) -> Array:
    r"""Evaluate the diffusivity :math:`g(s^2)`.

    .. math::
        g_{\mathrm{PM}}(s^2) = \frac{1}{1 + s^2/\lambda^2}, \quad
        g_{\mathrm{exp}}(s^2) = e^{-s^2/(2\lambda^2)}, \quad
        g_{\mathrm{C}}(s^2) = \frac{1}{\sqrt{1 + s^2/\lambda^2}}, \quad
        g_{\mathrm{W}}(s^2) = 1 - e^{-3.31488\,\lambda^8/s^8}

    Parameters
    ----------
    name : str or callable
        ``"linear"``, ``"perona_malik"``, ``"exponential"``, ``"charbonnier"``,
        ``"weickert"``, or a callable ``g(s2, lam)``.
    s2 : array_like
        Squared gradient magnitudes :math:`s^2 \ge 0`.
    lam : float
        Contrast parameter :math:`\lambda > 0`.

    Returns
    -------
    ndarray
        :math:`g(s^2)`, same shape as ``s2``, values in :math:`[0, 1]`.

    Raises
    ------
    ValueError
        Unknown ``name``, ``lam <= 0``, negative or NaN entries of ``s2``.
    TypeError
        Non-numeric ``s2`` or ``lam``.

    See Also
    --------
    flux : :math:`\Phi(s) = g(s^2) s`.
    pdecore.nets.FluxActivation : the same function as a torch activation.

    Notes
    -----
    Used in chapter 1 (:ref:`ch-diffusion`) and by every scheme.

    References
    ----------
    .. [1] P. Perona, J. Malik, "Scale-space and edge detection using anisotropic
       diffusion", IEEE TPAMI 12(7), 1990. doi:10.1109/34.56205
    .. [2] J. Weickert, *Anisotropic Diffusion in Image Processing*, Teubner, 1998.

    Examples
    --------
    >>> import pdecore
    >>> print(f"{float(pdecore.diffusivity('perona_malik', 1.0, lam=1.0)):.2f}")
    0.50
    """
    d = get_diffusivity(name)
    lam = as_scale(lam, "lam")
    s2 = _as_array(s2, "s2")
    if np.isnan(s2).any() or (s2 < 0).any():
        raise ValueError("s2 must be >= 0 and not NaN (it is a squared gradient)")
    return d.g(s2, lam)


def flux(name: DiffusivityLike, s: object, lam: float = 1.0) -> Array:
    r"""Evaluate the flux function :math:`\Phi(s) = g(s^2)\,s`.

    Parameters
    ----------
    name : str or callable
        Diffusivity name (see :func:`diffusivity`) or a callable ``g(s2, lam)``.
    s : array_like
        Gradient values (any sign).
    lam : float
        Contrast parameter :math:`\lambda > 0`.

    Returns
    -------
    ndarray
        :math:`\Phi(s)`, same shape as ``s``. It is odd, :math:`\Phi(0) = 0`, and
        :math:`0 \le \Phi(s)/s \le 1`.

    Raises
    ------
    ValueError
        Unknown ``name``, ``lam <= 0``, NaN entries of ``s``.
    TypeError
        Non-numeric ``s`` or ``lam``.

    See Also
    --------
    flux_derivative : :math:`\Phi'(s)`; negative values mean backward diffusion.
    pdecore.nets.FluxActivation : the torch twin.

    Notes
    -----
    The Perona-Malik flux :math:`s/(1+s^2/\lambda^2)` decreases for
    :math:`|s| > \lambda`: there the PDE diffuses backwards and sharpens edges.
    Used in chapters 1 and 2.

    Examples
    --------
    >>> import pdecore
    >>> print(f"{float(pdecore.flux('perona_malik', 2.0, lam=1.0)):.2f}")
    0.40
    """
    d = get_diffusivity(name)
    lam = as_scale(lam, "lam")
    s = _as_gradient(s)
    return d.g(s * s, lam) * s


def flux_derivative(name: DiffusivityLike, s: object, lam: float = 1.0) -> Array:
    r"""Evaluate :math:`\Phi'(s) = g(s^2) + 2 s^2 g'(s^2)`.

    Closed forms for the registered diffusivities; a central difference for a callable.
    Where :math:`\Phi'(s) < 0` the diffusion runs backwards (edge enhancement).

    Parameters
    ----------
    name : str or callable
        Diffusivity name or callable ``g(s2, lam)``.
    s : array_like
        Gradient values.
    lam : float
        Contrast parameter :math:`\lambda > 0`.

    Returns
    -------
    ndarray
        :math:`\Phi'(s)`, same shape as ``s``.

    Examples
    --------
    >>> import pdecore
    >>> print(f"{float(pdecore.flux_derivative('perona_malik', 1.0, lam=1.0)):.2f}")
    0.00
    """
    d = get_diffusivity(name)
    lam = as_scale(lam, "lam")
    s = _as_gradient(s)
    if d.dphi is not None:
        return d.dphi(s, lam)
    eps = 1e-6 * max(lam, 1.0)
    return (d.g((s + eps) ** 2, lam) * (s + eps) - d.g((s - eps) ** 2, lam) * (s - eps)) / (
        2 * eps
    )


# 64-point Gauss-Legendre rule on [0, 1] for Psi(s) = s * int_0^1 Phi(s t) dt.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(64)
_GL_X, _GL_W = 0.5 * (_GL_X + 1.0), 0.5 * _GL_W
_QUAD_CHUNK = 8192


def potential(name: DiffusivityLike, s: object, lam: float = 1.0) -> Array:
    r"""Evaluate the potential :math:`\Psi(s) = \int_0^s \Phi(t)\,dt`.

    The discrete energy :math:`E(u) = \sum_i \Psi((D u)_i)` is the Lyapunov function
    whose gradient flow is the semi-discrete diffusion :math:`\dot u = -D^\top \Phi(Du)`.

    Closed forms: :math:`\Psi_{\mathrm{PM}} = \tfrac{\lambda^2}{2}\log(1+s^2/\lambda^2)`,
    :math:`\Psi_{\mathrm{exp}} = \lambda^2(1-e^{-s^2/(2\lambda^2)})`,
    :math:`\Psi_{\mathrm{C}} = \lambda^2(\sqrt{1+s^2/\lambda^2}-1)`,
    :math:`\Psi_{\mathrm{W}} = \tfrac{s^2}{2}(1-e^{-U})
    + \tfrac{\lambda^2 C^{1/4}}{2}\,\Gamma(\tfrac34, U)` with
    :math:`U = C\lambda^8/s^8` (upper incomplete gamma); a callable's potential by
    64-point Gauss-Legendre quadrature.

    Parameters
    ----------
    name : str or callable
        Diffusivity name or callable ``g(s2, lam)``.
    s : array_like
        Gradient values.
    lam : float
        Contrast parameter :math:`\lambda > 0`.

    Returns
    -------
    ndarray
        :math:`\Psi(s) \ge 0`, even in ``s``.

    Examples
    --------
    >>> import pdecore
    >>> print(f"{float(pdecore.potential('linear', 2.0)):.2f}")
    2.00
    """
    d = get_diffusivity(name)
    lam = as_scale(lam, "lam")
    s = _as_gradient(s)
    if d.psi is not None:
        return d.psi(s, lam)
    flat = s.reshape(-1)
    out = np.empty_like(flat)
    # in chunks: the quadrature needs 64 values per point, so a whole large signal at
    # once would need 64 times its memory (4 MB per chunk here)
    for start in range(0, flat.size, _QUAD_CHUNK):
        part = flat[start:start + _QUAD_CHUNK]
        t = part[:, None] * _GL_X
        out[start:start + _QUAD_CHUNK] = part * ((d.g(t * t, lam) * t) @ _GL_W)
    return out.reshape(s.shape)
