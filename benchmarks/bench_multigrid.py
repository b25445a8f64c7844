"""Multigrid for the semi-implicit system: convergence factors and a race against pyamg.

Run with ``make bench`` or ``python benchmarks/bench_multigrid.py`` (about 1-2 minutes on
2 cores, most of it pyamg at N = 1e6; ``--quick`` for a smoke run).

1. Convergence factor per V(2,2) cycle (geometric mean, until the relative residual
   reaches 1e-10 or ``--maxiter`` cycles) at N = 2^8 ... 2^20 and 1e6, for Perona-Malik
   with lam in {0.05, 0.1}, tau = 50, on a noisy piecewise-constant signal:
   operator-dependent vs linear interpolation, damped Jacobi vs red-black Gauss-Seidel.
2. At N = 4096, 65536 and 1e6: pdecore multigrid (hierarchy setup + solve to
   relative residual 1e-10, red-black Gauss-Seidel, operator-dependent interpolation)
   against ``pyamg.smoothed_aggregation_solver`` (setup + solve to the same tolerance;
   plain V-cycles, its default, and CG-accelerated), on the same matrix, in interleaved
   repeats, median. Printed: ``pdecore time / pyamg time`` (below 1: pdecore faster, as
   in ``bench.py``) and both relative residuals, measured with the same scipy.sparse
   matrix. LAPACK ``dptsv`` (a direct tridiagonal solve) is timed alongside as the floor
   a 1D user also has.

Each solver gets the matrix in its native storage (pdecore: diagonal and off-diagonal;
pyamg: CSR); building them is not timed. Results go to
``benchmarks/multigrid_results.json`` (written to a temporary file, then renamed).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import pyamg
from benchlib import default_out, machine_info, write_json
from scipy.linalg import lapack

from pdecore.experiments.multigrid_convergence import factor_sweep, semi_implicit_problem
from pdecore.multigrid import multigrid_hierarchy, multigrid_solve

TAU = 50.0
SIGMA = 0.05
TOL = 1e-10


def factors(sizes: list[int], lams: list[float], maxiter: int) -> list[dict]:
    """Convergence factor and cycle count of each variant at each size and lam, printed."""
    flat = factor_sweep(sizes, lams, tau=TAU, tol=TOL, maxiter=maxiter)
    rows = []
    for n in sizes:
        for lam in lams:
            row = {"n": n, "lam": lam}
            for r in flat:
                if r["n"] == n and r["lam"] == lam:
                    key = f"{r['interpolation']}/{r['smoother']}"
                    row[key] = {"factor": r["factor"], "cycles": r["cycles"]}
            rows.append(row)
            print(
                f"N = {n:>9,d} lam = {lam:<5}"
                + "".join(
                    f"  {k:>15}: {v['factor']:8.2e} ({v['cycles']:2d})"
                    for k, v in row.items()
                    if isinstance(v, dict)
                ),
                flush=True,
            )
    return rows


def race(n: int, lam: float, repeats: int) -> dict:
    """Interleaved timing of pdecore multigrid, pyamg SA (plain and CG), and dptsv."""
    A, f = semi_implicit_problem(n, lam, TAU, SIGMA)
    S = A.to_sparse()
    norm_f = np.linalg.norm(f)
    results: dict[str, dict] = {}

    def pdecore_mg():
        levels = multigrid_hierarchy(A, "operator")
        x, res = multigrid_solve(levels, f, tol=TOL, smoother="rbgs")
        return x, res.size - 1

    def pyamg_sa(accel):
        def run():
            ml = pyamg.smoothed_aggregation_solver(S)
            res: list[float] = []
            x = ml.solve(f, tol=TOL, maxiter=1000, accel=accel, residuals=res)
            return x, len(res) - 1

        return run

    def dptsv():
        x = lapack.dptsv(A.diag, A.off, f)[2]
        return x, 0

    funcs = {
        "pdecore_multigrid": pdecore_mg,
        "pyamg_sa": pyamg_sa(None),
        "pyamg_sa_cg": pyamg_sa("cg"),
        "lapack_dptsv": dptsv,
    }
    times: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(repeats):
        for name, func in funcs.items():
            t0 = time.perf_counter()
            x, iterations = func()
            times[name].append(time.perf_counter() - t0)
            residual = float(np.linalg.norm(f - S @ x) / norm_f)
            results[name] = {"iterations": iterations, "relative_residual": residual}
    for name in funcs:
        results[name]["seconds"] = times[name]
        results[name]["median_s"] = statistics.median(times[name])
        results[name]["ns_per_point"] = results[name]["median_s"] / n * 1e9
    ours = results["pdecore_multigrid"]["median_s"]
    return {
        "n": n,
        "lam": lam,
        "tau": TAU,
        "tol": TOL,
        "repeats": repeats,
        "solvers": results,
        # pdecore time / other time: below 1, pdecore is faster (as in bench.py)
        "ratio_pdecore_over": {
            name: ours / results[name]["median_s"] for name in funcs if name != "pdecore_multigrid"
        },
    }


def main(argv=None) -> None:
    """Parse the arguments, measure, print and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+",
        default=[2**k for k in range(8, 21, 2)] + [1_000_000],
    )
    parser.add_argument("--lams", type=float, nargs="+", default=[0.05, 0.1])
    parser.add_argument("--maxiter", type=int, default=20, help="cycles for the factors")
    parser.add_argument("--race-sizes", type=int, nargs="+", default=[4096, 65536, 1_000_000])
    parser.add_argument("--race-lam", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=2,
                        help="repeats at N >= 1e5 (pyamg takes 5-25 s per solve at 1e6)")
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--out", help="results file (default: benchmarks/multigrid_results.json;"
                        " with --quick: the same name in a temporary folder)")
    args = parser.parse_args(argv)
    args.out = args.out or default_out("multigrid_results.json", args.quick)
    if args.quick:
        args.sizes, args.race_sizes, args.repeats = [2**8, 3000, 2**12], [4096, 16384], 1

    info = machine_info(pyamg=pyamg.__version__)
    print(
        f"Convergence factor per V(2,2) cycle (cycles in brackets), tau = {TAU}, "
        f"noise sigma = {SIGMA}, Perona-Malik"
    )
    factor_rows = factors(args.sizes, args.lams, args.maxiter)

    print(
        f"\nSolve to relative residual {TOL:g}, lam = {args.race_lam} (setup + solve, median "
        f"of interleaved repeats); ratio = pdecore time / other time (below 1: pdecore faster)"
    )
    races = []
    for n in args.race_sizes:
        repeats = args.repeats if n >= 100_000 else max(args.repeats, 5)
        timing = race(n, args.race_lam, repeats)
        races.append(timing)
        print(f"N = {n:>9,d} ({repeats} repeats)")
        for name, r in timing["solvers"].items():
            ratio = timing["ratio_pdecore_over"].get(name)
            print(
                f"  {name:>18}: {r['median_s']:8.4f} s  {r['ns_per_point']:8.1f} ns/pt  "
                f"iterations {r['iterations']:3d}  relative residual "
                f"{r['relative_residual']:.2e}"
                + ("" if ratio is None else f"  ratio {ratio:.3f} ({1 / ratio:.1f}x)"),
                flush=True,
            )
    info["load_average_1min_end"] = machine_info()["load_average_1min"]
    write_json(
        Path(args.out),
        {
            "machine": info,
            "quick": args.quick,
            "problem": {
                "matrix": "I + tau D^T G D, Perona-Malik, noisy piecewise-constant signal",
                "tau": TAU,
                "sigma": SIGMA,
                "jumps": "max(5, N // 200)",
                "tol": TOL,
            },
            "factors": factor_rows,
            "race": races,
        },
    )
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
