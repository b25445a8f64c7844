r"""Experiment E5: symmetric against standard residual classifiers at equal parameters.

Image classifiers (:class:`pdecore.nets.ResNetClassifier`) whose residual blocks are
symmetric, :math:`u - \tau W^\top \sigma(W u + b)`, or standard,
:math:`u + W_2 \sigma(W_1 u + b_1) + b_2`, are trained on a real data set
(Fashion-MNIST from Debian's package, or CIFAR-10 from a local folder) with
:func:`pdecore.train.fit`. Each *width* :math:`C` fixes a budget, the parameter count of
the standard network; the families are

====================  ============================================  ================
family                architecture                                  parameters
====================  ============================================  ================
``standard``          standard blocks, width :math:`C`, ``blocks``  the budget
``symmetric_half``    symmetric blocks, the same architecture       about half
``symmetric_deep``    symmetric blocks, twice the blocks per stage  the budget
``symmetric_stable``  twice as deep, stable by construction         the budget
``symmetric_wide``    symmetric blocks, width fitted to the budget  about the budget
====================  ============================================  ================

Besides the test accuracy, :func:`noisy_accuracy` scores robustness to Gaussian input
noise and :func:`block_gains` measures how norms and perturbations grow through the
blocks. Chapter 7 (:ref:`ch-classification`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._validation import as_choice, as_int, as_positive
from ..archive import Archive, read_archive, run_jobs
from ..data import FASHION_MNIST_DIR, load_cifar10, load_fashion_mnist
from ..families import get_family
from ..nets.classifier import (
    ResNetClassifier,
    classifier_macs,
    classifier_parameters,
    classifier_with_budget,
)
from ..nets.resnet import SymmetricBlock2d
from ..results import paired_comparison, resolve_config, seed_stats
from ..train import History, accuracy, count_parameters, fit

__all__ = [
    "CONFIGS",
    "FAMILIES",
    "ClassificationResult",
    "ClassifierRow",
    "ImageData",
    "PAPER_DIR",
    "archive_rows",
    "block_gains",
    "build_family",
    "classification_experiment",
    "compare_at_budgets",
    "most_robust",
    "load_images",
    "noisy_accuracy",
    "paper_jobs",
    "paper_numbers",
    "plateau",
    "results_table",
    "run",
    "run_job",
    "run_paper",
    "stability_ratios",
]

#: The families of the table above, in plotting order; tables and legends name them by
#: their labels in :data:`pdecore.families.FAMILIES`.
FAMILIES = ("standard", "symmetric_half", "symmetric_deep", "symmetric_stable",
            "symmetric_wide")

#: Settings of chapter 7: ``quick`` (CI, seconds), ``default`` (the book: a 12k subset,
#: two epochs, three seeds, about six minutes on 2 cores) and ``paper`` (``make paper``:
#: all 60k images, eight epochs, all five families, three seeds; about two hours on 2
#: cores, where width 32 would more than double it).
CONFIGS: dict[str, dict] = {
    "quick": {"seeds": (0, 1), "n_train": 2000, "n_test": 1000, "epochs": 1,
              "widths": (8, 16), "families": FAMILIES[:4], "blocks": (2, 2)},
    "default": {"seeds": (0, 1, 2), "n_train": 12000, "n_test": 5000, "epochs": 2,
                "widths": (8, 16), "families": FAMILIES[:4], "blocks": (2, 2)},
    "paper": {"seeds": (0, 1, 2), "n_train": None, "n_test": None, "epochs": 8,
              "widths": (8, 16), "families": FAMILIES, "blocks": (2, 2)},
}


@dataclass(frozen=True)
class ImageData:
    """Training and test images ``(S, c, H, W)`` float32 in [0, 1] with int64 labels."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def in_channels(self) -> int:
        """Image channels."""
        return int(self.X_train.shape[1])

    @property
    def classes(self) -> int:
        """Number of classes (largest label + 1)."""
        return int(max(self.y_train.max(), self.y_test.max())) + 1


def _subset(X, y, count, seed):
    if count is None or count >= X.shape[0]:
        return X, y
    idx = np.sort(np.random.default_rng(seed).choice(X.shape[0], size=count, replace=False))
    return X[idx], y[idx]


