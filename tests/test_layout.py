"""The layout the README's "Architecture" section promises: no import cycle among the product's
modules, knowledge/ never imports bot/, only entry points import the composition root, and no
module longer than one reads in a sitting."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "knowledge", "migrations")
MAX_LINES = 350
COMPOSITION_ROOT = "bot.service.wiring"
# What may build the product from settings: the command line, the server and the evaluation
# (which builds its own knowledge base in its own database).
ENTRY_POINTS = ("bot.cli", "bot.service.server", "bot.evaluation.corpus")


def product_modules(root: Path = ROOT) -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The product modules ``name`` imports at run time (not under ``TYPE_CHECKING``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        found |= {t for t in targets if t in modules and t != name}
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), ignoring a package's
    ``__init__`` importing its own submodules, which is how packages re-export."""
    edges = {
        v: {w for w in ws if not w.startswith(v + ".") and not v.startswith(w + ".")}
        for v, ws in graph.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in edges:
        if v not in index:
            visit(v)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = product_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def test_no_import_cycle(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = {"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "a": {"a.x"}}
    assert cycles(graph) == [["a.x", "a.y", "a.z"]]


def test_knowledge_never_imports_bot(graph: dict[str, set[str]]) -> None:
    offenders = {
        n: sorted(t for t in ts if t.startswith("bot"))
        for n, ts in graph.items()
        if n.startswith("knowledge")
    }
    assert {n: ts for n, ts in offenders.items() if ts} == {}


def test_only_entry_points_import_the_composition_root(graph: dict[str, set[str]]) -> None:
    importers = sorted(n for n, ts in graph.items() if COMPOSITION_ROOT in ts)
    assert [n for n in importers if not n.startswith(ENTRY_POINTS)] == []


def test_no_module_is_longer_than_one_reads_in_a_sitting() -> None:
    lengths = {n: len(p.read_text().splitlines()) for n, p in product_modules().items()}
    long = {n: count for n, count in lengths.items() if count > MAX_LINES}
    assert {n: c for n, c in long.items() if not n.startswith("migrations.versions")} == {}
