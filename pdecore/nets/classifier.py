r"""Image classifiers built from 2D symmetric or standard residual blocks (chapter 7).

The 2D twins of the blocks of chapter 2 (:ref:`ch-explicit`), for feature maps of shape
``(batch, C, H, W)``:

- :class:`SymmetricBlock2d`: :math:`u \mapsto u - \tau W^\top \sigma(W u + b)` with one
  trainable ``conv2d`` weight :math:`W` (:math:`C^2 k^2` weights); :math:`W^\top` is
  ``conv_transpose2d`` with the same weight and padding, the exact adjoint of the
  zero-padded convolution.
- :class:`StandardBlock2d`: :math:`u \mapsto u + W_2 \sigma(W_1 u + b_1) + b_2` with two
  independent weights (:math:`2 C^2 k^2`).

:class:`ResNetClassifier` stacks them: a ``conv2d`` stem from the image channels to
:math:`C` feature channels, average pooling to half the resolution, one stage of
residual blocks per entry of ``blocks`` (pooling between stages), global average
pooling and a linear layer to the class scores. Stem and head are the same for both
block types, so the two families differ only in their residual blocks.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import as_bool, as_int, as_odd_kernel, as_positive
from .activations import as_activation
from .norms import conv2d_norm_bound, conv2d_operator_norm

__all__ = [
    "BLOCK_KINDS",
    "ResNetClassifier",
    "StandardBlock2d",
    "SymmetricBlock2d",
    "check_image_tensor",
    "classifier_macs",
    "classifier_parameters",
    "classifier_with_budget",
]

#: Residual block families of :class:`ResNetClassifier`.
BLOCK_KINDS = ("symmetric", "standard")


def check_image_tensor(x: object, channels: int, name: str = "x", *,
                       min_size: int = 1, dtype: torch.dtype | None = None) -> None:
    """Raise a clear error unless ``x`` is a float tensor of shape ``(B, channels, H, W)``.

    ``min_size`` is the smallest admissible height and width; with ``dtype`` (the
    module's weights) another floating dtype is refused with a ``TypeError``.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (batch, {channels}, H, W), "
                        f"got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(f"{name} must have shape (batch, {channels}, H, W), "
                         f"got {tuple(x.shape)}")
    if min(x.shape[2:]) < min_size:
        raise ValueError(f"{name} must be at least {min_size}x{min_size} pixels, got "
                         f"{tuple(x.shape[2:])}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"{name} has dtype {x.dtype} but the module's weights are {dtype}; "
                        f"convert one of them: {name}.to({dtype}) or module.to({x.dtype})")


class SymmetricBlock2d(nn.Module):
    r"""Symmetric 2D residual block :math:`u \mapsto u - \tau W^\top \sigma(W u + b)`.

    Parameters
    ----------
    channels : int
        Feature channels :math:`C`; :math:`W` maps :math:`C \to C`.
    kernel_size : int
        Odd kernel size :math:`k` (zero padding :math:`k // 2` keeps the image size).
    activation : str or torch.nn.Module
        ``"relu"``, a flux name, or a module :math:`\sigma`.
    tau : float
        Step size :math:`\tau > 0`.
    bias : bool
        Trainable bias :math:`b` inside the activation.
    stable : bool
        Stable by construction: on :math:`H \times W` feature maps the step is
        :math:`\min(\tau, 2 / (L B^2))` with :math:`B \ge \|W\|_2` the Fourier-symbol
        bound of :func:`conv2d_norm_bound` (within a few percent of the norm), so the
        block satisfies the stability condition whatever the weights are.

    Notes
    -----
    If :math:`\sigma` is monotone with slopes in :math:`[0, L]` (ReLU: :math:`L = 1`), the
    block is non-expansive, :math:`\|f(u) - f(v)\| \le \|u - v\|`, for
    :math:`\tau \le 2 / (L \|W\|_2^2)` even with the bias: the same argument as for the 1D
    block of chapter 2. :meth:`stability_ratio` measures :math:`\tau L \|W\|_2^2 / 2`.

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
        if not isinstance(stable, bool):
            raise TypeError(f"stable must be a bool, got {stable!r}")
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
        pad = self.kernel_size // 2
        s = self.activation(F.conv2d(u, self.weight, self.bias, padding=pad))
        step = self.step(tuple(u.shape[2:])) if self.stable else self.tau
        return u - step * F.conv_transpose2d(s, self.weight, padding=pad)

    def step(self, size: tuple[int, int] | None = None) -> float | torch.Tensor:
        r"""Return the step: :math:`\tau`, or :math:`\min(\tau, 2/(L B^2))` if stable.

        ``size`` (height, width of the feature maps) is required for a stable block:
        the bound :math:`B` of :func:`conv2d_norm_bound` depends on it.
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
        pad = self.kernel_size // 2
        s = self.activation(F.conv2d(u, self.weight1, self.bias1, padding=pad))
        out = u + F.conv_transpose2d(s, self.weight2, padding=pad)
        if self.bias2 is not None:
            out = out + self.bias2.view(1, -1, 1, 1)
        return out


