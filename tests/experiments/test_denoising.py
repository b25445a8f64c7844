"""Experiment E6 (pdecore.experiments.denoising): data, families, verdicts, determinism.

Determinism is checked bit for bit below the chapter: the same call after different
global seeds (nothing may depend on the global RNG), and once in a fresh interpreter
(nothing may depend on state left by an earlier call).
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import pdecore
from pdecore.experiments import denoising
from pdecore.experiments.denoising import (
    CONFIGS,
    FAMILIES,
    MONOTONE,
    Baseline,
    DenoisingResult,
    DenoisingRow,
    DenoisingSplits,
    FamilySummary,
    Monotonicity,
    activation_ranges,
    classical_baseline,
    denoising_data,
    denoising_experiment,
    denoising_splits,
    flux_monotonicity,
    flux_report,
    markdown_table,
    norm_check,
    psnr,
    summarize,
    verdict,
    wins,
)
from pdecore.nets import DiffusionNet, FluxActivation, SectorReLU, StandardNet, TrainableFlux
from pdecore.results import paired_comparison


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TINY = {"budget": 60, "depth": 2, "n": 32, "n_train": 32, "n_test": 8, "batch_size": 8}


@pytest.fixture(scope="module")
def tiny_runs():
    """Two identical tiny runs and one with another seed (all families)."""
    with torch.random.fork_rng():
        torch.set_num_threads(1)
        a = denoising_experiment(FAMILIES, epochs=6, seed=0, **TINY)
        b = denoising_experiment(FAMILIES, epochs=6, seed=0, **TINY)
        c = denoising_experiment(FAMILIES, epochs=2, seed=1, **TINY)
    return a, b, c


# --- data -----------------------------------------------------------------------------


def test_denoising_data_pairs():
    d = denoising_data(7, 50, sigma=0.2, seed=3)
    assert d.X.shape == d.y.shape == (7, 1, 50)
    assert d.kind.tolist() == ["constant"] * 4 + ["linear"] * 3
    clean = d.y[:, 0]
    assert 0.0 <= clean.min() and clean.max() <= 1.0
    # constant signals have 4 jumps and flat pieces, linear ones are continuous with kinks
    for f in clean[:4]:
        assert np.count_nonzero(np.diff(f)) == 4
    for f in clean[4:]:
        assert np.count_nonzero(np.abs(np.diff(f, 2)) > 1e-12) == 4
    assert d.sigma == 0.2
    big = denoising_data(400, 100, sigma=0.2, seed=1)
    noise = big.X - big.y
    assert noise.std() == pytest.approx(0.2, rel=0.02)
    assert abs(noise.mean()) < 0.005
    np.testing.assert_array_equal(denoising_data(5, 20, seed=2).X, denoising_data(5, 20, seed=2).X)
    assert not np.array_equal(denoising_data(5, 20, seed=2).X, denoising_data(5, 20, seed=3).X)
    assert denoising_data(1, 20).kind.tolist() == ["constant"]


def test_denoising_data_errors():
    with pytest.raises(ValueError, match="^n_samples"):
        denoising_data(0)
    with pytest.raises(ValueError, match="^sigma"):
        denoising_data(4, sigma=-0.1)
    with pytest.raises(TypeError, match="^seed"):
        denoising_data(4, seed=1.5)


# --- monotonicity of fluxes -----------------------------------------------------------


def test_monotonicity_of_perona_malik_closed_form():
    """Phi = s/(1 + s^2/lam^2): maximum at lam, Phi' = (1 - r^2)/(1 + r^2)^2, r = s/lam."""
    lam, s_max = 0.4, 2.0
    m = flux_monotonicity(FluxActivation("perona_malik", lam), s_max, n_points=4001)
    assert m.s_peak == pytest.approx(lam, abs=1e-3)
    assert m.min_slope == pytest.approx(-1 / 8, abs=1e-6)  # at r = sqrt(3) < s_max / lam
    # Phi' < -1e-3 from slightly above lam to s_max
    r = np.linspace(0, s_max, 4001) / lam
    expected = np.mean((1 - r**2) / (1 + r**2) ** 2 < -1e-3)
    assert m.decreasing_fraction == pytest.approx(expected, abs=1e-3)
    assert 0.7 < m.decreasing_fraction < 0.8
    assert m.nonmonotone


