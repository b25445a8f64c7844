"""The Makefile's chapter rules: interrupted runs leave nothing, reruns check parameters.

(a) The chapter rules run papermill into a unique hidden temporary file and rename it to
    ``X.ipynb`` only when every cell has run. The recipes are read from the
    repository's Makefile and run in a throwaway Makefile on a tiny notebook whose cell
    sleeps; the run is killed mid-cell (SIGKILL, SIGTERM, Ctrl-C), and afterwards the
    target does not exist and ``make -q`` says it is out of date; two concurrent builds
    of one target give one complete notebook. No real chapter is executed.
(b) ``make chapter-NAME PM_ARGS=...`` refuses unknown parameter names and values of the
    wrong type before papermill starts, listing the chapter's parameters.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]


# --- (a) an interrupted chapter run -------------------------------------------------------


def _rule(makefile: str, target: str) -> list[str]:
    """The recipe lines (with their leading tab) of the rule for ``target``."""
    lines = makefile.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{target}:"))
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        recipe.append(line)
    return recipe


def _variable(makefile: str, name: str) -> str:
    match = re.search(rf"^{name}\s*:?=\s*(.*)$", makefile, re.MULTILINE)
    assert match, name
    return match.group(1)


RULES = {
    "executed": "$(BUILD)/executed/%.ipynb",
    "test/executed": "$(BUILD)/test/executed/%.ipynb",
}


def _makefile_head(text: str, tmp_path: Path) -> list[str]:
    """Shell, paths, papermill flags and the ``atomically`` macro of the real Makefile."""
    define = re.search(r"^define atomically\n.*?^endef\n", text, re.MULTILINE | re.DOTALL)
    return ["SHELL := /bin/bash", ".SHELLFLAGS := -eu -o pipefail -c",
            f"BIN := {Path(sys.executable).parent}", f"BUILD := {tmp_path / '_build'}",
            f"PM_FLAGS := {_variable(text, 'PM_FLAGS')}",
            f"RUN_ENV := {_variable(text, 'RUN_ENV')}", "PM_ARGS ?=", define.group(0)]


def _tiny_makefile(tmp_path: Path, rule: str) -> tuple[Path, Path]:
    """A Makefile with the repository's recipe for ``rule`` and a sleepy notebook."""
    text = (REPO / "Makefile").read_text()
    recipe = _rule(text, RULES[rule])
    joined = "\n".join(recipe)
    # the pattern this test is about: papermill writes a unique temporary file, which is
    # renamed onto the target only when complete
    assert '$(call atomically,$@,$(RUN_ENV) $(BIN)/papermill $< "$$tmp"' in joined
    define = re.search(r"^define atomically\n.*?^endef\n", text, re.MULTILINE | re.DOTALL)
    assert define and "mktemp" in define.group(0) and 'mv -f "$$tmp"' in define.group(0)
    makefile = tmp_path / "Makefile"
    makefile.write_text("\n".join([
        *_makefile_head(text, tmp_path),
        f"{RULES[rule]}: $(BUILD)/notebooks/%.ipynb",
        *recipe,
        "",
    ]))
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}})
    nb.cells = [
        nbformat.v4.new_code_cell("quick = False", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "import os, pathlib, time\n"
            "pathlib.Path(os.environ['SLEEPY_MARKER']).touch()\n"
            "time.sleep(float(os.environ.get('SLEEPY_SECONDS', '60')))"),
        nbformat.v4.new_code_cell("print('done')"),
    ]
    source = tmp_path / "_build" / "notebooks" / "sleepy.ipynb"
    source.parent.mkdir(parents=True)
    nbformat.write(nb, source)
    target = tmp_path / "_build" / rule / "sleepy.ipynb"
    return makefile, target


def _default_sigint() -> None:
    # as in a terminal: a pytest-xdist worker ignores SIGINT, and an ignored signal is
    # inherited and cannot be trapped by the recipe's shell
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _make(makefile: Path, target: Path, **kw) -> subprocess.Popen:
    return subprocess.Popen(["make", "--no-print-directory", "-f", str(makefile), str(target)],
                            cwd=makefile.parent, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            preexec_fn=_default_sigint, **kw)


def _up_to_date(makefile: Path, target: Path) -> bool:
    q = subprocess.run(["make", "-q", "-f", str(makefile), str(target)], cwd=makefile.parent)
    assert q.returncode in (0, 1), q
    return q.returncode == 0


@pytest.mark.parametrize("rule, sig", [("executed", signal.SIGKILL),
                                       ("test/executed", signal.SIGTERM),
                                       ("executed", signal.SIGINT)])
