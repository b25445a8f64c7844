r"""Multigrid = U-net: one network class for the fixed-weight V-cycle and the learned nets.

Dictionary (chapter 5, multigrid = U-net). One cycle for :math:`A x = b` on level
:math:`\ell` is

.. math::
    x \leftarrow x + S_j(b - A_\ell x) \ (\text{pre-smoothing}), \quad
    b_{\ell+1} = R_\ell (b - A_\ell x), \quad
    e = U_{\ell+1}(0, b_{\ell+1}), \quad
    x \leftarrow x + P_\ell e, \quad
    x \leftarrow x + S_j(b - A_\ell x) \ (\text{post-smoothing}),

- smoothing: a residual block whose input is the residual :math:`b - A x`; damped
  Jacobi is :math:`S(r) = \omega D_A^{-1} r`, red-black Gauss-Seidel two such blocks
  masked to alternate points, a learned smoother :math:`S(r) = W_2\sigma(W_1 r +
  \beta_1) + \beta_2`;
- residual and restriction :math:`R_\ell(b - A_\ell x)`: the operator (or a learned
  stencil, a convolution) and a strided convolution (stride 2, kernel 3);
- coarse level: the same network one level down, the recursion is the U shape;
- prolongation :math:`P_\ell e`: a transposed strided convolution, tied to the
  restriction (:math:`P = c R^\top`; for the Galerkin hierarchy :math:`c = 1`);
- correction :math:`x + P e`: the U-net's long skip connection, **added**.

:class:`MultigridUNet` is this network. :meth:`MultigridUNet.from_scheme` loads the
weights of a :func:`pdecore.multigrid_hierarchy` (position-dependent: locally
connected convolutions) and reproduces :func:`pdecore.multigrid.cycle` to rounding
error; the constructor builds the same network with trainable convolutions and
``channels`` feature channels (a learned stencil :math:`A_\ell` per level). Five
switches turn its multigrid choices one at a time into those of the baseline
:class:`StandardUNet` (see :data:`UNET_FACTORS`), for the ablation of experiment E4;
with all five switched the two classes are the same network.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from .._validation import as_choice, as_damping, as_int, as_odd_kernel
from ..multigrid import SMOOTHERS, Level
from ._budget import built_parameters, width_for_budget
from ._checks import check_float_tensor, check_signal_tensor, onednn_guard
from .activations import as_activation

__all__ = ["MultigridUNet", "StandardUNet", "UNET_FACTORS", "UNET_KINDS", "unet_with_budget"]

#: Learned U-net families by name, for :func:`unet_with_budget`.
UNET_KINDS = ("multigrid", "standard")

#: The five design choices in which :class:`MultigridUNet` and :class:`StandardUNet`
#: differ: switch name -> (multigrid value, standard value).
UNET_FACTORS: dict[str, tuple] = {
    "form": ("residual", "features"),
    "share_transfer": (True, False),
    "transfer": ("linear", "affine"),
    "skip": ("add", "concat"),
    "block": ("residual", "plain"),
}

#: Kernel size of the restriction and prolongation (as the 3-tap linear interpolation).
TRANSFER_KERNEL = 3


def _t(x) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float64)


def _activation(activation: str | Callable[[], nn.Module]) -> nn.Module:
    """Return a new activation module for one layer, from a registry name or a factory."""
    if isinstance(activation, str):
        return as_activation(activation)
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


def _conv(c_in: int, c_out: int, k: int, **kw) -> nn.Conv1d:
    return nn.Conv1d(c_in, c_out, k, padding=k // 2, **kw)


def _prolong_padding(n_fine: int, n_coarse: int) -> int:
    """``output_padding`` that makes a stride-2 transposed convolution return ``n_fine``."""
    # restriction (kernel 3, padding 1, stride 2): n -> ceil(n/2); the transposed
    # convolution gives 2 m - 1 points, one more is added for even n.
    return n_fine - (2 * n_coarse - 1)


# --- fixed (operator-given) layers -------------------------------------------------------


class _Tridiagonal(nn.Module):
    """The level's matrix :math:`A x` as a locally connected 3-tap convolution."""

    def __init__(self, level: Level) -> None:
        super().__init__()
        self.register_buffer("diag", _t(level.A.diag))
        self.register_buffer("off", _t(level.A.off))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.diag * x
        y = torch.cat([y[..., :-1] + self.off * x[..., 1:], y[..., -1:]], dim=-1)
        return torch.cat([y[..., :1], y[..., 1:] + self.off * x[..., :-1]], dim=-1)


