"""Malformed variants of every raw format the readers take (helper of test_reliability_inputs.py).

Each reader is a :class:`Format`: a small *valid* sample of its raw file (the first rows of the
real file in shared/data, or a generated one), how to call the reader on a raw tree holding it,
and which cells play which part (a date, a count, a country...). :func:`cases` turns a valid
sample into malformed files, each with the line and column a clean ``DataError`` must name; a
variant that makes no sense for a format is listed in its ``na`` with the reason. Every value in
a generated sample is made up; only the layouts copy the producers' files.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatch
from pathlib import Path

import openpyxl
import pandas as pd
from openpyxl.styles import Font
from sources_fixtures_ucdp import (
    ACLED_HEADER,
    ACLED_RECORD,
    GED_HEADER,
    GED_RECORD,
)
from sources_fixtures_ucdp import (
    HEADERS as UCDP_HEADERS,
)
from sources_fixtures_ucdp import (
    RECORDS as UCDP_RECORDS,
)

from analysis.data import schema
from analysis.data.sources import (
    acled,
    catalogue,
    claims,
    countries,
    milestones,
    monthly,
    remittances_panel,
    sipri,
    ucdp,
    wdi,
)
from analysis.data.sources.catalogue import CATALOGUE_COLUMNS, CORRECTION_COLUMNS
from analysis.data.sources.claims import CLAIM_COLUMNS

CSV_VARIANTS = (
    "truncated",
    "wrong_delimiter",
    "latin1",
    "utf16",
    "missing_column",
    "renamed_column",
    "unparseable_date",
    "impossible_date",
    "negative_count",
    "non_numeric_count",
    "duplicate_key",
    "unknown_country",
    "empty",
    "header_only",
)
WORKBOOK_VARIANTS = (
    "truncated",
    "empty",
    "missing_column",
    "renamed_column",
    "unparseable_date",
    "impossible_date",
    "text_cell",
    "duplicate_key",
    "unknown_country",
    "header_only",
    "missing_sheet",
    "not_xlsx",
)
UNPARSEABLE_DATE = "20x1-04-29"
NEGATIVE = "-3"
NOT_A_NUMBER = "12a"
CODELIST = "global/crosswalks/countrycode_codelist_without_cldr.csv"


# --------------------------------------------------------------------------------------------
# a delimited file as cells


@dataclass(frozen=True)
class Grid:
    """A delimited file as cells, so that a variant can change one cell and know its line."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    preamble: tuple[tuple[str, ...], ...] = ()  # lines before the header (FAO title, WB bulk)
    delimiter: str = ","
    quote_all: bool = False

    @property
    def header_line(self) -> int:
        return len(self.preamble) + 1

    def _writer(self, out, delimiter: str | None = None):
        quoting = csv.QUOTE_ALL if self.quote_all else csv.QUOTE_MINIMAL
        return csv.writer(
            out, delimiter=delimiter or self.delimiter, lineterminator="\n", quoting=quoting
        )

    def render(self, delimiter: str | None = None) -> str:
        out = io.StringIO()
        writer = self._writer(out, delimiter)
        writer.writerows(self.preamble)
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return out.getvalue()

    def text(self) -> str:
        return self.render()

    def lines(self) -> list[int]:
        """The line (1-based, as an editor shows it) where each row starts."""
        line, lines = self.header_line + 1, []
        for row in self.rows:
            out = io.StringIO()
            self._writer(out).writerow(row)
            lines.append(line)
            line += out.getvalue().count("\n")
        return lines

    def line_of(self, index: int) -> int:
        return self.lines()[index]

    def data_index(self, nth: int) -> int:
        """Index of the nth row that is not blank (FAO's file has a row of bare commas)."""
        filled = [i for i, row in enumerate(self.rows) if any(c.strip() for c in row)]
        return filled[min(nth, len(filled) - 1)]

    def column(self, name: str) -> int:
        return self.header.index(name)

    def with_cell(self, row: int, column: str, value: str) -> Grid:
        rows = [list(r) for r in self.rows]
        rows[row][self.column(column)] = value
        return replace(self, rows=tuple(tuple(r) for r in rows))

    def with_header(self, column: str, name: str) -> Grid:
        header = list(self.header)
        header[self.column(column)] = name
        return replace(self, header=tuple(header))

    def without(self, column: str) -> Grid:
        i = self.column(column)

        def drop(cells):
            return tuple(c for j, c in enumerate(cells) if j != i)

        return replace(self, header=drop(self.header), rows=tuple(drop(r) for r in self.rows))


def grid(header, rows, **kwargs) -> Grid:
    """A Grid from a header and rows given as dicts (missing keys blank) or sequences."""
    header = tuple(header)
    cells = [
        tuple(str(r.get(c, "")) for c in header) if isinstance(r, Mapping) else tuple(r)
        for r in rows
    ]
    return Grid(header, tuple(cells), **kwargs)


def read_grid(path: Path, rows: int, preamble: int = 0) -> Grid:
    """The first ``rows`` records of a real file (after ``preamble`` lines), as cells."""
    text = path.read_text(encoding="utf-8-sig")
    first = text.splitlines()[preamble]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    pre = tuple(tuple(next(reader)) for _ in range(preamble))
    header = tuple(next(reader))
    body = tuple(tuple(r) for r in itertools.islice(reader, rows))
    return Grid(header, body, pre, delimiter, quote_all=first.startswith('"'))


# --------------------------------------------------------------------------------------------
# samples and formats


@dataclass(frozen=True)
class Roles:
    """Which cells of a sample the variants change, and where each error must point.

    Cells are (column, n) with n counting non-blank data rows from 0. ``key`` is the column a
    duplicate-key error names (a contract error names the table's key columns)."""

    required: str
    text: str
    key: str | frozenset  # a set: a contract key, named by the columns it spans
    date: tuple[str, int] | None = None
    date_in_header: bool = False  # the date is a header cell (wide layouts: one column a year)
    impossible: str = "2021-02-30"
    count: tuple[str, int] | None = None
    number: tuple[str, int] | None = None  # a numeric cell, when the format has no count
    country: tuple[str, int, str] | None = None  # (column, row, unknown value)
    wrong_delimiter: str = ";"


@dataclass(frozen=True)
class Sample:
    """A valid raw file (``target``) with the files its reader also needs."""

    target: str
    roles: Roles | None
    grid: Grid | None = None
    content: bytes | None = None  # for the workbook
    companions: Mapping[str, bytes] = field(default_factory=dict)
    expect: Mapping[str, dict] = field(default_factory=dict)  # variant -> line/column

    def bytes(self) -> bytes:
        return self.content if self.grid is None else self.grid.text().encode("utf-8")

    def files(self, target: bytes | None = None) -> dict[str, bytes]:
        return {**self.companions, self.target: self.bytes() if target is None else target}


