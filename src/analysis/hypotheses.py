"""The registry of testable claims (``hypotheses.toml``) and the test of each one.

A registry entry is data: the claim in words, its outcome, predictors, lags, model, expected
sign and sidedness, and its multiplicity family. This module validates entries (an unknown key
names the closest valid one), turns one into a panel and a model spec, and tests it with the
asymptotic p-value, a small-sample p-value (block permutation, or placebo dates for a dated
step) and a simulated minimum detectable effect. ``test_all`` then corrects for multiplicity:
Holm within each family, Benjamini-Hochberg across all registered tests of the same scope.

Scope. An entry is ``case`` (default: the Kyrgyz-Tajik period panel) or ``global`` (the same
claim on the world's states, ``global_panel``: country-years or contiguous dyad-years with unit
and year fixed effects and errors clustered by unit). One registry, one ``test_hypothesis``: the
scope decides which panel is built. Global entries are tested with cluster-robust Wald
p-values (``inference = "cluster_robust"``), so their ``p_small_sample`` *is* that p-value:
with 60-300 clusters the normal approximation is sound, while a permutation would have to
refit a fixed-effects model per draw and keep each country's history intact. Their MDE is
analytic (:func:`analytic_mde`, from the cluster-robust standard error) rather than simulated.
Global families are separate from the case families, and the Benjamini-Hochberg correction
runs within each scope, so adding global entries leaves every case result unchanged.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from . import inference
from .errors import AnalysisError, ConfigError
from .global_panel import GlobalOutcomeSpec, GlobalPanel, build_global_panel
from .models import BINARY_FAMILIES, CountModelResult, CountModelSpec, fit_spec
from .panel import OutcomeSpec, Panel, PredictorSpec, build_panel
from .results import HypothesisResult, MDEResult

REGISTRY_PATH = Path(__file__).with_name("hypotheses.toml")
SIGNS = {"positive": "+", "negative": "-", "none": None}
INFERENCE = ("permutation", "placebo_dates", "cluster_robust")
SCOPES = ("case", "global")


@dataclass(frozen=True)
class HypothesisSpec:
    """One registered claim, validated; ``replace``-able for robustness variants."""

    id: str
    statement: str
    family: str
    frequency: str
    window: tuple[str, str]
    outcome: OutcomeSpec | GlobalOutcomeSpec
    focal: str
    rationale: str
    predictors: tuple[PredictorSpec, ...] = ()
    steps: tuple[tuple[str, str], ...] = ()
    outcome_lags: tuple[int, ...] = ()
    calendar: tuple[str, ...] = ()
    exclude_years: tuple[int, ...] = ()
    exposure: str | None = None
    trend: bool = True
    season: str | None = None
    model: str = "negbin"
    cov: str = "hac"
    expected_sign: str = "none"
    sided: str = "two-sided"
    inference: str = "permutation"
    scope: str = "case"
    region: str = ""  # global scope: keep units (both states of a dyad) in this World Bank region
    fixed_effects: tuple[str, ...] = ()
    cluster: str | None = None

    def __post_init__(self):
        if self.scope not in SCOPES:
            raise ConfigError(f"{self.id}: scope '{self.scope}' is not one of {list(SCOPES)}")
        if isinstance(self.outcome, GlobalOutcomeSpec) != (self.scope == "global"):
            raise ConfigError(f"{self.id}: a {self.scope} entry needs a {self.scope} outcome")
        if (self.inference == "cluster_robust") != (self.scope == "global"):
            raise ConfigError(
                f"{self.id}: inference 'cluster_robust' is for global entries, and "
                "global entries use it (fixed-effects panels, clustered by unit)"
            )
        if self.expected_sign not in SIGNS:
            raise ConfigError(
                f"{self.id}: expected_sign '{self.expected_sign}' is not one of {list(SIGNS)}"
            )
        if self.inference not in INFERENCE:
            raise ConfigError(
                f"{self.id}: inference '{self.inference}' is not one of {list(INFERENCE)}"
            )
        if self.focal not in self.terms:
            raise ConfigError(
                f"{self.id}: focal term '{self.focal}' is none of the entry's terms {list(self.terms)}"
            )
        if self.inference == "placebo_dates" and self.focal not in dict(self.steps):
            raise ConfigError(
                f"{self.id}: inference 'placebo_dates' needs the focal term to be a step"
            )
        self.model_spec()  # model, cov, season names are checked by the model layer

    @property
    def terms(self) -> tuple[str, ...]:
        """Every panel column entering the model: predictors, steps, calendar terms, lagged outcomes."""
        lags = tuple(f"{self.outcome.column}_lag{k}" for k in self.outcome_lags)
        steps = tuple(name for name, _ in self.steps)
        return tuple(p.column for p in self.predictors) + steps + self.calendar + lags

    def model_spec(self) -> CountModelSpec:
        return CountModelSpec(
            outcome=self.outcome.column,
            predictors=(self.focal,),
            controls=tuple(t for t in self.terms if t != self.focal),
            family=self.model,
            trend=self.trend,
            season=self.season,
            exposure=self.exposure,
            cov=self.cov,
            cluster=self.cluster,
            fixed_effects=self.fixed_effects,
            dropna=True,
        )

    @property
    def needs(self) -> list[str]:
        """The data this test reads, in words (for `hypotheses list` and missing-data errors)."""
        if self.scope == "global":
            needs = [
                f"conflict_years: UCDP ACD {self.outcome.acd_version}, BRD {self.outcome.brd_version}",
                "states: Gleditsch-Ward list",
                "countries: crosswalk",
            ]
            needs += (
                [f"contiguity: {self.outcome.contiguity}"] if self.outcome.unit == "dyad" else []
            )
        else:
            needs = [f"incidents: {self.outcome.source} {self.outcome.dyad}"]
        needs += [f"indicators: {p.indicator} ({p.iso3})" for p in self.predictors]
        return needs

    def with_overrides(self, **overrides: Any) -> HypothesisSpec:
        """A variant of this spec (notebook parameters, robustness runs); checked like an entry.

        Accepts the spec's own fields plus ``lag`` (sets every predictor's lag) and ``start`` /
        ``end`` (the sample window).
        """
        overrides = {k: v for k, v in overrides.items() if v is not None}
        if "lag" in overrides:
            lag = int(overrides.pop("lag"))
            overrides["predictors"] = tuple(replace(p, lag=lag) for p in self.predictors)
        if "start" in overrides or "end" in overrides:
            overrides["window"] = (
                str(overrides.pop("start", self.window[0])),
                str(overrides.pop("end", self.window[1])),
            )
        _check_keys(overrides, {f.name for f in fields(self)}, f"override of {self.id}")
        return replace(self, **overrides)


@dataclass(frozen=True)
class Tables:
    """The canonical tables a test reads (from ``datasets.load``). Case entries need the first
    two; global entries also the UCDP conflict years, the state list, the country crosswalk
    and (dyads) contiguity."""

    incidents: pd.DataFrame
    indicators: pd.DataFrame
    conflict_years: pd.DataFrame | None = None
    states: pd.DataFrame | None = None
    countries: pd.DataFrame | None = None
    contiguity: pd.DataFrame | None = None

    @classmethod
    def load(cls, folder=None) -> Tables:
        """Every table any registered test reads, from the shipped data (checksums verified)."""
        from . import datasets

        return cls(**{f.name: datasets.load(f.name, folder) for f in fields(cls)})

    def require(self, names: list[str], hypothesis_id: str) -> None:
        absent = [name for name in names if getattr(self, name) is None]
        if absent:
            raise ConfigError(
                f"{hypothesis_id} needs the table(s) {absent}: pass them in Tables "
                "(Tables.load() reads every shipped table)"
            )


def _check_keys(given, allowed, where: str) -> None:
    for key in given:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; valid keys: {sorted(allowed)}"
            raise ConfigError(f"{where}: unknown key '{key}'{hint}")


_ENTRY_KEYS = {f.name for f in fields(HypothesisSpec)} - {"id"}
_OUTCOME_SPECS = {"case": OutcomeSpec, "global": GlobalOutcomeSpec}
_PREDICTOR_KEYS = {f.name for f in fields(PredictorSpec)}


TABLES = tuple(f.name for f in fields(Tables))  # every table a registered test may read


def parse_entry(entry_id: str, entry: dict[str, Any]) -> HypothesisSpec:
    """Validate one registry entry and build its spec; every error names the entry and key."""
    where = f"hypothesis {entry_id}"
    _check_keys(entry, _ENTRY_KEYS, where)
    missing = sorted(
        {"statement", "family", "frequency", "window", "outcome", "focal", "rationale"} - set(entry)
    )
    if missing:
        raise ConfigError(f"{where}: missing key(s) {missing}")
    scope = entry.get("scope", "case")
    if scope not in _OUTCOME_SPECS:
        raise ConfigError(f"{where}: scope '{scope}' is not one of {list(SCOPES)}")
    outcome_spec = _OUTCOME_SPECS[scope]
    _check_keys(entry["outcome"], {f.name for f in fields(outcome_spec)}, f"{where}, outcome")
    for predictor in entry.get("predictors", []):
        _check_keys(predictor, _PREDICTOR_KEYS, f"{where}, predictor")
    window = entry["window"]
    if not (
        isinstance(window, list) and len(window) == 2 and all(isinstance(w, str) for w in window)
    ):
        raise ConfigError(
            f"{where}: window must be [first, last] as text periods, found {window!r}"
        )
    try:
        return HypothesisSpec(
            id=entry_id,
            **{
                **entry,
                "window": tuple(window),
                "outcome": _outcome(outcome_spec, entry["outcome"]),
                "predictors": tuple(PredictorSpec(**p) for p in entry.get("predictors", [])),
                "steps": tuple(sorted(entry.get("steps", {}).items())),
                "outcome_lags": tuple(entry.get("outcome_lags", ())),
                "calendar": tuple(entry.get("calendar", ())),
                "fixed_effects": tuple(entry.get("fixed_effects", ())),
            },
        )
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except ConfigError as exc:
        message = str(exc)
        raise ConfigError(
            message if message.startswith(entry_id) else f"{where}: {message}"
        ) from None


def _outcome(spec_class, entry: dict[str, Any]) -> OutcomeSpec | GlobalOutcomeSpec:
    """An outcome spec from its TOML table (lists become tuples, as the specs hold them)."""
    return spec_class(**{k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()})


def load_registry(path: Path = REGISTRY_PATH) -> dict[str, HypothesisSpec]:
    """Every registered hypothesis, in file order."""
    try:
        entries = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return {entry_id: parse_entry(entry_id, entry) for entry_id, entry in entries.items()}


def get(hypothesis_id: str, registry: dict[str, HypothesisSpec] | None = None) -> HypothesisSpec:
    registry = registry if registry is not None else load_registry()
    if hypothesis_id not in registry:
        close = difflib.get_close_matches(hypothesis_id, list(registry), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(
            f"unknown hypothesis '{hypothesis_id}'{hint} (registered: {', '.join(registry)})"
        )
    return registry[hypothesis_id]


def select(registry: dict[str, HypothesisSpec], names: list[str]) -> dict[str, HypothesisSpec]:
    """Entries named by id, or by id prefix ("H1" selects H1a..H1g); unknown names are errors."""
    chosen: dict[str, HypothesisSpec] = {}
    for name in names:
        matches = [hid for hid in registry if hid == name] or [
            hid for hid in registry if hid.startswith(name)
        ]
        if not matches:
            get(name, registry)  # raises with the closest id
        chosen.update({hid: registry[hid] for hid in matches})
    return chosen


def registry_frame(registry: dict[str, HypothesisSpec]) -> pd.DataFrame:
    """One row per hypothesis: what `analysis hypotheses list` prints."""
    return pd.DataFrame(
        [
            {
                "id": s.id,
                "scope": s.scope,
                "family": s.family,
                "freq": s.frequency,
                "window": "–".join(s.window),
                "focal": s.focal,
                "model": s.model,
                "expected": s.expected_sign,
                "sided": s.sided,
                "statement": s.statement,
            }
            for s in registry.values()
        ]
    )


def panel_for(spec: HypothesisSpec, tables: Tables) -> Panel | GlobalPanel:
    """The panel the entry's scope calls for (the case period panel, or a global unit-year
    panel); years in ``exclude_years`` lose their outcome (leave-one-year-out)."""
    if spec.scope == "global":
        needed = ["conflict_years", "states", "countries"] + (
            ["contiguity"] if spec.outcome.unit == "dyad" else []
        )
        tables.require(needed, spec.id)
        panel = build_global_panel(
            tables.conflict_years,
            tables.states,
            tables.countries,
            tables.indicators,
            tables.contiguity,
            start=int(spec.window[0]),
            end=int(spec.window[1]),
            outcome=spec.outcome,
            predictors=spec.predictors,
            outcome_lags=spec.outcome_lags,
        )
        if spec.region:
            panel = replace(
                panel, frame=_in_region(panel.frame, tables.countries, spec.region, spec.id)
            )
        years = panel.frame["year"]
    else:
        panel = build_panel(
            tables.incidents,
            tables.indicators,
            frequency=spec.frequency,
            start=spec.window[0],
            end=spec.window[1],
            outcome=spec.outcome,
            predictors=spec.predictors,
            steps=dict(spec.steps),
            outcome_lags=spec.outcome_lags,
            calendar=spec.calendar,
        )
        years = panel.frame.index.year
    if spec.exclude_years:
        frame = panel.frame.copy()
        frame.loc[np.asarray(years.isin(spec.exclude_years)), spec.outcome.column] = pd.NA
        panel = replace(panel, frame=frame)
    return panel


def _in_region(
    frame: pd.DataFrame, countries: pd.DataFrame, region: str, hypothesis_id: str
) -> pd.DataFrame:
    """Rows whose unit (every state of a dyad) lies in a World Bank region."""
    regions = dict(zip(countries["iso3"], countries["wb_region"]))
    known = sorted({r for r in regions.values() if isinstance(r, str)})
    if region not in known:
        raise ConfigError(
            f"{hypothesis_id}: region '{region}' is not a World Bank region; expected one of {known}"
        )
    inside = frame["unit"].map(
        lambda unit: all(regions.get(code) == region for code in unit.split("-"))
    )
    return frame[inside.to_numpy(dtype=bool)].reset_index(drop=True)


def fit_only(spec: HypothesisSpec, tables: Tables):
    """The spec's model without small-sample inference (robustness variants, diagnostics)."""
    return fit_spec(panel_for(spec, tables).frame, spec.model_spec())


