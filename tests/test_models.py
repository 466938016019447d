"""Count models on simulated panels with known parameters.

Every data set here is simulated in the test from a seeded generator: the point is to know
the truth and check the estimator recovers it (and that a wrong model visibly does not).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import SEASON
from statsmodels.discrete._diagnostics_count import test_poisson_zeros as sm_poisson_zeros
from statsmodels.discrete.discrete_model import NegativeBinomial

from analysis import models
from analysis.errors import ConfigError, ModelError
from analysis.models.clogit import ConditionalLogitBatch, ConditionalLogitLikelihood
from analysis.models.design import build_design
from analysis.models.fit import fit_count_model
from analysis.models.spec import CountModelSpec, default_hac_lags

TRUE_LOG_IRR = 0.4
REPS = 200


def simulate_panel(
    rng: np.random.Generator,
    n: int = 150,
    *,
    alpha: float = 0.0,
    log_irr: float = TRUE_LOG_IRR,
    intercept: float = 0.0,
    zero_inflation: float = 0.0,
) -> pd.DataFrame:
    """Monthly panel with an AR(1) predictor and NB2 (alpha > 0) or Poisson counts."""
    x = np.empty(n)
    x[0] = rng.normal()
    for t in range(1, n):
        x[t] = 0.5 * x[t - 1] + rng.normal() * np.sqrt(1 - 0.25)
    exposure = rng.uniform(0.5, 2.0, n)
    mu = exposure * np.exp(intercept + log_irr * x)
    y = rng.negative_binomial(1 / alpha, 1 / (1 + alpha * mu)) if alpha > 0 else rng.poisson(mu)
    y = np.where(rng.random(n) < zero_inflation, 0, y)
    return pd.DataFrame(
        {
            "period": pd.period_range("2000-01", periods=n, freq="M"),
            "incidents": y,
            "x": x,
            "other": rng.normal(size=n),
            "exposure": exposure,
        }
    )


def coverage(family: str, cov: str, alpha: float, seed: int) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(REPS):
        data = simulate_panel(rng, alpha=alpha)
        row = fit_count_model(
            data, "incidents", ["x"], family=family, cov=cov, exposure="exposure", time="period"
        ).term("x")
        hits += row["ci_low"] <= TRUE_LOG_IRR <= row["ci_high"]
    return hits / REPS


# A correct 95% interval covers in 200 replications with probability 0.95; the count lies in
# [180, 198] (0.90-0.99) with probability > 0.999, so the band only fails when something is wrong.
@pytest.mark.slow
def test_poisson_ci_covers_true_irr():
    assert 0.90 <= coverage("poisson", "nonrobust", 0.0, seed=11) <= 0.99


@pytest.mark.slow
def test_negbin_hac_ci_covers_true_irr():
    assert 0.90 <= coverage("negbin", "hac", 1.5, seed=12) <= 0.99


@pytest.mark.slow
def test_poisson_on_overdispersed_data_undercovers():
    # The same check fails for a wrong model: Poisson, model-based SEs, NB2 data (alpha = 2).
    assert coverage("poisson", "nonrobust", 2.0, seed=13) < 0.85


def test_estimates_recover_irr_and_alpha():
    data = simulate_panel(np.random.default_rng(1), n=3000, alpha=0.7, intercept=0.5)
    result = fit_count_model(data, "incidents", ["x"], family="negbin", exposure="exposure")
    assert result.term("x")["ratio"] == pytest.approx(np.exp(TRUE_LOG_IRR), rel=0.05)
    assert result.dispersion == pytest.approx(0.7, abs=0.1)  # estimated, not fixed at 1
    assert result.converged and not result.warnings
    assert result.overdispersion.p_value < 1e-6


def test_poisson_data_show_no_overdispersion():
    data = simulate_panel(np.random.default_rng(2), n=400, intercept=0.5)
    result = fit_count_model(data, "incidents", ["x"], family="poisson", exposure="exposure")
    assert result.overdispersion.p_value > 0.05
    assert result.excess_zeros.p_value > 0.05


def _controls_design(data: pd.DataFrame) -> pd.DataFrame:
    """The design fit_count_model should build for trend + irrigation season, by hand."""
    months = data["period"].dt.month
    return pd.DataFrame(
        {
            "const": 1.0,
            "x": data["x"],
            "other": data["other"],
            "trend": np.arange(len(data), dtype=float),
            "irrigation_season": months.between(4, 9).astype(float),
        }
    )


@pytest.mark.parametrize("cov", ["nonrobust", "hac"])
def test_agrees_with_direct_statsmodels_fit(cov):
    data = simulate_panel(np.random.default_rng(3), n=120, alpha=0.8)
    shuffled = data.sample(frac=1.0, random_state=0)  # the design must re-sort by period
    options = {
        "controls": ("other",),
        "trend": True,
        "season": "irrigation",
        "season_months": SEASON,
        "exposure": "exposure",
        "time": "period",
        "cov": cov,
        "hac_lags": 3,
    }
    X = _controls_design(data)
    offset = np.log(data["exposure"].to_numpy())
    fit_kw = {"cov_type": "HAC", "cov_kwds": {"maxlags": 3}} if cov == "hac" else {}

    poisson = fit_count_model(shuffled, "incidents", ["x"], family="poisson", **options)
    direct = sm.GLM(data["incidents"], X, family=sm.families.Poisson(), offset=offset).fit(**fit_kw)
    _assert_same(poisson, direct)

    negbin = fit_count_model(shuffled, "incidents", ["x"], family="negbin", **options)
    direct = NegativeBinomial(data["incidents"], X, loglike_method="nb2", offset=offset).fit(
        method="newton", maxiter=100, disp=0, **fit_kw
    )
    _assert_same(negbin, direct)
    assert negbin.dispersion == pytest.approx(direct.params["alpha"], abs=1e-6)
    assert negbin.dispersion_se == pytest.approx(direct.bse["alpha"], abs=1e-6)


def _assert_same(result, direct) -> None:
    table = result.tidy()
    names = list(table.index)
    np.testing.assert_allclose(table["estimate"], direct.params[names], atol=1e-6)
    np.testing.assert_allclose(table["std_error"], direct.bse[names], atol=1e-6)
    np.testing.assert_allclose(table["p_value"], direct.pvalues[names], atol=1e-6)
    ci = direct.conf_int(0.05).loc[names]
    np.testing.assert_allclose(table[["ci_low", "ci_high"]], ci, atol=1e-6)
    np.testing.assert_allclose(table["ratio"], np.exp(direct.params[names]), rtol=1e-6)
    assert result.loglik == pytest.approx(direct.llf, abs=1e-6)
    assert result.aic == pytest.approx(-2 * direct.llf + 2 * len(direct.params), abs=1e-6)


def test_cluster_covariance_agrees_with_statsmodels():
    data = simulate_panel(np.random.default_rng(4), n=120)
    data["year"] = data["period"].dt.year
    result = fit_count_model(
        data, "incidents", ["x"], family="poisson", cov="cluster", cluster="year"
    )
    X = sm.add_constant(data[["x"]])
    direct = sm.GLM(data["incidents"], X, family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(data["year"])[0]}
    )
    np.testing.assert_allclose(result.tidy()["std_error"], direct.bse, atol=1e-6)
    assert "10 clusters" in result.cov_label


def test_lr_and_wald_tests_and_model_facts():
    data = simulate_panel(np.random.default_rng(5), n=200, alpha=0.5)
    result = fit_count_model(data, "incidents", ["x", "other"], family="negbin", time="period")
    restricted = NegativeBinomial(data["incidents"], np.ones(200), loglike_method="nb2").fit(
        method="newton", disp=0
    )
    assert result.lr_test.statistic == pytest.approx(2 * (result.loglik - restricted.llf), abs=1e-5)
    assert result.lr_test.df == 2 and result.wald_test.df == 2
    assert result.lr_test.p_value < 0.001 and result.wald_test.p_value < 0.001
    assert result.nobs == 200 and result.events == data["incidents"].sum()
    assert result.zeros_share == pytest.approx((data["incidents"] == 0).mean())
    assert result.n_params == 4  # const, x, other, alpha
    assert result.cov_label.startswith(
        f"HAC (Newey-West, Bartlett kernel, {default_hac_lags(200)} lags"
    )
    assert result.sample["period_start"] == "2000-01" and result.sample["period_end"] == "2016-08"


def test_default_hac_lags_rule_of_thumb():
    assert [default_hac_lags(t) for t in (50, 100, 200, 1000)] == [3, 4, 4, 6]


def test_excess_zero_test_agrees_with_statsmodels_and_detects_inflation():
    # Same numerator as statsmodels' test_poisson_zeros, variance estimated empirically: the
    # two agree when the Poisson model holds and n is large.
    data = simulate_panel(np.random.default_rng(6), n=3000)
    result = fit_count_model(
        data, "incidents", ["x"], family="poisson", cov="nonrobust", exposure="exposure"
    )
    X, offset = sm.add_constant(data[["x"]]), np.log(data["exposure"])
    direct = sm.Poisson(data["incidents"], X, offset=offset).fit(disp=0)
    assert result.excess_zeros.statistic == pytest.approx(
        sm_poisson_zeros(direct).statistic, abs=0.05
    )
    inflated = simulate_panel(np.random.default_rng(6), n=150, zero_inflation=0.3, intercept=0.7)
    result = fit_count_model(inflated, "incidents", ["x"], family="poisson", cov="nonrobust")
    assert result.excess_zeros.p_value < 0.001


@pytest.mark.slow
def test_excess_zero_test_holds_its_size_under_nb():
    rng = np.random.default_rng(18)
    z = np.array(
        [
            fit_count_model(
                simulate_panel(rng, alpha=0.8, intercept=0.3),
                "incidents",
                ["x"],
                exposure="exposure",
                cov="nonrobust",
            ).excess_zeros.statistic
            for _ in range(150)
        ]
    )
    assert 0.85 < z.std() < 1.15
    assert np.mean(z > 1.645) < 0.1  # nominal 0.05


def test_zinb_fitted_when_zeros_are_in_excess():
    data = simulate_panel(
        np.random.default_rng(7), n=300, alpha=0.3, intercept=1.0, zero_inflation=0.4
    )
    result = fit_count_model(data, "incidents", ["x"], family="zinb", time="period")
    assert result.converged
    assert result.vuong.p_value < 0.05
    table = result.tidy()
    assert "inflate_const" in table.index and np.isnan(table.loc["inflate_const", "ratio"])
    assert table.loc["x", "ratio"] == pytest.approx(np.exp(TRUE_LOG_IRR), rel=0.2)
    inflate = 1 / (1 + np.exp(-table.loc["inflate_const", "estimate"]))
    assert inflate == pytest.approx(0.4, abs=0.1)


def test_zinb_refused_without_excess_zeros():
    data = simulate_panel(np.random.default_rng(8), n=200, alpha=0.5, intercept=0.5)
    with pytest.raises(ModelError, match="zero-inflated NB is not supported"):
        fit_count_model(data, "incidents", ["x"], family="zinb")


def test_trend_and_season_terms():
    data = simulate_panel(np.random.default_rng(9), n=48)
    design = build_design(
        data, CountModelSpec("incidents", ("x",), trend=True, season="month", time="period")
    )
    assert list(design.X.columns) == [
        "const",
        "x",
        "trend",
        *(f"month_{m:02d}" for m in range(2, 13)),
    ]
    assert design.X["month_05"].sum() == 4
    irrigation = build_design(
        data,
        CountModelSpec(
            "incidents", ("x",), season="irrigation", season_months=SEASON, time="period"
        ),
    )
    assert irrigation.X["irrigation_season"].sum() == 24  # April to September of 4 years


def test_dropna_counts_rows_and_keeps_gaps():
    data = simulate_panel(np.random.default_rng(10), n=60)
    data.loc[[5, 6], "x"] = np.nan
    data.loc[[6, 9], "other"] = np.nan
    spec = CountModelSpec("incidents", ("x", "other"), trend=True, time="period", dropna=True)
    design = build_design(data, spec)
    assert design.sample["rows_dropped"] == 3
    assert design.sample["dropped_by_reason"] == {"missing 'x'": 2, "missing 'other'": 1}
    assert design.sample["gaps"] == 3
    assert design.X["trend"].iloc[5] == 7.0  # the trend counts periods, not surviving rows
    with pytest.raises(ModelError, match=r"3 of 60 rows have missing values.*'x': 2, 'other': 2"):
        build_design(data, dataclasses.replace(spec, dropna=False))


def test_nonconvergence_is_reported(monkeypatch):
    class OneStep(NegativeBinomial):
        def fit(self, *args, **kwargs):
            return super().fit(*args, **{**kwargs, "maxiter": 1})

    monkeypatch.setattr(models.families, "NegativeBinomial", OneStep)
    data = simulate_panel(np.random.default_rng(14), n=100, alpha=1.0)
    result = fit_count_model(data, "incidents", ["x"], family="negbin")
    assert not result.converged
    assert "negbin fit did not converge" in result.warnings[0]
    assert "Converged: NO" in result.summary


@pytest.fixture
def panel() -> pd.DataFrame:
    return simulate_panel(np.random.default_rng(15), n=60, alpha=0.5, intercept=0.5)


@pytest.mark.parametrize(
    ("change", "predictors", "message"),
    [
        (lambda d: d.assign(incidents=0), ["x"], "'incidents' is zero in all 60 rows"),
        (lambda d: d.assign(incidents=-d["incidents"]), ["x"], "non-negative whole counts"),
        (lambda d: d.assign(c=3.0), ["x", "c"], "predictor 'c' is constant"),
        (
            lambda d: d.assign(x2=2 * d["x"] + 1),
            ["x", "x2"],
            r"'x2' is a linear combination of \['const', 'x'\]",
        ),
        (lambda d: d.head(7), ["x"], "only 7 usable rows for 3 parameters; need at least 8"),
        (
            lambda d: d.assign(x=d["x"].where(d.index != 3)),
            ["x"],
            "1 of 60 rows have missing values",
        ),
        (lambda d: d.assign(label="a"), ["label"], "'label' is not numeric"),
        (lambda d: d.assign(exposure=0.0), ["x"], "exposure column 'exposure' must be positive"),
        (lambda d: d.assign(period=d["period"].iloc[0]), ["x"], "repeats periods"),
        (
            lambda d: d.assign(dummy=(d["incidents"] == 0).astype(float)),
            ["dummy"],
            "zero in every row where 'dummy' == 1",
        ),
        (lambda d: d.drop(columns="x"), ["x"], r"columns not in the panel: \['x'\]"),
    ],
)
def test_degenerate_inputs_raise(panel, change, predictors, message):
    with pytest.raises(ModelError, match=message):
        fit_count_model(change(panel), "incidents", predictors, exposure="exposure", time="period")


def test_few_rows_relative_to_parameters():
    data = simulate_panel(np.random.default_rng(16), n=15)
    with pytest.raises(ModelError, match="15 usable rows for 13 parameters; need at least 18"):
        fit_count_model(data, "incidents", ["x"], family="poisson", season="month", time="period")


def test_season_needs_monthly_dates():
    data = simulate_panel(np.random.default_rng(17), n=40)
    with pytest.raises(ModelError, match="needs monthly .* this panel has none"):
        fit_count_model(
            data.drop(columns="period"),
            "incidents",
            ["x"],
            season="irrigation",
            season_months=SEASON,
        )
    annual = data.set_index(pd.period_range("1980", periods=40, freq="Y"))
    with pytest.raises(ModelError, match="this panel has coarser ones"):
        fit_count_model(annual, "incidents", ["x"], season="month")
    # an annual Period index still orders the rows and drives the trend
    result = fit_count_model(annual.iloc[::-1], "incidents", ["x"], trend=True)
    assert result.sample["period_start"] == "1980" and result.fitted.index[0] == pd.Period("1980")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"family": "nb1"}, "unknown model family 'nb1'"),
        ({"cov": "hc3"}, "cov must be one of"),
        ({"cov": "cluster"}, "needs the name of the cluster column"),
        ({"controls": ("x",)}, "listed twice"),
        ({"controls": ("trend",)}, "reserved"),
        ({"hac_lags": -1}, "hac_lags"),
    ],
)
def test_bad_specs_raise_config_error(options, message):
    with pytest.raises(ConfigError, match=message):
        CountModelSpec("incidents", ("x",), **options)


# --------------------------------------------------------------------------- conditional logit


def clogit_data(seed: int, groups: int = 25, years: int = 9, vectors: int = 4):
    """Outcome vectors drawn from a conditional logit with year effects, a term and a lagged
    outcome column, on groups of unequal length (some years missing)."""
    rng = np.random.default_rng(seed)
    strata = np.repeat(np.arange(groups), years)
    year = np.tile(np.arange(years), groups)
    kept = rng.random(len(strata)) > 0.15
    strata, year = strata[kept], year[kept]
    x = rng.normal(size=len(strata))
    lagged = (rng.random(len(strata)) < 0.3).astype(float)
    dummies = (year[:, None] == np.arange(1, years)[None]).astype(float)
    X = np.column_stack([x, lagged, dummies])
    unit = rng.normal(-0.5, 1.0, groups)[strata]
    eta = unit + 0.7 * x + 1.2 * lagged + dummies @ rng.normal(0, 0.4, years - 1)
    Y = (rng.random((vectors, len(strata))) < 1 / (1 + np.exp(-eta))).astype(float)
    return Y, X, strata, np.arange(2, X.shape[1])


@pytest.mark.slow
def test_batched_conditional_logit_matches_statsmodels_for_every_vector():
    """The vectorised exact likelihood (groups bucketed by degree, year dummies by position)
    gives each vector the estimates statsmodels' ConditionalLogit gives it alone (1e-6), and
    the same log-likelihood, scores and Hessian as the dense layout."""
    from statsmodels.discrete.conditional_models import ConditionalLogit

    Y, X, strata, dummies = clogit_data(1)
    batch = ConditionalLogitBatch(Y, X, strata, indicators=dummies)
    fit = batch.maximise(np.zeros(X.shape[1]))
    assert fit.converged.all()
    for i, y in enumerate(Y):
        theirs = ConditionalLogit(y, X, groups=strata).fit(method="newton", maxiter=100, disp=0)
        np.testing.assert_allclose(fit.params[i], theirs.params, atol=1e-6)
    dense = ConditionalLogitBatch(Y, X, strata)
    for ours, other in zip(batch.evaluate(fit.params), dense.evaluate(fit.params)):
        np.testing.assert_allclose(ours, other, rtol=1e-10, atol=1e-10)


def test_per_vector_columns_equal_a_design_rebuilt_for_each_vector():
    """A column given per vector (a lag rebuilt from each simulated outcome) fits as if each
    vector had its own design."""
    Y, X, strata, dummies = clogit_data(2)
    rng = np.random.default_rng(3)
    own = (rng.random((len(Y), 1, len(strata))) < 0.4).astype(float)
    batch = ConditionalLogitBatch(Y, X, strata, indicators=dummies, replaced=([1], own))
    fit = batch.maximise(np.zeros(X.shape[1]))
    for i, y in enumerate(Y):
        Xi = X.copy()
        Xi[:, 1] = own[i, 0]
        alone = ConditionalLogitLikelihood(y, Xi, strata, indicators=dummies)
        params, converged, _ = alone.maximise()
        assert converged
        np.testing.assert_allclose(fit.params[i], params, atol=1e-8)
        _, scores, hessian = alone.evaluate(params)
        np.testing.assert_allclose(fit.scores[i], scores, atol=1e-8)
        np.testing.assert_allclose(fit.hessian[i], hessian, rtol=1e-8, atol=1e-8)
