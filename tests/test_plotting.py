"""pdecore.plotting on the Agg backend: every public helper draws what it says it draws.

The inputs are the experiments' own results at toy sizes (run once per module) or small
hand-made arrays; each test checks the number of panels and artists, labels and legend
entries, and that the drawn data are the input (or a closed form of it), and every
figure is closed. :func:`test_every_public_helper_has_a_case` fails when a public name of
:mod:`pdecore.plotting` has no test here.
"""

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgba
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

import pdecore
from pdecore import plotting
from pdecore.data import CLASS_NAMES
from pdecore.experiments import (
    acceleration,
    classification,
    denoising,
    implicit,
    multigrid_convergence,
    multigrid_learning,
    skip_connections,
    stability,
)
from pdecore.families import get_family
from pdecore.train import History

matplotlib.use("Agg")  # draw off-screen; switches the backend even if pyplot is loaded
import matplotlib.pyplot as plt  # noqa: E402

#: Public names of pdecore.plotting that a test below draws (filled by ``covers``).
COVERED: set[str] = set()


def covers(*names):
    """Register the plotting helpers that the decorated test exercises."""
    def mark(test):
        COVERED.update(names)
        return test
    return mark


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _labels(ax):
    """Texts of the legend entries of ``ax``."""
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def _line(ax, label):
    """The one line of ``ax`` with this legend label."""
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == label]
    return line


def _x(line):
    return np.asarray(line.get_xdata(), dtype=float)


def _y(line):
    return np.asarray(line.get_ydata(), dtype=float)


def _bars(ax):
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def _assert_drawn_finite(fig):
    """Every line holds data, none of it infinite (NaN marks gaps on purpose)."""
    for ax in fig.axes:
        for line in ax.get_lines():
            y = _y(line)
            assert y.size and not np.isinf(y).any(), line.get_label()


# --- the toy runs of the experiments (each once per module) --------------------------


@pytest.fixture(scope="module")
def sweep():
    return stability.run("quick", activations=("perona_malik", "linear"),
                         factors=(0.3, 1.0, 2.0), n_networks=2, depth=6, channels=2, n=16,
                         batch=3)


@pytest.fixture(scope="module")
def study():
    return acceleration.run("quick", times=(10.0,), levels=(1.0, 0.1), timing_repeats=1,
                            max_work=16)


@pytest.fixture(scope="module")
def e3():
    return implicit.run("quick", taus=(0.05, 0.1, 2.0), accuracies=(1.0, 0.1), repeats=1,
                        repeat_below_s=0.0, local_samples=2, sweep_taus=(0.1, 0.5),
                        jacobi_taus=(0.1, 5.0), ivp_rtol=1e-9, m2_taus=(0.02, 0.05, 1.0))


@pytest.fixture(scope="module")
def e4():
    """A hand-made E4 result (sizing tiny U-nets to their budgets alone takes 25 s or more).

    Every variant at budget 300 on three seeds, the multigrid and the standard U-net also
    at 600; errors fall with the budget and rise along the ablation chain.
    """
    seeds, epochs = (0, 1, 2), 3
    rows = []
    for budget in (300, 600):
        variants = list(multigrid_learning.VARIANTS) if budget == 300 else ["multigrid",
                                                                           "standard"]
        for i, variant in enumerate(variants):
            for seed in seeds:
                rmse = (1 + i) * 1e-3 * (300 / budget) * (1 + 0.1 * seed)
                history = History(
                    val_loss=[(rmse * (epochs - e + 1)) ** 2 for e in range(epochs)])
                rows.append(multigrid_learning.LearningRow(
                    variant, budget, seed, budget - 7 * i, 4, 50 * budget, rmse, 1.1 * rmse,
                    (2 + i) * 1e-6, 1e-2, history))
    vcycle = np.array([[0.2 * 0.1**k * (1 + 0.1 * s) for k in range(4)] for s in seeds])
    timings = {"dptsv": 2e-6, "mg1": 6e-6, "vcycle": [0.0, 5e-6, 9e-6, 13e-6]}
    config = {**multigrid_learning.CONFIGS["quick"], "budgets": (300, 600),
              "ablation_budget": 300}
    return multigrid_learning.LearningResult(config, seeds, (), tuple(rows), "rbgs", {},
                                             vcycle, timings, {}, {})


