"""coverage.py on frames small enough to work out by hand: the shares per year, the range each
sample year is given, the plausible ratios and the tipping ratio, the detection-path bounds
(a Poisson step model, whose estimate with offsets has a closed form) and each kind's control."""

import math

import numpy as np
import pandas as pd
import pytest

from analysis.inference import coverage
from analysis.models.design import build_design
from analysis.models.spec import CountModelSpec
from analysis.results import EffectScale

SWITCH = EffectScale("IRR", "switch")


def test_shares_by_year_gives_each_years_lowest_and_highest_share_and_their_basis():
    shares = pd.DataFrame(
        {
            "dyad": ["KGZ-TJK", "KGZ-TJK", "KGZ-TJK", "KGZ-UZB", "KGZ-TJK"],
            "year": [2010, 2010, 2012, 2010, 2013],
            "share": [0.5, 0.25, 1.0, 0.1, np.nan],
            "counter": ["A", "B", "A", "A", "B"],
            "catalogued_same_period": [2, 1, 3, 1, 0],
            "stated": [4, 4, 3, 10, 0],
            "period_kind": ["year", "year", "year", "year", "month"],
        }
    )
    table = coverage.shares_by_year(shares, "KGZ-TJK")
    assert table["year"].tolist() == [2010, 2012]  # other dyads and missing shares left out
    assert table["low"].tolist() == [0.25, 1.0] and table["high"].tolist() == [0.5, 1.0]
    assert table["basis"].tolist() == ["A 2/4 (year); B 1/4 (year)", "A 3/3 (year)"]
    assert coverage.shares_by_year(shares, "TJK-UZB").empty


def known(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["year", "low", "high", "basis"])


def test_years_without_a_count_get_the_observed_range_from_zero_where_nothing_is_catalogued():
    stated = known((2000, 0.5, 0.5, "A"), (2002, 0.25, 1.0, "B"))
    ranges = coverage.share_ranges(stated, [2000, 2001, 2002, 2003], {2001: 3, 2003: 0})
    assert ranges.to_dict("records") == [
        {"year": 2000, "low": 0.5, "high": 0.5, "known": True, "basis": "A"},
        {"year": 2001, "low": 0.25, "high": 1.0, "known": False,
         "basis": "no stated count: observed range"},
        {"year": 2002, "low": 0.25, "high": 1.0, "known": True, "basis": "B"},
        {"year": 2003, "low": 0.0, "high": 1.0, "known": False,
         "basis": "no stated count: observed range"},
    ]  # fmt: skip


def test_without_any_stated_count_every_range_is_unknown():
    ranges = coverage.share_ranges(known(), [2000, 2001], {2000: 1})
    assert ranges["low"].isna().tolist() == [True, False] and ranges.loc[1, "low"] == 0.0
    assert ranges["high"].isna().all() and not ranges["known"].any()


# A step panel: before = 2000-2003 (20 events), after = 2004-2007 (24 events). With a log-share
# offset s_t, the Poisson estimate of the step is log(sum_after y / sum_after s) - log(sum_before
# y / sum_before s): it rises with the shares before and falls with the shares after, so its
# extremes over the box of shares are at two corners, worked out below.
STEP_PANEL = pd.DataFrame(
    {"y": [4, 6, 2, 8, 9, 3, 5, 7], "step": [0.0] * 4 + [1.0] * 4},
    index=pd.period_range("2000", periods=8, freq="Y", name="year"),
)
RANGES = pd.DataFrame(
    {
        "year": list(range(2000, 2008)),
        "low": [0.5, 0.25, 0.5, 0.25, 0.5, 0.25, 0.5, 0.25],
        "high": [0.5, 0.5, 0.5, 0.5, 1.0, 0.5, 0.5, 0.5],
        "known": [True, False, False, False, True, False, False, False],
        "basis": "b",
    }
)


