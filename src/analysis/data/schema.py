"""Contracts of the canonical tables: columns, types, allowed values and unique keys.

Every reader in ``analysis.data.sources`` maps its raw format to one of these tables and calls
:func:`validate`; ``analysis data check`` calls it again on the shipped files. A violation
becomes a :class:`~analysis.errors.DataError` naming the file, line, column, the value found
and what was expected, taken from the table's own ``source_file``/``source_row`` columns so
the message points at the raw file a user can open.

Dates are kept as ISO-8601 text (``YYYY-MM-DD``) with a separate precision column: the CSV
bytes stay stable, and a month-precision date is never mistaken for a day. Whether a date lies in
the future depends on the day of the check, so :func:`validate` takes that day (``today``) from
its caller: the data build passes the day it runs; loading shipped tables passes none, so they
validate whatever the clock says.
"""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from ..errors import ConfigError, DataError
from ..paths import data_dir

DATE_PRECISIONS = ("day", "month", "year")
# A milestone dated only by the report that mentions it happened on or before that date.
MILESTONE_PRECISIONS = (*DATE_PRECISIONS, "reported_by")
MILESTONE_KINDS = ("militarisation", "delimitation", "border_regime", "ceasefire", "mediation")
CLAIMANT_KINDS = ("government", "border_service", "media_tally", "researcher", "unverified")
PERIOD_KINDS = ("full_year", "partial_year", "multi_year", "point")
COUNT_BOUNDS = ("exact", "lower_bound", "approximate")
COVERAGE_STATUSES = ("rows_found", "searched_empty", "not_covered", "stated_zero")
INCIDENT_SOURCES = ("catalogue", "ucdp_ged", "acled")
EVENT_CATEGORIES = (
    # catalogue (keyword rules in sources/catalogue.py)
    "armed_clash",
    "shooting",
    "civilian_clash",
    "detention",
    "infrastructure_dispute",
    "other",
    # UCDP GED type_of_violence
    "state_based",
    "non_state",
    "one_sided",
    # ACLED event_type
    "battles",
    "explosions_remote_violence",
    "violence_against_civilians",
    "protests",
    "riots",
    "strategic_developments",
)
FREQUENCIES = ("A", "M")
UCDP_DATASETS = ("acd", "dyadic", "brd", "nonstate", "onesided")
INDICATOR_FLAGS = (  # the one flag an indicators row may carry
    "derived",  # computed in code from other rows of the same vintage (see `source`)
    "sipri_estimate",  # SIPRI blue font
    "highly_uncertain",  # SIPRI red font
    "not_available",  # SIPRI '...': the producer has no figure
    "not_a_state",  # SIPRI 'xxx': the country did not exist
    "below_half_unit",  # SIPRI TIV '0' means deliveries below 0.5m
    "none_recorded",  # SIPRI TIV blank: the source's legend says no deliveries were recorded
    "modelled",  # ILO modelled estimates re-published by WDI
    "secondary_copy",  # third-party copy of an official series
)
PSEUDO_ISO3 = {"WLD": "World (global series with no country)"}
# Accepted before the country table exists (the first build, or a bare tree without data/): the
# study's own countries, so a contract check still rejects unknown codes.
BOOTSTRAP_ISO3 = frozenset({"KGZ", "TJK", "UZB", "KAZ", "TKM", "RUS", "AFG", "CHN"})
CONTIGUITY_DATASETS = ("cow_contdir", "cshapes_mindist")
STATE_SYSTEMS = ("gw", "cow")  # Gleditsch-Ward (UCDP's codes) and Correlates of War

_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
_EARLIEST = dt.date(1900, 1, 1)
_STATE_SYSTEM_START = dt.date(1816, 1, 1)  # the COW and GW state lists begin in 1816
# The day :func:`validate` was given, for the date checks (a pandera check takes no arguments).
_TODAY: ContextVar[dt.date | None] = ContextVar("today", default=None)


def _is_real_date(text: str, earliest: dt.date = _EARLIEST) -> bool:
    try:
        day = dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        return False
    latest = _TODAY.get()
    return earliest <= day and (latest is None or day <= latest)


