r"""Flux functions as activation functions: :math:`\Phi(s) = g(s^2)\,s`, and the registry.

In the residual block of chapter 2 (:ref:`ch-explicit`) the flux of the diffusion model
is the activation. :class:`FluxActivation` evaluates the diffusivities of
:data:`pdecore.DIFFUSIVITIES` in torch; the tests check it against the numpy registry,
so the two cannot drift apart. Every registered flux satisfies the sector condition
:math:`0 \le \Phi(s)/s \le 1` (``sector_bound = 1``). So do :class:`SectorReLU`, the
ReLU :math:`\max(s, 0)`, a monotone activation of the same sector, and
:class:`TrainableFlux`, a learned flux :math:`s\,g(s^2)` with :math:`g \in (0, L)` by
construction (chapter 6, :ref:`ch-learned-activations`).

:data:`ACTIVATIONS` is the one registry of activation names, and :func:`as_activation`
the one place where a name becomes a module; every network of :mod:`pdecore.nets`
resolves its ``activation`` argument there:

=======================================  ================================  ====================
name                                     module                            ``sector_bound``
=======================================  ================================  ====================
a diffusivity (``"perona_malik"``, ...)  :class:`FluxActivation`           1
``"relu"``                               :class:`SectorReLU`               1
``"trainable"``                          :class:`TrainableFlux`            its ``sector_bound``
``"trainable_monotone"``                 :class:`TrainableFlux`, monotone  its ``sector_bound``
``"gelu"``, ``"silu"``, ``"tanh"``       the torch modules                 none
=======================================  ================================  ====================

:data:`SECTOR_ACTIVATIONS` lists the names with a sector bound, those a stable network
accepts.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .._validation import as_bool, as_choice, as_int, as_positive, as_scale
from ..diffusivities import ALIASES, DIFFUSIVITIES, WEICKERT_C
from ._checks import check_float_tensor

__all__ = [
    "ACTIVATIONS",
    "FluxActivation",
    "SECTOR_ACTIVATIONS",
    "SectorReLU",
    "TORCH_DIFFUSIVITIES",
    "TrainableFlux",
    "as_activation",
]


def _weickert(s2: torch.Tensor, lam: float) -> torch.Tensor:
    # g = 1 - exp(-C r^4) with r = lam^2 / s^2. Below s^2/lam^2 = 1e-3 ** 0.25, i.e.
    # C r^4 >= 3314, g is 1.0 in floating point; the clamp keeps the gradient finite there
    # (exp(-C r^4) * r^3 would be 0 * inf at tiny s). Using r instead of (s/lam)^8 keeps
    # large s finite too: (s^2/lam^2)^4 and its derivative overflow (NaN gradients) for
    # |s|/lam above about 3e6 in float32.
    r = lam**2 / torch.clamp(s2, min=1e-3**0.25 * lam**2)
    return -torch.expm1(-WEICKERT_C * r**4)


#: torch twins of the numpy diffusivities ``g(s2, lam)``.
TORCH_DIFFUSIVITIES: dict[str, Callable[[torch.Tensor, float], torch.Tensor]] = {
    "linear": lambda s2, lam: torch.ones_like(s2),
    "perona_malik": lambda s2, lam: 1.0 / (1.0 + s2 / lam**2),
    "exponential": lambda s2, lam: torch.exp(-0.5 * s2 / lam**2),
    "charbonnier": lambda s2, lam: torch.rsqrt(1.0 + s2 / lam**2),
    "weickert": _weickert,
}


def _softplus(x: torch.Tensor) -> torch.Tensor:
    """``log(1 + exp(x))``; torch's default cut-off at x = 20 would err by 2e-9."""
    return torch.nn.functional.softplus(x, threshold=40.0)


