"""The import rules of ARCHITECTURE.md, checked by walking every import of ``backend/`` and ``tui/``.

The walk reads the sources (it imports nothing), so it sees imports inside functions and under
``if TYPE_CHECKING:`` too. Each rule is also run once against a copy of the sources with a
deliberate violation, so a rule that silently stopped matching fails here instead of passing.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
PACKAGES = ("backend", "tui")
#: Modules that import nothing of the backend but :mod:`backend.errors`, and nothing outside the
#: standard library, so that anything may import them cheaply. ``locks`` (microsandbox's file locks)
#: and ``jsonio`` (bounded JSON parsing) arrive from other branches; the rules hold for them from then on.
LEAVES = ("backend.errors", "backend.paths", "backend.fileio", "backend.timefmt", "backend.home",
          "backend.locks", "backend.jsonio", "backend.safeopen")
#: The feature packages: typed against ``backend.home.HomeContext``, never against a concrete home.
FEATURES = ("backend.config", "backend.db", "backend.sandboxes", "backend.volumes")
#: What feature code must not import: the concrete home and what is built on it.
ABOVE_FEATURES = ("backend.local", "backend.ambient", "backend.demo", "backend.doctor")
#: Packages the backend must never import (the UI and the libraries only the UI uses).
UI_PACKAGES = ("textual", "rich", "textual_serve", "tui")


@dataclass(frozen=True)
class Import:
    """One import statement's target, as the importing module sees it."""

    importer: str
    target: str
    line: int
    #: Under ``if TYPE_CHECKING:``: seen by the type checker only.
    type_only: bool


def module_name(path: Path) -> str:
    """``backend/volumes/service.py`` -> ``backend.volumes.service``; a package's ``__init__`` is the package."""
    parts = path.relative_to(PROJECT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_sources() -> dict[str, str]:
    """Module name -> source text of every module in :data:`PACKAGES`."""
    sources: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((PROJECT / package).rglob("*.py")):
            sources[module_name(path)] = path.read_text(encoding="utf-8")
    return sources


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(node: ast.AST, type_only: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, type_only
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), True)
            for stmt in child.orelse:
                yield from _walk(ast.Module(body=[stmt], type_ignores=[]), type_only)
        else:
            yield from _walk(child, type_only)