E6_FAMILIES = ("trainable", "trainable_monotone", "charbonnier", "perona_malik", "standard")


@pytest.fixture(scope="module")
def e6():
    with torch.random.fork_rng():
        return denoising.run("quick", seeds=(0, 1), n=32, n_train=16, n_val=8, n_test=8,
                             epochs=2, budget=60, depth=2, batch_size=8, max_time=4.0,
                             families=E6_FAMILIES, classical=("linear", "perona_malik"))


@pytest.fixture(scope="module")
def e5():
    rng = np.random.default_rng(0)
    y = np.arange(32) % 2
    X = 0.3 * rng.random((32, 1, 8, 8), dtype=np.float32)
    X[y == 1, :, :, :4] += 0.6  # the classes differ by the brightness of the left half
    data = classification.ImageData("toy", X, y, X[:16], y[:16])
    with torch.random.fork_rng():
        return classification.run("quick", data=data, widths=(2, 3), blocks=(1,), epochs=2)


@pytest.fixture(scope="module")
def e7():
    with torch.random.fork_rng():
        return skip_connections.run("quick", n=32, n_train=8, n_val=4, n_test=4, epochs=3,
                                    budget=40, depth=2)


# --- the guard and the style -----------------------------------------------------------


def test_every_public_helper_has_a_case():
    public = {n for n in plotting.__all__ if callable(getattr(plotting, n))}
    assert public - COVERED == set(), "public plotting helpers without a test"
    assert COVERED - public == set(), "tests name helpers that are not public"


@covers("use_style")
def test_use_style_applies_the_style():
    with matplotlib.rc_context():
        plotting.use_style()
        for key, value in plotting.STYLE.items():
            assert matplotlib.rcParams[key] == (list(value) if isinstance(value, tuple)
                                                else value), key
    assert plotting.STYLE["axes.grid"] is True


# --- chapter 1: diffusion ---------------------------------------------------------------


@covers("plot_fluxes")
def test_fluxes_in_units_of_lambda_with_the_backward_part_bold():
    names = ["linear", "perona_malik", "charbonnier"]
    fig = plotting.plot_fluxes(names, lam=2.0, s_max=3.0)
    ax_g, ax_phi = fig.axes
    assert _labels(ax_g) == names and _labels(ax_phi) == [*names, r"sector bound $s$"]
    assert len(ax_g.get_lines()) == 3 and len(ax_phi.get_lines()) == 2 * 3 + 1
    assert ax_g.get_ylabel() == r"$g(s^2)$" and ax_phi.get_ylabel() == r"$\Phi(s) / \lambda$"
    np.testing.assert_allclose(_y(_line(ax_g, "linear")), 1.0)
    pm = _line(ax_phi, "perona_malik")
    s, phi = _x(pm), _y(pm)
    assert s[-1] == pytest.approx(3.0)
    assert phi.max() == pytest.approx(0.5, rel=1e-5)  # Phi(lam)/lam = 1/2 at s = lam
    assert s[np.argmax(phi)] == pytest.approx(1.0, abs=0.01)
    lines = ax_phi.get_lines()
    bold = {name: _y(lines[2 * i + 1]) for i, name in enumerate(names)}
    assert np.isnan(bold["linear"]).all()  # linear diffusion never goes backward
    assert s[~np.isnan(bold["perona_malik"])].min() > 1.0  # PM does beyond s = lam
    _assert_drawn_finite(fig)


def _evolution(n_steps=30):
    f = pdecore.piecewise_constant(64, seed=0)
    states = [f]
    for _ in range(n_steps):
        states.append(pdecore.explicit_step(states[-1], 0.25, "perona_malik", 0.1))
    return np.arange(f.size), f, np.array(states)


@covers("plot_evolution")
def test_evolution_draws_each_state_over_the_reference():
    x, f, states = _evolution()
    picks = [0, 10, 30]
    fig = plotting.plot_evolution(x, states[picks], [0.0, 2.5, 7.5], reference=f)
    (ax,) = fig.axes
    assert _labels(ax) == ["noise-free", "t = 0", "t = 2.5", "t = 7.5"]
    for pick, line in zip(picks, ax.get_lines()[1:], strict=True):
        np.testing.assert_array_equal(_y(line), states[pick])
    assert ax.get_xlabel() == "pixel position $x$"


