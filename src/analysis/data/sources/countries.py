"""Country table from the `countrycode` R package's code list (Arel-Bundock et al. 2018).

UCDP files name countries by Gleditsch-Ward numbers, SIPRI by English names, WDI by ISO3; this
table is the one crosswalk between them. GW numbers that have no ISO3 equivalent (e.g.
historical states) are simply absent: a reader meeting one reports it rather than guessing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ...errors import DataError
from ._common import ReadContext, finish_table, parse_int_series, read_csv_table, source_label

CODELIST_COLUMNS = ("iso3c", "country.name.en", "gwn", "cown", "region")


# The case study's countries: the two border states, their other Central Asian neighbours and
# Russia, the main remittance-sending economy.
CASE_COUNTRIES = ("KAZ", "KGZ", "RUS", "TJK", "TKM", "UZB")


def read_countrycode_codelist(path: Path, root: Path | None = None) -> pd.DataFrame:
    """Read ``countrycode_codelist*.csv`` into the canonical ``countries`` table."""
    raw = read_csv_table(path, CODELIST_COLUMNS)
    raw = raw[raw["iso3c"].notna()].copy()
    frame = pd.DataFrame(
        {
            "iso3": raw["iso3c"].str.strip(),
            "name": raw["country.name.en"],
            "gwno": parse_int_series(raw, "gwn", path, minimum=1),
            "cown": parse_int_series(raw, "cown", path, minimum=1),
            "wb_region": raw["region"],
            "source_file": source_label(path, root),
            "source_row": raw["source_row"],
        }
    )
    return finish_table("countries", frame)


def gw_to_iso3(countries: pd.DataFrame) -> dict[int, str]:
    """Map Gleditsch-Ward numbers to ISO3; a GW number shared by two codes is an error."""
    pairs = countries.dropna(subset=["gwno"])
    clash = pairs[pairs["gwno"].duplicated(keep=False)]
    if len(clash):
        first = clash.iloc[0]
        raise DataError(
            first["source_file"],
            "two countries share one Gleditsch-Ward number",
            row=int(first["source_row"]),
            column="gwn",
            found=sorted(clash[clash["gwno"] == first["gwno"]]["iso3"]),
            expected="one ISO3 code per GW number",
        )
    return {int(g): iso for g, iso in zip(pairs["gwno"], pairs["iso3"])}


def read_raw(paths: list[Path], ctx: ReadContext) -> pd.DataFrame:
    """Registry reader: the countrycode code list (the crosswalk every later reader uses)."""
    return read_countrycode_codelist(paths[0], root=ctx.root)
