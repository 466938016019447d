"""The engine: each entry tests end to end on each of its outcomes, repeatably; corrections run
over the whole registry whatever is reported; labels follow what was fitted."""

import math
from dataclasses import replace

import numpy as np
import pytest
from conftest import MINIMAL_ENTRY, assert_same_result, synthetic_tables

from analysis.errors import ConfigError, DataError
from analysis.report.result_tables import headline, hypothesis_summary, render
from analysis.study import comparison, hypotheses, registry, store
from analysis.study.hypotheses import Tables
from analysis.study.settings import TestSettings

FAST = TestSettings(n_perm=199, n_perm_sim=99, n_size=80, n_power=60, n_interval=99)
PVALUES_ONLY = TestSettings(n_perm=199, calibrate=False)


def synthetic_entry() -> hypotheses.HypothesisSpec:
    return registry.parse_entry("HX", {**MINIMAL_ENTRY, "outcome_lags": [1]}).on("catalogue")


@pytest.mark.slow
def test_a_known_effect_is_recovered_with_calibrated_inference_and_a_null_is_not_rejected():
    strong = hypotheses.assess(synthetic_entry(), synthetic_tables(effect=0.5, seed=2), FAST)
    assert abs(strong.log_effect - 0.5) < 0.2  # coverage itself is tested in test_models
    assert strong.test.p_value < 0.05 and strong.test.p_mc_se is not None
    assert strong.interval.low < 0.5 < strong.interval.high and strong.interval.low > 0
    wald = strong.estimate  # the inverted interval is near the Wald one with 40 Poisson years
    assert (
        abs(strong.interval.low - wald["ci_low"]) < 0.1
        and abs(strong.interval.high - wald["ci_high"]) < 0.1
    )
    assert strong.size is not None and strong.size.n_sims == 80 and strong.power.reachable
    assert strong.effect.per == "sd" and strong.effect.ratio == "IRR"
    null = hypotheses.assess(synthetic_entry(), synthetic_tables(effect=0.0), FAST)
    assert null.test.p_value > 0.05 and null.interval.low < 0 < null.interval.high


def test_hypothesis_needing_absent_data_fails_clearly():
    spec = registry.parse_entry(
        "HX", {**MINIMAL_ENTRY, "predictors": [{"indicator": "NOPE", "iso3": "TJK", "name": "x"}]}
    )
    with pytest.raises(DataError, match="NOPE for TJK is not in the indicators table"):
        hypotheses.assess(spec.on("catalogue"), synthetic_tables(0.0), FAST)
    results = store.registry_results({"HX": spec}, synthetic_tables(0.0), FAST)
    assert results.results == () and results.failures[0].hypothesis_id == "HX"
    assert hypothesis_summary(results)["verdict"].iloc[0] == "Not testable"
    with pytest.raises(ConfigError, match="say which outcome"):
        hypotheses.assess(spec, synthetic_tables(0.0), FAST)


@pytest.fixture(scope="module")
def shipped(shipped_tables):
    entries = registry.load_registry()
    return entries, shipped_tables, store.registry_results(entries, shipped_tables, PVALUES_ONLY)


@pytest.mark.slow
def test_every_registered_test_is_reported_on_the_shipped_data(shipped):
    entries, _, results = shipped
    expected = {(s.id, s.series) for s in hypotheses.tests_of(entries)}
    reported = {r.key for r in results.results} | {f.key for f in results.failures}
    assert reported == expected
    for failure in results.failures:
        assert len(failure.reason) > 20 and failure.outcome_label
    for r in results.results:
        holm = r.p_adjusted["holm_family"]
        assert r.test.p_value - 1e-12 <= holm <= 1
        assert ("bh_scope" in r.p_adjusted) != r.control  # controls stay outside BH


@pytest.mark.slow
def test_coverage_notes_state_the_observed_shares_and_what_a_zero_share_implies(shipped):
    _, _, results = shipped
    annual = results.get("H1a", "catalogue").coverage
    assert annual.plausible_range == (0.0, math.inf) and annual.could_produce
    assert "from 0 to" in annual.note and "could produce any estimate" in annual.note
    assert "inf" not in annual.note
    monthly = results.get("H3", "catalogue").coverage
    assert f"×{monthly.tipping_ratio:.2f}" in monthly.note


@pytest.mark.slow
def test_a_subset_gets_the_adjusted_p_of_the_whole_registry(shipped):
    entries, tables, results = shipped
    subset = store.registry_results(entries, tables, PVALUES_ONLY, only=["H5", "H2a_milex_kgz"])
    assert {r.hypothesis_id for r in subset.results} == {"H5", "H2a_milex_kgz"}
    for r in subset.results:
        full = results.get(r.hypothesis_id, r.outcome)
        assert r.p_adjusted == full.p_adjusted and r.test.p_value == full.test.p_value
    assert subset.corrections == results.corrections
    tested, registered = len(results.results), len(results.results) + len(results.failures)
    assert f"over the {tested} tests of the registry that the data support" in results.corrections
    assert f"(of {registered} registered" in results.corrections
    assert f"{len(results.failures)} not testable" in results.corrections


@pytest.mark.slow
def test_a_claim_is_tested_with_the_controls_it_names(shipped):
    entries, tables, _ = shipped
    results = store.registry_results(entries, tables, PVALUES_ONLY, only=["H3"])
    ids = {r.hypothesis_id for r in results.results}
    assert ids == {"H3", "NC_season_other_categories", "PC_season_fatal"}
    assert results.get("H3").coverage_controls == entries["H3"].coverage_controls
    # without simulated sizes nothing is decided, whatever the controls say
    assert {r.verdict.code for r in results.results} == {"cannot_tell"}


