"""The study site: a landing page that leads with the answers, and the pieces reports reuse.

The summary report writes ``reports/90_summary/headline.json`` (the *headline contract*, below);
this module validates it and renders, as pure functions of the contract and of which reports are
published:

- the landing page ``reports/index.html``: the question, then the answer in a few sentences
  written from the verdicts (:func:`findings`), the forest plot, and a compact table with one
  line per registered claim and outcome (claim, outcome and window, effect with its interval and
  the unit of its scale, small-sample p, smallest detectable effect, coverage as a short label
  whose explanation is a footnote given once, and a verdict label that reads in grey as well as
  in colour); then what changed in the last build (:func:`changes_section`), links to every
  report, and how to cite the study;
- the verdict box a hypothesis report opens with (:func:`verdict_box`);
- the compact table the paper cites (:func:`paper_table`).

Pages are byte-stable (no clock, fixed order), every text is escaped, and nothing is fetched
from the network: the CSS is inline and figures are files beside the page.

Headline contract, schema 2 (JSON)::

    {"schema": 1, "question": str, "generated_from": str, "forest": str | null,
     "citation": {"text": str, "bibtex": str},
     "rows": [{ROW}, ...]}   # several rows per claim (same id) for several outcomes

Each ROW has every key of :data:`ROW_FIELDS` (null where a number is missing; it is shown as
"—"). ``verdict`` is one of ``labels.VERDICT_CODES``; ``verdict_label``, when given, must be the
label ``labels.toml`` gives that code, so that every page and legend uses the same words;
``verdict_reasons`` are reason codes of ``labels.toml`` (why the verdict is what it is).
"""

from __future__ import annotations

import difflib
import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from .. import labels
from ..errors import DataError
from ..formatting import MISSING, format_interval, format_p, latex_escape

SCHEMA = 4
SUMMARY_REPORT = "90_summary"
HEADLINE = "headline.json"
NUMBER, TEXT, OPTIONAL_TEXT, FLAG, TEXTS = "number or null", "text", "text or null", "bool", "list"
OPTIONAL_FLAG = "bool or null"
#: Every key of a headline row and what it holds.
ROW_FIELDS = {
    "id": TEXT,
    "scope": TEXT,
    "multiplicity": TEXT,
    "control": FLAG,
    "control_kind": OPTIONAL_TEXT,
    "claim": TEXT,
    "focal": OPTIONAL_TEXT,
    "outcome": TEXT,
    "outcome_label": TEXT,
    "window": TEXT,
    "effect": NUMBER,
    "ci_low": NUMBER,
    "ci_high": NUMBER,
    "ci_unbounded": FLAG,
    "effect_label": TEXT,
    "interval_method": OPTIONAL_TEXT,
    "p": NUMBER,
    "p_mc_se": NUMBER,
    "p_label": OPTIONAL_TEXT,
    "p_holm": NUMBER,
    "q_bh": NUMBER,
    "size": NUMBER,
    "size_mc_se": NUMBER,
    "oversized": OPTIONAL_FLAG,
    "power_text": OPTIONAL_TEXT,
    "mde": NUMBER,
    "coverage_text": OPTIONAL_TEXT,
    "coverage_control": OPTIONAL_TEXT,
    "coverage_could_produce": OPTIONAL_FLAG,
    "coverage_share_low": NUMBER,
    "coverage_share_high": NUMBER,
    "verdict": TEXT,
    "verdict_label": OPTIONAL_TEXT,
    "verdict_reasons": TEXTS,
    "verdict_sentence": TEXT,
    "caveats": TEXTS,
    "report": TEXT,
    "robustness": TEXT,
}
TOP_FIELDS = {
    "schema": "integer",
    "question": TEXT,
    "generated_from": TEXT,
    "rows": "list of rows",
    "forest": OPTIONAL_TEXT,
    "citation": "object with text and bibtex",
    "corrections": OPTIONAL_TEXT,
}


# --- the contract ------------------------------------------------------------------------------


def headline_path(reports_dir: Path) -> Path:
    return Path(reports_dir) / SUMMARY_REPORT / HEADLINE