def load_images(
    dataset: str = "fashion_mnist",
    root: str | os.PathLike | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
) -> ImageData:
    """Load a data set and draw seeded random subsets (``None``: everything).

    Parameters
    ----------
    dataset : {"fashion_mnist", "cifar10"}
        Fashion-MNIST (default folder :data:`pdecore.data.FASHION_MNIST_DIR`) or CIFAR-10
        (python-pickle batches; ``root`` is required).
    root : str or path-like, optional
        Folder with the files.
    n_train, n_test : int, optional
        Sizes of the random subsets (seeds ``seed`` and ``seed + 1``).
    seed : int
        Seed of the subsets.

    Returns
    -------
    ImageData

    Raises
    ------
    ValueError
        Unknown data set, CIFAR-10 without ``root``, non-positive sizes.
    FileNotFoundError
        Missing files (the message says how to get them).
    """
    seed = as_int(seed, "seed", minimum=0)
    n_train = None if n_train is None else as_int(n_train, "n_train")
    n_test = None if n_test is None else as_int(n_test, "n_test")
    if dataset == "fashion_mnist":
        folder = FASHION_MNIST_DIR if root is None else root
        train, test = load_fashion_mnist("train", folder), load_fashion_mnist("test", folder)
    elif dataset == "cifar10":
        if root is None:
            raise ValueError("root must be the folder with CIFAR-10's python batches "
                             "(cifar-10-batches-py) for dataset='cifar10'")
        train, test = load_cifar10(root, "train"), load_cifar10(root, "test")
    else:
        raise ValueError(f"dataset must be 'fashion_mnist' or 'cifar10', got {dataset!r}")
    X, y = _subset(*train, n_train, seed)
    Xt, yt = _subset(*test, n_test, seed + 1)
    return ImageData(dataset, X, y, Xt, yt)


def build_family(
    family: str, width: int, blocks: Sequence[int] = (2, 2), in_channels: int = 1,
    classes: int = 10, seed: int = 0,
) -> ResNetClassifier:
    """Build the network of ``family`` for the budget of width ``width`` (seeded weights).

    Parameters
    ----------
    family : one of :data:`FAMILIES`
    width : int
        Width :math:`C` of the standard network that sets the budget.
    blocks : sequence of int
        Blocks per stage of the standard network.
    in_channels, classes : int
        Image channels and classes.
    seed : int
        The weights are drawn after ``torch.manual_seed(seed)`` (global RNG restored).

    Returns
    -------
    ResNetClassifier
    """
    as_choice(family, "family", FAMILIES)
    width = as_int(width, "width")
    blocks = tuple(blocks)
    kw = {"in_channels": in_channels, "classes": classes}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(as_int(seed, "seed", minimum=0))
        if family == "standard":
            return ResNetClassifier("standard", width, blocks, **kw)
        if family == "symmetric_half":
            return ResNetClassifier("symmetric", width, blocks, **kw)
        if family in ("symmetric_deep", "symmetric_stable"):
            return ResNetClassifier("symmetric", width, tuple(2 * b for b in blocks),
                                    stable=family == "symmetric_stable", **kw)
        budget = classifier_parameters("standard", width, blocks, **kw)
        return classifier_with_budget("symmetric", budget, blocks, **kw)


@dataclass(frozen=True)
class ClassifierRow:
    """One trained classifier of :func:`classification_experiment`."""

    family: str
    width: int
    channels: int
    blocks: tuple[int, ...]
    params: int
    test_accuracy: float
    noise_accuracy: dict[float, float]
    history: History
    seconds: float
    model: nn.Module = field(repr=False, compare=False)
    seed: int = 0
    macs: int = 0

    @property
    def seconds_per_epoch(self) -> float:
        """Training time per epoch (the test set is scored after each epoch, included)."""
        return self.seconds / max(self.history.epochs, 1)


def noisy_accuracy(
    model: nn.Module, X: object, y: object, sigma: float, seed: int = 0,
    batch_size: int = 500,
) -> float:
    r"""Test accuracy on :math:`x + \sigma \xi` with i.i.d. standard normal :math:`\xi`.

    The noise is drawn from a :class:`torch.Generator` seeded with ``seed``, so every
    model sees the same perturbed images; they are not clipped to [0, 1].
    """
    sigma = as_positive(sigma, "sigma", allow_zero=True)
    X = torch.as_tensor(X)
    if sigma:
        gen = torch.Generator().manual_seed(as_int(seed, "seed", minimum=0))
        X = X + sigma * torch.randn(X.shape, generator=gen, dtype=X.dtype)
    return accuracy(model, X, y, batch_size=batch_size)


