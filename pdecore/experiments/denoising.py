r"""Experiment E6: trainable nonmonotone activations in a stable diffusion network.

Networks :math:`u^{k+1} = u^k - \tau_k W_k^\top \Phi_k(W_k u^k)` with a step size that is
stable by construction (:class:`pdecore.nets.DiffusionNet`) learn to denoise 1D signals:
half of them piecewise constant (:func:`pdecore.piecewise_constant`), half continuous
piecewise linear (:func:`pdecore.piecewise_linear`), with Gaussian noise
(:func:`pdecore.add_noise`). The families, all sized to the same parameter budget
(:func:`pdecore.nets.diffusion_net_with_budget`), are

- ``"trainable"``: a learned flux :math:`\Phi_k(s) = s\,g_k(s^2)`,
  :math:`g_k = L\sigma(\cdot) \in (0, L)` per block (:class:`pdecore.nets.TrainableFlux`);
- fixed fluxes with more filters: ``"linear"``, ``"charbonnier"`` (monotone), ``"relu"``
  (monotone, the same sector), ``"perona_malik"`` (fixed, nonmonotone);
- ``"standard"``: an unconstrained ResNet :math:`u + W_2\,\mathrm{ReLU}(W_1 u + b_1) + b_2`
  (:class:`pdecore.nets.StandardNet`).

:func:`flux_monotonicity` measures whether a learned flux decreases somewhere on the range
its inputs actually take (:func:`activation_ranges`), :func:`norm_check` the largest
per-block norm ratio, and :func:`classical_baseline` the best hand-tuned explicit
diffusion for comparison. Chapter 6 (:ref:`ch-learned-activations`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .._validation import as_int, as_positive
from ..explicit import explicit_evolution
from ..nets.diffusion_net import ACTIVATION_FAMILIES, DiffusionNet, diffusion_net_with_budget
from ..signals import add_noise, piecewise_constant, piecewise_linear
from ..train import History, count_parameters, evaluate, fit

__all__ = [
    "FAMILIES",
    "QUICK",
    "Baseline",
    "DenoisingData",
    "DenoisingRow",
    "FamilySummary",
    "Monotonicity",
    "activation_ranges",
    "classical_baseline",
    "denoising_data",
    "denoising_experiment",
    "denoising_splits",
    "flux_monotonicity",
    "flux_report",
    "markdown_table",
    "norm_check",
    "psnr",
    "summarize",
    "verdict",
    "wins",
]

#: The compared network families (see the module docstring).
FAMILIES = ("trainable", "linear", "charbonnier", "relu", "perona_malik", "standard")

#: A configuration that trains all families in well under a minute on 2 CPU cores.
QUICK = {"n": 128, "n_train": 192, "n_test": 128, "epochs": 20, "budget": 150, "depth": 5}

_KINDS = ("constant", "linear")

#: What each family's activation is, for tables.
DESCRIPTIONS = {
    "trainable": "learned flux per block",
    "linear": "fixed, monotone",
    "charbonnier": "fixed, monotone",
    "relu": "fixed, monotone",
    "perona_malik": "fixed, nonmonotone",
    "exponential": "fixed, nonmonotone",
    "weickert": "fixed, nonmonotone",
    "standard": "standard ResNet, ReLU",
}


@dataclass(frozen=True)
class DenoisingData:
    """Noisy inputs ``X`` (S, 1, N), clean targets ``y`` (S, 1, N) and each signal's kind.

    ``kind[i]`` is ``"constant"`` (piecewise constant) or ``"linear"`` (continuous
    piecewise linear); ``sigma`` is the noise level.
    """

    X: np.ndarray
    y: np.ndarray
    kind: np.ndarray
    sigma: float


@dataclass(frozen=True)
class DenoisingRow:
    r"""One trained network of E6.

    Attributes
    ----------
    family : str
        A key of :data:`FAMILIES`.
    params : int
        Trainable parameters.
    hidden : int
        Filters per block.
    test_rmse : float
        Root mean square error on the test set.
    rmse_by_kind : dict
        Test RMSE on the piecewise-constant and on the piecewise-linear signals.
    history : pdecore.train.History
        ``val_loss`` is the test MSE after each epoch.
    model : torch.nn.Module
        The trained network (CPU).
    norm_ratio : float
        :func:`norm_check` of the trained network on the test signals and 64 random
        inputs: the largest :math:`\|u^{k+1}\|/\|u^k\|` over blocks and inputs.
    flux_shapes : tuple of Monotonicity
        :func:`flux_report` of each block on the test signals (diffusion networks only;
        empty for ``"standard"``).
    """

    family: str
    params: int
    hidden: int
    test_rmse: float
    rmse_by_kind: dict
    history: History
    model: nn.Module
    norm_ratio: float
    flux_shapes: tuple

    @property
    def test_psnr(self) -> float:
        """Peak signal-to-noise ratio in dB for the peak 1 (:func:`psnr`)."""
        return psnr(self.test_rmse)


@dataclass(frozen=True)
class Monotonicity:
    r"""How (non)monotone a flux is on :math:`[0, s_{\max}]`.

    Attributes
    ----------
    s_max : float
        Right end of the examined interval.
    min_slope : float
        :math:`\min \Phi'(s)` over the interval, relative to the sector bound :math:`L`
        (negative: the flux decreases, backward diffusion).
    decreasing_fraction : float
        Fraction of the interval where :math:`\Phi'(s) < -10^{-3} L`.
    s_peak : float
        Where :math:`\Phi` attains its maximum on the interval (``s_max`` for a
        monotone flux).
    """

    s_max: float
    min_slope: float
    decreasing_fraction: float
    s_peak: float

    @property
    def nonmonotone(self) -> bool:
        """Whether the flux decreases on at least 1 % of the interval."""
        return self.decreasing_fraction >= 0.01


@dataclass(frozen=True)
class Baseline:
    """Best explicit diffusion on the test set: diffusivity, contrast, steps, RMSE."""

    diffusivity: str
    lam: float
    n_steps: int
    tau: float
    test_rmse: float


def psnr(rmse: float, peak: float = 1.0) -> float:
    r"""Peak signal-to-noise ratio :math:`20 \log_{10}(\text{peak}/\text{RMSE})` in dB.

    Examples
    --------
    >>> from pdecore.experiments.denoising import psnr
    >>> print(f"{psnr(0.1):.1f}")
    20.0
    """
    rmse = as_positive(rmse, "rmse")
    return 20.0 * float(np.log10(as_positive(peak, "peak") / rmse))


def denoising_data(
    n_samples: int,
    n: int = 128,
    *,
    sigma: float = 0.1,
    n_jumps: int = 4,
    n_kinks: int = 4,
    seed: int = 0,
) -> DenoisingData:
    r"""Generate noisy/clean pairs: piecewise-constant and piecewise-linear signals.

    The first ``ceil(n_samples / 2)`` signals are piecewise constant, the others
    continuous piecewise linear, all with values in [0, 1]; the noise is Gaussian with
    standard deviation ``sigma``.

    Parameters
    ----------
    n_samples : int
        Number of signals :math:`S \\ge 1`.
    n : int
        Grid points per signal.
    sigma : float
        Noise level, ``>= 0``.
    n_jumps, n_kinks : int
        Jumps of the piecewise-constant and kinks of the piecewise-linear signals.
    seed : int
        Seed of the constant signals (``seed``), the linear ones (``seed + 1``) and the
        noise (``seed + 2``).

    Returns
    -------
    DenoisingData
        float64 arrays.

    Raises
    ------
    TypeError, ValueError
        Bad counts or noise level (the message names the argument).

    Examples
    --------
    >>> from pdecore.experiments.denoising import denoising_data
    >>> d = denoising_data(4, 64, sigma=0.1, seed=0)
    >>> print(d.X.shape, d.kind.tolist())
    (4, 1, 64) ['constant', 'constant', 'linear', 'linear']
    """
    n_samples = as_int(n_samples, "n_samples")
    sigma = as_positive(sigma, "sigma", allow_zero=True)
    seed = as_int(seed, "seed", minimum=0)
    n_const = (n_samples + 1) // 2
    parts = [piecewise_constant(n, n_jumps, batch=n_const, seed=seed)]
    if n_samples > n_const:
        parts.append(piecewise_linear(n, n_kinks, batch=n_samples - n_const, seed=seed + 1))
    clean = np.concatenate(parts)
    noisy = add_noise(clean, sigma, seed=seed + 2)
    kind = np.array(["constant"] * n_const + ["linear"] * (n_samples - n_const))
    return DenoisingData(X=noisy[:, None, :], y=clean[:, None, :], kind=kind, sigma=sigma)


def denoising_splits(
    n: int, n_train: int, n_test: int, seed: int = 0, sigma: float = 0.1
) -> tuple[DenoisingData, DenoisingData]:
    """Training and test data of E6: independent draws (test seed ``seed + 1000``).

    Returns
    -------
    train, test : DenoisingData
    """
    n_train, n_test = as_int(n_train, "n_train"), as_int(n_test, "n_test")
    return (denoising_data(n_train, n, sigma=sigma, seed=seed),
            denoising_data(n_test, n, sigma=sigma, seed=seed + 1000))


def _rmse(net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    return float(np.sqrt(evaluate(net, X, y, "mse", batch_size=1024)))


def denoising_experiment(
    families: Iterable[str] = FAMILIES,
    budget: int = QUICK["budget"],
    depth: int = QUICK["depth"],
    n: int = QUICK["n"],
    n_train: int = QUICK["n_train"],
    n_test: int = QUICK["n_test"],
    epochs: int = QUICK["epochs"],
    seed: int = 0,
    progress: bool = False,
    *,
    kernel_size: int = 3,
    sigma: float = 0.1,
    batch_size: int = 32,
    lr: float = 1e-2,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
    threads: int | None = 1,
    **net_kwargs,
) -> list[DenoisingRow]:
    """Train each family at the same parameter budget; return one row per network.

    Every network starts from ``torch.manual_seed(seed)`` and trains on the same data
    with the same shuffling (:func:`pdecore.train.fit`, MSE loss, Adam).

    Parameters
    ----------
    families : iterable of str
        Keys of :data:`FAMILIES` (or any activation of
        :data:`pdecore.nets.diffusion_net.ACTIVATION_FAMILIES`).
    budget : int
        Target number of trainable parameters of every network.
    depth : int
        Blocks per network.
    n : int
        Grid points per signal.
    n_train, n_test : int
        Training and test signals (test data use seed ``seed + 1000``).
    epochs : int
        Training epochs.
    seed : int
        Seed of data, initial weights and shuffling.
    progress : bool
        tqdm bars during each fit.
    kernel_size : int
        Filter length of every block.
    sigma : float
        Noise level.
    batch_size, lr : int, float
        Passed to :func:`pdecore.train.fit`.
    dtype, device : torch.dtype, torch.device or str
        Precision and device of the networks (float64 is the faster one for these
        small 1D convolutions on the CPU).
    threads : int or None
        Torch threads during training (default 1: the convolutions are too small to
        gain from more, and busy cores make waiting threads expensive).
    **net_kwargs
        Further arguments of the networks (``zero_mean``, ``n_basis``, ``s_max``, ...;
        applied to the diffusion networks only).

    Returns
    -------
    list of DenoisingRow
        In the order of ``families``.

    Raises
    ------
    ValueError
        Unknown family, non-positive sizes.

    Examples
    --------
    >>> from pdecore.experiments.denoising import denoising_experiment
    >>> rows = denoising_experiment(["trainable", "standard"], budget=60, depth=2, n=32,
    ...                             n_train=16, n_test=8, epochs=2)
    >>> print([r.family for r in rows], all(r.test_rmse > 0 for r in rows))
    ['trainable', 'standard'] True
    """
    families = list(families)
    allowed = ("standard", *ACTIVATION_FAMILIES)
    for family in families:
        if family not in allowed:
            raise ValueError(f"families must be from {allowed}, got {family!r}")
    budget, depth = as_int(budget, "budget"), as_int(depth, "depth")
    train, test = denoising_splits(n, n_train, n_test, seed, sigma)
    X, y = torch.as_tensor(train.X, dtype=dtype), torch.as_tensor(train.y, dtype=dtype)
    Xt, yt = torch.as_tensor(test.X, dtype=dtype), torch.as_tensor(test.y, dtype=dtype)
    rows = []
    for family in families:
        torch.manual_seed(seed)
        kwargs = {} if family == "standard" else net_kwargs
        net = diffusion_net_with_budget(family, budget, depth=depth, kernel_size=kernel_size,
                                        **kwargs).to(dtype=dtype, device=device)
        history = fit(net, X, y, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                      device=device, val=(Xt, yt), progress=progress, threads=threads)
        net = net.cpu()
        by_kind = {k: _rmse(net, Xt[test.kind == k].cpu(), yt[test.kind == k].cpu())
                   for k in _KINDS if np.any(test.kind == k)}
        shapes = tuple(flux_report(net, test.X)) if isinstance(net, DiffusionNet) else ()
        rows.append(DenoisingRow(family, count_parameters(net), net.hidden,
                                 _rmse(net, Xt.cpu(), yt.cpu()), by_kind, history, net,
                                 norm_check(net, test.X, seed=seed), shapes))
    return rows


def flux_monotonicity(phi: nn.Module, s_max: float, n_points: int = 2001) -> Monotonicity:
    r"""Measure where a flux :math:`\Phi` decreases on :math:`[0, s_{\max}]`.

    :math:`\Phi'` is computed by automatic differentiation (float64) on an even grid.
    For an odd flux this describes :math:`[-s_{\max}, s_{\max}]` as well.

    Parameters
    ----------
    phi : torch.nn.Module
        The flux (elementwise); its ``sector_bound`` :math:`L` scales the slopes
        (1 if it has none).
    s_max : float
        Right end of the interval, e.g. from :func:`activation_ranges`.
    n_points : int
        Grid points, ``>= 2``.

    Returns
    -------
    Monotonicity

    Raises
    ------
    TypeError
        If ``phi`` is not a module.
    ValueError
        If ``s_max <= 0`` or ``n_points < 2``.

    Examples
    --------
    >>> from pdecore.nets import FluxActivation
    >>> from pdecore.experiments.denoising import flux_monotonicity
    >>> m = flux_monotonicity(FluxActivation("perona_malik", 1.0), 3.0)
    >>> print(m.nonmonotone, f"{m.s_peak:.2f}", f"{m.min_slope:.3f}")
    True 1.00 -0.125
    """
    if not isinstance(phi, nn.Module):
        raise TypeError(f"phi must be a torch.nn.Module, got {type(phi).__name__}")
    s_max = as_positive(s_max, "s_max")
    n_points = as_int(n_points, "n_points", minimum=2)
    L = float(getattr(phi, "sector_bound", 1.0))
    phi64 = copy.deepcopy(phi).to(torch.float64)  # the caller's module is left alone
    s = torch.linspace(0.0, s_max, n_points, dtype=torch.float64, requires_grad=True)
    with torch.enable_grad():
        values = phi64(s)
        (slope,) = torch.autograd.grad(values.sum(), s)
    slope = slope.detach().numpy() / L
    values = values.detach().numpy()
    return Monotonicity(
        s_max=s_max,
        min_slope=float(slope.min()),
        decreasing_fraction=float(np.mean(slope < -1e-3)),
        s_peak=float(s.detach().numpy()[int(np.argmax(values))]),
    )


def activation_ranges(net: DiffusionNet, X: object, q: float = 0.99) -> list[float]:
    r"""Return the ``q``-quantile of :math:`|W_k u^k|` over the data, for every block.

    This is the range of arguments where block :math:`k`'s flux actually acts: its shape
    beyond it hardly matters.

    Parameters
    ----------
    net : pdecore.nets.DiffusionNet
        A trained network.
    X : (S, 1, N) tensor or ndarray
        Inputs (e.g. the noisy test signals).
    q : float
        Quantile in (0, 1].

    Returns
    -------
    list of float
        One value per block.

    Raises
    ------
    TypeError
        If ``net`` is not a :class:`~pdecore.nets.DiffusionNet`.
    ValueError
        If ``q`` is not in (0, 1].
    """
    if not isinstance(net, DiffusionNet):
        raise TypeError(f"net must be a pdecore.nets.DiffusionNet, got {type(net).__name__}")
    q = as_positive(q, "q")
    if q > 1:
        raise ValueError(f"q must be in (0, 1], got q={q}")
    dtype = next(net.parameters()).dtype
    u = torch.as_tensor(X, dtype=dtype)
    ranges = []
    with torch.no_grad():
        for block in net.blocks:
            s = torch.nn.functional.conv1d(u, block.filters()).abs().flatten()
            ranges.append(float(torch.quantile(s.double(), q)))
            u = block(u)
    return ranges


def flux_report(net: DiffusionNet, X: object, q: float = 0.99) -> list[Monotonicity]:
    """Return :func:`flux_monotonicity` of every block's flux on its active range.

    The range of block :math:`k` is :func:`activation_ranges` of ``X`` (quantile ``q``).

    Returns
    -------
    list of Monotonicity
        One per block.
    """
    ranges = activation_ranges(net, X, q)
    return [flux_monotonicity(phi, max(r, 1e-12)) for phi, r in zip(net.fluxes(), ranges,
                                                                       strict=True)]


def norm_check(net: nn.Module, X: object, n_random: int = 64, seed: int = 0) -> float:
    r"""Largest per-block norm ratio :math:`\|u^{k+1}\|/\|u^k\|` on data and random inputs.

    The inputs are the signals ``X`` and ``n_random`` random signals of the same length:
    white noise, random steps and random walks, each at amplitudes from
    :math:`10^{-2}` to :math:`10^2` (so nonlinear fluxes are probed in every regime).

    Parameters
    ----------
    net : DiffusionNet or StandardNet
        Any network with a ``norm_ratios(u)`` method.
    X : (S, 1, N) tensor or ndarray
        Data signals.
    n_random : int
        Number of random inputs, ``>= 0``.
    seed : int
        Seed of the random inputs.

    Returns
    -------
    float
        :math:`\max_{k, u} \|u^{k+1}\|/\|u^k\|`; at most 1 for a
        :class:`~pdecore.nets.DiffusionNet` (up to rounding).

    Raises
    ------
    TypeError
        If ``net`` has no ``norm_ratios`` method.
    """
    if not hasattr(net, "norm_ratios"):
        raise TypeError(f"net must have a norm_ratios method, got {type(net).__name__}")
    n_random = as_int(n_random, "n_random", minimum=0)
    dtype = next(net.parameters()).dtype
    u = torch.as_tensor(X, dtype=dtype)
    inputs = [u]
    if n_random:
        rng = np.random.default_rng(as_int(seed, "seed", minimum=0))
        length = u.shape[-1]
        scale = 10.0 ** rng.uniform(-2.0, 2.0, (n_random, 1))
        third = np.arange(n_random) % 3
        noise = rng.standard_normal((n_random, length))
        steps = np.repeat(rng.uniform(-1, 1, (n_random, 8)), -(-length // 8), axis=1)
        walks = np.cumsum(noise, axis=1) / np.sqrt(length)
        random = np.where(third[:, None] == 0, noise,
                          np.where(third[:, None] == 1, steps[:, :length], walks))
        inputs.append(torch.as_tensor(scale * random, dtype=dtype)[:, None, :])
    return max(float(net.norm_ratios(v).max()) for v in inputs)


def classical_baseline(
    data: DenoisingData,
    diffusivity: str = "perona_malik",
    lams: Sequence[float] = tuple(np.geomspace(0.01, 1.0, 13)),
    max_steps: int = 200,
    tau: float = 0.25,
) -> Baseline:
    r"""Best explicit diffusion (:func:`pdecore.explicit_evolution`) on ``data``.

    The contrast :math:`\lambda` (from ``lams``) and the number of steps (stopping time
    :math:`\tau n`, up to ``max_steps``) are chosen to minimise the RMSE on ``data``
    itself: an oracle tuning, the most favourable for the classical method.

    Parameters
    ----------
    data : DenoisingData
        Noisy inputs and clean targets.
    diffusivity : str
        A registered diffusivity.
    lams : sequence of float
        Contrast parameters tried (ignored for ``"linear"``).
    max_steps : int
        Largest number of steps tried.
    tau : float
        Step size (stable for :math:`\tau \le 0.5`).

    Returns
    -------
    Baseline
    """
    if not isinstance(data, DenoisingData):
        raise TypeError(f"data must be a DenoisingData (see denoising_data), got "
                        f"{type(data).__name__}")
    max_steps = as_int(max_steps, "max_steps")
    f, u = data.X[:, 0], data.y[:, 0]
    best = None
    for lam in (1.0,) if diffusivity == "linear" else lams:
        ev = explicit_evolution(f, tau, max_steps, diffusivity, lam, save_every=1)
        rmse = np.sqrt(np.mean((ev.states - u) ** 2, axis=(1, 2)))
        k = int(np.argmin(rmse))
        if best is None or rmse[k] < best.test_rmse:
            best = Baseline(diffusivity, float(lam), int(ev.steps[k]), tau, float(rmse[k]))
    return best


@dataclass(frozen=True)
class FamilySummary:
    """One family of E6 over several runs (seeds).

    Attributes
    ----------
    family : str
    params, hidden : int
        Trainable parameters and filters per block (the same in every run).
    rmse : float
        Mean test RMSE over the runs.
    rmse_runs : tuple of float
        Test RMSE of each run.
    rmse_constant, rmse_linear : float
        Mean test RMSE on the piecewise-constant and piecewise-linear signals.
    norm_ratio : float
        Largest :attr:`DenoisingRow.norm_ratio` over the runs.
    nonmonotone_blocks, blocks : int
        Blocks whose flux is nonmonotone on its active range, and all blocks, summed
        over the runs (0 and 0 for ``"standard"``).
    """

    family: str
    params: int
    hidden: int
    rmse: float
    rmse_runs: tuple
    rmse_constant: float
    rmse_linear: float
    norm_ratio: float
    nonmonotone_blocks: int
    blocks: int

    @property
    def psnr(self) -> float:
        """PSNR of the mean test RMSE, in dB."""
        return psnr(self.rmse)


def summarize(runs: Sequence[Sequence[DenoisingRow]]) -> list[FamilySummary]:
    """Combine the rows of several :func:`denoising_experiment` runs per family.

    Parameters
    ----------
    runs : sequence of lists of DenoisingRow
        One list per seed, each with the same families.

    Returns
    -------
    list of FamilySummary
        In the order of the families of the first run.

    Raises
    ------
    ValueError
        If ``runs`` is empty or the runs have different families.
    """
    runs = [list(r) for r in runs]
    if not runs or not runs[0]:
        raise ValueError("runs must hold at least one non-empty list of rows")
    families = [r.family for r in runs[0]]
    if any([r.family for r in run] != families for run in runs):
        raise ValueError("runs must all have the same families in the same order")
    out = []
    for i, family in enumerate(families):
        rows = [run[i] for run in runs]
        out.append(FamilySummary(
            family=family,
            params=rows[0].params,
            hidden=rows[0].hidden,
            rmse=float(np.mean([r.test_rmse for r in rows])),
            rmse_runs=tuple(r.test_rmse for r in rows),
            rmse_constant=float(np.mean([r.rmse_by_kind["constant"] for r in rows])),
            rmse_linear=float(np.mean([r.rmse_by_kind["linear"] for r in rows])),
            norm_ratio=max(r.norm_ratio for r in rows),
            nonmonotone_blocks=sum(m.nonmonotone for r in rows for m in r.flux_shapes),
            blocks=sum(len(r.flux_shapes) for r in rows),
        ))
    return out


def markdown_table(summary: Sequence[FamilySummary]) -> str:
    """Return the E6 results as a Markdown table (one row per family).

    Examples
    --------
    >>> from pdecore.experiments.denoising import FamilySummary, markdown_table
    >>> s = FamilySummary("relu", 155, 10, 0.05, (0.05,), 0.06, 0.04, 1.0, 0, 5)
    >>> print(markdown_table([s]).splitlines()[2])
    | relu | fixed, monotone | 10 | 155 | 0.0500 | 26.02 | 0.0600 | 0.0400 | 0 of 5 | 1.000 |
    """
    bad = [type(s).__name__ for s in summary if not isinstance(s, FamilySummary)]
    if bad:
        raise TypeError(f"summary must hold FamilySummary rows (see summarize), got {bad[0]}")
    head = ("| family | activation | filters per block | parameters | test RMSE | PSNR (dB) "
            "| RMSE, piecewise constant | RMSE, piecewise linear | nonmonotone fluxes "
            "| largest norm ratio |")
    lines = [head, "|" + "---|" * 10]
    for s in summary:
        mono = f"{s.nonmonotone_blocks} of {s.blocks}" if s.blocks else "n/a"
        lines.append(
            f"| {s.family} | {DESCRIPTIONS.get(s.family, s.family)} | {s.hidden} | {s.params} "
            f"| {s.rmse:.4f} | {s.psnr:.2f} | {s.rmse_constant:.4f} | {s.rmse_linear:.4f} "
            f"| {mono} | {s.norm_ratio:.3f} |"
        )
    return "\n".join(lines)


def wins(runs: Sequence[Sequence[DenoisingRow]], family: str, against: Iterable[str]) -> int:
    """Count the runs in which ``family`` has a lower test RMSE than all of ``against``.

    Parameters
    ----------
    runs : sequence of lists of DenoisingRow
        One list per seed (from :func:`denoising_experiment`).
    family : str
        The family to score.
    against : iterable of str
        The competing families (each must be in every run).

    Returns
    -------
    int
        Between 0 and ``len(runs)``.

    Raises
    ------
    ValueError
        If a family is missing from a run, or ``against`` is empty.

    Examples
    --------
    >>> from types import SimpleNamespace as Row
    >>> from pdecore.experiments.denoising import wins
    >>> runs = [[Row(family="a", test_rmse=1.0), Row(family="b", test_rmse=2.0)],
    ...         [Row(family="a", test_rmse=3.0), Row(family="b", test_rmse=2.0)]]
    >>> print(wins(runs, "a", ["b"]))
    1
    """
    against = list(against)
    if not against:
        raise ValueError("against must name at least one family")
    count = 0
    for run in runs:
        rmse = {r.family: r.test_rmse for r in run}
        missing = [f for f in [family, *against] if f not in rmse]
        if missing:
            raise ValueError(f"families {missing} are missing from a run of {sorted(rmse)}")
        count += rmse[family] < min(rmse[f] for f in against)
    return int(count)


def verdict(wins: int, n_runs: int, what: str, who: str = "The learned flux") -> str:
    """Return one plain sentence saying in how many runs ``who`` beat ``what``.

    Parameters
    ----------
    wins : int
        Runs won, e.g. from :func:`wins`; ``0 <= wins <= n_runs``.
    n_runs : int
        Runs in all, ``>= 1``.
    what, who : str
        The loser and the winner, as they should read in the sentence.

    Returns
    -------
    str

    Examples
    --------
    >>> from pdecore.experiments.denoising import verdict
    >>> print(verdict(1, 2, "the standard ResNet"))
    The learned flux beat the standard ResNet in 1 of 2 runs only.
    """
    n_runs = as_int(n_runs, "n_runs")
    wins = as_int(wins, "wins", minimum=0)
    if wins > n_runs:
        raise ValueError(f"wins must be <= n_runs={n_runs}, got wins={wins}")
    if n_runs == 1:
        return f"{who} {'beat' if wins else 'did not beat'} {what} in the single run."
    if wins == n_runs:
        return f"{who} beat {what} in all {n_runs} runs."
    if wins:
        return f"{who} beat {what} in {wins} of {n_runs} runs only."
    return f"{who} did not beat {what} in any of the {n_runs} runs."