def _date(nullable: bool = False, earliest: dt.date = _EARLIEST) -> pa.Column:
    return pa.Column(
        str,
        nullable=nullable,
        checks=[
            pa.Check.str_matches(_ISO_DATE, error="an ISO date YYYY-MM-DD"),
            pa.Check(
                lambda text: _is_real_date(text, earliest),
                element_wise=True,
                error=f"a real calendar date from {earliest.year}, not after the day of the check",
            ),
        ],
    )


def _ends_after_start(df: pd.DataFrame) -> pd.Series:
    return df["date_end"] >= df["date_start"]


def _count(nullable: bool = True) -> pa.Column:
    return pa.Column("Int64", nullable=nullable, checks=pa.Check.ge(0, error="a count >= 0"))


def _text(nullable: bool = True) -> pa.Column:
    return pa.Column(str, nullable=nullable)


def _dyad(nullable: bool = True) -> pa.Column:
    return pa.Column(
        str,
        nullable=nullable,
        checks=pa.Check.str_matches(r"^[A-Z]{3}-[A-Z]{3}$", error="a dyad AAA-BBB"),
    )


def _one_of(values, nullable: bool = False) -> pa.Column:
    return pa.Column(
        str, nullable=nullable, checks=pa.Check.isin(values, error=f"one of {list(values)}")
    )


def _iso3(nullable: bool = False) -> pa.Column:
    return pa.Column(
        str,
        nullable=nullable,
        checks=pa.Check(
            lambda codes: codes.isin(known_iso3()), error="a known ISO 3166 alpha-3 code"
        ),
    )


def known_iso3() -> frozenset[str]:
    """ISO3 codes accepted in any table: the project's country table plus pseudo-codes like WLD
    (:data:`BOOTSTRAP_ISO3` while there is no country table: no project, or the first build)."""
    try:
        path = data_dir() / "countries.csv"
    except ConfigError:
        path = None
    return _iso3_codes(str(path) if path is not None and path.is_file() else None)


@lru_cache(maxsize=4)
def _iso3_codes(countries_csv: str | None) -> frozenset[str]:
    codes = BOOTSTRAP_ISO3 if countries_csv is None else _table_codes(countries_csv)
    return frozenset(PSEUDO_ISO3) | codes


def _table_codes(countries_csv: str) -> frozenset[str]:
    return frozenset(pd.read_csv(countries_csv, usecols=["iso3"], dtype=str)["iso3"].dropna())


_PROVENANCE = {
    "source_file": pa.Column(str, nullable=False),
    "source_row": pa.Column("Int64", nullable=False, checks=pa.Check.ge(1)),
}

