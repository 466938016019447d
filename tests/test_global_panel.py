"""Global panels on small synthetic tables with known answers, fixed-effects models against
statsmodels, a stylised fact on the shipped data, and the global registry entries end to end."""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.discrete.conditional_models import ConditionalLogit, ConditionalPoisson

from analysis.errors import ConfigError, ModelError
from analysis.models.design import build_design
from analysis.models.fit import fit_count_model
from analysis.models.spec import CountModelSpec
from analysis.panels import global_panel
from analysis.panels.global_panel import GlobalOutcomeSpec, country_year_panel, dyad_year_panel
from analysis.panels.panel import PredictorSpec
from analysis.study import hypotheses, registry, store
from analysis.study.settings import TestSettings

START, END = 2004, 2019


def frame(rows, columns, **dtypes):
    return pd.DataFrame(rows, columns=columns).astype(dtypes)


COUNTRIES = frame(
    [("TJK", 702, 702), ("KGZ", 703, 703), ("UZB", 704, 704)],
    ["iso3", "gwno", "cown"],
    gwno="Int64",
    cown="Int64",
).assign(source_file="countries.csv", source_row=[2, 3, 4])

# The GW list ends on 2017-12-31 (its last day); Yugoslavia (345, no ISO3) leaves in 2006.
STATES = frame(
    [
        ("gw", 702, "1991-09-09", "2017-12-31"),
        ("gw", 703, "1991-08-31", "2017-12-31"),
        ("gw", 704, "1991-08-31", "2017-12-31"),
        ("gw", 345, "1918-12-01", "2006-06-04"),
    ],
    ["system", "code", "date_start", "date_end"],
    code="Int64",
)

UCDP_COLUMNS = [
    "dataset",
    "version",
    "conflict_id",
    "year",
    "type_of_conflict",
    "gwno_a",
    "gwno_b",
    "gwno_loc",
    "deaths_best",
]
CONFLICTS = frame(
    [
        ("acd", "25.1", 1, 2005, 3, "702", None, "702", None),
        ("acd", "25.1", 1, 2006, 3, "702", None, "702", None),
        ("acd", "25.1", 2, 2010, 2, "703", "702", "702, 703", None),  # interstate, located in both
        ("acd", "25.1", 3, 2010, 3, "702", None, "702", None),
        ("acd", "25.1", 5, 2012, 3, "704", None, "704", None),
        ("acd", "25.1", 5, 2014, 3, "704", None, "704", None),
        ("acd", "25.1", 4, 1990, 3, "2", None, "2", None),  # ACD covers 1990-2019
        ("acd", "25.1", 4, 2019, 3, "2", None, "2", None),
        ("brd", "24.1", 1, 2005, 3, "702", None, "702", None),  # no figure: the sum is unknown
        ("brd", "24.1", 2, 2010, 2, "703", "702", "702, 703", 40),
        ("brd", "24.1", 3, 2010, 3, "702", None, "702", 10),
        ("brd", "24.1", 4, 1989, 3, "2", None, "2", 30),  # BRD covers 1989-2017
        ("brd", "24.1", 4, 2017, 3, "2", None, "2", 30),
        ("acd", "23.1", 9, 2008, 3, "703", None, "703", None),  # another version: ignored
    ],
    UCDP_COLUMNS,
    year="Int64",
    type_of_conflict="Int64",
    deaths_best="Int64",
)

X = {
    2003: 1.0,
    2004: 3.0,
    2005: 2.0,
    2006: 6.0,
    2007: 5.0,
    2008: 4.0,
    2009: 9.0,
    2010: 7.0,
    2011: 8.0,
    2012: 2.0,
}
INDICATORS = pd.DataFrame(
    [("TJK", "A", str(y), "X", v, "src") for y, v in X.items()]
    + [("KGZ", "A", str(y), "X", 10 * v, "src") for y, v in X.items() if y <= 2008],
    columns=["iso3", "frequency", "period", "indicator", "value", "source"],
)

