"""Fixes to the HTML pages of the book (loaded through ``local_extensions``).

sphinx-thebe (which Jupyter Book always loads) registers its inline configuration script
twice in Jupyter Book 1.x (once with the file name ``None``, once with ``''``), so every
page declared ``const THEBE_JS_URL`` twice and the browser raised "Identifier
'THEBE_JS_URL' has already been declared" (found by ``tests/browser``). Here each page
keeps one copy of every script.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _script_key(script: Any) -> tuple:
    """Identify a script entry by its file name and attributes (incl. an inline body)."""
    attributes = getattr(script, "attributes", {}) or {}
    return (getattr(script, "filename", str(script)) or "",  # '' and None: inline
            tuple(sorted((k, str(v)) for k, v in attributes.items())))


def _dedupe_scripts(app: Sphinx, pagename: str, templatename: str, context: dict,
                    doctree: Any) -> None:
    """``html-page-context``: drop repeated entries of ``script_files``."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # in place: Sphinx restores the builder's list after the page


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the page-context hook."""
    app.connect("html-page-context", _dedupe_scripts, priority=900)  # after MathJax
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
