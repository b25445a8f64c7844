"""Figure helpers so that chapter cells stay 2-4 lines, all in one style.

Every helper returns the matplotlib ``Figure`` (myst-nb renders it; ``glue`` can store
it) and labels its axes with quantities and units. Network families are named (and in
chapter 6 coloured) as :data:`pdecore.families.FAMILIES` says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ._validation import as_int
from .diffusivities import diffusivity, flux, flux_derivative
from .families import get_family

__all__ = [
    "STYLE",
    "draw_fed_fsi_networks",
    "draw_residual_blocks",
    "draw_unrolled_rnn",
    "draw_vcycle_unet",
    "plot_accuracy_cost",
    "plot_amplification",
    "plot_block_gains",
    "plot_classification",
    "plot_convergence_factors",
    "plot_denoising_curves",
    "plot_denoising_examples",
    "plot_denoising_results",
    "plot_error_vs_steps",
    "plot_evolution",
    "plot_fixed_point",
    "plot_fluxes",
    "plot_growth_sweep",
    "plot_image_samples",
    "plot_learned_fluxes",
    "plot_learning_curves",
    "plot_monitors",
    "plot_norm_trajectories",
    "plot_orders",
    "plot_perturbation_growth",
    "plot_schedules",
    "plot_skip_connections",
    "plot_scheme_comparison",
    "plot_speedups",
    "plot_unet_ablation",
    "plot_unet_comparison",
    "use_style",
]

#: rcParams shared by every figure of the book.
STYLE = {
    "figure.figsize": (8.0, 3.2),
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "axes.titlesize": 10,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "lines.linewidth": 1.5,
}


def use_style() -> None:
    """Apply :data:`STYLE` to matplotlib's global rcParams."""
    import matplotlib as mpl

    mpl.rcParams.update(STYLE)


def plot_fluxes(names: Sequence[str], lam: float = 1.0, s_max: float = 4.0):
    r"""Plot diffusivities :math:`g(s^2)` and fluxes :math:`\Phi(s)` side by side.

    Where :math:`\Phi'(s) < 0` (backward diffusion) the flux curve is drawn bold and the
    interval is shaded.

    Parameters
    ----------
    names : sequence of str
        Diffusivity names.
    lam : float
        Contrast parameter; the axes are in units of :math:`\lambda`.
    s_max : float
        Right end of the :math:`s/\lambda` axis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    s = np.linspace(0.0, s_max * lam, 801)
    fig, (ax_g, ax_phi) = plt.subplots(1, 2, figsize=(9.0, 3.4))
    for i, name in enumerate(names):
        color = f"C{i}"
        ax_g.plot(s / lam, diffusivity(name, s * s, lam), color=color, label=name)
        phi, dphi = flux(name, s, lam), flux_derivative(name, s, lam)
        ax_phi.plot(s / lam, phi / lam, color=color, label=name)
        back = np.where(dphi < 0, phi / lam, np.nan)
        ax_phi.plot(s / lam, back, color=color, linewidth=3.5, alpha=0.6)
    ax_g.set(xlabel=r"$|s| / \lambda$", ylabel=r"$g(s^2)$", title="diffusivity")
    ax_phi.set(
        xlabel=r"$s / \lambda$",
        ylabel=r"$\Phi(s) / \lambda$",
        title=r"flux (bold: $\Phi' < 0$, backward diffusion)",
    )
    ax_phi.plot(s / lam, s / lam, color="0.6", linestyle=":", label=r"sector bound $s$")
    ax_phi.set_ylim(0, 1.05)
    ax_g.legend()
    ax_phi.legend(loc="upper right")
    fig.tight_layout()
    return fig


def plot_evolution(
    x: np.ndarray,
    states: np.ndarray,
    times: Sequence[float],
    *,
    reference: np.ndarray | None = None,
    xlabel: str = "pixel position $x$",
    ylabel: str = "grey value $u$",
):
    """Plot a few states of an evolution over each other, darker for later times.

    Parameters
    ----------
    x : (N,) ndarray
        Grid.
    states : (K, N) ndarray
        States to draw.
    times : sequence of float
        Diffusion time of each state, for the legend.
    reference : (N,) ndarray, optional
        Drawn as a thin grey line (e.g. the noise-free signal).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    if reference is not None:
        ax.plot(x, reference, color="0.55", linewidth=0.8, label="noise-free")
    cmap = plt.get_cmap("viridis")
    for j, (u, t) in enumerate(zip(states, times, strict=False)):
        ax.plot(x, u, color=cmap(j / max(len(times) - 1, 1)), linewidth=1.0, label=f"t = {t:g}")
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.legend(ncol=min(len(times) + 1, 6), loc="upper center", bbox_to_anchor=(0.5, 1.18))
    fig.tight_layout()
    return fig


def plot_monitors(
    t: np.ndarray, monitors: Mapping[str, np.ndarray], *, xlabel: str = "diffusion time $t$"
):
    """Plot several monitored quantities against time, one small panel each.

    Parameters
    ----------
    t : (K,) ndarray
        Times.
    monitors : mapping of str to (K,) ndarray
        Panel title (with units) to values.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(monitors), figsize=(2.6 * len(monitors), 2.8))
    for ax, (title, values) in zip(np.atleast_1d(axes), monitors.items(), strict=False):
        ax.plot(t, values)
        ax.set(xlabel=xlabel, title=title)
        ax.ticklabel_format(axis="y", useOffset=False)
    fig.tight_layout()
    return fig



def plot_orders(
    x: np.ndarray,
    f: np.ndarray,
    results: Mapping[str, np.ndarray],
    *,
    xlabel: str = "pixel position $x$",
    ylabel: str = "grey value $u$",
):
    """Plot final states next to each other with the range of ``f`` as dashed lines.

    Parameters
    ----------
    x : (N,) ndarray
        Grid.
    f : (N,) ndarray
        Initial signal (drawn thin, grey); its min and max are drawn dashed.
    results : mapping of str to (N,) ndarray
        Panel title to final state.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), sharey=True, figsize=(4.5 * len(results), 3.0))
    for ax, (title, u) in zip(np.atleast_1d(axes), results.items(), strict=False):
        ax.plot(x, f, color="0.6", linewidth=0.8, label="initial")
        ax.plot(x, u, color="C0", label="evolved")
        for level in (f.min(), f.max()):
            ax.axhline(level, color="C3", linestyle="--", linewidth=0.8)
        ax.set(xlabel=xlabel, title=title)
    np.atleast_1d(axes)[0].set_ylabel(ylabel)
    np.atleast_1d(axes)[0].legend(loc="best")
    fig.tight_layout()
    return fig


