"""The curated border-incident catalogue -> ``incidents``, and what it covers -> ``incident_coverage``.

The catalogue is several CSV files with one header (``border_incidents_catalogue*.csv``: a base
file plus additions), merged here into the canonical ``incidents`` table, plus an errata file
(``catalogue_corrections.csv``) applied explicitly so every changed cell is recorded in the row's
``corrections`` column ("date_start 2013-05-07 -> 2014-05-07 (evidence: <url>)").

Rules, because the catalogue is text written by people:

* **Dates.** ``YYYY-MM-DD`` is day precision; ``YYYY-MM`` is month precision, stored as the 1st of
  the month with ``date_end`` the last day of that month; ``YYYY`` likewise for a year. A row
  whose ``date_note`` starts with "month only" (the catalogue's own flag for a month written as
  its 1st day) also gets month precision, unless an erratum corrected its dates. A blank
  ``date_end`` means the event is dated by its start alone: it ends when the start's period ends.
* **Date notes after errata.** A note describes the dates as first catalogued. When an erratum
  corrects ``date_start`` or ``date_end`` but not the note, the note contradicts the new dates:
  it is kept, behind the prefix "[superseded by erratum (<fields>); see corrections] "
  (:data:`SUPERSEDED`); a note an erratum rewrote is the new note (the old one is in
  ``corrections``).
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

Cells are parsed column by column with the shared helpers of ``_common`` (each distinct text
once), and a bad cell is reported at its file, line and column.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...errors import DataError
from .. import schema
from ._common import (
    CellProblem,
    ReadContext,
    join_present,
    parse_series,
    raise_at_first,
    read_csv_table,
    source_label,
)

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
EDITABLE = frozenset(CATALOGUE_COLUMNS) - {"incident_id"}  # what an erratum may correct
DATE_FIELDS = ("date_start", "date_end")
# Put before a date_note whose dates an erratum corrected, naming the corrected fields.
SUPERSEDED = "[superseded by erratum ({fields}); see corrections] "

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
DATE_FORMS = (
    (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "day"),
    (re.compile(r"^\d{4}-\d{2}$"), "month"),
    (re.compile(r"^\d{4}$"), "year"),
)
_PRECISION_RANK = {"day": 0, "month": 1, "year": 2}
_MONTH_ONLY_NOTE = re.compile(r"^\s*month only\b", re.IGNORECASE)
DYAD = re.compile(r"^[A-Z]{3}-[A-Z]{3}$")


@dataclass(frozen=True)
class Quantity:
    """A figure read from text: the number, what its qualifier means, and the text around it."""

    value: int
    qualifier: str | None
    rest: str
    text: str

    @property
    def bound(self) -> str:
        """``exact``, ``lower_bound`` ("at least 32") or ``approximate`` ("some 230")."""
        if not self.qualifier:
            return "exact"
        return _QUALIFIERS[self.qualifier.lower()].replace(" ", "_")

    def describe(self) -> str:
        """How the figure was read, e.g. "'about 60' read as 60 (approximate)"."""
        if not self.qualifier and not self.rest.strip():
            return f"'{self.text}'"
        kind = f" ({_QUALIFIERS[self.qualifier.lower()]})" if self.qualifier else ""
        return f"'{self.text}' read as {self.value}{kind}"


def parse_quantity(text: str | None) -> Quantity | None:
    """The leading (optionally qualified) number of ``text``, or None when it does not start with one."""
    if text is None or pd.isna(text):
        return None
    text = str(text).strip()
    match = _QUANTITY.match(text)
    if not match:
        return None
    number = match["number"].lower()
    value = _NUMBER_WORDS[number] if number in _NUMBER_WORDS else int(number.replace(",", ""))
    return Quantity(value, match["qualifier"], match["rest"], text)


def parse_partial_date(text: str) -> tuple[dt.date, dt.date, str]:
    """First day, last day and precision of ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``
    (a cell parser for :func:`~analysis.data.sources._common.parse_series`)."""
    value = str(text).strip()
    precision = next((p for pattern, p in DATE_FORMS if pattern.match(value)), None)
    if precision is None:
        raise CellProblem("unparseable date", "YYYY-MM-DD, YYYY-MM (month precision) or YYYY")
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
        raise CellProblem("impossible date", "a real calendar date") from None
    return first, last, precision


def partial_dates(frame: pd.DataFrame, column: str, path: Path) -> pd.DataFrame:
    """``first``, ``last`` (dates) and ``precision`` of a column of partial dates; blank stays
    missing, a bad date is a DataError at its line."""
    parsed = parse_series(frame, column, path, parse_partial_date, missing=(None, None, None))
    return pd.DataFrame(parsed.tolist(), index=frame.index, columns=["first", "last", "precision"])


# --- the catalogue ---------------------------------------------------------------------------


def read_catalogue(
    paths: list[Path], corrections: Path | None, root: Path | None = None
) -> pd.DataFrame:
    """Merge the catalogue files, apply the errata, and map them to the ``incidents`` table."""
    files = _read_catalogue_files([Path(p) for p in paths])
    applied = _apply_corrections(files, Path(corrections)) if corrections is not None else {}
    frame = pd.concat(
        [
            _incidents(path, raw, applied.get(number, {}), root)
            for number, (path, raw) in enumerate(files)
        ],
        ignore_index=True,
    )
    frame = frame.sort_values(schema.SORT_KEYS["incidents"], kind="stable")
    return schema.validate("incidents", schema.coerce("incidents", frame))


def _read_catalogue_files(paths: list[Path]) -> list[tuple[Path, pd.DataFrame]]:
    """Each file's raw text cells; headers must be identical and ids unique across files."""
    if not paths:
        raise DataError(
            None, "no catalogue files given", expected="border_incidents_catalogue*.csv"
        )
    files = [(path, read_csv_table(path, CATALOGUE_COLUMNS)) for path in paths]
    first_path, first = files[0]
    for path, raw in files:
        _check_same_header(first_path, first, path, raw)
        raise_at_first(
            raw, raw["incident_id"].isna(), path, "incident_id", "missing incident_id", "an id"
        )
    ids = pd.concat(
        [raw[["incident_id", "source_row"]].assign(file=n) for n, (_, raw) in enumerate(files)],
        ignore_index=True,
    )
    repeated = ids[ids["incident_id"].duplicated()]
    if len(repeated):
        later = repeated.iloc[0]
        earlier = ids[ids["incident_id"] == later["incident_id"]].iloc[0]
        raise DataError(
            files[later["file"]][0],
            "duplicate incident_id",
            row=int(later["source_row"]),
            column="incident_id",
            found=later["incident_id"],
            expected="ids unique across the catalogue files",
            hint=f"The same id is in {files[earlier['file']][0]} line {earlier['source_row']}",
        )
    return files


