"""Dated milestones (drones, delimitation, border regime, ceasefires, mediation) -> ``milestones``.

Two hand-curated files from news pages, one row per statement a page makes (the same event
can appear twice, from two pages):

* ``militarisation_milestones_from_pages.csv`` (the first six rows, all militarisation; its ids
  M001-M006 are the rows in file order, as ``milestones_2020_2025_NOTES.md`` numbers them);
* ``milestones_2020_2025.csv`` (ids M007-M055, with an ``id`` and a ``kind`` column).

Dates are kept at the precision the file states, as the earliest and latest day the event can
have happened: a day is both; a month or year runs from its first to its last day. A
``reported_by`` date is the publication date of the report that mentions the event, which
happened on or before it: ``latest_date`` is that date and ``earliest_date`` is blank
(unknown). Conflicting dates stay in ``notes``, never averaged. ``country`` is the state or
states concerned, ISO3 codes joined by "+" ("both" in the 2020-2025 file is KGZ+TJK).

``quantity`` and ``unit`` hold a figure the event text states and the study needs: kilometres
of border a protocol or treaty covers ("agree 43.32 km"), read only where the ``event`` text
states exactly one such figure; nothing is inferred or summed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .. import schema
from ._common import (
    CellProblem,
    ReadContext,
    parse_series,
    raise_at_first,
    read_csv_table,
    source_label,
)
from .catalogue import partial_dates

MILESTONE_COLUMNS = (
    "event_date",
    "date_precision",
    "country",
    "event",
    "source_url",
    "source_publication_date",
    "what_the_source_states",
    "reliability_note",
)
MILESTONE_2020_2025_COLUMNS = (
    "id",
    "event_date",
    "date_precision",
    "country",
    "kind",
    "event",
    "source_url",
    "source_title",
    "source_publication_date",
    "quote_original_language",
    "notes",
)
BOTH = "KGZ+TJK"  # what the 2020-2025 file means by "both"
_KILOMETRES = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*km\b")
_ID = re.compile(r"^M\d{3,}$")


def read_milestones(path: Path, root: Path | None = None) -> pd.DataFrame:
    """Read ``militarisation_milestones_from_pages.csv`` (ids M001... in file order)."""
    path = Path(path)
    raw = read_csv_table(path, MILESTONE_COLUMNS)
    ids = pd.Series([f"M{n:03d}" for n in range(1, len(raw) + 1)], index=raw.index)
    return _milestones(
        path,
        raw,
        root,
        ids=ids,
        kind=pd.Series("militarisation", index=raw.index),
        title=pd.Series(None, index=raw.index, dtype=object),
        statement=raw["what_the_source_states"],
        notes=raw["reliability_note"],
    )


def read_milestones_2020_2025(path: Path, root: Path | None = None) -> pd.DataFrame:
    """Read ``milestones_2020_2025.csv`` (its own ids; kind from its closed list)."""
    path = Path(path)
    raw = read_csv_table(path, MILESTONE_2020_2025_COLUMNS)
    ids = raw["id"].str.strip()
    raise_at_first(raw, ~ids.str.match(_ID).fillna(False), path, "id", "bad id", "M and digits")
    raise_at_first(raw, ids.duplicated(), path, "id", "duplicate id", "each id once")
    kind = raw["kind"].str.strip()
    raise_at_first(
        raw,
        ~kind.isin(schema.MILESTONE_KINDS),
        path,
        "kind",
        "unknown kind",
        f"one of {list(schema.MILESTONE_KINDS)}",
    )
    return _milestones(
        path,
        raw,
        root,
        ids=ids,
        kind=kind,
        title=raw["source_title"],
        statement=raw["quote_original_language"],
        notes=raw["notes"],
    )


def _milestones(path, raw, root, *, ids, kind, title, statement, notes) -> pd.DataFrame:
    """The columns both layouts share, checked and mapped to the ``milestones`` table."""
    precision = raw["date_precision"].str.strip()
    raise_at_first(
        raw,
        ~precision.isin(schema.MILESTONE_PRECISIONS),
        path,
        "date_precision",
        "unknown date precision",
        f"one of {list(schema.MILESTONE_PRECISIONS)}",
    )
    dates = partial_dates(raw, "event_date", path)
    raise_at_first(raw, dates["first"].isna(), path, "event_date", "missing value", "a date")
    reported_by = precision.eq("reported_by")
    raise_at_first(
        raw,
        reported_by & dates["precision"].ne("day"),
        path,
        "event_date",
        "a reported_by date is not a whole day",
        "the report's publication date, YYYY-MM-DD",
    )
    raise_at_first(
        raw,
        ~reported_by & precision.ne(dates["precision"]),
        path,
        "date_precision",
        "date_precision does not match event_date",
        "the precision event_date is written in (day YYYY-MM-DD, month YYYY-MM, year YYYY)",
    )
    published = partial_dates(raw, "source_publication_date", path)
    raise_at_first(
        raw,
        reported_by & published["first"].notna() & published["first"].ne(dates["first"]),
        path,
        "event_date",
        "a reported_by date differs from the report's publication date",
        "the source_publication_date (the event happened on or before the report)",
    )
    quantity = parse_series(raw, "event", path, _kilometres)
    frame = pd.DataFrame(
        {
            "milestone_id": ids,
            "kind": kind,
            "earliest_date": dates["first"].mask(reported_by).map(_iso, na_action="ignore"),
            "latest_date": dates["last"].map(_iso),
            "date_precision": precision,
            "country": parse_series(raw, "country", path, _countries),
            "event": raw["event"],
            "quantity": quantity,
            "unit": quantity.map(lambda q: "km of border", na_action="ignore"),
            "source_url": raw["source_url"],
            "source_title": title,
            "source_publication_date": published["first"].map(_iso, na_action="ignore"),
            "statement": statement,
            "notes": notes,
            "source_file": source_label(path, root),
            "source_row": raw["source_row"],
        }
    )
    frame = frame.sort_values(schema.SORT_KEYS["milestones"], kind="stable")
    return schema.validate("milestones", schema.coerce("milestones", frame))


def _iso(day) -> str:
    return day.isoformat()


def _countries(text: str) -> str:
    """ISO3 codes joined by '+' ("both" -> KGZ+TJK), each in the country table."""
    codes = (BOTH if text == "both" else text).split("+")
    unknown = [code for code in codes if code not in schema.known_iso3()]
    if unknown:
        raise CellProblem(
            f"unknown country code {unknown[0]!r}",
            "ISO3 codes of the country table joined by '+' (e.g. KGZ+UZB), or 'both'",
        )
    return "+".join(codes)


def _kilometres(text: str) -> float | None:
    """The kilometres the event text states, when it states exactly one figure in km."""
    found = _KILOMETRES.findall(text)
    if len(found) != 1:
        return None
    whole, decimals = found[0]
    return float(whole.replace(",", "") + decimals)


def read_raw(paths: list[Path], ctx: ReadContext) -> pd.DataFrame:
    """Registry reader: the milestones file."""
    return read_milestones(paths[0], root=ctx.root)


def read_raw_2020_2025(paths: list[Path], ctx: ReadContext) -> pd.DataFrame:
    """Registry reader: the 2020-2025 milestones file."""
    return read_milestones_2020_2025(paths[0], root=ctx.root)
