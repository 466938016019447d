"""UCDP data: the conflict-year family into ``conflict_years``, GED events into ``incidents``.

**Conflict-year files.** :func:`read_ucdp_table` reads the UCDP/PRIO Armed Conflict Dataset
(conflict-year), the Dyadic dataset, Battle-Related Deaths (dyadic), Non-State and One-Sided
Violence in their v23.1-and-later column sets. The dataset is recognised from the header (one
entry in :data:`LAYOUTS` per dataset: which raw column fills which contract column), so a
file's name never decides how it is read. Accepted spellings, because the shared copies are
not all official downloads (``global/ucdp/PROVENANCE.md``):

* comma or semicolon delimiters (the 25.1 ACD copy is a semicolon Excel re-save);
* dates as ISO ``yyyy-mm-dd`` (official), ``m/d/yyyy`` (Excel, US locale: ACD 23.1) or
  ``d-m-yyyy`` (Excel, day first: ACD 25.1). One format per file; a slash date is month first
  and a dash date day first, so a file written the other way round fails loudly on its first
  day above 12 ("impossible date") instead of being silently misread;
* one known broken record, repaired explicitly (see :data:`SPLIT_RECORD`); any other
  incomplete record is a DataError.

Deaths: BRD ``bd_*`` and the Non-State/One-Sided ``*_fatality_estimate`` columns become
``deaths_best/low/high``; ACD and Dyadic state none, so theirs stay missing (never 0).
``iso3_loc`` is ``gwno_loc``/``gwno_location`` mapped to ISO3, joined by ";" in the file's order.

**GED events.** :func:`read_ucdp_ged` reads the GED event CSV as UCDP publishes it, column-wise
so that the ~400k-row global file reads in seconds.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import DataError
from .. import schema
from ._common import (
    ReadContext,
    concat,
    detect_date_format,
    join_present,
    parse_date_series,
    parse_float_series,
    parse_int_series,
    raise_at_first,
    read_csv_table,
    read_large_csv_table,
    read_text,
    source_label,
)
from .countries import gw_to_iso3


class KnownDefectRepaired(UserWarning):
    """A documented defect of a shipped raw file was repaired while reading it."""


# Gleditsch-Ward numbers that UCDP uses and the countrycode crosswalk does not map (shared
# global/PROVENANCE.md §4a). Present-day states whose GW number countrycode lacks or numbers
# differently (Yemen: no gwn; Vietnam: gwn 815, GW's pre-1893 Annam; Grenada: a GW microstate):
GW_ADDED_ISO3 = {55: "GRD", 678: "YEM", 816: "VNM"}
# ... and states that no longer exist, so have no ISO3 code: they stay in gwno_loc and are left
# out of iso3_loc (a GED event there gets no country). Any other unmapped number is an error.
GW_WITHOUT_ISO3 = {
    345: "Serbia (Yugoslavia), in UCDP to 1999",
    680: "South Yemen, 1967-1990",
    751: "Hyderabad, 1947-1948",
    817: "South Vietnam, 1954-1975",
}

GW_EXPECTED = "GW numbers in the country crosswalk, or former states in ucdp.GW_WITHOUT_ISO3"


def gw_lookup(countries: pd.DataFrame) -> dict[int, str | None]:
    """GW number -> ISO3 (None for a state with no ISO3): the crosswalk plus the two lists above."""
    known = set(countries["iso3"])
    lookup: dict[int, str | None] = dict.fromkeys(GW_WITHOUT_ISO3)
    lookup.update({gw: iso3 for gw, iso3 in GW_ADDED_ISO3.items() if iso3 in known})
    lookup.update(gw_to_iso3(countries))  # the crosswalk wins wherever it has the number
    return lookup


# --- conflict-year tables ------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """One UCDP dataset: which raw column fills each contract column it has."""

    dataset: str
    columns: dict[str, str]  # contract column -> raw column


_COMMON = {c: c for c in ("conflict_id", "year", "location", "region", "version")}
_STATE_BASED = {
    **_COMMON,
    **{
        c: c
        for c in (
            "side_a",
            "side_b",
            "incompatibility",
            "territory_name",
            "type_of_conflict",
            "gwno_a",
            "gwno_b",
            "gwno_loc",
        )
    },
}
_FATALITY_ESTIMATES = {
    "deaths_best": "best_fatality_estimate",
    "deaths_low": "low_fatality_estimate",
    "deaths_high": "high_fatality_estimate",
}
LAYOUTS = (
    Layout(
        "acd",
        {
            **_STATE_BASED,
            "intensity_level": "intensity_level",
            "start_date": "start_date",
            "ep_end_date": "ep_end_date",
        },
    ),
    Layout(
        "dyadic",
        {
            **_STATE_BASED,
            "dyad_id": "dyad_id",
            "intensity_level": "intensity_level",
            "start_date": "start_date",
        },
    ),
    Layout(
        "brd",
        {
            **_STATE_BASED,
            "dyad_id": "dyad_id",
            "location": "location_inc",
            "deaths_best": "bd_best",
            "deaths_low": "bd_low",
            "deaths_high": "bd_high",
        },
    ),
    Layout(
        "nonstate",
        {
            **_COMMON,
            "dyad_id": "dyad_id",
            "side_a": "side_a_name",
            "side_b": "side_b_name",
            "gwno_loc": "gwno_location",
            "start_date": "start_date",
            "ep_end_date": "ep_end_date",
            **_FATALITY_ESTIMATES,
        },
    ),
    Layout(
        "onesided",
        {
            **_COMMON,
            "dyad_id": "dyad_id",
            "side_a": "actor_name",
            "gwno_a": "gwnoa",
            "gwno_loc": "gwno_location",
            **_FATALITY_ESTIMATES,
        },
    ),
)
_INTEGERS = (
    "conflict_id",
    "dyad_id",
    "year",
    "incompatibility",
    "type_of_conflict",
    "intensity_level",
    "deaths_best",
    "deaths_low",
    "deaths_high",
)
_DATES = ("start_date", "ep_end_date")
UCDP_DATE_FORMATS = {
    "yyyy-mm-dd": r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})",
    "m/d/yyyy": r"(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4})",
    "d-m-yyyy": r"(?P<day>\d{1,2})-(?P<month>\d{1,2})-(?P<year>\d{4})",
}
SORT_ORDER = ["dataset", "version", "conflict_id", "dyad_id", "year"]

# The official ACD column order; the known split record is recognised only in a file laid out so.
ACD_COLUMNS = (
    "conflict_id",
    "location",
    "side_a",
    "side_a_id",
    "side_a_2nd",
    "side_b",
    "side_b_id",
    "side_b_2nd",
    "incompatibility",
    "territory_name",
    "year",
    "intensity_level",
    "cumulative_intensity",
    "type_of_conflict",
    "start_date",
    "start_prec",
    "start_date2",
    "start_prec2",
    "ep_end",
    "ep_end_date",
    "ep_end_prec",
    "gwno_a",
    "gwno_a_2nd",
    "gwno_b",
    "gwno_b_2nd",
    "gwno_loc",
    "region",
    "version",
)
# The one known broken record (global/ucdp/PROVENANCE.md): in the Excel re-save of ACD 25.1 the
# record of conflict 11349 (China vs ETIM) for 2008 stops after territory_name (line 42) and the
# rest sits on the next line exactly as below: one cell to the right, with "ep_end_prec,gwno_a,
# gwno_a_2nd" and "gwno_b,gwno_b_2nd" each merged into one cell by commas. Only this exact pair
# of lines is repaired; ACD 23.1 holds the record intact (a test compares the two).
SPLIT_RECORD = {"conflict_id": "11349", "territory_name": "East Turkestan"}
SPLIT_CONTINUATION = (
    "",
    "2008",
    "1",
    "0",
    "3",
    "5-4-1990",
    "1",
    "10-8-2008",
    "1",
    "1",
    "29-8-2008",
    ",710,",
    ",",
    "710",
    "3",
    "25.1",
) + ("",) * 12


def read_ucdp_table(path: Path, countries: pd.DataFrame, root: Path | None = None) -> pd.DataFrame:
    """Read one UCDP conflict-year file into ``conflict_years``.

    ACD, Dyadic, BRD, Non-State or One-Sided, recognised from the header. Rows are sorted by
    dataset, version, conflict_id, dyad_id, year.
    """
    path = Path(path)
    delimiter, header = _sniff_header(path)
    layout = detect_layout(path, header)
    raw = read_csv_table(path, list(dict.fromkeys(layout.columns.values())), delimiter=delimiter)
    if layout.dataset == "acd":
        raw = _repair_split_record(raw, path)
    incomplete = raw["conflict_id"].isna() | raw["year"].isna()
    if incomplete.any():
        key = "conflict_id" if pd.isna(raw.loc[incomplete, "conflict_id"].iloc[0]) else "year"
        raise_at_first(
            raw,
            incomplete,
            path,
            key,
            "incomplete record (its key is blank)",
            "every record on one line, with its conflict_id and year",
        )
    dates = [layout.columns[c] for c in _DATES if c in layout.columns]
    date_format = detect_date_format(raw, dates, path, UCDP_DATE_FORMATS)
    frame = pd.DataFrame(index=raw.index)
    for column in schema.columns("conflict_years"):
        source = layout.columns.get(column)
        if source is None:
            frame[column] = pd.NA
        elif column in _INTEGERS:
            frame[column] = parse_int_series(raw, source, path)
        elif column in _DATES:
            frame[column] = parse_date_series(
                raw, source, path, UCDP_DATE_FORMATS[date_format], date_format
            )
        else:
            frame[column] = raw[source].str.strip()
    frame["dataset"] = layout.dataset
    frame["iso3_loc"] = _iso3_list(raw, layout.columns["gwno_loc"], path, gw_lookup(countries))
    frame["source_file"] = source_label(path, root)
    frame["source_row"] = raw["source_row"]
    frame = frame.sort_values(SORT_ORDER, kind="stable")
    return schema.validate("conflict_years", schema.coerce("conflict_years", frame))


def _sniff_header(path: Path) -> tuple[str, list[str]]:
    """The delimiter (comma, or semicolon for Excel re-saves) and the header's column names."""
    first = read_text(path).splitlines()[0]
    if "," in first:
        delimiter = ","
    elif ";" in first:
        delimiter = ";"
    else:
        raise DataError(
            path,
            "cannot tell the delimiter",
            row=1,
            found=first[:80],
            expected="a comma- or semicolon-delimited UCDP header",
        )
    return delimiter, [name.strip().strip('"') for name in first.split(delimiter)]


