"""Optional dependencies: one clear message when PyTorch is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

#: What to run when torch is missing (the package's ``nets`` extra).
TORCH_INSTALL = ("pip install 'pdecore[nets]' (from a clone of the repository: "
                 "pip install -e '.[nets]'), or pip install torch")


def require_torch(feature: str) -> ModuleType:
    """Import and return :mod:`torch`, or raise an :class:`ImportError` naming the fix.

    Parameters
    ----------
    feature : str
        What needs torch (a module name), for the message.

    Raises
    ------
    ImportError
        torch is not installed; the message says what to install.
    """
    try:
        return importlib.import_module("torch")
    except ModuleNotFoundError as exc:
        if exc.name != "torch":  # torch is there but broken: keep the real error
            raise
        raise ImportError(f"{feature} needs PyTorch, which is not installed in this "
                          f"environment. Install it: {TORCH_INSTALL}.") from exc
