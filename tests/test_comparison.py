"""The global comparison reuses registered entries: other outcomes, windows and regions."""

import pandas as pd
import pytest

from analysis.errors import ConfigError
from analysis.study import comparison, hypotheses, registry
from analysis.study.settings import TestSettings

FAST = TestSettings(n_perm=19, calibrate=False)


def test_variant_switches_to_a_count_model_for_battle_deaths_and_back():
    spec = registry.get("H1_global_gdppc")
    deaths = comparison.global_variant(
        spec, measure="battle_deaths", start="2000", end="2020", region="all"
    )
    assert (
        deaths.model == "poisson"
        and deaths.outcome.measure == "battle_deaths"
        and deaths.window == ("2000", "2020")
    )
    onset = comparison.global_variant(
        deaths, measure="onset", start="2000", end="2020", region="South Asia"
    )
    assert onset.model == "clogit" and onset.region == "South Asia"
    with pytest.raises(ConfigError, match="outcome 'wars'"):
        comparison.global_variant(spec, measure="wars", start="2000", end="2020", region="all")


def test_region_restricts_the_units_and_bad_regions_are_named(shipped_tables):
    tables = shipped_tables
    spec = (
        registry.get("H1_global_gdppc")
        .with_overrides(region="Europe & Central Asia", start="2010", end="2024")
        .on("ucdp")
    )
    frame = hypotheses.panel_for(spec, tables).frame
    regions = dict(zip(tables.countries["iso3"], tables.countries["wb_region"]))
    assert {"KGZ", "TJK"} <= set(frame["unit"]) and {regions[u] for u in frame["unit"]} == {
        "Europe & Central Asia"
    }
    with pytest.raises(ConfigError, match="not a World Bank region"):
        hypotheses.panel_for(spec.with_overrides(region="Atlantis"), tables)


@pytest.mark.slow
def test_global_results_run_only_entries_of_the_unit(shipped_tables):
    tables = shipped_tables
    results = comparison.global_results(
        registry.load_registry(),
        tables,
        unit="country",
        measure="incidence",
        start="2005",
        end="2020",
        region="all",
        settings=FAST,
    )
    tested = [r.hypothesis_id for r in results.results] + [
        f.hypothesis_id for f in results.failures
    ]
    assert tested and all("dyad" not in hid for hid in tested)


def test_case_in_world_percentiles():
    indicators = pd.DataFrame(
        {
            "indicator": "X",
            "frequency": "A",
            "iso3": ["KGZ", "TJK", "AAA", "BBB"],
            "period": "2010",
            "value": [1.0, 4.0, 2.0, 3.0],
        }
    )
    placed = comparison.case_in_world(indicators, ("X",), 2000, 2020).set_index("country")
    assert placed.loc["TJK", "percentile"] == 75.0 and placed.loc["KGZ", "percentile"] == 0.0
    assert (placed["countries_with_data"] == 4).all()
