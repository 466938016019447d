"""Small-sample inference: permutation, placebo dates, multiple testing and power.

Calibration is checked the only way it can be: simulate many data sets where the null is
true (or an effect is known) and look at the distribution of the p-values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analysis.errors import ConfigError, ModelError
from analysis.inference import (
    _batch_wald_z,
    _count_quantile,
    asymptotic_pvalue,
    benjamini_hochberg,
    block_permutation_pvalue,
    holm,
    minimum_detectable_effect,
    placebo_date_pvalue,
    seed_from,
    simulated_power,
)
from analysis.models import CountModelSpec, fit_spec

SPEC = CountModelSpec("y", ("x",), family="negbin", cov="nonrobust")


def ar1(rng: np.random.Generator, n: int, rho: float) -> np.ndarray:
    shocks = rng.normal(size=n)
    series = np.empty(n)
    series[0] = shocks[0]
    for t in range(1, n):
        series[t] = rho * series[t - 1] + np.sqrt(1 - rho**2) * shocks[t]
    return series


def panel(
    rng: np.random.Generator,
    n: int = 120,
    *,
    log_irr: float = 0.0,
    rho_x: float = 0.0,
    latent_rho: float | None = None,
    alpha: float = 0.5,
) -> pd.DataFrame:
    """NB2 counts on x; ``latent_rho`` adds an autocorrelated unobserved driver of the counts."""
    x = ar1(rng, n, rho_x)
    latent = ar1(rng, n, latent_rho) if latent_rho is not None else 0.0
    mu = np.exp(0.3 + log_irr * x + latent)
    y = rng.negative_binomial(1 / alpha, 1 / (1 + alpha * mu))
    return pd.DataFrame({"period": pd.period_range("2005-01", periods=n, freq="M"), "y": y, "x": x})


def test_seed_from_is_deterministic():
    assert seed_from("H1/negbin") == seed_from("H1/negbin")
    assert seed_from("H1/negbin") != seed_from("H1/poisson")
    assert 0 <= seed_from("") < 2**64


def test_permutation_pvalues_uniform_under_null():
    rng = np.random.default_rng(seed_from("permutation-null"))
    p = np.array(
        [
            block_permutation_pvalue(
                panel(rng, rho_x=0.8), SPEC, "x", block_length=12, n_perm=99, seed=i
            ).p_value
            for i in range(200)
        ]
    )
    assert stats.kstest(p, "uniform").pvalue > 0.01
    counts, _ = np.histogram(p, bins=5, range=(0, 1))
    assert counts.min() >= 20 and counts.max() <= 60  # 40 expected per bin, sd about 5.7


def test_block_permutation_resists_autocorrelation():
    # Both x and the unobserved driver of y persist: the naive Wald test finds "effects"
    # far too often, the block permutation much less so.
    rng = np.random.default_rng(seed_from("permutation-autocorrelated"))
    naive, permuted = [], []
    for i in range(100):
        data = panel(rng, rho_x=0.9, latent_rho=0.9)
        naive.append(asymptotic_pvalue(fit_spec(data, SPEC), "x") < 0.05)
        permuted.append(
            block_permutation_pvalue(data, SPEC, "x", block_length=12, n_perm=99, seed=i).p_value
            < 0.05
        )
    assert np.mean(naive) > 0.2
    assert np.mean(permuted) <= 0.15


def test_permutation_detects_strong_effect_and_repeats():
    data = panel(np.random.default_rng(1), log_irr=0.6, rho_x=0.5)
    first = block_permutation_pvalue(data, SPEC, "x", block_length=6, n_perm=199, seed=7)
    again = block_permutation_pvalue(data, SPEC, "x", block_length=6, n_perm=199, seed=7)
    assert first.p_value == pytest.approx(1 / 200)
    np.testing.assert_array_equal(first.null_statistics, again.null_statistics)
    assert first.statistic > 3 and first.null_statistics.shape == (199,)
    greater = block_permutation_pvalue(
        data, SPEC, "x", block_length=6, n_perm=199, seed=7, sided="less"
    )
    assert greater.p_value > 0.9  # the wrong direction is not significant


def test_permutation_is_fast_enough():
    # 199 permutations on 200 periods: one null fit plus one matrix product.
    import time

    data = panel(np.random.default_rng(2), n=200)
    spec = CountModelSpec("y", ("x",), trend=True, season="irrigation", time="period")
    start = time.perf_counter()
    block_permutation_pvalue(data, spec, "x", block_length=12, n_perm=199, seed=1)
    assert time.perf_counter() - start < 2.0


def step_panel(rng: np.random.Generator, n: int, break_at: int, log_irr: float) -> pd.DataFrame:
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


def test_placebo_dates_under_null_and_strong_break():
    rng = np.random.default_rng(seed_from("placebo-null"))
    p = np.array(
        [
            placebo_date_pvalue(
                step_panel(rng, 120, int(rng.integers(24, 96)), 0.0), STEP_SPEC, "step"
            ).p_value
            for _ in range(100)
        ]
    )
    assert 0.02 <= np.mean(p < 0.1) <= 0.2
    assert 0.4 <= p.mean() <= 0.6

    strong = placebo_date_pvalue(step_panel(rng, 120, 50, 1.2), STEP_SPEC, "step")
    assert len(strong.placebo) == 120 - 2 * 12 + 1
    assert strong.p_value <= 3 / len(strong.placebo)  # a neighbouring date may tie or beat it
    assert strong.break_period == "2014-03"
    placebo = strong.tidy()
    assert (
        list(placebo.columns) == ["period", "statistic"] and placebo["period"].iloc[0] == "2011-01"
    )
    assert placebo.loc[placebo["period"] == "2014-03", "statistic"].item() == strong.statistic


def test_placebo_rejects_non_step_and_edge_breaks():
    rng = np.random.default_rng(3)
    data = step_panel(rng, 60, 30, 0.5)
    data.loc[40, "step"] = 0.0
    with pytest.raises(ModelError, match="is not a step"):
        placebo_date_pvalue(data, STEP_SPEC, "step")
    with pytest.raises(ConfigError, match="fewer than min_segment=12"):
        placebo_date_pvalue(step_panel(rng, 60, 55, 0.5), STEP_SPEC, "step")


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


def test_batch_irls_matches_statsmodels_glm_with_fixed_alpha():
    rng = np.random.default_rng(4)
    data = panel(rng, n=80, log_irr=0.3)
    X = sm.add_constant(data[["x"]]).to_numpy()
    offset = rng.uniform(-0.5, 0.5, 80)
    Y = np.vstack([data["y"], rng.negative_binomial(2, 0.5, size=80)]).astype(float)
    z, ok = _batch_wald_z(Y, X, offset, 0.7, np.zeros(2), 1)
    family = sm.families.NegativeBinomial(alpha=0.7)
    for row, y in enumerate(Y):
        direct = sm.GLM(y, X, family=family, offset=offset).fit(tol=1e-12)
        assert ok[row]
        assert z[row] == pytest.approx(direct.tvalues[1], abs=1e-6)


@pytest.mark.parametrize("alpha", [0.0, 0.7])
def test_count_draws_equal_scipy_quantiles(alpha):
    rng = np.random.default_rng(5)
    u, mu = rng.random((50, 30)), np.exp(rng.normal(size=30))
    expected = (
        stats.nbinom.ppf(u, 1 / alpha, 1 / (1 + alpha * mu)) if alpha else stats.poisson.ppf(u, mu)
    )
    np.testing.assert_array_equal(_count_quantile(u, mu, alpha), expected)


def test_simulated_power_matches_rejection_rate_of_the_real_test():
    # Known effect: how often does the actual NB Wald test reject over fresh data sets?
    log_irr, n = 0.22, 120
    rng = np.random.default_rng(seed_from("power-check"))
    rejections = [
        asymptotic_pvalue(fit_spec(panel(rng, n, log_irr=log_irr), SPEC), "x") < 0.05
        for _ in range(150)
    ]
    observed = panel(np.random.default_rng(6), n, log_irr=log_irr)
    power = simulated_power(observed, SPEC, "x", np.exp(log_irr), n_sim=1000, seed=1)
    assert 0.3 < np.mean(rejections) < 0.8  # an informative effect, neither 0 nor 1
    assert power == pytest.approx(np.mean(rejections), abs=0.12)
    size = simulated_power(observed, SPEC, "x", 1.0, n_sim=1000, seed=2)
    assert size == pytest.approx(0.05, abs=0.02)


def test_mde_shrinks_with_more_data_and_follows_direction():
    small = panel(np.random.default_rng(7), 60)
    large = panel(np.random.default_rng(7), 240)
    mde_small = minimum_detectable_effect(small, SPEC, "x", n_sim=200, seed=3)
    mde_large = minimum_detectable_effect(large, SPEC, "x", n_sim=200, seed=3)
    assert mde_small.achieved and mde_large.achieved
    assert 1 < mde_large.mde_irr < mde_small.mde_irr
    curve = mde_large.power_curve()
    assert curve.loc[curve["irr"] == mde_large.mde_irr, "power"].item() >= 0.8
    assert curve.loc[curve["irr"] < mde_large.mde_irr, "power"].max() < 0.8
    assert mde_large.mde_irr_per_sd == pytest.approx(
        np.exp(mde_large.mde_log_irr * mde_large.predictor_sd)
    )
    again = minimum_detectable_effect(large, SPEC, "x", n_sim=200, seed=3)
    assert again.mde_irr == mde_large.mde_irr

    lower = minimum_detectable_effect(large, SPEC, "x", n_sim=200, seed=3, sided="less")
    assert lower.mde_irr < 1


def test_mde_reports_unreachable_power():
    tiny = panel(np.random.default_rng(8), 20)
    result = minimum_detectable_effect(tiny, SPEC, "x", n_sim=50, seed=1, max_irr_per_sd=1.05)
    assert not result.achieved and np.isnan(result.mde_irr)


def test_zinb_and_unknown_terms_are_refused():
    data = panel(np.random.default_rng(9))
    with pytest.raises(ConfigError, match="support family 'poisson' or 'negbin'"):
        block_permutation_pvalue(
            data, CountModelSpec("y", ("x",), family="zinb"), "x", block_length=5, seed=1
        )
    with pytest.raises(ConfigError, match="'z' is not a term"):
        simulated_power(data, SPEC, "z", 1.5, seed=1)
    with pytest.raises(ConfigError, match="sided"):
        asymptotic_pvalue(fit_spec(data, SPEC), "x", sided="up")


def test_asymptotic_pvalue_by_side():
    model = fit_spec(panel(np.random.default_rng(10), log_irr=0.3), SPEC)
    z = model.term("x")["statistic"]
    assert z > 0
    two = asymptotic_pvalue(model, "x")
    assert two == pytest.approx(model.term("x")["p_value"])
    assert asymptotic_pvalue(model, "x", "greater") == pytest.approx(two / 2)
    assert asymptotic_pvalue(model, "x", "less") == pytest.approx(1 - two / 2)
