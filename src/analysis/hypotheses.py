"""The registry of testable claims (``hypotheses.toml``) and the test of each one.

A registry entry is data: the claim in words, its outcome, predictors, lags, model, expected
sign and sidedness, and its multiplicity family. This module validates entries (an unknown key
names the closest valid one), turns one into a panel and a model spec, and tests it with the
asymptotic p-value, a small-sample p-value (block permutation, or placebo dates for a dated
step) and a simulated minimum detectable effect. ``test_all`` then corrects for multiplicity:
Holm within each family, Benjamini-Hochberg across all registered tests.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd

from . import inference
from .errors import AnalysisError, ConfigError
from .models import CountModelSpec, fit_spec
from .panel import OutcomeSpec, Panel, PredictorSpec, build_panel
from .results import HypothesisResult

REGISTRY_PATH = Path(__file__).with_name("hypotheses.toml")
SIGNS = {"positive": "+", "negative": "-", "none": None}
INFERENCE = ("permutation", "placebo_dates")


@dataclass(frozen=True)
class HypothesisSpec:
    """One registered claim, validated; ``replace``-able for robustness variants."""

    id: str
    statement: str
    family: str
    frequency: str
    window: tuple[str, str]
    outcome: OutcomeSpec
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

    def __post_init__(self):
        if self.expected_sign not in SIGNS:
            raise ConfigError(f"{self.id}: expected_sign '{self.expected_sign}' is not one of {list(SIGNS)}")
        if self.inference not in INFERENCE:
            raise ConfigError(f"{self.id}: inference '{self.inference}' is not one of {list(INFERENCE)}")
        if self.focal not in self.terms:
            raise ConfigError(
                f"{self.id}: focal term '{self.focal}' is none of the entry's terms {list(self.terms)}"
            )
        if self.inference == "placebo_dates" and self.focal not in dict(self.steps):
            raise ConfigError(f"{self.id}: inference 'placebo_dates' needs the focal term to be a step")
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
            dropna=True,
        )

    @property
    def needs(self) -> list[str]:
        """The data this test reads, in words (for `hypotheses list` and missing-data errors)."""
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
            overrides["window"] = (str(overrides.pop("start", self.window[0])), str(overrides.pop("end", self.window[1])))
        _check_keys(overrides, {f.name for f in fields(self)}, f"override of {self.id}")
        return replace(self, **overrides)


@dataclass(frozen=True)
class Tables:
    """The canonical tables a test reads (from ``datasets.load``; never read here)."""

    incidents: pd.DataFrame
    indicators: pd.DataFrame


def _check_keys(given, allowed, where: str) -> None:
    for key in given:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; valid keys: {sorted(allowed)}"
            raise ConfigError(f"{where}: unknown key '{key}'{hint}")


_ENTRY_KEYS = {f.name for f in fields(HypothesisSpec)} - {"id"}
_OUTCOME_KEYS = {f.name for f in fields(OutcomeSpec)}
_PREDICTOR_KEYS = {f.name for f in fields(PredictorSpec)}


def parse_entry(entry_id: str, entry: dict[str, Any]) -> HypothesisSpec:
    """Validate one registry entry and build its spec; every error names the entry and key."""
    where = f"hypothesis {entry_id}"
    _check_keys(entry, _ENTRY_KEYS, where)
    missing = sorted({"statement", "family", "frequency", "window", "outcome", "focal", "rationale"} - set(entry))
    if missing:
        raise ConfigError(f"{where}: missing key(s) {missing}")
    _check_keys(entry["outcome"], _OUTCOME_KEYS, f"{where}, outcome")
    for predictor in entry.get("predictors", []):
        _check_keys(predictor, _PREDICTOR_KEYS, f"{where}, predictor")
    window = entry["window"]
    if not (isinstance(window, list) and len(window) == 2 and all(isinstance(w, str) for w in window)):
        raise ConfigError(f"{where}: window must be [first, last] as text periods, found {window!r}")
    try:
        return HypothesisSpec(
            id=entry_id,
            **{
                **entry,
                "window": tuple(window),
                "outcome": OutcomeSpec(**{**entry["outcome"], "categories": tuple(entry["outcome"].get("categories", ()))}),
                "predictors": tuple(PredictorSpec(**p) for p in entry.get("predictors", [])),
                "steps": tuple(sorted(entry.get("steps", {}).items())),
                "outcome_lags": tuple(entry.get("outcome_lags", ())),
                "calendar": tuple(entry.get("calendar", ())),
            },
        )
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except ConfigError as exc:
        message = str(exc)
        raise ConfigError(message if message.startswith(entry_id) else f"{where}: {message}") from None


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
        raise ConfigError(f"unknown hypothesis '{hypothesis_id}'{hint} (registered: {', '.join(registry)})")
    return registry[hypothesis_id]


def select(registry: dict[str, HypothesisSpec], names: list[str]) -> dict[str, HypothesisSpec]:
    """Entries named by id, or by id prefix ("H1" selects H1a..H1g); unknown names are errors."""
    chosen: dict[str, HypothesisSpec] = {}
    for name in names:
        matches = [hid for hid in registry if hid == name] or [hid for hid in registry if hid.startswith(name)]
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


def panel_for(spec: HypothesisSpec, tables: Tables) -> Panel:
    """The spec's panel; years in ``exclude_years`` lose their outcome (leave-one-year-out)."""
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
    if spec.exclude_years:
        frame = panel.frame.copy()
        frame.loc[frame.index.year.isin(spec.exclude_years), spec.outcome.column] = pd.NA
        panel = replace(panel, frame=frame)
    return panel


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


