"""Small-sample tests: permutation, within-stratum permutation, placebo dates, inverted
intervals, multiplicity.

Calibration is checked the only way it can be: simulate many data sets where the null is true
(or an effect is known) and look at the distribution of the p-values.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import SEASON
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analysis.errors import ConfigError, ModelError
from analysis.inference.calibration import offset_interval
from analysis.inference.small_sample import (
    BlockPermutation,
    KnownBreak,
    PlaceboDates,
    Problem,
    StratifiedPermutation,
    benjamini_hochberg,
    block_orders,
    holm,
    invert,
    seed_from,
    stratum_orders,
)
from analysis.models.design import build_design
from analysis.models.fit import fit_spec
from analysis.models.spec import CountModelSpec

SPEC = CountModelSpec("y", ("x",), family="negbin", cov="nonrobust", time="period")


def ar1(rng: np.random.Generator, n: int, rho: float) -> np.ndarray:
    shocks = rng.normal(size=n)
    series = np.empty(n)
    series[0] = shocks[0]
    for t in range(1, n):
        series[t] = rho * series[t - 1] + np.sqrt(1 - rho**2) * shocks[t]
    return series


def panel(rng, n=120, *, log_irr=0.0, rho_x=0.0, latent_rho=None, alpha=0.5) -> pd.DataFrame:
    """NB2 counts on x; ``latent_rho`` adds an autocorrelated unobserved driver of the counts."""
    x = ar1(rng, n, rho_x)
    latent = ar1(rng, n, latent_rho) if latent_rho is not None else 0.0
    mu = np.exp(0.3 + log_irr * x + latent)
    y = rng.negative_binomial(1 / alpha, 1 / (1 + alpha * mu))
    return pd.DataFrame({"period": pd.period_range("2005-01", periods=n, freq="M"), "y": y, "x": x})


def permutation(data, spec=SPEC, *, n_perm=99, seed=0, sided="two-sided", length=12):
    problem = Problem.from_design(build_design(data, spec), spec.predictors[0])
    return BlockPermutation(problem, n_perm=n_perm, seed=seed, sided=sided, length=length)


def test_seed_from_is_deterministic():
    assert seed_from("H1/negbin") == seed_from("H1/negbin")
    assert seed_from("H1/negbin") != seed_from("H1/poisson")
    assert 0 <= seed_from("") < 2**64


def test_score_statistic_is_the_rao_score_test():
    # Poisson null without x: the score test of adding x, computed the textbook way.
    data = panel(np.random.default_rng(8), n=150, log_irr=0.2, alpha=1e-6)
    spec = CountModelSpec("y", ("x",), family="poisson", cov="nonrobust", time="period")
    problem = Problem.from_design(build_design(data, spec), "x")
    ours = problem.null_fits(problem.y[None]).score_z(problem.x[:, None])[0, 0]
    null = sm.GLM(data["y"], np.ones((150, 1)), family=sm.families.Poisson()).fit()
    mu = null.mu
    x_tilde = data["x"] - np.sum(mu * data["x"]) / np.sum(mu)
    textbook = np.sum(x_tilde * (data["y"] - mu)) / np.sqrt(np.sum(mu * x_tilde**2))
    assert ours == pytest.approx(textbook, rel=1e-6)


@pytest.mark.slow
def test_permutation_pvalues_uniform_under_null():
    rng = np.random.default_rng(seed_from("permutation-null"))
    p = np.array([permutation(panel(rng, rho_x=0.8), seed=i).result().p_value for i in range(200)])
    assert stats.kstest(p, "uniform").pvalue > 0.01
    counts, _ = np.histogram(p, bins=5, range=(0, 1))
    assert counts.min() >= 20 and counts.max() <= 60  # 40 expected per bin, sd about 5.7


@pytest.mark.slow
def test_block_permutation_resists_autocorrelation():
    # Both x and the unobserved driver of y persist: the naive Wald test finds "effects"
    # far too often, the block permutation much less so.
    rng = np.random.default_rng(seed_from("permutation-autocorrelated"))
    naive, permuted = [], []
    for i in range(100):
        data = panel(rng, rho_x=0.9, latent_rho=0.9)
        naive.append(fit_spec(data, SPEC).term("x")["p_value"] < 0.05)
        permuted.append(permutation(data, seed=i).result().p_value < 0.05)
    assert np.mean(naive) > 0.2
    assert np.mean(permuted) <= 0.15


def test_permutation_detects_strong_effect_repeats_and_shows_its_error():
    data = panel(np.random.default_rng(1), log_irr=0.6, rho_x=0.5)
    first = permutation(data, n_perm=199, seed=7, length=6).result()
    again = permutation(data, n_perm=199, seed=7, length=6).result()
    assert first.p_value == pytest.approx(1 / 200)
    assert first.p_mc_se == pytest.approx(math.sqrt(first.p_value * (1 - first.p_value) / 199))
    np.testing.assert_array_equal(first.null_statistics, again.null_statistics)
    assert first.statistic > 3 and first.null_statistics.shape == (199,)
    assert permutation(data, n_perm=199, seed=7, sided="less").result().p_value > 0.9


def _windows_stay_together(order, positions, length) -> bool:
    """Some rotation of the calendar cuts it into windows whose rows are adjacent in order."""
    span = positions[-1] - positions[0] + 1
    where = {row: i for i, row in enumerate(order)}
    for shift in range(span):
        windows = ((positions - positions[0] + shift) % span) // length
        if all(
            np.ptp([where[r] for r in np.flatnonzero(windows == w)]) == (windows == w).sum() - 1
            for w in np.unique(windows)
        ):
            return True
    return False


def test_blocks_follow_the_calendar_across_gaps():
    positions = np.array([0, 1, 2, 3, 10, 11, 12, 13, 14, 30])
    orders = block_orders(positions, 4, 50, np.random.default_rng(0))
    assert all(np.array_equal(np.sort(o), np.arange(10)) for o in orders)
    assert all(_windows_stay_together(o, positions, 4) for o in orders)
    assert len({tuple(o) for o in orders}) > 10  # rotations and shuffles vary
    rotations = block_orders(np.arange(12), 12, 20, np.random.default_rng(1))
    assert all(np.all(np.diff(o) % 12 == 1) for o in rotations)  # pure circular shifts


@pytest.mark.slow
def test_stratified_orders_stay_within_strata_and_the_test_is_exact():
    strata = np.repeat(np.arange(10), 6)
    orders = stratum_orders(strata, 30, np.random.default_rng(2))
    assert all(np.array_equal(strata[o], strata) for o in orders)
    # Months independent given their (year, season) level: the within-stratum test holds size.
    rng = np.random.default_rng(seed_from("stratified-null"))
    index = pd.period_range("2010-01", periods=96, freq="M", name="period")
    level = np.repeat(rng.gamma(2, 0.8, 16), 6)
    season_order = np.argsort(
        np.where(np.isin(index.month, range(4, 10)), 1, 0) + 2 * (index.year - 2010), kind="stable"
    )
    rejections = 0
    for i in range(120):
        y = np.empty(96)
        y[season_order] = rng.poisson(level)
        data = pd.DataFrame({"y": y, "y_lag1": pd.Series(y).shift(1).to_numpy()}, index=index)
        spec = CountModelSpec(
            "y",
            ("y_lag1",),
            family="poisson",
            cov="nonrobust",
            period_effects="year_season",
            season_months=SEASON,
            dropna=True,
        )
        problem = Problem.from_design(build_design(data, spec), "y_lag1")
        p = StratifiedPermutation(problem, n_perm=99, seed=i, sided="two-sided").result().p_value
        rejections += p <= 0.05
    assert rejections / 120 <= 0.05 + 2.5 * math.sqrt(0.05 * 0.95 / 120)


def test_stratified_permutation_needs_the_strata_alone():
    data = panel(np.random.default_rng(3), n=96).set_index("period")
    data["y_lag1"] = data["y"].shift(1)
    spec = CountModelSpec("y", ("y_lag1",), controls=("x",), period_effects="year", dropna=True)
    problem = Problem.from_design(build_design(data, spec), "y_lag1")
    with pytest.raises(ConfigError, match="strata alone"):
        StratifiedPermutation(problem, n_perm=9, seed=0, sided="two-sided")


def step_panel(rng, n, break_at, log_irr) -> pd.DataFrame:
    step = (np.arange(n) >= break_at).astype(float)
    mu = np.exp(0.5 + log_irr * step)
    return pd.DataFrame(
        {
            "period": pd.period_range("2010-01", periods=n, freq="M"),
            "y": rng.negative_binomial(2, 2 / (2 + mu)),
            "step": step,
        }
    )


STEP_SPEC = CountModelSpec("y", ("step",), time="period", cov="nonrobust")


def placebo(data, **options):
    problem = Problem.from_design(build_design(data, STEP_SPEC), "step")
    return PlaceboDates(
        problem, min_segment=options.pop("min_segment", 12), sided="two-sided", **options
    )


@pytest.mark.slow
def test_placebo_dates_under_null_and_strong_break():
    rng = np.random.default_rng(seed_from("placebo-null"))
    p = np.array(
        [
            placebo(step_panel(rng, 120, int(rng.integers(24, 96)), 0.0)).result().p_value
            for _ in range(100)
        ]
    )
    assert 0.02 <= np.mean(p < 0.1) <= 0.2
    assert 0.4 <= p.mean() <= 0.6
    strong = placebo(step_panel(rng, 120, 50, 1.2)).result()
    assert len(strong.placebo) == 120 - 2 * 12 + 1
    assert strong.p_value <= 3 / len(strong.placebo)  # a neighbouring date may tie or beat it
    assert strong.details["break_period"] == "2014-03" and strong.p_mc_se is None
    assert strong.min_attainable_p == pytest.approx(1 / len(strong.placebo))


def test_placebo_dates_avoid_known_breaks_and_refuse_a_step_inside_one():
    data = step_panel(np.random.default_rng(5), 120, 50, 0.0)
    war = KnownBreak("war", "2016-01-01", 6, "a war")
    test = placebo(data, breaks=[war]).result()
    dates = set(test.placebo["period"])
    assert "2015-07" not in dates and "2016-07" not in dates  # within six months of the war
    assert "2015-06" in dates and "2016-08" in dates
    assert len(test.placebo) == 120 - 2 * 12 + 1 - 13
    assert "excluding war (±6 months)" in test.label
    with pytest.raises(ConfigError, match="inside the registered window of \\['war'\\]"):
        placebo(data, breaks=[KnownBreak("war", "2014-05-01", 6, "")])


def test_placebo_rejects_non_step_and_edge_breaks():
    rng = np.random.default_rng(3)
    data = step_panel(rng, 60, 30, 0.5)
    data.loc[40, "step"] = 0.0
    with pytest.raises(ModelError, match="is not a step"):
        placebo(data)
    with pytest.raises(ConfigError, match="fewer than min_segment=12"):
        placebo(step_panel(rng, 60, 55, 0.5))


def test_inverted_permutation_interval_agrees_with_its_test_and_covers_the_truth():
    data = panel(np.random.default_rng(11), n=200, log_irr=0.3, rho_x=0.3)
    procedure = permutation(data, n_perm=499, seed=3)
    model = fit_spec(data, SPEC)
    estimate, se = model.term("x")["estimate"], model.term("x")["std_error"]
    interval = offset_interval(procedure, estimate, se)
    assert interval.low < 0.3 < interval.high and interval.bounded
    outside, inside = procedure.pvalues_at(np.array([interval.low - 0.05, interval.low + 0.05]))
    assert outside <= 0.05 < inside
    assert abs(interval.low - model.term("x")["ci_low"]) < 0.1  # near the Wald interval at n=200


def test_a_batched_inversion_finds_the_bounds_bisection_finds():
    """Trying several values per call (a batched fit) locates each bound as finely as ten
    bisections and at the same place, up to that precision; bisection is points=1."""
    data = panel(np.random.default_rng(11), n=200, log_irr=0.3, rho_x=0.3)
    procedure = permutation(data, n_perm=199, seed=3)
    model = fit_spec(data, SPEC)
    estimate, se = model.term("x")["estimate"], model.term("x")["std_error"]
    calls = []

    def counted(shifts):
        calls.append(len(shifts))
        return procedure.pvalues_at(shifts)

    bisected = invert(counted, estimate, se, method="m")
    sequential = len(calls)
    batched = invert(counted, estimate, se, method="m", points=3, rounds=5)
    assert len(calls) - sequential < sequential / 2 and max(calls) > 2
    width = 8 * se / 1024  # the bracket is at most 8 standard errors wide
    assert abs(batched.low - bisected.low) < width and abs(batched.high - bisected.high) < width


@pytest.mark.parametrize("seed", [0, 1])
def test_holm_and_bh_match_statsmodels(seed):
    rng = np.random.default_rng(seed)
    p = np.r_[rng.uniform(0, 0.06, 6), rng.uniform(0, 1, 6), [0.01, 0.01]]  # with ties
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], atol=1e-12)
    np.testing.assert_allclose(
        benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1], atol=1e-12
    )


def test_adjustments_keep_series_index_and_reject_bad_values():
    series = pd.Series([0.01, 0.04, 0.03], index=["H1", "H2", "H3"])
    assert list(holm(series).index) == ["H1", "H2", "H3"]
    assert holm(series)["H1"] == pytest.approx(0.03)
    with pytest.raises(ModelError, match="position 1"):
        benjamini_hochberg([0.1, np.nan])


def test_zinb_and_the_constant_are_refused():
    data = panel(np.random.default_rng(2))
    with pytest.raises(ConfigError, match="cannot fit family 'zinb' \\(use 'negbin'"):
        Problem.from_design(
            build_design(data, CountModelSpec("y", ("x",), family="zinb", time="period")), "x"
        )
    with pytest.raises(ConfigError, match="not a term"):
        Problem.from_design(build_design(data, SPEC), "z")
