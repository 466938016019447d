"""World Bank WDI files → the canonical ``indicators`` table.

One entry point, :func:`read_wdi`, reads the three layouts the same WDI numbers arrive in, told
apart by their first line:

* ``mirror``: ``WDI_<code>.csv`` from the ``datasets/world-development-indicators`` mirror
  (``Country Name,Country Code,Year,Value``), with the sibling ``WDI_<code>.datapackage.json``
  giving the indicator's title; the code comes from the file name;
* ``extract``: the long Central Asia extract of that mirror
  (``indicator_code,indicator_name,country_name,iso3,year,value``);
* ``bulk``: the World Bank's own download ``API_<code>_DS2_en_csv_v2_<n>.csv`` (a preamble with
  "Last Updated Date", then one column per year and a trailing empty column).

A missing value is never a row: the mirror omits country-years without a value, so blank year
cells of the bulk layout are dropped too and all three layouts give the same table.

The mirror files carry no vintage, so their caller passes it (``vintage=``: the mirror update
date recorded in PROVENANCE.md, one date or a mapping per indicator code); the bulk file states
its own and a ``vintage=`` for it is refused. The vintage is part of ``source``, so two pulls of
the same series stay apart and :func:`derive_remittances_share` only pairs numbers of one pull.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ...errors import ConfigError, DataError
from .. import schema
from ._common import (
    YEARS,
    ReadContext,
    concat,
    finish_table,
    from_year,
    parse_float_series,
    parse_year_series,
    raise_at_first,
    read_csv_table,
    read_text,
    require_filled,
    require_unique,
    source_label,
)
from .countries import CASE_COUNTRIES

MIRROR_COLUMNS = ("Country Name", "Country Code", "Year", "Value")
EXTRACT_COLUMNS = ("indicator_code", "indicator_name", "country_name", "iso3", "year", "value")
BULK_COLUMNS = ("Country Name", "Country Code", "Indicator Name", "Indicator Code")
METADATA_COLUMNS = ("Country Code", "Region")

MIRROR_SOURCE = "World Bank WDI (datasets/world-development-indicators mirror, {vintage})"
BULK_SOURCE = "World Bank WDI (bulk download, last updated {vintage})"

REMITTANCES = "BX.TRF.PWKR.CD.DT"
GDP = "NY.GDP.MKTP.CD"
REMITTANCES_SHARE = "BX.TRF.PWKR.CD.DT_PCT_GDP"
"""Our own ratio; deliberately not WDI's code BX.TRF.PWKR.DT.GD.ZS, which is the official series."""

ILO_NOTE = "(modeled ILO estimate)"
SIPRI_NOTE = " [SIPRI figures re-published by WDI]"


def _iso_date(text, *, path, row: int | None, column: str) -> str:
    try:
        return dt.date.fromisoformat(str(text).strip()).isoformat()
    except ValueError:
        raise DataError(
            path, "not a date", row=row, column=column, found=text, expected="YYYY-MM-DD"
        ) from None


class _Rows(NamedTuple):
    """One WDI file reduced to long text rows, plus the raw column names used in messages.

    ``frame`` columns: indicator, indicator_name, source, code, year, value, value_column,
    source_row (``value_column`` is per row because the bulk layout has one per year).
    """

    frame: pd.DataFrame
    code_column: str
    year_column: str


