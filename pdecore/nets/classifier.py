r"""Image classifiers built from 2D symmetric or standard residual blocks (chapter 7).

The residual blocks are the 2D twins of those of chapter 2 (:ref:`ch-explicit`), for
feature maps of shape ``(batch, C, H, W)``; they live with the 1D blocks in
:mod:`pdecore.nets.resnet`:

- :class:`~pdecore.nets.SymmetricBlock2d`: :math:`u \mapsto u - \tau W^\top \sigma(W u + b)`
  with one trainable ``conv2d`` weight :math:`W` (:math:`C^2 k^2` weights);
- :class:`~pdecore.nets.StandardBlock2d`: :math:`u \mapsto u + W_2 \sigma(W_1 u + b_1) + b_2`
  with two independent weights (:math:`2 C^2 k^2`).

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

from .._validation import as_choice, as_int, as_odd_kernel
from ._budget import width_for_budget
from ._checks import check_image_tensor
from .activations import as_activation
from .resnet import StandardBlock2d, SymmetricBlock2d

__all__ = [
    "BLOCK_KINDS",
    "ResNetClassifier",
    "classifier_macs",
    "classifier_parameters",
    "classifier_with_budget",
]

#: Residual block families of :class:`ResNetClassifier`.
BLOCK_KINDS = ("symmetric", "standard")


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
        as_choice(block, "block", BLOCK_KINDS)
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
    as_choice(block, "block", BLOCK_KINDS)
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
    as_choice(block, "block", BLOCK_KINDS)
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
    r"""Return the :class:`ResNetClassifier` with ``blocks`` whose width best fits ``budget``.

    The width :math:`C \le 512` minimises the distance between
    :func:`classifier_parameters` and ``budget`` (the larger one on a tie); ``kwargs``
    go to the constructor (``in_channels``, ``classes``, ...).

    See Also
    --------
    pdecore.nets.diffusion_net_with_budget, pdecore.nets.unet_with_budget : the same sizer.

    Examples
    --------
    >>> from pdecore.nets import classifier_parameters, classifier_with_budget
    >>> budget = classifier_parameters("standard", 8, (2, 2))
    >>> print(budget, classifier_with_budget("symmetric", budget, (2, 2)).channels)
    4842 11
    """
    budget = as_int(budget, "budget")
    block = as_choice(block, "block", BLOCK_KINDS)
    options = {k: kwargs[k] for k in ("in_channels", "classes", "kernel_size") if k in kwargs}

    def count(channels: int) -> int:
        return classifier_parameters(block, channels, blocks, **options)

    return ResNetClassifier(block, width_for_budget(count, budget, 512), blocks, **kwargs)