CONTRACTS: dict[str, pa.DataFrameSchema] = {
    "countries": pa.DataFrameSchema(
        {
            "iso3": pa.Column(str, checks=pa.Check.str_matches(r"^[A-Z]{3}$")),
            "name": _text(False),
            "gwno": pa.Column("Int64", nullable=True, checks=pa.Check.ge(1)),
            "cown": pa.Column("Int64", nullable=True, checks=pa.Check.ge(1)),
            "wb_region": _text(),
            **_PROVENANCE,
        },
        unique=["iso3"],
        strict=True,
        ordered=True,
    ),
    "incidents": pa.DataFrameSchema(
        {
            "incident_id": _text(False),
            "source_dataset": _one_of(INCIDENT_SOURCES),
            "date_start": _date(),
            "date_end": _date(),
            "date_precision": _one_of(DATE_PRECISIONS),
            "date_note": _text(),
            "dyad": _dyad(),
            "country": _iso3(nullable=True),
            "location": _text(),
            "admin_units": _text(),
            "latitude": pa.Column(float, nullable=True, checks=pa.Check.in_range(-90, 90)),
            "longitude": pa.Column(float, nullable=True, checks=pa.Check.in_range(-180, 180)),
            "incident_type": _text(),
            "event_category": _one_of(EVENT_CATEGORIES),
            "actors": _text(),
            "fatalities": _count(),
            "fatalities_low": _count(),
            "fatalities_high": _count(),
            "fatalities_basis": _text(),
            "injured": _count(),
            "displaced": _count(),
            "casualty_text": _text(),
            "casualty_attribution": _text(),
            "source_reference": _text(False),
            "source_title": _text(),
            "source_date": _text(),
            "secondary_sources": _text(),
            "notes": _text(),
            "corrections": _text(),
            **_PROVENANCE,
        },
        unique=["incident_id"],
        checks=[
            pa.Check(
                lambda df: df["date_end"] >= df["date_start"],
                error="date_end on or after date_start",
            ),
        ],
        strict=True,
        ordered=True,
    ),
    "incident_claims": pa.DataFrameSchema(
        {
            "claim_id": _text(False),
            "dyad": _dyad(),
            "dyad_scope": pa.Column(
                str,
                nullable=True,
                checks=pa.Check.str_matches(
                    r"^([A-Z]{3}-[A-Z]{3}|[A-Z]{3} \(all borders\))$",
                    error="a dyad AAA-BBB or 'AAA (all borders)'",
                ),
            ),
            "period_start": _text(),  # verbatim; blank when the source gives no period (AGG-008)
            "period_end": _text(),
            "period_first": _date(nullable=True),
            "period_last": _date(nullable=True),
            "period_kind": _one_of(PERIOD_KINDS),
            "metric": _text(False),
            "value_stated": _text(False),
            "incidents_stated": _count(),
            "incidents_bound": _one_of(COUNT_BOUNDS, nullable=True),
            "counter": pa.Column(
                str, checks=pa.Check.str_matches(r"^[a-z0-9][a-z0-9_]*$", error="a counter id")
            ),
            "claimant_kind": _one_of(CLAIMANT_KINDS),
            "counting_rule": _text(),
            "claimant": _text(False),
            "quote_paraphrase": _text(),
            "source_reference": _text(),
            "source_title": _text(),
            "source_date": _text(),
            "notes": _text(),
            **_PROVENANCE,
        },
        unique=["claim_id"],
        checks=[
            pa.Check(
                lambda df: df["incidents_stated"].isna() == df["incidents_bound"].isna(),
                error="incidents_bound given exactly when incidents_stated is",
            ),
            pa.Check(
                lambda df: df["dyad"].isna() | (df["dyad"] == df["dyad_scope"]),
                error="dyad equal to dyad_scope where a dyad is given",
            ),
            pa.Check(
                lambda df: (
                    df["period_first"].isna()
                    | df["period_last"].isna()
                    | (df["period_first"] <= df["period_last"])
                ),
                error="period_first on or before period_last",
            ),
        ],
        strict=True,
        ordered=True,
    ),
    # The incident catalogue's coverage: one row per dyad and year of its span, built from the
    # incidents and claims tables (sources/catalogue.py, incident_coverage).
    "incident_coverage": pa.DataFrameSchema(
        {
            "dyad": _dyad(nullable=False),
            "year": pa.Column("Int64", checks=pa.Check.in_range(1900, 2100)),
            "catalogued": _count(),
            "status": _one_of(COVERAGE_STATUSES),
            "first_month": pa.Column("Int64", checks=pa.Check.in_range(1, 12)),
            "last_month": pa.Column("Int64", checks=pa.Check.in_range(1, 12)),
            "stated": _text(),
            "basis": _text(False),
        },
        unique=["dyad", "year"],
        checks=[
            pa.Check(
                lambda df: df["first_month"] <= df["last_month"],
                error="first_month on or before last_month",
            ),
            pa.Check(
                lambda df: df["catalogued"].gt(0).fillna(False) == df["status"].eq("rows_found"),
                error="status rows_found exactly when catalogued > 0",
            ),
            pa.Check(
                lambda df: df["catalogued"].isna() == df["status"].eq("not_covered"),
                error="catalogued blank exactly when the year is not covered",
            ),
        ],
        strict=True,
        ordered=True,
    ),
    "indicators": pa.DataFrameSchema(
        {
            "iso3": _iso3(),
            "frequency": _one_of(FREQUENCIES),
            "period": pa.Column(str, checks=pa.Check.str_matches(r"^\d{4}(-\d{2})?$")),
            "indicator": _text(False),
            "indicator_name": _text(False),
            "value": pa.Column(float, nullable=True),
            "unit": _text(False),
            "source": _text(False),
            "flags": _one_of(INDICATOR_FLAGS, nullable=True),  # one flag per row, or none
            **_PROVENANCE,
        },
        unique=["source", "iso3", "indicator", "frequency", "period"],
        checks=[
            pa.Check(
                lambda df: df["period"].str.len().eq(4) == df["frequency"].eq("A"),
                error="period YYYY for frequency A and YYYY-MM for frequency M",
            ),
        ],
        strict=True,
        ordered=True,
    ),
    "milestones": pa.DataFrameSchema(
        {
            "milestone_id": _text(False),
            "kind": _one_of(MILESTONE_KINDS),
            "earliest_date": _date(nullable=True),
            "latest_date": _date(),
            "date_precision": _one_of(MILESTONE_PRECISIONS),
            "country": pa.Column(
                str,
                checks=pa.Check(
                    lambda text: all(code in known_iso3() for code in text.split("+")),
                    element_wise=True,
                    error="known ISO 3166 alpha-3 codes joined by '+'",
                ),
            ),
            "event": _text(False),
            "quantity": pa.Column(float, nullable=True, checks=pa.Check.ge(0)),
            "unit": _text(),
            "source_url": _text(False),
            "source_title": _text(),
            "source_publication_date": _date(nullable=True),
            "statement": _text(),
            "notes": _text(),
            **_PROVENANCE,
        },
        unique=["milestone_id"],
        checks=[
            pa.Check(
                lambda df: df["earliest_date"].isna() == df["date_precision"].eq("reported_by"),
                error="earliest_date blank exactly when date_precision is reported_by",
            ),
            pa.Check(
                lambda df: df["earliest_date"].isna() | (df["earliest_date"] <= df["latest_date"]),
                error="earliest_date on or before latest_date",
            ),
            pa.Check(
                lambda df: df["quantity"].isna() == df["unit"].isna(),
                error="a unit exactly when there is a quantity",
            ),
        ],
        strict=True,
        ordered=True,
    ),
    "conflict_years": pa.DataFrameSchema(
        {
            "dataset": _one_of(UCDP_DATASETS),
            "version": pa.Column(str, checks=pa.Check.str_matches(r"^\d+\.\d+$")),
            "conflict_id": pa.Column("Int64", nullable=False),
            "dyad_id": pa.Column("Int64", nullable=True),
            "year": pa.Column("Int64", nullable=False, checks=pa.Check.in_range(1946, 2100)),
            "location": _text(),
            "side_a": _text(),
            "side_b": _text(),
            "incompatibility": pa.Column("Int64", nullable=True, checks=pa.Check.isin([1, 2, 3])),
            "territory_name": _text(),
            "type_of_conflict": pa.Column(
                "Int64", nullable=True, checks=pa.Check.isin([1, 2, 3, 4])
            ),
            "intensity_level": pa.Column("Int64", nullable=True, checks=pa.Check.isin([1, 2])),
            "deaths_best": _count(),
            "deaths_low": _count(),
            "deaths_high": _count(),
            "gwno_a": _text(),
            "gwno_b": _text(),
            "gwno_loc": _text(),
            "iso3_loc": _text(),
            "region": _text(),
            "start_date": _date(nullable=True),
            "ep_end_date": _date(nullable=True),
            **_PROVENANCE,
        },
        unique=["dataset", "version", "conflict_id", "dyad_id", "year"],
        strict=True,
        ordered=True,
    ),
    # Land and water contiguity between states, one row per spell of a non-directed pair
    # (state1 < state2): COW Direct Contiguity (conttype; 0 = no contiguity in that spell) and
    # CShapes minimum distance 0 (shared boundary, one spell per run of consecutive years).
    "contiguity": pa.DataFrameSchema(
        {
            "dataset": _one_of(CONTIGUITY_DATASETS),
            "system": _one_of(STATE_SYSTEMS),
            "state1": pa.Column("Int64", nullable=False, checks=pa.Check.ge(1)),
            "state2": pa.Column("Int64", nullable=False, checks=pa.Check.ge(1)),
            "conttype": pa.Column("Int64", nullable=True, checks=pa.Check.isin([0, 1, 2, 3, 4, 5])),
            "mindist_km": pa.Column(float, nullable=True, checks=pa.Check.ge(0)),
            "date_start": _date(earliest=_STATE_SYSTEM_START),
            "date_end": _date(earliest=_STATE_SYSTEM_START),
            "date_precision": _one_of(DATE_PRECISIONS),
            **_PROVENANCE,
        },
        unique=["dataset", "state1", "state2", "date_start"],
        checks=[
            pa.Check(
                lambda df: df["state1"] < df["state2"], error="state1 < state2 (non-directed pair)"
            ),
            pa.Check(_ends_after_start, error="date_end on or after date_start"),
        ],
        strict=True,
        ordered=True,
    ),
    # Independent states with their spells of membership (a state may have several spells).
    # date_end is the list's own last day for states still in the system when it was compiled.
    "states": pa.DataFrameSchema(
        {
            "system": _one_of(STATE_SYSTEMS),
            "code": pa.Column("Int64", nullable=False, checks=pa.Check.ge(1)),
            "abbreviation": _text(False),
            "name": _text(False),
            "date_start": _date(earliest=_STATE_SYSTEM_START),
            "date_end": _date(earliest=_STATE_SYSTEM_START),
            **_PROVENANCE,
        },
        unique=["system", "code", "date_start"],
        checks=[pa.Check(_ends_after_start, error="date_end on or after date_start")],
        strict=True,
        ordered=True,
    ),
}