def load_headline(path: Path) -> dict | None:
    """The validated contract, or None when the summary has not been built yet."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(path, f"is not valid JSON ({exc.msg})", row=exc.lineno) from None
    return validate_headline(document, path)


def validate_headline(document, source: Path | str = HEADLINE) -> dict:
    """Check every key and type of the contract; the error names the row and the field."""

    def fail(problem: str, *, column: str | None = None, found=None, expected=None):
        raise DataError(source, problem, column=column, found=found, expected=expected)

    if not isinstance(document, dict):
        fail("the headline must be a JSON object", found=type(document).__name__)
    if document.get("schema") != SCHEMA:
        fail(
            "unsupported headline schema",
            column="schema",
            found=document.get("schema"),
            expected=f"{SCHEMA} (the schema this site renders; update analysis.report.site for another)",
        )
    _check_keys(document, TOP_FIELDS, "the headline", fail)
    for key in ("question", "generated_from"):
        if not isinstance(document[key], str) or not document[key].strip():
            fail("must be non-empty text", column=key, found=document[key])
    if document["forest"] is not None and not isinstance(document["forest"], str):
        fail("must be a path relative to the summary report, or null", column="forest")
    citation = document["citation"]
    if not (
        isinstance(citation, dict)
        and set(citation) == {"text", "bibtex"}
        and all(isinstance(v, str) for v in citation.values())
    ):
        fail("must be an object with text keys 'text' and 'bibtex'", column="citation")
    rows = document["rows"]
    if not isinstance(rows, list) or not rows:
        fail("must be a non-empty list of rows", column="rows", found=rows)
    for i, row in enumerate(rows):
        where = f"rows[{i}]" + (f" ({row.get('id')})" if isinstance(row, dict) else "")
        if not isinstance(row, dict):
            fail(f"{where} must be an object", found=row)
        _check_keys(row, ROW_FIELDS, where, fail)
        for key, kind in ROW_FIELDS.items():
            if not _has_type(row[key], kind):
                fail(f"{where}: wrong type", column=key, found=row[key], expected=kind)
        if row["verdict"] not in labels.VERDICT_CODES:
            fail(
                f"{where}: unknown verdict",
                column="verdict",
                found=row["verdict"],
                expected=f"one of {list(labels.VERDICT_CODES)}",
            )
        unknown = [r for r in row["verdict_reasons"] if r not in labels.reasons()]
        if unknown:
            fail(
                f"{where}: unknown verdict reason(s)",
                column="verdict_reasons",
                found=unknown,
                expected=f"reason codes of labels.toml {list(labels.reasons())}",
            )
        label = labels.verdict(row["verdict"]).label
        if row["verdict_label"] not in (None, label):
            fail(
                f"{where}: verdict_label differs from the label of its code in labels.toml",
                column="verdict_label",
                found=row["verdict_label"],
                expected=repr(label),
            )
    return document


def _check_keys(given: dict, fields: dict, where: str, fail) -> None:
    missing = [key for key in fields if key not in given]
    if missing:
        fail(f"{where} lacks key(s) {missing} (use null for a missing value)", column=missing[0])
    for key in given:
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            fail(
                f"{where} has an unknown key" + (f"; did you mean '{close[0]}'?" if close else ""),
                column=key,
            )


def _has_type(value, kind: str) -> bool:
    if kind == NUMBER:
        return value is None or (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(float(value))
        )
    if kind == TEXT:
        return isinstance(value, str) and bool(value.strip())
    if kind == OPTIONAL_TEXT:
        return value is None or isinstance(value, str)
    if kind == FLAG:
        return isinstance(value, bool)
    if kind == OPTIONAL_FLAG:
        return value is None or isinstance(value, bool)
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def claim_groups(rows: Sequence[dict]) -> list[list[dict]]:
    """Rows of the same claim together, claims in their first order of appearance."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["id"], []).append(row)
    return list(groups.values())


# --- shared pieces -----------------------------------------------------------------------------

e = html.escape


def _tint(colour: str) -> str:
    """A light background of the verdict's colour (text on it stays dark)."""
    return colour + "22"


def verdict_badge(code: str) -> str:
    """The verdict's symbol and words in its colour: the words and symbol carry it in grey."""
    look = labels.verdict(code)
    return (
        f'<span class="verdict" style="border-left:4px solid {look.colour};'
        f'background:{_tint(look.colour)}">'
        f'<span class="symbol" aria-hidden="true" style="color:{look.colour}">{e(look.symbol)}'
        f"</span> {e(look.label)}</span>"
    )


def _number(value, digits: int = 2) -> str:
    return MISSING if value is None else f"{value:.{digits}f}"


def _p(value) -> str:
    return MISSING if value is None else format_p(value)


@dataclass(frozen=True)
class ReportLink:
    """A planned report as the site sees it: published or not, and its state."""

    name: str
    state: str  # fresh, stale, failed, never run
    published: bool

    @property
    def href(self) -> str:
        return f"{quote(self.name)}/{quote(self.name)}.html"


def _link(reports: dict[str, ReportLink], name: str, text: str, strong: bool = False) -> str:
    """A link to a published report; a report not built yet is named, never linked."""
    report = reports.get(name)
    shown = f"<strong>{e(text)}</strong>" if strong else e(text)
    if report is None or not report.published:
        return f'<span class="missing" title="not built yet">{shown} (not built)</span>'
    return f'<a href="{report.href}">{shown}</a>'