@pytest.mark.parametrize("phi", [FluxActivation("linear"), FluxActivation("charbonnier", 0.1),
                                 SectorReLU(), TrainableFlux()])
def test_monotone_fluxes(phi):
    m = flux_monotonicity(phi, 5.0)
    assert m.decreasing_fraction == 0.0
    assert not m.nonmonotone
    assert m.min_slope >= 0.0
    assert m.s_peak == 5.0
    assert isinstance(m, Monotonicity)


def test_monotonicity_respects_the_sector_bound_and_leaves_the_module_alone():
    phi = TrainableFlux(sector_bound=2.0, init=1.0)  # g = 1: Phi(s) = s, slope 1 = L/2
    assert flux_monotonicity(phi, 1.0).min_slope == pytest.approx(0.5, rel=1e-6)
    assert phi.weights.dtype == torch.float32  # not converted in place
    with pytest.raises(ValueError, match="^s_max"):
        flux_monotonicity(phi, 0.0)
    with pytest.raises(TypeError, match="^phi"):
        flux_monotonicity(lambda s: s, 1.0)
    with pytest.raises(ValueError, match="^n_points"):
        flux_monotonicity(phi, 1.0, n_points=1)


def test_activation_ranges_by_hand():
    torch.manual_seed(1)
    net = DiffusionNet(3, 2, 3, "charbonnier", dtype=torch.float64)
    X = np.random.default_rng(0).standard_normal((6, 1, 25))
    got = activation_ranges(net, X, q=0.9)
    u = torch.from_numpy(X)
    for k, block in enumerate(net.blocks):
        s = torch.nn.functional.conv1d(u, block.filters()).detach().abs().numpy().ravel()
        assert got[k] == pytest.approx(np.quantile(s, 0.9), rel=1e-12)
        u = block(u).detach()
    with pytest.raises(ValueError, match="^q"):
        activation_ranges(net, X, q=1.5)
    with pytest.raises(TypeError, match="^net"):
        activation_ranges(StandardNet(2, 2, 3), X)


def test_norm_check():
    X = denoising_data(4, 40, seed=0).X
    torch.manual_seed(0)
    stable = DiffusionNet(4, 3, 3, "trainable", dtype=torch.float64)
    with torch.no_grad():
        for p in stable.parameters():
            p.mul_(20.0)
    assert norm_check(stable, X) <= 1.0 + 1e-12
    unstable = StandardNet(4, 3, 3, dtype=torch.float64)
    assert norm_check(unstable, X) > 1.0
    # the random inputs count: on them alone the ratio is at least as large
    assert norm_check(unstable, X, n_random=64) >= norm_check(unstable, X, n_random=0)
    with pytest.raises(TypeError, match="^net"):
        norm_check(torch.nn.Identity(), X)


# --- training -------------------------------------------------------------------------


def test_tiny_runs_train_and_report(tiny_runs):
    rows, _, _ = tiny_runs
    assert [r.family for r in rows] == list(FAMILIES)
    params = {r.family: r.params for r in rows}
    for r in rows:
        per_filter = 2 * (2 * 3 + 1 if r.family == "standard" else 3)
        assert abs(r.params - 60) <= per_filter / 2 or r.hidden == 1
        losses = np.array(r.history.train_loss)
        assert np.isfinite(losses).all() and losses[-1] < losses[0]
        assert len(r.history.val_loss) == 6
        assert r.test_rmse > 0 and set(r.rmse_by_kind) == {"constant", "linear"}
        # the overall RMSE combines the two halves of the test set (4 + 4 signals)
        combined = np.sqrt(np.mean([v**2 for v in r.rmse_by_kind.values()]))
        assert r.test_rmse == pytest.approx(combined, rel=1e-10)
        assert r.test_psnr == pytest.approx(-20 * np.log10(r.test_rmse))
        if r.family == "standard":
            assert r.flux_shapes == ()
        else:
            assert len(r.flux_shapes) == 2
            assert r.norm_ratio <= 1.0 + 1e-12
    assert params["trainable"] < params["linear"] + 10  # equal budgets, not equal filters
    assert {r.family: r.hidden for r in rows}["trainable"] < {r.family: r.hidden
                                                             for r in rows}["linear"]