def draw_residual_blocks():
    r"""Draw the standard and the symmetric residual block side by side (a diagram).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.6))
    rows = {
        "standard block": [
            ("$W_1$\nconv1d", "C0"), (r"$\sigma_1 = \Phi$", "C2"),
            ("$W_2$\nconv_transpose1d", "C1"), ("$+$", "0.85"),
        ],
        "symmetric block": [
            ("$W$\nconv1d", "C0"), (r"$\sigma = \Phi$", "C2"),
            (r"$-\tau W^\top$" "\nconv_transpose1d", "C0"), ("$+$", "0.85"),
        ],
    }
    for ax, (title, boxes) in zip(axes, rows.items(), strict=True):
        ax.set_xlim(0, 10)
        ax.set_ylim(-0.5, 3.2)
        ax.axis("off")
        ax.set_title(title)
        xs = [1.9, 4.0, 6.3, 8.6]
        for (label, color), x in zip(boxes, xs, strict=True):
            ax.add_patch(FancyBboxPatch((x - 0.85, 1.0), 1.7, 1.0, boxstyle="round,pad=0.05",
                                        facecolor=color, alpha=0.35, edgecolor="0.2"))
            ax.text(x, 1.5, label, ha="center", va="center", fontsize=7.5)
        ax.text(0.1, 1.5, "$u$", fontsize=12, va="center")
        ax.text(9.6, 1.5, "$u^+$", fontsize=12, va="center")
        for a, b in [(0.4, xs[0] - 0.9), *[(xs[i] + 0.9, xs[i + 1] - 0.9) for i in range(3)],
                     (xs[3] + 0.9, 9.55)]:
            ax.add_patch(FancyArrowPatch((a, 1.5), (b, 1.5), arrowstyle="-|>", mutation_scale=10))
        ax.add_patch(FancyArrowPatch((0.5, 1.7), (xs[3], 2.15), connectionstyle="arc3,rad=-0.35",
                                     arrowstyle="-|>", mutation_scale=10, color="C3"))
        ax.text(4.8, 2.95, "skip connection = time step", ha="center", color="C3", fontsize=9)
        if title.startswith("symmetric"):
            ax.text(5.15, 0.35, "one shared weight $W$", ha="center", color="C0", fontsize=9)
        else:
            ax.text(5.15, 0.35, "two independent weights", ha="center", color="C1", fontsize=9)
    fig.tight_layout()
    return fig


def plot_norm_trajectories(results, *, ncols: int = 5):
    r"""Plot :math:`\|u^k\|/\|u^0\|` against depth, one panel per activation.

    Parameters
    ----------
    results : list of pdecore.experiments.stability.StabilityResult
        Symmetric runs are drawn in blue, standard runs in orange; the line style
        distinguishes the step-size factors. Each line is the worst signal of the batch.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r.activation for r in results))
    factors = sorted({r.tau_factor for r in results})
    styles = ["-", "--", ":", "-."]
    fig, axes = plt.subplots(1, len(names), figsize=(2.3 * len(names), 3.0), sharey=True)
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        for r in (r for r in results if r.activation == name):
            color = "C0" if r.kind == "symmetric" else "C1"
            style = styles[factors.index(r.tau_factor) % len(styles)]
            ax.semilogy(r.ratios.max(axis=1), color=color, linestyle=style,
                        label=f"{r.kind}, $\\tau$ = {r.tau_factor:g} x bound")
        ax.axhline(1.0, color="0.4", linewidth=0.8)
        ax.set(title=name, xlabel="block $k$")
    np.atleast_1d(axes)[0].set_ylabel(r"$\max \|u^k\|_2 / \|u^0\|_2$")
    np.atleast_1d(axes)[-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def plot_growth_sweep(sweep):
    r"""E1 against the weight scale: fraction of networks that grow, and how much.

    Parameters
    ----------
    sweep : pdecore.experiments.stability.StabilitySweep
        Left: fraction of networks (all fluxes and seeds) whose largest ratio
        :math:`\max_{k \ge 1}\|u^k\|/\|u^0\|` exceeds :math:`1 + 10^{-9}`; right: the
        median of that ratio with its quartiles over networks. Symmetric blocks in blue,
        standard blocks in orange; the dashed line is the bound (scale 1).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    c = np.asarray(sweep.factors)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8.0, 3.2))
    for kind, color, marker in (("symmetric", "C0", "o"), ("standard", "C1", "s")):
        ratios = sweep.max_ratio[sweep.kinds.index(kind)]  # (fluxes, scales, seeds)
        ax1.semilogx(c, 100 * sweep.fraction_growing(kind), marker=marker, color=color,
                     label=f"{kind} blocks")
        ax2.loglog(c, sweep.median_max_ratio(kind), marker=marker, color=color,
                   label=f"{kind}: median")
        lo, hi = np.percentile(ratios, [25, 75], axis=(0, 2))
        ax2.fill_between(c, lo, hi, color=color, alpha=0.2, linewidth=0,
                         label=f"{kind}: quartiles")
    for ax in (ax1, ax2):
        ax.axvline(1.0, color="C3", linestyle="--", linewidth=0.8)
        ax.set_xlabel(r"weight scale $c = \tau L\|W\|_2^2/2$ (1 = bound)")
    ax1.set(ylabel="networks that grow (%)", ylim=(-5, 105))
    ax2.axhline(1.0, color="0.4", linewidth=0.8)
    ax2.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax2.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
    ax2.yaxis.set_minor_formatter(ticker.NullFormatter())
    ax2.set_ylabel(r"$\max_{k\geq 1} \|u^k\|_2/\|u^0\|_2$")
    ax1.legend(loc="center right")
    ax2.legend(loc="upper left")
    fig.tight_layout()
    return fig


def plot_amplification(factors: np.ndarray, measured: np.ndarray, theory: np.ndarray):
    r"""Plot the worst-case one-block amplification against :math:`\tau/\tau_{\max}`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.0, 3.0))
    ax.plot(factors, theory, color="0.5", linewidth=3, alpha=0.5,
            label=r"$\max(1, 2\tau/\tau_{\max} - 1)$")
    ax.plot(factors, measured, "o", color="C0", markersize=4,
            label=r"measured $\|I - \tau W^\top W\|_2$")
    ax.axvline(1.0, color="C3", linestyle="--", linewidth=0.8, label=r"bound $\tau_{\max}$")
    ax.set(xlabel=r"step size $\tau / \tau_{\max}$", ylabel="amplification per block")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_schedules(n: int, tau_max: float = 0.5):
    r"""Plot FED step sizes :math:`\tau_i` and FSI weights :math:`\alpha_k` of one cycle.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from .fed import fed_step_sizes
    from .fsi import fsi_weights

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.0, 3.0))
    ax1.bar(np.arange(n), fed_step_sizes(n, tau_max), color="C0")
    ax1.axhline(tau_max, color="C3", linestyle="--", label=r"stability limit $\tau_{\max}$")
    ax1.set(yscale="log", xlabel="step $i$ in the cycle", ylabel=r"step size $\tau_i$",
            title=f"FED, n = {n}")
    ax1.legend()
    ax2.bar(np.arange(n), fsi_weights(n), color="C1")
    ax2.axhline(1.0, color="0.4", linewidth=0.8)
    ax2.set(xlabel="step $k$ in the cycle", ylabel=r"weight $\alpha_k$",
            title=r"FSI: $u^{k+1} = \alpha_k\,\mathrm{block}(u^k) + (1-\alpha_k)\,u^{k-1}$")
    fig.tight_layout()
    return fig


def plot_perturbation_growth(growth: Mapping[str, np.ndarray]):
    """Plot the worst-case growth of a perturbation made at step k until the cycle's end.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.0))
    for i, (name, values) in enumerate(growth.items()):
        ax.semilogy(np.arange(values.size), values, "o-", markersize=3, color=f"C{i}", label=name)
    ax.axhline(1.0, color="0.4", linewidth=0.8)
    ax.set(xlabel="step $k$ at which $u^k$ is perturbed",
           ylabel="worst-case growth until cycle end")
    ax.legend()
    fig.tight_layout()
    return fig


