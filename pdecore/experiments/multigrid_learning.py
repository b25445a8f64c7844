r"""Experiment E4: learned multigrid U-net versus standard U-net, and versus the solvers.

The task is one semi-implicit Perona-Malik step with a per-sample contrast,

.. math:: (I + \tau D^\top G_\lambda(f) D)\, u = f, \qquad
   (f, \lambda) \mapsto u,

on noisy piecewise-constant signals :math:`f` (:func:`pdecore.piecewise_constant`,
:func:`pdecore.add_noise`). The input has two channels, :math:`f` and the constant
:math:`\lambda`; the target is :func:`pdecore.semi_implicit_step` (LAPACK ``dptsv``).

:func:`run` does, for every seed (its own training, validation and test split and its
own initialisation, paired across the networks):

- the **size sweep**: the multigrid U-net (:class:`pdecore.nets.MultigridUNet`, residual
  form) and the standard U-net (:class:`pdecore.nets.StandardUNet`) at each parameter
  budget (:func:`pdecore.nets.unet_with_budget`), trained alike
  (:func:`pdecore.train.fit`, each network's learning rate chosen from a grid on the
  first seed's validation split) and scored once on the test split;
- the **ablation** at one budget: the chain :data:`VARIANTS` from the multigrid U-net to
  the standard U-net, each variant changing one factor of
  :data:`pdecore.nets.unet.UNET_FACTORS`;
- the **solvers**: the exact ``dptsv`` step, the one-cycle operator-dependent multigrid
  solve (red-black Gauss-Seidel, :func:`pdecore.multigrid_solve`) and classical V-cycles
  with linear interpolation (the smoother chosen on the validation split), with their
  errors and measured wall time per solve next to the networks'.

:class:`LearningResult` carries the splits, the rows and the timings; its
:meth:`~LearningResult.numbers` holds every number of chapter 5's section E4, with wins
decided by :func:`pdecore.results.paired_comparison`. Chapter 5.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch
from scipy.linalg import lapack

from .._validation import as_choice, as_int, as_positive
from ..implicit import semi_implicit_matrix_bands, semi_implicit_step
from ..multigrid import SMOOTHERS, Tridiagonal, cycle, multigrid_hierarchy, multigrid_solve
from ..nets.unet import UNET_FACTORS, unet_with_budget
from ..results import WIN_RULE, paired_comparison, resolve_config, seed_stats
from ..signals import add_noise, piecewise_constant
from ..train import History, count_parameters, evaluate, fit

__all__ = [
    "CONFIGS",
    "VARIANTS",
    "LearningData",
    "LearningResult",
    "LearningRow",
    "LearningSplits",
    "learning_data",
    "learning_experiment",
    "learning_splits",
    "run",
    "vcycle_errors",
    "vcycles_to_match",
]


def _chain() -> dict[str, tuple[str, dict[str, Any], str | None]]:
    names = ("multigrid", "features", "untied", "affine", "concat", "standard")
    factors = list(UNET_FACTORS)
    chain = {}
    for i, name in enumerate(names):
        if name == "standard":
            chain[name] = ("standard", {}, factors[-1])
        else:
            switches = {f: UNET_FACTORS[f][1] for f in factors[:i]}
            chain[name] = ("multigrid", switches, factors[i - 1] if i else None)
    return chain


#: The ablation chain from the multigrid U-net to the standard U-net: variant name ->
#: (U-net kind, switches of :class:`pdecore.nets.MultigridUNet`, the factor of
#: :data:`pdecore.nets.unet.UNET_FACTORS` it changes with respect to the variant above).
VARIANTS: dict[str, tuple[str, dict[str, Any], str | None]] = _chain()

#: What each variant is, for tables.
LABELS = {
    "multigrid": "multigrid U-net (residual form)",
    "features": "- residual form: features restricted",
    "untied": "- tied transfer: P independent of R",
    "affine": "- linear transfer: bias and activation",
    "concat": "- added skip: concatenated",
    "standard": "- residual blocks: plain = standard U-net",
}

#: The multigrid choice of each factor of :data:`pdecore.nets.unet.UNET_FACTORS`, in words.
FACTOR_LABELS = {"form": "the residual form", "share_transfer": "tied transfer",
                 "transfer": "linear transfer", "skip": "added skip",
                 "block": "residual blocks"}

#: What a factor's multigrid choice does, by the paired rule, for the chapter's text.
FACTOR_WORDS = {"better": "helps", "worse": "hurts", "tie": "makes no significant difference"}

#: Settings of chapter 5's E4: ``quick`` (CI, seconds), ``default`` (the book: three
#: seeds, a few minutes on 2 cores) and ``paper`` (longer signals, larger budgets, five
#: seeds; not run by the book).
CONFIGS: dict[str, dict[str, Any]] = {
    "quick": {"seeds": (0, 1, 2), "budgets": (1000, 3000), "ablation_budget": 1000,
              "n": 32, "levels": 3, "n_train": 96, "n_val": 32, "n_test": 32,
              "epochs": 16, "decay_epochs": 4, "batch_size": 32, "lr_grid": (3e-3, 1e-2),
              "tau": 10.0,
              "dtype": "float32", "max_cycles": 6, "timing_repeats": 3},
    "default": {"seeds": (0, 1, 2), "budgets": (1500, 4500, 13500), "ablation_budget": 4500,
                "n": 64, "levels": 4, "n_train": 224, "n_val": 64, "n_test": 128,
                "epochs": 28, "decay_epochs": 7, "batch_size": 32, "lr_grid": (3e-3, 1e-2),
                "tau": 10.0,
                "dtype": "float32", "max_cycles": 8, "timing_repeats": 7},
    "paper": {"seeds": (0, 1, 2, 3, 4), "budgets": (2000, 8000, 32000, 128000),
              "ablation_budget": 8000, "n": 128, "levels": 5, "n_train": 2048,
              "n_val": 256, "n_test": 512, "epochs": 200, "decay_epochs": 50,
              "batch_size": 32, "lr_grid": (1e-3, 3e-3, 1e-2), "tau": 10.0, "dtype": "float32",
              "max_cycles": 10, "timing_repeats": 7},
}

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class LearningData:
    """Inputs ``X`` (S, 2, N) = (f, lambda), targets ``y`` (S, 1, N), and ``lam`` (S,)."""

    X: np.ndarray
    y: np.ndarray
    lam: np.ndarray
    tau: float


@dataclass(frozen=True)
class LearningSplits:
    """The training, validation and test data of one seed (independent draws)."""

    train: LearningData
    val: LearningData
    test: LearningData


@dataclass(frozen=True)
class LearningRow:
    """One trained network.

    Attributes
    ----------
    variant : str
        Key of :data:`VARIANTS` (``"multigrid"``, ..., ``"standard"``).
    budget : int
        The parameter budget it was sized to.
    seed : int
        Data split and initialisation seed.
    params : int
        Trainable parameters.
    channels : int
        Feature channels.
    macs : int
        Multiply-adds of one forward pass on one signal.
    test_rmse, val_rmse : float
        RMSE against the exact step on the test split (touched once, after training) and
        on the validation split (after the last epoch).
    seconds_per_solve : float
        Wall time of one forward pass on the test split, divided by its size (best of
        the configured repeats, torch's current thread count).
    lr : float
        Learning rate of the first training phase.
    history : pdecore.train.History
        ``val_loss`` is the validation MSE after each epoch (the training curve).
    """

    variant: str
    budget: int
    seed: int
    params: int
    channels: int
    macs: int
    test_rmse: float
    val_rmse: float
    seconds_per_solve: float
    lr: float
    history: History


def learning_data(
    n_samples: int,
    n: int = 128,
    *,
    tau: float = 10.0,
    lam_range: tuple[float, float] = (0.05, 0.5),
    sigma: float = 0.05,
    n_jumps: int = 5,
    seed: int = 0,
) -> LearningData:
    r"""Generate ``(f, lambda) -> semi_implicit_step(f, tau, "perona_malik", lambda)`` pairs.

    Parameters
    ----------
    n_samples : int
        Number of signals :math:`S`.
    n : int
        Grid points per signal.
    tau : float
        Step size :math:`\tau` of the semi-implicit step (the same for all samples).
    lam_range : (float, float)
        Contrast parameters are drawn log-uniformly from this interval.
    sigma : float
        Noise level of :func:`pdecore.add_noise`.
    n_jumps : int
        Jumps per piecewise-constant signal.
    seed : int
        Seed of the signals, the noise (``seed + 1``) and the contrasts (``seed + 2``).

    Returns
    -------
    LearningData
        float64 arrays; ``X[:, 1]`` holds :math:`\lambda` at every grid point.

    Raises
    ------
    ValueError
        Non-positive sizes or parameters, ``lam_range`` not increasing.
    """
    n_samples = as_int(n_samples, "n_samples")
    tau = as_positive(tau, "tau")
    lo, hi = (as_positive(v, "lam_range") for v in lam_range)
    if lo > hi:
        raise ValueError(f"lam_range must be increasing, got {lam_range}")
    seed = as_int(seed, "seed", minimum=0)
    clean = piecewise_constant(n, n_jumps, batch=n_samples, seed=seed)
    f = add_noise(clean, sigma, seed=seed + 1)
    lam = np.exp(np.random.default_rng(seed + 2).uniform(np.log(lo), np.log(hi), n_samples))
    u = np.stack([semi_implicit_step(fi, tau, "perona_malik", li)
                  for fi, li in zip(f, lam, strict=True)])
    X = np.stack([f, np.broadcast_to(lam[:, None], f.shape)], axis=1)
    return LearningData(X=X, y=u[:, None, :], lam=lam, tau=tau)


def learning_splits(
    n: int, n_train: int, n_test: int, seed: int = 0, tau: float = 10.0, *, n_val: int = 64
) -> LearningSplits:
    """Training, validation and test data of E4 for one seed: independent draws.

    The data seeds are ``10 * seed`` (training), ``10 * seed + 500`` (validation) and
    ``10 * seed + 1000`` (test), each used as in :func:`learning_data`.

    Returns
    -------
    LearningSplits
    """
    n_train, n_test = as_int(n_train, "n_train"), as_int(n_test, "n_test")
    n_val = as_int(n_val, "n_val")
    seed = as_int(seed, "seed", minimum=0)
    return LearningSplits(learning_data(n_train, n, tau=tau, seed=10 * seed),
                          learning_data(n_val, n, tau=tau, seed=10 * seed + 500),
                          learning_data(n_test, n, tau=tau, seed=10 * seed + 1000))


def _time_forward(net: torch.nn.Module, X: torch.Tensor, repeats: int) -> float:
    best = np.inf
    with torch.no_grad():
        net(X[:2])  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            net(X)
            best = min(best, time.perf_counter() - t0)
    return best / X.shape[0]


def _check_variants(kinds: Iterable[str]) -> list[str]:
    kinds = list(kinds)
    for kind in kinds:
        if kind not in VARIANTS:
            raise ValueError(f"kinds must be from {tuple(VARIANTS)}, got {kind!r}")
    return kinds


def learning_experiment(
    budgets: Iterable[int] = CONFIGS["quick"]["budgets"],
    kinds: Iterable[str] = ("multigrid", "standard"),
    n: int = CONFIGS["quick"]["n"],
    n_train: int = CONFIGS["quick"]["n_train"],
    n_test: int = CONFIGS["quick"]["n_test"],
    epochs: int = CONFIGS["quick"]["epochs"],
    seed: int = 0,
    progress: bool = False,
    *,
    n_val: int = CONFIGS["quick"]["n_val"],
    splits: LearningSplits | None = None,
    levels: int = 4,
    batch_size: int = 32,
    lr: float = 1e-2,
    decay_epochs: int = 0,
    tau: float = 10.0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    timing_repeats: int = 3,
    **unet_kwargs,
) -> list[LearningRow]:
    """Train each variant at each parameter budget on one seed; one row per network.

    Every network starts from ``torch.manual_seed(seed)`` and trains on the same data
    with the same shuffling (:func:`pdecore.train.fit`, MSE loss, Adam, no early
    stopping): ``epochs - decay_epochs`` epochs at the learning rate ``lr``, then
    ``decay_epochs`` epochs at ``lr / 10`` (a second Adam run, shuffling seed
    ``seed + 1``). The validation split gives the training curve, the test split is
    scored once at the end.

    Parameters
    ----------
    budgets : iterable of int
        Target trainable-parameter counts (:func:`pdecore.nets.unet_with_budget`).
    kinds : iterable of str
        Variants, keys of :data:`VARIANTS` (``"multigrid"``, ``"standard"``, and the
        ablation steps between them).
    n : int
        Grid points per signal.
    n_train, n_test : int
        Training and test samples.
    epochs : int
        Training epochs (all phases).
    seed : int
        Seed of data (:func:`learning_splits`), initial weights and shuffling.
    progress : bool
        tqdm bar over the epochs of each fit.
    n_val : int
        Validation samples.
    splits : LearningSplits, optional
        Data to use instead of drawing it (then ``n``, ``n_train``, ``n_val``,
        ``n_test`` and ``tau`` are ignored).
    levels : int
        Grid levels of every U-net.
    batch_size, lr : int, float
        Passed to :func:`pdecore.train.fit`.
    decay_epochs : int
        Final epochs at ``lr / 10``, ``0 <= decay_epochs < epochs``.
    tau : float
        Step size of the target semi-implicit step.
    dtype, device : torch.dtype, torch.device or str
        Precision and device of the networks.
    timing_repeats : int
        Forward passes timed on the test split (the best counts).
    **unet_kwargs
        Further arguments of the U-nets (``kernel_size``, ``smoothing_blocks``, ...).

    Returns
    -------
    list of LearningRow
        In the order ``for budget in budgets: for kind in kinds``.

    Raises
    ------
    ValueError
        Unknown kind, non-positive sizes.

    Examples
    --------
    >>> from pdecore.experiments.multigrid_learning import learning_experiment
    >>> rows = learning_experiment([300], n=32, n_train=16, n_val=8, n_test=8, epochs=2,
    ...                            levels=2)
    >>> print([r.variant for r in rows], all(r.test_rmse > 0 for r in rows))
    ['multigrid', 'standard'] True
    """
    budgets, kinds = [as_int(b, "budget") for b in budgets], _check_variants(kinds)
    seed = as_int(seed, "seed", minimum=0)
    epochs = as_int(epochs, "epochs")
    decay_epochs = as_int(decay_epochs, "decay_epochs", minimum=0)
    if decay_epochs >= epochs:
        raise ValueError(f"decay_epochs must be below epochs={epochs}, got {decay_epochs}")
    repeats = as_int(timing_repeats, "timing_repeats")
    if splits is None:
        splits = learning_splits(n, n_train, n_test, seed, tau, n_val=n_val)
    elif not isinstance(splits, LearningSplits):
        raise TypeError(f"splits must be a LearningSplits, got {type(splits).__name__}")

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=dtype)

    X, y = tensor(splits.train.X), tensor(splits.train.y)
    Xv, yv = tensor(splits.val.X), tensor(splits.val.y)
    Xt, yt = tensor(splits.test.X), tensor(splits.test.y)
    n_points = X.shape[-1]
    rows = []
    for budget in budgets:
        for kind in kinds:
            family, switches, _ = VARIANTS[kind]
            torch.manual_seed(seed)
            net = unet_with_budget(family, budget, levels, **switches, **unet_kwargs)
            net = net.to(dtype=dtype, device=device)
            history = fit(net, X, y, epochs=epochs - decay_epochs, batch_size=batch_size,
                          lr=lr, seed=seed, device=device, val=(Xv, yv), progress=progress)
            if decay_epochs:
                late = fit(net, X, y, epochs=decay_epochs, batch_size=batch_size,
                           lr=lr / 10, seed=seed + 1, device=device, val=(Xv, yv),
                           progress=progress)
                history = History(**{f: getattr(history, f) + getattr(late, f)
                                     for f in ("train_loss", "val_loss", "batch_loss")})
            mse = evaluate(net, Xt, yt, "mse", batch_size=4096, device=device)
            net.eval()
            seconds = _time_forward(net, Xt.to(device), repeats)
            rows.append(LearningRow(kind, budget, seed, count_parameters(net), net.channels,
                                    net.multiply_adds(n_points), float(np.sqrt(mse)),
                                    float(np.sqrt(history.val_loss[-1])), seconds, float(lr),
                                    history))
    return rows


def _hierarchy(A: Tridiagonal, interpolation: str, levels: int | None):
    if levels is None:
        return multigrid_hierarchy(A, interpolation=interpolation)
    levels = as_int(levels, "levels")
    return multigrid_hierarchy(A, interpolation=interpolation, min_size=2, max_levels=levels)


def _systems(data: LearningData):
    for fi, lam in zip(data.X[:, 0], data.lam, strict=True):
        bands = semi_implicit_matrix_bands(fi, data.tau, "perona_malik", lam)
        yield fi, lam, Tridiagonal.from_bands(bands)


def vcycle_errors(
    data: LearningData,
    max_cycles: int = 10,
    *,
    interpolation: str = "linear",
    smoother: str = "jacobi",
    pre: int = 2,
    post: int = 2,
    levels: int | None = None,
) -> np.ndarray:
    r"""RMSE against the exact step after :math:`k = 0, \ldots,` ``max_cycles`` V-cycles.

    Each sample's system :math:`(I + \tau D^\top G_\lambda(f) D) u = f` is solved from
    :math:`u_0 = 0` by V(pre, post)-cycles with the given smoother and interpolation, as
    :func:`pdecore.multigrid_solve` with ``tol=0``, ``maxiter=k`` does.

    Parameters
    ----------
    data : LearningData
        From :func:`learning_data`.
    max_cycles : int
        Largest number of cycles.
    interpolation : {"linear", "operator"}
        Prolongation of the hierarchy.
    smoother : {"jacobi", "rbgs"}
        Damped Jacobi or red-black Gauss-Seidel.
    pre, post : int
        Smoothing sweeps per level.
    levels : int, optional
        Number of grid levels (coarsening down to 2 points at most); ``None``: the
        default hierarchy of :func:`pdecore.multigrid_hierarchy` (coarsest at most 32
        points).

    Returns
    -------
    ndarray, shape (max_cycles + 1,)
        RMSE over all test points after each number of cycles.
    """
    if not isinstance(data, LearningData):
        raise TypeError(f"data must be a LearningData (see learning_data), got "
                        f"{type(data).__name__}")
    max_cycles = as_int(max_cycles, "max_cycles", minimum=0)
    as_choice(smoother, "smoother", SMOOTHERS)
    u = data.y[:, 0]
    sq = np.zeros(max_cycles + 1)
    for (fi, _, A), ui in zip(_systems(data), u, strict=True):
        hierarchy = _hierarchy(A, interpolation, levels)
        x = np.zeros_like(fi)
        sq[0] += np.sum((x - ui) ** 2)
        for k in range(1, max_cycles + 1):
            x = cycle(hierarchy, x, fi, pre=pre, post=post, smoother=smoother)
            sq[k] += np.sum((x - ui) ** 2)
    return np.sqrt(sq / u.size)


def vcycles_to_match(rmse: float, data: LearningData, max_cycles: int = 20,
                     **kwargs) -> int | None:
    """Smallest number of classical V-cycles whose test RMSE is ``<= rmse``.

    Parameters
    ----------
    rmse : float
        Target error, e.g. a :class:`LearningRow`'s ``test_rmse``.
    data : LearningData
        The test data.
    max_cycles : int
        Largest number of cycles tried.
    **kwargs
        Passed to :func:`vcycle_errors` (``interpolation``, ``smoother``, ``pre``,
        ``post``).

    Returns
    -------
    int or None
        The number of cycles, or ``None`` if ``max_cycles`` do not reach ``rmse``.

    Examples
    --------
    >>> from pdecore.experiments.multigrid_learning import learning_data, vcycles_to_match
    >>> data = learning_data(4, 64, seed=0)
    >>> print(vcycles_to_match(1e-3, data))
    3
    """
    rmse = as_positive(rmse, "rmse", allow_zero=True)
    errors = vcycle_errors(data, max_cycles, **kwargs)
    hits = np.nonzero(errors <= rmse)[0]
    return int(hits[0]) if hits.size else None


def _solver_timings(data: LearningData, max_cycles: int, smoother: str, levels: int,
                    repeats: int) -> dict[str, Any]:
    """Wall time per solve (one signal at a time) and error of the classical solvers."""
    systems = list(_systems(data))
    exact = data.y[:, 0]
    best = {"dptsv": np.inf, "raw": np.inf, "mg1": np.inf}
    vc = np.full(max_cycles + 1, np.inf)
    mg1 = np.empty_like(exact)
    for _ in range(repeats):
        t0 = time.perf_counter()
        for fi, lam, _ in systems:  # the library's exact step: bands + dptsv
            semi_implicit_step(fi, data.tau, "perona_malik", lam)
        best["dptsv"] = min(best["dptsv"], time.perf_counter() - t0)
        t0 = time.perf_counter()
        for fi, _, A in systems:  # the LAPACK call alone, on the assembled matrix
            lapack.dptsv(A.diag, A.off, fi)
        best["raw"] = min(best["raw"], time.perf_counter() - t0)
        t0 = time.perf_counter()
        for i, (fi, lam, _) in enumerate(systems):  # bands + hierarchy + one cycle
            A = Tridiagonal.from_bands(semi_implicit_matrix_bands(fi, data.tau,
                                                                  "perona_malik", lam))
            mg1[i] = multigrid_solve(_hierarchy(A, "operator", levels), fi, tol=0.0,
                                     maxiter=1, smoother="rbgs")[0]
        best["mg1"] = min(best["mg1"], time.perf_counter() - t0)
        acc = np.zeros(max_cycles + 1)
        for fi, lam, _ in systems:  # bands + hierarchy, then k classical V-cycles
            t0 = time.perf_counter()
            A = Tridiagonal.from_bands(semi_implicit_matrix_bands(fi, data.tau,
                                                                  "perona_malik", lam))
            hierarchy = _hierarchy(A, "linear", levels)
            x = np.zeros_like(fi)
            acc[0] += time.perf_counter() - t0
            for k in range(1, max_cycles + 1):
                t0 = time.perf_counter()
                x = cycle(hierarchy, x, fi, smoother=smoother)
                acc[k] += time.perf_counter() - t0
        vc = np.minimum(vc, np.cumsum(acc))
    m = len(systems)
    return {"dptsv": best["dptsv"] / m, "dptsv_lapack": best["raw"] / m,
            "mg1": best["mg1"] / m, "vcycle": vc / m,
            "mg1_rmse": float(np.sqrt(np.mean((mg1 - exact) ** 2)))}


#: A network "did not learn" when its test RMSE exceeds this fraction of the RMSE of
#: returning the input unchanged.
STUCK_FRACTION = 0.8

#: Time ratios within which two measured wall times count as "about as fast".
SAME_SPEED = (0.8, 1.25)


def _speed_word(t: float, reference: float) -> str:
    ratio = t / reference
    if ratio < SAME_SPEED[0]:
        return "faster than"
    if ratio > SAME_SPEED[1]:
        return "slower than"
    return "about as fast as"


@dataclass(frozen=True)
class LearningResult:
    """Everything experiment E4 produced: inputs, splits, networks' rows, solver timings.

    Attributes
    ----------
    config : dict
        The resolved settings (:data:`CONFIGS`).
    seeds : tuple of int
        One seed per run (data split and initialisation, paired across the networks).
    splits : tuple of LearningSplits
        The data of each seed.
    rows : tuple of LearningRow
        Every trained network (all seeds).
    vcycle_smoother : str
        Smoother of the classical V-cycles (linear interpolation), the one with the lower
        error after one cycle on the validation splits.
    vcycle_val : dict
        ``{smoother: (seeds, max_cycles + 1) array}`` of validation RMSE per cycle count.
    vcycle_test : ndarray, shape (seeds, max_cycles + 1)
        Test RMSE after k cycles of the chosen smoother.
    timings : dict
        Seconds per solve on the first seed's test split, one signal at a time:
        ``"dptsv"`` (:func:`pdecore.semi_implicit_step`: matrix and solve),
        ``"dptsv_lapack"`` (the LAPACK call alone), ``"mg1"`` (one operator-dependent
        red-black cycle, hierarchy included), ``"vcycle"`` (array over k cycles,
        hierarchy included); and ``"mg1_rmse"``.
    lrs : dict
        ``{variant: learning rate}`` chosen from ``config["lr_grid"]`` on the first
        seed's validation split at the ablation budget.
    lr_val : dict
        ``{(variant, lr): validation RMSE}`` of that choice.
    """

    config: dict
    seeds: tuple[int, ...]
    splits: tuple[LearningSplits, ...]
    rows: tuple[LearningRow, ...]
    vcycle_smoother: str
    vcycle_val: dict
    vcycle_test: np.ndarray
    timings: dict
    lrs: dict
    lr_val: dict

    def select(self, variant: str, budget: int) -> list[LearningRow]:
        """Return the rows of one variant and budget in seed order (``ValueError`` if none)."""
        rows = [r for r in self.rows if r.variant == variant and r.budget == budget]
        if not rows:
            raise ValueError(f"no rows for variant {variant!r} at budget {budget}")
        return sorted(rows, key=lambda r: self.seeds.index(r.seed))

    def scores(self, variant: str, budget: int) -> np.ndarray:
        """Test RMSE per seed of one variant at one budget."""
        return np.array([r.test_rmse for r in self.select(variant, budget)])

    def compare(self, a: str, b: str, budget: int) -> str:
        """:func:`pdecore.results.paired_comparison` of the test RMSE of two variants."""
        return paired_comparison(self.scores(a, budget), self.scores(b, budget))

    @cached_property
    def budgets(self) -> tuple[int, ...]:
        """The budgets of the size sweep."""
        return tuple(int(b) for b in self.config["budgets"])

    @cached_property
    def best(self) -> tuple[str, int]:
        """(variant, budget) of the sweep with the lowest mean *validation* RMSE."""
        cands = [(v, b) for b in self.budgets for v in ("multigrid", "standard")]
        return min(cands, key=lambda c: np.mean([r.val_rmse for r in self.select(*c)]))

    def summary(self) -> list[dict[str, Any]]:
        """One dict per (variant, budget): parameters, cost, mean and spread of the error."""
        out = []
        keys = dict.fromkeys((r.variant, r.budget) for r in self.rows)
        for variant, budget in keys:
            rows = self.select(variant, budget)
            s = seed_stats([r.test_rmse for r in rows])
            out.append({"variant": variant, "budget": budget,
                        "params": int(np.mean([r.params for r in rows])),
                        "channels": rows[0].channels, "macs": rows[0].macs,
                        "lr": rows[0].lr,
                        "us_per_solve": 1e6 * float(np.median([r.seconds_per_solve
                                                               for r in rows])),
                        "rmse": s.mean, "rmse_std": s.std, "rmse_min": s.min,
                        "rmse_max": s.max})
        return out

    def table(self, which: str = "sweep") -> str:
        """Return a plain-text table of the size sweep (``"sweep"``) or of the ablation."""
        if which not in ("sweep", "ablation"):
            raise ValueError(f"which must be 'sweep' or 'ablation', got {which!r}")
        rows = self.summary()
        if which == "sweep":
            rows = [r for r in rows if r["variant"] in ("multigrid", "standard")
                    and r["budget"] in self.budgets]
            rows.sort(key=lambda r: (r["budget"], r["variant"] != "multigrid"))
        else:
            b = int(self.config["ablation_budget"])
            rows = [next(r for r in rows if r["variant"] == v and r["budget"] == b)
                    for v in VARIANTS]
        head = (f"{'network':42s} {'budget':>6s} {'params':>6s} {'C':>3s} {'MACs':>8s} "
                f"{'lr':>6s} {'us/solve':>8s}  test RMSE, mean ± std (min-max) over "
                f"{len(self.seeds)} seeds")
        lines = [head]
        for r in rows:
            name = LABELS[r["variant"]] if which == "ablation" else f"{r['variant']} U-net"
            lines.append(f"{name:42s} {r['budget']:6d} {r['params']:6d} {r['channels']:3d} "
                         f"{r['macs']:8d} {r['lr']:6g} {r['us_per_solve']:8.1f}  "
                         f"{r['rmse']:.2e} ± "
                         f"{r['rmse_std']:.1e} ({r['rmse_min']:.2e}-{r['rmse_max']:.2e})")
        return "\n".join(lines)

    def numbers(self) -> dict[str, float | int | str]:
        """Every number and computed verdict of section E4 of chapter 5, flat."""
        cfg = self.config
        out: dict[str, float | int | str] = {
            "e4_n_seeds": len(self.seeds), "e4_seeds_text": ", ".join(map(str, self.seeds)),
            "e4_n": int(cfg["n"]), "e4_levels": int(cfg["levels"]),
            "e4_n_train": int(cfg["n_train"]), "e4_n_val": int(cfg["n_val"]),
            "e4_n_test": int(cfg["n_test"]), "e4_epochs": int(cfg["epochs"]),
            "e4_decay_epochs": int(cfg["decay_epochs"]),
            "e4_lr_grid": ", ".join(f"{lr:g}" for lr in cfg["lr_grid"]),
            "e4_tau": float(cfg["tau"]), "win_rule": WIN_RULE,
            "e4_identity": float(np.mean([np.sqrt(np.mean((s.test.X[:, :1] - s.test.y) ** 2))
                                          for s in self.splits])),
        }
        # size sweep: multigrid vs standard at each budget, paired over seeds
        verdicts = []
        for i, b in enumerate(self.budgets, start=1):
            mg, st = self.select("multigrid", b), self.select("standard", b)
            v = self.compare("multigrid", "standard", b) if len(self.seeds) >= 2 else "tie"
            verdicts.append(v)
            out[f"e4_b{i}_budget"] = b
            for key, rows in (("mg", mg), ("std", st)):
                s = seed_stats([r.test_rmse for r in rows])
                out[f"e4_b{i}_{key}_params"] = int(np.mean([r.params for r in rows]))
                out[f"e4_b{i}_{key}_rmse"] = s.mean
                out[f"e4_b{i}_{key}_rmse_std"] = s.std
            out[f"e4_b{i}_cmp"] = v
        # networks that did not learn: test RMSE above 80 % of returning the input
        identity = {seed: float(np.sqrt(np.mean((s.test.X[:, :1] - s.test.y) ** 2)))
                    for seed, s in zip(self.seeds, self.splits, strict=True)}
        stuck = [r for r in self.rows if r.test_rmse > STUCK_FRACTION * identity[r.seed]]
        out["e4_stuck"] = len(stuck)
        out["e4_runs"] = len(self.rows)
        out["e4_stuck_text"] = "; ".join(
            f"{r.variant} U-net at {r.budget} parameters, seed {r.seed}" if r.variant in
            ("multigrid", "standard") else f"ablation row {r.variant!r}, seed {r.seed}"
            for r in stuck) or "none"
        wins, losses = verdicts.count("better"), verdicts.count("worse")
        pairs = len(verdicts)
        out.update(e4_wins=wins, e4_losses=losses, e4_ties=pairs - wins - losses,
                   e4_pairs=pairs)
        if wins == pairs:
            verdict = "the multigrid U-net is more accurate at every budget"
        elif losses == pairs:
            verdict = "the standard U-net is more accurate at every budget"
        elif wins == losses == 0:
            verdict = "neither is more accurate at any budget (all ties)"
        else:
            verdict = f"the multigrid U-net is more accurate at {wins} of {pairs} budgets"
            if losses:
                verdict += f", less accurate at {losses}"
            if pairs - wins - losses:
                verdict += f", tied at {pairs - wins - losses}"
        out["e4_verdict"] = verdict
        big = self.budgets[-1]
        for key, variant in (("mg", "multigrid"), ("std", "standard")):
            rows = self.select(variant, big)
            out[f"e4_big_{key}_macs"] = rows[0].macs
            out[f"e4_big_{key}_us"] = 1e6 * float(np.median([r.seconds_per_solve
                                                             for r in rows]))
        # ablation: one factor per step, paired over seeds
        ab = int(cfg["ablation_budget"])
        out["abl_budget"] = ab
        names = list(VARIANTS)
        helps, hurts = [], []
        for name in names:
            s = seed_stats(self.scores(name, ab))
            out[f"abl_{name}_rmse"], out[f"abl_{name}_rmse_std"] = s.mean, s.std
            out[f"abl_{name}_params"] = int(np.mean([r.params for r in self.select(name, ab)]))
        for prev, name in zip(names[:-1], names[1:], strict=True):
            factor = VARIANTS[name][2]
            v = self.compare(prev, name, ab) if len(self.seeds) >= 2 else "tie"
            out[f"abl_{factor}"] = FACTOR_WORDS[v]
            (helps if v == "better" else hurts if v == "worse" else []).append(
                FACTOR_LABELS[factor])
        for name in names:
            out[f"lr_{name}"] = self.lrs[name]
        out["abl_helps"] = ", ".join(helps) if helps else "none"
        out["abl_hurts"] = ", ".join(hurts) if hurts else "none"
        # the solvers: error and wall time per solve
        t = self.timings
        vc = self.vcycle_test.mean(axis=0)
        out["e4_vc_smoother"] = self.vcycle_smoother
        out["e4_vc1"] = float(vc[1])
        out["t_dptsv_us"] = 1e6 * t["dptsv"]
        out["t_dptsv_lapack_us"] = 1e6 * t["dptsv_lapack"]
        out["t_mg1_us"] = 1e6 * t["mg1"]
        out["rmse_mg1"] = t["mg1_rmse"]
        out["t_vc1_us"] = 1e6 * float(t["vcycle"][1])
        variant, budget = self.best
        rows = self.select(variant, budget)
        net_rmse = float(np.mean([r.test_rmse for r in rows]))
        net_us = 1e6 * float(np.median([r.seconds_per_solve for r in rows]))
        out.update(best_variant=variant, best_budget=budget, best_params=rows[0].params,
                   best_rmse=net_rmse, best_us=net_us, best_macs=rows[0].macs)
        hits = np.nonzero(vc[1:] <= net_rmse)[0]
        if hits.size:
            k = int(hits[0]) + 1
            out["vc_match"] = k
            out["vc_match_text"] = f"{k} V-cycle{'s' if k != 1 else ''}"
            out["t_vc_match_us"] = 1e6 * float(t["vcycle"][k])
            out["best_vs_vc"] = (f"{_speed_word(net_us, out['t_vc_match_us'])} "
                                 f"{out['vc_match_text']}, the fewest that reach its error")
        else:
            out["vc_match"] = -1
            out["vc_match_text"] = f"more than {len(vc) - 1} V-cycles"
            out["best_vs_vc"] = (f"more accurate than {len(vc) - 1} V-cycles, which take "
                                 f"{1e6 * float(t['vcycle'][-1]):.0f} us")
        speed = {"faster than": "faster", "slower than": "slower",
                 "about as fast as": "about as fast"}[_speed_word(net_us, out["t_dptsv_us"])]
        accuracy = "less" if net_rmse > t["mg1_rmse"] else "as"
        out["best_vs_dptsv"] = f"{speed} and {accuracy} accurate"
        out["best_dptsv_time_ratio"] = net_us / out["t_dptsv_us"]
        if speed == "slower":
            out["e4_efficiency"] = ("Here, then, a learned U-net is not an efficient solver: "
                                    "the exact O(N) solver is faster and has no error.")
        else:
            out["e4_efficiency"] = (f"The best network is {_speed_word(net_us, out['t_dptsv_us'])}"
                                    f" dptsv here but not exact: its error is "
                                    f"{net_rmse:.1e}, the exact solvers' is rounding.")
        return out


def run(config: str | Mapping[str, Any] = "default", *, progress: bool = False,
        **overrides: Any) -> LearningResult:
    """Run experiment E4 for one configuration of :data:`CONFIGS`.

    First choose each variant's learning rate from ``lr_grid``: train it at
    ``ablation_budget`` on the first seed with every rate and keep the one with the
    lowest validation RMSE (that network is kept as the first seed's run). Then, for
    every seed: draw the splits (:func:`learning_splits`), train the multigrid and the
    standard U-net at every budget and the ablation variants (:data:`VARIANTS`) at
    ``ablation_budget`` (:func:`learning_experiment`), and compute the classical
    V-cycles' errors on the validation and test splits (:func:`vcycle_errors`).
    Finally time the exact solvers and the V-cycles on the first seed's test split.

    Parameters
    ----------
    config : str or mapping
        ``"quick"``, ``"default"`` or ``"paper"``, or a full settings mapping.
    progress : bool
        tqdm bars during each fit.
    **overrides
        Settings to change (``seeds``, ``budgets``, ``epochs``, ...).

    Returns
    -------
    LearningResult

    Raises
    ------
    ValueError
        Unknown configuration or setting, no seeds, bad sizes, unknown dtype.

    Examples
    --------
    >>> from pdecore.experiments import multigrid_learning
    >>> res = multigrid_learning.run("quick", seeds=(0, 1), budgets=(300,),
    ...                              ablation_budget=300, n=16, levels=2, n_train=8,
    ...                              n_val=4, n_test=4, epochs=1, decay_epochs=0,
    ...                              lr_grid=(1e-2,), max_cycles=2, timing_repeats=1)
    >>> print(res.seeds, res.numbers()["e4_b1_cmp"] in ("better", "worse", "tie"))
    (0, 1) True
    """
    cfg = resolve_config(CONFIGS, config, **overrides)
    seeds = tuple(cfg["seeds"]) if isinstance(cfg["seeds"], Iterable) else (cfg["seeds"],)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    seeds = tuple(as_int(s, "seeds", minimum=0) for s in seeds)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    budgets = tuple(as_int(b, "budgets") for b in cfg["budgets"])
    if not budgets:
        raise ValueError("budgets must hold at least one budget")
    ab = as_int(cfg["ablation_budget"], "ablation_budget")
    as_choice(cfg["dtype"], "dtype", sorted(_DTYPES))
    max_cycles = as_int(cfg["max_cycles"], "max_cycles")
    lr_grid = tuple(as_positive(lr, "lr_grid") for lr in cfg["lr_grid"])
    if not lr_grid:
        raise ValueError("lr_grid must hold at least one learning rate")
    cfg.update(seeds=seeds, budgets=budgets, ablation_budget=ab, lr_grid=lr_grid)
    common = dict(epochs=cfg["epochs"], decay_epochs=cfg["decay_epochs"],
                  levels=cfg["levels"], batch_size=cfg["batch_size"],
                  dtype=_DTYPES[cfg["dtype"]], progress=progress,
                  timing_repeats=cfg["timing_repeats"])
    splits = [learning_splits(cfg["n"], cfg["n_train"], cfg["n_test"], seed, cfg["tau"],
                              n_val=cfg["n_val"]) for seed in seeds]
    # learning rate per variant: the best on the first seed's validation split
    trained: dict[tuple[str, int, int], LearningRow] = {}
    lrs, lr_val = {}, {}
    for variant in VARIANTS:
        trials = [learning_experiment([ab], [variant], seed=seeds[0], splits=splits[0],
                                      lr=lr, **common)[0] for lr in lr_grid]
        for lr, row in zip(lr_grid, trials, strict=True):
            lr_val[(variant, lr)] = row.val_rmse
        best = min(trials, key=lambda r: r.val_rmse)
        lrs[variant] = best.lr
        trained[(variant, ab, seeds[0])] = best
    jobs = [(v, b) for b in budgets for v in ("multigrid", "standard")]
    jobs += [(v, ab) for v in VARIANTS if (v, ab) not in jobs]
    val_err = {s: [] for s in SMOOTHERS}
    for seed, sp in zip(seeds, splits, strict=True):
        for variant, budget in jobs:
            if (variant, budget, seed) not in trained:
                trained[(variant, budget, seed)] = learning_experiment(
                    [budget], [variant], seed=seed, splits=sp, lr=lrs[variant], **common)[0]
        for s in SMOOTHERS:
            val_err[s].append(vcycle_errors(sp.val, max_cycles, smoother=s,
                                            levels=cfg["levels"]))
    rows = [trained[(v, b, seed)] for seed in seeds for v, b in jobs]
    vcycle_val = {s: np.array(v) for s, v in val_err.items()}
    smoother = min(SMOOTHERS, key=lambda s: float(vcycle_val[s][:, 1].mean()))
    vcycle_test = np.array([vcycle_errors(sp.test, max_cycles, smoother=smoother,
                                          levels=cfg["levels"]) for sp in splits])
    timings = _solver_timings(splits[0].test, max_cycles, smoother, cfg["levels"],
                              as_int(cfg["timing_repeats"], "timing_repeats"))
    return LearningResult(cfg, seeds, tuple(splits), tuple(rows), smoother, vcycle_val,
                          vcycle_test, timings, lrs, lr_val)
