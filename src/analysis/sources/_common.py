"""Shared reading steps for every raw format: open safely, check the header, label provenance.

Readers call these so that every bad file fails the same way: a DataError naming the file,
the line and the column, what was found and what was expected.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from ..errors import DataError


def source_label(path: Path, root: Path | None = None) -> str:
    """How a derived row names its raw file: relative to the raw root, else the file name."""
    path = Path(path)
    if root is not None:
        try:
            return path.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            pass
    return path.name


def read_text(path: Path, encoding: str = "utf-8-sig") -> str:
    """Read a whole text file, failing clearly on a missing, empty or mis-encoded file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found", hint="check the path or run the data build")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(path, "file is empty", expected="a header line and data rows")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            path,
            "text is not valid UTF-8",
            row=line,
            found=raw[exc.start : exc.start + 8],
            expected="UTF-8 text (re-save the file as UTF-8)",
        ) from None


def read_csv_table(
    path: Path,
    required: list[str] | tuple[str, ...],
    *,
    delimiter: str = ",",
    skip_lines: int = 0,
    encoding: str = "utf-8-sig",
) -> pd.DataFrame:
    """Read a delimited file as text columns and check that ``required`` columns are present.

    Every value stays a string (blank cells are missing), so no number is rounded or guessed
    before the reader parses it on purpose. The frame gets a ``source_row`` column with the
    1-based line number of each record in the file (multi-line quoted fields are accounted).
    """
    path = Path(path)
    text = read_text(path, encoding)
    lines = text.splitlines(keepends=True)
    body = "".join(lines[skip_lines:])
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(path, "file has no header line", expected=f"columns {list(required)}") from None
    header = [h.strip() for h in header]
    header_line = skip_lines + 1
    if len(header) == 1 and len(required) > 1:
        guess = next((d for d in (",", ";", "\t", "|") if d in header[0]), None)
        raise DataError(
            path,
            "header has a single column: wrong delimiter?",
            row=header_line,
            found=header[0][:80],
            expected=f"{delimiter!r}-delimited columns {list(required)}"
            + (f" (the file looks {guess!r}-delimited)" if guess else ""),
        )
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(
            path,
            f"missing column(s) {missing}",
            row=header_line,
            column=missing[0],
            found=header,
            expected=f"a header with {list(required)}",
        )
    records, line_numbers = [], []
    consumed = reader.line_num  # physical lines read so far, relative to the skipped preamble
    for record in reader:
        start = skip_lines + consumed + 1
        consumed = reader.line_num
        if not record or all(not cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            raise DataError(
                path,
                "wrong number of fields (truncated line or unquoted delimiter?)",
                row=start,
                found=len(record),
                expected=f"{len(header)} fields as in the header",
            )
        records.append(record)
        line_numbers.append(start)
    if not records:
        raise DataError(path, "file has a header but no data rows", row=header_line + 1)
    frame = pd.DataFrame(records, columns=header, dtype=str)
    frame = frame.replace({"": None})
    frame["source_row"] = pd.array(line_numbers, dtype="Int64")
    return frame


def parse_int(value, *, path: Path, row: int, column: str, minimum: int | None = 0):
    """A whole number from text, or missing when blank; anything else is a DataError."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == "":
        return pd.NA
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        raise DataError(path, "not a number", row=row, column=column, found=text, expected="a whole number") from None
    if number != int(number):
        raise DataError(path, "not a whole number", row=row, column=column, found=text, expected="a whole number")
    if minimum is not None and number < minimum:
        raise DataError(path, "negative count", row=row, column=column, found=text, expected=f"a number >= {minimum}")
    return int(number)


def parse_float(value, *, path: Path, row: int, column: str):
    """A decimal number from text, or missing when blank; anything else is a DataError."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == "":
        return float("nan")
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        raise DataError(path, "not a number", row=row, column=column, found=text, expected="a decimal number") from None


def parse_column(frame: pd.DataFrame, column: str, parser, path: Path, **kwargs) -> list:
    """Apply ``parse_int``/``parse_float`` down a column, keeping the line for error messages."""
    return [
        parser(value, path=path, row=int(row), column=column, **kwargs)
        for value, row in zip(frame[column], frame["source_row"])
    ]