@covers("plot_monitors")
def test_monitors_one_panel_per_quantity():
    x, f, states = _evolution()
    t = 0.25 * np.arange(len(states))
    monitors = {"mean (grey values)": states.mean(axis=1), "max - min": np.ptp(states, axis=1)}
    fig = plotting.plot_monitors(t, monitors)
    assert [ax.get_title() for ax in fig.axes] == list(monitors)
    for ax, values in zip(fig.axes, monitors.values(), strict=True):
        np.testing.assert_array_equal(_x(ax.get_lines()[0]), t)
        np.testing.assert_array_equal(_y(ax.get_lines()[0]), values)
    # the explicit scheme conserves the mean and shrinks the range
    mean = _y(fig.axes[0].get_lines()[0])
    np.testing.assert_allclose(mean, mean[0], rtol=1e-12)
    assert np.all(np.diff(_y(fig.axes[1].get_lines()[0])) <= 1e-12)


@covers("plot_orders")
def test_orders_side_by_side_with_the_range_of_f():
    x, f, states = _evolution()
    fig = plotting.plot_orders(x, f, {"second order": states[10], "later": states[30]})
    assert [ax.get_title() for ax in fig.axes] == ["second order", "later"]
    for ax in fig.axes:
        lines = ax.get_lines()
        assert len(lines) == 4  # initial, evolved, min and max of f
        levels = sorted(_y(ln)[0] for ln in lines[2:])
        assert levels == [f.min(), f.max()]
    assert _labels(fig.axes[0]) == ["initial", "evolved"]
    assert fig.axes[0].get_ylabel() == "grey value $u$"


# --- chapter 2: residual networks -------------------------------------------------------


@covers("draw_residual_blocks")
def test_residual_block_diagram():
    fig = plotting.draw_residual_blocks()
    assert [ax.get_title() for ax in fig.axes] == ["standard block", "symmetric block"]
    for ax in fig.axes:
        boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
        arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
        assert len(boxes) == 4 and len(arrows) == 6  # 5 along the path, 1 skip
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert "one shared weight $W$" in texts


@covers("plot_norm_trajectories")
def test_norm_trajectories_one_panel_per_flux(sweep):
    trajectories = sweep.trajectories
    fig = plotting.plot_norm_trajectories(trajectories)
    names = list(dict.fromkeys(r.activation for r in trajectories))
    assert [ax.get_title() for ax in fig.axes] == names
    for ax, name in zip(fig.axes, names, strict=True):
        mine = [r for r in trajectories if r.activation == name]
        lines = ax.get_lines()[:len(mine)]
        for r, line in zip(mine, lines, strict=True):
            np.testing.assert_array_equal(_y(line), r.ratios.max(axis=1))
            assert line.get_color() == ("C0" if r.kind == "symmetric" else "C1")
    assert len(_labels(fig.axes[-1])) == len([r for r in trajectories
                                               if r.activation == names[-1]])
    _assert_drawn_finite(fig)


@covers("plot_growth_sweep")
def test_growth_sweep_shows_the_fraction_and_the_median(sweep):
    fig = plotting.plot_growth_sweep(sweep)
    ax1, ax2 = fig.axes
    assert _labels(ax1) == ["symmetric blocks", "standard blocks"]
    for kind in ("symmetric", "standard"):
        line = _line(ax1, f"{kind} blocks")
        np.testing.assert_array_equal(_x(line), sweep.factors)
        np.testing.assert_allclose(_y(line), 100 * sweep.fraction_growing(kind))
        np.testing.assert_allclose(_y(_line(ax2, f"{kind}: median")),
                                   sweep.median_max_ratio(kind))
    # below and at the bound no symmetric network grows
    sym = _y(_line(ax1, "symmetric blocks"))
    assert np.all(sym[np.asarray(sweep.factors) <= 1.0] == 0)
    assert ax1.get_ylabel() == "networks that grow (%)"


