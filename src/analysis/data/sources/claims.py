"""Period counts of border incidents as sources state them -> the ``incident_claims`` table.

``border_incident_aggregate_claims.csv`` holds one row per statement ("the border service
counted 32 Kyrgyz-Tajik incidents in 2014"). The reader keeps every statement verbatim and
reads from it what a like-with-like comparison with the catalogue needs: the figure, the
period and its kind, the scope (a dyad, or every border of one state), and who counted. Who
counted is curated data, not code: ``claim_counters.toml`` maps each claimant (by pattern) to a
stable counter id, its kind and its counting rule, with the evidence; several relays of one
counter (the border service via 24.kg, via Sputnik...) share its id.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
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
    read_text,
    source_label,
)
from .catalogue import DATE_FORMS, DYAD, Quantity, dyad_cell, parse_quantity, partial_dates, present

# Who counted each stated count: curated data, read by :func:`read_counters`.
CLAIM_COUNTERS = Path(__file__).with_name("claim_counters.toml")
COUNTER_KEYS = ("claimant", "kind", "counting_rule", "evidence")
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

_ALL_BORDERS = re.compile(r"^(?P<code>[A-Z]{3}) \(all borders\b[^)]*\)$")
_NOT_FOUND = "NOT FOUND"
_INCIDENT_METRIC = re.compile(r"\b(incidents?|conflicts?|clashes|cases)\b", re.IGNORECASE)
_PEOPLE_METRIC = re.compile(r"\b(people|killed|dead|wounded|injured|displaced)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Counter:
    """Who counted a stated period count (an entry of ``claim_counters.toml``)."""

    id: str
    kind: str
    claimant: re.Pattern
    counting_rule: str | None
    evidence: str


def read_counters(path: Path = CLAIM_COUNTERS) -> list[Counter]:
    """The curated claimant -> counter mapping; a malformed entry is a DataError at its line."""
    path = Path(path)
    text = read_text(path)
    try:
        entries = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(path, f"not valid TOML ({exc})") from None
    counters = []
    for counter_id, entry in entries.items():
        line = next(
            (
                n
                for n, row in enumerate(text.splitlines(), 1)
                if row.strip().strip('[]"') == counter_id
            ),
            None,
        )
        where = {"row": line, "hint": "see the key list at the top of the file"}
        if not isinstance(entry, dict) or not re.fullmatch(r"[a-z0-9][a-z0-9_]*", counter_id):
            raise DataError(
                path,
                "not a counter table",
                found=counter_id,
                expected="[<id>] tables with a lower-case id of letters, digits and '_'",
                **where,
            )
        if set(entry) != set(COUNTER_KEYS):
            raise DataError(
                path,
                f"counter [{counter_id}] has the wrong keys",
                found=sorted(entry),
                expected=f"exactly {list(COUNTER_KEYS)}",
                **where,
            )
        if entry["kind"] not in schema.CLAIMANT_KINDS:
            raise DataError(
                path,
                f"counter [{counter_id}] has an unknown kind",
                column="kind",
                found=entry["kind"],
                expected=f"one of {list(schema.CLAIMANT_KINDS)}",
                **where,
            )
        if not str(entry["evidence"]).strip():
            raise DataError(
                path, f"counter [{counter_id}] gives no evidence", column="evidence", **where
            )
        try:
            claimant = re.compile(entry["claimant"])
        except (re.error, TypeError) as exc:
            raise DataError(
                path,
                f"counter [{counter_id}] has a bad claimant pattern ({exc})",
                column="claimant",
                found=entry["claimant"],
                expected="a regular expression",
                **where,
            ) from None
        rule = str(entry["counting_rule"]).strip() or None
        counters.append(Counter(counter_id, entry["kind"], claimant, rule, entry["evidence"]))
    return counters


def read_aggregate_claims(
    path: Path, root: Path | None = None, counters: Path = CLAIM_COUNTERS
) -> pd.DataFrame:
    """Read ``border_incident_aggregate_claims.csv`` into the ``incident_claims`` table.

    Verbatim: ``value_stated``, the stated period (``period_start``/``period_end``, e.g.
    "c.2002") and, for a scope that is not a dyad, ``border_dyad`` (at the start of ``notes``).
    Read from them:

    * ``incidents_stated``: the leading figure when the first metric is a count of incidents
      ("at least 14 cases; 6 Tajik ... killed" -> 14), with ``incidents_bound`` (exact,
      lower_bound, approximate); missing for other metrics and for claims marked "NOT FOUND".
    * ``dyad_scope``: the dyad, or "KGZ (all borders)" for a count over every border of one
      state (``dyad`` then stays blank); other scopes are a DataError.
    * ``period_first``/``period_last``: the first and last day of a period written as a date
      (YYYY, YYYY-MM or YYYY-MM-DD, which must be real); blank when approximate ("c.2010").
    * ``period_kind``: ``full_year`` (1 January to 31 December), ``partial_year`` (within one
      calendar year: "2015 to 27 October", "first half of 2018", a four-day episode),
      ``multi_year`` (the years differ) or ``point`` (no period stated). A partial year is kept
      as stated, never scaled to a year.
    * ``counter``, ``claimant_kind``, ``counting_rule``: from the curated
      ``claim_counters.toml``, whose claimant pattern the row's ``claimant`` must match (exactly
      one; an unmatched claimant is a DataError saying what to add).
    """
    path = Path(path)
    raw = read_csv_table(path, CLAIM_COLUMNS)
    scope = parse_series(raw, "border_dyad", path, _dyad_scope)
    first = partial_dates(_dated(raw, "period_start"), "period_start", path)["first"]
    last = partial_dates(_dated(raw, "period_end"), "period_end", path)["last"]
    first, last = first.reindex(raw.index), last.reindex(raw.index)
    period_kind = _period_kinds(raw, path, first, last)
    raise_at_first(
        raw,
        present(raw["claimant"]).isna(),
        path,
        "claimant",
        "claim names no claimant",
        "who states the count",
    )
    known = read_counters(counters)
    counter = parse_series(raw, "claimant", path, lambda text: _counter(text, known, counters))
    stated = [_incidents_stated(record) for record in raw.to_dict("records")]
    pair = scope.str.match(DYAD).fillna(False).astype(bool)
    dyad_text = present(raw["border_dyad"]).str.strip()
    frame = pd.DataFrame(
        {
            "claim_id": raw["claim_id"],
            "dyad": scope.where(pair),
            "dyad_scope": scope,
            "period_start": raw["period_start"],
            "period_end": raw["period_end"],
            "period_first": first.map(dt.date.isoformat, na_action="ignore"),
            "period_last": last.map(dt.date.isoformat, na_action="ignore"),
            "period_kind": period_kind,
            "metric": raw["metric"],
            "value_stated": raw["value_stated"],
            "incidents_stated": [q.value if q else None for q in stated],
            "incidents_bound": [q.bound if q else None for q in stated],
            "counter": counter.map(lambda c: c.id),
            "claimant_kind": counter.map(lambda c: c.kind),
            "counting_rule": counter.map(lambda c: c.counting_rule),
            "claimant": raw["claimant"],
            "quote_paraphrase": raw["quote_paraphrase"],
            "source_reference": raw["source_url"],
            "source_title": raw["source_title"],
            "source_date": raw["source_date"],
            "notes": join_present(
                ["border_dyad as stated: " + dyad_text.where(~pair), raw["notes"]], "; "
            ),
            "source_file": source_label(path, root),
            "source_row": raw["source_row"],
        }
    )
    frame = frame.sort_values(schema.SORT_KEYS["incident_claims"], kind="stable")
    return schema.validate("incident_claims", schema.coerce("incident_claims", frame))


def _dyad_scope(text: str) -> str:
    """'AAA-BBB' (known codes), or 'AAA (all borders)' from "KGZ (all borders; most on ...)"."""
    all_borders = _ALL_BORDERS.match(text)
    if all_borders:
        code = all_borders["code"]
        if code not in schema.known_iso3():
            raise CellProblem(
                f"unknown country code {code!r} in border_dyad", "an ISO3 code of the country table"
            )
        return f"{code} (all borders)"
    if not DYAD.match(text):
        raise CellProblem(
            "border_dyad names neither a dyad nor all borders of one state",
            "a pair of ISO3 codes such as KGZ-TJK, or 'KGZ (all borders)'",
        )
    return dyad_cell(text)


def _dated(raw: pd.DataFrame, column: str) -> pd.DataFrame:
    """The rows whose period is written as a date (others, such as 'c.2002', stay verbatim)."""
    text = raw[column].fillna("").str.strip()
    return raw[text.map(lambda value: any(pattern.match(value) for pattern, _ in DATE_FORMS))]


def _period_kinds(raw, path, first: pd.Series, last: pd.Series) -> pd.Series:
    """full_year, partial_year, multi_year or point (see :func:`read_aggregate_claims`)."""
    start, end = present(raw["period_start"]), present(raw["period_end"])
    for given, blank in ((start, "period_end"), (end, "period_start")):
        raise_at_first(
            raw,
            given.notna() & present(raw[blank]).isna(),
            path,
            blank,
            "period has one end only",
            "both period_start and period_end, or neither",
        )
    years = {
        c: raw[c].str.extract(r"(\d{4})", expand=False) for c in ("period_start", "period_end")
    }
    for column, year in years.items():
        raise_at_first(
            raw,
            raw[column].notna() & year.isna(),
            path,
            column,
            "period without a year",
            "a date (YYYY, YYYY-MM, YYYY-MM-DD) or an approximate year such as 'c.2010'",
        )
    whole_year = first.map(lambda day: (day.month, day.day) == (1, 1), na_action="ignore").eq(
        True
    ) & last.map(lambda day: (day.month, day.day) == (12, 31), na_action="ignore").eq(True)
    same_year = years["period_start"] == years["period_end"]
    kind = np.select(
        [start.isna(), ~same_year, whole_year], ["point", "multi_year", "full_year"], "partial_year"
    )
    return pd.Series(kind, index=raw.index)


def _counter(text: str, counters: list[Counter], path: Path) -> Counter:
    matches = [c for c in counters if c.claimant.fullmatch(text)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise CellProblem(
            f"claimant matches several counters ({', '.join(c.id for c in matches)})",
            f"exactly one counter's claimant pattern in {path}",
        )
    raise CellProblem(
        f"no counter of {path.name} matches this claimant",
        f"a counter whose claimant pattern matches it: add the claimant to the pattern of the "
        f"counter who counted, or a new [<id>] table with {list(COUNTER_KEYS)}, in {path}",
    )


def _incidents_stated(record: dict) -> Quantity | None:
    """The leading figure of a count-of-incidents claim; None for other metrics or unfound claims."""
    if _NOT_FOUND in (record["notes"] or ""):
        return None
    metric = (record["metric"] or "").split(";")[0]
    if not _INCIDENT_METRIC.search(metric) or _PEOPLE_METRIC.search(metric):
        return None
    return parse_quantity((record["value_stated"] or "").split(";")[0])


def read_raw(paths: list[Path], ctx: ReadContext) -> pd.DataFrame:
    """Registry reader: the aggregate-claims file."""
    return read_aggregate_claims(paths[0], root=ctx.root)