def detect_layout(path: Path, header: list[str]) -> Layout:
    """The dataset whose columns the header holds; else the nearest one (reading it then names
    the missing columns); a header near none of them is not a UCDP conflict-year file."""

    def share_missing(layout: Layout) -> float:
        wanted = set(layout.columns.values())
        return len(wanted - set(header)) / len(wanted)

    nearest = min(LAYOUTS, key=share_missing)
    if share_missing(nearest) > 0.5:
        raise DataError(
            path,
            "header matches no UCDP conflict-year dataset",
            row=1,
            found=header[:6],
            expected="the columns of ACD, Dyadic, BRD, Non-State or One-Sided (v23.1 or later)",
        )
    return nearest


def _repair_split_record(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Rejoin the known split record of ACD 25.1 (see :data:`SPLIT_RECORD`), warning that it did."""
    if tuple(raw.columns[:-1]) != ACD_COLUMNS:  # last column is source_row
        return raw
    cells = raw[list(ACD_COLUMNS)].fillna("")
    tail = list(ACD_COLUMNS[ACD_COLUMNS.index("territory_name") + 1 :])
    heads = raw.index[
        cells["conflict_id"].eq(SPLIT_RECORD["conflict_id"])
        & cells["territory_name"].eq(SPLIT_RECORD["territory_name"])
        & cells[tail].eq("").all(axis=1)
    ]
    for head in heads:
        line = int(raw.at[head, "source_row"])
        follows = raw.index[raw["source_row"] == line + 1]
        if len(follows) != 1 or tuple(cells.loc[follows[0]]) != SPLIT_CONTINUATION:
            continue  # not the known defect: the incomplete-record check reports it
        rest = SPLIT_CONTINUATION
        rejoined = [*rest[1:11], *rest[11].split(","), *rest[12].split(","), *rest[13:16]]
        raw.loc[head, tail] = [value or None for value in rejoined]
        raw = raw.drop(index=follows)
        warnings.warn(
            f"{path.name}: lines {line}-{line + 1}: rejoined the record of conflict "
            f"{SPLIT_RECORD['conflict_id']} (2008) that the Excel re-save split across two lines "
            "(known defect, see global/ucdp/PROVENANCE.md)",
            KnownDefectRepaired,
            stacklevel=3,
        )
    return raw.reset_index(drop=True)


def _iso3_list(raw: pd.DataFrame, column: str, path: Path, lookup: dict) -> pd.Series:
    """ISO3 codes of a cell's GW numbers ("702, 703" -> "TJK;KGZ"), in the cell's order."""
    codes = raw[column].str.split(",").explode().str.strip()
    codes = codes[codes.notna() & codes.ne("")]
    number = pd.to_numeric(codes, errors="coerce")
    bad = ~number.isin(list(lookup))
    if bad.any():
        row = codes.index[np.flatnonzero(bad.to_numpy())[0]]
        code = codes.loc[bad].iloc[0]
        raise DataError(
            path,
            f"unknown Gleditsch-Ward number {code!r}",
            row=int(raw.at[row, "source_row"]),
            column=column,
            found=raw.at[row, column],
            expected=GW_EXPECTED,
        )
    iso3 = number.map(lookup).dropna()
    return iso3.groupby(level=0).agg(";".join).reindex(raw.index)


# --- GED events ----------------------------------------------------------------------------

GED_COLUMNS = (
    "id",
    "type_of_violence",
    "side_a",
    "side_b",
    "source_article",
    "source_date",
    "source_headline",
    "where_coordinates",
    "where_description",
    "adm_1",
    "adm_2",
    "latitude",
    "longitude",
    "country_id",
    "date_prec",
    "date_start",
    "date_end",
    "deaths_a",
    "deaths_b",
    "deaths_civilians",
    "deaths_unknown",
    "best",
    "high",
    "low",
    "gwnoa",
    "gwnob",
)
GED_VIOLENCE = {1: "state_based", 2: "non_state", 3: "one_sided"}
GED_VIOLENCE_LABEL = {1: "state-based conflict", 2: "non-state conflict", 3: "one-sided violence"}
# GED date_prec (GED codebook) -> our precision and a note; date_start..date_end stay as GED gives
# them, so a 2-6 day or one-week span keeps its two ends under "day".
GED_DATE_PRECISION = {
    1: ("day", None),
    2: ("day", "GED date_prec 2: the event falls within this span of 2-6 days"),
    3: ("day", "GED date_prec 3: only the week is known"),
    4: ("month", "GED date_prec 4: only the month is known (or a span of 8-30 days)"),
    5: ("year", "GED date_prec 5: only the year is known (or a span longer than a month)"),
}
# GED CSVs write dates as ISO, in some releases with a midnight time ("2021-04-29 00:00:00.000").
GED_DATE = r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?: 00:00:00(?:\.0+)?)?"
GED_FATALITIES_BASIS = "UCDP GED best estimate (low and high estimates alongside)"


def read_ucdp_ged(path: Path, countries: pd.DataFrame, root: Path | None = None) -> pd.DataFrame:
    """Read a UCDP GED event CSV into ``incidents`` (sorted by date_start, date_end, GED id).

    ``country`` is the ISO3 code of ``country_id``; ``dyad`` ("AAA-BBB", alphabetical) only when
    both ``gwnoa`` and ``gwnob`` are states with ISO3 codes (an interstate event), else missing.
    ``casualty_text`` keeps GED's split of the best estimate by side.
    """
    path = Path(path)
    raw = read_large_csv_table(path, GED_COLUMNS)
    lookup = gw_lookup(countries)
    raise_at_first(raw, raw["id"].isna(), path, "id", "missing value", "a GED event id")
    ints = {
        c: parse_int_series(raw, c, path)
        for c in (
            "id",
            "type_of_violence",
            "date_prec",
            "country_id",
            "gwnoa",
            "gwnob",
            "best",
            "low",
            "high",
            "deaths_a",
            "deaths_b",
            "deaths_civilians",
            "deaths_unknown",
        )
    }
    for column, allowed in (("type_of_violence", GED_VIOLENCE), ("date_prec", GED_DATE_PRECISION)):
        raise_at_first(
            raw,
            ~ints[column].isin(list(allowed)),
            path,
            column,
            "unknown code",
            f"one of {list(allowed)}",
        )
    precision = ints["date_prec"].map({code: p for code, (p, _) in GED_DATE_PRECISION.items()})
    note = ints["date_prec"].map({code: n for code, (_, n) in GED_DATE_PRECISION.items()})
    iso_a, iso_b = (_iso3_of(raw, ints[c], c, path, lookup) for c in ("gwnoa", "gwnob"))
    interstate = iso_a.notna() & iso_b.notna()
    pair = np.sort(
        np.stack([iso_a.fillna("").to_numpy(str), iso_b.fillna("").to_numpy(str)]), axis=0
    )
    version = re.search(r"v(\d+)_(\d+)", path.name)
    reference = f"UCDP GED {version[1]}.{version[2]} id " if version else "UCDP GED id "
    frame = pd.DataFrame(
        {
            "incident_id": "GED-" + ints["id"].astype(str),
            "source_dataset": "ucdp_ged",
            "date_start": parse_date_series(raw, "date_start", path, GED_DATE, "yyyy-mm-dd"),
            "date_end": parse_date_series(raw, "date_end", path, GED_DATE, "yyyy-mm-dd"),
            "date_precision": precision,
            "date_note": note,
            "dyad": pd.Series(
                np.char.add(np.char.add(pair[0], "-"), pair[1]), index=raw.index
            ).where(interstate),
            "country": _iso3_of(raw, ints["country_id"], "country_id", path, lookup),
            "location": raw["where_coordinates"],
            "admin_units": join_present([raw["adm_1"], raw["adm_2"]], "; "),
            "latitude": parse_float_series(raw, "latitude", path),
            "longitude": parse_float_series(raw, "longitude", path),
            "incident_type": ints["type_of_violence"].map(GED_VIOLENCE_LABEL),
            "event_category": ints["type_of_violence"].map(GED_VIOLENCE),
            "actors": join_present([raw["side_a"], raw["side_b"]], " vs "),
            "fatalities": ints["best"],
            "fatalities_low": ints["low"],
            "fatalities_high": ints["high"],
            "fatalities_basis": GED_FATALITIES_BASIS,
            "injured": pd.NA,
            "displaced": pd.NA,
            "casualty_text": _ged_casualty_text(ints),
            "casualty_attribution": pd.NA,
            "source_reference": reference + ints["id"].astype(str),
            "source_title": raw["source_headline"],
            "source_date": raw["source_date"],
            "secondary_sources": raw["source_article"],
            "notes": raw["where_description"],
            "corrections": pd.NA,
            "source_file": source_label(path, root),
            "source_row": raw["source_row"],
        }
    )
    frame["_id"] = ints["id"]
    frame = frame.sort_values(["date_start", "date_end", "_id"], kind="stable").drop(columns="_id")
    return schema.validate("incidents", schema.coerce("incidents", frame))


def _iso3_of(
    raw: pd.DataFrame, codes: pd.Series, column: str, path: Path, lookup: dict
) -> pd.Series:
    """ISO3 of one GW number per row: missing if blank or a former state; unknown is an error."""
    unknown = codes.notna() & ~codes.isin(list(lookup))
    raise_at_first(raw, unknown, path, column, "unknown Gleditsch-Ward number", GW_EXPECTED)
    return codes.map(lookup, na_action="ignore").astype(str)


def _ged_casualty_text(ints: dict[str, pd.Series]) -> pd.Series:
    """GED's split of its best estimate: "side A 3; side B 2; civilians 0; unknown 1"."""
    parts = [
        (label + " " + ints[column].astype(str)).where(ints[column].notna())
        for label, column in (
            ("side A", "deaths_a"),
            ("side B", "deaths_b"),
            ("civilians", "deaths_civilians"),
            ("unknown", "deaths_unknown"),
        )
    ]
    return join_present(parts, "; ")


def read_raw(paths: list[Path], ctx: ReadContext) -> pd.DataFrame:
    """Registry reader: every UCDP/PRIO table file (the layout is told by its header)."""
    return concat([read_ucdp_table(p, ctx.countries, root=ctx.root) for p in paths])


def read_raw_ged(paths: list[Path], ctx: ReadContext) -> pd.DataFrame:
    """Registry reader: UCDP GED event files."""
    return concat([read_ucdp_ged(p, ctx.countries, root=ctx.root) for p in paths])
