"""SIPRI readers: the Milex workbook (fonts, markers, fractions), its long extracts (which must
give the very same rows) and the TIV arms-import table; generated fixtures, then shipped files."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import SHARED_DATA, requires_shared
from openpyxl.styles import Font

from analysis.data.sources import sipri
from analysis.data.sources.countries import read_countrycode_codelist
from analysis.errors import DataError

SHARED = SHARED_DATA
needs_shared = requires_shared
CENTRAL_ASIA = {"KGZ", "TJK", "KAZ", "UZB", "TKM"}
BLUE, RED, GREEN = "FF0000FF", "FFFF0000", "FF00FF00"

# Sheet title → (header row, columns before the years), as in the 2025 workbook.
LAYOUT = {
    "Local currency financial years": (
        8,
        ["Currency", "Fiscal Year (Jan-Dec if not stated)", "Notes"],
    ),
    "Local currency calendar years": (7, ["Currency", "Notes"]),
    "Constant (2023) US$": (6, ["", "Notes"]),
    "Current US$": (6, ["Notes"]),
    "Share of GDP": (6, ["Notes"]),
    "Per capita": (7, ["Notes"]),
    "Share of Govt. spending": (8, ["Notes", "Reporting year"]),
}
SHARES = {"Share of GDP", "Share of Govt. spending"}
YEARS = [2020, 2021, 2022]
CURRENCY = {
    "Kazakhstan": "Tenge",
    "Kyrgyz Republic": "Som",
    "Tajikistan": "Somoni",
    "USSR": "Roubles",
}
# (cell, font) per country and year; None = blank cell. Shares sheets get the number / 1000.
CELLS = {
    "Kazakhstan": [("xxx", None), (1000.5, None), (1200.0, RED)],
    "Kyrgyz Republic": [("...", None), (80.0, BLUE), (96.0, BLUE)],
    "Tajikistan": [(None, None), (50.0, None), (". .", BLUE)],
    "USSR": [("xxx", None)] * 3,
}
CODELIST = """iso3c,country.name.en,gwn,cown,region
KAZ,Kazakhstan,705,705,Europe & Central Asia
KGZ,Kyrgyzstan,703,703,Europe & Central Asia
TJK,Tajikistan,702,702,Europe & Central Asia
RUS,Russia,365,365,Europe & Central Asia
"""


@pytest.fixture
def table(tmp_path) -> pd.DataFrame:
    path = tmp_path / "codelist.csv"
    path.write_text(CODELIST)
    return read_countrycode_codelist(path)


def make_workbook(path: Path, cells: dict = CELLS, sheets: dict = LAYOUT) -> Path:
    book = openpyxl.Workbook()
    book.active.title = "Front page"
    for title, (header_row, before) in sheets.items():
        sheet = book.create_sheet(title)
        sheet.cell(1, 1, f"Military expenditure by country, {YEARS[0]}-{YEARS[-1]}")
        header = ["Country", *before, *[float(y) for y in YEARS]]
        for column, value in enumerate(header, start=1):
            sheet.cell(header_row, column, value)
        row = header_row + 2
        for heading in ("Asia & Oceania", "Central Asia"):
            sheet.cell(row, 1, heading)
            row += 1
        for country, values in cells.items():
            sheet.cell(row, 1, country)
            if "Currency" in before:
                sheet.cell(row, 2, CURRENCY.get(country, "") + "     ")
            for offset, (value, font) in enumerate(values):
                if isinstance(value, float) and title in SHARES:
                    value = value / 1000
                cell = sheet.cell(row, 2 + len(before) + offset, value)
                if font:
                    cell.font = Font(color=font)
            row += 1
    book.save(path)
    return path


def release_of(path: Path) -> str:
    modified = openpyxl.load_workbook(path).properties.modified
    return f"{sipri._MONTHS[modified.month - 1]} {modified.year}"


def make_extract(path: Path, release: str, cells: dict = CELLS) -> Path:
    """The long extract of the same cells, written as the shipped extracts are."""
    flags = {None: "reported", BLUE: "sipri_estimate_blue", RED: "highly_uncertain_red"}
    names = {"Kazakhstan": "KAZ", "Kyrgyz Republic": "KGZ", "Tajikistan": "TJK"}
    rows = []
    for title in LAYOUT:
        for country, iso3 in names.items():
            for year, (value, font) in zip(YEARS, cells[country]):
                number = isinstance(value, float)
                if number and title in SHARES:
                    value = value / 1000
                rows.append(
                    {
                        "sipri_country": country,
                        "iso3": iso3,
                        "sipri_sheet": title,
                        "year": year,
                        "value": repr(value) if number else "",
                        "non_numeric_marker": "" if number or value is None else value,
                        "sipri_font_flag": flags[font] if number else "",
                        "currency": CURRENCY[country] if title.startswith("Local") else "",
                        "govt_share_reporting_year_col": "",
                        "fiscal_year": "",
                        "sipri_release": f"SIPRI Milex {YEARS[0]}-{YEARS[-1]} ({release} release)",
                    }
                )
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def by_key(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index(["iso3", "indicator", "period"])


# ---------------------------------------------------------------------------- workbook


def test_workbook_reads_numbers_markers_and_fonts(tmp_path, table):
    rows = by_key(sipri.read_sipri_milex_workbook(make_workbook(tmp_path / "milex.xlsx"), table))
    current = rows.xs("SIPRI.MILEX.CURRENT_USD", level="indicator")
    assert current.loc[("KAZ", "2020"), "flags"] == "not_a_state"
    assert pd.isna(current.loc[("KAZ", "2020"), "value"])
    assert current.loc[("KAZ", "2021"), "value"] == 1000.5
    assert pd.isna(current.loc[("KAZ", "2021"), "flags"])  # black font: as reported
    assert current.loc[("KAZ", "2022"), "flags"] == "highly_uncertain"
    assert current.loc[("KGZ", "2020"), "flags"] == "not_available"
    assert current.loc[("KGZ", "2021"), "flags"] == "sipri_estimate"
    assert current.loc[("TJK", "2022"), "flags"] == "not_available"  # a marker's font is ignored
    assert ("TJK", "2020") not in current.index  # blank cell: no row
    assert set(current.index.get_level_values("iso3")) == {"KAZ", "KGZ", "TJK"}  # USSR has no ISO3
    assert len(rows) == 7 * 8  # 7 sheets x 8 non-blank country cells


def test_workbook_shares_become_percent_and_units_follow_the_sheet(tmp_path, table):
    rows = by_key(sipri.read_sipri_milex_workbook(make_workbook(tmp_path / "milex.xlsx"), table))
    gdp = rows.loc[("KGZ", "SIPRI.MILEX.SHARE_GDP", "2021")]
    assert gdp["value"] == pytest.approx(8.0)  # 0.08 in the sheet
    assert gdp["unit"] == "% of GDP"
    govt = rows.loc[("KAZ", "SIPRI.MILEX.SHARE_GOVT", "2021")]
    assert (govt["value"], govt["unit"]) == (pytest.approx(100.05), "% of government spending")
    assert (
        rows.loc[("KGZ", "SIPRI.MILEX.CONST_USD", "2021"), "unit"]
        == "US$ m, constant 2023 prices and exchange rates"
    )
    assert (
        rows.loc[("KGZ", "SIPRI.MILEX.LCU_FISCAL", "2021"), "unit"]
        == "Som, current prices (financial year)"
    )
    assert rows.loc[("TJK", "SIPRI.MILEX.LCU_CALENDAR", "2021"), "unit"] == "Somoni, current prices"
    assert rows.loc[("KGZ", "SIPRI.MILEX.PER_CAPITA", "2021"), "value"] == 80.0


def test_workbook_rows_name_sheet_row_and_release(tmp_path, table):
    path = make_workbook(tmp_path / "milex.xlsx")
    rows = sipri.read_sipri_milex_workbook(path, table, root=tmp_path)
    gdp = rows[(rows["indicator"] == "SIPRI.MILEX.SHARE_GDP") & (rows["iso3"] == "KGZ")]
    assert set(gdp["source_file"]) == {"milex.xlsx#Share of GDP"}
    assert set(gdp["source_row"]) == {11}  # header row 6, blank, two headings, KAZ, KGZ
    assert set(rows["source"]) == {
        f"SIPRI Military Expenditure Database ({release_of(path)} release, data 2020-2022)"
    }


def test_workbook_keeps_only_the_given_countries(tmp_path, table):
    rows = sipri.read_sipri_milex_workbook(
        make_workbook(tmp_path / "milex.xlsx"), table, countries={"TJK"}
    )
    assert set(rows["iso3"]) == {"TJK"}


def test_workbook_and_extract_give_the_same_rows(tmp_path, table):
    book = make_workbook(tmp_path / "milex.xlsx")
    extract = make_extract(tmp_path / "extract.csv", release_of(book))
    from_book = sipri.read_sipri_milex_workbook(book, table)
    from_extract = sipri.read_sipri_milex_extract(extract, table)
    columns = [
        "iso3",
        "frequency",
        "period",
        "indicator",
        "indicator_name",
        "value",
        "unit",
        "source",
        "flags",
    ]
    pd.testing.assert_frame_equal(from_book[columns], from_extract[columns])


def bad_cells(country: str, cell) -> dict:
    return {**CELLS, country: [CELLS[country][0], cell, CELLS[country][2]]}


@pytest.mark.parametrize(
    ("cells", "problem", "where"),
    [
        (
            {**CELLS, "Atlantis": CELLS["Kazakhstan"]},
            "unknown SIPRI country name",
            "line 16, column 'A'",
        ),
        (
            bad_cells("Tajikistan", ("12,5", None)),
            "not a number nor a SIPRI marker",
            "line 14, column 'F (2021)'",
        ),
        (
            bad_cells("Tajikistan", (12.5, GREEN)),
            "unknown font colour",
            "line 14, column 'F (2021)'",
        ),
        ({**CELLS, "Kyrgyzstan": CELLS["Kazakhstan"]}, "duplicate", "line 16, column 'A'"),
    ],
)
def test_bad_workbook_cell_names_sheet_line_and_column(tmp_path, table, cells, problem, where):
    path = make_workbook(tmp_path / "milex.xlsx", cells=cells)
    with pytest.raises(DataError, match=problem) as err:
        sipri.read_sipri_milex_workbook(path, table)
    assert f"milex.xlsx#Local currency financial years, {where}" in str(err.value)


def test_alias_to_a_code_missing_from_the_table_is_an_unknown_name(tmp_path, table):
    path = make_workbook(tmp_path / "milex.xlsx", cells={**CELLS, "Türkiye": CELLS["Kazakhstan"]})
    with pytest.raises(DataError, match="unknown SIPRI country name"):
        sipri.read_sipri_milex_workbook(path, table)


def test_workbook_without_a_measure_sheet_or_not_a_workbook_is_refused(tmp_path, table):
    sheets = {k: v for k, v in LAYOUT.items() if k != "Per capita"}
    with pytest.raises(DataError, match="Per capita") as err:
        sipri.read_sipri_milex_workbook(
            make_workbook(tmp_path / "milex.xlsx", sheets=sheets), table
        )
    assert "milex.xlsx" in str(err.value)
    fake = tmp_path / "fake.xlsx"
    fake.write_text("Country,2020\n")
    with pytest.raises(DataError, match="not a readable .xlsx workbook"):
        sipri.read_sipri_milex_workbook(fake, table)


# ---------------------------------------------------------------------------- extract


@pytest.fixture
def extract_text(tmp_path) -> str:
    return make_extract(tmp_path / "good.csv", "April 2025").read_text()


def test_extract_reads_release_and_flags(tmp_path, table, extract_text):
    rows = by_key(sipri.read_sipri_milex_extract(tmp_path / "good.csv", table, root=tmp_path))
    row = rows.loc[("KGZ", "SIPRI.MILEX.SHARE_GDP", "2022")]
    assert (row["value"], row["flags"]) == (pytest.approx(9.6), "sipri_estimate")
    assert (
        row["source"] == "SIPRI Military Expenditure Database (April 2025 release, data 2020-2022)"
    )
    assert row["source_file"] == "good.csv"


def replace_line(text: str, line: int, old: str, new: str) -> str:
    lines = text.splitlines(keepends=True)
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    return "".join(lines)


@pytest.mark.parametrize(
    ("edit", "problem", "where"),
    [
        (
            lambda t: t.replace(",non_numeric_marker,", ",marker,", 1),
            "missing column",
            "line 1, column 'non_numeric_marker'",
        ),
        (
            lambda t: t.replace("sipri_release", "release", 1),
            "missing column",
            "line 1, column 'sipri_release'",
        ),
        (lambda t: replace_line(t, 3, "1000.5", "1000,5"), "wrong number of fields", "line 3"),
        (
            lambda t: replace_line(t, 3, "1000.5", "1.0e3x"),
            "not a number",
            "line 3, column 'value'",
        ),
        (
            lambda t: replace_line(t, 3, ",2021,", ",2020,"),
            "duplicate",
            "line 3, column 'sipri_country'",
        ),
        (
            lambda t: replace_line(t, 3, "Kazakhstan", "Kazakstan"),
            "unknown SIPRI country name",
            "line 3, column 'sipri_country'",
        ),
        (lambda t: replace_line(t, 3, "KAZ", "KGZ"), "does not match", "line 3, column 'iso3'"),
        (
            lambda t: replace_line(t, 3, "Local currency financial years", "Local currency"),
            "unknown SIPRI sheet",
            "line 3, column 'sipri_sheet'",
        ),
        (
            lambda t: replace_line(t, 3, "1000.5,", "1000.5,..."),
            "not a number nor a SIPRI marker",
            "line 3, column 'non_numeric_marker'",
        ),
        (
            lambda t: replace_line(t, 3, "reported", "blueish"),
            "unknown font flag",
            "line 3, column 'sipri_font_flag'",
        ),
        (
            lambda t: replace_line(t, 3, "(April 2025 release)", "(2025)"),
            "cannot read the release",
            "line 3, column 'sipri_release'",
        ),
        (lambda t: replace_line(t, 3, ",2021,", ",21,"), "not a year", "line 3, column 'year'"),
    ],
)
def test_bad_extract_names_file_line_and_column(
    tmp_path, table, extract_text, edit, problem, where
):
    path = tmp_path / "bad.csv"
    path.write_text(edit(extract_text))
    with pytest.raises(DataError, match=problem) as err:
        sipri.read_sipri_milex_extract(path, table)
    assert f"bad.csv, {where}" in str(err.value)


def test_empty_file_wrong_delimiter_and_bad_encoding_are_reported(tmp_path, table, extract_text):
    path = tmp_path / "bad.csv"
    path.write_text("")
    with pytest.raises(DataError, match="file is empty"):
        sipri.read_sipri_milex_extract(path, table)
    path.write_text(extract_text.replace(",", ";"))
    with pytest.raises(DataError, match="wrong delimiter") as err:
        sipri.read_sipri_milex_extract(path, table)
    assert "bad.csv, line 1" in str(err.value)
    path.write_bytes(extract_text.replace("Tajikistan", "Tadjikistán").encode("latin-1"))
    with pytest.raises(DataError, match="not valid UTF-8") as err:
        sipri.read_sipri_milex_extract(path, table)
    first = next(
        i for i, line in enumerate(extract_text.splitlines(), start=1) if "Tajikistan" in line
    )
    assert f"bad.csv, line {first}" in str(err.value)


# ---------------------------------------------------------------------------- TIV

TIV = """recipient,iso3,year,tiv_million,source_table,source_generated
Kyrgyzstan,KGZ,2020,,"SIPRI TIV import table",11 December 2023
Kyrgyzstan,KGZ,2021,0,"SIPRI TIV import table",11 December 2023
Kyrgyzstan,KGZ,2022,12,"SIPRI TIV import table",11 December 2023
Kyrgyzstan,KGZ,Total,72,"SIPRI TIV import table",11 December 2023
"""


def test_tiv_blank_is_no_delivery_zero_is_below_half_and_total_is_skipped(tmp_path, table):
    path = tmp_path / "tiv.csv"
    path.write_text(TIV)
    rows = sipri.read_sipri_tiv_imports(path, table).set_index("period")
    assert list(rows.index) == ["2020", "2021", "2022"]
    assert rows.loc["2020", "value"] == 0.0
    assert rows.loc["2020", "flags"] == "none_recorded"
    assert (rows.loc["2021", "value"], rows.loc["2021", "flags"]) == (0.0, "below_half_unit")
    assert rows.loc["2022", "value"] == 12.0
    assert set(rows["unit"]) == {"TIV, millions (volume index, not US$)"}
    assert set(rows["source"]) == {"SIPRI TIV import table, generated 11 December 2023"}
    assert list(rows["source_row"]) == [2, 3, 4]


@pytest.mark.parametrize(
    ("old", "new", "problem", "where"),
    [
        ("KGZ,2022,12", "KGZ,2022,-3", "negative TIV", "line 4, column 'tiv_million'"),
        ("KGZ,2022,12", "KGZ,2022,twelve", "not a number", "line 4, column 'tiv_million'"),
        ("KGZ,2022,12", "KGZ,2021,12", "duplicate", "line 4, column 'year'"),
        (
            "Kyrgyzstan,KGZ,2022",
            "Kirgizia,KGZ,2022",
            "unknown SIPRI recipient name",
            "line 4, column 'recipient'",
        ),
        ("Kyrgyzstan,KGZ,2022", "Kyrgyzstan,TJK,2022", "does not match", "line 4, column 'iso3'"),
        ("tiv_million", "tiv", "missing column", "line 1, column 'tiv_million'"),
    ],
)
def test_bad_tiv_names_file_line_and_column(tmp_path, table, old, new, problem, where):
    path = tmp_path / "tiv.csv"
    path.write_text(TIV.replace(old, new, 1))
    with pytest.raises(DataError, match=problem) as err:
        sipri.read_sipri_tiv_imports(path, table)
    assert f"tiv.csv, {where}" in str(err.value)


# ---------------------------------------------------------------------------- shipped files


@pytest.fixture(scope="module")
def countries_table():
    return read_countrycode_codelist(
        SHARED / "global" / "crosswalks" / "countrycode_codelist_without_cldr.csv"
    )


@pytest.fixture(scope="module")
def shipped_workbook(countries_table):
    path = SHARED / "global" / "sipri" / "SIPRI-Milex-data-1949-2024_2.xlsx"
    return sipri.read_sipri_milex_workbook(
        path, countries_table, root=SHARED, countries=CENTRAL_ASIA
    )


@pytest.mark.slow
@needs_shared
def test_shipped_workbook_agrees_exactly_with_the_2025_extract(shipped_workbook, countries_table):
    path = SHARED / "indicators" / "sipri_milex_centralasia_release2025.csv"
    extract = sipri.read_sipri_milex_extract(path, countries_table, root=SHARED)
    assert len(extract) == 1225
    key = ["iso3", "indicator", "period"]
    both = extract.merge(
        shipped_workbook, on=key, how="left", suffixes=("_x", "_w"), indicator=True
    )
    assert (both["_merge"] == "both").all()
    for column in ["value", "flags", "unit", "indicator_name", "source"]:
        x, w = both[f"{column}_x"], both[f"{column}_w"]
        assert ((x == w) | (x.isna() & w.isna())).all(), column


@needs_shared
def test_shipped_workbook_known_values(shipped_workbook):
    rows = by_key(shipped_workbook)
    gdp = rows.loc[("KGZ", "SIPRI.MILEX.SHARE_GDP", "2024")]
    assert gdp["value"] == pytest.approx(2.966203737017582, rel=1e-12)  # 0.02966... in the sheet
    assert gdp["flags"] == "sipri_estimate"  # all KGZ values are blue
    assert gdp["source_file"] == "global/sipri/SIPRI-Milex-data-1949-2024_2.xlsx#Share of GDP"
    assert gdp["source_row"] == 126
    assert (
        gdp["source"] == "SIPRI Military Expenditure Database (April 2025 release, data 1949-2024)"
    )
    kgz = shipped_workbook[shipped_workbook["iso3"] == "KGZ"]
    numbers = kgz[kgz["value"].notna()]
    assert set(numbers["flags"]) == {"sipri_estimate"}
    assert (
        rows.loc[("KGZ", "SIPRI.MILEX.CONST_USD", "2024"), "unit"]
        == "US$ m, constant 2023 prices and exchange rates"
    )


@needs_shared
def test_shipped_2024_extract_is_the_previous_release(countries_table):
    path = SHARED / "indicators" / "sipri_milex_centralasia_release2024.csv"
    rows = sipri.read_sipri_milex_extract(path, countries_table)
    assert len(rows) == 1190
    assert set(rows["source"]) == {
        "SIPRI Military Expenditure Database (April 2024 release, data 1949-2023)"
    }
    const = rows[rows["indicator"] == "SIPRI.MILEX.CONST_USD"]
    assert set(const["unit"]) == {"US$ m, constant 2022 prices and exchange rates"}


@needs_shared
def test_shipped_tiv_known_values(countries_table):
    path = SHARED / "indicators" / "sipri_tiv_arms_imports_centralasia_1990_2022.csv"
    rows = by_key(sipri.read_sipri_tiv_imports(path, countries_table, root=SHARED))
    assert len(rows) == 6 * 33  # six recipients, 1990-2022; the Total rows are out
    assert rows.loc[("KGZ", "SIPRI.TIV.IMPORTS", "2021"), "value"] == 1.0
    assert rows.loc[("KGZ", "SIPRI.TIV.IMPORTS", "2022"), "value"] == 12.0
    assert rows.loc[("TJK", "SIPRI.TIV.IMPORTS", "2022"), "value"] == 3.0
    assert rows.loc[("KGZ", "SIPRI.TIV.IMPORTS", "2020"), "value"] == 0.0  # blank: none recorded
