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


# --- the monotone control: the slope is learned, Phi' in (0, L) -------------------------


def random_monotone(seed, sector_bound=1.0, n_basis=10, s_max=3.0, scale=10.0):
    gen = torch.Generator().manual_seed(seed)
    phi = TrainableFlux(sector_bound=sector_bound, n_basis=n_basis, s_max=s_max, basis="hat",
                        monotone=True).double()
    with torch.no_grad():
        phi.weights.copy_(scale * torch.randn(n_basis, generator=gen, dtype=torch.float64))
        phi.bias.fill_(float(3 * torch.randn(1, generator=gen)))
    return phi


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("bound", [1.0, 2.5])
def test_monotone_flux_is_monotone_and_in_the_sector_for_any_parameters(seed, bound):
    phi = random_monotone(seed, bound)
    s = torch.linspace(-8.0, 8.0, 16001, dtype=torch.float64, requires_grad=True)
    values = phi(s)
    (slope,) = torch.autograd.grad(values.sum(), s)
    assert float(slope.min()) > 0.0 and float(slope.max()) < bound  # 0 < Phi' < L
    v = values.detach().numpy()
    # nondecreasing on the grid, independent of autograd (up to rounding)
    assert np.all(np.diff(v) >= -1e-14 * np.abs(v).max())
    big = torch.cat([-torch.logspace(-6, 3, 400), torch.logspace(-6, 3, 400)]).double()
    ratio = (phi(big) / big).detach()
    assert float(ratio.min()) >= 0.0 and float(ratio.max()) <= bound  # the same sector
    torch.testing.assert_close(phi(-big), -phi(big))  # odd
    assert float(phi(torch.zeros(1, dtype=torch.float64)).detach()) == 0.0


def test_monotone_flux_is_the_integral_of_the_learned_slope():
    """Independent: Phi' = L sigmoid(np.interp of b + a_k at the knots), integrated by the
    trapezoidal rule on a fine grid, against the closed form (softplus differences)."""
    K, s_max, L = 6, 2.5, 1.5
    phi = random_monotone(3, L, n_basis=K, s_max=s_max, scale=2.0)
    a, b = phi.weights.detach().numpy(), float(phi.bias.detach())
    w = s_max / (K - 1)
    knots = np.r_[np.linspace(0.0, s_max, K), s_max + w, 10.0]
    logits = np.r_[b + a, b, b]

    def slope(r):
        return L / (1.0 + np.exp(-np.interp(r, knots, logits)))

    r = np.unique(np.r_[np.linspace(0.0, 10.0, 200001), knots])
    ref = np.r_[0.0, np.cumsum(np.diff(r) * 0.5 * (slope(r[1:]) + slope(r[:-1])))]
    got = phi(torch.from_numpy(r)).detach().numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-10)
    rt = torch.from_numpy(r)
    np.testing.assert_allclose(phi.slope(rt).detach().numpy(), slope(r), rtol=1e-12)
    np.testing.assert_allclose(phi.slope(-rt).detach().numpy(), slope(r), rtol=1e-12)
    # autograd agrees with the learned slope, also at 0 through the odd extension
    s = torch.from_numpy(np.r_[-2.2, -0.3, 0.0, 0.7, 3.1, 12.0]).requires_grad_(True)
    (d,) = torch.autograd.grad(phi(s).sum(), s)
    np.testing.assert_allclose(d.numpy(), slope(np.abs(s.detach().numpy())), rtol=1e-9)
    # g = Phi(s)/s, and Phi'(0) at s = 0
    s2 = torch.tensor([0.0, 0.49, 4.0], dtype=torch.float64)
    g = phi.diffusivity(s2).detach().numpy()
    assert g[0] == pytest.approx(slope(0.0), rel=1e-12)
    values = phi(torch.tensor([0.7, 2.0], dtype=torch.float64)).detach().numpy()
    np.testing.assert_allclose(g[1:], values / np.array([0.7, 2.0]), rtol=1e-12)


def test_mean_sigmoid_both_branches():
    """The closed form and the Taylor branch agree with quadrature, with finite gradients."""
    from pdecore.nets.activations import _mean_sigmoid

    a = torch.tensor([-40.0, -3.0, 0.0, 0.5, 25.0, 2.0, -1.0], dtype=torch.float64)
    h = torch.tensor([5.0, 1e-3, 0.0, -0.02, 3.0, 1e-2 * (1 - 1e-9), -7.0],
                     dtype=torch.float64, requires_grad=True)
    got = _mean_sigmoid(a, h)
    for ai, hi, gi in zip(a.tolist(), h.tolist(), got.tolist(), strict=True):
        t = np.linspace(ai, ai + hi, 20001)
        ref = np.mean(1 / (1 + np.exp(-t))) if hi == 0 else np.trapezoid(
            1 / (1 + np.exp(-t)), t) / hi
        assert gi == pytest.approx(ref, rel=1e-8, abs=1e-300)
    (grad,) = torch.autograd.grad(got.sum(), h)
    assert torch.isfinite(grad).all()


def test_monotone_control_has_the_same_parameters_and_initial_function():
    free = TrainableFlux(n_basis=16, basis="hat", init=0.3)
    mono = TrainableFlux(n_basis=16, basis="hat", init=0.3, monotone=True)
    assert [p.shape for p in free.parameters()] == [p.shape for p in mono.parameters()]
    s = torch.linspace(-5, 5, 101)
    torch.testing.assert_close(free(s), mono(s))  # both start as Phi(s) = 0.3 s
    assert "monotone=True" in repr(mono)


def test_monotone_flux_cannot_learn_a_decreasing_flux():
    """Fitted to the Perona-Malik flux, the control stays monotone (the constraint binds),
    while the free flux fits it (test_can_learn_a_nonmonotone_perona_malik_flux)."""
    phi = TrainableFlux(n_basis=16, s_max=3.0, basis="hat", monotone=True).double()
    s = torch.linspace(-4, 4, 401, dtype=torch.float64)
    target = torch.tensor(pdecore.flux("perona_malik", s.numpy(), 1.0))
    opt = torch.optim.Adam(phi.parameters(), lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        loss = ((phi(s) - target) ** 2).mean()
        loss.backward()
        opt.step()
    learned = phi(s).detach().numpy()
    assert np.all(np.diff(learned) >= 0)
    # the best monotone fit is flat beyond the peak: the error stays well above zero
    assert loss.item() > 1e-3


def test_monotone_flux_bad_arguments():
    with pytest.raises(ValueError, match="basis"):
        TrainableFlux(monotone=True)  # the Gaussian basis has no exact integral here
    with pytest.raises(TypeError, match="^monotone"):
        TrainableFlux(basis="hat", monotone=1)
    with pytest.raises(ValueError, match="monotone"):
        TrainableFlux(basis="hat").slope(torch.zeros(2))