CONTIGUITY = frame(
    [
        ("cshapes_mindist", "gw", 702, 703, None, "1992-01-01", "2017-12-31"),
        ("cshapes_mindist", "gw", 702, 704, None, "1992-01-01", "2017-12-31"),
        ("cshapes_mindist", "gw", 703, 704, None, "1992-01-01", "2000-12-31"),  # ended: not carried
        ("cow_contdir", "cow", 702, 703, 1, "1991-12-01", "2016-12-01"),
        ("cow_contdir", "cow", 702, 704, 2, "1991-12-01", "2016-12-01"),  # across water: not land
    ],
    ["dataset", "system", "state1", "state2", "conttype", "date_start", "date_end"],
    state1="Int64",
    state2="Int64",
    conttype="Int64",
)

DIFF_LAG1 = PredictorSpec("X", "own", transform="diff", lag=1, name="x_change_lag1")


@pytest.fixture(scope="module")
def countries_panel():
    panel = country_year_panel(
        CONFLICTS,
        STATES,
        COUNTRIES,
        INDICATORS,
        start=START,
        end=END,
        predictors=(DIFF_LAG1,),
        outcome_lags=(1,),
    )
    return panel, panel.frame.set_index(["unit", "year"])


def test_units_are_states_alive_in_the_year_and_carried_past_the_list(countries_panel):
    panel, f = countries_panel
    assert set(f.loc["GW345"].index) == {2004, 2005, 2006}  # no ISO3: labelled by GW number
    assert set(f.loc["TJK"].index) == set(range(START, END + 1))
    assert f.loc[("TJK", 2018), "carried_forward"] and not f.loc[("TJK", 2017), "carried_forward"]
    assert "6 unit-years in 2018-2019 carried forward" in panel.notes[0]
    ended = country_year_panel(
        CONFLICTS,
        STATES,
        COUNTRIES,
        start=START,
        end=END,
        outcome=GlobalOutcomeSpec(carry_forward=False),
    )
    assert ended.frame["year"].max() == 2017 and not ended.frame["carried_forward"].any()


def test_incidence_conflicts_and_onset_follow_the_rules(countries_panel):
    _, f = countries_panel
    tjk, uzb = f.loc["TJK"], f.loc["UZB"]
    assert [y for y in tjk.index if tjk.loc[y, "incidence"] == 1] == [2005, 2006, 2010]
    assert tjk.loc[2010, "conflicts"] == 2 and f.loc[("KGZ", 2010), "incidence"] == 1  # "702, 703"
    onset = tjk["onset"].astype("Float64")
    assert onset[2004] == 0 and onset[2005] == 1 and onset[2009] == 0 and onset[2010] == 1
    assert (
        onset[[2006, 2007, 2008, 2011, 2012]].isna().all()
    )  # in conflict, or within 2 years of one
    assert (
        uzb.loc[2012, "onset"] == 1
        and pd.isna(uzb.loc[2014, "onset"])
        and uzb.loc[2014, "incidence"] == 1
    )
    assert (
        tjk.loc[2006, "incidence_lag1"] == 1 and tjk.loc[2004, "incidence_lag1"] == 0
    )  # 2003 from history


def test_battle_deaths_sum_dyads_located_in_the_state_and_stay_missing_outside_coverage(
    countries_panel,
):
    _, f = countries_panel
    assert f.loc[("TJK", 2010), "battle_deaths"] == 50  # 40 (shared with KGZ, counted in full) + 10
    assert f.loc[("KGZ", 2010), "battle_deaths"] == 40
    assert pd.isna(f.loc[("TJK", 2005), "battle_deaths"])  # a dyad without a figure
    assert f.loc[("TJK", 2006), "battle_deaths"] == 0
    assert f.xs(2018, level="year")["battle_deaths"].isna().all()  # BRD ends in 2017
    assert f.loc[("TJK", 2019), "incidence"] == 0  # ACD covers 2019


def test_predictors_use_the_case_panel_rules_and_missing_stays_missing(countries_panel):
    _, f = countries_panel
    assert f.loc[("TJK", 2010), "x_change_lag1"] == X[2009] - X[2008]
    assert f.loc[("TJK", 2005), "x_change_lag1"] == X[2004] - X[2003]
    assert pd.isna(f.loc[("TJK", 2014), "x_change_lag1"])  # beyond the series
    assert f.loc[("KGZ", 2008), "x_change_lag1"] == 10 * (X[2007] - X[2006])
    assert (
        f.loc["UZB", "x_change_lag1"].isna().all() and f.loc["GW345", "x_change_lag1"].isna().all()
    )
    with pytest.raises(ConfigError, match="iso3 = one of \\['own'\\]"):
        country_year_panel(
            CONFLICTS,
            STATES,
            COUNTRIES,
            INDICATORS,
            start=START,
            end=END,
            predictors=(PredictorSpec("X", "TJK"),),
        )


