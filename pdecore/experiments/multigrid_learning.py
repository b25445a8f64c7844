r"""Experiment E4: learned multigrid U-net versus standard U-net at equal parameters.

The task is one semi-implicit Perona-Malik step with a per-sample contrast,

.. math:: (I + \tau D^\top G_\lambda(f) D)\, u = f, \qquad
   (f, \lambda) \mapsto u,

on noisy piecewise-constant signals :math:`f` (:func:`pdecore.piecewise_constant`,
:func:`pdecore.add_noise`). The input has two channels, :math:`f` and the constant
:math:`\lambda`; the target is :func:`pdecore.semi_implicit_step`. Both U-net families
(:class:`pdecore.nets.MultigridUNet`, :class:`pdecore.nets.StandardUNet`) are sized to the
same budgets with :func:`pdecore.nets.unet_with_budget`, trained with
:func:`pdecore.train.fit`, and scored by the test RMSE; :func:`vcycles_to_match` says
how many classical V-cycles reach the same error. Chapter 5.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from .._validation import as_int, as_positive
from ..implicit import semi_implicit_matrix_bands, semi_implicit_step
from ..multigrid import Tridiagonal, cycle, multigrid_hierarchy
from ..nets.unet import UNET_KINDS, unet_with_budget
from ..signals import add_noise, piecewise_constant
from ..train import History, count_parameters, evaluate, fit

__all__ = [
    "LearningData",
    "LearningRow",
    "QUICK",
    "learning_data",
    "learning_experiment",
    "learning_splits",
    "vcycle_errors",
    "vcycles_to_match",
]

#: A configuration that runs in well under a minute on 2 CPU cores.
QUICK = {"budgets": (2000, 8000), "n": 128, "n_train": 256, "n_test": 64, "epochs": 40}


@dataclass(frozen=True)
class LearningData:
    """Inputs ``X`` (S, 2, N) = (f, lambda), targets ``y`` (S, 1, N), and ``lam`` (S,)."""

    X: np.ndarray
    y: np.ndarray
    lam: np.ndarray
    tau: float


@dataclass(frozen=True)
class LearningRow:
    """One trained network: its family, parameter count, test RMSE and history."""

    kind: str
    params: int
    test_rmse: float
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
    n: int, n_train: int, n_test: int, seed: int = 0, tau: float = 10.0
) -> tuple[LearningData, LearningData]:
    """Training and test data of E4: independent draws (test seed ``seed + 1000``).

    Returns
    -------
    train, test : LearningData
    """
    n_train, n_test = as_int(n_train, "n_train"), as_int(n_test, "n_test")
    return (learning_data(n_train, n, tau=tau, seed=seed),
            learning_data(n_test, n, tau=tau, seed=seed + 1000))


def learning_experiment(
    budgets: Iterable[int] = QUICK["budgets"],
    kinds: Iterable[str] = UNET_KINDS,
    n: int = QUICK["n"],
    n_train: int = QUICK["n_train"],
    n_test: int = QUICK["n_test"],
    epochs: int = QUICK["epochs"],
    seed: int = 0,
    progress: bool = False,
    *,
    levels: int = 4,
    batch_size: int = 32,
    lr: float = 3e-3,
    tau: float = 10.0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    **unet_kwargs,
) -> list[LearningRow]:
    """Train each U-net family at each parameter budget; return one row per network.

    Every network starts from ``torch.manual_seed(seed)`` and trains on the same data
    with the same shuffling (:func:`pdecore.train.fit`, MSE loss, Adam).

    Parameters
    ----------
    budgets : iterable of int
        Target trainable-parameter counts (:func:`pdecore.nets.unet_with_budget`).
    kinds : iterable of {"multigrid", "standard"}
        U-net families.
    n : int
        Grid points per signal.
    n_train, n_test : int
        Training and test samples (test data use seed ``seed + 1000``).
    epochs : int
        Training epochs.
    seed : int
        Seed of data, initial weights and shuffling.
    progress : bool
        tqdm bar over the epochs of each fit.
    levels : int
        Grid levels of both U-nets.
    batch_size, lr : int, float
        Passed to :func:`pdecore.train.fit`.
    tau : float
        Step size of the target semi-implicit step.
    dtype, device : torch.dtype, torch.device or str
        Precision and device of the networks.
    **unet_kwargs
        Further arguments of the U-nets (``kernel_size``, ``smoothing_blocks``, ...).

    Returns
    -------
    list of LearningRow
        In the order ``for budget in budgets: for kind in kinds``; ``history.val_loss``
        is the test MSE after each epoch (the training curve).

    Raises
    ------
    ValueError
        Unknown kind, non-positive sizes.

    Examples
    --------
    >>> from pdecore.experiments.multigrid_learning import learning_experiment
    >>> rows = learning_experiment([300], n=32, n_train=16, n_test=8, epochs=2, levels=2)
    >>> print([r.kind for r in rows], all(r.test_rmse > 0 for r in rows))
    ['multigrid', 'standard'] True
    """
    budgets, kinds = [as_int(b, "budget") for b in budgets], list(kinds)
    for kind in kinds:
        if kind not in UNET_KINDS:
            raise ValueError(f"kinds must be from {UNET_KINDS}, got {kind!r}")
    train, test = learning_splits(n, n_train, n_test, seed, tau)
    X, y = torch.as_tensor(train.X, dtype=dtype), torch.as_tensor(train.y, dtype=dtype)
    Xt, yt = torch.as_tensor(test.X, dtype=dtype), torch.as_tensor(test.y, dtype=dtype)
    rows = []
    for budget in budgets:
        for kind in kinds:
            torch.manual_seed(seed)
            net = unet_with_budget(kind, budget, levels, **unet_kwargs).to(dtype=dtype,
                                                                             device=device)
            history = fit(net, X, y, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                          device=device, val=(Xt, yt), progress=progress)
            mse = evaluate(net, Xt, yt, "mse", batch_size=256, device=device)
            rows.append(LearningRow(kind, count_parameters(net), float(np.sqrt(mse)), history))
    return rows


def vcycle_errors(
    data: LearningData,
    max_cycles: int = 10,
    *,
    interpolation: str = "linear",
    pre: int = 2,
    post: int = 2,
) -> np.ndarray:
    r"""Test RMSE against the exact step after :math:`k = 0, \ldots,` ``max_cycles`` V-cycles.

    Each sample's system :math:`(I + \tau D^\top G_\lambda(f) D) u = f` is solved from
    :math:`u_0 = 0` by V(pre, post)-cycles with damped Jacobi smoothing and the given
    interpolation, as :func:`pdecore.multigrid_solve` with ``smoother="jacobi"``,
    ``tol=0``, ``maxiter=k`` does.

    Parameters
    ----------
    data : LearningData
        From :func:`learning_data`.
    max_cycles : int
        Largest number of cycles.
    interpolation : {"linear", "operator"}
        Prolongation of the hierarchy.
    pre, post : int
        Jacobi sweeps per level.

    Returns
    -------
    ndarray, shape (max_cycles + 1,)
        RMSE over all test points after each number of cycles.
    """
    if not isinstance(data, LearningData):
        raise TypeError(f"data must be a LearningData (see learning_data), got "
                        f"{type(data).__name__}")
    max_cycles = as_int(max_cycles, "max_cycles", minimum=0)
    f, u = data.X[:, 0], data.y[:, 0]
    sq = np.zeros(max_cycles + 1)
    for fi, ui, lam in zip(f, u, data.lam, strict=True):
        A = Tridiagonal.from_bands(semi_implicit_matrix_bands(fi, data.tau, "perona_malik",
                                                              lam))
        hierarchy = multigrid_hierarchy(A, interpolation=interpolation)
        x = np.zeros_like(fi)
        sq[0] += np.sum((x - ui) ** 2)
        for k in range(1, max_cycles + 1):
            x = cycle(hierarchy, x, fi, pre=pre, post=post, smoother="jacobi")
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
        Passed to :func:`vcycle_errors` (``interpolation``, ``pre``, ``post``).

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