@covers("plot_amplification")
def test_amplification_against_the_closed_form():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((12, 8))
    eig = np.linalg.eigvalsh(W.T @ W)
    tau_max = 2.0 / eig[-1]
    factors = np.linspace(0.25, 2.0, 8)
    measured = np.array([np.linalg.norm(np.eye(8) - c * tau_max * W.T @ W, 2)
                         for c in factors])
    theory = np.maximum(1.0, 2 * factors - 1)  # once tau * lambda_min is negligible
    fig = plotting.plot_amplification(factors, measured, theory)
    (ax,) = fig.axes
    assert len(_labels(ax)) == 3 and ax.get_xlabel() == r"step size $\tau / \tau_{\max}$"
    dots = _line(ax, r"measured $\|I - \tau W^\top W\|_2$")
    np.testing.assert_array_equal(_y(dots), measured)
    above = factors > 1
    np.testing.assert_allclose(_y(dots)[above], theory[above], rtol=1e-12)


# --- chapter 3: FED and FSI ---------------------------------------------------------------


@covers("plot_schedules")
def test_schedules_are_the_fed_steps_and_fsi_weights():
    n, tau_max = 6, 0.5
    fig = plotting.plot_schedules(n, tau_max)
    ax1, ax2 = fig.axes
    fed = [b.get_height() for b in _bars(ax1)]
    assert len(fed) == len(_bars(ax2)) == n
    np.testing.assert_allclose(fed, pdecore.fed_step_sizes(n, tau_max))
    # one FED cycle makes the diffusion time tau_max (n^2 + n) / 3
    assert sum(fed) == pytest.approx(tau_max * (n * n + n) / 3)
    np.testing.assert_allclose([b.get_height() for b in _bars(ax2)], pdecore.fsi_weights(n))
    assert ax1.get_title() == f"FED, n = {n}" and ax1.get_yscale() == "log"


@covers("plot_perturbation_growth")
def test_perturbation_growth_per_scheme(study):
    fig = plotting.plot_perturbation_growth(study.growth)
    (ax,) = fig.axes
    assert _labels(ax) == list(study.growth)
    for name, values in study.growth.items():
        np.testing.assert_array_equal(_y(_line(ax, name)), values)
    _assert_drawn_finite(fig)


@covers("plot_error_vs_steps")
def test_error_against_work_per_stopping_time(study):
    fig = plotting.plot_error_vs_steps(study.points, diffusivity="linear", levels=(1.0, 0.1),
                                       title="linear diffusion")
    times = sorted({p.T for p in study.points if p.diffusivity == "linear"})
    assert [ax.get_title() for ax in fig.axes] == [f"T = {T:g}" for T in times]
    assert fig.get_suptitle() == "linear diffusion"
    ax = fig.axes[0]
    explicit = sorted((p for p in study.points if p.diffusivity == "linear"
                       and p.scheme == "explicit" and not p.refined and p.T == times[0]
                       and np.isfinite(p.rmse)), key=lambda p: (p.steps, p.param))
    np.testing.assert_allclose(_y(_line(ax, "explicit")), [p.rmse for p in explicit])
    assert "explicit at the edge" in _labels(fig.axes[-1])
    with pytest.raises(ValueError, match="weickert"):
        plotting.plot_error_vs_steps(study.points, diffusivity="weickert")


@covers("plot_speedups")
def test_speedups_one_panel_per_diffusivity(study):
    fig = plotting.plot_speedups(study.speedups, time=True)
    diffs = list(dict.fromkeys(sp.diffusivity for sp in study.speedups))
    assert [ax.get_title() for ax in fig.axes] == [d.replace("_", "-") for d in diffs]
    for ax, d in zip(fig.axes, diffs, strict=True):
        times = sorted({sp.T for sp in study.speedups if sp.diffusivity == d})
        labels = [f"T = {T:g}" for T in times] + [f"T = {T:g} (time)" for T in times]
        assert sorted(ln.get_label() for ln in ax.get_lines()[:-1]) == sorted(labels)
        assert ax.xaxis_inverted()
    fig = plotting.plot_speedups(study.speedups)  # work only
    assert not any("(time)" in ln.get_label() for ax in fig.axes for ln in ax.get_lines())
    with pytest.raises(ValueError, match="empty"):
        plotting.plot_speedups([])


