"""Few-cluster inference for the global panels: known effects recovered on simulated panels
with few clusters carrying the events, exact enumeration against brute force, the
leave-one-cluster-out table, and smoke tests on the registered global dyad entries."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis.errors import ConfigError, ModelError
from analysis.inference import clusters as ci
from analysis.inference.small_sample import invert, rejects
from analysis.models.design import build_design
from analysis.models.fit import fit_spec
from analysis.models.spec import CountModelSpec
from analysis.study import hypotheses, registry


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
    expected = fit_spec(frame, LOGIT).term("x")
    wald = ci._wald(problem)
    assert wald.estimate == pytest.approx(expected["estimate"], abs=1e-7)
    assert wald.std_error == pytest.approx(expected["std_error"], rel=1e-6)

    counts = poisson_panel(2, effect=0.3)
    problem = ci._problem(counts, POISSON, "x", "year")
    expected = fit_spec(counts, POISSON).term("x")
    wald = ci._wald(problem)
    assert wald.estimate == pytest.approx(expected["estimate"], abs=1e-7)
    assert wald.std_error == pytest.approx(expected["std_error"], rel=1e-6)

    binary = clogit_panel(3, effect=0.8)
    problem = ci._problem(binary, CLOGIT, "x", "year")
    expected = fit_spec(binary, CLOGIT).term("x")
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
        np.testing.assert_allclose(restricted.params, wald.params, atol=1e-6)


TINY = LOGIT.without("rival")  # two of its five clusters have no event: no rival term


def _brute_force_p(frame: pd.DataFrame, points: np.ndarray) -> float:
    """Two-sided score bootstrap p of x = 0 computed from scratch: statsmodels' restricted
    logit, the weighted projection of x, and every weight vector by itertools."""
    design = build_design(frame, TINY)
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
    webb = ci.score_bootstrap(frame, TINY, key="tiny", ci=False)
    assert webb.test.n_draws is None and "webb weights, every sign vector" in webb.test.label
    assert webb.test.p_mc_se is None and webb.test.min_attainable_p == 1 / 6**5
    assert webb.test.p_value == pytest.approx(_brute_force_p(frame, ci._WEBB), abs=1e-12)
    signs = ci.score_bootstrap(frame, TINY, key="tiny", weights="rademacher", ci=False)
    assert signs.test.n_draws is None and signs.test.min_attainable_p == 1 / 2**5
    assert signs.test.p_value == pytest.approx(_brute_force_p(frame, np.array([-1.0, 1.0])))


def _rejections(effect: float, n_panels: int, first_seed: int) -> tuple[float, float]:
    """Rejection rates at 5% of the score bootstrap and the cluster-robust Wald test, over the
    panels whose logit has a finite maximum (a few, with no event outside the rivals, do not)."""
    boot = wald = fitted = 0
    for seed in range(first_seed, first_seed + n_panels):
        frame = logit_panel(seed, effect)
        try:
            result = ci.score_bootstrap(frame, LOGIT, key=f"sim{seed}", n_boot=399, ci=False)
        except ModelError:
            continue
        fitted += 1
        boot += rejects(result.test.p_value, 0.05)
        wald += rejects(result.wald_p, 0.05)
    assert fitted >= 0.9 * n_panels
    return boot / fitted, wald / fitted


@pytest.mark.slow
def test_score_bootstrap_holds_size_with_few_event_clusters():
    """150 panels under b = 0, 40 clusters of which about 7 carry the events (4 'rivals'):
    the bootstrap's rejection rate stays within 2.5 Monte Carlo s.e. (0.018) of 5%, where
    the cluster-robust Wald test rejects about 18% (400 panels: bootstrap 5.7%)."""
    n = 150
    boot, wald = _rejections(0.0, n, first_seed=1000)
    se = math.sqrt(0.05 * 0.95 / n)
    print(f"size at 5% over {n} panels: bootstrap {boot:.3f}, Wald {wald:.3f} (MC s.e. {se:.3f})")
    assert boot <= 0.05 + 2.5 * se


@pytest.mark.slow
def test_score_bootstrap_detects_a_known_effect():
    """b = 0.6 per unit of x (x has s.d. about 1.4): the test rejects in most panels (about
    70% in 120 panels, the Wald test 89%)."""
    boot, _ = _rejections(0.6, 40, first_seed=300)
    print(f"power at b = 0.6 over 40 panels: {boot:.3f}")
    assert boot >= 0.5


@pytest.mark.slow
def test_inverted_interval_covers_the_truth_at_about_the_nominal_rate():
    truth, n, covered, widths = 0.6, 40, 0, []
    for seed in range(500, 500 + n):
        result = ci.score_bootstrap(logit_panel(seed, truth), LOGIT, key=f"ci{seed}", n_boot=399)
        covered += result.interval.low <= truth <= result.interval.high
        widths.append(result.interval.high - result.interval.low)
        assert result.interval.low < result.estimate < result.interval.high
    print(f"coverage of b = {truth}: {covered}/{n}; median width {np.median(widths):.3f}")
    assert covered / n >= 0.85


def test_one_sided_test_gives_a_one_sided_interval():
    result = ci.score_bootstrap(logit_panel(9, 0.8), LOGIT, key="one", sided="greater", n_boot=399)
    assert result.interval.high == math.inf and math.isfinite(result.interval.low)
    assert "one-sided" in result.interval.note


def test_clusters_with_events_counts_event_clusters_and_clogit_variation():
    frame = logit_panel(10, 0.0)
    events = ci.events_by_cluster(frame, LOGIT)
    assert ci.clusters_with_events(frame, LOGIT) == int((events > 0).sum()) <= 12
    design = build_design(frame, LOGIT)
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
            refit = fit_spec(subset, LOGIT).term("x")
            assert row["estimate"] == pytest.approx(refit["estimate"], abs=1e-6)
            assert row["ratio"] == pytest.approx(refit["ratio"], rel=1e-6)
            assert row["events"] == events.get(row["dropped"], 0)
    full = ci.score_bootstrap(frame, LOGIT, key="loo", n_boot=199, ci=False)
    assert table.iloc[0]["p_bootstrap"] == full.test.p_value  # the main test's weights


def test_leave_one_out_names_case_countries_in_a_country_panel():
    labels = ["KGZ", "TJK", "UZB", "KAZ", "AFG", "IRN", "PAK", "IND", "CHN"]
    frame = clogit_panel(13).assign(
        unit=lambda f: f["unit"].map(dict(zip(sorted(f["unit"].unique()), labels)))
    )
    table = ci.leave_one_cluster_out(frame, CLOGIT, key="c", bootstrap=False).to_frame()
    assert {"KGZ", "TJK"} <= set(table["dropped"])
    assert set(table.loc[table["case"], "dropped"]) == {"KGZ", "TJK"}


class Reversed:
    """An executor stand-in that runs the chunks last to first."""

    def map(self, fn, items):
        items = list(items)
        return list(reversed([fn(item) for item in reversed(items)]))


def test_size_simulation_repeats_whatever_the_chunks_order():
    frame = logit_panel(14, 0.0)
    first = ci.size_by_simulation(frame, LOGIT, key="s", n_sim=30, n_boot=99)
    second = ci.size_by_simulation(frame, LOGIT, key="s", n_sim=30, n_boot=99, mapper=Reversed())
    assert first == second
    assert 0 <= first.size <= 1 and first.mc_se >= 0 and first.n_sims >= 30
    other = ci.size_by_simulation(frame, LOGIT, key="t", n_sim=30, n_boot=99)
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
        ci.score_bootstrap(frame, LOGIT, key="k", weights="mammen", ci=False)
    with pytest.raises(ConfigError, match="fixed-effects panels"):
        ci.score_bootstrap(frame, CountModelSpec(outcome="y", predictors=("x",)), key="k")


@pytest.mark.slow
@pytest.mark.parametrize("hypothesis_id", ["H2_global_dyad_milex", "H1_global_dyad_gdppc"])
def test_registered_dyad_entries_have_few_event_clusters(shipped_tables, hypothesis_id):
    spec = registry.get(hypothesis_id).on("ucdp")
    prepared = hypotheses.prepare(spec, shipped_tables)
    frame, model_spec = prepared.panel.frame, prepared.design.spec
    result = ci.score_bootstrap(
        frame, model_spec, key=hypothesis_id, sided=spec.sided, n_boot=999, ci=False
    )
    model = fit_spec(frame, model_spec)
    print(
        f"{hypothesis_id}: {result.clusters_with_events} of {result.n_clusters} clusters carry "
        f"events; Wald p {result.wald_p:.4f}; {result.test.label} p {result.test.p_value:.4f} "
        f"(MC s.e. {result.test.p_mc_se:.4f})"
    )
    assert 2 <= result.clusters_with_events < ci.FEW_CLUSTERS and result.few_clusters
    wald = model.term(spec.focal)["p_value"]
    assert result.wald_p == pytest.approx(wald)
    assert 0 < result.test.p_value < 1 and 0 < result.test.p_mc_se < 0.02


# --------------------------------------------------------------------------- one rejection rule


def test_a_bootstrap_p_exactly_at_the_level_rejects_in_every_path():
    """5 of 100 weight vectors as extreme as the data: p is exactly 0.05, and it rejects in
    the interval search and in the size and power counts (``p <= level`` everywhere)."""
    scores = np.array([1.0, 1.0, 1.0])
    matrix = np.array([[1.0, 1.0, 1.0]] * 5 + [[1.0, 1.0, -1.0]] * 95)
    p, _ = ci._bootstrap_p(scores, ci._Weights("rademacher", False, matrix), "two-sided")
    assert p == 0.05 and rejects(p, 0.05)
    interval = invert(
        lambda b: np.where(np.abs(b) > 1.5, 0.05, 0.5), 0.0, 1.0, method="edge", limit=64.0
    )
    assert interval.note == "" and 1.5 <= interval.high < 2.0  # rejected at 2: a finite bound

    simulation = ci.Simulation(logit_panel(16, 0.0), LOGIT, key="edge", n_boot=99)
    outcome = ci._Outcome(
        reported=np.array([0.05, 0.5]), wald=np.array([0.05, 0.5]), ok=np.ones(2, bool),
        full=np.zeros((2, 1)), null=np.zeros((2, 1)), events=np.ones(2),
        bootstrapped=np.ones(2, bool),
    )  # fmt: skip
    simulation.run = lambda effect, n, mapper=map: outcome
    assert simulation.size(2).size == 0.5
    power = simulation.power(2, multiplier=1.0, direction=1.0, guess=2.0, target=0.5)
    assert (power.curve["power"] == 0.5).all() and power.achieved


# --------------------------------------------------------------------------- simulation


def lagged_panel(seed: int, effect: float = 0.0, n_clusters: int = 40, n_years: int = 15):
    """``logit_panel`` with the outcome's own lag (``y_lag1``, read from the year before the
    panel's first, as the global panels read it from the source's history)."""
    frame = logit_panel(seed, effect, n_clusters, n_years + 1)
    frame["y_lag1"] = frame.groupby("unit")["y"].shift(1)
    return frame.dropna(subset=["y_lag1"]).reset_index(drop=True)


LAGGED = CountModelSpec(
    outcome="y",
    predictors=("x",),
    controls=("rival", "y_lag1"),
    family="logit",
    fixed_effects=("year",),
    cov="cluster",
    cluster="unit",
)


def test_simulated_panels_rebuild_the_outcome_lag():
    """Each simulated panel's lag is its own previous year's outcome; where the year before
    lies outside the sample (the first year, or a year the year effects drop for want of
    events) it is the observed lag."""
    frame = lagged_panel(17)
    simulation = ci.Simulation(frame, LAGGED, key="lags", n_boot=99)
    problem = simulation.problem
    latent = ci._latent(np.random.default_rng(0), 3, problem.clusters, problem.periods, 0.3)
    Y, lags, _ = ci._draw(problem, simulation.generators[0.0], latent)
    previous = problem.previous[0]
    inside = previous >= 0
    np.testing.assert_array_equal(lags[:, 0, inside], Y[:, previous[inside]])
    observed = problem.X[:, problem.lags[0]]
    np.testing.assert_array_equal(
        lags[:, 0, ~inside], np.broadcast_to(observed[~inside], (3, (~inside).sum()))
    )
    used = frame.loc[build_design(frame, LAGGED).X.index]
    pairs = set(zip(used["unit"], used["year"]))
    first = [(u, t - 1) not in pairs for u, t in zip(used["unit"], used["year"])]
    np.testing.assert_array_equal(~inside, first)  # the year before is outside the sample


@pytest.mark.slow
def test_power_rises_with_the_effect_and_repeats_on_forked_workers():
    """Size and power of the reported test (the score bootstrap here: few clusters carry
    events) on the same panels at every effect: the curve rises, the MDE is one of its
    points, and forked workers give the same numbers as this process."""
    from analysis import executors

    frame = lagged_panel(18)

    def calibrate(mapper):
        simulation = ci.Simulation(frame, LAGGED, key="power", n_boot=99)
        size = simulation.size(50, mapper)
        power = simulation.power(50, multiplier=1.0, direction=1.0, guess=2.0, mapper=mapper)
        return size, power

    size, power = calibrate(map)
    curve = power.curve.sort_values("effect")
    assert power.reachable and power.n_sims == 50 and size.n_sims - size.n_failed >= 50
    assert curve["power"].iloc[-1] > curve["power"].iloc[0]
    if power.achieved:
        assert power.mde in set(curve["effect"])
        assert curve.loc[curve["effect"] == power.mde, "power"].item() >= 0.8
    with executors.open("fork", jobs=2) as fork:
        forked_size, forked_power = calibrate(fork.map)
    assert forked_size == size
    pd.testing.assert_frame_equal(forked_power.curve, power.curve)


def test_power_is_not_reachable_when_the_test_cannot_reach_the_level():
    simulation = ci.Simulation(logit_panel(19, 0.0), LOGIT, key="floor", n_boot=99)
    power = simulation.power(50, multiplier=1.0, direction=1.0, guess=2.0, min_attainable_p=1 / 32)
    assert power.reachable and simulation.outcomes  # 1/32 < 0.05: searched
    floor = ci.Simulation(logit_panel(19, 0.0), LOGIT, key="floor", n_boot=99)
    unreachable = floor.power(50, multiplier=1.0, direction=1.0, guess=2.0, min_attainable_p=1 / 16)
    assert not unreachable.reachable and not unreachable.achieved
    assert "0.062 > 0.05" in unreachable.reason and not floor.outcomes  # nothing simulated


def test_a_quasi_separated_lag_leaves_the_fit_of_the_other_rows():
    """Where every kept row with a lagged event has an event, the lag coefficient has no
    finite maximum; the fit goes to the supremum (the limit statsmodels reports), where the
    focal estimate is the one fitted without those rows."""
    frame = lagged_panel(20, 0.5)
    frame.loc[frame["y_lag1"] == 1, "y"] = 1.0
    problem = ci._problem(frame, LAGGED, "x", "year")
    fits = ci._fits(problem, problem.y[None], np.zeros((1, problem.k)))
    params, converged = fits.params, fits.converged
    assert converged[0] and params[0, problem.names.index("y_lag1")] > 20
    rest = frame[frame["y_lag1"] == 0]
    alone = fit_spec(rest, LAGGED.without("y_lag1")).term("x")["estimate"]
    assert params[0, problem.j] == pytest.approx(alone, abs=1e-6)


def test_power_points_with_events_unlike_the_data_are_left_out():
    """Where the drawn panels carry more than twice the observed events (a lag making onsets
    persist), the point has no power; the search stops there and says so."""
    simulation = ci.Simulation(logit_panel(21, 0.0), LOGIT, key="unlike", n_boot=99)
    observed = simulation.problem.y.sum()

    def run(effect, n, mapper=map):
        events = np.full(n, observed * (3.0 if effect > 0.5 else 1.0))
        p = np.full(n, 0.5)  # never rejects
        return ci._Outcome(p, p, np.ones(n, bool), np.zeros((n, 1)), np.zeros((n, 1)), events,
                           np.zeros(n, bool))  # fmt: skip

    simulation.run = run
    power = simulation.power(10, multiplier=1.0, direction=1.0, guess=1.2)
    assert power.reachable and not power.achieved
    assert "times the observed events" in power.reason and power.search_limit < math.exp(0.5)
    curve = power.curve
    assert curve.loc[curve["log_effect"] > 0.5, "power"].isna().all()
    assert (curve.loc[curve["log_effect"] <= 0.5, "power"] == 0).all()
