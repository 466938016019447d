"""The registry and the study's outcomes are data, validated on load; errors name entry and key."""

import pytest
from conftest import MINIMAL_ENTRY

from analysis.errors import ConfigError
from analysis.study import registry


def test_registry_loads_and_has_the_required_claims():
    entries = registry.load_registry()
    groups = {spec.multiplicity for spec in entries.values()}
    assert {
        "H1_economic_stress",
        "H2a_militarisation_frequency",
        "H2b_militarisation_severity",
        "H3_water_season",
        "H4_russia_distraction",
        "H5_dependence",
        "NC_negative_controls",
    } <= groups
    for spec in entries.values():
        assert spec.statement and spec.rationale and spec.outcomes
        if spec.focal != spec.lag_term and spec.scope == "case":
            assert spec.outcome_lags or spec.exposure, f"{spec.id} ignores dependence (H5)"
    controls = [s.id for s in entries.values() if s.control]
    assert {"NC_density_2019", "NC_postwar_2022", "NC_placebo_date", "NC_placebo_dyad"} <= set(
        controls
    )
    for c in controls:  # negative controls expect nothing; positive ones their own group
        negative = entries[c].expected_sign == "none"
        assert entries[c].multiplicity == (
            "NC_negative_controls" if negative else "PC_positive_controls"
        )


def test_annual_claims_are_tested_on_the_stated_series_as_well():
    entries = registry.load_registry()
    annual = [
        s for s in entries.values() if s.scope == "case" and s.frequency == "A" and not s.control
    ]
    assert annual and all("stated_24kg" in s.outcomes and "catalogue" in s.outcomes for s in annual)


def test_h5_is_respecified_so_that_coverage_cannot_produce_it():
    h5 = registry.get("H5")
    assert h5.inference == "stratified_permutation" and h5.period_effects == "year_season"
    model = h5.model_spec(registry.load_study().outcome("catalogue"))
    assert model.period_effects == "year_season" and not model.trend and model.season is None


def test_the_catalogue_outcome_sets_year_effects_on_monthly_panels():
    study = registry.load_study()
    spec = registry.get("H3")
    model = spec.model_spec(study.outcome("catalogue"))
    assert model.period_effects == "year" and not model.trend
    severity = registry.get("H2b_tb2_severity").model_spec(study.outcome("catalogue"))
    assert (
        severity.period_effects is None
    )  # the entry opts out: its exposure conditions on coverage
    adjusted = registry.get("H2a_tb2").model_spec(study.outcome("catalogue_adjusted"))
    assert adjusted.exposure == "detection_share" and adjusted.trend
    stated = registry.get("H1a").model_spec(study.outcome("stated_24kg"))
    assert stated.controls == () and not stated.trend  # nine points: the focal term alone


@pytest.mark.parametrize(
    "change, message",
    [
        ({"focul": "x"}, "unknown key 'focul'; did you mean 'focal'"),
        ({"outcome": {"dyad": "KGZ-TJK", "measur": "incidents"}}, "did you mean 'measure'"),
        ({"predictors": [{"indicator": "X", "iso3": "TJK", "lags": 1}]}, "did you mean 'lag'"),
        ({"focal": "y"}, "focal term 'y' is none of the entry's terms"),
        ({"expected_sign": "up"}, "expected_sign 'up'"),
        ({"model": "ols"}, "unknown model family 'ols' (known families: poisson, negbin"),
        ({"model": "nonsense"}, "unknown model family 'nonsense'"),
        ({"family": "poisson"}, "key 'family' was renamed 'multiplicity'"),
        ({"window": ["2000"]}, "window must be [first, last]"),
        ({"inference": "placebo_dates"}, "needs the focal term to be a step"),
        ({"inference": "stratified_permutation"}, "tests the outcome's own lag 1"),
        ({"outcomes": ["catalog"]}, "unknown outcome 'catalog'; did you mean 'catalogue'"),
        ({"outcomes": ["ucdp"]}, "does not fit a case entry"),
        ({"frequency": "M", "outcomes": ["stated_24kg"]}, "is a yearly count"),
        ({"period_effects": "decade"}, "period_effects must be one of"),
        ({"frequency": "M", "trend": True}, "trend = true is never fitted"),
        (
            {"frequency": "M", "period_effects": "year_season", "season": "irrigation"},
            "season = 'irrigation' is never fitted",
        ),
    ],
)
def test_bad_entries_name_the_entry_and_key(change, message):
    with pytest.raises(ConfigError) as caught:
        registry.parse_entry("HX", {**MINIMAL_ENTRY, **change})
    assert "HX" in str(caught.value) and message in str(caught.value)