def classification_experiment(
    data: ImageData,
    widths: Iterable[int] = CONFIGS["quick"]["widths"],
    families: Iterable[str] = CONFIGS["quick"]["families"],
    *,
    blocks: Sequence[int] = (2, 2),
    epochs: int = 1,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    noise_levels: Iterable[float] = (0.1, 0.2, 0.3),
    device: torch.device | str = "cpu",
    progress: bool = False,
    threads: int | None = None,
) -> list[ClassifierRow]:
    """Train every family at every width on ``data``; one row per network.

    Every network starts from weights seeded with ``seed`` and sees the same shuffling
    (:func:`pdecore.train.fit`, cross entropy, Adam); the test set is scored after each
    epoch (``history.val_accuracy``) and, at the end, under Gaussian noise.

    Parameters
    ----------
    data : ImageData
        From :func:`load_images`.
    widths : iterable of int
        Widths of the standard networks that set the budgets.
    families : iterable of str
        Members of :data:`FAMILIES`.
    blocks : sequence of int
        Blocks per stage of the standard network.
    epochs, batch_size, lr : int, int, float
        Passed to :func:`pdecore.train.fit`.
    seed : int
        Seed of the weights and the shuffling.
    noise_levels : iterable of float
        Standard deviations of the input noise for :func:`noisy_accuracy`.
    device : torch.device or str
        Where to train.
    progress : bool
        tqdm bars over the networks, epochs and batches.
    threads : int, optional
        Torch threads during training.

    Returns
    -------
    list of ClassifierRow
        In the order ``for width in widths: for family in families``.

    Examples
    --------
    >>> import numpy as np
    >>> from pdecore.experiments.classification import ImageData, classification_experiment
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((40, 1, 8, 8), dtype=np.float32); y = np.arange(40) % 2
    >>> rows = classification_experiment(ImageData("toy", X, y, X, y), widths=[4],
    ...                                  blocks=(1,), noise_levels=[0.1])
    >>> print([(r.family, r.params) for r in rows])
    [('standard', 346), ('symmetric_half', 198), ('symmetric_deep', 346), ('symmetric_stable', 346)]
    """
    if not isinstance(data, ImageData):
        raise TypeError(f"data must be an ImageData (see load_images), got "
                        f"{type(data).__name__}")
    widths = [as_int(w, "widths") for w in widths]
    families = list(families)
    for family in families:
        if family not in FAMILIES:
            raise ValueError(f"families must be from {FAMILIES}, got {family!r}")
    sigmas = [as_positive(s, "noise_levels", allow_zero=True) for s in noise_levels]
    configs = [(w, f) for w in widths for f in families]
    if progress:
        from tqdm.std import tqdm  # text bars: no ipywidgets needed in notebooks

        configs = tqdm(configs, desc="E5 networks", unit="net")
    Xt, yt = torch.from_numpy(data.X_test), torch.from_numpy(data.y_test)
    rows = []
    for width, family in configs:
        net = build_family(family, width, blocks, data.in_channels, data.classes, seed)
        start = time.perf_counter()
        history = fit(net, data.X_train, data.y_train, loss="cross_entropy", epochs=epochs,
                      batch_size=batch_size, lr=lr, seed=seed, device=device,
                      val=(Xt, yt), progress=progress, threads=threads)
        seconds = time.perf_counter() - start
        net.to("cpu")
        noise = {s: noisy_accuracy(net, Xt, yt, s, seed=seed) for s in sigmas}
        macs = classifier_macs(net.block, net.channels, net.blocks, data.X_test.shape[2:],
                               data.in_channels, data.classes)
        rows.append(ClassifierRow(family, width, net.channels, net.blocks,
                                  count_parameters(net), history.val_accuracy[-1], noise,
                                  history, seconds, net, seed, macs))
    return rows