# --- chapter 4: implicit schemes and recurrent networks ---------------------------------


@covers("draw_fed_fsi_networks")
def test_fed_fsi_diagram_one_row_per_scheme():
    fig = plotting.draw_fed_fsi_networks(5)
    fed, fsi = fig.axes
    for ax in (fed, fsi):
        assert len([p for p in ax.patches if isinstance(p, FancyBboxPatch)]) == 5
    fed_texts = [t.get_text() for t in fed.texts]
    fsi_texts = [t.get_text() for t in fsi.texts]
    assert "$-\\tau_{4}\\,W^\\top\\Phi(W\\,\\cdot)$" in fed_texts  # FED: a step size per block
    assert all("\\tau_{" not in t for t in fsi_texts)  # FSI: one step size
    # FSI's extra skips from two layers back: steps - 1 of them, with their weights
    assert [t for t in fsi_texts if t.startswith("$1-")] == [f"$1-\\alpha_{{{k}}}$"
                                                             for k in range(1, 5)]
    with pytest.raises(ValueError, match="steps"):
        plotting.draw_fed_fsi_networks(1)


@covers("draw_unrolled_rnn")
def test_unrolled_rnn_diagram():
    fig = plotting.draw_unrolled_rnn(4)
    (ax,) = fig.axes
    assert len([p for p in ax.patches if isinstance(p, FancyBboxPatch)]) == 4
    texts = [t.get_text() for t in ax.texts]
    assert "$v^4$" in texts and "shared weights, iteration 4" in texts


@covers("plot_scheme_comparison")
def test_scheme_comparison_one_panel_per_model(e3):
    fig = plotting.plot_scheme_comparison(e3.runs)
    assert [ax.get_title() for ax in fig.axes] == list(e3.runs)
    for ax, runs in zip(fig.axes, e3.runs.values(), strict=True):
        schemes = list(dict.fromkeys(r.scheme for r in runs))
        assert [ln.get_label() for ln in ax.get_lines()] == schemes
        for line, scheme in zip(ax.get_lines(), schemes, strict=True):
            sel = [r for r in runs if r.scheme == scheme]
            np.testing.assert_array_equal(_x(line), [r.tau for r in sel])
            shown = _y(line)  # NaN: diverged or unconverged, left out
            ok = [r.converged and np.isfinite(r.rmse) for r in sel]
            np.testing.assert_array_equal(np.isfinite(shown), ok)
    first = next(iter(e3.runs.values()))
    assert _labels(fig.axes[0]) == list(dict.fromkeys(r.scheme for r in first))


@covers("plot_accuracy_cost")
def test_accuracy_and_cost_per_model(e3):
    fig = plotting.plot_accuracy_cost(e3)
    models = list(e3.runs)
    assert len(fig.axes) == 2 * len(models)
    top = fig.axes[:len(models)]  # row-major: the first row is RMSE against tau
    assert [ax.get_title() for ax in top] == [m.replace("_", "-") for m in models]
    assert _labels(top[0]) == [*implicit.SCHEMES.values(), "slope 1"]
    semi = _line(top[0], implicit.SCHEMES["semi"])
    ok = sorted((r for r in e3.runs[models[0]] if r.scheme == "semi" and r.ok
                 and r.norm_ratio <= 1 + 1e-9), key=lambda r: r.tau)
    np.testing.assert_allclose(_y(semi), [r.rmse for r in ok])
    assert top[0].get_xscale() == "log" and top[0].get_yscale() == "log"
    # fourth order: only the schemes that ran, the explicit line left at the m = 2 limit
    fig2 = plotting.plot_accuracy_cost(e3, order=2)
    top2 = fig2.axes[:len(models)]
    assert _labels(top2[0]) == [implicit.SCHEMES["explicit"], implicit.SCHEMES["semi"],
                                "slope 1"]
    explicit = _line(top2[0], implicit.SCHEMES["explicit"])
    assert max(_x(explicit)) <= e3.m2_tau_explicit
    assert any(x == e3.m2_tau_explicit for line in top2[0].get_lines() for x in _x(line))


@covers("plot_fixed_point")
def test_fixed_point_updates_per_tau(e3):
    fig = plotting.plot_fixed_point(e3.sweep)
    (ax,) = fig.axes
    assert len(ax.get_lines()) == len(e3.sweep)
    for row, line in zip(e3.sweep, ax.get_lines(), strict=True):
        np.testing.assert_array_equal(_y(line), row["updates"])
        assert line.get_label().startswith(rf"$\tau$ = {row['tau']:g}")


# --- chapter 5: multigrid and U-nets --------------------------------------------------------


@covers("draw_vcycle_unet")
def test_vcycle_unet_diagram():
    fig = plotting.draw_vcycle_unet(levels=3)
    assert [ax.get_title() for ax in fig.axes] == ["V-cycle (multigrid)", "U-net"]
    for ax in fig.axes:
        assert len([p for p in ax.patches if isinstance(p, FancyBboxPatch)]) == 2 * 3 + 1


@covers("plot_convergence_factors")
def test_convergence_factors_per_variant_and_contrast():
    conv = multigrid_convergence.run("quick", sizes=(64, 128), lams=(0.05, 0.1),
                                     equivalence_n=80)
    fig = plotting.plot_convergence_factors(conv.rows)
    (ax,) = fig.axes
    variants = list(dict.fromkeys((r["interpolation"], r["smoother"]) for r in conv.rows))
    assert len(ax.get_lines()) == 2 * len(variants) + 1
    interp, smoother = variants[0]
    line = _line(ax, f"{interp} / {smoother}, $\\lambda$ = 0.05")
    sel = sorted((r for r in conv.rows if r["lam"] == 0.05 and r["interpolation"] == interp
                  and r["smoother"] == smoother), key=lambda r: r["n"])
    np.testing.assert_allclose(_y(line), [max(r["factor"], 1e-16) for r in sel])
    assert 0 < np.max(_y(line)) < 1  # the cycles converge
    assert "target 0.2" in _labels(ax)


@covers("plot_unet_comparison")
def test_unet_comparison(e4):
    fig = plotting.plot_unet_comparison(e4)
    ax1, ax2, ax3 = fig.axes
    assert [ax.get_title() for ax in fig.axes] == ["error against size", "error against time",
                                                   "training curves"]
    assert _labels(ax1) == ["multigrid U-net", "standard U-net"]
    for container, variant in zip(ax1.containers, ("multigrid", "standard"), strict=True):
        line = container[0]  # errorbar: (data line, caps, bars)
        np.testing.assert_allclose(_y(line), [e4.scores(variant, b).mean()
                                                      for b in e4.budgets])
        np.testing.assert_array_equal(_x(line), [e4.select(variant, b)[0].params
                                                         for b in e4.budgets])
    vcycles = _line(ax2, "V-cycles, linear / rbgs")
    np.testing.assert_allclose(_x(vcycles), [5, 9, 13])  # microseconds
    np.testing.assert_allclose(_y(vcycles), e4.vcycle_test.mean(axis=0)[1:])
    assert _x(_line(ax2, "exact: dptsv"))[0] == pytest.approx(2.0)
    curves = ax3.get_lines()
    assert len(curves) == 2 * len(e4.budgets)
    rows = e4.select("multigrid", 300)
    np.testing.assert_allclose(_y(curves[0]), np.sqrt(
        np.array([r.history.val_loss for r in rows])).mean(axis=0))
    _assert_drawn_finite(fig)


@covers("plot_unet_ablation")
def test_unet_ablation_one_bar_per_variant(e4):
    fig = plotting.plot_unet_ablation(e4)
    (ax,) = fig.axes
    names = list(multigrid_learning.VARIANTS)
    bars = _bars(ax)
    assert len(bars) == len(names)
    widths = [b.get_width() for b in sorted(bars, key=lambda b: -b.get_y())]
    np.testing.assert_allclose(widths, [e4.scores(v, 300).mean() for v in names])
    dots = [ln for ln in ax.get_lines() if ln.get_marker() == "."]  # one per seed
    np.testing.assert_allclose(np.concatenate([_x(ln) for ln in dots]),
                               np.concatenate([e4.scores(v, 300) for v in names]))
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert [t.rsplit(" (", 1)[0] for t in ticks] == [multigrid_learning.LABELS[v]
                                                      for v in names]


