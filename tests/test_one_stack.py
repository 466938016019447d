"""The rules the case and global inference share: one solve rule for every batched fitter, one
rejection rule, one tie tolerance, one test inversion, and one function that decides the
reported test."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from analysis.errors import ConfigError, ModelError
from analysis.inference import clusters, small_sample
from analysis.models.batch import Blocks, fit_batch, weighted_gram
from analysis.models.families import family
from analysis.models.fit import fit_spec
from analysis.models.solve import estimable, solve_batched
from analysis.models.spec import CountModelSpec
from analysis.study import hypotheses, registry, robustness


def _step_design(n: int = 36) -> np.ndarray:
    """A step at a year boundary is the sum of the later years' dummies: collinear."""
    years = np.repeat(np.arange(3), 12)
    dummies = (years[:, None] == np.arange(1, 3)).astype(float)
    return np.c_[np.ones(n), dummies, (np.arange(n) >= 12).astype(float)]


def test_a_draw_singular_only_up_to_rounding_gets_the_per_draw_least_squares_answer():
    # seed 0's weighted system is singular, but rounding hides it from LU (no zero pivot): in a
    # batch with only well-posed draws beside it, it must still get lstsq's answer, not an
    # exact LU solution along its flat direction.
    X = _step_design()
    rng = np.random.default_rng(0)
    w = rng.gamma(2.0, size=(1, 36))
    rhs = (w * rng.normal(size=(1, 36))) @ X
    gram = weighted_gram(X, w)
    np.linalg.solve(gram[0], rhs[0])  # LU does not notice
    regular = np.eye(4) * 2.0
    systems = np.concatenate([gram, regular[None]])
    rights = np.concatenate([rhs, np.ones((1, 4))])
    solved = solve_batched(systems, rights)
    for system, right, answer in zip(systems, rights, solved, strict=True):
        expected = np.linalg.lstsq(system, right, rcond=None)[0]
        np.testing.assert_allclose(answer, expected, atol=1e-8)
    np.testing.assert_allclose(solved[1], 0.5)


def test_the_solve_rule_does_not_depend_on_the_other_draws_of_the_batch():
    X = _step_design()
    rng = np.random.default_rng(0)
    w = rng.gamma(2.0, size=(3, 36))
    w[1] = 1.0 + np.arange(36) % 5  # a draw without the collinearity
    X_full = np.c_[X[:, :3], np.arange(36.0)]
    grams = np.concatenate([weighted_gram(X, w[:1]), weighted_gram(X_full, w[1:])])
    rhs = rng.normal(size=(3, 4))
    together = solve_batched(grams, rhs)
    alone = np.concatenate([solve_batched(g[None], r[None]) for g, r in zip(grams, rhs)])
    np.testing.assert_allclose(together, alone, atol=1e-10)


def test_a_system_that_is_not_finite_gives_nan_and_leaves_the_others_alone():
    systems = np.stack([np.eye(2), np.full((2, 2), np.nan)])
    solved = solve_batched(systems, np.ones((2, 2)))
    np.testing.assert_allclose(solved[0], 1.0)
    assert np.isnan(solved[1]).all()


def test_matrix_right_hand_sides_give_the_least_squares_inverse():
    X = _step_design()
    gram = weighted_gram(X, np.ones((1, 36)))
    inverse = solve_batched(gram, np.eye(4)[None])
    np.testing.assert_allclose(
        inverse[0], np.linalg.pinv(gram[0], rcond=4 * np.finfo(float).eps), atol=1e-8
    )


# --------------------------------------------------------------------------- rejection rule


def test_the_one_rejection_rule_rejects_at_the_level_and_never_on_a_missing_p():
    assert small_sample.rejects(0.05, 0.05)
    assert not small_sample.rejects(0.05 + 1e-12, 0.05)
    assert not small_sample.rejects(math.nan, 0.05)


def test_the_one_tie_rule_counts_a_draw_equal_up_to_rounding_on_every_side():
    observed = 1.7
    draws = np.array([observed * (1 + 1e-15), observed * (1 - 1e-15), -observed, 0.0])
    assert small_sample.as_extreme(draws, observed, "two-sided").tolist() == [1, 1, 1, 0]
    assert small_sample.as_extreme(draws, observed, "greater").tolist() == [1, 1, 0, 0]
    assert small_sample.as_extreme(-draws, -observed, "less").tolist() == [1, 1, 0, 0]


