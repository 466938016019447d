"""``reports/index.html``: every planned report, whether it is current, and links to what exists.

Everything shown comes from the plan, the published manifests and the failure records, so the
page can be rebuilt at any time (it is, after every run, even an interrupted one). All text is
HTML-escaped: parameter values and error messages are data, never markup.
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

from .cache import FAILED, MANIFEST, Status, write_atomic
from .plan import Report
from .publish import html_file, notebook_file

INDEX = "index.html"
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 0.4em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
.fresh { color: #176f2c; } .stale { color: #8a5a00; } .failed { color: #b00020; } .never { color: #666; }
code { font-size: 0.9em; }
"""
STATE_CLASS = {"fresh": "fresh", "stale": "stale", "failed": "failed", "never run": "never"}


def render_index(rows: list[tuple[Report, dict, Status]], plan_label: str) -> str:
    """``rows`` holds each planned report with its current key parts and status."""
    e = html.escape
    counts = {}
    for _, _, status in rows:
        counts[status.state] = counts.get(status.state, 0) + 1
    summary = (
        ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no reports planned"
    )
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Reports</title>',
        f"<style>{STYLE}</style></head><body>",
        "<h1>Reports</h1>",
        (
            f"<p>Planned in <code>{e(plan_label)}</code>: {e(summary)}. Rebuild with <code>analysis run</code>; "
            "<code>analysis run --list</code> says why a report is stale.</p>"
        ),
        (
            "<table><thead><tr><th>report</th><th>status</th><th>notebook</th><th>parameters</th>"
            "<th>inputs</th><th>built from</th><th>files</th></tr></thead><tbody>"
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
    lines += ["</tbody></table>", "</body></html>", ""]
    return "\n".join(lines)


def write_index(reports_dir: Path, text: str) -> Path:
    path = reports_dir / INDEX
    write_atomic(path, text)
    return path


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
