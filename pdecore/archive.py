"""Paper-scale runs: one JSON per job, resumable, with provenance (``make paper``).

A long experiment is split into *jobs* (for E5: one network per family, budget and
seed). :func:`run_jobs` runs the jobs whose record is missing or stale and writes each
record atomically when its job has finished, so an interrupted run loses at most the job
in progress and a rerun resumes where it stopped. Every record carries the configuration
it was run with and the provenance of SPEC.md's results contract (``commit``, ``date``,
``command``, ``torch``, ``device``, ``machine``); :func:`read_archive` separates the
records of the current configuration from stale ones, so a changed configuration marks
the archive stale instead of silently mixing results.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .results import write_text_atomically

__all__ = ["PROVENANCE_KEYS", "Archive", "provenance", "read_archive", "run_jobs"]

#: Keys every archived record has besides its metrics.
PROVENANCE_KEYS = ("commit", "date", "command", "torch", "device", "machine")


def _jsonable(value: Any) -> Any:
    """``value`` with tuples as lists and mapping keys as strings (its JSON form).

    Two configurations are the same exactly when their JSON forms are equal.
    """
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _commit(root: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], check=True,
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain",
                                "--untracked-files=no", "--", "pdecore"],
                               check=True, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out + ("+modified" if dirty.strip() else "")


def provenance(command: str, device: str) -> dict[str, str]:
    """Return where a record comes from.

    The git commit of ``pdecore`` (``+modified`` if the package has uncommitted changes),
    the UTC date, the command, the torch version, the device and the machine.
    """
    import torch

    for name, value in (("command", command), ("device", device)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    root = Path(__file__).resolve().parent.parent
    machine = (f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
               f"{torch.get_num_threads()} torch threads")
    if str(device).startswith("cuda") and torch.cuda.is_available():
        machine += f", {torch.cuda.get_device_name()}"
    return {"commit": _commit(root),
            "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "command": str(command), "torch": torch.__version__, "device": str(device),
            "machine": machine}


@dataclass(frozen=True)
class Archive:
    """The records of a folder, split by whether they match the current configuration.

    Attributes
    ----------
    current : dict
        ``{job name: record}`` of the records run with the current configuration.
    stale : list of str
        Names of records run with another configuration (or with missing keys).
    """

    current: dict[str, dict]
    stale: list[str]

    def missing(self, names: Iterable[str]) -> list[str]:
        """Return the job names among ``names`` without a current record."""
        return [n for n in names if n not in self.current]


def read_archive(folder: str | os.PathLike, config: Mapping[str, Any],
                 required: Iterable[str] = ()) -> Archive:
    """Read every ``*.json`` record of ``folder`` and check it against ``config``.

    A record is current when its ``"config"`` equals ``_jsonable(config)`` and it has
    ``"job"``, the :data:`PROVENANCE_KEYS` and every key of ``required``; otherwise its
    file name is listed as stale. A missing folder is an empty archive.

    Raises
    ------
    ValueError
        A file is not valid JSON (names it).
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a mapping of settings, got {type(config).__name__}")
    folder = Path(folder)
    want = _jsonable(config)
    keys = {"job", "config", *PROVENANCE_KEYS, *required}
    current: dict[str, dict] = {}
    stale: list[str] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not valid JSON ({exc}); delete it and rerun "
                             f"make paper") from None
        if isinstance(record, dict) and keys <= set(record) and record["config"] == want:
            current[record["job"]] = record
        else:
            stale.append(path.name)
    return Archive(current, stale)


def run_jobs(
    jobs: Mapping[str, float],
    work: Callable[[str], Mapping[str, Any]],
    folder: str | os.PathLike,
    config: Mapping[str, Any],
    *,
    command: str,
    device: str,
    progress: bool = True,
) -> list[str]:
    """Run the jobs without a current record in ``folder``; write one JSON per job.

    Parameters
    ----------
    jobs : mapping of str to float
        Job name (also its file name, ``<name>.json``) to its estimated cost in any unit;
        the progress bar's ETA weighs the jobs by it.
    work : callable
        ``work(name)`` runs one job and returns its metrics (JSON-serialisable).
    folder : path-like
        Where the records live (created if needed).
    config : mapping
        The configuration the jobs run with, stored in every record.
    command, device : str
        Stored as provenance.
    progress : bool
        A tqdm bar over the cost of the jobs still to run, with ETA.

    Returns
    -------
    list of str
        The jobs run now, in order (the others had a current record).
    """
    if not isinstance(jobs, Mapping) or not all(
            isinstance(c, (int, float)) and c > 0 for c in jobs.values()):
        raise TypeError("jobs must be a mapping {job name: positive estimated cost}")
    if not callable(work):
        raise TypeError(f"work must be callable as work(name), got {type(work).__name__}")
    folder = Path(folder)
    todo = read_archive(folder, config).missing(jobs)
    # the code that runs is the code imported now: record its commit once, not the
    # repository's HEAD at the time each job ends (it may have moved on meanwhile)
    origin = provenance(command, device)
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(float(jobs[n]) for n in todo), unit="cost",
                   desc=f"{len(todo)} of {len(jobs)} jobs to run", smoothing=0.0,
                   bar_format="{l_bar}{bar}| {percentage:3.0f}% [{elapsed}<{remaining}]")
    for name in todo:
        if bar is not None:
            bar.set_postfix_str(name)
        metrics = dict(work(name))
        clash = sorted(set(metrics) & {"job", "config", *PROVENANCE_KEYS})
        if clash:
            raise ValueError(f"the metrics of job {name} must not redefine {clash}")
        record = {"job": name, "config": _jsonable(config), **metrics, **origin,
                  "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
        write_text_atomically(folder / f"{name}.json",
                              json.dumps(record, indent=1, allow_nan=False) + "\n")
        if bar is not None:
            bar.update(float(jobs[name]))
    if bar is not None:
        bar.close()
    return todo
