"""SIPRI military expenditure and arms-import files → the canonical ``indicators`` table.

Three readers: the official Milex workbook (:func:`read_sipri_milex_workbook`), the long Central
Asia extracts of it (:func:`read_sipri_milex_extract`) and the TIV arms-import table
(:func:`read_sipri_tiv_imports`). The workbook and its extracts share one sheet → indicator
mapping (:data:`MEASURES`) and one rule for SIPRI's cell conventions (:func:`_cell_values`), so
the same cell gives the same row whichever file it is read from:

* a number is kept; blue font → flag "sipri_estimate", red → "highly_uncertain";
* "..." (the legend writes ". .") → value missing, flag "not_available"; "xxx" → missing,
  "not_a_state" (a marker's font is ignored: it has no figure to qualify, and the extracts
  record none);
* a blank cell gives no row; any other text is an error.

SIPRI gives "Share of GDP" and "Share of Govt. spending" as fractions (0.0297); they are
multiplied by 100 here and labelled "% of GDP" / "% of government spending".

Country names become ISO3 codes through the ``countries`` table (its ``name`` column) plus
:data:`SIPRI_ALIASES` for SIPRI's own spellings. :data:`NO_ISO3` lists the SIPRI rows that have
no ISO 3166 code (former states, the EU, Kosovo); they are left out. Any other name is an error.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.utils.exceptions import InvalidFileException

from ...errors import DataError
from .. import schema
from ._common import (
    ReadContext,
    finish_table,
    from_year,
    parse_float_series,
    parse_year_series,
    raise_at_first,
    read_csv_table,
    require_unique,
    source_label,
)
from .countries import CASE_COUNTRIES

SIPRI_ALIASES = {
    "Bosnia and Herzegovina": "BIH",
    "Congo, DR": "COD",
    "Congo, Republic": "COG",
    "Cote d'Ivoire": "CIV",
    "Gambia, The": "GMB",
    "Korea, North": "PRK",
    "Korea, South": "KOR",
    "Kyrgyz Republic": "KGZ",
    "Myanmar": "MMR",
    "Timor Leste": "TLS",
    "Trinidad and Tobago": "TTO",
    "Türkiye": "TUR",
    "United States of America": "USA",
    "Viet Nam": "VNM",
}
NO_ISO3 = frozenset(
    {
        "Czechoslovakia",
        "European Union",
        "German Democratic Republic",
        "Kosovo",
        "USSR",
        "Yemen, North",
        "Yugoslavia",
    }
)

MARKERS = {"...": "not_available", ". .": "not_available", "xxx": "not_a_state"}
MARKER_EXPECTED = "a number, '. .' (not available) or 'xxx' (not a state)"
FONT_FLAGS = {"FF0000FF": "sipri_estimate", "FFFF0000": "highly_uncertain"}
BLACK = "FF000000"
EXTRACT_FONT_FLAGS = {
    "sipri_estimate_blue": "sipri_estimate",
    "highly_uncertain_red": "highly_uncertain",
    "reported": None,
}


class Measure(NamedTuple):
    """One Milex sheet as an indicator. ``unit`` may hold {currency} or {base}; ``scale``
    turns SIPRI's fractions into percent."""

    sheet: re.Pattern
    code: str
    name: str
    unit: str
    scale: float = 1.0


MEASURES = (
    Measure(
        re.compile(r"Local currency financial years"),
        "SIPRI.MILEX.LCU_FISCAL",
        "Military expenditure, local currency at current prices, financial years (SIPRI)",
        "{currency}, current prices (financial year)",
    ),
    Measure(
        re.compile(r"Local currency calendar years"),
        "SIPRI.MILEX.LCU_CALENDAR",
        "Military expenditure, local currency at current prices, calendar years (SIPRI)",
        "{currency}, current prices",
    ),
    Measure(
        re.compile(r"Constant \((?P<base>\d{4})\) US\$"),
        "SIPRI.MILEX.CONST_USD",
        "Military expenditure, constant ({base}) US$ m (SIPRI)",
        "US$ m, constant {base} prices and exchange rates",
    ),
    Measure(
        re.compile(r"Current US\$"),
        "SIPRI.MILEX.CURRENT_USD",
        "Military expenditure, current US$ m (SIPRI)",
        "US$ m, current prices",
    ),
    Measure(
        re.compile(r"Share of GDP"),
        "SIPRI.MILEX.SHARE_GDP",
        "Military expenditure (% of GDP) (SIPRI)",
        "% of GDP",
        100.0,
    ),
    Measure(
        re.compile(r"Per capita"),
        "SIPRI.MILEX.PER_CAPITA",
        "Military expenditure per capita, current US$ (SIPRI)",
        "current US$ per person",
    ),
    Measure(
        re.compile(r"Share of Govt\. spending"),
        "SIPRI.MILEX.SHARE_GOVT",
        "Military expenditure (% of general government expenditure) (SIPRI)",
        "% of government spending",
        100.0,
    ),
)

