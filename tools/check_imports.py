"""The import graph of ``src/analysis``: no import cycles, and no layer importing one it must not.

Run from the repository: ``python tools/check_imports.py``. It prints one line per offending
import (file:line) and per cycle, and exits 1 if there is any. Every import counts, including one
inside a function or under ``TYPE_CHECKING``: each is a dependency of the module's design.
"""

from __future__ import annotations

import sys
from pathlib import Path

from analysis.provenance import import_edges

PACKAGE = "analysis"
SOURCE = Path(__file__).resolve().parents[1] / "src" / PACKAGE

# importers -> (modules they must not import, why). A name covers the module and everything
# under it (``analysis.models`` also means a future ``analysis.models`` package).
RULES: dict[tuple[str, ...], tuple[tuple[str, ...], str]] = {
    (
        "analysis.tables",
        "analysis.figures",
        "analysis.formatting",
        "analysis.reporting",
    ): (
        ("analysis.models", "analysis.hypotheses", "analysis.inference"),
        "renderers draw and save what results describe; they never estimate",
    ),
}


def edges(source: Path = SOURCE) -> list[tuple[str, str, str]]:
    """(importer, imported, "file:line") for every import of one package module by another."""
    return import_edges(source)


def _covers(prefix: str, module: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def forbidden(found: list[tuple[str, str, str]]) -> list[str]:
    problems = []
    for importer, imported, where in found:
        for importers, (banned, why) in RULES.items():
            if any(_covers(p, importer) for p in importers) and any(
                _covers(b, imported) for b in banned
            ):
                problems.append(f"forbidden import {importer} -> {imported} ({where}): {why}")
    return problems


def cycles(found: list[tuple[str, str, str]]) -> list[str]:
    """One line per strongly connected component of more than one module (Tarjan), listing the
    imports inside it, so each edge to cut is named with its file and line."""
    graph: dict[str, set[str]] = {}
    for importer, imported, _ in found:
        graph.setdefault(importer, set()).add(imported)
        graph.setdefault(imported, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for child in sorted(graph[node]):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    lines = []
    for component in components:
        inside = [f"{a} -> {b} ({w})" for a, b, w in found if a in component and b in component]
        lines.append(f"import cycle among {', '.join(sorted(component))}: {'; '.join(inside)}")
    return lines


def problems(source: Path = SOURCE) -> list[str]:
    found = edges(source)
    return forbidden(found) + cycles(found)


def main() -> int:
    found = problems()
    for line in found:
        print(line)
    print(f"{len(found)} problem(s) in the import graph of {SOURCE}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
