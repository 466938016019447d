"""UCDP readers: every conflict-year dataset and GED map to their contracts; bad cells fail."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from conftest import SHARED_DATA, requires_shared
from sources_fixtures_ucdp import (
    GED_HEADER,
    GED_RECORD,
    HEADERS,
    RECORDS,
    csv_text,
    small_countries,
)

from analysis.data.sources._common import read_csv_table, read_large_csv_table
from analysis.data.sources.countries import read_countrycode_codelist
from analysis.data.sources.ucdp import (
    ACD_COLUMNS,
    SPLIT_CONTINUATION,
    KnownDefectRepaired,
    read_ucdp_ged,
    read_ucdp_table,
)
from analysis.errors import DataError

UCDP = SHARED_DATA / "global" / "ucdp"


@pytest.fixture
def countries(tmp_path):
    return small_countries(tmp_path)


def ucdp_file(write, dataset, records, name="t.csv", **kwargs):
    full = [{**RECORDS[dataset], **record} for record in records]
    return write(name, csv_text(HEADERS[dataset], full, **kwargs))


def read_error(reader, *args) -> str:
    with pytest.raises(DataError) as caught:
        reader(*args)
    return str(caught.value)


# --- conflict-year tables: one layout each ---------------------------------------------------


@pytest.mark.parametrize(
    "dataset, deaths, dyad_id, side_b, ep_end",
    [
        ("acd", [None, None, None], None, "Government of B", "2021-05-01"),
        ("dyadic", [None, None, None], 901, "Government of B", None),
        ("brd", [50, 40, 60], 901, "Government of B", None),
        ("nonstate", [44, 44, 468], 911, "Group B", "2010-06-14"),
        ("onesided", [30, None, 35], 921, None, None),
    ],
)
def test_each_dataset_is_recognised_from_its_header_and_mapped(
    write, countries, dataset, deaths, dyad_id, side_b, ep_end
):
    quote_all = dataset in ("brd", "nonstate", "onesided")  # R-written: every field quoted
    table = read_ucdp_table(ucdp_file(write, dataset, [{}], quote_all=quote_all), countries)
    row = table.iloc[0]
    assert row["dataset"] == dataset and len(table) == 1
    assert [
        None if pd.isna(v) else int(v) for v in row[["deaths_best", "deaths_low", "deaths_high"]]
    ] == deaths
    assert (None if pd.isna(row["dyad_id"]) else int(row["dyad_id"])) == dyad_id
    assert (None if pd.isna(row["side_b"]) else row["side_b"]) == side_b
    assert (None if pd.isna(row["ep_end_date"]) else row["ep_end_date"]) == ep_end
    assert row["version"] == RECORDS[dataset]["version"]
    assert row["source_file"] == "t.csv" and row["source_row"] == 2


def test_iso3_loc_keeps_the_order_of_gwno_loc(write, countries):
    table = read_ucdp_table(ucdp_file(write, "acd", [{"gwno_loc": "702, 703, 710"}]), countries)
    assert table.loc[0, "gwno_loc"] == "702, 703, 710"
    assert table.loc[0, "iso3_loc"] == "TJK;KGZ;CHN"


def test_one_sided_actor_and_its_gw_number(write, countries):
    table = read_ucdp_table(ucdp_file(write, "onesided", [{"gwnoa": "702"}]), countries)
    assert table.loc[0, "side_a"] == "Group C" and table.loc[0, "gwno_a"] == "702"
    assert table.loc[0, "iso3_loc"] == "TJK"


def test_former_state_stays_in_gwno_loc_and_is_left_out_of_iso3_loc(write, countries):
    table = read_ucdp_table(ucdp_file(write, "acd", [{"gwno_loc": "680, 702"}]), countries)
    assert table.loc[0, "gwno_loc"] == "680, 702" and table.loc[0, "iso3_loc"] == "TJK"
    only_former = read_ucdp_table(
        ucdp_file(write, "acd", [{"gwno_loc": "817"}], name="u.csv"), countries
    )
    assert pd.isna(only_former.loc[0, "iso3_loc"])


def test_rows_are_sorted_by_key_not_file_order(write, countries):
    records = [
        {"conflict_id": "902", "year": "2020"},
        {"conflict_id": "900", "year": "2022"},
        {"conflict_id": "900", "year": "2021"},
    ]
    table = read_ucdp_table(ucdp_file(write, "acd", records), countries)
    assert table[["conflict_id", "year"]].values.tolist() == [[900, 2021], [900, 2022], [902, 2020]]
    assert table["source_row"].tolist() == [4, 3, 2]


@pytest.mark.parametrize(
    "start, end, kwargs",
    [
        ("7/10/2014", "5/1/2021", {}),  # Excel re-save, US locale (ACD 23.1)
        (
            "10-7-2014",
            "1-5-2021",
            {"delimiter": ";", "newline": "\r\n"},
        ),  # Excel, day first (ACD 25.1)
    ],
)
def test_excel_resaves_give_the_same_dates(write, countries, start, end, kwargs):
    path = ucdp_file(write, "acd", [{"start_date": start, "ep_end_date": end}], **kwargs)
    row = read_ucdp_table(path, countries).iloc[0]
    assert (row["start_date"], row["ep_end_date"]) == ("2014-07-10", "2021-05-01")


# --- the known split record of ACD 25.1 ------------------------------------------------------

SPLIT_HEAD = [
    "11349",
    "China",
    "Government of China",
    "135",
    "",
    "ETIM",
    "1156",
    "",
    "1",
    "East Turkestan",
] + [""] * 18
GOOD_LINE = [
    "11350",
    "Kyrgyzstan",
    "Government of A",
    "143",
    "",
    "Group D",
    "1165",
    "",
    "2",
    "",
    "2006",
    "1",
    "0",
    "3",
    "24-4-1994",
    "1",
    "8-2-2005",
    "1",
    "1",
    "22-12-2006",
    "",
    "703",
    "",
    "",
    "",
    "703",
    "3",
    "25.1",
]


def acd_251(write, lines, name="UcdpPrioConflict_v25_1.csv"):
    text = "\r\n".join(";".join(cells) for cells in [list(ACD_COLUMNS), *lines]) + "\r\n"
    return write(name, text)


def test_the_known_split_record_is_rejoined_and_announced(write, tmp_path):
    countries = small_countries(tmp_path)  # GW 710 -> CHN
    path = acd_251(write, [GOOD_LINE, SPLIT_HEAD, list(SPLIT_CONTINUATION)])
    with pytest.warns(
        KnownDefectRepaired, match="lines 3-4: rejoined the record of conflict 11349"
    ):
        table = read_ucdp_table(path, countries)
    assert len(table) == 2
    row = table[table["conflict_id"] == 11349].iloc[0]
    assert row[["year", "intensity_level", "type_of_conflict"]].tolist() == [2008, 1, 3]
    assert (row["start_date"], row["ep_end_date"]) == ("1990-04-05", "2008-08-29")
    assert (row["gwno_a"], row["gwno_loc"], row["iso3_loc"], row["region"]) == (
        "710",
        "710",
        "CHN",
        "3",
    )
    assert pd.isna(row["gwno_b"]) and row["version"] == "25.1"
    assert row["source_row"] == 3


def test_a_continuation_that_differs_is_not_repaired(write, countries):
    continuation = list(SPLIT_CONTINUATION)
    continuation[1] = "2009"
    path = acd_251(write, [SPLIT_HEAD, continuation])
    with warnings.catch_warnings():
        warnings.simplefilter("error", KnownDefectRepaired)
        message = read_error(read_ucdp_table, path, countries)
    assert "incomplete record" in message and "line 2" in message and "column 'year'" in message


def test_any_other_broken_record_is_an_error(write, countries):
    broken = [
        {
            "year": "",
            "intensity_level": "",
            "type_of_conflict": "",
            "start_date": "",
            "ep_end": "",
            "ep_end_date": "",
            "gwno_a": "",
            "gwno_b": "",
            "gwno_loc": "",
            "region": "",
            "version": "",
        }
    ]
    message = read_error(read_ucdp_table, ucdp_file(write, "acd", [{}] + broken), countries)
    assert "t.csv" in message and "line 3" in message and "column 'year'" in message
    assert "incomplete record" in message


# --- bad conflict-year files -----------------------------------------------------------------


@pytest.mark.parametrize(
    "dataset, record, fragments",
    [
        ("brd", {"bd_best": "-5"}, ["negative count", "line 2", "column 'bd_best'", "'-5'"]),
        ("brd", {"bd_low": "about 40"}, ["not a number", "line 2", "column 'bd_low'"]),
        (
            "nonstate",
            {"best_fatality_estimate": "4.5"},
            ["not a whole number", "line 2", "column 'best_fatality_estimate'"],
        ),
        ("acd", {"start_date": "2021-02-30"}, ["impossible date", "line 2", "column 'start_date'"]),
        (
            "acd",
            {"ep_end_date": "early May 2021"},
            ["unparseable date", "line 2", "column 'ep_end_date'"],
        ),
        (
            "acd",
            {"gwno_loc": "702, 999"},
            ["unknown Gleditsch-Ward number '999'", "line 2", "column 'gwno_loc'"],
        ),
        (
            "nonstate",
            {"gwno_location": "703, x"},
            ["unknown Gleditsch-Ward number 'x'", "line 2", "column 'gwno_location'"],
        ),
        (
            "acd",
            {"type_of_conflict": "7"},
            ["value breaks the contract", "line 2", "column 'type_of_conflict'"],
        ),
    ],
)
def test_bad_cells_name_file_line_and_column(write, countries, dataset, record, fragments):
    message = read_error(read_ucdp_table, ucdp_file(write, dataset, [record]), countries)
    assert "t.csv" in message
    for fragment in fragments:
        assert fragment in message


def test_a_second_date_format_in_one_file_is_an_error(write, countries):
    records = [{}, {"year": "2022", "start_date": "7/10/2014"}]
    message = read_error(read_ucdp_table, ucdp_file(write, "acd", records), countries)
    assert (
        "unparseable date" in message and "line 3" in message and "column 'start_date'" in message
    )
    assert "yyyy-mm-dd" in message


def test_a_day_first_slash_date_fails_instead_of_being_misread(write, countries):
    path = ucdp_file(
        write, "acd", [{"start_date": "5/7/2014"}, {"year": "2022", "start_date": "29/5/2014"}]
    )
    message = read_error(read_ucdp_table, path, countries)
    assert "impossible date" in message and "line 3" in message and "'29/5/2014'" in message


def test_renamed_column(write, countries):
    header = [("bd_lo" if c == "bd_low" else c) for c in HEADERS["brd"]]
    path = write("t.csv", csv_text(header, [RECORDS["brd"]]))
    message = read_error(read_ucdp_table, path, countries)
    assert "missing column(s) ['bd_low']" in message and "line 1" in message
    assert "column 'bd_low'" in message


def test_duplicate_key(write, countries):
    message = read_error(read_ucdp_table, ucdp_file(write, "brd", [{}, {}]), countries)
    assert "duplicate key" in message and "t.csv" in message and "line 3" in message
    assert "column" in message


def test_header_of_no_ucdp_dataset(write, countries):
    message = read_error(read_ucdp_table, write("t.csv", "a,b,c\n1,2,3\n"), countries)
    assert "matches no UCDP conflict-year dataset" in message and "line 1" in message


def test_wrong_delimiter_in_the_header(write, countries):
    path = write("t.csv", csv_text(HEADERS["acd"], [RECORDS["acd"]], delimiter="\t"))
    message = read_error(read_ucdp_table, path, countries)
    assert "cannot tell the delimiter" in message and "t.csv" in message and "line 1" in message


def test_wrong_delimiter_in_the_rows(write, countries):
    header = ",".join(HEADERS["acd"])
    row = csv_text(HEADERS["acd"], [RECORDS["acd"]], delimiter=";").splitlines()[1]
    message = read_error(read_ucdp_table, write("t.csv", f"{header}\n{row}\n"), countries)
    assert "wrong number of fields" in message and "line 2" in message


def test_empty_file(write, countries):
    message = read_error(read_ucdp_table, write("t.csv", ""), countries)
    assert "t.csv" in message and "file is empty" in message


# --- the shipped UCDP files ------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_countries():
    return read_countrycode_codelist(
        SHARED_DATA / "global/crosswalks/countrycode_codelist_without_cldr.csv"
    )


@pytest.fixture(scope="module")
def real(real_countries):
    """Every shipped conflict-year file, read once: name -> table."""
    tables = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for path in sorted(UCDP.glob("*.csv")) + sorted(
            (SHARED_DATA / "incidents").glob("ucdp_*.csv")
        ):
            tables[path.name] = read_ucdp_table(path, real_countries, root=SHARED_DATA)
    tables["warnings"] = [str(w.message) for w in caught if w.category is KnownDefectRepaired]
    return tables


@pytest.mark.slow
@requires_shared
def test_shipped_files_are_recognised(real):
    found = {
        name: (t["dataset"].iloc[0], t["version"].iloc[0], len(t))
        for name, t in real.items()
        if name != "warnings"
    }
    assert found["UcdpPrioConflict_v25_1.csv"] == ("acd", "25.1", 2751)
    assert found["UcdpPrioConflict_v23_1.csv"] == ("acd", "23.1", 2626)
    assert found["Dyadic_v24_1.csv"] == ("dyadic", "24.1", 3357)
    assert found["BattleDeaths_v24_1.csv"] == ("brd", "24.1", 1920)
    assert found["BattleDeaths_v23_1.csv"] == ("brd", "23.1", 1848)
    assert found["Nonstate_v23_1.csv"] == ("nonstate", "23.1", 1542)
    assert found["OneSided_v23_1.csv"] == ("onesided", "23.1", 1191)
    assert (
        real["UcdpPrioConflict_v25_1.csv"]["source_file"].iloc[0]
        == "global/ucdp/UcdpPrioConflict_v25_1.csv"
    )
    assert len(real["warnings"]) == 1 and "lines 42-43" in real["warnings"][0]


@requires_shared
@pytest.mark.parametrize(
    "name, ep_end_2022",
    [("UcdpPrioConflict_v23_1.csv", None), ("UcdpPrioConflict_v25_1.csv", "2022-09-18")],
)  # 23.1 ends with 2022, when the episode had not yet been coded as ended
def test_kyrgyz_tajik_conflict_in_the_acd(real, name, ep_end_2022):
    rows = real[name][real[name]["conflict_id"] == 13324]
    assert rows["year"].tolist() == [2021, 2022]
    first = rows.iloc[0]
    assert (first["side_a"], first["side_b"]) == (
        "Government of Kyrgyzstan",
        "Government of Tajikistan",
    )
    assert (first["incompatibility"], first["territory_name"], first["type_of_conflict"]) == (
        1,
        "Common Border",
        2,
    )
    assert set(rows["intensity_level"]) == {1}
    assert (first["gwno_a"], first["gwno_b"], first["gwno_loc"], first["iso3_loc"]) == (
        "703",
        "702",
        "702, 703",
        "TJK;KGZ",
    )
    assert first["start_date"] == "2014-07-10" and pd.isna(first["ep_end_date"])
    ep_end = rows["ep_end_date"].iloc[1]
    assert (None if pd.isna(ep_end) else ep_end) == ep_end_2022


@requires_shared
def test_kyrgyz_tajik_dyad_and_battle_deaths(real):
    dyadic = real["Dyadic_v24_1.csv"]
    assert dyadic[dyadic["dyad_id"] == 14236]["year"].tolist() == [2021, 2022]
    for name, deaths_2022 in (
        ("BattleDeaths_v24_1.csv", [150, 134, 159]),
        ("BattleDeaths_v23_1.csv", [152, 152, 158]),
    ):
        brd = real[name][real[name]["dyad_id"] == 14236]
        assert brd["year"].tolist() == [2021, 2022]
        assert brd[["deaths_best", "deaths_low", "deaths_high"]].values.tolist() == [
            [56, 56, 56],
            deaths_2022,
        ]


@requires_shared
def test_conflict_year_counts(real):
    acd23, acd25 = real["UcdpPrioConflict_v23_1.csv"], real["UcdpPrioConflict_v25_1.csv"]
    assert (acd23["year"] == 2022).sum() == 55
    assert [(acd25["year"] == y).sum() for y in (2022, 2023, 2024)] == [56, 59, 61]


@requires_shared
def test_repaired_25_1_record_equals_the_intact_23_1_one(real):
    shared = [
        c
        for c in real["UcdpPrioConflict_v23_1.csv"].columns
        if c not in ("version", "source_file", "source_row")
    ]
    pick = [
        real[n].query("conflict_id == 11349 and year == 2008")[shared].reset_index(drop=True)
        for n in ("UcdpPrioConflict_v23_1.csv", "UcdpPrioConflict_v25_1.csv")
    ]
    assert len(pick[0]) == 1
    pd.testing.assert_frame_equal(pick[0], pick[1])


@requires_shared
@pytest.mark.parametrize(
    "extract, full",
    [
        ("ucdp_prio_acd_v23_1_central_asia.csv", "UcdpPrioConflict_v23_1.csv"),
        ("ucdp_brd_dyadic_v23_1_central_asia.csv", "BattleDeaths_v23_1.csv"),
        ("ucdp_nonstate_v23_1_central_asia.csv", "Nonstate_v23_1.csv"),
    ],
)
def test_central_asia_extracts_equal_their_rows_in_the_full_files(real, extract, full):
    """Differently formatted copies of one release give the same table (formats are read alike)."""
    columns = [c for c in real[full].columns if c not in ("source_file", "source_row")]
    small = real[extract][columns].reset_index(drop=True)
    keys = ["conflict_id", "dyad_id", "year"]
    large = real[full][columns].merge(small[keys], on=keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(small, large)


# --- GED events ------------------------------------------------------------------------------


def ged_file(write, records, name="GEDEvent_v25_1.csv"):
    full = [{**GED_RECORD, **record} for record in records]
    return write(name, csv_text(GED_HEADER, full, quote_all=True))


def test_ged_event_maps_to_an_incident(write, countries):
    table = read_ucdp_ged(ged_file(write, [{}]), countries)
    row = table.iloc[0]
    assert (row["incident_id"], row["source_dataset"]) == ("GED-1001", "ucdp_ged")
    assert (row["date_start"], row["date_end"], row["date_precision"]) == (
        "2021-04-29",
        "2021-04-29",
        "day",
    )
    assert pd.isna(row["date_note"])
    assert (row["dyad"], row["country"]) == ("KGZ-TJK", "KGZ")
    assert (row["event_category"], row["incident_type"]) == ("state_based", "state-based conflict")
    assert (row["fatalities"], row["fatalities_low"], row["fatalities_high"]) == (6, 5, 8)
    assert row["casualty_text"] == "side A 3; side B 2; civilians 1; unknown 0"
    assert row["actors"] == "Government of A vs Government of B"
    assert (row["location"], row["admin_units"]) == ("Village K", "Region M; District L")
    assert (row["latitude"], row["longitude"]) == (39.9, 70.6)
    assert row["source_reference"] == "UCDP GED 25.1 id 1001"
    assert (row["source_title"], row["source_date"]) == ("Clash at the border", "2021-04-29")
    assert (row["source_file"], row["source_row"]) == ("GEDEvent_v25_1.csv", 2)
    assert pd.isna(row["injured"]) and pd.isna(row["displaced"])


def test_ged_dyad_only_for_two_states_and_sorted(write, countries):
    records = [
        {"id": "1", "gwnoa": "702", "gwnob": "703"},
        {"id": "2", "type_of_violence": "3", "gwnob": "", "side_b": "Civilians"},
        {"id": "3", "type_of_violence": "2", "gwnoa": "", "gwnob": ""},
    ]
    table = read_ucdp_ged(ged_file(write, records, name="ged.csv"), countries).set_index(
        "incident_id"
    )
    assert table.loc["GED-1", "dyad"] == "KGZ-TJK"
    assert pd.isna(table.loc["GED-2", "dyad"]) and pd.isna(table.loc["GED-3", "dyad"])
    assert table["event_category"].tolist() == ["state_based", "one_sided", "non_state"]
    assert table.loc["GED-1", "source_reference"] == "UCDP GED id 1"  # no version in the name


@pytest.mark.parametrize(
    "date_prec, end, precision, note",
    [
        (2, "2021-05-03", "day", "2-6 days"),
        (3, "2021-05-05", "day", "week"),
        (4, "2021-05-20", "month", "month"),
        (5, "2021-09-30", "year", "year"),
    ],
)
def test_ged_date_precision(write, countries, date_prec, end, precision, note):
    record = {"date_prec": str(date_prec), "date_end": end}
    row = read_ucdp_ged(ged_file(write, [record]), countries).iloc[0]
    assert (row["date_start"], row["date_end"], row["date_precision"]) == (
        "2021-04-29",
        end,
        precision,
    )
    assert f"GED date_prec {date_prec}" in row["date_note"] and note in row["date_note"]


def test_ged_rows_sorted_by_date_then_id(write, countries):
    records = [
        {"id": "30", "date_start": "2021-05-01", "date_end": "2021-05-01"},
        {"id": "20"},
        {"id": "10"},
    ]
    table = read_ucdp_ged(ged_file(write, records), countries)
    assert table["incident_id"].tolist() == ["GED-10", "GED-20", "GED-30"]


def test_ged_quoted_line_breaks_keep_true_line_numbers(write, countries):
    records = [{"id": "1", "source_headline": "two\nlines"}, {"id": "2", "best": "-1"}]
    message = read_error(read_ucdp_ged, ged_file(write, records), countries)
    assert "line 4" in message and "column 'best'" in message and "negative count" in message


def test_large_file_reader_gives_the_line_by_line_result(write):
    """read_large_csv_table's fast path and its fallback agree with read_csv_table."""
    regular = ged_file(write, [{"id": str(i)} for i in range(5)] + [{"id": "9", "adm_2": ""}])
    irregular = write(
        "i.csv",
        csv_text(GED_HEADER, [GED_RECORD])
        + "\n"
        + csv_text(GED_HEADER, [GED_RECORD]).split("\n", 1)[1],
    )
    for path in (regular, irregular):
        fast, slow = read_large_csv_table(path, GED_HEADER), read_csv_table(path, GED_HEADER)
        assert fast.fillna("<blank>").to_dict("list") == slow.fillna("<blank>").to_dict("list")
    assert read_large_csv_table(irregular, GED_HEADER)["source_row"].tolist() == [2, 4]


