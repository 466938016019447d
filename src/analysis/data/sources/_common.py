"""Shared reading steps for every raw format: open safely, check the header, parse whole columns,
label provenance, finish the table.

Readers call these so that every bad file fails the same way: a DataError naming the file,
the line and the column, what was found and what was expected. Cells are parsed a column at a
time (each distinct value once), and the first bad row is located only when there is one.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import DataError
from .. import schema


@dataclass
class ReadContext:
    """What a registered reader may need beyond its own files: the raw root, the country
    crosswalk (read first) and the raw files every source read so far."""

    root: Path
    countries: pd.DataFrame | None = None
    built: dict[str, list[pd.DataFrame]] = field(default_factory=dict)
    used: dict[str, list[Path]] = field(default_factory=dict)  # raw files read, by source id


def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One table from the frames of several raw files of a source."""
    return pd.concat(frames, ignore_index=True)


def from_year(frame: pd.DataFrame, first_year: int | None) -> pd.DataFrame:
    """Indicator rows from ``first_year`` on (a registry option that keeps data/ small)."""
    if first_year is None:
        return frame
    return frame[frame["period"].str[:4].astype(int) >= first_year].reset_index(drop=True)


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
        raise DataError(
            path, "file has no header line", expected=f"columns {list(required)}"
        ) from None
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


# --- Large files (UCDP GED, ACLED exports: hundreds of thousands of rows) ---------------------


def read_large_csv_table(
    path: Path,
    required: list[str] | tuple[str, ...],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8-sig",
) -> pd.DataFrame:
    """:func:`read_csv_table` for large files: the same cells and lines, or the same error, faster.

    pandas' C parser reads a *regular* file (one record per physical line, every line with the
    header's field count). Whatever it cannot vouch for (a short or long line, a blank line, a
    quoted line break, a bad header) is handed to :func:`read_csv_table`, which reads line by
    line and reports the exact problem: no error path of its own, so no second set of rules.
    """
    path = Path(path)
    text = read_text(path, encoding)
    try:
        grid = pd.read_csv(
            io.BytesIO(text.encode("utf-8")),
            sep=delimiter,
            header=None,
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,
            encoding="utf-8",
        )
    except (ValueError, pd.errors.ParserError):  # a long line, or a file pandas cannot tokenise
        return read_csv_table(path, required, delimiter=delimiter, encoding=encoding)
    cells = grid.to_numpy(dtype=object)
    header = [str(h).strip() for h in cells[0]]
    physical_lines = text.count("\n") + (not text.endswith("\n"))
    delimiters_in_cells = sum("\x00".join(column).count(delimiter) for column in cells.T)
    regular = (
        len(cells) > 1
        and all(column in header for column in required)
        and physical_lines == len(cells)  # no quoted line breaks, nothing pandas skipped
        and text.count("\r") == text.count("\r\n")  # csv would count a lone CR as a new line
        # pandas pads a short line with empty cells: only the delimiter count tells
        and text.count(delimiter) == (len(header) - 1) * len(cells) + delimiters_in_cells
    )
    if not regular:
        return read_csv_table(path, required, delimiter=delimiter, encoding=encoding)
    body = cells[1:]
    lines = np.arange(2, len(cells) + 1)
    maybe_blank = np.flatnonzero(pd.Series(body[:, 0], dtype=str).str.strip().eq(""))
    blank = [i for i in maybe_blank if all(not str(v).strip() for v in body[i])]
    if blank:  # read_csv_table skips lines whose cells are all blank
        body, lines = np.delete(body, blank, axis=0), np.delete(lines, blank)
    if not len(body):
        return read_csv_table(path, required, delimiter=delimiter, encoding=encoding)
    body[body == ""] = None
    frame = pd.DataFrame(body, columns=header, dtype=str)
    frame["source_row"] = pd.array(lines, dtype="Int64")
    return frame


def raise_at_first(
    frame: pd.DataFrame,
    bad,
    path: Path,
    column: str,
    problem: str,
    expected: str | pd.Series,
    *,
    label: str | pd.Series | None = None,
) -> None:
    """Raise a DataError at the first row flagged in ``bad`` (booleans aligned with ``frame``),
    showing that row's cell of ``column``. ``label`` names the column as the raw file does when
    the frame's name differs (a Series: one name per row, e.g. the year column of a wide file);
    ``expected`` may also be a Series, when what a row should hold depends on the row."""
    flagged = np.flatnonzero(np.asarray(bad, dtype=bool))
    if len(flagged):
        first = int(flagged[0])
        named = label if label is not None else column
        raise DataError(
            path,
            problem,
            row=int(frame["source_row"].iloc[first]),
            column=named.iloc[first] if isinstance(named, pd.Series) else named,
            found=frame[column].iloc[first],
            expected=expected.iloc[first] if isinstance(expected, pd.Series) else expected,
        )