def read_wdi(
    path: Path,
    root: Path | None = None,
    countries: Iterable[str] | None = None,
    *,
    metadata: Path | None = None,
    vintage: str | Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Read any of the three WDI layouts into the ``indicators`` table.

    ``countries`` keeps only those ISO3 codes. World Bank aggregates (regions, income groups) are
    dropped: with ``metadata`` (``WDI_Metadata_Country_*.csv`` or the bulk download's
    ``Metadata_Country_API_*.csv``) an aggregate is a code with a blank Region and a code the
    metadata does not list is an error; without it, any code outside the country table is taken
    to be an aggregate (WLD too: the project's pseudo-code for global series is not for WB's
    world total). Either way a code that is not three capitals/digits is an error, and WB
    economies without an ISO3 code (XKX Kosovo, CHI Channel Islands) are left out because the
    table is keyed by ISO3.
    """
    path = Path(path)
    layout = _detect_layout(path)
    if layout == "bulk":
        if vintage is not None:
            raise ConfigError(
                f"{path}: the bulk layout states its own vintage ('Last Updated Date'); "
                "do not pass vintage="
            )
        rows = _bulk_rows(path)
    elif layout == "mirror":
        rows = _mirror_rows(path, vintage)
    else:
        rows = _extract_rows(path, vintage)
    return _to_indicators(rows, path, root, countries, metadata)


def _detect_layout(path: Path) -> str:
    """Pick the layout whose column names the first line shares most with (so a renamed or
    missing column, or a wrong delimiter, still reaches the precise header check)."""
    first = read_text(path).splitlines()[0]
    if first.lstrip('"').startswith("Data Source"):
        return "bulk"
    scores = {
        name: sum(column in first for column in columns)
        for name, columns in (
            ("extract", EXTRACT_COLUMNS),
            ("mirror", MIRROR_COLUMNS),
            ("bulk", BULK_COLUMNS),
        )
    }
    layout = max(scores, key=scores.get)
    if scores[layout] == 0 or layout == "bulk":
        raise DataError(
            path,
            "not a WDI layout this reader knows",
            row=1,
            found=first[:120],
            expected=f"a header {list(MIRROR_COLUMNS)} or {list(EXTRACT_COLUMNS)}, or the World "
            "Bank bulk layout starting with a 'Data Source' line",
        )
    return layout


def _vintage_for(vintage, code: str, path: Path) -> str:
    if vintage is None:
        raise ConfigError(
            f"{path}: this layout states no vintage; pass vintage='YYYY-MM-DD' (the mirror "
            "update date recorded in PROVENANCE.md) or a mapping indicator code -> date"
        )
    if isinstance(vintage, Mapping):  # per indicator code; "*" is the default for the rest
        if code not in vintage and "*" not in vintage:
            raise ConfigError(f"{path}: no vintage given for indicator {code}")
        vintage = vintage.get(code, vintage.get("*"))
    try:
        return dt.date.fromisoformat(str(vintage)).isoformat()
    except ValueError:
        raise ConfigError(f"vintage {vintage!r} is not a date YYYY-MM-DD") from None


def _mirror_rows(path: Path, vintage) -> _Rows:
    match = re.fullmatch(r"WDI_(.+)\.csv", path.name)
    if not match:
        raise DataError(
            path,
            "cannot tell the indicator from the file name",
            found=path.name,
            expected="WDI_<indicator code>.csv as in the mirror",
        )
    code = match.group(1).upper()
    title = _datapackage_title(path.with_name(f"WDI_{match.group(1)}.datapackage.json"), code)
    raw = read_csv_table(path, MIRROR_COLUMNS)
    frame = pd.DataFrame(
        {
            "indicator": code,
            "indicator_name": title,
            "source": MIRROR_SOURCE.format(vintage=_vintage_for(vintage, code, path)),
            "code": raw["Country Code"],
            "year": raw["Year"],
            "value": raw["Value"],
            "value_column": "Value",
            "source_row": raw["source_row"],
        }
    )
    return _Rows(frame, "Country Code", "Year")


def _datapackage_title(path: Path, code: str) -> str:
    """The indicator's name, from the mirror's descriptor (which must describe this code)."""
    try:
        package = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(path, "not valid JSON", row=exc.lineno, found=exc.msg) from None
    title = package.get("title") if isinstance(package, dict) else None
    if not isinstance(title, str) or not title.strip():
        raise DataError(path, "no indicator title", column="title", expected="a non-empty 'title'")
    name = str(package.get("name", "")).upper()
    if name != code:
        raise DataError(
            path,
            "descriptor is for another indicator",
            column="name",
            found=package.get("name"),
            expected=f"{code.lower()} (from the CSV file name)",
        )
    return title.strip()


def _extract_rows(path: Path, vintage) -> _Rows:
    raw = read_csv_table(path, EXTRACT_COLUMNS)
    require_filled(raw, ["indicator_code", "indicator_name"], path)
    codes = raw["indicator_code"].str.strip().str.upper()
    frame = pd.DataFrame(
        {
            "indicator": codes,
            "indicator_name": raw["indicator_name"],
            "source": [MIRROR_SOURCE.format(vintage=_vintage_for(vintage, c, path)) for c in codes],
            "code": raw["iso3"],
            "year": raw["year"],
            "value": raw["value"],
            "value_column": "value",
            "source_row": raw["source_row"],
        }
    )
    return _Rows(frame, "iso3", "year")


def _bulk_rows(path: Path) -> _Rows:
    """Wide World Bank download → long rows; the vintage is its 'Last Updated Date'."""
    lines = read_text(path).splitlines()
    header_at = next(
        (i for i, line in enumerate(lines[:10]) if line.lstrip('"').startswith("Country Name")),
        None,
    )
    if header_at is None:
        raise DataError(
            path,
            "no 'Country Name' header in the first 10 lines",
            row=1,
            expected="the World Bank bulk layout: 4 preamble lines, then the header",
        )
    preamble = {
        record[0].strip(): (number, record[1].strip())
        for number, record in enumerate(csv.reader(lines[:header_at]), start=1)
        if len(record) >= 2 and record[0].strip()
    }
    if "Last Updated Date" not in preamble:
        raise DataError(
            path,
            "no 'Last Updated Date' line in the preamble",
            row=1,
            column="Last Updated Date",
            expected='a line "Last Updated Date","YYYY-MM-DD" before the header',
        )
    number, text = preamble["Last Updated Date"]
    updated = _iso_date(text, path=path, row=number, column="Last Updated Date")
    raw = read_csv_table(path, BULK_COLUMNS, skip_lines=header_at)
    require_filled(raw, ["Indicator Code", "Indicator Name"], path)
    years = [c for c in raw.columns if re.fullmatch(r"\d{4}", c)]
    for year in years:  # a bad year is a header cell, so reported at the header line
        if not YEARS[0] <= int(year) <= YEARS[1]:
            raise DataError(
                path,
                "not a year",
                row=header_at + 1,
                column=year,
                found=year,
                expected=f"a year {YEARS[0]}-{YEARS[1]}",
            )
    unexpected = [c for c in raw.columns if c not in (*BULK_COLUMNS, *years, "", "source_row")]
    if unexpected or not years:
        raise DataError(
            path,
            "unexpected header",
            row=header_at + 1,
            column=unexpected[0] if unexpected else None,
            found=unexpected or list(raw.columns),
            expected=f"{list(BULK_COLUMNS)} then one column per year (YYYY)",
        )
    long = raw.melt(
        id_vars=["Country Code", "Indicator Name", "Indicator Code", "source_row"],
        value_vars=years,
        var_name="value_column",
        value_name="value",
    )
    long = long[long["value"].notna()]
    frame = pd.DataFrame(
        {
            "indicator": long["Indicator Code"].str.strip(),
            "indicator_name": long["Indicator Name"],
            "source": BULK_SOURCE.format(vintage=updated),
            "code": long["Country Code"],
            "year": long["value_column"],
            "value": long["value"],
            "value_column": long["value_column"],
            "source_row": long["source_row"],
        }
    ).sort_values(["source_row", "year"], kind="stable")
    return _Rows(frame, "Country Code", "Year")


def _to_indicators(rows: _Rows, path: Path, root, countries, metadata) -> pd.DataFrame:
    """Check, filter and label the long rows of one WDI file (the steps all layouts share)."""
    frame = rows.frame.copy()
    frame["code"] = frame["code"].str.strip()
    raise_at_first(
        frame,
        ~frame["code"].fillna("").str.fullmatch(r"[A-Z0-9]{3}"),
        path,
        "code",
        "malformed country code",
        "a three-letter ISO3 or World Bank code",
        label=rows.code_column,
    )
    frame["year"] = parse_year_series(frame, "year", path, label=rows.year_column)
    frame["value"] = parse_float_series(frame, "value", path, label=frame["value_column"])
    require_unique(
        frame, ["indicator", "code", "year"], path, rows.code_column, "indicator, country and year"
    )
    countries_known = schema.known_iso3() - set(schema.PSEUDO_ISO3)
    keep = frame["code"].isin(countries_known) & frame["value"].notna()
    if metadata is not None:
        keep &= frame["code"].isin(_economies(Path(metadata), frame, path, rows.code_column))
    if countries is not None:
        keep &= frame["code"].isin(set(countries))
    frame = frame[keep]
    names = frame["indicator_name"].str.strip()
    table = pd.DataFrame(
        {
            "iso3": frame["code"],
            "frequency": "A",
            "period": frame["year"].astype(str),
            "indicator": frame["indicator"],
            "indicator_name": names.where(
                ~frame["indicator"].str.startswith("MS.MIL."), names + SIPRI_NOTE
            ),
            "value": frame["value"],
            "unit": names.map(wdi_unit),
            "source": frame["source"],
            "flags": np.where(names.str.contains(ILO_NOTE, regex=False), "modelled", None),
            "source_file": source_label(path, root),
            "source_row": frame["source_row"],
        }
    )
    return finish_table("indicators", table)


def _economies(metadata: Path, frame: pd.DataFrame, path: Path, code_column: str) -> set[str]:
    """Codes the WB country metadata lists with a Region; a code it does not list is an error
    (it can be neither told apart as an aggregate nor trusted as a country)."""
    table = read_csv_table(metadata, METADATA_COLUMNS)
    listed = set(table["Country Code"].str.strip())
    raise_at_first(
        frame,
        ~frame["code"].isin(listed),
        path,
        "code",
        "unknown country code",
        f"a code listed in {Path(metadata).name}",
        label=code_column,
    )
    return set(table.loc[table["Region"].notna(), "Country Code"].str.strip())


def wdi_unit(name: str) -> str:
    """Unit of a WDI series, read off its name: the last parenthesised part once the
    "(modeled ILO estimate)" note is removed ("GDP (current US$)" → "current US$", "Poverty
    headcount ratio at $3.00 a day (2021 PPP) (% of population)" → "% of population"). WDI names
    without one are head counts ("Population, total", "Net migration") → "number"."""
    parts = re.findall(r"\(([^()]*)\)", name.replace(ILO_NOTE, ""))
    return parts[-1].strip() if parts else "number"


def derive_remittances_share(indicators: pd.DataFrame) -> pd.DataFrame:
    """Remittances as % of GDP = 100 × BX.TRF.PWKR.CD.DT / NY.GDP.MKTP.CD, per source, country
    and year where both exist (no gap is filled). WDI's own BX.TRF.PWKR.DT.GD.ZS is not in the
    mirror, so the ratio is formed here from one vintage and labelled as ours: code
    ``BX.TRF.PWKR.CD.DT_PCT_GDP``, flag "derived", source "derived from <source>", provenance
    of the remittances row."""
    key = ["source", "iso3", "frequency", "period"]
    remittances = indicators[indicators["indicator"].eq(REMITTANCES) & indicators["value"].notna()]
    gdp = indicators[indicators["indicator"].eq(GDP) & indicators["value"].notna()]
    pairs = remittances.merge(
        gdp[[*key, "value", "source_file", "source_row"]], on=key, suffixes=("", "_gdp")
    )
    bad = pairs[pairs["value_gdp"] <= 0]
    if len(bad):
        row = bad.iloc[0]
        raise DataError(
            row["source_file_gdp"],
            "GDP is not positive, so no share can be formed",
            row=int(row["source_row_gdp"]),
            column="value",
            found=row["value_gdp"],
            expected="GDP > 0",
        )
    table = pd.DataFrame(
        {
            "iso3": pairs["iso3"],
            "frequency": pairs["frequency"],
            "period": pairs["period"],
            "indicator": REMITTANCES_SHARE,
            "indicator_name": "Personal remittances, received (% of GDP), derived as "
            f"100 × {REMITTANCES} / {GDP}",
            "value": 100 * pairs["value"] / pairs["value_gdp"],
            "unit": "% of GDP",
            "source": "derived from " + pairs["source"],
            "flags": "derived",
            "source_file": pairs["source_file"],
            "source_row": pairs["source_row"],
        }
    )
    return finish_table("indicators", table)


def read_raw(
    paths: list[Path], ctx: ReadContext, vintage, first_year: int | None = None
) -> pd.DataFrame:
    """Registry reader: the WDI mirror files for every economy, plus the Central Asia extract for
    the case countries and only the indicators the mirror files lack: one row per (indicator,
    country, year), so the table's key holds although both carry the same vintage label."""
    metadata = next(p for p in paths if p.name.startswith("WDI_Metadata_Country"))
    mirror = [
        p for p in paths if p.name.startswith("WDI_") and p.suffix == ".csv" and p != metadata
    ]
    extracts = [p for p in paths if p.suffix == ".csv" and not p.name.startswith("WDI_")]
    frames = [read_wdi(p, root=ctx.root, metadata=metadata, vintage=vintage) for p in mirror]
    covered = {code for frame in frames for code in frame["indicator"].unique()}
    for path in extracts:
        frame = read_wdi(path, root=ctx.root, countries=set(CASE_COUNTRIES), vintage=vintage)
        frames.append(frame[~frame["indicator"].isin(covered)])
    return from_year(concat(frames), first_year)
