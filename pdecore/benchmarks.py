"""The stored results of ``make bench``, as tables and a figure (the benchmarks appendix).

``make bench`` (``benchmarks/bench.py`` and ``benchmarks/bench_multigrid.py``) measures
pdecore's kernels against numpy, torch, SciPy and pyamg and writes
``benchmarks/results.json`` and ``benchmarks/multigrid_results.json``. This module reads
them (:func:`load_results`, which finds the repository from any working folder) and turns
them into the appendix's ratio tables and its time-per-point figure; it never runs a
benchmark itself. Every ratio is ``time of the pdecore method / time of the
alternative``: below 1 the pdecore method is faster.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = [
    "CURVES",
    "KERNEL_PAIRS",
    "acceleration_table",
    "find_root",
    "load_results",
    "plot_time_per_point",
    "ratio_rows",
    "ratio_table",
    "training_table",
]

#: File names of the two results files in ``benchmarks/``.
RESULTS = "results.json"
MULTIGRID_RESULTS = "multigrid_results.json"


def _check_results(kernels: object, multigrid: object = ...) -> None:
    """Refuse anything but the dicts of the two results files (``...``: not needed)."""
    checks = [("kernels", kernels, "kernels", RESULTS)]
    if multigrid is not ...:
        checks.append(("multigrid", multigrid, "race", MULTIGRID_RESULTS))
    for name, value, key, file in checks:
        if not isinstance(value, dict) or key not in value:
            raise TypeError(f"{name} must be the dict read from benchmarks/{file} "
                            f"(load_results), got {type(value).__name__}")


def find_root(start: str | os.PathLike | None = None) -> Path:
    """Return the first folder at or above ``start`` with ``benchmarks/`` and ``pdecore/``.

    Without ``start``, the working folder is tried first (the book executes notebooks in
    ``_build/executed``), then the folder of this package (an editable install).

    Raises
    ------
    FileNotFoundError
        No such folder (names where it looked).
    """
    starts = [Path(start)] if start is not None else [Path.cwd(), Path(__file__).parent]
    for here in (s.resolve() for s in starts):
        for folder in (here, *here.parents):
            if (folder / "benchmarks").is_dir() and (folder / "pdecore").is_dir():
                return folder
    raise FileNotFoundError(f"no folder at or above {', '.join(map(str, starts))} holds "
                            f"benchmarks/ and pdecore/")


def load_results(root: str | os.PathLike | None = None) -> tuple[dict, dict]:
    """Return the two stored results files: ``(results.json, multigrid_results.json)``."""
    folder = find_root(root) / "benchmarks"
    out = []
    for name in (RESULTS, MULTIGRID_RESULTS):
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing; run make bench to create it")
        try:
            out.append(json.loads(path.read_text()))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not valid JSON ({exc}); rerun make bench") from None
    return out[0], out[1]


#: (pair label, pdecore key, alternative key) in results.json's "kernels" rows
KERNEL_PAIRS = [
    ("explicit step / numpy one-liner", "explicit_step", "numpy_one_liner"),
    ("explicit step / torch conv1d float64", "explicit_step", "torch_f64"),
    ("explicit step / torch conv1d float32 (oneDNN off)", "explicit_step", "torch_f32"),
    ("torch float32 with oneDNN / without", "torch_f32_onednn", "torch_f32"),
    ("semi-implicit step / scipy solve_banded step", "semi_implicit_step", "scipy_banded_step"),
    ("explicit step / memory copy", "explicit_step", "memory_copy"),
]


def ratio_rows(kernels: dict, multigrid: dict) -> list[dict]:
    """Return one row per pair and N: ``{"pair", "n", "ratio"}`` (pdecore / alternative)."""
    _check_results(kernels, multigrid)
    rows = []
    for label, ours, theirs in KERNEL_PAIRS:
        for r in kernels["kernels"]:
            t = r["ns_per_point"]
            if ours in t and theirs in t:
                rows.append({"pair": label, "n": r["n"], "ratio": t[ours] / t[theirs]})
    for r in multigrid["race"]:
        for alt, label in (("pyamg_sa", "multigrid / pyamg SA"),
                           ("pyamg_sa_cg", "multigrid / pyamg SA + CG")):
            rows.append({"pair": f"{label} (setup + solve)", "n": r["n"],
                         "ratio": r["ratio_pdecore_over"][alt]})
    for r in kernels["acceleration"]:
        if r["scheme"] == "FED" and "time_ratio" in r:
            rows.append({"pair": f"FED / cheapest explicit, lam={r['lam']:g}, "
                                 f"{r['level_grey']:g} grey (equal accuracy)",
                         "n": r["n"], "ratio": r["time_ratio"]})
    for r in kernels["training"]:
        rows.append({"pair": "training: symmetric / standard block (equal parameters)",
                     "n": r["n"], "ratio": r["time_ratio"]})
        rows.append({"pair": "training: symmetric / standard block (equal width)",
                     "n": r["n"], "ratio": r["time_ratio_same_width"]})
    return rows


def ratio_table(rows: list[dict]) -> str:
    """Return a markdown table: one line per pair, one column per N."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise TypeError("rows must be the list of dicts from ratio_rows")
    sizes = sorted({r["n"] for r in rows})
    pairs = list(dict.fromkeys(r["pair"] for r in rows))
    lookup = {(r["pair"], r["n"]): r["ratio"] for r in rows}
    head = "| pair (time ratio) | " + " | ".join(f"N = {n:,}" for n in sizes) + " |"
    lines = [head, "|---" * (len(sizes) + 1) + "|"]
    for p in pairs:
        cells = [f"{lookup[p, n]:.3g}" if (p, n) in lookup else "" for n in sizes]
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def acceleration_table(kernels: dict) -> str:
    """Return a markdown table of the FED/FSI runs at equal accuracy.

    Per size, lambda, accuracy (grey values of a 0-255 signal) and scheme: the cheapest
    explicit run's steps, the cheapest FED/FSI run's steps and cycle length, the
    speed-up in steps (explicit / accelerated) and the time ratio (accelerated /
    explicit, below 1 the accelerated run is faster), or "not reached".
    """
    _check_results(kernels)
    lines = ["| N | lambda | accuracy (grey) | scheme | explicit steps | steps (cycle length) "
             "| speed-up in steps | time ratio |", "|---" * 8 + "|"]
    for r in kernels["acceleration"]:
        exp = str(r["explicit_steps"]) if r["explicit_steps"] else "not reached"
        if r["status"] == "both":
            acc = f"{r['steps']} ({r['cycle_length']})"
            speed, ratio = f"{r['speedup']:.2f}", f"{r['time_ratio']:.3g}"
        else:
            acc = f"{r['steps']} ({r['cycle_length']})" if r["steps"] else "not reached"
            speed = ratio = ""
        lines.append(f"| {r['n']:,} | {r['lam']:g} | {r['level_grey']:g} | {r['scheme']} | "
                     f"{exp} | {acc} | {speed} | {ratio} |")
    return "\n".join(lines)


