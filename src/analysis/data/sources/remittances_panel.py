"""A third-party remittances panel (Fozich, ``remittances-central-asia``) → ``indicators``.

Not an official release: it is kept only to cross-check the remittance share derived from WDI
(``wdi.derive_remittances_share``), and every row says it is a copy (flag "secondary_copy") or
the panel author's own transformation (flag "derived").
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from .. import schema
from ._common import (
    ReadContext,
    finish_table,
    parse_float_series,
    parse_year_series,
    raise_at_first,
    read_csv_table,
    require_unique,
    source_label,
)
from .countries import CASE_COUNTRIES

FOZICH_COLUMNS = ("iso3c", "country", "year", "remit_gdp", "rus_gdp_growth", "rub_depr")
_FOZICH = "Fozich/remittances-central-asia data/panel.csv"


class _PanelSeries(NamedTuple):
    column: str
    iso3: str | None  # None: the row's own country; else the series belongs to this country
    indicator: str
    indicator_name: str
    unit: str
    flags: str
    source: str


FOZICH_SERIES = (
    _PanelSeries(
        "remit_gdp",
        None,
        "BX.TRF.PWKR.DT.GD.ZS",
        "Personal remittances, received (% of GDP) [third-party copy, rounded to 2 dp]",
        "% of GDP",
        "secondary_copy",
        f"{_FOZICH} (third-party copy of World Bank WDI)",
    ),
    _PanelSeries(
        "rus_gdp_growth",
        "RUS",
        "NY.GDP.MKTP.KD.ZG",
        "GDP growth (annual %) [Russia; third-party copy, rounded to 2 dp]",
        "annual %",
        "secondary_copy",
        f"{_FOZICH} (third-party copy of World Bank WDI)",
    ),
    _PanelSeries(
        "rub_depr",
        "RUS",
        "FOZICH.RUB_DEPR",
        "Rouble depreciation against the US$: the panel author's Δlog of PA.NUS.FCRF, in %",
        "% (100 × Δlog of RUB per US$)",
        "derived",
        f"{_FOZICH} (the author's own transformation of World Bank WDI PA.NUS.FCRF)",
    ),
)


def read_fozich_panel(
    path: Path, root: Path | None = None, countries: Iterable[str] | None = None
) -> pd.DataFrame:
    """Read the panel: one indicators row per stated cell (a blank cell gives no row).

    ``remit_gdp`` is WDI's BX.TRF.PWKR.DT.GD.ZS; ``rus_gdp_growth`` is Russia's
    NY.GDP.MKTP.KD.ZG, repeated on every country's row, so it becomes one RUS row per year (the
    copies must agree); ``rub_depr`` is the author's own transformation, under its own code.
    """
    path = Path(path)
    raw = read_csv_table(path, FOZICH_COLUMNS)
    raw["iso3c"] = raw["iso3c"].str.strip()
    raise_at_first(
        raw,
        ~raw["iso3c"].isin(schema.known_iso3()),
        path,
        "iso3c",
        "unknown country code",
        "an ISO3 code in the country table",
    )
    raw["year"] = parse_year_series(raw, "year", path)
    require_unique(raw, ["iso3c", "year"], path, "iso3c", "country and year")
    parts = []
    for series in FOZICH_SERIES:
        part = pd.DataFrame(
            {
                "iso3": series.iso3 or raw["iso3c"],
                "period": raw["year"].astype(str),
                "value": parse_float_series(raw, series.column, path),
                "source_row": raw["source_row"],
            }
        ).dropna(subset=["value"])
        if series.iso3:
            part = _one_copy_per_year(part, path, series.column)
        parts.append(
            part.assign(
                indicator=series.indicator,
                indicator_name=series.indicator_name,
                unit=series.unit,
                flags=series.flags,
                source=series.source,
            )
        )
    table = pd.concat(parts, ignore_index=True).assign(
        frequency="A", source_file=source_label(path, root)
    )
    if countries is not None:
        table = table[table["iso3"].isin(set(countries))]
    return finish_table("indicators", table)


def _one_copy_per_year(part: pd.DataFrame, path: Path, column: str) -> pd.DataFrame:
    """A series repeated on each country's row: every copy of a year must carry the same number."""
    first = part.groupby("period")["value"].transform("first")
    raise_at_first(
        part.rename(columns={"value": column}),
        part["value"] != first,
        path,
        column,
        "the copies of one year's value disagree",
        first.map(lambda value: f"{value} as on the year's first row"),
    )
    return part.drop_duplicates("period", keep="first")


def read_raw(paths: list[Path], ctx: ReadContext) -> pd.DataFrame:
    """Registry reader: the secondary remittances panel, case countries only."""
    return read_fozich_panel(paths[0], root=ctx.root, countries=set(CASE_COUNTRIES))
