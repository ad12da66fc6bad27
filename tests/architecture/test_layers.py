"""The package's shape: no import cycle anywhere in bot/, the import-linter contracts hold, modules stay small."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 420  # "about 400": a module past this is two concerns


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm over every module of the package (TYPE_CHECKING and function-level imports count)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.find_modules_directly_imported_by(node):
            if not nxt.startswith("bot"):
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for module in sorted(graph.modules):
        if module.startswith("bot") and module not in index:
            visit(module)
    return out


def test_no_import_cycle_in_the_package() -> None:
    graph = grimp.build_graph("bot")
    # a package's __init__ importing its own modules is not a cycle of meaning: the modules never import it back
    assert strongly_connected(graph) == []


def test_import_linter_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")  # installed beside this interpreter
    proc = subprocess.run([str(lint_imports)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_no_type_checking_imports_hide_a_cycle() -> None:
    """`if TYPE_CHECKING:` is allowed only for library types, never for a module of the package."""
    offenders = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("bot"):
                        offenders.append(f"{path.relative_to(ROOT)}: {inner.module}")
    assert offenders == []


def test_every_module_is_small_and_says_what_it_is() -> None:
    problems = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        text = path.read_text()
        lines = text.count("\n")
        doc = ast.get_docstring(ast.parse(text))
        if lines > MAX_LINES:
            problems.append(f"{path.relative_to(ROOT)}: {lines} lines")
        if not doc:
            problems.append(f"{path.relative_to(ROOT)}: no docstring")
    assert problems == []