@pytest.mark.parametrize("contiguity", ["cshapes", "cow"])
def test_dyads_are_land_neighbours_alive_and_the_outcome_is_between_the_two(contiguity):
    predictors = (PredictorSpec("X", "min", name="x_min"), PredictorSpec("X", "max", name="x_max"))
    panel = dyad_year_panel(
        CONFLICTS,
        STATES,
        COUNTRIES,
        CONTIGUITY,
        INDICATORS,
        start=START,
        end=END,
        outcome=GlobalOutcomeSpec(unit="dyad", contiguity=contiguity),
        predictors=predictors,
    )
    f = panel.frame.set_index(["unit", "year"])
    expected = {"TJK-KGZ"} | (
        {"TJK-UZB"} if contiguity == "cshapes" else set()
    )  # COW 702-704: water
    assert set(f.index.get_level_values("unit")) == expected
    assert set(f.loc["TJK-KGZ"].index) == set(range(START, END + 1))
    assert f.loc["TJK-KGZ", "carried_forward"].idxmax() == (
        2018 if contiguity == "cshapes" else 2017
    )
    kgz_tjk = f.loc["TJK-KGZ"]
    assert list(kgz_tjk.index[kgz_tjk["incidence"] == 1]) == [2010]
    assert kgz_tjk.loc[2010, "battle_deaths"] == 40 and kgz_tjk.loc[2010, "onset"] == 1
    assert kgz_tjk.loc[2006, "x_min"] == X[2006] and kgz_tjk.loc[2006, "x_max"] == 10 * X[2006]
    assert pd.isna(kgz_tjk.loc[2010, "x_min"])  # KGZ's series ends in 2008: either missing, missing


# --------------------------------------------------------------------------- fixed effects


def fe_data(seed=3, groups=30, years=8):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), years)
    effect = rng.normal(-0.5, 1.0, groups)[g]
    x, z = rng.normal(size=groups * years) + 0.3 * effect, rng.normal(size=groups * years)
    year = np.tile(np.arange(2000, 2000 + years), groups)
    binary = rng.random(len(g)) < 1 / (
        1 + np.exp(-(effect + 0.8 * x - 0.4 * z + 0.1 * (year - 2000)))
    )
    return pd.DataFrame(
        {
            "unit": [f"u{i:02d}" for i in g],
            "year": year,
            "x": x,
            "z": z,
            "binary": binary.astype(int),
            "count": rng.poisson(np.exp(effect + 0.5 * x - 0.2 * z)),
        }
    )


def year_dummies(rows):
    return pd.get_dummies(rows["year"].astype(str), drop_first=True, dtype=float)


def test_conditional_logit_agrees_with_statsmodels():
    data = fe_data()
    spec = {"controls": ("z",), "family": "clogit", "fixed_effects": ("unit", "year")}
    ours = fit_count_model(data, "binary", ["x"], cov="nonrobust", **spec)
    design = build_design(data, CountModelSpec("binary", ("x",), cov="nonrobust", **spec))
    used = data.loc[design.X.index]
    assert ours.sample["rows_dropped"] == len(data) - len(used) > 0  # units without variation
    exog = pd.concat([used[["x", "z"]], year_dummies(used)], axis=1).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ConditionalLogit(used["binary"].to_numpy(), exog, groups=used["unit"].to_numpy())
        theirs = model.fit(method="newton", maxiter=100, disp=False)
    np.testing.assert_allclose(ours.tidy()["estimate"], theirs.params[:2], atol=1e-6)
    np.testing.assert_allclose(
        ours.tidy()["std_error"], theirs.bse[:2], rtol=1e-4
    )  # theirs: numerical Hessian
    assert ours.loglik == pytest.approx(model.loglike(theirs.params), abs=1e-6)
    clustered = fit_count_model(data, "binary", ["x"], cov="cluster", cluster="unit", **spec)
    scores = np.array([model.score_grp(g, theirs.params) for g in range(model._n_groups)])
    bread = np.linalg.inv(-model.hessian(theirs.params))
    n, k, g = len(used), len(theirs.params), len(scores)
    sandwich = bread @ scores.T @ scores @ bread * g / (g - 1) * (n - 1) / (n - k)
    np.testing.assert_allclose(
        clustered.tidy()["std_error"], np.sqrt(np.diag(sandwich))[:2], rtol=1e-4
    )


