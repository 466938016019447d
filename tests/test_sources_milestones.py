"""The militarisation-milestones reader."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from conftest import SHARED_DATA, requires_shared

from analysis.errors import DataError
from analysis.sources.milestones import MILESTONE_COLUMNS, read_milestones

REAL = SHARED_DATA / "indicators" / "militarisation_milestones_from_pages.csv"
needs_real = requires_shared


def milestone(event_date: str, precision: str, country: str = "KGZ", **cells) -> dict:
    return {
        "event_date": event_date,
        "date_precision": precision,
        "country": country,
        "event": f"event of {event_date}",
        "source_url": "https://example.org/page",
        "source_publication_date": "2021-12-20",
        "what_the_source_states": "states X",
        "reliability_note": "news outlet",
        **cells,
    }


def write(tmp_path: Path, rows: list[dict]) -> Path:
    path = tmp_path / "milestones.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(MILESTONE_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_ids_dates_and_statements(tmp_path):
    path = write(
        tmp_path,
        [
            milestone("2021-10-21", "day", what_the_source_states="announced TB2 purchase"),
            milestone("2021-10-21", "day"),
            milestone("2021", "year", source_publication_date=""),
            milestone("2022-04", "month", country="TJK"),
        ],
    )
    table = read_milestones(path, root=tmp_path)
    assert table["milestone_id"].tolist() == [
        "KGZ-2021-1",
        "KGZ-2021-10-21-1",
        "KGZ-2021-10-21-2",
        "TJK-2022-04-1",
    ]
    assert table["event_date"].tolist() == ["2021-01-01", "2021-10-21", "2021-10-21", "2022-04-01"]
    assert table["date_precision"].tolist() == ["year", "day", "day", "month"]
    first = table.set_index("milestone_id").loc["KGZ-2021-10-21-1"]
    assert first["statement"] == "announced TB2 purchase" and first["source_row"] == 2
    assert pd.isna(table.set_index("milestone_id").loc["KGZ-2021-1", "source_publication_date"])


def test_ids_do_not_depend_on_other_rows_order(tmp_path):
    rows = [milestone("2021-12-18", "day"), milestone("2021-10-21", "day", country="TJK")]
    forward = read_milestones(write(tmp_path, rows))
    backward = read_milestones(write(tmp_path, rows[::-1]))
    assert forward["milestone_id"].tolist() == backward["milestone_id"].tolist()


@pytest.mark.parametrize(
    "row, column, problem",
    [
        (milestone("2021-10", "day"), "date_precision", "does not match"),
        (milestone("2021-02-30", "day"), "event_date", "impossible date"),
        (milestone("21 Oct 2021", "day"), "event_date", "unparseable date"),
        (
            milestone("2021-10-21", "day", source_publication_date="2021-13-01"),
            "source_publication_date",
            "impossible date",
        ),
        (milestone("2021-10-21", "day", country="XYZ"), "country", "ISO"),
    ],
)
def test_bad_rows_fail_at_file_line_column(tmp_path, row, column, problem):
    with pytest.raises(DataError, match=problem) as caught:
        read_milestones(write(tmp_path, [milestone("2021-10-21", "day"), row]))
    text = str(caught.value)
    assert "milestones.csv" in text and "line 3" in text and f"column '{column}'" in text


@needs_real
def test_real_milestones():
    table = read_milestones(REAL)
    assert len(table) == 6 and table["milestone_id"].is_unique
    ids = table.set_index("milestone_id")
    assert (
        ids.loc["KGZ-2021-12-18-1", "event"]
        == "Bayraktar TB2 drones enter service with Kyrgyz border troops"
    )
    assert ids.loc["TJK-2022-04-1", ["event_date", "date_precision"]].tolist() == [
        "2022-04-01",
        "month",
    ]
    assert ids.loc["KGZ-2021-1", "date_precision"] == "year"
