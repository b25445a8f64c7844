import numpy as np
import pytest
import torch

from pdecore.experiments import stability
from pdecore.nets import StandardBlock, SymmetricBlock, operator_norm
from pdecore.results import CONFIG_NAMES

# a small sweep shared by several tests (a fraction of a second)
SMALL = dict(activations=("perona_malik", "linear"), factors=(0.01, 0.3, 1.0, 2.0),
             n_networks=3, depth=15, channels=2, n=20, batch=4)


@pytest.fixture(scope="module")
def sweep():
    return stability.run("quick", seed=2, **SMALL)


def test_symmetric_networks_never_grow_at_the_bound():
    res = stability.stability_experiment(["perona_malik", "linear"], (1.0,), ("symmetric",),
                                         depth=20, channels=2, n=24, batch=4)
    assert all(r.max_ratio <= 1 + 1e-12 and not r.grows for r in res)
    assert all(r.ratios.shape == (21, 4) for r in res)


def test_standard_network_shares_first_weights_and_scale():
    sym = stability.deep_network("symmetric", 3, 2, 3, "linear", 20, seed=5)
    std = stability.deep_network("standard", 3, 2, 3, "linear", 20, seed=5)
    for a, b in zip(sym, std, strict=True):
        torch.testing.assert_close(a.weight, b.weight1)
        # ||W_2|| = tau ||W||: the same step scale, without the symmetry
        assert operator_norm(b.weight2, 20) == pytest.approx(a.tau * operator_norm(a.weight, 20),
                                                             rel=1e-10)
        assert not torch.allclose(b.weight2, -a.tau * a.weight)


@pytest.mark.parametrize("factor", [0.5, 1.0, 1.3, 1.8])
def test_linear_block_amplification_is_the_closed_form(factor):
    block = SymmetricBlock(1, 2, "linear", dtype=torch.float64)
    with torch.no_grad():
        block.weight.copy_(torch.tensor([[[-1.0, 1.0]]]))
    n = 16
    block.tau = factor * 2.0 / (4 * np.sin((n - 1) * np.pi / (2 * n)) ** 2)
    amp = np.linalg.norm(stability.block_matrix(block, n), 2)
    assert amp == pytest.approx(max(1.0, 2 * factor - 1), rel=1e-12)


def test_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        stability.deep_network("wide", 2, 1, 3, "linear", 10)


# --- the growth criterion ----------------------------------------------------------------


def test_max_ratio_excludes_the_input_row():
    shrinking = np.array([[1.0, 1.0], [0.5, 0.9], [0.7, 0.8]])
    r = stability.StabilityResult("linear", "standard", 1.0, shrinking)
    assert r.max_ratio == 0.9 and not r.grows  # row 0 (ratio 1) is not counted
    tiny = np.array([[1.0], [1.0 + 1e-10]])
    assert not stability.StabilityResult("linear", "standard", 1.0, tiny).grows
    above = np.array([[1.0], [1.0 + 1e-8]])
    assert stability.StabilityResult("linear", "standard", 1.0, above).grows


def test_first_order_growth_of_a_standard_block_has_no_sign():
    """||I + cA||_2 = 1 + c lambda_max(sym A) + O(c^2): the standard block's slope is
    positive, the symmetric block's is <= 0, however small the scale c."""
    n, c = 12, 1e-5
    sym = stability.deep_network("symmetric", 1, 2, 3, "linear", n, 1.0, seed=1)[0]
    std = stability.deep_network("standard", 1, 2, 3, "linear", n, 1.0, seed=1)[0]
    for block, expect_growth in ((std, True), (sym, False)):
        a = stability.block_matrix(block, n) - np.eye(2 * n)  # the block at c = 1, minus I
        slope = np.linalg.eigvalsh(0.5 * (a + a.T)).max()
        amp = np.linalg.norm(np.eye(2 * n) + c * a, 2)
        if expect_growth:
            assert slope > 0.01
            assert (amp - 1.0) / c == pytest.approx(slope, rel=1e-3)
        else:
            assert slope <= 1e-12
            assert amp <= 1.0 + 1e-12


# --- the sweep -----------------------------------------------------------------------------


def test_sweep_matches_the_block_modules(sweep):
    """The batched sweep is an independent implementation of deep_network + norm_trajectory."""
    for i, kind in enumerate(sweep.kinds):
        for j, name in enumerate(sweep.activations):
            for f_i, factor in enumerate(sweep.factors):
                for s_i, seed in enumerate(sweep.seeds[:2]):
                    net = stability.deep_network(kind, SMALL["depth"], 2, 3, name, SMALL["n"],
                                                 factor, 1.0, seed)
                    u = stability._signals(SMALL["batch"], 2, SMALL["n"], 1.0, seed)
                    with stability._one_thread():  # tiny tensors
                        ratios = stability.norm_trajectory(net, u)
                    assert sweep.max_ratio[i, j, f_i, s_i] == pytest.approx(
                        ratios[1:].max(), rel=1e-12)
                    assert sweep.final_ratio[i, j, f_i, s_i] == pytest.approx(
                        ratios[-1].max(), rel=1e-12)


