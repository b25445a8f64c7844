r"""Experiment E1: Euclidean stability of deep symmetric and standard residual networks.

A network of ``depth`` blocks with independent random weights is applied to random
signals :math:`u^0`; we record :math:`\|u^k\|_2 / \|u^0\|_2` after every block
:math:`k = 1, \dots, \text{depth}`. Block :math:`k` draws two random kernels :math:`W`
and :math:`V`. At the **weight scale** :math:`c > 0`

- the symmetric block :math:`u - \tau W^\top \Phi(W u)` uses the step size
  :math:`\tau = c \cdot 2/(L\|W\|_2^2)`, i.e. :math:`\tau L \|W\|_2^2 = 2c` (the
  theorem of chapter 2 guarantees :math:`\|u^{k}\| \le \|u^{k-1}\|` for :math:`c \le 1`);
- the standard block :math:`u + W_2 \Phi(W_1 u)` uses the same first weight
  :math:`W_1 = W` and an independent second weight :math:`W_2 = -\tau V \|W\|_2/\|V\|_2`,
  so that :math:`L\|W_2\|_2\|W_1\|_2 = 2c`: the same size, without the symmetry
  :math:`W_2 = -\tau W_1^\top`.

A network **grows** when

.. math::

   \max_{1 \le k \le \text{depth}}\ \max_{\text{signals}}\ \|u^k\|_2 / \|u^0\|_2
   > 1 + \varepsilon, \qquad \varepsilon = 10^{-9}

(:data:`GROWTH_TOL`); the input itself (:math:`k = 0`, ratio 1) is excluded.
:func:`run` sweeps the scale from well below the bound to above it for every flux and
several seeded random networks and reports the fraction of networks that grow at each
scale.

With ``order=2`` every kernel :math:`W` has the **second-order stencil** in every channel
pair: :math:`W_{ij} = a_{ij}\,(1, -2, 1)` with a random channel mixing
:math:`a_{ij}` (standard normal), i.e. :math:`W = A \otimes D_2`; for one channel this is
the explicit step of fourth-order (:math:`m = 2`) diffusion with a random scale. The
standard block's second weight carries the stencil too, with an independent mixing:
:math:`V = B \otimes D_2`, so that the symmetry :math:`B = A` is the one difference.
Chapter 2 (:ref:`ch-explicit`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._validation import as_choice, as_int, as_order, as_positive
from ..diffusivities import DIFFUSIVITIES
from ..nets.activations import as_activation
from ..nets.resnet import StandardBlock, SymmetricBlock, operator_norm
from ..operators import STENCILS
from ..results import resolve_config

__all__ = [
    "CONFIGS",
    "GROWTH_TOL",
    "StabilityResult",
    "StabilitySweep",
    "block_matrix",
    "deep_network",
    "norm_trajectory",
    "run",
    "stability_experiment",
]

KINDS = ("symmetric", "standard")

#: Relative tolerance of the growth criterion: a network grows when some
#: :math:`\|u^k\|/\|u^0\|`, :math:`k \ge 1`, exceeds :math:`1 + 10^{-9}`.
GROWTH_TOL = 1e-9

#: Offset of the signal seed: signals of network seed ``s`` are drawn from a generator
#: seeded with ``s + _SIGNAL_SEED`` so that they are independent of the weights (which
#: use the generator seeded with ``s``).
_SIGNAL_SEED = 2**32

_FLUXES = tuple(DIFFUSIVITIES)

#: Settings of :func:`run`. ``factors`` are the weight scales :math:`c` (1 = the
#: symmetric block's bound); ``n_networks`` random networks (seeds ``seed``,
#: ``seed + 1``, ...) per flux, scale and kind, each applied to ``batch`` signals;
#: ``order`` 1 draws general kernels, 2 kernels with the second-order stencil.
CONFIGS: dict[str, dict[str, Any]] = {
    "quick": {"activations": _FLUXES, "factors": (0.01, 0.1, 0.5, 1.0, 2.0),
              "n_networks": 4, "depth": 40, "channels": 2, "kernel_size": 3, "n": 32,
              "batch": 8, "lam": 1.0, "order": 1},
    "default": {"activations": _FLUXES,
                "factors": (0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 1.1, 2.0),
                "n_networks": 10, "depth": 100, "channels": 2, "kernel_size": 3, "n": 64,
                "batch": 16, "lam": 1.0, "order": 1},
    "paper": {"activations": _FLUXES,
              "factors": (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 1.1, 1.5, 2.0),
              "n_networks": 100, "depth": 500, "channels": 4, "kernel_size": 3, "n": 128,
              "batch": 64, "lam": 1.0, "order": 1},
}


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread (restored afterwards).

    The tensors here are tiny; two threads on a loaded machine were measured 10-20x
    slower than one.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _check_order(order: object, kernel_size: int) -> int:
    """Validate ``order`` (1 or 2); order 2 needs the 3-point stencil's kernel size."""
    order = as_order(order)
    if order == 2 and kernel_size != 3:
        raise ValueError(f"order=2 kernels carry the second-order stencil (1, -2, 1), so "
                         f"kernel_size must be 3, got kernel_size={kernel_size}")
    return order


