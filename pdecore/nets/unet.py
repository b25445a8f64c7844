r"""The multigrid V-cycle as a U-net with fixed (operator-given) weights.

Dictionary (chapter 5, multigrid = U-net):

- pre-/post-smoothing: damped Jacobi :math:`x + \omega D_A^{-1}(b - A x)` is a residual
  block; red-black Gauss-Seidel is two masked blocks;
- residual and restriction :math:`r_H = P^\top(b - A x)`: a strided convolution
  (stride 2, kernel :math:`(\ell, 1, r)`);
- coarse level: the same network one level down, the recursion is the U shape;
- prolongation :math:`P e_H`: a transposed strided convolution; with linear
  interpolation its kernel is the fixed :math:`(1/2, 1, 1/2)`, with operator-dependent
  interpolation its weights are read off the matrix rows (a data-dependent kernel);
- correction :math:`x + P e_H`: the U-net's long skip connection, **added**, not
  concatenated.

:class:`VCycleUNet` holds the weights of a :func:`pdecore.multigrid_hierarchy` as buffers
and reproduces :func:`pdecore.multigrid.cycle` to rounding error. The weights vary with
the position (the matrix is data-dependent), so the layers are locally connected
convolutions; for constant coefficients they are ordinary convolutions.

With trainable weights the same U shape is a network: :class:`MultigridUNet` (residual
smoothing blocks, strided-convolution restriction, transposed-convolution prolongation
:math:`P = c R^\top` sharing the restriction's weight, additive long skips) and the
baseline :class:`StandardUNet` (independent down/up weights, concatenated skips). Both
map ``(batch, in_channels, N)`` to ``(batch, 1, N)``; :func:`unet_with_budget` sizes
either to a parameter budget (experiment E4).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from .._validation import as_int
from ..multigrid import SMOOTHERS, Level, _as_omega
from .resnet import check_signal_tensor, onednn_guard

__all__ = ["MultigridUNet", "StandardUNet", "UNET_KINDS", "VCycleUNet", "unet_with_budget"]


def _t(x) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float64)


class _LevelWeights(nn.Module):
    """The fixed weights of one level as buffers."""

    def __init__(self, level: Level) -> None:
        super().__init__()
        self.register_buffer("diag", _t(level.A.diag))
        self.register_buffer("off", _t(level.A.off))
        self.coarsest = level.is_coarsest
        if self.coarsest:
            a = torch.diag(self.diag) + torch.diag(self.off, 1) + torch.diag(self.off, -1)
            self.register_buffer("inverse", torch.linalg.inv(a))
        else:
            self.register_buffer("left", _t(level.left))
            self.register_buffer("right", _t(level.right))

    def matvec(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`A x` along the last axis (a locally connected 3-tap convolution)."""
        y = self.diag * x
        y = torch.cat([y[..., :-1] + self.off * x[..., 1:], y[..., -1:]], dim=-1)
        return torch.cat([y[..., :1], y[..., 1:] + self.off * x[..., :-1]], dim=-1)

    def restrict(self, r: torch.Tensor) -> torch.Tensor:
        r""":math:`P^\top r`: stride-2 convolution with kernel (left, 1, right)."""
        nf, nr = self.left.numel(), self.right.numel()
        rc = r[..., 0::2].clone()
        odd = r[..., 1::2]
        rc[..., :nf] += self.left * odd
        rc[..., 1 : nr + 1] += self.right * odd[..., :nr]
        return rc

    def prolong(self, e: torch.Tensor, n: int) -> torch.Tensor:
        """:math:`P e`: stride-2 transposed convolution with the same kernel."""
        nf, nr = self.left.numel(), self.right.numel()
        odd = self.left * e[..., :nf]
        odd = torch.cat([odd[..., :nr] + self.right * e[..., 1 : nr + 1], odd[..., nr:]], -1)
        out = torch.zeros(e.shape[:-1] + (n,), dtype=e.dtype, device=e.device)
        out[..., 0::2] = e
        out[..., 1::2] = odd
        return out