def _mean_sigmoid(a: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    r"""Mean of the logistic function over :math:`[a, a + h]`, elementwise.

    :math:`(\operatorname{softplus}(a + h) - \operatorname{softplus}(a))/h`, and for
    :math:`|h| < 10^{-2}` the expansion :math:`\sigma(m) + \sigma''(m) h^2/24` about the
    midpoint :math:`m` (error below :math:`10^{-11}`), which avoids the cancellation.
    """
    small = h.abs() < 1e-2
    h_safe = torch.where(small, torch.ones_like(h), h)  # no 0/0 in the unused branch
    direct = (_softplus(a + h_safe) - _softplus(a)) / h_safe
    sig = torch.sigmoid(a + 0.5 * h)
    taylor = sig + sig * (1.0 - sig) * (1.0 - 2.0 * sig) * h * h / 24.0
    return torch.where(small, taylor, direct)


class FluxActivation(nn.Module):
    r"""The flux :math:`\Phi(s) = g(s^2)\,s` of a registered diffusivity as activation.

    Parameters
    ----------
    name : str
        A key of :data:`pdecore.DIFFUSIVITIES` (``"perona_malik"``, ...).
    lam : float
        Contrast parameter :math:`\lambda > 0`.

    Attributes
    ----------
    sector_bound : float
        :math:`L` with :math:`0 \le \Phi(s)/s \le L` (1 for every registered flux).

    See Also
    --------
    pdecore.flux : the numpy twin.

    Examples
    --------
    >>> import torch
    >>> from pdecore.nets import FluxActivation
    >>> phi = FluxActivation("perona_malik", lam=1.0)
    >>> print(f"{phi(torch.tensor(2.0)).item():.2f}")
    0.40
    """

    def __init__(self, name: str = "perona_malik", lam: float = 1.0) -> None:
        super().__init__()
        if not isinstance(name, str):
            raise TypeError(f"name must be a diffusivity name (str), got {type(name).__name__}")
        key = ALIASES.get(name, name)
        if key not in TORCH_DIFFUSIVITIES:
            raise ValueError(f"unknown diffusivity {name!r}; choose one of {sorted(DIFFUSIVITIES)}")
        self.name = key
        self.lam = as_scale(lam, "lam")
        self.sector_bound = DIFFUSIVITIES[key].g_max
        self._g = TORCH_DIFFUSIVITIES[key]

    def diffusivity(self, s2: torch.Tensor) -> torch.Tensor:
        r"""Return :math:`g(s^2)`, i.e. :math:`\Phi(s)/s`."""
        return self._g(s2, self.lam)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        r"""Apply :math:`\Phi` elementwise."""
        check_float_tensor(s, "s")
        return self._g(s * s, self.lam) * s

    def extra_repr(self) -> str:
        """Describe the module in ``repr``."""
        return f"name={self.name!r}, lam={self.lam}"


class SectorReLU(nn.Module):
    r"""The ReLU :math:`\Phi(s) = \max(s, 0)` as a flux of the sector :math:`[0, 1]`.

    :math:`\Phi(s)/s` is 1 for :math:`s > 0` and 0 for :math:`s < 0`, so the sector
    condition :math:`0 \le \Phi(s)/s \le L` holds with ``sector_bound`` :math:`L = 1`
    and a :class:`~pdecore.nets.SymmetricBlock` with :math:`\tau \le 2/\|W\|_2^2` is
    Euclidean-stable. Unlike the diffusion fluxes it is monotone but not odd: it is not
    of the form :math:`s\,g(s^2)`.

    Attributes
    ----------
    sector_bound : float
        :math:`L = 1`.

    See Also
    --------
    FluxActivation : the fluxes of the diffusion models.

    Notes
    -----
    The monotone ReLU-type baseline of chapter 6 (:ref:`ch-learned-activations`).

    Examples
    --------
    >>> import torch
    >>> from pdecore.nets import SectorReLU
    >>> print(SectorReLU()(torch.tensor([-2.0, 0.0, 3.0])).tolist())
    [0.0, 0.0, 3.0]
    """

    sector_bound = 1.0

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        r"""Apply :math:`\max(s, 0)` elementwise."""
        check_float_tensor(s, "s")
        return torch.relu(s)


class TrainableFlux(nn.Module):
    r"""A trainable flux that satisfies the sector condition by construction.

    .. math:: \Phi(s) = s\, g(s^2), \qquad
              g = L\,\sigma\Bigl(b + \sum_{k=1}^K a_k\, \beta_k(|s|)\Bigr) \in (0, L),

    with the logistic function :math:`\sigma`, fixed centres :math:`c_k` evenly spaced
    on :math:`[0, s_{\max}]` with spacing :math:`w = s_{\max}/(K-1)`, trainable
    :math:`a_k, b`, and the basis functions

    - ``"gaussian"``: :math:`\beta_k(r) = \exp\bigl(-(r - c_k)^2 / (2 w^2)\bigr)`
      (smooth);
    - ``"hat"``: :math:`\beta_k(r) = \max(0, 1 - |r - c_k|/w)`, so that
      :math:`b + \sum_k a_k \beta_k` is the piecewise-linear interpolant of the values
      :math:`b + a_k` at the centres (zero beyond :math:`s_{\max} + w`); only two basis
      functions are nonzero at any :math:`r`, which makes it several times cheaper.

    Whatever is learned, :math:`0 \le \Phi(s)/s \le L`, so a
    :class:`~pdecore.nets.SymmetricBlock` with :math:`\tau \le 2/(L\|W\|^2)` stays
    Euclidean-stable (chapter 6, :ref:`ch-learned-activations`). The flux may become
    nonmonotone (Perona-Malik-like).

    With ``monotone=True`` (hat basis only) the same :math:`K + 1` parameters and the
    same function :math:`L\sigma(z(r))`, :math:`z = b + \sum_k a_k \beta_k`, describe the
    *slope* instead of :math:`\Phi(s)/s`: the odd flux with :math:`\Phi(0) = 0` and

    .. math:: \Phi'(r) = L\,\sigma\Bigl(b + \sum_{k=1}^K a_k\, \beta_k(r)\Bigr)
              \in (0, L), \qquad r = |s|,

    integrated exactly: on a piece where :math:`z` is linear,
    :math:`\int \sigma(z) = \Delta r\,(\operatorname{softplus}(z_1) -
    \operatorname{softplus}(z_0))/(z_1 - z_0)` (a Taylor expansion where
    :math:`|z_1 - z_0| < 10^{-2}`). Since :math:`0 < \Phi' < L`, :math:`\Phi` is monotone
    *by construction*, and :math:`\Phi(s)/s`, the mean of :math:`\Phi'` over
    :math:`[0, |s|]`, lies in :math:`(0, L)`: the same sector, the same parameters and the
    same initial function :math:`\Phi(s) =` ``init`` :math:`\cdot\, s`. The two flux
    families differ in one factor, whether the learned function is :math:`\Phi(s)/s`
    (free to make :math:`\Phi` decrease) or :math:`\Phi'` (never decreasing): the
    trainable monotone control of chapter 6.

    Parameters
    ----------
    sector_bound : float
        :math:`L > 0`.
    n_basis : int
        Number :math:`K \ge 2` of basis functions.
    s_max : float
        Largest centre; beyond it :math:`g` tends to :math:`L\sigma(b)`.
    init : float
        Initial value of :math:`g` (of :math:`\Phi'` with ``monotone``) everywhere, in
        :math:`(0, L)`.
    basis : {"gaussian", "hat"}
        The basis functions :math:`\beta_k`.
    monotone : bool
        Parametrise the slope :math:`\Phi'` (monotone by construction, needs
        ``basis="hat"``) instead of :math:`\Phi(s)/s`.

    Raises
    ------
    TypeError, ValueError
        Bad sizes, ``init`` outside :math:`(0, L)`, unknown basis, ``monotone`` with the
        Gaussian basis (the messages name the argument).

    Examples
    --------
    >>> import torch
    >>> from pdecore.nets import TrainableFlux
    >>> phi = TrainableFlux(sector_bound=1.0, init=0.5)
    >>> print(f"{phi(torch.tensor([2.0])).item():.2f}")
    1.00
    >>> mono = TrainableFlux(init=0.5, basis="hat", monotone=True)
    >>> print(f"{mono(torch.tensor([2.0])).item():.2f}")
    1.00
    """

    BASES = ("gaussian", "hat")

    def __init__(self, sector_bound: float = 1.0, n_basis: int = 16, s_max: float = 3.0,
                 init: float = 0.5, basis: str = "gaussian", monotone: bool = False) -> None:
        super().__init__()
        self.sector_bound = as_positive(sector_bound, "sector_bound")
        n_basis = as_int(n_basis, "n_basis", minimum=2)
        s_max = as_positive(s_max, "s_max")
        init = as_positive(init, "init")
        if init >= self.sector_bound:
            raise ValueError(f"init must be in (0, sector_bound={self.sector_bound}), got {init}")
        as_choice(basis, "basis", self.BASES)
        monotone = as_bool(monotone, "monotone")
        if monotone and basis != "hat":
            raise ValueError(f"monotone=True needs basis='hat' (the slope is integrated "
                             f"exactly), got basis={basis!r}")
        self.basis = basis
        self.monotone = monotone
        self.register_buffer("centres", torch.linspace(0.0, s_max, n_basis))
        self.width = s_max / (n_basis - 1)
        p = init / self.sector_bound
        # logit on the CPU, so that a build on the meta device (a parameter count) works
        logit = float(torch.logit(torch.tensor(p, device="cpu")))
        self.bias = nn.Parameter(torch.tensor(logit))
        self.weights = nn.Parameter(torch.zeros(n_basis))

    def _expansion(self, r: torch.Tensor) -> torch.Tensor:
        r""":math:`\sum_k a_k \beta_k(r)` for ``r >= 0``."""
        weights = self.weights.to(r.dtype)
        if self.basis == "hat":
            n = weights.numel()
            x = (r / self.width).clamp(max=n)  # beyond the last hat: both weights are 0
            # NaN would become an invalid index; index 0 instead, and NaN propagates via frac
            i = torch.nan_to_num(torch.floor(x), nan=0.0).detach()
            frac = x - i
            padded = torch.cat([weights, weights.new_zeros(2)])
            i = i.long()
            return padded[i] * (1.0 - frac) + padded[i + 1] * frac
        centres = self.centres.to(r.dtype)
        basis = torch.exp(-((r.unsqueeze(-1) - centres) ** 2) / (2 * self.width**2))
        return basis @ weights

    def _knot_logits(self, dtype: torch.dtype) -> torch.Tensor:
        r""":math:`z` at the knots :math:`0, w, \dots, (K+1) w`: :math:`b + a_k`, then :math:`b`."""
        weights = self.weights.to(dtype)
        return self.bias.to(dtype) + torch.cat([weights, weights.new_zeros(2)])

    def _monotone_flux(self, r: torch.Tensor) -> torch.Tensor:
        r""":math:`\Phi(r) = \int_0^r L\sigma(z(t))\,dt` for ``r >= 0``, in closed form.

        On piece :math:`i` (:math:`z` linear from :math:`z_i` to :math:`z_i + \delta_i`,
        :math:`r = (i + f) w`), :math:`\Phi = L(K_i + w f\, m(z_i, \delta_i f))` with
        the mean :math:`m` of :math:`\sigma` over :math:`[z_i, z_i + \delta_i f]`
        (:func:`_mean_sigmoid`) and the integral :math:`K_i` up to knot :math:`i`.
        """
        z = self._knot_logits(r.dtype)
        n = z.numel() - 2
        w = self.width
        z0, dz = z[:-1], z[1:] - z[:-1]  # n + 1 pieces; the last one (beyond) has dz = 0
        pieces = w * _mean_sigmoid(z0[:-1], dz[:-1])
        knots = torch.cat([pieces.new_zeros(1), torch.cumsum(pieces, 0)])  # Phi / L
        x = r / w
        i = torch.nan_to_num(torch.floor(x), nan=0.0).clamp(max=n).detach().long()
        f = x - i  # beyond the last knot f grows and z stays b: slope L sigma(b)
        value = knots[i] + w * f * _mean_sigmoid(z0[i], dz[i] * f)
        return self.sector_bound * value

    def slope(self, s: torch.Tensor) -> torch.Tensor:
        r"""Return :math:`\Phi'(s) = L\sigma(z(|s|))` of the monotone flux (``monotone`` only)."""
        if not self.monotone:
            raise ValueError("slope is the learned function of monotone=True only; use "
                             "autograd for the free flux")
        check_float_tensor(s, "s")
        return self.sector_bound * torch.sigmoid(self.bias.to(s.dtype)
                                                 + self._expansion(s.abs()))

    def diffusivity(self, s2: torch.Tensor) -> torch.Tensor:
        r"""Return :math:`g(s^2) = \Phi(s)/s \in (0, L)` (:math:`\Phi'(0)` at 0)."""
        r = torch.sqrt(s2 + 1e-30)
        if self.monotone:
            r_safe = torch.where(s2 > 0, torch.sqrt(s2.clamp_min(0)), torch.ones_like(s2))
            ratio = self._monotone_flux(r_safe) / r_safe
            at_zero = self.sector_bound * torch.sigmoid(self._knot_logits(s2.dtype)[0])
            return torch.where(s2 > 0, ratio, at_zero.expand_as(s2))
        return self.sector_bound * torch.sigmoid(self.bias.to(s2.dtype) + self._expansion(r))

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        r"""Apply :math:`\Phi` elementwise."""
        check_float_tensor(s, "s")
        if self.monotone:  # odd extension; sign(0) := 1 keeps the slope Phi'(0) for autograd
            sign = torch.where(s >= 0, 1.0, -1.0).to(s.dtype)
            return sign * self._monotone_flux(sign * s)
        if self.basis == "hat":  # |s| directly: no square root of s^2 in the graph
            z = self.bias.to(s.dtype) + self._expansion(s.abs())
            return s * (self.sector_bound * torch.sigmoid(z))
        return s * self.diffusivity(s * s)

    def extra_repr(self) -> str:
        """Describe the module in ``repr``."""
        return (f"sector_bound={self.sector_bound}, n_basis={self.centres.numel()}, "
                f"s_max={float(self.centres[-1]):g}, basis={self.basis!r}, "
                f"monotone={self.monotone}")


def _flux(name: str) -> Callable[..., nn.Module]:
    def make(lam: float, **flux_options: object) -> nn.Module:
        return FluxActivation(name, lam)
    return make


def _plain(cls: type[nn.Module]) -> Callable[..., nn.Module]:
    def make(lam: float, **flux_options: object) -> nn.Module:
        return cls()
    return make


def _trainable(monotone: bool) -> Callable[..., nn.Module]:
    def make(lam: float, **flux_options: object) -> nn.Module:
        if monotone:  # the slope is integrated exactly on the hat basis only
            flux_options = {"basis": "hat", **flux_options}
        return TrainableFlux(**flux_options, monotone=monotone)
    return make


#: Every activation name of :mod:`pdecore.nets`: name -> factory ``(lam, **flux_options)``
#: of a new module. The one registry: every constructor resolves names through
#: :func:`as_activation`, so a name means the same module everywhere.
ACTIVATIONS: dict[str, Callable[..., nn.Module]] = {
    **{name: _flux(name) for name in DIFFUSIVITIES},  # FluxActivation(name, lam)
    "relu": _plain(SectorReLU),
    "trainable": _trainable(False),
    "trainable_monotone": _trainable(True),
    "gelu": _plain(nn.GELU),
    "silu": _plain(nn.SiLU),
    "tanh": _plain(nn.Tanh),
}

#: The names of :data:`ACTIVATIONS` whose modules satisfy the sector condition
#: :math:`0 \le \Phi(s)/s \le L` and declare :math:`L` as ``sector_bound``: the learned
#: fluxes, the diffusion fluxes and the ReLU. The stable networks
#: (:class:`~pdecore.nets.DiffusionNet`) accept these.
SECTOR_ACTIVATIONS = ("trainable", "trainable_monotone", *sorted(DIFFUSIVITIES), "relu")


def as_activation(activation: str | nn.Module, lam: float = 1.0,
                  **flux_options: object) -> nn.Module:
    r"""Turn an activation name of :data:`ACTIVATIONS` into a new module; pass a module through.

    Parameters
    ----------
    activation : str or torch.nn.Module
        A name (a diffusivity of :data:`pdecore.DIFFUSIVITIES` or one of its aliases,
        ``"relu"``, ``"trainable"``, ``"trainable_monotone"``, ``"gelu"``, ``"silu"``,
        ``"tanh"``) or a module, returned as it is.
    lam : float
        Contrast parameter :math:`\lambda > 0` of a diffusion flux (checked always).
    **flux_options
        Arguments of :class:`TrainableFlux` (``sector_bound``, ``n_basis``, ``s_max``,
        ``init``, ``basis``) for the two trainable names (``"trainable_monotone"``
        defaults to ``basis="hat"``, the one it needs); ignored by the others.

    Returns
    -------
    torch.nn.Module
        A diffusivity name gives :class:`FluxActivation`, ``"relu"`` :class:`SectorReLU`
        (the same values and gradients as :class:`torch.nn.ReLU`), ``"trainable"`` a
        :class:`TrainableFlux` (``"trainable_monotone"``: with ``monotone=True``),
        ``"gelu"``, ``"silu"``, ``"tanh"`` the torch modules (no ``sector_bound``).

    Raises
    ------
    TypeError
        If ``activation`` is neither a string nor a :class:`torch.nn.Module`.
    ValueError
        If the name is unknown (the message lists :data:`ACTIVATIONS`), or ``lam`` is
        not a positive scale.

    Examples
    --------
    >>> from pdecore.nets import as_activation
    >>> print(type(as_activation("relu")).__name__, as_activation("pm", lam=0.5).name)
    SectorReLU perona_malik
    """
    as_scale(lam, "lam")
    if isinstance(activation, nn.Module):
        return activation
    if isinstance(activation, str):
        key = ALIASES.get(activation, activation)
        if key not in ACTIVATIONS:
            others = sorted(set(ACTIVATIONS) - set(DIFFUSIVITIES))
            raise ValueError(f"unknown activation {activation!r}; choose a diffusivity from "
                             f"{sorted(DIFFUSIVITIES)}, one of {others} or a torch.nn.Module")
        return ACTIVATIONS[key](lam, **flux_options)
    raise TypeError(
        "activation must be a name such as 'perona_malik' or 'relu', or a "
        f"torch.nn.Module, got {type(activation).__name__}"
    )