def block_gains(
    model: ResNetClassifier, X: object, eps: float = 1e-2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    r"""How the residual blocks change norms and perturbations, block by block.

    For the feature maps :math:`u_k` entering block :math:`F_k` (images ``X``) and
    a random perturbation :math:`\delta` of norm ``eps`` times :math:`\|u_k\|`,

    .. math:: \text{norm ratio}_k = \frac{\|F_k(u_k)\|}{\|u_k\|}, \qquad
              \text{gain}_k = \frac{\|F_k(u_k + \delta) - F_k(u_k)\|}{\|\delta\|},

    both averaged over the images. A non-expansive block has gain :math:`\le 1`.

    Returns
    -------
    norm_ratio, gain : ndarray, shape (n_blocks,)
    """
    if not isinstance(model, ResNetClassifier):
        raise TypeError(f"model must be a ResNetClassifier, got {type(model).__name__}")
    eps = as_positive(eps, "eps")
    gen = torch.Generator().manual_seed(as_int(seed, "seed", minimum=0))
    X = torch.as_tensor(X)
    ratios, gains = [], []
    with torch.no_grad():
        inputs = model.block_inputs(X)
        for u, blk in zip(inputs, model.residual_blocks(), strict=False):
            norms = u.flatten(1).norm(dim=1)
            out = blk(u)
            delta = torch.randn(u.shape, generator=gen, dtype=u.dtype)
            delta *= (eps * norms / delta.flatten(1).norm(dim=1)).view(-1, 1, 1, 1)
            diff = (blk(u + delta) - out).flatten(1).norm(dim=1)
            ratios.append(float((out.flatten(1).norm(dim=1) / norms).mean()))
            gains.append(float((diff / delta.flatten(1).norm(dim=1)).mean()))
    return np.array(ratios), np.array(gains)


def stability_ratios(model: ResNetClassifier, image_size: tuple[int, int]) -> np.ndarray:
    r"""For each symmetric block, :math:`\tau L \|W\|_2^2 / 2` at its resolution.

    A value :math:`\le 1` means the trained block is provably non-expansive
    (chapter 2's bound); empty for a network of standard blocks.
    """
    if not isinstance(model, ResNetClassifier):
        raise TypeError(f"model must be a ResNetClassifier, got {type(model).__name__}")
    height, width = (as_int(s, "image_size") for s in image_size)
    out = []
    for index, stage in enumerate(model.stages):
        scale = 2 ** (index + 1)
        for blk in stage:
            if isinstance(blk, SymmetricBlock2d):
                out.append(blk.stability_ratio((height // scale, width // scale)))
    return np.array(out)


def _check_rows(rows: object) -> list[ClassifierRow]:
    rows = list(rows) if isinstance(rows, (list, tuple)) else rows
    if not isinstance(rows, list) or not all(isinstance(r, ClassifierRow) for r in rows):
        raise TypeError("rows must be a list of ClassifierRow (from "
                        "classification_experiment)")
    return rows


def _groups(rows: list[ClassifierRow]) -> dict[tuple[int, str], list[ClassifierRow]]:
    """Rows by (width, family), each list in seed order."""
    out: dict[tuple[int, str], list[ClassifierRow]] = {}
    for r in rows:
        out.setdefault((r.width, r.family), []).append(r)
    return {key: sorted(group, key=lambda r: r.seed) for key, group in out.items()}


def _pm(values: Iterable[float], scale: float = 1.0, digits: int = 2) -> str:
    s = seed_stats([scale * v for v in values])
    return f"{s.mean:.{digits}f} ± {s.std:.{digits}f}" if s.n > 1 else f"{s.mean:.{digits}f}"


def results_table(rows: Sequence[ClassifierRow]) -> str:
    """Markdown table, one line per budget and family: mean ± sd over the seeds.

    Columns: budget (width), network, channels, blocks, parameters, multiply-adds per
    image (millions), test accuracy and accuracy under each noise level (%), seconds per
    training epoch, number of seeds.
    """
    rows = _check_rows(rows)
    sigmas = sorted({s for r in rows for s in r.noise_accuracy})
    head = ["budget (width)", "network", "channels", "blocks", "parameters", "MMACs/image",
            "test accuracy (%)", *(f"noise {s:g} (%)" for s in sigmas), "s/epoch",
            "seeds"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (width, family), group in _groups(rows).items():
        r = group[0]
        cells = [str(width), get_family(family).label, str(r.channels),
                 "+".join(map(str, r.blocks)), str(r.params), f"{r.macs / 1e6:.2f}",
                 _pm([g.test_accuracy for g in group], 100),
                 *(_pm([g.noise_accuracy[s] for g in group], 100) for s in sigmas),
                 _pm([g.seconds_per_epoch for g in group], digits=1), str(len(group))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compare_at_budgets(rows: Sequence[ClassifierRow]) -> dict:
    """Compare the symmetric families with the standard network of the same budget.

    At every budget the test accuracies of a symmetric family and of the standard
    network are paired by seed and compared by :func:`pdecore.results.paired_comparison`
    (the rule :data:`pdecore.results.WIN_RULE`: better on every seed and by more than two
    standard errors of the mean paired difference).

    Returns
    -------
    dict
        ``budgets`` (widths with a standard network), ``seeds`` (seeds per budget, the
        smallest count); for ``key`` in ``deep``, ``half``, ``stable``, ``wide``:
        ``{key}_wins`` and ``{key}_losses`` (budgets where ``symmetric_{key}`` was better
        or worse by the rule), ``mean_gap_{key}`` and ``sd_gap_{key}`` (mean and sample
        standard deviation over budgets and seeds of the paired accuracy difference,
        symmetric minus standard, as a fraction; NaN if the family is absent); and
        ``text``, a one-sentence verdict on the equal-parameter comparison
        (``symmetric_deep``).
    """
    groups = _groups(_check_rows(rows))
    widths = sorted({w for (w, f) in groups if f == "standard"})
    out: dict = {"budgets": len(widths),
                 "seeds": min((len(groups[(w, "standard")]) for w in widths), default=0)}
    for key in ("deep", "half", "stable", "wide"):
        outcomes, gaps = [], []
        for w in widths:
            if (w, f"symmetric_{key}") not in groups:
                continue
            sym = {r.seed: r.test_accuracy for r in groups[(w, f"symmetric_{key}")]}
            std = {r.seed: r.test_accuracy for r in groups[(w, "standard")]}
            seeds = sorted(set(sym) & set(std))
            a, b = [sym[s] for s in seeds], [std[s] for s in seeds]
            outcomes.append(paired_comparison(a, b, lower_is_better=False)
                            if len(seeds) > 1 else "tie")
            gaps += [x - y for x, y in zip(a, b, strict=True)]
        out[f"{key}_wins"] = outcomes.count("better")
        out[f"{key}_losses"] = outcomes.count("worse")
        out[f"mean_gap_{key}"] = float(np.mean(gaps)) if gaps else float("nan")
        out[f"sd_gap_{key}"] = float(np.std(gaps, ddof=1)) if len(gaps) > 1 else float("nan")
    wins, losses, n = out["deep_wins"], out["deep_losses"], out["budgets"]
    if n == 0:
        out["text"] = "There is no standard network to compare with."
    elif out["seeds"] < 2:
        out["text"] = "With one seed per budget no comparison can be decided."
    elif wins == n:
        out["text"] = ("At equal parameters the twice-as-deep symmetric network was more "
                       "accurate than the standard one at every budget, on every seed.")
    elif losses == n:
        out["text"] = ("At equal parameters the twice-as-deep symmetric network was less "
                       "accurate than the standard one at every budget, on every seed.")
    elif wins == losses == 0:
        out["text"] = ("At equal parameters the twice-as-deep symmetric network and the "
                       "standard one could not be told apart at any budget.")
    else:
        out["text"] = (f"At equal parameters the twice-as-deep symmetric network was more "
                       f"accurate at {wins}, less accurate at {losses} and undecided at "
                       f"{n - wins - losses} of {n} budgets.")
    return out


def most_robust(rows: Sequence[ClassifierRow], sigma: float) -> dict[str, int]:
    """Count, per family, the budgets at which it had the best mean accuracy under ``sigma``.

    Parameters
    ----------
    rows : list of ClassifierRow
    sigma : float
        One of the noise levels of the rows (``0`` means the clean test set).

    Returns
    -------
    dict
        ``{family: number of budgets it won}`` for every family of the rows (the mean is
        over the seeds; ties count for each family with the best mean).
    """
    rows = _check_rows(rows)
    sigma = as_positive(sigma, "sigma", allow_zero=True)

    def score(r: ClassifierRow) -> float:
        if sigma == 0:
            return r.test_accuracy
        if sigma not in r.noise_accuracy:
            raise ValueError(f"sigma={sigma} is not a noise level of the rows; they have "
                             f"{sorted(r.noise_accuracy)}")
        return r.noise_accuracy[sigma]

    groups = _groups(rows)
    counts = {r.family: 0 for r in rows}
    for width in sorted({w for w, _ in groups}):
        means = {f: float(np.mean([score(r) for r in g])) for (w, f), g in groups.items()
                 if w == width}
        best = max(means.values())
        for family, value in means.items():
            counts[family] += value == best
    return counts


@dataclass
class ClassificationResult:
    """E5 at one configuration: the data, one row per network and seed, the block analysis.

    Attributes
    ----------
    config : dict
        The resolved settings (a member of :data:`CONFIGS`, with overrides).
    seeds : tuple of int
        The seeds; each sets the data subset, the weights and the shuffling.
    data : ImageData
        The training and test images of the first seed.
    rows : list of ClassifierRow
        One per network and seed (:func:`classification_experiment`).
    gains : dict
        ``{family: (norm_ratio, gain)}`` of :func:`block_gains` at the largest width,
        first seed.
    stability : dict
        ``{family: stability_ratios}`` of the symmetric families at the largest width,
        first seed.
    """

    config: dict
    seeds: tuple[int, ...]
    data: ImageData
    rows: list[ClassifierRow]
    gains: dict
    stability: dict

    def numbers(self) -> dict[str, float | int | str]:
        """Every number chapter 7 states (accuracies and their gaps in percent)."""
        verdict = compare_at_budgets(self.rows)
        out: dict[str, float | int | str] = {
            "n_train": len(self.data.y_train), "n_test": len(self.data.y_test),
            "epochs": int(self.config["epochs"]),
            "widths": ", ".join(map(str, self.config["widths"])),
            "n_seeds": len(self.seeds), "seeds_text": ", ".join(map(str, self.seeds)),
            "n_budgets": verdict["budgets"], "verdict_text": verdict["text"]}
        for key in ("deep", "half", "stable", "wide"):
            if np.isfinite(verdict[f"mean_gap_{key}"]):
                out[f"{key}_wins"] = verdict[f"{key}_wins"]
                out[f"{key}_losses"] = verdict[f"{key}_losses"]
                out[f"mean_gap_{key}"] = 100 * verdict[f"mean_gap_{key}"]
            if np.isfinite(verdict[f"sd_gap_{key}"]):
                out[f"sd_gap_{key}"] = 100 * verdict[f"sd_gap_{key}"]
        if "mean_gap_stable" in out and "mean_gap_deep" in out:
            # both gaps are paired over the same seeds and budgets: their difference is
            # the mean paired gap of the stable against the unconstrained deep network
            out["gap_stable_deep"] = out["mean_gap_stable"] - out["mean_gap_deep"]
        groups = _groups(self.rows)
        for (width, family), group in groups.items():
            acc = seed_stats([100 * r.test_accuracy for r in group])
            out[f"acc_{family}_{width}"] = acc.mean
            out[f"sd_acc_{family}_{width}"] = acc.std
            out[f"params_{family}_{width}"] = group[0].params
            out[f"macs_{family}_{width}"] = group[0].macs
            out[f"sec_epoch_{family}_{width}"] = float(np.mean(
                [r.seconds_per_epoch for r in group]))
        widest = max(w for w, _ in groups)
        for family, name in (("symmetric_stable", "stable_throughput"),
                             ("standard", "standard_throughput")):
            if (widest, family) in groups and (widest, "symmetric_deep") in groups:
                # training speed relative to the unconstrained twice-as-deep network
                out[name] = (out[f"sec_epoch_symmetric_deep_{widest}"]
                             / out[f"sec_epoch_{family}_{widest}"])
        out["widest"] = widest
        sigma_max = max(self.rows[0].noise_accuracy)
        out["sigma_max"] = sigma_max
        for name, sigma in (("clean_text", 0.0), ("robust_text", sigma_max)):
            out[name] = "; ".join(f"{get_family(f).label}: {n}"
                                  for f, n in most_robust(self.rows, sigma).items())
        unconstrained = [v for f, v in self.stability.items() if f != "symmetric_stable"]
        ratios = np.concatenate(unconstrained) if unconstrained else np.zeros(0)
        stable = self.stability.get("symmetric_stable", np.zeros(0))
        out.update(n_stable=int((ratios <= 1).sum()), n_sym_blocks=int(ratios.size),
                   n_stable_c=int((stable <= 1 + 1e-9).sum()),
                   n_stable_blocks=int(stable.size))
        if ratios.size:
            out["ratio_max"] = float(ratios.max())
        if stable.size:
            out["stable_ratio_min"] = float(stable.min())
            out["stable_ratio_max"] = float(stable.max())
        if "standard" in self.gains:
            out["std_gain_max"] = float(self.gains["standard"][1].max())
        sym = [g for f, (_, g) in self.gains.items()
               if f not in ("standard", "symmetric_stable")]
        if sym:
            out["sym_gain_max"] = float(np.concatenate(sym).max())
        if "symmetric_stable" in self.gains:
            out["stable_gain_max"] = float(self.gains["symmetric_stable"][1].max())
        return out


def run(
    config: str | dict = "default",
    *,
    dataset: str = "fashion_mnist",
    data_root: str | os.PathLike | None = None,
    seed: int | None = None,
    device: torch.device | str = "cpu",
    progress: bool = False,
    threads: int | None = None,
    data: ImageData | None = None,
    **overrides: object,
) -> ClassificationResult:
    """Run E5 at a configuration of :data:`CONFIGS` on every seed; analyse the widest nets.

    Parameters
    ----------
    config : str or dict
        ``"quick"``, ``"default"``, ``"paper"`` or a settings mapping; ``overrides``
        change single settings (:func:`pdecore.results.resolve_config`), e.g.
        ``seeds=(0, 1, 2, 3)``.
    dataset, data_root
        Passed to :func:`load_images` (ignored when ``data`` is given).
    seed : int, optional
        Shift every seed of the configuration by this amount (a rerun on other seeds,
        ``seed=10``: seeds 10, 11, 12); ``None`` or 0 keeps them.
    device, progress, threads
        Passed to :func:`classification_experiment`.
    data : ImageData, optional
        Use these images for every seed instead of loading a data set (then the seeds
        set the weights and the shuffling only).

    Returns
    -------
    ClassificationResult
    """
    cfg = resolve_config(CONFIGS, config, **overrides)
    shift = 0 if seed is None else as_int(seed, "seed", minimum=0)
    seeds = tuple(shift + as_int(s, "seeds", minimum=0) for s in cfg["seeds"])
    if not seeds:
        raise ValueError("seeds must name at least one seed, got an empty sequence")
    rows: list[ClassifierRow] = []
    first = None
    for s in seeds:
        images = data if data is not None else load_images(
            dataset, data_root, cfg["n_train"], cfg["n_test"], s)
        first = images if first is None else first
        rows += classification_experiment(
            images, cfg["widths"], cfg["families"], blocks=cfg["blocks"],
            epochs=cfg["epochs"], seed=s, noise_levels=(0.1, 0.2, 0.3), device=device,
            progress=progress, threads=threads)
    widest = max(r.width for r in rows)
    probe = first.X_test[:256]
    top = [r for r in rows if r.width == widest and r.seed == seeds[0]]
    gains = {r.family: block_gains(r.model, probe, seed=seeds[0]) for r in top}
    stability = {r.family: stability_ratios(r.model, first.X_test.shape[2:])
                 for r in top if r.family != "standard"}
    return ClassificationResult(cfg, seeds, first, rows, gains, stability)


# --- paper-scale runs (make paper) ---------------------------------------------------

#: Where ``make paper`` archives E5's paper-scale runs (one JSON per network and seed).
PAPER_DIR = Path(__file__).resolve().parents[2] / "results" / "paper"

_NOISE_LEVELS = (0.1, 0.2, 0.3)
_BIN = 50  # mini-batches per stored point of the training curve


def _job_name(family: str, width: int, seed: int) -> str:
    return f"e5-{family}-w{width}-s{seed}"


def paper_jobs(config: str | dict = "paper") -> dict[str, float]:
    """Return the jobs of a configuration, ``{name: estimated cost}``, smallest budget first.

    One job trains one family at one budget on one seed. The cost estimate only weighs
    the progress bar's ETA: epochs times (1.5 + millions of multiply-adds per image),
    times 1.8 for the stable family, a fit to the seconds per epoch of the default run
    on 2 cores (small networks cost more than their multiply-adds: per-batch overhead;
    the stable family adds one eigenvalue solve per block and step).
    """
    cfg = resolve_config(CONFIGS, config)
    jobs = {}
    for width in cfg["widths"]:
        for seed in cfg["seeds"]:
            for family in cfg["families"]:
                net = build_family(family, width, cfg["blocks"])
                macs = classifier_macs(net.block, net.channels, net.blocks)
                factor = 1.8 if family == "symmetric_stable" else 1.0
                jobs[_job_name(family, width, seed)] = (
                    factor * (1.5 + macs / 1e6) * cfg["epochs"])
    return jobs


def run_job(
    family: str, width: int, seed: int, config: str | dict = "paper", *,
    data: ImageData | None = None, dataset: str = "fashion_mnist",
    data_root: str | os.PathLike | None = None, device: torch.device | str = "cpu",
    threads: int | None = None, progress: bool = False,
) -> dict:
    """Train one family at one budget on one seed; return the metrics of its record.

    The metrics are ``family``, ``width``, ``seed``, ``n_train``, ``n_test``, ``channels``,
    ``blocks``,
    ``parameters``, ``macs_per_sample``, ``test_accuracy``, ``noise_accuracy``
    (``{sigma: accuracy}``), per-epoch ``train_loss``, ``train_accuracy`` and
    ``test_accuracy_per_epoch``, ``batch_loss_50`` (the mini-batch loss averaged over
    consecutive groups of 50), ``wall_time_s`` and ``seconds_per_epoch``.
    """
    cfg = resolve_config(CONFIGS, config)
    as_choice(family, "family", FAMILIES)
    seed = as_int(seed, "seed", minimum=0)
    if data is None:
        data = load_images(dataset, data_root, cfg["n_train"], cfg["n_test"], seed)
    (row,) = classification_experiment(
        data, [width], [family], blocks=cfg["blocks"], epochs=cfg["epochs"], seed=seed,
        noise_levels=_NOISE_LEVELS, device=device, progress=progress, threads=threads)
    h = row.history
    loss = np.asarray(h.batch_loss, dtype=float)
    binned = [float(loss[i:i + _BIN].mean()) for i in range(0, loss.size, _BIN)]
    return {"family": family, "width": int(width), "seed": int(seed),
            "n_train": len(data.y_train), "n_test": len(data.y_test),
            "channels": row.channels, "blocks": list(row.blocks), "parameters": row.params,
            "macs_per_sample": row.macs, "test_accuracy": row.test_accuracy,
            "noise_accuracy": {str(s): a for s, a in row.noise_accuracy.items()},
            "train_loss": list(h.train_loss), "train_accuracy": list(h.train_accuracy),
            "test_accuracy_per_epoch": list(h.val_accuracy), "batch_loss_50": binned,
            "wall_time_s": row.seconds, "seconds_per_epoch": row.seconds_per_epoch}


def run_paper(
    folder: str | os.PathLike = PAPER_DIR, config: str | dict = "paper", *,
    dataset: str = "fashion_mnist", data_root: str | os.PathLike | None = None,
    device: torch.device | str = "cpu", threads: int | None = None,
    progress: bool = True, command: str = "make paper",
) -> list[str]:
    """Run every job of ``config`` that has no current record in ``folder``.

    Resumable (:func:`pdecore.archive.run_jobs`): a finished job is never redone, an
    interrupted one leaves no file and runs again next time, and records of another
    configuration are replaced. Returns the names of the jobs run now.
    """
    cfg = resolve_config(CONFIGS, config)
    cache: dict[int, ImageData] = {}

    def work(name: str) -> dict:
        family, width, seed = _parse_job(name)
        if seed not in cache:
            cache.clear()  # one seed's images at a time
            cache[seed] = load_images(dataset, data_root, cfg["n_train"], cfg["n_test"],
                                      seed)
        return run_job(family, width, seed, cfg, data=cache[seed], device=device,
                       threads=threads)

    return run_jobs(paper_jobs(cfg), work, folder, cfg, command=command,
                    device=str(device), progress=progress)


def _parse_job(name: str) -> tuple[str, int, int]:
    stem, width, seed = name.rsplit("-", 2)
    return stem.removeprefix("e5-"), int(width[1:]), int(seed[1:])


def archive_rows(archive: Archive) -> list[ClassifierRow]:
    """Return the current records of an archive as :class:`ClassifierRow` (no models).

    ``history.batch_loss`` holds the stored 50-batch means of the training loss.
    """
    if not isinstance(archive, Archive):
        raise TypeError(f"archive must be a pdecore.archive.Archive (read_archive), got "
                        f"{type(archive).__name__}")
    rows = []
    for r in archive.current.values():
        history = History(train_loss=list(r["train_loss"]),
                          train_accuracy=list(r["train_accuracy"]),
                          val_accuracy=list(r["test_accuracy_per_epoch"]),
                          batch_loss=list(r["batch_loss_50"]))
        rows.append(ClassifierRow(
            r["family"], r["width"], r["channels"], tuple(r["blocks"]), r["parameters"],
            r["test_accuracy"], {float(s): a for s, a in r["noise_accuracy"].items()},
            history, r["wall_time_s"], None, r["seed"], r["macs_per_sample"]))
    order = {f: i for i, f in enumerate(FAMILIES)}
    return sorted(rows, key=lambda r: (r.width, r.seed, order[r.family]))


def plateau(rows: Sequence[ClassifierRow], window: int = 2, tol: float = 0.005) -> dict:
    """Whether the test accuracy has levelled off at the end of training.

    For every family and budget the per-epoch test accuracy is averaged over the seeds;
    the run has *plateaued* when that mean gained less than ``tol`` (a fraction; 0.005 is
    half a point) over the last ``window`` epochs. Nothing is selected by it (the epochs
    are fixed in the configuration), so it does not tune on the test set.

    Returns
    -------
    dict
        ``{(width, family): gain over the last window}`` under ``"gains"``, and
        ``"all"``: whether every family and budget plateaued.
    """
    window = as_int(window, "window")
    tol = as_positive(tol, "tol")
    gains = {}
    for key, group in _groups(_check_rows(rows)).items():
        curves = np.array([r.history.val_accuracy for r in group], dtype=float)
        if curves.ndim != 2 or curves.shape[1] <= window:
            raise ValueError(f"plateau needs more than window={window} epochs per run")
        mean = curves.mean(axis=0)
        gains[key] = float(mean[-1] - mean[-1 - window])
    return {"gains": gains, "all": all(g < tol for g in gains.values())}


def paper_numbers(archive: Archive, config: str | dict = "paper") -> dict:
    """Return the numbers chapter 7 and the report state about the paper-scale archive.

    Always ``paper_runs`` (current records), ``paper_jobs`` (jobs of ``config``),
    ``paper_hours`` (their summed wall time) and ``paper_complete`` (1 if every job has
    a current record, else 0). For a complete
    archive also, prefixed ``paper_``: the verdict of :func:`compare_at_budgets`
    (``verdict_text``, ``n_budgets``, ``n_seeds``, ``{key}_wins``, ``{key}_losses``,
    ``mean_gap_{key}``, ``sd_gap_{key}`` in points), ``epochs``, ``n_train``,
    ``plateaued`` (1 if :func:`plateau` holds for every family and budget),
    ``max_late_gain`` (points), and the provenance ``commits``, ``dates`` (first and
    last) and ``machines``.
    """
    if not isinstance(archive, Archive):
        raise TypeError(f"archive must be a pdecore.archive.Archive (read_archive), got "
                        f"{type(archive).__name__}")
    cfg = resolve_config(CONFIGS, config)
    jobs = paper_jobs(cfg)
    out: dict = {"paper_runs": len(archive.current), "paper_jobs": len(jobs),
                 "paper_hours": sum(r["wall_time_s"] for r in archive.current.values()) / 3600,
                 "paper_complete": int(not archive.missing(jobs))}
    if not out["paper_complete"]:
        return out
    rows = archive_rows(archive)
    verdict = compare_at_budgets(rows)
    out.update(paper_verdict_text=verdict["text"], paper_n_budgets=verdict["budgets"],
               paper_n_seeds=verdict["seeds"], paper_epochs=int(cfg["epochs"]),
               paper_n_train=int(next(iter(archive.current.values()))["n_train"]))
    for key in ("deep", "half", "stable", "wide"):
        if np.isfinite(verdict[f"mean_gap_{key}"]):
            out[f"paper_{key}_wins"] = verdict[f"{key}_wins"]
            out[f"paper_{key}_losses"] = verdict[f"{key}_losses"]
            out[f"paper_mean_gap_{key}"] = 100 * verdict[f"mean_gap_{key}"]
            out[f"paper_sd_gap_{key}"] = 100 * verdict[f"sd_gap_{key}"]
    if "paper_mean_gap_stable" in out and "paper_mean_gap_deep" in out:
        out["paper_gap_stable_deep"] = out["paper_mean_gap_stable"] - out["paper_mean_gap_deep"]
    flat = plateau(rows)
    out["paper_plateaued"] = int(flat["all"])
    out["paper_max_late_gain"] = 100 * max(flat["gains"].values())
    records = list(archive.current.values())
    dates = sorted(r["date"] for r in records)
    out["paper_commits"] = ", ".join(sorted({r["commit"][:10] for r in records}))
    out["paper_dates"] = f"{dates[0][:10]} to {dates[-1][:10]}"
    out["paper_machines"] = "; ".join(sorted({r["machine"] for r in records}))
    return out


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pdecore.experiments.classification",
        description="Run E5's paper configuration, one resumable job per network and seed.")
    parser.add_argument("--config", default="paper", choices=sorted(CONFIGS))
    parser.add_argument("--out", default=str(PAPER_DIR), help="archive folder")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args(argv)
    command = "make paper: " + " ".join(argv if argv is not None else sys.argv[1:])
    done = run_paper(args.out, args.config, dataset=args.dataset,
                     data_root=args.data_root, device=args.device, threads=args.threads,
                     command=command.strip())
    archive = read_archive(args.out, resolve_config(CONFIGS, args.config))
    print(f"ran {len(done)} jobs; the archive {args.out} holds {len(archive.current)} of "
          f"{len(paper_jobs(args.config))} current runs"
          + (f" and {len(archive.stale)} stale files" if archive.stale else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
