"""Hide papermill's injected-parameters cell on the rendered pages.

``python book/_ext/hide_injected.py NOTEBOOK.ipynb ...`` adds the ``remove-cell`` tag to
every cell papermill tagged ``injected-parameters`` (in place; the staged copies that
``make`` builds the HTML from). The cell stays in the notebook, so the downloadable
``.ipynb`` still shows which parameters the run used; the page does not.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def hide(path: Path) -> int:
    """Tag the injected cells of one notebook; return how many were tagged."""
    nb = json.loads(path.read_text())
    count = 0
    for cell in nb.get("cells", []):
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
            count += 1
    if count:
        path.write_text(json.dumps(nb, indent=1) + "\n")
    return count


if __name__ == "__main__":
    for name in sys.argv[1:]:
        hide(Path(name))