@dataclass(frozen=True)
class TestSettings:
    """How much simulation each test gets; seeds derive from the hypothesis id."""

    n_perm: int = 999
    n_sim: int = 300
    power: float = 0.8
    min_segment: int | None = None

    __test__ = False  # not a pytest class


def block_length(nobs: int) -> int:
    """Blocks of about n^(1/3) periods (Hall, Horowitz & Jing 1995) keep short-range dependence."""
    return max(1, round(nobs ** (1 / 3)))


def test_hypothesis(
    spec: HypothesisSpec, tables: Tables, settings: TestSettings = TestSettings()
) -> HypothesisResult:
    """Estimate one hypothesis and attach its small-sample p-value and MDE."""
    panel = panel_for(spec, tables)
    model_spec = spec.model_spec()
    model = fit_spec(panel.frame, model_spec)
    seed = inference.seed_from(spec.id)
    notes = [f"outcome source covers {panel.coverage[0]}–{panel.coverage[1]}"]
    permutation = placebo = None
    frame, tested_spec = panel.frame, model_spec
    if spec.inference == "cluster_robust":
        notes += [
            f"p small-sample is the cluster-robust Wald p ({model.cov_label})",
            "MDE analytic, from the cluster-robust standard error",
            *panel.notes,
        ]
        return HypothesisResult(
            hypothesis_id=spec.id,
            model=model,
            term=spec.focal,
            sided=spec.sided,
            p_asymptotic=inference.asymptotic_pvalue(model, spec.focal, spec.sided),
            expected_sign=SIGNS[spec.expected_sign],
            notes=tuple(notes),
            mde=analytic_mde(
                model,
                frame,
                spec.focal,
                power=settings.power,
                alpha=model_spec.alpha,
                sided=spec.sided,
            ),
        )
    if spec.inference == "placebo_dates":
        # At least a year (or 3 years) on each side of a placebo break, fewer when the sample
        # is short (H2b has a dozen months with a stated fatality figure), never under 2.
        default = 12 if spec.frequency == "M" else 3
        min_segment = settings.min_segment or max(2, min(default, model.nobs // 4))
        placebo = inference.placebo_date_pvalue(
            frame, tested_spec, spec.focal, min_segment=min_segment, sided=spec.sided
        )
    else:
        permutation = inference.block_permutation_pvalue(
            frame,
            tested_spec,
            spec.focal,
            block_length=block_length(model.nobs),
            n_perm=settings.n_perm,
            seed=seed,
            sided=spec.sided,
        )
    mde = inference.minimum_detectable_effect(
        frame,
        tested_spec,
        spec.focal,
        power=settings.power,
        alpha=model_spec.alpha,
        sided=spec.sided,
        n_sim=settings.n_sim,
        seed=seed,
    )
    return HypothesisResult(
        hypothesis_id=spec.id,
        model=model,
        term=spec.focal,
        sided=spec.sided,
        p_asymptotic=inference.asymptotic_pvalue(model, spec.focal, spec.sided),
        expected_sign=SIGNS[spec.expected_sign],
        permutation=permutation,
        placebo=placebo,
        mde=mde,
        notes=tuple(notes),
    )


def analytic_mde(
    model: CountModelResult,
    frame: pd.DataFrame,
    term: str,
    *,
    power: float = 0.8,
    alpha: float = 0.05,
    sided: str = "two-sided",
) -> MDEResult:
    """Minimum detectable effect of a Wald test from the model's own standard error.

    The estimate is taken as normal around the true effect with the fitted standard error
    ``se`` (cluster-robust for global entries), so an effect ``b`` is detected with probability
    ``Phi(|b|/se - z_crit)`` (plus the far tail when two-sided), and the MDE is
    ``(z_crit + z_power) * se`` (Bloom 1995): the planning figure for the test reported,
    without simulation. Its direction follows ``sided`` as the simulated MDE does; the curve
    holds the power at fractions of the MDE; ``n_sim`` is 0 because nothing was simulated.
    """
    se = float(model.term(term)["std_error"])
    two = sided == "two-sided"
    crit = stats.norm.ppf(1 - alpha / 2) if two else stats.norm.ppf(1 - alpha)
    direction = -1.0 if sided == "less" else 1.0
    mde_log = direction * (crit + stats.norm.ppf(power)) * se
    sd = float(frame.loc[model.fitted.index, term].std(ddof=1))
    log_irr = mde_log * np.linspace(0, 1.5, 7)
    shift = direction * log_irr / se
    curve_power = stats.norm.cdf(shift - crit) + (stats.norm.cdf(-shift - crit) if two else 0.0)
    curve = pd.DataFrame(
        {
            "irr": np.exp(log_irr),
            "log_irr": log_irr,
            "irr_per_sd": np.exp(log_irr * sd),
            "power": curve_power,
            "n_failed": 0,
        }
    )
    return MDEResult(
        term=term,
        mde_irr=math.exp(mde_log),
        mde_log_irr=mde_log,
        mde_irr_per_sd=math.exp(mde_log * sd),
        predictor_sd=sd,
        target_power=power,
        alpha=alpha,
        sided=sided,
        n_sim=0,
        seed=0,
        achieved=True,
        null_dispersion=math.nan,
        curve=curve,
    )


@dataclass(frozen=True)
class Failure:
    """A hypothesis that could not be tested on the data, and why (reported, never hidden)."""

    hypothesis_id: str
    family: str
    reason: str


@dataclass(frozen=True)
class RegistryResults:
    """Every registered test with multiplicity corrections, as one tidy table."""

    results: tuple[HypothesisResult, ...]
    failures: tuple[Failure, ...] = field(default_factory=tuple)
    families: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per registered hypothesis (failures included, with their reason)."""
        rows = []
        for result in self.results:
            row = result.to_row()
            row["family"] = self.families[result.hypothesis_id]
            row["p_small_sample"] = small_sample_p(result)
            rows.append(row)
        for failure in self.failures:
            rows.append(
                {
                    "hypothesis": failure.hypothesis_id,
                    "family": failure.family,
                    "note": failure.reason,
                }
            )
        return pd.DataFrame(rows)


def small_sample_p(result: HypothesisResult) -> float:
    """The permutation or placebo-date p-value (the one multiplicity corrections use); for a
    global entry, which has neither, the cluster-robust Wald p-value."""
    if result.permutation is not None:
        return result.permutation.p_value
    if result.placebo is not None:
        return result.placebo.p_value
    return result.p_asymptotic


def test_all(
    registry: dict[str, HypothesisSpec], tables: Tables, settings: TestSettings = TestSettings()
) -> RegistryResults:
    """Test every entry; an entry the data cannot support is reported as a failure, not skipped."""
    results, failures = [], []
    for spec in registry.values():
        try:
            results.append(test_hypothesis(spec, tables, settings))
        except AnalysisError as exc:
            failures.append(Failure(spec.id, spec.family, str(exc)))
    families = {s.id: s.family for s in registry.values()}
    scopes = {s.id: s.scope for s in registry.values()}
    p = pd.Series({r.hypothesis_id: small_sample_p(r) for r in results}, dtype=float)
    adjusted = {r.hypothesis_id: r for r in results}
    if len(p):
        for _, same_scope in p.groupby(lambda hid: scopes[hid]):
            bh = inference.benjamini_hochberg(same_scope)
            for hid in same_scope.index:
                adjusted[hid] = adjusted[hid].with_adjusted("bh_all", float(bh[hid]))
        for family, members in p.groupby(lambda hid: families[hid]):
            holm = inference.holm(members)
            for hid in members.index:
                adjusted[hid] = adjusted[hid].with_adjusted("holm_family", float(holm[hid]))
    ordered = tuple(adjusted[r.hypothesis_id] for r in results)
    return RegistryResults(results=ordered, failures=tuple(failures), families=families)


def is_binary_focal(spec: HypothesisSpec) -> bool:
    """Steps and calendar terms are 0/1: their effect is read per unit, not per SD."""
    return spec.focal in dict(spec.steps) or spec.focal in spec.calendar


def effect_scale(result: HypothesisResult, spec: HypothesisSpec) -> tuple[float, float, float, str]:
    """(ratio, low, high, unit) on the scale a reader should see: per unit for a 0/1 term, per
    standard deviation of the predictor otherwise (units differ wildly across predictors). The
    ratio is an IRR for count models and an odds ratio for (conditional) logit."""
    row = result.estimate
    if is_binary_focal(spec) or result.mde is None or not math.isfinite(result.mde.predictor_sd):
        return float(row["irr"]), float(row["irr_low"]), float(row["irr_high"]), "switching on"
    sd = result.mde.predictor_sd
    scale = [math.exp(float(row[c]) * sd) for c in ("estimate", "ci_low", "ci_high")]
    return scale[0], scale[1], scale[2], f"per SD ({sd:.3g})"


def conclusion(result: HypothesisResult, spec: HypothesisSpec, level: float = 0.05) -> str:
    """What the test says in plain words, including what it could not have detected."""
    irr, low, high, unit = effect_scale(result, spec)
    p_small = small_sample_p(result)
    p_holm = result.p_adjusted.get("holm_family", p_small)
    if result.placebo is not None:
        kind = "placebo-date"
    elif result.permutation is not None:
        kind = "permutation"
    else:
        kind = "cluster-robust"
    ratio = "odds ratio" if spec.model in BINARY_FAMILIES else "IRR"
    effect = f"{ratio} {irr:.2f} {unit} (95% CI {low:.2f}–{high:.2f}; {kind} p = {p_small:.3f}, Holm {p_holm:.3f})"
    mde = result.mde
    if mde is None or not mde.achieved:
        power = f"the data cannot detect even a very large effect (no {ratio} up to 20 per SD reaches 80% power): this test is uninformative"
    else:
        mde_value = mde.mde_irr if is_binary_focal(spec) else mde.mde_irr_per_sd
        mde_unit = "" if is_binary_focal(spec) else " per SD"
        power = (
            f"with 80% power it detects only effects of {ratio} {mde_value:.2f}{mde_unit} or larger"
        )
    if p_holm < level:
        direction = (
            "as expected"
            if result.sign_agrees in (True, None)
            else "in the direction opposite to the one expected"
        )
        return f"Evidence of an effect {direction}: {effect}; {power}."
    return f"No detectable effect: {effect}; {power}, so smaller effects are not ruled out."
