r"""Diffusion networks: deep symmetric residual networks that are stable by construction.

A :class:`DiffusionNet` stacks ``depth`` symmetric blocks (chapter 6,
:ref:`ch-learned-activations`)

.. math:: u^{k+1} = u^k - \tau_k\, W_k^\top \Phi_k(W_k u^k), \qquad
   \tau_k = \theta_k\,\frac{2}{L_k B_k}, \quad \theta_k = \sigma(\rho_k) \in (0, 1),

where :math:`W_k` maps the signal to ``hidden`` channels (``conv1d`` with kernel size
:math:`k`, no padding; :math:`W_k^\top` is ``conv_transpose1d`` with the same kernel),
:math:`\Phi_k` is an activation of the sector :math:`0 \le \Phi(s)/s \le L_k`, and
:math:`B_k \ge \|W_k\|_2^2` is a cheap differentiable bound (:func:`norm_bound`). Then
:math:`\tau_k < 2/(L_k\|W_k\|_2^2)` for *every* value of the trainable parameters, and the
stability theorem of chapter 2 makes each block non-expansive,
:math:`\|u^{k+1}\|_2 \le \|u^k\|_2`, whatever is learned. With ``zero_mean=True`` every
filter has zero sum (constants lie in the kernel of :math:`W_k`, as for a derivative), so
the mean of :math:`u` is preserved exactly, like the average grey value under diffusion.

The argument ``skip`` chooses how the blocks are chained (:data:`SKIPS`), the skip
connections of chapters 3 and 4 in a trained network, with :math:`F_k(u) = u - \tau_k
W_k^\top\Phi_k(W_k u)`:

- ``"resnet"``: :math:`u^{k+1} = F_k(u^k)` (the explicit scheme);
- ``"fed"``: :math:`u^{k+1} = u^k - c_k \tau_k W_k^\top\Phi_k(W_k u^k)` with the FED
  factors :math:`c_k = 1/(2\cos^2(\pi\frac{2k+1}{4L+2}))` of one cycle of length
  :math:`L` (:func:`pdecore.fed_step_sizes` with :math:`\tau_{\max} = 1`): varying step
  sizes, most of them beyond the block's stable one;
- ``"fsi"``: :math:`u^{k+1} = \alpha_k F_k(u^k) + (1 - \alpha_k)\,u^{k-1}`,
  :math:`u^{-1} = u^0`, with the FSI weights :math:`\alpha_k` (:func:`pdecore.fsi_weights`):
  an extrapolating skip connection (momentum);
- ``"recurrent"``: one block :math:`F` with shared weights, unrolled as the fixed-point
  iteration of the fully implicit step, :math:`u^{k+1} = u^0 + F(u^k) - u^k =
  u^0 - \tau W^\top\Phi(W u^k)` (the input is injected at every step).

Only ``"resnet"`` keeps the guarantee :math:`\|u^{k+1}\|_2 \le \|u^k\|_2`: with a
different :math:`W_k` per block, FED's and FSI's cycle stability (one fixed linear
operator) does not apply, and the fixed-point iteration converges only for a
contraction.

:class:`StandardNet` is the unconstrained counterpart with blocks
:math:`u + W_{2,k}\,\sigma(W_{1,k} u + b_{1,k}) + b_{2,k}`
(:class:`~pdecore.nets.StandardBlock` with ``hidden`` channels), and
:func:`diffusion_net_with_budget` sizes either family to a parameter budget. The block
:class:`~pdecore.nets.DiffusionBlock` lives with the other residual blocks in
:mod:`pdecore.nets.resnet`, which compares its stable step with the 2D block's.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import as_choice, as_int, as_order, as_positive, as_scale
from ..fed import fed_step_sizes
from ..fsi import fsi_weights
from ..operators import STENCILS
from ._budget import built_parameters, width_for_budget
from .activations import SECTOR_ACTIVATIONS
from .norms import norm_bound
from .resnet import DiffusionBlock, StandardBlock

__all__ = [
    "SKIPS",
    "DiffusionNet",
    "StandardNet",
    "diffusion_net_with_budget",
]


#: How :class:`DiffusionNet` chains its blocks (see the module docstring).
SKIPS = ("resnet", "fed", "fsi", "recurrent")


class _Trajectory:
    """Shared helpers: the states after every block and their norm ratios."""

    blocks: nn.ModuleList

    def trajectory(self, u: torch.Tensor) -> list[torch.Tensor]:
        """Return ``[u^0, u^1, ..., u^depth]``, the input and the output of every block."""
        states = [u]
        for block in self.blocks:
            u = block(u)
            states.append(u)
        return states

    def norm_ratios(self, u: torch.Tensor) -> torch.Tensor:
        r"""Return :math:`\|u^{k+1}\|_2 / \|u^k\|_2` per block and sample, without gradients.

        Parameters
        ----------
        u : (batch, 1, N) tensor
            Input signals.

        Returns
        -------
        (depth, batch) tensor
            A zero state that stays zero gives ratio 0 (and :math:`\infty` if it grows).
        """
        with torch.no_grad():
            norms = torch.stack([s.flatten(1).norm(dim=1) for s in self.trajectory(u)])
        prev, new = norms[:-1], norms[1:]
        zero_case = torch.where(new > 0, torch.full_like(new, math.inf), torch.zeros_like(new))
        return torch.where(prev > 0, new / torch.where(prev > 0, prev, 1.0), zero_case)


class DiffusionNet(nn.Module, _Trajectory):
    r"""A deep diffusion network: ``depth`` stable-by-construction symmetric blocks.

    .. math:: u^{k+1} = u^k - \tau_k W_k^\top \Phi_k(W_k u^k), \quad
       \tau_k = \sigma(\rho_k)\,\frac{2}{L_k B_k} < \frac{2}{L_k \|W_k\|_2^2},

    so :math:`\|u^{k+1}\|_2 \le \|u^k\|_2` for every input and every value of the
    parameters (see :class:`~pdecore.nets.DiffusionBlock` for the dictionary). Other
    skip connections (``skip``, :data:`SKIPS`) chain the same blocks differently.

    Parameters
    ----------
    depth : int
        Number of blocks (for ``skip="recurrent"``: of applications of the one block).
    hidden : int
        Channels of every :math:`W_k u` (filters per block).
    kernel_size : int
        Kernel size of the filters.
    activation : str or torch.nn.Module
        ``"trainable"`` gives every block its own
        :class:`~pdecore.nets.TrainableFlux` (``"trainable_monotone"``: one that is
        monotone by construction, with as many parameters); another name of
        :data:`~pdecore.nets.activations.SECTOR_ACTIVATIONS` gives a fixed flux; a
        module is shared by all blocks (it needs ``sector_bound``).
    lam : float
        Contrast parameter of a named diffusivity.
    zero_mean : bool
        Zero-sum filters, so that the mean of :math:`u` is preserved.
    theta : float
        Initial step fraction :math:`\theta_k \in (0, 1)`.
    bound : {"autocorrelation", "young"}
        The norm bound :math:`B_k` (:func:`norm_bound`).
    skip : {"resnet", "fed", "fsi", "recurrent"}
        How the blocks are chained (module docstring); only ``"resnet"`` is stable by
        construction.
    n_basis, s_max, sector_bound, flux_basis : int, float, float, str
        Of the trainable fluxes (:class:`~pdecore.nets.TrainableFlux`; ``flux_basis`` is
        its ``basis``, by default the cheap ``"hat"`` functions).
    dtype, device : torch.dtype, torch.device or str, optional
        Of the parameters (default: torch's defaults).

    Raises
    ------
    TypeError, ValueError
        Bad sizes, unknown activation or bound, ``theta`` outside (0, 1).

    See Also
    --------
    StandardNet : the unconstrained residual network of the same shape.
    pdecore.explicit_evolution : the numpy scheme (:meth:`from_scheme`).

    Notes
    -----
    Stability needs no bias: the network has none. The bound :math:`B_k` can exceed
    :math:`\|W_k\|_2^2` (by at most the factor ``hidden``), so :math:`\theta_k` is a
    fraction of a conservative limit. Used in chapter 6 (:ref:`ch-learned-activations`).

    Examples
    --------
    >>> import torch
    >>> from pdecore.nets import DiffusionNet
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = DiffusionNet(depth=3, hidden=4, activation="trainable")
    >>> u = torch.randn(8, 1, 64)
    >>> print(bool(net.norm_ratios(u).max() <= 1.0))
    True
    """

    def __init__(
        self,
        depth: int = 5,
        hidden: int = 4,
        kernel_size: int = 3,
        activation: str | nn.Module = "trainable",
        lam: float = 1.0,
        zero_mean: bool = True,
        theta: float = 0.5,
        bound: str = "autocorrelation",
        *,
        skip: str = "resnet",
        n_basis: int = 16,
        s_max: float = 3.0,
        sector_bound: float = 1.0,
        flux_basis: str = "hat",
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.depth = as_int(depth, "depth")
        self.skip = as_choice(skip, "skip", SKIPS)
        self.activation_name = activation if isinstance(activation, str) else "module"
        self.blocks = nn.ModuleList(
            DiffusionBlock(hidden, kernel_size, activation, lam, zero_mean, theta, bound,
                           n_basis=n_basis, s_max=s_max, sector_bound=sector_bound,
                           flux_basis=flux_basis)
            for _ in range(1 if self.skip == "recurrent" else self.depth)
        )
        self.hidden, self.kernel_size = self.blocks[0].hidden, self.blocks[0].kernel_size
        # fixed schedules (not trained): FED's step factors, FSI's extrapolation weights
        self._factors = [float(c) for c in fed_step_sizes(self.depth, 1.0)]
        self._alphas = [float(a) for a in fsi_weights(self.depth)]
        if dtype is not None or device is not None:
            self.to(dtype=dtype, device=device)

    @classmethod
    def from_scheme(
        cls,
        tau: float,
        n_steps: int,
        diffusivity: str = "perona_malik",
        lam: float = 1.0,
        h: float = 1.0,
        order: int = 1,
        *,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> DiffusionNet:
        r"""Build ``n_steps`` explicit steps: :math:`W_k = D_m` (stencil / :math:`h^m`).

        Then :math:`B = \|D_m\|^2_{N \to \infty} = 4^m/h^{2m}` and :math:`\theta` is set
        to :math:`\tau L B / 2`, so the net applies :func:`pdecore.explicit_step` with
        step size ``tau`` ``n_steps`` times.

        Raises
        ------
        ValueError
            If ``tau`` exceeds the limit :math:`2/(L B)` (:math:`h^2/2` for ``order=1``,
            :math:`h^4/8` for ``order=2`` with :math:`L = 1`).
        """
        order = as_order(order)
        tau, h = as_positive(tau, "tau"), as_scale(h, "h")
        n_steps = as_int(n_steps, "n_steps")
        net = cls(n_steps, 1, order + 1, diffusivity, lam, dtype=dtype, device=device)
        stencil = torch.as_tensor(STENCILS[order] / h**order, dtype=dtype, device=device)
        for block in net.blocks:
            limit = float(2.0 / (block.sector_bound * norm_bound(stencil.view(1, 1, -1))))
            if tau > limit:
                raise ValueError(f"tau={tau} exceeds the stability limit {limit:.6g} = "
                                 "2/(L*B) of the network")
            with torch.no_grad():
                block.weight.copy_(stencil.view(1, 1, -1))
                block.rho.fill_(math.inf if tau == limit else math.log(tau / (limit - tau)))
        return net

    def trajectory(self, u: torch.Tensor) -> list[torch.Tensor]:
        """Return ``[u^0, u^1, ..., u^depth]``, the input and the state after every step."""
        states = [u]
        previous = u
        for k in range(self.depth):
            block = self.blocks[0 if self.skip == "recurrent" else k]
            if self.skip == "resnet":
                new = block(u)
            elif self.skip == "fed":  # u - c_k tau_k W^T Phi(W u) = u + c_k (F(u) - u)
                new = u + self._factors[k] * (block(u) - u)
            elif self.skip == "fsi":
                new = self._alphas[k] * block(u) + (1.0 - self._alphas[k]) * previous
            else:  # fixed-point iteration: u^0 - tau W^T Phi(W u)
                new = states[0] + (block(u) - u)
            previous, u = u, new
            states.append(u)
        return states

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Apply all blocks to ``u`` of shape ``(batch, 1, N)``."""
        if self.skip == "resnet":
            for block in self.blocks:
                u = block(u)
            return u
        return self.trajectory(u)[-1]

    def step_sizes(self) -> list[float]:
        r"""Return the current step sizes :math:`\tau_k` of the steps.

        For ``skip="fed"`` they include the FED factor :math:`c_k`; for ``"recurrent"``
        all ``depth`` steps share the one block's.
        """
        with torch.no_grad():
            taus = [float(block.tau()) for block in self.blocks]
        if self.skip == "recurrent":
            return taus * self.depth
        if self.skip == "fed":
            return [c * t for c, t in zip(self._factors, taus, strict=True)]
        return taus

    def fluxes(self) -> list[nn.Module]:
        r"""Return the activations :math:`\Phi_k` of the blocks."""
        return [block.activation for block in self.blocks]


class StandardNet(nn.Module, _Trajectory):
    r"""A standard residual network :math:`u \mapsto u + W_2\,\sigma(W_1 u + b_1) + b_2`.

    ``depth`` :class:`~pdecore.nets.StandardBlock` modules with one input channel,
    ``hidden`` channels in between and biases: :math:`(2 H k + H + 1)` parameters per
    block. Nothing ties :math:`W_2` to :math:`W_1`, so there is no stability guarantee.

    Parameters
    ----------
    depth, hidden, kernel_size : int
        Number of blocks, channels between the convolutions, kernel size.
    activation : str or torch.nn.Module
        :math:`\sigma` (default ``"relu"``; a flux name or a module also work).
    lam : float
        Contrast parameter of a named flux.
    bias : bool
        Trainable biases :math:`b_1, b_2`.
    dtype, device : torch.dtype, torch.device or str, optional
        Of the parameters.

    See Also
    --------
    DiffusionNet

    Examples
    --------
    >>> from pdecore.nets import StandardNet
    >>> from pdecore.train import count_parameters
    >>> print(count_parameters(StandardNet(depth=5, hidden=4, kernel_size=3)))
    145
    """

    def __init__(
        self,
        depth: int = 5,
        hidden: int = 4,
        kernel_size: int = 3,
        activation: str | nn.Module = "relu",
        lam: float = 1.0,
        bias: bool = True,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.depth = as_int(depth, "depth")
        self.blocks = nn.ModuleList(
            StandardBlock(1, kernel_size, activation, lam, bias, hidden=hidden, dtype=dtype,
                          device=device)
            for _ in range(self.depth)
        )
        self.hidden, self.kernel_size = self.blocks[0].hidden, self.blocks[0].kernel_size

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Apply all blocks to ``u`` of shape ``(batch, 1, N)``."""
        for block in self.blocks:
            u = block(u)
        return u


def _build(family: str, hidden: int, **kwargs) -> nn.Module:
    if family == "standard":
        return StandardNet(hidden=hidden, **kwargs)
    return DiffusionNet(hidden=hidden, activation=family, **kwargs)


def diffusion_net_with_budget(family: str, budget: int, *, max_hidden: int = 1024,
                              **kwargs) -> nn.Module:
    """Build a :class:`DiffusionNet` or :class:`StandardNet` with about ``budget`` parameters.

    The number of filters ``hidden`` is the free variable (the parameter count grows
    linearly in it); all other settings (``depth``, ``kernel_size``, ...) are passed on.

    Parameters
    ----------
    family : str
        ``"standard"`` for a :class:`StandardNet`, otherwise the ``activation`` of a
        :class:`DiffusionNet` (``"trainable"``, ``"trainable_monotone"``, ``"linear"``,
        ``"charbonnier"``, ``"relu"``, ...; see
        :data:`~pdecore.nets.activations.SECTOR_ACTIVATIONS`).
    budget : int
        Target number of trainable parameters, ``>= 1``.
    max_hidden : int
        Largest ``hidden`` tried.
    **kwargs
        Further arguments of the chosen class.

    Returns
    -------
    torch.nn.Module
        The network whose trainable-parameter count is nearest ``budget`` (the larger
        ``hidden`` on a tie; ``hidden >= 1``, a budget below the 1-filter size gives 1
        filter). Its count differs from the budget by at most half the cost of one
        filter in all blocks, unless ``hidden`` hit 1 or ``max_hidden``.

    Raises
    ------
    ValueError
        Unknown ``family``, ``budget < 1``.

    See Also
    --------
    pdecore.nets.classifier_with_budget, pdecore.nets.unet_with_budget : the same sizer.

    Examples
    --------
    >>> from pdecore.nets import diffusion_net_with_budget
    >>> from pdecore.train import count_parameters
    >>> net = diffusion_net_with_budget("linear", 150, depth=5, kernel_size=3)
    >>> print(net.hidden, count_parameters(net))
    10 155
    """
    family = as_choice(family, "family", ("standard", *SECTOR_ACTIVATIONS))
    budget = as_int(budget, "budget")
    max_hidden = as_int(max_hidden, "max_hidden")

    def count(hidden: int) -> int:
        return built_parameters(lambda: _build(family, hidden, **kwargs))

    return _build(family, width_for_budget(count, budget, max_hidden), **kwargs)
