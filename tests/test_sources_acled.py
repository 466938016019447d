"""ACLED reader: an export maps to incidents as ACLED states it; bad files fail at a cell."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import SHARED_DATA, requires_shared
from sources_fixtures_ucdp import ACLED_HEADER, ACLED_RECORD, CODELIST, csv_text

from analysis.data.sources.acled import iso_numeric_to_iso3, read_acled
from analysis.errors import DataError


@pytest.fixture
def numeric(write):
    return iso_numeric_to_iso3(write("codelist.csv", CODELIST))


def acled_file(write, records, name="acled.csv", **kwargs):
    return write(name, csv_text(ACLED_HEADER, [{**ACLED_RECORD, **r} for r in records], **kwargs))


def read_error(path, numeric) -> str:
    with pytest.raises(DataError) as caught:
        read_acled(path, numeric)
    return str(caught.value)


def test_numeric_codes_from_the_code_list(numeric):
    assert numeric == {156: "CHN", 417: "KGZ", 643: "RUS", 762: "TJK", 860: "UZB"}


@requires_shared
def test_numeric_codes_from_the_shipped_code_list():
    codes = iso_numeric_to_iso3(
        SHARED_DATA / "global/crosswalks/countrycode_codelist_without_cldr.csv"
    )
    assert (codes[417], codes[762], codes[860]) == ("KGZ", "TJK", "UZB")


def test_numeric_code_given_twice_is_an_error(write):
    path = write("codelist.csv", CODELIST + "XXX,Nowhere,,,,417\n")
    with pytest.raises(DataError) as caught:
        iso_numeric_to_iso3(path)
    assert "codelist.csv" in str(caught.value) and "column 'iso3n'" in str(caught.value)
    assert "line 3" in str(caught.value)  # KGZ's row, the first of the two


def test_acled_event_maps_to_an_incident(write, numeric):
    row = read_acled(acled_file(write, [{}]), numeric).iloc[0]
    assert (row["incident_id"], row["source_dataset"]) == ("ACLED-KGZ101", "acled")
    assert (row["date_start"], row["date_end"], row["date_precision"]) == (
        "2021-04-29",
        "2021-04-29",
        "day",
    )
    assert pd.isna(row["date_note"]) and pd.isna(row["dyad"])
    assert (row["country"], row["location"], row["admin_units"]) == (
        "KGZ",
        "Village K",
        "Region M; District L",
    )
    assert (row["event_category"], row["incident_type"]) == ("battles", "Armed clash")
    assert row["actors"] == "Military Forces of A (with Police Forces of A) vs Military Forces of B"
    assert (row["fatalities"], row["fatalities_basis"]) == (6, "ACLED reported")
    assert pd.isna(row["fatalities_low"]) and pd.isna(row["fatalities_high"])
    assert (row["source_reference"], row["secondary_sources"]) == (
        "ACLED event KGZ101",
        "Agency X; Agency Y",
    )
    assert row["notes"] == "Border guards exchanged fire."
    assert (row["latitude"], row["longitude"], row["source_row"]) == (39.9, 70.6, 2)


@pytest.mark.parametrize(
    "event_type, category",
    [
        ("Explosions/Remote violence", "explosions_remote_violence"),
        ("Violence against civilians", "violence_against_civilians"),
        ("Protests", "protests"),
        ("Riots", "riots"),
        ("Strategic developments", "strategic_developments"),
    ],
)
def test_event_types(write, numeric, event_type, category):
    row = read_acled(acled_file(write, [{"event_type": event_type}]), numeric).iloc[0]
    assert row["event_category"] == category


@pytest.mark.parametrize(
    "time_precision, precision, note",
    [("2", "day", "span of days or a week"), ("3", "month", "only the month")],
)
def test_time_precision(write, numeric, time_precision, precision, note):
    row = read_acled(acled_file(write, [{"time_precision": time_precision}]), numeric).iloc[0]
    assert row["date_precision"] == precision and row["date_start"] == "2021-04-29"
    assert f"ACLED time_precision {time_precision}" in row["date_note"] and note in row["date_note"]


def test_older_exports_write_dates_as_day_month_year(write, numeric):
    records = [
        {"event_date": "29 April 2021"},
        {"event_id_cnty": "TJK7", "iso": "762", "event_date": "3 March 2021"},
    ]
    table = read_acled(acled_file(write, records), numeric)
    assert table[["incident_id", "date_start", "country"]].values.tolist() == [
        ["ACLED-TJK7", "2021-03-03", "TJK"],
        ["ACLED-KGZ101", "2021-04-29", "KGZ"],
    ]


@pytest.mark.parametrize(
    "record, fragments",
    [
        ({"event_date": "2021-02-30"}, ["impossible date", "column 'event_date'"]),
        ({"event_date": "04/29/2021"}, ["unparseable date", "column 'event_date'", "yyyy-mm-dd"]),
        ({"event_date": ""}, ["missing value", "column 'event_date'"]),
        ({"year": "2020"}, ["year disagrees with event_date", "column 'year'"]),
        ({"fatalities": "-1"}, ["negative count", "column 'fatalities'"]),
        ({"fatalities": "dozens"}, ["not a number", "column 'fatalities'"]),
        ({"iso": "999"}, ["unknown ISO 3166 numeric code", "column 'iso'", "'999'"]),
        ({"event_type": "Clashes"}, ["unknown ACLED event type", "column 'event_type'"]),
        ({"time_precision": "4"}, ["unknown code", "column 'time_precision'"]),
        ({"longitude": "east"}, ["not a number", "column 'longitude'"]),
        ({"event_id_cnty": "KGZ101"}, ["duplicate key", "column 'incident_id'"]),
    ],
)
def test_bad_cells_name_file_line_and_column(write, numeric, record, fragments):
    message = read_error(acled_file(write, [{}, {"event_id_cnty": "KGZ102", **record}]), numeric)
    assert "acled.csv" in message and "line 3" in message
    for fragment in fragments:
        assert fragment in message


def test_day_month_year_file_rejects_impossible_and_mixed_dates(write, numeric):
    bad_day = [
        {"event_date": "29 April 2021"},
        {"event_id_cnty": "K2", "event_date": "30 February 2021"},
    ]
    message = read_error(acled_file(write, bad_day), numeric)
    assert "impossible date" in message and "line 3" in message and "column 'event_date'" in message
    mixed = [{"event_date": "29 April 2021"}, {"event_id_cnty": "K2", "event_date": "2021-04-30"}]
    message = read_error(acled_file(write, mixed, name="mixed.csv"), numeric)
    assert "unparseable date" in message and "mixed.csv" in message and "line 3" in message


def test_missing_column(write, numeric):
    header = [("fatality" if c == "fatalities" else c) for c in ACLED_HEADER]
    path = write("acled.csv", csv_text(header, [{**ACLED_RECORD, "fatality": "6"}]))
    message = read_error(path, numeric)
    assert "missing column(s) ['fatalities']" in message and "line 1" in message
    assert "column 'fatalities'" in message


def test_wrong_delimiter(write, numeric):
    message = read_error(acled_file(write, [{}], delimiter=";"), numeric)
    assert "acled.csv" in message and "wrong delimiter" in message and "line 1" in message


def test_short_line(write, numeric):
    text = csv_text(ACLED_HEADER, [ACLED_RECORD]).rstrip("\n")
    message = read_error(write("acled.csv", text + "\nKGZ102,2021-04-30,2021\n"), numeric)
    assert "wrong number of fields" in message and "line 3" in message


def test_empty_file(write, numeric):
    message = read_error(write("acled.csv", ""), numeric)
    assert "acled.csv" in message and "file is empty" in message
