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
"""

from __future__ import annotations

import torch
from torch import nn

from .._validation import as_int
from ..multigrid import SMOOTHERS, Level

__all__ = ["VCycleUNet"]


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
        self.smoother, self.omega = smoother, float(omega)

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
        if not isinstance(b, torch.Tensor) or b.shape[-1] != self.sizes[0]:
            raise ValueError(f"b must be a tensor with last dimension {self.sizes[0]}")
        x = torch.zeros_like(b) if x0 is None else x0
        return self._cycle(0, x, b)
