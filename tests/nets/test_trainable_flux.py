import numpy as np
import pytest
import torch

import pdecore
from pdecore.nets import SymmetricBlock, TrainableFlux


def random_flux(seed, sector_bound=1.0):
    gen = torch.Generator().manual_seed(seed)
    phi = TrainableFlux(sector_bound=sector_bound, n_basis=12, s_max=3.0)
    with torch.no_grad():
        phi.weights.copy_(10 * torch.randn(12, generator=gen))
        phi.bias.fill_(float(5 * torch.randn(1, generator=gen)))
    return phi


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("bound", [1.0, 2.5])
def test_sector_condition_for_any_parameters(seed, bound):
    phi = random_flux(seed, bound).double()
    s = torch.cat([-torch.logspace(-6, 3, 500), torch.logspace(-6, 3, 500)]).double()
    ratio = (phi(s) / s).detach()
    assert float(ratio.min()) >= 0.0
    assert float(ratio.max()) <= bound
    torch.testing.assert_close(phi(-s), -phi(s))
    assert float(phi(torch.zeros(1, dtype=torch.float64)).detach()) == 0.0


@pytest.mark.parametrize("seed", range(4))
def test_block_with_trainable_flux_is_stable_at_the_bound(seed):
    torch.manual_seed(seed)
    block = SymmetricBlock(2, 3, random_flux(seed).double(), dtype=torch.float64)
    block.tau = block.stability_bound(40)
    u = 3 * torch.randn(6, 2, 40, dtype=torch.float64)
    for _ in range(30):
        new = block(u)
        assert torch.all(new.flatten(1).norm(dim=1) <= u.flatten(1).norm(dim=1) * (1 + 1e-12))
        u = new.detach()


def test_can_learn_a_nonmonotone_perona_malik_flux():
    phi = TrainableFlux(n_basis=16, s_max=3.0).double()
    s = torch.linspace(-4, 4, 401, dtype=torch.float64)
    target = torch.tensor(pdecore.flux("perona_malik", s.numpy(), 1.0))
    opt = torch.optim.Adam(phi.parameters(), lr=0.05)
    first = None
    for _ in range(300):
        opt.zero_grad()
        loss = ((phi(s) - target) ** 2).mean()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.01 * first
    learned = phi(s).detach().numpy()
    assert np.any(np.diff(learned[s.numpy() > 1.5]) < 0)  # decreasing part: nonmonotone


def test_gradients_reach_parameters():
    phi = TrainableFlux()
    phi(torch.linspace(-2, 2, 50)).sum().backward()
    assert phi.weights.grad is not None and torch.isfinite(phi.weights.grad).all()
    assert phi.bias.grad is not None


def test_bad_arguments():
    with pytest.raises(ValueError, match="init"):
        TrainableFlux(sector_bound=1.0, init=1.5)
    with pytest.raises(ValueError, match="n_basis"):
        TrainableFlux(n_basis=1)
    with pytest.raises(ValueError, match="sector_bound"):
        TrainableFlux(sector_bound=0.0)


# --- the hat basis --------------------------------------------------------------------


def test_hat_basis_interpolates_the_values_at_the_centres():
    """g = L sigmoid(b + a_k) at c_k, linear in between, L sigmoid(b) beyond s_max + w."""
    phi = TrainableFlux(sector_bound=2.0, n_basis=5, s_max=2.0, basis="hat").double()
    with torch.no_grad():
        phi.weights.copy_(torch.tensor([1.0, -2.0, 0.5, 3.0, -1.0]))
        phi.bias.fill_(0.2)
    centres = np.linspace(0.0, 2.0, 5)
    a, b, L = np.array([1.0, -2.0, 0.5, 3.0, -1.0]), 0.2, 2.0

    def g_ref(r):  # independent: np.interp of the knot values, zero beyond s_max + w
        z = np.interp(r, np.r_[centres, 2.5], np.r_[a, 0.0], right=0.0)
        return L / (1.0 + np.exp(-(b + z)))

    r = np.r_[centres, 0.25, 1.3, 1.99, 2.2, 2.5, 3.0, 10.0]
    got = phi.diffusivity(torch.from_numpy(r**2)).detach().numpy()
    np.testing.assert_allclose(got, g_ref(r), rtol=1e-12)
    s = np.r_[-r, r]
    np.testing.assert_allclose(phi(torch.from_numpy(s)).detach().numpy(), s * g_ref(np.abs(s)),
                               rtol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_hat_basis_sector_condition_for_any_parameters(seed):
    gen = torch.Generator().manual_seed(seed)
    phi = TrainableFlux(sector_bound=1.5, n_basis=10, s_max=3.0, basis="hat").double()
    with torch.no_grad():
        phi.weights.copy_(10 * torch.randn(10, generator=gen, dtype=torch.float64))
    s = torch.cat([-torch.logspace(-6, 3, 400), torch.logspace(-6, 3, 400)]).double()
    ratio = (phi(s) / s).detach()
    assert float(ratio.min()) >= 0.0 and float(ratio.max()) <= 1.5
    torch.testing.assert_close(phi(-s), -phi(s))


def test_hat_basis_gradients_and_bad_basis():
    phi = TrainableFlux(basis="hat")
    phi(torch.linspace(-2, 2, 50)).sum().backward()
    assert torch.isfinite(phi.weights.grad).all() and phi.weights.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="^basis"):
        TrainableFlux(basis="spline")