def test_fixed_effects_poisson_is_the_conditional_poisson_and_matches_glm():
    data = fe_data()
    ours = fit_count_model(
        data,
        "count",
        ["x"],
        controls=("z",),
        family="poisson",
        fixed_effects=("unit", "year"),
        cov="cluster",
        cluster="unit",
    )
    used = data.loc[ours.fitted.index]
    dummies = pd.get_dummies(used["unit"], drop_first=True, dtype=float)
    exog = pd.concat(
        [
            pd.Series(1.0, index=used.index, name="const"),
            used[["x", "z"]],
            dummies,
            year_dummies(used),
        ],
        axis=1,
    )
    glm = sm.GLM(used["count"], exog, family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(used["unit"])[0]}
    )
    np.testing.assert_allclose(ours.tidy()["estimate"], glm.params[["x", "z"]], atol=1e-6)
    np.testing.assert_allclose(ours.tidy()["std_error"], glm.bse[["x", "z"]], atol=1e-6)
    conditional_exog = pd.concat([used[["x", "z"]], year_dummies(used)], axis=1).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        conditional = ConditionalPoisson(
            used["count"].to_numpy(), conditional_exog, groups=used["unit"].to_numpy()
        )
        theirs = conditional.fit(method="newton", maxiter=100, disp=False)
    np.testing.assert_allclose(ours.tidy()["estimate"], theirs.params[:2], atol=1e-6)
    assert "const" not in ours.terms and not any("=" in term for term in ours.terms)


def test_logit_with_year_dummies_matches_statsmodels_logit():
    data = fe_data()
    ours = fit_count_model(
        data,
        "binary",
        ["x"],
        family="logit",
        fixed_effects=("year",),
        cov="cluster",
        cluster="unit",
    )
    exog = pd.concat(
        [pd.Series(1.0, index=data.index, name="const"), data[["x"]], year_dummies(data)], axis=1
    )
    theirs = sm.Logit(data["binary"], exog).fit(
        disp=0, cov_type="cluster", cov_kwds={"groups": pd.factorize(data["unit"])[0]}
    )
    assert ours.term("x")["estimate"] == pytest.approx(theirs.params["x"], abs=1e-6)
    assert ours.term("x")["std_error"] == pytest.approx(theirs.bse["x"], abs=1e-6)


def test_fixed_effect_specs_refuse_what_they_cannot_estimate():
    data = fe_data().assign(constant_in_unit=lambda d: d["unit"].str[1:].astype(int))
    with pytest.raises(ConfigError, match="biased in short panels"):
        CountModelSpec(
            "count", ("x",), family="negbin", fixed_effects=("unit",), cov="cluster", cluster="unit"
        )
    with pytest.raises(ConfigError, match="trend and season cannot be combined"):
        CountModelSpec(
            "count", ("x",), family="poisson", fixed_effects=("unit",), cov="nonrobust", trend=True
        )
    with pytest.raises(ConfigError, match=r"found .clogit. \(it needs fixed_effects\)"):
        CountModelSpec("binary", ("x",), family="clogit")
    with pytest.raises(
        ModelError, match="'constant_in_unit' does not vary within the fixed effects"
    ):
        fit_count_model(
            data,
            "count",
            ["constant_in_unit"],
            family="poisson",
            fixed_effects=("unit",),
            cov="nonrobust",
        )
    with pytest.raises(ModelError, match="must lie within one cluster"):
        fit_count_model(
            data,
            "binary",
            ["x"],
            family="clogit",
            fixed_effects=("year",),
            cov="cluster",
            cluster="unit",
        )


# --------------------------------------------------------------------------- shipped data


