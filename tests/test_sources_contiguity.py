"""Contiguity (COW directed spells, CShapes pair-years) and the GW state list: generated fixtures
with known answers, then the shipped files."""

import pandas as pd
import pytest
from conftest import SHARED_DATA, requires_shared

from analysis.data.sources.contiguity import read_cow_contdir, read_gw_mindist_zero
from analysis.data.sources.states import read_gw_states
from analysis.errors import DataError

CROSSWALKS = SHARED_DATA / "global" / "crosswalks"

COW = """ccode1,ccode2,conttype,stdate,enddate
702,703,1,1991-12-01,2016-12-01
703,702,1,1991-12-01,2016-12-01
2,20,1,1920-01-01,2016-12-01
20,2,1,1920-01-01,2016-12-01
2,40,4,1902-05-01,1906-09-01
40,2,4,1902-05-01,1906-09-01
2,40,0,1906-10-01,1909-01-01
40,2,0,1906-10-01,1909-01-01
"""

MINDIST = """gwcode1,gwcode2,year,mindist
41,42,1913,0.0
702,703,1992,0.0
41,42,1914,0.0
702,703,1993,0.0
41,42,1935,0.0
"""

STATES = """gwcode,stateabb,statename,startdate,enddate
41,HAI,Haiti,1816-01-01,1915-07-04
41,HAI,Haiti,1934-08-15,2017-12-31
702,TAJ,Tajikistan,1991-09-09,2017-12-31
"""


def test_cow_spells_become_non_directed_pairs(write):
    table = read_cow_contdir(write("contdir.csv", COW))
    assert len(table) == 4  # each directed pair written twice collapses to one spell
    assert (table["state1"] < table["state2"]).all()
    assert set(table["dataset"]) == {"cow_contdir"} and set(table["system"]) == {"cow"}
    kgz_tjk = table[(table["state1"] == 702) & (table["state2"] == 703)].iloc[0]
    assert (kgz_tjk["conttype"], kgz_tjk["date_start"], kgz_tjk["date_end"]) == (
        1,
        "1991-12-01",
        "2016-12-01",
    )
    assert kgz_tjk["date_precision"] == "month" and kgz_tjk["source_row"] == 2
    us_cuba = table[(table["state1"] == 2) & (table["state2"] == 40)]
    assert list(us_cuba["conttype"]) == [4, 0]  # Miller's no-contiguity period is kept, typed 0
    assert table["mindist_km"].isna().all()


@pytest.mark.parametrize(
    "edit, where, problem",
    [
        (
            lambda t: t.replace("703,702,1,1991-12-01", "703,702,1,1991-11-01"),
            "line 2, column 'ccode2'",
            "without its mirror",
        ),
        (
            lambda t: t + "702,703,1,1991-12-01,2016-12-01\n",
            "line 2, column 'ccode2'",
            "without its mirror",
        ),
        (
            lambda t: t.replace("2,20,1,1920", "2,20,7,1920"),
            "line 4, column 'conttype'",
            "unknown contiguity type",
        ),
        (
            lambda t: t.replace("2,20,1,1920", "2,2,1,1920"),
            "line 4, column 'ccode2'",
            "paired with itself",
        ),
        (
            lambda t: t.replace("20,2,1,1920-01-01", "20,2,1,1920-13-01"),
            "line 5, column 'stdate'",
            "impossible date",
        ),
        (
            lambda t: t.replace("20,2,1,1920-01-01", "20,2,,1920-01-01"),
            "line 5, column 'conttype'",
            "missing value",
        ),
    ],
)
def test_bad_cow_rows_name_file_line_and_column(write, edit, where, problem):
    with pytest.raises(DataError) as caught:
        read_cow_contdir(write("contdir.csv", edit(COW)))
    assert f"contdir.csv, {where}" in str(caught.value) and problem in str(caught.value)


