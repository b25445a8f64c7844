"""Shared helpers of the benchmarks and of the book's benchmark appendix.

- timing: :func:`interleaved` (repeats taken in turn, median), :func:`machine_info`,
  :func:`write_json` (temporary file in the same folder, then ``os.replace``);
- reading: :func:`find_root` (the repository root from any working folder),
  :func:`load_results`, :func:`ratio_rows` and :func:`plot_time_per_point`, used by
  ``book/appendix/benchmarks.md``, which never runs a benchmark itself.

Every ratio is ``time of the pdecore method / time of the alternative``: below 1 the
pdecore method is faster.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = "results.json"
MULTIGRID_RESULTS = "multigrid_results.json"


# --- measuring ------------------------------------------------------------------------


def interleaved(funcs: dict[str, Callable[[], object]], repeats: int, number: int = 1,
                warmup: int = 1) -> dict[str, float]:
    """Return the median seconds per call of each function, the functions timed in turn.

    Each of ``repeats`` rounds times ``number`` calls of every function, one function
    after the other, so that a change of machine load hits all of them alike.
    """
    times: dict[str, list[float]] = {name: [] for name in funcs}
    for f in funcs.values():
        for _ in range(warmup):
            f()
    for _ in range(repeats):
        for name, f in funcs.items():
            t0 = time.perf_counter()
            for _ in range(number):
                f()
            times[name].append((time.perf_counter() - t0) / number)
    return {name: statistics.median(t) for name, t in times.items()}


def machine_info(**versions: str) -> dict:
    """Return platform, CPU count, load average, library versions and the date (UTC)."""
    import numpy as np
    import scipy

    import pdecore

    info = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pdecore": pdecore.__version__,
    }
    info.update(versions)
    return info


def default_out(name: str, quick: bool) -> Path:
    """Return ``benchmarks/<name>``, or for a quick smoke run the same name in a temp folder.

    A ``--quick`` run must not overwrite the stored results that the book shows.
    """
    if not quick:
        return Path(__file__).with_name(name)
    folder = Path(tempfile.gettempdir()) / "pdecore-bench-quick"
    folder.mkdir(exist_ok=True)
    return folder / name


def write_json(path: str | os.PathLike, data: dict) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, rename)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


# --- reading (the appendix) ------------------------------------------------------------


def find_root(start: str | os.PathLike | None = None) -> Path:
    """Return the first folder at or above ``start`` (default: cwd) with benchmarks/, pdecore/.

    The book executes notebooks in ``_build/executed`` or ``_build/test/executed``; this
    finds the repository from there, or from anywhere inside it.
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "benchmarks").is_dir() and (folder / "pdecore").is_dir():
            return folder
    raise FileNotFoundError(f"no folder at or above {here} holds benchmarks/ and pdecore/")


def load_results(root: str | os.PathLike | None = None) -> tuple[dict, dict]:
    """Return the two stored results files: ``(results.json, multigrid_results.json)``."""
    folder = find_root(root) / "benchmarks"
    with open(folder / RESULTS) as fh:
        kernels = json.load(fh)
    with open(folder / MULTIGRID_RESULTS) as fh:
        multigrid = json.load(fh)
    return kernels, multigrid


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