_SCHEME_STYLES = {"explicit": ("k", "*", "-"), "FED": ("C0", "o", "-"),
                  "FSI": ("C1", "x", ":"), "FED-step": ("C2", "s", "--"),
                  "FSI-step": ("C3", "^", "-.")}


def plot_error_vs_steps(points, *, diffusivity: str, levels: Sequence[float] = (),
                        title: str = "", y_max: float = 1e3):
    """Plot RMSE against explicit steps (work) per scheme, one panel per stopping time.

    Parameters
    ----------
    points : list of pdecore.experiments.acceleration.WorkPoint
        The runs of E2; the grid runs are drawn as curves (FED/FSI only with cycle
        length >= 2: with length 1 they are explicit runs), the first explicit run
        (the edge of stability) as a star.
    diffusivity : str
        Which diffusivity's runs to draw.
    levels : sequence of float
        Accuracy levels, drawn as dotted horizontal lines.
    title : str
        Figure title.
    y_max : float
        Upper end of the error axis; larger errors (runs destroyed by rounding) are
        cut off.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    pts = [p for p in points if p.diffusivity == diffusivity and not p.refined
           and (p.scheme == "explicit" or p.cycle_length > 1) and np.isfinite(p.rmse)]
    times = sorted({p.T for p in pts})
    if not times:
        raise ValueError(f"points hold no runs of diffusivity {diffusivity!r}")
    fig, axes = plt.subplots(1, len(times), figsize=(3.2 * len(times) + 1.0, 3.3),
                             squeeze=False, sharey=True)
    for ax, T in zip(axes[0], times, strict=True):
        for scheme, (color, marker, style) in _SCHEME_STYLES.items():
            sel = sorted((p for p in pts if p.T == T and p.scheme == scheme),
                         key=lambda p: (p.steps, p.param))
            if not sel:
                continue
            ax.loglog([p.steps for p in sel], [p.rmse for p in sel], marker=marker,
                      linestyle=style, color=color, markersize=3, linewidth=1.0,
                      label=scheme)
            if scheme == "explicit":
                ax.loglog([sel[0].steps], [sel[0].rmse], "*", color="C3", markersize=11,
                          markeredgecolor="k", label="explicit at the edge")
        for lv in levels:
            ax.axhline(lv, color="0.5", linestyle=":", linewidth=0.8)
        ax.set(xlabel="explicit steps (work)", title=f"T = {T:g}")
    if axes[0, 0].get_ylim()[1] > y_max:
        axes[0, 0].set_ylim(top=y_max)  # FED's rounding blow-ups would squash the rest
    axes[0, 0].set_ylabel("RMSE vs. reference (grey values)")
    axes[0, -1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_speedups(speedups, *, time: bool = False):
    """Plot the speed-up at equal accuracy against the accuracy level, per diffusivity.

    For each stopping time and level the best accelerated scheme's speed-up (explicit
    work of the cheapest explicit run over that of the cheapest accelerated run) is
    drawn; levels that no accelerated scheme reached are left out.

    Parameters
    ----------
    speedups : list of pdecore.experiments.acceleration.Speedup
    time : bool
        Also draw the measured-time speed-ups (open markers, dashed).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    diffs = list(dict.fromkeys(sp.diffusivity for sp in speedups))
    if not diffs:
        raise ValueError("speedups is empty")
    fig, axes = plt.subplots(1, len(diffs), figsize=(3.6 * len(diffs) + 1.2, 3.2),
                             squeeze=False, sharey=True)
    for ax, d in zip(axes[0], diffs, strict=True):
        rows = [sp for sp in speedups if sp.diffusivity == d]
        for j, T in enumerate(sorted({sp.T for sp in rows})):
            levels = sorted({sp.level for sp in rows if sp.T == T}, reverse=True)
            for kind, style, fill in (("speedup", "-o", None), ("speedup_time", "--o", "none")):
                if kind == "speedup_time" and not time:
                    continue
                xs, ys = [], []
                for lv in levels:
                    vals = [getattr(sp, kind) for sp in rows if sp.T == T and sp.level == lv]
                    vals = [v for v in vals if np.isfinite(v)]
                    if vals:
                        xs.append(lv)
                        ys.append(max(vals))
                label = f"T = {T:g}" + (" (time)" if kind == "speedup_time" else "")
                ax.plot(xs, ys, style, color=f"C{j}", markersize=4, label=label,
                        markerfacecolor=fill)
        ax.axhline(1.0, color="0.3", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.invert_xaxis()
        ax.set(xlabel="accuracy level (RMSE, grey values)", title=d.replace("_", "-"))
    axes[0, 0].set_ylabel("speed-up over the best explicit run")
    axes[0, -1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def draw_fed_fsi_networks(steps: int = 4):
    r"""Draw one FED cycle and one FSI cycle as networks (a diagram).

    Top, FED: a ResNet of ``steps`` blocks :math:`u \mapsto u - \tau_k W^\top\Phi(Wu)`
    sharing :math:`W`, with the varying step sizes :math:`\tau_k` of the FED cycle and
    identity skip connections. Bottom, FSI: the same block with one step size
    :math:`\tau`; the output of step :math:`k` is weighted by :math:`\alpha_k` and an
    extra skip connection from two layers back adds :math:`(1-\alpha_k)\,u^{k-1}`
    (:math:`u^{-1} = u^0` at the start of a cycle).

    Parameters
    ----------
    steps : int
        Blocks per cycle drawn, ``>= 2``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    steps = as_int(steps, "steps", minimum=2)
    dx = 2.6
    fig, axes = plt.subplots(2, 1, figsize=(9.0, 5.0))
    rows = [("FED cycle: varying step sizes $\\tau_k$, identity skips", "fed"),
            ("FSI cycle: one step size $\\tau$, extrapolating skips (momentum)", "fsi")]

    def arrow(ax, a, b, color="0.2", rad=0.0):
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=10, color=color,
                                     connectionstyle=f"arc3,rad={rad}"))

    for ax, (title, kind) in zip(axes, rows, strict=True):
        ax.set_xlim(-0.6, dx * steps + 0.6)
        ax.set_ylim(-1.25, 2.2)
        ax.axis("off")
        ax.set_title(title, fontsize=10)
        for k in range(steps + 1):
            ax.text(dx * k, 0.3, f"$u^{{{k}}}$", ha="center", va="center", fontsize=11)
        for k in range(steps):
            x = dx * k + dx / 2
            tau = f"\\tau_{{{k}}}" if kind == "fed" else "\\tau"
            ax.add_patch(FancyBboxPatch((x - 0.8, 0.0), 1.6, 0.6, boxstyle="round,pad=0.05",
                                        facecolor="C0", alpha=0.3, edgecolor="0.2"))
            ax.text(x, 0.3, f"$-{tau}\\,W^\\top\\Phi(W\\,\\cdot)$", ha="center", va="center",
                    fontsize=7.5)
            arrow(ax, (dx * k + 0.3, 0.3), (x - 0.85, 0.3))
            arrow(ax, (x + 0.85, 0.3), (dx * (k + 1) - 0.35, 0.3))
            arrow(ax, (dx * k + 0.1, 0.55), (dx * (k + 1) - 0.1, 0.55), color="C3", rad=-0.45)
            if kind == "fsi":
                ax.text(x + 1.0, 0.05, f"$\\times\\alpha_{{{k}}}$", ha="center", va="top",
                        fontsize=8)
                if k >= 1:
                    arrow(ax, (dx * (k - 1), 0.0), (dx * (k + 1) - 0.05, 0.0), color="C4",
                          rad=0.2)
                    ax.text(dx * k, -0.7, f"$1-\\alpha_{{{k}}}$", ha="center", va="center",
                            color="C4", fontsize=8, backgroundcolor="white")
        ax.text(dx * steps / 2, 1.75, "identity skip connection (the time step)",
                ha="center", color="C3", fontsize=8)
        note = ("$W$ shared by all blocks; most $\\tau_k$ exceed the explicit limit"
                if kind == "fed" else
                "skip from two layers back, weighted $1-\\alpha_k < 0$; $u^{-1} = u^0$")
        ax.text(dx * steps / 2, -1.1, note, ha="center", fontsize=8,
                color="C0" if kind == "fed" else "C4")
    fig.tight_layout()
    return fig


def draw_unrolled_rnn(iterations: int = 3):
    r"""Draw the fixed-point iteration as an unrolled recurrent network.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, ax = plt.subplots(figsize=(9.0, 2.8))
    ax.set_xlim(-0.5, 2.6 * iterations + 1.2)
    ax.set_ylim(-0.2, 3.0)
    ax.axis("off")
    ax.text(-0.4, 2.4, "$u^k$", fontsize=12, va="center")
    ax.plot([0.1, 2.6 * iterations + 0.2], [2.4, 2.4], color="C3", linewidth=1.2)
    for j in range(iterations):
        x = 1.0 + 2.6 * j
        ax.add_patch(FancyBboxPatch((x - 0.75, 0.6), 1.5, 0.9, boxstyle="round,pad=0.05",
                                    facecolor="C0", alpha=0.3, edgecolor="0.2"))
        ax.text(x, 1.05, r"$-\tau W^\top\Phi(W\,\cdot)$", ha="center", va="center", fontsize=8)
        ax.add_patch(FancyArrowPatch((x + 0.8, 1.05), (x + 1.45, 1.05), arrowstyle="-|>",
                                     mutation_scale=10))
        ax.text(x + 1.6, 1.05, "$+$", ha="center", va="center", fontsize=12)
        ax.add_patch(FancyArrowPatch((x + 1.6, 2.4), (x + 1.6, 1.25), arrowstyle="-|>",
                                     mutation_scale=10, color="C3"))
        ax.text(x, 0.25, f"shared weights, iteration {j + 1}", ha="center", fontsize=7)
        ax.add_patch(FancyArrowPatch((x - 1.2, 1.05), (x - 0.8, 1.05), arrowstyle="-|>",
                                     mutation_scale=10))
    ax.text(-0.4, 1.05, "$v^0$", fontsize=12, va="center")
    ax.text(2.6 * iterations + 0.5, 1.05, f"$v^{iterations}$", fontsize=12, va="center")
    ax.text(1.3 * iterations, 2.7, "input injected at every iteration (skip connection)",
            ha="center", color="C3", fontsize=9)
    fig.tight_layout()
    return fig


def plot_skip_connections(result):
    r"""Plot E7: test RMSE per skip connection (left) and validation curves (right).

    Parameters
    ----------
    result : pdecore.experiments.skip_connections.SkipResult
        Left, one dot per seed and the mean with its standard deviation; right, the
        validation RMSE after every epoch, averaged over the seeds.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from .experiments.skip_connections import LABELS

    variants = list(result.config["variants"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, 3.4))
    for i, v in enumerate(variants):
        scores = result.scores(v)
        left.plot(np.full(scores.size, i), scores, "o", color=f"C{i}", alpha=0.6,
                  markersize=5)
        sd = scores.std(ddof=1) if scores.size > 1 else 0.0
        left.errorbar(i + 0.15, scores.mean(), yerr=sd, fmt="_", color="0.2", capsize=4,
                      markersize=12)
        curves = np.array([np.sqrt(r.history.val_loss) for r in result.of(v)])
        right.plot(np.arange(1, curves.shape[1] + 1), curves.mean(axis=0), color=f"C{i}",
                   label=LABELS[v])
    left.set_xticks(range(len(variants)), [LABELS[v].split(" (")[0] for v in variants],
                    fontsize=8)
    left.set(ylabel="test RMSE", title="per seed (dots), mean ± sd (bars)")
    right.set(xlabel="epoch", ylabel="validation RMSE", yscale="log",
              title="training, mean over seeds")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_scheme_comparison(runs_by_model: Mapping[str, list]):
    """Plot RMSE against the step size for each scheme of E3, one panel per model.

    Diverged runs and unconverged fixed-point runs are omitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs_by_model), figsize=(4.6 * len(runs_by_model), 3.3),
                             sharey=True)
    for ax, (model, runs) in zip(np.atleast_1d(axes), runs_by_model.items(), strict=True):
        for i, scheme in enumerate(dict.fromkeys(r.scheme for r in runs)):
            sel = [r for r in runs if r.scheme == scheme]
            err = [r.rmse if r.converged and np.isfinite(r.rmse) else np.nan for r in sel]
            ax.loglog([r.tau for r in sel], err, "o-", color=f"C{i}", markersize=4,
                      label=scheme)
        ax.set(xlabel=r"step size $\tau$", title=model)
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
    np.atleast_1d(axes)[0].set_ylabel("RMSE vs. fine reference")
    np.atleast_1d(axes)[0].legend()
    fig.tight_layout()
    return fig