def test_runs_are_deterministic(tiny_runs):
    a, b, c = tiny_runs
    for ra, rb in zip(a, b, strict=True):
        assert ra.history.train_loss == rb.history.train_loss
        assert ra.history.val_loss == rb.history.val_loss
        assert ra.test_rmse == rb.test_rmse
    assert a[0].history.train_loss[:2] != c[0].history.train_loss


def test_the_trained_network_beats_the_noisy_input():
    rows = denoising_experiment(["trainable"], budget=80, depth=2, n=48, n_train=64, n_test=16,
                                epochs=15, batch_size=16)
    test = denoising_splits(48, 64, 16, seed=0).test
    noisy = np.sqrt(np.mean((test.X - test.y) ** 2))
    assert rows[0].test_rmse < 0.9 * noisy
    # the test RMSE is the network's error on exactly these signals
    net = rows[0].model
    with torch.no_grad():
        out = net(torch.as_tensor(test.X)).numpy()
    assert rows[0].test_rmse == pytest.approx(np.sqrt(np.mean((out - test.y) ** 2)), rel=1e-10)


def test_experiment_errors():
    with pytest.raises(ValueError, match="^families"):
        denoising_experiment(["tanh"], epochs=1, **TINY)
    with pytest.raises(ValueError, match="^budget"):
        denoising_experiment(["linear"], epochs=1, **{**TINY, "budget": 0})


# --- summaries ------------------------------------------------------------------------


def test_summarize_wins_and_table(tiny_runs):
    a, _, c = tiny_runs
    summary = summarize([a, c])
    assert [s.family for s in summary] == list(FAMILIES)
    for s, ra, rc in zip(summary, a, c, strict=True):
        assert s.rmse == pytest.approx((ra.test_rmse + rc.test_rmse) / 2)
        assert s.rmse_runs == (ra.test_rmse, rc.test_rmse)
        assert s.norm_ratio == max(ra.norm_ratio, rc.norm_ratio)
        assert s.blocks == (0 if s.family == "standard" else 4)
    expected = sum(
        {r.family: r.test_rmse for r in run}["trainable"]
        < min(r.test_rmse for r in run if r.family in ("linear", "relu"))
        for run in (a, c))
    assert wins([a, c], "trainable", ["linear", "relu"]) == expected
    table = markdown_table(summary).splitlines()
    assert len(table) == 2 + len(FAMILIES)
    assert all(line.count("|") == 13 for line in table)
    with pytest.raises(ValueError, match="same families"):
        summarize([a, a[:2]])
    with pytest.raises(ValueError, match="missing"):
        wins([a], "trainable", ["tanh"])
    with pytest.raises(ValueError, match="^runs"):
        summarize([])


def test_verdict_sentences():
    assert verdict(2, 2, "X") == "The learned flux beat X in all 2 runs."
    assert verdict(0, 3, "X") == "The learned flux did not beat X in any of the 3 runs."
    assert verdict(1, 3, "X") == "The learned flux beat X in 1 of 3 runs only."
    assert verdict(1, 1, "X") == "The learned flux beat X in the single run."
    assert verdict(0, 1, "X") == "The learned flux did not beat X in the single run."
    with pytest.raises(ValueError, match="^wins"):
        verdict(3, 2, "X")


def test_table_of_a_hand_made_summary():
    s = FamilySummary("trainable", 150, 4, 0.1, (0.1,), 0.2, 0.05, 0.9999, 3, 5,
                      rmse_std=0.0125, macs=900)
    row = markdown_table([s]).splitlines()[2]
    assert "| 0.1000 ± 0.0125 | 20.00 |" in row and "| 3 of 5 |" in row and "learned" in row
    assert "| 900 |" in row
    with pytest.raises(TypeError, match="summary"):
        markdown_table([s], classical=[s])


def test_psnr_closed_form():
    assert psnr(1.0) == 0.0
    assert psnr(0.01) == pytest.approx(40.0)
    assert psnr(0.5, peak=255.0) == pytest.approx(20 * np.log10(510.0))
    with pytest.raises(ValueError, match="^rmse"):
        psnr(0.0)


# --- the classical baseline -----------------------------------------------------------


