"""What a notebook hands to its report: figures, tables and quoted numbers, saved citably.

A notebook creates ``outputs = ReportOutputs(output_dir, report=...)`` and passes every figure,
table and number it wants a paper to cite through it. With ``output_dir=""`` (interactive
use) nothing is written; items are only displayed. Files are byte-stable: the same inputs give
the same bytes (no creation dates in PDF/SVG/PNG metadata, fixed SVG ids, fixed float format),
so a diff between two runs shows only real changes.

Number macros: ``numbers.tex`` defines one LaTeX macro per number, named from its key by
:func:`macro_name` (``"H1a IRR low"`` → ``\\HOneaIRRLow``): words are split at anything that
is not a letter or digit, digits are spelled out (LaTeX macro names cannot hold digits) and each
word's first letter is upper-cased, so keys stay readable in the paper's source.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import pandas as pd

from .errors import ConfigError
from .formatting import latex_escape, latex_table, markdown_table

FIGURE_FORMATS = ("pdf", "png", "svg")
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
    words = [w for w in re.split(r"[^A-Za-z0-9]+", key) if w]
    if not words:
        raise ConfigError(f"number key {key!r} has no letters or digits")
    parts = []
    for word in words:
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

    def figure(self, fig, name: str, caption: str = "") -> None:
        """Save ``fig`` as PDF, PNG and SVG with stable names and clock-free metadata."""
        _check_name(name, "figure")
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
            if caption:
                (folder / f"{name}.caption.txt").write_text(
                    caption.strip() + "\n", encoding="utf-8"
                )
        _display_figure(fig)

    def table(self, frame: pd.DataFrame, name: str, caption: str = "", index: bool = False) -> None:
        """Save a display frame as CSV, LaTeX (booktabs) and Markdown."""
        _check_name(name, "table")
        shown = frame.reset_index() if index else frame
        if self.saving:
            folder = self._folder("tables")
            header = [str(c) for c in shown.columns]
            rows = [[_cell(v) for v in row] for row in shown.itertuples(index=False)]
            (folder / f"{name}.csv").write_text(
                shown.to_csv(index=False, lineterminator="\n"), encoding="utf-8"
            )
            label = f"tab:{self.report}:{name}"
            (folder / f"{name}.tex").write_text(
                latex_table(header, rows, caption=caption or None, label=label), encoding="utf-8"
            )
            (folder / f"{name}.md").write_text(markdown_table(header, rows), encoding="utf-8")
        _display_table(shown)

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


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _display_figure(fig) -> None:
    try:
        from IPython.display import display
    except ImportError:  # plain Python: nothing to show
        return
    display(fig)
    import matplotlib.pyplot as plt

    plt.close(fig)


def _display_table(frame: pd.DataFrame) -> None:
    try:
        from IPython.display import HTML, display
    except ImportError:
        return
    from .formatting import html_table

    display(
        HTML(
            html_table(
                [str(c) for c in frame.columns],
                [[_cell(v) for v in r] for r in frame.itertuples(index=False)],
            )
        )
    )


def markdown(text: str) -> None:
    """Show package-generated Markdown (e.g. the "How to cite" section) in the notebook."""
    try:
        from IPython.display import Markdown, display
    except ImportError:
        print(text)
        return
    display(Markdown(text))