@pytest.fixture(scope="module")
def design():
    return build_design(STEP_PANEL, CountModelSpec("y", ("step",), family="poisson"))


def test_path_bounds_are_the_corners_of_the_share_box(design):
    low, high = coverage.path_bounds(design, "step", RANGES, SWITCH)
    # lowest: the shares before at their low (sum 1.5), after at their high (sum 2.5)
    assert low == pytest.approx((24 / 2.5) / (20 / 1.5), rel=1e-6)  # 0.72
    # highest: before at their high (sum 2.0), after at their low (sum 1.5)
    assert high == pytest.approx((24 / 1.5) / (20 / 2.0), rel=1e-6)  # 1.6


def test_no_path_bounds_when_no_years_share_is_uncertain(design):
    fixed = RANGES.assign(high=RANGES["low"])
    assert coverage.path_bounds(design, "step", fixed, SWITCH) is None


def annual_check(design, ranges: pd.DataFrame | None, log_effect: float, **options):
    arguments = {"series_id": "s", "kind": "catalogue", "frequency": "A", "control": None,
                 "ranges": ranges, "design": design, "term": "step", "scale": SWITCH,
                 "log_effect": log_effect, "description": "d"}  # fmt: skip
    return coverage.check(**(arguments | options))


def test_annual_catalogue_compares_the_tipping_ratio_with_the_ratios_the_shares_show(design):
    # the stated years' shares run from 0.5 to 1.0: detection can differ up to x2 either way
    inside = annual_check(design, RANGES, math.log(1.5))
    assert inside.control == "none (annual catalogue)"
    assert inside.tipping_ratio == pytest.approx(1.5)
    assert inside.plausible_range == (0.5, 2.0) and inside.could_produce is True
    assert inside.note == (
        "detection shares run from 0.5 to 1 in the years with a stated count, so detection "
        "can differ up to ×2 between years"
    )
    assert inside.bounds == pytest.approx((0.72, 1.6), rel=1e-6)
    outside = annual_check(design, RANGES, math.log(3.0))
    assert outside.could_produce is False


def test_a_stated_share_of_zero_lets_coverage_produce_any_estimate(design):
    result = annual_check(design, RANGES.assign(low=[0.0] + [0.25] * 7), math.log(50.0))
    assert result.plausible_range == (0.0, math.inf) and result.could_produce is True
    assert result.note.endswith("with a year at 0, coverage alone could produce any estimate")


def test_one_or_no_stated_year_cannot_assess_coverage(design):
    one = annual_check(design, RANGES.assign(known=[True] + [False] * 7), 0.1)
    assert one.plausible_range is None and one.could_produce is None
    assert one.note.startswith("only 2000 has a stated count")
    none = annual_check(design, None, 0.1)
    assert none.plausible_range is None and none.bounds is None and none.shares.empty
    assert none.note == "no year of the sample has a stated count: coverage cannot be assessed"


@pytest.mark.parametrize(
    ("kind", "control", "label", "shows_shares"),
    [
        ("stated", None, "one counter's own count", False),
        ("ucdp", None, "complete by design", False),
        ("catalogue", "year", "year effects", True),
        ("catalogue", "year_season", "year_season effects", True),
        ("catalogue_adjusted", None, "detection shares as exposure", True),
    ],
)
def test_a_control_that_makes_yearly_coverage_irrelevant_is_named_without_bounds(
    design, kind, control, label, shows_shares
):
    result = annual_check(design, RANGES, math.log(1.5), kind=kind, control=control)
    assert result.control == label and result.tipping_ratio == pytest.approx(1.5)
    assert result.bounds is None and result.plausible_range is None
    assert result.could_produce is None
    assert len(result.shares) == (8 if shows_shares else 0)
    if kind == "catalogue":
        absorbed, within = coverage.PERIOD_WORDS[control]
        assert result.note.startswith(f"{absorbed} absorb every difference in coverage")
        assert f"×1.50 between the compared months within {within[1]}" in result.note