@pytest.mark.parametrize(
    "record, fragments",
    [
        ({"date_start": "2021-02-30 00:00:00.000"}, ["impossible date", "column 'date_start'"]),
        ({"date_end": "29.04.2021"}, ["unparseable date", "column 'date_end'"]),
        ({"best": "-2"}, ["negative count", "column 'best'"]),
        ({"low": "five"}, ["not a number", "column 'low'"]),
        ({"country_id": "999"}, ["unknown Gleditsch-Ward number", "column 'country_id'", "'999'"]),
        ({"gwnob": "12"}, ["unknown Gleditsch-Ward number", "column 'gwnob'"]),
        ({"type_of_violence": "4"}, ["unknown code", "column 'type_of_violence'"]),
        ({"date_prec": "0"}, ["unknown code", "column 'date_prec'"]),
        ({"latitude": "north"}, ["not a number", "column 'latitude'"]),
        ({"latitude": "95"}, ["value breaks the contract", "column 'latitude'"]),
        ({"date_end": "2021-04-01"}, ["date_end on or after date_start"]),
    ],
)
def test_ged_bad_cells_name_file_line_and_column(write, countries, record, fragments):
    message = read_error(
        read_ucdp_ged, ged_file(write, [{"id": "1"}, {"id": "2", **record}]), countries
    )
    assert "GEDEvent_v25_1.csv" in message and "line 3" in message
    for fragment in fragments:
        assert fragment in message


def test_ged_duplicate_event_id(write, countries):
    message = read_error(read_ucdp_ged, ged_file(write, [{}, {}]), countries)
    assert "duplicate key" in message and "line 3" in message and "column 'incident_id'" in message


def test_ged_missing_column(write, countries):
    header = [c for c in GED_HEADER if c != "best"]
    message = read_error(read_ucdp_ged, write("g.csv", csv_text(header, [GED_RECORD])), countries)
    assert (
        "missing column(s) ['best']" in message
        and "line 1" in message
        and "column 'best'" in message
    )


def test_ged_former_state_has_no_country(write, countries):
    row = read_ucdp_ged(ged_file(write, [{"country_id": "345", "gwnob": ""}]), countries).iloc[0]
    assert pd.isna(row["country"])
