"""The descriptive views of the data audit: like-with-like comparisons, detection shares,
coverage and milestones for plotting."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.data import datasets
from analysis.panels import patterns


@pytest.fixture(scope="module")
def data():
    return datasets.load_all()


def incidents(*rows: tuple[str, str]) -> pd.DataFrame:
    """(incident_id, date_start) rows of the catalogue, KGZ-TJK."""
    return pd.DataFrame(
        {
            "incident_id": [r[0] for r in rows],
            "date_start": [r[1] for r in rows],
            "dyad": "KGZ-TJK",
            "source_dataset": "catalogue",
        }
    )


def claims(*rows: dict) -> pd.DataFrame:
    base = {
        "dyad": "KGZ-TJK",
        "dyad_scope": "KGZ-TJK",
        "incidents_bound": "exact",
        "counter": "service",
        "claimant_kind": "border_service",
        "counting_rule": None,
    }
    return pd.DataFrame([{**base, **row} for row in rows])


def test_a_partial_year_is_compared_with_the_same_days_only():
    table = patterns.catalogue_vs_claims(
        incidents(("a", "2015-03-01"), ("b", "2015-10-27"), ("c", "2015-11-02")),
        claims(
            {
                "claim_id": "P",
                "period_kind": "partial_year",
                "period_first": "2015-01-01",
                "period_last": "2015-10-27",
                "incidents_stated": 8,
            },
            {
                "claim_id": "F",
                "period_kind": "full_year",
                "period_first": "2015-01-01",
                "period_last": "2015-12-31",
                "incidents_stated": 10,
            },
        ),
    ).set_index("claim_id")
    assert table.loc["P", ["catalogued", "share_catalogued"]].tolist() == [2, 0.25]
    assert table.loc["F", ["catalogued", "share_catalogued"]].tolist() == [3, 0.3]
    assert "partial year" in table.loc["P", "note"]
    assert table["comparison"].eq("same_period").all()


def test_wider_scopes_and_longer_periods_get_no_share():
    table = patterns.catalogue_vs_claims(
        incidents(("a", "2016-03-01")),
        claims(
            {
                "claim_id": "ALL",
                "dyad": None,
                "dyad_scope": "KGZ (all borders)",
                "period_kind": "full_year",
                "period_first": "2016-01-01",
                "period_last": "2016-12-31",
                "incidents_stated": 20,
            },
            {
                "claim_id": "MULTI",
                "period_kind": "multi_year",
                "period_first": "2010-01-01",
                "period_last": "2019-07-25",
                "incidents_stated": 155,
            },
        ),
    ).set_index("claim_id")
    assert table.loc["ALL", "comparison"] == "all_borders"
    assert table.loc["MULTI", "comparison"] == "multi_year"
    assert table["catalogued"].isna().all() and table["share_catalogued"].isna().all()
    assert table.loc["ALL", "year"] == 2016 and pd.isna(table.loc["MULTI", "year"])


def test_the_shipped_comparison_is_like_with_like(data):
    table = patterns.catalogue_vs_claims(data["incidents"], data["incident_claims"])
    rows = table.set_index("claim_id")
    held = data["incidents"]
    tajik = held[held["dyad"].eq("KGZ-TJK")]
    # the vice-premier's 8 to 27 October 2015 against the rows up to that day
    until = tajik["date_start"].between("2015-01-01", "2015-10-27").sum()
    assert rows.loc["AGG-121", ["stated_incidents", "catalogued"]].tolist() == [8, until]
    # 24.kg counted 6 to about 25 July 2019; the catalogue holds more: a narrower rule
    assert rows.loc["AGG-110", "share_catalogued"] > 1
    assert "broader" in rows.loc["AGG-110", "note"]
    assert rows.loc["AGG-115", "comparison"] == "all_borders"
    assert rows.loc["AGG-111", "comparison"] == "multi_year"
    assert set(table["claim_id"]) == set(
        data["incident_claims"].dropna(subset=["incidents_stated"])["claim_id"]
    )


def test_detection_shares(data):
    shares = patterns.detection_shares(data["incidents"], data["incident_claims"])
    assert shares.columns.tolist() == list(patterns.SHARE_COLUMNS)
    assert {"stated", "period_kind", "catalogued_same_period", "share"} <= set(shares.columns)
    assert not shares["claimant_kind"].eq("unverified").any()
    assert shares["dyad"].isin(["KGZ-TJK", "KGZ-UZB"]).all()  # one dyad each, never all borders
    service = shares[shares["dyad"].eq("KGZ-TJK") & shares["counter"].eq("kgz_border_service")]
    rows = service.set_index("year")
    # the two statements of the same 2020 count are one row
    assert rows.loc[2020, ["stated", "claim_ids"]].tolist() == [9, "AGG-013, AGG-119"]
    assert rows.loc[2014, "stated_bound"] == "lower_bound"
    assert rows.loc[2018, ["period_kind", "period_end", "stated"]].tolist() == [
        "partial_year",
        "2018-06-30",
        6,
    ]
    assert rows.loc[2017, ["stated", "catalogued_same_period", "share"]].tolist() == [10, 0, 0.0]
    counted = shares[shares["counter"].eq("24kg")]
    assert counted["year"].tolist() == list(range(2010, 2020))


def test_worst_share_per_dyad_and_counter_and_the_official_one(data):
    shares = patterns.detection_shares(data["incidents"], data["incident_claims"])
    worst = patterns.worst_shares(shares)
    assert not worst.duplicated(["dyad", "counter"]).any()
    assert len(worst) == len(shares.groupby(["dyad", "counter"]))
    official = patterns.worst_share(shares, "KGZ-TJK")
    assert official["claimant_kind"] in patterns.OFFICIAL_KINDS
    assert (official["counter"], official["year"], official["stated"]) == (
        "kgz_border_service",
        2016,
        5,
    )  # January-September 2016 (AGG-123): none of its five is catalogued
    assert (
        official["share"]
        == shares[
            shares["dyad"].eq("KGZ-TJK") & shares["claimant_kind"].isin(patterns.OFFICIAL_KINDS)
        ]["share"].min()
    )
    with pytest.raises(ValueError, match="no stated count"):
        patterns.worst_share(shares, "TJK-UZB")


def test_yearly_counts_leave_uncovered_years_missing(data):
    yearly = patterns.yearly_counts(data["incidents"])
    coverage = data["incident_coverage"].set_index(["year", "dyad"])
    assert yearly.loc[2023].isna().all()  # no row for any dyad: not covered
    assert yearly.loc[2017, "KGZ-TJK"] == 0  # searched, none found
    for (year, dyad), row in coverage.iterrows():
        if row["status"] == "not_covered":
            assert pd.isna(yearly.loc[year, dyad])
        else:
            assert yearly.loc[year, dyad] == row["catalogued"]


def test_coverage_grid(data):
    grid = patterns.coverage_grid(data["incident_coverage"])
    assert grid.loc[2023, "KGZ-TJK"] == "not covered"
    assert grid.loc[2012, "KGZ-UZB"] == "0 searched"
    # a catalogue zero beside counts stated by counters: incidents the catalogue missed
    assert grid.loc[2017, "KGZ-TJK"] == "0 searched; 10/10 stated"
    assert grid.loc[2011, "KGZ-UZB"] == "0 searched; 39 stated"
    assert grid.loc[2019, "KGZ-TJK"] == "17"
    assert grid.loc[2025, "KGZ-UZB"] == "1 (to Sep)"


def test_yearly_stated_counts_are_full_years_of_one_dyad(data):
    marks = patterns.yearly_stated_counts(data["incident_claims"])
    claims_ = data["incident_claims"].set_index("claim_id")
    assert claims_.loc[marks["claim_id"], "period_kind"].eq("full_year").all()
    assert "AGG-110" not in set(marks["claim_id"])  # partial year
    assert "AGG-115" not in set(marks["claim_id"])  # all Kyrgyz borders
    assert "AGG-105" in set(marks["claim_id"])


def test_milestone_marks_draw_reported_by_at_its_upper_bound(data):
    marks = patterns.milestone_marks(data["milestones"]).set_index("milestone_id")
    row = marks.loc["M052"]
    assert row["date_precision"] == "reported_by"
    assert row["event_date"] == row["latest_date"] == "2025-03-25"
    month = marks.loc["M022"]
    assert (month["event_date"], month["latest_date"]) == ("2022-10-01", "2022-10-31")
    assert marks.loc["M038", "label"] == "Topographic working groups agree 43.32 km of border"
    assert len(marks.loc["M047", "label"].split()) <= 9
    only = patterns.milestone_marks(data["milestones"], kinds=("ceasefire",))
    assert set(only["kind"]) == {"ceasefire"}
