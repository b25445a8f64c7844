r"""Residual blocks for 1D signals: the explicit diffusion step as a network layer.

The explicit step :math:`u - \tau D^\top \Phi(D u)` (chapter 2, :ref:`ch-explicit`) is
a residual block :math:`u \mapsto \sigma_2(u + W_2\,\sigma_1(W_1 u + b_1) + b_2)` with

- :math:`W_1`: ``conv1d``; standard block: ``weight1``; symmetric block: ``weight``
  (:math:`= D` for the scheme).
- :math:`W_2`: ``conv_transpose1d``; standard: ``weight2``; symmetric: :math:`-\tau` times
  ``conv_transpose1d`` with the same ``weight`` (:math:`= -\tau D^\top`).
- :math:`\sigma_1`: the activation, i.e. the flux :math:`\Phi`; :math:`\sigma_2`: identity;
  :math:`b_1 = b_2 = 0` for the scheme; the skip connection is the time discretisation.

Convolutions have no padding: a kernel of size :math:`k` maps :math:`N` points to
:math:`N-k+1` and the transposed convolution maps them back, which is exactly the natural
boundary condition of :math:`D_m` and :math:`D_m^\top`.
"""

from __future__ import annotations

import contextlib
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import as_bool, as_int, as_order, as_positive, as_scale
from ..operators import STENCILS
from .activations import as_activation
from .norms import operator_norm

__all__ = [
    "StandardBlock",
    "SymmetricBlock",
    "check_signal_tensor",
    "onednn_guard",
]


def check_signal_tensor(u: object, channels: int, min_length: int, name: str = "u", *,
                        dtype: torch.dtype | None = None) -> None:
    """Raise a clear error unless ``u`` is a float tensor of shape ``(B, channels, N)``.

    With ``dtype`` (the module's weights), a tensor of another floating dtype is refused
    with a ``TypeError`` that says how to convert, instead of torch's
    ``RuntimeError: expected scalar type ...`` from inside the convolution.
    """
    if not isinstance(u, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (batch, channels, N), "
                        f"got {type(u).__name__}")
    if not u.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {u.dtype}")
    if u.ndim != 3 or u.shape[1] != channels:
        raise ValueError(f"{name} must have shape (batch, {channels}, N), got {tuple(u.shape)}")
    if u.shape[-1] < min_length:
        raise ValueError(f"{name} needs at least {min_length} grid points, got {u.shape[-1]}")
    if dtype is not None and u.dtype != dtype:
        raise TypeError(f"{name} has dtype {u.dtype} but the module's weights are {dtype}; "
                        f"convert one of them: {name}.to({dtype}) or module.to({u.dtype})")


def onednn_guard(u: torch.Tensor) -> contextlib.AbstractContextManager:
    """Switch oneDNN off around 1D float32 convolutions on the CPU.

    oneDNN's float32 ``conv1d`` on long signals was measured 15-100x slower than float64
    on these machines; without it torch uses its native kernel. 2D layers keep oneDNN.
    """
    if not isinstance(u, torch.Tensor):
        raise TypeError(f"u must be a torch.Tensor, got {type(u).__name__}")
    if u.device.type == "cpu" and u.dtype == torch.float32:
        return _onednn_off()
    return contextlib.nullcontext()


@contextlib.contextmanager
def _onednn_off():
    # torch warns about TF32 on Intel GPUs whenever the oneDNN flags change; irrelevant here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
        with torch.backends.mkldnn.flags(enabled=False):
            yield


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
        Flux name (``"perona_malik"``, ...) or a module :math:`\Phi`.
    lam : float
        Contrast parameter for a flux given by name.
    tau : float
        Step size :math:`\tau`.
    bias : bool
        Add a trainable bias :math:`b` inside the activation.
    hidden : int, optional
        Channels :math:`H` of :math:`W u` (default: ``channels``); ``weight`` has shape
        ``(H, C, k)``.

    Notes
    -----
    Stability (chapter 2): if :math:`\Phi(0) = 0` and :math:`0 \le \Phi(s)/s \le L`, then
    without bias :math:`\|u - \tau W^\top \Phi(W u)\| \le \|u\|` for
    :math:`0 < \tau \le 2/(L\|W\|_2^2)` (see :meth:`stability_bound`).

    See Also
    --------
    pdecore.explicit_step : the numpy scheme this block reproduces (:meth:`from_scheme`).

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
        with onednn_guard(u):
            s = F.conv1d(u, self.weight, self.bias)
            return u - step * F.conv_transpose1d(self.activation(s), self.weight)

    def stability_bound(self, n: int) -> float:
        r"""Largest stable :math:`\tau = 2/(L\|W\|_2^2)` for signals of length ``n``."""
        sector = getattr(self.activation, "sector_bound", None)
        if sector is None:
            raise ValueError("the activation has no 'sector_bound' attribute (L)")
        return 2.0 / (sector * operator_norm(self.weight, n) ** 2)


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
        with onednn_guard(u):
            s = self.activation(F.conv1d(u, self.weight1, self.bias1))
            out = u + F.conv_transpose1d(s, self.weight2)
        if self.bias2 is not None:
            out = out + self.bias2.view(1, -1, 1)
        return out