def test_classical_baseline_is_the_best_of_its_grid():
    d = denoising_data(6, 40, sigma=0.1, seed=4)
    lams = (0.05, 0.2)
    best = classical_baseline(d, "perona_malik", lams, max_steps=30)
    noisy = np.sqrt(np.mean((d.X - d.y) ** 2))
    assert best.test_rmse < noisy  # diffusion helps
    assert best.lam in lams and 1 <= best.n_steps <= 30
    # recompute the chosen setting, and check that no other setting of the grid is better
    u = pdecore.explicit_evolution(d.X[:, 0], 0.25, best.n_steps, "perona_malik", best.lam).u
    assert best.test_rmse == pytest.approx(np.sqrt(np.mean((u - d.y[:, 0]) ** 2)), rel=1e-12)
    for lam in lams:
        for k in (1, 5, 17, 30):
            v = pdecore.explicit_evolution(d.X[:, 0], 0.25, k, "perona_malik", lam).u
            assert np.sqrt(np.mean((v - d.y[:, 0]) ** 2)) >= best.test_rmse - 1e-15
    linear = classical_baseline(d, "linear", max_steps=30)
    assert linear.lam == 1.0 and linear.diffusivity == "linear"


# --- splits, depth of the decrease, tuning on validation -------------------------------


def test_splits_are_independent_and_reproducible():
    a = denoising_splits(40, 6, 4, seed=5, n_val=3)
    assert isinstance(a, DenoisingSplits)
    assert [d.X.shape[0] for d in (a.train, a.val, a.test)] == [6, 3, 4]
    assert len(set(a.seeds)) == 3
    # no signal is shared between the splits, nor with another seed's splits
    b = denoising_splits(40, 6, 4, seed=6, n_val=3)
    rows = np.concatenate([d.y[:, 0] for s in (a, b) for d in (s.train, s.val, s.test)])
    assert len({r.tobytes() for r in rows}) == len(rows)
    again = denoising_splits(40, 6, 4, seed=5, n_val=3)
    for x, y in zip((a.train, a.val, a.test), (again.train, again.val, again.test), strict=True):
        np.testing.assert_array_equal(x.X, y.X)
    assert denoising_splits(40, 6, 4).val.X.shape[0] == 4  # n_val defaults to n_test
    with pytest.raises(ValueError, match="^n_val"):
        denoising_splits(40, 6, 4, n_val=0)


def test_depth_of_the_perona_malik_decrease_closed_form():
    """Phi = s/(1 + r^2), r = s/lam: peak lam/2 at lam, Phi(s_max) after it."""
    lam, s_max = 0.4, 2.0
    m = flux_monotonicity(FluxActivation("perona_malik", lam), s_max, n_points=4001)
    r = s_max / lam
    assert m.relative_drop == pytest.approx(1 - 2 * r / (1 + r**2), abs=1e-6)
    m3 = flux_monotonicity(FluxActivation("perona_malik", 1.0), 3.0)
    assert m3.relative_drop == pytest.approx(0.4, abs=1e-6)
    assert m3.data_fraction is None
    # responses above lam (a little, where Phi' < -1e-3) are diffused backwards
    samples = np.array([0.1, -0.2, 0.5, 0.9, 1.5, -2.0, 3.0])
    m = flux_monotonicity(FluxActivation("perona_malik", 1.0), 3.0, samples=samples)
    assert m.data_fraction == pytest.approx(3 / 7)
    for phi in (FluxActivation("charbonnier", 0.1), TrainableFlux(basis="hat", monotone=True)):
        m = flux_monotonicity(phi, 3.0, samples=samples)
        assert m.relative_drop == 0.0 and m.data_fraction == 0.0


def test_flux_report_uses_the_block_responses():
    torch.manual_seed(2)
    net = DiffusionNet(2, 3, 3, FluxActivation("perona_malik", 0.05), dtype=torch.float64)
    X = denoising_data(6, 40, seed=1).X
    report = flux_report(net, X)
    ranges = activation_ranges(net, X)
    u = torch.from_numpy(X)
    for k, (m, block) in enumerate(zip(report, net.blocks, strict=True)):
        s = torch.nn.functional.conv1d(u, block.filters()).detach().abs().numpy().ravel()
        assert m.s_max == pytest.approx(ranges[k])
        # Phi' < 0 exactly where |s| > lam (up to the -1e-3 threshold)
        r = s / 0.05
        expected = np.mean((1 - r**2) / (1 + r**2) ** 2 < -1e-3)
        assert m.data_fraction == pytest.approx(expected)
        u = block(u).detach()


