"""Tests for pdecore.nets.activations: the flux as a torch activation, the registry."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import pdecore
from pdecore.nets import (
    ACTIVATIONS,
    SECTOR_ACTIVATIONS,
    TORCH_DIFFUSIVITIES,
    FluxActivation,
    SectorReLU,
    TrainableFlux,
    as_activation,
)

NAMES = sorted(pdecore.DIFFUSIVITIES)
LAMS = [0.05, 0.7, 1.0, 3.0]


def s_grid(lam):
    """0, tiny, moderate (around lam, where the fluxes turn) and huge gradient values."""
    pos = np.r_[
        np.logspace(-12, 12, 121), lam * np.linspace(0.01, 5.0, 200), 1e30, 1e100, 1e200
    ]
    return np.r_[0.0, pos, -pos]


def test_every_registered_diffusivity_has_a_torch_twin():
    assert sorted(TORCH_DIFFUSIVITIES) == sorted(pdecore.DIFFUSIVITIES)
    assert len(NAMES) == 5


@pytest.mark.parametrize("lam", LAMS)
@pytest.mark.parametrize("name", NAMES)
def test_equals_numpy_flux_float64(name, lam):
    s = s_grid(lam)
    phi = FluxActivation(name, lam)
    got = phi(torch.from_numpy(s)).numpy()
    with np.errstate(over="ignore"):  # s^2 = inf for s = 1e200: g = 0, Phi = 0
        expected = pdecore.flux(name, s, lam)
        s2 = s * s
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    # and the diffusivity method is g itself
    g = phi.diffusivity(torch.from_numpy(s2)).numpy()
    np.testing.assert_allclose(g, pdecore.diffusivity(name, s2, lam), rtol=1e-12, atol=0)


def test_known_values():
    """Worked out by hand for lam = 1 at s = 2."""
    s = torch.tensor([2.0], dtype=torch.float64)
    expected = {
        "linear": 2.0,
        "perona_malik": 2.0 / 5.0,
        "exponential": 2.0 * np.exp(-2.0),
        "charbonnier": 2.0 / np.sqrt(5.0),
        "weickert": 2.0 * (1.0 - np.exp(-3.31488 / 256.0)),
    }
    for name, value in expected.items():
        assert FluxActivation(name, 1.0)(s).item() == pytest.approx(value, rel=1e-14)


def test_alias_is_accepted():
    phi = FluxActivation("pm", 0.5)
    assert phi.name == "perona_malik"
    s = torch.linspace(-3, 3, 13, dtype=torch.float64)
    torch.testing.assert_close(phi(s), FluxActivation("perona_malik", 0.5)(s), rtol=0, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_float32_follows_input(name):
    s = np.linspace(-10.0, 10.0, 401)
    phi = FluxActivation(name, 1.3)
    got = phi(torch.from_numpy(s).float())
    assert got.dtype == torch.float32
    np.testing.assert_allclose(
        got.double().numpy(), pdecore.flux(name, s, 1.3), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("lam", LAMS)
@pytest.mark.parametrize("name", NAMES)
def test_gradients_finite_everywhere(name, lam, dtype):
    s = torch.from_numpy(s_grid(lam)).to(dtype)
    s = s[torch.isfinite(s)].requires_grad_(True)  # 1e100, 1e200 are inf in float32
    if dtype == torch.float32:  # s^2 overflows from 2e19 on; g = 0 and the gradient 0 there
        extra = torch.tensor([1e5, 1e7, 1e19, 2e19, 1e30, -1e30])
        s = torch.cat([s.detach(), extra]).requires_grad_(True)
    phi = FluxActivation(name, lam)
    (grad,) = torch.autograd.grad(phi(s).sum(), s)
    assert torch.isfinite(grad).all(), s[~torch.isfinite(grad)]
    # Phi'(0) = g(0) = 1 for every registered diffusivity (weickert included)
    zero = torch.zeros(1, dtype=dtype, requires_grad=True)
    (grad0,) = torch.autograd.grad(phi(zero).sum(), zero)
    assert grad0.item() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("lam", [0.7, 2.0])
@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_finite_differences_of_numpy_flux(name, lam):
    s = lam * np.linspace(-4.0, 4.0, 81)
    st_ = torch.from_numpy(s).requires_grad_(True)
    (grad,) = torch.autograd.grad(FluxActivation(name, lam)(st_).sum(), st_)
    eps = 1e-6 * lam
    fd = (pdecore.flux(name, s + eps, lam) - pdecore.flux(name, s - eps, lam)) / (2 * eps)
    np.testing.assert_allclose(grad.numpy(), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("lam", LAMS)
@pytest.mark.parametrize("name", NAMES)
def test_odd_and_zero_at_zero(name, lam):
    s = torch.from_numpy(s_grid(lam))
    phi = FluxActivation(name, lam)
    torch.testing.assert_close(phi(-s), -phi(s), rtol=0, atol=0)
    assert phi(torch.zeros(3, dtype=torch.float64)).eq(0).all()


@pytest.mark.parametrize("name", NAMES)
def test_sector_condition_on_grid(name):
    for lam in LAMS:
        s = torch.from_numpy(s_grid(lam))
        s = s[s != 0]
        ratio = FluxActivation(name, lam)(s) / s
        assert (ratio >= 0).all()
        assert (ratio <= 1).all()
    assert FluxActivation(name).sector_bound == 1.0


@given(
    name=st.sampled_from(NAMES),
    lam=st.floats(0.01, 100.0),
    s=st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False).filter(lambda x: x != 0),
)
def test_sector_condition_property(name, lam, s):
    phi = FluxActivation(name, lam)
    value = phi(torch.tensor([s, -s], dtype=torch.float64))
    ratio = (value[0] / s).item()
    assert 0.0 <= ratio <= 1.0
    assert value[1].item() == -value[0].item()


def test_nonmonotone_fluxes_turn_at_lambda():
    """Perona-Malik's flux s/(1 + s^2/lam^2) has its maximum lam/2 at s = lam."""
    lam = 0.8
    s = torch.linspace(0.0, 4.0 * lam, 4001, dtype=torch.float64)
    phi = FluxActivation("perona_malik", lam)(s)
    i = int(phi.argmax())
    assert s[i].item() == pytest.approx(lam, abs=2e-3)
    assert phi[i].item() == pytest.approx(lam / 2.0, rel=1e-6)
    # Weickert's constant puts its maximum at lam as well
    phi_w = FluxActivation("weickert", lam)(s)
    assert s[int(phi_w.argmax())].item() == pytest.approx(lam, abs=2e-3)