@pytest.mark.slow
def test_stylised_fact_poorer_countries_have_more_conflict(shipped_tables):
    predictors = (
        PredictorSpec("NY.GDP.PCAP.CD", "own", transform="log", lag=1, name="log_gdppc_lag1"),
        PredictorSpec("SP.POP.TOTL", "own", transform="log", lag=1, name="log_population_lag1"),
    )
    panel = country_year_panel(
        shipped_tables.conflict_years,
        shipped_tables.states,
        shipped_tables.countries,
        shipped_tables.indicators,
        start=1990,
        end=2024,
        predictors=predictors,
    )
    assert panel.frame["unit"].nunique() == 178 and panel.coverage == ("1946", "2024")
    model = fit_count_model(
        panel.frame,
        "incidence",
        ["log_gdppc_lag1"],
        controls=("log_population_lag1",),
        family="logit",
        fixed_effects=("year",),
        cov="cluster",
        cluster="unit",
        dropna=True,
    )
    row = model.term("log_gdppc_lag1")
    assert row["estimate"] < 0 and row["ci_high"] < 0, (
        row
    )  # about -0.66 (se 0.13) in the July 2026 build
    assert model.sample["rows_used"] > 5000 and "cluster-robust by 'unit'" in model.cov_label


@pytest.mark.slow
def test_global_entries_run_through_the_registry(shipped_tables):
    entries = registry.load_registry()
    chosen = {hid: spec for hid, spec in entries.items() if spec.scope == "global"}
    assert {"H1_global_gdppc", "H1_global_remit", "H2_global_milex", "H1_global_dyad_gdppc"} <= set(
        chosen
    )
    chosen["H1a"] = entries["H1a"]
    settings = TestSettings(n_perm=199, calibrate=False)
    results = store.registry_results(chosen, shipped_tables, settings, only=list(chosen))
    assert results.failures == ()
    h1a = results.get("H1a", "catalogue")
    assert "bh_scope" in h1a.p_adjusted  # BH within the case scope only
    for hid in set(chosen) - {"H1a"}:
        result = results.get(hid, "ucdp")
        assert result.test.method in ("cluster_wald", "wild_cluster_bootstrap")
        assert result.model.family in ("clogit", "logit") and result.effect.ratio == "OR"
        events = result.test.details["clusters_with_events"]
        assert (result.test.method == "wild_cluster_bootstrap") == (events < 50)
        assert chosen[hid].multiplicity.startswith(("H1_global", "H2_global"))
    gdppc = results.get("H1_global_gdppc", "ucdp")
    assert gdppc.model.nobs > 2000 and gdppc.test.method == "cluster_wald"
    dyad = results.get("H2_global_dyad_milex", "ucdp")
    assert (
        dyad.test.method == "wild_cluster_bootstrap"
        and dyad.test.details["clusters_with_events"] < 15
    )


def test_global_entries_are_validated():
    entry = {
        "statement": "s",
        "multiplicity": "G",
        "frequency": "A",
        "window": ["1990", "2024"],
        "rationale": "r",
        "scope": "global",
        "outcome": {"unit": "country"},
        "focal": "x",
        "fixed_effects": ["unit", "year"],
        "cluster": "unit",
        "trend": False,
        "model": "clogit",
        "cov": "cluster",
        "inference": "cluster_robust",
        "predictors": [{"indicator": "X", "iso3": "own", "name": "x"}],
    }
    parsed = registry.parse_entry("G1", entry)
    assert parsed.outcome == GlobalOutcomeSpec(unit="country") and parsed.outcomes == ("ucdp",)
    with pytest.raises(ConfigError, match="G1, outcome: unknown key 'dyad'"):
        registry.parse_entry("G1", {**entry, "outcome": {"dyad": "KGZ-TJK"}})
    with pytest.raises(ConfigError, match="'cluster_robust' is for global entries"):
        registry.parse_entry("G1", {**entry, "inference": "permutation"})
    with pytest.raises(ConfigError, match="measure 'incidents'"):
        registry.parse_entry("G1", {**entry, "outcome": {"measure": "incidents"}})
    with pytest.raises(ConfigError, match="needs the table"):
        hypotheses.panel_for(parsed.on("ucdp"), hypotheses.Tables(INDICATORS, INDICATORS))
    assert global_panel.ONSET_GAP == 2