def test_classical_baseline_is_tuned_on_validation_and_scored_once_on_test():
    val = denoising_data(6, 40, sigma=0.1, seed=4)
    test = denoising_data(6, 40, sigma=0.1, seed=9)
    lams = (0.05, 0.2)
    b = classical_baseline(val, "perona_malik", lams, max_steps=30, test=test)
    oracle = classical_baseline(val, "perona_malik", lams, max_steps=30)
    # the setting is the validation optimum, whatever the test data
    assert (b.lam, b.n_steps) == (oracle.lam, oracle.n_steps)
    assert b.val_rmse == pytest.approx(oracle.test_rmse, rel=1e-12)
    assert b.stopping_time == pytest.approx(0.25 * b.n_steps)
    u = pdecore.explicit_evolution(test.X[:, 0], 0.25, b.n_steps, "perona_malik", b.lam).u
    assert b.test_rmse == pytest.approx(np.sqrt(np.mean((u - test.y[:, 0]) ** 2)), rel=1e-12)
    err = (u - test.y[:, 0]) ** 2
    assert b.rmse_by_kind["linear"] == pytest.approx(np.sqrt(err[3:].mean()), rel=1e-12)
    # changing the test targets cannot change the chosen setting
    shifted = denoising.DenoisingData(test.X, test.y + 0.3, test.kind, test.sigma)
    c = classical_baseline(val, "perona_malik", lams, max_steps=30, test=shifted)
    assert (c.lam, c.n_steps) == (b.lam, b.n_steps) and c.test_rmse > b.test_rmse
    with pytest.raises(TypeError, match="^test"):
        classical_baseline(val, test="x")
    with pytest.raises(ValueError, match="^lams"):
        classical_baseline(val, lams=())


# --- the results contract: run() and numbers() -----------------------------------------


def test_configs_follow_the_contract():
    assert set(CONFIGS) >= {"quick", "default", "paper"}
    keys = set(CONFIGS["default"])
    assert all(set(c) == keys for c in CONFIGS.values())
    assert len(CONFIGS["default"]["seeds"]) >= 3 and len(CONFIGS["quick"]["seeds"]) >= 2
    assert "trainable_monotone" in CONFIGS["default"]["families"]
    with pytest.raises(ValueError, match="config"):
        denoising.run("nope")
    with pytest.raises(ValueError, match="unknown"):
        denoising.run("quick", epoch=3)


TINY_RUN = {"seeds": (0, 1, 2), "n": 32, "n_train": 24, "n_val": 8, "n_test": 8,
            "epochs": 3, "budget": 60, "depth": 2, "batch_size": 8, "max_time": 10.0,
            "families": FAMILIES}


@pytest.fixture(scope="module")
def tiny_result():
    with torch.random.fork_rng():
        return denoising.run("quick", **TINY_RUN)


def test_run_carries_its_inputs_and_pairs_the_seeds(tiny_result):
    res = tiny_result
    assert res.seeds == (0, 1, 2) and res.config["epochs"] == 3
    assert len(res.splits) == len(res.runs) == len(res.baselines) == 3
    for seed, split, rows in zip(res.seeds, res.splits, res.runs, strict=True):
        again = denoising_splits(32, 24, 8, seed, n_val=8)
        np.testing.assert_array_equal(split.test.X, again.test.X)
        assert [r.family for r in rows] == list(FAMILIES)
        # every family of a run saw the same validation data: val_loss after the last epoch
        for r in rows:
            assert r.val_rmse == pytest.approx(np.sqrt(r.history.val_loss[-1]), rel=1e-10)
    numbers = res.numbers()
    for key in ("nonmono_blocks", "all_blocks", "wins_mono", "n_runs", "rmse_trainable",
                "rmse_best_mono"):
        assert key in numbers
    assert all(isinstance(v, int | float | str) for v in numbers.values())
    assert all(np.isfinite(v) for v in numbers.values() if isinstance(v, float))
    assert numbers["n_runs"] == 3 and numbers["all_blocks"] == 3 * 2
    assert numbers["params_trainable"] == numbers["params_trainable_monotone"]


