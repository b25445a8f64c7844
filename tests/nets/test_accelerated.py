"""Tests for pdecore.nets.accelerated: FED and FSI as ResNets with shared weights."""

import math

import numpy as np
import pytest
import torch

import pdecore
from pdecore.nets import FEDNet, FSINet, StandardBlock, SymmetricBlock

SEED = 20220731


def signals(batch, n, seed=SEED):
    rng = np.random.default_rng(seed)
    steps = np.repeat(rng.uniform(-1.0, 1.0, (batch, 4)), -(-n // 4), axis=1)[:, :n]
    return steps + 0.1 * rng.standard_normal((batch, n))


def rel_err(got, expected):
    return np.abs(got - expected).max() / np.abs(expected).max()


def fed_taus_reference(T, tau_max, cycles):
    """Cycle length and scaled step sizes, from the closed form (SPEC.md section 3)."""
    n = 1
    while cycles * tau_max * (n * n + n) / 3.0 < T * (1.0 - 1e-13):
        n += 1
    taus = [tau_max / (2.0 * math.cos(math.pi * (2 * i + 1) / (4 * n + 2)) ** 2)
            for i in range(n)]
    return [t * (T / cycles) / sum(taus) for t in taus]


# --- equivalence with the numpy schemes ---------------------------------------------


@pytest.mark.parametrize(("order", "h"), [(1, 1.0), (1, 0.6), (2, 1.0)])
@pytest.mark.parametrize("cycles", [2, 3, 5])
@pytest.mark.parametrize("name", ["perona_malik", "charbonnier"])
def test_fednet_reproduces_fed_evolution(name, cycles, order, h, device):
    n_points, lam = 32, 0.4
    tau_max = pdecore.stability_limit(n_points, order, h)
    T = 25.0 * tau_max
    u = signals(3, n_points)
    expected = pdecore.fed_evolution(u, T, tau_max, cycles, name, lam, h, order,
                                     update="step").u
    net = FEDNet.from_scheme(T, tau_max, cycles, name, lam, h, order, device=device,
                             update="step")
    assert net.cycles == cycles
    np.testing.assert_allclose(net.taus.cpu().numpy(), fed_taus_reference(T, tau_max, cycles),
                               rtol=1e-12)
    out = net(torch.from_numpy(u).to(device).unsqueeze(1))
    assert out.shape == (3, 1, n_points)
    assert out.device.type == device
    assert rel_err(out.detach().cpu().numpy()[:, 0], expected) <= 1e-12
    assert rel_err(expected, u) > 1e-2  # the evolution changed the signals


@pytest.mark.parametrize(("order", "h"), [(1, 1.0), (1, 0.6), (2, 1.0)])
@pytest.mark.parametrize("cycles", [2, 3, 5])
@pytest.mark.parametrize("name", ["perona_malik", "charbonnier"])
def test_fsinet_reproduces_fsi_evolution(name, cycles, order, h, device):
    n_points, lam = 32, 0.4
    tau = pdecore.stability_limit(n_points, order, h)
    T = 25.0 * tau
    u = signals(3, n_points, seed=SEED + 1)
    expected = pdecore.fsi_evolution(u, T, tau, cycles, name, lam, h, order, update="step").u
    net = FSINet.from_scheme(T, tau, cycles, name, lam, h, order, device=device,
                             update="step")
    n = len(fed_taus_reference(T, tau, cycles))
    np.testing.assert_allclose(net.alphas.cpu().numpy(),
                               [(4 * k + 2) / (2 * k + 3) for k in range(n)], rtol=1e-15)
    assert net.block.tau == pytest.approx(3.0 * T / (cycles * (n * n + n)), rel=1e-12)
    out = net(torch.from_numpy(u).to(device).unsqueeze(1))
    assert rel_err(out.detach().cpu().numpy()[:, 0], expected) <= 1e-12
    assert rel_err(expected, u) > 1e-2


def test_linear_fednet_and_fsinet_agree():
    """For the linear flux both networks realise the same cycle polynomial."""
    n_points, cycles = 30, 2
    tau = pdecore.stability_limit(n_points)
    T = 30.0 * tau
    x = torch.from_numpy(signals(2, n_points)).unsqueeze(1)
    fed = FEDNet.from_scheme(T, tau, cycles, "linear")(x)
    fsi = FSINet.from_scheme(T, tau, cycles, "linear")(x)
    assert (fed - fsi).abs().max().item() <= 1e-10 * fed.abs().max().item()


def test_fsinet_hand_built_recursion():
    """One explicit cycle by hand: u1 = a0 B(u0) + (1 - a0) u0, u2 = a1 B(u1) + (1 - a1) u0."""
    torch.manual_seed(SEED)
    block = SymmetricBlock(2, 3, "perona_malik", tau=0.05, dtype=torch.float64)
    alphas = [0.6, 1.3]
    net = FSINet(block, alphas, cycles=2, update="step")
    u0 = torch.randn(2, 2, 12, dtype=torch.float64)
    u = u0
    for _ in range(2):
        prev = u
        u1 = 0.6 * block(u) + 0.4 * prev
        u = 1.3 * block(u1) - 0.3 * u
    torch.testing.assert_close(net(u0), u, rtol=1e-14, atol=1e-14)


def test_fednet_applies_the_block_with_each_tau():
    torch.manual_seed(SEED)
    block = SymmetricBlock(1, 3, "charbonnier", tau=123.0, dtype=torch.float64)
    net = FEDNet(block, [0.1, 0.2, 0.3], cycles=2, update="step")
    u0 = torch.randn(3, 1, 10, dtype=torch.float64)
    u = u0
    for _ in range(2):
        for tau in (0.1, 0.2, 0.3):
            u = u - tau * torch.nn.functional.conv_transpose1d(
                block.activation(torch.nn.functional.conv1d(u, block.weight)), block.weight
            )
    torch.testing.assert_close(net(u0), u, rtol=1e-14, atol=1e-14)


# --- gradients ----------------------------------------------------------------------


@pytest.mark.parametrize("net_cls", [FEDNet, FSINet])
def test_gradients_reach_the_shared_weight(net_cls):
    net = net_cls.from_scheme(4.0, 0.5, 2, "perona_malik", 0.5)
    assert [name for name, _ in net.named_parameters()] == ["block.weight"]
    x = torch.from_numpy(signals(2, 20)).unsqueeze(1)
    target = torch.zeros_like(x)
    loss = ((net(x) - target) ** 2).sum()
    loss.backward()
    grad = net.block.weight.grad
    assert grad is not None
    assert grad.shape == net.block.weight.shape
    assert torch.isfinite(grad).all()
    assert grad.abs().max().item() > 0


@pytest.mark.parametrize("net_cls", [FEDNet, FSINet])
def test_gradcheck_small_net(net_cls):
    torch.manual_seed(SEED)
    block = SymmetricBlock(2, 3, "perona_malik", lam=0.7, tau=0.1, dtype=torch.float64)
    net = net_cls(block, [0.1, 0.3] if net_cls is FEDNet else [2 / 3, 6 / 5], cycles=2,
                  update="step")
    u = torch.randn(1, 2, 7, dtype=torch.float64, requires_grad=True)
    w = block.weight.detach().clone().requires_grad_(True)

    def f(u, w):
        return torch.func.functional_call(net, {"block.weight": w}, (u,))

    assert torch.autograd.gradcheck(f, (u, w))


# --- constructor errors -------------------------------------------------------------


@pytest.mark.parametrize("net_cls", [FEDNet, FSINet])
@pytest.mark.parametrize("bad", [StandardBlock(1, 3), torch.nn.Identity(), None])
def test_block_must_be_symmetric(net_cls, bad):
    with pytest.raises(TypeError, match="block"):
        net_cls(bad, [0.5])


@pytest.mark.parametrize("taus", [[], (), [0.1, -0.2], [0.0], [-1.0],
                                  [0.1, float("nan")], [float("inf")]])
def test_fednet_bad_taus(taus):
    with pytest.raises(ValueError, match="taus"):
        FEDNet(SymmetricBlock(1, 3), taus)


@pytest.mark.parametrize("alphas", [[], (), [0.5, float("nan")]])
def test_fsinet_bad_alphas(alphas):
    with pytest.raises(ValueError, match="alphas"):
        FSINet(SymmetricBlock(1, 3), alphas)


@pytest.mark.parametrize("net_cls", [FEDNet, FSINet])
@pytest.mark.parametrize(("cycles", "exc"), [(0, ValueError), (-2, ValueError),
                                             (1.5, TypeError)])
def test_bad_cycles(net_cls, cycles, exc):
    with pytest.raises(exc, match="cycles"):
        net_cls(SymmetricBlock(1, 3), [0.5], cycles)


@pytest.mark.parametrize("net_cls", [FEDNet, FSINet])
def test_from_scheme_bad_input(net_cls):
    with pytest.raises(ValueError, match=r"\bT\b"):
        net_cls.from_scheme(0.0, 0.5)
    with pytest.raises(ValueError, match="tau"):
        net_cls.from_scheme(1.0, -0.5)
    with pytest.raises(ValueError, match="diffusivity"):
        net_cls.from_scheme(1.0, 0.5, diffusivity="nope")


@pytest.mark.parametrize("net_cls", [FEDNet, FSINet])
def test_forward_bad_input_names_u(net_cls):
    net = net_cls.from_scheme(1.0, 0.5)
    with pytest.raises(ValueError, match=r"\bu\b"):
        net(torch.zeros(2, 10, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"\bu\b"):
        net(np.zeros((2, 1, 10)))


# --- diffusivity frozen per cycle (update="cycle") -----------------------------------


@pytest.mark.parametrize(("order", "h"), [(1, 1.0), (1, 0.6), (2, 1.0)])
@pytest.mark.parametrize("cycles", [2, 3, 5])
@pytest.mark.parametrize("name", ["perona_malik", "charbonnier", "weickert"])
@pytest.mark.parametrize(("net_cls", "scheme"), [(FEDNet, pdecore.fed_evolution),
                                                 (FSINet, pdecore.fsi_evolution)])
def test_frozen_nets_reproduce_update_cycle(net_cls, scheme, name, cycles, order, h, device):
    n_points, lam = 32, 0.4
    tau_max = pdecore.stability_limit(n_points, order, h)
    T = 25.0 * tau_max
    u = signals(3, n_points, seed=SEED + 2)
    expected = scheme(u, T, tau_max, cycles, name, lam, h, order, update="cycle").u
    net = net_cls.from_scheme(T, tau_max, cycles, name, lam, h, order, device=device,
                              update="cycle")
    assert net.update == "cycle"
    out = net(torch.from_numpy(u).to(device).unsqueeze(1)).detach().cpu().numpy()[:, 0]
    assert rel_err(out, expected) <= 1e-12
    per_step = scheme(u, T, tau_max, cycles, name, lam, h, order, update="step").u
    assert rel_err(per_step, expected) > 1e-4  # the two modes really differ here


def test_frozen_fednet_by_hand():
    """One cycle with G = g((W u0)^2) frozen: u <- u - tau_i W^T (G * W u)."""
    torch.manual_seed(SEED)
    block = SymmetricBlock(2, 3, "perona_malik", lam=0.5, dtype=torch.float64, bias=True)
    taus = [0.1, 0.4, 0.7]
    net = FEDNet(block, taus, cycles=2, update="cycle")
    u0 = torch.randn(2, 2, 11, dtype=torch.float64)
    u = u0
    conv, convt = torch.nn.functional.conv1d, torch.nn.functional.conv_transpose1d
    for _ in range(2):
        s0 = conv(u, block.weight, block.bias)
        g = 1.0 / (1.0 + s0 * s0 / 0.25)
        for tau in taus:
            u = u - tau * convt(g * conv(u, block.weight, block.bias), block.weight)
    torch.testing.assert_close(net(u0), u, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("net_cls", [FEDNet, FSINet])
def test_linear_flux_update_modes_agree(net_cls):
    """With g = 1 freezing changes nothing."""
    x = torch.from_numpy(signals(2, 24)).unsqueeze(1)
    a = net_cls.from_scheme(8.0, 0.5, 2, "linear", update="step")(x)
    b = net_cls.from_scheme(8.0, 0.5, 2, "linear", update="cycle")(x)
    assert (a - b).abs().max().item() <= 1e-12 * a.abs().max().item()


@pytest.mark.parametrize("net_cls", [FEDNet, FSINet])
def test_frozen_mode_gradients(net_cls):
    torch.manual_seed(SEED)
    block = SymmetricBlock(1, 3, "charbonnier", lam=0.7, tau=0.1, dtype=torch.float64)
    net = net_cls(block, [0.1, 0.3] if net_cls is FEDNet else [2 / 3, 6 / 5], cycles=2,
                  update="cycle")
    u = torch.randn(1, 1, 7, dtype=torch.float64, requires_grad=True)
    w = block.weight.detach().clone().requires_grad_(True)

    def f(u, w):
        return torch.func.functional_call(net, {"block.weight": w}, (u,))

    assert torch.autograd.gradcheck(f, (u, w))


@pytest.mark.parametrize("net_cls", [FEDNet, FSINet])
def test_bad_update(net_cls):
    with pytest.raises(ValueError, match="update"):
        net_cls(SymmetricBlock(1, 3), [0.5], update="layer")
    with pytest.raises(TypeError, match="diffusivity"):
        net_cls(SymmetricBlock(1, 3, activation=torch.nn.Tanh()), [0.5], update="cycle")
    with pytest.raises(ValueError, match="update"):
        net_cls.from_scheme(1.0, 0.5, update="sometimes")


@pytest.mark.parametrize(("net_cls", "scheme"), [(FEDNet, pdecore.fed_evolution),
                                                 (FSINet, pdecore.fsi_evolution)])
def test_default_update_is_the_schemes(net_cls, scheme):
    """FEDNet/FSINet and fed_evolution/fsi_evolution share the default (``"cycle"``)."""
    u = signals(2, 32, seed=SEED + 3)
    tau = pdecore.stability_limit(32)
    net = net_cls.from_scheme(20.0 * tau, tau, 3, "perona_malik", 0.4)
    assert net.update == net_cls(net.block, [0.5]).update == "cycle"
    out = net(torch.from_numpy(u).unsqueeze(1)).detach().numpy()[:, 0]
    assert rel_err(out, scheme(u, 20.0 * tau, tau, 3, "perona_malik", 0.4).u) <= 1e-12
    with pytest.raises(TypeError, match="diffusivity"):  # ReLU has no g to freeze
        net_cls(SymmetricBlock(1, 3, "relu"), [0.5])
    assert net_cls(SymmetricBlock(1, 3, "relu"), [0.5], update="step").update == "step"