# --- chapter 6: learned activations ---------------------------------------------------------


@covers("plot_denoising_results")
def test_denoising_results_bars_labels_and_colours_from_the_registry(e6):
    summary, classical = e6.summary, e6.classical
    fig = plotting.plot_denoising_results(summary, classical)
    ax1, ax2 = fig.axes
    bars = _bars(ax1)[:len(summary)]
    np.testing.assert_allclose([b.get_height() for b in bars], [s.rmse for s in summary])
    shown = [get_family(s.family) for s in summary]
    assert [t.get_text() for t in ax1.get_xticklabels()] == [f.label for f in shown]
    assert [b.get_facecolor()[:3] for b in bars] == [to_rgba(f.colour)[:3] for f in shown]
    labels = [f"tuned {get_family(c.diffusivity).label} diffusion" for c in classical]
    assert _labels(ax1) == labels == ["tuned linear diffusion", "tuned Perona-Malik diffusion"]
    for c, label in zip(classical, labels, strict=True):
        line = _line(ax1, label)
        assert _y(line)[0] == pytest.approx(c.rmse)
        assert line.get_color() == get_family(c.diffusivity).colour
    np.testing.assert_allclose([b.get_height() for b in _bars(ax2)],
                               [s.norm_ratio for s in summary])
    fig = plotting.plot_denoising_results(summary)  # without baselines: no legend on the left
    assert fig.axes[0].get_legend() is None


@covers("plot_denoising_curves")
def test_denoising_curves_mean_over_seeds(e6):
    fig = plotting.plot_denoising_curves(e6.runs)
    (ax,) = fig.axes
    assert _labels(ax) == [get_family(f).label for f in E6_FAMILIES]
    for family, line in zip(E6_FAMILIES, ax.get_lines(), strict=True):
        curves = np.sqrt([[r.history.val_loss for r in run if r.family == family][0]
                          for run in e6.runs])
        np.testing.assert_allclose(_y(line), curves.mean(axis=0))
        assert line.get_color() == get_family(family).colour
    fig = plotting.plot_denoising_curves(e6.runs, families=["standard"])
    assert _labels(fig.axes[0]) == ["standard"]


@covers("plot_learned_fluxes")
def test_learned_fluxes_one_curve_per_block(e6):
    net = e6.rows("trainable").model
    test = e6.splits[0].test
    ranges = denoising.activation_ranges(net, test.X)
    fig = plotting.plot_learned_fluxes(net, ranges, reference_lam=0.5)
    ax_phi, ax_g = fig.axes
    blocks = [f"block {k + 1}" for k in range(len(ranges))]
    assert _labels(ax_phi) == [*blocks, r"Perona-Malik, $\lambda$ = 0.5"]
    for k, r in enumerate(ranges):  # solid part: exactly the block's active range
        assert _x(_line(ax_phi, blocks[k])).max() <= r
    g = np.concatenate([_y(ln) for ln in ax_g.get_lines()])
    assert np.all((g >= 0) & (g <= 1 + 1e-12))  # the sector 0 <= Phi(s)/s <= L = 1
    assert ax_g.get_ylim() == (0, 1.05)
    _assert_drawn_finite(fig)


@covers("plot_denoising_examples")
def test_denoising_examples_draw_each_network_output(e6):
    test = e6.splits[0].test
    nets = {get_family(f).label: e6.rows(f).model for f in ("trainable", "standard")}
    fig = plotting.plot_denoising_examples(test, nets, [0, 3])
    assert len(fig.axes) == 2
    assert fig.axes[1].get_title() == f"test signal 3 (piecewise {test.kind[3]})"
    assert _labels(fig.axes[0]) == ["noisy input", "clean signal", "learned flux", "standard"]
    ax = fig.axes[1]
    np.testing.assert_array_equal(_y(_line(ax, "clean signal")), test.y[3, 0])
    net = nets["standard"]
    with torch.no_grad():
        out = net(torch.as_tensor(test.X[3:4], dtype=next(net.parameters()).dtype))
    np.testing.assert_allclose(_y(_line(ax, "standard")), out[0, 0].numpy())


