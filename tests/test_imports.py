"""No import circle in ``mexp_lib``, counting the imports inside functions (issue 26).

The import graph is read from the source with :mod:`ast` (nothing is imported): an edge from a
module to every ``mexp_lib`` module it names in an ``import`` or ``from … import`` anywhere in
its body, and from ``from pkg import name`` to ``pkg.name`` when that is a module. A package's
``__init__`` is the package's node, so a submodule that imports from its own package while the
package re-exports it is a circle, as it is at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "mexp_lib"


def module_files() -> dict[str, Path]:
    """Dotted module name -> its file, for every module of the package."""
    out = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def import_graph(files: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (at top level or inside functions)."""
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import
                    anchor = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            for name in names:
                # the longest known module that the name starts with
                while name and name not in files:
                    name = name.rpartition(".")[0]
                if name and name != mod:
                    graph[mod].add(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_imports_inside_functions(tmp_path: Path) -> None:
    pkg = tmp_path / PACKAGE
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from mexp_lib.a import f\n")
    (pkg / "a.py").write_text("def f():\n    from mexp_lib import b\n    return b\n")
    (pkg / "b.py").write_text("from . import a\n")
    files = {"mexp_lib": pkg / "__init__.py", "mexp_lib.a": pkg / "a.py", "mexp_lib.b": pkg / "b.py"}
    graph = import_graph(files)
    assert graph["mexp_lib"] == {"mexp_lib.a"}
    assert "mexp_lib.b" in graph["mexp_lib.a"]
    assert cycles(graph) == [["mexp_lib", "mexp_lib.a", "mexp_lib.b"]]


def test_no_import_circle_in_the_package() -> None:
    found = cycles(import_graph(module_files()))
    if found:
        pytest.fail("import circles in mexp_lib:\n" + "\n".join(" <-> ".join(c) for c in found))
