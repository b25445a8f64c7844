r"""Experiment E6: trainable nonmonotone activations in a stable diffusion network.

Networks :math:`u^{k+1} = u^k - \tau_k W_k^\top \Phi_k(W_k u^k)` with a step size that is
stable by construction (:class:`pdecore.nets.DiffusionNet`) learn to denoise 1D signals:
half of them piecewise constant (:func:`pdecore.piecewise_constant`), half continuous
piecewise linear (:func:`pdecore.piecewise_linear`), with Gaussian noise
(:func:`pdecore.add_noise`). The families, all sized to the same parameter budget
(:func:`pdecore.nets.diffusion_net_with_budget`), are

- ``"trainable"``: a learned flux :math:`\Phi_k(s) = s\,g_k(s^2)`,
  :math:`g_k = L\sigma(\cdot) \in (0, L)` per block (:class:`pdecore.nets.TrainableFlux`),
  free to become nonmonotone;
- ``"trainable_monotone"``: the control, a learned flux with the same parameters whose
  *slope* :math:`\Phi_k' = L\sigma(\cdot) \in (0, L)` is learned instead, monotone by
  construction (``TrainableFlux(monotone=True)``); the two differ in this one factor;
- fixed fluxes with more filters: ``"linear"``, ``"charbonnier"`` (monotone), ``"relu"``
  (monotone, the same sector), ``"perona_malik"`` (fixed, nonmonotone);
- ``"standard"``: an unconstrained ResNet :math:`u + W_2\,\mathrm{ReLU}(W_1 u + b_1) + b_2`
  (:class:`pdecore.nets.StandardNet`).

:func:`run` trains every family on several seeds (each seed draws its own training,
validation and test split and initialises every network alike), tunes the classical
explicit diffusions (:func:`classical_baseline`) on the validation split and scores
everything once on the test split; :class:`DenoisingResult` carries the splits, the
trained networks and every number of chapter 6, with wins decided by
:func:`pdecore.results.paired_comparison`. :func:`flux_monotonicity` measures whether and
how deeply a learned flux decreases on the range its inputs actually take
(:func:`activation_ranges`), :func:`norm_check` the largest per-block norm ratio.
Chapter 6 (:ref:`ch-learned-activations`).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import torch
from torch import nn

from .._validation import as_int, as_positive
from ..explicit import explicit_step
from ..families import get_family
from ..nets.activations import SECTOR_ACTIVATIONS
from ..nets.diffusion_net import DiffusionNet, diffusion_net_with_budget
from ..results import WIN_RULE, paired_comparison, resolve_config, seed_stats
from ..signals import add_noise, piecewise_constant, piecewise_linear
from ..train import History, _threads, count_parameters, evaluate, fit

__all__ = [
    "CLASSICAL",
    "CONFIGS",
    "DROP_WORDS",
    "FAMILIES",
    "MONOTONE",
    "QUICK",
    "Baseline",
    "ClassicalSummary",
    "DenoisingData",
    "DenoisingResult",
    "DenoisingRow",
    "DenoisingSplits",
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
    "probe_inputs",
    "psnr",
    "run",
    "summarize",
    "verdict",
    "wins",
]

#: The compared network families (see the module docstring).
FAMILIES = ("trainable", "trainable_monotone", "linear", "charbonnier", "relu",
            "perona_malik", "standard")

#: The monotone families: the trainable monotone control and the fixed monotone fluxes.
MONOTONE = ("trainable_monotone", "linear", "charbonnier", "relu")

#: Classical explicit diffusions tuned on the validation split (:func:`classical_baseline`).
CLASSICAL = ("linear", "charbonnier", "perona_malik")

#: Words for the depth of a learned flux's decrease: the median relative drop
#: :attr:`Monotonicity.relative_drop` below each bound gets the word (else "deep").
DROP_WORDS = ((0.02, "negligible"), (0.10, "shallow"), (0.30, "moderate"))

_CLASSICAL_GRID = {"lams": tuple(float(v) for v in np.geomspace(0.002, 1.0, 19)),
                   "max_time": 75.0, "tau": 0.25}

#: Settings of chapter 6: ``quick`` (CI, seconds: two seeds, few signals and epochs),
#: ``default`` (the book: three seeds, about two minutes on 2 cores) and ``paper`` (five
#: seeds, longer signals, a larger budget and deeper networks; not run by the book).
CONFIGS: dict[str, dict[str, Any]] = {
    "quick": {"seeds": (0, 1), "n": 96, "n_train": 128, "n_val": 48, "n_test": 64,
              "epochs": 15, "budget": 150, "depth": 5, "sigma": 0.1, "families": FAMILIES,
              "classical": CLASSICAL, "batch_size": 32, "lr": 1e-2, **_CLASSICAL_GRID},
    "default": {"seeds": (0, 1, 2), "n": 128, "n_train": 512, "n_val": 128, "n_test": 128,
                "epochs": 60, "budget": 150, "depth": 5, "sigma": 0.1,
                "families": FAMILIES, "classical": CLASSICAL, "batch_size": 32, "lr": 1e-2,
                **_CLASSICAL_GRID},
    "paper": {"seeds": (0, 1, 2, 3, 4), "n": 256, "n_train": 2048, "n_val": 256,
              "n_test": 512, "epochs": 100, "budget": 300, "depth": 8, "sigma": 0.1,
              "families": FAMILIES, "classical": CLASSICAL, "batch_size": 32, "lr": 1e-2,
              **_CLASSICAL_GRID},
}

#: Sizes of one quick run (the defaults of :func:`denoising_experiment`).
QUICK = {k: CONFIGS["quick"][k] for k in ("n", "n_train", "n_test", "epochs", "budget",
                                           "depth")}

_KINDS = ("constant", "linear")


def _phrase(family: str) -> str:
    """Name a family in a sentence, e.g. "the learned nonmonotone flux" (pdecore.families)."""
    return get_family(family).phrase


def _classical_label(diffusivity: str) -> str:
    """Name a classical diffusion, e.g. "Perona-Malik diffusion"."""
    return f"{get_family(diffusivity).label} diffusion"


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
class DenoisingSplits:
    """The three independent splits of one seed: training, validation and test data.

    Networks train on ``train``; the validation split scores them after every epoch and
    is where the classical baselines are tuned; ``test`` is touched once, at the end.
    ``seeds`` are the data seeds of the three splits.
    """

    train: DenoisingData
    val: DenoisingData
    test: DenoisingData
    seeds: tuple[int, int, int]


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
        ``val_loss`` is the validation MSE after each epoch.
    model : torch.nn.Module
        The trained network (CPU).
    norm_ratio : float
        :func:`norm_check` of the trained network on the test signals and 64 random
        inputs: the largest :math:`\|u^{k+1}\|/\|u^k\|` over blocks and inputs.
    flux_shapes : tuple of Monotonicity
        :func:`flux_report` of each block on the test signals (diffusion networks only;
        empty for ``"standard"``).
    val_rmse : float
        RMSE on the validation split after training.
    train_time : float
        Wall time of the training in seconds (not reproducible bit for bit).
    macs : int
        Multiply-adds of the convolutions per signal (:math:`2 H k (N - k + 1)` per
        block).
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
    val_rmse: float = math.nan
    train_time: float = math.nan
    macs: int = 0

    @property
    def test_psnr(self) -> float:
        """Peak signal-to-noise ratio in dB for the peak 1 (:func:`psnr`)."""
        return psnr(self.test_rmse)


@dataclass(frozen=True)
class Monotonicity:
    r"""How (non)monotone a flux is on :math:`[0, s_{\max}]`, and how deeply.

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
    relative_drop : float
        Depth of the decrease:
        :math:`\bigl(\max \Phi - \min_{s_{\text{peak}} \le s \le s_{\max}} \Phi(s)\bigr) /
        \max \Phi` (0 for a monotone flux, 0.4 for Perona-Malik on
        :math:`[0, 3\lambda]`).
    data_fraction : float or None
        Fraction of the given filter responses :math:`|s|` (``samples``) at which
        :math:`\Phi'(|s|) < -10^{-3} L`, i.e. which are diffused backwards; ``None``
        without samples.
    """

    s_max: float
    min_slope: float
    decreasing_fraction: float
    s_peak: float
    relative_drop: float = 0.0
    data_fraction: float | None = None

    @property
    def nonmonotone(self) -> bool:
        """Whether the flux decreases on at least 1 % of the interval."""
        return self.decreasing_fraction >= 0.01


@dataclass(frozen=True)
class Baseline:
    r"""A classical explicit diffusion tuned on one data set and scored on another.

    Attributes
    ----------
    diffusivity : str
    lam : float
        The chosen contrast :math:`\lambda`.
    n_steps : int
        The chosen number of steps (stopping time :math:`\tau n`).
    tau : float
        Step size.
    test_rmse : float
        RMSE on the test data at the chosen setting (on the tuning data itself when no
        test data were given).
    val_rmse : float
        RMSE on the tuning (validation) data at the chosen setting.
    rmse_by_kind : dict
        Test RMSE on the piecewise-constant and piecewise-linear signals.
    """

    diffusivity: str
    lam: float
    n_steps: int
    tau: float
    test_rmse: float
    val_rmse: float = math.nan
    rmse_by_kind: dict = field(default_factory=dict)

    @property
    def stopping_time(self) -> float:
        r"""Diffusion time :math:`T = \tau n`."""
        return self.tau * self.n_steps


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
    n: int, n_train: int, n_test: int, seed: int = 0, sigma: float = 0.1, *,
    n_val: int | None = None,
) -> DenoisingSplits:
    """Training, validation and test data of E6 for one seed: independent draws.

    The three data seeds come from ``numpy.random.SeedSequence(seed).spawn(3)``, so the
    splits of one seed, and the splits of different seeds, share no random stream.

    Parameters
    ----------
    n : int
        Grid points per signal.
    n_train, n_test : int
        Signals in the training and in the test split.
    seed : int
        The experiment seed, ``>= 0``.
    sigma : float
        Noise level.
    n_val : int, optional
        Signals in the validation split (default ``n_test``).

    Returns
    -------
    DenoisingSplits

    Examples
    --------
    >>> from pdecore.experiments.denoising import denoising_splits
    >>> s = denoising_splits(32, 6, 4, seed=0, n_val=2)
    >>> print(s.train.X.shape[0], s.val.X.shape[0], s.test.X.shape[0])
    6 2 4
    """
    n_train, n_test = as_int(n_train, "n_train"), as_int(n_test, "n_test")
    n_val = n_test if n_val is None else as_int(n_val, "n_val")
    seed = as_int(seed, "seed", minimum=0)
    seeds = tuple(int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(3))
    train, val, test = (denoising_data(count, n, sigma=sigma, seed=s)
                        for count, s in zip((n_train, n_val, n_test), seeds, strict=True))
    return DenoisingSplits(train, val, test, seeds)


def _rmse(net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    return float(np.sqrt(evaluate(net, X, y, "mse", batch_size=1024)))


def _conv_macs(net: nn.Module, n: int) -> int:
    """Multiply-adds of the convolutions per signal of length ``n``."""
    return int(net.depth * 2 * net.hidden * net.kernel_size * (n - net.kernel_size + 1))


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
    n_val: int | None = None,
    data: DenoisingSplits | None = None,
    kernel_size: int = 3,
    sigma: float = 0.1,
    batch_size: int = 32,
    lr: float = 1e-2,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
    threads: int | None = 1,
    **net_kwargs,
) -> list[DenoisingRow]:
    """Train each family at the same parameter budget on one seed; one row per network.

    Every network starts from ``torch.manual_seed(seed)`` and trains on the same data
    with the same shuffling (:func:`pdecore.train.fit`, MSE loss, Adam); the validation
    split is scored after every epoch (``history.val_loss``) and the test split once at
    the end.

    Parameters
    ----------
    families : iterable of str
        Keys of :data:`FAMILIES` (or any activation of
        :data:`pdecore.nets.activations.SECTOR_ACTIVATIONS`).
    budget : int
        Target number of trainable parameters of every network.
    depth : int
        Blocks per network.
    n : int
        Grid points per signal.
    n_train, n_test : int
        Training and test signals (:func:`denoising_splits`).
    epochs : int
        Training epochs.
    seed : int
        Seed of data, initial weights and shuffling.
    progress : bool
        tqdm bars during each fit.
    n_val : int, optional
        Validation signals (default ``n_test``).
    data : DenoisingSplits, optional
        Use these splits instead of drawing them (then ``n``, ``n_train``, ``n_val``,
        ``n_test`` and ``sigma`` are ignored).
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
        Torch threads during training and scoring (default 1: the convolutions are too
        small to gain from more, and busy cores make waiting threads expensive: a
        forward pass with 2 threads on a loaded 2-core machine was measured 20x slower).
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
    TypeError
        ``data`` is not a :class:`DenoisingSplits`.

    Examples
    --------
    >>> from pdecore.experiments.denoising import denoising_experiment
    >>> rows = denoising_experiment(["trainable", "standard"], budget=60, depth=2, n=32,
    ...                             n_train=16, n_test=8, epochs=2)
    >>> print([r.family for r in rows], all(r.test_rmse > 0 for r in rows))
    ['trainable', 'standard'] True
    """
    families = list(families)
    allowed = ("standard", *SECTOR_ACTIVATIONS)
    for family in families:
        if family not in allowed:
            raise ValueError(f"families must be from {allowed}, got {family!r}")
    budget, depth = as_int(budget, "budget"), as_int(depth, "depth")
    if data is None:
        data = denoising_splits(n, n_train, n_test, seed, sigma, n_val=n_val)
    elif not isinstance(data, DenoisingSplits):
        raise TypeError(f"data must be a DenoisingSplits (see denoising_splits), got "
                        f"{type(data).__name__}")
    train, val, test = data.train, data.val, data.test

    def tensors(d: DenoisingData) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.as_tensor(d.X, dtype=dtype), torch.as_tensor(d.y, dtype=dtype)

    splits = tensors(train), tensors(val), tensors(test)
    with _threads(None if threads is None else as_int(threads, "threads")):
        return [_train_one(family, budget, depth, seed, epochs, progress, *splits, test,
                           {"batch_size": batch_size, "lr": lr, "dtype": dtype,
                            "device": device},
                           {"kernel_size": kernel_size,
                            **({} if family == "standard" else net_kwargs)})
                for family in families]


def _train_one(family: str, budget: int, depth: int, seed: int, epochs: int,
               progress: bool, train: tuple, val: tuple, test: tuple, test_data: DenoisingData,
               fit_kwargs: dict, net_kwargs: dict) -> DenoisingRow:
    """Train and score one family of :func:`denoising_experiment`."""
    (X, y), (Xv, yv), (Xt, yt) = train, val, test
    dtype, device = fit_kwargs.pop("dtype"), fit_kwargs["device"]
    torch.manual_seed(seed)
    net = diffusion_net_with_budget(family, budget, depth=depth,
                                    **net_kwargs).to(dtype=dtype, device=device)
    start = time.perf_counter()
    history = fit(net, X, y, epochs=epochs, seed=seed, val=(Xv, yv), progress=progress,
                  **fit_kwargs)
    seconds = time.perf_counter() - start
    net = net.cpu()
    kind = test_data.kind
    by_kind = {k: _rmse(net, Xt[kind == k], yt[kind == k]) for k in _KINDS
               if np.any(kind == k)}
    shapes = tuple(flux_report(net, test_data.X)) if isinstance(net, DiffusionNet) else ()
    return DenoisingRow(family, count_parameters(net), net.hidden, _rmse(net, Xt, yt), by_kind,
                        history, net, norm_check(net, test_data.X, seed=seed), shapes,
                        val_rmse=_rmse(net, Xv, yv), train_time=seconds,
                        macs=_conv_macs(net, test_data.X.shape[-1]))


def flux_monotonicity(
    phi: nn.Module, s_max: float, n_points: int = 2001, *, samples: object = None
) -> Monotonicity:
    r"""Measure where, and how deeply, a flux :math:`\Phi` decreases on :math:`[0, s_{\max}]`.

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
    samples : array_like, optional
        Filter responses the flux is applied to; :attr:`Monotonicity.data_fraction` is
        the fraction of them (by absolute value) where :math:`\Phi' < -10^{-3} L`.

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
    >>> print(m.nonmonotone, f"{m.s_peak:.2f}", f"{m.min_slope:.3f}", f"{m.relative_drop:.2f}")
    True 1.00 -0.125 0.40
    """
    if not isinstance(phi, nn.Module):
        raise TypeError(f"phi must be a torch.nn.Module, got {type(phi).__name__}")
    s_max = as_positive(s_max, "s_max")
    n_points = as_int(n_points, "n_points", minimum=2)
    L = float(getattr(phi, "sector_bound", 1.0))
    phi64 = copy.deepcopy(phi).to(torch.float64)  # the caller's module is left alone

    def slope_at(points: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        points = points.detach().requires_grad_(True)
        with torch.enable_grad():
            values = phi64(points)
            (slope,) = torch.autograd.grad(values.sum(), points)
        return values.detach().numpy(), slope.detach().numpy() / L

    s = torch.linspace(0.0, s_max, n_points, dtype=torch.float64)
    values, slope = slope_at(s)
    peak = int(np.argmax(values))
    top = float(values[peak])
    drop = (top - float(values[peak:].min())) / top if top > 0 else 0.0
    fraction = None
    if samples is not None:
        r = torch.as_tensor(np.abs(np.asarray(samples, dtype=np.float64)).ravel())
        fraction = float(np.mean(slope_at(r)[1] < -1e-3)) if r.numel() else 0.0
    return Monotonicity(
        s_max=s_max,
        min_slope=float(slope.min()),
        decreasing_fraction=float(np.mean(slope < -1e-3)),
        s_peak=float(s.numpy()[peak]),
        relative_drop=float(drop),
        data_fraction=fraction,
    )


def _responses(net: DiffusionNet, X: object) -> list[torch.Tensor]:
    """Return the filter responses :math:`|W_k u^k|` of every block, flattened."""
    if not isinstance(net, DiffusionNet):
        raise TypeError(f"net must be a pdecore.nets.DiffusionNet, got {type(net).__name__}")
    dtype = next(net.parameters()).dtype
    u = torch.as_tensor(X, dtype=dtype)
    out = []
    with torch.no_grad():
        for block in net.blocks:
            out.append(torch.nn.functional.conv1d(u, block.filters()).abs().flatten().double())
            u = block(u)
    return out


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
    return [float(torch.quantile(s, q)) for s in _responses(net, X)]


def flux_report(net: DiffusionNet, X: object, q: float = 0.99) -> list[Monotonicity]:
    """Return :func:`flux_monotonicity` of every block's flux on its active range.

    The range of block :math:`k` is :func:`activation_ranges` of ``X`` (quantile ``q``);
    the block's filter responses to ``X`` are the ``samples`` (so
    :attr:`Monotonicity.data_fraction` is the share of responses diffused backwards).

    Returns
    -------
    list of Monotonicity
        One per block.
    """
    responses = _responses(net, X)
    q = as_positive(q, "q")
    return [flux_monotonicity(phi, max(float(torch.quantile(r, q)), 1e-12), samples=r.numpy())
            for phi, r in zip(net.fluxes(), responses, strict=True)]


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
    inputs = probe_inputs(X, n_random, seed, next(net.parameters()).dtype)
    return max(float(net.norm_ratios(v).max()) for v in inputs)


def probe_inputs(X: object, n_random: int = 64, seed: int = 0,
                 dtype: torch.dtype = torch.float64) -> list[torch.Tensor]:
    r"""Return the inputs of a stability probe: ``X`` and ``n_random`` random signals.

    The random signals have the length of ``X``: white noise, random steps and random
    walks in turn, each scaled by :math:`10^{U(-2, 2)}`, so that nonlinear fluxes are
    probed in every regime.

    Returns
    -------
    list of (S, 1, N) tensors
        ``[X]``, then the random signals (if ``n_random > 0``).
    """
    n_random = as_int(n_random, "n_random", minimum=0)
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
    return inputs


def _rmse_path(data: DenoisingData, tau: float, n_steps: int, diffusivity: str,
               lam: float) -> np.ndarray:
    """RMSE against the clean signals after 1, ..., n_steps explicit steps."""
    u, clean = data.X[:, 0].copy(), data.y[:, 0]
    out = np.empty(n_steps)
    for k in range(n_steps):
        u = explicit_step(u, tau, diffusivity, lam, out=u)
        out[k] = np.sqrt(np.mean((u - clean) ** 2))
    return out


def classical_baseline(
    data: DenoisingData,
    diffusivity: str = "perona_malik",
    lams: Sequence[float] = tuple(np.geomspace(0.01, 1.0, 13)),
    max_steps: int = 200,
    tau: float = 0.25,
    *,
    test: DenoisingData | None = None,
) -> Baseline:
    r"""Explicit diffusion (:func:`pdecore.explicit_step`) tuned on ``data``, scored on ``test``.

    The contrast :math:`\lambda` (from ``lams``) and the number of steps (stopping time
    :math:`\tau n`, :math:`1 \le n \le` ``max_steps``) are chosen to minimise the RMSE
    on ``data`` (the validation split); the chosen setting is then applied once to
    ``test``. Without ``test`` the baseline is scored on ``data`` itself: an oracle
    tuning, the most favourable for the classical method.

    Parameters
    ----------
    data : DenoisingData
        Noisy inputs and clean targets on which the setting is chosen.
    diffusivity : str
        A registered diffusivity.
    lams : sequence of float
        Contrast parameters tried (ignored for ``"linear"``).
    max_steps : int
        Largest number of steps tried.
    tau : float
        Step size (stable for :math:`\tau \le 0.5`).
    test : DenoisingData, optional
        Data to score the chosen setting on.

    Returns
    -------
    Baseline

    Raises
    ------
    TypeError
        ``data`` or ``test`` is not a :class:`DenoisingData`.
    ValueError
        Unknown diffusivity, non-positive sizes, empty ``lams``.
    """
    for name, value in (("data", data), ("test", test)):
        if value is not None and not isinstance(value, DenoisingData):
            raise TypeError(f"{name} must be a DenoisingData (see denoising_data), got "
                            f"{type(value).__name__}")
    if data is None:
        raise TypeError("data must be a DenoisingData (see denoising_data), got None")
    max_steps = as_int(max_steps, "max_steps")
    tau = as_positive(tau, "tau")
    lams = (1.0,) if diffusivity == "linear" else tuple(as_positive(v, "lams") for v in lams)
    if not lams:
        raise ValueError("lams must hold at least one contrast parameter")
    best = None
    for lam in lams:
        path = _rmse_path(data, tau, max_steps, diffusivity, lam)
        k = int(np.argmin(path))
        if best is None or path[k] < best[0]:
            best = (float(path[k]), float(lam), k + 1)
    val_rmse, lam, n_steps = best
    if test is None:
        test = data
    u = test.X[:, 0].copy()
    for _ in range(n_steps):
        u = explicit_step(u, tau, diffusivity, lam, out=u)
    err = (u - test.y[:, 0]) ** 2
    by_kind = {k: float(np.sqrt(err[test.kind == k].mean())) for k in _KINDS
               if np.any(test.kind == k)}
    return Baseline(diffusivity, lam, n_steps, tau, float(np.sqrt(err.mean())), val_rmse,
                    by_kind)


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
    rmse_std : float
        Sample standard deviation of the test RMSE over the runs (0 for one run).
    val_rmse : float
        Mean validation RMSE over the runs.
    train_time : float
        Mean training wall time in seconds.
    macs : int
        Multiply-adds of the convolutions per signal.
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
    rmse_std: float = 0.0
    val_rmse: float = math.nan
    train_time: float = math.nan
    macs: int = 0

    @property
    def psnr(self) -> float:
        """PSNR of the mean test RMSE, in dB."""
        return psnr(self.rmse)


@dataclass(frozen=True)
class ClassicalSummary:
    """One classical diffusion of E6 over the seeds: tuned on validation, scored on test.

    Attributes
    ----------
    diffusivity : str
    rmse, rmse_std : float
        Mean and sample standard deviation of the test RMSE over the seeds.
    rmse_runs : tuple of float
        Test RMSE of each seed.
    val_rmse : float
        Mean validation RMSE at the tuned settings.
    rmse_constant, rmse_linear : float
        Mean test RMSE on the piecewise-constant and piecewise-linear signals.
    lams, stopping_times : tuple of float
        The tuned contrast and stopping time of each seed.
    """

    diffusivity: str
    rmse: float
    rmse_std: float
    rmse_runs: tuple
    val_rmse: float
    rmse_constant: float
    rmse_linear: float
    lams: tuple
    stopping_times: tuple

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
        stats = seed_stats([r.test_rmse for r in rows])
        out.append(FamilySummary(
            family=family,
            params=rows[0].params,
            hidden=rows[0].hidden,
            rmse=stats.mean,
            rmse_runs=tuple(r.test_rmse for r in rows),
            rmse_constant=float(np.mean([r.rmse_by_kind["constant"] for r in rows])),
            rmse_linear=float(np.mean([r.rmse_by_kind["linear"] for r in rows])),
            norm_ratio=max(r.norm_ratio for r in rows),
            nonmonotone_blocks=sum(m.nonmonotone for r in rows for m in r.flux_shapes),
            blocks=sum(len(r.flux_shapes) for r in rows),
            rmse_std=stats.std,
            val_rmse=float(np.mean([r.val_rmse for r in rows])),
            train_time=float(np.mean([r.train_time for r in rows])),
            macs=rows[0].macs,
        ))
    return out


def _summarize_classical(baselines: Sequence[Sequence[Baseline]]) -> list[ClassicalSummary]:
    out = []
    for i, first in enumerate(baselines[0]):
        rows = [seed[i] for seed in baselines]
        stats = seed_stats([b.test_rmse for b in rows])
        out.append(ClassicalSummary(
            diffusivity=first.diffusivity, rmse=stats.mean, rmse_std=stats.std,
            rmse_runs=tuple(b.test_rmse for b in rows),
            val_rmse=float(np.mean([b.val_rmse for b in rows])),
            rmse_constant=float(np.mean([b.rmse_by_kind["constant"] for b in rows])),
            rmse_linear=float(np.mean([b.rmse_by_kind["linear"] for b in rows])),
            lams=tuple(b.lam for b in rows),
            stopping_times=tuple(b.stopping_time for b in rows)))
    return out


def markdown_table(summary: Sequence[FamilySummary],
                   classical: Sequence[ClassicalSummary] = ()) -> str:
    """Return the E6 results as a Markdown table (one row per family, then classical).

    The test RMSE column is the mean over the runs with the sample standard deviation.

    Examples
    --------
    >>> from pdecore.experiments.denoising import FamilySummary, markdown_table
    >>> s = FamilySummary("relu", 155, 10, 0.05, (0.05,), 0.06, 0.04, 1.0, 0, 5)
    >>> print(markdown_table([s]).splitlines()[2][:63])
    | relu | fixed, monotone | 10 | 155 | 0 | nan | 0.0500 ± 0.0000
    """
    bad = [type(s).__name__ for s in summary if not isinstance(s, FamilySummary)]
    bad += [type(c).__name__ for c in classical if not isinstance(c, ClassicalSummary)]
    if bad:
        raise TypeError(f"summary must hold FamilySummary rows (see summarize) and "
                        f"classical ClassicalSummary rows, got {bad[0]}")
    head = ("| family | activation | filters per block | parameters | multiply-adds per "
            "signal | training time (s) | test RMSE (mean ± std) | PSNR (dB) "
            "| RMSE, piecewise constant | RMSE, piecewise linear | nonmonotone fluxes "
            "| largest norm ratio |")
    lines = [head, "|" + "---|" * 12]
    for s in summary:
        mono = f"{s.nonmonotone_blocks} of {s.blocks}" if s.blocks else "n/a"
        lines.append(
            f"| {s.family} | {get_family(s.family).description} | {s.hidden} | {s.params} "
            f"| {s.macs} | {s.train_time:.1f} | {s.rmse:.4f} ± {s.rmse_std:.4f} "
            f"| {s.psnr:.2f} | {s.rmse_constant:.4f} | {s.rmse_linear:.4f} "
            f"| {mono} | {s.norm_ratio:.3f} |"
        )
    for c in classical:
        lam = "" if c.diffusivity == "linear" else (
            "λ " + "/".join(f"{v:.3g}" for v in c.lams) + ", ")
        times = "/".join(f"{t:g}" for t in c.stopping_times)
        lines.append(
            f"| {_classical_label(c.diffusivity)} | classical, tuned on "
            f"validation ({lam}T {times}) | - | {1 if c.diffusivity == 'linear' else 2} "
            f"| - | - | {c.rmse:.4f} ± {c.rmse_std:.4f} | {c.psnr:.2f} "
            f"| {c.rmse_constant:.4f} | {c.rmse_linear:.4f} | - | - |")
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


def _sentence(outcome: str, a: str, b: str) -> str:
    """One sentence for a :func:`paired_comparison` outcome of ``a`` against ``b``."""
    if outcome == "better":
        return f"{a[0].upper()}{a[1:]} beats {b} by the win rule."
    if outcome == "worse":
        return f"{b[0].upper()}{b[1:]} beats {a} by the win rule."
    return f"Neither {a} nor {b} wins by the rule: a tie."


def _list(names: Sequence[str]) -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _share_sentence(total: float, nonmono: float, best_fixed: str) -> str:
    """How the gap to the best fixed monotone flux splits into learning and nonmonotonicity."""
    if total <= 0:
        return (f"On average the learned nonmonotone flux is not more accurate than "
                f"{best_fixed}, so there is no gap to split.")
    learned = total - nonmono
    if nonmono <= 0:
        return (f"The mean gap of {total:.4f} between {best_fixed} (the best fixed monotone "
                f"flux on the validation split) and the learned nonmonotone flux is closed "
                f"entirely by learning a monotone flux: on average the trainable monotone "
                f"flux is {-nonmono:.4f} more accurate than the nonmonotone one.")
    return (f"Of the mean gap of {total:.4f} between {best_fixed} (the best fixed monotone "
            f"flux on the validation split) and the learned nonmonotone flux, learning a "
            f"monotone flux closes {learned:.4f} ({100 * learned / total:.0f} %); the "
            f"remaining {nonmono:.4f} ({100 * nonmono / total:.0f} %) is what allowing a "
            f"nonmonotone flux adds.")


def _drop_scale() -> str:
    """Return the words of :data:`DROP_WORDS` with their bounds, for the text."""
    parts = [f"{word} below {100 * bound:g} %" for bound, word in DROP_WORDS]
    return ", ".join(parts) + ", deep otherwise"


def _drop_word(drop: float) -> str:
    for bound, word in DROP_WORDS:
        if drop < bound:
            return word
    return "deep"


@dataclass(frozen=True)
class DenoisingResult:
    """Everything experiment E6 produced: inputs, splits, trained networks, numbers.

    Attributes
    ----------
    config : dict
        The resolved settings (:data:`CONFIGS`).
    seeds : tuple of int
        One seed per run: data split and initialisation, paired across families.
    splits : tuple of DenoisingSplits
        The data of each seed.
    runs : tuple of tuple of DenoisingRow
        The trained networks of each seed, in the order of ``config["families"]``.
    baselines : tuple of tuple of Baseline
        The classical diffusions of each seed, tuned on its validation split, in the
        order of ``config["classical"]``.
    """

    config: dict
    seeds: tuple[int, ...]
    splits: tuple[DenoisingSplits, ...]
    runs: tuple[tuple[DenoisingRow, ...], ...]
    baselines: tuple[tuple[Baseline, ...], ...]

    @cached_property
    def summary(self) -> list[FamilySummary]:
        """:func:`summarize` of the runs."""
        return summarize(self.runs)

    @cached_property
    def classical(self) -> list[ClassicalSummary]:
        """The classical diffusions over the seeds."""
        return _summarize_classical(self.baselines) if self.baselines[0] else []

    def family(self, name: str) -> FamilySummary:
        """Return the summary of one family (``ValueError`` if it did not run)."""
        for s in self.summary:
            if s.family == name:
                return s
        raise ValueError(f"family {name!r} did not run; ran {[s.family for s in self.summary]}")

    def rows(self, name: str, seed_index: int = 0) -> DenoisingRow:
        """Return the trained network of family ``name`` in run ``seed_index``."""
        for r in self.runs[seed_index]:
            if r.family == name:
                return r
        raise ValueError(f"family {name!r} did not run")

    def scores(self, name: str) -> np.ndarray:
        """Test RMSE per seed of a family or of a classical diffusion (``"classical_<d>"``)."""
        if name.startswith("classical_"):
            d = name.removeprefix("classical_")
            for c in self.classical:
                if c.diffusivity == d:
                    return np.array(c.rmse_runs)
            raise ValueError(f"classical diffusion {d!r} did not run")
        return np.array(self.family(name).rmse_runs)

    def compare(self, a: str, b: str) -> str:
        """:func:`pdecore.results.paired_comparison` of the test RMSE of ``a`` and ``b``."""
        return paired_comparison(self.scores(a), self.scores(b))

    def best(self, names: Iterable[str]) -> str:
        """Of ``names``, the one with the lowest mean *validation* RMSE (never the test)."""
        def val(name: str) -> float:
            if name.startswith("classical_"):
                d = name.removeprefix("classical_")
                return next(c.val_rmse for c in self.classical if c.diffusivity == d)
            return self.family(name).val_rmse
        return min(names, key=val)

    def depth_stats(self, family: str = "trainable") -> dict[str, float]:
        """Medians and maxima of the flux shapes of one family over all blocks and seeds."""
        shapes = [m for run in self.runs for r in run if r.family == family
                  for m in r.flux_shapes]
        if not shapes:
            raise ValueError(f"family {family!r} has no learned fluxes")
        drops = np.array([m.relative_drop for m in shapes])
        data = np.array([m.data_fraction for m in shapes], dtype=float)
        return {
            "median_drop": float(np.median(drops)),
            "max_drop": float(drops.max()),
            "median_decreasing": float(np.median([m.decreasing_fraction for m in shapes])),
            "median_data_fraction": float(np.median(data)),
            "max_data_fraction": float(data.max()),
            "min_slope": float(min(m.min_slope for m in shapes)),
            "blocks": len(shapes),
            "nonmonotone_blocks": int(sum(m.nonmonotone for m in shapes)),
        }

    def numbers(self) -> dict[str, float | int | str]:
        """Every number and computed verdict of chapter 6, flat (see the chapter)."""
        cfg = self.config
        families = [s.family for s in self.summary]
        out: dict[str, float | int | str] = {
            "n_runs": len(self.seeds),
            "seeds_text": ", ".join(map(str, self.seeds)),
            "n_train": int(cfg["n_train"]), "n_val": int(cfg["n_val"]),
            "n_test": int(cfg["n_test"]), "n_points": int(cfg["n"]),
            "sigma": float(cfg["sigma"]), "epochs": int(cfg["epochs"]),
            "budget": int(cfg["budget"]), "depth": int(cfg["depth"]),
            "noisy_rmse": float(np.mean([np.sqrt(np.mean((s.test.X - s.test.y) ** 2))
                                         for s in self.splits])),
            "win_rule": WIN_RULE,
            "n_families": len(self.summary),
            "tau_classical": float(cfg["tau"]),
            "max_time_classical": float(cfg["max_time"]),
        }
        for s in self.summary:
            f = s.family
            out[f"params_{f}"] = s.params
            out[f"hidden_{f}"] = s.hidden
            out[f"rmse_{f}"] = s.rmse
            out[f"rmse_{f}_std"] = s.rmse_std
            out[f"val_rmse_{f}"] = s.val_rmse
        for c in self.classical:
            d = c.diffusivity
            out[f"rmse_classical_{d}"] = c.rmse
            out[f"rmse_classical_{d}_std"] = c.rmse_std
            out[f"val_rmse_classical_{d}"] = c.val_rmse
            out[f"lam_classical_{d}_min"] = min(c.lams)
            out[f"lam_classical_{d}_max"] = max(c.lams)
            out[f"time_classical_{d}_min"] = min(c.stopping_times)
            out[f"time_classical_{d}_max"] = max(c.stopping_times)
            steps = [b.n_steps for seed in self.baselines for b in seed if b.diffusivity == d]
            out[f"steps_classical_{d}_min"] = min(steps)
            out[f"steps_classical_{d}_max"] = max(steps)
        if "trainable" not in families:
            return out
        paired = len(self.seeds) >= 2
        t = self.family("trainable")
        out["rmse_trainable"] = t.rmse
        # the key comparison: one factor (nonmonotone allowed or not), equal parameters
        if paired:
            for f in families:
                if f != "trainable":
                    out[f"cmp_{f}"] = self.compare("trainable", f)
            for c in self.classical:
                out[f"cmp_classical_{c.diffusivity}"] = self.compare(
                    "trainable", f"classical_{c.diffusivity}")
        if "trainable_monotone" in families:
            m = self.family("trainable_monotone")
            out["gain_key"] = 100.0 * (1.0 - t.rmse / m.rmse)
            if paired:
                out["verdict_key"] = _sentence(out["cmp_trainable_monotone"], _phrase("trainable"),
                                               _phrase("trainable_monotone"))
            d = self.depth_stats("trainable_monotone")
            out["mono_nonmono_blocks"] = d["nonmonotone_blocks"]
            out["mono_min_slope"] = d["min_slope"]
        monotone = [f for f in MONOTONE if f in families]
        fixed = [f for f in monotone if f != "trainable_monotone"]
        if monotone:
            best = self.best(monotone)
            out["best_mono"] = best
            out["best_mono_label"] = _phrase(best)
            out["rmse_best_mono"] = self.family(best).rmse
            out["gain_mono"] = 100.0 * (1.0 - t.rmse / self.family(best).rmse)
            # old meaning: runs in which the learned flux beat every monotone network
            out["wins_mono"] = wins(self.runs, "trainable", monotone)
            out["n_mono"] = len(monotone)
            if paired:
                won = [f for f in monotone if out[f"cmp_{f}"] == "better"]
                out["wins_mono_paired"] = len(won)
        if fixed and paired:
            won = [f for f in fixed if out[f"cmp_{f}"] == "better"]
            lost = [f for f in fixed if out[f"cmp_{f}"] == "worse"]
            best_fixed = self.best(fixed)
            out["best_fixed"] = best_fixed
            out["rmse_best_fixed"] = self.family(best_fixed).rmse
            out["wins_fixed"] = len(won)
            out["n_fixed"] = len(fixed)
            text = (f"The learned nonmonotone flux beats {len(won)} of the {len(fixed)} fixed "
                    f"monotone fluxes by the win rule")
            text += f" ({_list([_phrase(f) for f in won])})." if won else "."
            if lost:
                text += f" It loses to {_list([_phrase(f) for f in lost])}."
            out["verdict_fixed"] = text
            if "trainable_monotone" in families:
                # how much of the gap to the best fixed monotone flux is learnability,
                # how much nonmonotonicity
                total = self.family(best_fixed).rmse - t.rmse
                nonmono = self.family("trainable_monotone").rmse - t.rmse
                out["gap_total"] = total
                out["gap_nonmono"] = nonmono
                out["gap_learned"] = total - nonmono
                out["verdict_share"] = _share_sentence(total, nonmono, _phrase(best_fixed))
        for f in ("perona_malik", "standard"):
            if f in families and paired:
                out[f"verdict_{f}"] = _sentence(out[f"cmp_{f}"], _phrase("trainable"), _phrase(f))
        if self.classical and paired:
            names = [f"classical_{c.diffusivity}" for c in self.classical]
            best_c = self.best(names).removeprefix("classical_")
            c = next(x for x in self.classical if x.diffusivity == best_c)
            out["best_classical"] = best_c
            out["best_classical_label"] = _classical_label(best_c)
            out["rmse_best_classical"] = c.rmse
            out["rmse_best_classical_std"] = c.rmse_std
            beaten = [f for f in families
                      if paired_comparison(c.rmse_runs, self.scores(f)) == "better"]
            beating = [f for f in families
                       if paired_comparison(c.rmse_runs, self.scores(f)) == "worse"]
            out["classical_beats"] = len(beaten)
            out["classical_loses"] = len(beating)
            out["n_networks"] = len(families)
            label = _classical_label(best_c)
            cap = f"{label[0].upper()}{label[1:]}"
            text = (f"{cap}, tuned on the validation split, beats {len(beaten)} of the "
                    f"{len(families)} networks by the win rule")
            if "trainable" in beaten:
                text += ", the learned nonmonotone flux among them."
            elif "trainable" in beating:
                text += "; the learned nonmonotone flux beats it."
            else:
                text += "; against the learned nonmonotone flux it is a tie."
            if not beating:
                text += " No network beats it."
            elif beating != ["trainable"]:
                text += f" It loses to {_list([_phrase(f) for f in beating])}."
            out["verdict_classical"] = text
        d = self.depth_stats("trainable")
        out["nonmono_blocks"] = d["nonmonotone_blocks"]
        out["all_blocks"] = d["blocks"]
        out["median_decreasing"] = 100.0 * d["median_decreasing"]
        out["median_drop"] = 100.0 * d["median_drop"]
        out["max_drop"] = 100.0 * d["max_drop"]
        out["median_data_fraction"] = 100.0 * d["median_data_fraction"]
        out["max_data_fraction"] = 100.0 * d["max_data_fraction"]
        out["drop_word"] = _drop_word(d["median_drop"])
        out["drop_scale"] = _drop_scale()
        n_non, n_all = d["nonmonotone_blocks"], d["blocks"]
        out["verdict_shape"] = (
            "The learned fluxes are nonmonotone: most blocks learned backward diffusion."
            if 2 * n_non > n_all else
            "Some learned fluxes are nonmonotone, but most blocks stayed monotone."
            if n_non else
            "None of the learned fluxes became nonmonotone on its active range.")
        if "perona_malik" in families:
            pm = self.family("perona_malik")
            out["pm_used"] = pm.nonmonotone_blocks
            out["pm_blocks"] = pm.blocks
        diffusion = [s.norm_ratio for s in self.summary if s.family != "standard"]
        if diffusion:
            out["diffusion_max"] = max(diffusion)
            out["verdict_stable"] = (
                "never above 1, as the theorem says" if max(diffusion) <= 1.0 + 1e-12 else
                "above 1: the theorem is violated, which points to a bug")
        if "standard" in families:
            ratio = self.family("standard").norm_ratio
            out["standard_max"] = ratio
            out["verdict_standard_norm"] = (
                f"amplifies some input by a factor {ratio:.2f} in one block: nothing in "
                f"its training keeps it stable" if ratio > 1.0 + 1e-12 else
                "amplified none of the tested inputs, although nothing in its training "
                "guarantees this")
        return out


def run(config: str | Mapping[str, Any] = "default", *, progress: bool = False,
        **overrides: Any) -> DenoisingResult:
    """Run experiment E6 for one configuration of :data:`CONFIGS`.

    For every seed: draw the splits (:func:`denoising_splits`), train every family
    (:func:`denoising_experiment`, same initial seed and mini-batches for all), tune each
    classical diffusion of ``config["classical"]`` on the validation split (contrast
    from ``lams``, stopping time up to ``max_time`` at step size ``tau``) and score it
    once on the test split (:func:`classical_baseline`).

    Parameters
    ----------
    config : str or mapping
        ``"quick"``, ``"default"`` or ``"paper"``, or a full settings mapping.
    progress : bool
        tqdm bars during each fit.
    **overrides
        Settings to change (``seeds``, ``budget``, ``depth``, ``epochs``, ...).

    Returns
    -------
    DenoisingResult

    Raises
    ------
    ValueError
        Unknown configuration or setting, no seeds, bad sizes.

    Examples
    --------
    >>> from pdecore.experiments import denoising
    >>> res = denoising.run("quick", seeds=(0, 1), families=("trainable", "linear"),
    ...                     classical=("linear",), n=32, n_train=16, n_val=8, n_test=8,
    ...                     epochs=1, budget=40, depth=2, max_time=5.0)
    >>> print(res.seeds, res.numbers()["cmp_linear"] in ("better", "worse", "tie"))
    (0, 1) True
    """
    cfg = resolve_config(CONFIGS, config, **overrides)
    seeds = tuple(cfg["seeds"]) if isinstance(cfg["seeds"], Iterable) else (cfg["seeds"],)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    seeds = tuple(as_int(s, "seeds", minimum=0) for s in seeds)
    cfg["seeds"] = seeds
    families = tuple(cfg["families"])
    classical = tuple(cfg["classical"])
    cfg["families"], cfg["classical"] = families, classical
    tau = as_positive(cfg["tau"], "tau")
    max_steps = max(1, int(round(as_positive(cfg["max_time"], "max_time") / tau)))
    splits, runs, baselines = [], [], []
    for seed in seeds:
        data = denoising_splits(cfg["n"], cfg["n_train"], cfg["n_test"], seed, cfg["sigma"],
                                n_val=cfg["n_val"])
        rows = denoising_experiment(families, cfg["budget"], cfg["depth"], seed=seed,
                                    epochs=cfg["epochs"], progress=progress, data=data,
                                    batch_size=cfg["batch_size"], lr=cfg["lr"])
        splits.append(data)
        runs.append(tuple(rows))
        baselines.append(tuple(classical_baseline(data.val, d, cfg["lams"], max_steps, tau,
                                                  test=data.test) for d in classical))
    return DenoisingResult(cfg, seeds, tuple(splits), tuple(runs), tuple(baselines))
