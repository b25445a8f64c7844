"""Sphinx helpers for the API appendix of the book (loaded through ``local_extensions``).

Three things that autodoc alone does not do:

- ``.. pdecore-exports:: pdecore`` writes a summary table of the names a package
  re-exports in ``__all__``, each linked to the module that defines it, so that the table
  never goes stale when a name is added.
- References to a re-exported or imported name (``:func:`pdecore.explicit_step```, or
  ``:func:`fit``` inside a module that imports it) resolve to the documented object
  (``pdecore.explicit.explicit_step``, ``pdecore.train.fit``).
- A reference to a dataclass field that the class's *Attributes* section describes
  (``:attr:`DenoisingRow.norm_ratio```) links to the class.
- References to the standard library (``ast.literal_eval``, ``pathlib.Path``) stay plain
  text: there is no intersphinx inventory offline (numpy, torch and the other third-party
  packages are listed in ``nitpick_ignore_regex`` in ``_config.yml``).
- Private base classes (``_LearnedUNet``) are replaced by their own bases in the
  "Bases:" line, and module data whose value is long (a registry of functions) is shown
  without its value.
- With ``pdecore_api_check = True`` the build warns (an error under ``-W``) about every
  public module of ``pdecore`` and every name of a module's ``__all__`` that the API
  pages do not document: a module added to the package must be added to the appendix.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from types import ModuleType
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.ext.autodoc import DataDocumenter
from sphinx.ext.autosummary import extract_summary
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.inspect import object_description

logger = logging.getLogger(__name__)

_MISSING = object()


def _import(path: str) -> Any:
    """Import dotted ``path`` (a module or an attribute chain); ``_MISSING`` if absent."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        except Exception:  # noqa: BLE001 - a broken module is reported elsewhere
            return _MISSING
        for attr in parts[i:]:
            obj = getattr(obj, attr, _MISSING)
            if obj is _MISSING:
                return _MISSING
        return obj
    return _MISSING


def _canonical(obj: Any) -> str | None:
    """Where a function, class or module is defined (``module.qualname``)."""
    if isinstance(obj, ModuleType):
        return obj.__name__
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(module, str) and isinstance(qualname, str) and "<" not in qualname:
        return f"{module}.{qualname}"
    return None


def _public_modules(package: str) -> list[str]:
    """``package`` and its submodules whose dotted names have no ``_``-prefixed part."""
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


class _Resolver:
    """Maps a dotted name to the documented Python object it denotes."""

    def __init__(self, env: Any) -> None:
        self.objects = env.get_domain("py").objects  # name -> ObjectEntry
        self.modules = env.get_domain("py").modules
        self._by_id: dict[int, list[str]] | None = None

    def _documented_by_id(self) -> dict[int, list[str]]:
        if self._by_id is None:
            self._by_id = {}
            for name in list(self.objects):
                obj = _import(name)
                if obj is not _MISSING:
                    self._by_id.setdefault(id(obj), []).append(name)
        return self._by_id

    def documented_name(self, path: str) -> str | None:
        """Return the documented name of the object that ``path`` imports to, if any."""
        if path in self.objects:
            return path
        obj = _import(path)
        if obj is _MISSING:
            return None
        canonical = _canonical(obj)
        if canonical is not None and canonical in self.objects:
            return canonical
        last = path.rsplit(".", 1)[-1]
        for name in self._documented_by_id().get(id(obj), []):
            if name.rsplit(".", 1)[-1] == last:
                return name
        return None


class ExportsDirective(SphinxDirective):
    """``.. pdecore-exports:: package``: a table of the package's re-exported names.

    Each row links the name to the module that defines it and gives the first sentence
    of its docstring, parsed in that module (so its own short references resolve).
    """

    required_arguments = 1

    def run(self) -> list[nodes.Node]:  # noqa: D102
        package = importlib.import_module(self.arguments[0])
        lines = [".. list-table::", "   :class: autosummary longtable", "   :widths: 30 70", ""]
        for name in sorted(getattr(package, "__all__", []), key=str.lower):
            obj = getattr(package, name)
            if isinstance(obj, ModuleType):
                continue
            target = _canonical(obj)
            if target is None or _import(target) is not obj:
                target = self._defining_module(package, name, obj)
            modname, _, attr = target.rpartition(".")
            summary = self._summary(obj, modname, attr)
            lines += [f"   * - :py:obj:`{name} <{target}>`",
                      f"     - .. py:currentmodule:: {modname}", "",
                      f"       {summary}"]
        container = nodes.container()
        saved = self.env.ref_context.get("py:module")
        try:
            self.state.nested_parse(StringList(lines, source=self.get_source_info()[0]),
                                    self.content_offset, container)
        finally:  # the table switched the current module per row: restore it
            if saved is None:
                self.env.ref_context.pop("py:module", None)
            else:
                self.env.ref_context["py:module"] = saved
        return container.children

    def _summary(self, obj: Any, modname: str, attr: str) -> str:
        """First sentence of the docstring (of the ``#:`` comment for data)."""
        if inspect.isclass(obj) or inspect.isroutine(obj):
            doc = (inspect.getdoc(obj) or "").splitlines()
        else:
            attr_docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
            doc = list(attr_docs.get(("", attr), []))
        summary = extract_summary([line for line in doc], self.state.document) if doc else ""
        return summary.replace("\n", " ") or "\\"

    @staticmethod
    def _defining_module(package: ModuleType, name: str, obj: Any) -> str:
        """For data (dicts, tuples): the submodule whose ``__all__`` holds the same object."""
        for modname in _public_modules(package.__name__):
            module = importlib.import_module(modname)
            if module is not package and name in getattr(module, "__all__", []) \
                    and getattr(module, name, None) is obj:
                return f"{modname}.{name}"
        return f"{package.__name__}.{name}"


