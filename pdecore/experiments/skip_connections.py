r"""Experiment E7: the skip connections of the numerical schemes in trained networks.

Chapters 2-4 show that the explicit scheme is a ResNet, FED a ResNet with varying step
sizes, FSI one with an extrapolating (momentum) skip connection and the fixed-point
iteration of an implicit step a recurrent network. Here the four are *trained* on the
denoising task of chapter 6 (:func:`pdecore.experiments.denoising.denoising_splits`), one
factor apart: the same blocks :math:`F_k(u) = u - \tau_k W_k^\top \Phi_k(W_k u)` with
learned filters, learned fluxes (:class:`~pdecore.nets.TrainableFlux`) and learned
stable step fractions, the same depth and the same parameter budget, chained by
:data:`pdecore.nets.diffusion_net.SKIPS`:

- ``"resnet"``: :math:`u^{k+1} = F_k(u^k)`, one (learned, stable) step per block;
- ``"fed"``: the FED factors :math:`c_k` of one cycle multiply every step size;
- ``"fsi"``: :math:`u^{k+1} = \alpha_k F_k(u^k) + (1-\alpha_k) u^{k-1}`;
- ``"recurrent"``: one wider block with shared weights, unrolled as the fixed-point
  iteration :math:`u^{k+1} = u^0 - \tau W^\top\Phi(W u^k)`;
- ``"recurrent_narrow"``: the same recurrent network with the ResNet's width instead,
  so that it costs the ResNet's multiply-adds (with about ``1/depth`` of its
  parameters): at equal parameters the recurrent block is wide and costs far more, so
  the two recurrent variants separate weight sharing from compute.

Each variant gets its learning rate from ``lr_grid`` on the first seed's *validation*
split; every seed then draws its own splits and trains every variant alike; the test
split is scored once. Comparisons against ``"resnet"`` follow
:data:`pdecore.results.WIN_RULE`. Cost: parameters, multiply-adds per signal and
measured seconds per epoch. Stability: the largest :math:`\|F(u)\|_2/\|u\|_2` of the
trained network over the test signals and random signals of all amplitudes
(:func:`output_norm_ratio`); at most 1 for ``"resnet"`` by construction.
Chapter 4 (:ref:`ch-implicit`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .._validation import as_choice, as_int, as_positive
from ..nets.diffusion_net import SKIPS, DiffusionNet, diffusion_net_with_budget
from ..results import WIN_RULE, paired_comparison, resolve_config, seed_stats
from ..train import History, _threads, count_parameters, evaluate, fit
from .denoising import DenoisingSplits, denoising_splits, norm_check, probe_inputs

__all__ = [
    "CONFIGS",
    "LABELS",
    "VARIANTS",
    "SkipResult",
    "SkipRow",
    "output_norm_ratio",
    "run",
    "train_variant",
]

#: The compared variants, the plain ResNet first (the reference of every comparison).
VARIANTS = (*SKIPS, "recurrent_narrow")

#: Names of the variants for tables and figures (the part before " (" labels the axes).
LABELS = {"resnet": "ResNet (one step per block)", "fed": "FED step sizes",
          "fsi": "FSI extrapolation", "recurrent": "recurrent (fixed point, equal parameters)",
          "recurrent_narrow": "narrow recurrent (ResNet width, equal multiply-adds)"}

#: Settings of E7: ``quick`` (CI, seconds), ``default`` (the book: three seeds) and
#: ``paper`` (five seeds, longer signals and training; not run by the book).
CONFIGS: dict[str, dict[str, Any]] = {
    "quick": {"seeds": (0, 1), "n": 64, "n_train": 64, "n_val": 32, "n_test": 32,
              "epochs": 6, "budget": 150, "depth": 5, "sigma": 0.1, "batch_size": 32,
              "lr_grid": (1e-2,), "variants": VARIANTS},
    "default": {"seeds": (0, 1, 2), "n": 128, "n_train": 256, "n_val": 64, "n_test": 128,
                "epochs": 30, "budget": 150, "depth": 5, "sigma": 0.1, "batch_size": 32,
                "lr_grid": (3e-2, 1e-1, 3e-1, 1.0), "variants": VARIANTS},
    "paper": {"seeds": (0, 1, 2, 3, 4), "n": 256, "n_train": 2048, "n_val": 256,
              "n_test": 512, "epochs": 100, "budget": 300, "depth": 8, "sigma": 0.1,
              "batch_size": 32, "lr_grid": (1e-2, 3e-2, 1e-1, 3e-1, 1.0), "variants": VARIANTS},
}


@dataclass(frozen=True)
class SkipRow:
    """One trained network of E7."""

    variant: str
    seed: int
    lr: float
    params: int
    hidden: int
    macs: int
    test_rmse: float
    val_rmse: float
    seconds_per_epoch: float
    norm_ratio: float
    block_ratio: float
    history: History
    model: nn.Module


def output_norm_ratio(net: nn.Module, X: object, n_random: int = 64, seed: int = 0) -> float:
    r"""Largest :math:`\|F(u)\|_2 / \|u\|_2` of the whole network on data and random inputs.

    The inputs are the signals ``X`` and ``n_random`` random signals of all amplitudes
    (:func:`pdecore.experiments.denoising.probe_inputs`). A value above 1 means the
    trained network amplifies some input: it is not non-expansive there.
    """
    inputs = torch.cat(probe_inputs(X, n_random, seed, next(net.parameters()).dtype))
    with torch.no_grad():
        out = net(inputs)
    return float((out.flatten(1).norm(dim=1) / inputs.flatten(1).norm(dim=1)).max())


def _macs(net: DiffusionNet, n: int) -> int:
    """Multiply-adds of the convolutions per signal: W and W^T in every step."""
    return int(net.depth * 2 * net.hidden * net.kernel_size * (n - net.kernel_size + 1))


def train_variant(
    variant: str, splits: DenoisingSplits, *, budget: int, depth: int, epochs: int,
    lr: float, seed: int, batch_size: int = 32, progress: bool = False,
    dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu",
    threads: int | None = 1,
) -> SkipRow:
    """Train one variant at ``budget`` parameters on one seed's splits; score it once.

    The network (:func:`pdecore.nets.diffusion_net_with_budget` with the trainable flux
    and ``skip=variant``; for ``"recurrent_narrow"`` the recurrent network with the width
    the budget gives the ResNet) starts from ``torch.manual_seed(seed)`` and trains
    with :func:`pdecore.train.fit` (MSE, Adam, shuffling seeded by ``seed``).
    """
    variant = as_choice(variant, "variant", VARIANTS)
    if not isinstance(splits, DenoisingSplits):
        raise TypeError(f"splits must be a DenoisingSplits (see denoising_splits), got "
                        f"{type(splits).__name__}")
    epochs, seed = as_int(epochs, "epochs"), as_int(seed, "seed", minimum=0)
    lr = as_positive(lr, "lr")

    def tensors(d):
        return torch.as_tensor(d.X, dtype=dtype), torch.as_tensor(d.y, dtype=dtype)

    (X, y), (Xv, yv), (Xt, yt) = (tensors(d) for d in (splits.train, splits.val, splits.test))
    with _threads(None if threads is None else as_int(threads, "threads")):
        if variant == "recurrent_narrow":  # the ResNet's width (sized before the seed)
            width = diffusion_net_with_budget("trainable", budget, depth=depth).hidden
        torch.manual_seed(seed)
        if variant == "recurrent_narrow":
            net = DiffusionNet(depth, width, activation="trainable", skip="recurrent")
        else:
            net = diffusion_net_with_budget("trainable", budget, depth=depth, skip=variant)
        net = net.to(dtype=dtype, device=device)
        start = time.perf_counter()
        history = fit(net, X, y, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                      val=(Xv, yv), progress=progress, device=device)
        seconds = (time.perf_counter() - start) / epochs
        net = net.cpu()

        def rmse(A, b):
            return float(np.sqrt(evaluate(net, A, b, "mse", batch_size=1024)))

        return SkipRow(variant, seed, lr, count_parameters(net), net.hidden,
                       _macs(net, X.shape[-1]), rmse(Xt, yt), rmse(Xv, yv), seconds,
                       output_norm_ratio(net, splits.test.X, seed=seed),
                       norm_check(net, splits.test.X, seed=seed), history, net)


@dataclass(frozen=True)
class SkipResult:
    """The rows of E7 (every variant on every seed) and the numbers of chapter 4."""

    config: Mapping[str, Any]
    seeds: tuple[int, ...]
    rows: tuple[SkipRow, ...]
    lr_val: Mapping[tuple[str, float], float]

    def of(self, variant: str) -> list[SkipRow]:
        """Return the rows of one variant, in seed order."""
        as_choice(variant, "variant", self.config["variants"])
        return [r for s in self.seeds for r in self.rows
                if r.variant == variant and r.seed == s]

    def scores(self, variant: str) -> np.ndarray:
        """Test RMSE of ``variant`` per seed."""
        return np.array([r.test_rmse for r in self.of(variant)])

    def compare(self, variant: str, against: str = "resnet") -> str:
        """``"better"``, ``"worse"`` or ``"tie"`` by :data:`pdecore.results.WIN_RULE`."""
        return paired_comparison(self.scores(variant), self.scores(against))

    def table(self) -> str:
        """Markdown table: cost, accuracy (mean ± sd over seeds), verdict, stability."""
        nums = self.numbers()
        lines = ["| skip connection | parameters | width | multiply-adds / signal | "
                 "s / epoch | test RMSE | vs ResNet | max ‖F(u)‖/‖u‖ |",
                 "|---|---:|---:|---:|---:|---:|---|---:|"]
        for v in self.config["variants"]:
            cmp = nums.get(f"e7_{v}_cmp", "reference" if v == "resnet" else "-")
            lines.append(
                f"| {LABELS[v]} | {nums[f'e7_{v}_params']} | {nums[f'e7_{v}_hidden']} | "
                f"{nums[f'e7_{v}_macs']:,} | {nums[f'e7_{v}_spe']:.2f} | "
                f"{nums[f'e7_{v}_rmse']:.4f} ± {nums[f'e7_{v}_rmse_std']:.4f} | {cmp} | "
                f"{nums[f'e7_{v}_norm']:.3f} |")
        return "\n".join(lines)

    def numbers(self) -> dict[str, float | int | str]:
        """Every number chapter 4 states about E7, flat (``e7_`` prefix)."""
        out: dict[str, float | int | str] = {
            "e7_n_seeds": len(self.seeds), "e7_depth": self.config["depth"],
            "e7_budget": self.config["budget"], "e7_epochs": self.config["epochs"],
            "e7_n_train": self.config["n_train"], "e7_n": self.config["n"],
            "win_rule": WIN_RULE, "e7_seeds_text": ", ".join(str(s) for s in self.seeds)}
        for v in self.config["variants"]:
            rows = self.of(v)
            rmse = seed_stats(r.test_rmse for r in rows)
            out |= {f"e7_{v}_rmse": rmse.mean, f"e7_{v}_rmse_std": rmse.std,
                    f"e7_{v}_params": rows[0].params, f"e7_{v}_hidden": rows[0].hidden,
                    f"e7_{v}_macs": rows[0].macs, f"e7_{v}_lr": rows[0].lr,
                    f"e7_{v}_spe": float(np.mean([r.seconds_per_epoch for r in rows])),
                    f"e7_{v}_norm": max(r.norm_ratio for r in rows),
                    f"e7_{v}_words": ("amplifies some inputs"
                                      if max(r.norm_ratio for r in rows) > 1 + 1e-9
                                      else "amplifies none of the probed inputs"),
                    f"e7_{v}_block_norm": max(r.block_ratio for r in rows)}
            if v != "resnet" and len(self.seeds) >= 2:
                out[f"e7_{v}_cmp"] = self.compare(v)
        if "resnet" in self.config["variants"] and "recurrent" in self.config["variants"]:
            out["e7_macs_ratio"] = out["e7_recurrent_macs"] / out["e7_resnet_macs"]
        grid = sorted(self.config["lr_grid"])
        chosen = {v: self.of(v)[0].lr for v in self.config["variants"]}
        edge = [LABELS[v] for v, lr in chosen.items()
                if len(grid) > 1 and lr in (grid[0], grid[-1])]
        out["e7_lr_text"] = (
            ", ".join(f"{LABELS[v]} {lr:g}" for v, lr in chosen.items())
            + f" (grid {', '.join(f'{lr:g}' for lr in grid)}"
            + (f"; at an end of the grid: {_join(edge)})" if edge else ")"))
        others = [v for v in self.config["variants"] if v != "resnet"]
        if len(self.seeds) >= 2 and others:
            better = [LABELS[v] for v in others if out[f"e7_{v}_cmp"] == "better"]
            worse = [LABELS[v] for v in others if out[f"e7_{v}_cmp"] == "worse"]
            out["e7_wins"] = len(better)
            out["e7_losses"] = len(worse)
            out["e7_n_compared"] = len(others)
            tied = [LABELS[v] for v in others if out[f"e7_{v}_cmp"] == "tie"]
            out["e7_verdict"] = _verdict(better, worse, len(others), tied)
        return out


def _verdict(better: list[str], worse: list[str], n: int, tied: list[str]) -> str:
    """One sentence on what the skip connections did against the plain ResNet."""
    parts = []
    if better:
        parts.append(f"{_join(better)} better than the plain ResNet")
    if worse:
        parts.append(f"{_join(worse)} worse" + ("" if better else " than the plain ResNet"))
    if tied:
        parts.append(f"{_join(tied)} tied with it (within the seed spread)")
    return "; ".join(parts)


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def run(config: str | Mapping[str, Any] = "default", *, progress: bool = False,
        **overrides: Any) -> SkipResult:
    """Run E7 at a configuration of :data:`CONFIGS`.

    First each variant's learning rate: train it on the first seed with every rate of
    ``lr_grid`` and keep the one with the lowest validation RMSE (that network is the
    first seed's run; a rate at which training diverges scores infinity). Then every other
    seed: its own splits, every variant at its rate.

    Examples
    --------
    >>> from pdecore.experiments import skip_connections
    >>> res = skip_connections.run("quick", n=32, n_train=8, n_val=4, n_test=4, epochs=1)
    >>> print(res.seeds, res.numbers()["e7_fsi_cmp"] in ("better", "worse", "tie"))
    (0, 1) True
    """
    cfg = resolve_config(CONFIGS, config, **overrides)
    seeds = tuple(as_int(s, "seeds", minimum=0) for s in cfg["seeds"])
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {seeds}")
    variants = tuple(as_choice(v, "variants", VARIANTS) for v in cfg["variants"])
    lr_grid = tuple(as_positive(lr, "lr_grid") for lr in cfg["lr_grid"])
    if not lr_grid:
        raise ValueError("lr_grid must hold at least one learning rate")
    cfg.update(seeds=seeds, variants=variants, lr_grid=lr_grid)
    common = {"budget": cfg["budget"], "depth": cfg["depth"], "epochs": cfg["epochs"],
              "batch_size": cfg["batch_size"], "progress": progress}
    splits = [denoising_splits(cfg["n"], cfg["n_train"], cfg["n_test"], s, cfg["sigma"],
                               n_val=cfg["n_val"]) for s in seeds]
    rows, lr_val = [], {}
    for v in variants:
        trials = []
        for lr in lr_grid:
            try:
                trials.append(train_variant(v, splits[0], lr=lr, seed=seeds[0], **common))
                score = trials[-1].val_rmse
            except FloatingPointError:  # diverged at this rate: not a candidate
                score = float("inf")
            lr_val[(v, lr)] = score if np.isfinite(score) else float("inf")
        finite = [t for t in trials if np.isfinite(t.val_rmse)]
        if not finite:
            raise FloatingPointError(f"{v}: training diverged at every rate of lr_grid "
                                     f"{lr_grid}; lower the rates")
        best = min(finite, key=lambda t: t.val_rmse)
        rows.append(best)
        rows += [train_variant(v, sp, lr=best.lr, seed=s, **common)
                 for s, sp in zip(seeds[1:], splits[1:], strict=True)]
    return SkipResult(cfg, seeds, tuple(rows), lr_val)
