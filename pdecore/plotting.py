"""Figure helpers so that chapter cells stay 2-4 lines, all in one style.

Every helper returns the matplotlib ``Figure`` (myst-nb renders it; ``glue`` can store
it) and labels its axes with quantities and units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .diffusivities import diffusivity, flux, flux_derivative

__all__ = ["STYLE", "plot_evolution", "plot_fluxes", "plot_monitors", "plot_orders", "use_style"]

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
