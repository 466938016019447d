"""The third-party remittances panel: its series kept apart and labelled, its copies checked."""

import pytest

from analysis.data.sources.remittances_panel import read_fozich_panel
from analysis.errors import DataError


def values(table):
    return {
        (i, c, p): v
        for i, c, p, v in zip(table["iso3"], table["indicator"], table["period"], table["value"])
    }


PANEL = """iso3c,country,year,remit_gdp,rus_gdp_growth,rub_depr
KGZ,Kyrgyz Republic,2021,32.56,5.87,2.13
TJK,Tajikistan,2021,32.69,5.87,2.13
TJK,Tajikistan,2022,49.9,-1.44,
"""


def test_panel_keeps_its_series_apart_and_labelled(write):
    table = read_fozich_panel(write("panel.csv", PANEL))
    assert values(table) == {
        ("KGZ", "BX.TRF.PWKR.DT.GD.ZS", "2021"): 32.56,
        ("TJK", "BX.TRF.PWKR.DT.GD.ZS", "2021"): 32.69,
        ("TJK", "BX.TRF.PWKR.DT.GD.ZS", "2022"): 49.9,
        ("RUS", "NY.GDP.MKTP.KD.ZG", "2021"): 5.87,  # one row although on every country's line
        ("RUS", "NY.GDP.MKTP.KD.ZG", "2022"): -1.44,
        ("RUS", "FOZICH.RUB_DEPR", "2021"): 2.13,  # 2022 is blank: no row
    }
    flags = dict(zip(table["indicator"], table["flags"]))
    assert flags == {
        "BX.TRF.PWKR.DT.GD.ZS": "secondary_copy",
        "NY.GDP.MKTP.KD.ZG": "secondary_copy",
        "FOZICH.RUB_DEPR": "derived",
    }
    depr = table[table["indicator"] == "FOZICH.RUB_DEPR"].iloc[0]
    assert "author's own transformation" in depr["source"]
    assert depr["source_row"] == 2


def test_panel_copies_that_disagree_are_refused(write):
    path = write("panel.csv", PANEL.replace("32.69,5.87", "32.69,5.90"))
    with pytest.raises(DataError, match="disagree") as err:
        read_fozich_panel(path)
    assert "panel.csv, line 3, column 'rus_gdp_growth'" in str(err.value)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (PANEL.replace("KGZ,Kyrgyz", "XYZ,Kyrgyz"), "line 2, column 'iso3c'"),
        (PANEL.replace("TJK,Tajikistan,2022", "TJK,Tajikistan,2021"), "line 4, column 'iso3c'"),
        (PANEL.replace("49.9", "49,9"), "line 4"),  # an unquoted comma: wrong field count
    ],
)
def test_bad_panel_names_file_and_line(write, text, where):
    with pytest.raises(DataError) as err:
        read_fozich_panel(write("panel.csv", text))
    assert f"panel.csv, {where}" in str(err.value)
