"""Refuse papermill arguments that a chapter would silently ignore or misread.

``python book/_ext/check_params.py NOTEBOOK.ipynb [papermill arguments ...]`` exits 0 when
every ``-p``/``-r``/``-y``/``-f`` parameter names a variable of the notebook's
``parameters`` cell and has a value of the default's type; otherwise it prints what is
wrong and the chapter's parameters, and exits 2. ``make chapter-NAME`` runs it before
papermill, which by itself only warns about unknown names ("Passed unknown parameter")
and passes ``-p quick false`` as the truthy string ``"false"``.
"""

from __future__ import annotations

import ast
import base64
import json
import sys
from pathlib import Path

import yaml
from papermill.cli import _resolve_type  # papermill's own reading of "-p name value"


def _defaults(notebook: Path) -> dict[str, object]:
    """``{name: default}`` of the cell tagged ``parameters`` (literal assignments)."""
    cells = json.loads(notebook.read_text())["cells"]
    for cell in cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) \
                else cell["source"]
            out = {}
            for node in ast.parse(source).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                        node.targets[0], ast.Name):
                    try:
                        out[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        out[node.targets[0].id] = None  # not a literal: accept any value
            return out
    return {}


def _given(args: list[str]) -> list[tuple[str, object, str]]:
    """``(name, value, how)`` for every parameter in papermill's arguments."""
    out, i = [], 0
    while i < len(args):
        flag = args[i]
        if flag in ("-p", "--parameters", "-r", "--parameters_raw"):
            if i + 2 >= len(args):
                raise SystemExit(f"{flag} needs a name and a value")
            name, raw = args[i + 1], args[i + 2]
            raw_flag = flag in ("-r", "--parameters_raw")
            out.append((name, raw if raw_flag else _resolve_type(raw), flag))
            i += 3
        elif flag in ("-y", "--parameters_yaml", "-f", "--parameters_file",
                      "-b", "--parameters_base64"):
            if i + 1 >= len(args):
                raise SystemExit(f"{flag} needs a value")
            text = args[i + 1]
            if flag in ("-f", "--parameters_file"):
                text = Path(text).read_text()
            elif flag in ("-b", "--parameters_base64"):
                text = base64.b64decode(text).decode()
            values = yaml.safe_load(text) or {}
            if not isinstance(values, dict):
                raise SystemExit(f"{flag} must give a mapping of parameters, got {text!r}")
            out += [(str(k), v, flag) for k, v in values.items()]
            i += 2
        else:
            i += 1  # another papermill option: not ours to check
    return out


def _type_error(default: object, value: object) -> str | None:
    if default is None:
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "True or False"
    if isinstance(default, int):
        return None if isinstance(value, int) and not isinstance(value, bool) else "an integer"
    if isinstance(default, float):
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) \
            else "a number"
    if isinstance(default, str):
        return None if isinstance(value, str) or value is None else "a string (use -r)"
    if isinstance(default, (list, tuple)):
        return None if isinstance(value, (list, tuple)) or value is None \
            else 'a list (use -y "name: [a, b]")'
    return None


def main(argv: list[str]) -> int:
    """Check the papermill arguments ``argv[1:]`` against notebook ``argv[0]``; 0 if fine."""
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    notebook = Path(argv[0])
    defaults = _defaults(notebook)
    try:
        given = _given(argv[1:])
    except (IndexError, SystemExit, yaml.YAMLError, OSError) as exc:
        print(f"error: cannot read the parameters {argv[1:]}: {exc}", file=sys.stderr)
        return 2
    problems = []
    for name, value, flag in given:
        if name not in defaults:
            problems.append(f"unknown parameter {name!r} ({flag})")
            continue
        want = _type_error(defaults[name], value)
        if want:
            problems.append(f"{name} must be {want}, got {value!r} ({flag}); its default "
                            f"is {defaults[name]!r}")
    if problems:
        listing = ", ".join(f"{k} (default {v!r})" for k, v in defaults.items())
        print(f"error: {notebook.stem}: " + "; ".join(problems), file=sys.stderr)
        print(f"       its parameters are: {listing}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
