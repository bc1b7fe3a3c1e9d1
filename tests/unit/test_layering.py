"""The package's shape, checked from the source (nothing is imported).

* The sans-IO rule: cores take time and IO as inputs; they never import them.
* Direction: ``core`` never imports ``io``, ``cli`` or ``testing``; ``io`` never imports
  ``cli``.
* No import cycle among the package's modules, counting the imports that run when a module
  is loaded (module level, class bodies and top-level ``if``/``try`` included; function
  bodies and ``if TYPE_CHECKING:`` blocks left out).
* No function-level imports of the package's own modules in ``core`` (the way a cycle is
  hidden instead of removed).
* Size budgets: a core module at most 500 lines, a shell (``io``) module at most 250.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "daemon" / "vigil"
CORE = PACKAGE / "core"
IO = PACKAGE / "io"
FORBIDDEN = {"asyncio", "socket", "subprocess", "threading", "time", "random", "selectors",
             "multiprocessing", "os"}
BUDGETS = {"core": 500, "io": 250}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_core_modules_import_no_io_clock_or_threads():
    files = sorted(CORE.rglob("*.py"))
    assert len(files) >= 10, "the core package should not be empty"
    offenders = {str(p.relative_to(CORE)): sorted(imported_roots(p) & FORBIDDEN)
                 for p in files if imported_roots(p) & FORBIDDEN}
    assert offenders == {}, f"core modules importing IO/clock/threads: {offenders}"


# ------------------------------------------------------------------ the module graph
def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def runtime_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements run when the module is loaded (function bodies and
    ``if TYPE_CHECKING:`` blocks left out)."""
    for stmt in body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            yield stmt
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        elif isinstance(stmt, ast.If):
            if not is_type_checking(stmt.test):
                yield from runtime_imports(stmt.body)
            yield from runtime_imports(stmt.orelse)
        elif isinstance(stmt, ast.ClassDef):
            yield from runtime_imports(stmt.body)
        elif isinstance(stmt, (ast.Try, ast.TryStar)):
            for block in (stmt.body, stmt.orelse, stmt.finalbody,
                          *(h.body for h in stmt.handlers)):
                yield from runtime_imports(block)
        elif isinstance(stmt, (ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While)):
            yield from runtime_imports(stmt.body)
            yield from runtime_imports(getattr(stmt, "orelse", []))


def function_imports(tree: ast.Module) -> Iterator[tuple[str, ast.Import | ast.ImportFrom]]:
    """(function name, import statement) for every import inside a function body."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    yield node.name, inner


def targets(module: str, stmt: ast.Import | ast.ImportFrom) -> set[str]:
    """The package's modules that ``stmt``, in ``module``, imports."""
    if isinstance(stmt, ast.Import):
        return {a.name for a in stmt.names if a.name in MODULES}
    if stmt.level:
        base = module.split(".") if is_package(module) else module.split(".")[:-1]
        base = base[:len(base) - (stmt.level - 1)]
        source = ".".join(base + ([stmt.module] if stmt.module else []))
    else:
        source = stmt.module or ""
    found = set()
    for alias in stmt.names:
        if f"{source}.{alias.name}" in MODULES:
            found.add(f"{source}.{alias.name}")  # a submodule: "from . import cib"
        elif source in MODULES:
            found.add(source)
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        edges[name] = set()
        for stmt in runtime_imports(tree.body):
            edges[name] |= targets(name, stmt)
    return edges


EDGES = graph()


def all_imports(module: str) -> set[str]:
    """Every package module ``module`` imports, wherever the import statement is."""
    tree = ast.parse(MODULES[module].read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found |= targets(module, node)
    return found


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a -> b -> ... -> a) per strongly connected component that has one."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            components.append(component)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    found = []
    for component in components:
        start = min(component)
        if len(component) == 1 and start not in edges[start]:
            continue
        found.append(path_back(edges, component, start))
    return sorted(found)


def path_back(edges: dict[str, set[str]], component: set[str], start: str) -> list[str]:
    """The shortest path start -> ... -> start inside ``component`` (breadth first)."""
    previous: dict[str, str | None] = {start: None}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges[v] & component):
                if w == start:
                    path = [v]
                    while (before := previous[path[-1]]) is not None:
                        path.append(before)
                    return [*reversed(path), start]
                if w not in previous:
                    previous[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"{start} is not on a cycle")


# ------------------------------------------------------------------ the checks
def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def direction_offenders(source: str, forbidden: set[str]) -> list[str]:
    return sorted(f"{m} imports {t}" for m in MODULES if layer(m) == source
                  for t in sorted(all_imports(m)) if layer(t) in forbidden)


def test_graph_sees_the_package():
    assert len(MODULES) >= 50 and "vigil.core.cib" in MODULES
    assert "vigil.core.cib" in EDGES["vigil.core.cibops"]  # from . import cib / from .cib
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}, "e": set()}) == [
        ["a", "b", "c", "a"], ["d", "d"]]


def test_core_never_imports_io_cli_or_testing():
    offenders = direction_offenders("core", {"io", "cli", "testing"})
    assert offenders == [], "core must not depend on the shells:\n" + "\n".join(offenders)


def test_io_never_imports_cli():
    offenders = direction_offenders("io", {"cli"})
    assert offenders == [], "the shells must not depend on the CLI:\n" + "\n".join(offenders)


def test_no_import_cycles():
    found = [" -> ".join(c) for c in cycles(EDGES)]
    assert found == [], f"{len(found)} import cycle(s):\n" + "\n".join(found)


def test_core_has_no_import_cycles_even_through_type_hints():
    """Imports go downward in core whatever they are for: a role sees the others only
    through the protocols of core/context.py, never by importing the controller."""
    core = {m for m in MODULES if m.startswith("vigil.core")}
    edges = {m: all_imports(m) & core for m in core}
    found = [" -> ".join(c) for c in cycles(edges)]
    assert found == [], f"{len(found)} cycle(s) counting TYPE_CHECKING imports:\n" + \
        "\n".join(found)


def test_core_has_no_function_level_imports_of_the_package():
    offenders = []
    for name, path in MODULES.items():
        if layer(name) != "core":
            continue
        tree = ast.parse(path.read_text(), str(path))
        for func, stmt in function_imports(tree):
            if (isinstance(stmt, ast.ImportFrom) and stmt.level) or targets(name, stmt):
                offenders.append(f"{path.relative_to(PACKAGE)}:{stmt.lineno} in {func}(): "
                                 f"{ast.unparse(stmt)}")
    assert offenders == [], ("imports inside core functions (import at module level, or "
                             "remove the cycle they hide):\n" + "\n".join(offenders))


def test_modules_keep_their_size_budgets():
    offenders = []
    for name, path in MODULES.items():
        budget = BUDGETS.get(layer(name) or "")
        lines = len(path.read_text().splitlines())
        if budget is not None and lines > budget:
            offenders.append(f"{path.relative_to(PACKAGE)}: {lines} lines (budget {budget})")
    assert offenders == [], "modules over their size budget:\n" + "\n".join(offenders)
