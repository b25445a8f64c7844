r"""Residual blocks: the explicit diffusion step as a network layer (1D and 2D).

The explicit step :math:`u - \tau D^\top \Phi(D u)` (chapter 2, :ref:`ch-explicit`) is
a residual block :math:`u \mapsto \sigma_2(u + W_2\,\sigma_1(W_1 u + b_1) + b_2)` with

- :math:`W_1`: ``conv1d``; standard block: ``weight1``; symmetric block: ``weight``
  (:math:`= D` for the scheme).
- :math:`W_2`: ``conv_transpose1d``; standard: ``weight2``; symmetric: :math:`-\tau` times
  ``conv_transpose1d`` with the same ``weight`` (:math:`= -\tau D^\top`).
- :math:`\sigma_1`: the activation, i.e. the flux :math:`\Phi`; :math:`\sigma_2`: identity;
  :math:`b_1 = b_2 = 0` for the scheme; the skip connection is the time discretisation.

1D convolutions have no padding: a kernel of size :math:`k` maps :math:`N` points to
:math:`N-k+1` and the transposed convolution maps them back, which is exactly the natural
boundary condition of :math:`D_m` and :math:`D_m^\top`. The 2D blocks of chapter 7
(:ref:`ch-classification`) pad by :math:`k // 2`; ``conv_transpose2d`` with the same
padding is the exact adjoint of the zero-padded convolution.

This module is the home of the block family; all symmetric blocks share one step,
:math:`u - \tau W^\top \sigma(W u + b)`, and all standard blocks one step,
:math:`u + W_2 \sigma(W_1 u + b_1) + b_2`:

=========================  ====  ===============================  ====================
block                      dim   step size                        chapter
=========================  ====  ===============================  ====================
:class:`SymmetricBlock`    1D    :math:`\tau` (a number)          2-4 (the scheme)
:class:`DiffusionBlock`    1D    :math:`\theta\,2/(L B_1)`        6 (stable)
:class:`SymmetricBlock2d`  2D    :math:`\tau` or                  7 (classifier)
                                 :math:`\min(\tau, 2/(L B_2^2))`
:class:`StandardBlock`     1D    (two weights, no step)           2
:class:`StandardBlock2d`   2D    (two weights, no step)           7
=========================  ====  ===============================  ====================

**Stability.** If :math:`\Phi(0) = 0` and :math:`0 \le \Phi(s)/s \le L` (the sector
condition; for the 2D block with bias: slopes in :math:`[0, L]`), a symmetric block is
non-expansive for :math:`0 < \tau \le 2/(L\|W\|_2^2)`. The two blocks that are *stable
by construction* keep their step below this limit with an upper bound of the norm from
:mod:`pdecore.nets.norms`, and differ only in which bound and how the step is
parametrised (changing either would change the trained networks of chapters 6 and 7):

- :class:`DiffusionBlock`: :math:`B_1 = ` :func:`~pdecore.nets.norm_bound` of :math:`W`,
  a differentiable closed-form bound :math:`B_1 \ge \|W\|_2^2` valid for *every* signal
  length; the step is a trainable fraction :math:`\theta = \sigma(\rho) \in (0, 1)` of
  :math:`2/(L B_1)`, so :math:`\tau < 2/(L\|W\|_2^2)` strictly and the step is learned.
- :class:`SymmetricBlock2d` with ``stable=True``: :math:`B_2 = `
  :func:`~pdecore.nets.conv2d_norm_bound` of :math:`W` on the :math:`H \times W` feature
  maps, a bound :math:`B_2 \ge \|W\|_2` (of the norm, not its square) that depends on the
  map size and is within a few percent of the norm; the fixed :math:`\tau` is capped,
  :math:`\min(\tau, 2/(L B_2^2))`.

:class:`SymmetricBlock` has no built-in bound: :meth:`SymmetricBlock.stability_bound`
computes :math:`2/(L\|W\|_2^2)` with the exact :func:`~pdecore.nets.operator_norm`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import (
    as_bool,
    as_choice,
    as_int,
    as_odd_kernel,
    as_order,
    as_positive,
    as_scale,
)
from ..operators import STENCILS
from ._checks import check_image_tensor, check_signal_tensor, onednn_guard
from .activations import SECTOR_ACTIVATIONS, as_activation
from .norms import NORM_BOUNDS, conv2d_norm_bound, conv2d_operator_norm, norm_bound, operator_norm

__all__ = [
    "DiffusionBlock",
    "StandardBlock",
    "StandardBlock2d",
    "SymmetricBlock",
    "SymmetricBlock2d",
]

#: (convolution, transposed convolution) by the number of axes of the weight.
_CONVOLUTIONS = {3: (F.conv1d, F.conv_transpose1d), 4: (F.conv2d, F.conv_transpose2d)}

_Activation = Callable[[torch.Tensor], torch.Tensor]


def _guard(u: torch.Tensor, weight: torch.Tensor) -> contextlib.AbstractContextManager:
    # oneDNN off for 1D float32 on the CPU (see onednn_guard); 2D layers keep it
    return onednn_guard(u) if weight.ndim == 3 else contextlib.nullcontext()


def _symmetric_step(u: torch.Tensor, weight: torch.Tensor, activation: _Activation,
                    step: float | torch.Tensor | Callable[[], torch.Tensor],
                    bias: torch.Tensor | None = None, padding: int = 0) -> torch.Tensor:
    r"""Return the step of every symmetric block, :math:`u - \text{step}\; W^\top \sigma(W u + b)`.

    ``weight`` ``(C_out, C_in, k)`` gives ``conv1d`` / ``conv_transpose1d``,
    ``(C_out, C_in, k, k)`` ``conv2d`` / ``conv_transpose2d``, both with ``padding``.
    A callable ``step`` is evaluated after the activation (the stable 2D block's bound):
    the order of the graph's nodes fixes the order in which autograd sums the weight's
    gradient contributions, so it stays as it was when the blocks were separate.
    """
    conv, conv_t = _CONVOLUTIONS[weight.ndim]
    with _guard(u, weight):
        s = activation(conv(u, weight, bias, padding=padding))
        if callable(step):
            step = step()
        return u - step * conv_t(s, weight, padding=padding)


def _standard_step(u: torch.Tensor, weight1: torch.Tensor, weight2: torch.Tensor,
                   activation: _Activation, bias1: torch.Tensor | None = None,
                   bias2: torch.Tensor | None = None, padding: int = 0) -> torch.Tensor:
    r"""Return the step of every standard block, :math:`u + W_2 \sigma(W_1 u + b_1) + b_2`.

    :math:`W_2` acts as a transposed convolution (the function class of a second
    convolution), so the block differs from the symmetric one only in its weights.
    """
    conv, conv_t = _CONVOLUTIONS[weight1.ndim]
    with _guard(u, weight1):
        s = activation(conv(u, weight1, bias1, padding=padding))
        out = u + conv_t(s, weight2, padding=padding)
    if bias2 is not None:
        out = out + bias2.view(1, -1, *([1] * (u.ndim - 2)))
    return out


# --- 1D blocks ---------------------------------------------------------------------------


class SymmetricBlock(nn.Module):
    r"""Symmetric residual block :math:`u \mapsto u - \tau W^\top \Phi(W u + b)`.

    One trainable weight :math:`W` serves as ``conv1d`` and, transposed, as
    ``conv_transpose1d``: :math:`C^2 k` weights instead of the :math:`2 C^2 k` of a
    :class:`StandardBlock` (:math:`C H k` against :math:`2 C H k` with ``hidden``
    :math:`= H` channels inside the block).

    Parameters
    ----------
    channels : int
        Channels :math:`C` of the input; :math:`W` maps :math:`C \to C` (or
        :math:`C \to H` with ``hidden``).
    kernel_size : int
        Kernel size :math:`k`.
    activation : str or torch.nn.Module
        Activation name of :data:`~pdecore.nets.activations.ACTIVATIONS` or a module
        :math:`\Phi`. The default is the Perona-Malik flux because this block *is* the
        explicit scheme of chapter 2 (:meth:`from_scheme`); the 2D block of the
        classifier defaults to ``"relu"`` instead (:class:`SymmetricBlock2d`).
    lam : float
        Contrast parameter for a flux given by name.
    tau : float
        Step size :math:`\tau`.
    bias : bool
        Add a trainable bias :math:`b` inside the activation.
    hidden : int, optional
        Channels :math:`H` of :math:`W u` (default: ``channels``); ``weight`` has shape
        ``(H, C, k)``.
    dtype, device : torch.dtype, torch.device or str, optional
        Of the parameters.

    Notes
    -----
    Stability (chapter 2): if :math:`\Phi(0) = 0` and :math:`0 \le \Phi(s)/s \le L`, then
    without bias :math:`\|u - \tau W^\top \Phi(W u)\| \le \|u\|` for
    :math:`0 < \tau \le 2/(L\|W\|_2^2)` (see :meth:`stability_bound`; the blocks that are
    stable by construction are compared in the module docstring).

    See Also
    --------
    pdecore.explicit_step : the numpy scheme this block reproduces (:meth:`from_scheme`).
    DiffusionBlock : the block with a step that is stable by construction.
    SymmetricBlock2d : the 2D block.

    Examples
    --------
    >>> import numpy as np, torch, pdecore
    >>> from pdecore.nets import SymmetricBlock
    >>> block = SymmetricBlock.from_scheme(tau=0.25, diffusivity="perona_malik", lam=1.0)
    >>> u = np.array([0.0, 0.0, 1.0, 1.0])
    >>> out = block(torch.tensor(u).view(1, 1, -1)).flatten().detach().numpy()
    >>> print(f"{np.abs(out - pdecore.explicit_step(u, 0.25, 'perona_malik', 1.0)).max():.1e}")
    0.0e+00
    """

    def __init__(
        self,
        channels: int = 1,
        kernel_size: int = 3,
        activation: str | nn.Module = "perona_malik",
        lam: float = 1.0,
        tau: float = 0.25,
        bias: bool = False,
        *,
        hidden: int | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.channels = as_int(channels, "channels")
        self.kernel_size = as_int(kernel_size, "kernel_size")
        self.hidden = self.channels if hidden is None else as_int(hidden, "hidden")
        self.activation = as_activation(activation, lam)
        self.tau = as_positive(tau, "tau")
        kw = {"dtype": dtype, "device": device}
        scale = (self.channels * self.kernel_size) ** -0.5
        self.weight = nn.Parameter(
            scale * torch.randn(self.hidden, self.channels, self.kernel_size, **kw)
        )
        self.bias = (nn.Parameter(torch.zeros(self.hidden, **kw))
                     if as_bool(bias, "bias") else None)

    @classmethod
    def from_scheme(
        cls,
        tau: float,
        diffusivity: str = "perona_malik",
        lam: float = 1.0,
        h: float = 1.0,
        order: int = 1,
        *,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> SymmetricBlock:
        r"""Build the block with :math:`W = D_m` (stencil / :math:`h^m`): one explicit step."""
        order = as_order(order)
        h = as_scale(h, "h")
        block = cls(1, order + 1, diffusivity, lam, tau, dtype=dtype, device=device)
        stencil = torch.as_tensor(STENCILS[order] / h**order, dtype=dtype, device=device)
        with torch.no_grad():
            block.weight.copy_(stencil.view(1, 1, -1))
        return block

    def forward(self, u: torch.Tensor, tau: float | None = None) -> torch.Tensor:
        """Apply the block to ``u`` of shape ``(batch, channels, N)``.

        ``tau`` overrides the block's step size (FED uses one block with many).
        """
        check_signal_tensor(u, self.channels, self.kernel_size, dtype=self.weight.dtype)
        if tau is None:
            step = self.tau
        elif isinstance(tau, torch.Tensor):
            step = tau  # e.g. a learned step; its owner keeps it positive
        else:
            step = as_positive(tau, "tau")  # a negative step would be anti-diffusion
        return _symmetric_step(u, self.weight, self.activation, step, self.bias)

    def stability_bound(self, n: int) -> float:
        r"""Largest stable :math:`\tau = 2/(L\|W\|_2^2)` for signals of length ``n``."""
        sector = getattr(self.activation, "sector_bound", None)
        if sector is None:
            raise ValueError("the activation has no 'sector_bound' attribute (L)")
        return 2.0 / (sector * operator_norm(self.weight, n) ** 2)


class DiffusionBlock(nn.Module):
    r"""One stable-by-construction block :math:`u - \tau\, W^\top \Phi(W u)`.

    Dictionary (chapter 6, :ref:`ch-learned-activations`):

    - ``weight`` :math:`V` (``(hidden, 1, k)``, trainable); the filters are
      :math:`W = V - \operatorname{mean}_t V` with ``zero_mean`` (else :math:`W = V`);
      :math:`W` is ``conv1d``, :math:`-\tau W^\top` ``conv_transpose1d``;
    - ``rho`` :math:`\rho` (trainable scalar), :math:`\theta = \sigma(\rho) \in (0, 1)`;
    - :math:`\tau = \theta \cdot 2/(L B)` with :math:`B = ` :func:`norm_bound` of
      :math:`W`, so :math:`\tau < 2/(L\|W\|_2^2)` always;
    - ``activation`` :math:`\Phi` with ``sector_bound`` :math:`L`; no biases (the
      stability theorem needs :math:`\Phi(0) = 0` about the origin).

    Parameters
    ----------
    hidden : int
        Channels :math:`H` of :math:`W u` (the signal has one channel).
    kernel_size : int
        Kernel size :math:`k`.
    activation : str or torch.nn.Module
        A name of :data:`~pdecore.nets.activations.SECTOR_ACTIVATIONS`: ``"trainable"``
        (a new :class:`~pdecore.nets.TrainableFlux`), ``"trainable_monotone"`` (one with
        ``monotone=True``), a diffusivity name, ``"relu"``; or a module with a
        ``sector_bound`` attribute.
    lam : float
        Contrast parameter of a named diffusivity.
    zero_mean : bool
        Zero-sum filters (mass preserving).
    theta : float
        Initial :math:`\theta \in (0, 1)`.
    bound : {"autocorrelation", "young"}
        The norm bound :math:`B`.
    n_basis, s_max, sector_bound, flux_basis : int, float, float, str
        Passed to :class:`~pdecore.nets.TrainableFlux` (as ``basis``) for
        ``"trainable"`` and ``"trainable_monotone"``.

    See Also
    --------
    SymmetricBlock2d : the other block that is stable by construction (module docstring).
    pdecore.nets.DiffusionNet : a stack of these blocks.
    """

    def __init__(
        self,
        hidden: int = 4,
        kernel_size: int = 3,
        activation: str | nn.Module = "trainable",
        lam: float = 1.0,
        zero_mean: bool = True,
        theta: float = 0.5,
        bound: str = "autocorrelation",
        *,
        n_basis: int = 16,
        s_max: float = 3.0,
        sector_bound: float = 1.0,
        flux_basis: str = "hat",
    ) -> None:
        super().__init__()
        self.hidden = as_int(hidden, "hidden")
        self.kernel_size = as_int(kernel_size, "kernel_size", minimum=2 if zero_mean else 1)
        theta = as_positive(theta, "theta")
        if theta >= 1.0:
            raise ValueError(f"theta must be in (0, 1), got theta={theta}")
        self.zero_mean = as_bool(zero_mean, "zero_mean")
        self.bound = as_choice(bound, "bound", NORM_BOUNDS)
        self.activation = as_activation(activation, lam, n_basis=n_basis, s_max=s_max,
                                        sector_bound=sector_bound, basis=flux_basis)
        if not isinstance(getattr(self.activation, "sector_bound", None), (int, float)):
            raise ValueError(f"activation must declare its sector bound L as a numeric "
                             f"'sector_bound' attribute (the names {SECTOR_ACTIVATIONS} "
                             f"do), got {type(self.activation).__name__}")
        self.weight = nn.Parameter(self.kernel_size**-0.5
                                   * torch.randn(self.hidden, 1, self.kernel_size))
        self.rho = nn.Parameter(torch.tensor(math.log(theta / (1.0 - theta))))

    @property
    def sector_bound(self) -> float:
        """:math:`L` of the activation."""
        return float(self.activation.sector_bound)

    def filters(self) -> torch.Tensor:
        """Return the filters :math:`W`, ``(hidden, 1, k)`` (zero-sum with ``zero_mean``)."""
        if self.zero_mean:
            return self.weight - self.weight.mean(dim=-1, keepdim=True)
        return self.weight

    def theta(self) -> torch.Tensor:
        r"""Return :math:`\theta = \sigma(\rho)`, the step size as a fraction of the bound."""
        return torch.sigmoid(self.rho)

    def tau(self, W: torch.Tensor | None = None) -> torch.Tensor:
        r"""Return the step size :math:`\tau = \theta\, 2/(L B)` (0-d tensor, with gradients)."""
        W = self.filters() if W is None else W
        B = norm_bound(W, self.bound).clamp_min(torch.finfo(W.dtype).tiny)
        return self.theta().to(W.dtype) * 2.0 / (self.sector_bound * B)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Apply the block to ``u`` of shape ``(batch, 1, N)``."""
        W = self.filters()
        check_signal_tensor(u, 1, self.kernel_size, dtype=W.dtype)
        return _symmetric_step(u, W, self.activation, self.tau(W))

    def extra_repr(self) -> str:
        """Describe the module in ``repr``."""
        return (f"hidden={self.hidden}, kernel_size={self.kernel_size}, "
                f"zero_mean={self.zero_mean}, bound={self.bound!r}")


class StandardBlock(nn.Module):
    r"""Standard residual block :math:`u \mapsto u + W_2\,\Phi(W_1 u + b_1) + b_2`.

    Two independent weights: ``weight1`` (``conv1d``) and ``weight2``
    (``conv_transpose1d``), :math:`2 C^2 k` parameters (:math:`2 C H k` with ``hidden``
    :math:`= H`); no stability guarantee.

    Parameters
    ----------
    channels, kernel_size, activation, lam
        As in :class:`SymmetricBlock`.
    bias : bool
        Trainable biases :math:`b_1` (``hidden`` entries) and :math:`b_2` (``channels``).
    hidden : int, optional
        Channels :math:`H` between the two convolutions (default: ``channels``); both
        weights have shape ``(H, C, k)``.
    dtype, device : torch.dtype, torch.device or str, optional
        Of the parameters.

    See Also
    --------
    SymmetricBlock
    """

    def __init__(
        self,
        channels: int = 1,
        kernel_size: int = 3,
        activation: str | nn.Module = "perona_malik",
        lam: float = 1.0,
        bias: bool = False,
        *,
        hidden: int | None = None,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.channels = as_int(channels, "channels")
        self.kernel_size = as_int(kernel_size, "kernel_size")
        self.hidden = self.channels if hidden is None else as_int(hidden, "hidden")
        self.activation = as_activation(activation, lam)
        kw = {"dtype": dtype, "device": device}
        shape = (self.hidden, self.channels, self.kernel_size)
        self.weight1 = nn.Parameter(
            (self.channels * self.kernel_size) ** -0.5 * torch.randn(*shape, **kw))
        self.weight2 = nn.Parameter(
            (self.hidden * self.kernel_size) ** -0.5 * torch.randn(*shape, **kw))
        bias = as_bool(bias, "bias")
        self.bias1 = nn.Parameter(torch.zeros(self.hidden, **kw)) if bias else None
        self.bias2 = nn.Parameter(torch.zeros(self.channels, **kw)) if bias else None

    @classmethod
    def from_scheme(
        cls,
        tau: float,
        diffusivity: str = "perona_malik",
        lam: float = 1.0,
        h: float = 1.0,
        order: int = 1,
        *,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ) -> StandardBlock:
        r"""Build the block with :math:`W_1 = D_m`, :math:`W_2 = -\tau D_m^\top`: one explicit step.

        ``weight2`` holds :math:`-\tau` times the stencil of :math:`D_m`; the block applies
        it as a transposed convolution, i.e. as :math:`-\tau D_m^\top`.
        """
        order = as_order(order)
        h, tau = as_scale(h, "h"), as_positive(tau, "tau")
        block = cls(1, order + 1, diffusivity, lam, dtype=dtype, device=device)
        stencil = torch.as_tensor(STENCILS[order] / h**order, dtype=dtype, device=device)
        with torch.no_grad():
            block.weight1.copy_(stencil.view(1, 1, -1))
            block.weight2.copy_(-tau * stencil.view(1, 1, -1))
        return block

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Apply the block to ``u`` of shape ``(batch, channels, N)``."""
        check_signal_tensor(u, self.channels, self.kernel_size, dtype=self.weight1.dtype)
        return _standard_step(u, self.weight1, self.weight2, self.activation, self.bias1,
                              self.bias2)


# --- 2D blocks ---------------------------------------------------------------------------


class SymmetricBlock2d(nn.Module):
    r"""Symmetric 2D residual block :math:`u \mapsto u - \tau W^\top \sigma(W u + b)`.

    The 2D twin of :class:`SymmetricBlock` for feature maps ``(batch, C, H, W)``: one
    trainable ``conv2d`` weight :math:`W` (:math:`C^2 k^2` weights); :math:`W^\top` is
    ``conv_transpose2d`` with the same weight and padding, the exact adjoint of the
    zero-padded convolution.

    Parameters
    ----------
    channels : int
        Feature channels :math:`C`; :math:`W` maps :math:`C \to C`.
    kernel_size : int
        Odd kernel size :math:`k` (zero padding :math:`k // 2` keeps the image size).
    activation : str or torch.nn.Module
        Activation name of :data:`~pdecore.nets.activations.ACTIVATIONS` or a module
        :math:`\sigma`. The default is ``"relu"`` because this is the block of an image
        classifier (chapter 7), where the ReLU is the standard choice and lies in the
        sector :math:`[0, 1]`; the 1D block defaults to the Perona-Malik flux because it
        is the diffusion scheme (:class:`SymmetricBlock`).
    tau : float
        Step size :math:`\tau > 0`.
    bias : bool
        Trainable bias :math:`b` inside the activation.
    stable : bool
        Stable by construction: on :math:`H \times W` feature maps the step is
        :math:`\min(\tau, 2 / (L B^2))` with :math:`B \ge \|W\|_2` the Fourier-symbol
        bound of :func:`~pdecore.nets.conv2d_norm_bound` (within a few percent of the
        norm), so the block satisfies the stability condition whatever the weights are.
    dtype, device : torch.dtype, torch.device or str, optional
        Of the parameters.

    Notes
    -----
    If :math:`\sigma` is monotone with slopes in :math:`[0, L]` (ReLU: :math:`L = 1`), the
    block is non-expansive, :math:`\|f(u) - f(v)\| \le \|u - v\|`, for
    :math:`\tau \le 2 / (L \|W\|_2^2)` even with the bias: the same argument as for the 1D
    block of chapter 2. :meth:`stability_ratio` measures :math:`\tau L \|W\|_2^2 / 2`.
    The module docstring compares the stable parametrisation with
    :class:`DiffusionBlock`'s.

    Examples
    --------
    >>> import torch
    >>> from pdecore.nets import SymmetricBlock2d
    >>> block = SymmetricBlock2d(channels=4)
    >>> print(sum(p.numel() for p in block.parameters()))  # C^2 k^2 + C
    148
    """

    def __init__(
        self,
        channels: int,
        kernel_size: int = 3,
        activation: str | nn.Module = "relu",
        tau: float = 1.0,
        bias: bool = True,
        stable: bool = False,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.channels = as_int(channels, "channels")
        self.kernel_size = as_odd_kernel(kernel_size)
        self.activation = as_activation(activation)
        self.tau = as_positive(tau, "tau")
        stable = as_bool(stable, "stable")
        if stable and not isinstance(getattr(self.activation, "sector_bound", None),
                                     (int, float)):
            # the step 2 / (L B^2) needs the largest slope L; assuming 1 is no guarantee
            raise ValueError(f"activation must declare its largest slope as a numeric "
                             f"'sector_bound' attribute for stable=True, got "
                             f"{type(self.activation).__name__}")
        self.stable = stable
        bias = as_bool(bias, "bias")
        kw = {"dtype": dtype, "device": device}
        c, k = self.channels, self.kernel_size
        # He-type scale, halved: the block applies W twice (W and W^T).
        scale = 0.5 * (2.0 / (c * k * k)) ** 0.5
        self.weight = nn.Parameter(scale * torch.randn(c, c, k, k, **kw))
        self.bias = nn.Parameter(torch.zeros(c, **kw)) if bias else None

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Apply the block to ``u`` of shape ``(batch, channels, H, W)``."""
        check_image_tensor(u, self.channels, "u", dtype=self.weight.dtype)
        size = tuple(u.shape[2:])
        step = (lambda: self.step(size)) if self.stable else self.tau
        return _symmetric_step(u, self.weight, self.activation, step, self.bias,
                               self.kernel_size // 2)

    def step(self, size: tuple[int, int] | None = None) -> float | torch.Tensor:
        r"""Return the step: :math:`\tau`, or :math:`\min(\tau, 2/(L B^2))` if stable.

        ``size`` (height, width of the feature maps) is required for a stable block:
        the bound :math:`B` of :func:`~pdecore.nets.conv2d_norm_bound` depends on it.
        """
        if not self.stable:
            return self.tau
        if size is None:
            raise ValueError("size (height, width of the feature maps) is required for "
                             "the step of a stable block: its bound depends on the size")
        bound = conv2d_norm_bound(self.weight, size, self.kernel_size // 2) ** 2
        limit = 2.0 / (self._sector() * bound.clamp_min(torch.finfo(bound.dtype).tiny))
        return torch.clamp(limit, max=self.tau)

    def _sector(self) -> float:
        # a declared slope bound; modules without one are refused for stable blocks and
        # measured with L = 1 by stability_ratio (ReLU's slope)
        return float(getattr(self.activation, "sector_bound", 1.0))

    def stability_ratio(self, size: tuple[int, int]) -> float:
        r"""Return (step) :math:`\cdot L \|W\|_2^2 / 2` on ``size`` images (``<= 1``: stable)."""
        norm = conv2d_operator_norm(self.weight, size, self.kernel_size // 2)
        with torch.no_grad():
            step = float(self.step(size))
        return step * self._sector() * norm**2 / 2.0


class StandardBlock2d(nn.Module):
    r"""Standard 2D residual block :math:`u \mapsto u + W_2 \sigma(W_1 u + b_1) + b_2`.

    ``weight1`` acts as ``conv2d`` and ``weight2`` as ``conv_transpose2d`` (the same
    function class as a second ``conv2d``), so the block differs from
    :class:`SymmetricBlock2d` only by the independent second weight and bias:
    :math:`2 C^2 k^2 + 2C` parameters.

    Parameters
    ----------
    channels, kernel_size, activation, bias
        As in :class:`SymmetricBlock2d`.
    dtype, device : torch.dtype, torch.device or str, optional
        Of the parameters.

    Examples
    --------
    >>> from pdecore.nets import StandardBlock2d
    >>> print(sum(p.numel() for p in StandardBlock2d(channels=4).parameters()))
    296
    """

    def __init__(
        self,
        channels: int,
        kernel_size: int = 3,
        activation: str | nn.Module = "relu",
        bias: bool = True,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        self.channels = as_int(channels, "channels")
        self.kernel_size = as_odd_kernel(kernel_size)
        self.activation = as_activation(activation)
        bias = as_bool(bias, "bias")
        kw = {"dtype": dtype, "device": device}
        c, k = self.channels, self.kernel_size
        scale = 0.5 * (2.0 / (c * k * k)) ** 0.5
        self.weight1 = nn.Parameter(scale * torch.randn(c, c, k, k, **kw))
        self.weight2 = nn.Parameter(scale * torch.randn(c, c, k, k, **kw))
        self.bias1 = nn.Parameter(torch.zeros(c, **kw)) if bias else None
        self.bias2 = nn.Parameter(torch.zeros(c, **kw)) if bias else None

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Apply the block to ``u`` of shape ``(batch, channels, H, W)``."""
        check_image_tensor(u, self.channels, "u", dtype=self.weight1.dtype)
        return _standard_step(u, self.weight1, self.weight2, self.activation, self.bias1,
                              self.bias2, self.kernel_size // 2)