# --- chapter 7: image classification ----------------------------------------------------------


@covers("plot_image_samples")
def test_image_samples_with_class_names():
    rng = np.random.default_rng(0)
    images, labels = rng.random((6, 1, 8, 8)), np.array([0, 1, 2, 3, 9, 5])
    fig = plotting.plot_image_samples(images, labels, "fashion_mnist", ncols=4)
    assert len(fig.axes) == 8  # two rows of four, the last two empty
    shown = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in shown] == [CLASS_NAMES["fashion_mnist"][i] for i in labels]
    np.testing.assert_array_equal(shown[0].images[0].get_array(), images[0, 0])
    colour = plotting.plot_image_samples(rng.random((2, 3, 4, 4)), [1, 2], "nope", ncols=2)
    assert [ax.get_title() for ax in colour.axes] == ["1", "2"]  # no names: the label
    assert colour.axes[0].images[0].get_array().shape == (4, 4, 3)


@covers("plot_classification")
def test_classification_accuracy_curves_and_robustness(e5):
    rows = e5.rows
    fig = plotting.plot_classification(rows)
    ax1, ax2, ax3 = fig.axes
    families = list(dict.fromkeys(r.family for r in rows))
    assert _labels(ax1) == [get_family(f).label for f in families]
    assert _labels(ax1)[0] == "standard"  # the label chapter 7's glued texts use
    std = [r for r in rows if r.family == "standard"]
    widths = sorted({r.width for r in std})
    means = [100 * np.mean([r.test_accuracy for r in std if r.width == w]) for w in widths]
    data_line = ax1.containers[0][0]  # errorbar: (data line, caps, bars)
    np.testing.assert_allclose(_y(data_line), means)
    assert len(ax2.get_lines()) == len(families)  # first seed at the largest width
    assert ax3.get_title() == f"robustness (width {max(widths)})"
    _assert_drawn_finite(fig)


@covers("plot_learning_curves")
def test_learning_curves_one_panel_per_budget(e5):
    rows = e5.rows
    fig = plotting.plot_learning_curves(rows)
    widths = sorted({r.width for r in rows})
    assert [ax.get_title() for ax in fig.axes] == [f"budget of width {w}" for w in widths]
    families = list(dict.fromkeys(r.family for r in rows))
    assert _labels(fig.axes[-1]) == [get_family(f).label for f in families]
    curves = [r.history.val_accuracy for r in rows
              if r.width == widths[0] and r.family == families[1]]
    np.testing.assert_allclose(_y(fig.axes[0].get_lines()[1]),
                               100 * np.mean(curves, axis=0))


@covers("plot_block_gains")
def test_block_gains_per_family(e5):
    gains = {get_family(f).label: g for f, g in e5.gains.items()}
    fig = plotting.plot_block_gains(gains)
    ax1, ax2 = fig.axes
    assert _labels(ax1) == list(gains)
    for label, (ratio, gain) in gains.items():
        np.testing.assert_array_equal(_y(_line(ax1, label)), ratio)
        np.testing.assert_array_equal(_y(_line(ax2, label)), gain)
        assert np.all(np.asarray(gain) > 0)
    assert ax2.get_title() == "perturbation gain"


@covers("plot_skip_connections")
def test_skip_connections_dots_per_seed_and_mean_curves(e7):
    fig = plotting.plot_skip_connections(e7)
    left, right = fig.axes
    variants = list(e7.config["variants"])
    dots = [line for line in left.lines if line.get_marker() == "o"]
    assert len(dots) == len(variants)
    for i, (line, v) in enumerate(zip(dots, variants, strict=True)):
        np.testing.assert_array_equal(_x(line), [i] * len(e7.seeds))
        np.testing.assert_allclose(_y(line), e7.scores(v))
    for v in variants:  # the curve is the seed mean of the validation RMSE per epoch
        curve = _line(right, skip_connections.LABELS[v])
        expected = np.mean([np.sqrt(r.history.val_loss) for r in e7.of(v)], axis=0)
        np.testing.assert_allclose(_y(curve), expected)
        np.testing.assert_array_equal(_x(curve), [1, 2, 3])