def training_table(kernels: dict) -> str:
    """Return a markdown table of the training throughput, symmetric vs standard."""
    _check_results(kernels)
    lines = ["| N | batch | standard, hidden C (samples/s) | symmetric, hidden 2C: same "
             "parameters (samples/s, time ratio) | symmetric, hidden C: half the parameters "
             "(samples/s, time ratio) |", "|---" * 5 + "|"]
    for r in kernels["training"]:
        sps = r["samples_per_s"]
        lines.append(f"| {r['n']:,} | {r['batch']} | {sps['standard']:.4g} | "
                     f"{sps['symmetric']:.4g}, {r['time_ratio']:.3g} | "
                     f"{sps['symmetric_same_width']:.4g}, {r['time_ratio_same_width']:.3g} |")
    return "\n".join(lines)


#: curves of the log-log plot: (label, where, key, style)
CURVES = [
    ("pdecore explicit step", "kernels", "explicit_step", "o-"),
    ("numpy one-liner", "kernels", "numpy_one_liner", "s--"),
    ("torch conv1d float64", "kernels", "torch_f64", "^--"),
    ("torch conv1d float32 (oneDNN off)", "kernels", "torch_f32", "v--"),
    ("pdecore semi-implicit step", "kernels", "semi_implicit_step", "o-"),
    ("scipy solve_banded step", "kernels", "scipy_banded_step", "s--"),
    ("pdecore multigrid (setup + solve)", "race", "pdecore_multigrid", "D-"),
    ("pyamg SA + CG (setup + solve)", "race", "pyamg_sa_cg", "D--"),
]


def plot_time_per_point(kernels: dict, multigrid: dict, ax=None):
    """Plot ns per grid point against N (log-log), the memory copy as the floor."""
    import matplotlib.pyplot as plt

    _check_results(kernels, multigrid)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4.8))
    for label, where, key, style in CURVES:
        if where == "kernels":
            pts = [(r["n"], r["ns_per_point"][key]) for r in kernels["kernels"]
                   if key in r["ns_per_point"]]
        else:
            pts = [(r["n"], r["solvers"][key]["ns_per_point"]) for r in multigrid["race"]]
        if pts:
            n, t = zip(*pts, strict=True)
            ax.loglog(n, t, style, label=label, markersize=4)
    n, t = zip(*[(r["n"], r["ns_per_point"]["memory_copy"]) for r in kernels["kernels"]],
               strict=True)
    ax.loglog(n, t, "k-", lw=2.5, alpha=0.6, label="memory copy (bandwidth floor)")
    ax.set_xlabel("grid points N")
    ax.set_ylabel("time per grid point (ns)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax
