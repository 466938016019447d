"""The registry is data validated on load; each entry tests end to end, repeatably."""

import numpy as np
import pandas as pd
import pytest

from analysis import datasets, hypotheses
from analysis.errors import ConfigError, DataError
from analysis.hypotheses import Tables, TestSettings
from analysis.tables import hypothesis_summary, render

FAST = TestSettings(n_perm=199, n_sim=60)

ENTRY = {
    "statement": "s",
    "family": "F",
    "frequency": "A",
    "window": ["2000", "2030"],
    "outcome": {"dyad": "KGZ-TJK"},
    "focal": "x",
    "rationale": "r",
    "predictors": [{"indicator": "X", "iso3": "TJK", "name": "x"}],
}


def test_registry_loads_and_has_the_required_claims():
    registry = hypotheses.load_registry()
    families = {spec.family for spec in registry.values()}
    assert {
        "H1_economic_stress",
        "H2a_militarisation_frequency",
        "H2b_militarisation_severity",
        "H3_water_season",
        "H4_russia_distraction",
        "H5_dependence",
        "NC_negative_controls",
    } <= families
    for spec in registry.values():
        assert spec.statement and spec.rationale
        if spec.focal != f"{spec.outcome.column}_lag1":
            assert spec.outcome_lags or spec.exposure, f"{spec.id} ignores dependence (H5)"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"focul": "x"}, "unknown key 'focul'; did you mean 'focal'"),
        ({"outcome": {"dyad": "KGZ-TJK", "measur": "incidents"}}, "did you mean 'measure'"),
        ({"predictors": [{"indicator": "X", "iso3": "TJK", "lags": 1}]}, "did you mean 'lag'"),
        ({"focal": "y"}, "focal term 'y' is none of the entry's terms"),
        ({"expected_sign": "up"}, "expected_sign 'up'"),
        ({"model": "ols"}, "family must be one of"),
        ({"window": ["2000"]}, "window must be [first, last]"),
        ({"inference": "placebo_dates"}, "needs the focal term to be a step"),
    ],
)
def test_bad_entries_name_the_entry_and_key(change, message):
    with pytest.raises(ConfigError) as caught:
        hypotheses.parse_entry("HX", {**ENTRY, **change})
    assert "HX" in str(caught.value) and message in str(caught.value)


def test_missing_keys_and_unknown_ids():
    with pytest.raises(ConfigError, match=r"missing key\(s\) \['rationale'\]"):
        hypotheses.parse_entry("HX", {k: v for k, v in ENTRY.items() if k != "rationale"})
    registry = hypotheses.load_registry()
    with pytest.raises(ConfigError, match="unknown hypothesis 'H1z'; did you mean 'H1"):
        hypotheses.get("H1z", registry)
    assert list(hypotheses.select(registry, ["H1"])) == [h for h in registry if h.startswith("H1")]
    with pytest.raises(ConfigError, match="unknown hypothesis"):
        hypotheses.select(registry, ["Q9"])


def test_overrides_are_checked_like_entries():
    spec = hypotheses.get("H1a")
    lagged = spec.with_overrides(lag=1, start="2010")
    assert lagged.predictors[0].lag == 1 and lagged.window == ("2010", "2024")
    with pytest.raises(ConfigError, match="did you mean 'model'"):
        spec.with_overrides(modle="poisson")


def synthetic_tables(effect: float, seed: int = 1) -> Tables:
    """Monthly incidents simulated from a known IRR of an annual indicator (estimator test only)."""
    rng = np.random.default_rng(seed)
    years = np.arange(1990, 2030)
    x = rng.normal(0, 1, len(years))
    rows = []
    for year, value in zip(years, x):
        count = rng.poisson(6 * np.exp(effect * value))
        for k in range(count):
            rows.append(
                {
                    "incident_id": f"{year}-{k}",
                    "source_dataset": "catalogue",
                    "date_start": f"{year}-{1 + k % 12:02d}-01",
                    "dyad": "KGZ-TJK",
                    "fatalities": pd.NA,
                    "event_category": "other",
                }
            )
    incidents = pd.DataFrame(rows).astype({"fatalities": "Int64"})
    indicators = pd.DataFrame(
        {
            "iso3": "TJK",
            "frequency": "A",
            "period": years.astype(str),
            "indicator": "X",
            "value": x,
            "source": "synthetic",
        }
    )
    return Tables(incidents=incidents, indicators=indicators)


def test_a_known_effect_is_recovered_and_a_null_is_not_rejected():
    spec = hypotheses.parse_entry("HX", {**ENTRY, "window": ["1990", "2029"]})
    strong = hypotheses.test_hypothesis(spec, synthetic_tables(effect=0.5), FAST)
    assert abs(strong.estimate["estimate"] - 0.5) < 0.2  # coverage itself is tested in test_models
    assert strong.permutation.p_value < 0.05
    assert hypotheses.conclusion(strong, spec).startswith("Evidence of an effect")
    null = hypotheses.test_hypothesis(spec, synthetic_tables(effect=0.0), FAST)
    assert null.permutation.p_value > 0.05
    assert hypotheses.conclusion(null, spec).startswith("No detectable effect")
    assert "detects only effects of IRR" in hypotheses.conclusion(null, spec)


def test_hypothesis_needing_absent_data_fails_clearly():
    spec = hypotheses.parse_entry(
        "HX", {**ENTRY, "predictors": [{"indicator": "NOPE", "iso3": "TJK", "name": "x"}]}
    )
    with pytest.raises(DataError, match="NOPE for TJK is not in the indicators table"):
        hypotheses.test_hypothesis(spec, synthetic_tables(0.0), FAST)
    results = hypotheses.test_all({"HX": spec}, synthetic_tables(0.0), FAST)
    assert results.results == () and results.failures[0].hypothesis_id == "HX"
    assert "Not testable" in hypothesis_summary(results, {"HX": spec})["conclusion"].iloc[0]


@pytest.fixture(scope="module")
def real_results():
    registry = hypotheses.load_registry()
    tables = Tables(datasets.load("incidents"), datasets.load("indicators"))
    return registry, tables, hypotheses.test_all(registry, tables, FAST)


def test_every_registered_hypothesis_is_reported_on_the_shipped_data(real_results):
    registry, _, results = real_results
    reported = [r.hypothesis_id for r in results.results] + [
        f.hypothesis_id for f in results.failures
    ]
    assert sorted(reported) == sorted(registry)
    summary = hypothesis_summary(results, registry)
    assert len(summary) == len(registry) and summary["conclusion"].str.len().gt(20).all()
    for r in results.results:
        assert (
            0 < r.p_adjusted["holm_family"] <= 1
            and r.p_adjusted["holm_family"] >= hypotheses.small_sample_p(r) - 1e-12
        )


def test_results_repeat_exactly(real_results):
    registry, tables, results = real_results
    again = hypotheses.test_hypothesis(registry["H3"], tables, FAST)
    first = next(r for r in results.results if r.hypothesis_id == "H3")
    assert again.permutation.p_value == first.permutation.p_value
    assert again.mde.mde_irr == first.mde.mde_irr


def test_summary_renders_in_every_format(real_results):
    registry, _, results = real_results
    summary = hypothesis_summary(results, registry)
    assert render(summary, "markdown").startswith("| hypothesis |")
    assert r"\toprule" in render(summary, "latex")
    assert "<table" in render(summary, "html")
    with pytest.raises(ConfigError, match="unknown table format"):
        render(summary, "docx")