def _check_same_header(first_path: Path, first: pd.DataFrame, path: Path, raw: pd.DataFrame):
    header, want = list(raw.columns), list(first.columns)
    if header == want:
        return
    position = next(
        i for i in range(max(len(header), len(want))) if header[i : i + 1] != want[i : i + 1]
    )
    found = header[position] if position < len(header) else "(no column)"
    expected = want[position] if position < len(want) else "(no column)"
    raise DataError(
        path,
        f"header differs from {first_path.name} at column {position + 1}",
        row=1,
        column=found,
        found=found,
        expected=f"'{expected}' (the catalogue files share one header)",
    )


def _apply_corrections(files, corrections: Path) -> dict[int, dict[int, list[tuple[str, str]]]]:
    """Apply each erratum to the raw cells, in file order; return what was changed, as
    {file number: {row index: [(field, "field old -> new (evidence: url)"), ...]}}."""
    errata = read_csv_table(corrections, CORRECTION_COLUMNS)
    where = {
        incident_id: (number, index)
        for number, (_, raw) in enumerate(files)
        for index, incident_id in raw["incident_id"].items()
    }
    raise_at_first(
        errata,
        ~errata["incident_id"].isin(list(where)),
        corrections,
        "incident_id",
        "erratum names an unknown incident",
        "an incident_id of the catalogue files",
    )
    raise_at_first(
        errata,
        ~errata["field"].isin(list(EDITABLE)),
        corrections,
        "field",
        "erratum names an unknown or uncorrectable field",
        f"one of {sorted(EDITABLE)}",
    )
    # A bad corrected value is reported at the erratum's line (later, it would point at the
    # catalogue row the erratum changed).
    partial_dates(errata[errata["field"].isin(DATE_FIELDS)], "corrected_value", corrections)
    parse_series(
        errata[errata["field"].isin(COUNT_COLUMNS)], "corrected_value", corrections, _count
    )
    applied: dict[int, dict[int, list[tuple[str, str]]]] = {}
    for erratum in errata.to_dict("records"):
        number, index = where[erratum["incident_id"]]
        path, raw = files[number]
        field = erratum["field"]
        current, stated = (
            _text_or_none(raw.at[index, field]),
            _text_or_none(erratum["catalogue_value"]),
        )
        if current != stated:
            raise DataError(
                corrections,
                "erratum no longer matches the catalogue",
                row=int(erratum["source_row"]),
                column="catalogue_value",
                found=stated,
                expected=f"the catalogue's value {current!r} "
                f"({path} line {raw.at[index, 'source_row']}, column '{field}')",
                hint="Review the erratum against the current catalogue",
            )
        corrected = _text_or_none(erratum["corrected_value"])
        raw.at[index, field] = corrected
        note = f"{field} {stated or '(blank)'} -> {corrected or '(blank)'}"
        applied.setdefault(number, {}).setdefault(index, []).append(
            (field, f"{note} (evidence: {erratum['evidence_url']})")
        )
    return applied