MILEX_SOURCE = "SIPRI Military Expenditure Database ({release} release, data {first}-{last})"
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
EXTRACT_COLUMNS = (
    "sipri_country",
    "iso3",
    "sipri_sheet",
    "year",
    "value",
    "non_numeric_marker",
    "sipri_font_flag",
    "currency",
    "sipri_release",
)
TIV_COLUMNS = ("recipient", "iso3", "year", "tiv_million", "source_table", "source_generated")
TIV_UNIT = "TIV, millions (volume index, not US$)"
TIV_NAME = "Arms imports, SIPRI trend-indicator value (TIV) of recorded deliveries"
_COLUMNS = schema.columns("indicators")


# --------------------------------------------------------------------------------------------
# shared between the workbook and the extracts


def measure_for_sheet(sheet: str) -> tuple[Measure, dict[str, str]] | None:
    """The measure a sheet name stands for, and what the name tells (the constant-price base
    year); None for sheets that hold no country series (front page, regional totals, notes)."""
    for measure in MEASURES:
        match = measure.sheet.fullmatch(sheet.strip())
        if match:
            return measure, match.groupdict()
    return None


def _labels(measure: Measure, fields: dict[str, str], currency: str | None) -> tuple[str, str]:
    """indicator_name and unit; a local-currency row names its currency as SIPRI gives it."""
    fields = {**fields, "currency": currency or "local currency (currency not stated)"}
    return measure.name.format(**fields), measure.unit.format(**fields)


def _cell_values(cells: pd.DataFrame, file, label: str | pd.Series) -> pd.DataFrame:
    """SIPRI's cell rules over a frame of cells (``number``: float or NaN; ``marker``: text or
    None; ``font_flag``; ``scale``; ``source_row``): the stated cells with their ``value`` and
    ``flags``. A marker must be one of :data:`MARKERS` and stand alone; a blank cell gives no
    row."""
    marker = cells["marker"]
    raise_at_first(
        cells,
        marker.notna() & (~marker.isin(list(MARKERS)) | cells["number"].notna()),
        file,
        "marker",
        "not a number nor a SIPRI marker",
        MARKER_EXPECTED,
        label=label,
    )
    stated = marker.notna() | cells["number"].notna()
    cells = cells[stated]
    marked = cells["marker"].notna()
    return cells.assign(
        value=np.where(marked, np.nan, cells["number"] * cells["scale"]),
        flags=cells["marker"].map(MARKERS).where(marked, cells["font_flag"]),
    )


def sipri_iso3(countries_table: pd.DataFrame) -> dict[str, str | None]:
    """SIPRI country name → ISO3 (None for the :data:`NO_ISO3` rows), from the countries table
    plus those documented aliases whose code the table holds (so a name cannot map to a code
    the table lacks; it is reported as unknown instead)."""
    names = dict(zip(countries_table["name"].str.strip(), countries_table["iso3"]))
    known = set(countries_table["iso3"])
    aliases = {name: code for name, code in SIPRI_ALIASES.items() if code in known}
    return {**names, **aliases, **dict.fromkeys(NO_ISO3)}


_NAME_EXPECTED = "a name in the countries table, SIPRI_ALIASES or NO_ISO3 (sources/sipri.py)"


def _iso3_of(name, names: dict, *, file, row: int, column: str) -> str | None:
    """ISO3 of one worksheet row's country name."""
    text = _text(name)
    if text not in names:
        raise DataError(
            file,
            "unknown SIPRI country name",
            row=row,
            column=column,
            found=name,
            expected=_NAME_EXPECTED,
        )
    return names[text]


def _stated_iso3(
    raw: pd.DataFrame, name_column: str, names: dict, path: Path, what: str
) -> pd.Series:
    """ISO3 of a long extract's country names, which must agree with the extract's iso3 cells."""
    text = raw[name_column].map(_text)
    raise_at_first(
        raw, ~text.isin(list(names)), path, name_column, f"unknown {what} name", _NAME_EXPECTED
    )
    iso3 = text.map(names)
    raise_at_first(
        raw,
        iso3.ne(raw["iso3"].map(_text)),
        path,
        "iso3",
        f"iso3 does not match the {name_column.replace('sipri_', '')} name",
        iso3.fillna("None") + " for " + raw[name_column].map(repr),
    )
    return iso3


