"""How to cite a report, figure or table: the software, the data it read, and the commit.

The software citation comes from ``CITATION.cff``; data citations from the raw-source registry
(``sources/sources.toml``) for exactly the tables a report declares as inputs; the commit
from the report's ``manifest.json`` written by the runner (or from git, inside a notebook).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import ConfigError, DataError
from ..paths import project_root

CITATION_FILE = "CITATION.cff"  # in the project root
FORMATS = ("text", "bibtex")


def software() -> dict[str, str]:
    """Title, version and authors from CITATION.cff (flat keys only; no YAML parser needed)."""
    path = project_root() / CITATION_FILE
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    found = {
        key: re.search(rf"^{key}:\s*\"?(.+?)\"?\s*$", text, re.MULTILINE)
        for key in ("title", "version")
    }
    author = re.search(r"^authors:\s*\n\s*-\s*name:\s*\"?(.+?)\"?\s*$", text, re.MULTILINE)
    return {
        "title": found["title"].group(1) if found["title"] else "analysis",
        "version": found["version"].group(1) if found["version"] else "unknown",
        "author": author.group(1) if author else "analysis project contributors",
    }


def sources_for(tables: list[str] | tuple[str, ...]) -> list[dict[str, str]]:
    """Registry entries (id, citation, bibtex) of the raw sources the shipped ``tables`` were
    built from (data/manifest.json: an optional source absent from the build is not cited)."""
    from ..data.databuild import load_sources
    from ..data.datasets import read_manifest

    built = read_manifest()["tables"]
    used = {source for table in tables for source in built.get(table, {}).get("sources", [])}
    return [
        {"id": source.id, "citation": source.citation, "bibtex": source.bibtex.strip()}
        for source in load_sources().values()
        if source.id in used
    ]


def report_manifest(reports_dir: Path, report: str) -> dict:
    path = Path(reports_dir) / report / "manifest.json"
    if not path.is_file():
        raise DataError(
            path,
            f"no published report '{report}'",
            hint=f"run `analysis run --only {report}` first",
        )
    return json.loads(path.read_text(encoding="utf-8"))


def cite(item: str, reports_dir: Path, fmt: str = "text") -> str:
    """Citation text for ``REPORT`` or ``REPORT/figures/NAME`` / ``REPORT/tables/NAME``."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown citation format {fmt!r}; expected one of {list(FORMATS)}")
    report, _, part = item.partition("/")
    manifest = report_manifest(reports_dir, report)
    if part:
        folder = Path(reports_dir) / report / Path(part).parent
        stem = Path(part).name
        if not folder.is_dir() or not any(p.stem == stem for p in folder.iterdir()):
            raise DataError(
                Path(reports_dir) / report / part, f"no item '{part}' in report '{report}'"
            )
    git = manifest.get("git", {})
    commit = git.get("commit") or "unknown commit"
    dirty = " (working tree had uncommitted changes)" if git.get("dirty") else ""
    data = sources_for(sorted(manifest.get("inputs", {})))
    sw = software()
    if fmt == "bibtex":
        key = re.sub(r"[^A-Za-z0-9]", "", report)
        entry = (
            f"@software{{analysis_{key},\n  author = {{{sw['author']}}},\n"
            f"  title = {{{sw['title']}}},\n  version = {{{sw['version']}}},\n"
            f"  note = {{Report {item}, commit {commit}{dirty}}}\n}}"
        )
        return "\n\n".join([entry, *(source["bibtex"] for source in data)]) + "\n"
    lines = [
        (
            f"{sw['author']}. {sw['title']} (version {sw['version']}). "
            f"Report `{item}`, commit {commit}{dirty}."
        ),
        "",
        "Data:",
        *(f"- {source['citation']}" for source in data),
    ]
    return "\n".join(lines) + "\n"


def study(tables: list[str] | tuple[str, ...]) -> dict[str, str]:
    """How to cite the study as a whole (text and BibTeX): the software and the data sources
    of ``tables``; the landing page shows it."""
    from .site import default_citation

    return default_citation(software(), sources_for(tables))


def how_to_cite(report: str, tables: list[str] | tuple[str, ...]) -> str:
    """The closing "How to cite" section of a report (Markdown), from inside its notebook."""
    from ..provenance import git_state

    git = git_state(project_root())
    sw = software()
    commit = git.get("commit") or "unknown commit"
    lines = [
        "## How to cite",
        "",
        f"{sw['author']}. *{sw['title']}* (version {sw['version']}), "
        f"report `{report}`, commit `{commit}`."
        + (" The working tree had uncommitted changes." if git.get("dirty") else ""),
        "",
        "### Data",
        "",
        *(f"- {source['citation']}" for source in sources_for(tables)),
        "",
        f"BibTeX: `analysis cite {report} --format bibtex`.",
    ]
    return "\n".join(lines) + "\n"
