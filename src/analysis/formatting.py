"""Text formatting shared by every renderer: numbers, p-values, and escaped table markup.

Written by hand rather than delegated to pandas, whose ``to_markdown`` needs ``tabulate`` and
whose ``to_latex``/``to_html`` go through Styler/jinja2 and escape differently by version: a
small renderer gives identical bytes everywhere and escapes every cell for its target format
(catalogue text can hold markup).

Tables a person reads: text columns are left-aligned and numeric columns right-aligned (decided
from the cells unless the caller says), every number of a column has the same digits, and
:func:`display_frame` puts the human labels of ``labels.toml`` on columns and terms.
"""

from __future__ import annotations

import html
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import labels

if TYPE_CHECKING:
    import pandas

TABLE_FORMATS = ("text", "markdown", "latex", "html", "csv")
MISSING = "—"  # a missing number, in every rendered table (never blank, never zero)
PLACEHOLDERS = ("", MISSING, "n/a")
# A cell that reads as a number: optional comparison sign, digits (thousands separated), decimals,
# per cent; or an interval of two such ("0.37–2.47") or an estimate with one ("0.96 [0.37, 2.47]").
_NUMBER = r"[<>≤≥]?[-−+]?\d{1,3}(?:,\d{3})*(?:\.\d+)?%?|[<>≤≥]?[-−+]?\d+(?:\.\d+)?%?|∞"
_NUMERIC_CELL = re.compile(
    rf"^(?:{_NUMBER})(?:\s*[–-]\s*(?:{_NUMBER})|\s*\[(?:{_NUMBER}),\s*(?:{_NUMBER})\])?$"
)


def format_number(value, digits: int = 3) -> str:
    if value is None:
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return "" if math.isnan(number) else ("∞" if number > 0 else "-∞")
    return f"{number:.{digits}f}"


def format_p(value, digits: int = 3) -> str:
    if value is not None and math.isfinite(value) and value < 10**-digits:
        return f"<{10**-digits:.{digits}f}"
    return format_number(value, digits)


def format_interval(effect, low, high, digits: int = 2) -> str:
    """ "0.96 [0.37, 2.47]"; a missing part is written as a dash, never dropped."""

    def part(value) -> str:
        return format_number(value, digits) or MISSING

    if all(_missing(v) for v in (effect, low, high)):
        return MISSING
    return f"{part(effect)} [{part(low)}, {part(high)}]"


def format_range(low, high, digits: int = 2) -> str:
    """ "0.37–2.47" for an interval of ratios; a zero bound is "0", an unbounded one "∞", a
    missing one a dash."""

    def bound(value) -> str:
        if _missing(value):
            return MISSING
        return "0" if float(value) == 0 else format_number(value, digits)

    return f"{bound(low)}–{bound(high)}"


def _missing(value) -> bool:
    pandas = sys.modules.get("pandas")  # without pandas imported, no value can be pandas.NA
    if value is None or (pandas is not None and value is pandas.NA):
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def is_numeric_text(cell: str) -> bool:
    return bool(_NUMERIC_CELL.match(str(cell).strip()))