def imports_of(module: str, source: str, known: Iterable[str]) -> list[Import]:
    """Every import in ``source``; ``from pkg import mod`` counts as an import of ``pkg.mod`` when
    that is a module in ``known``."""
    known_modules = set(known)
    is_package = any(name.startswith(module + ".") for name in known_modules)
    found: list[Import] = []
    for node, type_only in _walk(ast.parse(source), False):
        if isinstance(node, ast.Import):
            found.extend(Import(module, alias.name, node.lineno, type_only) for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = module.split(".") if is_package else module.split(".")[:-1]
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        found.append(Import(module, base, node.lineno, type_only))
        for alias in node.names:
            if f"{base}.{alias.name}" in known_modules:
                found.append(Import(module, f"{base}.{alias.name}", node.lineno, type_only))
    return found


def within(target: str, packages: Iterable[str]) -> bool:
    """True when ``target`` is one of ``packages`` or inside one."""
    return any(target == p or target.startswith(p + ".") for p in packages)


def import_cycles(sources: Mapping[str, str]) -> list[list[str]]:
    """Groups of modules that import each other at run time (deferred imports in functions count;
    imports for the type checker only do not). Importing a module also runs the packages it is in."""
    graph: dict[str, set[str]] = {name: set() for name in sources}
    for name, source in sources.items():
        for imp in imports_of(name, source, sources):
            if imp.type_only:
                continue
            parts = imp.target.split(".")
            for end in range(1, len(parts) + 1):
                target = ".".join(parts[:end])
                # A package's __init__ importing its own modules is the usual re-export, not a circle.
                if target in graph and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    # Tarjan's strongly connected components.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def _screen_package(module: str, packages: set[str]) -> str | None:
    """``tui.screens.volumes.table`` -> ``volumes``; None outside a screen's package."""
    parts = module.split(".")
    return parts[2] if len(parts) >= 3 and parts[:2] == ["tui", "screens"] and parts[2] in packages else None


def violations(sources: Mapping[str, str]) -> list[str]:
    """Every broken rule, one line each (empty when the tree follows ARCHITECTURE.md)."""
    problems: list[str] = []
    stdlib = sys.stdlib_module_names
    screen_packages = {n.split(".")[2] for n in sources if within(n, ("tui.screens",)) and n.count(".") >= 3}
    for name, source in sorted(sources.items()):
        for imp in imports_of(name, source, sources):
            where = f"{name}:{imp.line} imports {imp.target}"
            top = imp.target.split(".")[0]
            if within(name, ("backend",)) and within(imp.target, UI_PACKAGES):
                problems.append(f"{where}: the backend never imports the UI")
            if within(name, FEATURES) and within(imp.target, ABOVE_FEATURES):
                problems.append(f"{where}: feature code is typed against backend.home.HomeContext")
            feature = next((f for f in FEATURES if within(name, (f,))), None)
            other = next((f for f in FEATURES if within(imp.target, (f,))), None)
            if feature and other and other != feature and other != "backend.db" and not imp.type_only:
                problems.append(f"{where}: features do not import each other (share through a leaf)")
            if within(name, ("backend.db",)) and other and other != "backend.db":
                problems.append(f"{where}: the catalog layer does not know the features")
            if name in LEAVES and not imp.type_only and not (
                    top in stdlib or top == "__future__" or imp.target in ("backend", "backend.errors")):
                problems.append(f"{where}: a leaf imports only the standard library and backend.errors")
            if within(name, ("tui.widgets", "tui.modals")) and within(imp.target, ("tui.screens", "tui.app")):
                problems.append(f"{where}: shared widgets and dialogs do not depend on a screen or the app")
            if within(name, ("tui.screens",)) and within(imp.target, ("tui.app",)):
                problems.append(f"{where}: screens reach the app through tui.services")
            feature = _screen_package(name, screen_packages)
            target_feature = _screen_package(imp.target, screen_packages)
            if feature and target_feature and target_feature != feature:
                problems.append(f"{where}: one screen's package does not import another's")
    problems.extend(f"import cycle: {' <-> '.join(group)}" for group in import_cycles(sources))
    return problems


@pytest.fixture(scope="module")
def sources() -> dict[str, str]:
    return project_sources()


def test_the_tree_follows_the_import_rules(sources: dict[str, str]) -> None:
    assert len(sources) > 50, "the walk found the packages"
    assert violations(sources) == []


def _with(sources: Mapping[str, str], module: str, line: str) -> dict[str, str]:
    changed = dict(sources)
    changed[module] = line + "\n" + changed[module]
    return changed


@pytest.mark.parametrize(("module", "line", "expected"), [
    ("backend.errors", "import textual", "backend.errors:1 imports textual: the backend never imports the UI"),
    ("backend.volumes.models", "from textual.widget import Widget", "the backend never imports the UI"),
    ("backend.sandboxes.query", "def f():\n    from tui.app import MsbApp", "the backend never imports the UI"),
    ("backend.volumes.service", "from backend.local import LocalBackend", "typed against backend.home"),
    ("backend.paths", "import pydantic", "a leaf imports only the standard library"),
    ("tui.widgets.virtual_table", "from tui.screens.sandboxes import table", "do not depend on a screen"),
    ("tui.screens.volumes.screen", "from tui.app import MsbApp", "reach the app through tui.services"),
    ("tui.screens.config.form", "from tui.screens.volumes import names", "does not import another's"),
    ("backend.db.tables", "import backend.volumes.service", "import cycle"),
    ("backend.volumes.xref", "from backend.sandboxes.models import SandboxRow", "do not import each other"),
    ("backend.db.migrate", "from backend.config.model import LocalConfig", "does not know the features"),
])
def test_each_rule_catches_its_violation(sources: dict[str, str], module: str, line: str, expected: str) -> None:
    found = violations(_with(sources, module, line))
    assert any(expected in problem for problem in found), found


def test_the_circle_the_issue_found_would_be_caught(sources: dict[str, str]) -> None:
    """The old shape: ``local`` importing a feature, which imports ``local`` back inside a function."""
    changed = _with(sources, "backend.sandboxes.remove", "def _home():\n    import backend.local")
    cycles = [group for group in import_cycles(changed) if "backend.local" in group]
    assert cycles and "backend.sandboxes.remove" in cycles[0]


def _existing(modules: Iterable[str]) -> list[str]:
    return [m for m in modules if (PROJECT / (m.replace(".", "/") + ".py")).is_file()]


@pytest.mark.parametrize("leaf", [*_existing(LEAVES), "backend"])
def test_importing_a_leaf_pulls_in_no_heavy_library(leaf: str) -> None:
    """``backend/__init__`` exports lazily, so a leaf costs milliseconds, not SQLAlchemy and pydantic."""
    code = (f"import sys, {leaf}\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'pydantic', 'textual', "
            "'aiosqlite', 'alembic', 'rich'})\n"
            "print(','.join(heavy))")
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == ""


def test_the_lazy_face_exports_what_it_lists() -> None:
    import backend

    assert sorted(backend.__all__) == sorted(backend._EXPORTS)  # the literal list mypy reads
    for name in backend.__all__:
        assert getattr(backend, name) is not None
    with pytest.raises(AttributeError):
        backend.NotAName  # noqa: B018