def test_a_p_exactly_at_the_level_bounds_a_one_sided_interval_and_leaves_the_other_side_open():
    interval = small_sample.invert(
        lambda b: np.where(b < -1.5, 0.05, 0.5), 0.0, 1.0, method="edge", limit=64.0,
        sided="greater",
    )  # fmt: skip
    assert -2.0 < interval.low <= -1.5 and interval.high == math.inf
    assert interval.note == "one-sided (greater) test: one-sided interval"


# --------------------------------------------------------------------------- global adapter


def _few_event_clusters(seed: int = 3, n_clusters: int = 30, n_years: int = 12) -> pd.DataFrame:
    """A unit-year logit panel in which four clusters carry most of the events."""
    rng = np.random.default_rng(seed)
    unit = np.repeat([f"U{i:02d}" for i in range(n_clusters)], n_years)
    year = np.tile(np.arange(2000, 2000 + n_years), n_clusters)
    rival = np.repeat((np.arange(n_clusters) < 4).astype(float), n_years)
    x = rng.normal(size=len(unit)) + np.repeat(rng.normal(size=n_clusters), n_years)
    eta = -5.0 + 4.0 * rival + 0.3 * x
    y = (rng.random(len(eta)) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame({"unit": unit, "year": year, "x": x, "rival": rival, "y": y})


LOGIT = CountModelSpec(
    outcome="y", predictors=("x",), controls=("rival",), family="logit",
    fixed_effects=("year",), cov="cluster", cluster="unit",
)  # fmt: skip


def test_the_global_adapter_reports_the_bootstrap_with_few_event_clusters():
    frame = _few_event_clusters()
    model = fit_spec(frame, LOGIT)
    test, interval = clusters.reported_test(
        frame, model, "x", key="k", sided="two-sided", alpha=0.05, n_boot=199, ci=True
    )
    boot = clusters.score_bootstrap(frame, LOGIT, "x", key="k", n_boot=199)
    assert (test.p_value, test.label, interval) == (
        boot.test.p_value,
        boot.test.label,
        boot.interval,
    )
    assert test.method == "wild_cluster_bootstrap" and test.p_mc_se > 0 and test.n_draws == 199
    assert interval.low < float(model.term("x")["estimate"]) < interval.high


def test_the_global_adapter_reports_the_models_wald_test_with_many_event_clusters(monkeypatch):
    frame = _few_event_clusters()
    model = fit_spec(frame, LOGIT)
    with_events = clusters.clusters_with_events(frame, LOGIT)
    monkeypatch.setattr(clusters, "FEW_CLUSTERS", with_events)
    test, interval = clusters.reported_test(
        frame, model, "x", key="k", sided="two-sided", alpha=0.05, n_boot=199, ci=True
    )
    row = model.term("x")
    assert test.method == "cluster_wald" and test.p_value == pytest.approx(row["p_value"])
    assert (interval.low, interval.high) == (row["ci_low"], row["ci_high"])
    assert (test.details["clusters"], test.details["clusters_with_events"]) == (30, with_events)


def test_the_global_adapter_flags_the_wald_test_where_the_bootstrap_breaks_down(monkeypatch):
    frame = _few_event_clusters()
    model = fit_spec(frame, LOGIT)

    def broken(*args, **kwargs):
        raise ModelError("restricted model did not converge")

    monkeypatch.setattr(clusters, "score_bootstrap", broken)
    test, _ = clusters.reported_test(
        frame, model, "x", key="k", sided="two-sided", alpha=0.05, n_boot=199, ci=True
    )
    assert test.method == "cluster_wald" and "unchecked" in test.label
    assert test.details["unchecked"] == "restricted model did not converge"


# --------------------------------------------------------------------------- reported test


def test_robustness_variants_are_tested_by_the_one_reported_test_function(monkeypatch):
    """Every variant of a global entry goes through hypotheses.reported_test, with the
    divergence guard, so a dyad entry's variants report the score wild cluster bootstrap as
    its main report does (the interval is left out here to keep the test quick)."""
    calls = []
    real = hypotheses.reported_test

    def recorded(prepared, settings=None, study=None, mapper=map):
        calls.append(prepared.spec)
        return real(prepared, replace(settings, calibrate=False), study, mapper)

    monkeypatch.setattr(hypotheses, "reported_test", recorded)
    guarded = []
    real_guard = hypotheses.finite_fit
    monkeypatch.setattr(
        hypotheses,
        "finite_fit",
        lambda spec, prepared: guarded.append(spec) or real_guard(spec, prepared),
    )
    spec = registry.get("H2_global_dyad_milex").on("ucdp")
    curve = robustness.run_variants(spec, hypotheses.Tables.load())
    tested = curve[curve["note"] == ""]
    assert len(tested) >= 3 and len(calls) == len(tested) == len(guarded)
    assert set(tested["test"]) == {"wild cluster bootstrap"}


# --------------------------------------------------------------------------- one fitter


def _logit_data(seed: int = 4, n: int = 300):
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, 5, size=n)
    x = rng.normal(size=n)
    eta = -1.0 + 0.8 * x + np.array([0.0, 0.5, -0.5, 1.0, 0.2])[groups]
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return y, x, groups