def column_alignment(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """ "r" for a column whose cells are all numbers (or placeholders for a missing one), else "l"."""
    align = []
    for i in range(len(header)):
        cells = [str(row[i]).strip() for row in rows]
        numbers = [c for c in cells if c not in PLACEHOLDERS]
        align.append("r" if numbers and all(is_numeric_text(c) for c in numbers) else "l")
    return align


def format_column(values: Sequence, fmt: str | None) -> list[str]:
    """Every number of one column with the same digits; text passes through; missing is a dash.

    ``fmt`` is a labels.toml format; None decides from the values: integers stay integers, other
    numbers get the decimals the smallest needs for three significant figures (at most 3).
    """
    numbers = [
        float(v)
        for v in values
        if not _missing(v) and not isinstance(v, (str, bool)) and _is_number(v)
    ]
    if fmt is None and numbers:
        if all(n.is_integer() for n in numbers):
            fmt = "count"
        else:
            smallest = min((abs(n) for n in numbers if n), default=1.0)
            digits = min(3, max(0, 2 - math.floor(math.log10(smallest))))
            fmt = f"fixed{digits}"
    return [_format_cell(v, fmt) for v in values]


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _format_cell(value, fmt: str | None) -> str:
    if _missing(value):
        return MISSING
    if isinstance(value, (str, bool)) or not _is_number(value):
        return "yes" if value is True else "no" if value is False else str(value)
    number = float(value)
    if not math.isfinite(number):
        return str(number)
    if fmt == "p":
        return format_p(number)
    if fmt == "ratio":
        return f"{number:.2f}"
    if fmt == "estimate":
        return f"{number:.3f}"
    if fmt == "count":
        return f"{number:,.0f}"
    if fmt == "year":
        return f"{number:.0f}"
    if fmt == "share":
        return f"{100 * number:.0f}%"
    if fmt is not None and fmt.startswith("fixed"):
        return f"{number:.{int(fmt[5:])}f}"
    return str(value)


@dataclass(frozen=True)
class DisplayTable:
    """A frame as a reader sees it: labelled header, formatted cells, alignment per column."""

    header: list[str]
    rows: list[list[str]]
    align: list[str]


def display_frame(frame: pandas.DataFrame) -> DisplayTable:
    """Human column labels, terms in words, consistent digits per column, aligned by content."""
    columns = []
    for name in frame.columns:
        values = frame[name].tolist()
        if name in ("term", "focal"):
            values = [v if _missing(v) else labels.term(str(v)) for v in values]
        elif name == "dimension":
            values = [v if _missing(v) else labels.dimension(str(v)) for v in values]
        columns.append(format_column(values, labels.column_format(str(name))))
    header = [labels.column(str(name)) for name in frame.columns]
    rows = [list(cells) for cells in zip(*columns)] if columns else []
    return DisplayTable(header, rows, column_alignment(header, rows))


def md_escape(text: str) -> str:
    """Markdown passes raw HTML through, so <, > and & are escaped as well as the pipe."""
    return html.escape(str(text), quote=False).replace("|", r"\|")


def md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(md_escape(c) if c.strip("-:") else c for c in cells) + " |"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "∞": r"$\infty$",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def markdown_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    notes: Sequence[str] = (),
    align: Sequence[str] | None = None,
) -> str:
    """A pipe table (text columns left, numeric right: see :func:`column_alignment`) and notes."""
    align = align or column_alignment(header, rows)
    lines = [md_row(list(header)), md_row(["---:" if a == "r" else "---" for a in align])]
    lines += [md_row(list(row)) for row in rows]
    if notes:
        lines.append("")
        lines += [f"- {md_escape(note)}" for note in notes]
    return "\n".join(lines) + "\n"


def latex_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    notes: Sequence[str] = (),
    caption: str | None = None,
    label: str | None = None,
    align: Sequence[str] | None = None,
) -> str:
    """A booktabs table in a floating ``table`` environment; notes span the width below."""
    width = len(header)
    align = align or column_alignment(header, rows)
    lines = [r"\begin{table}[htbp]", r"\centering"]
    if caption:
        lines.append(rf"\caption{{{latex_escape(caption)}}}")
    if label:
        lines.append(rf"\label{{{label}}}")
    lines += [
        r"\begin{tabular}{" + "".join(align) + "}",
        r"\toprule",
        " & ".join(latex_escape(c) for c in header) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(latex_escape(c) for c in row) + r" \\" for row in rows]
    if notes:
        lines.append(r"\midrule")
        lines += [rf"\multicolumn{{{width}}}{{l}}{{{latex_escape(note)}}} \\" for note in notes]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def html_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    notes: Sequence[str] = (),
    css_class: str = "table",
    align: Sequence[str] | None = None,
) -> str:
    """An HTML table with every cell escaped; notes go in the footer.

    Alignment is an inline style: the table is shown inside notebook renderers whose own CSS
    right-aligns every cell.
    """
    esc = html.escape
    align = align or column_alignment(header, rows)
    style = [f' style="text-align:{"right" if a == "r" else "left"}"' for a in align]
    head = "".join(f"<th{s}>{esc(str(c))}</th>" for c, s in zip(header, style))
    body = "".join(
        "<tr>" + "".join(f"<td{s}>{esc(str(c))}</td>" for c, s in zip(row, style)) + "</tr>"
        for row in rows
    )
    foot = "".join(
        f'<tr><td colspan="{len(header)}" style="text-align:left">{esc(note)}</td></tr>'
        for note in notes
    )
    foot = f"<tfoot>{foot}</tfoot>" if foot else ""
    return f'<table class="{esc(css_class)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>{foot}</table>\n'
