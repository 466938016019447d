"""Contiguity between states → the canonical ``contiguity`` table (one row per pair and spell).

Two sources, both as converted from Steven Miller's peacesciencer package (shared
``global/crosswalks/PROVENANCE.md`` §4b):

* :func:`read_cow_contdir`: COW Direct Contiguity v3.2 "master records", made *directed* by
  Miller (each spell written twice, A-B and B-A). ``conttype`` 1 = land or river border,
  2-5 = separated by at most 12/24/150/400 miles of water, 0 = Miller's rows for periods with
  no contiguity. The begin and end are COW ``YYYYMM`` months written as dates (the day is
  meaningless), so they are kept with precision "month". COW codes.
* :func:`read_gw_mindist_zero`: CShapes 2.0 minimum distance between Gleditsch-Ward states,
  filtered to distance 0 (a shared boundary), one row per pair and year at year end. Runs of
  consecutive years of a pair become one spell (precision "year"): a lossless reshape that
  keeps the table small; ``source_row`` is the line of the spell's first year. GW codes.

Both become non-directed pairs with ``state1 < state2``. For the directed COW file every
spell must appear in both orders with the same values; a spell seen only once is an error
(dropping one order would then lose information silently).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ._common import (
    ReadContext,
    finish_table,
    parse_date_series,
    parse_float_series,
    parse_int_series,
    raise_at_first,
    read_csv_table,
    require_filled,
    source_label,
)

COW_COLUMNS = ("ccode1", "ccode2", "conttype", "stdate", "enddate")
MINDIST_COLUMNS = ("gwcode1", "gwcode2", "year", "mindist")
ISO_DATE = r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"


def read_cow_contdir(path: Path, root: Path | None = None) -> pd.DataFrame:
    """Read peacesciencer's directed COW Direct Contiguity file into non-directed spells."""
    path = Path(path)
    raw = read_csv_table(path, COW_COLUMNS)
    require_filled(raw, COW_COLUMNS, path)
    codes = {c: parse_int_series(raw, c, path, minimum=1) for c in ("ccode1", "ccode2")}
    conttype = parse_int_series(raw, "conttype", path)
    raise_at_first(
        raw,
        ~conttype.isin([0, 1, 2, 3, 4, 5]),
        path,
        "conttype",
        "unknown contiguity type",
        "0 (none) or 1-5 (COW)",
    )
    raise_at_first(
        raw,
        codes["ccode1"] == codes["ccode2"],
        path,
        "ccode2",
        "a state paired with itself",
        "two different COW codes",
    )
    dates = {
        c: parse_date_series(raw, c, path, ISO_DATE, "yyyy-mm-dd") for c in ("stdate", "enddate")
    }
    spells = pd.DataFrame(
        {
            "low": np.minimum(codes["ccode1"], codes["ccode2"]),
            "high": np.maximum(codes["ccode1"], codes["ccode2"]),
            "conttype": conttype,
            "start": dates["stdate"],
            "end": dates["enddate"],
        }
    )
    key = ["low", "high", "conttype", "start", "end"]
    copies = spells.groupby(key)["low"].transform("size")
    repeated = pd.DataFrame({**codes, "start": dates["stdate"]}).duplicated()
    raise_at_first(
        raw,
        (copies != 2) | repeated,
        path,
        "ccode2",
        "a directed spell without its mirror (or repeated)",
        "each spell once as ccode1-ccode2 and once as ccode2-ccode1",
    )
    keep = codes["ccode1"] < codes["ccode2"]
    frame = pd.DataFrame(
        {
            "dataset": "cow_contdir",
            "system": "cow",
            "state1": codes["ccode1"],
            "state2": codes["ccode2"],
            "conttype": conttype,
            "mindist_km": np.nan,
            "date_start": dates["stdate"],
            "date_end": dates["enddate"],
            "date_precision": "month",
            "source_file": source_label(path, root),
            "source_row": raw["source_row"],
        }
    )[keep.to_numpy()]
    return finish_table("contiguity", frame)


def read_gw_mindist_zero(path: Path, root: Path | None = None) -> pd.DataFrame:
    """Read CShapes GW pairs at distance 0 (one row per pair-year) into spells of years."""
    path = Path(path)
    raw = read_csv_table(path, MINDIST_COLUMNS)
    require_filled(raw, MINDIST_COLUMNS, path)
    codes = {c: parse_int_series(raw, c, path, minimum=1) for c in ("gwcode1", "gwcode2", "year")}
    distance = parse_float_series(raw, "mindist", path)
    raise_at_first(
        raw,
        distance != 0,
        path,
        "mindist",
        "a distance other than 0",
        "only pairs with a shared boundary (mindist 0), as in the filtered file",
    )
    raise_at_first(
        raw,
        codes["gwcode1"] >= codes["gwcode2"],
        path,
        "gwcode2",
        "pair not in ascending order",
        "gwcode1 < gwcode2 (non-directed)",
    )
    rows = pd.DataFrame(
        {
            "state1": codes["gwcode1"],
            "state2": codes["gwcode2"],
            "year": codes["year"],
            "source_row": raw["source_row"],
        }
    ).astype(int)
    raise_at_first(
        raw,
        rows.duplicated(["state1", "state2", "year"]),
        path,
        "year",
        "pair-year repeated",
        "each pair and year once",
    )
    rows = rows.sort_values(["state1", "state2", "year"], kind="stable")
    pair = ["state1", "state2"]
    new_spell = rows.groupby(pair)["year"].diff().ne(1)
    spell = new_spell.cumsum()
    spells = rows.groupby(spell).agg(
        state1=("state1", "first"),
        state2=("state2", "first"),
        first=("year", "first"),
        last=("year", "last"),
        source_row=("source_row", "first"),
    )
    frame = pd.DataFrame(
        {
            "dataset": "cshapes_mindist",
            "system": "gw",
            "state1": spells["state1"],
            "state2": spells["state2"],
            "conttype": pd.NA,
            "mindist_km": 0.0,
            "date_start": spells["first"].astype(str) + "-01-01",
            "date_end": spells["last"].astype(str) + "-12-31",
            "date_precision": "year",
            "source_file": source_label(path, root),
            "source_row": spells["source_row"],
        }
    )
    return finish_table("contiguity", frame)


def read_raw_cow(paths: list[Path], ctx: ReadContext) -> pd.DataFrame:
    """Registry reader: COW direct contiguity."""
    return read_cow_contdir(paths[0], root=ctx.root)


def read_raw_cshapes(paths: list[Path], ctx: ReadContext) -> pd.DataFrame:
    """Registry reader: CShapes minimum distances (pairs at distance zero)."""
    return read_gw_mindist_zero(paths[0], root=ctx.root)
