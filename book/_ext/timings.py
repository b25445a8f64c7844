"""Measured run times for README.md and REPRODUCING.md, never typed by hand.

``make book`` and ``make test`` call ``record`` as their last step: it writes
``_build/timings.json`` (or ``_build/test/timings.json``) with the wall time of that make
invocation, the end of each stage (from ``_build/stages.log``, one line per finished
stage: ``name start-of-this-make end``) and each chapter's papermill duration. A record
is *cold* when the environment was created and every chapter executed in that run.

``keep`` copies cold records from a clean checkout into ``results/timings.json`` (the
committed measurement); ``update`` rewrites the generated blocks of README.md and
REPRODUCING.md from it and from the ``make paper`` archive; ``tests/test_docs.py``
checks that the blocks are current and that no other run time is stated in those files.

    python book/_ext/timings.py record --target book --start EPOCH --executed DIR --out F
    python book/_ext/timings.py keep _build/timings.json _build/test/timings.json
    python book/_ext/timings.py update
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEPT = ROOT / "results" / "timings.json"
PAPER = ROOT / "results" / "paper"
DOCS = ("README.md", "REPRODUCING.md")
#: Stages in the order make runs them, per target.
STAGES = {"book": ("env", "chapters", "html"),
          "test": ("env", "lint", "unit", "chapters-quick", "nbval", "html-quick", "browser",
                   "browser-lab")}
#: A run time written in prose: "19 min", "560 s", "2.3 minutes", "about 2 h".
DURATION = re.compile(r"\b\d+(?:\.\d+)?\s*(?:s|sec|seconds?|min|minutes?|h|hours?)\b")
BEGIN = "<!-- begin generated: {name} (python book/_ext/timings.py update; do not edit) -->"
END = "<!-- end generated: {name} -->"


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else ""


def _write_json(path: Path, data: dict) -> None:
    # the project's one atomic writer (unique temporary file, then rename)
    from pdecore.results import write_text_atomically

    write_text_atomically(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def record(target: str, start: int, executed: Path, stages_log: Path, env_stamp: Path,
           out: Path) -> dict:
    """Write the timing record of the make invocation that started at ``start``."""
    end = dt.datetime.now(dt.UTC).timestamp()
    marks = {}
    if stages_log.is_file():
        for line in stages_log.read_text().splitlines():
            name, run, t = line.split()
            if int(run) == start:
                marks[name] = int(t)
    stages, previous = {}, start
    for name in STAGES[target]:
        if name == "env":
            t = int(env_stamp.stat().st_mtime) if env_stamp.is_file() else start
            marks["env"] = max(t, start)
        if name in marks:
            stages[name] = marks[name] - previous
            previous = marks[name]
    chapters, fresh = {}, []
    for nb in sorted(executed.glob("*.ipynb")):
        meta = json.loads(nb.read_text()).get("metadata", {}).get("papermill", {})
        if meta.get("duration") is not None:
            chapters[nb.stem] = round(float(meta["duration"]), 1)
        if nb.stat().st_mtime >= start:
            fresh.append(nb.stem)
    env_created = env_stamp.is_file() and env_stamp.stat().st_mtime >= start
    data = {
        "target": target,
        "wall_seconds": round(end - start, 1),
        "stages_seconds": stages,
        "chapters_seconds": chapters,
        "cold": bool(env_created and chapters and len(fresh) == len(chapters)),
        "environment_created": bool(env_created),
        "chapters_executed": fresh,
        "date": dt.datetime.fromtimestamp(start, dt.UTC).isoformat(timespec="seconds"),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "clean_tree": _git("status", "--porcelain", "--untracked-files=no") == "",
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores",
    }
    _write_json(out, data)
    word = "cold" if data["cold"] else "warm (some steps were up to date)"
    print(f"==> make {target}: {data['wall_seconds']:.0f} s, {word}; timings in {out}")
    return data


def keep(paths: list[Path]) -> dict:
    """Copy cold records from a clean tree into ``results/timings.json``."""
    kept = json.loads(KEPT.read_text()) if KEPT.is_file() else {}
    for p in paths:
        data = json.loads(p.read_text())
        if not (data["cold"] and data["clean_tree"]):
            raise SystemExit(f"{p}: not a cold run on a clean checkout (cold={data['cold']}, "
                             f"clean_tree={data['clean_tree']}); measure on a fresh clone")
        kept[data["target"]] = data
    _write_json(KEPT, kept)
    return kept


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def paper_total() -> tuple[float, int]:
    """Return the summed wall time and the count of the archived ``make paper`` runs."""
    runs = [json.loads(p.read_text()) for p in sorted(PAPER.glob("e5-*.json"))]
    return sum(r["wall_time_s"] for r in runs), len(runs)


def render(name: str, kept: dict) -> str:
    """Return the generated Markdown block ``name`` ("readme" or "reproducing")."""
    book, test = kept["book"], kept["test"]
    paper_s, paper_n = paper_total()
    if name == "readme":
        return (
            f"Measured on a fresh clone ({book['machine']}, nothing else running): a cold "
            f"`make book` took **{_minutes(book['wall_seconds'])}** (commit "
            f"`{book['commit']}`, {book['date'][:10]}) and a cold `make test` "
            f"**{_minutes(test['wall_seconds'])}** (commit `{test['commit']}`), environment "
            f"included; the {paper_n} archived `make paper` runs took "
            f"{_minutes(paper_s)} together. Every chapter's time is in REPRODUCING.md."
        )
    lines = [
        "| | `make book` | `make test` |",
        "|---|---|---|",
        f"| commit, date | `{book['commit']}`, {book['date'][:10]} | "
        f"`{test['commit']}`, {test['date'][:10]} |",
        f"| machine | {book['machine']} | {test['machine']} |",
        f"| **wall time, cold** | **{_minutes(book['wall_seconds'])}** | "
        f"**{_minutes(test['wall_seconds'])}** |",
    ]
    for stage in dict.fromkeys(STAGES["test"] + STAGES["book"]):
        cells = [_minutes(r["stages_seconds"][stage]) if stage in r["stages_seconds"] else ""
                 for r in (book, test)]
        lines.append(f"| stage `{stage}` | {cells[0]} | {cells[1]} |")
    lines += ["", "| chapter | `make book` (default parameters) | `make test` (`quick=True`) |",
              "|---|---|---|"]
    for ch in sorted(set(book["chapters_seconds"]) | set(test["chapters_seconds"])):
        cells = [_minutes(r["chapters_seconds"][ch]) if ch in r["chapters_seconds"] else ""
                 for r in (book, test)]
        lines.append(f"| `{ch}` | {cells[0]} | {cells[1]} |")
    lines += ["", f"`make paper`: {paper_n} archived runs in `results/paper/`, "
              f"{_minutes(paper_s)} of training together (the sum of their recorded wall "
              f"times)."]
    return "\n".join(lines)


def _blocks(text: str) -> dict[str, tuple[int, int]]:
    spans = {}
    for m in re.finditer(r"<!-- begin generated: (\w+) .*?-->\n", text):
        end = text.index(END.format(name=m.group(1)), m.end())
        spans[m.group(1)] = (m.end(), end)
    return spans


def update(check: bool = False) -> list[str]:
    """Rewrite (or, with ``check``, compare) the generated blocks; return the stale ones."""
    kept = json.loads(KEPT.read_text())
    stale = []
    for doc in DOCS:
        path = ROOT / doc
        text = path.read_text()
        for name, (a, b) in sorted(_blocks(text).items(), key=lambda kv: -kv[1][0]):
            new = render(name, kept) + "\n"
            if text[a:b] != new:
                stale.append(f"{doc}:{name}")
                text = text[:a] + new + text[b:]
        if not check:
            path.write_text(text)
    return stale


def typed_durations(text: str) -> list[str]:
    """Run times stated outside the generated blocks (there should be none)."""
    for a, b in sorted(_blocks(text).values(), reverse=True):
        text = text[:a] + text[b:]
    return [m.group(0) for m in DURATION.finditer(text)]


def main(argv: list[str] | None = None) -> int:
    """Command line: record, keep, update."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--target", choices=sorted(STAGES), required=True)
    r.add_argument("--start", type=int, required=True)
    r.add_argument("--executed", type=Path, required=True)
    r.add_argument("--stages-log", type=Path, default=Path("_build/stages.log"))
    r.add_argument("--env-stamp", type=Path, default=Path(".venv/.installed"))
    r.add_argument("--out", type=Path, required=True)
    k = sub.add_parser("keep")
    k.add_argument("paths", type=Path, nargs="+")
    u = sub.add_parser("update")
    u.add_argument("--check", action="store_true")
    a = ap.parse_args(argv)
    if a.cmd == "record":
        record(a.target, a.start, a.executed, a.stages_log, a.env_stamp, a.out)
    elif a.cmd == "keep":
        keep(a.paths)
        update()
    else:
        stale = update(check=a.check)
        if a.check and stale:
            print("stale generated blocks: " + ", ".join(stale))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