def _resolve_alias(app: Sphinx, env: Any, node: nodes.Element, contnode: nodes.Node):
    """``missing-reference``: resolve re-exported and imported names of pdecore."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip(".~")
    modname = node.get("py:module")
    classname = node.get("py:class")
    candidates = [target]
    if modname:
        if classname:
            candidates.insert(0, f"{modname}.{classname}.{target}")
        candidates.append(f"{modname}.{target}")
    if target.split(".", 1)[0] in sys.stdlib_module_names:
        return contnode  # standard library: plain text (no inventory offline)
    if not any(c.startswith("pdecore") for c in candidates):
        return None
    resolver = _Resolver(env)
    for candidate in candidates:
        if not candidate.startswith("pdecore"):
            continue
        name = resolver.documented_name(candidate)
        if name is None or name == node["reftarget"]:
            continue
        domain = env.get_domain("py")
        newnode = node.deepcopy()
        newnode["reftarget"] = name
        newnode["refspecific"] = False
        result = domain.resolve_xref(env, node.get("refdoc", ""), app.builder,
                                     node["reftype"], name, newnode, contnode)
        if result is None and node["reftype"] in ("obj", "data", "attr", "const"):
            result = domain.resolve_xref(env, node.get("refdoc", ""), app.builder,
                                         "obj", name, newnode, contnode)
        if result is not None:
            return result
    # An attribute described in the Attributes section of its (documented) class, e.g. a
    # dataclass field: link to the class.
    if node["reftype"] == "attr":
        for candidate in candidates:
            owner, _, attr = candidate.rpartition(".")
            cls = _import(owner) if owner.startswith("pdecore") else _MISSING
            if inspect.isclass(cls) and attr in getattr(cls, "__annotations__", {}):
                name = _Resolver(env).documented_name(owner)
                if name is not None:
                    return env.get_domain("py").resolve_xref(
                        env, node.get("refdoc", ""), app.builder, "class", name,
                        node.deepcopy(), contnode)
    return None


def _check_coverage(app: Sphinx, env: Any) -> None:
    """``env-check-consistency``: every public module and ``__all__`` name is documented."""
    if not app.config.pdecore_api_check:
        return
    resolver = _Resolver(env)
    for package in app.config.pdecore_api_packages:
        for modname in _public_modules(package):
            if modname not in resolver.modules:
                logger.warning("API reference: module %s is not documented (add an "
                               "automodule to book/appendix/api_*.md)", modname,
                               type="pdecore_api", subtype="module")
                continue
            module = importlib.import_module(modname)
            for name in getattr(module, "__all__", []):
                obj = getattr(module, name, _MISSING)
                if isinstance(obj, ModuleType):
                    if obj.__name__ not in resolver.modules:
                        logger.warning("API reference: module %s is not documented",
                                       obj.__name__, type="pdecore_api", subtype="module")
                    continue
                if resolver.documented_name(f"{modname}.{name}") is None:
                    kind = "class" if inspect.isclass(obj) else (
                        "function" if callable(obj) else "data")
                    logger.warning("API reference: %s %s.%s (in __all__) is not documented",
                                   kind, modname, name, type="pdecore_api",
                                   subtype="object")


def _public_bases(app: Sphinx, name: str, obj: Any, options: Any, bases: list) -> None:
    """``autodoc-process-bases``: show the public ancestors instead of private bases."""
    result: list = []
    todo = list(bases)
    while todo:
        base = todo.pop(0)
        if getattr(base, "__name__", "").startswith("_") and base.__bases__ != (object,):
            todo[:0] = list(base.__bases__)
        elif getattr(base, "__name__", "").startswith("_"):
            continue
        elif base not in result:
            result.append(base)
    bases[:] = result or [object]


class ShortDataDocumenter(DataDocumenter):
    """Module data, with the value shown only when its repr is short."""

    priority = DataDocumenter.priority + 1
    max_value_length = 160

    def should_suppress_value_header(self) -> bool:  # noqa: D102
        if super().should_suppress_value_header():
            return True
        try:
            return len(object_description(self.object)) > self.max_value_length
        except Exception:  # noqa: BLE001 - an unprintable value is not shown
            return True


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive, the resolver and the coverage check."""
    app.setup_extension("sphinx.ext.autodoc")
    app.setup_extension("sphinx.ext.autosummary")
    app.add_config_value("pdecore_api_check", False, "env")
    app.add_config_value("pdecore_api_packages", ["pdecore"], "env")
    app.add_directive("pdecore-exports", ExportsDirective)
    app.add_autodocumenter(ShortDataDocumenter, override=True)
    app.connect("autodoc-process-bases", _public_bases)
    app.connect("missing-reference", _resolve_alias, priority=400)
    app.connect("env-check-consistency", _check_coverage)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
