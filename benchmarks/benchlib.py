"""Shared helpers of the benchmark scripts.

- timing: :func:`interleaved` (repeats taken in turn, median), :func:`machine_info`,
  :func:`write_json` (temporary file in the same folder, then ``os.replace``).

Reading the results for the book's appendix lives in :mod:`pdecore.benchmarks`.

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

from pdecore.results import write_text_atomically

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
    write_text_atomically(path, json.dumps(data, indent=1) + "\n")