def _text(value) -> str:
    """A raw CSV cell as stripped text, '' when blank (blank cells arrive as None or NaN)."""
    return "" if value is None or pd.isna(value) else str(value).strip()


def _restrict(table: pd.DataFrame, countries: Iterable[str] | None) -> pd.DataFrame:
    return table if countries is None else table[table["iso3"].isin(set(countries))]


# --------------------------------------------------------------------------------------------
# the official workbook


def read_sipri_milex_workbook(
    path: Path,
    countries_table: pd.DataFrame,
    root: Path | None = None,
    countries: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Read every measure sheet of SIPRI's Milex workbook (one row per country, year, sheet).

    Each sheet's table starts at the row whose first cell is "Country"; numeric header cells are
    the years; a row whose year cells are all empty is a region/sub-region heading. The release
    is the month of the workbook's last-modified date (SIPRI saves the file at publication;
    re-saving it would change this) and the data span is that of the year columns.
    ``source_row`` is the worksheet row and ``source_file`` names the sheet after '#'.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found", hint="check the path or run the data build")
    try:
        workbook = openpyxl.load_workbook(path, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise DataError(path, "not a readable .xlsx workbook", found=str(exc)[:80]) from None
    names = sipri_iso3(countries_table)
    frames, years = [], []
    try:
        sheets = {title: measure_for_sheet(title) for title in workbook.sheetnames}
        for measure in MEASURES:
            found = [title for title, hit in sheets.items() if hit and hit[0] is measure]
            if len(found) != 1:
                raise DataError(
                    path,
                    f"expected one sheet matching '{measure.sheet.pattern}'",
                    found=workbook.sheetnames,
                    expected="the seven country sheets of the SIPRI Milex workbook",
                )
            frame, sheet_years = _read_sheet(
                workbook[found[0]], *sheets[found[0]], path, root, names
            )
            frames.append(frame)
            years += sheet_years
        modified = workbook.properties.modified
    finally:
        workbook.close()
    if modified is None:
        raise DataError(
            path, "workbook has no last-modified date", expected="SIPRI's saved release file"
        )
    release = f"{_MONTHS[modified.month - 1]} {modified.year}"
    table = pd.concat(frames, ignore_index=True)
    table["source"] = MILEX_SOURCE.format(release=release, first=min(years), last=max(years))
    return finish_table("indicators", _restrict(table, countries))


def _read_sheet(sheet, measure: Measure, fields: dict, path: Path, root, names: dict):
    """One measure sheet → rows (and its year columns)."""
    file = f"{path}#{sheet.title}"
    label = f"{source_label(path, root)}#{sheet.title}"
    rows = sheet.iter_rows()
    header = next((r for r in rows if r and r[0].value == "Country"), None)
    if header is None:
        raise DataError(
            file, "no header row", column="A", expected="a row whose first cell is 'Country'"
        )
    years = {}
    currency_at = None
    for cell in header[1:]:
        if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
            if cell.value != int(cell.value) or not 1900 <= cell.value <= 2100:
                raise DataError(
                    file,
                    "year column header is not a year",
                    row=cell.row,
                    column=cell.column_letter,
                    found=cell.value,
                )
            years[cell.column - 1] = int(cell.value)
        elif cell.value == "Currency":
            currency_at = cell.column - 1
        elif isinstance(cell.value, str) and re.search(r"\d{4}", cell.value):
            raise DataError(  # a text year would silently drop its column
                file,
                "year column header is text",
                row=cell.row,
                column=cell.column_letter,
                found=cell.value,
                expected="a number (the year), as SIPRI writes it",
            )
    if not years:
        raise DataError(file, "no year columns", row=header[0].row, expected="numeric year headers")
    records = []  # openpyxl gives cells one by one: they are collected, then ruled on together
    for cells in rows:
        data = [(cells[i], year) for i, year in years.items() if i < len(cells)]
        if all(cell.value is None for cell, _ in data):
            continue  # blank line or region / sub-region heading
        name, number = cells[0].value, cells[0].row
        iso3 = _iso3_of(name, names, file=file, row=number, column="A")
        if iso3 is None:
            continue
        currency = str(cells[currency_at].value or "").strip() if currency_at is not None else None
        indicator_name, unit = _labels(measure, fields, currency)
        for cell, year in data:
            column = f"{cell.column_letter} ({year})"
            records.append(
                (iso3, str(year), indicator_name, unit, number, column)
                + _workbook_cell(cell, file, column)
            )
    cells = pd.DataFrame(
        records,
        columns=["iso3", "period", "indicator_name", "unit", "source_row", "column"]
        + ["number", "marker", "font_flag"],
    )
    cells = _cell_values(
        cells.assign(number=cells["number"].astype(float), scale=measure.scale),
        file,
        cells["column"],
    )
    if cells.empty:
        raise DataError(
            file,
            "no country rows below the header",
            row=header[0].row + 1,
            expected="one row per country with its figures",
        )
    frame = cells.assign(frequency="A", indicator=measure.code, source_file=label)
    frame = frame.reindex(columns=_COLUMNS)
    require_unique(frame, ["iso3", "period"], file, "A", "country and year")
    return frame, list(years.values())


def _workbook_cell(cell, file: str, column: str):
    """(number, marker, font flag) of a worksheet cell; the font colour is SIPRI's flag."""
    value = cell.value
    if isinstance(value, str):
        return np.nan, value.strip() or None, None
    if value is None:
        return np.nan, None, None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DataError(file, "not a number", row=cell.row, column=column, found=value)
    color = cell.font.color if cell.font is not None else None
    rgb = color.rgb if color is not None and color.type == "rgb" else None
    if rgb is None or rgb == BLACK:
        return float(value), None, None
    if rgb not in FONT_FLAGS:
        raise DataError(
            file,
            "unknown font colour on a figure",
            row=cell.row,
            column=column,
            found=rgb,
            expected="black, blue FF0000FF (SIPRI estimate) or red FFFF0000 (highly uncertain)",
        )
    return float(value), None, FONT_FLAGS[rgb]


# --------------------------------------------------------------------------------------------
# the long extracts


def read_sipri_milex_extract(
    path: Path,
    countries_table: pd.DataFrame,
    root: Path | None = None,
    countries: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Read a long extract of the Milex workbook (``sipri_milex_centralasia_release*.csv``).

    Gives exactly the rows the workbook reader gives for the same cells: same codes, units,
    percent conversion and flags. The ``iso3`` column must agree with the country name, and the
    release is read from ``sipri_release`` ("SIPRI Milex 1949-2024 (April 2025 release)").
    """
    path = Path(path)
    raw = read_csv_table(path, EXTRACT_COLUMNS)
    raw["iso3"] = _stated_iso3(
        raw, "sipri_country", sipri_iso3(countries_table), path, "SIPRI country"
    )
    sheet = raw["sipri_sheet"].map(_text)
    hits = {name: measure_for_sheet(name) for name in sheet.unique()}
    raise_at_first(
        raw,
        sheet.map(hits).isna(),
        path,
        "sipri_sheet",
        "unknown SIPRI sheet",
        f"one of {[m.sheet.pattern for m in MEASURES]}",
    )
    font = raw["sipri_font_flag"].map(_text)
    raise_at_first(
        raw,
        font.ne("") & ~font.isin(list(EXTRACT_FONT_FLAGS)),
        path,
        "sipri_font_flag",
        "unknown font flag",
        f"blank or one of {list(EXTRACT_FONT_FLAGS)}",
    )
    marker = raw["non_numeric_marker"].map(_text)
    cells = raw.assign(
        sheet=sheet,
        currency=raw["currency"].map(_text),
        number=parse_float_series(raw, "value", path),
        marker=marker.where(marker.ne(""), None),
        font_flag=font.map(EXTRACT_FONT_FLAGS),
        scale=sheet.map(lambda name: hits[name][0].scale),
    )
    cells = _cell_values(cells, path, "non_numeric_marker")
    labels = {
        (name, currency): _labels(*hits[name], currency or None)
        for name, currency in set(zip(cells["sheet"], cells["currency"]))
    }
    keys = list(zip(cells["sheet"], cells["currency"]))
    table = pd.DataFrame(
        {
            "iso3": cells["iso3"],
            "frequency": "A",
            "period": parse_year_series(cells, "year", path).astype(str),
            "indicator": cells["sheet"].map(lambda name: hits[name][0].code),
            "indicator_name": [labels[key][0] for key in keys],
            "value": cells["value"],
            "unit": [labels[key][1] for key in keys],
            "source": _extract_sources(cells, path),
            "flags": cells["flags"],
            "source_file": source_label(path, root),
            "source_row": cells["source_row"],
        },
        columns=_COLUMNS,
    )
    require_unique(
        table, ["iso3", "indicator", "period"], path, "sipri_country", "country, sheet and year"
    )
    return finish_table("indicators", _restrict(table, countries))


def _extract_sources(cells: pd.DataFrame, path: Path) -> pd.Series:
    """The source text of each row, from its ``sipri_release`` cell."""
    text = cells["sipri_release"].map(_text)
    source = text.map({release: _release_source(release) for release in text.unique()})
    raise_at_first(
        cells,
        source.isna(),
        path,
        "sipri_release",
        "cannot read the release",
        "text like 'SIPRI Milex 1949-2024 (April 2025 release)'",
    )
    return source


def _release_source(release: str) -> str | None:
    match = re.search(r"(\d{4})-(\d{4}) \((\w+ \d{4}) release\)", release)
    if not match:
        return None
    return MILEX_SOURCE.format(release=match.group(3), first=match.group(1), last=match.group(2))


# --------------------------------------------------------------------------------------------
# arms imports (TIV)


def read_sipri_tiv_imports(
    path: Path,
    countries_table: pd.DataFrame,
    root: Path | None = None,
    countries: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Read the SIPRI TIV arms-import extract as indicator SIPRI.TIV.IMPORTS.

    SIPRI's legend defines its cells, and they are read as it states: a blank cell means no
    deliveries were recorded, so the recorded volume is 0 (value 0.0, flag "none_recorded", so
    a reader can tell it from a figure SIPRI printed); "0" means deliveries below 0.5m TIV
    (value 0.0, flag "below_half_unit"). The ``Total`` rows (sum over 1950-2022) are not years
    and are skipped. The source is the table's own title and generation date.
    """
    path = Path(path)
    raw = read_csv_table(path, TIV_COLUMNS)
    raw = raw[raw["year"].map(_text) != "Total"]
    iso3 = _stated_iso3(raw, "recipient", sipri_iso3(countries_table), path, "SIPRI recipient")
    number = parse_float_series(raw, "tiv_million", path)
    raise_at_first(raw, number < 0, path, "tiv_million", "negative TIV", "a value >= 0")
    for column in ("source_table", "source_generated"):
        raise_at_first(
            raw,
            raw[column].map(_text).eq(""),
            path,
            column,
            "missing value",
            "the SIPRI table's title and date",
        )
    table = pd.DataFrame(
        {
            "iso3": iso3,
            "frequency": "A",
            "period": parse_year_series(raw, "year", path).astype(str),
            "indicator": "SIPRI.TIV.IMPORTS",
            "indicator_name": TIV_NAME,
            "value": number.fillna(0.0),
            "unit": TIV_UNIT,
            "source": raw["source_table"].str.strip()
            + ", generated "
            + raw["source_generated"].str.strip(),
            "flags": np.select(
                [number.isna(), number.eq(0)], ["none_recorded", "below_half_unit"], None
            ),
            "source_file": source_label(path, root),
            "source_row": raw["source_row"],
        },
        columns=_COLUMNS,
    )
    require_unique(table, ["iso3", "period"], path, "year", "recipient and year")
    return finish_table("indicators", _restrict(table, countries))


def read_raw_milex(
    paths: list[Path],
    ctx: ReadContext,
    first_year: int | None = None,
    case_only: list[str] | tuple[str, ...] = (),
) -> pd.DataFrame:
    """Registry reader: the Milex workbook for every country; the ``case_only`` measures
    (local-currency series, which do not compare across countries) for the case countries
    only, to keep data/ small."""
    frame = read_sipri_milex_workbook(paths[0], ctx.countries, root=ctx.root)
    keep = ~frame["indicator"].isin(case_only) | frame["iso3"].isin(CASE_COUNTRIES)
    return from_year(frame[keep], first_year)


def read_raw_milex_extract(paths: list[Path], ctx: ReadContext) -> pd.DataFrame:
    """Registry reader: the newer Milex extract, case countries only."""
    return read_sipri_milex_extract(
        paths[0], ctx.countries, root=ctx.root, countries=set(CASE_COUNTRIES)
    )


def read_raw_tiv(paths: list[Path], ctx: ReadContext) -> pd.DataFrame:
    """Registry reader: arms-import TIV, case countries only."""
    return read_sipri_tiv_imports(
        paths[0], ctx.countries, root=ctx.root, countries=set(CASE_COUNTRIES)
    )
