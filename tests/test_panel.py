"""Panel rules: steps not interpolation, missing outside coverage, lags on native frequency."""

import numpy as np
import pandas as pd
import pytest

from analysis.errors import ConfigError, DataError
from analysis.panels import panel
from analysis.panels.panel import OutcomeSpec, PredictorSpec


def incidents(rows):
    """Minimal incidents frame: (id, date, dyad, fatalities, category)."""
    return pd.DataFrame(
        [
            {
                "incident_id": i,
                "source_dataset": "catalogue",
                "date_start": d,
                "dyad": y,
                "fatalities": f,
                "event_category": c,
            }
            for i, d, y, f, c in rows
        ]
    ).astype({"fatalities": "Int64"})


def indicators(rows, frequency="A"):
    return pd.DataFrame(
        [
            {
                "iso3": iso,
                "frequency": frequency,
                "period": p,
                "indicator": code,
                "value": v,
                "source": "s",
            }
            for iso, code, p, v in rows
        ]
    )


EVENTS = incidents(
    [
        ("a", "2019-01-05", "KGZ-TJK", 1, "shooting"),
        ("b", "2019-01-20", "KGZ-TJK", None, "civilian_clash"),
        ("c", "2019-07-01", "KGZ-TJK", 0, "civilian_clash"),
        ("d", "2021-04-29", "KGZ-TJK", 55, "armed_clash"),
        ("e", "2020-03-01", "KGZ-UZB", 2, "shooting"),
    ]
)


#: The coverage table's statuses for 2019-2021 (as the data build states them), 2022 to June.
COVERAGE = pd.DataFrame(
    {
        "dyad": "KGZ-TJK",
        "year": [2018, 2019, 2020, 2021, 2022],
        "catalogued": [pd.NA, 3, 0, 1, 0],
        "status": ["not_covered", "rows_found", "searched_empty", "rows_found", "searched_empty"],
        "first_month": [1, 1, 1, 1, 1],
        "last_month": [12, 12, 12, 12, 6],
        "basis": "test",
    }
)


def covered(index):
    return panel.covered_periods(COVERAGE, "KGZ-TJK", index)


def test_counts_zero_inside_coverage_missing_outside():
    index = panel.periods("A", "2017", "2022")
    counts = panel.count_incidents(EVENTS, OutcomeSpec(), index, covered(index))
    # 2017 is not in the table, 2018 not covered, 2022 only to June: missing, never zero
    assert counts["incidents"].isna().tolist() == [True, True, False, False, False, True]
    assert counts.loc[pd.Period("2019", "Y"), "incidents"] == 3
    assert counts.loc[pd.Period("2020", "Y"), "incidents"] == 0  # covered year, no KGZ-TJK row
    # stated fatalities: 1 + (not stated) + 0 = 1; 2020 has no figure at all → missing, not 0
    assert counts.loc[pd.Period("2019", "Y"), "fatalities"] == 1
    assert pd.isna(counts.loc[pd.Period("2020", "Y"), "fatalities"])
    assert counts.loc[pd.Period("2019", "Y"), "incidents_with_fatality_figure"] == 2


def test_covered_months_follow_the_table():
    months = covered(panel.periods("M", "2021-11", "2022-08"))
    assert months.tolist() == [True, True, True, True, True, True, True, True, False, False]
    with pytest.raises(DataError, match="no covered year for dyad KGZ-UZB"):
        panel.covered_periods(COVERAGE, "KGZ-UZB", panel.periods("A", "2019", "2020"))


def test_category_and_fatality_filters():
    index = panel.periods("A", "2019", "2021")
    fatal = panel.count_incidents(EVENTS, OutcomeSpec(min_fatalities=1), index, covered(index))
    assert fatal["incidents"].tolist() == [1, 0, 1]
    clashes = panel.count_incidents(
        EVENTS, OutcomeSpec(categories=("civilian_clash",)), index, covered(index)
    )
    assert clashes["incidents"].tolist() == [2, 0, 0]


def test_a_counters_own_count_keeps_partial_years_aside():
    claims = pd.DataFrame(
        {
            "claim_id": ["A1", "A2", "A3", "A4"],
            "counter": ["24kg", "24kg", "24kg", "border"],
            "dyad": "KGZ-TJK",
            "incidents_stated": [24, 18, 6, 9],
            "period_kind": ["full_year", "full_year", "partial_year", "full_year"],
            "period_start": ["2010-01-01", "2011-01-01", "2019-01-01", "2020-01-01"],
            "period_end": ["2010-12-31", "2011-12-31", "2019-07-25", "2020-12-31"],
        }
    )
    index = panel.periods("A", "2009", "2020")
    series, notes = panel.stated_counts(claims, OutcomeSpec(), "24kg", index)
    assert series.dropna().to_dict() == {pd.Period("2010", "Y"): 24, pd.Period("2011", "Y"): 18}
    assert pd.isna(series[pd.Period("2019", "Y")]) and "A3: 6 incidents" in notes[0]
    assert "not scaled up" in notes[0]
    with pytest.raises(DataError, match="no count of KGZ-TJK incidents stated by counter 'x'"):
        panel.stated_counts(claims, OutcomeSpec(), "x", index)
    with pytest.raises(ConfigError, match="are yearly"):
        panel.stated_counts(claims, OutcomeSpec(), "24kg", panel.periods("M", "2010-01", "2010-03"))