def test_a_term_without_words_is_refused_when_the_registry_loads(tmp_path):
    path = tmp_path / "hypotheses.toml"
    path.write_text(
        '[HX]\nstatement = "s"\nmultiplicity = "F"\nfrequency = "A"\nfocal = "brand_new"\n'
        'rationale = "r"\noutcome = {dyad = "KGZ-TJK"}\n'
        'predictors = [{indicator = "X", iso3 = "TJK", name = "brand_new"}]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"hypothesis HX: no label for term\(s\) \['brand_new'\]"):
        registry.load_registry(path)
    labelled = path.read_text(encoding="utf-8").replace("brand_new", "tjk_gdppc_growth")
    path.write_text(labelled, encoding="utf-8")
    assert list(registry.load_registry(path)) == ["HX"]


def test_missing_keys_unknown_ids_and_outcomes():
    with pytest.raises(ConfigError, match=r"missing key\(s\) \['rationale'\]"):
        registry.parse_entry("HX", {k: v for k, v in MINIMAL_ENTRY.items() if k != "rationale"})
    entries = registry.load_registry()
    with pytest.raises(ConfigError, match="unknown hypothesis 'H1z'; did you mean 'H1"):
        registry.get("H1z", entries)
    assert list(registry.select(entries, ["H1"])) == [h for h in entries if h.startswith("H1")]
    with pytest.raises(ConfigError, match="unknown hypothesis"):
        registry.select(entries, ["Q9"])
    spec = registry.parse_entry("HX", MINIMAL_ENTRY)
    assert spec.outcomes == ("catalogue",) and spec.on("catalogue").series == "catalogue"
    with pytest.raises(ConfigError, match="not registered on outcome 'stated_24kg'"):
        spec.on("stated_24kg")


def test_overrides_are_checked_like_entries():
    spec = registry.get("H1a")
    lagged = spec.with_overrides(lag=1, start="2010", end="2020")
    assert lagged.predictors[0].lag == 1 and lagged.window == ("2010", "2020")
    with pytest.raises(ConfigError, match="did you mean 'model'"):
        spec.with_overrides(modle="poisson")


def test_study_outcomes_and_breaks_are_validated(tmp_path):
    study = registry.load_study()
    assert {"catalogue", "catalogue_adjusted", "stated_24kg", "ucdp"} <= set(study.outcomes)
    assert {b.name for b in study.breaks} >= {"war_2021", "war_2022", "dense_reporting_2019"}
    bad = tmp_path / "study.toml"
    bad.write_text('[outcome.x]\nlabel = "X"\nkind = "stated"\ndescription = "d"\n')
    with pytest.raises(ConfigError, match="kind 'stated' needs a counter"):
        registry.load_study(bad)
    bad.write_text('[break.war]\ndate = "2021-13-01"\nmonths = 6\nreason = "r"\n')
    with pytest.raises(ConfigError, match="break war: needs date"):
        registry.load_study(bad)
    bad.write_text('[outcomes.x]\nlabel = "X"\n')
    with pytest.raises(ConfigError, match="did you mean 'outcome'"):
        registry.load_study(bad)


def test_registry_frame_lists_each_entrys_outcomes():
    frame = registry.registry_frame(registry.load_registry())
    assert {"outcomes", "control", "test"} <= set(frame.columns)
    assert frame.set_index("id").loc["H1a", "outcomes"] == "catalogue, stated_24kg"


def test_what_is_fitted_is_what_the_registry_says():
    """A trend registered where period effects absorb it on every outcome is refused; where one
    outcome fits it (the scaled catalogue), it stays, and the list says per outcome."""
    with pytest.raises(ConfigError, match="HX: trend = true is never fitted .*year effects"):
        registry.parse_entry("HX", {**MINIMAL_ENTRY, "frequency": "M", "trend": True})
    both = registry.parse_entry(
        "HX", {**MINIMAL_ENTRY, "frequency": "M", "trend": True,
               "outcomes": ["catalogue", "catalogue_adjusted"]},
    )  # fmt: skip
    fitted = registry.fitted_text(both, registry.load_study())
    assert fitted.startswith("catalogue: NB2 + year effects | catalogue_adjusted: NB2")
    assert "trend" in fitted.split("|")[1] and "trend" not in fitted.split("|")[0]
    frame = registry.registry_frame(registry.load_registry()).set_index("id")
    assert "year_season effects" in frame.loc["H5", "fitted"]


def test_coverage_controls_are_registered_negative_or_positive_controls(tmp_path):
    entries = registry.load_registry()
    assert entries["H3"].coverage_controls == ("NC_season_other_categories", "PC_season_fatal")
    assert entries["PC_season_fatal"].control and entries["PC_season_fatal"].expected_sign
    text = registry.registry_path().read_text(encoding="utf-8")
    bad = tmp_path / "hypotheses.toml"
    for wrong, message in [
        ('"NC_season_other_categorie"', "did you mean 'NC_season_other_categories'"),
        ('"H1a"', "must be a negative control"),
        ('"NC_density_2019"', "is not tested on ['catalogue']"),
    ]:
        bad.write_text(
            text.replace('coverage_controls = ["NC_season_other_categories", "PC_season_fatal"]',
                         f"coverage_controls = [{wrong}]"),
            encoding="utf-8",
        )  # fmt: skip
        with pytest.raises(ConfigError, match="H3, coverage_controls") as caught:
            registry.load_registry(bad)
        assert message in str(caught.value)
