"""The curated border-incident catalogue and the period counts ("aggregate claims") sources state.

The catalogue is several CSV files with one header (``border_incidents_catalogue*.csv``: a base
file plus additions), merged here into the canonical ``incidents`` table, plus an errata file
(``catalogue_corrections.csv``) applied explicitly so every changed cell is recorded in the row's
``corrections`` column ("date_start 2013-05-07 -> 2014-05-07 (evidence: <url>)").

Rules, because the catalogue is text written by people:

* **Dates.** ``YYYY-MM-DD`` is day precision; ``YYYY-MM`` is month precision, stored as the 1st of
  the month with ``date_end`` the last day of that month; ``YYYY`` likewise for a year. A row
  whose ``date_note`` starts with "month only" (the catalogue's own flag for a month written as
  its 1st day) also gets month precision, unless its date was corrected by an erratum. A blank
  ``date_end`` means the event is dated by its start alone: it ends when the start's period ends.
* **Casualties.** Blank means *not stated*, never zero. Each stated casualty cell is kept
  verbatim in ``casualty_text``. A count cell is a number ("3"), a qualified number ("about 60",
  "at least 25", "more than ten", "over 100 (IWPR/CABAR)": the number is kept, the qualifier is
  named in ``fatalities_basis``) or a verbal statement with no figure ("several", "injured
  reported (number not stated)"), which stays missing. Anything else in a count column is a
  DataError. ``fatalities`` is the stated total when it is a number, else the sum of the
  stated per-country numbers, else missing; ``injured`` follows the same rule; ``displaced``
  is read from ``evacuated_displaced`` only when that cell states a single figure of people.
* **Categories.** ``event_category`` comes from ``incident_type`` by :data:`EVENT_RULES`, an
  ordered table read as "most severe category the text mentions" (first match wins).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import schema
from ..errors import DataError
from ._common import read_csv_table, source_label

CATALOGUE_COLUMNS = (
    "incident_id",
    "date_start",
    "date_end",
    "date_note",
    "border_dyad",
    "location_text",
    "admin_kgz",
    "admin_other",
    "incident_type",
    "actors",
    "killed_KGZ",
    "killed_TJK",
    "killed_UZB",
    "killed_total_stated",
    "injured_KGZ",
    "injured_TJK",
    "injured_UZB",
    "injured_total_stated",
    "evacuated_displaced",
    "detained_or_hostages",
    "casualty_attribution",
    "notes",
    "source_url",
    "source_title",
    "source_date",
    "secondary_source_urls",
)
CORRECTION_COLUMNS = (
    "incident_id",
    "field",
    "catalogue_value",
    "corrected_value",
    "evidence_url",
    "evidence_summary",
)
CLAIM_COLUMNS = (
    "claim_id",
    "border_dyad",
    "period_start",
    "period_end",
    "metric",
    "value_stated",
    "claimant",
    "quote_paraphrase",
    "source_url",
    "source_title",
    "source_date",
    "notes",
)

# Canonical count -> (stated-total column, per-country columns).
COUNTS = {
    "fatalities": ("killed_total_stated", ("killed_KGZ", "killed_TJK", "killed_UZB")),
    "injured": ("injured_total_stated", ("injured_KGZ", "injured_TJK", "injured_UZB")),
}
COUNT_COLUMNS = tuple(c for total, parts in COUNTS.values() for c in (*parts, total))
# Every casualty cell, in the order casualty_text lists them.
CASUALTY_COLUMNS = (*COUNT_COLUMNS, "evacuated_displaced", "detained_or_hostages")

# Ordered keyword rules on incident_type, most severe first; the first match wins. Tuned on the
# 81 real rows: warning shots alone are not a shooting at people (last rule), a mortar merely
# "positioned" is not mortar fire, and a "verbal skirmish" is not an armed one.
EVENT_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "armed_clash",
        (
            "exchange of fire",
            r"shoot-?out",
            "shots exchanged",
            r"\bmortars?\b(?! positioned)",
            "military",
            "heavy weapons",
            r"\btroops\b",
            r"(?<!verbal )skirmish",
        ),
    ),
    (
        "shooting",
        (
            r"\bshot\b",
            "opened fire",
            "fired at",
            "fired toward",
            "used weapons against",
            "shooting",
            "shots fired",
            "killed by border guards",
        ),
    ),
    (
        "civilian_clash",
        (
            "stone throwing",
            r"\bstones\b",
            "stoning",
            "stoned",
            "brawl",
            "scuffle",
            r"\bfight",
            "clash between residents",
            "mass clash",
        ),
    ),
    ("detention", ("detain", "detention", "hostage", "arrest")),
    (
        "infrastructure_dispute",
        (
            "water",
            "canal",
            "pipeline",
            "pipes",
            "construction",
            "road works",
            "asphalting",
            r"\bdams?\b",
            "fence",
            "bridge",
            "power lines",
            "reservoir",
        ),
    ),
    ("shooting", (r"warning shots?", "warning fire", "fired in the air")),
)
EVENT_RULES = tuple(
    (category, re.compile("|".join(keywords), re.IGNORECASE))
    for category, keywords in EVENT_KEYWORDS
)

_QUALIFIERS = {
    "at least": "lower bound",
    "more than": "lower bound",
    "over": "lower bound",
    ">": "lower bound",
    "about": "approximate",
    "around": "approximate",
    "approximately": "approximate",
    "some": "approximate",
    "~": "approximate",
}
_NUMBER_WORDS = {
    word: number
    for number, word in enumerate(
        (
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ),
        start=1,
    )
}
_QUANTITY = re.compile(
    r"^(?:(?P<qualifier>"
    + "|".join(re.escape(q) for q in sorted(_QUALIFIERS, key=len, reverse=True))
    + r")\s*)?(?P<number>\d{1,3}(?:,\d{3})+|\d+|(?:"
    + "|".join(_NUMBER_WORDS)
    + r")\b)(?P<rest>.*)$",
    re.IGNORECASE,
)
# Verbal statements of a casualty with no figure: legitimate, kept as text, numeric missing.
_VERBAL = re.compile(
    r"\b(several|many|dozens|hundreds|some|few|not stated|unknown|reported)\b", re.IGNORECASE
)
_ATTRIBUTION = re.compile(r"^\s*(\([^()]*\))?\s*$")  # e.g. " (IWPR/CABAR)" after a count
_PEOPLE = re.compile(
    r"^\s*(\(.*\)|(people|persons|residents|evacuated|displaced)\b.*)?$", re.IGNORECASE
)
_DATE_FORMS = (
    (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "day"),
    (re.compile(r"^\d{4}-\d{2}$"), "month"),
    (re.compile(r"^\d{4}$"), "year"),
)
_PRECISION_RANK = {"day": 0, "month": 1, "year": 2}
_MONTH_ONLY_NOTE = re.compile(r"^\s*month only\b", re.IGNORECASE)
_DYAD = re.compile(r"^[A-Z]{3}-[A-Z]{3}$")
_NOT_FOUND = "NOT FOUND"


@dataclass(frozen=True)
class Quantity:
    """A figure read from text: the number, what its qualifier means, and the text after it."""

    value: int
    qualifier: str | None
    rest: str

    def describe(self, text: str) -> str:
        """How the figure was read, e.g. "'about 60' read as 60 (approximate)"."""
        if not self.qualifier and not self.rest.strip():
            return f"'{text}'"
        kind = f" ({_QUALIFIERS[self.qualifier.lower()]})" if self.qualifier else ""
        return f"'{text}' read as {self.value}{kind}"


def parse_quantity(text: str | None) -> Quantity | None:
    """The leading (optionally qualified) number of ``text``, or None when it does not start with one."""
    if text is None or pd.isna(text):
        return None
    match = _QUANTITY.match(str(text).strip())
    if not match:
        return None
    number = match["number"].lower()
    value = _NUMBER_WORDS[number] if number in _NUMBER_WORDS else int(number.replace(",", ""))
    return Quantity(value, match["qualifier"], match["rest"])


def parse_partial_date(text, *, path, row: int, column: str) -> tuple[dt.date, dt.date, str]:
    """First day, last day and precision of ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``."""
    value = str(text).strip()
    precision = next((p for pattern, p in _DATE_FORMS if pattern.match(value)), None)
    if precision is None:
        raise DataError(
            path,
            "unparseable date",
            row=row,
            column=column,
            found=value,
            expected="YYYY-MM-DD, YYYY-MM (month precision) or YYYY",
        )
    parts = [int(p) for p in value.split("-")]
    try:
        if precision == "day":
            first = last = dt.date(*parts)
        elif precision == "month":
            first = dt.date(parts[0], parts[1], 1)
            last = first.replace(day=calendar.monthrange(*parts)[1])
        else:
            first, last = dt.date(parts[0], 1, 1), dt.date(parts[0], 12, 31)
    except ValueError:
        raise DataError(
            path,
            "impossible date",
            row=row,
            column=column,
            found=value,
            expected="a real calendar date",
        ) from None
    return first, last, precision


def read_catalogue(
    paths: list[Path], corrections: Path | None, root: Path | None = None
) -> pd.DataFrame:
    """Merge the catalogue files, apply the errata, and map them to the ``incidents`` table."""
    raw = _merge_catalogue_files([Path(p) for p in paths], root)
    records, applied = _apply_corrections(raw, corrections)
    rows = [_incident(record, applied.get(index, [])) for index, record in records.items()]
    frame = pd.DataFrame(rows, columns=schema.columns("incidents"))
    frame = frame.sort_values(schema.SORT_KEYS["incidents"], kind="stable")
    return schema.validate("incidents", schema.coerce("incidents", frame))


def _merge_catalogue_files(paths: list[Path], root) -> pd.DataFrame:
    """One frame of raw text cells; headers must be identical and ids unique across files."""
    if not paths:
        raise DataError(
            None, "no catalogue files given", expected="border_incidents_catalogue*.csv"
        )
    frames, first_header, seen = [], None, {}
    for path in paths:
        frame = read_csv_table(path, CATALOGUE_COLUMNS)
        header = [c for c in frame.columns if c != "source_row"]
        if first_header is None:
            first_header = (paths[0], header)
        elif header != first_header[1]:
            position = next(
                i
                for i in range(max(len(header), len(first_header[1])))
                if i >= len(header) or i >= len(first_header[1]) or header[i] != first_header[1][i]
            )
            found = header[position] if position < len(header) else "(no column)"
            want = first_header[1][position] if position < len(first_header[1]) else "(no column)"
            raise DataError(
                path,
                f"header differs from {first_header[0].name} at column {position + 1}",
                row=1,
                column=found,
                found=found,
                expected=f"'{want}' (the catalogue files share one header)",
            )
        for incident_id, line in zip(frame["incident_id"], frame["source_row"]):
            if incident_id is None or pd.isna(incident_id):
                raise DataError(path, "missing incident_id", row=int(line), column="incident_id")
            if incident_id in seen:
                other, other_line = seen[incident_id]
                raise DataError(
                    path,
                    "duplicate incident_id",
                    row=int(line),
                    column="incident_id",
                    found=incident_id,
                    expected="ids unique across the catalogue files",
                    hint=f"The same id is in {other} line {other_line}",
                )
            seen[incident_id] = (path, int(line))
        frame["_path"] = str(path)
        frame["source_file"] = source_label(path, root)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _apply_corrections(raw: pd.DataFrame, corrections: Path | None):
    """Apply each erratum to a copy of the raw cells; return the records and what was changed."""
    records = raw.to_dict("index")
    applied: dict[int, list[tuple[str, str]]] = {}
    if corrections is None:
        return records, applied
    errata = read_csv_table(corrections, CORRECTION_COLUMNS)
    by_id = {record["incident_id"]: index for index, record in records.items()}
    editable = set(CATALOGUE_COLUMNS) - {"incident_id"}
    for erratum in errata.to_dict("records"):
        line = int(erratum["source_row"])
        index = by_id.get(erratum["incident_id"])
        if index is None:
            raise DataError(
                corrections,
                "erratum names an unknown incident",
                row=line,
                column="incident_id",
                found=erratum["incident_id"],
                expected="an incident_id of the catalogue files",
            )
        field = erratum["field"]
        if field not in editable:
            raise DataError(
                corrections,
                "erratum names an unknown or uncorrectable field",
                row=line,
                column="field",
                found=field,
                expected=f"one of {sorted(editable)}",
            )
        record = records[index]
        current, stated = _text_or_none(record[field]), _text_or_none(erratum["catalogue_value"])
        if current != stated:
            raise DataError(
                corrections,
                "erratum no longer matches the catalogue",
                row=line,
                column="catalogue_value",
                found=stated,
                expected=f"the catalogue's value {current!r} "
                f"({record['_path']} line {record['source_row']}, column '{field}')",
                hint="Review the erratum against the current catalogue",
            )
        corrected = _text_or_none(erratum["corrected_value"])
        _check_corrected(field, corrected, path=corrections, row=line)
        record[field] = corrected
        note = f"{field} {stated or '(blank)'} -> {corrected or '(blank)'}"
        applied.setdefault(index, []).append(
            (field, f"{note} (evidence: {erratum['evidence_url']})")
        )
    return records, applied


def _check_corrected(field: str, corrected: str | None, *, path, row: int) -> None:
    """A corrected date or count must parse, and a bad one is reported at the erratum's line
    (reported later, it would point at the catalogue row the erratum changed)."""
    where = {"path": path, "row": row, "column": "corrected_value"}
    if corrected is not None and field in ("date_start", "date_end"):
        parse_partial_date(corrected, **where)
    elif field in COUNT_COLUMNS:
        _count_cell(corrected, **where)


def _check_dyad(dyad: str | None, *, path, row: int) -> None:
    """Both codes of an 'AAA-BBB' pair must be in the country table: a mistyped code would
    make up a border."""
    if dyad and _DYAD.match(dyad):
        unknown = [code for code in dyad.split("-") if code not in schema.known_iso3()]
        if unknown:
            raise DataError(
                path,
                f"unknown country code {unknown[0]!r} in border_dyad",
                row=row,
                column="border_dyad",
                found=dyad,
                expected="two ISO3 codes of the country table, e.g. KGZ-TJK",
            )


def _text_or_none(value) -> str | None:
    if value is None or pd.isna(value) or not str(value).strip():
        return None
    return str(value).strip()


def _incident(record: dict, applied: list[tuple[str, str]]) -> dict:
    corrected = {field for field, _ in applied}
    where = {"path": record["_path"], "row": int(record["source_row"])}
    start, end, precision, note = _dates(record, corrected, where)
    _check_dyad(_text_or_none(record["border_dyad"]), **where)
    counts = {
        name: _derive_count(record, total, parts, where) for name, (total, parts) in COUNTS.items()
    }
    admin = " | ".join(
        f"{label}: {record[column]}"
        for label, column in (("KGZ", "admin_kgz"), ("other", "admin_other"))
        if _text_or_none(record[column])
    )
    stated = [(c, record[c]) for c in CASUALTY_COLUMNS if _text_or_none(record[c])]
    return {
        "incident_id": record["incident_id"],
        "source_dataset": "catalogue",
        "date_start": start.isoformat(),
        "date_end": end.isoformat(),
        "date_precision": precision,
        "date_note": note,
        "dyad": record["border_dyad"],
        "country": None,  # a border incident involves both states
        "location": record["location_text"],
        "admin_units": admin or None,
        "latitude": None,
        "longitude": None,
        "incident_type": record["incident_type"],
        "event_category": event_category(record["incident_type"]),
        "actors": record["actors"],
        "fatalities": counts["fatalities"][0],
        "fatalities_low": None,  # the catalogue states no ranges; qualifiers are in the basis
        "fatalities_high": None,
        "fatalities_basis": counts["fatalities"][1],
        "injured": counts["injured"][0],
        "displaced": _displaced(record["evacuated_displaced"]),
        "casualty_text": "; ".join(f"{c}={v}" for c, v in stated) or None,
        "casualty_attribution": record["casualty_attribution"],
        "source_reference": record["source_url"],
        "source_title": record["source_title"],
        "source_date": record["source_date"],
        "secondary_sources": record["secondary_source_urls"],
        "notes": record["notes"],
        "corrections": "; ".join(text for _, text in applied) or None,
        "source_file": record["source_file"],
        "source_row": record["source_row"],
    }


def _dates(record: dict, corrected: set[str], where: dict):
    note = record["date_note"]
    if not _text_or_none(record["date_start"]):
        raise DataError(
            where["path"],
            "missing start date",
            row=where["row"],
            column="date_start",
            expected="YYYY-MM-DD or YYYY-MM",
        )
    start, start_last, precision = parse_partial_date(
        record["date_start"], column="date_start", **where
    )
    flagged = bool(_MONTH_ONLY_NOTE.match(note or "")) and "date_start" not in corrected
    if flagged and precision == "day":
        if start.day != 1:
            raise DataError(
                where["path"],
                "date_note says 'month only' but the date is not a 1st",
                row=where["row"],
                column="date_start",
                found=record["date_start"],
                expected="the first day of the month, or YYYY-MM",
            )
        start_last, precision = (
            start.replace(day=calendar.monthrange(start.year, start.month)[1]),
            "month",
        )
    end = start_last
    if _text_or_none(record["date_end"]):
        _, end, end_precision = parse_partial_date(record["date_end"], column="date_end", **where)
        precision = max(precision, end_precision, key=_PRECISION_RANK.get)
    if end < start:
        raise DataError(
            where["path"],
            "date_end is before date_start",
            row=where["row"],
            column="date_end",
            found=record["date_end"],
            expected=f"on or after {start}",
        )
    return start, end, precision, note


def _derive_count(record: dict, total_column: str, part_columns, where: dict):
    """(count, basis): the stated total if numeric, else the sum of numeric per-country figures."""
    total_text = _text_or_none(record[total_column])
    total = _count_cell(total_text, column=total_column, **where)
    if total is not None:
        return total.value, f"stated total {total.describe(total_text)}"
    parts = {c: _count_cell(_text_or_none(record[c]), column=c, **where) for c in part_columns}
    numeric = {c: q for c, q in parts.items() if q is not None}
    if not numeric:
        return None, "not stated" if total_text is None else f"stated only as '{total_text}'"
    countries = "/".join(c.split("_")[-1] for c in numeric)
    basis = f"sum of stated {countries} figures"
    qualified = [f"{c.split('_')[-1]} '{record[c]}'" for c, q in numeric.items() if q.qualifier]
    if qualified:
        basis += f" (includes {', '.join(qualified)})"
    if total_text is not None:
        basis += f"; stated total '{total_text}' is not a number"
    return sum(q.value for q in numeric.values()), basis


def _count_cell(text: str | None, *, path, row: int, column: str) -> Quantity | None:
    """A count cell: a (qualified) number, a verbal statement (None), or a DataError."""
    if text is None:
        return None
    quantity = parse_quantity(text)
    if quantity is not None and _ATTRIBUTION.match(quantity.rest):
        return quantity
    if re.match(r"^\s*[-\u2212]\s*\d", text):
        raise DataError(
            path,
            "negative count",
            row=row,
            column=column,
            found=text,
            expected="a count >= 0 (blank when not stated)",
        )
    if not re.search(r"\d", text) and _VERBAL.search(text):
        return None
    raise DataError(
        path,
        "not a count",
        row=row,
        column=column,
        found=text,
        expected="a whole number, optionally 'about'/'at least'/'more than'/'over' N, "
        "or a verbal statement such as 'several' (blank when not stated)",
    )


def _displaced(text) -> int | None:
    """A single stated figure of people evacuated or displaced; several figures stay text only."""
    text = _text_or_none(text)
    if text is None or ";" in text:
        return None
    quantity = parse_quantity(text)
    return quantity.value if quantity is not None and _PEOPLE.match(quantity.rest) else None


def event_category(incident_type) -> str:
    """The first rule of :data:`EVENT_RULES` whose keywords ``incident_type`` mentions, else 'other'."""
    text = _text_or_none(incident_type) or ""
    return next((category for category, pattern in EVENT_RULES if pattern.search(text)), "other")


def read_aggregate_claims(path: Path, root: Path | None = None) -> pd.DataFrame:
    """Read ``border_incident_aggregate_claims.csv`` into the ``incident_claims`` table.

    ``value_stated`` stays verbatim. ``incidents_stated`` is its leading figure when the first
    metric is a count of incidents ("at least 14 cases; 6 Tajik ... killed" -> 14), else missing;
    claims marked "NOT FOUND" (no origin located) keep their text but no number. A
    ``border_dyad`` that is not a pair of codes ("KGZ (all borders; ...)") leaves ``dyad``
    missing and is kept verbatim at the start of ``notes``; a pair must name known codes.
    Periods stay verbatim ("c.2002"), but one written as a date must be a real date.
    """
    raw = read_csv_table(path, CLAIM_COLUMNS)
    rows, label = [], source_label(path, root)  # once: it resolves paths on disk
    for record in raw.to_dict("records"):
        line = int(record["source_row"])
        dyad_text = _text_or_none(record["border_dyad"])
        dyad = dyad_text if dyad_text and _DYAD.match(dyad_text) else None
        _check_dyad(dyad, path=path, row=line)
        for column in ("period_start", "period_end"):
            period = _text_or_none(record[column])
            if period and any(pattern.match(period) for pattern, _ in _DATE_FORMS):
                parse_partial_date(period, path=path, row=line, column=column)
        notes = record["notes"]
        if dyad_text and dyad is None:
            notes = "; ".join(
                t for t in (f"border_dyad as stated: {dyad_text}", _text_or_none(notes)) if t
            )
        rows.append(
            {
                "claim_id": record["claim_id"],
                "dyad": dyad,
                "period_start": record["period_start"],
                "period_end": record["period_end"],
                "metric": record["metric"],
                "value_stated": record["value_stated"],
                "incidents_stated": _incidents_stated(record),
                "claimant": record["claimant"],
                "quote_paraphrase": record["quote_paraphrase"],
                "source_reference": record["source_url"],
                "source_title": record["source_title"],
                "source_date": record["source_date"],
                "notes": notes,
                "source_file": label,
                "source_row": record["source_row"],
            }
        )
    frame = pd.DataFrame(rows, columns=schema.columns("incident_claims"))
    frame = frame.sort_values(schema.SORT_KEYS["incident_claims"], kind="stable")
    return schema.validate("incident_claims", schema.coerce("incident_claims", frame))


_INCIDENT_METRIC = re.compile(r"\b(incidents?|conflicts?|clashes|cases)\b", re.IGNORECASE)
_PEOPLE_METRIC = re.compile(r"\b(people|killed|dead|wounded|injured|displaced)\b", re.IGNORECASE)


def _incidents_stated(record: dict) -> int | None:
    """The leading figure of a count-of-incidents claim; None for other metrics or unfound claims."""
    if _NOT_FOUND in (record["notes"] or ""):
        return None
    metric = (record["metric"] or "").split(";")[0]
    if not _INCIDENT_METRIC.search(metric) or _PEOPLE_METRIC.search(metric):
        return None
    quantity = parse_quantity((record["value_stated"] or "").split(";")[0])
    return quantity.value if quantity is not None else None
