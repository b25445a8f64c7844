r"""Implicit schemes as recurrent networks, and a differentiable semi-implicit layer.

- :class:`FixedPointRNN`: the fully implicit step
  :math:`u^{k+1} = u^k - \tau W^\top\Phi(W u^{k+1})` solved by the fixed-point iteration
  :math:`v^{l+1} = u^k - \tau W^\top\Phi(W v^l)`: one block with shared weights applied
  :math:`L` times, the input :math:`u^k` injected at every iteration (the third
  justification of skip connections).
- :class:`JacobiRNN`: the semi-implicit system :math:`(I + \tau W^\top G W)x = u^k`,
  :math:`G = \mathrm{diag}\,g((Wu^k)^2)`, solved by damped Jacobi iterations
  :math:`x^{l+1} = x^l + \omega\,\mathrm{diag}(A)^{-1}(u^k - A x^l)`.
- :class:`SemiImplicitLayer`: the exact semi-implicit step as a layer; its custom
  backward pass is one more tridiagonal solve.

Chapter 4 (implicit schemes are recurrent networks).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._validation import as_int, as_positive, as_scale
from ..implicit import _solve_spd_tridiagonal
from ._checks import check_float_tensor, check_signal_tensor, onednn_guard
from .activations import FluxActivation
from .resnet import SymmetricBlock

__all__ = ["FixedPointRNN", "JacobiRNN", "SemiImplicitLayer", "semi_implicit_solve"]


class FixedPointRNN(nn.Module):
    r"""Fixed-point iteration of the fully implicit step as a recurrent network.

    .. math:: v^{l+1} = u - \tau W^\top \Phi(W v^l), \quad v^0 = u, \quad l < L

    Parameters
    ----------
    block : SymmetricBlock
        The shared block :math:`v \mapsto v - \tau W^\top\Phi(Wv)`.
    iterations : int
        Number :math:`L` of recurrent steps.

    See Also
    --------
    pdecore.implicit_fixed_point_step : the numpy iteration it reproduces.
    """

    def __init__(self, block: SymmetricBlock, iterations: int = 10) -> None:
        super().__init__()
        if not isinstance(block, SymmetricBlock):
            raise TypeError(f"block must be a SymmetricBlock, got {type(block).__name__}")
        self.block = block
        self.iterations = as_int(iterations, "iterations")

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Iterate on ``u`` of shape ``(batch, C, N)``; ``u`` is injected every time."""
        v = u
        for _ in range(self.iterations):
            v = u + (self.block(v) - v)  # u - tau W^T Phi(W v)
        return v


class JacobiRNN(nn.Module):
    r"""Damped Jacobi iterations for the semi-implicit system as a recurrent network.

    With :math:`G = \mathrm{diag}\,g((W u)^2)` fixed by the input,
    :math:`A x = x + \tau W^\top G W x`, and
    :math:`\mathrm{diag}(A) = 1 + \tau\,(W \circ W)^\top g`:

    .. math:: x^{l+1} = x^l + \omega\,\mathrm{diag}(A)^{-1}\bigl(u - A x^l\bigr),
              \quad x^0 = u

    Parameters
    ----------
    block : SymmetricBlock
        Single-channel block; its weight is :math:`W`, its ``tau`` the step size, and its
        activation must be a :class:`FluxActivation` (for :math:`g`).
    iterations : int
        Number of Jacobi sweeps.
    omega : float
        Damping, :math:`0 < \omega \le 1`.

    See Also
    --------
    pdecore.semi_implicit_jacobi : the numpy iteration it reproduces.
    """

    def __init__(self, block: SymmetricBlock, iterations: int = 10, omega: float = 1.0) -> None:
        super().__init__()
        if not isinstance(block, SymmetricBlock) or block.channels != 1:
            raise TypeError("block must be a single-channel SymmetricBlock")
        if not isinstance(block.activation, FluxActivation):
            raise TypeError("block.activation must be a FluxActivation (it supplies g)")
        self.block = block
        self.iterations = as_int(iterations, "iterations")
        self.omega = as_positive(omega, "omega")
        if self.omega > 1:  # as for the numpy jacobi iteration: damping, not extrapolation
            raise ValueError(f"omega must be in (0, 1], got omega={self.omega}")

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Run the sweeps on ``u`` of shape ``(batch, 1, N)``."""
        check_signal_tensor(u, 1, self.block.kernel_size, dtype=self.block.weight.dtype)
        w, tau = self.block.weight, self.block.tau
        with onednn_guard(u):
            g = self.block.activation.diffusivity(F.conv1d(u, w, self.block.bias) ** 2)
            diag = 1.0 + tau * F.conv_transpose1d(g, w * w)
            x = u
            for _ in range(self.iterations):
                ax = x + tau * F.conv_transpose1d(g * F.conv1d(x, w), w)
                x = x + self.omega * (u - ax) / diag
        return x


def _tridiagonal_solve(diag: np.ndarray, off: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve each row's SPD tridiagonal system (the matrices are kept for backward)."""
    if rhs.shape[0] == 0:  # an empty batch: nothing to solve
        return np.empty_like(rhs)
    return np.stack([_solve_spd_tridiagonal(d.copy(), e.copy(), b)
                     for d, e, b in zip(diag, off, rhs, strict=True)])


