r"""The results contract: experiment configurations, seed statistics, results files.

Every experiment module in :mod:`pdecore.experiments` exposes its settings as
``CONFIGS`` (at least ``"quick"``, ``"default"`` and ``"paper"``) and one run function
that returns a result dataclass whose ``numbers()`` method gives a flat
``{name: float | int | str}`` of every number its chapter states. A chapter hands that
dict to :func:`publish`, which writes ``<chapter>.results.json`` beside the executed
notebook (temporary file, then rename) and glues the *same* numbers into the page, so
the text, the file and the reproduction report cannot disagree.

Learned comparisons run several seeds. :func:`seed_stats` summarises one quantity over
seeds (mean, sample standard deviation, min, max), and :func:`paired_comparison`
decides a win by the book's rule (:data:`WIN_RULE`): method A beats method B when A is
better on every seed *and* the mean of the per-seed differences exceeds twice its
standard error,

.. math::

   \min_i d_i > 0 \quad\text{and}\quad \bar d > 2\,\frac{s_d}{\sqrt{n}}, \qquad
   d_i = \text{score}_B(i) - \text{score}_A(i) \ \text{(lower is better)},

with :math:`s_d` the sample standard deviation of :math:`d_1, \dots, d_n` and :math:`n \ge
2` paired seeds (same data split and initialisation seed for both). Otherwise the
comparison is a tie. With three seeds the second condition alone is lenient (a
one-sided t-test at 5 % needs :math:`\bar d > 2.92\,s_d/\sqrt{n}`); asking every seed
to agree as well keeps a single lucky seed from deciding.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ._validation import as_choice

__all__ = [
    "CONFIG_NAMES",
    "RESULTS_SUFFIX",
    "WIN_RULE",
    "ExperimentResult",
    "SeedStats",
    "paired_comparison",
    "publish",
    "read_results",
    "resolve_config",
    "results_path",
    "seed_stats",
    "write_results",
]

#: Configuration names every experiment module provides in its ``CONFIGS``.
CONFIG_NAMES = ("quick", "default", "paper")

#: File name suffix of a chapter's results file.
RESULTS_SUFFIX = ".results.json"

#: The rule by which a learned comparison counts a win, for the chapters' text.
WIN_RULE = ("a method wins when it is better on every seed and the mean of its per-seed "
            "improvements over the other exceeds twice their standard error (paired over "
            "seeds); otherwise it is a tie")

_TOP_KEYS = ("chapter", "parameters", "quick", "seeds", "numbers")


@runtime_checkable
class ExperimentResult(Protocol):
    """What an experiment's run function returns: its inputs and its numbers."""

    config: Mapping[str, Any]
    seeds: tuple[int, ...]

    def numbers(self) -> dict[str, float | int | str]:
        """Every number the chapter states, flat."""
        ...


def resolve_config(
    configs: Mapping[str, Mapping[str, Any]],
    config: str | Mapping[str, Any] = "default",
    **overrides: Any,
) -> dict[str, Any]:
    """Return the settings of ``config`` with ``overrides`` applied.

    Parameters
    ----------
    configs : mapping
        An experiment module's ``CONFIGS``.
    config : str or mapping
        A key of ``configs`` (``"quick"``, ``"default"``, ``"paper"``), or a full
        settings mapping with the same keys as ``configs["default"]``.
    **overrides
        Settings to change; each name must be a key of the configuration.

    Raises
    ------
    ValueError
        ``config`` is not a known name, or an override or mapping key is unknown (the
        message lists the accepted names).
    """
    base = dict(configs["default"])
    if isinstance(config, str):
        settings = dict(configs[as_choice(config, "config", sorted(configs))])
    elif isinstance(config, Mapping):
        settings = dict(base)
        unknown = sorted(set(config) - set(base))
        if unknown:
            raise ValueError(f"config has unknown settings {unknown}; accepted: "
                             f"{sorted(base)}")
        settings.update(config)
    else:
        raise TypeError(f"config must be a name {sorted(configs)} or a mapping, got "
                        f"{type(config).__name__}")
    unknown = sorted(set(overrides) - set(settings))
    if unknown:
        raise ValueError(f"unknown settings {unknown}; accepted: {sorted(settings)}")
    settings.update(overrides)
    return settings


@dataclass(frozen=True)
class SeedStats:
    """One quantity over seeds: mean, sample standard deviation, min, max, count."""

    mean: float
    std: float
    min: float
    max: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.4g} ± {self.std:.2g} (n={self.n})"


def seed_stats(values: Iterable[float]) -> SeedStats:
    """Summarise ``values`` (one per seed); ``std`` uses ``ddof=1`` (0 for one seed).

    Examples
    --------
    >>> s = seed_stats([1.0, 2.0, 3.0])
    >>> s.mean, s.std, s.min, s.max, s.n
    (2.0, 1.0, 1.0, 3.0, 3)
    """
    x = np.asarray(list(values), dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise ValueError("values must be a non-empty sequence of numbers, one per seed")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"values must be finite, got {x.tolist()}")
    std = float(x.std(ddof=1)) if x.size > 1 else 0.0
    return SeedStats(float(x.mean()), std, float(x.min()), float(x.max()), int(x.size))


