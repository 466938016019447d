"""Calendar-aware HAC, period effects and the batched fitter against statsmodels."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import SEASON
from statsmodels.discrete.discrete_model import NegativeBinomial

from analysis.errors import ConfigError, ModelError
from analysis.models.batch import fit_batch, weighted_gram
from analysis.models.covariance import hac_covariance
from analysis.models.design import build_design
from analysis.models.families import NB2, POISSON
from analysis.models.fit import fit_design
from analysis.models.solve import solve_batched
from analysis.models.spec import CountModelSpec


def monthly_panel(n_years=8, seed=3, rate=1.5):
    rng = np.random.default_rng(seed)
    index = pd.period_range("2010-01", periods=12 * n_years, freq="M", name="period")
    x = rng.normal(size=len(index))
    year_level = np.repeat(rng.normal(0, 0.7, n_years), 12)
    mu = rate * np.exp(0.3 * x + year_level)
    y = rng.negative_binomial(2, 2 / (2 + mu))
    return pd.DataFrame({"incidents": y, "x": x}, index=index)


def test_hac_without_gaps_equals_statsmodels():
    data = monthly_panel()
    spec = CountModelSpec("incidents", ("x",), family="poisson", cov="hac", hac_lags=3)
    ours = fit_design(build_design(data, spec)).term("x")["std_error"]
    X = sm.add_constant(data[["x"]].to_numpy())
    reference = sm.GLM(data["incidents"].to_numpy(), X, family=sm.families.Poisson()).fit(
        cov_type="HAC", cov_kwds={"maxlags": 3}
    )
    assert ours == pytest.approx(reference.bse[1], rel=1e-8)


def test_hac_nb_without_gaps_equals_statsmodels():
    data = monthly_panel(seed=5)
    spec = CountModelSpec("incidents", ("x",), family="negbin", cov="hac", hac_lags=2)
    ours = fit_design(build_design(data, spec)).term("x")["std_error"]
    X = sm.add_constant(data[["x"]].to_numpy())
    reference = NegativeBinomial(data["incidents"].to_numpy(), X, loglike_method="nb2").fit(
        disp=0, maxiter=200, cov_type="HAC", cov_kwds={"maxlags": 2}
    )
    assert ours == pytest.approx(reference.bse[1], rel=1e-4)


def test_hac_pairs_follow_calendar_distance_across_gaps():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(6, 1))
    bread = np.eye(1)
    contiguous = hac_covariance(scores, bread, np.arange(6), 1)[0, 0]
    gapped = hac_covariance(scores, bread, np.array([0, 1, 2, 10, 11, 12]), 1)[0, 0]
    s = scores[:, 0]
    assert contiguous == pytest.approx(s @ s + 2 * 0.5 * np.sum(s[1:] * s[:-1]))
    # rows 2 and 3 are eight periods apart: their product must not enter
    expected = s @ s + 2 * 0.5 * (s[0] * s[1] + s[1] * s[2] + s[3] * s[4] + s[4] * s[5])
    assert gapped == pytest.approx(expected)


def test_dropped_rows_leave_a_gap_in_positions_and_the_label():
    data = monthly_panel().astype({"incidents": float})
    data.iloc[20:30, 0] = np.nan
    spec = CountModelSpec("incidents", ("x",), family="poisson", dropna=True)
    design = build_design(data, spec)
    assert design.positions[19] == 19 and design.positions[20] == 30
    assert "10 missing periods" in fit_design(design).cov_label


def test_year_effects_absorb_yearly_levels_and_drop_eventless_years():
    data = monthly_panel()
    data.loc[data.index.year == 2012, "incidents"] = 0
    spec = CountModelSpec("incidents", ("x",), family="negbin", period_effects="year")
    design = build_design(data, spec)
    assert design.sample["dropped_by_reason"]["year without any event (period effects)"] == 12
    assert sum(c.startswith("period=") for c in design.absorbed) == 6  # 7 years left, one base
    result = fit_design(design)
    assert "period=2011" not in result.coefficients.index  # absorbed terms are not reported
    assert "year effects" in result.cov_label
    assert result.term("x")["ratio"] == pytest.approx(np.exp(0.3), rel=0.25)


def test_year_season_strata_and_refused_combinations():
    data = monthly_panel()
    design = build_design(
        data,
        CountModelSpec("incidents", ("x",), period_effects="year_season", season_months=SEASON),
    )
    assert len(design.absorbed) == 2 * 8 - 1
    with pytest.raises(ConfigError, match="drop the trend"):
        CountModelSpec("incidents", ("x",), period_effects="year", trend=True)
    with pytest.raises(ConfigError, match="need season_months"):  # the study's calendar
        CountModelSpec("incidents", ("x",), period_effects="year_season")
    with pytest.raises(ConfigError, match="absorbs the season"):
        CountModelSpec(
            "incidents",
            ("x",),
            period_effects="year_season",
            season_months=SEASON,
            season="irrigation",
        )
    with pytest.raises(ModelError, match="monthly, dated panel"):
        build_design(
            data.reset_index(drop=True), CountModelSpec("incidents", ("x",), period_effects="year")
        )


@pytest.mark.parametrize("family", [POISSON, NB2])
def test_batch_fit_matches_statsmodels_draw_by_draw(family):
    rng = np.random.default_rng(11)
    n = 120
    X = np.column_stack([np.ones(n), rng.normal(size=n), (np.arange(n) % 12 < 6).astype(float)])
    mu = np.exp(0.2 + 0.4 * X[:, 1] - 0.3 * X[:, 2])
    Y = rng.negative_binomial(1.5, 1.5 / (1.5 + mu), size=(5, n)).astype(float)
    batch = fit_batch(Y, X, family=family)
    assert batch.converged.all()
    for s in range(5):
        if family is POISSON:
            ref = sm.GLM(Y[s], X, family=sm.families.Poisson()).fit()
            np.testing.assert_allclose(batch.beta[s], ref.params, rtol=1e-6, atol=1e-7)
        else:
            model = NegativeBinomial(Y[s], X, loglike_method="nb2")
            rough = model.fit(disp=0, maxiter=500)  # statsmodels stops early; polish by Newton
            ref = model.fit(disp=0, maxiter=500, method="newton", start_params=rough.params)
            np.testing.assert_allclose(batch.beta[s], ref.params[:-1], rtol=1e-6, atol=1e-7)
            assert batch.alpha[s] == pytest.approx(ref.params[-1], rel=1e-5)


def test_batch_fit_flags_draws_without_events_and_masks_rows():
    X = np.column_stack([np.ones(24), np.repeat([0.0, 1.0], 12)])
    Y = np.vstack([np.zeros(24), np.r_[np.ones(12), 2 * np.ones(12)]])
    batch = fit_batch(Y, X, family=POISSON)
    assert list(batch.converged) == [False, True]
    mask = np.ones((1, 24))
    mask[0, 12:] = 0  # the second half removed: its column has no active row and stays at 0
    masked = fit_batch(Y[1:], X, family=POISSON, mask=mask)
    assert masked.converged[0] and masked.beta[0, 1] == pytest.approx(0.0)
    assert masked.beta[0, 0] == pytest.approx(0.0, abs=1e-7)  # log(mean of the first half = 1)


def test_a_batch_with_a_singular_draw_solves_every_draw_by_minimum_norm_least_squares():
    # A step at a year boundary is the sum of the later years' dummies: with weights, one draw's
    # LU meets an exact zero pivot and another's (collinear up to rounding) does not. Both must
    # get lstsq's answer, not an exact LU solution along the flat direction of the second.
    n = 36
    years = np.repeat(np.arange(3), 12)
    dummies = (years[:, None] == np.arange(1, 3)).astype(float)
    X = np.c_[np.ones(n), dummies, (np.arange(n) >= 12).astype(float)]
    draws = [np.random.default_rng(seed) for seed in (5, 0)]  # LU raises on 5, not on 0
    w = np.stack([rng.gamma(2.0, size=n) for rng in draws])
    rhs = (w * np.stack([rng.normal(size=n) for rng in draws])) @ X
    gram = weighted_gram(X, w)
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.solve(gram[0], rhs[0])
    np.linalg.solve(gram[1], rhs[1])  # rounding hides the collinearity from LU
    solved = solve_batched(gram, rhs[..., None])[..., 0]
    for g, b, x in zip(gram, rhs, solved, strict=True):
        np.testing.assert_allclose(x, np.linalg.lstsq(g, b, rcond=None)[0], atol=1e-8)


def test_a_mask_that_makes_columns_collinear_gives_the_same_fitted_means_as_refitting():
    """Masking the reference year leaves the constant equal to the sum of the other year
    dummies: that draw's system is singular and is solved by least squares, while the other
    draws in the batch keep their exact solve, and every draw's means match a fit on its
    active rows alone."""
    rng = np.random.default_rng(5)
    years = np.repeat([0, 1, 2], 12)
    X = np.column_stack([np.ones(36), years == 1, years == 2, rng.normal(size=36)]).astype(float)
    Y = rng.poisson(np.exp(0.5 + 0.3 * X[:, 3]), size=(3, 36)).astype(float)
    mask = np.ones((3, 36))
    mask[1, years == 0] = 0  # reference year removed: collinear
    batch = fit_batch(Y, X, family=POISSON, mask=mask)
    assert batch.converged.all()
    for s in range(3):
        keep = mask[s] > 0
        columns = [0, 1, 2, 3] if s != 1 else [1, 2, 3]
        ref = sm.GLM(Y[s, keep], X[keep][:, columns], family=sm.families.Poisson()).fit()
        np.testing.assert_allclose(batch.mu[s, keep], ref.fittedvalues, rtol=1e-6)
        np.testing.assert_allclose(batch.beta[s, 3], ref.params[-1], rtol=1e-6)
