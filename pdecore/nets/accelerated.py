r"""Accelerated explicit schemes as networks (chapter 3, :ref:`ch-acceleration`).

- :class:`FEDNet`: one :class:`~pdecore.nets.SymmetricBlock` (shared weights) applied with
  the varying FED step sizes :math:`\tau_0, \dots, \tau_{n-1}`, cycle after cycle: a
  ResNet with prescribed, varying step sizes.
- :class:`FSINet`: the same block with a fixed step size plus a skip connection from two
  layers back, :math:`u^{k+1} = \alpha_k\,\mathrm{block}(u^k) + (1-\alpha_k)\,u^{k-1}`:
  extrapolation, i.e. momentum.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._validation import as_int
from ..fed import fed_schedule
from ..fsi import fsi_schedule
from .resnet import SymmetricBlock

__all__ = ["FEDNet", "FSINet"]


class FEDNet(nn.Module):
    r"""ResNet of FED cycles: ``cycles`` times the shared block with step sizes ``taus``.

    Parameters
    ----------
    block : SymmetricBlock
        The shared residual block (its own ``tau`` is ignored).
    taus : sequence of float
        Step sizes of one cycle (e.g. :func:`pdecore.fed_schedule`).
    cycles : int
        Number of cycles.

    See Also
    --------
    pdecore.fed_evolution : the numpy scheme (``update="step"``) it reproduces.
    """

    def __init__(self, block: SymmetricBlock, taus: Sequence[float], cycles: int = 1) -> None:
        super().__init__()
        if not isinstance(block, SymmetricBlock):
            raise TypeError(f"block must be a SymmetricBlock, got {type(block).__name__}")
        self.block = block
        self.register_buffer("taus", torch.as_tensor(list(taus), dtype=torch.float64))
        if self.taus.numel() == 0 or not bool((self.taus > 0).all() & self.taus.isfinite().all()):
            raise ValueError(
                "taus must be a non-empty sequence of finite positive step sizes, "
                f"got {self.taus.tolist()}"
            )
        self.cycles = as_int(cycles, "cycles")

    @classmethod
    def from_scheme(
        cls, T: float, tau_max: float, cycles: int = 1, diffusivity: str = "perona_malik",
        lam: float = 1.0, h: float = 1.0, order: int = 1, **kwargs,
    ) -> FEDNet:
        """Build the network that runs :func:`pdecore.fed_evolution` with ``update="step"``."""
        block = SymmetricBlock.from_scheme(tau_max, diffusivity, lam, h, order, **kwargs)
        return cls(block, fed_schedule(T, tau_max, cycles), cycles)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Apply ``cycles * len(taus)`` blocks to ``u`` of shape ``(batch, C, N)``."""
        for _ in range(self.cycles):
            for tau in self.taus.tolist():
                u = self.block(u, tau)
        return u


class FSINet(nn.Module):
    r"""ResNet of FSI cycles: a fixed step size and an extrapolating skip connection.

    .. math:: u^{k+1} = \alpha_k\bigl(u^k - \tau W^\top\Phi(W u^k)\bigr)
              + (1-\alpha_k)\,u^{k-1}, \qquad u^{-1} = u^0 \text{ at each cycle start}

    Parameters
    ----------
    block : SymmetricBlock
        The shared residual block; its ``tau`` is the step size.
    alphas : sequence of float
        Extrapolation weights of one cycle (:func:`pdecore.fsi_weights`).
    cycles : int
        Number of cycles.

    See Also
    --------
    pdecore.fsi_evolution : the numpy scheme (``update="step"``) it reproduces.
    """

    def __init__(self, block: SymmetricBlock, alphas: Sequence[float], cycles: int = 1) -> None:
        super().__init__()
        if not isinstance(block, SymmetricBlock):
            raise TypeError(f"block must be a SymmetricBlock, got {type(block).__name__}")
        self.block = block
        self.register_buffer("alphas", torch.as_tensor(list(alphas), dtype=torch.float64))
        if self.alphas.numel() == 0 or not bool(self.alphas.isfinite().all()):
            raise ValueError(
                f"alphas must be a non-empty sequence of finite numbers, got {self.alphas.tolist()}"
            )
        self.cycles = as_int(cycles, "cycles")

    @classmethod
    def from_scheme(
        cls, T: float, tau: float, cycles: int = 1, diffusivity: str = "perona_malik",
        lam: float = 1.0, h: float = 1.0, order: int = 1, **kwargs,
    ) -> FSINet:
        """Build the network that runs :func:`pdecore.fsi_evolution` with ``update="step"``."""
        tau_cycle, alphas = fsi_schedule(T, tau, cycles)
        block = SymmetricBlock.from_scheme(tau_cycle, diffusivity, lam, h, order, **kwargs)
        return cls(block, alphas, cycles)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Apply ``cycles * len(alphas)`` blocks to ``u`` of shape ``(batch, C, N)``."""
        for _ in range(self.cycles):
            prev = u
            for alpha in self.alphas.tolist():
                u, prev = alpha * self.block(u) + (1.0 - alpha) * prev, u
        return u
