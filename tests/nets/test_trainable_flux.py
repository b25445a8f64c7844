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