def test_numbers_follow_the_paired_rule_and_the_validation_split(tiny_result):
    res = tiny_result
    numbers = res.numbers()
    rmse = {f: [{r.family: r.test_rmse for r in run}[f] for run in res.runs] for f in FAMILIES}
    for f in FAMILIES[1:]:
        assert numbers[f"cmp_{f}"] == paired_comparison(rmse["trainable"], rmse[f])
    for c in res.classical:
        assert numbers[f"cmp_classical_{c.diffusivity}"] == paired_comparison(
            rmse["trainable"], c.rmse_runs)
    # the best monotone family is chosen on the validation split, never on the test split
    val = {f: np.mean([{r.family: r.val_rmse for r in run}[f] for run in res.runs])
           for f in MONOTONE}
    best = min(val, key=val.get)
    assert numbers["best_mono"] == best
    assert numbers["rmse_best_mono"] == pytest.approx(np.mean(rmse[best]))
    assert numbers["rmse_trainable"] == pytest.approx(np.mean(rmse["trainable"]))
    assert numbers["wins_mono"] == sum(
        rmse["trainable"][i] < min(rmse[f][i] for f in MONOTONE) for i in range(3))
    assert numbers["wins_mono_paired"] == sum(numbers[f"cmp_{f}"] == "better" for f in MONOTONE)
    # the monotone control is monotone by construction: verified on the trained networks
    assert numbers["mono_nonmono_blocks"] == 0 and numbers["mono_min_slope"] > 0
    assert numbers["diffusion_max"] <= 1 + 1e-12


def test_run_is_deterministic(tiny_result):
    with torch.random.fork_rng():
        again = denoising.run("quick", **{**TINY_RUN, "seeds": (0, 1, 2)})
    assert again.numbers() == tiny_result.numbers()


def _row(family, rmse, val, shapes=()):
    return DenoisingRow(family, 150, 4, rmse, {"constant": rmse, "linear": rmse}, None, None,
                        1.0, tuple(shapes), val_rmse=val)


def _shape(drop, fraction=0.05, data=0.01):
    return Monotonicity(1.0, -0.1 if drop else 0.1, fraction, 0.5 if drop else 1.0, drop, data)


def test_numbers_of_a_hand_made_result():
    """Known scores: the verdicts, the gap split and the depth words follow."""
    fams = ("trainable", "trainable_monotone", "charbonnier", "standard")
    runs = []
    for i, shift in enumerate((0.0, 0.001, -0.001)):
        runs.append((
            _row("trainable", 0.030 + shift, 0.031, [_shape(0.05), _shape(0.0, 0.0, 0.0)]),
            _row("trainable_monotone", 0.034 + shift + 0.0005 * i, 0.035,
                 [_shape(0.0, 0.0, 0.0)] * 2),
            _row("charbonnier", 0.040 + shift, 0.041, [_shape(0.0, 0.0, 0.0)] * 2),
            _row("standard", 0.030 + shift + 0.004 * (i - 1), 0.05),
        ))
    base = [(Baseline("perona_malik", 0.05, 40, 0.25, 0.020 + 0.0001 * i, 0.021,
                      {"constant": 0.02, "linear": 0.02}),) for i in range(3)]
    splits = tuple(denoising_splits(8, 2, 2, s) for s in range(3))  # read by noisy_rmse only
    res = DenoisingResult({**CONFIGS["quick"], "families": fams, "classical": ("perona_malik",)},
                          (0, 1, 2), splits, tuple(runs), tuple(base))
    n = res.numbers()
    assert n["cmp_trainable_monotone"] == "better"
    assert n["verdict_key"] == ("The learned nonmonotone flux beats the trainable monotone flux "
                                "by the win rule.")
    assert n["cmp_standard"] == "tie"  # mean difference 0 (and spread)
    assert n["verdict_standard"].startswith("Neither")
    assert n["best_mono"] == "trainable_monotone"  # lowest validation RMSE of the monotone ones
    assert n["best_fixed"] == "charbonnier" and n["wins_fixed"] == 1
    assert n["gap_total"] == pytest.approx(0.010) and n["gap_nonmono"] == pytest.approx(0.0045)
    assert "closes 0.0055 (55 %)" in n["verdict_share"]
    assert n["cmp_classical_perona_malik"] == "worse"
    assert n["classical_beats"] == 4 and "No network beats it" in n["verdict_classical"]
    assert "the learned nonmonotone flux among them" in n["verdict_classical"]
    # depth: 3 of 6 blocks nonmonotone, drops 0.05 and 0 alike: median 2.5 % -> "shallow"
    assert (n["nonmono_blocks"], n["all_blocks"]) == (3, 6)
    assert n["max_drop"] == pytest.approx(5.0) and n["median_drop"] == pytest.approx(2.5)
    assert n["drop_word"] == "shallow"
    assert n["verdict_shape"].startswith("Some learned fluxes")
    assert n["wins_mono"] == 3 and n["n_mono"] == 2


