"""Text formatting shared by every renderer: numbers, p-values, and escaped table markup.

Written by hand rather than delegated to pandas, whose ``to_markdown`` needs ``tabulate`` and
whose ``to_latex``/``to_html`` go through Styler/jinja2 and escape differently by version: a
small renderer gives identical bytes everywhere and escapes every cell for its target format
(catalogue text can hold markup).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

TABLE_FORMATS = ("text", "markdown", "latex", "html", "csv")


def format_number(value, digits: int = 3) -> str:
    if value is None:
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return "" if math.isnan(number) else str(number)
    return f"{number:.{digits}f}"


def format_p(value, digits: int = 3) -> str:
    if value is not None and math.isfinite(value) and value < 10**-digits:
        return f"<{10**-digits:.{digits}f}"
    return format_number(value, digits)


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
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def markdown_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], notes: Sequence[str] = ()
) -> str:
    """A pipe table (first column left-aligned, the rest right-aligned) and bullet notes."""
    lines = [md_row(list(header)), md_row(["---"] + ["---:"] * (len(header) - 1))]
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
) -> str:
    """A booktabs table in a floating ``table`` environment; notes span the width below."""
    width = len(header)
    lines = [r"\begin{table}[htbp]", r"\centering"]
    if caption:
        lines.append(rf"\caption{{{latex_escape(caption)}}}")
    if label:
        lines.append(rf"\label{{{label}}}")
    lines += [
        r"\begin{tabular}{l" + "r" * (width - 1) + "}",
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
) -> str:
    """An HTML table with every cell escaped; notes go in the footer."""
    esc = html.escape
    head = "".join(f"<th>{esc(str(c))}</th>" for c in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    foot = "".join(f'<tr><td colspan="{len(header)}">{esc(note)}</td></tr>' for note in notes)
    foot = f"<tfoot>{foot}</tfoot>" if foot else ""
    return f'<table class="{esc(css_class)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>{foot}</table>\n'