# --- errors and as_activation -------------------------------------------------------


@pytest.mark.parametrize("name", ["nope", "Perona_Malik", "", "relu"])
def test_unknown_name_raises_value_error(name):
    with pytest.raises(ValueError, match="diffusivity"):
        FluxActivation(name)


@pytest.mark.parametrize("name", [3, None, 1.5, ["linear"], pdecore.DIFFUSIVITIES["linear"]])
def test_non_string_name_raises_type_error(name):
    with pytest.raises(TypeError, match="name"):
        FluxActivation(name)


@pytest.mark.parametrize(("lam", "exc"), [(0.0, ValueError), (-1.0, ValueError),
                                          (float("nan"), ValueError), ("1", TypeError)])
def test_bad_lam(lam, exc):
    with pytest.raises(exc, match="lam"):
        FluxActivation("perona_malik", lam)


def test_as_activation_passes_modules_through():
    for module in [nn.Tanh(), nn.Identity(), FluxActivation("charbonnier", 2.0)]:
        assert as_activation(module) is module
        assert as_activation(module, lam=5.0) is module


def test_as_activation_builds_flux_from_name():
    act = as_activation("perona_malik", lam=0.3)
    assert isinstance(act, FluxActivation)
    assert act.name == "perona_malik"
    assert act.lam == 0.3
    s = torch.tensor([0.3], dtype=torch.float64)
    assert act(s).item() == pytest.approx(0.15, rel=1e-14)


@pytest.mark.parametrize("bad", [None, 3, torch.tanh, object()])
def test_as_activation_rejects_other_types(bad):
    with pytest.raises(TypeError, match="activation"):
        as_activation(bad)


def test_as_activation_unknown_name():
    with pytest.raises(ValueError, match="unknown"):
        as_activation("nope")


# --- SectorReLU: a monotone flux of the same sector -----------------------------------


def test_sector_relu_values_and_sector():
    phi = SectorReLU()
    s = torch.from_numpy(s_grid(1.0))
    expected = np.maximum(s.numpy(), 0.0)
    np.testing.assert_array_equal(phi(s).numpy(), expected)
    nonzero = s[s != 0]
    ratio = phi(nonzero) / nonzero
    assert set(np.unique(ratio.numpy())) == {0.0, 1.0}
    assert phi.sector_bound == 1.0
    assert phi(torch.zeros(1)).item() == 0.0
    assert phi(torch.ones(1, dtype=torch.float32)).dtype == torch.float32


def test_as_activation_relu():
    act = as_activation("relu")
    assert isinstance(act, SectorReLU)
    assert as_activation("relu", lam=5.0)(torch.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]


def test_unknown_activation_lists_the_choices():
    with pytest.raises(ValueError, match="unknown activation 'softsign'") as info:
        as_activation("softsign")
    for name in ("'relu'", "'perona_malik'", "'tanh'", "'trainable'"):
        assert name in str(info.value)


