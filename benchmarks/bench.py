"""Benchmarks of the numerical kernels against what a user would pick instead.

Run with ``make bench``. Each pair is timed side by side in this process (interleaved
repeats, median), and the script prints the ratio ``pdecore / alternative``; a ratio
below 1 means pdecore is faster. Results go to ``benchmarks/results.json`` (written to a
temporary file, then renamed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.linalg

import pdecore


def interleaved(funcs: dict, repeats: int, number: int) -> dict[str, float]:
    """Median seconds per call of each function, the functions timed in turn."""
    times = {name: [] for name in funcs}
    for f in funcs.values():  # warm-up
        f()
    for _ in range(repeats):
        for name, f in funcs.items():
            t0 = time.perf_counter()
            for _ in range(number):
                f()
            times[name].append((time.perf_counter() - t0) / number)
    return {name: statistics.median(t) for name, t in times.items()}


def naive_explicit(u, tau, lam):
    """Take an explicit step the way a one-liner would: temporaries everywhere."""
    d = np.diff(u)
    flux = d / (1 + d**2 / lam**2)
    return u + tau * (np.concatenate([flux, [0.0]]) - np.concatenate([[0.0], flux]))


def banded_system(u, tau, lam):
    """Return the same tridiagonal matrix in solve_banded's (1, 1) storage."""
    upper = pdecore.semi_implicit_matrix_bands(u, tau, "perona_malik", lam)
    ab = np.zeros((3, u.size))
    ab[0], ab[1] = upper[0], upper[1]
    ab[2, :-1] = upper[0, 1:]
    return ab


def main() -> None:
    """Run every pair at every size and write the results file."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 4096, 65536, 1_000_000])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for n in args.sizes:
        u = rng.standard_normal(n)
        out = np.empty_like(u)
        number = max(1, 2_000_000 // n)
        ab = banded_system(u, 10.0, 1.0)
        t = interleaved({
            "explicit_step": lambda u=u, out=out: pdecore.explicit_step(u, 0.25, out=out),
            "numpy_one_liner": lambda u=u: naive_explicit(u, 0.25, 1.0),
            "memory_copy": lambda u=u, out=out: np.copyto(out, u),
            "semi_implicit_step": lambda u=u: pdecore.semi_implicit_step(u, 10.0),
            "solve_banded": lambda u=u, ab=ab: scipy.linalg.solve_banded(
                (1, 1), ab, u, check_finite=False),
        }, args.repeats, number)
        row = {"n": n, **{k: v / n * 1e9 for k, v in t.items()}}  # ns per point
        rows.append(row)
        print(f"N = {n:>9,d}  explicit step {row['explicit_step']:6.2f} ns/pt, "
              f"one-liner {row['numpy_one_liner']:6.2f} (ratio "
              f"{row['explicit_step'] / row['numpy_one_liner']:.2f}), copy "
              f"{row['memory_copy']:5.2f} | semi-implicit step {row['semi_implicit_step']:6.2f}"
              f", solve_banded alone {row['solve_banded']:6.2f} (ratio "
              f"{row['semi_implicit_step'] / row['solve_banded']:.2f})")
    result = {"machine": platform.platform(), "cpus": os.cpu_count(),
              "numpy": np.__version__, "scipy": scipy.__version__,
              "unit": "ns per grid point (median)", "rows": rows}
    path = Path(args.out)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as fh:
        json.dump(result, fh, indent=1)
    os.replace(fh.name, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
