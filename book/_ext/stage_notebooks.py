"""Prepare the staged notebooks that the HTML and its download button are built from.

``python book/_ext/stage_notebooks.py NOTEBOOK.ipynb ...`` edits the staged copies in
place (never the executed notebooks themselves):

- papermill's ``injected-parameters`` cell gets the ``remove-cell`` tag: the page does
  not show it, the downloadable ``.ipynb`` still says which parameters the run used;
- a first Markdown cell, also ``remove-cell``, tells whoever downloads the notebook how to
  run it (install ``pdecore`` from the repository named in ``_config.yml``, or
  ``make lab`` in a clone).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RUN_NOTE_TAG = "how-to-run"

RUN_NOTE = """\
**Running this notebook yourself.** This is the executed notebook of
`{source}` from {url}. Its kernel needs the package `pdecore` of that repository,
PyTorch included:

    pip install "pdecore[nets] @ git+{url}"

or clone the repository and run `make lab`, which opens every chapter as a notebook in
JupyterLab with the project's pinned environment (see the README, *Run the notebooks
yourself*). The cell tagged `parameters` holds the chapter's settings (`quick = True` runs
a small version in seconds to minutes); papermill's cell after it, tagged
`injected-parameters`, holds those of this run. Chapter 7 also needs Fashion-MNIST
(README, *What you need*)."""


def stage(path: Path, url: str) -> None:
    """Hide the injected cell and put the how-to-run note first (idempotent)."""
    nb = json.loads(path.read_text())
    for cell in nb.get("cells", []):
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    first = nb["cells"][0] if nb.get("cells") else {}
    if RUN_NOTE_TAG not in first.get("metadata", {}).get("tags", []):
        folder = path.parent.name  # chapters or appendix, as in the repository
        source = f"book/{folder}/{path.stem}.md"
        note = {"cell_type": "markdown",
                "metadata": {"tags": ["remove-cell", RUN_NOTE_TAG]},
                "source": RUN_NOTE.format(source=source, url=url)}
        if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) >= (4, 5):
            note["id"] = "how-to-run"  # cell ids exist from nbformat 4.5 on
        nb["cells"].insert(0, note)
    path.write_text(json.dumps(nb, indent=1) + "\n")


if __name__ == "__main__":
    repository = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    for name in sys.argv[1:]:
        stage(Path(name), repository)
