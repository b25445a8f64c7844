"""Tests for pdecore.nets.diffusion_net: stable-by-construction diffusion networks.

The exact operator norms come from ``pdecore.nets.operator_norm`` (dense SVD, checked
against explicit loops in test_resnet.py); the reference scheme is the numpy
``pdecore.explicit_evolution``.
"""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.func import functional_call

import pdecore
from pdecore.nets import (
    DiffusionBlock,
    DiffusionNet,
    SectorReLU,
    StandardNet,
    TrainableFlux,
    diffusion_net_with_budget,
    norm_bound,
    operator_norm,
)
from pdecore.train import count_parameters

SEED = 20220731


def randomise(net, seed, scale=3.0):
    """Overwrite every parameter with large random values (flux weights included)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return net


def probe_signals(rng, batch, n):
    """Steps, noise and ramps at amplitudes from 1e-3 to 1e3 (all flux regimes)."""
    steps = np.repeat(rng.uniform(-1, 1, (batch, 6)), -(-n // 6), axis=1)[:, :n]
    noise = rng.standard_normal((batch, n))
    ramps = np.cumsum(rng.standard_normal((batch, n)), axis=1) / np.sqrt(n)
    u = np.concatenate([steps, noise, ramps, steps + 0.1 * noise])
    scale = 10.0 ** rng.uniform(-3, 3, (len(u), 1))
    return torch.from_numpy(scale * u).unsqueeze(1)


# --- the norm bound -------------------------------------------------------------------


@given(
    hidden=st.integers(1, 8),
    k=st.integers(1, 6),
    seed=st.integers(0, 10_000),
    zero_mean=st.booleans(),
)
def test_norm_bound_is_an_upper_bound_of_the_exact_norm(hidden, k, seed, zero_mean):
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(hidden, 1, k, generator=gen, dtype=torch.float64)
    if zero_mean:
        w = w - w.mean(dim=-1, keepdim=True)
    n = 40
    exact = operator_norm(w, n) ** 2
    auto = float(norm_bound(w))
    young = float(norm_bound(w, "young"))
    assert exact <= auto * (1 + 1e-12) + 1e-14
    assert auto <= young * (1 + 1e-12) + 1e-14
    # and Young's bound from its definition: sum over filters of ||w_c||_1^2
    assert young == pytest.approx(sum(float(w[c].abs().sum()) ** 2 for c in range(hidden)))


def test_norm_bound_closed_forms():
    """Worked out by hand: r_0 + 2 sum |r_j| for single stencils."""
    d1 = torch.tensor([[[-1.0, 1.0]]], dtype=torch.float64)  # r = (2, -1)
    d2 = torch.tensor([[[1.0, -2.0, 1.0]]], dtype=torch.float64)  # r = (6, -4, 1)
    avg = torch.tensor([[[1.0, 1.0]]], dtype=torch.float64)  # r = (2, 1)
    assert float(norm_bound(d1)) == 4.0
    assert float(norm_bound(d2)) == 16.0
    assert float(norm_bound(avg)) == 4.0
    assert float(norm_bound(d2, "young")) == 16.0
    # two filters: the autocorrelations add before the absolute value is taken
    pair = torch.tensor([[[-1.0, 1.0]], [[1.0, 1.0]]], dtype=torch.float64)
    assert float(norm_bound(pair)) == 4.0  # r = (4, 0): tighter than young (8)
    assert float(norm_bound(pair, "young")) == 8.0
    assert operator_norm(pair, 50) ** 2 == pytest.approx(4.0, rel=1e-12)  # it is sharp
    # the bound is the limit of the exact norms for long signals
    assert operator_norm(d1, 1000) ** 2 == pytest.approx(4.0, rel=1e-5)


def test_norm_bound_errors():
    with pytest.raises(ValueError, match="^weight"):
        norm_bound(torch.ones(2, 3))
    with pytest.raises(TypeError, match="^weight"):
        norm_bound(np.ones((1, 1, 3)))
    with pytest.raises(TypeError, match="^weight"):
        norm_bound(torch.ones(1, 1, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match="^method"):
        norm_bound(torch.ones(1, 1, 3), "exact")


# --- stability by construction --------------------------------------------------------


@pytest.mark.parametrize("bound", ["autocorrelation", "young"])
@pytest.mark.parametrize("activation", ["trainable", "trainable_monotone", "perona_malik",
                                        "charbonnier", "relu"])
@pytest.mark.parametrize("seed", range(4))
def test_step_size_is_below_the_exact_bound_for_any_parameters(seed, activation, bound):
    n = 48
    net = DiffusionNet(3, hidden=5, kernel_size=4, activation=activation, bound=bound,
                       dtype=torch.float64)
    randomise(net, seed)
    with torch.no_grad():
        net.blocks[0].rho.fill_(40.0)  # theta = 1 in float64: the extreme case
    for block in net.blocks:
        W = block.filters().detach()
        limit = 2.0 / (block.activation.sector_bound * operator_norm(W, n) ** 2)
        tau = float(block.tau().detach())
        assert 0 < tau <= limit * (1 + 1e-12)


@pytest.mark.parametrize("zero_mean", [True, False])
@pytest.mark.parametrize("basis", ["hat", "gaussian"])
@pytest.mark.parametrize("seed", range(5))
def test_blocks_never_increase_the_norm_with_random_trainable_fluxes(seed, basis, zero_mean):
    rng = np.random.default_rng(SEED + seed)
    net = DiffusionNet(4, hidden=3, kernel_size=3, activation="trainable",
                       zero_mean=zero_mean, flux_basis=basis, n_basis=8, s_max=2.0,
                       dtype=torch.float64)
    randomise(net, seed, scale=5.0)
    with torch.no_grad():
        for block in net.blocks:
            block.rho.fill_(30.0)  # theta = 1: the step size at the bound
    u = probe_signals(rng, 4, 37)
    ratios = net.norm_ratios(u)
    assert ratios.shape == (4, len(u))
    assert float(ratios.max()) <= 1.0 + 1e-12
    # some random fluxes really are nonmonotone (the test is not vacuous)
    s = torch.linspace(0, 3, 301, dtype=torch.float64, requires_grad=True)
    slopes = [torch.autograd.grad(phi(s).sum(), s)[0] for phi in net.fluxes()]
    assert min(float(slope.min()) for slope in slopes) < 0


@pytest.mark.parametrize("seed", range(4))
def test_blocks_never_increase_the_norm_with_random_monotone_fluxes(seed):
    """The monotone control: same sector, so the same guarantee, and monotone fluxes."""
    rng = np.random.default_rng(SEED + seed)
    net = DiffusionNet(4, hidden=3, kernel_size=3, activation="trainable_monotone",
                       n_basis=8, s_max=2.0, dtype=torch.float64)
    randomise(net, seed, scale=5.0)
    with torch.no_grad():
        for block in net.blocks:
            block.rho.fill_(30.0)  # theta = 1: the step size at the bound
    assert float(net.norm_ratios(probe_signals(rng, 4, 37)).max()) <= 1.0 + 1e-12
    s = torch.linspace(0, 4, 801, dtype=torch.float64, requires_grad=True)
    slopes = [torch.autograd.grad(phi(s).sum(), s)[0] for phi in net.fluxes()]
    assert min(float(slope.min()) for slope in slopes) > 0
    assert all(phi.monotone for phi in net.fluxes())


@pytest.mark.parametrize("activation", ["linear", "perona_malik", "weickert", "relu"])
def test_fixed_flux_networks_are_non_expansive(activation):
    rng = np.random.default_rng(SEED)
    net = randomise(DiffusionNet(6, hidden=4, kernel_size=3, activation=activation,
                                 dtype=torch.float64), 1)
    u = probe_signals(rng, 3, 30)
    assert float(net.norm_ratios(u).max()) <= 1.0 + 1e-12
    # a linear flux at theta = 1 and the top singular vector: the ratio reaches about 1,
    # so the guarantee is not won by a tiny step
    if activation == "linear":
        assert float(net.norm_ratios(u).max()) > 0.9


def test_the_standard_network_can_expand():
    rng = np.random.default_rng(SEED)
    torch.manual_seed(0)
    net = StandardNet(4, hidden=4, kernel_size=3, dtype=torch.float64)
    assert float(net.norm_ratios(probe_signals(rng, 3, 30)).max()) > 1.05


def test_norm_ratios_by_hand():
    torch.manual_seed(3)
    net = randomise(DiffusionNet(3, 2, 3, "charbonnier", dtype=torch.float64), 3)
    u = torch.randn(5, 1, 20, dtype=torch.float64)
    states = [u]
    for block in net.blocks:
        states.append(block(states[-1]))
    expected = torch.stack([states[k + 1].flatten(1).norm(dim=1) / states[k].flatten(1).norm(dim=1)
                            for k in range(3)])
    torch.testing.assert_close(net.norm_ratios(u), expected.detach(), rtol=1e-14, atol=0)
    # a zero input stays zero: ratio 0, not NaN
    assert torch.equal(net.norm_ratios(torch.zeros(2, 1, 20, dtype=torch.float64)),
                       torch.zeros(3, 2, dtype=torch.float64))
    # the trajectory has depth + 1 states, the last one is the output
    traj = net.trajectory(u)
    assert len(traj) == 4
    torch.testing.assert_close(traj[-1], net(u), rtol=0, atol=0)


# --- the scheme is a special case -----------------------------------------------------


@pytest.mark.parametrize(("order", "h", "tau"), [(1, 1.0, 0.25), (1, 0.5, 0.1), (1, 1.0, 0.5),
                                                 (2, 1.0, 0.1), (2, 0.8, 0.03)])
@pytest.mark.parametrize("name", ["perona_malik", "charbonnier", "linear", "exponential"])
def test_from_scheme_reproduces_explicit_evolution(name, order, h, tau):
    rng = np.random.default_rng(SEED)
    f = pdecore.piecewise_constant(60, 5, batch=3, seed=1) + 0.05 * rng.standard_normal((3, 60))
    lam, n_steps = 0.3, 12
    net = DiffusionNet.from_scheme(tau, n_steps, name, lam, h, order)
    out = net(torch.from_numpy(f).unsqueeze(1)).detach().numpy()[:, 0]
    ref = pdecore.explicit_evolution(f, tau, n_steps, name, lam, h, order).u
    assert np.abs(out - ref).max() <= 1e-12 * max(1.0, np.abs(ref).max())
    assert np.abs(ref - f).max() > 1e-3  # the steps did something
    taus = net.step_sizes()
    assert taus == pytest.approx([tau] * n_steps, rel=1e-14)


def test_from_scheme_refuses_steps_above_the_limit():
    with pytest.raises(ValueError, match=r"^tau=0\.6 exceeds the stability limit 0\.5"):
        DiffusionNet.from_scheme(0.6, 3)
    with pytest.raises(ValueError, match=r"^tau=0\.2 exceeds the stability limit 0\.125"):
        DiffusionNet.from_scheme(0.2, 3, order=2)
    with pytest.raises(ValueError, match="^tau"):
        DiffusionNet.from_scheme(-0.1, 3)
    with pytest.raises(ValueError, match="diffusivity"):
        DiffusionNet.from_scheme(0.1, 3, "perona-malik")
    with pytest.raises(ValueError, match="^n_steps"):
        DiffusionNet.from_scheme(0.1, 0)


# --- mean preservation, parameter counts, budgets --------------------------------------


def test_zero_mean_filters_preserve_the_mean():
    rng = np.random.default_rng(SEED)
    u = probe_signals(rng, 3, 41)
    net = randomise(DiffusionNet(5, 4, 5, "trainable", dtype=torch.float64), 2)
    out = net(u).detach()
    torch.testing.assert_close(out.mean(dim=-1), u.mean(dim=-1), rtol=1e-12, atol=1e-12)
    assert (out - u).abs().max() > 1e-3 * u.abs().max()  # not the identity
    for block in net.blocks:
        torch.testing.assert_close(block.filters().sum(dim=-1),
                                   torch.zeros(4, 1, dtype=torch.float64), rtol=0, atol=1e-12)
    # without the constraint the mean moves
    free = randomise(DiffusionNet(5, 4, 5, "trainable", zero_mean=False,
                                  dtype=torch.float64), 2)
    assert (free(u).detach().mean(dim=-1) - u.mean(dim=-1)).abs().max() > 1e-6


@pytest.mark.parametrize(("depth", "hidden", "k"), [(1, 1, 2), (5, 4, 3), (3, 7, 5)])
def test_parameter_counts_closed_form(depth, hidden, k):
    n_basis = 12
    trainable = DiffusionNet(depth, hidden, k, "trainable", n_basis=n_basis)
    monotone = DiffusionNet(depth, hidden, k, "trainable_monotone", n_basis=n_basis)
    fixed = DiffusionNet(depth, hidden, k, "charbonnier")
    standard = StandardNet(depth, hidden, k)
    # filters + step fraction rho (+ flux weights and bias); W1, W2, b1, b2
    assert count_parameters(trainable) == depth * (hidden * k + 1 + n_basis + 1)
    assert count_parameters(monotone) == count_parameters(trainable)  # the one-factor control
    assert count_parameters(fixed) == depth * (hidden * k + 1)
    assert count_parameters(standard) == depth * (2 * hidden * k + hidden + 1)
    assert count_parameters(StandardNet(depth, hidden, k, bias=False)) == depth * 2 * hidden * k


@pytest.mark.parametrize("budget", [60, 150, 400, 1000])
@pytest.mark.parametrize("family", ["trainable", "trainable_monotone", "linear", "relu",
                                    "standard"])
def test_budget_helper_matches_the_budget(family, budget):
    depth, k = 4, 3
    torch.manual_seed(7)
    net = diffusion_net_with_budget(family, budget, depth=depth, kernel_size=k)
    per_filter = depth * (2 * k + 1 if family == "standard" else k)
    params = count_parameters(net)
    if net.hidden > 1:
        assert abs(params - budget) <= per_filter / 2
    else:
        assert params >= budget - per_filter / 2
    cls = StandardNet if family == "standard" else DiffusionNet
    assert isinstance(net, cls)
    assert net.depth == depth and net.kernel_size == k
    # the trial builds leave the global RNG alone: the same weights as a direct build
    torch.manual_seed(7)
    direct = (cls(depth, net.hidden, k) if family == "standard"
              else cls(depth, net.hidden, k, family))
    for a, b in zip(net.parameters(), direct.parameters(), strict=True):
        assert torch.equal(a, b)


def test_budget_helper_errors():
    with pytest.raises(ValueError, match="^family"):
        diffusion_net_with_budget("tanh", 100)
    with pytest.raises(ValueError, match="^budget"):
        diffusion_net_with_budget("linear", 0)
    with pytest.raises(TypeError, match="^budget"):
        diffusion_net_with_budget("linear", 10.5)
    small = diffusion_net_with_budget("linear", 1, depth=2)
    assert small.hidden == 1


# --- modules, activations, errors -----------------------------------------------------


def test_activation_choices():
    net = DiffusionNet(3, 2, 3, "trainable")
    fluxes = net.fluxes()
    assert all(isinstance(phi, TrainableFlux) for phi in fluxes)
    assert len({id(phi) for phi in fluxes}) == 3  # one flux per block
    assert fluxes[0].basis == "hat"
    assert isinstance(DiffusionNet(2, 2, 3, "relu").fluxes()[0], SectorReLU)
    shared = SectorReLU()
    assert all(phi is shared for phi in DiffusionNet(2, 2, 3, shared).fluxes())
    assert DiffusionNet(2, 2, 3, "pm").fluxes()[0].name == "perona_malik"
    assert [phi.monotone for phi in DiffusionNet(2, 2, 3, "trainable_monotone").fluxes()] == [
        True, True]
    assert not any(phi.monotone for phi in fluxes)


def test_monotone_control_starts_as_the_same_network():
    """Same seed: same filters and the same initial flux s/2, so the same function."""
    torch.manual_seed(3)
    free = DiffusionNet(3, 4, 3, "trainable", dtype=torch.float64)
    torch.manual_seed(3)
    mono = DiffusionNet(3, 4, 3, "trainable_monotone", dtype=torch.float64)
    u = torch.randn(5, 1, 40, dtype=torch.float64)
    torch.testing.assert_close(free(u), mono(u), rtol=1e-13, atol=1e-13)
    assert count_parameters(free) == count_parameters(mono)


def test_dtype_and_float32():
    net = DiffusionNet(2, 3, 3, "trainable", dtype=torch.float64)
    assert all(p.dtype == torch.float64 for p in net.parameters())
    assert net.fluxes()[0].centres.dtype == torch.float64
    net32 = DiffusionNet(2, 3, 3, "trainable")
    u = torch.randn(2, 1, 30)
    out = net32(u)
    assert out.dtype == torch.float32 and out.shape == u.shape


@pytest.mark.parametrize(("kwargs", "exc", "name"), [
    ({"depth": 0}, ValueError, "depth"),
    ({"depth": 2.0}, TypeError, "depth"),
    ({"hidden": 0}, ValueError, "hidden"),
    ({"hidden": 1.5}, TypeError, "hidden"),
    ({"kernel_size": 1}, ValueError, "kernel_size"),  # zero-sum filters need k >= 2
    ({"activation": "tanh"}, ValueError, "activation"),
    ({"activation": torch.nn.Tanh()}, ValueError, "sector_bound"),
    ({"activation": 3}, TypeError, "activation"),
    ({"theta": 1.0}, ValueError, "theta"),
    ({"theta": 0.0}, ValueError, "theta"),
    ({"bound": "exact"}, ValueError, "bound"),
    ({"zero_mean": 1}, TypeError, "zero_mean"),
    ({"lam": -1.0}, ValueError, "lam"),
    ({"lam": -1.0, "activation": "linear"}, ValueError, "lam"),
])
def test_constructor_errors_name_the_argument(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        DiffusionNet(**kwargs)


@pytest.mark.parametrize("bad", [
    torch.zeros(2, 10, dtype=torch.float64),
    torch.zeros(2, 2, 10, dtype=torch.float64),
    torch.zeros(2, 1, 2, dtype=torch.float64),
    torch.zeros(2, 1, 10, dtype=torch.int64),
    np.zeros((2, 1, 10)),
])
@pytest.mark.parametrize("cls", [DiffusionNet, StandardNet])
def test_bad_input_names_u(cls, bad):
    net = cls(2, 2, 3, dtype=torch.float64)
    with pytest.raises((TypeError, ValueError), match=r"\bu\b"):
        net(bad)


def test_kernel_size_one_without_zero_mean():
    net = DiffusionNet(2, 3, 1, "linear", zero_mean=False, dtype=torch.float64)
    u = torch.randn(2, 1, 8, dtype=torch.float64)
    assert float(net.norm_ratios(u).max()) <= 1 + 1e-12


def test_gradcheck_block():
    torch.manual_seed(SEED)
    block = DiffusionBlock(3, 3, "perona_malik", lam=0.7).double()
    u = torch.randn(2, 1, 9, dtype=torch.float64, requires_grad=True)
    w = block.weight.detach().clone().requires_grad_(True)
    rho = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)

    def f(u, w, rho):
        return functional_call(block, {"weight": w, "rho": rho}, (u,))

    assert torch.autograd.gradcheck(f, (u, w, rho))


def test_gradients_reach_every_parameter():
    net = DiffusionNet(2, 2, 3, "trainable", dtype=torch.float64)
    randomise(net, 0, scale=0.5)
    net(torch.randn(4, 1, 16, dtype=torch.float64)).pow(2).sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


# --- the skip connections of chapters 3 and 4 (skip=...) -----------------------------------


def _same_blocks(skip, depth=4, hidden=2, seed=3):
    """A ResNet and a ``skip`` network whose blocks carry the same random parameters."""
    torch.manual_seed(seed)
    ref = DiffusionNet(depth, hidden, activation="perona_malik", dtype=torch.float64)
    net = DiffusionNet(depth, hidden, activation="perona_malik", skip=skip,
                       dtype=torch.float64)
    net.load_state_dict(ref.state_dict() if skip != "recurrent" else
                        {k: v for k, v in ref.state_dict().items() if k.startswith("blocks.0.")})
    return ref, net


def test_fed_network_scales_each_step_by_the_fed_factor():
    ref, net = _same_blocks("fed")
    u = torch.randn(3, 1, 20, dtype=torch.float64)
    n, expected = 4, u
    for k, block in enumerate(ref.blocks):  # c_k = 1 / (2 cos^2(pi (2k+1) / (4n+2)))
        c = 1.0 / (2.0 * np.cos(np.pi * (2 * k + 1) / (4 * n + 2)) ** 2)
        expected = expected - c * (expected - block(expected))
    torch.testing.assert_close(net(u), expected, rtol=1e-13, atol=1e-13)
    with torch.no_grad():
        taus = [float(b.tau()) for b in ref.blocks]
    np.testing.assert_allclose(net.step_sizes(),
                               [t * pdecore.fed_step_sizes(4, 1.0)[k]
                                for k, t in enumerate(taus)], rtol=1e-13)


def test_fsi_network_extrapolates_from_two_states_back():
    ref, net = _same_blocks("fsi")
    u = torch.randn(3, 1, 20, dtype=torch.float64)
    prev, cur = u, u
    for k, block in enumerate(ref.blocks):  # alpha_k = (4k+2)/(2k+3), u^{-1} = u^0
        alpha = (4 * k + 2) / (2 * k + 3)
        prev, cur = cur, alpha * block(cur) + (1 - alpha) * prev
    torch.testing.assert_close(net(u), cur, rtol=1e-13, atol=1e-13)


def test_recurrent_network_is_the_fixed_point_iteration_with_one_block():
    ref, net = _same_blocks("recurrent")
    assert len(net.blocks) == 1 and net.depth == 4
    assert count_parameters(net) == count_parameters(ref) // 4
    block = ref.blocks[0]
    u = torch.randn(3, 1, 20, dtype=torch.float64)
    v = u
    with torch.no_grad():
        W, tau = block.filters(), block.tau()
        for _ in range(4):  # v <- u - tau W^T Phi(W v), written with the convolutions
            s = torch.nn.functional.conv1d(v, W)
            v = u - tau * torch.nn.functional.conv_transpose1d(block.activation(s), W)
        torch.testing.assert_close(net(u), v, rtol=1e-12, atol=1e-12)
    assert net.step_sizes() == [float(tau)] * 4


def test_resnet_is_unchanged_and_the_trajectory_ends_at_the_output():
    torch.manual_seed(0)
    net = DiffusionNet(3, 2, activation="trainable", dtype=torch.float64)
    u = torch.randn(2, 1, 16, dtype=torch.float64)
    expected = u
    for block in net.blocks:
        expected = block(expected)
    assert torch.equal(net(u), expected)
    for skip in ("fed", "fsi", "recurrent"):
        other = DiffusionNet(3, 2, activation="trainable", skip=skip, dtype=torch.float64)
        states = other.trajectory(u)
        assert len(states) == 4 and torch.equal(states[-1], other(u))


def test_a_fed_cycle_of_one_operator_is_stable_although_its_steps_are_not():
    # W_k = D_1 in every block, linear flux, tau_k at the block's full limit 2/(L B):
    # the steps with c_k > 1 amplify high frequencies, the whole cycle does not (ch. 3)
    net = DiffusionNet(6, 1, kernel_size=2, activation="linear", skip="fed",
                       dtype=torch.float64)
    with torch.no_grad():
        for block in net.blocks:
            block.weight.copy_(torch.tensor([[[-1.0, 1.0]]], dtype=torch.float64))
            block.rho.fill_(float("inf"))  # theta = 1
    u = torch.tensor([(-1.0) ** i for i in range(40)], dtype=torch.float64).view(1, 1, -1)
    ratios = net.norm_ratios(u)[:, 0]
    assert ratios.max() > 1.2  # the long steps expand (the short first ones damp first)
    with torch.no_grad():
        assert float(net(u).norm() / u.norm()) <= 1.0 + 1e-12
