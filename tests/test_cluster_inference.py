"""Few-cluster inference for the global panels: known effects recovered on simulated panels
with few clusters carrying the events, exact enumeration against brute force, the
leave-one-cluster-out table, and smoke tests on the registered global dyad entries."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis import cluster_inference as ci
from analysis import hypotheses, models, registry
from analysis.errors import ConfigError, ModelError
from analysis.models import CountModelSpec


def logit_panel(
    seed: int,
    effect: float = 0.0,
    n_clusters: int = 40,
    n_years: int = 15,
    event_clusters: int = 4,
    labels: list[str] | None = None,
) -> pd.DataFrame:
    """Unit-year panel where only ``event_clusters`` clusters (a 'rivalry' flag) have a real
    chance of events; the focal ``x`` is persistent within clusters. The model (year effects,
    rivalry, x) is the data-generating one, so ``effect`` is the true coefficient of x."""
    rng = np.random.default_rng(seed)
    labels = labels or [f"U{i:02d}" for i in range(n_clusters)]
    unit = np.repeat(labels, n_years)
    year = np.tile(np.arange(2000, 2000 + n_years), n_clusters)
    rival = np.repeat((np.arange(n_clusters) < event_clusters).astype(float), n_years)
    shocks = rng.normal(size=(n_clusters, n_years))
    x = np.empty_like(shocks)
    x[:, 0] = shocks[:, 0]
    for t in range(1, n_years):
        x[:, t] = 0.7 * x[:, t - 1] + math.sqrt(1 - 0.49) * shocks[:, t]
    x = x.ravel() + np.repeat(rng.normal(size=n_clusters), n_years)
    year_effect = rng.normal(0, 0.3, n_years)[year - 2000]
    eta = -5.0 + 4.0 * rival + year_effect + effect * x
    y = (rng.random(len(eta)) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame({"unit": unit, "year": year, "x": x, "rival": rival, "y": y})


LOGIT = CountModelSpec(
    outcome="y",
    predictors=("x",),
    controls=("rival",),
    family="logit",
    fixed_effects=("year",),
    cov="cluster",
    cluster="unit",
)


def test_wald_matches_the_models_module_for_each_family():
    frame = logit_panel(1, effect=0.5)
    problem = ci._problem(frame, LOGIT, "x", "year")
    expected = models.fit_spec(frame, LOGIT).term("x")
    wald = ci._wald(problem)
    assert wald.estimate == pytest.approx(expected["estimate"], abs=1e-7)
    assert wald.std_error == pytest.approx(expected["std_error"], rel=1e-6)

    counts = poisson_panel(2, effect=0.3)
    problem = ci._problem(counts, POISSON, "x", "year")
    expected = models.fit_spec(counts, POISSON).term("x")
    wald = ci._wald(problem)
    assert wald.estimate == pytest.approx(expected["estimate"], abs=1e-7)
    assert wald.std_error == pytest.approx(expected["std_error"], rel=1e-6)

    binary = clogit_panel(3, effect=0.8)
    problem = ci._problem(binary, CLOGIT, "x", "year")
    expected = models.fit_spec(binary, CLOGIT).term("x")
    wald = ci._wald(problem)
    assert wald.estimate == pytest.approx(expected["estimate"], abs=1e-7)
    assert wald.std_error == pytest.approx(expected["std_error"], rel=1e-6)


def poisson_panel(seed: int, effect: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_clusters, n_years = 10, 12
    unit = np.repeat([f"C{i}" for i in range(n_clusters)], n_years)
    year = np.tile(np.arange(2000, 2000 + n_years), n_clusters)
    level = np.repeat(np.where(np.arange(n_clusters) < 3, 1.0, -3.0), n_years)
    x = rng.normal(size=len(unit)) + np.repeat(rng.normal(size=n_clusters), n_years)
    y = rng.poisson(np.exp(level + effect * x + rng.normal(0, 0.2, n_years)[year - 2000]))
    return pd.DataFrame({"unit": unit, "year": year, "x": x, "y": y.astype(float)})


POISSON = CountModelSpec(
    outcome="y",
    predictors=("x",),
    family="poisson",
    fixed_effects=("unit", "year"),
    cov="cluster",
    cluster="unit",
)


def clogit_panel(seed: int, effect: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_clusters, n_years = 9, 12
    unit = np.repeat([f"K{i}" for i in range(n_clusters)], n_years)
    year = np.tile(np.arange(2000, 2000 + n_years), n_clusters)
    x = rng.normal(size=len(unit))
    alpha = np.repeat(rng.normal(-0.5, 1.0, n_clusters), n_years)
    y = (rng.random(len(unit)) < 1 / (1 + np.exp(-(alpha + effect * x)))).astype(float)
    return pd.DataFrame({"unit": unit, "year": year, "x": x, "y": y})


CLOGIT = CountModelSpec(
    outcome="y",
    predictors=("x",),
    family="clogit",
    fixed_effects=("unit", "year"),
    cov="cluster",
    cluster="unit",
)


def test_restricted_fit_at_the_estimate_has_zero_score_for_every_family():
    """At b0 = b-hat the restricted fit is the full fit (checks the clogit offset), so the
    focal score is zero and every bootstrap draw is at least as extreme: p = 1."""
    for frame, spec in (
        (logit_panel(4, 0.5), LOGIT),
        (poisson_panel(5, 0.3), POISSON),
        (clogit_panel(6, 0.8), CLOGIT),
    ):
        problem = ci._problem(frame, spec, "x", "year")
        wald = ci._wald(problem)
        restricted = ci._restricted(problem, wald.estimate)
        assert restricted.converged
        assert abs(restricted.scores.sum()) < 1e-6 * np.abs(restricted.scores).max()
        if spec.family == "clogit":
            nuisance = np.delete(wald.params, problem.j)
            np.testing.assert_allclose(restricted.nuisance, nuisance, atol=1e-6)


TINY = LOGIT.without("rival")  # two of its five clusters have no event: no rival term


def _brute_force_p(frame: pd.DataFrame, points: np.ndarray) -> float:
    """Two-sided score bootstrap p of x = 0 computed from scratch: statsmodels' restricted
    logit, the weighted projection of x, and every weight vector by itertools."""
    design = models.build_design(frame, TINY)
    Z = design.X.drop(columns=["x"]).to_numpy()
    x = design.X["x"].to_numpy()
    fit = sm.Logit(design.y, Z).fit(disp=0, method="newton", tol=1e-12, maxiter=100)
    mu = fit.predict()
    w = mu * (1 - mu)
    x_tilde = x - Z @ np.linalg.solve((Z.T * w) @ Z, (Z.T * w) @ x)
    units = frame.loc[design.X.index, "unit"].to_numpy()
    scores = pd.Series(x_tilde * (design.y - mu)).groupby(units).sum().to_numpy()
    observed = scores.sum() / math.sqrt((scores**2).sum())
    hits = 0
    vectors = list(itertools.product(points, repeat=len(scores)))
    for v in vectors:
        v = np.array(v)
        t = (v @ scores) / math.sqrt(((v * scores) ** 2).sum())
        hits += abs(t) >= abs(observed) - 1e-9
    return hits / len(vectors)


def test_enumerated_p_equals_brute_force_on_a_tiny_panel():
    frame = logit_panel(7, effect=0.4, n_clusters=5, n_years=12, event_clusters=3)
    webb = ci.score_bootstrap(frame, TINY, key="tiny", ci=False, size=False)
    assert webb.enumerated and webb.weights == "webb" and webb.n_vectors == 6**5
    assert webb.p_mc_se == 0.0
    assert webb.p_value == pytest.approx(_brute_force_p(frame, ci._WEBB), abs=1e-12)
    signs = ci.score_bootstrap(frame, TINY, key="tiny", weights="rademacher", ci=False, size=False)
    assert signs.enumerated and signs.n_vectors == 2**5
    assert signs.p_value == pytest.approx(_brute_force_p(frame, np.array([-1.0, 1.0])))


def _rejections(effect: float, n_panels: int, first_seed: int) -> tuple[float, float]:
    """Rejection rates at 5% of the score bootstrap and the cluster-robust Wald test, over the
    panels whose logit has a finite maximum (a few, with no event outside the rivals, do not)."""
    boot = wald = fitted = 0
    for seed in range(first_seed, first_seed + n_panels):
        frame = logit_panel(seed, effect)
        try:
            result = ci.score_bootstrap(
                frame, LOGIT, key=f"sim{seed}", n_boot=399, ci=False, size=False
            )
        except ModelError:
            continue
        fitted += 1
        boot += result.p_value < 0.05
        wald += result.wald_p < 0.05
    assert fitted >= 0.9 * n_panels
    return boot / fitted, wald / fitted


def test_score_bootstrap_holds_size_with_few_event_clusters():
    """150 panels under b = 0, 40 clusters of which about 7 carry the events (4 'rivals'):
    the bootstrap's rejection rate stays within 2.5 Monte Carlo s.e. (0.018) of 5%, where
    the cluster-robust Wald test rejects about 18% (400 panels: bootstrap 5.7%)."""
    n = 150
    boot, wald = _rejections(0.0, n, first_seed=1000)
    se = math.sqrt(0.05 * 0.95 / n)
    print(f"size at 5% over {n} panels: bootstrap {boot:.3f}, Wald {wald:.3f} (MC s.e. {se:.3f})")
    assert boot <= 0.05 + 2.5 * se


def test_score_bootstrap_detects_a_known_effect():
    """b = 0.6 per unit of x (x has s.d. about 1.4): the test rejects in most panels (about
    70% in 120 panels, the Wald test 89%)."""
    boot, _ = _rejections(0.6, 40, first_seed=300)
    print(f"power at b = 0.6 over 40 panels: {boot:.3f}")
    assert boot >= 0.5


def test_inverted_interval_covers_the_truth_at_about_the_nominal_rate():
    truth, n, covered, widths = 0.6, 40, 0, []
    for seed in range(500, 500 + n):
        result = ci.score_bootstrap(
            logit_panel(seed, truth), LOGIT, key=f"ci{seed}", n_boot=399, size=False
        )
        covered += result.ci_low <= truth <= result.ci_high
        widths.append(result.ci_high - result.ci_low)
        assert result.ci_low < result.estimate < result.ci_high
    print(f"coverage of b = {truth}: {covered}/{n}; median width {np.median(widths):.3f}")
    assert covered / n >= 0.85


def test_one_sided_test_gives_a_one_sided_interval():
    result = ci.score_bootstrap(
        logit_panel(9, 0.8), LOGIT, key="one", sided="greater", n_boot=399, size=False
    )
    assert result.ci_high == math.inf and math.isfinite(result.ci_low)
    assert "one-sided" in result.ci_method


def test_clusters_with_events_counts_event_clusters_and_clogit_variation():
    frame = logit_panel(10, 0.0)
    events = ci.events_by_cluster(frame, LOGIT)
    assert ci.clusters_with_events(frame, LOGIT) == int((events > 0).sum()) <= 12
    design = models.build_design(frame, LOGIT)
    assert ci.clusters_with_events(design) == int((events > 0).sum())
    binary = clogit_panel(11)
    varies = binary.groupby("unit")["y"].agg(lambda s: 0 < s.sum() < len(s))
    assert ci.clusters_with_events(binary, CLOGIT) == int(varies.sum())
    with pytest.raises(ConfigError, match="spec is needed"):
        ci.clusters_with_events(frame)


def test_leave_one_out_drops_the_event_clusters_and_the_case_dyad():
    labels = ["IND-PAK", "RUS-UKR", "ETH-ERI", "A-B", "C-D", "E-F", "TJK-KGZ", "G-H", "I-J"]
    frame = logit_panel(12, 0.5, n_clusters=9, event_clusters=3, labels=labels)
    frame.loc[frame["unit"] == "A-B", "y"] = 0.0  # a cluster certain to carry no event
    events = ci.events_by_cluster(frame, LOGIT)
    table = ci.leave_one_cluster_out(frame, LOGIT, key="loo", n_boot=199).to_frame()
    expected = {"none", "TJK-KGZ", *events.index[events > 0]}
    assert set(table["dropped"]) == expected and table["dropped"].is_unique
    assert table.loc[table["dropped"] == "TJK-KGZ", "case"].item()
    for _, row in table.iloc[1:].iterrows():
        subset = frame[frame["unit"] != row["dropped"]]
        if row["converged"]:
            refit = models.fit_spec(subset, LOGIT).term("x")
            assert row["estimate"] == pytest.approx(refit["estimate"], abs=1e-6)
            assert row["ratio"] == pytest.approx(refit["ratio"], rel=1e-6)
            assert row["events"] == events.get(row["dropped"], 0)
    full = ci.score_bootstrap(frame, LOGIT, key="loo", n_boot=199, ci=False, size=False)
    assert table.iloc[0]["p_bootstrap"] == full.p_value  # the same weights as the main test


def test_leave_one_out_names_case_countries_in_a_country_panel():
    labels = ["KGZ", "TJK", "UZB", "KAZ", "AFG", "IRN", "PAK", "IND", "CHN"]
    frame = clogit_panel(13).assign(
        unit=lambda f: f["unit"].map(dict(zip(sorted(f["unit"].unique()), labels)))
    )
    table = ci.leave_one_cluster_out(frame, CLOGIT, key="c", bootstrap=False).to_frame()
    assert {"KGZ", "TJK"} <= set(table["dropped"])
    assert set(table.loc[table["case"], "dropped"]) == {"KGZ", "TJK"}


def test_size_simulation_repeats_whatever_the_chunks_order():
    frame = logit_panel(14, 0.0)

    class Reversed:
        """An executor stand-in that runs the chunks last to first."""

        def map(self, fn, items):
            items = list(items)
            return list(reversed([fn(item) for item in reversed(items)]))

    first = ci.size_by_simulation(frame, LOGIT, key="s", n_sim=25, n_boot=99, chunk_size=10)
    second = ci.size_by_simulation(
        frame, LOGIT, key="s", n_sim=25, n_boot=99, chunk_size=10, mapper=Reversed()
    )
    assert first == second
    assert 0 <= first.wald_size <= 1 and first.wald_size_mc_se >= 0
    other = ci.size_by_simulation(frame, LOGIT, key="t", n_sim=25, n_boot=99, chunk_size=10)
    assert other != first


def test_latent_draws_have_the_stated_autocorrelation():
    clusters = np.repeat(np.arange(200), 30)
    periods = np.tile(np.arange(30.0), 200)
    latent = ci._latent(np.random.default_rng(0), 2, clusters, periods, 0.6)
    assert latent.std() == pytest.approx(1.0, abs=0.03)
    assert ci.residual_autocorrelation(latent, clusters, periods) == pytest.approx(
        [0.6, 0.6], abs=0.03
    )


def test_bad_options_are_refused():
    frame = logit_panel(15)
    with pytest.raises(ConfigError, match="weights must be one of"):
        ci.score_bootstrap(frame, LOGIT, key="k", weights="mammen", ci=False, size=False)
    with pytest.raises(ConfigError, match="fixed-effects panels"):
        ci.score_bootstrap(frame, CountModelSpec(outcome="y", predictors=("x",)), key="k")


@pytest.fixture(scope="module")
def real_tables():
    return hypotheses.Tables.load()


@pytest.mark.parametrize("hypothesis_id", ["H2_global_dyad_milex", "H1_global_dyad_gdppc"])
def test_registered_dyad_entries_have_few_event_clusters(real_tables, hypothesis_id):
    spec = registry.get(hypothesis_id).on("ucdp")
    prepared = hypotheses.prepare(spec, real_tables)
    frame, model_spec = prepared.panel.frame, prepared.design.spec
    result = ci.score_bootstrap(
        frame, model_spec, key=hypothesis_id, sided=spec.sided, n_boot=999, ci=False, size=False
    )
    model = models.fit_spec(frame, model_spec)
    print(
        f"{hypothesis_id}: {result.clusters_with_events} of {result.n_clusters} clusters carry "
        f"events; Wald p {result.wald_p:.4f}; score bootstrap p {result.p_value:.4f} "
        f"(MC s.e. {result.p_mc_se:.4f}, {result.weights})"
    )
    assert 2 <= result.clusters_with_events < ci.FEW_CLUSTERS and result.few_clusters
    wald = model.term(spec.focal)["p_value"]
    assert result.wald_p == pytest.approx(wald)
    assert 0 < result.p_value < 1 and 0 < result.p_mc_se < 0.02