def require_filled(frame: pd.DataFrame, columns, path: Path) -> None:
    """Refuse a blank cell in any of ``columns``, at its line."""
    for column in columns:
        raise_at_first(frame, frame[column].isna(), path, column, "missing value", "a value")


def require_unique(frame: pd.DataFrame, keys: list[str], path, column: str, what: str) -> None:
    """Refuse a key seen twice, naming the second line and the first (a silent keep would pick
    one of two conflicting numbers)."""
    repeated = frame.duplicated(keys, keep="first")
    if not repeated.any():
        return
    row = frame[repeated].iloc[0]
    same = (frame[keys] == row[keys]).all(axis=1)
    first = frame[same].iloc[0]
    raise DataError(
        path,
        f"duplicate {what}",
        row=int(row["source_row"]),
        column=column,
        found=tuple(str(v) for v in row[keys]),
        expected=f"each {what} once (first seen at line {int(first['source_row'])})",
    )


def finish_table(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """A reader's last step: the table's stable row order, its dtypes, then its contract."""
    frame = frame.sort_values(schema.SORT_KEYS[table], kind="stable")
    return schema.validate(table, schema.coerce(table, frame))


def _distinct(frame: pd.DataFrame, column: str) -> tuple[np.ndarray, pd.Series]:
    """Row codes and the column's distinct values, stripped, blank -> missing.

    Each distinct value is parsed once: a 400k-row event file has a few thousand distinct
    dates or counts, and per-value string work is what costs.
    """
    codes, uniques = pd.factorize(frame[column])
    values = pd.Series(uniques, dtype=str).str.strip()
    return codes, values.where(values.ne(""))


def _to_rows(per_value, codes: np.ndarray, missing) -> np.ndarray:
    """Spread per-distinct-value results back to rows; a blank cell (code -1) gets ``missing``."""
    return np.append(np.asarray(per_value), missing)[codes]


def _raise_first_problem(
    frame: pd.DataFrame,
    column: str,
    path: Path,
    codes: np.ndarray,
    checks: list[tuple],
    *,
    blank: tuple[str, str] | None = None,
    label: str | pd.Series | None = None,
) -> None:
    """``checks``: (mask over the distinct values, problem, expected); ``blank``: (problem,
    expected) when a blank cell is an error. The first row failing any check is reported, with
    the problem that row has."""
    kinds = np.select(
        [np.asarray(mask, dtype=bool) for mask, _, _ in checks], np.arange(1, len(checks) + 1), 0
    )
    checks = [*checks, (None, *blank)] if blank else checks
    rows = _to_rows(kinds, codes, len(checks) if blank else 0)
    failing = np.flatnonzero(rows)
    if len(failing):
        _, problem, expected = checks[rows[failing[0]] - 1]
        bad = np.arange(len(rows)) == failing[0]
        raise_at_first(frame, bad, path, column, problem, expected, label=label)


def _numbers(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").astype(float).to_numpy()


def _whole_number_checks(values: pd.Series, number: np.ndarray) -> list[tuple]:
    finite = np.isfinite(number)
    return [
        (values.notna().to_numpy() & ~finite, "not a number", "a whole number"),
        (
            finite & (np.mod(number, 1, where=finite, out=np.zeros_like(number)) != 0),
            "not a whole number",
            "a whole number",
        ),
    ]


def parse_int_series(
    frame: pd.DataFrame, column: str, path: Path, *, minimum: int | None = 0
) -> pd.Series:
    """Whole numbers from a text column (nullable Int64; blank stays missing); a cell that is
    not a whole number, or is below ``minimum``, is a DataError at its line."""
    codes, values = _distinct(frame, column)
    number = _numbers(values)
    finite = np.isfinite(number)
    checks = _whole_number_checks(values, number)
    if minimum is not None:
        checks.append((finite & (number < minimum), "negative count", f"a number >= {minimum}"))
    _raise_first_problem(frame, column, path, codes, checks)
    return pd.Series(_to_rows(number, codes, np.nan), index=frame.index).astype("Int64")


def parse_float_series(
    frame: pd.DataFrame, column: str, path: Path, *, label: str | pd.Series | None = None
) -> pd.Series:
    """Decimal numbers from a text column (blank stays missing; a cell that is not a finite
    number is a DataError at its line). ``label``: as in :func:`raise_at_first`."""
    codes, values = _distinct(frame, column)
    number = _numbers(values)
    checks = [
        (values.notna().to_numpy() & ~np.isfinite(number), "not a number", "a decimal number")
    ]
    _raise_first_problem(frame, column, path, codes, checks, label=label)
    return pd.Series(_to_rows(number, codes, np.nan), index=frame.index)


YEARS = (1900, 2100)  # the calendar years any reader accepts


def parse_year_series(
    frame: pd.DataFrame, column: str, path: Path, *, label: str | None = None
) -> pd.Series:
    """Calendar years (:data:`YEARS`) from a text column, as int; blank is an error too."""
    codes, values = _distinct(frame, column)
    number = _numbers(values)
    expected = f"a year {YEARS[0]}-{YEARS[1]}"
    finite = np.isfinite(number)
    whole = finite & (np.mod(number, 1, where=finite, out=np.zeros_like(number)) == 0)
    checks = [
        *_whole_number_checks(values, number),
        (whole & ((number < YEARS[0]) | (number > YEARS[1])), "not a year", expected),
    ]
    _raise_first_problem(
        frame, column, path, codes, checks, blank=("not a year", expected), label=label
    )
    return pd.Series(_to_rows(number, codes, np.nan), index=frame.index).astype(int)


_MONTH_NAMES = {
    name: number
    for number, name in enumerate(
        (
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ),
        start=1,
    )
}


def detect_date_format(
    frame: pd.DataFrame, columns: list[str], path: Path, formats: dict[str, str]
) -> str:
    """The name of the format in ``formats`` (name -> regex) that the first stated date uses.

    A file is expected to write all its dates one way; :func:`parse_date_series` then holds
    every other date to that format, so a mixed file fails at its first odd cell.
    """
    for column in columns:
        text = frame[column].str.strip()
        stated = text.notna() & text.ne("")
        if stated.any():
            first = text[stated].iloc[0]
            for name, pattern in formats.items():
                if re.fullmatch(pattern, first):
                    return name
            raise_at_first(
                frame,
                stated,
                path,
                column,
                "unparseable date",
                f"a date written as one of {list(formats)}",
            )
    return next(iter(formats))  # no date at all: any format parses blanks


def parse_date_series(
    frame: pd.DataFrame, column: str, path: Path, pattern: str, described: str
) -> pd.Series:
    """ISO ``YYYY-MM-DD`` text from dates matching ``pattern``, blank staying missing.

    ``pattern`` is a regex with named groups ``year``, ``month`` (a number or an English month
    name) and ``day``. A cell that does not match, or names a day that does not exist
    (2021-02-30), is a DataError at its line; ``described`` says what was expected.
    """
    codes, values = _distinct(frame, column)
    parts = values.str.extract(f"^(?:{pattern})$")
    month = pd.to_numeric(parts["month"], errors="coerce").fillna(
        parts["month"].str.lower().map(_MONTH_NAMES)
    )
    day = pd.to_datetime(
        pd.DataFrame(
            {
                "year": pd.to_numeric(parts["year"]),
                "month": month,
                "day": pd.to_numeric(parts["day"]),
            }
        ),
        errors="coerce",
    )
    matched = parts["year"].notna().to_numpy()
    written = f"written as {described}"
    checks = [
        (values.notna().to_numpy() & ~matched, "unparseable date", f"a date {written}"),
        (matched & day.isna().to_numpy(), "impossible date", f"a real calendar date {written}"),
    ]
    _raise_first_problem(frame, column, path, codes, checks)
    iso = day.dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    return pd.Series(_to_rows(iso, codes, None), index=frame.index, dtype=str)


def join_present(parts: list[pd.Series], sep: str) -> pd.Series:
    """Join the non-blank values of aligned Series row by row ("a", NaN, "c" -> "a; c").

    A row with no value in any part stays missing (never an empty string)."""
    joined = None
    for part in parts:
        part = part.astype(str)
        part = part.where(part.str.strip().ne(""))
        if joined is None:
            joined = part
        else:
            both = joined.notna() & part.notna()
            joined = (joined + sep + part).where(both, joined.fillna(part))
    return joined


class CellProblem(ValueError):
    """Raised by a cell parser given to :func:`parse_series`: what is wrong, what was expected."""

    def __init__(self, problem: str, expected: str) -> None:
        super().__init__(problem)
        self.problem, self.expected = problem, expected


def parse_series(frame: pd.DataFrame, column: str, path: Path, parse, missing=None) -> pd.Series:
    """``parse`` applied once per distinct non-blank value of ``column`` (stripped), spread back
    to the rows; blank cells get ``missing``.

    For text rules no regex can state alone (qualified counts, partial dates). ``parse``
    returns any object or raises :class:`CellProblem`; the first row holding a value that
    failed is reported as a DataError at its line, with the cell as found.
    """
    codes, values = _distinct(frame, column)
    results = np.empty(len(values) + 1, dtype=object)  # object cells: parse may return tuples
    results[-1] = missing
    problems: dict[int, CellProblem] = {}
    for i, value in enumerate(values):
        if pd.isna(value):
            results[i] = missing
            continue
        try:
            results[i] = parse(value)
        except CellProblem as problem:
            problems[i] = problem
    failing = np.flatnonzero(np.isin(codes, list(problems)))
    if len(failing):
        first = int(failing[0])
        problem = problems[int(codes[first])]
        raise DataError(
            path,
            problem.problem,
            row=int(frame["source_row"].iloc[first]),
            column=column,
            found=frame[column].iloc[first],
            expected=problem.expected,
        )
    return pd.Series(results[codes], index=frame.index, dtype=object)