def _random_kernels(depth: int, channels: int, kernel_size: int, seed: int,
                    order: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw the kernels ``W`` and ``V`` of every block, ``(depth, C, C, k)`` each (float64).

    ``order`` 2: ``W = A (x) (1, -2, 1)`` and ``V = B (x) (1, -2, 1)`` with independent
    standard normal ``C x C`` mixings ``A`` and ``B``.
    """
    gen = torch.Generator().manual_seed(seed)
    shape = (channels, channels, kernel_size)
    stencil = torch.as_tensor(STENCILS[2], dtype=torch.float64)
    w, v = [], []
    for _ in range(depth):  # the order of draws defines the networks of a seed
        for out in (w, v):
            if order == 1:
                out.append(torch.randn(*shape, generator=gen, dtype=torch.float64))
            else:
                out.append(torch.randn(channels, channels, 1, generator=gen,
                                       dtype=torch.float64) * stencil)
    return torch.stack(w), torch.stack(v)


def _norms(kernels: torch.Tensor, n: int) -> np.ndarray:
    """:func:`pdecore.nets.operator_norm` of each kernel ``(D, C, C, k)``, batched."""
    d, c, _, k = kernels.shape
    if c * n > 4096:
        return np.array([operator_norm(w, n) for w in kernels])
    basis = torch.eye(c * n, dtype=torch.float64).view(c * n, c, n)
    out = F.conv1d(basis, kernels.reshape(d * c, c, k))  # (Cn, D*C, n-k+1)
    mats = out.view(c * n, d, c, n - k + 1).permute(1, 2, 3, 0).reshape(d, -1, c * n)
    return torch.linalg.matrix_norm(mats, ord=2).numpy()


def _signals(batch: int, channels: int, n: int, lam: float, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed + _SIGNAL_SEED)
    return torch.randn(batch, channels, n, generator=gen, dtype=torch.float64) * lam


def deep_network(
    kind: str,
    depth: int,
    channels: int,
    kernel_size: int,
    activation: str,
    n: int,
    tau_factor: float = 1.0,
    lam: float = 1.0,
    seed: int = 0,
    order: int = 1,
) -> nn.Sequential:
    r"""Build ``depth`` random blocks of ``kind`` (float64) at weight scale ``tau_factor``.

    Block :math:`k` draws kernels :math:`W, V` with standard normal entries (seeded);
    the symmetric block gets :math:`\tau = c\,2/(L\|W\|_2^2)`, the standard block
    :math:`W_1 = W`, :math:`W_2 = -\tau V\,\|W\|_2/\|V\|_2` (module docstring), with
    :math:`c` = ``tau_factor``.

    Parameters
    ----------
    kind : {"symmetric", "standard"}
        Block type.
    depth, channels, kernel_size : int
        Number of blocks, channels, kernel size.
    activation : str
        Flux name.
    n : int
        Signal length used for the operator norms.
    tau_factor : float
        Weight scale :math:`c`: the step size as a multiple of each symmetric block's
        stability bound.
    lam : float
        Contrast parameter of the flux.
    seed : int
        Seed; the symmetric and the standard network of one seed share every :math:`W_1`.
    order : {1, 2}
        1: general random kernels; 2: :math:`W = A \otimes D_2` and
        :math:`V = B \otimes D_2`, the second-order stencil with independent random
        channel mixings (``kernel_size`` must be 3).

    Returns
    -------
    torch.nn.Sequential
    """
    as_choice(kind, "kind", KINDS)
    depth = as_int(depth, "depth")
    tau_factor = as_positive(tau_factor, "tau_factor")
    kernel_size = as_int(kernel_size, "kernel_size")
    order = _check_order(order, kernel_size)
    w_all, v_all = _random_kernels(depth, as_int(channels, "channels"), kernel_size,
                                   as_int(seed, "seed", minimum=0), order)
    blocks = []
    with _one_thread():
        for w, v in zip(w_all, v_all, strict=True):
            sym = SymmetricBlock(channels, kernel_size, activation, lam, dtype=torch.float64)
            with torch.no_grad():
                sym.weight.copy_(w)
            norm_w = operator_norm(w, n)
            sym.tau = tau_factor * 2.0 / (sym.activation.sector_bound * norm_w**2)
            if kind == "symmetric":
                blocks.append(sym)
                continue
            std = StandardBlock(channels, kernel_size, activation, lam, dtype=torch.float64)
            with torch.no_grad():
                std.weight1.copy_(w)
                std.weight2.copy_(-sym.tau * v * (norm_w / operator_norm(v, n)))
            blocks.append(std)
    return nn.Sequential(*blocks)


@torch.no_grad()
def norm_trajectory(net: nn.Sequential, u: torch.Tensor) -> np.ndarray:
    r"""Return :math:`\|u^k\|_2 / \|u^0\|_2` for :math:`k = 0, \dots, \text{depth}`.

    Row 0 is the input (all ones); shape ``(depth + 1, batch)``.
    """
    if not isinstance(net, nn.Sequential):
        raise TypeError(f"net must be a torch.nn.Sequential of blocks, got {type(net).__name__}")
    if not isinstance(u, torch.Tensor) or not u.is_floating_point():
        got = f"dtype {u.dtype}" if isinstance(u, torch.Tensor) else type(u).__name__
        raise TypeError(f"u must be a floating-point torch.Tensor (batch, channels, N), got {got}")
    norms = [u.flatten(1).norm(dim=1)]
    for block in net:
        u = block(u)
        norms.append(u.flatten(1).norm(dim=1))
    norms = torch.stack(norms)
    return (norms / norms[0]).cpu().numpy()


@dataclass(frozen=True)
class StabilityResult:
    """One network of E1: the norm ratios of every signal after every block."""

    activation: str
    kind: str
    tau_factor: float
    ratios: np.ndarray  # (depth + 1, batch); row 0 is the input

    @property
    def max_ratio(self) -> float:
        r"""Largest :math:`\|u^k\|/\|u^0\|` over the blocks :math:`k \ge 1` and signals."""
        return float(self.ratios[1:].max())

    @property
    def final_ratio(self) -> float:
        """Largest ratio after the last block."""
        return float(self.ratios[-1].max())

    @property
    def grows(self) -> bool:
        """Whether :attr:`max_ratio` exceeds ``1 + GROWTH_TOL``."""
        return self.max_ratio > 1.0 + GROWTH_TOL


def stability_experiment(
    activations: Iterable[str],
    tau_factors: Iterable[float] = (1.0, 1.1),
    kinds: Iterable[str] = KINDS,
    depth: int = 100,
    channels: int = 2,
    kernel_size: int = 3,
    n: int = 64,
    batch: int = 16,
    lam: float = 1.0,
    seed: int = 0,
    progress: bool = False,
) -> list[StabilityResult]:
    """One network (seed ``seed``) per activation x scale x kind, with its trajectories.

    The input signals have standard normal entries times ``lam``, so that typical
    differences are of the order of the contrast parameter, where nonmonotone fluxes are
    furthest from linear. :func:`run` is the sweep over many seeds.

    Returns
    -------
    list of StabilityResult
    """
    batch, channels = as_int(batch, "batch"), as_int(channels, "channels")
    seed = as_int(seed, "seed", minimum=0)
    u = _signals(batch, channels, as_int(n, "n"), lam, seed)
    kinds = tuple(kinds)
    for kind in kinds:
        as_choice(kind, "kind", KINDS)
    configs = [(a, k, f) for a in activations for f in tau_factors for k in kinds]
    if progress:
        from tqdm.auto import tqdm

        configs = tqdm(configs, desc="E1 configurations", leave=False)
    results = []
    with _one_thread():
        for activation, kind, factor in configs:
            net = deep_network(kind, depth, channels, kernel_size, activation, n, factor,
                               lam, seed)
            results.append(StabilityResult(activation, kind, factor, norm_trajectory(net, u)))
    return results


@torch.no_grad()
def _sweep_one(kind: str, phi: nn.Module, w: torch.Tensor, v: torch.Tensor,
               norm_w: np.ndarray, norm_v: np.ndarray, factors: np.ndarray,
               u0: torch.Tensor) -> np.ndarray:
    """Ratios ``(depth + 1, n_factors, batch)`` of one network at every scale at once.

    The signals of all scales travel in one batch; each block is linear in its step
    size, so scale ``c`` only enters as a per-sample factor.
    """
    nf, b = factors.size, u0.shape[0]
    u = u0.repeat(nf, 1, 1)
    tau0 = 2.0 / (phi.sector_bound * norm_w**2)  # bound of each block
    scale = torch.as_tensor(factors, dtype=torch.float64).repeat_interleave(b).view(-1, 1, 1)
    norms = [u.flatten(1).norm(dim=1)]
    for k in range(w.shape[0]):
        second = w[k] if kind == "symmetric" else v[k] * (norm_w[k] / norm_v[k])
        u = u - (scale * tau0[k]) * F.conv_transpose1d(phi(F.conv1d(u, w[k])), second)
        norms.append(u.flatten(1).norm(dim=1))
    norms = torch.stack(norms)
    return (norms / norms[0]).view(-1, nf, b).numpy()


def _tag(factor: float) -> str:
    """``0.03 -> '0p03'``: a scale as part of a glue key."""
    return f"{factor:g}".replace(".", "p").replace("-", "m")


@dataclass(frozen=True)
class StabilitySweep:
    r"""E1: the largest norm ratio of every network at every weight scale.

    ``max_ratio[i, j, l, s]`` is :math:`\max_{k \ge 1} \max_{\text{signals}}
    \|u^k\|/\|u^0\|` for kind ``kinds[i]``, flux ``activations[j]``, scale
    ``factors[l]`` and network seed ``seeds[s]``; ``final_ratio`` the same after the last
    block only. ``trajectories`` holds the full ratios of the first seed's networks at
    the smallest scale and at the bound, for figures.
    """

    config: dict[str, Any]
    seeds: tuple[int, ...]
    activations: tuple[str, ...]
    factors: tuple[float, ...]
    kinds: tuple[str, ...]
    max_ratio: np.ndarray
    final_ratio: np.ndarray
    trajectories: list[StabilityResult] = field(default_factory=list)

    def _kind(self, kind: str) -> int:
        return self.kinds.index(as_choice(kind, "kind", self.kinds))

    @property
    def grows(self) -> np.ndarray:
        """Boolean array like :attr:`max_ratio`: the network grows (``> 1 + GROWTH_TOL``)."""
        return self.max_ratio > 1.0 + GROWTH_TOL

    def fraction_growing(self, kind: str) -> np.ndarray:
        """Fraction of the networks of ``kind`` (all fluxes and seeds) that grow, per scale."""
        return self.grows[self._kind(kind)].mean(axis=(0, 2))

    def median_max_ratio(self, kind: str) -> np.ndarray:
        """Median over fluxes and seeds of the largest norm ratio, per scale."""
        return np.median(self.max_ratio[self._kind(kind)], axis=(0, 2))

    def first_growth(self, kind: str) -> float | None:
        """Smallest scale at which some network of ``kind`` grows (None: at no scale)."""
        hit = self.grows[self._kind(kind)].any(axis=(0, 2))
        return float(np.asarray(self.factors)[hit].min()) if hit.any() else None

    def scale_table(self) -> str:
        """Text table: per scale, the fraction of growing networks and the median ratio."""
        lines = ["   scale c   symmetric: grow  median max ratio   standard: grow  "
                 "median max ratio"]
        cols = [self.fraction_growing("symmetric"), self.median_max_ratio("symmetric"),
                self.fraction_growing("standard"), self.median_max_ratio("standard")]
        for c, fs, ms, ft, mt in zip(self.factors, *cols, strict=True):
            lines.append(f"{c:10g}   {fs:15.0%}  {ms:16.6f}   {ft:14.0%}  {mt:16.4g}")
        return "\n".join(lines)

    def flux_table(self, factor: float = 1.0) -> str:
        """Text table at scale ``factor``, one row per flux.

        Columns: the symmetric networks' largest ratio; the standard networks' fraction
        growing, median and largest ratio.
        """
        col = self.factors.index(as_choice(factor, "factor", self.factors))
        sym = self.max_ratio[self._kind("symmetric"), :, col]
        std = self.max_ratio[self._kind("standard"), :, col]
        lines = [f"scale c = {factor:g}, {len(self.seeds)} networks per flux and kind",
                 "flux           symmetric: largest ratio   standard: grow  median  "
                 "largest ratio"]
        for j, name in enumerate(self.activations):
            grow = float(np.mean(std[j] > 1.0 + GROWTH_TOL))
            lines.append(f"{name:13s}  {sym[j].max():24.6f}   {grow:13.0%}  "
                         f"{np.median(std[j]):6.3g}  {std[j].max():13.3g}")
        return "\n".join(lines)

    def _at(self, kind: str, below: bool | None = None) -> np.ndarray:
        """Max ratios of ``kind`` at the bound (None), at scales <= 1 (True), > 1 (False)."""
        f = np.asarray(self.factors)
        cols = f == 1.0 if below is None else (f <= 1.0 if below else f > 1.0)
        return self.max_ratio[self._kind(kind)][:, cols, :]

    def numbers(self) -> dict[str, float | int | str]:
        """Every number chapter 2 states about E1 (flat; see the keys' comments)."""
        if 1.0 not in self.factors:
            raise ValueError("the sweep must contain the bound, factor 1.0")
        cfg, tol = self.config, 1.0 + GROWTH_TOL
        out: dict[str, float | int | str] = {
            "depth": int(cfg["depth"]), "channels": int(cfg["channels"]),
            "signal_length": int(cfg["n"]), "batch": int(cfg["batch"]),
            "n_networks": len(self.seeds), "n_fluxes": len(self.activations),
            "order": int(cfg.get("order", 1)),
            "n_factors": len(self.factors), "factor_min": min(self.factors),
            "factor_max": max(self.factors), "growth_tol": GROWTH_TOL,
        }
        sym_bound, std_bound = self._at("symmetric"), self._at("standard")
        sym_below, sym_above = self._at("symmetric", True), self._at("symmetric", False)
        # the reproduction report's keys: at the bound (scale 1)
        out["sym_at_bound"] = float(sym_bound.max())
        out["n_std"] = int(std_bound.size)
        out["n_std_grow"] = int((std_bound > tol).sum())
        out["std_min_at_bound"] = float(std_bound.min())
        out["std_median_at_bound"] = float(np.median(std_bound))
        # symmetric at every scale up to the bound: the theorem's setting
        out["n_sym_below"] = int(sym_below.size)
        out["n_sym_grow_below"] = int((sym_below > tol).sum())
        out["sym_max_below"] = float(sym_below.max())
        if sym_above.size:
            out["n_sym_above"] = int(sym_above.size)
            out["n_sym_grow_above"] = int((sym_above > tol).sum())
            out["sym_max_above"] = float(sym_above.max())
            out["factors_above"] = ", ".join(f"{f:g}" for f in self.factors if f > 1.0)
            above = np.asarray(self.factors) > 1.0
            grew = self.grows[self._kind("symmetric")][:, above, :].any(axis=(1, 2))
            out["sym_grow_above_fluxes"] = (", ".join(a for a, g in zip(
                self.activations, grew, strict=True) if g) or "none")
        # standard networks: where growth starts, how many, how much
        first = self.first_growth("standard")
        smallest = min(self.factors)
        out["std_first_growth"] = "none" if first is None else first
        i_min = self.factors.index(smallest)
        out["frac_std_smallest"] = float(self.fraction_growing("standard")[i_min])
        out["med_std_smallest"] = float(self.median_max_ratio("standard")[i_min])
        for kind, short in (("symmetric", "sym"), ("standard", "std")):
            frac, med = self.fraction_growing(kind), self.median_max_ratio(kind)
            for f, fr, md in zip(self.factors, frac, med, strict=True):
                out[f"frac_{short}_{_tag(f)}"] = float(fr)
                out[f"med_{short}_{_tag(f)}"] = float(md)
        # computed verdict sentences
        n_bad = out["n_sym_grow_below"]
        out["sym_verdict"] = (
            f"none of the {out['n_sym_below']} symmetric networks at or below the bound "
            "increased the norm" if n_bad == 0 else
            f"{n_bad} of the {out['n_sym_below']} symmetric networks at or below the bound "
            "increased the norm, contrary to the theorem")
        if first is None:
            out["std_onset"] = "no standard network grew at any scale tested"
        elif first == smallest:
            out["std_onset"] = (f"growth appears already at the smallest scale tested, "
                                f"c = {first:g}, as the first-order term, which can be "
                                "positive, predicts")
        else:
            out["std_onset"] = (f"no standard network grew below c = {first:g}, where growth "
                                "first appears")
        # per flux at the bound: the range of the standard networks' median largest ratio
        col = self.factors.index(1.0)
        med = np.median(self.max_ratio[self._kind("standard"), :, col, :], axis=1)
        lo, hi = int(np.argmin(med)), int(np.argmax(med))
        out["std_med_flux_lo"], out["std_med_flux_lo_name"] = float(med[lo]), self.activations[lo]
        out["std_med_flux_hi"], out["std_med_flux_hi_name"] = float(med[hi]), self.activations[hi]
        return out


def run(config: str | Mapping[str, Any] = "default", *, seed: int = 0,
        progress: bool = False, **overrides: Any) -> StabilitySweep:
    r"""Run E1: symmetric and standard networks over weight scales, fluxes and seeds.

    Parameters
    ----------
    config : str or mapping
        ``"quick"``, ``"default"``, ``"paper"`` (:data:`CONFIGS`) or a settings mapping;
        ``overrides`` change single settings (:func:`pdecore.results.resolve_config`).
    seed : int
        First network seed; the networks use seeds ``seed, ..., seed + n_networks - 1``
        (weights from the generator seeded with the seed, signals from an independent
        one). The symmetric and the standard network of one seed share :math:`W_1`.
    progress : bool
        Show a progress bar over seeds.

    Returns
    -------
    StabilitySweep
    """
    cfg = resolve_config(CONFIGS, config, **overrides)
    seed = as_int(seed, "seed", minimum=0)
    depth = as_int(cfg["depth"], "depth")
    channels, k = as_int(cfg["channels"], "channels"), as_int(cfg["kernel_size"], "kernel_size")
    n = as_int(cfg["n"], "n", minimum=k)
    order = _check_order(cfg["order"], k)
    batch, n_networks = as_int(cfg["batch"], "batch"), as_int(cfg["n_networks"], "n_networks")
    lam = as_positive(cfg["lam"], "lam")
    if isinstance(cfg["factors"], str | bytes) or not isinstance(cfg["factors"], Sequence):
        raise TypeError(f"factors must be a sequence of positive numbers, got {cfg['factors']!r}")
    factors = tuple(sorted({as_positive(f, "factors") for f in cfg["factors"]}))
    if 1.0 not in factors:
        raise ValueError(f"factors must contain the bound 1.0, got {factors}")
    activations = tuple(cfg["activations"])
    if not activations:
        raise ValueError("activations must name at least one flux")
    phis = {a: as_activation(a, lam) for a in activations}
    seeds = tuple(range(seed, seed + n_networks))
    shape = (len(KINDS), len(activations), len(factors), n_networks)
    max_ratio, final_ratio = np.empty(shape), np.empty(shape)
    keep = (factors.index(min(factors)), factors.index(1.0))
    trajectories = []
    loop = seeds
    if progress:
        from tqdm.auto import tqdm

        loop = tqdm(seeds, desc="E1 networks", leave=False)
    f_arr = np.asarray(factors)
    with _one_thread():
        for s_i, s in enumerate(loop):
            w, v = _random_kernels(depth, channels, k, s, order)
            norm_w, norm_v = _norms(w, n), _norms(v, n)
            u0 = _signals(batch, channels, n, lam, s)
            for i, kind in enumerate(KINDS):
                for j, a in enumerate(activations):
                    r = _sweep_one(kind, phis[a], w, v, norm_w, norm_v, f_arr, u0)
                    max_ratio[i, j, :, s_i] = r[1:].max(axis=(0, 2))
                    final_ratio[i, j, :, s_i] = r[-1].max(axis=1)
                    if s_i == 0:
                        trajectories += [StabilityResult(a, kind, factors[i_f], r[:, i_f, :])
                                         for i_f in sorted(set(keep))]
    return StabilitySweep(cfg, seeds, activations, factors, KINDS, max_ratio, final_ratio,
                          trajectories)


@torch.no_grad()
def block_matrix(block: nn.Module, n: int) -> np.ndarray:
    r"""Return the matrix of a block with a *linear* activation on signals of length ``n``.

    Applies the block to every basis signal of shape ``(channels, n)``; for a nonlinear
    activation the result is meaningless. Used to measure the worst-case amplification
    :math:`\|I - \tau W^\top W\|_2` exactly.
    """
    if not isinstance(block, nn.Module) or not hasattr(block, "channels"):
        raise TypeError(f"block must be a residual block of pdecore.nets (with .channels), "
                        f"got {type(block).__name__}")
    n = as_int(n, "n", minimum=getattr(block, "kernel_size", 1))
    c = block.channels
    basis = torch.eye(c * n, dtype=torch.float64).view(c * n, c, n)
    return block(basis).reshape(c * n, c * n).T.numpy()