# --- the registry: one name, one module, everywhere ------------------------------------


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_registered_name_builds_a_new_module(name):
    a, b = as_activation(name, lam=0.5), as_activation(name, lam=0.5)
    assert isinstance(a, nn.Module) and a is not b  # each layer gets its own module
    sector = getattr(a, "sector_bound", None)
    # SECTOR_ACTIVATIONS is exactly the part of the registry with a declared bound L
    assert isinstance(sector, (int, float)) == (name in SECTOR_ACTIVATIONS)
    s = torch.linspace(-4, 4, 81, dtype=torch.float64)
    if name in SECTOR_ACTIVATIONS:  # the sector condition 0 <= Phi(s)/s <= L
        ratio = a.double()(s[s != 0]) / s[s != 0]
        ratio = ratio.detach()
        assert float(ratio.min()) >= 0 and float(ratio.max()) <= sector * (1 + 1e-12)


def test_sector_names_are_registered_and_aliases_resolve():
    assert set(SECTOR_ACTIVATIONS) <= set(ACTIVATIONS)
    assert set(pdecore.DIFFUSIVITIES) <= set(SECTOR_ACTIVATIONS)
    assert as_activation("pm", lam=0.5).name == "perona_malik"


def test_trainable_names_take_the_flux_options():
    free = as_activation("trainable", n_basis=8, basis="hat", init=0.25)
    mono = as_activation("trainable_monotone", n_basis=8, basis="hat", sector_bound=2.0)
    assert isinstance(free, TrainableFlux) and not free.monotone
    assert isinstance(mono, TrainableFlux) and mono.monotone
    assert free.centres.numel() == mono.centres.numel() == 8 and mono.sector_bound == 2.0
    assert float(free.diffusivity(torch.zeros(1)).detach()) == pytest.approx(0.25)
    assert isinstance(as_activation("linear", n_basis=8), FluxActivation)  # options ignored


@pytest.mark.parametrize("lam", [0.0, -1.0, float("nan")])
def test_lam_is_checked_for_every_name(lam):
    with pytest.raises(ValueError, match="lam"):
        as_activation("relu", lam=lam)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sector_relu_is_torch_relu_in_values_and_gradients(dtype):
    # "relu" was torch.nn.ReLU in the U-nets and SectorReLU elsewhere; now it is SectorReLU
    # everywhere, so the two must agree bit for bit, at 0 and -0 included
    gen = torch.Generator().manual_seed(0)
    s = torch.cat([torch.randn(1000, generator=gen, dtype=dtype),
                   torch.tensor([0.0, -0.0, 1e-40, -1e-40, float("inf"), -float("inf")],
                                dtype=dtype)])
    weights = torch.randn(s.shape, generator=gen, dtype=dtype)
    grads = []
    for phi in (SectorReLU(), nn.ReLU()):
        x = s.clone().requires_grad_(True)
        out = phi(x)
        (out * weights).sum().backward()
        grads.append((out.detach(), x.grad))
    assert torch.equal(grads[0][0], grads[1][0])
    assert torch.equal(grads[0][0].signbit(), grads[1][0].signbit())
    assert torch.equal(grads[0][1], grads[1][1])


def test_relu_is_the_same_module_in_every_network():
    from pdecore import nets

    torch.manual_seed(0)
    modules = {
        "SymmetricBlock": nets.SymmetricBlock(activation="relu").activation,
        "StandardBlock": nets.StandardBlock(activation="relu").activation,
        "DiffusionNet": nets.DiffusionNet(1, 2, activation="relu").blocks[0].activation,
        "StandardNet": nets.StandardNet(1, 2).blocks[0].activation,
        "SymmetricBlock2d": nets.SymmetricBlock2d(2).activation,
        "StandardBlock2d": nets.StandardBlock2d(2).activation,
        "ResNetClassifier": nets.ResNetClassifier(channels=2, blocks=(1,)).activation,
        "MultigridUNet": nets.MultigridUNet(2, 2).pre[0][0].act1,
        "StandardUNet": nets.StandardUNet(2, 2).transfer[0].act,
    }
    assert {k: type(m) for k, m in modules.items()} == dict.fromkeys(modules, SectorReLU)


def test_relu_block_is_non_expansive_at_the_bound():
    from pdecore.nets import SymmetricBlock

    rng = np.random.default_rng(4)
    block = SymmetricBlock(2, 3, "relu", dtype=torch.float64)
    with torch.no_grad():
        block.weight.copy_(torch.from_numpy(rng.standard_normal((2, 2, 3))))
    block.tau = block.stability_bound(30)
    u = torch.from_numpy(rng.standard_normal((8, 2, 30)))
    for _ in range(20):
        new = block(u).detach()
        assert torch.all(new.flatten(1).norm(dim=1) <= u.flatten(1).norm(dim=1) * (1 + 1e-12))
        u = new