class VCycleUNet(nn.Module):
    r"""One multigrid cycle for :math:`A x = b` as a U-net with fixed weights.

    Parameters
    ----------
    hierarchy : list of pdecore.multigrid.Level
        From :func:`pdecore.multigrid_hierarchy` (either interpolation).
    pre, post : int
        Smoothing sweeps before and after the coarse-grid correction.
    smoother : {"jacobi", "rbgs"}
        Damped Jacobi (one residual block per sweep) or red-black Gauss-Seidel (two
        masked blocks per sweep; reversed order after the correction, as in numpy).
    omega : float
        Jacobi damping.
    gamma : int
        1 for a V-cycle, 2 for a W-cycle.

    See Also
    --------
    pdecore.multigrid.cycle : the numpy cycle this module reproduces.

    Examples
    --------
    >>> import numpy as np, torch, pdecore
    >>> from pdecore.nets import VCycleUNet
    >>> u = pdecore.add_noise(pdecore.piecewise_constant(200, 4, seed=0), 0.05, seed=1)
    >>> A = pdecore.Tridiagonal.from_bands(pdecore.semi_implicit_matrix_bands(u, 50.0, lam=0.1))
    >>> h = pdecore.multigrid_hierarchy(A, min_size=8)
    >>> net = VCycleUNet(h, smoother="jacobi")
    >>> x_net = net(torch.tensor(u)).numpy()
    >>> x_np = pdecore.multigrid.cycle(h, np.zeros_like(u), u, smoother="jacobi")
    >>> print(np.abs(x_net - x_np).max() < 1e-12)
    True
    """

    def __init__(self, hierarchy: list[Level], pre: int = 2, post: int = 2,
                 smoother: str = "rbgs", omega: float = 2.0 / 3.0, gamma: int = 1) -> None:
        super().__init__()
        if not hierarchy or not all(isinstance(level, Level) for level in hierarchy):
            raise TypeError("hierarchy must be a non-empty list of pdecore.multigrid.Level")
        if smoother not in SMOOTHERS:
            raise ValueError(f"smoother must be one of {SMOOTHERS}, got {smoother!r}")
        self.levels = nn.ModuleList(_LevelWeights(level) for level in hierarchy)
        self.sizes = [level.n for level in hierarchy]
        self.pre, self.post = as_int(pre, "pre", minimum=0), as_int(post, "post", minimum=0)
        self.gamma = as_int(gamma, "gamma")
        self.smoother, self.omega = smoother, _as_omega(omega)

    def _smooth(self, lw: _LevelWeights, x: torch.Tensor, b: torch.Tensor, sweeps: int,
                reverse: bool) -> torch.Tensor:
        for _ in range(sweeps):
            if self.smoother == "jacobi":  # residual block: x + omega D^-1 (b - A x)
                x = x + self.omega * (b - lw.matvec(x)) / lw.diag
                continue
            for parity in ((1, 0) if reverse else (0, 1)):
                # masked block: update one colour from the other
                new = x + (b - lw.matvec(x)) / lw.diag
                x = x.clone()
                x[..., parity::2] = new[..., parity::2]
        return x

    def _cycle(self, k: int, x: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        lw = self.levels[k]
        if lw.coarsest:
            return b @ lw.inverse.T
        x = self._smooth(lw, x, b, self.pre, reverse=False)        # encoder block
        rc = lw.restrict(b - lw.matvec(x))                          # strided convolution
        ec = torch.zeros_like(rc)
        visits = 1 if self.levels[k + 1].coarsest else self.gamma
        for _ in range(visits):
            ec = self._cycle(k + 1, ec, rc)                         # the U's lower part
        x = x + lw.prolong(ec, self.sizes[k])                       # additive long skip
        return self._smooth(lw, x, b, self.post, reverse=True)     # decoder block

    def forward(self, b: torch.Tensor, x0: torch.Tensor | None = None) -> torch.Tensor:
        """One cycle for right-hand sides ``b`` of shape ``(..., N)`` from ``x0`` (zero)."""
        if not isinstance(b, torch.Tensor):
            raise TypeError(f"b must be a torch.Tensor of shape (..., {self.sizes[0]}), "
                            f"got {type(b).__name__}")
        if not b.is_floating_point():
            raise TypeError(f"b must be a floating-point tensor, got dtype {b.dtype}")
        if b.ndim == 0 or b.shape[-1] != self.sizes[0]:
            raise ValueError(f"b must be a tensor with last dimension {self.sizes[0]}, "
                             f"got shape {tuple(b.shape)}")
        x = torch.zeros_like(b) if x0 is None else x0
        return self._cycle(0, x, b)


# --------------------------------------------------------------------------------------
# Learned U-nets (experiment E4)
# --------------------------------------------------------------------------------------

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
}