def paired_comparison(
    a: Sequence[float], b: Sequence[float], *, lower_is_better: bool = True
) -> str:
    r"""Compare two methods over paired seeds by :data:`WIN_RULE`.

    Parameters
    ----------
    a, b : sequence of float
        One score per seed for each method, in the same seed order.
    lower_is_better : bool
        True for errors, False for accuracies.

    Returns
    -------
    str
        ``"better"`` (A wins), ``"worse"`` (B wins) or ``"tie"``.

    Examples
    --------
    >>> paired_comparison([1.0, 1.1, 0.9], [2.0, 2.2, 2.1])
    'better'
    >>> paired_comparison([1.0, 3.0, 1.0], [2.0, 1.0, 2.0])
    'tie'
    """
    if not isinstance(lower_is_better, bool):
        raise TypeError("lower_is_better must be True or False")
    xa = np.asarray(a, dtype=float)
    xb = np.asarray(b, dtype=float)
    if xa.ndim != 1 or xa.shape != xb.shape:
        raise ValueError(f"a and b must be 1D with one score per seed each, got shapes "
                         f"{xa.shape} and {xb.shape}")
    if xa.size < 2:
        raise ValueError("a paired comparison needs at least 2 seeds")
    if not (np.all(np.isfinite(xa)) and np.all(np.isfinite(xb))):
        raise ValueError("scores must be finite")
    d = (xb - xa) if lower_is_better else (xa - xb)  # positive: A better
    mean = float(d.mean())
    se = float(d.std(ddof=1)) / math.sqrt(d.size)
    if d.min() > 0.0 and mean > 2.0 * se:
        return "better"
    if d.max() < 0.0 and -mean > 2.0 * se:
        return "worse"
    return "tie"


def _plain(value: Any, name: str) -> float | int | str | bool:
    """``value`` as a JSON scalar (numpy scalars converted), or a clear error."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"number {name!r} is {value}; results must be finite (store "
                             "'not reached' as a string or leave the key out)")
        return value
    raise TypeError(f"number {name!r} must be a float, int, bool or str, got "
                    f"{type(value).__name__}")


def results_path(chapter: str, folder: str | os.PathLike = ".") -> Path:
    """``folder / '<chapter>.results.json'``."""
    if not isinstance(chapter, str) or not chapter or "/" in chapter:
        raise ValueError(f"chapter must be a file stem such as '03_fed_fsi', got "
                         f"{chapter!r}")
    return Path(folder) / f"{chapter}{RESULTS_SUFFIX}"


def write_results(
    chapter: str,
    numbers: Mapping[str, Any],
    *,
    parameters: Mapping[str, Any],
    quick: bool,
    seeds: Iterable[int],
    folder: str | os.PathLike = ".",
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``<chapter>.results.json`` in ``folder`` atomically; return its path.

    The file is ``{"chapter", "parameters", "quick", "seeds", "numbers"}`` (plus the keys
    of ``extra``, e.g. the report's ``"claims"``). It is written to a unique temporary
    file in the same folder and renamed, so a reader never sees half a file and two
    concurrent runs cannot mix their output.

    Raises
    ------
    TypeError, ValueError
        A number is not a finite float, an int, a bool or a str (names it), or a
        parameter is not JSON-serialisable.
    """
    path = results_path(chapter, folder)
    if not isinstance(quick, bool):
        raise TypeError(f"quick must be True or False, got {quick!r}")
    if not isinstance(numbers, Mapping):
        raise TypeError("numbers must be a mapping {name: value}")
    record = {
        "chapter": chapter,
        "parameters": dict(parameters),
        "quick": quick,
        "seeds": [int(s) for s in seeds],
        "numbers": {str(k): _plain(v, str(k)) for k, v in numbers.items()},
    }
    clash = sorted(set(extra or {}) & set(record))
    if clash:
        raise ValueError(f"extra must not redefine {clash}")
    record.update(extra or {})
    try:
        text = json.dumps(record, indent=1, sort_keys=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"results of {chapter} are not JSON-serialisable: {exc}") from None
    write_text_atomically(path, text + "\n")
    return path


def write_text_atomically(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` via a unique temporary file in its folder, then rename.

    A reader never sees half a file, a crash leaves the previous file (or none), and two
    concurrent writers cannot mix their output; the file gets mode 0644.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a results file is for every reader
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_results(path: str | os.PathLike) -> dict[str, Any]:
    """Read a results file and check the contract's keys.

    Raises
    ------
    FileNotFoundError
        The file does not exist (names it and how to make it).
    ValueError
        Not JSON, or a key of the contract is missing (names the file and the key).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; execute its chapter first "
                                "(make book, or make chapters-quick)")
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a results file ({exc})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path}: not a results file (top level is not an object)")
    for key in _TOP_KEYS:
        if key not in record:
            raise ValueError(f"{path}: missing key {key!r}")
    if not isinstance(record["numbers"], dict):
        raise ValueError(f"{path}: 'numbers' is not an object")
    return record


def publish(
    chapter: str,
    numbers: Mapping[str, Any],
    *,
    parameters: Mapping[str, Any],
    quick: bool,
    seeds: Iterable[int] = (),
    folder: str | os.PathLike = ".",
    extra: Mapping[str, Any] | None = None,
    glue: bool = True,
) -> Path:
    """Write the chapter's results file and glue every number under its own name.

    Chapters call this once, in a hidden cell, with everything their text states; the
    text then refers to ``{glue:text}`name``` and the report reads the file. The
    arguments are those of :func:`write_results`.
    """
    path = write_results(chapter, numbers, parameters=parameters, quick=quick,
                         seeds=seeds, folder=folder, extra=extra)
    if glue:
        from myst_nb import glue as _glue

        for name, value in read_results(path)["numbers"].items():
            _glue(name, value, display=False)
    return path
