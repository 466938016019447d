"""The border-incident catalogue reader: merging, errata, dates, casualty parsing, categories."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from conftest import SHARED_DATA, assert_points_at, requires_shared

from analysis.data import datasets
from analysis.data.sources import catalogue
from analysis.data.sources.catalogue import (
    CATALOGUE_COLUMNS,
    CORRECTION_COLUMNS,
    SUPERSEDED,
    event_category,
    incident_coverage,
    read_catalogue,
)
from analysis.data.sources.claims import CLAIM_COLUMNS, read_aggregate_claims
from analysis.errors import DataError

INCIDENTS = SHARED_DATA / "incidents"
needs_real = requires_shared


def write_csv(path: Path, columns, rows: list[dict], delimiter: str = ",") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def incident(incident_id: str, date_start: str = "2020-05-08", **cells) -> dict:
    base = {
        "incident_id": incident_id,
        "date_start": date_start,
        "date_end": date_start,
        "border_dyad": "KGZ-TJK",
        "incident_type": "clash between residents (stones)",
        "source_url": f"https://example.org/{incident_id}",
        "source_title": f"Title of {incident_id}",
    }
    return {**base, **cells}


def read_one(tmp_path: Path, *rows: dict) -> pd.DataFrame:
    path = write_csv(
        tmp_path / "border_incidents_catalogue_test.csv", CATALOGUE_COLUMNS, list(rows)
    )
    return read_catalogue([path], corrections=None, root=tmp_path)


# --- merging and verbatim fields -------------------------------------------------------------


def test_files_merge_keep_text_verbatim_and_sort_by_date(tmp_path):
    first = write_csv(
        tmp_path / "border_incidents_catalogue_a.csv",
        CATALOGUE_COLUMNS,
        [
            incident(
                "KGZ-TJK-002",
                "2021-04-28",
                casualty_attribution="KGZ Health Ministry; TJK: Sughd",
                secondary_source_urls="https://a.example https://b.example",
                notes="two versions",
            ),
        ],
    )
    second = write_csv(
        tmp_path / "border_incidents_catalogue_b.csv",
        CATALOGUE_COLUMNS,
        [
            incident(
                "KGZ-TJK-A001", "2008-03-26", admin_kgz="Batken oblast", admin_other="Sughd, Isfara"
            ),
            incident("KGZ-UZB-A001", "2009-06-07", admin_other="Andijan"),
        ],
    )
    table = read_catalogue([first, second], corrections=None, root=tmp_path)
    assert list(table["incident_id"]) == ["KGZ-TJK-A001", "KGZ-UZB-A001", "KGZ-TJK-002"]
    assert set(table["source_dataset"]) == {"catalogue"}
    row = table.set_index("incident_id").loc["KGZ-TJK-002"]
    assert row["casualty_attribution"] == "KGZ Health Ministry; TJK: Sughd"
    assert row["secondary_sources"] == "https://a.example https://b.example"
    assert row["source_reference"] == "https://example.org/KGZ-TJK-002"
    assert row["source_title"] == "Title of KGZ-TJK-002"
    assert (row["source_file"], row["source_row"]) == ("border_incidents_catalogue_a.csv", 2)
    admin = table.set_index("incident_id")["admin_units"]
    assert admin["KGZ-TJK-A001"] == "KGZ: Batken oblast | other: Sughd, Isfara"
    assert admin["KGZ-UZB-A001"] == "other: Andijan"
    assert pd.isna(admin["KGZ-TJK-002"])
    assert table["country"].isna().all() and table["latitude"].isna().all()


# --- errata ----------------------------------------------------------------------------------


def test_errata_are_applied_and_recorded(tmp_path):
    path = write_csv(
        tmp_path / "border_incidents_catalogue.csv",
        CATALOGUE_COLUMNS,
        [
            incident("KGZ-TJK-001", "2013-05-07", date_end="2013-05-08"),
            incident(
                "KGZ-UZB-003",
                "2013-07",
                date_end="2013-07",
                date_note="month only: 'earlier this month'",
            ),
        ],
    )
    corrections = write_csv(
        tmp_path / "catalogue_corrections.csv",
        CORRECTION_COLUMNS,
        [
            {
                "incident_id": "KGZ-TJK-001",
                "field": "date_start",
                "catalogue_value": "2013-05-07",
                "corrected_value": "2014-05-07",
                "evidence_url": "https://asiaplus.example/147260",
            },
            {
                "incident_id": "KGZ-TJK-001",
                "field": "date_end",
                "catalogue_value": "2013-05-08",
                "corrected_value": "2014-05-08",
                "evidence_url": "https://asiaplus.example/147260",
            },
            {
                "incident_id": "KGZ-UZB-003",
                "field": "date_start",
                "catalogue_value": "2013-07",
                "corrected_value": "2013-06-20",
                "evidence_url": "https://rferl.example/1",
            },
            {
                "incident_id": "KGZ-UZB-003",
                "field": "date_end",
                "catalogue_value": "2013-07",
                "corrected_value": "2013-06-20",
                "evidence_url": "https://rferl.example/1",
            },
            {
                "incident_id": "KGZ-UZB-003",
                "field": "evacuated_displaced",
                "catalogue_value": "",
                "corrected_value": "12 residents evacuated",
                "evidence_url": "https://rferl.example/2",
            },
        ],
    )
    table = read_catalogue([path], corrections, root=tmp_path).set_index("incident_id")
    first = table.loc["KGZ-TJK-001"]
    assert (first["date_start"], first["date_end"]) == ("2014-05-07", "2014-05-08")
    assert first["corrections"] == (
        "date_start 2013-05-07 -> 2014-05-07 (evidence: https://asiaplus.example/147260); "
        "date_end 2013-05-08 -> 2014-05-08 (evidence: https://asiaplus.example/147260)"
    )
    # A corrected month-only row becomes a day-precision row; its note, which the erratum
    # contradicts, is kept but marked superseded.
    third = table.loc["KGZ-UZB-003"]
    assert (third["date_start"], third["date_precision"]) == ("2013-06-20", "day")
    assert third["date_note"] == (
        "[superseded by erratum (date_start, date_end); see corrections] "
        "month only: 'earlier this month'"
    )
    assert pd.isna(first["date_note"])  # no note, nothing to supersede
    assert "evacuated_displaced (blank) -> 12 residents evacuated" in third["corrections"]
    assert third["displaced"] == 12


@pytest.mark.parametrize(
    "erratum, column, problem",
    [
        (
            {
                "incident_id": "KGZ-TJK-001",
                "field": "date_start",
                "catalogue_value": "2013-05-09",
                "corrected_value": "2014-05-07",
            },
            "catalogue_value",
            "no longer matches",
        ),
        (
            {
                "incident_id": "KGZ-TJK-999",
                "field": "date_start",
                "catalogue_value": "2013-05-07",
                "corrected_value": "2014-05-07",
            },
            "incident_id",
            "unknown incident",
        ),
        (
            {
                "incident_id": "KGZ-TJK-001",
                "field": "date_begin",
                "catalogue_value": "2013-05-07",
                "corrected_value": "2014-05-07",
            },
            "field",
            "unknown or uncorrectable field",
        ),
    ],
)
def test_bad_errata_fail_at_their_line(tmp_path, erratum, column, problem):
    path = write_csv(
        tmp_path / "border_incidents_catalogue.csv",
        CATALOGUE_COLUMNS,
        [incident("KGZ-TJK-001", "2013-05-07")],
    )
    ok = {
        "incident_id": "KGZ-TJK-001",
        "field": "notes",
        "catalogue_value": "",
        "corrected_value": "added",
        "evidence_url": "https://x.example",
    }
    corrections = write_csv(
        tmp_path / "catalogue_corrections.csv", CORRECTION_COLUMNS, [ok, erratum]
    )
    with pytest.raises(DataError, match=problem) as caught:
        read_catalogue([path], corrections)
    assert_points_at(caught.value, "catalogue_corrections.csv", 3, column)


def test_erratum_mismatch_names_the_catalogue_cell(tmp_path):
    path = write_csv(
        tmp_path / "border_incidents_catalogue.csv",
        CATALOGUE_COLUMNS,
        [incident("KGZ-TJK-001", "2013-05-07")],
    )
    corrections = write_csv(
        tmp_path / "catalogue_corrections.csv",
        CORRECTION_COLUMNS,
        [
            {
                "incident_id": "KGZ-TJK-001",
                "field": "date_start",
                "catalogue_value": "2013-05-06",
                "corrected_value": "2014-05-07",
            },
        ],
    )
    with pytest.raises(DataError) as caught:
        read_catalogue([path], corrections)
    assert "'2013-05-07'" in str(caught.value) and "border_incidents_catalogue.csv line 2" in str(
        caught.value
    )


# --- dates -----------------------------------------------------------------------------------


def test_month_dates_use_first_and_last_day(tmp_path):
    table = read_one(
        tmp_path,
        incident("A", "2013-07", date_end="2013-07"),
        incident(
            "B", "2014-03-01", date_end="", date_note="month only: 'a violent clash in March'"
        ),
        incident("C", "2016-02", date_end=""),
        incident("D", "2015-09-11", date_end=""),
    ).set_index("incident_id")
    assert table.loc["A", ["date_start", "date_end", "date_precision"]].tolist() == [
        "2013-07-01",
        "2013-07-31",
        "month",
    ]
    assert table.loc["B", ["date_start", "date_end", "date_precision"]].tolist() == [
        "2014-03-01",
        "2014-03-31",
        "month",
    ]
    assert table.loc["C", "date_end"] == "2016-02-29"  # leap year
    assert table.loc["D", ["date_end", "date_precision"]].tolist() == ["2015-09-11", "day"]
    assert table.loc["B", "date_note"] == "month only: 'a violent clash in March'"


@pytest.mark.parametrize(
    "cells, column, problem",
    [
        ({"date_start": "2021-02-30", "date_end": "2021-02-30"}, "date_start", "impossible date"),
        ({"date_start": "2021-13", "date_end": ""}, "date_start", "impossible date"),
        ({"date_start": "12/05/2021", "date_end": ""}, "date_start", "unparseable date"),
        ({"date_start": "2021-05-12", "date_end": "2021-05-1"}, "date_end", "unparseable date"),
        ({"date_start": "2021-05-12", "date_end": "2021-05-11"}, "date_end", "before date_start"),
        ({"date_start": "", "date_end": "2021-05-11"}, "date_start", "missing start date"),
        ({"date_start": "2014-03-05", "date_note": "month only: March"}, "date_start", "not a 1st"),
    ],
)
def test_bad_dates_fail_at_file_line_column(tmp_path, cells, column, problem):
    with pytest.raises(DataError, match=problem) as caught:
        read_one(tmp_path, incident("OK-1", "2020-01-01"), incident("BAD-1", **cells))
    assert_points_at(caught.value, "border_incidents_catalogue_test.csv", 3, column)


# --- casualties ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cells, fatalities, basis",
    [
        ({"killed_total_stated": "4", "killed_KGZ": "1", "killed_TJK": "3"}, 4, "stated total '4'"),
        ({"killed_total_stated": "about 60"}, 60, "'about 60' read as 60 (approximate)"),
        ({"killed_total_stated": "at least 14"}, 14, "(lower bound)"),
        ({"killed_total_stated": "more than ten"}, 10, "(lower bound)"),
        ({"killed_total_stated": "over 100 (IWPR/CABAR)", "killed_KGZ": "59"}, 100, "over 100"),
        ({"killed_KGZ": "36", "killed_TJK": "19"}, 55, "sum of stated KGZ/TJK figures"),
        ({"killed_UZB": "1"}, 1, "sum of stated UZB figures"),
        ({"killed_KGZ": "more than 150", "killed_TJK": "2"}, 152, "includes KGZ 'more than 150'"),
        ({"killed_total_stated": "several", "killed_TJK": "2"}, 2, "'several' is not a number"),
        ({"killed_total_stated": "several"}, None, "stated only as 'several'"),
        ({}, None, "not stated"),
        ({"killed_total_stated": "0"}, 0, "stated total '0'"),
    ],
)
def test_fatalities_follow_the_stated_figures(tmp_path, cells, fatalities, basis):
    row = read_one(tmp_path, incident("X", **cells)).iloc[0]
    assert pd.isna(row["fatalities"]) if fatalities is None else row["fatalities"] == fatalities
    assert basis in row["fatalities_basis"]


def test_blank_casualties_stay_missing_and_text_keeps_every_statement(tmp_path):
    table = read_one(
        tmp_path,
        incident("BLANK"),
        incident(
            "WORDS",
            injured_total_stated="injured reported (number not stated)",
            injured_KGZ="6",
            injured_TJK="5",
            detained_or_hostages="1 (the other trespasser) detained",
            evacuated_displaced="more than 33,000 evacuated (KGZ)",
        ),
    ).set_index("incident_id")
    blank = table.loc["BLANK"]
    for column in ("fatalities", "injured", "displaced", "casualty_text"):
        assert pd.isna(blank[column])
    words = table.loc["WORDS"]
    assert words["injured"] == 11
    assert words["displaced"] == 33000
    assert words["casualty_text"] == (
        "injured_KGZ=6; injured_TJK=5; injured_total_stated=injured reported (number not stated); "
        "evacuated_displaced=more than 33,000 evacuated (KGZ); "
        "detained_or_hostages=1 (the other trespasser) detained"
    )


@pytest.mark.parametrize(
    "text, displaced",
    [
        ("136,000 (KGZ claim); >2,000 TJK (ECHO)", None),  # two populations: no single figure
        ("more than 300 residents evacuated (24.kg); more than 650 moved by 24 July", None),
        ("about 4,000 people", 4000),
        ("residents of five villages evacuated; number not stated", None),
        ("5 villages evacuated", None),
    ],
)
def test_displaced_needs_one_figure_of_people(tmp_path, text, displaced):
    row = read_one(tmp_path, incident("X", evacuated_displaced=text)).iloc[0]
    assert pd.isna(row["displaced"]) if displaced is None else row["displaced"] == displaced
    assert row["casualty_text"] == f"evacuated_displaced={text}"


@pytest.mark.parametrize(
    "column, value, problem",
    [
        ("killed_KGZ", "-1", "negative count"),
        ("injured_TJK", "3a", "not a count"),
        ("injured_TJK", "2.5", "not a count"),
        ("killed_total_stated", "abc", "not a count"),
        ("injured_total_stated", "about 60 or 70", "not a count"),
    ],
)
def test_garbage_counts_fail_at_file_line_column(tmp_path, column, value, problem):
    with pytest.raises(DataError, match=problem) as caught:
        read_one(tmp_path, incident("OK-1"), incident("BAD-1", **{column: value}))
    assert_points_at(caught.value, "border_incidents_catalogue_test.csv", 3, column)
    assert repr(value) in str(caught.value)


# --- categories ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, category",
    [
        ("exchange of fire between border guards; mortars used (per KGZ)", "armed_clash"),
        ("stone throwing between residents escalating to border-guard shootout", "armed_clash"),
        ("interstate military clash (heavy weapons, drones, shelling)", "armed_clash"),
        (
            "stones thrown at cars; KGZ warning shots; TJK mortar positioned (per KGZ)",
            "civilian_clash",
        ),
        ("UZB border guards shot dead a Kyrgyz citizen", "shooting"),
        ("TJK servicemen fired at a Kyrgyz truck", "shooting"),
        ("clash between residents (stones) with shooting by border guards", "shooting"),
        ("brawl between border guards; warning shots; briefly detained them", "civilian_clash"),
        ("detention of Kyrgyz citizens by UZB border guards", "detention"),
        ("detention of a child after he threw a stone", "detention"),
        ("dispute over fence construction; verbal skirmish", "infrastructure_dispute"),
        ("dispute over dam built on a cross-border canal", "infrastructure_dispute"),
        ("warning shots by TJK border guards", "shooting"),
        ("militarised standoff; no violence reported", "other"),
        ("violent clash (details not stated)", "other"),
        (None, "other"),
    ],
)
def test_event_category_rules(text, category):
    assert event_category(text) == category


# --- whole-file problems ---------------------------------------------------------------------


def test_header_must_match_across_files(tmp_path):
    first = write_csv(
        tmp_path / "border_incidents_catalogue.csv", CATALOGUE_COLUMNS, [incident("A")]
    )
    columns = list(CATALOGUE_COLUMNS) + ["extra_column"]
    second = write_csv(tmp_path / "border_incidents_catalogue_more.csv", columns, [incident("B")])
    with pytest.raises(
        DataError, match="header differs from border_incidents_catalogue.csv"
    ) as caught:
        read_catalogue([first, second], corrections=None)
    assert_points_at(caught.value, "border_incidents_catalogue_more.csv", 1, "extra_column")


def test_duplicate_id_across_files_names_both(tmp_path):
    first = write_csv(
        tmp_path / "border_incidents_catalogue.csv",
        CATALOGUE_COLUMNS,
        [incident("A"), incident("KGZ-TJK-001")],
    )
    second = write_csv(
        tmp_path / "border_incidents_catalogue_more.csv",
        CATALOGUE_COLUMNS,
        [incident("B"), incident("C"), incident("KGZ-TJK-001")],
    )
    with pytest.raises(DataError, match="duplicate incident_id") as caught:
        read_catalogue([first, second], corrections=None)
    assert_points_at(caught.value, "border_incidents_catalogue_more.csv", 4, "incident_id")
    assert "border_incidents_catalogue.csv line 3" in str(caught.value)


def test_empty_file_fails(tmp_path):
    path = tmp_path / "border_incidents_catalogue.csv"
    path.write_text("")
    with pytest.raises(DataError, match="empty") as caught:
        read_catalogue([path], corrections=None)
    assert_points_at(caught.value, "border_incidents_catalogue.csv", None, None)


def test_wrong_delimiter_fails_at_the_header(tmp_path):
    path = write_csv(
        tmp_path / "border_incidents_catalogue.csv",
        CATALOGUE_COLUMNS,
        [incident("A")],
        delimiter=";",
    )
    with pytest.raises(DataError, match="wrong delimiter") as caught:
        read_catalogue([path], corrections=None)
    assert_points_at(caught.value, "border_incidents_catalogue.csv", 1, None)


def test_bad_encoding_fails_at_its_line(tmp_path):
    path = write_csv(
        tmp_path / "border_incidents_catalogue.csv",
        CATALOGUE_COLUMNS,
        [incident("A"), incident("B", location_text="Vorukh")],
    )
    path.write_bytes(path.read_bytes().replace(b"Vorukh", "Воpух".encode("cp1251")))
    with pytest.raises(DataError, match="UTF-8") as caught:
        read_catalogue([path], corrections=None)
    assert_points_at(caught.value, "border_incidents_catalogue.csv", 3, None)


# --- the shipped files -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_catalogue() -> pd.DataFrame:
    paths = sorted(INCIDENTS.glob("border_incidents_catalogue*.csv"))
    return read_catalogue(paths, INCIDENTS / "catalogue_corrections.csv", root=SHARED_DATA)


@needs_real
def test_real_catalogue_keeps_every_row(real_catalogue):
    paths = sorted(INCIDENTS.glob("border_incidents_catalogue*.csv"))
    assert len(paths) == 6
    expected = sum(len(pd.read_csv(p, dtype=str)) for p in paths)
    assert len(real_catalogue) == expected == 86
    assert set(real_catalogue["source_file"]) == {
        f"incidents/{p.name}" for p in paths
    }  # every file contributes, the E additions included
    e_rows = real_catalogue[
        real_catalogue["incident_id"].str.endswith(("E001", "E002", "E003", "E004"))
    ]
    assert sorted(e_rows["incident_id"]) == [
        "KGZ-TJK-E001",
        "KGZ-TJK-E002",
        "KGZ-TJK-E003",
        "KGZ-TJK-E004",
        "TJK-UZB-E001",
    ]
    assert real_catalogue["incident_id"].is_unique
    assert real_catalogue["source_reference"].notna().all()
    assert list(real_catalogue["date_start"]) == sorted(real_catalogue["date_start"])


@needs_real
def test_real_catalogue_applies_the_errata(real_catalogue):
    table = real_catalogue.set_index("incident_id")
    row = table.loc["KGZ-TJK-001"]
    assert (row["date_start"], row["date_end"]) == ("2014-05-07", "2014-05-08")
    assert (
        "date_start 2013-05-07 -> 2014-05-07 (evidence: https://asiaplus.news/?p=147260)"
        in row["corrections"]
    )
    assert table.loc["KGZ-TJK-B011", "date_start"] == "2021-06-04"
    assert table.loc["KGZ-UZB-003", ["date_start", "date_precision"]].tolist() == [
        "2013-06-20",
        "day",
    ]
    errata = pd.read_csv(INCIDENTS / "catalogue_corrections.csv", dtype=str)
    recorded = table["corrections"].dropna().str.count(r"\(evidence: ").sum()
    assert recorded == len(errata)


@needs_real
def test_real_catalogue_never_invents_zero(real_catalogue):
    for column, source in (("fatalities", "killed_"), ("injured", "injured_")):
        zero = real_catalogue[real_catalogue[column] == 0]
        assert zero["casualty_text"].fillna("").str.contains(source + r"\w+=0\b").all()
    unstated = real_catalogue[real_catalogue["casualty_text"].isna()]
    assert unstated[["fatalities", "injured", "displaced"]].isna().all().all()
    assert (real_catalogue["fatalities_basis"] == "not stated").sum() == real_catalogue[
        "fatalities"
    ].isna().sum()


@needs_real
def test_real_catalogue_known_rows(real_catalogue):
    table = real_catalogue.set_index("incident_id")
    assert table.loc["KGZ-TJK-019", ["fatalities", "injured", "displaced"]].tolist() == [
        55,
        270,
        33000,
    ]
    assert table.loc["KGZ-TJK-A004", ["date_precision", "date_end", "injured"]].tolist() == [
        "month",
        "2014-03-31",
        25,
    ]
    assert table.loc["KGZ-TJK-028", "fatalities"] == 100
    assert "lower bound" in table.loc["KGZ-TJK-028", "fatalities_basis"]
    assert pd.isna(table.loc["KGZ-TJK-028", "displaced"])  # two populations, two sources
    assert set(real_catalogue["dyad"]) == {"KGZ-TJK", "KGZ-UZB", "TJK-UZB"}


def test_quantity_parser_reads_thousands_and_words():
    assert catalogue.parse_quantity("136,000 (KGZ claim)").value == 136000
    assert catalogue.parse_quantity("More than ten").value == 10
    assert catalogue.parse_quantity("tenfold") is None
    assert catalogue.parse_quantity("several") is None


# --- date notes an erratum contradicts --------------------------------------------------------


def test_a_date_note_an_erratum_contradicts_is_marked_superseded(tmp_path):
    path = write_csv(
        tmp_path / "border_incidents_catalogue.csv",
        CATALOGUE_COLUMNS,
        [
            incident("DATES-FIXED", "2013-05-07", date_note="'On May 7' among 2013 clashes"),
            incident("NOTE-FIXED", "2021-06-06", date_note="start date not stated"),
            incident("END-FIXED", "2016-08-22", date_end="2016-09-02", date_note="as reported"),
            incident("OTHER-FIX", "2020-01-05", date_note="day from the dateline"),
            incident("NO-NOTE", "2020-02-05", date_end="2020-02-06"),
        ],
    )
    rows = [
        ("DATES-FIXED", "date_start", "2013-05-07", "2014-05-07"),
        ("DATES-FIXED", "date_end", "2013-05-07", "2014-05-07"),
        ("NOTE-FIXED", "date_start", "2021-06-06", "2021-06-04"),
        ("NOTE-FIXED", "date_note", "start date not stated", "start 4 June (RIA)"),
        ("END-FIXED", "date_end", "2016-09-02", "2016-09-18"),
        ("OTHER-FIX", "notes", "", "added"),
        ("NO-NOTE", "date_end", "2020-02-06", "2020-02-07"),
    ]
    corrections = write_csv(
        tmp_path / "catalogue_corrections.csv",
        CORRECTION_COLUMNS,
        [dict(zip(CORRECTION_COLUMNS, (*row, "https://x.example", "made up"))) for row in rows],
    )
    note = read_catalogue([path], corrections).set_index("incident_id")["date_note"]
    assert note["DATES-FIXED"] == (
        SUPERSEDED.format(fields="date_start, date_end") + "'On May 7' among 2013 clashes"
    )
    assert note["END-FIXED"] == SUPERSEDED.format(fields="date_end") + "as reported"
    assert note["NOTE-FIXED"] == "start 4 June (RIA)"  # the erratum rewrote the note itself
    assert note["OTHER-FIX"] == "day from the dateline"  # its dates stand
    assert pd.isna(note["NO-NOTE"])


@needs_real
def test_real_date_notes_the_errata_contradict_are_superseded(real_catalogue):
    table = real_catalogue.set_index("incident_id")
    marked = table["date_note"].fillna("").str.startswith("[superseded by erratum")
    assert sorted(table.index[marked]) == ["KGZ-TJK-001", "KGZ-UZB-003"]
    for incident_id, stale in (
        ("KGZ-UZB-003", "month only: 'Earlier this month' in a report dated 2013-07-23"),
        ("KGZ-TJK-001", "azernews states 'On May 7' among 2013 clashes"),
    ):
        assert table.loc[incident_id, "date_note"] == (
            SUPERSEDED.format(fields="date_start, date_end") + stale
        )
    # B011's note was itself corrected: the new note stands
    assert table.loc["KGZ-TJK-B011", "date_note"].startswith("Start 4 Jun 2021")


# --- coverage --------------------------------------------------------------------------------


def coverage_of(tmp_path, incidents: list[dict], claims: pd.DataFrame | None = None):
    table = read_one(tmp_path, *incidents)
    claims = claims if claims is not None else stated_counts(tmp_path, [])
    return incident_coverage(table, claims).set_index(["dyad", "year"])


def stated_counts(tmp_path, rows: list[dict]) -> pd.DataFrame:
    """An incident_claims table read by the claims reader from ``rows`` (made-up claims)."""
    base = {
        "metric": "incidents",
        "claimant": "Kyrgyz State Border Service (test)",
        "source_url": "https://example.org",
    }
    path = write_csv(
        tmp_path / "border_incident_aggregate_claims.csv",
        CLAIM_COLUMNS,
        [{**base, **row} for row in rows] or [{**base, "claim_id": "AGG-X", "value_stated": "1"}],
    )
    return read_aggregate_claims(path, root=tmp_path)


def test_coverage_statuses(tmp_path):
    coverage = coverage_of(
        tmp_path,
        [
            incident("T1", "2019-06-03", source_date="2019-06-04"),
            incident("U1", "2020-05-01", border_dyad="KGZ-UZB", source_date="2020-05"),
            incident("T2", "2022-01-10", source_date="2022-03-02"),
        ],
    )
    status = coverage["status"].to_dict()
    assert status == {
        ("KGZ-TJK", 2019): "rows_found",
        ("KGZ-TJK", 2020): "searched_empty",
        ("KGZ-TJK", 2021): "not_covered",
        ("KGZ-TJK", 2022): "rows_found",
        ("KGZ-UZB", 2019): "searched_empty",
        ("KGZ-UZB", 2020): "rows_found",
        ("KGZ-UZB", 2021): "not_covered",
        ("KGZ-UZB", 2022): "searched_empty",
    }
    # a year with no row at all is missing, never zero; a searched-empty year is a zero
    assert coverage.loc[("KGZ-TJK", 2021), "catalogued"] is pd.NA
    assert coverage.loc[("KGZ-TJK", 2020), "catalogued"] == 0
    assert coverage.loc[("KGZ-TJK", 2019), "catalogued"] == 1
    assert "KGZ-UZB 1" in coverage.loc[("KGZ-TJK", 2020), "basis"]
    # covered to the latest month a cited source was published (2022-03), no further
    assert coverage.loc[("KGZ-TJK", 2022), ["first_month", "last_month"]].tolist() == [1, 3]
    assert coverage.loc[("KGZ-TJK", 2019), ["first_month", "last_month"]].tolist() == [1, 12]
    assert "2022-03" in coverage.loc[("KGZ-UZB", 2022), "basis"]


def test_coverage_uses_a_stated_zero_only_for_a_whole_year_of_that_dyad(tmp_path):
    claims = stated_counts(
        tmp_path,
        [
            {
                "claim_id": "AGG-1",
                "border_dyad": "KGZ-TJK",
                "value_stated": "0",
                "period_start": "2021-01-01",
                "period_end": "2021-12-31",
            },
            {
                "claim_id": "AGG-2",
                "border_dyad": "KGZ-UZB",
                "value_stated": "0",
                "period_start": "2021-01-01",
                "period_end": "2021-06-30",
            },
        ],
    )
    coverage = coverage_of(
        tmp_path,
        [incident("T1", "2020-06-03"), incident("T2", "2022-01-10", source_date="2022-02")],
        claims,
    )
    assert coverage.loc[("KGZ-TJK", 2021), "status"] == "stated_zero"
    assert coverage.loc[("KGZ-TJK", 2021), "catalogued"] == 0
    assert "AGG-1" in coverage.loc[("KGZ-TJK", 2021), "basis"]


def test_coverage_lists_stated_counts_and_calls_a_zero_beside_one_missed(tmp_path):
    claims = stated_counts(
        tmp_path,
        [
            {"claim_id": "AGG-1", "border_dyad": "KGZ-UZB", "value_stated": "39",
             "period_start": "2020-01-01", "period_end": "2020-12-31"},
            {"claim_id": "AGG-2", "border_dyad": "KGZ-TJK", "value_stated": "5",
             "period_start": "2020-01-01", "period_end": "2020-09-30"},
            {"claim_id": "AGG-3", "border_dyad": "KGZ-TJK", "value_stated": "30",
             "period_start": "2019-01-01", "period_end": "2020-12-31"},
        ],
    )  # fmt: skip
    coverage = coverage_of(
        tmp_path,
        [incident("T1", "2020-06-03"), incident("U1", "2021-05-01", border_dyad="KGZ-UZB")],
        claims,
    )
    uzb = coverage.loc[("KGZ-UZB", 2020)]
    assert uzb["status"] == "searched_empty" and uzb["catalogued"] == 0
    assert "39 (AGG-1)" in uzb["stated"] and "the catalogue missed them" in uzb["basis"]
    # a partial year keeps its period; a statement across two years belongs to neither
    assert "5 2020-01-01..2020-09-30 (AGG-2)" in coverage.loc[("KGZ-TJK", 2020), "stated"]
    assert "AGG-3" not in coverage.loc[("KGZ-TJK", 2020), "stated"]
    assert pd.isna(coverage.loc[("KGZ-TJK", 2021), "stated"])


@needs_real
def test_real_coverage_of_the_kyrgyz_tajik_border():
    coverage = datasets.load("incident_coverage").set_index(["dyad", "year"]).loc["KGZ-TJK"]
    assert coverage.index.min() == 2008 and coverage.index.max() == 2025
    assert coverage.loc[2023, "status"] == "not_covered"  # no catalogue row for any dyad
    assert coverage.loc[[2009, 2010, 2016, 2017], "status"].eq("searched_empty").all()
    assert coverage.loc[2019, ["status", "catalogued"]].tolist() == ["rows_found", 17]
    assert coverage.loc[2021, "catalogued"] == 12  # the two E additions included
    # Additions F: the border service's 5 of January-September 2016, none catalogued
    assert "(AGG-123)" in coverage.loc[2016, "stated"]
    assert "missed" in coverage.loc[2016, "basis"]
    # collection cutoff: the latest publication the catalogue cites (KGZ-UZB-010, 2025-09)
    assert coverage.loc[2025, "last_month"] == 9 and coverage.loc[2024, "last_month"] == 12