def plot_accuracy_cost(result, order=1):
    r"""Plot E3: RMSE against the step size (top) and against CPU time (bottom), per model.

    Parameters
    ----------
    result : pdecore.experiments.implicit.ImplicitResult
        Runs whose norm grew (the explicit scheme beyond its limit) and unconverged
        fixed-point or Newton runs are omitted; points are joined in the order of the step
        size. Dotted vertical line: the explicit limit :math:`2/\|D_m\|^2`; dashed grey
        line: slope 1 (first order); dotted horizontal lines: the accuracy levels.
    order : {1, 2}
        Derivative order :math:`m` of the runs shown (2: the fourth-order comparison).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from .experiments.implicit import SCHEMES

    all_runs = result.runs_of(order)
    limit = result.tau_explicit if order == 1 else result.m2_tau_explicit
    models = list(all_runs)
    fig, axes = plt.subplots(2, len(models), figsize=(4.8 * len(models), 6.2), squeeze=False)
    style = {"explicit": ("o", "-", 4), "semi": ("s", "-", 4), "fixpoint": ("D", "none", 6),
             "newton": ("x", "--", 5)}
    for j, model in enumerate(models):
        runs = all_runs[model]
        top, bottom = axes[0, j], axes[1, j]
        for i, (scheme, label) in enumerate(SCHEMES.items()):
            sel = sorted((r for r in runs if r.scheme == scheme and r.ok
                          and r.norm_ratio <= 1 + 1e-9), key=lambda r: r.tau)
            if not sel:  # a scheme not run for this order
                continue
            marker, line, size = style[scheme]
            kw = dict(marker=marker, linestyle=line, color=f"C{i}", markersize=size,
                      label=label, markerfacecolor="none" if scheme == "fixpoint" else None)
            top.loglog([r.tau for r in sel], [r.rmse for r in sel], **kw)
            bottom.loglog([r.seconds for r in sel], [r.rmse for r in sel], **kw)
        taus = np.array(sorted({r.tau for r in runs}))
        first = min((r for r in runs if r.scheme == "explicit" and r.ok), key=lambda r: r.tau)
        top.loglog(taus, first.rmse * taus / first.tau, color="0.6", linestyle="--",
                   linewidth=1, label="slope 1")
        top.axvline(limit, color="0.3", linestyle=":", linewidth=1)
        top.set(xlabel=r"step size $\tau$", title=model.replace("_", "-"))
        bottom.set(xlabel="CPU time of the run to T (s)")
        for level in result.config["accuracies"]:
            bottom.axhline(level, color="0.5", linestyle=":", linewidth=0.8)
        top.xaxis.set_minor_formatter(plt.NullFormatter())
    axes[0, 0].set_ylabel("RMSE vs. converged reference")
    axes[1, 0].set_ylabel("RMSE vs. converged reference")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_fixed_point(sweep):
    """Plot the relative update norms of the fixed-point iteration for several tau.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 3.3))
    for i, row in enumerate(sweep):
        ax.semilogy(row["updates"], color=plt.get_cmap("viridis")(i / max(len(sweep) - 1, 1)),
                    label=rf"$\tau$ = {row['tau']:g}, q = {row['contraction']:.2f}")
    ax.set(xlabel="iteration $l$", ylabel=r"$\|v^{l+1}-v^l\| / \|v^1 - v^0\|$")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def draw_vcycle_unet(levels: int = 3):
    """Draw a multigrid V-cycle and a U-net side by side, matching parts in one colour.

    Smoothing / convolution blocks blue, restriction / strided convolution orange,
    prolongation / transposed convolution green, coarse-grid correction / long skip
    connection red, coarsest solve / bottleneck purple.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    colors = {"smooth": "C0", "down": "C1", "up": "C2", "skip": "C3", "coarse": "C4"}
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 4.0))

    def box(ax, x, y, text, color, w=1.5):
        ax.add_patch(FancyBboxPatch((x - w / 2, y - 0.28), w, 0.56, boxstyle="round,pad=0.04",
                                    facecolor=color, alpha=0.35, edgecolor="0.3"))
        ax.text(x, y, text, ha="center", va="center", fontsize=7.5)

    def arrow(ax, a, b, color, **kw):
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=9, color=color, **kw))

    labels = {
        "V-cycle (multigrid)": ("smooth", "restrict $R$", "prolong $P$", "+ correction",
                                "exact solve"),
        "U-net": ("conv block", "strided conv", "transposed conv", "+ skip (added)",
                  "bottleneck"),
    }
    for ax, (title, (sm, dn, up, sk, co)) in zip(axes, labels.items(), strict=True):
        ax.set_xlim(0, 10)
        ax.set_ylim(-0.8, levels + 0.3)
        ax.axis("off")
        ax.set_title(title)
        for lev in range(levels):
            y = levels - lev - 0.3
            xl, xr = 1.2 + 1.1 * lev, 8.8 - 1.1 * lev
            box(ax, xl, y, sm, colors["smooth"])
            box(ax, xr, y, sm, colors["smooth"])
            arrow(ax, (xl + 0.8, y), (xr - 1.1, y), colors["skip"], linestyle="--")
            ax.text((xl + xr) / 2, y + 0.12, sk, ha="center", fontsize=7, color=colors["skip"])
            yb = y - 1.0
            nxl, nxr = xl + 1.1, xr - 1.1
            if lev < levels - 1:
                arrow(ax, (xl, y - 0.3), (nxl, yb + 0.3), colors["down"])
                arrow(ax, (nxr, yb + 0.3), (xr, y - 0.3), colors["up"])
            else:
                box(ax, 5.0, yb, co, colors["coarse"], w=2.0)
                arrow(ax, (xl, y - 0.3), (4.0, yb + 0.1), colors["down"])
                arrow(ax, (6.0, yb + 0.1), (xr, y - 0.3), colors["up"])
        ax.text(1.0, -0.6, dn, color=colors["down"], fontsize=8)
        ax.text(7.2, -0.6, up, color=colors["up"], fontsize=8)
    fig.tight_layout()
    return fig


def plot_convergence_factors(rows):
    """Plot multigrid convergence factors against N, one line per variant and contrast.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    variants = list(dict.fromkeys((r["interpolation"], r["smoother"]) for r in rows))
    lams = sorted({r["lam"] for r in rows})
    styles = ["-", "--", ":"]
    for i, (interp, smoother) in enumerate(variants):
        for j, lam in enumerate(lams):
            sel = sorted((r for r in rows if r["lam"] == lam
                          and (r["interpolation"], r["smoother"]) == (interp, smoother)),
                         key=lambda r: r["n"])
            ax.loglog([r["n"] for r in sel], [max(r["factor"], 1e-16) for r in sel], "o",
                      linestyle=styles[j % 3], color=f"C{i}", markersize=4,
                      label=f"{interp} / {smoother}, $\\lambda$ = {lam:g}")
    ax.axhline(0.2, color="0.4", linewidth=0.8, linestyle="-.", label="target 0.2")
    ax.set(xlabel="grid size $N$", ylabel="residual reduction per V(2,2) cycle")
    ax.legend(fontsize=6.5, ncol=2, loc="lower left", bbox_to_anchor=(0.0, 1.0))
    fig.tight_layout()
    return fig


