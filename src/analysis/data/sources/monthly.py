"""Monthly economic-stress series (FAO food prices, Brent, RUB/US$, World Bank GEM) → indicators.

Four raw layouts, one reader: :func:`read_monthly` recognises the layout from the file's first
line (:data:`LAYOUTS`), reads it into (period, series, value) records, then shares the parsing
of periods and values. Every row gets frequency "M" and period "YYYY-MM".

* FAO Food Price Index: FAO's own file, 2 title lines (name, index base) before the header,
  a blank line, and many empty trailing columns. One series per index column, iso3 "WLD".
* EIA Brent (``Date,Price``): the date is the 15th, standing for that month's average.
* FRED (``DATE,<SERIES_ID>``): the date is the 1st of the month; "." is FRED's missing marker.
  Known series are listed in :data:`FRED_SERIES` (an unknown one is an error, not a guess).
* World Bank GEM long files (``series,unit,country_name,iso3,period,value``, period
  ``1995M04``): the series text maps to a short code by :data:`GEM_SERIES`; the unit comes
  from the file. "NA" is GEM's missing marker.

A missing value stays a row with a missing value (never 0, never filled).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...errors import DataError
from ._common import (
    ReadContext,
    concat,
    finish_table,
    parse_float_series,
    raise_at_first,
    read_csv_table,
    read_text,
    source_label,
)


@dataclass(frozen=True)
class Series:
    """What a raw value column (or GEM series text) means in the canonical table."""

    iso3: str
    indicator: str
    name: str
    unit: str
    source: str


FAO_SOURCE = (
    "FAO, Food Price Index (food_price_indices_data.csv), July 2026 release, data to 2026-06; "
    "copy in sohanever/bangladesh-cpi-inflation-forecasting @7b490df"
)
# FAO column -> (indicator code, name). The unit is read from the file's index-base line.
FAO_COLUMNS = {
    "Food Price Index": ("FAO.FFPI", "FAO Food Price Index"),
    "Meat": ("FAO.FFPI.MEAT", "FAO Meat Price Index"),
    "Dairy": ("FAO.FFPI.DAIRY", "FAO Dairy Price Index"),
    "Cereals": ("FAO.FFPI.CEREALS", "FAO Cereals Price Index"),
    "Oils": ("FAO.FFPI.OILS", "FAO Vegetable Oils Price Index"),
    "Sugar": ("FAO.FFPI.SUGAR", "FAO Sugar Price Index"),
}
BRENT = Series(
    "WLD",
    "EIA.BRENT",
    "Brent crude oil spot price FOB, monthly average (EIA RBRTE)",
    "US$ per barrel",
    "U.S. EIA, Europe Brent spot price FOB (RBRTE), monthly; "
    "datasets/oil-prices @3d663f2 (2026-08-06), data to 2026-07",
)
FRED_SERIES = {
    "CCUSMA02RUM618N": Series(
        "RUS",
        "OECD.CCUSMA02RUM618N",
        "Russian roubles per US dollar, monthly average (OECD MEI)",
        "RUB per US$",
        "OECD Main Economic Indicators via FRED (CCUSMA02RUM618N), copy of 2021-06-18 "
        "(askerovfuat/My_files @53cc497), data 2006-01 to 2020-04",
    ),
}
GEM_SOURCE = (
    "World Bank, Global Economic Monitor (GEM), bulk file generated 2025-03-06, data to 2025M03; "
    "copy in akashdoifode13/Economics_Agent @b9d8bfd"
)
# GEM series text (the workbook's only identifier) -> short indicator code.
GEM_SERIES = {
    "Official exchange rate, LCU per USD, period average": "GEM.FX_LCU_USD",
    "CPI Price, nominal, not seas. adj.": "GEM.CPI_NSA",
    "CPI Price, nominal, seas. adj.": "GEM.CPI_SA",
    "CPI Price, % y-o-y, nominal, seas. adj.": "GEM.CPI_YOY_SA",
}
GEM_COLUMNS = ("series", "unit", "country_name", "iso3", "period", "value")


@dataclass(frozen=True)
class Layout:
    """One raw layout: how to recognise it, read it, and what its periods and gaps look like."""

    name: str
    matches: Callable[[list[str]], bool]  # on the first line's cells
    read: Callable[[Path, list[str]], pd.DataFrame]  # -> long rows, see _long
    period: re.Pattern  # groups: year, month
    period_form: str
    missing: tuple[str, ...] = ()


def _long(raw: pd.DataFrame, period_column: str, series: dict[str, Series]) -> pd.DataFrame:
    """Wide -> long: one row per (record, value column), with that column's series, and the raw
    column names of its period and value (for messages)."""
    return pd.concat(
        [
            _described(
                pd.DataFrame(
                    {
                        "period": raw[period_column],
                        "period_column": period_column,
                        "value": raw[column],
                        "value_column": column,
                        "source_row": raw["source_row"],
                    }
                ),
                meta,
            )
            for column, meta in series.items()
        ],
        ignore_index=True,
    )


def _described(frame: pd.DataFrame, meta: Series) -> pd.DataFrame:
    return frame.assign(
        iso3=meta.iso3,
        indicator=meta.indicator,
        indicator_name=meta.name,
        unit=meta.unit,
        source=meta.source,
    )


def _read_fao(path: Path, _cells: list[str]) -> pd.DataFrame:
    base_line = (read_text(path).splitlines() + [""])[1]
    base = re.match(r"^\s*(\d{4}-\d{4})\s*=\s*100\s*$", base_line.split(",")[0])
    if not base:
        raise DataError(
            path,
            "FAO index base line not recognised",
            row=2,
            found=base_line[:40],
            expected="the index base, e.g. '2014-2016=100'",
        )
    unit = f"index, {base[1]} = 100"
    raw = read_csv_table(path, ("Date", *FAO_COLUMNS), skip_lines=2)
    series = {
        c: Series("WLD", code, name, unit, FAO_SOURCE) for c, (code, name) in FAO_COLUMNS.items()
    }
    return _long(raw, "Date", series)


def _read_eia(path: Path, cells: list[str]) -> pd.DataFrame:
    raw = read_csv_table(path, ("Date", "Price"))
    other = [cell.strip() for cell in cells if cell.strip() not in ("Date", "Price")]
    if other:  # another monthly file headed Date is not Brent, whatever it holds
        raise DataError(
            path,
            "a file headed Date is read as EIA Brent only with exactly its columns",
            row=1,
            column=other[0],
            found=",".join(cells),
            expected="Date,Price (another monthly layout needs its own entry in LAYOUTS)",
        )
    return _long(raw, "Date", {"Price": BRENT})


def _read_fred(path: Path, cells: list[str]) -> pd.DataFrame:
    series_id = cells[1].strip() if len(cells) > 1 else ""
    raw = read_csv_table(path, ("DATE", series_id))
    if series_id not in FRED_SERIES:
        raise DataError(
            path,
            "unknown FRED series",
            row=1,
            column=series_id,
            found=series_id,
            expected=f"one of {sorted(FRED_SERIES)} (add its metadata to FRED_SERIES)",
        )
    return _long(raw, "DATE", {series_id: FRED_SERIES[series_id]})


def _read_gem(path: Path, _cells: list[str]) -> pd.DataFrame:
    raw = read_csv_table(path, GEM_COLUMNS)
    code = raw["series"].map(GEM_SERIES)
    raise_at_first(
        raw, code.isna(), path, "series", "unknown GEM series", f"one of {sorted(GEM_SERIES)}"
    )
    return pd.DataFrame(
        {
            "period": raw["period"],
            "period_column": "period",
            "value": raw["value"],
            "value_column": "value",
            "source_row": raw["source_row"],
            "iso3": raw["iso3"],
            "indicator": code,
            "indicator_name": raw["series"],
            "unit": raw["unit"],
            "source": GEM_SOURCE,
        }
    )


LAYOUTS = (
    Layout(
        "FAO Food Price Index",
        lambda c: c[0].startswith("FAO Food Price Index"),
        _read_fao,
        re.compile(r"^(\d{4})-(\d{2})$"),
        "YYYY-MM",
    ),
    Layout(
        "EIA Brent (Date,Price)",
        lambda c: c[0] == "Date",
        _read_eia,
        re.compile(r"^(\d{4})-(\d{2})-15$"),
        "YYYY-MM-15 (the 15th stands for the month)",
    ),
    Layout(
        "FRED (DATE,<SERIES_ID>)",
        lambda c: c[0] == "DATE",
        _read_fred,
        re.compile(r"^(\d{4})-(\d{2})-01$"),
        "YYYY-MM-01",
        missing=(".",),
    ),
    Layout(
        "World Bank GEM long",
        lambda c: c[0] == "series",
        _read_gem,
        re.compile(r"^(\d{4})M(\d{2})$"),
        "YYYYMmm, e.g. 1995M04",
        missing=("NA",),
    ),
)


def read_monthly(path: Path, root: Path | None = None) -> pd.DataFrame:
    """Read any of the monthly layouts into ``indicators`` rows (frequency "M")."""
    path = Path(path)
    first_line = read_text(path).splitlines()[0]
    cells = re.split(r"[,;\t|]", first_line)
    layout = next((layout for layout in LAYOUTS if layout.matches(cells)), None)
    if layout is None:
        raise DataError(
            path,
            "unknown monthly layout",
            row=1,
            found=first_line[:80],
            expected=f"one of: {', '.join(layout.name for layout in LAYOUTS)}",
        )
    rows = layout.read(path, cells)
    rows["value"] = rows["value"].where(~rows["value"].str.strip().isin(layout.missing))
    rows["value"] = parse_float_series(rows, "value", path, label=rows["value_column"])
    rows["period"] = _periods(layout, rows, path)
    return finish_table(
        "indicators",
        rows.assign(frequency="M", flags=None, source_file=source_label(path, root)),
    )


def _periods(layout: Layout, rows: pd.DataFrame, path: Path) -> pd.Series:
    """YYYY-MM from the layout's way of writing a month; anything else is an error at its line."""
    text = rows["period"].fillna("").str.strip()
    parts = text.str.extract(layout.period.pattern)
    month = pd.to_numeric(parts[1], errors="coerce")
    raise_at_first(
        rows.assign(period=text),
        ~month.between(1, 12),
        path,
        "period",
        "unparseable or impossible month",
        layout.period_form,
        label=rows["period_column"],
    )
    return parts[0] + "-" + parts[1]


def read_raw(paths: list[Path], ctx: ReadContext) -> pd.DataFrame:
    """Registry reader: any number of monthly files, each in one of :data:`LAYOUTS`."""
    return concat([read_monthly(p, root=ctx.root) for p in paths])