@dataclass(frozen=True)
class Case:
    """One malformed file, and where the DataError about it must point (None: nowhere)."""

    variant: str
    content: bytes
    line: int | None
    column: str | frozenset | None  # a set: a contract key (see Roles.key)


@dataclass(frozen=True)
class Format:
    """One reader and its raw format."""

    name: str
    read: Callable[[Path], pd.DataFrame]  # reads the raw tree rooted at the given folder
    generated: Callable[[], Sample]
    real: Callable[[Path], Sample] | None = None  # from the shared data folder
    no_real: str = ""  # why there is no real sample
    na: Mapping[str, str] = field(default_factory=dict)  # variants that never apply, and why
    real_na: Mapping[str, str] = field(default_factory=dict)  # ... to the real sample only
    grow: Callable[[Sample, int], Sample] | None = None  # a valid sample of n rows
    large_rows: int = 200_000
    variants: tuple[str, ...] = CSV_VARIANTS


def write_tree(root: Path, files: Mapping[str, bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


# --------------------------------------------------------------------------------------------
# the variants of a delimited file


def _truncated(s: Sample) -> Case:
    """The last record cut mid-line: fewer fields than the header (a cut inside the last
    field alone leaves a valid shorter number, which no reader could tell)."""
    text, lines = s.grid.render(), s.grid.lines()
    last = s.grid.rows[-1]
    keep = (len(last) - 1) // 2
    partial = re.sub(r"[^\w .-]", "", last[keep])[: max(1, len(last[keep]) // 2)]
    cut = replace(s.grid, preamble=(), header=(*last[:keep], partial), rows=()).text()
    body = "".join(text.splitlines(keepends=True)[: lines[-1] - 1])
    return Case("truncated", (body + cut.rstrip("\n")).encode(), lines[-1], None)


def _cell_case(s: Sample, variant: str, role: tuple | None, value: str) -> Case | None:
    if role is None:
        return None
    column, nth = role[0], role[1]
    if s.roles.date_in_header and variant.endswith("_date"):
        bad = s.grid.with_header(column, value)
        return Case(variant, bad.text().encode(), s.grid.header_line, value)
    row = s.grid.data_index(nth)
    bad = s.grid.with_cell(row, column, value)
    return Case(variant, bad.text().encode(), s.grid.line_of(row), column)


def _latin1(s: Sample) -> Case:
    row = s.grid.data_index(0)
    cell = s.grid.rows[row][s.grid.column(s.roles.text)]
    content = s.grid.with_cell(row, s.roles.text, cell + " é").text()
    data = content.encode("latin-1", errors="replace")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Case("latin1", data, data[: exc.start].count(b"\n") + 1, None)
    raise AssertionError("latin-1 bytes that are valid UTF-8")


def _duplicate(s: Sample) -> Case:
    row = s.grid.rows[s.grid.data_index(0)]
    bad = replace(s.grid, rows=(*s.grid.rows, row))
    return Case("duplicate_key", bad.text().encode(), bad.line_of(len(bad.rows) - 1), s.roles.key)


def _csv_case(s: Sample, variant: str) -> Case | None:
    g, r = s.grid, s.roles
    if variant == "truncated":
        return _truncated(s)
    if variant == "wrong_delimiter":
        return Case(variant, g.render(r.wrong_delimiter).encode(), g.header_line, None)
    if variant == "latin1":
        return _latin1(s)
    if variant == "utf16":
        return Case(variant, g.text().encode("utf-16"), 1, None)
    if variant == "missing_column":
        return Case(variant, g.without(r.required).text().encode(), g.header_line, r.required)
    if variant == "renamed_column":
        bad = g.with_header(r.required, r.required + "_x")
        return Case(variant, bad.text().encode(), g.header_line, r.required)
    if variant == "unparseable_date":
        return _cell_case(s, variant, r.date, UNPARSEABLE_DATE)
    if variant == "impossible_date":
        impossible = r.impossible(g) if callable(r.impossible) else r.impossible
        return _cell_case(s, variant, r.date, impossible)
    if variant == "negative_count":
        return _cell_case(s, variant, r.count, NEGATIVE)
    if variant == "non_numeric_count":
        return _cell_case(s, variant, r.count or r.number, NOT_A_NUMBER)
    if variant == "duplicate_key":
        return _duplicate(s)
    if variant == "unknown_country":
        return _cell_case(s, variant, r.country, r.country[2]) if r.country else None
    if variant == "empty":
        return Case(variant, b"", None, None)
    if variant == "header_only":
        return Case(variant, replace(g, rows=()).text().encode(), g.header_line + 1, None)
    raise ValueError(variant)


def not_applicable(fmt: Format, flavour: str) -> dict[str, str]:
    """The variants that do not apply to a format's sample, and why."""
    return {**fmt.na, **(fmt.real_na if flavour == "real" else {})}


def cases(fmt: Format, sample: Sample, flavour: str) -> list[Case]:
    """The malformed files of a sample: every variant of the format that applies to it."""
    na = not_applicable(fmt, flavour)
    made = []
    for variant in fmt.variants:
        if variant in na:
            continue
        build = _workbook_case if sample.grid is None else _csv_case
        case = build(sample, variant)
        if case is None:
            raise AssertionError(f"{fmt.name}: no role for {variant} and no reason given")
        case = replace(case, **sample.expect.get(variant, {}))
        made.append(case)
    return made


# --------------------------------------------------------------------------------------------
# the workbook


WORKBOOK_SHEET = "Current US$"  # the sheet the cell variants change


def _book(content: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(content))


def _saved(book: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _header_and_first_country(sheet) -> tuple[int, dict[int, object], int]:
    """(header row, {column index: year}, row of the first country with a figure)."""
    header = next(r for r in sheet.iter_rows() if r[0].value == "Country")
    years = {c.column: c.value for c in header if isinstance(c.value, (int, float))}
    first = next(
        r[0].row
        for r in sheet.iter_rows(min_row=header[0].row + 1)
        if isinstance(r[0].value, str)
        and any(r[c - 1].value is not None for c in years)
        and r[0].value not in sipri.NO_ISO3
    )
    return header[0].row, years, first


def _workbook_case(s: Sample, variant: str) -> Case:
    if variant == "truncated":
        return Case(variant, s.content[: len(s.content) // 2], None, None)
    if variant == "empty":
        return Case(variant, b"", None, None)
    if variant == "not_xlsx":
        return Case(variant, b"Country,2020,2021\nKazakhstan,1000.5,1200\n", None, None)
    book = _book(s.content)
    sheet = book[WORKBOOK_SHEET]
    header, years, first = _header_and_first_country(sheet)
    year_column = min(years)
    letter = openpyxl.utils.get_column_letter(year_column)
    line, column = None, None
    if variant == "missing_sheet":
        del book["Per capita"]
    elif variant == "missing_column":
        sheet.delete_cols(1)
        column = "A"
    elif variant == "renamed_column":
        sheet.cell(header, 1, "Nation")
        column = "A"
    elif variant in ("unparseable_date", "impossible_date"):
        sheet.cell(header, year_column, "FY2021" if variant == "unparseable_date" else 2021.5)
        line, column = header, letter
    elif variant == "text_cell":
        sheet.cell(first, year_column, NOT_A_NUMBER)
        line, column = first, f"{letter} ({int(years[year_column])})"
    elif variant == "duplicate_key":
        line, column = sheet.max_row + 1, "A"
        for cell in sheet[first]:
            sheet.cell(line, cell.column, cell.value)
    elif variant == "unknown_country":
        sheet.cell(first, 1, "Atlantis")
        line, column = first, "A"
    elif variant == "header_only":
        sheet.delete_rows(header + 1, sheet.max_row)
        line = header + 1
    else:
        raise ValueError(variant)
    return Case(variant, _saved(book), line, column)


MEASURE_SHEETS = (
    "Local currency financial years",
    "Local currency calendar years",
    "Constant (2023) US$",
    "Current US$",
    "Share of GDP",
    "Per capita",
    "Share of Govt. spending",
)


def generated_workbook() -> bytes:
    """A Milex workbook in SIPRI's layout: a title, a header row starting 'Country', a region
    heading, then one row per country; figures in black or blue (SIPRI estimate)."""
    book = openpyxl.Workbook()
    book.active.title = "Front page"
    countries_cells = (
        ("Kazakhstan", "Tenge", [1000.5, 1200.0]),
        ("Kyrgyz Republic", "Som", ["...", 80.0]),
        ("Tajikistan", "Somoni", [50.5, "xxx"]),
        ("USSR", "Roubles", ["xxx", "xxx"]),
    )
    for title in MEASURE_SHEETS:
        sheet = book.create_sheet(title)
        sheet.cell(1, 1, f"Military expenditure by country: {title}")
        for column, value in enumerate(["Country", "Currency", "Notes", 2020.0, 2021.0], 1):
            sheet.cell(5, column, value)
        sheet.cell(7, 1, "Central Asia")
        for row, (name, currency, cells) in enumerate(countries_cells, start=8):
            sheet.cell(row, 1, name)
            sheet.cell(row, 2, currency)
            for offset, value in enumerate(cells):
                cell = sheet.cell(row, 4 + offset, value)
                if name == "Kyrgyz Republic" and isinstance(value, float):
                    cell.font = Font(color="FF0000FF")  # SIPRI's blue: an estimate
    book.properties.modified = dt.datetime(2025, 4, 30, 12, 0)
    return _saved(book)


def real_workbook(path: Path, rows: int = 8) -> bytes:
    """The shared workbook with each measure sheet cut to ``rows`` rows below its header."""
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        if sipri.measure_for_sheet(sheet.title):
            header = next(r[0].row for r in sheet.iter_rows() if r[0].value == "Country")
            sheet.delete_rows(header + rows + 1, sheet.max_row)
    return _saved(book)


# --------------------------------------------------------------------------------------------
# generated samples (made-up values in the producers' layouts)

GEN_CODELIST = grid(
    ("iso3c", "country.name.en", "gwn", "cown", "region", "iso3n"),
    [
        ("CHN", "China", "710", "710", "East Asia & Pacific", "156"),
        ("KAZ", "Kazakhstan", "705", "705", "Europe & Central Asia", "398"),
        ("KGZ", "Kyrgyzstan", "703", "703", "Europe & Central Asia", "417"),
        ("RUS", "Russia", "365", "365", "Europe & Central Asia", "643"),
        ("TJK", "Tajikistan", "702", "702", "Europe & Central Asia", "762"),
        ("TKM", "Turkmenistan", "701", "701", "Europe & Central Asia", "795"),
        ("UZB", "Uzbekistan", "704", "704", "Europe & Central Asia", "860"),
    ],
)
CODES = {CODELIST: GEN_CODELIST.text().encode()}

GEN_CATALOGUE = grid(
    CATALOGUE_COLUMNS,
    [
        {
            "incident_id": "TST-001",
            "date_start": "2019-06-03",
            "border_dyad": "KGZ-TJK",
            "location_text": "Village K",
            "admin_kgz": "Batken oblast",
            "admin_other": "Sughd",
            "incident_type": "stone throwing between residents",
            "actors": "residents",
            "injured_KGZ": "2",
            "injured_TJK": "3",
            "notes": "made-up test row",
            "source_url": "https://example.org/a",
            "source_title": "Report A",
            "source_date": "2019-06-04",
        },
        {
            "incident_id": "TST-002",
            "date_start": "2020-05",
            "date_note": "month only",
            "border_dyad": "KGZ-TJK",
            "location_text": "Road L",
            "incident_type": "exchange of fire between border guards",
            "actors": "border guards",
            "killed_KGZ": "1",
            "killed_TJK": "2",
            "killed_total_stated": "3",
            "injured_total_stated": "about 10",
            "casualty_attribution": "officials",
            "source_url": "https://example.org/b",
            "source_title": "Report B",
        },
        {
            "incident_id": "TST-003",
            "date_start": "2021-04-28",
            "date_end": "2021-04-29",
            "border_dyad": "KGZ-UZB",
            "location_text": "Canal M",
            "incident_type": "dispute over a water canal",
            "actors": "residents",
            "evacuated_displaced": "200 people evacuated",
            "source_url": "https://example.org/c",
            "source_title": "Report C",
            "source_date": "2021-04-30",
        },
    ],
)
GEN_CORRECTIONS = grid(
    CORRECTION_COLUMNS,
    [
        ("TST-001", "date_end", "", "2019-06-04", "https://example.org/e1", "made-up erratum"),
        ("TST-003", "killed_total_stated", "", "1", "https://example.org/e2", "made up"),
        ("TST-002", "source_title", "Report B", "Report B (2)", "https://example.org/e3", "x"),
    ],
)
GEN_CLAIMS = grid(
    CLAIM_COLUMNS,
    [
        (
            "TST-AGG-1",
            "KGZ-TJK",
            "2014-01-01",
            "2014-12-31",
            "incidents",
            "12",
            "Kyrgyz State Border Service (test)",  # claimants a counter of claim_counters.toml
            "12 incidents in 2014",
            "https://example.org/1",
            "T1",
            "2015-01-10",
            "",
        ),
        (
            "TST-AGG-2",
            "KGZ-UZB",
            "2019-01-01",
            "2019-12-31",
            "clashes",
            "at least 4",
            "Asia-Plus (Tajik news agency)",
            "at least four clashes",
            "https://example.org/2",
            "T2",
            "2020-01-05",
            "",
        ),
        (
            "TST-AGG-3",
            "KGZ (all borders)",
            "c.2010",
            "2022-09",
            "incidents",
            "about 50",
            "Kyrgyz Interior Ministry (test)",
            "some fifty incidents",
            "https://example.org/3",
            "T3",
            "2022-10-01",
            "",
        ),
    ],
)


def gen_ucdp(dataset: str) -> Grid:
    record = UCDP_RECORDS[dataset]
    year = int(record["year"])
    rows = [{**record, "year": str(year - 2 + i)} for i in range(3)]
    return grid(UCDP_HEADERS[dataset], rows, quote_all=dataset in ("brd", "nonstate", "onesided"))


GEN_GED = grid(
    GED_HEADER,
    [
        {
            **GED_RECORD,
            "id": str(1001 + i),
            "date_start": f"2021-04-2{7 + i} 00:00:00.000",
            "date_end": f"2021-04-2{7 + i} 00:00:00.000",
        }
        for i in range(3)
    ],
)
GEN_ACLED = grid(
    ACLED_HEADER,
    [
        {**ACLED_RECORD, "event_id_cnty": f"KGZ10{i + 1}", "event_date": f"2021-04-2{7 + i}"}
        for i in range(3)
    ],
)
GDP = "GDP (current US$)"
GEN_WDI_EXTRACT = grid(
    wdi.EXTRACT_COLUMNS,
    [
        ("NY.GDP.MKTP.CD", GDP, name, code, str(year), value)
        for name, code in (("Kyrgyz Republic", "KGZ"), ("Tajikistan", "TJK"))
        for year, value in ((2019, "8871000000"), (2020, "7781000000.5"))
    ],
)
GEN_WDI_MIRROR = grid(
    wdi.MIRROR_COLUMNS,
    [
        ("Kyrgyz Republic", "KGZ", "2019", "8871000000"),
        ("Kyrgyz Republic", "KGZ", "2020", ""),
        ("Tajikistan", "TJK", "2019", "8300000000.25"),
        ("World", "WLD", "2019", "8.7e13"),
    ],
)
MIRROR_PACKAGE = json.dumps({"title": GDP, "name": "ny.gdp.mktp.cd"}).encode()
GEN_WDI_BULK = grid(
    (*wdi.BULK_COLUMNS, "2020", "2021", ""),
    [
        ("Kyrgyz Republic", "KGZ", GDP, "NY.GDP.MKTP.CD", "7781000000", "", ""),
        ("Tajikistan", "TJK", GDP, "NY.GDP.MKTP.CD", "8100000000", "8900000000.5", ""),
        ("Central Asia", "CAS", GDP, "NY.GDP.MKTP.CD", "", "1.0e11", ""),
    ],
    preamble=(
        ("Data Source", "World Development Indicators", ""),
        (),
        ("Last Updated Date", "2025-07-01", ""),
        (),
    ),
    quote_all=True,
)
RUS_BY_YEAR = {"2019": ("2.2", "1.5"), "2020": ("-2.7", "11.3"), "2021": ("5.9", "-2.0")}
GEN_FOZICH = grid(
    remittances_panel.FOZICH_COLUMNS,
    [
        (code, name, year, remit, *RUS_BY_YEAR[year])
        for code, name, remit in (("KGZ", "Kyrgyz Republic", "27.1"), ("TJK", "Tajikistan", "28.9"))
        for year in RUS_BY_YEAR
    ],
)
RELEASE = "SIPRI Milex 1949-2023 (April 2024 release)"
GEN_SIPRI_EXTRACT = grid(
    (*sipri.EXTRACT_COLUMNS[:8], "govt_share_reporting_year_col", "fiscal_year", "sipri_release"),
    [
        ("Kazakhstan", "KAZ", "Current US$", "2020", "1000.5", "", "reported", "", "", "", RELEASE),
        ("Kyrgyz Republic", "KGZ", "Current US$", "2020", "", "...", "", "", "", "", RELEASE),
        (
            "Tajikistan",
            "TJK",
            "Share of GDP",
            "2020",
            "0.011",
            "",
            "sipri_estimate_blue",
            "",
            "",
            "",
            RELEASE,
        ),
        (
            "Kazakhstan",
            "KAZ",
            "Local currency calendar years",
            "2020",
            "350000",
            "",
            "reported",
            "Tenge",
            "",
            "",
            RELEASE,
        ),
    ],
)
TIV_TABLE = "SIPRI Arms Transfers Database, TIV import table (made-up test copy)"
GEN_TIV = grid(
    sipri.TIV_COLUMNS,
    [
        ("Kazakhstan", "KAZ", "2020", "12", TIV_TABLE, "11 December 2023"),
        ("Kyrgyzstan", "KGZ", "2020", "", TIV_TABLE, "11 December 2023"),
        ("Tajikistan", "TJK", "2020", "0", TIV_TABLE, "11 December 2023"),
        ("Kazakhstan", "KAZ", "Total", "12", TIV_TABLE, "11 December 2023"),
    ],
)
FAO_HEADER = ("Date", *monthly.FAO_COLUMNS, "", "")
GEN_FAO = grid(
    FAO_HEADER,
    [("",) * len(FAO_HEADER)]
    + [(f"2021-0{m}", *(f"{100 + 3 * m + k}.{k}" for k in range(6)), "", "") for m in (1, 2, 3)],
    preamble=(("FAO Food Price Index",) + ("",) * 8, ("2014-2016=100",) + ("",) * 8),
)
GEN_EIA = grid(
    ("Date", "Price"), [("2021-01-15", "54.77"), ("2021-02-15", "62.28"), ("2021-03-15", "65.41")]
)
FRED_ID = "CCUSMA02RUM618N"
GEN_FRED = grid(
    ("DATE", FRED_ID),
    [("2019-01-01", "66.1"), ("2019-02-01", "65.8"), ("2019-03-01", "."), ("2019-04-01", "64.5")],
)
GEM_FX = "Official exchange rate, LCU per USD, period average"
GEN_GEM = grid(
    monthly.GEM_COLUMNS,
    [(GEM_FX, "LCU per US$", "Kyrgyz Republic", "KGZ", f"2021M0{m}", f"84.{m}") for m in (1, 2, 3)],
)
GEN_GEM_CPI = grid(
    monthly.GEM_COLUMNS,
    [
        ("CPI Price, nominal, not seas. adj.", "index", "Tajikistan", "TJK", "2021M01", "NA"),
        ("CPI Price, nominal, not seas. adj.", "index", "Tajikistan", "TJK", "2021M02", "151.2"),
    ],
)
GEN_MILESTONES = grid(
    milestones.MILESTONE_COLUMNS,
    [
        (
            "2021-10-21",
            "day",
            "KGZ",
            "Drone order announced",
            "https://example.org/m1",
            "2021-10-22",
            "states an order was placed",
            "made-up test row",
        ),
        (
            "2022-03",
            "month",
            "TJK",
            "Drones delivered",
            "https://example.org/m2",
            "2022-04-02",
            "states the delivery in March",
            "",
        ),
        (
            "2021",
            "year",
            "KGZ",
            "Drone purchase budgeted",
            "https://example.org/m3",
            "",
            "states a budget line",
            "",
        ),
    ],
)

GEN_MILESTONES_2020 = grid(
    milestones.MILESTONE_2020_2025_COLUMNS,
    [
        {
            "id": "M101",
            "event_date": "2023-10-07",
            "date_precision": "day",
            "country": "both",
            "kind": "delimitation",
            "event": "Working groups agree 12.5 km of border",
            "source_url": "https://example.org/n1",
            "source_publication_date": "2023-10-08",
            "quote_original_language": "made-up quote",
        },
        {
            "id": "M102",
            "event_date": "2022-05-04",
            "date_precision": "reported_by",
            "country": "KGZ",
            "kind": "militarisation",
            "event": "Drone contract denied",
            "source_url": "https://example.org/n2",
            "source_title": "Report N2",
            "source_publication_date": "2022-05-04",
        },
        {
            "id": "M103",
            "event_date": "2024-12",
            "date_precision": "month",
            "country": "KGZ+UZB",
            "kind": "border_regime",
            "event": "Checkpoint reopened",
            "source_url": "https://example.org/n3",
            "notes": "made-up test row",
        },
    ],
)


def _ucdp_impossible(g: Grid) -> str:
    """2021-02-30 in the date style the file already uses (one style per file)."""
    stated = next(r[g.column("start_date")] for r in g.rows if r[g.column("start_date")].strip())
    if "/" in stated:
        return "2/30/2021"
    return "30-2-2021" if re.fullmatch(r"\d{1,2}-\d{1,2}-\d{4}", stated) else "2021-02-30"


# --------------------------------------------------------------------------------------------
# large valid files: one template row, its key cells varied


def _grow(
    sample: Sample, n: int, vary: Callable[[int], dict], template: int = 0, **extra
) -> Sample:
    g = sample.grid
    base = list(g.rows[g.data_index(template)])
    at = {c: g.column(c) for c in vary(0)}
    rows = []
    for i in range(n):
        row = base.copy()
        for column, value in vary(i).items():
            row[at[column]] = value
        rows.append(row)
    return replace(sample, grid=replace(g, rows=tuple(rows)), **extra)


def _letters(i: int, alphabet: str = string.ascii_uppercase) -> str:
    """The i-th three-character code over ``alphabet`` (AAA, AAB, ...)."""
    k = len(alphabet)
    return alphabet[i // k**2 % k] + alphabet[i // k % k] + alphabet[i % k]


def shipped_codelist() -> bytes:
    """The code list layout filled from the repository's own countries table (~250 names), so
    that country-keyed files can grow large with names that all map to a code."""
    table = pd.read_csv(Path(__file__).resolve().parents[1] / "data" / "countries.csv", dtype=str)
    rows = [(r.iso3, r.name, "", "", "", "") for r in table.itertuples()]
    return replace(GEN_CODELIST, rows=tuple(rows)).text().encode()


KNOWN_CODES = sorted(schema.known_iso3() - set(schema.PSEUDO_ISO3))  # country keys for large files


def _month(i: int, first_year: int = 1000) -> tuple[str, str]:
    return f"{first_year + i // 12:04d}", f"{i % 12 + 1:02d}"


LARGE_SHEETS = ("Current US$", "Per capita", "Constant (2023) US$", "Share of GDP")
YEARS = range(1900, 2101)  # the years a reader accepts


def _grow_names(sample: Sample, n: int, columns: tuple[str, str], per_name: list[dict]) -> Sample:
    """Rows for every (country name, extra cells) pair of the shipped code list."""
    names = pd.read_csv(io.BytesIO(shipped_codelist()), dtype=str)
    pairs = [
        (name, code, cells)
        for name, code in zip(names["country.name.en"], names["iso3c"])
        for cells in per_name
    ]
    name_col, code_col = columns

    def vary(i: int) -> dict:
        return {name_col: pairs[i][0], code_col: pairs[i][1], **pairs[i][2]}

    return _grow(
        sample,
        min(n, len(pairs)),
        vary,
        companions={**sample.companions, CODELIST: shipped_codelist()},
    )


# --------------------------------------------------------------------------------------------
# the formats

CATALOGUE = "incidents/border_incidents_catalogue_pages.csv"
CORRECTIONS = "incidents/catalogue_corrections.csv"
CLAIMS = "incidents/border_incident_aggregate_claims.csv"
GED = "global/ucdp_ged/GEDEvent_v25_1.csv"
ACLED = "global/acled/acled_central_asia.csv"
WDI_EXTRACT = "indicators/wdi_centralasia_annual.csv"
WDI_MIRROR = "global/wdi/WDI_NY.GDP.MKTP.CD.csv"
WDI_PACKAGE = "global/wdi/WDI_NY.GDP.MKTP.CD.datapackage.json"
WDI_BULK = "wdi_bulk/API_NY.GDP.MKTP.CD_DS2_en_csv_v2_1.csv"
FOZICH = "indicators/thirdparty_fozich_remittances_panel.csv"
WORKBOOK = "global/sipri/SIPRI-Milex-data-1949-2024_2.xlsx"
SIPRI_EXTRACT = "indicators/sipri_milex_centralasia_release2024.csv"
TIV = "indicators/sipri_tiv_arms_imports_centralasia_1990_2022.csv"
FAO = "indicators/fao_food_price_index_monthly.csv"
EIA = "indicators/eia_brent_spot_monthly.csv"
FRED = "indicators/oecd_fred_rub_per_usd_monthly_CCUSMA02RUM618N.csv"
GEM = "indicators/monthly/wb_gem_fx_lcu_per_usd_monthly.csv"
GEM_CPI = "indicators/monthly/wb_gem_cpi_monthly.csv"
MILESTONES = "indicators/militarisation_milestones_from_pages.csv"
MILESTONES_2020 = "indicators/milestones_2020_2025.csv"
CATALOGUE_FILES = (
    CATALOGUE,
    "incidents/border_incidents_catalogue_2008_2016_additions.csv",
    "incidents/border_incidents_catalogue_2017_2025_additions.csv",
    "incidents/border_incidents_catalogue_chronologies_additions.csv",
    "incidents/border_incidents_catalogue_gapfill_additions.csv",
)


_COUNTRY_TABLES: dict[bytes, pd.DataFrame] = {}


def _countries(root: Path) -> pd.DataFrame:
    """The country table of the tree's code list (read once per content: many cases share it)."""
    path = root / CODELIST
    content = path.read_bytes()
    if content not in _COUNTRY_TABLES:
        _COUNTRY_TABLES[content] = countries.read_countrycode_codelist(path, root)
    return _COUNTRY_TABLES[content]


def real(relpath: str, rows: int, roles: Roles, *, preamble: int = 0, with_files=(), **kw):
    """A real sample: the first ``rows`` records of shared/data/<relpath>, read when needed."""

    def make(shared: Path) -> Sample:
        companions = {name: (shared / name).read_bytes() for name in (CODELIST, *with_files)}
        grid_ = read_grid(shared / relpath, rows, preamble)
        return Sample(relpath, roles, grid_, companions=companions, **kw)

    return make


def generated(target: str, grid_: Grid, roles: Roles, companions=None, **kw):
    return lambda: Sample(target, roles, grid_, companions={**CODES, **(companions or {})}, **kw)


NO_DATE = "the file has no date column"
NO_COUNT = "the file has no count column"
NOT_COUNTS = "its figures are amounts, prices or rates, not counts: a negative value is legitimate"
VERBATIM = (
    "kept verbatim by design (a quotation such as 'some 230'; the number read from it is derived)"
)
WORKBOOK_NA = {
    "wrong_delimiter": "an .xlsx is a zip of XML parts: it has no delimiter (a text file in its "
    "place is the not_xlsx variant)",
    "latin1": "an .xlsx is a zip of XML parts whose encoding the format fixes",
    "utf16": "an .xlsx is a zip of XML parts whose encoding the format fixes",
    "negative_count": "SIPRI figures are amounts and shares, not counts; the readers keep them "
    "as printed",
    "non_numeric_count": "tried as text_cell (a text cell where a number is expected)",
    "large": "one row per country and sheet (about 170 x 7): the shipped workbook itself is "
    "read in test_sources_sipri",
}


UCDP_TARGETS = {
    "acd": "global/ucdp/UcdpPrioConflict_v25_1.csv",
    "dyadic": "global/ucdp/Dyadic_v24_1.csv",
    "brd": "global/ucdp/BattleDeaths_v24_1.csv",
    "nonstate": "global/ucdp/Nonstate_v23_1.csv",
    "onesided": "global/ucdp/OneSided_v23_1.csv",
}
CONFLICT_KEY = frozenset(("dataset", "version", "conflict_id", "dyad_id", "year"))


def _ucdp(
    dataset: str,
    real_file: str,
    *,
    text: str,
    count=None,
    number=None,
    dated=True,
    country: str = "gwno_loc",
) -> Format:
    target = UCDP_TARGETS[dataset]
    roles = Roles(
        required="year",
        text=text,
        key=CONFLICT_KEY,
        date=("start_date", 1) if dated else None,
        impossible=_ucdp_impossible,
        count=count,
        number=number,
        country=(country, 1, "999"),
        wrong_delimiter="\t",
    )
    na = {}
    if not dated:
        na |= dict.fromkeys(("unparseable_date", "impossible_date"), "the dataset states no dates")
    if count is None:
        na["negative_count"] = (
            "ACD and Dyadic state no deaths (their integer codes are tried with a non-numeric cell)"
        )
    return Format(
        f"ucdp_{dataset}",
        lambda root: ucdp.read_ucdp_table(root / target, _countries(root), root),
        generated(target, gen_ucdp(dataset), roles),
        real(f"global/ucdp/{real_file}", 6, roles),
        na=na,
        grow=lambda s, n: _grow(s, n, lambda i: {"conflict_id": str(100000 + i)}),
    )


MONTHLY_KEY = frozenset(("source", "iso3", "indicator", "frequency", "period"))


def _monthly(
    name: str,
    target: str,
    gen: Grid,
    roles: Roles,
    *,
    grow,
    preamble=0,
    large_rows=200_000,
    expect=None,
    country_na=None,
    companions=None,
) -> Format:
    na = {"negative_count": NOT_COUNTS}
    if country_na:
        na["unknown_country"] = country_na
    expect = expect or {}
    return Format(
        name,
        lambda root: monthly.read_monthly(root / target, root),
        generated(target, gen, roles, companions, expect=expect),
        real(target, 6, roles, preamble=preamble, expect=expect),
        na=na,
        grow=grow,
        large_rows=large_rows,
    )


def _fao_rows(s: Sample, n: int) -> Sample:
    return _grow(s, n, lambda i: {"Date": "-".join(_month(i))}, template=0)


_FORMATS = [
    Format(
        "countrycode",
        lambda root: countries.read_countrycode_codelist(root / CODELIST, root),
        generated(
            CODELIST,
            GEN_CODELIST,
            roles := Roles(
                required="iso3c",
                text="country.name.en",
                key="iso3",
                count=("gwn", 1),
                country=("iso3c", 1, "K1Z"),
            ),
            expect={"unknown_country": {"column": "iso3"}},
        ),
        real(CODELIST, 6, roles, expect={"unknown_country": {"column": "iso3"}}),
        na={"unparseable_date": NO_DATE, "impossible_date": NO_DATE},
        grow=lambda s, n: _grow(
            s,
            n,
            lambda i: {
                "iso3c": _letters(i),
                "gwn": "",
                "cown": "",
                "iso3n": "",
                "country.name.en": f"C{i}",
            },
        ),
        large_rows=26**3,
    ),
    Format(
        "catalogue",
        lambda root: catalogue.read_catalogue([root / CATALOGUE], None, root),
        generated(
            CATALOGUE,
            GEN_CATALOGUE,
            roles := Roles(
                required="date_start",
                text="notes",
                key="incident_id",
                date=("date_start", 1),
                count=("killed_total_stated", 1),
                country=("border_dyad", 1, "KGZ-XXX"),
            ),
        ),
        real(CATALOGUE, 6, roles),
        grow=lambda s, n: _grow(s, n, lambda i: {"incident_id": f"TST-{i:06d}"}),
    ),
    Format(
        "catalogue_corrections",
        lambda root: catalogue.read_catalogue(
            sorted(root.glob("incidents/border_incidents_catalogue*.csv")), root / CORRECTIONS, root
        ),
        generated(
            CORRECTIONS,
            GEN_CORRECTIONS,
            roles := Roles(
                required="corrected_value",
                text="evidence_summary",
                key="catalogue_value",
                date=("corrected_value", 0),
                count=("corrected_value", 1),
            ),
            companions={CATALOGUE: GEN_CATALOGUE.text().encode()},
        ),
        real(CORRECTIONS, 7, replace(roles, count=None), with_files=CATALOGUE_FILES),
        real_na=dict.fromkeys(
            ("negative_count", "non_numeric_count"),
            "the real errata file corrects no casualty cell",
        ),
        na={
            "unknown_country": "errata name incidents and fields, not countries",
            "large": "an errata list is tens of lines; a large one needs as large a "
            "catalogue, whose reading the catalogue's large file covers",
        },
    ),
    Format(
        "aggregate_claims",
        lambda root: claims.read_aggregate_claims(root / CLAIMS, root),
        generated(
            CLAIMS,
            GEN_CLAIMS,
            roles := Roles(
                required="claim_id",
                text="quote_paraphrase",
                key="claim_id",
                date=("period_start", 1),
                country=("border_dyad", 0, "KGZ-XXX"),
            ),
        ),
        real(CLAIMS, 6, roles),
        na={
            "unparseable_date": "periods are kept verbatim: the real file states periods "
            "such as 'c.2002' (an ISO-looking date is checked)",
            "negative_count": "value_stated is " + VERBATIM,
            "non_numeric_count": "value_stated is " + VERBATIM,
        },
        grow=lambda s, n: _grow(s, n, lambda i: {"claim_id": f"TST-AGG-{i}"}),
    ),
    _ucdp("acd", "UcdpPrioConflict_v25_1.csv", text="side_a", number=("intensity_level", 1)),
    _ucdp("dyadic", "Dyadic_v24_1.csv", text="side_a", number=("intensity_level", 1)),
    _ucdp("brd", "BattleDeaths_v24_1.csv", text="side_a", count=("bd_best", 1), dated=False),
    _ucdp(
        "nonstate",
        "Nonstate_v23_1.csv",
        text="side_a_name",
        count=("best_fatality_estimate", 1),
        country="gwno_location",
    ),
    _ucdp(
        "onesided",
        "OneSided_v23_1.csv",
        text="actor_name",
        count=("best_fatality_estimate", 1),
        country="gwno_location",
        dated=False,
    ),
    Format(
        "ucdp_ged",
        lambda root: ucdp.read_ucdp_ged(root / GED, _countries(root), root),
        generated(
            GED,
            GEN_GED,
            Roles(
                required="date_start",
                text="where_description",
                key="incident_id",
                date=("date_start", 1),
                impossible="2021-02-30 00:00:00.000",
                count=("best", 1),
                country=("country_id", 1, "999"),
            ),
        ),
        no_real="shared/data holds no GED event file",
        grow=lambda s, n: _grow(s, n, lambda i: {"id": str(i + 1)}),
    ),
    Format(
        "acled",
        lambda root: acled.read_acled(
            root / ACLED, acled.iso_numeric_to_iso3(root / CODELIST), root
        ),
        generated(
            ACLED,
            GEN_ACLED,
            Roles(
                required="event_date",
                text="notes",
                key="incident_id",
                date=("event_date", 1),
                count=("fatalities", 1),
                country=("iso", 1, "999"),
            ),
        ),
        no_real="shared/data holds no ACLED export",
        grow=lambda s, n: _grow(s, n, lambda i: {"event_id_cnty": f"KGZ{i}"}),
    ),
    Format(
        "wdi_extract",
        lambda root: wdi.read_wdi(root / WDI_EXTRACT, root, vintage="2026-07-01"),
        generated(
            WDI_EXTRACT,
            GEN_WDI_EXTRACT,
            roles := Roles(
                required="year",
                text="country_name",
                key="iso3",
                date=("year", 1),
                impossible="0000",
                number=("value", 1),
                country=("iso3", 1, "K Z"),
            ),
        ),
        real(WDI_EXTRACT, 6, roles),
        na={"negative_count": NOT_COUNTS},
        grow=lambda s, n: _grow(
            s, n, lambda i: {"indicator_code": f"TST.{i // 200}", "year": str(1900 + i % 200)}
        ),
    ),
    Format(
        "wdi_mirror",
        lambda root: wdi.read_wdi(root / WDI_MIRROR, root, vintage="2026-07-01"),
        generated(
            WDI_MIRROR,
            GEN_WDI_MIRROR,
            roles := Roles(
                required="Year",
                text="Country Name",
                key="Country Code",
                date=("Year", 1),
                impossible="0000",
                number=("Value", 0),
                country=("Country Code", 1, "K Z"),
            ),
            companions={WDI_PACKAGE: MIRROR_PACKAGE},
        ),
        real(WDI_MIRROR, 6, roles, with_files=(WDI_PACKAGE,)),
        na={"negative_count": NOT_COUNTS},
        grow=lambda s, n, codes=KNOWN_CODES: _grow(
            s,
            n,
            lambda i: {"Country Code": codes[i // 201 % len(codes)], "Year": str(1900 + i % 201)},
        ),
        large_rows=len(KNOWN_CODES) * 201,
    ),
    Format(
        "wdi_bulk",
        lambda root: wdi.read_wdi(root / WDI_BULK, root),
        generated(
            WDI_BULK,
            GEN_WDI_BULK,
            Roles(
                required="Country Code",
                text="Country Name",
                key="Country Code",
                date=("2021", 0),
                date_in_header=True,
                impossible="0000",
                number=("2020", 0),
                country=("Country Code", 0, "K Z"),
            ),
            expect={"wrong_delimiter": {"line": 1, "column": "Last Updated Date"}},
        ),
        no_real="shared/data holds the mirror files, not a World Bank bulk download",
        na={"negative_count": NOT_COUNTS},
        grow=lambda s, n: _grow(s, n, lambda i: {"Indicator Code": f"TST.{i}"}, template=1),
    ),
    Format(
        "fozich_panel",
        lambda root: remittances_panel.read_fozich_panel(root / FOZICH, root),
        generated(
            FOZICH,
            GEN_FOZICH,
            roles := Roles(
                required="year",
                text="country",
                key="iso3c",
                date=("year", 1),
                impossible="0000",
                number=("remit_gdp", 1),
                country=("iso3c", 1, "XXX"),
            ),
        ),
        real(FOZICH, 6, roles),
        na={"negative_count": NOT_COUNTS},
        grow=lambda s, n: _grow(
            s,
            n,
            lambda i, codes=KNOWN_CODES: {
                "iso3c": codes[i // 201 % len(codes)],
                "year": str(1900 + i % 201),
            },
        ),
        large_rows=len(KNOWN_CODES) * 201,
    ),
    Format(
        "sipri_workbook",
        lambda root: sipri.read_sipri_milex_workbook(root / WORKBOOK, _countries(root), root),
        lambda: Sample(WORKBOOK, None, content=generated_workbook(), companions=CODES),
        lambda shared: Sample(
            WORKBOOK,
            None,
            content=real_workbook(shared / WORKBOOK),
            companions={CODELIST: (shared / CODELIST).read_bytes()},
        ),
        na=WORKBOOK_NA,
        variants=WORKBOOK_VARIANTS,
    ),
    Format(
        "sipri_extract",
        lambda root: sipri.read_sipri_milex_extract(root / SIPRI_EXTRACT, _countries(root), root),
        generated(
            SIPRI_EXTRACT,
            GEN_SIPRI_EXTRACT,
            roles := Roles(
                required="year",
                text="sipri_country",
                key="sipri_country",
                date=("year", 1),
                impossible="0000",
                number=("value", 0),
                country=("sipri_country", 1, "Atlantis"),
            ),
        ),
        real(SIPRI_EXTRACT, 6, roles),
        na={"negative_count": WORKBOOK_NA["negative_count"]},
        grow=lambda s, n: _grow_names(
            s,
            n,
            ("sipri_country", "iso3"),
            [{"sipri_sheet": sheet, "year": str(y)} for sheet in LARGE_SHEETS for y in YEARS],
        ),
    ),
    Format(
        "sipri_tiv",
        lambda root: sipri.read_sipri_tiv_imports(root / TIV, _countries(root), root),
        generated(
            TIV,
            GEN_TIV,
            roles := Roles(
                required="year",
                text="source_table",
                key="year",
                date=("year", 1),
                impossible="0000",
                count=("tiv_million", 1),
                country=("recipient", 1, "Atlantis"),
            ),
        ),
        real(TIV, 6, roles),
        grow=lambda s, n: _grow_names(
            s, n, ("recipient", "iso3"), [{"year": str(y)} for y in range(1900, 2101)]
        ),
    ),
    _monthly(
        "monthly_fao",
        FAO,
        GEN_FAO,
        Roles(
            required="Meat",
            text="Date",
            key=MONTHLY_KEY,
            date=("Date", 1),
            impossible="2021-13",
            number=("Meat", 1),
        ),
        preamble=2,
        grow=_fao_rows,
        large_rows=200_000 // 6,
        expect={"wrong_delimiter": {"line": 2}},
        country_na="FAO's indices are world series (iso3 WLD): the file has no country column",
    ),
    _monthly(
        "monthly_eia",
        EIA,
        GEN_EIA,
        Roles(
            required="Price",
            text="Date",
            key=MONTHLY_KEY,
            date=("Date", 1),
            impossible="2021-13-15",
            number=("Price", 1),
        ),
        large_rows=100_000,
        grow=lambda s, n: _grow(s, n, lambda i: {"Date": "-".join(_month(i)) + "-15"}),
        expect={"missing_column": {"column": None}},
        country_na="Brent is one world price: the file has no country column",
    ),
    _monthly(
        "monthly_fred",
        FRED,
        GEN_FRED,
        Roles(
            required=FRED_ID,
            text="DATE",
            key=MONTHLY_KEY,
            date=("DATE", 1),
            impossible="2021-13-01",
            number=(FRED_ID, 0),
        ),
        large_rows=100_000,
        grow=lambda s, n: _grow(s, n, lambda i: {"DATE": "-".join(_month(i)) + "-01"}),
        expect={"missing_column": {"column": None}, "renamed_column": {"column": FRED_ID + "_x"}},
        country_na="the series names its country (FRED_SERIES): the file has no country column",
    ),
    _monthly(
        "monthly_gem",
        GEM,
        GEN_GEM,
        Roles(
            required="period",
            text="country_name",
            key=MONTHLY_KEY,
            date=("period", 1),
            impossible="2021M13",
            number=("value", 1),
            country=("iso3", 1, "XXX"),
        ),
        companions={GEM_CPI: GEN_GEM_CPI.text().encode()},
        grow=lambda s, n, codes=KNOWN_CODES: _grow(
            s,
            n,
            lambda i: {
                "iso3": codes[i // 2412 % len(codes)],
                "period": "{}M{}".format(*_month(i % 2412, 1900)),
            },
        ),
    ),
    Format(
        "milestones_2020_2025",
        lambda root: milestones.read_milestones_2020_2025(root / MILESTONES_2020, root),
        generated(
            MILESTONES_2020,
            GEN_MILESTONES_2020,
            roles := Roles(
                required="kind",
                text="event",
                key="id",
                date=("event_date", 1),
                country=("country", 1, "XXX"),
            ),
        ),
        real(MILESTONES_2020, 6, roles),
        na={"negative_count": NO_COUNT, "non_numeric_count": NO_COUNT},
        grow=lambda s, n: _grow(
            s,
            n,
            lambda i: {
                "id": f"M{i:04d}",
                "event_date": (dt.date(2000, 1, 1) + dt.timedelta(days=i % 9000)).isoformat(),
                "source_publication_date": "",
            },
        ),
    ),
    Format(
        "milestones",
        lambda root: milestones.read_milestones(root / MILESTONES, root),
        generated(
            MILESTONES,
            GEN_MILESTONES,
            roles := Roles(
                required="event_date",
                text="event",
                key="",
                date=("event_date", 1),
                country=("country", 1, "XXX"),
            ),
        ),
        real(MILESTONES, 6, roles),
        na={
            "negative_count": NO_COUNT,
            "non_numeric_count": NO_COUNT,
            "duplicate_key": "the same event stated by two pages is two rows by design "
            "(milestone_id numbers them): no column is a key",
        },
        grow=lambda s, n: _grow(
            s,
            n,
            lambda i: {
                "event_date": (dt.date(2000, 1, 1) + dt.timedelta(days=i % 9000)).isoformat()
            },
        ),
    ),
]
FORMATS: dict[str, Format] = {f.name: f for f in _FORMATS}


# --------------------------------------------------------------------------------------------
# a raw tree for `analysis data build`

GEN_METADATA = grid(
    ("Country Code", "Region", "TableName"),
    [
        ("KGZ", "Europe & Central Asia", "Kyrgyz Republic"),
        ("TJK", "Europe & Central Asia", "Tajikistan"),
        ("WLD", "", "World"),
    ],
)


def synthesize(path: str) -> bytes | None:
    """Generated content for a registry file no format owns, recognised by its name (the WDI
    mirror files and country metadata the build reads besides the extract)."""
    if re.fullmatch(r"(.*/)?WDI_Metadata_Country[^/]*\.csv", path):
        return GEN_METADATA.text().encode()
    package = re.fullmatch(r"(.*/)?WDI_(.+)\.datapackage\.json", path)
    if package:
        code = package[2]
        return json.dumps(
            {"title": f"Test series {code} (current US$)", "name": code.lower()}
        ).encode()
    if re.fullmatch(r"(.*/)?WDI_[^/]+\.csv", path):
        return GEN_WDI_MIRROR.text().encode()
    return None


def registered_source(target: str, registry: Mapping) -> str | None:
    """The registry entry whose file patterns select ``target`` (None: the build skips it)."""
    return next((s.id for s in registry.values() if any(fnmatch(target, p) for p in s.files)), None)


def build_order(registry: Mapping) -> list[str]:
    """The order `analysis data build` reads the sources in: the country table first."""
    return [s.id for s in sorted(registry.values(), key=lambda s: s.table != "countries")]


def cli_tree(registry: Mapping, shared: Path | None) -> tuple[dict[str, bytes], dict[str, str]]:
    """A raw tree that builds quickly: every registry file a format has a generated sample of
    (or :func:`synthesize` makes), else the real file from shared/data. Returns the files and,
    for sources with no file either way, why."""
    samples = {}
    for fmt in FORMATS.values():
        samples.update(fmt.generated().files())
    files, missing = {}, {}
    for source in registry.values():
        for pattern in source.files:
            mine = {p: c for p, c in samples.items() if fnmatch(p, pattern)}
            if not mine and synthesize(pattern) is not None:
                mine = {pattern: synthesize(pattern)}
            if not mine and shared is not None:
                mine = {
                    p.relative_to(shared).as_posix(): p.read_bytes()
                    for p in sorted(shared.glob(pattern))
                }
            if not mine:
                missing[source.id] = f"no generated sample of {pattern} and no shared data"
            files.update(mine)
    return files, missing