def plot_unet_comparison(result):
    """Plot E4: error against parameters and against wall time, and the training curves.

    Left, test RMSE against trainable parameters for the multigrid and the standard U-net
    (mean over seeds, error bars one standard deviation), with the classical V-cycles'
    errors as dotted lines. Middle, the same errors against the measured wall time per
    solve, next to the classical V-cycles (1, 2, ... cycles) and the exact solvers
    (vertical lines: their error is rounding). Right, validation RMSE per epoch (mean
    over seeds, band min-max).

    Parameters
    ----------
    result : pdecore.experiments.multigrid_learning.LearningResult

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    import matplotlib.ticker as mticker

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(11.0, 3.5))
    summary = {(s["variant"], s["budget"]): s for s in result.summary()}
    vc = result.vcycle_test.mean(axis=0)
    t_vc = 1e6 * np.asarray(result.timings["vcycle"])
    for i, variant in enumerate(("multigrid", "standard")):
        sel = [summary[(variant, b)] for b in result.budgets]
        rmse = [s["rmse"] for s in sel]
        err = [s["rmse_std"] for s in sel]
        ax1.errorbar([s["params"] for s in sel], rmse, yerr=err, fmt="o-", color=f"C{i}",
                     capsize=3, label=f"{variant} U-net")
        ax2.errorbar([s["us_per_solve"] for s in sel], rmse, yerr=err, fmt="o", color=f"C{i}",
                     capsize=3, label=f"{variant} U-net (batch)")
        for j, b in enumerate(result.budgets):
            rows = result.select(variant, b)
            curves = np.sqrt(np.array([r.history.val_loss for r in rows]))
            epochs = np.arange(1, curves.shape[1] + 1)
            alpha = 0.35 + 0.65 * (j + 1) / len(result.budgets)
            ax3.semilogy(epochs, curves.mean(axis=0), color=f"C{i}", alpha=alpha,
                         label=f"{variant}, {summary[(variant, b)]['params']} params")
            ax3.fill_between(epochs, curves.min(axis=0), curves.max(axis=0), color=f"C{i}",
                             alpha=0.12 * alpha, linewidth=0)
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    for k in range(1, min(4, len(vc))):
        ax1.axhline(vc[k], color="0.5", linestyle=":", linewidth=0.8)
        ax1.text(0.99, vc[k], f"{k} V-cycle{'s' if k > 1 else ''} ", fontsize=7, ha="right",
                 va="bottom", color="0.4", transform=ax1.get_yaxis_transform())
    ks = np.arange(1, len(vc))
    ax2.loglog(t_vc[1:], vc[1:], "s:", color="0.4", markersize=3,
               label=f"V-cycles, linear / {result.vcycle_smoother}")
    for k in ks[:3]:
        ax2.annotate(str(k), (t_vc[k], vc[k]), fontsize=6.5, color="0.3",
                     textcoords="offset points", xytext=(3, 2))
    for t, name, style in ((result.timings["dptsv"], "exact: dptsv", "-"),
                           (result.timings["mg1"], "exact: one cycle, operator / rbgs", "--")):
        ax2.axvline(1e6 * t, color="C2" if style == "-" else "C3", linestyle=style,
                    linewidth=1.0, label=name)
    ax2.xaxis.set_minor_formatter(mticker.NullFormatter())  # decades only: no overlaps
    ax1.xaxis.set_minor_formatter(mticker.NullFormatter())
    ax1.set_xticks(result.budgets, [f"{b:g}" for b in result.budgets])
    ax1.set(xlabel="trainable parameters", ylabel="test RMSE", title="error against size")
    ax2.set(xlabel="wall time per solve (µs)", ylabel="test RMSE",
            title="error against time")
    ax3.set(xlabel="epoch", ylabel="validation RMSE", title="training curves")
    ax1.legend(fontsize=7)
    ax2.legend(fontsize=6.5)
    ax3.legend(fontsize=6)
    fig.tight_layout()
    return fig


def plot_unet_ablation(result):
    """Plot the E4 ablation: test RMSE of each step from the multigrid to the standard U-net.

    Bars are the mean over seeds, error bars one standard deviation, dots the seeds.

    Parameters
    ----------
    result : pdecore.experiments.multigrid_learning.LearningResult

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from .experiments.multigrid_learning import LABELS, VARIANTS

    budget = int(result.config["ablation_budget"])
    names = list(VARIANTS)
    scores = [result.scores(v, budget) for v in names]
    fig, ax = plt.subplots(figsize=(7.5, 2.9))
    y = np.arange(len(names))[::-1]
    colors = ["C0"] + ["0.6"] * (len(names) - 2) + ["C1"]
    ax.barh(y, [s.mean() for s in scores], xerr=[s.std(ddof=1) if s.size > 1 else 0.0
                                                  for s in scores],
            color=colors, alpha=0.6, capsize=3)
    for yi, s in zip(y, scores, strict=True):
        ax.plot(s, np.full(s.size, yi), "k.", markersize=4)
    params = [int(np.mean([r.params for r in result.select(v, budget)])) for v in names]
    ax.set_yticks(y, [f"{LABELS[v]} ({p})" for v, p in zip(names, params, strict=True)],
                  fontsize=7.5)
    ax.set(xlabel=f"test RMSE (budget {budget} parameters; mean, std, seeds)")
    fig.tight_layout()
    return fig