def test_hypothesis(spec: HypothesisSpec, tables: Tables, settings: TestSettings = TestSettings()) -> HypothesisResult:
    """Estimate one hypothesis and attach its small-sample p-value and MDE."""
    panel = panel_for(spec, tables)
    model_spec = spec.model_spec()
    model = fit_spec(panel.frame, model_spec)
    seed = inference.seed_from(spec.id)
    notes = [f"outcome source covers {panel.coverage[0]}–{panel.coverage[1]}"]
    permutation = placebo = None
    frame, tested_spec = panel.frame, model_spec
    if spec.inference == "placebo_dates":
        # At least a year (or 3 years) on each side of a placebo break, fewer when the sample
        # is short (H2b has a dozen months with a stated fatality figure), never under 2.
        default = 12 if spec.frequency == "M" else 3
        min_segment = settings.min_segment or max(2, min(default, model.nobs // 4))
        placebo = inference.placebo_date_pvalue(frame, tested_spec, spec.focal, min_segment=min_segment, sided=spec.sided)
    else:
        permutation = inference.block_permutation_pvalue(
            frame, tested_spec, spec.focal, block_length=block_length(model.nobs), n_perm=settings.n_perm,
            seed=seed, sided=spec.sided,
        )
    mde = inference.minimum_detectable_effect(
        frame, tested_spec, spec.focal, power=settings.power, alpha=model_spec.alpha, sided=spec.sided,
        n_sim=settings.n_sim, seed=seed,
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
            rows.append({"hypothesis": failure.hypothesis_id, "family": failure.family, "note": failure.reason})
        return pd.DataFrame(rows)


def small_sample_p(result: HypothesisResult) -> float:
    """The permutation or placebo-date p-value (the one multiplicity corrections use)."""
    if result.permutation is not None:
        return result.permutation.p_value
    if result.placebo is not None:
        return result.placebo.p_value
    return result.p_asymptotic


def test_all(registry: dict[str, HypothesisSpec], tables: Tables, settings: TestSettings = TestSettings()) -> RegistryResults:
    """Test every entry; an entry the data cannot support is reported as a failure, not skipped."""
    results, failures = [], []
    for spec in registry.values():
        try:
            results.append(test_hypothesis(spec, tables, settings))
        except AnalysisError as exc:
            failures.append(Failure(spec.id, spec.family, str(exc)))
    families = {s.id: s.family for s in registry.values()}
    p = pd.Series({r.hypothesis_id: small_sample_p(r) for r in results}, dtype=float)
    adjusted = {r.hypothesis_id: r for r in results}
    if len(p):
        bh = inference.benjamini_hochberg(p)
        for hid in p.index:
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
    """(IRR, low, high, unit) on the scale a reader should see: per unit for a 0/1 term,
    per standard deviation of the predictor otherwise (units differ wildly across predictors)."""
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
    kind = "placebo-date" if result.placebo is not None else "permutation"
    effect = f"IRR {irr:.2f} {unit} (95% CI {low:.2f}–{high:.2f}; {kind} p = {p_small:.3f}, Holm {p_holm:.3f})"
    mde = result.mde
    if mde is None or not mde.achieved:
        power = "the data cannot detect even a very large effect (no IRR up to 20 per SD reaches 80% power): this test is uninformative"
    else:
        mde_value = mde.mde_irr if is_binary_focal(spec) else mde.mde_irr_per_sd
        mde_unit = "" if is_binary_focal(spec) else " per SD"
        power = f"with 80% power it detects only effects of IRR {mde_value:.2f}{mde_unit} or larger"
    if p_holm < level:
        direction = "as expected" if result.sign_agrees in (True, None) else "in the direction opposite to the one expected"
        return f"Evidence of an effect {direction}: {effect}; {power}."
    return f"No detectable effect: {effect}; {power}, so smaller effects are not ruled out."
