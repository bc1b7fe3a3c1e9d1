"""The sans-IO rule: cores take time and IO as inputs; they never import them."""

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "daemon" / "vigil" / "core"
FORBIDDEN = {"asyncio", "socket", "subprocess", "threading", "time", "random", "selectors",
             "multiprocessing", "os"}


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
