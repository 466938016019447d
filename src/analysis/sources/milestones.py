"""Dated militarisation milestones (drone orders and deliveries) -> canonical ``milestones``.

The raw file is hand-curated from news pages: one row per statement a page makes, so the same
event can appear twice from two pages. ``milestone_id`` is "<country>-<event_date>-<n>", n
counting rows with the same country and date in file order: derived from content, so it
does not depend on sorting, and stable as long as rows are appended rather than inserted.
Dates are kept at the precision the file states ("2021" -> 2021-01-01, precision "year").
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from .. import schema
from ..errors import DataError
from ._common import read_csv_table, source_label
from .catalogue import parse_partial_date

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


def read_milestones(path: Path, root: Path | None = None) -> pd.DataFrame:
    """Read ``militarisation_milestones_from_pages.csv``; the stated precision must match the date."""
    path = Path(path)
    raw = read_csv_table(path, MILESTONE_COLUMNS)
    seen: Counter = Counter()
    rows, label = [], source_label(path, root)  # once: it resolves paths on disk
    for record in raw.to_dict("records"):
        line = int(record["source_row"])
        stated = str(record["event_date"] or "").strip()
        first, _, precision = parse_partial_date(stated, path=path, row=line, column="event_date")
        if precision != record["date_precision"]:
            raise DataError(
                path,
                "date_precision does not match event_date",
                row=line,
                column="date_precision",
                found=record["date_precision"],
                expected=f"'{precision}' for event_date {stated!r}",
            )
        published = record["source_publication_date"]
        if published is not None and not pd.isna(published):
            parse_partial_date(published, path=path, row=line, column="source_publication_date")
        seen[(record["country"], stated)] += 1
        rows.append(
            {
                "milestone_id": f"{record['country']}-{stated}-{seen[(record['country'], stated)]}",
                "event_date": first.isoformat(),
                "date_precision": precision,
                "country": record["country"],
                "event": record["event"],
                "source_url": record["source_url"],
                "source_publication_date": published,
                "statement": record["what_the_source_states"],
                "reliability_note": record["reliability_note"],
                "source_file": label,
                "source_row": line,
            }
        )
    frame = pd.DataFrame(rows, columns=schema.columns("milestones"))
    frame = frame.sort_values(schema.SORT_KEYS["milestones"], kind="stable")
    return schema.validate("milestones", schema.coerce("milestones", frame))