STYLE = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d1d1d;margin:0;background:#fff}
main{max-width:1240px;margin:0 auto;padding:14px 20px 40px}
header.site{border-bottom:1px solid #ddd;padding-bottom:6px;margin-bottom:8px}
h1{font-size:1.5em;margin:0 0 4px}
.subtitle{display:block;font-size:.62em;font-weight:400;color:#444}
h2{font-size:1.15em;margin:1.4em 0 .4em}
nav a{margin-right:1em;white-space:nowrap}
a{color:#0057a3}
.question{font-size:1.02em;max-width:62em;margin:6px 0 10px}
.note{background:#fff6dd;border-left:4px solid #E69F00;padding:6px 10px;margin:8px 0}
.problem{background:#fde8e4;border-left:4px solid #D55E00;padding:6px 10px;margin:8px 0}
table{border-collapse:collapse;width:100%}
th,td{padding:5px 7px;vertical-align:top;text-align:left;border-bottom:1px solid #e3e3e3}
th{background:#f3f3f3;font-weight:600;font-size:.9em}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.num{white-space:nowrap}
tr.first td{border-top:2px solid #c9c9c9}
td small,th small{color:#555;display:block;font-size:.82em;white-space:normal}
.headline{table-layout:fixed;font-size:.93em}
.claim strong{margin-right:.3em}
.verdict{display:inline-block;padding:1px 7px 1px 5px;border-radius:3px;font-weight:600;white-space:nowrap;color:#111}
.symbol{font-weight:700}
.missing{color:#777}
.findings ul{margin:.3em 0 .6em 1.1em;padding:0;max-width:72em}
.findings li{margin:.25em 0}
.findings h2{margin-top:.6em}
figure.forest{margin:.4em 0 1em}
td .more{font-size:.8em;margin-left:.3em}
td .when{font-size:.82em;color:#555;white-space:nowrap}
td.why{font-size:.85em;color:#444}
.headline td{padding:4px 6px}
.notes{font-size:.85em;color:#333;margin:.4em 0 .8em 1.2em;padding:0}
table.changes{margin:.4em 0 .8em;font-size:.9em}
.key{list-style:none;padding:0;margin:.5em 0;display:grid;grid-template-columns:repeat(auto-fill,minmax(290px,1fr));gap:4px 18px;font-size:.9em}
figure{margin:1em 0}
figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#444;font-size:.9em}
pre{white-space:pre-wrap;background:#f6f6f6;padding:8px;font-size:.85em}
code{font-size:.92em}
.status td{font-size:.9em}
.fresh{color:#176f2c}.stale{color:#8a5a00}.failed{color:#b00020}.never{color:#666}
ul.links{columns:2;column-gap:2em}
footer{margin-top:2em;border-top:1px solid #ddd}
"""


def page(title: str, nav: Sequence[tuple[str, str]], body: str, cite: dict) -> str:
    """A whole page: head with the inline style, navigation, body, and "How to cite"."""
    links = "".join(f'<a href="{href}">{e(text)}</a>' for text, href in nav)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{e(title)}</title><style>{STYLE}</style></head><body><main>",
            f'<header class="site"><h1>{_title(title)}</h1><nav>{links}</nav></header>',
            body,
            how_to_cite(cite),
            "</main></body></html>",
            "",
        ]
    )


def _title(title: str) -> str:
    """A title with a subtitle after its colon: the subtitle on its own, smaller line."""
    main, colon, rest = title.partition(": ")
    if not colon:
        return e(title)
    return f'{e(main)}<span class="subtitle">{e(rest[:1].upper() + rest[1:])}</span>'


def how_to_cite(cite: dict) -> str:
    return (
        '<footer id="cite"><h2>How to cite</h2>'
        f"<p>{e(cite['text'])}</p>"
        f"<details><summary>BibTeX</summary><pre>{e(cite['bibtex'])}</pre></details>"
        "<p>Each report names the commit it was built from; "
        "<code>analysis cite REPORT --format bibtex</code> prints its citation with the data it read."
        "</p></footer>"
    )


def default_citation(software: dict, sources: Sequence[dict]) -> dict:
    """How to cite the study when the summary has not written its own citation yet."""
    data = "; ".join(source["citation"] for source in sources)
    text = f"{software['author']}. {software['title']} (version {software['version']})."
    bibtex = (
        f"@software{{analysis_study,\n  author = {{{software['author']}}},\n"
        f"  title = {{{software['title']}}},\n  version = {{{software['version']}}}\n}}"
    )
    sources_bib = "\n\n".join(source["bibtex"] for source in sources)
    return {
        "text": text + (f" Data: {data}" if data else ""),
        "bibtex": bibtex + ("\n\n" + sources_bib if sources_bib else ""),
    }


# --- landing page ------------------------------------------------------------------------------

#: Reports the landing page points to besides the claims: (name prefix, what it answers).
SECTIONS = (
    ("00_data_audit", "Data audit: sources, coverage, and what the incident catalogue misses"),
    ("01_incident_patterns", "Incident patterns per border: frequency, severity, season, place"),
    ("30_global_panel", "Global comparison: the same claims on every state and border since 1990"),
    ("90_summary", "Summary report: every test with its multiple-testing correction"),
)


#: What the landing page says above results that may not match the current code and data.
SUMMARY_NOTES = {
    "stale": "The summary is stale (its code, data or registry changed since it was built): "
    "these results come from its last build.",
    "failed": "The summary's last run failed: these results come from its last successful build.",
}


def render_landing(
    headline: dict | None,
    reports: Sequence[ReportLink],
    *,
    title: str,
    cite: dict,
    problem: str | None = None,
    forest: tuple[str, str] | None = None,
    changes: str | None = None,
) -> str:
    """The landing page. ``headline`` is the validated contract (None: not built yet);
    ``problem`` an error met reading it; ``forest`` the forest figure's path relative to the
    reports folder and its caption (None: no figure exists); ``changes`` the rendered
    :func:`changes_section` (None: fewer than two builds kept)."""
    by_name = {r.name: r for r in reports}
    nav = [("Findings", "#findings")] if headline is not None else []
    nav += [("Every claim", "#results")] if headline is not None else []
    nav += [("What changed", "#changes")] if changes is not None else []
    nav += [("All reports", "#reports"), ("Build status", "status.html"), ("How to cite", "#cite")]
    body = []
    if headline is not None:
        body.append(f'<p class="question">{e(headline["question"])}</p>')
    summary = by_name.get(SUMMARY_REPORT)
    if problem is not None:
        body.append(
            f'<p class="problem">The summary could not be read: {e(problem)}. '
            'The <a href="status.html">build status</a> lists every report.</p>'
        )
    elif headline is None:
        body.append(
            '<p class="note">The summary has not been built yet, so there are no results to '
            "show here. Build it with <code>analysis run --only 90_summary</code> (or "
            "<code>make reports</code>); the reports built so far are listed below and on the "
            '<a href="status.html">build status</a> page.</p>'
        )
    elif summary is not None and summary.state in SUMMARY_NOTES:
        body.append(
            f'<p class="note">{e(SUMMARY_NOTES[summary.state])} See the '
            '<a href="status.html">build status</a>.</p>'
        )
    if headline is not None:
        sentences = "".join(f"<li>{e(s)}</li>" for s in findings(headline["rows"]))
        body.append(
            f'<section id="findings" class="findings"><h2>What the registered tests found</h2>'
            f"<ul>{sentences}</ul></section>"
        )
        if forest is not None:
            src, caption = forest
            body.append(
                f'<figure class="forest"><img src="{e(src)}" alt="{e(caption)}">'
                f"<figcaption>{e(caption)}</figcaption></figure>"
            )
        body.append('<h2 id="results">Every registered claim, and what its test can say</h2>')
        body.append(headline_table(headline["rows"], by_name))
        body.append(verdict_key(headline["rows"]))
        if headline.get("corrections"):
            body.append(f'<p class="note">Multiplicity: {e(headline["corrections"])}.</p>')
    if changes is not None:
        body.append(changes)
    body.append(_report_lists(reports, headline))
    return page(title, nav, "\n".join(body), cite)


def findings(rows: Sequence[dict]) -> list[str]:
    """The answer in three to five sentences, written from the verdict codes, their reasons and
    the numbers of the rows (never from display text): how many tests reach each verdict, which
    find an effect, which rule one out, why the others cannot decide, and the controls."""
    by_code = {
        look.code: [r for r in rows if r["verdict"] == look.code] for look in labels.verdicts()
    }
    claims = _count(len({row["id"] for row in rows}), "claim")
    tests = _count(len(rows), "registered test")
    sentences = [f"Of {tests} ({claims}, each on every outcome series it names), {_tally(rows)}."]
    found = [
        f"{lead} for {_listed([_result(r) for r in by_code[code]])}"
        for code, lead in (("evidence", "in the registered direction"), ("opposite", "against it"))
        if by_code[code]
    ]
    sentences.append(
        f"An effect after the multiplicity correction: {'; '.join(found)}."
        if found
        else "No test finds an effect after the multiplicity correction."
    )
    if by_code["not_detected"]:
        look = labels.verdict("not_detected")
        tests = _listed([_test(r) for r in by_code["not_detected"]])
        sentences.append(f"“{look.label}” ({look.meaning.rstrip('.')}): {tests}.")
    undecided = [r for r in rows if r["verdict"] in ("cannot_tell", "oversized")]
    if undecided:
        sentences.append(f"{_count(len(undecided), 'test')} cannot decide{_why(undecided)}.")
    parts = []
    for kind, should, failing in (
        ("negative", "should find nothing", "may pick up reporting rather than violence"),
        ("positive", "should find their effect", "did not find it"),
    ):
        controls = [r for r in rows if r["control_kind"] == kind]
        if controls:
            failed = _listed([_test(r) for r in controls if r["verdict"] == "control_failed"])
            parts.append(
                f"of the {kind} ones (tests that {should}), {_tally(controls)}"
                + (f" ({failed} {failing})" if failed else "")
            )
    if parts:
        sentences.append(f"Controls: {'; '.join(parts)}.")
    return sentences


def _tally(rows: Sequence[dict]) -> str:
    """How many rows reach each verdict, in the order of the verdict key."""
    counts = [
        f"{n} “{look.label}”"
        for look in labels.verdicts()
        if (n := sum(row["verdict"] == look.code for row in rows))
    ]
    return _and(counts)


def _why(rows: Sequence[dict]) -> str:
    """Why tests cannot decide: each reason of their verdicts with how many tests it holds for,
    most frequent first."""
    order = list(labels.reasons())
    counts: dict[str, int] = {}
    for row in rows:
        for reason in row["verdict_reasons"]:
            counts[reason] = counts.get(reason, 0) + 1
    if not counts:
        return ""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], order.index(item[0])))
    several = " (a test can have several reasons)" if sum(counts.values()) > len(rows) else ""
    return ": " + "; ".join(f"for {n}, {labels.reasons()[code]}" for code, n in ranked) + several


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _and(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _listed(items: Sequence[str], most: int = 4) -> str:
    """At most ``most`` items, then how many more (a sentence stays a sentence)."""
    if len(items) <= most:
        return _and(items)
    return ", ".join(items[:most]) + f" and {len(items) - most} more"


def _test(row: dict) -> str:
    return f"{row['id']} on {row['outcome_label']}"


def _result(row: dict) -> str:
    return f"{_test(row)} ({row['effect_label']} {_interval(row)}; p {_p(row['p'])})"


def headline_table(rows: Sequence[dict], reports: dict[str, ReportLink]) -> str:
    """One line per claim and outcome; the claim (the focal term in words, the claim itself on
    hover, links to its reports) spans its outcomes. Coverage is a short label whose
    explanation is a numbered note under the table, given once however many rows share it."""
    notes: dict[str, int] = {}
    for row in rows:
        if row["coverage_text"]:
            notes.setdefault(_coverage_note(row), len(notes) + 1)
    head = (
        '<table class="headline"><colgroup>'
        '<col style="width:17%"><col style="width:17%"><col style="width:26%">'
        '<col style="width:6%"><col style="width:8%"><col style="width:11%">'
        '<col style="width:15%"></colgroup><thead><tr>'
        "<th>Claim</th><th>Outcome, window</th>"
        '<th class="num">Effect [95% interval]</th>'
        '<th class="num" title="the reported small-sample test">p</th>'
        '<th class="num" title="the smallest effect the reported test detects with the target '
        'power (power on hover; none: no effect in the searched range reaches it)">Detectable'
        '</th><th title="could a difference in the coverage of the outcome alone produce '
        'the estimate? (the numbered note explains)">Coverage could produce it</th>'
        "<th>Verdict</th></tr></thead><tbody>"
    )
    lines = [head]
    for group in claim_groups(rows):
        for i, row in enumerate(group):
            cells = []
            if i == 0:
                focal = f"<small>{e(labels.term(row['focal']))}</small>" if row["focal"] else ""
                cells.append(
                    f'<td class="claim" rowspan="{len(group)}" title="{e(row["claim"])}">'
                    f"{_link(reports, row['report'], row['id'], strong=True)} "
                    f'<span class="more">{_link(reports, row["robustness"], "robustness")}</span>'
                    f"{focal}</td>"
                )
            when = (
                "" if row["window"] == MISSING else f' <span class="when">{e(row["window"])}</span>'
            )
            cells.append(f"<td>{e(row['outcome_label'])}{when}</td>")
            cells += _numbers(row)
            cells += [
                f"<td>{_coverage(row, notes)}</td>",
                f"<td>{verdict_badge(row['verdict'])}</td>",
            ]
            css = ' class="first"' if i == 0 else ""
            lines.append(f"<tr{css}>{''.join(cells)}</tr>")
    lines.append("</tbody></table>")
    if notes:
        items = "".join(f'<li id="coverage-{n}">{e(text)}</li>' for text, n in notes.items())
        lines.append(f'<ol class="notes" aria-label="Coverage notes">{items}</ol>')
    return "\n".join(lines)


def _numbers(row: dict) -> list[str]:
    """The effect, p and detectable-effect cells; a test without numbers says why instead."""
    if row["verdict"] == "not_testable":
        return [f'<td colspan="3" class="why">{e(row["verdict_sentence"])}</td>']
    effect = f"{e(_interval(row))}<small>{e(row['effect_label'])}</small>"
    power = e(row["power_text"] or "")
    return [
        f'<td class="num">{effect}</td>',
        f'<td class="num" title="{e(_p_note(row))}">{e(_p(row["p"]))}</td>',
        f'<td class="num" title="{power}">{e(_detectable(row))}</td>',
    ]


def _detectable(row: dict) -> str:
    """The minimum detectable effect with its direction (a ratio below 1 is a decrease)."""
    if row["mde"] is not None:
        return f"{'≤' if row['mde'] < 1 else '≥'} {row['mde']:.2f}"
    return "none" if row["power_text"] else MISSING


#: Whether coverage alone could produce the estimate, in a word (``coverage_could_produce``).
COULD_PRODUCE = {True: "yes", False: "no", None: "cannot assess"}


def _coverage_note(row: dict) -> str:
    """The numbered note under the table that explains a row's coverage cell: what its coverage
    control means (``labels.toml``), shared by every row with that control; else the row's own
    check."""
    return labels.coverage(row["coverage_control"] or "") or row["coverage_text"]


def _coverage(row: dict, notes: dict[str, int]) -> str:
    """Whether coverage alone could produce the estimate, the number of the note that explains
    the control, and the row's own check on hover."""
    if not row["coverage_text"]:
        return MISSING
    n = notes[_coverage_note(row)]
    word = COULD_PRODUCE[row["coverage_could_produce"]]
    own = e(row["coverage_text"])
    return f'<span title="{own}">{e(word)}</span><sup><a href="#coverage-{n}">{n}</a></sup>'


def _interval(row: dict) -> str:
    """Estimate [low, high]; an unbounded upper side (null in JSON) is shown as ∞, not a dash."""
    high = math.inf if row["ci_unbounded"] and row["ci_high"] is None else row["ci_high"]
    return format_interval(row["effect"], row["ci_low"], high)


def _p_note(row: dict) -> str:
    parts = [row["p_label"]] if row["p_label"] else []
    if row["p_holm"] is not None:
        parts.append(f"Holm-adjusted {_p(row['p_holm'])}")
    if row["size"] is not None:
        parts.append(f"size {row['size']:.3f}")
    return "; ".join(parts)


def verdict_key(rows: Sequence[dict]) -> str:
    """What each verdict shown means, with the same badge as in the table."""
    shown = {row["verdict"] for row in rows}
    items = "".join(
        f"<li>{verdict_badge(look.code)} {e(look.meaning)}</li>"
        for look in labels.verdicts()
        if look.code in shown
    )
    return f'<ul class="key" aria-label="What the verdicts mean">{items}</ul>'


def _report_lists(reports: Sequence[ReportLink], headline: dict | None) -> str:
    items = []
    for prefix, what in SECTIONS:
        members = [r for r in reports if r.name == prefix or r.name.startswith(prefix + "-")]
        if not members:
            continue
        links = ", ".join(_link({r.name: r for r in members}, r.name, r.name) for r in members)
        items.append(f"<li>{e(what)}: {links}</li>")
    claims = [r for r in reports if r.name.startswith(("10_hypothesis-", "20_robustness-"))]
    if headline is None and claims:
        links = ", ".join(_link({r.name: r for r in claims}, r.name, r.name) for r in claims)
        items.append(f"<li>One report per claim and its robustness: {links}</li>")
    items.append(
        '<li><a href="status.html">Build status</a>: which reports are current, '
        "their parameters, inputs and commit</li>"
    )
    return f'<h2 id="reports">All reports</h2><ul>{"".join(items)}</ul>'


# --- what changed ------------------------------------------------------------------------------

#: Cited numbers listed open; more are listed in a collapsed section under their count.
OPEN_CHANGES = 20


def changes_section(changes: Sequence, since: str) -> str:
    """What changed in the last build against the build of ``since`` (commit and state), so an
    author knows which citations to update: every verdict (old → new), then every cited number
    by report and macro. ``changes`` are ``runner.history.Change`` items (``kind``, ``report``,
    ``key``, ``old``, ``new``, ``what``; None where the item was absent)."""
    verdicts = [c for c in changes if c.kind == "verdict"]
    numbers = [c for c in changes if c.kind == "number"]
    reports = [c for c in changes if c.kind == "report"]
    head = (
        f'<section id="changes"><h2>What changed in the last build</h2><p>Against the build '
        f"before it ({e(since)}): "
    )
    if not changes:
        return head + "no verdict and no cited number changed.</p></section>"
    counts = [
        _count(len(found), what)
        for found, what in ((verdicts, "verdict"), (numbers, "cited number"))
        if found
    ]
    said = f"{_and(counts)} changed" if counts else "no verdict and no cited number changed"
    said += "; no verdict changed" if counts and not verdicts else ""
    diff = "<code>analysis diff REF</code> compares the reports with the build of any commit."
    parts = [f"{head}{said}. {diff}</p>"]
    if verdicts:
        rows = "".join(
            f"<tr><td>{e(c.what or c.key)}</td><td>{e(c.old or MISSING)}</td>"
            f"<td>→ {e(c.new or MISSING)}</td></tr>"
            for c in verdicts
        )
        parts.append(
            '<table class="changes"><thead><tr><th>Claim and outcome</th><th>Verdict before'
            f"</th><th>Verdict now</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    if numbers:
        rows = "".join(
            f"<tr><td>{e(c.report)}</td><td><code>\\{e(c.key)}</code></td>"
            f'<td class="num">{e(c.old or MISSING)}</td><td class="num">→ {e(c.new or MISSING)}'
            f"</td><td>{e(c.what)}</td></tr>"
            for c in numbers
        )
        table = (
            '<table class="changes"><thead><tr><th>Report</th><th>Macro</th>'
            '<th class="num">Before</th><th class="num">Now</th><th>What it is</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>"
        )
        if len(numbers) > OPEN_CHANGES:
            table = details(f"The {len(numbers)} cited numbers that changed", markup=table)
        parts.append(table)
    if reports:
        items = "".join(
            f"<li>{e(c.report)}: "
            + (
                f"newly published ({e(c.new)})"
                if c.old is None
                else f"no longer published (had {e(c.old)})"
            )
            + "</li>"
            for c in reports
        )
        parts.append(f"<ul>{items}</ul>")
    return "".join(parts) + "</section>"


def absent(caption: str, sentence: str) -> str:
    """What a report shows instead of a table without rows: its caption and why it is empty."""
    return (
        f'<p class="absent" style="margin:6px 0 12px;color:#333"><em>{e(caption)}:</em> '
        f"{e(sentence)}</p>"
    )


# --- in a report -------------------------------------------------------------------------------


def _after_label(sentence: str, label: str) -> str:
    """The verdict sentence without its opening label, which the badge beside it shows."""
    if not sentence.startswith(label):
        return sentence
    rest = sentence[len(label) :].lstrip(": ")
    return rest[:1].upper() + rest[1:] if rest and not rest.startswith("(") else rest


def verdict_box(row: dict) -> str:
    """The answer a hypothesis report opens with: what was tested, on which outcome and window,
    the verdict in one sentence, then the numbers with their power and coverage caveats.

    Styles are inline: the box is shown inside notebook renderers whose CSS this module does
    not control.
    """
    look = labels.verdict(row["verdict"])
    effect = _interval(row)
    facts = [
        ("Effect", f"{effect} ({row['effect_label']}" + _method(row["interval_method"]) + ")"),
        ("p (small-sample)", f"{_p(row['p'])}" + _method(row["p_label"], " — ")),
        (
            "Corrected",
            f"Holm within family {_p(row['p_holm'])}; Benjamini–Hochberg q {_p(row['q_bh'])}",
        ),
        ("Size", _size(row)),
        ("Power", row["power_text"] or MISSING),
        ("Coverage", row["coverage_text"] or MISSING),
    ]
    items = "".join(
        f'<tr><th style="text-align:left;padding:2px 10px 2px 0;font-weight:600;'
        f'vertical-align:top;white-space:nowrap">{e(k)}</th>'
        f'<td style="text-align:left;padding:2px 0">{e(v)}</td></tr>'
        for k, v in facts
    )
    said = f"{row['verdict_sentence']} {row['coverage_text'] or ''}"  # shown above already
    caveats = "".join(f"<li>{e(c)}</li>" for c in row["caveats"] if c.rstrip(".") not in said)
    caveats = f'<ul style="margin:6px 0 0 18px;padding:0">{caveats}</ul>' if caveats else ""
    return (
        f'<section class="verdict-box" style="border:1px solid #ccc;border-left:6px solid '
        f"{look.colour};padding:10px 14px;margin:6px 0 14px;background:#fafafa;"
        f'font-family:system-ui,sans-serif;color:#1d1d1d;max-width:60em">'
        f'<div style="font-size:.9em;color:#444">{e(row["id"])} · {e(row["outcome_label"])} · '
        f"{e(row['window'])}</div>"
        f'<div style="margin:4px 0">Tested: {e(row["claim"])}</div>'
        f'<div style="font-size:1.1em;margin:6px 0">{verdict_badge(row["verdict"])} '
        f"{e(_after_label(row['verdict_sentence'], look.label))}</div>"
        f'<table style="border-collapse:collapse;font-size:.92em;margin-top:4px">{items}</table>'
        f"{caveats}</section>"
    )


def _method(text: str | None, separator: str = "; ") -> str:
    return f"{separator}{text}" if text else ""


def _size(row: dict) -> str:
    if row["size"] is None:
        return MISSING
    se = f" (Monte Carlo s.e. {row['size_mc_se']:.3f})" if row["size_mc_se"] is not None else ""
    flag = ": oversized, the p-value is not reliable" if row["oversized"] else ""
    return f"rejects {row['size']:.3f} of the time under no effect at the 5% level{se}{flag}"


def details(summary: str, *, text: str | None = None, markup: str | None = None) -> str:
    """A collapsed section (``<details>``) around technical output: plain ``text`` (shown as
    preformatted, escaped) or trusted ``markup`` from this package's renderers."""
    inner = f'<pre style="white-space:pre-wrap">{e(text)}</pre>' if text is not None else markup
    return (
        f'<details style="margin:8px 0"><summary style="cursor:pointer;font-weight:600">'
        f"{e(summary)}</summary>{inner or ''}</details>"
    )


def summary_box(title: str, points: Sequence[str]) -> str:
    """A short box of findings that a descriptive report opens with."""
    items = "".join(f"<li>{e(p)}</li>" for p in points)
    return (
        '<section style="border:1px solid #ccc;border-left:6px solid #0072B2;padding:8px 14px;'
        'margin:6px 0 14px;background:#fafafa;font-family:system-ui,sans-serif;max-width:60em">'
        f'<div style="font-weight:600;margin-bottom:4px">{e(title)}</div>'
        f'<ul style="margin:0 0 0 18px;padding:0">{items}</ul></section>'
    )


# --- the paper's table -------------------------------------------------------------------------


def paper_table(rows: Sequence[dict], *, caption: str, label: str) -> str:
    """The compact booktabs table a paper cites: claim, outcome and window, effect [95%
    interval] with its scale under it, small-sample p, size, MDE and verdict; the claim's id
    once per group of outcomes. A ``longtable`` of fixed column widths: it breaks across pages
    (one row per registered test is more than a page) and never runs past the text width; the
    paper needs ``booktabs``, ``longtable`` and ``array``."""
    header = r"Claim & Outcome, window & Effect [95\% CI] & $p$ & Size & MDE & Verdict \\"
    lines = [
        r"\begingroup\footnotesize",
        (
            r"\begin{longtable}{@{}>{\raggedright\arraybackslash}p{2.0cm}"
            r">{\raggedright\arraybackslash}p{3.3cm}>{\raggedleft\arraybackslash}p{2.8cm}"
            r">{\raggedleft\arraybackslash}p{0.9cm}>{\raggedleft\arraybackslash}p{0.9cm}"
            r">{\raggedleft\arraybackslash}p{0.9cm}>{\raggedright\arraybackslash}p{1.9cm}@{}}"
        ),
        rf"\caption{{{latex_escape(caption)}}}\label{{{label}}} \\",
        r"\toprule",
        header,
        r"\midrule",
        r"\endfirsthead",
        r"\toprule",
        header,
        r"\midrule",
        r"\endhead",
        r"\bottomrule",
        r"\endfoot",
    ]
    groups = claim_groups(rows)
    for number, group in enumerate(groups):
        if number and (len(group) > 1 or len(groups[number - 1]) > 1):
            lines.append(r"\addlinespace[3pt]")  # a claim with several outcomes stands apart
        for i, row in enumerate(group):
            claim = latex_escape(row["id"]).replace(r"\_", r"\_\allowbreak{}") if i == 0 else ""
            effect = rf"{latex_escape(_interval(row))}\newline\emph{{{latex_escape(row['effect_label'])}}}"
            cells = [
                claim,
                f"{latex_escape(row['outcome_label'])}, {latex_escape(row['window'])}",
                effect,
                latex_escape(_p(row["p"])),
                latex_escape(_number(row["size"], 3)),
                latex_escape(_number(row["mde"], 2)),
                latex_escape(labels.verdict(row["verdict"]).label),
            ]
            lines.append(" & ".join(cells) + r" \\")
    lines += [r"\end{longtable}", r"\endgroup"]
    return "\n".join(lines) + "\n"
