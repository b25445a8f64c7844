"""Tests for pdecore.nets.resnet: symmetric and standard residual blocks, operator_norm.

Dense references are built here from explicit loops over the kernel (and checked against
``np.correlate``), never from the torch modules under test.
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.func import functional_call

import pdecore
from pdecore.nets import StandardBlock, SymmetricBlock, operator_norm

NAMES = sorted(pdecore.DIFFUSIVITIES)
SEED = 20220731


def conv_matrix(weight, n):
    """Dense matrix of conv1d(., weight) (no padding) on (C_in, n), by explicit loops.

    Rows are (output channel, position), columns (input channel, grid point):
    out[o, j] = sum_i sum_t w[o, i, t] u[i, j + t].
    """
    w = np.asarray(weight, dtype=float)
    c_out, c_in, k = w.shape
    m = n - k + 1
    mat = np.zeros((c_out * m, c_in * n))
    for o in range(c_out):
        for i in range(c_in):
            for j in range(m):
                for t in range(k):
                    mat[o * m + j, i * n + j + t] = w[o, i, t]
    return mat


def correlate_apply(weight, u):
    """conv1d of one signal u (C_in, n) with np.correlate: the check of conv_matrix."""
    w = np.asarray(weight, dtype=float)
    return np.stack(
        [sum(np.correlate(u[i], w[o, i], mode="valid") for i in range(w.shape[1]))
         for o in range(w.shape[0])]
    )


def random_weight(rng, c_out, c_in, k):
    return rng.standard_normal((c_out, c_in, k)) / np.sqrt(c_in * k)


def signals(rng, batch, n, scale=1.0):
    """Steps plus noise: large and small gradients, so nonlinear fluxes turn."""
    steps = np.repeat(rng.uniform(-2.0, 2.0, (batch, 5)), -(-n // 5), axis=1)[:, :n]
    return scale * (steps + 0.3 * rng.standard_normal((batch, n)))


def set_weight(block, name, value):
    with torch.no_grad():
        getattr(block, name).copy_(torch.as_tensor(value))


# --- from_scheme reproduces the explicit step ------------------------------------------


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("cls", [SymmetricBlock, StandardBlock])
def test_from_scheme_reproduces_explicit_step(cls, name, order, device):
    rng = np.random.default_rng(SEED + order)
    h, lam, n = 0.8, 0.7, 37
    tau = 0.9 * 2.0 / (16.0 if order == 2 else 4.0) * h ** (2 * order)
    u = signals(rng, 5, n)
    u_copy = u.copy()
    expected = pdecore.explicit_step(u, tau, name, lam, h, order)
    block = cls.from_scheme(tau, name, lam, h, order, device=device)
    x = torch.from_numpy(u).to(device).unsqueeze(1)
    x_copy = x.clone()
    out = block(x)
    assert out.shape == (5, 1, n)
    assert out.dtype == torch.float64
    assert out.device.type == device
    torch.testing.assert_close(x, x_copy, rtol=0, atol=0)  # input untouched
    got = out.detach().cpu().numpy()[:, 0]
    err = np.abs(got - expected).max() / np.abs(expected).max()
    assert err <= 1e-12, err
    np.testing.assert_array_equal(u, u_copy)
    # the step did something (no trivial pass-through)
    assert np.abs(expected - u).max() > 1e-3


@pytest.mark.parametrize("cls", [SymmetricBlock, StandardBlock])
def test_from_scheme_float32(cls, device):
    # CUDA convolutions may run float32 in TF32 (10-bit mantissa) by torch's default
    tol = 1e-5 if device == "cpu" else 5e-3
    rng = np.random.default_rng(SEED)
    for name in NAMES:
        for order in (1, 2):
            tau = 0.2 if order == 1 else 0.05
            u = signals(rng, 3, 29)
            expected = pdecore.explicit_step(u, tau, name, 1.0, 1.0, order)
            block = cls.from_scheme(tau, name, 1.0, 1.0, order, dtype=torch.float32,
                                    device=device)
            out = block(torch.from_numpy(u).float().to(device).unsqueeze(1))
            assert out.dtype == torch.float32
            got = out.detach().cpu().double().numpy()[:, 0]
            assert np.abs(got - expected).max() <= tol * np.abs(expected).max()


def test_symmetric_tau_argument_overrides_step(device):
    u = signals(np.random.default_rng(1), 2, 20)
    block = SymmetricBlock.from_scheme(0.1, "charbonnier", 1.0, device=device)
    out = block(torch.from_numpy(u).to(device).unsqueeze(1), 0.35)
    expected = pdecore.explicit_step(u, 0.35, "charbonnier", 1.0)
    np.testing.assert_allclose(out.detach().cpu().numpy()[:, 0], expected, rtol=1e-12,
                               atol=1e-12 * np.abs(expected).max())


def test_from_scheme_weights_are_the_stencils():
    h = 0.5
    sym = SymmetricBlock.from_scheme(0.01, "linear", h=h, order=2)
    np.testing.assert_allclose(sym.weight.detach().numpy().ravel(), [4.0, -8.0, 4.0])
    std = StandardBlock.from_scheme(0.3, "linear", h=h, order=1)
    np.testing.assert_allclose(std.weight1.detach().numpy().ravel(), [-2.0, 2.0])
    np.testing.assert_allclose(std.weight2.detach().numpy().ravel(), [0.6, -0.6])


# --- parameter counts ---------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 2, 3, 8])
@pytest.mark.parametrize("kernel_size", [1, 2, 3, 5])
def test_symmetric_block_has_half_the_weights(channels, kernel_size):
    sym = SymmetricBlock(channels, kernel_size, bias=False)
    std = StandardBlock(channels, kernel_size, bias=False)
    n_sym = sum(p.numel() for p in sym.parameters())
    n_std = sum(p.numel() for p in std.parameters())
    assert n_sym == channels**2 * kernel_size
    assert n_std == 2 * channels**2 * kernel_size
    assert 2 * n_sym == n_std
    # the activation has no trainable parameters, fixed parts are no parameters either
    assert all(p.requires_grad for p in sym.parameters())


def test_bias_adds_channels_parameters():
    assert sum(p.numel() for p in SymmetricBlock(3, 3, bias=True).parameters()) == 27 + 3
    assert sum(p.numel() for p in StandardBlock(3, 3, bias=True).parameters()) == 54 + 6


# --- operator_norm ------------------------------------------------------------------


def test_conv_matrix_is_the_convolution():
    """The dense reference agrees with np.correlate and with torch's conv1d."""
    rng = np.random.default_rng(SEED)
    w = random_weight(rng, 3, 2, 4)
    u = rng.standard_normal((2, 11))
    via_matrix = (conv_matrix(w, 11) @ u.ravel()).reshape(3, -1)
    np.testing.assert_allclose(via_matrix, correlate_apply(w, u), rtol=1e-13, atol=1e-13)
    via_torch = torch.nn.functional.conv1d(torch.from_numpy(u)[None], torch.from_numpy(w))
    np.testing.assert_allclose(via_matrix, via_torch[0].numpy(), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(("shape", "n"), [
    ((1, 1, 3), 9), ((1, 1, 3), 40), ((2, 2, 3), 20), ((3, 3, 5), 17), ((4, 4, 3), 30),
    ((2, 3, 3), 25), ((3, 2, 1), 10), ((2, 2, 7), 7),
])
def test_operator_norm_equals_dense_svd(shape, n):
    rng = np.random.default_rng(SEED + n)
    for _ in range(3):
        w = random_weight(rng, *shape)
        expected = np.linalg.norm(conv_matrix(w, n), 2)
        got = operator_norm(torch.from_numpy(w), n)
        assert isinstance(got, float)
        assert got == pytest.approx(expected, rel=1e-10)
        # float32 weights are measured in float64
        got32 = operator_norm(torch.from_numpy(w).float(), n)
        assert got32 == pytest.approx(np.linalg.norm(conv_matrix(w.astype(np.float32), n), 2),
                                      rel=1e-10)


@pytest.mark.parametrize("n", [2, 3, 4, 10, 57, 200])
def test_operator_norm_of_d1_closed_form(n):
    w = torch.tensor([[[-1.0, 1.0]]], dtype=torch.float64)
    expected = 4.0 * np.sin((n - 1) * np.pi / (2 * n)) ** 2
    assert operator_norm(w, n) ** 2 == pytest.approx(expected, rel=1e-12)
    assert operator_norm(2.0 * w, n) ** 2 == pytest.approx(4.0 * expected, rel=1e-12)


def test_operator_norm_of_large_problems_is_an_upper_bound():
    """C n = 5000 > 4096 takes the Fourier-symbol bound: never below the exact norm."""
    n = 5000
    w = torch.tensor([[[-1.0, 1.0]]], dtype=torch.float64)
    exact = 2.0 * np.sin((n - 1) * np.pi / (2 * n))
    got = operator_norm(w, n)
    assert exact <= got <= exact * (1.0 + 1e-6)
    # a block-diagonal two-channel kernel: C n = 2 * 2100 > 4096, norm of the larger block
    w2 = torch.zeros(2, 2, 2, dtype=torch.float64)
    w2[0, 0] = torch.tensor([-1.0, 1.0])
    w2[1, 1] = torch.tensor([0.5, -0.5])
    exact2 = 2.0 * np.sin(2099 * np.pi / 4200)
    assert exact2 <= operator_norm(w2, 2100) <= exact2 * (1.0 + 1e-6)


@pytest.mark.parametrize(("shape", "n"), [((2, 2, 3), 20), ((3, 3, 5), 17), ((4, 2, 3), 30)])
def test_the_large_problem_bound_is_above_the_dense_norm_on_small_cases(shape, n):
    from pdecore.nets import conv2d_norm_bound

    rng = np.random.default_rng(SEED + n)
    for _ in range(3):
        w = random_weight(rng, *shape)
        exact = np.linalg.norm(conv_matrix(w, n), 2)
        bound = float(conv2d_norm_bound(torch.from_numpy(w)[:, :, None, :], (1, n), 0))
        assert exact <= bound <= 1.25 * exact


def test_operator_norm_bad_n():
    w = torch.ones(1, 1, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"\bn\b"):
        operator_norm(w, 2)
    with pytest.raises(TypeError, match=r"\bn\b"):
        operator_norm(w, 10.0)


# --- the stability theorem ----------------------------------------------------------


@pytest.mark.parametrize("activation", ["perona_malik", "charbonnier", "linear"])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_symmetric_block_is_non_expansive_at_the_bound(seed, channels, activation):
    n, depth = 24, 50
    rng = np.random.default_rng(seed)
    w = random_weight(rng, channels, channels, 3)
    block = SymmetricBlock(channels, 3, activation, lam=0.5, dtype=torch.float64)
    set_weight(block, "weight", w)
    tau = block.stability_bound(n)
    assert tau == pytest.approx(2.0 / np.linalg.norm(conv_matrix(w, n), 2) ** 2, rel=1e-10)
    block.tau = tau
    u = torch.from_numpy(rng.standard_normal((6, channels, n)))
    u = u * torch.tensor([0.01, 0.3, 1.0, 3.0, 10.0, 100.0], dtype=torch.float64).view(-1, 1, 1)
    norms = [u.flatten(1).norm(dim=1)]
    with torch.no_grad():
        for _ in range(depth):
            u = block(u)
            norms.append(u.flatten(1).norm(dim=1))
    norms = torch.stack(norms)
    assert torch.all(norms[1:] <= norms[:-1] * (1.0 + 1e-12))
    assert torch.all(norms[-1] < norms[0])  # and it does contract


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bound_is_sharp_and_three_times_the_bound_grows(seed):
    """Linear activation on the top singular vector: I - tau W^T W has eigenvalue 1 - 2."""
    channels, n = 2, 16
    rng = np.random.default_rng(seed)
    w = random_weight(rng, channels, channels, 3)
    _, sigma, vt = np.linalg.svd(conv_matrix(w, n))
    v = torch.from_numpy(vt[0].reshape(1, channels, n).copy())
    block = SymmetricBlock(channels, 3, "linear", dtype=torch.float64)
    set_weight(block, "weight", w)
    bound = block.stability_bound(n)
    assert bound == pytest.approx(2.0 / sigma[0] ** 2, rel=1e-10)
    with torch.no_grad():
        at_bound = block(v, bound).norm().item()
        above = block(v, 3.0 * bound).norm().item()
    assert at_bound == pytest.approx(1.0, abs=1e-10)  # |1 - 2| = 1: the bound is sharp
    assert above == pytest.approx(5.0, rel=1e-10)  # |1 - 6| = 5
    # and the growth compounds with depth
    u = v
    with torch.no_grad():
        for _ in range(10):
            u = block(u, 1.1 * bound)
    assert u.norm().item() > 1.2**10 * 0.99


def test_standard_block_with_random_weights_can_expand():
    rng = np.random.default_rng(2)
    for activation in ["linear", "perona_malik"]:
        block = StandardBlock(2, 3, activation, lam=1.0, dtype=torch.float64)
        set_weight(block, "weight1", random_weight(rng, 2, 2, 3))
        set_weight(block, "weight2", random_weight(rng, 2, 2, 3))
        u = torch.from_numpy(rng.standard_normal((4, 2, 32)))
        with torch.no_grad():
            ratio = block(u).flatten(1).norm(dim=1) / u.flatten(1).norm(dim=1)
        assert ratio.max().item() > 1.02, (activation, ratio)


def test_standard_block_with_symmetric_weights_is_the_symmetric_block():
    rng = np.random.default_rng(3)
    w, tau = random_weight(rng, 2, 2, 3), 0.37
    sym = SymmetricBlock(2, 3, "perona_malik", tau=tau, dtype=torch.float64)
    std = StandardBlock(2, 3, "perona_malik", dtype=torch.float64)
    set_weight(sym, "weight", w)
    set_weight(std, "weight1", w)
    set_weight(std, "weight2", -tau * w)
    u = torch.from_numpy(rng.standard_normal((3, 2, 15)))
    torch.testing.assert_close(sym(u), std(u), rtol=1e-13, atol=1e-13)


# --- gradients ----------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["perona_malik", "charbonnier", "weickert"])
@pytest.mark.parametrize("bias", [False, True])
def test_gradcheck_symmetric_block(activation, bias):
    torch.manual_seed(SEED)
    block = SymmetricBlock(2, 3, activation, lam=0.8, tau=0.3, bias=bias, dtype=torch.float64)
    u = torch.randn(2, 2, 8, dtype=torch.float64, requires_grad=True)
    w = block.weight.detach().clone().requires_grad_(True)
    params = {"weight": w}
    inputs = [u, w]
    if bias:
        b = (0.1 * torch.randn(2, dtype=torch.float64)).requires_grad_(True)
        params["bias"] = b
        inputs.append(b)

    def f(u, w, *rest):
        p = {"weight": w} | ({"bias": rest[0]} if rest else {})
        return functional_call(block, p, (u,))

    assert torch.autograd.gradcheck(f, tuple(inputs))
    assert torch.autograd.gradgradcheck(f, tuple(inputs))


def test_gradcheck_standard_block():
    torch.manual_seed(SEED)
    block = StandardBlock(2, 3, "perona_malik", bias=True, dtype=torch.float64)
    u = torch.randn(2, 2, 7, dtype=torch.float64, requires_grad=True)
    names = ["weight1", "weight2", "bias1", "bias2"]
    params = [getattr(block, k).detach().clone().requires_grad_(True) for k in names]

    def f(u, *ps):
        return functional_call(block, dict(zip(names, ps, strict=True)), (u,))

    assert torch.autograd.gradcheck(f, (u, *params))


# --- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize("cls", [SymmetricBlock, StandardBlock])
@pytest.mark.parametrize(("bad", "exc"), [
    (lambda: torch.zeros(2, 10, dtype=torch.float64), ValueError),  # wrong ndim
    (lambda: torch.zeros(10, dtype=torch.float64), ValueError),
    (lambda: torch.zeros(1, 2, 2, 10, dtype=torch.float64), ValueError),
    (lambda: torch.zeros(2, 3, 10, dtype=torch.float64), ValueError),  # channel count
    (lambda: torch.zeros(2, 1, 10, dtype=torch.float64), ValueError),
    (lambda: torch.zeros(2, 2, 2, dtype=torch.float64), ValueError),  # shorter than kernel
    (lambda: torch.zeros(2, 2, 10, dtype=torch.int64), TypeError),  # integer tensor
    (lambda: torch.zeros(2, 2, 10, dtype=torch.bool), TypeError),
    (lambda: np.zeros((2, 2, 10)), TypeError),  # numpy array
    (lambda: [[[0.0] * 10] * 2], TypeError),
])
def test_bad_input_names_u(cls, bad, exc):
    block = cls(2, 3, dtype=torch.float64)
    with pytest.raises(exc, match=r"\bu\b"):
        block(bad())


@pytest.mark.parametrize(("kwargs", "exc", "name"), [
    ({"channels": 0}, ValueError, "channels"),
    ({"channels": 1.5}, TypeError, "channels"),
    ({"kernel_size": 0}, ValueError, "kernel_size"),
    ({"activation": "nope"}, ValueError, "diffusivity"),
    ({"activation": 3}, TypeError, "activation"),
    ({"lam": 0.0}, ValueError, "lam"),
    ({"tau": -0.1}, ValueError, "tau"),
])
def test_symmetric_constructor_errors(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        SymmetricBlock(**kwargs)


@pytest.mark.parametrize("cls", [SymmetricBlock, StandardBlock])
@pytest.mark.parametrize(("kwargs", "exc", "name"), [
    ({"order": 3}, ValueError, "order"),
    ({"h": 0.0}, ValueError, "h"),
    ({"tau": 0.0}, ValueError, "tau"),
    ({"diffusivity": "nope"}, ValueError, "diffusivity"),
])
def test_from_scheme_errors(cls, kwargs, exc, name):
    args = {"tau": 0.2} | kwargs
    with pytest.raises(exc, match=name):
        cls.from_scheme(**args)


def test_stability_bound_needs_a_sector_bound():
    block = SymmetricBlock(1, 3, torch.nn.Tanh(), dtype=torch.float64)
    with pytest.raises(ValueError, match="sector_bound"):
        block.stability_bound(10)


# --- hidden channels ------------------------------------------------------------------


@pytest.mark.parametrize(("channels", "hidden", "k"), [(1, 4, 3), (2, 5, 2), (3, 1, 3)])
def test_hidden_channels_parameter_counts(channels, hidden, k):
    sym = SymmetricBlock(channels, k, hidden=hidden, bias=True)
    std = StandardBlock(channels, k, hidden=hidden, bias=True)
    assert sym.weight.shape == (hidden, channels, k)
    assert std.weight1.shape == std.weight2.shape == (hidden, channels, k)
    assert sum(p.numel() for p in sym.parameters()) == hidden * channels * k + hidden
    assert sum(p.numel() for p in std.parameters()) == 2 * hidden * channels * k + hidden + channels
    u = torch.randn(2, channels, 11)
    assert sym(u).shape == std(u).shape == (2, channels, 11)


def test_hidden_defaults_to_channels_and_keeps_the_random_stream():
    torch.manual_seed(5)
    a = StandardBlock(3, 3)
    torch.manual_seed(5)
    b = StandardBlock(3, 3, hidden=3)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    assert a.hidden == 3 and SymmetricBlock(2, 3).hidden == 2


@pytest.mark.parametrize("seed", [0, 1])
def test_symmetric_block_with_hidden_channels_is_stable_at_the_bound(seed):
    rng = np.random.default_rng(seed)
    n = 20
    w = random_weight(rng, 5, 2, 3)  # 2 -> 5 channels
    block = SymmetricBlock(2, 3, "perona_malik", lam=0.3, hidden=5, dtype=torch.float64)
    set_weight(block, "weight", w)
    block.tau = block.stability_bound(n)
    assert block.tau == pytest.approx(2.0 / np.linalg.norm(conv_matrix(w, n), 2) ** 2,
                                      rel=1e-10)
    u = torch.from_numpy(rng.standard_normal((6, 2, n)))
    with torch.no_grad():
        ratio = block(u).flatten(1).norm(dim=1) / u.flatten(1).norm(dim=1)
    assert float(ratio.max()) <= 1 + 1e-12


def test_hidden_errors():
    with pytest.raises(ValueError, match="hidden"):
        SymmetricBlock(2, 3, hidden=0)
    with pytest.raises(TypeError, match="hidden"):
        StandardBlock(2, 3, hidden=2.0)


@pytest.mark.parametrize("make", [
    lambda: SymmetricBlock(2, bias="no"),
    lambda: StandardBlock(2, bias="no"),
])
def test_flags_must_be_booleans(make):
    with pytest.raises(TypeError, match="bias must be True or False"):
        make()


@pytest.mark.parametrize("tau", [-1.0, 0.0, float("nan"), float("inf")])
def test_a_step_override_must_be_positive_and_finite(tau):
    block = SymmetricBlock(1)
    with pytest.raises(ValueError, match="tau"):
        block(torch.zeros(1, 1, 16), tau=tau)


# --- one family: every symmetric block runs the same step --------------------------------


def _symmetric_family():
    from pdecore.nets import DiffusionBlock, FEDNet, SymmetricBlock2d

    torch.manual_seed(SEED)
    sym = SymmetricBlock(2, 3, "charbonnier", tau=0.1, bias=True, dtype=torch.float64)
    return {
        "SymmetricBlock": (sym, (3, 2, 12)),
        "DiffusionBlock": (DiffusionBlock(3, 3, "perona_malik").double(), (3, 1, 12)),
        "SymmetricBlock2d": (SymmetricBlock2d(2, dtype=torch.float64), (3, 2, 6, 5)),
        "SymmetricBlock2d stable": (SymmetricBlock2d(2, stable=True, dtype=torch.float64),
                                    (3, 2, 6, 5)),
        "FEDNet, frozen g": (FEDNet(sym, [0.1, 0.2]), (3, 2, 12)),
    }


@pytest.mark.parametrize("name", list(_symmetric_family()))
def test_every_symmetric_block_uses_the_one_step(name, monkeypatch):
    from pdecore.nets import resnet

    module, shape = _symmetric_family()[name]
    u = torch.randn(*shape, dtype=torch.float64)
    expected = module(u)
    calls = []

    def counting(u, weight, activation, step, bias=None, padding=0):
        calls.append(weight.ndim)
        return original(u, weight, activation, step, bias, padding)

    original = resnet._symmetric_step
    monkeypatch.setattr(resnet, "_symmetric_step", counting)
    monkeypatch.setattr(pdecore.nets.accelerated, "_symmetric_step", counting)
    assert torch.equal(module(u), expected) and calls


@pytest.mark.parametrize("name", list(_symmetric_family())[:4])
def test_the_step_is_u_minus_tau_wt_activation_wu_plus_b(name):
    # the closed form with the adjoint written out: W^T y = conv_transpose(y, W)
    module, shape = _symmetric_family()[name]
    u = torch.randn(*shape, dtype=torch.float64)
    if name == "DiffusionBlock":
        w, b, step, pad = module.filters(), None, module.tau(), 0
    elif module.weight.ndim == 4:
        w, b, pad = module.weight, module.bias, module.kernel_size // 2
        step = module.step(shape[2:])
    else:
        w, b, step, pad = module.weight, module.bias, module.tau, 0
    conv = torch.nn.functional.conv2d if w.ndim == 4 else torch.nn.functional.conv1d
    s = module.activation(conv(u, w, b, padding=pad))
    # W^T s by the adjoint identity <W x, s> = <x, W^T s> with x the unit vectors
    x = torch.eye(u[0].numel(), dtype=torch.float64).view(-1, *shape[1:])
    wx = conv(x, w, None, padding=pad).flatten(1)                  # (n_in, n_out)
    wt_s = (s.flatten(1) @ wx.T).view(shape)
    torch.testing.assert_close(module(u), u - step * wt_s, rtol=1e-12, atol=1e-12)


# --- random weights (hypothesis) ---------------------------------------------------------


@settings(max_examples=25)
@given(seed=st.integers(0, 2**31 - 1), channels=st.integers(1, 2), kernel=st.integers(2, 4),
       activation=st.sampled_from(["perona_malik", "charbonnier", "weickert", "linear"]),
       lam=st.floats(0.1, 10.0), fraction=st.floats(0.05, 1.0))
def test_symmetric_block_never_increases_the_norm_at_or_below_its_bound(
        seed, channels, kernel, activation, lam, fraction):
    torch.manual_seed(seed)
    n = 24
    block = SymmetricBlock(channels, kernel, activation, lam,
                                        dtype=torch.float64)
    block.tau = fraction * block.stability_bound(n)
    u = 3.0 * lam * torch.randn(4, channels, n, dtype=torch.float64)
    with torch.no_grad():
        ratio = block(u).flatten(1).norm(dim=1) / u.flatten(1).norm(dim=1)
    assert float(ratio.max()) <= 1.0 + 1e-10
