"""The study site in ``reports/``: the landing page (``index.html``) and the build status
(``status.html``), rewritten after every run, even an interrupted one.

The landing page is the study (``analysis.report.site`` renders it from the summary's headline
contract); the status page lists every planned report, whether it is current, its parameters,
inputs and commit, and links to what exists. Both list what changed in the last build: every
verdict and cited number whose printed value differs from the build before (``history``; the
published state is kept as a build of HEAD's commit first). Everything shown comes from the
plan, the published manifests, the failure records, the headline and the kept builds, so both
pages can be rebuilt at any time. All text is HTML-escaped: parameter values and error messages
are data, never markup.
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

from .. import provenance
from ..errors import AnalysisError
from ..report import citation, site
from . import history
from .cache import FAILED, MANIFEST, Status, write_atomic
from .plan import Report
from .publish import html_file, notebook_file

INDEX = "index.html"
STATUS = "status.html"
STATE_CLASS = {"fresh": "fresh", "stale": "stale", "failed": "failed", "never run": "never"}
Row = tuple[Report, dict, Status]


def write_site(
    reports_dir: Path, rows: list[Row], plan_label: str, root: Path | None = None
) -> Path:
    """Keep the published state as a build of ``root``'s commit (``history.record``), then
    write the status page and the landing page; returns the landing page's path."""
    reports_dir = Path(reports_dir)
    git = provenance.git_state(root) if root is not None else {"commit": None, "dirty": None}
    history.record(reports_dir, git)
    changed = history.last_changes(reports_dir)
    changes = None if changed is None else site.changes_section(changed[1], changed[0].label)
    links = [
        site.ReportLink(report.name, status.state, status.published is not None)
        for report, _, status in rows
    ]
    problem = None
    try:
        headline = site.load_headline(site.headline_path(reports_dir))
    except AnalysisError as exc:
        headline, problem = None, str(exc)
    cite = headline["citation"] if headline else _study_citation(rows)
    title = citation.software()["title"]
    forest = _forest(reports_dir, headline) if headline else None
    write_atomic(
        reports_dir / STATUS,
        render_status(rows, plan_label, title=title, cite=cite, changes=changes),
    )
    landing = site.render_landing(
        headline, links, title=title, cite=cite, problem=problem, forest=forest, changes=changes
    )
    path = reports_dir / INDEX
    write_atomic(path, landing)
    return path


def _forest(reports_dir: Path, headline: dict) -> tuple[str, str] | None:
    """The summary's forest figure (path relative to reports/) and its caption, if it exists."""
    if not headline["forest"]:
        return None
    relative = f"{headline['generated_from']}/{headline['forest']}"
    figure = reports_dir / relative
    if not figure.is_file():
        return None
    caption_file = figure.with_name(figure.stem + ".caption.txt")
    caption = (
        caption_file.read_text(encoding="utf-8").strip()
        if caption_file.is_file()
        else "The effect of every claim with its 95% interval, by verdict."
    )
    return quote(relative), caption


def _study_citation(rows: list[Row]) -> dict:
    tables = sorted({table for _, parts, _ in rows for table in parts["inputs"]})
    return site.default_citation(citation.software(), citation.sources_for(tables))


def render_status(
    rows: list[Row], plan_label: str, *, title: str, cite: dict, changes: str | None = None
) -> str:
    """``rows`` holds each planned report with its current key parts and status; ``changes``
    the rendered "what changed" section (None: fewer than two builds kept)."""
    e = html.escape
    counts = {}
    for _, _, status in rows:
        counts[status.state] = counts.get(status.state, 0) + 1
    summary = (
        ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no reports planned"
    )
    lines = [
        "<h2>Build status</h2>",
        (
            f"<p>Planned in <code>{e(plan_label)}</code>: {e(summary)}. Rebuild with <code>analysis run</code>; "
            "<code>analysis run --list</code> says why a report is stale.</p>"
        ),
        (
            '<table class="status"><thead><tr><th>Report</th><th>Status</th><th>Notebook</th><th>Parameters</th>'
            "<th>Inputs</th><th>Built from</th><th>Files</th></tr></thead><tbody>"
        ),
    ]
    for report, parts, status in rows:
        lines.append(
            "<tr>"
            f"<td>{e(report.name)}</td>"
            f'<td class="{STATE_CLASS[status.state]}">{e(status.state)}{_reasons(status)}</td>'
            f"<td><code>{e(report.notebook_label)}</code></td>"
            f"<td>{_parameters(report.parameters)}</td>"
            f"<td>{_inputs(parts, status)}</td>"
            f"<td>{_built_from(status)}</td>"
            f"<td>{_links(report.name, status)}</td>"
            "</tr>"
        )
    lines.append("</tbody></table>")
    if not rows:  # a header over nothing says nothing
        lines[2:] = ['<p class="note">The plan lists no report, so there is nothing to build.</p>']
    if changes is not None:  # what an author must update comes before the long table
        lines.insert(2, changes)
    nav = [("The study", INDEX), *([("What changed", "#changes")] if changes else [])]
    nav.append(("How to cite", "#cite"))
    return site.page(title, nav, "\n".join(lines), cite)


def _reasons(status: Status) -> str:
    if not status.reasons or status.state == "never run":
        return ""
    return "<br><small>" + "<br>".join(html.escape(r) for r in status.reasons) + "</small>"


def _parameters(parameters: dict) -> str:
    if not parameters:
        return "—"
    return "<br>".join(
        f"<code>{html.escape(k)} = {html.escape(repr(v))}</code>" for k, v in parameters.items()
    )


def _inputs(parts: dict, status: Status) -> str:
    tables = parts["inputs"]
    if not tables:
        return "—"
    used = (status.published or {}).get("inputs", {})
    cells = []
    for table, digest in tables.items():
        if status.published is None:
            state = "not yet used"
        elif used.get(table) == digest:
            state = "current"
        else:
            state = "changed since the published run"
        cells.append(f"{html.escape(table)}: {html.escape(state)}")
    return "<br>".join(cells)


def _built_from(status: Status) -> str:
    if status.published is None:
        return "—"
    git = status.published.get("git") or {}
    commit = (git.get("commit") or "no git commit")[:12]
    dirty = " + uncommitted changes" if git.get("dirty") else ""
    return f"<code>{html.escape(commit)}</code>{html.escape(dirty)}"


def _links(name: str, status: Status) -> str:
    folder = quote(name)
    links = []
    if status.published is not None:
        links += [
            f'<a href="{folder}/{quote(html_file(name))}">report</a>',
            f'<a href="{folder}/{quote(notebook_file(name))}">notebook</a>',
            f'<a href="{folder}/{MANIFEST}">manifest</a>',
        ]
    if status.failure is not None:
        links.append(
            f'<a href="{FAILED}/{folder}/{quote(notebook_file(name))}">failed notebook</a>'
        )
        detail = f"{status.failure['ename']}: {status.failure['evalue']}"
        links.append(f"<small>{html.escape(detail)}</small>")
    return " · ".join(links) or "—"
