"""Where a result came from, stated as content: hashes, versions and git commit, never the clock.

A published report records these so that a reader can tell exactly which code, data and
packages produced it, and two builds from the same content record the same thing.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
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


def git_state(repo: str | Path) -> dict[str, object]:
    """HEAD commit and whether the work tree differs from it (untracked files count as changes).

    Both are None outside a git work tree or without git, rather than guessed.
    """

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
            )
        except OSError:
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain") if commit is not None else None
    return {
        "commit": commit.strip() if commit is not None else None,
        "dirty": bool(status.strip()) if status is not None else None,
    }


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
