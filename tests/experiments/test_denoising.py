import numpy as np
import pytest
import torch

import pdecore
from pdecore.experiments.denoising import (
    FAMILIES,
    FamilySummary,
    Monotonicity,
    activation_ranges,
    classical_baseline,
    denoising_data,
    denoising_experiment,
    flux_monotonicity,
    markdown_table,
    norm_check,
    psnr,
    summarize,
    verdict,
    wins,
)
from pdecore.nets import DiffusionNet, FluxActivation, SectorReLU, StandardNet, TrainableFlux


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
    test = denoising_data(16, 48, seed=1000)
    noisy = np.sqrt(np.mean((test.X - test.y) ** 2))
    assert rows[0].test_rmse < 0.9 * noisy


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
    assert all(line.count("|") == 11 for line in table)
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
    s = FamilySummary("trainable", 150, 4, 0.1, (0.1,), 0.2, 0.05, 0.9999, 3, 5)
    row = markdown_table([s]).splitlines()[2]
    assert "| 0.1000 | 20.00 |" in row and "| 3 of 5 |" in row and "learned" in row


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