def test_annual_indicator_is_a_step_over_months_never_interpolated():
    table = indicators([("TJK", "R", "2019", 10.0), ("TJK", "R", "2020", 20.0)])
    index = panel.periods("M", "2019-11", "2021-02")
    series = panel.indicator_series(table, PredictorSpec("R", "TJK"), index)
    assert series.tolist()[:2] == [10.0, 10.0]
    assert series.tolist()[2:14] == [20.0] * 12
    assert series.iloc[14:].isna().all()  # 2021 not published: missing, not carried forward


def test_transform_and_lag_use_the_native_frequency():
    table = indicators(
        [("TJK", "R", str(y), v) for y, v in [(2017, 1.0), (2018, 3.0), (2019, 6.0), (2020, 10.0)]]
    )
    index = panel.periods("A", "2017", "2021")
    diff = panel.indicator_series(table, PredictorSpec("R", "TJK", transform="diff"), index)
    assert diff.tolist()[1:4] == [2.0, 3.0, 4.0] and np.isnan(diff.iloc[0])
    lagged = panel.indicator_series(
        table, PredictorSpec("R", "TJK", transform="diff", lag=1), index
    )
    assert lagged.tolist()[2:5] == [2.0, 3.0, 4.0]
    monthly = panel.indicator_series(
        table, PredictorSpec("R", "TJK", lag=1), panel.periods("M", "2019-01", "2019-02")
    )
    assert monthly.tolist() == [3.0, 3.0]  # lag of one *year* on a monthly panel


def test_gap_in_the_series_is_not_bridged_by_a_difference():
    table = indicators(
        [("TJK", "R", "2016", 1.0), ("TJK", "R", "2018", 5.0), ("TJK", "R", "2019", 6.0)]
    )
    diff = panel.indicator_series(
        table, PredictorSpec("R", "TJK", transform="diff"), panel.periods("A", "2016", "2019")
    )
    assert np.isnan(diff.iloc[2]) and diff.iloc[3] == 1.0


def test_monthly_indicator_on_annual_panel_needs_all_twelve_months():
    rows = [("WLD", "F", f"2019-{m:02d}", float(m)) for m in range(1, 13)]
    rows += [("WLD", "F", f"2020-{m:02d}", 1.0) for m in range(1, 12)]
    series = panel.indicator_series(
        indicators(rows, "M"), PredictorSpec("F", "WLD"), panel.periods("A", "2019", "2020")
    )
    assert series.iloc[0] == pytest.approx(6.5) and np.isnan(series.iloc[1])


def test_build_panel_assembles_outcome_predictors_steps_and_lags():
    table = indicators([("TJK", "R", "2019", 1.0), ("TJK", "R", "2020", 2.0)])
    built = panel.build_panel(
        EVENTS,
        table,
        frequency="A",
        start="2018",
        end="2022",
        predictors=(PredictorSpec("R", "TJK", name="r"),),
        outcome_lags=(1,),
        steps={"after": "2021-06-01"},
        coverage=COVERAGE,
    )
    frame = built.frame
    assert list(frame.index.astype(str)) == ["2018", "2019", "2020", "2021", "2022"]
    assert frame["r"].tolist()[1:3] == [1.0, 2.0] and frame["r"].isna().tolist() == [
        True,
        False,
        False,
        True,
        True,
    ]
    assert frame["incidents_lag1"].tolist()[2:4] == [3, 0]
    assert frame["after"].tolist() == [0, 0, 0, 1, 1]
    assert built.coverage == ("2019", "2021")


def test_steps_switch_on_in_the_period_of_the_date():
    index = panel.periods("M", "2021-10", "2022-01")
    assert panel.step(index, "2021-12-18", "tb2").tolist() == [0, 0, 1, 1]
    assert panel.step(panel.periods("A", "2020", "2022"), "2021-12-18", "tb2").tolist() == [0, 1, 1]


@pytest.mark.parametrize("start, end", [("2022", "2020"), ("20x", "2021")])
def test_bad_windows_are_config_errors(start, end):
    with pytest.raises(ConfigError, match="sample window"):
        panel.periods("A", start, end)


def test_absent_indicator_is_a_data_error():
    with pytest.raises(DataError, match="NOPE for TJK is not in the indicators table"):
        panel.indicator_series(
            indicators([("TJK", "R", "2019", 1.0)]),
            PredictorSpec("NOPE", "TJK"),
            panel.periods("A", "2019", "2019"),
        )


def test_bad_specs():
    with pytest.raises(ConfigError, match="transform"):
        PredictorSpec("R", "TJK", transform="cube")
    with pytest.raises(ConfigError, match="measure"):
        OutcomeSpec(measure="vibes")