def test_batched_norms_are_operator_norms():
    w, _ = stability._random_kernels(4, 2, 3, seed=7)
    np.testing.assert_allclose(stability._norms(w, 30), [operator_norm(k, 30) for k in w],
                               rtol=1e-13)


def test_sweep_numbers_follow_from_the_arrays(sweep):
    nb = sweep.numbers()
    sym, std = sweep.kinds.index("symmetric"), sweep.kinds.index("standard")
    bound = sweep.factors.index(1.0)
    at_bound = sweep.max_ratio[std, :, bound]
    # the reproduction report's keys, at the bound
    assert nb["n_std"] == len(SMALL["activations"]) * SMALL["n_networks"] == at_bound.size
    assert nb["n_std_grow"] == int((at_bound > 1 + stability.GROWTH_TOL).sum())
    assert nb["sym_at_bound"] == sweep.max_ratio[sym, :, bound].max()
    # the theorem: no symmetric network grows at or below the bound
    assert nb["n_sym_grow_below"] == 0 and nb["sym_max_below"] < 1.0
    assert nb["sym_verdict"].startswith("none of the")
    assert nb["n_sym_below"] == 3 * len(SMALL["activations"]) * SMALL["n_networks"]
    # fractions per scale
    for f_i, factor in enumerate(sweep.factors):
        tag = f"{factor:g}".replace(".", "p")
        frac = np.mean(sweep.max_ratio[std, :, f_i] > 1 + stability.GROWTH_TOL)
        assert nb[f"frac_std_{tag}"] == pytest.approx(frac)
        assert nb[f"med_sym_{tag}"] == pytest.approx(np.median(sweep.max_ratio[sym, :, f_i]))
    assert nb["frac_std_smallest"] == nb["frac_std_0p01"]
    assert all(isinstance(v, float | int | str) for v in nb.values())
    assert len(sweep.scale_table().splitlines()) == 1 + len(sweep.factors)
    assert len(sweep.flux_table().splitlines()) == 2 + len(sweep.activations)


def test_verdicts_are_computed_from_the_ratios(sweep):
    """A sweep in which nothing standard grows and a symmetric network does says so."""
    ratios = sweep.max_ratio.copy()
    sym, std = sweep.kinds.index("symmetric"), sweep.kinds.index("standard")
    ratios[std] = 0.99
    ratios[sym, 0, 0, 0] = 1.5  # a symmetric network growing below the bound
    fake = stability.StabilitySweep(sweep.config, sweep.seeds, sweep.activations,
                                    sweep.factors, sweep.kinds, ratios, ratios)
    nb = fake.numbers()
    assert nb["std_first_growth"] == "none" and nb["n_std_grow"] == 0
    assert nb["std_onset"] == "no standard network grew at any scale tested"
    assert nb["n_sym_grow_below"] == 1 and "contrary to the theorem" in nb["sym_verdict"]
    ratios[std] = 0.99
    ratios[std, :, sweep.factors.index(1.0):] = 2.0  # growth from the bound on
    nb = stability.StabilitySweep(sweep.config, sweep.seeds, sweep.activations,
                                  sweep.factors, sweep.kinds, ratios, ratios).numbers()
    assert nb["std_first_growth"] == 1.0
    assert nb["std_onset"].startswith("no standard network grew below c = 1")


def test_run_is_deterministic_and_seeds_matter():
    a = stability.run("quick", seed=0, **SMALL)
    b = stability.run("quick", seed=0, **SMALL)
    c = stability.run("quick", seed=1, **SMALL)
    np.testing.assert_array_equal(a.max_ratio, b.max_ratio)
    assert a.seeds == (0, 1, 2) and c.seeds == (1, 2, 3)
    # seeds 1 and 2 are shared: the same networks
    np.testing.assert_array_equal(a.max_ratio[..., 1:], c.max_ratio[..., :2])
    assert not np.array_equal(a.max_ratio[..., 0], c.max_ratio[..., 2])


def test_configs_and_bad_settings():
    assert set(stability.CONFIGS) == set(CONFIG_NAMES)
    keys = set(stability.CONFIGS["default"])
    assert all(set(cfg) == keys for cfg in stability.CONFIGS.values())
    assert all(1.0 in cfg["factors"] for cfg in stability.CONFIGS.values())
    with pytest.raises(ValueError, match="factors"):
        stability.run("quick", factors=(0.1, 0.5))
    with pytest.raises(ValueError, match="config"):
        stability.run("nope")
    with pytest.raises(ValueError, match="unknown settings"):
        stability.run("quick", width=3)
    with pytest.raises(ValueError, match="nope"):
        stability.run("quick", activations=("nope",))


