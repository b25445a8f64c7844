"""Benchmarks of the kernels against what a user would pick instead.

Run with ``make bench`` (``--quick`` for a smoke run of a few seconds). Each pair is timed
side by side in this process (interleaved repeats, median), and the script prints the
ratio ``pdecore time / alternative time``: below 1 pdecore is faster.

1. Kernels, N = 256 ... 1e6 (log-spaced), ns per grid point, float64 unless noted:
   ``pdecore.explicit_step`` (Perona-Malik, preallocated output) against a numpy
   one-liner with temporaries, against the same step as torch ``conv1d`` /
   ``conv_transpose1d`` in float64 and in float32 (oneDNN switched off around the call
   by ``pdecore.nets._checks.onednn_guard``; float32 *with* oneDNN is timed too, to show
   the trap); ``pdecore.semi_implicit_step`` against the step a scipy user writes (numpy
   bands, ``scipy.linalg.solve_banded``); and the memory-bandwidth floor, a measured
   ``np.copyto`` of the same N float64 values.
2. FED and FSI (``pdecore.fed_evolution``, ``pdecore.fsi_evolution``, diffusivity frozen
   per cycle) against plain explicit steps to the same diffusion time T, at equal
   accuracy, with the definition of chapter 3 (``pdecore.experiments.acceleration
   .work_study``): at each accuracy level (RMSE 1, 0.1, 0.01 grey values of a 0-255
   signal, i.e. divided by 255 for these signals in [0, 1]) the cheapest explicit run
   (bisected over all step counts n >= ceil(T / tau_max), not the run at the stability
   limit) against the cheapest FED/FSI run (all cycle counts), errors against a
   fourth-order Runge-Kutta reference. Printed: steps and the time ratio of the two
   cheapest runs (timed side by side). Fewer sizes (it is slow).
3. Training throughput, forward + backward + SGD step, float32, fixed torch threads:
   ``SymmetricBlock(C, hidden=2C)`` against ``StandardBlock(C, hidden=C)``, the same
   number of parameters (``2 C^2 k`` each, but the symmetric block then does twice the
   multiplications), ``depth`` blocks, samples per second; and ``SymmetricBlock(C,
   hidden=C)``, the same width and multiplications with half the parameters.

Results go to ``benchmarks/results.json`` (written to a temporary file, then renamed)
with the machine (platform, CPU count, load average, versions, date). The multigrid
race against pyamg is ``bench_multigrid.py``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
import torch.nn.functional as F
from benchlib import default_out, interleaved, machine_info, write_json
from torch import nn

import pdecore
from pdecore.experiments.acceleration import reference_solution, run_scheme, work_study
from pdecore.nets import StandardBlock, SymmetricBlock
from pdecore.nets._checks import onednn_guard
from pdecore.train import count_parameters

SIZES = [256, 1024, 4096, 16384, 65536, 262144, 1_000_000]
TAU, LAM = 0.25, 1.0
STENCIL = [-1.0, 1.0]


# --- 1. kernels -------------------------------------------------------------------------


def numpy_one_liner(u, tau=TAU, lam=LAM):
    """Take the explicit Perona-Malik step as a one-liner would: temporaries everywhere."""
    d = np.diff(u)
    flux = d / (1 + d**2 / lam**2)
    return u + tau * (np.concatenate([flux, [0.0]]) - np.concatenate([[0.0], flux]))


def torch_step(u, w, tau=TAU, lam=LAM):
    """Take the same step with conv1d / conv_transpose1d (u: (1, 1, N), w: the stencil)."""
    s = F.conv1d(u, w)
    return u - tau * F.conv_transpose1d(s / (1 + s * s / lam**2), w)


def torch_step_guarded(u, w):
    """Call ``torch_step`` with oneDNN off for float32 on the CPU (pdecore's guard)."""
    with onednn_guard(u):
        return torch_step(u, w)


def scipy_banded_step(u, tau, lam=LAM):
    """Take the semi-implicit step as a scipy user writes it: numpy bands, solve_banded."""
    d = np.diff(u)
    g = 1.0 / (1.0 + d * d / lam**2)
    ab = np.zeros((3, u.size))
    ab[0, 1:] = -tau * g
    ab[1] = 1.0
    ab[1, :-1] += tau * g
    ab[1, 1:] += tau * g
    ab[2, :-1] = -tau * g
    return scipy.linalg.solve_banded((1, 1), ab, u, check_finite=False)


def kernel_times(n, repeats, number, rng):
    """Time the kernels of one size N (median seconds per call)."""
    u = rng.standard_normal(n)
    out = np.empty_like(u)
    t64 = torch.from_numpy(u).view(1, 1, -1)
    t32 = t64.float()
    w64 = torch.tensor(STENCIL, dtype=torch.float64).view(1, 1, -1)
    w32 = w64.float()
    with torch.no_grad():
        np.testing.assert_allclose(torch_step(t64, w64).flatten().numpy(),
                                   pdecore.explicit_step(u, TAU, lam=LAM), atol=1e-12)
        np.testing.assert_allclose(scipy_banded_step(u, 10.0),
                                   pdecore.semi_implicit_step(u, 10.0, lam=LAM), atol=1e-9)
        return interleaved({
            "explicit_step": lambda: pdecore.explicit_step(u, TAU, lam=LAM, out=out),
            "numpy_one_liner": lambda: numpy_one_liner(u),
            "torch_f64": lambda: torch_step(t64, w64),
            "torch_f32": lambda: torch_step_guarded(t32, w32),
            "torch_f32_onednn": lambda: torch_step(t32, w32),
            "semi_implicit_step": lambda: pdecore.semi_implicit_step(u, 10.0, lam=LAM),
            "scipy_banded_step": lambda: scipy_banded_step(u, 10.0),
            "memory_copy": lambda: np.copyto(out, u),
        }, repeats, number)


def kernels(sizes, repeats, points_per_timing):
    """Time every kernel pair at every size, in ns per grid point."""
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        number = max(1, points_per_timing // n)
        ns = {k: v / n * 1e9 for k, v in kernel_times(n, repeats, number, rng).items()}
        rows.append({"n": n, "calls_per_timing": number, "ns_per_point": ns})
        print(f"N = {n:>9,d} ns/pt: explicit {ns['explicit_step']:6.2f} | one-liner "
              f"{ns['numpy_one_liner']:6.2f} ({_ratio(ns, 'explicit_step', 'numpy_one_liner')})"
              f" | torch f64 {ns['torch_f64']:6.2f} ({_ratio(ns, 'explicit_step', 'torch_f64')})"
              f" | torch f32 {ns['torch_f32']:6.2f} ({_ratio(ns, 'explicit_step', 'torch_f32')};"
              f" with oneDNN {ns['torch_f32_onednn']:7.2f}) | semi-implicit "
              f"{ns['semi_implicit_step']:6.2f} / solve_banded step "
              f"{ns['scipy_banded_step']:6.2f} "
              f"({_ratio(ns, 'semi_implicit_step', 'scipy_banded_step')})"
              f" | copy {ns['memory_copy']:5.2f}", flush=True)
    return rows


def _ratio(ns, ours, theirs):
    return f"ratio {ns[ours] / ns[theirs]:.2f}"


# --- 2. FED and FSI at the same error ---------------------------------------------------

#: accuracy levels of section 2: 1, 0.1 and 0.01 grey values of a 0-255 signal
ACC_LEVELS = (1.0 / 255, 0.1 / 255, 0.01 / 255)
ACC_SCHEMES = ("explicit", "FED", "FSI")


def acceleration(sizes, lams, T, repeats, levels=ACC_LEVELS, ref_step=0.0625):
    """Compare steps and time of the cheapest FED/FSI and explicit runs at equal accuracy."""
    rows = []
    for n in sizes:
        f = pdecore.add_noise(pdecore.piecewise_constant(n, max(5, n // 200), seed=0), 0.1,
                              seed=1)
        tau_max = pdecore.stability_limit(n)
        for lam in lams:
            ref = reference_solution(f, [T], "perona_malik", lam, ref_step)[0]
            _, speedups = work_study(f, T, ref, "perona_malik", lam, schemes=ACC_SCHEMES,
                                     levels=levels, timing_repeats=0)
            for sp in speedups:
                row = {"n": n, "lam": lam, "T": T, "level": sp.level,
                       "level_grey": sp.level * 255, "scheme": sp.scheme,
                       "status": sp.status, "steps": sp.steps,
                       "cycle_length": sp.cycle_length,
                       "cycles": sp.steps // sp.cycle_length if sp.steps else 0,
                       "explicit_steps": sp.explicit_steps, "rmse": _finite(sp.rmse),
                       "explicit_rmse": _finite(sp.explicit_rmse),
                       "speedup": _finite(sp.speedup)}
                if sp.status == "both":
                    t = _evolution_times(f, T, lam, sp.explicit_steps, sp.scheme,
                                         row["cycles"], tau_max, repeats)
                    row.update(seconds=t["accelerated"], explicit_seconds=t["explicit"],
                               time_ratio=t["accelerated"] / t["explicit"])
                rows.append(row)
                print(f"N = {n:>7,d} lam = {lam:<4g} T = {T:g} accuracy {sp.level * 255:<4g} "
                      f"grey: {sp.scheme} "
                      + (f"{sp.steps:5d} steps (cycle {sp.cycle_length:3d}) vs explicit "
                         f"{sp.explicit_steps:5d}: speed-up {sp.speedup:5.2f}, time ratio "
                         f"{row['time_ratio']:.2f}" if sp.status == "both" else sp.status),
                      flush=True)
    return rows


def _finite(x):
    return x if math.isfinite(x) else None


def _evolution_times(f, T, lam, n_exp, scheme, n_cycles, tau_max, repeats):
    """Median seconds of the two runs, interleaved; short runs repeated to >= 50 ms."""
    funcs = {
        "explicit": lambda: run_scheme(f, T, "explicit", n_exp, "perona_malik", lam, tau_max),
        "accelerated": lambda: run_scheme(f, T, scheme, n_cycles, "perona_malik", lam,
                                          tau_max),
    }
    t0 = time.perf_counter()
    funcs["explicit"]()
    number = max(1, math.ceil(0.05 / max(time.perf_counter() - t0, 1e-6)))
    return interleaved(funcs, repeats, number=number, warmup=1)


# --- 3. training throughput --------------------------------------------------------------


def training(sizes, channels, depth, points_per_batch, repeats):
    """Measure samples/s of one SGD step, symmetric vs standard blocks.

    ``symmetric`` (hidden = 2C) and ``standard`` (hidden = C) have the same parameters;
    ``symmetric_same_width`` (hidden = C) has half of them at the standard block's width.
    """
    rows = []
    for n in sizes:
        batch = max(1, points_per_batch // n)
        torch.manual_seed(0)
        kw = {"dtype": torch.float32}
        models = {
            "symmetric": nn.Sequential(*[SymmetricBlock(channels, 3, hidden=2 * channels,
                                                        tau=0.1, **kw) for _ in range(depth)]),
            "standard": nn.Sequential(*[StandardBlock(channels, 3, hidden=channels, **kw)
                                        for _ in range(depth)]),
            "symmetric_same_width": nn.Sequential(*[
                SymmetricBlock(channels, 3, hidden=channels, tau=0.1, **kw)
                for _ in range(depth)]),
        }
        params = {k: count_parameters(m) for k, m in models.items()}
        assert params["symmetric"] == params["standard"] == 2 * params["symmetric_same_width"]
        x = torch.randn(batch, channels, n)
        y = torch.randn(batch, channels, n)

        funcs = {k: _train_step(m, x, y) for k, m in models.items()}
        t = interleaved(funcs, repeats, warmup=2)
        row = {"n": n, "batch": batch, "channels": channels, "depth": depth,
               "params": params["symmetric"], "params_by_model": params,
               "samples_per_s": {k: batch / v for k, v in t.items()},
               "seconds_per_step": t, "time_ratio": t["symmetric"] / t["standard"],
               "time_ratio_same_width": t["symmetric_same_width"] / t["standard"]}
        rows.append(row)
        sps = row["samples_per_s"]
        print(f"N = {n:>7,d} batch {batch:4d}, {depth} blocks, C = {channels}: symmetric "
              f"(hidden 2C, {params['symmetric']} weights) {sps['symmetric']:8.1f} samples/s, "
              f"standard (hidden C, {params['standard']}) {sps['standard']:8.1f}: time ratio "
              f"{row['time_ratio']:.2f}; symmetric at width C ({params['symmetric_same_width']}"
              f" weights) {sps['symmetric_same_width']:8.1f}: time ratio "
              f"{row['time_ratio_same_width']:.2f}", flush=True)
    return rows


def _train_step(model, x, y):
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)

    def step():
        opt.zero_grad(set_to_none=True)
        F.mse_loss(model(x), y).backward()
        opt.step()

    return step


def main(argv=None) -> None:
    """Parse the arguments, run the three parts, print the ratios and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--acc-sizes", type=int, nargs="+", default=[256, 4096, 65536])
    parser.add_argument("--acc-lams", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument("--acc-T", type=float, default=400.0)
    parser.add_argument("--train-sizes", type=int, nargs="+", default=[256, 4096, 65536])
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (fixed)")
    parser.add_argument("--out", help="results file (default: benchmarks/results.json;"
                        " with --quick: the same name in a temporary folder)")
    args = parser.parse_args(argv)
    args.out = args.out or default_out("results.json", args.quick)
    points = 2_000_000
    acc_repeats, train_repeats, train_points = 5, 7, 65536
    if args.quick:
        args.sizes, args.repeats, points = [256, 4096, 65536], 3, 200_000
        args.acc_sizes, args.acc_T, acc_repeats = [256, 1024], 100.0, 3
        args.train_sizes, train_repeats, train_points = [256, 4096], 3, 8192
    torch.set_num_threads(args.threads)
    info = machine_info(torch=torch.__version__, torch_threads=torch.get_num_threads())
    print(f"{info['platform']}, {info['cpu_count']} CPUs, load average "
          f"{info['load_average_1min']:.2f} (other jobs share these cores: compare the "
          f"ratios, measured side by side, rather than absolute times)")
    print("\n1. Kernels (ns per grid point; ratio = pdecore / alternative)")
    kernel_rows = kernels(args.sizes, args.repeats, points)
    print(f"\n2. FED / FSI vs the cheapest explicit run at equal accuracy (Perona-Malik, "
          f"T = {args.acc_T:g})")
    acc_rows = acceleration(args.acc_sizes, args.acc_lams, args.acc_T, acc_repeats)
    print(f"\n3. Training throughput (float32, {args.threads} torch thread(s), forward + "
          "backward + SGD step)")
    train_rows = training(args.train_sizes, args.channels, args.depth, train_points,
                          train_repeats)
    info["load_average_1min_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    result = {
        "machine": info,
        "quick": args.quick,
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "unit": "ns per grid point (median of interleaved repeats); ratios: pdecore / other",
        "settings": {"tau": TAU, "lam": LAM, "semi_implicit_tau": 10.0, "repeats": args.repeats,
                     "points_per_timing": points, "acc_T": args.acc_T,
                     "acc_ref": "classical Runge-Kutta, step 0.0625",
                     "acc_levels": list(ACC_LEVELS), "acc_repeats": acc_repeats,
                     "train_channels": args.channels, "train_depth": args.depth,
                     "train_points_per_batch": train_points, "train_repeats": train_repeats},
        "kernels": kernel_rows,
        "acceleration": acc_rows,
        "training": train_rows,
    }
    write_json(args.out, result)
    print(f"wrote {args.out}")
    if any(not math.isfinite(r["time_ratio"]) for r in acc_rows + train_rows
           if "time_ratio" in r):
        raise SystemExit("non-finite ratio")


if __name__ == "__main__":
    main()
