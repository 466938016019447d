"""Where a result came from, stated as content: hashes, versions and git commit, never the clock.

A published report records these so that a reader can tell exactly which code, data and
packages produced it, and two builds from the same content record the same thing.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import subprocess
from pathlib import Path

SOURCE_PATTERNS = ("*.py", "*.toml")


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_sha256(
    root: str | Path, patterns: tuple[str, ...] = SOURCE_PATTERNS, exclude: tuple[str, ...] = ()
) -> str:
    """One hash over every matching file under ``root``: relative paths and contents.

    Paths are part of the hash so that renaming or moving a module counts as a change; bytecode
    caches are skipped because they follow from the sources; ``exclude`` names files (relative
    paths) that are keyed separately.
    """
    root = Path(root)
    files = sorted(
        {
            p
            for pattern in patterns
            for p in root.rglob(pattern)
            if p.is_file()
            and "__pycache__" not in p.parts
            and p.relative_to(root).as_posix() not in exclude
        }
    )
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(sha256_file(path).encode() + b"\n")
    return digest.hexdigest()


def python_version() -> str:
    return platform.python_version()


#: Folders of build outputs: rewriting them is what a build does, not a change to its inputs.
BUILD_OUTPUTS = ("reports", "build")
#: Set by ``analysis run`` for its reports: the git state it recorded when the run started.
GIT_STATE_ENV = "ANALYSIS_GIT_STATE"


def git_state(repo: str | Path) -> dict[str, object]:
    """HEAD commit and whether the work tree's inputs differ from it (untracked files count;
    the build outputs in :data:`BUILD_OUTPUTS` do not, so a build that rewrites a committed
    report never calls its own later reports "uncommitted").

    Both are None outside a git work tree or without git, rather than guessed. Inside a report
    built by ``analysis run``, the state the run recorded at its start (:data:`GIT_STATE_ENV`),
    so the report's text and its manifest say the same.
    """
    recorded = os.environ.get(GIT_STATE_ENV)
    if recorded:
        return json.loads(recorded)

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
            )
        except OSError:
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    excluded = [f":(exclude){folder}" for folder in BUILD_OUTPUTS]
    status = git("status", "--porcelain", "--", ".", *excluded) if commit is not None else None
    return {
        "commit": commit.strip() if commit is not None else None,
        "dirty": bool(status.strip()) if status is not None else None,
    }


def recorded_git_state(state: dict[str, object]):
    """Within the block (a context manager), :func:`git_state` returns ``state`` here and in
    processes started from here (the state a run recorded in its manifests)."""
    from .paths import environ

    return environ(GIT_STATE_ENV, json.dumps(state))


def package_versions(distribution: str = "analysis") -> dict[str, str]:
    """Installed versions of the distribution's direct dependencies (optional extras excluded)."""
    try:
        requirements = importlib.metadata.requires(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return {}
    versions = {distribution: importlib.metadata.version(distribution)}
    for requirement in requirements:
        if "extra ==" in requirement:
            continue
        name = re.match(r"[A-Za-z0-9_.\-]+", requirement).group()
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return dict(sorted(versions.items()))


# --------------------------------------------------------------------------- the import graph


def package_modules(source: Path) -> dict[str, Path]:
    """Every module of the package in ``source`` (a folder such as src/analysis), by dotted name."""
    modules = {}
    for path in sorted(source.rglob("*.py")):
        parts = path.relative_to(source.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def import_edges(source: Path) -> list[tuple[str, str, str]]:
    """(importer, imported, "file:line") for every import of one package module by another,
    including imports inside functions (each is a dependency of the module's design)."""
    known = package_modules(source)
    found = []
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                # `from pkg import name`: the submodule if there is one, else pkg itself
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
                ]
            where = (
                f"{path.relative_to(source.parents[1]).as_posix()}:{node.lineno}" if targets else ""
            )
            for target in dict.fromkeys(targets):
                if target in known and target != name:
                    found.append((name, target, where))
    return found


def import_closure(module: str, edges: list[tuple[str, str, str]]) -> set[str]:
    """``module`` and every package module it imports, directly or through others (a package's
    ``__init__`` counts as imported with any of its submodules)."""
    graph: dict[str, set[str]] = {}
    for importer, imported, _ in edges:
        graph.setdefault(importer, set()).add(imported)
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(graph.get(name, ()))
        parent = name.rpartition(".")[0]
        if parent:
            todo.append(parent)
    return seen