def plot_image_samples(images, labels, dataset: str = "fashion_mnist", *, ncols: int = 8):
    """Show a grid of images with their class names.

    Parameters
    ----------
    images : (n, c, H, W) array in [0, 1]
    labels : (n,) int array
    dataset : {"fashion_mnist", "cifar10"}
        Selects the class names.
    ncols : int
        Images per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from .data import CLASS_NAMES

    names = CLASS_NAMES.get(dataset)
    images = np.asarray(images)
    n = len(images)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.1 * ncols, 1.25 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, lab in zip(axes.flat, images, labels, strict=False):
        pic = img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
        ax.imshow(pic, cmap="gray_r" if img.shape[0] == 1 else None, vmin=0, vmax=1)
        ax.set_title(names[int(lab)] if names else str(int(lab)), fontsize=7)
    fig.tight_layout()
    return fig


def plot_classification(rows, *, smooth: int = 50):
    """Plot E5: test accuracy against parameters, training curves, accuracy under noise.

    Accuracies are means over the seeds with error bars of one sample standard deviation;
    the training curves are those of the first seed at the largest width.

    Parameters
    ----------
    rows : list of pdecore.experiments.classification.ClassifierRow
    smooth : int
        Width of the running mean over mini-batch losses in the training curves.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(11.0, 3.4))
    families = list(dict.fromkeys(r.family for r in rows))
    widest = max(r.width for r in rows)
    first_seed = min(r.seed for r in rows)

    def spread(values):  # mean and sample standard deviation over seeds
        v = 100 * np.asarray(values, dtype=float)
        return v.mean(), (v.std(ddof=1) if v.size > 1 else 0.0)

    for i, family in enumerate(families):
        label = get_family(family).label
        mine = [r for r in rows if r.family == family]
        widths = sorted({r.width for r in mine})
        params = [next(r.params for r in mine if r.width == w) for w in widths]
        stats = [spread([r.test_accuracy for r in mine if r.width == w]) for w in widths]
        ax1.errorbar(params, [m for m, _ in stats], yerr=[s for _, s in stats], fmt="o-",
                     capsize=3, color=f"C{i}", label=label)
        top = [r for r in mine if r.width == widest]
        for r in top:
            if r.seed == first_seed:
                loss = np.asarray(r.history.batch_loss)
                k = max(1, min(smooth, loss.size))
                curve = np.convolve(loss, np.ones(k) / k, mode="valid")
                ax2.plot(np.arange(k, loss.size + 1), curve, color=f"C{i}",
                         label=f"{label} ({r.params} params)")
        if top:
            sigmas = [0.0, *sorted(top[0].noise_accuracy)]
            stats = [spread([r.test_accuracy if s == 0 else r.noise_accuracy[s]
                             for r in top]) for s in sigmas]
            ax3.errorbar(sigmas, [m for m, _ in stats], yerr=[s for _, s in stats],
                         fmt="o-", capsize=3, color=f"C{i}", label=label)
    ax1.set_xscale("log")
    from matplotlib.ticker import NullFormatter

    ax1.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on one decade
    ax1.set(xlabel="trainable parameters", ylabel="test accuracy (%)",
            title="accuracy against size")
    ax2.set(xlabel="mini-batch", ylabel="training loss (cross entropy)",
            title=f"training curves (width {widest}, seed {first_seed})")
    ax3.set(xlabel=r"input noise $\sigma$ (pixel values in [0, 1])",
            ylabel="test accuracy (%)", title=f"robustness (width {widest})")
    ax1.legend()
    ax2.legend(fontsize=6.5)
    fig.tight_layout()
    return fig