class _SemiImplicitSolve(torch.autograd.Function):
    """x = A^{-1} u with A = I + D^T diag(w) D, D = forward difference / h (w = tau g)."""

    @staticmethod
    def forward(ctx, u: torch.Tensor, w: torch.Tensor, h: float) -> torch.Tensor:
        wn = w.detach().cpu().double().numpy() / h**2
        diag = np.ones(u.shape)
        diag[:, :-1] += wn
        diag[:, 1:] += wn
        x = _tridiagonal_solve(diag, -wn, u.detach().cpu().double().numpy())
        x = torch.as_tensor(x, dtype=u.dtype, device=u.device)
        ctx.save_for_backward(torch.as_tensor(diag), torch.as_tensor(-wn), x)
        ctx.h = h
        return x

    @staticmethod
    def backward(ctx, grad_x: torch.Tensor):
        diag, off, x = ctx.saved_tensors
        # A is symmetric: the adjoint solve uses the same matrix.
        lam = _tridiagonal_solve(diag.numpy(), off.numpy(), grad_x.detach().cpu().double().numpy())
        lam = torch.as_tensor(lam, dtype=grad_x.dtype, device=grad_x.device)
        # A dx = -D^T e_i (D x)_i dw_i  =>  grad_w_i = -(D lam)_i (D x)_i
        grad_w = -(lam[:, 1:] - lam[:, :-1]) * (x[:, 1:] - x[:, :-1]) / ctx.h**2
        return lam, grad_w, None


def semi_implicit_solve(
    u: torch.Tensor, g: torch.Tensor, tau: float | torch.Tensor, h: float = 1.0
) -> torch.Tensor:
    r"""Differentiable solve of :math:`(I + \tau D^\top \mathrm{diag}(g) D)\,x = u`.

    Parameters
    ----------
    u : (B, N) tensor
        Right-hand sides.
    g : (B, N - 1) tensor
        Nonnegative diffusivities between grid points.
    tau : float or 0-d tensor
        Step size (a tensor receives a gradient).
    h : float
        Grid size.

    Returns
    -------
    (B, N) tensor

    Notes
    -----
    The forward pass calls LAPACK ``dptsv`` on the CPU (the tensors are moved there and
    back). The backward pass is one more solve with the same symmetric matrix:
    :math:`\bar u = A^{-1}\bar x` and, with :math:`w = \tau g`,
    :math:`\bar w_i = -(D\bar u)_i (D x)_i`.
    """
    check_float_tensor(u, "u")
    check_float_tensor(g, "g")
    if u.ndim != 2 or g.shape != (u.shape[0], u.shape[1] - 1):
        raise ValueError(
            f"u must be (B, N) and g (B, N - 1); got u {tuple(u.shape)}, g {tuple(g.shape)}"
        )
    if not isinstance(tau, torch.Tensor):
        tau = as_positive(tau, "tau")
    return _SemiImplicitSolve.apply(u, tau * g, as_scale(h, "h"))


class SemiImplicitLayer(nn.Module):
    r"""One semi-implicit diffusion step as a differentiable layer (m = 1).

    .. math:: u \mapsto \bigl(I + \tau D^\top G(u) D\bigr)^{-1} u,
              \qquad G(u) = \mathrm{diag}\, g((Du)^2)

    Gradients flow to ``u`` both through the right-hand side and through the
    diffusivity; ``tau`` may be trainable.

    Parameters
    ----------
    tau : float
        Step size.
    diffusivity : str
        Flux/diffusivity name.
    lam : float
        Contrast parameter.
    h : float
        Grid size.
    trainable_tau : bool
        Make :math:`\log\tau` a parameter.

    See Also
    --------
    pdecore.semi_implicit_step : the numpy step it reproduces.
    """

    def __init__(self, tau: float = 1.0, diffusivity: str = "perona_malik", lam: float = 1.0,
                 h: float = 1.0, trainable_tau: bool = False) -> None:
        super().__init__()
        self.activation = FluxActivation(diffusivity, lam)
        self.h = as_scale(h, "h")
        log_tau = torch.tensor(float(np.log(as_positive(tau, "tau"))), dtype=torch.float64)
        self.log_tau = nn.Parameter(log_tau, requires_grad=trainable_tau)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Apply the step to ``u`` of shape ``(batch, 1, N)``."""
        check_signal_tensor(u, 1, 2)
        rows = u[:, 0, :]
        g = self.activation.diffusivity(((rows[:, 1:] - rows[:, :-1]) / self.h) ** 2)
        tau = self.log_tau.exp().to(u.dtype)
        return semi_implicit_solve(rows, g, tau, self.h).unsqueeze(1)