def _incidents(path: Path, raw: pd.DataFrame, applied: dict, root) -> pd.DataFrame:
    """One catalogue file (errata applied) as ``incidents`` rows."""
    fields = pd.Series({i: {field for field, _ in notes} for i, notes in applied.items()})
    fields = fields.reindex(raw.index).map(lambda f: f if isinstance(f, set) else set())
    start, end, precision = _dates(path, raw, fields.map(lambda f: bool(f & set(DATE_FIELDS))))
    parse_series(raw, "border_dyad", path, dyad_cell)
    quantities = {c: parse_series(raw, c, path, _count) for c in COUNT_COLUMNS}
    fatalities, fatalities_basis = _derive_count(raw, quantities, *COUNTS["fatalities"])
    injured, _ = _derive_count(raw, quantities, *COUNTS["injured"])
    return pd.DataFrame(
        {
            "incident_id": raw["incident_id"],
            "source_dataset": "catalogue",
            "date_start": start,
            "date_end": end,
            "date_precision": precision,
            "date_note": _date_note(raw, fields),
            "dyad": raw["border_dyad"],
            "country": None,  # a border incident involves both states
            "location": raw["location_text"],
            "admin_units": join_present(
                [
                    "KGZ: " + present(raw["admin_kgz"]),
                    "other: " + present(raw["admin_other"]),
                ],
                " | ",
            ),
            "latitude": None,
            "longitude": None,
            "incident_type": raw["incident_type"],
            "event_category": raw["incident_type"].map(event_category),
            "actors": raw["actors"],
            "fatalities": fatalities,
            "fatalities_low": None,  # the catalogue states no ranges; qualifiers are in the basis
            "fatalities_high": None,
            "fatalities_basis": fatalities_basis,
            "injured": injured,
            "displaced": raw["evacuated_displaced"].map(_displaced, na_action="ignore"),
            "casualty_text": join_present(
                [f"{c}=" + present(raw[c]) for c in CASUALTY_COLUMNS], "; "
            ),
            "casualty_attribution": raw["casualty_attribution"],
            "source_reference": raw["source_url"],
            "source_title": raw["source_title"],
            "source_date": raw["source_date"],
            "secondary_sources": raw["secondary_source_urls"],
            "notes": raw["notes"],
            "corrections": pd.Series(
                {i: "; ".join(text for _, text in notes) for i, notes in applied.items()},
                dtype=object,
            ).reindex(raw.index),
            "source_file": source_label(path, root),
            "source_row": raw["source_row"],
        }
    )


def _date_note(raw: pd.DataFrame, fields: pd.Series) -> pd.Series:
    """The date note, marked superseded where an erratum corrected the dates it describes
    (and not the note itself)."""
    fixed = fields.map(lambda f: ", ".join(d for d in DATE_FIELDS if d in f))
    superseded = (
        present(raw["date_note"]).notna() & fixed.ne("") & ~fields.map(lambda f: "date_note" in f)
    )
    prefix = fixed.map(lambda names: SUPERSEDED.format(fields=names))
    return raw["date_note"].mask(superseded, prefix + raw["date_note"])


def _dates(path: Path, raw: pd.DataFrame, dates_fixed: pd.Series):
    """ISO start and end dates and the precision of each row (see the module's rules)."""
    raise_at_first(
        raw,
        present(raw["date_start"]).isna(),
        path,
        "date_start",
        "missing start date",
        "YYYY-MM-DD or YYYY-MM",
    )
    start = partial_dates(raw, "date_start", path)
    month_only = (
        ~dates_fixed
        & raw["date_note"].fillna("").str.match(_MONTH_ONLY_NOTE)
        & start["precision"].eq("day")
    )
    raise_at_first(
        raw,
        month_only & start["first"].map(lambda day: day.day != 1),
        path,
        "date_start",
        "date_note says 'month only' but the date is not a 1st",
        "the first day of the month, or YYYY-MM",
    )
    month_end = start["first"].map(
        lambda day: day.replace(day=calendar.monthrange(day.year, day.month)[1])
    )
    start_last = start["last"].mask(month_only, month_end)
    start_precision = start["precision"].mask(month_only, "month")
    end = partial_dates(raw, "date_end", path)
    last = end["last"].fillna(start_last)
    precision = pd.concat([start_precision, end["precision"]], axis=1).apply(
        lambda both: max(both.dropna(), key=_PRECISION_RANK.get), axis=1
    )
    raise_at_first(
        raw,
        last < start["first"],
        path,
        "date_end",
        "date_end is before date_start",
        "on or after date_start",
    )
    return start["first"].map(dt.date.isoformat), last.map(dt.date.isoformat), precision