class ResNetClassifier(nn.Module):
    r"""An image classifier whose residual blocks are symmetric or standard.

    .. math:: x \xrightarrow{\ \mathrm{conv}+\sigma\ } u_0 \xrightarrow{\text{pool}}
              \underbrace{u_{k+1} = F_k(u_k)}_{\text{residual stages}}
              \xrightarrow{\text{global mean}} \text{linear} \to \text{scores}

    Parameters
    ----------
    block : {"symmetric", "standard"}
        :class:`SymmetricBlock2d` or :class:`StandardBlock2d`.
    channels : int
        Feature channels :math:`C` of every block.
    blocks : sequence of int
        Residual blocks per stage; the resolution halves (average pooling) after the stem
        and between stages.
    in_channels : int
        Image channels (1 for Fashion-MNIST, 3 for CIFAR-10).
    classes : int
        Number of classes.
    kernel_size : int
        Odd kernel size of stem and blocks.
    activation : str or torch.nn.Module
        Activation :math:`\sigma` of the stem and the blocks (default ReLU).
    tau : float
        Step size of the symmetric blocks.
    stable : bool
        Symmetric blocks stable by construction (see :class:`SymmetricBlock2d`).

    Examples
    --------
    >>> import torch
    >>> from pdecore.nets import ResNetClassifier
    >>> net = ResNetClassifier("symmetric", channels=8, blocks=(1, 1))
    >>> print(tuple(net(torch.zeros(2, 1, 28, 28)).shape))
    (2, 10)
    """

    def __init__(
        self,
        block: str = "symmetric",
        channels: int = 16,
        blocks: Sequence[int] = (2, 2),
        in_channels: int = 1,
        classes: int = 10,
        kernel_size: int = 3,
        activation: str | nn.Module = "relu",
        tau: float = 1.0,
        stable: bool = False,
        *,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        if block not in BLOCK_KINDS:
            raise ValueError(f"block must be one of {BLOCK_KINDS}, got {block!r}")
        if isinstance(blocks, (int, str)) or not isinstance(blocks, Sequence):
            raise TypeError(f"blocks must be a sequence of ints (blocks per stage), got "
                            f"{blocks!r}")
        if not blocks:
            raise ValueError("blocks must name at least one stage, got an empty sequence")
        self.block = block
        self.channels = as_int(channels, "channels")
        self.blocks = tuple(as_int(b, "blocks", minimum=0) for b in blocks)
        self.in_channels = as_int(in_channels, "in_channels")
        classes = as_int(classes, "classes", minimum=2)
        k = as_odd_kernel(kernel_size)
        kw = {"dtype": dtype, "device": device}
        self.stem = nn.Conv2d(self.in_channels, self.channels, k, padding=k // 2, **kw)
        self.activation = as_activation(activation)
        self.stages = nn.ModuleList()
        for count in self.blocks:
            if block == "symmetric":
                stage = [SymmetricBlock2d(self.channels, k, self.activation, tau, True,
                                          stable, **kw) for _ in range(count)]
            else:
                stage = [StandardBlock2d(self.channels, k, self.activation, **kw)
                         for _ in range(count)]
            self.stages.append(nn.ModuleList(stage))
        self.head = nn.Linear(self.channels, classes, **kw)

    def _features(self, x: torch.Tensor, trace: list | None = None) -> torch.Tensor:
        # every stage halves the resolution once (the first right after the stem)
        check_image_tensor(x, self.in_channels, min_size=2 ** len(self.blocks),
                           dtype=self.stem.weight.dtype)
        u = F.avg_pool2d(self.activation(self.stem(x)), 2)
        for index, stage in enumerate(self.stages):
            if index:
                u = F.avg_pool2d(u, 2)
            for blk in stage:
                if trace is not None:
                    trace.append(u)
                u = blk(u)
        if trace is not None:
            trace.append(u)
        return u

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores (logits) of images ``x`` of shape ``(batch, in_channels, H, W)``."""
        return self.head(self._features(x).mean(dim=(2, 3)))

    def block_inputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps entering each residual block, then the output of the last one.

        Within a stage, entry ``k + 1`` is block ``k`` applied to entry ``k``; across a
        stage boundary the two entries differ by the pooling.
        """
        trace: list[torch.Tensor] = []
        self._features(x, trace)
        return trace

    def residual_blocks(self) -> list[nn.Module]:
        """Return the residual blocks in the order they are applied."""
        return [blk for stage in self.stages for blk in stage]


def classifier_parameters(
    block: str, channels: int, blocks: Sequence[int], in_channels: int = 1,
    classes: int = 10, kernel_size: int = 3,
) -> int:
    r"""Closed-form parameter count of a :class:`ResNetClassifier`.

    .. math:: (c_{in} k^2 + 1) C + n_b\,m (C^2 k^2 + C) + (C + 1)\,n_c,

    with :math:`n_b` residual blocks, :math:`m = 1` (symmetric) or 2 (standard).
    """
    if block not in BLOCK_KINDS:
        raise ValueError(f"block must be one of {BLOCK_KINDS}, got {block!r}")
    c, k = as_int(channels, "channels"), as_int(kernel_size, "kernel_size")
    n_blocks = sum(as_int(b, "blocks", minimum=0) for b in blocks)
    m = 1 if block == "symmetric" else 2
    stem = (as_int(in_channels, "in_channels") * k * k + 1) * c
    return stem + n_blocks * m * (c * c * k * k + c) + (c + 1) * as_int(classes, "classes")


def classifier_macs(
    block: str, channels: int, blocks: Sequence[int], image_size: tuple[int, int] = (28, 28),
    in_channels: int = 1, classes: int = 10, kernel_size: int = 3,
) -> int:
    r"""Closed-form multiply-adds per image of a :class:`ResNetClassifier`'s forward pass.

    .. math:: H W\, c_{in} k^2 C \;+\; \sum_{\text{blocks}} 2\, h_s w_s\, C^2 k^2
              \;+\; C\, n_c ,

    stem, residual blocks and head, with :math:`h_s \times w_s` the resolution of stage
    :math:`s` (:math:`\lfloor H / 2^{s+1} \rfloor`, average pooling after the stem and
    between stages). Both block kinds apply two :math:`k \times k` convolutions (the
    symmetric one :math:`W` and :math:`W^\top`, the standard one :math:`W_1` and
    :math:`W_2`), so at equal width they cost the same; at equal *parameters* a
    symmetric network of twice the depth costs twice as much. Biases, activations and
    pooling are not counted.

    Examples
    --------
    >>> from pdecore.nets import classifier_macs
    >>> print(classifier_macs("standard", 8, (2, 2)), classifier_macs("symmetric", 8, (4, 4)))
    621008 1185488
    """
    if block not in BLOCK_KINDS:
        raise ValueError(f"block must be one of {BLOCK_KINDS}, got {block!r}")
    c, k = as_int(channels, "channels"), as_odd_kernel(kernel_size)
    if not isinstance(image_size, (tuple, list)) or len(image_size) != 2:
        raise TypeError(f"image_size must be a pair (height, width), got {image_size!r}")
    height, width = (as_int(s, "image_size") for s in image_size)
    counts = [as_int(b, "blocks", minimum=0) for b in blocks]
    total = height * width * as_int(in_channels, "in_channels") * k * k * c
    for stage, count in enumerate(counts):
        h, w = height // 2 ** (stage + 1), width // 2 ** (stage + 1)
        total += count * 2 * h * w * c * c * k * k
    return total + c * as_int(classes, "classes")


def classifier_with_budget(
    block: str, budget: int, blocks: Sequence[int] = (2, 2), **kwargs: object
) -> ResNetClassifier:
    """Return the :class:`ResNetClassifier` with ``blocks`` whose width best fits ``budget``.

    The width :math:`C` minimises the distance between :func:`classifier_parameters` and
    ``budget``; ``kwargs`` go to the constructor (``in_channels``, ``classes``, ...).
    """
    budget = as_int(budget, "budget")
    count = {k: kwargs[k] for k in ("in_channels", "classes", "kernel_size") if k in kwargs}
    best = min(range(1, 513),
               key=lambda c: abs(classifier_parameters(block, c, blocks, **count) - budget))
    return ResNetClassifier(block, best, blocks, **kwargs)