def test_verdict_helpers():
    assert denoising._drop_word(0.0) == "negligible"
    assert denoising._drop_word(0.05) == "shallow"
    assert denoising._drop_word(0.2) == "moderate"
    assert denoising._drop_word(0.4) == "deep"
    assert denoising._sentence("worse", "a", "b") == "B beats a by the win rule."
    assert "no gap" in denoising._share_sentence(-0.01, 0.0, "X")
    assert "closed entirely" in denoising._share_sentence(0.01, -0.002, "X")


def test_the_figures_show_the_means_and_the_curves(tiny_result):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pdecore import plotting

    res = tiny_result
    fig = plotting.plot_denoising_results(res.summary, res.classical)
    bars = [p.get_height() for p in fig.axes[0].patches][:len(res.summary)]
    np.testing.assert_allclose(bars, [s.rmse for s in res.summary])
    levels = [line.get_ydata()[0] for line in fig.axes[0].get_lines()
              if line.get_label().startswith("tuned")]
    np.testing.assert_allclose(levels, [c.rmse for c in res.classical])
    fig2 = plotting.plot_denoising_curves(res.runs)
    lines = fig2.axes[0].get_lines()
    assert len(lines) == len(FAMILIES)
    first = np.sqrt([[r.history.val_loss for r in run if r.family == "trainable"][0]
                     for run in res.runs]).mean(axis=0)
    np.testing.assert_allclose(lines[0].get_ydata(), first)
    plt.close("all")


# --- bit for bit: after other global seeds, and in a fresh interpreter ------------------


#: E6 (chapter 6) at a toy size: two families, two blocks, two epochs
DENOISING = {"families": ["trainable", "standard"], "budget": 60, "depth": 2, "n": 32,
             "n_train": 16, "n_test": 8, "epochs": 2, "seed": 3}


def _denoising_numbers(rows) -> dict:
    """Every number a chapter would show, as exact hex strings."""
    out = {}
    for r in rows:
        out[r.family] = {
            "test_rmse": float(r.test_rmse).hex(),
            "rmse_by_kind": {k: float(v).hex() for k, v in sorted(r.rmse_by_kind.items())},
            "norm_ratio": float(r.norm_ratio).hex(),
            "train_loss": [float(v).hex() for v in r.history.train_loss],
            "val_loss": [float(v).hex() for v in r.history.val_loss],
            "params": r.params,
        }
    return out


def _run_denoising(global_seed: int):
    torch.manual_seed(global_seed)
    np.random.seed(global_seed)
    return denoising.denoising_experiment(**DENOISING)


def test_denoising_experiment_is_bitwise_reproducible_in_one_process():
    first, second = _run_denoising(1), _run_denoising(12345)
    assert _denoising_numbers(first) == _denoising_numbers(second)
    for a, b in zip(first, second, strict=True):
        for (name, p), q in zip(a.model.state_dict().items(), b.model.state_dict().values(),
                                strict=True):
            assert torch.equal(p, q), name


def test_denoising_experiment_is_bitwise_reproducible_in_a_fresh_interpreter():
    script = textwrap.dedent(f"""
        import json, torch
        torch.set_num_threads(1)
        from pdecore.experiments import denoising
        import tests.experiments.test_denoising as t
        rows = denoising.denoising_experiment(**{DENOISING!r})
        print(json.dumps(t._denoising_numbers(rows)))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=True, cwd=Path(__file__).parents[2])
    fresh = json.loads(out.stdout.strip().splitlines()[-1])
    assert fresh == _denoising_numbers(_run_denoising(0))