def dyad_cell(text: str) -> str:
    """A border dyad 'AAA-BBB' whose codes are both in the country table (a mistyped code would
    make up a border); other text is left to the table's contract."""
    if DYAD.match(text):
        unknown = [code for code in text.split("-") if code not in schema.known_iso3()]
        if unknown:
            raise CellProblem(
                f"unknown country code {unknown[0]!r} in border_dyad",
                "two ISO3 codes of the country table, e.g. KGZ-TJK",
            )
    return text


def _count(text: str) -> Quantity | None:
    """A count cell: a (qualified) number, a verbal statement (None), or a CellProblem."""
    quantity = parse_quantity(text)
    if quantity is not None and _ATTRIBUTION.match(quantity.rest):
        return quantity
    if re.match(r"^\s*[-\u2212]\s*\d", text):
        raise CellProblem("negative count", "a count >= 0 (blank when not stated)")
    if not re.search(r"\d", text) and _VERBAL.search(text):
        return None
    raise CellProblem(
        "not a count",
        "a whole number, optionally 'about'/'at least'/'more than'/'over' N, "
        "or a verbal statement such as 'several' (blank when not stated)",
    )


def _derive_count(raw, quantities, total_column: str, part_columns) -> tuple[list, list]:
    """Per row (count, basis): the stated total if numeric, else the sum of the numeric
    per-country figures, else missing."""
    counts, bases = [], []
    for i in raw.index:
        total, total_text = quantities[total_column][i], _text_or_none(raw.at[i, total_column])
        if total is not None:
            counts.append(total.value)
            bases.append(f"stated total {total.describe()}")
            continue
        numeric = {c: quantities[c][i] for c in part_columns if quantities[c][i] is not None}
        if not numeric:
            counts.append(None)
            bases.append("not stated" if total_text is None else f"stated only as '{total_text}'")
            continue
        basis = f"sum of stated {'/'.join(c.split('_')[-1] for c in numeric)} figures"
        qualified = [f"{c.split('_')[-1]} '{q.text}'" for c, q in numeric.items() if q.qualifier]
        if qualified:
            basis += f" (includes {', '.join(qualified)})"
        if total_text is not None:
            basis += f"; stated total '{total_text}' is not a number"
        counts.append(sum(q.value for q in numeric.values()))
        bases.append(basis)
    return counts, bases


def _displaced(text: str) -> int | None:
    """A single stated figure of people evacuated or displaced; several figures stay text only."""
    if ";" in text:
        return None
    quantity = parse_quantity(text)
    return quantity.value if quantity is not None and _PEOPLE.match(quantity.rest) else None


def event_category(incident_type) -> str:
    """The first rule of :data:`EVENT_RULES` whose keywords ``incident_type`` mentions, else 'other'."""
    text = _text_or_none(incident_type) or ""
    return next((category for category, pattern in EVENT_RULES if pattern.search(text)), "other")


def present(column: pd.Series) -> pd.Series:
    """The column with blank or whitespace-only cells missing."""
    return column.where(column.fillna("").str.strip().ne(""))


def _text_or_none(value) -> str | None:
    if value is None or pd.isna(value) or not str(value).strip():
        return None
    return str(value).strip()


# --- what the catalogue covers ---------------------------------------------------------------


