"""The monthly indicator reader: FAO, EIA, FRED and World Bank GEM layouts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import SHARED_DATA, assert_points_at, requires_shared

from analysis.data.sources.monthly import read_monthly
from analysis.errors import DataError

RAW = SHARED_DATA
INDICATORS = RAW / "indicators"
needs_real = requires_shared

TRAIL = "," * 8  # FAO's empty trailing columns
FAO = (
    f"FAO Food Price Index{TRAIL}\n2014-2016=100{TRAIL}\n"
    f"Date,Food Price Index,Meat,Dairy,Cereals,Oils,Sugar,,\n{',' * 8}\n"
    "1990-01,64.4,74.3,53.5,64.1,44.59,87.9,,\n"
    "1990-02,64.7,76.8,52.2,62.2,44.50,,,\n"
)
GEM_HEADER = "series,unit,country_name,iso3,period,value\n"
FX = '"Official exchange rate, LCU per USD, period average",LCU per US$,Russian Federation,RUS'


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_fao_layout(tmp_path):
    table = read_monthly(write(tmp_path, "fao.csv", FAO), root=tmp_path)
    assert set(table["iso3"]) == {"WLD"} and set(table["frequency"]) == {"M"}
    assert set(table["unit"]) == {"index, 2014-2016 = 100"}
    assert sorted(set(table["indicator"])) == [
        "FAO.FFPI",
        "FAO.FFPI.CEREALS",
        "FAO.FFPI.DAIRY",
        "FAO.FFPI.MEAT",
        "FAO.FFPI.OILS",
        "FAO.FFPI.SUGAR",
    ]
    values = table.set_index(["indicator", "period"])["value"]
    assert values[("FAO.FFPI", "1990-01")] == 64.4
    assert values[("FAO.FFPI.OILS", "1990-02")] == 44.5
    assert pd.isna(values[("FAO.FFPI.SUGAR", "1990-02")])  # blank cell: missing, not dropped or 0
    row = table.set_index(["indicator", "period"]).loc[("FAO.FFPI.MEAT", "1990-02")]
    assert (row["source_file"], row["source_row"]) == ("fao.csv", 6)
    assert "FAO" in row["source"] and "July 2026" in row["source"]


def test_fao_base_is_read_from_the_file(tmp_path):
    table = read_monthly(write(tmp_path, "fao.csv", FAO.replace("2014-2016=100", "2002-2004=100")))
    assert set(table["unit"]) == {"index, 2002-2004 = 100"}
    with pytest.raises(DataError, match="index base") as caught:
        read_monthly(write(tmp_path, "fao.csv", FAO.replace("2014-2016=100", "nominal")))
    assert_points_at(caught.value, "fao.csv", 2, None)


def test_eia_brent_uses_the_mid_month_convention(tmp_path):
    table = read_monthly(
        write(tmp_path, "brent.csv", "Date,Price\n1987-05-15,18.58\n1987-06-15,18.86\n")
    )
    assert table[["iso3", "period", "indicator", "value", "unit"]].values.tolist() == [
        ["WLD", "1987-05", "EIA.BRENT", 18.58, "US$ per barrel"],
        ["WLD", "1987-06", "EIA.BRENT", 18.86, "US$ per barrel"],
    ]
    with pytest.raises(DataError, match="unparseable or impossible month") as caught:
        read_monthly(
            write(tmp_path, "brent.csv", "Date,Price\n1987-05-15,18.58\n1987-06-01,18.86\n")
        )
    assert_points_at(caught.value, "brent.csv", 3, "Date")


def test_fred_layout_and_missing_marker(tmp_path):
    text = "DATE,CCUSMA02RUM618N\n2006-01-01,28.4122\n2006-02-01,.\n"
    table = read_monthly(write(tmp_path, "fred.csv", text))
    assert table["indicator"].tolist() == ["OECD.CCUSMA02RUM618N"] * 2
    assert set(table["iso3"]) == {"RUS"} and set(table["unit"]) == {"RUB per US$"}
    assert table["value"].iloc[0] == 28.4122 and pd.isna(table["value"].iloc[1])


def test_fred_unknown_series_is_not_guessed(tmp_path):
    with pytest.raises(DataError, match="unknown FRED series") as caught:
        read_monthly(write(tmp_path, "fred.csv", "DATE,EXRUUS\n2006-01-01,28.4\n"))
    assert_points_at(caught.value, "fred.csv", 1, "EXRUUS")


def test_gem_layout(tmp_path):
    text = GEM_HEADER + (
        f"{FX},2022M02,78.44942\n{FX},2022M03,111.0703\n"
        '"CPI Price, % y-o-y, nominal, seas. adj.",percent y-o-y,Tajikistan,TJK,2024M11,NA\n'
    )
    table = read_monthly(write(tmp_path, "gem.csv", text)).set_index(
        ["iso3", "indicator", "period"]
    )
    assert table.loc[("RUS", "GEM.FX_LCU_USD", "2022-03"), "value"] == 111.0703
    assert table.loc[("RUS", "GEM.FX_LCU_USD", "2022-03"), "unit"] == "LCU per US$"
    row = table.loc[("TJK", "GEM.CPI_YOY_SA", "2024-11")]
    assert pd.isna(row["value"]) and row["unit"] == "percent y-o-y"
    assert row["indicator_name"] == "CPI Price, % y-o-y, nominal, seas. adj."


@pytest.mark.parametrize(
    "line, column, problem",
    [
        ('"CPI Price, food",index,Tajikistan,TJK,2020M01,1.0', "series", "unknown GEM series"),
        (f"{FX},2020M13,1.0", "period", "impossible month"),
        (f"{FX},2020-01,1.0", "period", "unparseable"),
        (f"{FX},2020M01,1,5", None, "wrong number of fields"),
        (f"{FX},2020M01,n/a", "value", "not a number"),
        (f"{FX},2020M01,", None, None),  # blank value is a missing value, not an error
    ],
)
def test_gem_bad_rows_fail_at_file_line_column(tmp_path, line, column, problem):
    path = write(tmp_path, "gem.csv", GEM_HEADER + f"{FX},2019M12,1.0\n{line}\n")
    if problem is None:
        assert read_monthly(path)["value"].isna().sum() == 1
        return
    with pytest.raises(DataError, match=problem) as caught:
        read_monthly(path)
    assert_points_at(caught.value, "gem.csv", 3, column)


def test_gem_unknown_country_code_fails(tmp_path):
    path = write(
        tmp_path,
        "gem.csv",
        GEM_HEADER + f"{FX},2019M12,1.0\n" + FX.replace("RUS", "XXX") + ",2020M01,1\n",
    )
    with pytest.raises(DataError, match="ISO") as caught:
        read_monthly(path)
    assert_points_at(caught.value, "gem.csv", 3, "iso3")


@pytest.mark.parametrize(
    "text, line, problem",
    [
        ("Year,Value\n2020,1\n", 1, "unknown monthly layout"),
        ("Date,Close\n2020-01-15,1\n", 1, "missing"),  # not read as Brent
        ("Date,Price,Volume\n2020-01-15,1,2\n", 1, "read as EIA Brent only with exactly"),
        ("DATE;CCUSMA02RUM618N\n2006-01-01;28.4\n", 1, "wrong delimiter"),
        ("Date\tPrice\n1987-05-15\t18.58\n", 1, "wrong delimiter"),
        ("Date,Price\n", 2, "no data rows"),
    ],
)
def test_whole_file_problems(tmp_path, text, line, problem):
    with pytest.raises(DataError, match=problem) as caught:
        read_monthly(write(tmp_path, "series.csv", text))
    assert_points_at(caught.value, "series.csv", line, None)


def test_empty_and_misencoded_files(tmp_path):
    with pytest.raises(DataError, match="empty") as caught:
        read_monthly(write(tmp_path, "series.csv", ""))
    assert "series.csv" in str(caught.value)
    path = tmp_path / "latin1.csv"
    path.write_bytes("Date,Price\n1987-05-15,18.58\n1987-06-15,18\xa0\n".encode("latin-1"))
    with pytest.raises(DataError, match="UTF-8") as caught:
        read_monthly(path)
    assert_points_at(caught.value, "latin1.csv", 3, None)


@needs_real
def test_real_monthly_files():
    fao = read_monthly(INDICATORS / "fao_food_price_index_monthly.csv", root=RAW)
    ffpi = fao[fao["indicator"] == "FAO.FFPI"]
    assert ffpi["period"].min() == "1990-01" and ffpi["value"].iloc[0] == 64.4
    assert fao["indicator"].nunique() == 6 and set(fao["unit"]) == {"index, 2014-2016 = 100"}
    assert fao["value"].notna().all()

    brent = read_monthly(INDICATORS / "eia_brent_spot_monthly.csv", root=RAW)
    assert len(brent) == 471 and brent["period"].iloc[0] == "1987-05"

    rub = read_monthly(INDICATORS / "oecd_fred_rub_per_usd_monthly_CCUSMA02RUM618N.csv", root=RAW)
    assert len(rub) == 172 and (rub["period"].min(), rub["period"].max()) == ("2006-01", "2020-04")

    fx = read_monthly(INDICATORS / "monthly" / "wb_gem_fx_lcu_per_usd_monthly.csv", root=RAW)
    fx = fx.set_index(["iso3", "period"])["value"]
    assert fx[("RUS", "2022-03")] == 111.0703
    assert fx[("KGZ", "2022-03")] == 98.65972 and fx[("TJK", "2022-03")] == 12.5426
    assert len(fx) == 1798

    cpi = read_monthly(INDICATORS / "monthly" / "wb_gem_cpi_monthly.csv", root=RAW)
    assert cpi["indicator"].value_counts().to_dict() == {
        "GEM.CPI_NSA": 1372,
        "GEM.CPI_SA": 1281,
        "GEM.CPI_YOY_SA": 1257,
    }
    assert cpi.loc[cpi["iso3"] == "TJK", "period"].max() == "2024-11"
    assert cpi["source_file"].iloc[0] == "indicators/monthly/wb_gem_cpi_monthly.csv"