TABLES = tuple(CONTRACTS)

# The stable row order of each shipped table (a rebuild must give the same bytes).
SORT_KEYS: dict[str, list[str]] = {
    "countries": ["iso3"],
    "incidents": ["date_start", "incident_id"],
    "incident_claims": ["claim_id"],
    "incident_coverage": ["dyad", "year"],
    "indicators": ["source", "iso3", "indicator", "frequency", "period"],
    "milestones": ["latest_date", "milestone_id"],
    "conflict_years": ["dataset", "version", "conflict_id", "dyad_id", "year"],
    "contiguity": ["dataset", "state1", "state2", "date_start"],
    "states": ["system", "code", "date_start"],
}


# What each column means, for the tables whose columns are not self-explanatory; rendered into
# data/README.md by the build (a test keeps these in step with the contracts).
COLUMN_DOCS: dict[str, dict[str, str]] = {
    "incidents": {
        "incident_id": "the source's id (catalogue: KGZ-TJK-001, suffixes A-E for the additions)",
        "source_dataset": f"one of {', '.join(INCIDENT_SOURCES)}",
        "date_start": "first day (ISO); a month or year date is its first day",
        "date_end": "last day (ISO); a month or year date is its last day",
        "date_precision": f"one of {', '.join(DATE_PRECISIONS)}",
        "date_note": "the source's note on the date, verbatim; prefixed '[superseded by "
        "erratum ...]' when an erratum corrected the dates it describes but not the note",
        "dyad": "border dyad AAA-BBB (catalogue); blank for single-country events",
        "country": "ISO3 of the country an event is located in (GED, ACLED); blank for the "
        "catalogue, whose incidents involve both states",
        "location": "place as the source names it",
        "admin_units": "administrative units as the source names them",
        "latitude": "decimal degrees where the source gives them",
        "longitude": "decimal degrees where the source gives them",
        "incident_type": "the source's description of what happened, verbatim",
        "event_category": "category read from incident_type (catalogue) or the source's type",
        "actors": "who was involved, as stated",
        "fatalities": "stated total, else the sum of stated per-country figures; blank = not "
        "stated (never zero)",
        "fatalities_low": "low estimate where the source gives a range",
        "fatalities_high": "high estimate where the source gives a range",
        "fatalities_basis": "how fatalities was read (stated total, sum, qualifier)",
        "injured": "as fatalities, for the injured",
        "displaced": "a single stated figure of people evacuated or displaced",
        "casualty_text": "every stated casualty cell, verbatim",
        "casualty_attribution": "which side or agency gave each figure",
        "source_reference": "the row's source URL (or the dataset's event id)",
        "source_title": "title of the source",
        "source_date": "publication date of the source, as stated",
        "secondary_sources": "further sources, verbatim",
        "notes": "the compiler's notes",
        "corrections": "errata applied to the row: 'field old -> new (evidence: url)'",
        "source_file": "raw file the row comes from",
        "source_row": "its line in that file",
    },
    "incident_claims": {
        "claim_id": "AGG-nnn",
        "dyad": "the dyad when the count is for one dyad; blank for a wider scope",
        "dyad_scope": "the dyad, or 'KGZ (all borders)' for a count over every Kyrgyz border",
        "period_start": "period start as stated (verbatim, e.g. c.2002)",
        "period_end": "period end as stated (verbatim)",
        "period_first": "first day of the period where it is written as a date; blank when "
        "approximate",
        "period_last": "last day of the period where it is written as a date",
        "period_kind": "full_year; partial_year (within one year, kept as stated, never scaled "
        "up); multi_year; point (no period)",
        "metric": "what is counted, as stated",
        "value_stated": "the figure as stated, verbatim",
        "incidents_stated": "the number of incidents read from value_stated (blank for other "
        "metrics and for unfound claims)",
        "incidents_bound": f"one of {', '.join(COUNT_BOUNDS)} ('at least 32' is a lower bound)",
        "counter": "stable id of who counted (sources/claim_counters.toml); relays of one "
        "counter share it",
        "claimant_kind": f"one of {', '.join(CLAIMANT_KINDS)}",
        "counting_rule": "what the counter counts, where a source or the notes say; blank = "
        "not stated",
        "claimant": "who states the count, verbatim",
        "quote_paraphrase": "the statement (exact quote in the original language for AGG-101+)",
        "source_reference": "source URL",
        "source_title": "source title",
        "source_date": "source date, as stated",
        "notes": "compiler's notes; a non-dyad border_dyad is kept here verbatim",
        "source_file": "raw file",
        "source_row": "its line",
    },
    "incident_coverage": {
        "dyad": "border dyad of the catalogue",
        "year": "calendar year, from the catalogue's first year to its collection cutoff",
        "catalogued": "catalogue rows of the dyad dated (date_start) in the year; blank when "
        "the year is not covered (missing, not zero)",
        "status": "rows_found; searched_empty (rows for other dyads that year: a catalogue "
        "zero); not_covered (no row for any dyad: missing, never zero); stated_zero (a "
        "source states zero for the dyad and year)",
        "first_month": "first month of the year the catalogue covers",
        "last_month": "last month covered (the cutoff month in the cutoff's year)",
        "stated": "counts counters state for the dyad within the year: counter, count, period "
        "when not the whole year, claim id (blank: none stated); compare like with like",
        "basis": "why: the rule applied, the other dyads' rows, the claim stating zero, the cutoff",
    },
    "milestones": {
        "milestone_id": "M001-M006 (the older file, in file order), M007-M055",
        "kind": f"one of {', '.join(MILESTONE_KINDS)}",
        "earliest_date": "first day the event can have happened; blank when unknown (reported_by)",
        "latest_date": "last day it can have happened; for reported_by, the report's date",
        "date_precision": "day, month, year, or reported_by (only the report's date is known: "
        "the event happened on or before latest_date)",
        "country": "state(s) concerned, ISO3 joined by '+'",
        "event": "what happened, as the compiler summarises the page",
        "quantity": "a figure the event text states (km of border agreed or covered)",
        "unit": "its unit",
        "source_url": "the page",
        "source_title": "its title",
        "source_publication_date": "its publication date",
        "statement": "what the page states (quote in the page's language for M007+)",
        "notes": "reliability, cross-checks and conflicting dates (never averaged)",
        "source_file": "raw file",
        "source_row": "its line",
    },
}