def test_cshapes_pair_years_become_spells_of_consecutive_years(write):
    table = read_gw_mindist_zero(write("mindist.csv", MINDIST))
    spells = {
        (r.state1, r.state2, r.date_start, r.date_end, r.source_row) for r in table.itertuples()
    }
    assert spells == {
        (41, 42, "1913-01-01", "1914-12-31", 2),
        (41, 42, "1935-01-01", "1935-12-31", 6),  # a gap of years starts a new spell
        (702, 703, "1992-01-01", "1993-12-31", 3),
    }
    assert set(table["date_precision"]) == {"year"} and set(table["mindist_km"]) == {0.0}
    assert table["conttype"].isna().all()


@pytest.mark.parametrize(
    "edit, where, problem",
    [
        (
            lambda t: t.replace("41,42,1914,0.0", "41,42,1914,12.5"),
            "line 4, column 'mindist'",
            "a distance other than 0",
        ),
        (
            lambda t: t.replace("702,703,1993", "703,702,1993"),
            "line 5, column 'gwcode2'",
            "not in ascending order",
        ),
        (lambda t: t + "41,42,1913,0.0\n", "line 7, column 'year'", "pair-year repeated"),
        (lambda t: t.replace("41,42,1935", "41,42,19x5"), "line 6, column 'year'", "not a number"),
    ],
)
def test_bad_cshapes_rows_name_file_line_and_column(write, edit, where, problem):
    with pytest.raises(DataError) as caught:
        read_gw_mindist_zero(write("mindist.csv", edit(MINDIST)))
    assert f"mindist.csv, {where}" in str(caught.value) and problem in str(caught.value)


def test_gw_states_keep_every_spell(write):
    table = read_gw_states(write("states.csv", STATES))
    haiti = table[table["code"] == 41]
    assert list(haiti["date_start"]) == ["1816-01-01", "1934-08-15"]
    assert (
        set(table["system"]) == {"gw"}
        and table.loc[table["code"] == 702, "abbreviation"].item() == "TAJ"
    )
    with pytest.raises(DataError, match=r"states.csv, line 4, column 'enddate'.*impossible date"):
        read_gw_states(
            write("states.csv", STATES.replace("1991-09-09,2017-12-31", "1991-09-09,2017-02-30"))
        )
    with pytest.raises(DataError, match=r"states.csv, line 3.*date_end on or after date_start"):
        read_gw_states(write("states.csv", STATES.replace("1934-08-15", "2018-01-01")))


@requires_shared
def test_shipped_contiguity_and_state_list():
    cow = read_cow_contdir(CROSSWALKS / "peacesciencer_cow_contdir.csv", root=SHARED_DATA)
    assert len(cow) == 1874 // 2  # PROVENANCE: 1,874 directed rows
    land = cow[cow["conttype"] == 1]
    central_asia = {(a, b) for a, b in zip(land["state1"], land["state2"]) if a >= 700 and b <= 704}
    assert {(702, 703), (702, 704), (703, 704), (700, 702), (700, 704)} <= central_asia
    assert set(cow["date_end"].str[:7]) >= {"2016-12"} and cow["date_end"].max() == "2016-12-01"
    cshapes = read_gw_mindist_zero(
        CROSSWALKS / "peacesciencer_gw_mindist_zero_only.csv", root=SHARED_DATA
    )
    kgz_tjk = cshapes[(cshapes["state1"] == 702) & (cshapes["state2"] == 703)]
    assert list(zip(kgz_tjk["date_start"], kgz_tjk["date_end"])) == [("1992-01-01", "2019-12-31")]
    years = (
        cshapes["date_end"].str[:4].astype(int) - cshapes["date_start"].str[:4].astype(int) + 1
    ).sum()
    assert years == 22001  # the spells hold exactly the file's pair-years
    states = read_gw_states(CROSSWALKS / "peacesciencer_gw_states.csv", root=SHARED_DATA)
    assert len(states) == 216 and states["date_end"].max() == "2017-12-31"
    assert pd.Series(states["code"]).value_counts()[41] == 2  # Haiti, occupied 1915-1934