def test_the_batched_fitter_fits_a_logit_with_levels_as_statsmodels_does():
    import statsmodels.api as sm

    y, x, groups = _logit_data()
    dummies = (groups[:, None] == np.arange(5)).astype(float)
    expected = sm.Logit(y, np.c_[x, dummies]).fit(disp=0).params
    design = Blocks(x[:, None], (groups,), (5,))
    fit = fit_batch(y[None], design, family=family("logit"), start=np.zeros(6), tol=1e-10)
    assert fit.converged[0]
    np.testing.assert_allclose(fit.beta[0], expected, atol=1e-7)


def test_a_held_coefficient_gives_the_restricted_fit():
    import statsmodels.api as sm

    y, x, groups = _logit_data()
    dummies = (groups[:, None] == np.arange(5)).astype(float)
    restricted = sm.GLM(y, dummies, family=sm.families.Binomial(), offset=0.3 * x).fit()
    start = np.r_[0.3, np.zeros(5)]
    held = np.r_[True, np.zeros(5, bool)]
    design = Blocks(x[:, None], (groups,), (5,))
    fit = fit_batch(y[None], design, family=family("logit"), start=start, held=held, tol=1e-10)
    assert fit.converged[0] and fit.beta[0, 0] == 0.3
    np.testing.assert_allclose(fit.beta[0, 1:], restricted.params, atol=1e-7)


def test_a_blocks_design_fits_as_its_dummies_do():
    rng = np.random.default_rng(8)
    _, x, groups = _logit_data()
    Y = rng.poisson(np.exp(0.2 + 0.4 * x), size=(3, len(x))).astype(float)
    dummies = (groups[:, None] == np.arange(5)).astype(float)
    dense = fit_batch(Y, np.c_[x, dummies], family=family("poisson"), start=np.zeros(6), tol=1e-10)
    blocks = fit_batch(
        Y,
        Blocks(x[:, None], (groups,), (5,)),
        family=family("poisson"),
        start=np.zeros(6),
        tol=1e-10,
    )
    assert dense.converged.all() and blocks.converged.all()
    np.testing.assert_allclose(blocks.beta, dense.beta, atol=1e-8)
    with pytest.raises(ConfigError, match="unknown model family 'gamma'"):
        fit_batch(Y, np.c_[x, dummies], family=family("gamma"))


def test_a_term_collinear_on_a_draws_rows_is_not_estimable_there():
    X = _step_design()
    w = np.random.default_rng(0).gamma(2.0, size=(1, 36))
    collinear = weighted_gram(X, w)  # the step is the sum of the later years' dummies
    assert not estimable(collinear, solve_batched(collinear, np.eye(4)[None]), 3)[0]
    regular = weighted_gram(X[:, [0, 1, 3]], w)
    assert estimable(regular, solve_batched(regular, np.eye(3)[None]), 2)[0]


def test_the_poisson_likelihood_holds_for_counts_beyond_the_table():
    """Counts above TABLE_LIMIT take the closed forms; at alpha 0 (Poisson) those are the
    limits, not log(0) (a Poisson fit of counts in the hundreds once failed to converge)."""
    from scipy import stats

    from analysis.models.batch import TABLE_LIMIT, nb_loglik

    y = np.array([[0.0, 3.0, TABLE_LIMIT + 1.0, 1487.0]])
    mu = np.array([[0.5, 2.0, 280.0, 1500.0]])
    got = nb_loglik(y, mu, np.zeros(1), np.ones_like(y))
    assert got[0] == pytest.approx(stats.poisson.logpmf(y, mu).sum(), rel=1e-12)
