"""ACLED event exports into the canonical ``incidents`` table.

ACLED (Armed Conflict Location & Event Data) exports one event per row. The reader keeps what
ACLED states and adds nothing:

* **Dates.** ``event_date`` is ISO ``yyyy-mm-dd`` (current exports and the API) or
  ``15 March 2021`` (older exports), one style per file; it must agree with ``year``.
  ``time_precision`` 1 (the source gives the day) and 2 (the source gives a span of days or a
  week; ACLED dated the event within it) become precision "day", 3 (the source gives only the
  month, or a longer span) becomes "month"; 2 and 3 say so in ``date_note``.
* **Country.** ``iso`` is the ISO 3166 *numeric* code; the country table holds alpha-3 only, so
  :func:`iso_numeric_to_iso3` takes the numeric-to-alpha-3 pairs from the same countrycode
  code list (``iso3n``, ``iso3c``). A code not in that list is an error, not a blank.
* **Dyad.** ACLED names actors, not country pairs, so ``dyad`` stays missing: which border an
  event belongs to is a geographic decision for a later step, not a reading one.
* **Fatalities.** ACLED's ``fatalities`` is a reported figure (often conservative), kept as it
  is with basis "ACLED reported"; ACLED gives no low/high range, so those stay missing.
* **Categories.** ``event_category`` is ACLED's ``event_type`` (:data:`ACLED_EVENT_TYPES`);
  ``incident_type`` keeps the finer ``sub_event_type``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

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
    source_label,
)

ACLED_COLUMNS = (
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "actor2",
    "assoc_actor_2",
    "iso",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "source",
    "notes",
    "fatalities",
)
ACLED_EVENT_TYPES = {
    "Battles": "battles",
    "Explosions/Remote violence": "explosions_remote_violence",
    "Violence against civilians": "violence_against_civilians",
    "Protests": "protests",
    "Riots": "riots",
    "Strategic developments": "strategic_developments",
}
ACLED_TIME_PRECISION = {
    1: ("day", None),
    2: (
        "day",
        (
            "ACLED time_precision 2: the source gives a span of days or a week, not the day; "
            "ACLED dated the event within it"
        ),
    ),
    3: (
        "month",
        (
            "ACLED time_precision 3: the source gives only the month (or a longer span); "
            "ACLED dated the event within it"
        ),
    ),
}
ACLED_DATE_FORMATS = {
    "yyyy-mm-dd": r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})",
    "d Month yyyy": r"(?P<day>\d{1,2}) (?P<month>[A-Za-z]+) (?P<year>\d{4})",
}
CODELIST_NUMERIC = ("iso3c", "iso3n")


def iso_numeric_to_iso3(codelist: Path) -> dict[int, str]:
    """ISO 3166 numeric -> alpha-3, from the countrycode code list (``iso3n``, ``iso3c``)."""
    raw = read_csv_table(codelist, CODELIST_NUMERIC)
    raw = raw[raw["iso3c"].notna() & raw["iso3n"].notna()].reset_index(drop=True)
    numbers = parse_int_series(raw, "iso3n", codelist, minimum=1)
    raise_at_first(
        raw,
        numbers.duplicated(keep=False),
        codelist,
        "iso3n",
        "one ISO numeric code given to two countries",
        "each code once",
    )
    return dict(zip(numbers.astype(int), raw["iso3c"].str.strip()))


def read_acled(
    path: Path, iso_numeric: Mapping[int, str], root: Path | None = None
) -> pd.DataFrame:
    """Read an ACLED export CSV into ``incidents`` (sorted by date_start, then ACLED event id).

    ``iso_numeric`` is :func:`iso_numeric_to_iso3` of the countrycode code list.
    """
    path = Path(path)
    raw = read_large_csv_table(path, ACLED_COLUMNS)
    raise_at_first(
        raw,
        raw["event_id_cnty"].isna(),
        path,
        "event_id_cnty",
        "missing value",
        "an ACLED event id",
    )
    raise_at_first(raw, raw["event_date"].isna(), path, "event_date", "missing value", "a date")
    date_format = detect_date_format(raw, ["event_date"], path, ACLED_DATE_FORMATS)
    date = parse_date_series(raw, "event_date", path, ACLED_DATE_FORMATS[date_format], date_format)
    year = parse_int_series(raw, "year", path)
    raise_at_first(
        raw,
        year.notna() & year.astype(str).ne(date.str[:4]),
        path,
        "year",
        "year disagrees with event_date",
        "the year of event_date",
    )
    precision_code = parse_int_series(raw, "time_precision", path)
    raise_at_first(
        raw,
        ~precision_code.isin(list(ACLED_TIME_PRECISION)),
        path,
        "time_precision",
        "unknown code",
        f"one of {list(ACLED_TIME_PRECISION)}",
    )
    event_type = raw["event_type"].str.strip()
    raise_at_first(
        raw,
        ~event_type.isin(list(ACLED_EVENT_TYPES)),
        path,
        "event_type",
        "unknown ACLED event type",
        f"one of {list(ACLED_EVENT_TYPES)}",
    )
    frame = pd.DataFrame(
        {
            "incident_id": "ACLED-" + raw["event_id_cnty"].str.strip(),
            "source_dataset": "acled",
            "date_start": date,
            "date_end": date,
            "date_precision": precision_code.map(
                {k: p for k, (p, _) in ACLED_TIME_PRECISION.items()}
            ),
            "date_note": precision_code.map({k: n for k, (_, n) in ACLED_TIME_PRECISION.items()}),
            "dyad": pd.NA,
            "country": _country(raw, path, iso_numeric),
            "location": raw["location"],
            "admin_units": join_present([raw["admin1"], raw["admin2"], raw["admin3"]], "; "),
            "latitude": parse_float_series(raw, "latitude", path),
            "longitude": parse_float_series(raw, "longitude", path),
            "incident_type": raw["sub_event_type"],
            "event_category": event_type.map(ACLED_EVENT_TYPES),
            "actors": join_present(
                [_side(raw, "actor1", "assoc_actor_1"), _side(raw, "actor2", "assoc_actor_2")],
                " vs ",
            ),
            "fatalities": parse_int_series(raw, "fatalities", path),
            "fatalities_low": pd.NA,
            "fatalities_high": pd.NA,
            "fatalities_basis": "ACLED reported",
            "injured": pd.NA,
            "displaced": pd.NA,
            "casualty_text": pd.NA,
            "casualty_attribution": pd.NA,
            "source_reference": "ACLED event " + raw["event_id_cnty"].str.strip(),
            "source_title": pd.NA,
            "source_date": pd.NA,
            "secondary_sources": raw["source"],
            "notes": raw["notes"],
            "corrections": pd.NA,
            "source_file": source_label(path, root),
            "source_row": raw["source_row"],
        }
    )
    frame = frame.sort_values(["date_start", "incident_id"], kind="stable")
    return schema.validate("incidents", schema.coerce("incidents", frame))


def _country(raw: pd.DataFrame, path: Path, iso_numeric: Mapping[int, str]) -> pd.Series:
    """ISO3 of ACLED's numeric ``iso``; blank stays missing, an unknown code is an error."""
    codes = parse_int_series(raw, "iso", path)
    unknown = codes.notna() & ~codes.isin(list(iso_numeric))
    raise_at_first(
        raw,
        unknown,
        path,
        "iso",
        "unknown ISO 3166 numeric code",
        "a numeric code in the countrycode code list (iso3n)",
    )
    return codes.map(dict(iso_numeric), na_action="ignore").astype(str)


def _side(raw: pd.DataFrame, actor: str, associates: str) -> pd.Series:
    """ "Actor (with associated actors)", or the actor alone."""
    with_text = "(with " + raw[associates].str.strip() + ")"
    return join_present([raw[actor], with_text], " ")


def read_raw(paths: list[Path], ctx: ReadContext) -> pd.DataFrame:
    """Registry reader: ACLED exports; ACLED's numeric ISO codes are mapped with the countrycode
    code list already read."""
    iso_numeric = iso_numeric_to_iso3(ctx.used["countrycode"][0])
    return concat([read_acled(p, iso_numeric, root=ctx.root) for p in paths])
