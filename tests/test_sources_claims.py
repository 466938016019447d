"""The stated period counts: figures, periods, scopes, and who counted (claim_counters.toml)."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from conftest import SHARED_DATA, assert_points_at, requires_shared

from analysis.data import schema
from analysis.data.sources.claims import (
    CLAIM_COLUMNS,
    CLAIM_COUNTERS,
    read_aggregate_claims,
    read_counters,
)
from analysis.errors import DataError

CLAIMS = SHARED_DATA / "incidents" / "border_incident_aggregate_claims.csv"


def write_csv(path: Path, columns, rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
    return path


def claim(claim_id: str, metric: str, value: str, **cells) -> dict:
    return {
        "claim_id": claim_id,
        "border_dyad": "KGZ-TJK",
        "period_start": "2014-01-01",
        "period_end": "2014-12-31",
        "metric": metric,
        "value_stated": value,
        "claimant": "Kyrgyz State Border Service (via 24.kg)",
        **cells,
    }


def test_claims_keep_text_and_read_incident_counts(tmp_path):
    path = write_csv(
        tmp_path / "border_incident_aggregate_claims.csv",
        CLAIM_COLUMNS,
        [
            claim("AGG-001", "incidents", "32"),
            claim(
                "AGG-003",
                "cases of violence; killed; injured",
                "at least 14 cases; 6 Tajik + 1 Kyrgyz killed",
            ),
            claim(
                "AGG-004",
                "border incidents",
                "some 230",
                period_start="c.2002",
                period_end="2022-09",
            ),
            claim("AGG-005", "killed; wounded", "55 dead; 270 wounded"),
            claim("AGG-007", "people shot dead in border-guard clashes", "three"),
            claim(
                "AGG-008", "disputed border sections", "about 70", period_start="", period_end=""
            ),
            claim(
                "AGG-009",
                "conflicts (seed claim)",
                "more than 150",
                notes="NOT FOUND: no origin located",
            ),
            claim(
                "AGG-010",
                "border conflicts recorded",
                "41",
                border_dyad="KGZ (all borders; most on KGZ-TJK)",
                notes="covers all Kyrgyz borders",
            ),
            claim("AGG-012", "border incidents on the KGZ-TJK section", "at least 32"),
        ],
    )
    table = read_aggregate_claims(path, root=tmp_path).set_index("claim_id")
    stated = table["incidents_stated"]
    assert stated[["AGG-001", "AGG-003", "AGG-004", "AGG-010", "AGG-012"]].tolist() == [
        32,
        14,
        230,
        41,
        32,
    ]
    assert stated[["AGG-005", "AGG-007", "AGG-008", "AGG-009"]].isna().all()
    assert table.loc["AGG-003", "value_stated"] == "at least 14 cases; 6 Tajik + 1 Kyrgyz killed"
    assert table.loc["AGG-004", "period_start"] == "c.2002"
    assert pd.isna(table.loc["AGG-008", "period_start"])
    assert pd.isna(table.loc["AGG-010", "dyad"])
    assert table.loc["AGG-010", "notes"] == (
        "border_dyad as stated: KGZ (all borders; most on KGZ-TJK); covers all Kyrgyz borders"
    )
    assert table.loc["AGG-009", "value_stated"] == "more than 150"
    assert table["incidents_bound"][["AGG-001", "AGG-003", "AGG-004", "AGG-012"]].tolist() == [
        "exact",
        "lower_bound",
        "approximate",
        "lower_bound",
    ]
    assert table["incidents_bound"][["AGG-005", "AGG-009"]].isna().all()
    assert table.loc["AGG-010", "dyad_scope"] == "KGZ (all borders)"
    assert table.loc["AGG-001", "dyad_scope"] == "KGZ-TJK" == table.loc["AGG-001", "dyad"]


def test_claims_missing_column_fails(tmp_path):
    path = write_csv(
        tmp_path / "border_incident_aggregate_claims.csv",
        [c for c in CLAIM_COLUMNS if c != "value_stated"],
        [{"claim_id": "AGG-001"}],
    )
    with pytest.raises(DataError, match="missing column") as caught:
        read_aggregate_claims(path)
    assert_points_at(caught.value, "border_incident_aggregate_claims.csv", 1, "value_stated")


def read_claims(tmp_path, *rows: dict, counters: Path = CLAIM_COUNTERS) -> pd.DataFrame:
    path = write_csv(tmp_path / "border_incident_aggregate_claims.csv", CLAIM_COLUMNS, list(rows))
    return read_aggregate_claims(path, root=tmp_path, counters=counters)


@pytest.mark.parametrize(
    "start, end, kind, first, last",
    [
        ("2014-01-01", "2014-12-31", "full_year", "2014-01-01", "2014-12-31"),
        ("2014", "2014", "full_year", "2014-01-01", "2014-12-31"),
        ("2015-01-01", "2015-10-27", "partial_year", "2015-01-01", "2015-10-27"),
        ("2018-01-01", "2018-06-30", "partial_year", "2018-01-01", "2018-06-30"),
        ("2022-03", "2022-04", "partial_year", "2022-03-01", "2022-04-30"),
        ("2010-01-01", "2019-07-25", "multi_year", "2010-01-01", "2019-07-25"),
        ("c.2002", "2022-09", "multi_year", None, "2022-09-30"),
        ("", "", "point", None, None),
    ],
)
def test_period_kind_and_bounds_are_kept_as_stated(tmp_path, start, end, kind, first, last):
    row = read_claims(
        tmp_path, claim("AGG-1", "incidents", "8", period_start=start, period_end=end)
    ).iloc[0]
    assert row["period_kind"] == kind
    assert (None if pd.isna(row["period_first"]) else row["period_first"]) == first
    assert (None if pd.isna(row["period_last"]) else row["period_last"]) == last
    assert row["incidents_stated"] == 8  # a partial year is never scaled up


@pytest.mark.parametrize(
    "cells, column, problem",
    [
        ({"period_start": "2014-02-30"}, "period_start", "impossible date"),
        ({"period_end": ""}, "period_end", "one end only"),
        ({"period_start": "recently"}, "period_start", "period without a year"),
        ({"border_dyad": "KGZ-XXX"}, "border_dyad", "unknown country code 'XXX'"),
        ({"border_dyad": "Fergana valley"}, "border_dyad", "neither a dyad nor all borders"),
        ({"claimant": ""}, "claimant", "names no claimant"),
        ({"claimant": "a blogger"}, "claimant", "no counter of claim_counters.toml matches"),
    ],
)
def test_bad_claims_fail_at_file_line_column(tmp_path, cells, column, problem):
    with pytest.raises(DataError, match=problem) as caught:
        read_claims(
            tmp_path, claim("AGG-1", "incidents", "3"), claim("AGG-2", "incidents", "4", **cells)
        )
    assert_points_at(caught.value, "border_incident_aggregate_claims.csv", 3, column)


def test_an_unmapped_claimant_says_what_to_add(tmp_path):
    with pytest.raises(DataError) as caught:
        read_claims(tmp_path, claim("AGG-1", "incidents", "3", claimant="Tajik border troops"))
    text = str(caught.value)
    assert "'Tajik border troops'" in text and "claim_counters.toml" in text
    assert "kind" in text and "evidence" in text


def counters_file(tmp_path, text: str) -> Path:
    path = tmp_path / "counters.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD_COUNTER = """