def incident_coverage(incidents: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """The ``incident_coverage`` table: for each catalogue dyad and year of the catalogue's span,
    how many rows it holds and whether a year without rows is a zero or missing.

    * ``rows_found``: the catalogue holds at least one row of this dyad dated in the year.
    * ``searched_empty``: none for this dyad, but rows for another dyad that year: the
      catalogue was collected for the year and found nothing here (a catalogue zero).
    * ``not_covered``: no catalogue row for any dyad that year: missing, never zero
      (``catalogued`` is blank).
    * ``stated_zero``: no row, and a source states zero incidents for this dyad and the whole
      year (an incident_claims row; none exists yet).

    ``stated`` lists every count a counter states for the dyad within the year (counter, count,
    the period when it is not the whole year, claim id), so a catalogue zero that faces a stated
    count reads as what it is: incidents the catalogue missed, never an absence of incidents.

    The span runs from the first year with a row to the collection cutoff: the latest month in
    which a source the catalogue cites was published (``source_date``, or a row's date if that
    is later). Every year is covered from January; the cutoff's year only to the cutoff month.
    """
    rows = incidents[incidents["source_dataset"].eq("catalogue") & incidents["dyad"].notna()]
    cutoff = _collection_cutoff(rows)
    years = rows["date_start"].str[:4].astype(int)
    held = rows.groupby([rows["dyad"], years]).size()
    zero = claims[claims["incidents_stated"].eq(0) & claims["period_kind"].eq("full_year")].dropna(
        subset=["dyad"]
    )
    zero = {
        (c.dyad, int(c.period_first[:4])): f"{c.claim_id} ({c.counter})"
        for c in zero.itertuples(index=False)
    }
    stated = _stated_by_dyad_year(claims)
    by_year: dict[int, dict[str, int]] = {}
    for (dyad, year), count in held.items():
        by_year.setdefault(year, {})[dyad] = count
    out = []
    for dyad in sorted(rows["dyad"].unique()):
        for year in range(int(years.min()), cutoff.year + 1):
            count = by_year.get(year, {}).get(dyad, 0)
            others = ", ".join(f"{d} {n}" for d, n in sorted(by_year.get(year, {}).items()))
            if count:
                status, basis = "rows_found", f"{count} catalogue row(s) dated in the year"
            elif (dyad, year) in zero:
                status = "stated_zero"
                basis = f"no catalogue row; a source states zero for the year: {zero[dyad, year]}"
            elif others:
                status = "searched_empty"
                basis = (
                    f"no catalogue row for this dyad, but rows for others that year ({others}): "
                    "collected for the year, none found here (a catalogue zero, not a stated zero)"
                )
            else:
                status = "not_covered"
                basis = "no catalogue row for any dyad that year: missing, not zero"
            counted = [text for value, text in stated.get((dyad, year), []) if value > 0]
            if status == "searched_empty" and counted:
                basis += f"; counters state incidents that year ({'; '.join(counted)}): the catalogue missed them"
            if year == cutoff.year:
                basis += (
                    f"; covered to {cutoff.strftime('%B')} only (collection cutoff {cutoff}: "
                    "the latest month a source the catalogue cites was published)"
                )
            out.append(
                {
                    "dyad": dyad,
                    "year": year,
                    "catalogued": pd.NA if status == "not_covered" else count,
                    "status": status,
                    "first_month": 1,
                    "last_month": cutoff.month if year == cutoff.year else 12,
                    "stated": "; ".join(text for _, text in stated.get((dyad, year), [])) or pd.NA,
                    "basis": basis,
                }
            )
    return pd.DataFrame(out)


def _stated_by_dyad_year(claims: pd.DataFrame) -> dict[tuple[str, int], list[tuple[float, str]]]:
    """Counts stated for one dyad within one calendar year, by (dyad, year), in claim order:
    (count, "counter N [period] (claim)"); statements of a period across years are left out."""
    rows = claims.dropna(subset=["dyad", "incidents_stated"])
    rows = rows[rows["period_first"].str[:4] == rows["period_last"].str[:4]]
    out: dict[tuple[str, int], list[tuple[float, str]]] = {}
    for c in rows.itertuples(index=False):
        period = "" if c.period_kind == "full_year" else f" {c.period_first}..{c.period_last}"
        bound = {"lower_bound": "at least ", "approximate": "about "}.get(c.incidents_bound, "")
        text = f"{c.counter} {bound}{c.incidents_stated:g}{period} ({c.claim_id})"
        out.setdefault((c.dyad, int(c.period_first[:4])), []).append((c.incidents_stated, text))
    return out


def _collection_cutoff(rows: pd.DataFrame) -> pd.Period:
    """The latest month a cited source was published in (or a row is dated in, if later)."""
    published = rows["source_date"].str.extract(r"^(\d{4}-\d{2})", expand=False).dropna()
    return pd.Period(max([*published, *rows["date_end"].str[:7]]), freq="M")


def read_raw(paths: list[Path], ctx: ReadContext) -> pd.DataFrame:
    """Registry reader: the catalogue files with their errata applied."""
    return read_catalogue(
        [p for p in paths if p.name.startswith("border_incidents_catalogue")],
        corrections=next(p for p in paths if p.name == "catalogue_corrections.csv"),
        root=ctx.root,
    )
