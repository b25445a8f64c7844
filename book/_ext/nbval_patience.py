"""pytest plugin for ``make nbval``: wait longer for a cell's outputs after it finished.

nbval reads a finished cell's outputs with a fixed 5 s timeout per message and fails the
cell ("Timeout of 5 seconds exceeded waiting for output") when one is late. With two
chapters re-executed side by side on 2 cores a late progress-bar message happens, and
the failure says nothing about the chapter. The cell's own time limit is unchanged
(``--nbval-cell-timeout``).
"""

from __future__ import annotations

#: Seconds to wait for each output message of a finished cell.
OUTPUT_TIMEOUT = 120


def pytest_collection_modifyitems(items) -> None:
    """Give every nbval cell the longer output timeout."""
    for item in items:
        if hasattr(item, "output_timeout"):  # nbval's IPyNbCell
            item.output_timeout = OUTPUT_TIMEOUT