[border]
claimant = 'Border Service \\(.+\\)'
kind = "border_service"
counting_rule = ""
evidence = "test"
"""


def test_counters_map_claimants_and_relays_share_one_id(tmp_path):
    counters = counters_file(
        tmp_path,
        GOOD_COUNTER
        + """
[paper]
claimant = 'Daily Paper'
kind = "media_tally"
counting_rule = "its own tally"
evidence = "test"
""",
    )
    table = read_claims(
        tmp_path,
        claim("AGG-1", "incidents", "3", claimant="Border Service (via Daily Paper)"),
        claim("AGG-2", "incidents", "4", claimant="Border Service (via radio)"),
        claim("AGG-3", "incidents", "5", claimant="Daily Paper"),
        counters=counters,
    ).set_index("claim_id")
    assert table["counter"].tolist() == ["border", "border", "paper"]
    assert table["claimant_kind"].tolist() == ["border_service", "border_service", "media_tally"]
    assert pd.isna(table.loc["AGG-1", "counting_rule"])  # "" = not stated
    assert table.loc["AGG-3", "counting_rule"] == "its own tally"


@pytest.mark.parametrize(
    "text, problem, line",
    [
        (GOOD_COUNTER.replace("border_service", "army"), "unknown kind", 2),
        (GOOD_COUNTER.replace('evidence = "test"', 'evidence = " "'), "gives no evidence", 2),
        (GOOD_COUNTER.replace('counting_rule = ""\n', ""), "wrong keys", 2),
        (GOOD_COUNTER.replace("'Border Service", "'(Border"), "bad claimant pattern", 2),
        (GOOD_COUNTER.replace("[border]", '["Border Service"]'), "not a counter table", 2),
        ("[border\nkind = 1", "not valid TOML", None),
    ],
)
def test_malformed_counters_fail_clearly(tmp_path, text, problem, line):
    with pytest.raises(DataError, match=problem) as caught:
        read_counters(counters_file(tmp_path, text))
    assert "counters.toml" in str(caught.value)
    if line is not None:
        assert f"line {line}" in str(caught.value)


def test_a_claimant_two_counters_match_is_an_error(tmp_path):
    counters = counters_file(
        tmp_path, GOOD_COUNTER + GOOD_COUNTER.replace("[border]", "[border_again]")
    )
    with pytest.raises(DataError, match="several counters"):
        read_claims(
            tmp_path,
            claim("AGG-1", "incidents", "3", claimant="Border Service (x)"),
            counters=counters,
        )


def test_the_shipped_counters_are_valid_and_each_is_used():
    counters = read_counters()
    assert len({c.id for c in counters}) == len(counters)
    assert {c.kind for c in counters} <= set(schema.CLAIMANT_KINDS)
    if CLAIMS.is_file():
        used = set(read_aggregate_claims(CLAIMS)["counter"])
        assert used == {c.id for c in counters}  # no stale entry


@requires_shared
def test_real_claims():
    table = read_aggregate_claims(CLAIMS, root=SHARED_DATA)
    raw = pd.read_csv(CLAIMS, dtype=str)
    assert len(table) == len(raw) == 43
    assert table["claim_id"].tolist() == sorted(raw["claim_id"])
    rows = table.set_index("claim_id")
    stated = rows["incidents_stated"]
    assert stated["AGG-003"] == 14 and stated["AGG-004"] == 230 and stated["AGG-012"] == 32
    assert pd.isna(stated["AGG-009"])  # the NOT FOUND seed claim
    assert rows.loc["AGG-009", ["value_stated", "counter", "claimant_kind"]].tolist() == [
        "more than 150",
        "unverified_seed",
        "unverified",
    ]
    # 24.kg's own yearly series, 2010-2018, then 2019 to about 25 July, and its total
    series = [f"AGG-{n}" for n in range(101, 111)]
    assert stated[series].tolist() == [24, 18, 18, 19, 32, 10, 11, 10, 7, 6]
    assert rows.loc[series[:-1], "period_kind"].eq("full_year").all()
    assert rows.loc["AGG-110", ["period_kind", "period_last"]].tolist() == [
        "partial_year",
        "2019-07-25",
    ]
    assert rows.loc["AGG-111", ["period_kind", "incidents_stated"]].tolist() == ["multi_year", 155]
    assert rows.loc[[*series, "AGG-111"], "counter"].eq("24kg").all()
    assert "Narrower than the catalogue" in rows.loc["AGG-101", "counting_rule"]
    # the border service, whoever relays it, is one counter, apart from 24.kg's own count
    service = ["AGG-012", "AGG-013", "AGG-112", "AGG-113", "AGG-114", "AGG-115", "AGG-116"]
    service += ["AGG-117", "AGG-118", "AGG-119", "AGG-120", "AGG-122", "AGG-123", "AGG-124"]
    assert rows.loc[service, "counter"].eq("kgz_border_service").all()
    assert rows.loc[service, "claimant_kind"].eq("border_service").all()
    assert set(rows.index[rows["counter"].eq("kgz_border_service")]) == set(service)
    assert rows.loc["AGG-014", "counter"] == "24kg_headline"  # not known to be 24.kg's tally
    # Additions F: the border service's first nine months of 2016 by section, kept partial
    assert rows.loc[
        "AGG-123", ["dyad", "period_kind", "period_last", "incidents_stated"]
    ].tolist() == [
        "KGZ-TJK",
        "partial_year",
        "2016-09-30",
        5,
    ]
    # and the interior ministry's 2011 count by the citizens' country: its own counter
    ministry = ["AGG-010", "AGG-125", "AGG-126", "AGG-127"]
    assert set(rows.index[rows["counter"].eq("kgz_interior_ministry")]) == set(ministry)
    assert stated[["AGG-125", "AGG-126", "AGG-127"]].tolist() == [53, 14, 39]
    assert (
        rows.loc[["AGG-010", "AGG-121", "AGG-004", "AGG-016"], "claimant_kind"]
        .eq("government")
        .all()
    )
    # partial-year statements keep their period (never scaled to a year)
    assert rows.loc["AGG-121", ["period_kind", "period_last", "incidents_stated"]].tolist() == [
        "partial_year",
        "2015-10-27",
        8,
    ]
    assert rows.loc["AGG-116", ["period_kind", "period_last"]].tolist() == [
        "partial_year",
        "2018-06-30",
    ]
    # counts over all Kyrgyz borders: no dyad, the scope says so
    all_borders = ["AGG-010", "AGG-114", "AGG-115", "AGG-118", "AGG-122", "AGG-125"]
    assert rows.loc[all_borders, "dyad_scope"].eq("KGZ (all borders)").all()
    assert rows.loc[all_borders, "dyad"].isna().all()
    assert set(rows.index[rows["dyad"].isna()]) == set(all_borders)