def test_a_killed_chapter_run_leaves_no_target(tmp_path, monkeypatch, rule, sig):
    makefile, target = _tiny_makefile(tmp_path, rule)
    marker = tmp_path / "in-the-sleeping-cell"
    monkeypatch.setenv("SLEEPY_MARKER", str(marker))
    monkeypatch.setenv("SLEEPY_SECONDS", "60")
    proc = _make(makefile, target)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "the kernel never reached the sleeping cell"
            time.sleep(0.1)
        os.killpg(proc.pid, sig)  # make, its shell and papermill: the group we started
        proc.wait(timeout=120)  # papermill shuts its kernel down first: slow under load
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode != 0
    assert not target.exists()
    assert not _up_to_date(makefile, target)  # a later make reruns the chapter

    # the same rule, not interrupted, produces the target and is then up to date
    monkeypatch.setenv("SLEEPY_SECONDS", "0")
    done = _make(makefile, target)
    output = done.communicate(timeout=120)[0]
    assert done.returncode == 0, output
    assert target.exists() and "done" in target.read_text()
    left = sorted(p.name for p in target.parent.iterdir() if p != target)
    # SIGKILL gives the shell no chance to remove its temporary file: it stays hidden
    # (no glob of the book build picks it up); after SIGTERM or Ctrl-C nothing is left
    assert all(name.startswith(".sleepy.") for name in left)
    assert not left or sig == signal.SIGKILL
    assert _up_to_date(makefile, target)


def test_two_concurrent_builds_of_one_target_give_one_complete_notebook(tmp_path,
                                                                        monkeypatch):
    makefile, target = _tiny_makefile(tmp_path, "executed")
    monkeypatch.setenv("SLEEPY_MARKER", str(tmp_path / "marker"))
    monkeypatch.setenv("SLEEPY_SECONDS", "1")
    procs = [_make(makefile, target) for _ in range(2)]
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert "done" in target.read_text()
    assert [p.name for p in target.parent.iterdir()] == [target.name]


# --- (b) a rerun with other parameters -------------------------------------------------


def _tiny_chapter_rule(tmp_path: Path) -> Path:
    """A Makefile with the repository's ``chapter-%`` recipe and a one-cell chapter."""
    text = (REPO / "Makefile").read_text()
    checker = tmp_path / "book" / "_ext" / "check_params.py"
    checker.parent.mkdir(parents=True)
    checker.write_text((REPO / "book" / "_ext" / "check_params.py").read_text())
    makefile = tmp_path / "Makefile"
    makefile.write_text("\n".join([
        *_makefile_head(text, tmp_path),
        "chapter-%: $(BUILD)/notebooks/%.ipynb",
        *_rule(text, "chapter-%"),
        "",
    ]))
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}})
    nb.cells = [
        nbformat.v4.new_code_cell("quick = False\nseed = 0\nlam = 10.0\nname = 'x'",
                                  metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print(repr(quick), seed, lam, name)"),
    ]
    source = tmp_path / "_build" / "notebooks" / "tiny.ipynb"
    source.parent.mkdir(parents=True)
    nbformat.write(nb, source)
    return makefile


@pytest.mark.parametrize("args, message", [
    ("-p lamda 5", "unknown parameter 'lamda'"),
    ("-p quick false", "quick must be True or False, got 'false'"),
    ("-p quick 2", "quick must be True or False, got 2"),
    ("-p seed 1.5", "seed must be an integer"),
    ("-y 'lam: [1, 2]'", "lam must be a number"),
])
def test_a_rerun_refuses_unknown_names_and_wrong_types(tmp_path, args, message):
    makefile = _tiny_chapter_rule(tmp_path)
    done = subprocess.run(["make", "--no-print-directory", "-f", str(makefile), "chapter-tiny",
                           f"PM_ARGS={args}"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    assert message in done.stderr and "its parameters are: quick (default False)" in \
        done.stderr
    assert not (tmp_path / "_build" / "runs").exists()  # papermill never started


def test_a_rerun_with_valid_parameters_runs_and_records_them(tmp_path):
    makefile = _tiny_chapter_rule(tmp_path)
    done = subprocess.run(["make", "--no-print-directory", "-f", str(makefile), "chapter-tiny",
                           "PM_ARGS=-p quick True -p seed 3 -r name 7"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    out = nbformat.read(tmp_path / "_build" / "runs" / "tiny.ipynb", as_version=4)
    assert out.metadata.papermill.parameters == {"quick": True, "seed": 3, "name": "7"}
    assert "True 3 10.0 7" in out.cells[-1].outputs[0]["text"]