def test_standard_block_module_is_the_sweeps_second_weight():
    """W_2 = -tau V ||W||/||V||, checked on the block's own weights."""
    std = stability.deep_network("standard", 1, 2, 3, "linear", 16, 0.3, seed=4)[0]
    w, v = stability._random_kernels(1, 2, 3, seed=4)
    tau = 0.3 * 2.0 / operator_norm(w[0], 16) ** 2
    expected = -tau * v[0] * operator_norm(w[0], 16) / operator_norm(v[0], 16)
    assert isinstance(std, StandardBlock)
    torch.testing.assert_close(std.weight2.detach(), expected, rtol=1e-13, atol=0)


# --- order 2: kernels with the second-order stencil ----------------------------------------


def test_order_two_kernels_carry_the_second_order_stencil():
    """Every channel pair of W annihilates constants and ramps and has centre -2 x its ends."""
    w, v = stability._random_kernels(6, 3, 3, seed=3, order=2)
    assert w.shape == v.shape == (6, 3, 3, 3)
    ramp = torch.arange(3, dtype=torch.float64)
    zero = torch.zeros(6, 3, 3, dtype=torch.float64)
    torch.testing.assert_close(w.sum(-1), zero, rtol=0, atol=1e-14)
    torch.testing.assert_close((w * ramp).sum(-1), zero, rtol=0, atol=1e-14)
    torch.testing.assert_close(w[..., 0], w[..., 2], rtol=0, atol=0)
    assert (w[..., 0] != 0).all()  # random mixing, no channel pair left out
    # the standard block's second weight: the stencil with an independent mixing
    torch.testing.assert_close(v.sum(-1), zero, rtol=0, atol=1e-14)
    torch.testing.assert_close(v[..., 1], -2 * v[..., 0], rtol=0, atol=0)
    assert not torch.allclose(v[..., 0], w[..., 0])


@pytest.mark.parametrize("factor", [0.6, 1.0, 1.4])
def test_one_channel_order_two_block_is_the_fourth_order_step(factor):
    """One channel: W = a (1, -2, 1); with the linear flux the block is I - tau a^2 D2'D2,
    of norm max(1, 2c - 1) at scale c (closed form: the spectrum of D2'D2 in [0, ||D2||^2])."""
    n = 24
    (block,) = stability.deep_network("symmetric", 1, 1, 3, "linear", n, factor, seed=2,
                                      order=2)
    a = float(block.weight.detach()[0, 0, 0])
    d2 = np.diff(np.eye(n), 2, axis=0)  # (n - 2, n) second differences, independent of torch
    np.testing.assert_allclose(stability.block_matrix(block, n),
                               np.eye(n) - block.tau * a**2 * d2.T @ d2, rtol=0, atol=1e-13)
    assert block.tau * a**2 * np.linalg.norm(d2, 2) ** 2 == pytest.approx(2 * factor)
    amp = np.linalg.norm(stability.block_matrix(block, n), 2)
    assert amp == pytest.approx(max(1.0, 2 * factor - 1), rel=1e-12)


def test_order_two_sweep_keeps_the_theorem_and_says_its_order():
    res = stability.run("quick", seed=1, order=2, **SMALL)
    nb = res.numbers()
    assert nb["order"] == 2 and nb["n_sym_grow_below"] == 0 and nb["sym_max_below"] < 1.0
    assert stability.run("quick", seed=1, **SMALL).numbers()["order"] == 1
    # the sweep matches the block modules for order 2 as well
    sym = res.kinds.index("symmetric")
    net = stability.deep_network("symmetric", SMALL["depth"], 2, 3, "perona_malik",
                                 SMALL["n"], 1.0, 1.0, 1, order=2)
    u = stability._signals(SMALL["batch"], 2, SMALL["n"], 1.0, 1)
    ratios = stability.norm_trajectory(net, u)
    j, f = res.activations.index("perona_malik"), res.factors.index(1.0)
    assert res.max_ratio[sym, j, f, 0] == pytest.approx(ratios[1:].max(), rel=1e-12)


def test_order_two_needs_the_three_point_kernel():
    with pytest.raises(ValueError, match="kernel_size must be 3"):
        stability.run("quick", order=2, kernel_size=5)
    with pytest.raises(ValueError, match="order"):
        stability.run("quick", order=3)
    with pytest.raises(ValueError, match="kernel_size must be 3"):
        stability.deep_network("symmetric", 2, 1, 5, "linear", 10, order=2)