@pytest.mark.slow
def test_leave_one_year_out_is_the_engine_run_without_that_year(shipped):
    """The batched leave-one-year-out equals the reported test run through the normal path on
    the entry with the year's outcome set missing (its rows, the next month's lag and any
    stratum left empty go; blocks are laid out again)."""
    entries, tables, _ = shipped
    settings = TestSettings(n_perm=199, calibrate=False)
    spec = entries["H3"].on("catalogue")
    study = registry.load_study()
    prepared = hypotheses.prepare(spec, tables, study)
    reported = hypotheses.procedure(prepared, settings, study, settings.n_perm, "p")
    scale = hypotheses.effect_scale(spec, prepared.design, "IRR")
    table = hypotheses.leave_one_year_out(reported, prepared.design, spec.focal, scale)
    assert set(table["year"]) == set(np.unique(prepared.design.periods.year))
    for row in table[table["year"].isin([2014, 2019, 2022])].itertuples():
        variant = spec.with_overrides(exclude_years=(row.year,))
        again = hypotheses.prepare(variant, tables, study)
        p = hypotheses.procedure(again, settings, study, settings.n_perm, "p").result().p_value
        model = hypotheses.fit_design(again.design)
        assert row.p == p
        assert row.effect == pytest.approx(
            scale.display(model.term(spec.focal)["estimate"]), rel=1e-5
        )


@pytest.mark.slow
def test_results_repeat_exactly(shipped):
    entries, tables, results = shipped
    again = hypotheses.assess(entries["H3"].on("catalogue"), tables, PVALUES_ONLY)
    first = results.get("H3", "catalogue")
    assert again.test.p_value == first.test.p_value
    np.testing.assert_array_equal(again.test.null_statistics, first.test.null_statistics)


@pytest.mark.slow
def test_labels_follow_the_fitted_family_not_the_registry(shipped):
    entries, tables, _ = shipped
    base = entries["H1_global_gdppc"]
    deaths = comparison.global_variant(
        base, measure="battle_deaths", start="1990", end="2024", region="all"
    )
    counted = hypotheses.assess(deaths.on("ucdp"), tables, PVALUES_ONLY)
    assert deaths.model == "poisson" and counted.model.effect_ratio == "IRR"
    assert counted.effect.label().startswith("IRR per SD")
    incidence = hypotheses.assess(base.on("ucdp"), tables, PVALUES_ONLY)
    assert incidence.model.family == "clogit" and incidence.effect.label().startswith("OR per SD")
    frame = hypothesis_summary(replace(shipped[2], results=(counted, incidence), failures=()))
    assert list(frame["scale"].str[:3]) == ["IRR", "OR "]


@pytest.mark.slow
def test_summary_and_headline_render(shipped):
    _, _, results = shipped
    summary = hypothesis_summary(results)
    assert render(summary, "markdown").startswith("| claim |")
    assert r"\toprule" in render(summary, "latex")
    assert "<table" in render(summary, "html")
    with pytest.raises(ConfigError, match="unknown table format"):
        render(summary, "docx")
    document = headline(results, "Q?", citation={"text": "t", "bibtex": "@misc{x}"})
    from analysis.report import site

    site.validate_headline(document)
    assert len(document["rows"]) == len(results.results) + len(results.failures)


@pytest.mark.slow
def test_the_executor_changes_nothing_but_where_chunks_run(shipped):
    from analysis import executors

    entries, tables, _ = shipped
    settings = TestSettings(n_perm=99, n_perm_sim=19, n_size=40, n_power=20, n_interval=19)
    serial = store.registry_results(entries, tables, settings, only=["H1b"])
    with executors.open("fork", jobs=2) as executor:
        forked = store.registry_results(entries, tables, settings, only=["H1b"], executor=executor)
    for one, two in zip(serial.results, forked.results):
        assert_same_result(one, two)


@pytest.mark.slow
def test_a_likelihood_without_a_finite_maximum_is_not_reported_as_an_estimate(shipped):
    """H7_delimitation_km on the catalogue: with year effects only the one incident of 2024
    informs the kilometres agreed, and the fitted ratio runs off to millions; the entry is not
    testable, with the reason, instead of printing that ratio as an estimate."""
    _, _, results = shipped
    failed = {f.hypothesis_id: f.reason for f in results.failures}
    assert "no finite value" in failed["H7_delimitation_km"]
    assert not [r for r in results.results if abs(r.log_effect) > np.log(hypotheses.DIVERGED_RATIO)]


def test_per_sd_says_what_the_sd_is_measured_in(shipped_tables):
    entries, tables = registry.load_registry(), shipped_tables
    unit = {hid: hypotheses.focal_unit(spec, tables) for hid, spec in entries.items()}
    assert unit["H1a"] == "percentage points of GDP"  # a diff of a share: percentage points
    assert unit["H1c"] == "percentage points a year"
    assert unit["H1g"] == "log units of LCU per US$"
    assert unit["H1j"] == "percentage points of % change in LCU per US$"
    assert unit["H2a_arms_kgz"] == "TIV, millions (volume index, not US$)"
    assert unit["H7_delimitation_km"] == "km of border"  # a milestone quantity
    assert unit["H5"] == "incidents" and unit["H3"] == ""  # its own lag; a 0/1 term
    without = Tables(indicators=tables.indicators.drop(columns="unit"))
    assert hypotheses.focal_unit(entries["H1a"], without) == ""  # none stated, none invented
