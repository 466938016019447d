"""Contracts reject what they must, and name the raw file, line and column when they do."""

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.data import schema
from analysis.errors import DataError


def indicator_rows(n=3, **overrides):
    frame = pd.DataFrame(
        {
            "iso3": ["KGZ"] * n,
            "frequency": ["A"] * n,
            "period": [str(2000 + i) for i in range(n)],
            "indicator": ["X"] * n,
            "indicator_name": ["x"] * n,
            "value": [1.0] * n,
            "unit": ["u"] * n,
            "source": ["s"] * n,
            "flags": [None] * n,
            "source_file": ["raw/x.csv"] * n,
            "source_row": list(range(2, n + 2)),
        }
    )
    for column, values in overrides.items():
        frame[column] = values
    return schema.coerce("indicators", frame)


def test_valid_table_passes():
    assert len(schema.validate("indicators", indicator_rows())) == 3


@pytest.mark.parametrize(
    "overrides, fragments",
    [
        (
            {"iso3": ["KGZ", "XXX", "TJK"]},
            ["raw/x.csv", "line 3", "column 'iso3'", "'XXX'", "ISO 3166"],
        ),
        ({"period": ["2000", "2000", "2002"]}, ["duplicate key"]),
        ({"frequency": ["A", "Q", "A"]}, ["line 3", "column 'frequency'", "'Q'"]),
        ({"period": ["2000", "2001-13x", "2002"]}, ["line 3", "column 'period'"]),
        ({"source": ["s", None, "s"]}, ["line 3", "column 'source'", "missing value"]),
    ],
)
def test_violations_point_at_the_raw_cell(overrides, fragments):
    with pytest.raises(DataError) as caught:
        schema.validate("indicators", indicator_rows(**overrides))
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_missing_column_is_named():
    frame = indicator_rows().drop(columns=["unit"])
    with pytest.raises(DataError, match="column 'unit'"):
        schema.validate("indicators", frame)


def test_shipped_file_errors_use_the_line_in_that_file():
    frame = indicator_rows(iso3=["KGZ", "KGZ", "ZZZ"])
    with pytest.raises(DataError, match=r"data/indicators.csv, line 4"):
        schema.validate("indicators", frame, file="data/indicators.csv")


CHECK_DAY = dt.date(2025, 6, 30)


@pytest.mark.parametrize(
    "date, today, ok",
    [
        ("2021-02-28", CHECK_DAY, True),
        ("2021-02-30", CHECK_DAY, False),
        ("21-02-01", CHECK_DAY, False),
        ("2025-07-01", CHECK_DAY, False),  # after the day of the check
        ("2025-06-30", CHECK_DAY, True),
        ("2021-02-28", dt.date(2020, 1, 1), False),  # a check run "before" the event
        ("2999-01-01", None, True),  # no day given (shipped tables): no date is too late
        ("2021-02-30", None, False),
    ],
)
def test_milestone_dates_must_be_real_calendar_dates(date, today, ok):
    frame = schema.coerce(
        "milestones",
        pd.DataFrame(
            {
                "milestone_id": ["m"],
                "kind": ["militarisation"],
                "earliest_date": [date],
                "latest_date": [date],
                "date_precision": ["day"],
                "country": ["KGZ"],
                "event": ["e"],
                "quantity": [None],
                "unit": [None],
                "source_url": ["u"],
                "source_title": [None],
                "source_publication_date": [None],
                "statement": [None],
                "notes": [None],
                "source_file": ["f"],
                "source_row": [2],
            }
        ),
    )
    if ok:
        schema.validate("milestones", frame, today=today)
    else:
        with pytest.raises(DataError, match="line 2, column 'earliest_date'"):
            schema.validate("milestones", frame, today=today)


def test_unknown_table():
    with pytest.raises(DataError, match="unknown table"):
        schema.columns("nope")


# Property-based: any well-formed annual series passes; one corrupted cell fails at its line.
years = st.lists(st.integers(1960, 2025), min_size=1, max_size=30, unique=True)
values = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=64))


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(years=years, data=st.data())
def test_property_well_formed_series_pass(years, data):
    n = len(years)
    vals = [data.draw(values) for _ in years]
    frame = indicator_rows(
        n, period=[str(y) for y in years], value=[float("nan") if v is None else v for v in vals]
    )
    assert len(schema.validate("indicators", frame)) == n


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(years=years, data=st.data(), bad=st.sampled_from(["ABCD", "kgz", "", "K1Z", "ZZZ"]))
def test_property_one_bad_country_code_fails_at_its_line(years, data, bad):
    n = len(years)
    position = data.draw(st.integers(0, n - 1))
    codes = ["TJK"] * n
    codes[position] = bad
    frame = indicator_rows(n, period=[str(y) for y in years], iso3=codes)
    with pytest.raises(DataError) as caught:
        schema.validate("indicators", frame)
    assert f"line {position + 2}" in str(caught.value)


@pytest.mark.parametrize("flag, ok", [("derived", True), (None, True), ("derived;modelled", False)])
def test_indicator_flags_are_one_of_the_documented_flags(flag, ok):
    frame = indicator_rows(1, flags=[flag])
    if ok:
        schema.validate("indicators", frame)
    else:
        with pytest.raises(DataError, match="line 2, column 'flags'"):
            schema.validate("indicators", frame)