class _PointBlock(nn.Module):
    r"""A fixed smoothing block :math:`x + s \odot u` (Jacobi: :math:`s = \omega/a_{ii}`)."""

    def __init__(self, scale: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("scale", scale)

    def forward(self, u: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return x + self.scale * u


class _FixedTransfer(nn.Module):
    r"""Restriction :math:`P^\top r` and prolongation :math:`P e` of a hierarchy level."""

    def __init__(self, level: Level) -> None:
        super().__init__()
        self.register_buffer("left", _t(level.left))
        self.register_buffer("right", _t(level.right))

    def down(self, r: torch.Tensor) -> torch.Tensor:
        """Stride-2 convolution with the position-dependent kernel (left, 1, right)."""
        nf, nr = self.left.numel(), self.right.numel()
        rc = r[..., 0::2].clone()
        odd = r[..., 1::2]
        rc[..., :nf] += self.left * odd
        rc[..., 1 : nr + 1] += self.right * odd[..., :nr]
        return rc

    def up(self, e: torch.Tensor, n: int) -> torch.Tensor:
        """Stride-2 transposed convolution with the same kernel."""
        nf, nr = self.left.numel(), self.right.numel()
        odd = self.left * e[..., :nf]
        odd = torch.cat([odd[..., :nr] + self.right * e[..., 1 : nr + 1], odd[..., nr:]], -1)
        out = torch.zeros(e.shape[:-1] + (n,), dtype=e.dtype, device=e.device)
        out[..., 0::2] = e
        out[..., 1::2] = odd
        return out


class _CoarseSolve(nn.Module):
    """Exact solve on the coarsest level (its inverse as a dense buffer)."""

    def __init__(self, level: Level) -> None:
        super().__init__()
        a = (torch.diag(_t(level.A.diag)) + torch.diag(_t(level.A.off), 1)
             + torch.diag(_t(level.A.off), -1))
        self.register_buffer("inverse", torch.linalg.inv(a))

    def forward(self, b: torch.Tensor) -> torch.Tensor:
        return b @ self.inverse.T


# --- learned layers ----------------------------------------------------------------------


class _ConvBlock(nn.Module):
    r"""Learned block on input ``u``, residual or plain.

    Residual: :math:`x + W_2\sigma(W_1 u + \beta_1) + \beta_2`; plain:
    :math:`\sigma(W_2\sigma(W_1 u + \beta_1) + \beta_2)`.
    """

    def __init__(self, c_in: int, channels: int, k: int, activation, residual: bool) -> None:
        super().__init__()
        self.conv1, self.conv2 = _conv(c_in, channels, k), _conv(channels, channels, k)
        self.act1 = _activation(activation)
        self.act2 = None if residual else _activation(activation)

    def reset_parameters(self) -> None:
        """He initialisation before an activation; a residual branch starts at zero."""
        nn.init.kaiming_normal_(self.conv1.weight, nonlinearity="relu")
        nn.init.zeros_(self.conv1.bias)
        nn.init.zeros_(self.conv2.bias)
        if self.act2 is None:
            nn.init.zeros_(self.conv2.weight)  # the block starts as the identity
        else:
            nn.init.kaiming_normal_(self.conv2.weight, nonlinearity="relu")

    def forward(self, u: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(self.act1(self.conv1(u)))
        return x + h if self.act2 is None else self.act2(h)


class _TiedUp(nn.Module):
    r"""Prolongation tied to the restriction: :math:`c R^\top e` (plus a bias if affine)."""

    def __init__(self, channels: int, bias: bool) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.bias = nn.Parameter(torch.zeros(channels)) if bias else None

    def forward(self, e: torch.Tensor, weight: torch.Tensor, n: int) -> torch.Tensor:
        pad = _prolong_padding(n, e.shape[-1])
        return self.scale * F.conv_transpose1d(e, weight, self.bias, stride=2, padding=1,
                                               output_padding=pad)


class _LearnedTransfer(nn.Module):
    """Learned restriction (strided convolution) and prolongation of one level."""

    def __init__(self, channels: int, tied: bool, affine: bool, activation) -> None:
        super().__init__()
        c = channels
        self.restrict = nn.Conv1d(c, c, TRANSFER_KERNEL, stride=2, padding=1, bias=affine)
        self.act = _activation(activation) if affine else None
        if affine:  # followed by an activation: He initialisation
            nn.init.kaiming_normal_(self.restrict.weight, nonlinearity="relu")
            nn.init.zeros_(self.restrict.bias)
        if tied:
            self.prolong = _TiedUp(c, affine)
        else:
            self.prolong = nn.ConvTranspose1d(c, c, TRANSFER_KERNEL, stride=2, padding=1,
                                              bias=affine)

    def down(self, u: torch.Tensor) -> torch.Tensor:
        y = self.restrict(u)
        return y if self.act is None else self.act(y)

    def up(self, e: torch.Tensor, n: int) -> torch.Tensor:
        if isinstance(self.prolong, _TiedUp):
            return self.prolong(e, self.restrict.weight, n)
        return self.prolong(e, output_size=[n])


# --- the U-nets --------------------------------------------------------------------------


class _UNet(nn.Module):
    """The U recursion shared by the fixed-weight, learned multigrid and standard U-nets."""

    # set by _build_learned or MultigridUNet.from_scheme
    lift: nn.Module | None
    head: nn.Module | None
    op: nn.ModuleList | None
    coarse: nn.Module | None

    def _build_learned(self, levels, channels, kernel_size, smoothing_blocks, activation,
                       in_channels, form, share_transfer, transfer, skip, block) -> None:
        self.levels = as_int(levels, "levels")
        self.channels = as_int(channels, "channels")
        self.kernel_size = as_odd_kernel(kernel_size)
        self.smoothing_blocks = as_int(smoothing_blocks, "smoothing_blocks")
        self.in_channels = as_int(in_channels, "in_channels")
        factors = UNET_FACTORS
        self.form = as_choice(form, "form", factors["form"])
        self.share_transfer = as_choice(share_transfer, "share_transfer",
                                        factors["share_transfer"])
        self.transfer_kind = as_choice(transfer, "transfer", factors["transfer"])
        self.skip = as_choice(skip, "skip", factors["skip"])
        self.block = as_choice(block, "block", factors["block"])
        if self.skip == "concat" and self.form == "residual":
            raise ValueError("skip='concat' needs form='features': in the residual form the "
                             "coarse-grid correction is an iterate and is added")
        _activation(activation)  # validate once, before building the layers
        self.gamma = 1
        c, k, s = self.channels, self.kernel_size, self.smoothing_blocks
        residual_blocks = self.block == "residual"
        self.lift = _conv(self.in_channels, c, k)
        self.head = nn.Conv1d(c, 1, 1)
        last = self.levels - 1
        self.op = (nn.ModuleList(_conv(c, c, k, bias=False) for _ in range(self.levels))
                   if self.form == "residual" else None)

        def stack(first_in: int) -> nn.ModuleList:
            blocks = nn.ModuleList(_ConvBlock(first_in if j == 0 else c, c, k, activation,
                                              residual_blocks) for j in range(s))
            for block in blocks:
                block.reset_parameters()
            return blocks

        concat = self.skip == "concat"
        self.pre = nn.ModuleList(stack(c) for _ in range(self.levels))
        self.post = nn.ModuleList(stack(2 * c if concat and lv < last else c)
                                  for lv in range(self.levels))
        self.transfer = nn.ModuleList(
            _LearnedTransfer(c, self.share_transfer, self.transfer_kind == "affine",
                             activation) for _ in range(last))
        self.coarse = None

    @property
    def min_length(self) -> int:
        """Shortest admissible signal: ``2**(levels - 1)`` points."""
        return 2 ** (self.levels - 1)

    @property
    def is_scheme(self) -> bool:
        """Whether the weights are a numerical scheme's (built by ``from_scheme``)."""
        return self.lift is None

    def _smooth(self, k: int, blocks, x: torch.Tensor, b, first=None) -> torch.Tensor:
        for j, block in enumerate(blocks):
            if self.op is not None:
                u = b - self.op[k](x)                                # residual b - A x
            else:
                u = first if (j == 0 and first is not None) else x   # features
            x = block(u, x)
        return x

    def _level(self, k: int, x: torch.Tensor, b) -> torch.Tensor:
        last = k == self.levels - 1
        if last and self.coarse is not None:
            return self.coarse(b)                                    # exact coarse solve
        x = self._smooth(k, self.pre[k], x, b)                       # pre-smoothing
        if last:
            return self._smooth(k, self.post[k], x, b)
        t = self.transfer[k]
        if self.op is not None:
            bc = t.down(b - self.op[k](x))                           # R (b - A x)
            ec = torch.zeros_like(bc)
            visits = 1 if (k + 1 == self.levels - 1) else self.gamma
            for _ in range(visits):
                ec = self._level(k + 1, ec, bc)                      # the U's lower part
        else:
            ec = self._level(k + 1, t.down(x), None)                 # R x (features)
        z = t.up(ec, x.shape[-1])                                    # P e
        if self.skip == "add":
            return self._smooth(k, self.post[k], x + z, b)           # additive long skip
        return self._smooth(k, self.post[k], x, b, first=torch.cat([x, z], dim=1))

    def _learned_forward(self, inp: torch.Tensor, name: str) -> torch.Tensor:
        check_signal_tensor(inp, self.in_channels, self.min_length, name=name,
                            dtype=self.head.weight.dtype)
        with onednn_guard(inp):
            lifted = self.lift(inp)
            if self.op is not None:
                x = self._level(0, torch.zeros_like(lifted), lifted)
            else:
                x = self._level(0, lifted, None)
            return inp[:, :1] + self.head(x)

    def multiply_adds(self, n: int) -> int:
        r"""Multiply-adds of one forward pass on one signal of ``n`` points.

        Counts the convolutions and transposed convolutions (a convolution with
        :math:`C_\text{in}` inputs, :math:`C_\text{out}` outputs, kernel :math:`k` and
        :math:`n'` outputs costs :math:`C_\text{in} C_\text{out} k n'`); activations,
        additions and biases are not counted. Learned networks only.
        """
        if self.is_scheme:
            raise TypeError("multiply_adds counts learned layers; this net was built by "
                            "from_scheme")
        n = as_int(n, "n", minimum=self.min_length)
        total = [0]

        def hook(module, inputs, output):
            if isinstance(module, nn.Conv1d):
                total[0] += output.shape[1] * output.shape[2] * module.in_channels \
                    * module.kernel_size[0] // module.groups
            elif isinstance(module, nn.ConvTranspose1d):
                e = inputs[0]
                total[0] += e.shape[1] * e.shape[2] * module.out_channels * module.kernel_size[0]
            else:  # _TiedUp: weight (C_in, C_out, k)
                e, w = inputs[0], inputs[1]
                total[0] += e.shape[1] * e.shape[2] * w.shape[1] * w.shape[2]

        handles = [m.register_forward_hook(hook) for m in self.modules()
                   if isinstance(m, nn.Conv1d | nn.ConvTranspose1d | _TiedUp)]
        try:
            with torch.no_grad():
                self._learned_forward(torch.zeros(1, self.in_channels, n,
                                                  dtype=self.head.weight.dtype,
                                                  device=self.head.weight.device), "x")
        finally:
            for h in handles:
                h.remove()
        return int(total[0])


class MultigridUNet(_UNet):
    r"""The multigrid U-net: a V-cycle whose down path restricts the residual.

    On level :math:`\ell` (length :math:`n_\ell`, :math:`n_{\ell+1} = \lceil
    n_\ell/2\rceil`), with right-hand side :math:`b_\ell` and iterate :math:`x`,

    .. math::
        x &\leftarrow x + S_{\ell,j}(b_\ell - A_\ell x),\quad j = 1, \dots, s
            && \text{pre-smoothing}\\
        b_{\ell+1} &= R_\ell\,(b_\ell - A_\ell x)
            && \text{restriction of the residual}\\
        x &\leftarrow x + P_\ell\, U_{\ell+1}(0, b_{\ell+1})
            && \text{coarse-grid correction (additive skip)}\\
        x &\leftarrow x + S'_{\ell,j}(b_\ell - A_\ell x)
            && \text{post-smoothing}

    and on the coarsest level only the smoothers (a scheme: the exact solve). The
    learned network lifts its input :math:`(f, \lambda)` to the right-hand side
    :math:`b_0 = L(f, \lambda)` (a convolution to ``channels`` channels), runs one cycle
    from :math:`x = 0` and returns :math:`f + H x` (:math:`H` a 1x1 convolution). Its
    layers:

    - operator :math:`A_\ell`: a learned stencil, ``Conv1d`` (``channels`` to
      ``channels``, ``kernel_size``, no bias), shared by the level's residuals;
    - smoother :math:`S(r) = W_2 \sigma(W_1 r + \beta_1) + \beta_2`, ``smoothing_blocks``
      residual blocks before and after the correction;
    - restriction :math:`R_\ell`: ``Conv1d`` with stride 2, kernel 3, no bias;
    - prolongation :math:`P_\ell = c_\ell R_\ell^\top` (``conv_transpose1d`` with the
      same weight and a trainable scalar).

    :meth:`from_scheme` builds the same network with the weights of a multigrid
    hierarchy (one channel, position-dependent weights): it reproduces
    :func:`pdecore.multigrid.cycle` to rounding error.

    Parameters
    ----------
    levels : int
        Number of grid levels :math:`L \ge 1` (1: no coarse grid).
    channels : int
        Feature channels :math:`C` on every level.
    kernel_size : int
        Odd kernel size of the stencils and smoothing convolutions (zero padding).
    smoothing_blocks : int
        Smoothing blocks before and after the coarse-grid correction.
    share_transfer : bool
        Tie the prolongation to the restriction, :math:`P = c R^\top`:
        :math:`3C^2 + 1` instead of :math:`6C^2` transfer weights per level.
    activation : str or callable
        A name of :data:`~pdecore.nets.activations.ACTIVATIONS` (``"relu"``, the
        :class:`~pdecore.nets.SectorReLU` of every network, ``"gelu"``, ``"silu"``,
        ``"tanh"``, ...) or a factory of modules (every layer gets its own).
    in_channels : int
        Input channels (the signal first, then e.g. a parameter channel).
    form : {"residual", "features"}
        ``"residual"``: as above. ``"features"``: no right-hand side and no stencil;
        the blocks act on the features, :math:`x \leftarrow x + S(x)`, the restriction
        restricts the features, :math:`x_{\ell+1} = R_\ell x`, and the correction is
        :math:`x + P_\ell U_{\ell+1}(R_\ell x)` (the previous book's learned U-net).
    transfer : {"linear", "affine"}
        ``"affine"``: the standard U-net's transfer, :math:`\sigma(R u + \beta)` down
        and :math:`P e + \beta'` up.
    skip : {"add", "concat"}
        ``"concat"`` (only with ``form="features"``): the first post-smoothing block
        reads the channel concatenation :math:`[x, P e]` (:math:`2C` channels) instead
        of :math:`x + P e`.
    block : {"residual", "plain"}
        ``"plain"``: blocks :math:`\sigma(W_2 \sigma(W_1 u + \beta_1) + \beta_2)` without
        the identity path.

    Notes
    -----
    Initialisation (both classes): convolutions followed by an activation get He
    initialisation (ReLU gain, zero bias); the second convolution of a residual block
    starts at zero, so every residual block starts as the identity; the linear layers
    (lift, head, stencils, restriction, prolongation) keep PyTorch's default.

    The five switches ``form``, ``share_transfer``, ``transfer``, ``skip`` and ``block``
    exist for the ablation of chapter 5: each changes one multigrid choice into the
    standard U-net's (:data:`UNET_FACTORS`); with all five switched the network is
    :class:`StandardUNet` (same layers, same count). Any length
    :math:`N \ge 2^{L-1}` works: the restriction (kernel 3, padding 1, stride 2) maps
    :math:`n` to :math:`\lceil n/2\rceil` points. Used in chapter 5 (E4).

    See Also
    --------
    StandardUNet : the baseline.
    unet_with_budget : build either at a parameter budget.
    pdecore.multigrid.cycle : the numpy cycle that ``from_scheme`` reproduces.

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
        *,
        form: str = "residual",
        transfer: str = "linear",
        skip: str = "add",
        block: str = "residual",
    ) -> None:
        super().__init__()
        self._build_learned(levels, channels, kernel_size, smoothing_blocks, activation,
                            in_channels, form, share_transfer, transfer, skip, block)

    @classmethod
    def from_scheme(cls, hierarchy: list[Level], pre: int = 2, post: int = 2,
                    smoother: str = "rbgs", omega: float = 2.0 / 3.0,
                    gamma: int = 1) -> MultigridUNet:
        r"""Build the network with the fixed weights of one multigrid cycle for :math:`Ax = b`.

        Every level gets its matrix :math:`A_\ell` (a locally connected 3-tap
        convolution), its smoothing blocks (damped Jacobi: :math:`S(r) = \omega\,
        r / a_{ii}`; red-black Gauss-Seidel: :math:`S(r) = m \odot r / a_{ii}` with the
        mask :math:`m` of the even, then the odd points, reversed after the
        correction), the restriction :math:`P_\ell^\top` and the prolongation
        :math:`P_\ell` (:math:`c = 1`), and the coarsest level its inverse. The
        weights are buffers (float64), not parameters.

        Parameters
        ----------
        hierarchy : list of pdecore.multigrid.Level
            From :func:`pdecore.multigrid_hierarchy` (either interpolation).
        pre, post : int
            Smoothing sweeps before and after the coarse-grid correction.
        smoother : {"jacobi", "rbgs"}
            Damped Jacobi (one block per sweep) or red-black Gauss-Seidel (two masked
            blocks per sweep).
        omega : float
            Jacobi damping.
        gamma : int
            1 for a V-cycle, 2 for a W-cycle.

        Returns
        -------
        MultigridUNet
            Its ``forward(b, x0=None)`` takes right-hand sides of shape ``(..., N)``.

        Raises
        ------
        TypeError
            ``hierarchy`` is not a list of :class:`pdecore.multigrid.Level`.
        ValueError
            Unknown smoother, negative sweeps, ``omega`` outside (0, 1].

        Examples
        --------
        >>> import numpy as np, torch, pdecore
        >>> from pdecore.nets import MultigridUNet
        >>> u = pdecore.add_noise(pdecore.piecewise_constant(200, 4, seed=0), 0.05, seed=1)
        >>> bands = pdecore.semi_implicit_matrix_bands(u, 50.0, lam=0.1)
        >>> h = pdecore.multigrid_hierarchy(pdecore.Tridiagonal.from_bands(bands), min_size=8)
        >>> net = MultigridUNet.from_scheme(h, smoother="jacobi")
        >>> x_net = net(torch.tensor(u)).numpy()
        >>> x_np = pdecore.multigrid.cycle(h, np.zeros_like(u), u, smoother="jacobi")
        >>> print(np.abs(x_net - x_np).max() < 1e-12)
        True
        """
        if (not isinstance(hierarchy, list | tuple) or not hierarchy
                or not all(isinstance(level, Level) for level in hierarchy)):
            raise TypeError("hierarchy must be a non-empty list of pdecore.multigrid.Level")
        as_choice(smoother, "smoother", SMOOTHERS)
        pre, post = as_int(pre, "pre", minimum=0), as_int(post, "post", minimum=0)
        omega, gamma = as_damping(omega), as_int(gamma, "gamma")
        net = cls.__new__(cls)
        nn.Module.__init__(net)
        net.levels, net.channels, net.in_channels = len(hierarchy), 1, 1
        net.kernel_size, net.smoothing_blocks = 3, pre
        net.form, net.share_transfer, net.transfer_kind = "residual", True, "linear"
        net.skip, net.block, net.gamma = "add", "residual", gamma
        net.pre_sweeps, net.post_sweeps, net.smoother, net.omega = pre, post, smoother, omega
        net.sizes = [level.n for level in hierarchy]
        net.lift = net.head = None
        net.op = nn.ModuleList(_Tridiagonal(level) for level in hierarchy)

        def sweeps(level: Level, count: int, reverse: bool) -> nn.ModuleList:
            inv = 1.0 / _t(level.A.diag)
            if smoother == "jacobi":
                return nn.ModuleList(_PointBlock(omega * inv) for _ in range(count))
            blocks = []
            for _ in range(count):
                for parity in ((1, 0) if reverse else (0, 1)):
                    mask = torch.zeros_like(inv)
                    mask[parity::2] = 1.0
                    blocks.append(_PointBlock(mask * inv))
            return nn.ModuleList(blocks)

        net.pre = nn.ModuleList(sweeps(level, pre, False) for level in hierarchy)
        net.post = nn.ModuleList(sweeps(level, post, True) for level in hierarchy)
        net.transfer = nn.ModuleList(_FixedTransfer(level) for level in hierarchy[:-1])
        net.coarse = _CoarseSolve(hierarchy[-1])
        return net

    def forward(self, b: torch.Tensor, x0: torch.Tensor | None = None) -> torch.Tensor:
        """One cycle.

        Parameters
        ----------
        b : torch.Tensor
            A net from :meth:`from_scheme`: right-hand sides of shape ``(..., N)``. A
            learned net: its input ``(batch, in_channels, N)``, channel 0 the signal.
        x0 : torch.Tensor, optional
            Initial iterate of a :meth:`from_scheme` net (default zero), shape of ``b``.

        Returns
        -------
        torch.Tensor
            The new iterate ``(..., N)``, or the learned net's output ``(batch, 1, N)``.
        """
        if not self.is_scheme:
            if x0 is not None:
                raise ValueError("x0 is only accepted by a net built with from_scheme; a "
                                 "learned net always starts from x = 0")
            return self._learned_forward(b, "b")
        n = self.sizes[0]
        check_float_tensor(b, "b")
        if b.ndim == 0 or b.shape[-1] != n:
            raise ValueError(f"b must be a tensor with last dimension {n}, "
                             f"got shape {tuple(b.shape)}")
        if x0 is None:
            x = torch.zeros_like(b)
        elif not isinstance(x0, torch.Tensor) or x0.shape != b.shape:
            raise ValueError(f"x0 must be a tensor of the shape of b, {tuple(b.shape)}")
        else:
            x = x0
        return self._level(0, x, b)


class StandardUNet(_UNet):
    r"""Standard 1D U-net (the baseline): independent down/up weights, concatenated skips.

    On level :math:`\ell`

    .. math::
        y = E_\ell(x), \qquad
        z = \mathrm{Up}_\ell\bigl(U_{\ell+1}(\mathrm{Down}_\ell\, y)\bigr), \qquad
        x \leftarrow D_\ell\bigl([\,y,\ z\,]\bigr),

    with encoder and decoder stacks :math:`E, D` of ``smoothing_blocks`` plain blocks
    :math:`\sigma(W_2 \sigma(W_1 u + \beta_1) + \beta_2)`, ``Down`` a stride-2
    ``Conv1d`` with bias and activation, ``Up`` an independent stride-2
    ``ConvTranspose1d`` with bias, and :math:`[\cdot,\cdot]` the channel concatenation:
    the first decoder convolution takes :math:`2C` channels. The coarsest level (the
    bottleneck) is an encoder and a decoder stack. The input is lifted by a
    convolution, the output is :math:`f + H x` as for :class:`MultigridUNet`.

    Parameters
    ----------
    levels, channels, kernel_size, smoothing_blocks, activation, in_channels
        As for :class:`MultigridUNet`.

    Notes
    -----
    The channel count is constant over the levels (no doubling). This is
    :class:`MultigridUNet` with all five switches of :data:`UNET_FACTORS` on their
    standard values (``form="features"``, ``share_transfer=False``,
    ``transfer="affine"``, ``skip="concat"``, ``block="plain"``). Used in chapter 5.

    See Also
    --------
    MultigridUNet, unet_with_budget

    Examples
    --------
    >>> import torch
    >>> from pdecore.nets import StandardUNet
    >>> net = StandardUNet(levels=3, channels=4)
    >>> print(tuple(net(torch.zeros(2, 2, 40)).shape), net.post[0][0].conv1.in_channels)
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
        standard = {name: values[1] for name, values in UNET_FACTORS.items()}
        self._build_learned(levels, channels, kernel_size, smoothing_blocks, activation,
                            in_channels, **standard)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x`` of shape ``(batch, in_channels, N)`` to ``(batch, 1, N)``.

        The output is ``x[:, :1] + head(U(lift(x)))``: channel 0 (the signal) is passed
        through, the network learns the change.
        """
        return self._learned_forward(x, "x")


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
        ``activation``, ``in_channels``, and for the multigrid U-net its switches
        ``share_transfer``, ``form``, ``transfer``, ``skip``, ``block``).

    Returns
    -------
    torch.nn.Module
        The network with the channel count whose parameter count is nearest the budget
        (the larger count on a tie; ``channels >= 1``, a budget below the 1-channel size
        gives 1 channel).

    Raises
    ------
    ValueError
        Unknown ``kind`` (the message lists :data:`UNET_KINDS`), ``budget < 1``.

    See Also
    --------
    pdecore.nets.diffusion_net_with_budget, pdecore.nets.classifier_with_budget : the
        same sizer.

    Examples
    --------
    >>> from pdecore.nets import unet_with_budget
    >>> from pdecore.train import count_parameters
    >>> net = unet_with_budget("standard", 5000, levels=3)
    >>> print(abs(count_parameters(net) - 5000) < 750)
    True
    """
    kind = as_choice(kind, "kind", UNET_KINDS)
    budget = as_int(budget, "budget")
    max_channels = as_int(max_channels, "max_channels")

    def count(channels: int) -> int:
        return built_parameters(lambda: _build(kind, channels, levels, **kwargs))

    return _build(kind, width_for_budget(count, budget, max_channels), levels, **kwargs)
