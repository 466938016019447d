"""The import graph of ``src/analysis``: no import cycles, and each stage imports only the stages
before it (data -> panels -> models -> inference -> study -> report), the shared top-level
modules, and never a driver (runner, cli); the report never imports models, inference or study.

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

# The pipeline's stages, in order: each imports only the stages before it (and itself).
STAGES = ("data", "panels", "models", "inference", "study", "report")
# Top-level modules every stage may import; they import only each other.
SHARED = ("errors", "paths", "provenance", "executors", "results", "labels", "formatting")
# The report stage renders results; it never estimates, tests or classifies.
REPORT_NEVER = ("models", "inference", "study")
# Drivers: they may import anything, and nothing imports them.
DRIVERS = ("runner", "cli")


def edges(source: Path = SOURCE) -> list[tuple[str, str, str]]:
    """(importer, imported, "file:line") for every import of one package module by another."""
    return import_edges(source)


def _part(module: str) -> str:
    """The stage, shared module or driver a module belongs to ("" for the package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _why_not(importer: str, imported: str) -> str | None:
    here, there = _part(importer), _part(imported)
    if here == there or here in DRIVERS or there == "":
        return None
    if there in DRIVERS:
        return f"{there} drives the pipeline; nothing in it imports a driver"
    if here in SHARED:
        return "" if there in SHARED else f"shared modules import only {', '.join(SHARED)}"
    if there in SHARED:
        return None
    if here == "models" and there in STAGES:
        return "models are generic: the study gives them its calendar (season_months), data none"
    if here == "report" and there in REPORT_NEVER:
        return "the report renders what results describe; it never estimates, tests or classifies"
    if here in STAGES and there in STAGES and STAGES.index(there) > STAGES.index(here):
        return f"stage {here} comes before {there} ({' -> '.join(STAGES)})"
    if here not in STAGES:
        return f"{here} is not a stage, a shared module or a driver (add it to check_imports)"
    return None


def forbidden(found: list[tuple[str, str, str]]) -> list[str]:
    problems = []
    for importer, imported, where in found:
        why = _why_not(importer, imported)
        if why:
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
