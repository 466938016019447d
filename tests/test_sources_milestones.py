"""The milestones readers: both layouts, date bounds (reported_by = on or before), quantities."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from conftest import SHARED_DATA, requires_shared

from analysis.data.sources.milestones import (
    MILESTONE_2020_2025_COLUMNS,
    MILESTONE_COLUMNS,
    read_milestones,
    read_milestones_2020_2025,
)
from analysis.errors import DataError

INDICATORS = SHARED_DATA / "indicators"


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


def later(n: int, event_date: str, precision: str = "day", **cells) -> dict:
    return {
        "id": f"M{n:03d}",
        "event_date": event_date,
        "date_precision": precision,
        "country": "both",
        "kind": "delimitation",
        "event": f"event {n}",
        "source_url": f"https://example.org/{n}",
        **cells,
    }


def write(tmp_path: Path, rows: list[dict], columns=MILESTONE_COLUMNS) -> Path:
    path = tmp_path / "milestones.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
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
    table = read_milestones(path, root=tmp_path).set_index("milestone_id")
    # M001... in file order (as the 2020-2025 notes number the older file)
    assert table.index.tolist() == ["M001", "M002", "M003", "M004"]
    assert table["earliest_date"].tolist() == [
        "2021-10-21",
        "2021-10-21",
        "2021-01-01",
        "2022-04-01",
    ]
    assert table["latest_date"].tolist() == ["2021-10-21", "2021-10-21", "2021-12-31", "2022-04-30"]
    assert table["date_precision"].tolist() == ["day", "day", "year", "month"]
    assert set(table["kind"]) == {"militarisation"}
    assert table.loc["M001", "statement"] == "announced TB2 purchase"
    assert table.loc["M001", "source_row"] == 2
    assert table.loc["M001", "notes"] == "news outlet"
    assert pd.isna(table.loc["M003", "source_publication_date"])
    assert table[["quantity", "unit"]].isna().all().all()


def test_reported_by_is_an_upper_bound_only(tmp_path):
    table = read_milestones_2020_2025(
        write(
            tmp_path,
            [
                later(7, "2022-05-04", "reported_by", source_publication_date="2022-05-04"),
                later(8, "2025-03-25", "reported_by"),
                later(9, "2022-10", "month"),
            ],
            MILESTONE_2020_2025_COLUMNS,
        )
    ).set_index("milestone_id")
    reported = table.loc["M007"]
    assert reported["date_precision"] == "reported_by"
    assert reported["latest_date"] == "2022-05-04"  # happened on or before the report
    assert pd.isna(reported["earliest_date"])  # unknown: never the report's date
    assert pd.isna(table.loc["M008", "earliest_date"])
    assert table.loc["M009", ["earliest_date", "latest_date"]].tolist() == [
        "2022-10-01",
        "2022-10-31",
    ]
    assert set(table["country"]) == {"KGZ+TJK"}  # "both"


@pytest.mark.parametrize(
    "event, quantity",
    [
        ("Topographic working groups agree 43.32 km (Batken, 3-7 Oct 2023)", 43.32),
        ("Treaty on certain sections of the KG-UZ border (302.29 km) signed", 302.29),
        ("Border of 1,006.84 km described", 1006.84),
        ("Working groups agree 28.37 km; 2 km still open", None),  # two figures: none read
        ("Ceasefire from 16:00", None),
        ("Spending 3.5bn som (2020)", None),
    ],
)
def test_kilometres_only_where_the_text_states_one_figure(tmp_path, event, quantity):
    row = read_milestones_2020_2025(
        write(tmp_path, [later(7, "2023-10-07", event=event)], MILESTONE_2020_2025_COLUMNS)
    ).iloc[0]
    if quantity is None:
        assert pd.isna(row["quantity"]) and pd.isna(row["unit"])
    else:
        assert row["quantity"] == quantity and row["unit"] == "km of border"


@pytest.mark.parametrize(
    "row, column, problem",
    [
        (milestone("2021-10", "day"), "date_precision", "does not match"),
        (milestone("2021-10-21", "week"), "date_precision", "unknown date precision"),
        (milestone("2021-02-30", "day"), "event_date", "impossible date"),
        (milestone("21 Oct 2021", "day"), "event_date", "unparseable date"),
        (
            milestone("2021-10-21", "day", source_publication_date="2021-13-01"),
            "source_publication_date",
            "impossible date",
        ),
        (milestone("2021-10-21", "day", country="XYZ"), "country", "unknown country code"),
    ],
)
def test_bad_rows_fail_at_file_line_column(tmp_path, row, column, problem):
    with pytest.raises(DataError, match=problem) as caught:
        read_milestones(write(tmp_path, [milestone("2021-10-21", "day"), row]))
    text = str(caught.value)
    assert "milestones.csv" in text and "line 3" in text and f"column '{column}'" in text


@pytest.mark.parametrize(
    "row, column, problem",
    [
        (later(8, "2022-05", "reported_by"), "event_date", "not a whole day"),
        (
            later(8, "2022-05-04", "reported_by", source_publication_date="2022-05-06"),
            "event_date",
            "differs from the report's publication date",
        ),
        (later(8, "2022-05-04", kind="war"), "kind", "unknown kind"),
        (later(7, "2022-05-04"), "id", "duplicate id"),
        ({**later(8, "2022-05-04"), "id": "8"}, "id", "bad id"),
        (later(8, "2022-05-04", country="KGZ+XXX"), "country", "unknown country code 'XXX'"),
    ],
)
def test_bad_2020_2025_rows_fail_at_file_line_column(tmp_path, row, column, problem):
    rows = [later(7, "2021-04-29"), row]
    with pytest.raises(DataError, match=problem) as caught:
        read_milestones_2020_2025(write(tmp_path, rows, MILESTONE_2020_2025_COLUMNS))
    text = str(caught.value)
    assert "milestones.csv" in text and "line 3" in text and f"column '{column}'" in text


@requires_shared
def test_real_milestones():
    table = read_milestones(INDICATORS / "militarisation_milestones_from_pages.csv")
    assert len(table) == 6 and table["milestone_id"].is_unique
    rows = table.set_index("milestone_id")
    assert (
        rows.loc["M004", "event"] == "Bayraktar TB2 drones enter service with Kyrgyz border troops"
    )
    assert rows.loc["M004", ["earliest_date", "latest_date"]].tolist() == ["2021-12-18"] * 2
    assert rows.loc["M006", ["earliest_date", "latest_date", "date_precision"]].tolist() == [
        "2022-04-01",
        "2022-04-30",
        "month",
    ]
    assert rows.loc["M005", "date_precision"] == "year"


@requires_shared
def test_real_2020_2025_milestones_keep_reported_by_as_on_or_before():
    table = read_milestones_2020_2025(INDICATORS / "milestones_2020_2025.csv", root=SHARED_DATA)
    raw = pd.read_csv(INDICATORS / "milestones_2020_2025.csv", dtype=str)
    assert len(table) == len(raw) == 49
    assert sorted(table["milestone_id"]) == [f"M{n:03d}" for n in range(7, 56)]
    rows = table.set_index("milestone_id")
    reported = rows[rows["date_precision"].eq("reported_by")]
    assert sorted(reported.index) == ["M013", "M052", "M054"]
    # Japarov's ratification signature: reported on 25 March 2025, so on or before that day
    assert pd.isna(rows.loc["M052", "earliest_date"])
    assert rows.loc["M052", "latest_date"] == "2025-03-25"
    assert reported["earliest_date"].isna().all()
    assert (reported["latest_date"] == reported["source_publication_date"]).all()
    # conflicting dates stay in the notes, never averaged (Ababil-2 plant: 17 vs 16 May)
    assert rows.loc["M014", "latest_date"] == "2022-05-17" and "16" in rows.loc["M014", "notes"]
    # kilometres of border the 2023-24 protocols agreed, read from the rows' own text
    km = rows["quantity"].dropna()
    assert km.to_dict() == {
        "M027": 302.29,
        "M038": 43.32,
        "M039": 17.98,
        "M040": 11.88,
        "M041": 38.35,
        "M042": 1.11,
        "M043": 10.76,
        "M044": 28.37,
    }
    assert rows.loc["M047", "country"] == "KGZ+TJK" and rows.loc["M053", "country"] == (
        "KGZ+TJK+UZB"
    )
    assert set(rows["kind"]) == {
        "militarisation",
        "delimitation",
        "border_regime",
        "ceasefire",
        "mediation",
    }