def plot_learning_curves(rows):
    """Plot E5's test accuracy after every epoch, one panel per budget.

    Lines are means over the seeds, shaded bands one sample standard deviation.

    Parameters
    ----------
    rows : list of pdecore.experiments.classification.ClassifierRow
        With ``history.val_accuracy`` (the test accuracy after each epoch).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    widths = sorted({r.width for r in rows})
    families = list(dict.fromkeys(r.family for r in rows))
    fig, axes = plt.subplots(1, len(widths), figsize=(4.6 * len(widths), 3.3),
                             squeeze=False, sharey=True)
    for ax, width in zip(axes[0], widths, strict=True):
        for i, family in enumerate(families):
            curves = np.array([r.history.val_accuracy for r in rows
                               if r.width == width and r.family == family], dtype=float)
            if curves.size == 0:
                continue
            epochs = np.arange(1, curves.shape[1] + 1)
            mean = 100 * curves.mean(axis=0)
            sd = 100 * curves.std(axis=0, ddof=1) if len(curves) > 1 else 0 * mean
            ax.plot(epochs, mean, "o-", ms=3, color=f"C{i}",
                    label=get_family(family).label)
            ax.fill_between(epochs, mean - sd, mean + sd, color=f"C{i}", alpha=0.2)
        ax.set(xlabel="epoch", title=f"budget of width {width}")
    axes[0][0].set_ylabel("test accuracy (%)")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_block_gains(gains):
    """Plot per-block norm ratios and perturbation gains of trained classifiers.

    Parameters
    ----------
    gains : mapping of str to (norm_ratio, gain)
        Label -> the two arrays of
        :func:`pdecore.experiments.classification.block_gains`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.2))
    for i, (label, (ratio, gain)) in enumerate(gains.items()):
        blocks = np.arange(1, len(ratio) + 1)
        ax1.plot(blocks, ratio, "o-", color=f"C{i}", label=label)
        ax2.plot(blocks, gain, "o-", color=f"C{i}", label=label)
    for ax in (ax1, ax2):
        ax.axhline(1.0, color="0.4", linewidth=0.8, linestyle="--")
        ax.set_xlabel("residual block $k$")
    ax1.set(ylabel=r"$\|F_k(u_k)\| \,/\, \|u_k\|$", title="feature norm growth")
    ax2.set(ylabel=r"$\|F_k(u_k+\delta) - F_k(u_k)\| \,/\, \|\delta\|$",
            title="perturbation gain")
    ax1.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_denoising_results(summary, baselines=None):
    """Plot E6: test RMSE per network family, and the largest per-block norm ratio.

    Families and classical diffusions are named and coloured by
    :func:`pdecore.families.get_family` (grey where a family has no colour).

    Parameters
    ----------
    summary : list of pdecore.experiments.denoising.FamilySummary
        Bars show the mean over the runs with the standard deviation as error bar, dots
        the single runs.
    baselines : list, optional
        Classical diffusions drawn as horizontal lines at their mean test RMSE, with a
        band of one standard deviation: :class:`~pdecore.experiments.denoising.ClassicalSummary`
        (or any object with ``diffusivity`` and ``test_rmse``, drawn without a band).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.4),
                                   gridspec_kw={"width_ratios": [1.6, 1]})
    x = np.arange(len(summary))
    families = [get_family(s.family) for s in summary]  # labels and colours
    names = [f.label for f in families]
    colours = [f.colour or "0.55" for f in families]
    ax1.bar(x, [s.rmse for s in summary], color=colours, alpha=0.8,
            yerr=[getattr(s, "rmse_std", 0.0) for s in summary], capsize=3,
            error_kw={"elinewidth": 1.0})
    for i, s in enumerate(summary):
        ax1.plot(np.full(len(s.rmse_runs), i), s.rmse_runs, "k.", markersize=4)
    for j, b in enumerate(baselines or []):
        family = get_family(b.diffusivity)
        mean = getattr(b, "rmse", getattr(b, "test_rmse", np.nan))
        colour = family.colour or "0.3"
        ax1.axhline(mean, color=colour, linestyle=(":", "--")[j % 2], linewidth=1.0,
                    label=f"tuned {family.label} diffusion")
        std = getattr(b, "rmse_std", 0.0)
        if std > 0:
            ax1.axhspan(mean - std, mean + std, color=colour, alpha=0.12, linewidth=0)
    values = [s.rmse for s in summary] + [r for s in summary for r in s.rmse_runs]
    values += [getattr(b, "rmse", getattr(b, "test_rmse", np.nan)) for b in baselines or []]
    ax1.set_ylim(0.8 * min(values), 1.3 * max(values))  # room for the legend on top
    ax1.set_xticks(x, names, rotation=25, ha="right")
    ax1.set(ylabel="test RMSE", title="denoising error at equal parameters")
    if baselines:
        ax1.legend(loc="upper left")
    ax2.bar(x, [s.norm_ratio for s in summary], color=colours, alpha=0.8)
    ax2.axhline(1.0, color="k", linewidth=0.8, linestyle="--", label="ratio 1")
    ax2.set_xticks(x, names, rotation=25, ha="right")
    ax2.set(ylabel=r"largest $\|u^{k+1}\| / \|u^k\|$", title="norm check, all blocks")
    ax2.legend(loc="upper left")
    fig.tight_layout()
    return fig


def plot_denoising_curves(runs, families=None):
    """Plot E6's learning curves: validation RMSE after each epoch, per family.

    Each family is named and coloured by :func:`pdecore.families.get_family`.

    Parameters
    ----------
    runs : sequence of sequences of pdecore.experiments.denoising.DenoisingRow
        One list per seed (e.g. ``DenoisingResult.runs``); the line is the mean over the
        seeds, the band their minimum to maximum.
    families : sequence of str, optional
        Families to draw (default: all of the first run).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    names = families or [r.family for r in runs[0]]
    for k, family in enumerate(names):
        curves = np.sqrt(np.array([[r.history.val_loss for r in run if r.family == family][0]
                                   for run in runs]))
        epochs = np.arange(1, curves.shape[1] + 1)
        shown = get_family(family)
        colour = shown.colour or f"C{(4 + k) % 10}"
        ax.plot(epochs, curves.mean(axis=0), color=colour, label=shown.label)
        ax.fill_between(epochs, curves.min(axis=0), curves.max(axis=0), color=colour,
                        alpha=0.15, linewidth=0)
    ax.set(xlabel="epoch", ylabel="validation RMSE", yscale="log",
           title="learning curves (mean over seeds, band: min to max)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def plot_learned_fluxes(net, ranges, reference_lam: float | None = None):
    r"""Plot the fluxes :math:`\Phi_k(s)` and diffusivities :math:`g_k` of a diffusion net.

    Each curve is solid on block :math:`k`'s active range ``ranges[k]`` (where its inputs
    lie) and faint beyond; the flux is drawn bold where it decreases.

    Parameters
    ----------
    net : pdecore.nets.DiffusionNet
    ranges : sequence of float
        Active range per block (:func:`pdecore.experiments.denoising.activation_ranges`).
    reference_lam : float, optional
        Contrast of a Perona-Malik flux drawn for comparison (dashed).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import copy

    import matplotlib.pyplot as plt
    import torch

    fig, (ax_phi, ax_g) = plt.subplots(1, 2, figsize=(9.5, 3.4))
    s_end = 1.2 * max(ranges)
    for k, (phi, r) in enumerate(zip(net.fluxes(), ranges, strict=True)):
        s = torch.linspace(0.0, s_end, 600, dtype=torch.float64, requires_grad=True)
        module = copy.deepcopy(phi).to(torch.float64)
        values = module(s)
        (slope,) = torch.autograd.grad(values.sum(), s)
        s_np, v = s.detach().numpy(), values.detach().numpy()
        g = v[1:] / s_np[1:]
        inside = s_np <= r
        colour = f"C{k % 10}"
        ax_phi.plot(s_np[inside], v[inside], color=colour, label=f"block {k + 1}")
        ax_phi.plot(s_np[~inside], v[~inside], color=colour, alpha=0.25)
        back = np.where(inside & (slope.numpy() < 0), v, np.nan)
        ax_phi.plot(s_np, back, color=colour, linewidth=3.5, alpha=0.5)
        ax_g.plot(s_np[1:][inside[1:]], g[inside[1:]], color=colour, label=f"block {k + 1}")
        ax_g.plot(s_np[1:][~inside[1:]], g[~inside[1:]], color=colour, alpha=0.25)
    if reference_lam is not None:
        s_np = np.linspace(0.0, s_end, 600)
        ax_phi.plot(s_np, flux("perona_malik", s_np, reference_lam), "k--", linewidth=1,
                    label=rf"Perona-Malik, $\lambda$ = {reference_lam:.2g}")
        ax_g.plot(s_np, diffusivity("perona_malik", s_np**2, reference_lam), "k--",
                  linewidth=1, label="Perona-Malik")
    ax_phi.set(xlabel="$s$ (filter response)", ylabel=r"$\Phi_k(s)$",
               title=r"learned fluxes (bold: $\Phi_k' < 0$)")
    ax_g.set(xlabel="$|s|$ (filter response)", ylabel=r"$g_k(s^2) = \Phi_k(s)/s$",
             title="learned diffusivities", ylim=(0, 1.05))
    ax_phi.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_denoising_examples(data, nets, indices):
    """Plot noisy test signals, the clean signals and the outputs of some networks.

    Parameters
    ----------
    data : pdecore.experiments.denoising.DenoisingData
    nets : mapping of str to torch.nn.Module
        Label -> network (``(batch, 1, N)`` in and out).
    indices : sequence of int
        Test signals to show, one panel each.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    import torch

    fig, axes = plt.subplots(1, len(indices), figsize=(4.75 * len(indices), 3.4),
                             squeeze=False)
    for ax, i in zip(axes[0], indices, strict=True):
        x = np.arange(data.X.shape[-1])
        ax.plot(x, data.X[i, 0], ".", color="0.65", markersize=3, label="noisy input")
        ax.plot(x, data.y[i, 0], color="k", linewidth=1, label="clean signal")
        for j, (label, net) in enumerate(nets.items()):
            dtype = next(net.parameters()).dtype
            with torch.no_grad():
                out = net(torch.as_tensor(data.X[i : i + 1], dtype=dtype))[0, 0].numpy()
            ax.plot(x, out, color=f"C{[0, 1, 3, 2, 4][j % 5]}", label=label)
        ax.set(xlabel="grid point $i$", ylabel="grey value",
               title=f"test signal {i} (piecewise {data.kind[i]})")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig
