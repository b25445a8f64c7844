import numpy as np
import pytest
import torch

import pdecore
from pdecore.nets import (
    FixedPointRNN,
    JacobiRNN,
    SemiImplicitLayer,
    SymmetricBlock,
    semi_implicit_solve,
)

RNG = np.random.default_rng(7)
F = np.cumsum(RNG.standard_normal(60)) * 0.1


def as_tensor(x):
    return torch.tensor(x, dtype=torch.float64).view(1, 1, -1)


@pytest.mark.parametrize("name", ["perona_malik", "charbonnier", "linear"])
def test_fixed_point_rnn_equals_numpy_iteration(name):
    block = SymmetricBlock.from_scheme(0.2, name, 0.3)
    ref = pdecore.implicit_fixed_point_step(F, 0.2, name, 0.3, tol=1e-300, maxiter=12)
    out = FixedPointRNN(block, 12)(as_tensor(F)).detach().numpy().ravel()
    assert np.abs(out - ref.u).max() <= 1e-12 * np.abs(ref.u).max()


@pytest.mark.parametrize("omega", [1.0, 0.6])
def test_jacobi_rnn_equals_numpy_iteration(omega):
    block = SymmetricBlock.from_scheme(4.0, "perona_malik", 0.3)
    ref = pdecore.semi_implicit_jacobi(F, 4.0, "perona_malik", 0.3, omega=omega,
                                       tol=1e-300, maxiter=25)
    out = JacobiRNN(block, 25, omega)(as_tensor(F)).detach().numpy().ravel()
    assert np.abs(out - ref.u).max() <= 1e-12 * np.abs(ref.u).max()


def test_semi_implicit_layer_equals_step():
    out = SemiImplicitLayer(7.0, "perona_malik", 0.3)(as_tensor(F)).detach().numpy().ravel()
    ref = pdecore.semi_implicit_step(F, 7.0, "perona_malik", 0.3)
    assert np.abs(out - ref).max() <= 1e-12 * np.abs(ref).max()


def test_gradcheck_solve():
    gen = torch.Generator().manual_seed(0)
    u = torch.randn(2, 10, generator=gen, dtype=torch.float64, requires_grad=True)
    g = torch.rand(2, 9, generator=gen, dtype=torch.float64, requires_grad=True)
    tau = torch.tensor(0.8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(semi_implicit_solve, (u, g, tau))


def test_gradcheck_layer_with_trainable_tau():
    layer = SemiImplicitLayer(2.0, "perona_malik", 0.5, trainable_tau=True)
    u = torch.randn(2, 1, 9, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(layer, (u,))
    layer(u).sum().backward()
    assert layer.log_tau.grad is not None


def test_bad_inputs():
    with pytest.raises(TypeError, match="SymmetricBlock"):
        FixedPointRNN(torch.nn.Identity(), 3)
    with pytest.raises(TypeError, match="single-channel"):
        JacobiRNN(SymmetricBlock(2, 3), 3)
    with pytest.raises(ValueError, match="g"):
        semi_implicit_solve(torch.zeros(2, 5), torch.zeros(2, 5), 1.0)


def test_jacobi_rnn_refuses_extrapolating_omega_like_its_numpy_twin():
    with pytest.raises(ValueError, match="omega"):
        pdecore.semi_implicit_jacobi(np.ones(8), 1.0, "linear", omega=5.0)
    with pytest.raises(ValueError, match=r"omega must be in \(0, 1\]"):
        JacobiRNN(SymmetricBlock(1), 5, omega=5.0)
