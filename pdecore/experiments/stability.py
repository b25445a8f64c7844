r"""Experiment E1: Euclidean stability of deep symmetric and standard residual networks.

A network of ``depth`` blocks with independent random weights is applied to random
signals; we record :math:`\|u^k\|_2 / \|u^0\|_2` after every block. Each symmetric block
uses the step size ``tau_factor`` times its own bound :math:`2/(L\|W\|_2^2)`; the standard
block at the same layer uses the same first weight :math:`W_1 = W` and an independent
second weight :math:`W_2 = -\tau V` with :math:`\|V\|_2 = \|W\|_2`, i.e. the same step
size without the symmetry. Chapter 2 (:ref:`ch-explicit`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .._validation import as_int, as_positive
from ..nets.resnet import StandardBlock, SymmetricBlock, operator_norm

__all__ = [
    "StabilityResult",
    "block_matrix",
    "deep_network",
    "norm_trajectory",
    "stability_experiment",
]

KINDS = ("symmetric", "standard")


def deep_network(
    kind: str,
    depth: int,
    channels: int,
    kernel_size: int,
    activation: str,
    n: int,
    tau_factor: float = 1.0,
    lam: float = 1.0,
    seed: int = 0,
) -> nn.Sequential:
    """Build ``depth`` random blocks of ``kind`` (float64) scaled as described above.

    Parameters
    ----------
    kind : {"symmetric", "standard"}
        Block type.
    depth, channels, kernel_size : int
        Number of blocks, channels, kernel size.
    activation : str
        Flux name.
    n : int
        Signal length used for the operator norms.
    tau_factor : float
        Step size as a multiple of each block's stability bound.
    lam : float
        Contrast parameter of the flux.
    seed : int
        Seed; the symmetric and the standard network of one seed share every :math:`W_1`.

    Returns
    -------
    torch.nn.Sequential
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    depth = as_int(depth, "depth")
    tau_factor = as_positive(tau_factor, "tau_factor")
    gen = torch.Generator().manual_seed(as_int(seed, "seed", minimum=0))
    shape = (channels, channels, kernel_size)
    blocks = []
    for _ in range(depth):
        w = torch.randn(*shape, generator=gen, dtype=torch.float64)
        v = torch.randn(*shape, generator=gen, dtype=torch.float64)
        sym = SymmetricBlock(channels, kernel_size, activation, lam, dtype=torch.float64)
        with torch.no_grad():
            sym.weight.copy_(w)
        norm_w = operator_norm(w, n)
        sym.tau = tau_factor * 2.0 / (sym.activation.sector_bound * norm_w**2)
        if kind == "symmetric":
            blocks.append(sym)
            continue
        std = StandardBlock(channels, kernel_size, activation, lam, dtype=torch.float64)
        with torch.no_grad():
            std.weight1.copy_(w)
            std.weight2.copy_(-sym.tau * v * (norm_w / operator_norm(v, n)))
        blocks.append(std)
    return nn.Sequential(*blocks)


@torch.no_grad()
def norm_trajectory(net: nn.Sequential, u: torch.Tensor) -> np.ndarray:
    r"""Return :math:`\|u^k\|_2 / \|u^0\|_2` after each block, shape ``(depth + 1, batch)``."""
    if not isinstance(net, nn.Sequential):
        raise TypeError(f"net must be a torch.nn.Sequential of blocks, got {type(net).__name__}")
    if not isinstance(u, torch.Tensor) or not u.is_floating_point():
        got = f"dtype {u.dtype}" if isinstance(u, torch.Tensor) else type(u).__name__
        raise TypeError(f"u must be a floating-point torch.Tensor (batch, channels, N), got {got}")
    norms = [u.flatten(1).norm(dim=1)]
    for block in net:
        u = block(u)
        norms.append(u.flatten(1).norm(dim=1))
    norms = torch.stack(norms)
    return (norms / norms[0]).cpu().numpy()


@dataclass(frozen=True)
class StabilityResult:
    """One configuration of E1: the norm ratios of every signal after every block."""

    activation: str
    kind: str
    tau_factor: float
    ratios: np.ndarray  # (depth + 1, batch)

    @property
    def max_ratio(self) -> float:
        r"""Largest :math:`\|u^k\|/\|u^0\|` over all blocks and signals."""
        return float(self.ratios.max())

    @property
    def final_ratio(self) -> float:
        """Largest ratio after the last block."""
        return float(self.ratios[-1].max())


def stability_experiment(
    activations: Iterable[str],
    tau_factors: Iterable[float] = (1.0, 1.1),
    kinds: Iterable[str] = KINDS,
    depth: int = 100,
    channels: int = 2,
    kernel_size: int = 3,
    n: int = 64,
    batch: int = 16,
    lam: float = 1.0,
    seed: int = 0,
    progress: bool = False,
) -> list[StabilityResult]:
    """Run E1 over activations x tau factors x block kinds; random signals of unit norm.

    The input signals are scaled so that typical differences are of the order of the
    contrast parameter, where nonmonotone fluxes are furthest from linear.

    Returns
    -------
    list of StabilityResult
    """
    batch, channels = as_int(batch, "batch"), as_int(channels, "channels")
    gen = torch.Generator().manual_seed(as_int(seed, "seed", minimum=0))
    u = torch.randn(batch, channels, n, generator=gen, dtype=torch.float64) * lam
    configs = [(a, k, f) for a in activations for f in tau_factors for k in kinds]
    if progress:
        from tqdm.auto import tqdm

        configs = tqdm(configs, desc="E1 configurations", leave=False)
    results = []
    for activation, kind, factor in configs:
        net = deep_network(kind, depth, channels, kernel_size, activation, n, factor, lam, seed)
        results.append(StabilityResult(activation, kind, factor, norm_trajectory(net, u)))
    return results


@torch.no_grad()
def block_matrix(block: nn.Module, n: int) -> np.ndarray:
    r"""Return the matrix of a block with a *linear* activation on signals of length ``n``.

    Applies the block to every basis signal of shape ``(channels, n)``; for a nonlinear
    activation the result is meaningless. Used to measure the worst-case amplification
    :math:`\|I - \tau W^\top W\|_2` exactly.
    """
    if not isinstance(block, nn.Module) or not hasattr(block, "channels"):
        raise TypeError(f"block must be a residual block of pdecore.nets (with .channels), "
                        f"got {type(block).__name__}")
    n = as_int(n, "n", minimum=getattr(block, "kernel_size", 1))
    c = block.channels
    basis = torch.eye(c * n, dtype=torch.float64).view(c * n, c, n)
    return block(basis).reshape(c * n, c * n).T.numpy()
