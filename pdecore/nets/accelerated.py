r"""Accelerated explicit schemes as networks (chapter 3, :ref:`ch-acceleration`).

- :class:`FEDNet`: one :class:`~pdecore.nets.SymmetricBlock` (shared weights) applied with
  the varying FED step sizes :math:`\tau_0, \dots, \tau_{n-1}`, cycle after cycle: a
  ResNet with prescribed, varying step sizes.
- :class:`FSINet`: the same block with a fixed step size plus a skip connection from two
  layers back, :math:`u^{k+1} = \alpha_k\,\mathrm{block}(u^k) + (1-\alpha_k)\,u^{k-1}`:
  extrapolation, i.e. momentum.

Both freeze the diffusivity at the start of each cycle (``update="cycle"``, the default,
as in the numpy schemes and experiment E2) or evaluate the activation at every step
(``update="step"``, what a plain network does). Frozen, with :math:`s^0 = W u^0 + b` at
the cycle start and :math:`G = g\bigl((s^0)^2\bigr)`, every block of the cycle applies
the *linear* map

.. math:: u \mapsto u - \tau_i\, W^\top \bigl(G \odot (W u + b)\bigr),

which for :math:`W = D` and :math:`b = 0` is the cycle of
:func:`pdecore.fed_evolution` / :func:`pdecore.fsi_evolution` with ``update="cycle"``.
This needs an activation :math:`\Phi(s) = g(s^2)\,s` that exposes :math:`g`
(``activation.diffusivity(s2)``, as :class:`~pdecore.nets.FluxActivation` does).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import as_choice, as_int
from ..fed import UPDATE_MODES, fed_schedule
from ..fsi import fsi_schedule
from ._checks import check_signal_tensor, onednn_guard
from .resnet import SymmetricBlock, _symmetric_step

__all__ = ["FEDNet", "FSINet"]


def _check_update(update: object, block: SymmetricBlock) -> str:
    """Validate ``update``; ``"cycle"`` needs an activation with ``diffusivity(s2)``."""
    as_choice(update, "update", UPDATE_MODES)
    if update == "cycle" and not callable(getattr(block.activation, "diffusivity", None)):
        raise TypeError(
            "update='cycle' freezes g = Phi(s)/s and needs an activation with a "
            "diffusivity(s2) method (a flux given by name, FluxActivation); got "
            f"{type(block.activation).__name__}")
    return update


def _frozen_diffusivity(block: SymmetricBlock, u: torch.Tensor) -> torch.Tensor:
    r""":math:`G = g((W u + b)^2)` at the start of a cycle."""
    check_signal_tensor(u, block.channels, block.kernel_size, dtype=block.weight.dtype)
    with onednn_guard(u):
        s = F.conv1d(u, block.weight, block.bias)
    return block.activation.diffusivity(s * s)


def _frozen_step(block: SymmetricBlock, u: torch.Tensor, tau: float,
                 g: torch.Tensor) -> torch.Tensor:
    r"""One block with the frozen diffusivity: :math:`u - \tau W^\top(G \odot (Wu + b))`."""
    return _symmetric_step(u, block.weight, lambda s: g * s, tau, block.bias)


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
    update : {"cycle", "step"}
        Freeze the diffusivity :math:`g` at the start of each cycle (``"cycle"``, the
        default of :func:`pdecore.fed_evolution` too; it needs a flux with
        ``diffusivity(s2)``, see the module docstring), or evaluate the activation at
        every block (``"step"``, any activation).

    See Also
    --------
    pdecore.fed_evolution : the numpy scheme (same ``update``) it reproduces.
    """

    def __init__(self, block: SymmetricBlock, taus: Sequence[float], cycles: int = 1,
                 *, update: str = "cycle") -> None:
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
        self.update = _check_update(update, block)

    @classmethod
    def from_scheme(
        cls, T: float, tau_max: float, cycles: int = 1, diffusivity: str = "perona_malik",
        lam: float = 1.0, h: float = 1.0, order: int = 1, *, update: str = "cycle",
        **kwargs,
    ) -> FEDNet:
        """Build the network that runs :func:`pdecore.fed_evolution` with ``update``."""
        block = SymmetricBlock.from_scheme(tau_max, diffusivity, lam, h, order, **kwargs)
        return cls(block, fed_schedule(T, tau_max, cycles), cycles, update=update)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Apply ``cycles * len(taus)`` blocks to ``u`` of shape ``(batch, C, N)``."""
        for _ in range(self.cycles):
            if self.update == "cycle":
                g = _frozen_diffusivity(self.block, u)
                for tau in self.taus.tolist():
                    u = _frozen_step(self.block, u, tau, g)
            else:
                for tau in self.taus.tolist():
                    u = self.block(u, tau)
        return u

    def extra_repr(self) -> str:
        """Describe the module in ``repr``."""
        return f"cycles={self.cycles}, steps_per_cycle={self.taus.numel()}, update={self.update!r}"


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
    update : {"cycle", "step"}
        Freeze the diffusivity at the start of each cycle (``"cycle"``, the default of
        :func:`pdecore.fsi_evolution` too: :math:`\Phi(W u + b)` becomes
        :math:`G \odot (W u + b)`, see the module docstring), or evaluate the activation
        at every block (``"step"``, any activation).

    See Also
    --------
    pdecore.fsi_evolution : the numpy scheme (same ``update``) it reproduces.
    """

    def __init__(self, block: SymmetricBlock, alphas: Sequence[float], cycles: int = 1,
                 *, update: str = "cycle") -> None:
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
        self.update = _check_update(update, block)

    @classmethod
    def from_scheme(
        cls, T: float, tau_max: float, cycles: int = 1, diffusivity: str = "perona_malik",
        lam: float = 1.0, h: float = 1.0, order: int = 1, *, update: str = "cycle",
        **kwargs,
    ) -> FSINet:
        """Build the network that runs :func:`pdecore.fsi_evolution` with ``update``."""
        tau_cycle, alphas = fsi_schedule(T, tau_max, cycles)
        block = SymmetricBlock.from_scheme(tau_cycle, diffusivity, lam, h, order, **kwargs)
        return cls(block, alphas, cycles, update=update)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Apply ``cycles * len(alphas)`` blocks to ``u`` of shape ``(batch, C, N)``."""
        tau = self.block.tau
        for _ in range(self.cycles):
            prev = u
            if self.update == "cycle":
                g = _frozen_diffusivity(self.block, u)
                for alpha in self.alphas.tolist():
                    new = _frozen_step(self.block, u, tau, g)
                    u, prev = alpha * new + (1.0 - alpha) * prev, u
            else:
                for alpha in self.alphas.tolist():
                    u, prev = alpha * self.block(u) + (1.0 - alpha) * prev, u
        return u

    def extra_repr(self) -> str:
        """Describe the module in ``repr``."""
        return (f"cycles={self.cycles}, steps_per_cycle={self.alphas.numel()}, "
                f"update={self.update!r}")
