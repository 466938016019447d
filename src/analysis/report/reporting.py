"""What a notebook hands to its report: figures, tables and quoted numbers, saved citably.

A notebook creates ``outputs = ReportOutputs(output_dir, report=...)`` and passes every figure,
table and number it wants a paper to cite through it. With ``output_dir=""`` (interactive
use) nothing is written; items are only displayed. Files are byte-stable: the same inputs give
the same bytes (no creation dates in PDF/SVG/PNG metadata, fixed SVG ids, fixed float format),
so a diff between two runs shows only real changes.

What a reader sees in the HTML report: each figure as an image whose alt text is its caption
(the caption is printed under it too) with links to its data as CSV (the tidy frame it was drawn
from) and to the PDF and SVG; tables with human labels and aligned columns
(``formatting.display_frame``; the CSV keeps the raw names and values), where a table without
rows is one sentence saying what is absent and why; and the helpers a notebook opens and closes
with: :func:`show_verdict` (the answer first), :func:`show_summary`, :func:`show_details`
(technical output collapsed) and :meth:`ReportOutputs.how_to_cite` (which names the macro of
every number the report quotes).

Number macros: ``numbers.tex`` defines one LaTeX macro per number, named from its key by
:func:`macro_name` (``"H1a IRR low"`` → ``\\HOneaIRRLow``): words are split at anything that
is not a letter or digit, digits are spelled out (LaTeX macro names cannot hold digits) and each
word's first letter is upper-cased, so keys stay readable in the paper's source.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import pandas as pd

from .. import labels
from ..errors import ConfigError
from ..formatting import display_frame, html_table, latex_escape, latex_table, markdown_table
from . import citation, figures, site

FIGURE_FORMATS = ("pdf", "png", "svg")
OPEN_MACROS = 12  # a report quoting more numbers lists their macros in a collapsed section
SCREEN_DPI = 144  # the figure shown in the report: 1.5 image pixels per CSS pixel, sharp on HiDPI
_DIGITS = ("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")
# Metadata a format would otherwise fill from the clock or the library version.
_FIXED_METADATA = {
    "pdf": {"CreationDate": None, "Producer": None, "Creator": None},
    "svg": {"Date": None, "Creator": None},
    "png": {"Software": None},
}


def macro_name(key: str) -> str:
    """LaTeX macro name (without backslash) for a number key; see the module docstring."""
    said = [w for w in re.split(r"[^A-Za-z0-9]+", key) if w]
    if not said:
        raise ConfigError(f"number key {key!r} has no letters or digits")
    parts = []
    for word in said:
        spelled = "".join(_DIGITS[int(c)] if c.isdigit() else c for c in word)
        parts.append(spelled[0].upper() + spelled[1:])
    return "".join(parts)


def _check_name(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise ConfigError(f"{what} name {name!r} must be lower-case letters, digits, '_' or '-'")
    return name


@dataclass
class ReportOutputs:
    """Collects one report's citable outputs and writes them under ``output_dir``."""

    output_dir: str | Path = ""
    report: str = "report"
    numbers: dict[str, dict] = field(default_factory=dict)

    @property
    def saving(self) -> bool:
        return bool(str(self.output_dir))

    def _folder(self, sub: str) -> Path:
        folder = Path(self.output_dir) / sub
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def figure(self, fig, name: str, caption: str = "", data: pd.DataFrame | None = None) -> None:
        """Save ``fig`` as PDF, PNG and SVG with stable names and clock-free metadata, and the
        tidy frame it was drawn from as CSV beside it: ``data``, else the frame a function of
        :mod:`figures` attached (:func:`figures.drawn_from`)."""
        _check_name(name, "figure")
        data = figures.drawn_from(fig) if data is None else data
        if data is None:
            raise ConfigError(
                f"figure '{name}' carries no data: pass data=<the tidy frame it was drawn from> "
                "(every figure offers its data as CSV)"
            )
        if self.saving:
            folder = self._folder("figures")
            with matplotlib.rc_context(
                {"svg.hashsalt": f"{self.report}/{name}", "pdf.compression": 6}
            ):
                for fmt in FIGURE_FORMATS:
                    fig.savefig(
                        folder / f"{name}.{fmt}",
                        format=fmt,
                        dpi=150,
                        bbox_inches="tight",
                        metadata=_FIXED_METADATA[fmt],
                    )
            (folder / f"{name}.csv").write_text(
                data.to_csv(index=False, lineterminator="\n"), encoding="utf-8"
            )
            if caption:
                (folder / f"{name}.caption.txt").write_text(
                    caption.strip() + "\n", encoding="utf-8"
                )
        files = f"figures/{name}" if self.saving else None
        _display_html(figure_html(fig, caption or name, files=files), caption or name)
        import matplotlib.pyplot as plt

        plt.close(fig)

    def table(
        self,
        frame: pd.DataFrame,
        name: str,
        caption: str = "",
        index: bool = False,
        collapsed: bool = False,
        empty: str | None = None,
    ) -> None:
        """Save a frame as CSV (raw names and values), LaTeX (booktabs) and Markdown (labelled,
        aligned, consistent digits); show it, inside a closed ``<details>`` if ``collapsed``.

        A frame without rows is shown, and saved as LaTeX and Markdown, as the sentence
        ``empty`` (what is absent and why; the CSV keeps the header): a header over nothing
        tells a reader nothing. Every column needs a label in ``labels.toml`` (or a name that
        is already words a reader knows, such as a border code), so no raw name is shown."""
        _check_name(name, "table")
        shown = frame.reset_index() if index else frame
        raw = labels.unlabelled(shown.columns)
        if raw:
            raise ConfigError(
                f"table '{name}': column(s) {raw} have no label; add them to "
                f"{labels.LABELS_PATH} [columns] (what a reader sees in the header)"
            )
        if shown.empty and not empty:
            raise ConfigError(
                f"table '{name}' has no rows: pass empty='...', one sentence saying what is "
                "absent and why"
            )
        table = display_frame(shown)
        if self.saving:
            folder = self._folder("tables")
            (folder / f"{name}.csv").write_text(
                shown.to_csv(index=False, lineterminator="\n"), encoding="utf-8"
            )
            label = f"tab:{self.report}:{name}"
            if shown.empty:
                tex = f"% {latex_escape(caption or name)}\n{latex_escape(empty)}\n"
                md = f"{empty}\n"
            else:
                tex = latex_table(
                    table.header, table.rows, caption=caption or None, label=label,
                    align=table.align,
                )  # fmt: skip
                md = markdown_table(table.header, table.rows, align=table.align)
            (folder / f"{name}.tex").write_text(tex, encoding="utf-8")
            (folder / f"{name}.md").write_text(md, encoding="utf-8")
        if shown.empty:
            markup = site.absent(caption or name, empty)
        else:
            markup = html_table(table.header, table.rows, align=table.align)
            if collapsed:
                markup = site.details(caption or name, markup=markup)
        _display_html(markup, caption or name)

    def paper_table(self, rows: Sequence[dict], name: str, caption: str) -> None:
        """Save the compact table a paper cites (``site.paper_table``) from headline rows."""
        _check_name(name, "table")
        if self.saving:
            text = site.paper_table(rows, caption=caption, label=f"tab:{self.report}:{name}")
            (self._folder("tables") / f"{name}.tex").write_text(text, encoding="utf-8")

    def number(self, key: str, value, *, digits: int = 2, description: str = "") -> str:
        """Record a number the text quotes; returns it formatted as quoted (for narrative)."""
        macro = macro_name(key)
        if any(entry["macro"] == macro and k != key for k, entry in self.numbers.items()):
            raise ConfigError(f"number keys map to the same macro \\{macro}: rename {key!r}")
        text = _format_quoted(value, digits)
        self.numbers[key] = {
            "macro": macro,
            "value": _plain(value),
            "text": text,
            "description": description,
        }
        if self.saving:
            self._write_numbers()
        return text

    def add_numbers(self, items) -> None:
        """Record several numbers at once: ``(key, value, digits, description)`` tuples, as the
        table helpers that compute them return them."""
        for key, value, digits, description in items:
            self.number(key, value, digits=digits, description=description)

    def headline(self, document: dict) -> None:
        """Validate the study's headline (``site`` contract) and save it as headline.json, the
        file the landing page reads."""
        site.validate_headline(document, f"{self.report}/{site.HEADLINE}")
        if self.saving:
            folder = Path(self.output_dir)
            folder.mkdir(parents=True, exist_ok=True)
            text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            (folder / site.HEADLINE).write_text(text, encoding="utf-8")

    def how_to_cite(self, tables: Sequence[str]) -> None:
        """Close the report with how to cite it (software, data ``tables``, commit) and the LaTeX
        macro of every number it quotes, so a paper cites each number by name."""
        markdown(citation.how_to_cite(self.report, list(tables)))
        if not self.numbers:
            return
        rows = [
            [f"\\{entry['macro']}", entry["text"], entry["description"]]
            for entry in dict(sorted(self.numbers.items())).values()
        ]
        intro = (
            f"<p>The numbers this report quotes, each as a LaTeX macro in "
            f"<code>reports/{html.escape(self.report)}/numbers.tex</code> "
            f"(<code>\\input</code> it, then write the macro where the number goes):</p>"
        )
        table = html_table(["Macro", "Value", "What it is"], rows, align=["l", "r", "l"])
        title = f"The {len(rows)} quoted numbers and their macros"
        markup = (
            intro + table if len(rows) <= OPEN_MACROS else site.details(title, markup=intro + table)
        )
        _display_html(markup, title)

    def _write_numbers(self) -> None:
        folder = Path(self.output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        ordered = dict(sorted(self.numbers.items()))
        (folder / "numbers.json").write_text(
            json.dumps(
                {"report": self.report, "numbers": ordered},
                indent=2,
                sort_keys=True,
                ensure_ascii=False,
            )
            + "\n",
            encoding="utf-8",
        )
        lines = [f"% Numbers quoted from report '{self.report}'. Generated; do not edit."]
        for entry in ordered.values():
            note = f"  % {latex_escape(entry['description'])}" if entry["description"] else ""
            lines.append(
                f"\\newcommand{{\\{entry['macro']}}}{{{latex_escape(entry['text'])}}}{note}"
            )
        (folder / "numbers.tex").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _plain(value):
    if value is None:
        return None
    if isinstance(value, (int, str, bool)):
        return value
    number = float(value)
    return None if math.isnan(number) else number


def _format_quoted(value, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, (int, str)):
        return str(value)
    return f"{float(value):.{digits}f}"


def figure_html(fig, caption: str, files: str | None = None) -> str:
    """The figure as the HTML report shows it: a PNG whose alt text is the caption, at its
    natural size (never upscaled), with the caption under it and, when saved (``files``: the
    path of the saved files without extension, relative to the report), links to its data as
    CSV and to the PDF and SVG."""
    buffer = io.BytesIO()
    fig.savefig(
        buffer, format="png", dpi=SCREEN_DPI, bbox_inches="tight", metadata=_FIXED_METADATA["png"]
    )
    png = buffer.getvalue()
    width = round(int.from_bytes(png[16:20], "big") * 96 / SCREEN_DPI)  # PNG header: IHDR width
    data = base64.b64encode(png).decode("ascii")
    text = html.escape(caption.strip())
    links = ""
    if files is not None:
        links = " " + " · ".join(
            f'<a href="{html.escape(files)}.{ext}">{what}</a>'
            for ext, what in (("csv", "data (CSV)"), ("pdf", "PDF"), ("svg", "SVG"))
        )
    return (
        f'<figure style="margin:0 0 8px"><img src="data:image/png;base64,{data}" alt="{text}" '
        f'width="{width}" style="max-width:100%;height:auto">'
        f'<figcaption style="font-size:.9em;color:#444">{text}{links}</figcaption></figure>'
    )


def _display_html(markup: str, plain: str) -> None:
    try:
        from IPython.display import display
    except ImportError:  # plain Python: nothing to show
        return
    display({"text/html": markup, "text/plain": plain}, raw=True)


def show_verdict(rows: dict | Sequence[dict]) -> None:
    """Open a hypothesis report with its answer: one verdict box per outcome tested
    (``site.verdict_box`` over rows of the headline contract)."""
    rows = [rows] if isinstance(rows, dict) else list(rows)
    site.validate_headline(
        {
            "schema": site.SCHEMA,
            "question": "-",
            "generated_from": "-",
            "rows": rows,
            "forest": None,
            "citation": {"text": "", "bibtex": ""},
            "corrections": None,
        },
        "the rows passed to show_verdict",
    )
    _display_html("".join(site.verdict_box(row) for row in rows), rows[0]["verdict_sentence"])


def show_summary(title: str, points: Sequence[str]) -> None:
    """Open a descriptive report with its findings, in a few plain sentences."""
    _display_html(site.summary_box(title, points), "\n".join([title, *points]))


def show_details(summary: str, text: str) -> None:
    """Technical output (a full model summary...) in a collapsed section, shown on demand."""
    _display_html(site.details(summary, text=text), text)


def markdown(text: str) -> None:
    """Show package-generated Markdown (e.g. the "How to cite" section) in the notebook."""
    try:
        from IPython.display import Markdown, display
    except ImportError:
        print(text)
        return
    display(Markdown(text))


def global_findings(results) -> list[str]:
    """One sentence per global test: the claim, its verdict in words (from the result), and
    the sample; a test the data cannot support says why."""
    from . import words

    points = [
        f"{r.hypothesis_id}: {r.statement} {words.sentence(r)} ({r.model.nobs:,} observations.)"
        for r in results.results
    ]
    points += [
        f"{f.hypothesis_id}: not testable on these data: {f.reason}" for f in results.failures
    ]
    return points


def incident_findings(severity: pd.DataFrame, season_share: str) -> list[str]:
    """What an incident-patterns report opens with, from ``patterns.severity_by_year`` and the
    irrigation-season share as quoted."""
    peak = severity.loc[severity["incidents"].idxmax()]
    stated = severity["stated_fatalities"].sum(min_count=1)
    deaths = "no stated deaths" if pd.isna(stated) else f"{stated:,.0f} stated deaths"
    return [
        (
            f"{severity['incidents'].sum():,} incidents catalogued in "
            f"{severity['year'].min()}–{severity['year'].max()}; the most in {peak['year']} "
            f"({peak['incidents']})."
        ),
        (
            f"{severity['with_fatality_figure'].sum():,} of them state a fatality figure, with "
            f"{deaths} in all (a blank figure is not counted as zero)."
        ),
        (
            f"{season_share}% fall in the irrigation season, April–September (6 of 12 months); "
            "H3 tests this formally."
        ),
    ]