#: Learned U-net families by name, for :func:`unet_with_budget`.
UNET_KINDS = ("multigrid", "standard")

#: Kernel size of the restriction and prolongation (as the 3-tap linear interpolation).
TRANSFER_KERNEL = 3


def _activation(activation: str | Callable[[], nn.Module]) -> nn.Module:
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)} or a callable returning "
                f"a torch.nn.Module, got {activation!r}"
            )
        return ACTIVATIONS[activation]()
    if isinstance(activation, nn.Module):
        raise TypeError("activation must be a name or a factory (e.g. torch.nn.ReLU, not "
                        "torch.nn.ReLU()), so that every layer gets its own module")
    if callable(activation):
        module = activation()
        if not isinstance(module, nn.Module):
            raise TypeError(f"activation() must return a torch.nn.Module, got "
                            f"{type(module).__name__}")
        return module
    raise TypeError(f"activation must be a name or a callable, got {activation!r}")


def _odd_kernel(kernel_size: object) -> int:
    k = as_int(kernel_size, "kernel_size")
    if k % 2 == 0:
        raise ValueError(f"kernel_size must be odd (same-length padding), got {k}")
    return k


def _conv(c_in: int, c_out: int, k: int, **kw) -> nn.Conv1d:
    return nn.Conv1d(c_in, c_out, k, padding=k // 2, **kw)


def _prolong_padding(n_fine: int, n_coarse: int) -> int:
    """``output_padding`` that makes a stride-2 transposed convolution return ``n_fine``."""
    # restriction (kernel 3, padding 1, stride 2): n -> ceil(n/2); the transposed
    # convolution gives 2 m - 1 points, one more is added for even n.
    return n_fine - (2 * n_coarse - 1)


class _ResidualSmoother(nn.Module):
    r"""Residual smoothing block :math:`x + W_2 \sigma(W_1 x + b_1) + b_2` (same length)."""

    def __init__(self, channels: int, k: int, activation) -> None:
        super().__init__()
        self.conv1, self.conv2 = _conv(channels, channels, k), _conv(channels, channels, k)
        self.act = _activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


class _ConvBlock(nn.Module):
    r"""Plain U-net block :math:`\sigma(W_2 \sigma(W_1 x + b_1) + b_2)` (same length)."""

    def __init__(self, c_in: int, channels: int, k: int, activation) -> None:
        super().__init__()
        self.conv1, self.conv2 = _conv(c_in, channels, k), _conv(channels, channels, k)
        self.act1, self.act2 = _activation(activation), _activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act2(self.conv2(self.act1(self.conv1(x))))


class _LearnedUNet(nn.Module):
    """Shared input checks, lifting and output head of the learned U-nets."""

    def _setup(self, levels, channels, kernel_size, smoothing_blocks, in_channels) -> None:
        self.n_levels = as_int(levels, "levels")
        self.n_channels = as_int(channels, "channels")
        self.kernel_size = _odd_kernel(kernel_size)
        self.smoothing_blocks = as_int(smoothing_blocks, "smoothing_blocks")
        self.in_channels = as_int(in_channels, "in_channels")
        self.lift = _conv(self.in_channels, self.n_channels, self.kernel_size)
        self.head = nn.Conv1d(self.n_channels, 1, 1)

    @property
    def min_length(self) -> int:
        """Shortest admissible signal: ``2**(levels - 1)`` points."""
        return 2 ** (self.n_levels - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x`` of shape ``(batch, in_channels, N)`` to ``(batch, 1, N)``.

        The output is ``x[:, :1] + head(U(lift(x)))``: channel 0 (the signal) is passed
        through, the network learns the change.
        """
        check_signal_tensor(x, self.in_channels, self.min_length, name="x",
                            dtype=self.head.weight.dtype)
        with onednn_guard(x):
            return x[:, :1] + self.head(self._level(0, self.lift(x)))


class MultigridUNet(_LearnedUNet):
    r"""Learned multigrid U-net: a V-cycle with trainable weights.

    On level :math:`\ell` (length :math:`n_\ell`, :math:`n_{\ell+1} = \lceil n_\ell/2\rceil`)

    .. math::
        x \leftarrow S_\ell^{\mathrm{pre}}(x), \qquad
        x \leftarrow x + c_\ell R_\ell^\top\, U_{\ell+1}(R_\ell x), \qquad
        x \leftarrow S_\ell^{\mathrm{post}}(x),

    and on the coarsest level only the smoothers. Dictionary:

    - smoother :math:`S`: ``smoothing_blocks`` residual blocks
      :math:`x + W_2 \sigma(W_1 x + b_1) + b_2` (the learned analogue of damped Jacobi);
    - restriction :math:`R_\ell`: ``Conv1d`` with stride 2, kernel 3, no bias;
    - prolongation: ``conv_transpose1d`` with stride 2 and the **same** weight times a
      trainable scalar :math:`c_\ell` (:math:`P = c R^\top`) when ``share_transfer``,
      otherwise an independent ``ConvTranspose1d`` without bias;
    - long skip: the coarse-grid correction is **added** to the fine features (no
      concatenation), so every level keeps ``channels`` channels.

    Parameters
    ----------
    levels : int
        Number of grid levels :math:`L \ge 1` (1: no coarse grid).
    channels : int
        Feature channels :math:`C` on every level.
    kernel_size : int
        Odd kernel size of the smoothing convolutions (zero padding, same length).
    smoothing_blocks : int
        Residual blocks before and after the coarse-grid correction.
    share_transfer : bool
        Tie the prolongation to the restriction, :math:`P = c R^\top`:
        :math:`3C^2 + 1` instead of :math:`6C^2` transfer weights per level.
    activation : str or callable
        ``"relu"``, ``"gelu"``, ``"silu"``, ``"tanh"`` or a factory of modules.
    in_channels : int
        Input channels (the signal first, then e.g. a parameter channel).

    Notes
    -----
    Any length :math:`N \ge 2^{L-1}` works without padding or cropping: the restriction
    (kernel 3, padding 1, stride 2) maps :math:`n` to :math:`\lceil n/2\rceil` points,
    and the prolongation uses ``output_padding`` 1 for even :math:`n`, 0 for odd
    :math:`n`. Channel 0 of the input is added to the output (see :meth:`forward`).
    Used in chapter 5 (experiment E4).

    See Also
    --------
    VCycleUNet : the same U shape with the fixed weights of a multigrid cycle.
    StandardUNet : the baseline with concatenating skips.
    unet_with_budget : build either at a parameter budget.

    Examples
    --------
    >>> import torch
    >>> from pdecore.nets import MultigridUNet
    >>> net = MultigridUNet(levels=3, channels=4)
    >>> print(tuple(net(torch.zeros(2, 2, 37)).shape))
    (2, 1, 37)
    """

    def __init__(
        self,
        levels: int,
        channels: int,
        kernel_size: int = 3,
        smoothing_blocks: int = 1,
        share_transfer: bool = True,
        activation: str | Callable[[], nn.Module] = "relu",
        in_channels: int = 2,
    ) -> None:
        super().__init__()
        self._setup(levels, channels, kernel_size, smoothing_blocks, in_channels)
        self.share_transfer = bool(share_transfer)
        c, k, s = self.n_channels, self.kernel_size, self.smoothing_blocks

        def smoother() -> nn.Sequential:
            return nn.Sequential(*(_ResidualSmoother(c, k, activation) for _ in range(s)))

        self.pre = nn.ModuleList(smoother() for _ in range(self.n_levels))
        self.post = nn.ModuleList(smoother() for _ in range(self.n_levels))
        n_transfer = self.n_levels - 1
        self.restrict = nn.ModuleList(
            nn.Conv1d(c, c, TRANSFER_KERNEL, stride=2, padding=1, bias=False)
            for _ in range(n_transfer)
        )
        if self.share_transfer:
            self.scale = nn.Parameter(torch.ones(n_transfer))
            self.prolong = None
        else:
            self.scale = None
            self.prolong = nn.ModuleList(
                nn.ConvTranspose1d(c, c, TRANSFER_KERNEL, stride=2, padding=1, bias=False)
                for _ in range(n_transfer)
            )

    def _level(self, k: int, x: torch.Tensor) -> torch.Tensor:
        x = self.pre[k](x)                                           # pre-smoothing
        if k < self.n_levels - 1:
            xc = self.restrict[k](x)                                 # R: strided conv
            ec = self._level(k + 1, xc)                              # the U's lower part
            pad = _prolong_padding(x.shape[-1], xc.shape[-1])
            if self.share_transfer:                                  # P = c R^T
                weight = self.restrict[k].weight
                e = self.scale[k] * F.conv_transpose1d(ec, weight, stride=2, padding=1,
                                                       output_padding=pad)
            else:
                e = self.prolong[k](ec, output_size=[x.shape[-1]])
            x = x + e                                                # additive long skip
        return self.post[k](x)                                       # post-smoothing


class StandardUNet(_LearnedUNet):
    r"""Standard 1D U-net (the baseline): independent down/up weights, concatenated skips.

    On level :math:`\ell`

    .. math::
        y = E_\ell(x), \qquad
        z = \mathrm{Up}_\ell\bigl(U_{\ell+1}(\mathrm{Down}_\ell\, y)\bigr), \qquad
        x \leftarrow D_\ell\bigl([\,y,\ z\,]\bigr),

    with encoder and decoder blocks :math:`E, D` (``smoothing_blocks`` blocks of two
    convolutions with activations, not residual), ``Down`` a stride-2 ``Conv1d`` with
    bias and activation, ``Up`` an independent stride-2 ``ConvTranspose1d`` with bias,
    and :math:`[\cdot,\cdot]` the channel concatenation: the first decoder convolution
    takes :math:`2C` channels. The coarsest level is one encoder stack.

    Parameters
    ----------
    levels, channels, kernel_size, smoothing_blocks, activation, in_channels
        As for :class:`MultigridUNet`.

    Notes
    -----
    The channel count is constant over the levels (no doubling), so that the two
    families differ only in the transfer and skip design. Any :math:`N \ge 2^{L-1}`
    works, as for :class:`MultigridUNet`. Used in chapter 5 (experiment E4).

    See Also
    --------
    MultigridUNet, unet_with_budget

    Examples
    --------
    >>> import torch
    >>> from pdecore.nets import StandardUNet
    >>> net = StandardUNet(levels=3, channels=4)
    >>> print(tuple(net(torch.zeros(2, 2, 40)).shape), net.decoders[0][0].conv1.in_channels)
    (2, 1, 40) 8
    """

    def __init__(
        self,
        levels: int,
        channels: int,
        kernel_size: int = 3,
        smoothing_blocks: int = 1,
        activation: str | Callable[[], nn.Module] = "relu",
        in_channels: int = 2,
    ) -> None:
        super().__init__()
        self._setup(levels, channels, kernel_size, smoothing_blocks, in_channels)
        c, k, s = self.n_channels, self.kernel_size, self.smoothing_blocks

        def stack(first_in: int) -> nn.Sequential:
            return nn.Sequential(*(_ConvBlock(first_in if i == 0 else c, c, k, activation)
                                   for i in range(s)))

        self.encoders = nn.ModuleList(stack(c) for _ in range(self.n_levels))
        n_transfer = self.n_levels - 1
        self.decoders = nn.ModuleList(stack(2 * c) for _ in range(n_transfer))
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv1d(c, c, TRANSFER_KERNEL, stride=2, padding=1),
                          _activation(activation))
            for _ in range(n_transfer)
        )
        self.up = nn.ModuleList(
            nn.ConvTranspose1d(c, c, TRANSFER_KERNEL, stride=2, padding=1)
            for _ in range(n_transfer)
        )

    def _level(self, k: int, x: torch.Tensor) -> torch.Tensor:
        y = self.encoders[k](x)
        if k == self.n_levels - 1:
            return y
        z = self._level(k + 1, self.down[k](y))
        z = self.up[k](z, output_size=[y.shape[-1]])
        return self.decoders[k](torch.cat([y, z], dim=1))        # concatenating skip


def _build(kind: str, channels: int, levels: int, **kwargs) -> nn.Module:
    if kind == "multigrid":
        return MultigridUNet(levels, channels, **kwargs)
    return StandardUNet(levels, channels, **kwargs)


def unet_with_budget(kind: str, budget: int, levels: int, *, max_channels: int = 512,
                     **kwargs) -> nn.Module:
    """Build a learned U-net whose trainable-parameter count is closest to ``budget``.

    The channel count :math:`C` is the free variable (the count grows like
    :math:`C^2`); all other settings are passed on.

    Parameters
    ----------
    kind : {"multigrid", "standard"}
        :class:`MultigridUNet` or :class:`StandardUNet`.
    budget : int
        Target number of trainable parameters, ``>= 1``.
    levels : int
        Number of grid levels.
    max_channels : int
        Largest channel count tried.
    **kwargs
        Further arguments of the chosen class (``kernel_size``, ``smoothing_blocks``,
        ``share_transfer`` for the multigrid U-net, ``activation``, ``in_channels``).

    Returns
    -------
    torch.nn.Module
        The network with the channel count whose parameter count is nearest the budget
        (``channels >= 1``; a budget below the 1-channel size gives 1 channel).

    Raises
    ------
    ValueError
        Unknown ``kind`` (the message lists :data:`UNET_KINDS`), ``budget < 1``.

    Examples
    --------
    >>> from pdecore.nets import unet_with_budget
    >>> from pdecore.train import count_parameters
    >>> net = unet_with_budget("standard", 5000, levels=3)
    >>> print(abs(count_parameters(net) - 5000) < 750)
    True
    """
    if kind not in UNET_KINDS:
        raise ValueError(f"kind must be one of {UNET_KINDS}, got {kind!r}")
    budget = as_int(budget, "budget")
    max_channels = as_int(max_channels, "max_channels")

    def size(c: int) -> int:
        net = _build(kind, c, levels, **kwargs)
        return sum(p.numel() for p in net.parameters() if p.requires_grad)

    lo, hi = 1, max_channels  # the count is increasing in C: bisect for size >= budget
    while lo < hi:
        mid = (lo + hi) // 2
        if size(mid) >= budget:
            hi = mid
        else:
            lo = mid + 1
    best = min({max(lo - 1, 1), lo}, key=lambda c: abs(size(c) - budget))
    return _build(kind, best, levels, **kwargs)