def column_docs() -> str:
    """The column dictionary of :data:`COLUMN_DOCS` as a Markdown section of data/README.md."""
    lines = ["", "## Columns", ""]
    for table, docs in COLUMN_DOCS.items():
        lines += [f"### `{table}.csv`", "", "| column | meaning |", "|---|---|"]
        lines += [f"| `{column}` | {text} |" for column, text in docs.items()]
        lines.append("")
    return "\n".join(lines)


def columns(table: str) -> list[str]:
    """The contract's columns in their fixed order (readers select and order by this)."""
    return list(_contract(table).columns)


def _contract(table: str) -> pa.DataFrameSchema:
    try:
        return CONTRACTS[table]
    except KeyError:
        raise DataError(
            None, f"unknown table '{table}'", expected=f"one of {list(CONTRACTS)}"
        ) from None


def coerce(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Put a reader's frame into the contract's column order and dtypes (before validation)."""
    contract = _contract(table)
    missing = [c for c in contract.columns if c not in frame.columns]
    if missing:
        raise DataError(
            _first(frame, "source_file"),
            f"the reader produced no column(s) {missing} for table '{table}'",
        )
    out = frame.loc[:, list(contract.columns)].copy()
    for name, column in contract.columns.items():
        dtype = str(column.dtype)
        if dtype == "Int64":
            out[name] = pd.to_numeric(out[name], errors="raise").astype("Int64")
        elif dtype.startswith("float"):
            out[name] = pd.to_numeric(out[name], errors="raise").astype(float)
        else:
            if not pd.api.types.is_string_dtype(out[name].dtype) or out[name].dtype == object:
                out[name] = out[name].map(lambda v: None if pd.isna(v) else str(v))
            out[name] = out[name].astype(str)
    return out.reset_index(drop=True)


def validate(
    table: str,
    frame: pd.DataFrame,
    *,
    file: str | Path | None = None,
    today: dt.date | None = None,
) -> pd.DataFrame:
    """Check ``frame`` against its contract; raise a DataError that points at the offending cell.

    ``file`` names the file being checked when the frame is a shipped table (then the line is
    the line in that file); otherwise the line comes from the frame's ``source_row``. A date
    after ``today`` is refused; with ``today`` None, no date is too late.
    """
    contract = _contract(table)
    token = _TODAY.set(today)
    try:
        return contract.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise _to_data_error(table, frame, exc.failure_cases, file) from None
    finally:
        _TODAY.reset(token)


def _to_data_error(table, frame, failures: pd.DataFrame, file) -> DataError:
    """Turn pandera's failure cases into one DataError about the first problem (cells first)."""
    failures = failures.assign(_cell=failures["schema_context"].ne("Column")).sort_values(
        ["_cell", "index"], kind="stable", na_position="first"
    )
    count = len(failures.drop_duplicates(["check", "index"]))
    first = failures.iloc[0]
    check = str(first["check"])
    column = None if pd.isna(first["column"]) else str(first["column"])
    found = first["failure_case"]
    index = first["index"]
    if check.startswith(("multiple_fields_uniqueness", "field_uniqueness")):
        key = [c for c in failures.loc[failures["check"] == first["check"], "column"].unique()]
        rows = sorted(
            failures.loc[failures["check"] == first["check"], "index"].dropna().astype(int).unique()
        )
        index = rows[-1] if rows else index
        found = tuple(frame.loc[index, key]) if len(key) > 1 else frame.loc[index, key[0]]
        problem, expected = (
            "duplicate key",
            f"each ({', '.join(key)}) once; also at {_where(frame, rows[0], file)}",
        )
        column = ", ".join(key)
    elif check.startswith("column_in_dataframe"):
        problem, expected, column, found = (
            f"column '{found}' is missing",
            "it to be present",
            str(found),
            None,
        )
    elif check.startswith("column_in_schema"):
        problem, expected, column, found = (
            f"column '{found}' is not in the contract",
            "contract columns only",
            str(found),
            None,
        )
    elif check.startswith("not_nullable"):
        problem, expected, found = "missing value", "a value (this column may not be blank)", None
    elif first["schema_context"] != "Column":
        problem, expected, column, found = "row breaks a rule of the table", check, None, None
    elif check.startswith("dtype"):
        problem, expected = "wrong type", check
    else:
        problem, expected = "value breaks the contract", check
    row_file, line = file, None
    if index is not None and not pd.isna(index) and int(index) in frame.index:
        row_file, line = _locate(frame, int(index), file)
    more = f" ({count - 1} more problem(s) in this table)" if count > 1 else ""
    return DataError(
        row_file,
        f"{table}: {problem}{more}",
        row=line,
        column=column,
        found=found,
        expected=expected,
    )


def _locate(frame: pd.DataFrame, index: int, file) -> tuple[object, int | None]:
    """(file, line) of a record: the line in ``file`` itself, else the raw file it came from."""
    if file is not None:
        return file, frame.index.get_loc(index) + 2
    if "source_row" in frame.columns and not pd.isna(frame.loc[index, "source_row"]):
        return frame.loc[index, "source_file"], int(frame.loc[index, "source_row"])
    return None, None


def _where(frame: pd.DataFrame, index: int, file) -> str:
    where, line = _locate(frame, int(index), file)
    return f"{where} line {line}" if line is not None else f"record {index}"


def _first(frame: pd.DataFrame, column: str):
    if column in frame.columns and len(frame):
        return frame[column].iloc[0]
    return None
