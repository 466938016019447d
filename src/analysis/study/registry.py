"""The registry of testable claims (``hypotheses.toml``) and the study's outcomes and breaks
(``study.toml``): parsing, validation and lookup. Nothing here reads data or fits a model.

A registry entry is data: the claim in words, what is counted, the outcome series it is tested
on, predictors, lags, model (the distribution: a family of :mod:`models.families`), expected
sign and sidedness, its multiplicity group (``multiplicity``: Holm runs within it), and whether
it is a control. Every error names the entry and key; an unknown key names the closest valid
one. Every name a reader will see (terms, outcome measures) must have words in ``labels.toml``:
a missing label is an error when the registry loads.

Scope. An entry is ``case`` (default: Kyrgyz-Tajik period panels) or ``global`` (the same claim
on the world's states, country-years or contiguous dyad-years; see ``global_panel``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import pandas as pd

from .. import labels
from ..errors import ConfigError, suggest
from ..inference.small_sample import KnownBreak
from ..models.families import FAMILIES, family
from ..models.spec import CountModelSpec
from ..panels.global_panel import GlobalOutcomeSpec
from ..panels.panel import IRRIGATION_MONTHS, MilestoneTerm, OutcomeSpec, PredictorSpec
from ..paths import registry_path

STUDY_PATH = Path(__file__).with_name("study.toml")
SIGNS = {"positive": "+", "negative": "-", "none": None}
INFERENCE = ("permutation", "placebo_dates", "stratified_permutation", "cluster_robust")
SCOPES = ("case", "global")
OUTCOME_KINDS = ("catalogue", "catalogue_adjusted", "stated", "ucdp")


@dataclass(frozen=True)
class OutcomeSeries:
    """One registered way to measure the outcome (``[outcome.<id>]`` in study.toml)."""

    id: str
    label: str
    kind: str
    description: str
    counter: str | None = None
    monthly_control: str | None = None
    focal_only: bool = False

    def __post_init__(self):
        if self.kind not in OUTCOME_KINDS:
            raise ConfigError(
                f"outcome {self.id}: kind '{self.kind}' is not one of {list(OUTCOME_KINDS)}"
            )
        if self.kind in ("stated", "catalogue_adjusted") and not self.counter:
            raise ConfigError(f"outcome {self.id}: kind '{self.kind}' needs a counter")


@dataclass(frozen=True)
class Study:
    """The registered outcome series and the known breaks placebo dates avoid."""

    outcomes: dict[str, OutcomeSeries]
    breaks: tuple[KnownBreak, ...]

    def outcome(self, outcome_id: str, where: str = "") -> OutcomeSeries:
        if outcome_id not in self.outcomes:
            raise ConfigError(
                f"{where}unknown outcome '{outcome_id}'{suggest(outcome_id, list(self.outcomes))}"
                f" (registered in {STUDY_PATH.name}: {', '.join(self.outcomes)})"
            )
        return self.outcomes[outcome_id]


def load_study(path: Path = STUDY_PATH) -> Study:
    data = _read_toml(path)
    _check_keys(data, {"outcome", "break"}, str(path))
    outcomes = {}
    for outcome_id, entry in data.get("outcome", {}).items():
        _check_keys(
            entry, {f.name for f in fields(OutcomeSeries)} - {"id"}, f"outcome {outcome_id}"
        )
        try:
            outcomes[outcome_id] = OutcomeSeries(id=outcome_id, **entry)
        except TypeError as exc:
            raise ConfigError(f"outcome {outcome_id}: {exc}") from None
    breaks = []
    for name, entry in data.get("break", {}).items():
        _check_keys(entry, {"date", "months", "reason"}, f"break {name}")
        try:
            pd.Period(entry["date"], "D")
            breaks.append(KnownBreak(name=name, **entry))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"break {name}: needs date (YYYY-MM-DD), months, reason ({exc})"
            ) from None
    return Study(outcomes, tuple(breaks))


@dataclass(frozen=True)
class HypothesisSpec:
    """One registered claim, validated; ``replace``-able for robustness variants.

    ``outcomes`` names the registered outcome series it is tested on; ``series`` is the one a
    particular test uses (set by :meth:`on`). ``window`` is optional: without it the sample is
    every period both the outcome series and the predictors cover."""

    id: str
    statement: str
    multiplicity: str
    frequency: str
    outcome: OutcomeSpec | GlobalOutcomeSpec
    focal: str
    rationale: str
    outcomes: tuple[str, ...] = ()
    series: str = ""
    window: tuple[str, str] | None = None
    predictors: tuple[PredictorSpec, ...] = ()
    steps: tuple[tuple[str, str], ...] = ()
    milestone_terms: tuple[MilestoneTerm, ...] = ()
    outcome_lags: tuple[int, ...] = ()
    calendar: tuple[str, ...] = ()
    exclude_years: tuple[int, ...] = ()
    exposure: str | None = None
    trend: bool = True
    season: str | None = None
    period_effects: str | None = None
    model: str = "negbin"
    cov: str = "hac"
    expected_sign: str = "none"
    sided: str = "two-sided"
    inference: str = "permutation"
    control: bool = False
    scope: str = "case"
    region: str = ""  # global scope: keep units (both states of a dyad) in this World Bank region
    fixed_effects: tuple[str, ...] = ()
    cluster: str | None = None
    coverage_controls: tuple[str, ...] = ()  # negative controls for what coverage cannot assess

    def __post_init__(self):
        if self.scope not in SCOPES:
            raise ConfigError(f"{self.id}: scope '{self.scope}' is not one of {list(SCOPES)}")
        if isinstance(self.outcome, GlobalOutcomeSpec) != (self.scope == "global"):
            raise ConfigError(f"{self.id}: a {self.scope} entry needs a {self.scope} outcome")
        if (self.inference == "cluster_robust") != (self.scope == "global"):
            raise ConfigError(
                f"{self.id}: inference 'cluster_robust' is for global entries, and global "
                "entries use it (fixed-effects panels, clustered by unit)"
            )
        for name, allowed in (("expected_sign", SIGNS), ("inference", INFERENCE)):
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"{self.id}: {name} '{getattr(self, name)}' is not one of {list(allowed)}"
                )
        if not self.outcomes:
            raise ConfigError(f"{self.id}: name the outcome series it is tested on (outcomes)")
        if self.series and self.series not in self.outcomes:
            raise ConfigError(
                f"{self.id}: outcome '{self.series}' is not among {list(self.outcomes)}"
            )
        if self.focal not in self.terms:
            raise ConfigError(
                f"{self.id}: focal term '{self.focal}' is none of the entry's terms {list(self.terms)}"
            )
        if self.inference == "placebo_dates" and self.focal not in dict(self.steps):
            raise ConfigError(
                f"{self.id}: inference 'placebo_dates' needs the focal term to be a step"
            )
        if self.inference == "stratified_permutation" and self.focal != self.lag_term:
            raise ConfigError(
                f"{self.id}: inference 'stratified_permutation' tests the outcome's own lag 1 "
                f"('{self.outcome.column}_lag1'), not '{self.focal}'"
            )
        self.model_spec(None)  # model, cov, season names are checked by the model layer

    @property
    def terms(self) -> tuple[str, ...]:
        """Every panel column entering the model: predictors, steps, calendar terms, lagged outcomes."""
        lags = tuple(f"{self.outcome.column}_lag{k}" for k in self.outcome_lags)
        steps = tuple(name for name, _ in self.steps)
        dated = tuple(t.name for t in self.milestone_terms)
        return tuple(p.column for p in self.predictors) + steps + dated + self.calendar + lags

    @property
    def sign(self) -> str | None:
        """The expected sign as results state it: "+", "-" or None."""
        return SIGNS[self.expected_sign]

    @property
    def lag_term(self) -> str | None:
        """The lagged outcome column (lag 1) when the entry controls for or tests it."""
        return f"{self.outcome.column}_lag1" if 1 in self.outcome_lags else None

    @property
    def is_step(self) -> bool:
        return self.focal in dict(self.steps)

    @property
    def is_binary_focal(self) -> bool:
        """Steps, regimes and calendar terms are 0/1: read per switch, not per SD."""
        regimes = {t.name for t in self.milestone_terms if t.on}
        return self.is_step or self.focal in self.calendar or self.focal in regimes

    def on(self, outcome_id: str) -> HypothesisSpec:
        """The entry as tested on one of its outcome series."""
        if outcome_id not in self.outcomes:
            raise ConfigError(
                f"{self.id} is not registered on outcome '{outcome_id}'; its outcomes are "
                f"{list(self.outcomes)}"
            )
        return replace(self, series=outcome_id)

    def model_spec(self, series: OutcomeSeries | None) -> CountModelSpec:
        """The model for this entry on ``series``: on a monthly catalogue the period effects
        of the outcome's coverage control replace the trend (they absorb it); a catalogue
        scaled by detection shares takes the share as exposure; a series too short for controls
        (``focal_only``) keeps the focal term alone."""
        period_effects, trend, season = self.period_effects, self.trend, self.season
        exposure = self.exposure
        if period_effects == "none":
            period_effects = None
        elif series is not None and series.kind == "catalogue" and self.frequency == "M":
            period_effects = period_effects or series.monthly_control
        if series is not None and series.kind == "catalogue_adjusted":
            exposure = "detection_share"
        if period_effects:
            trend = False
            season = None if period_effects == "year_season" else season
        controls = tuple(t for t in self.terms if t != self.focal)
        if series is not None and series.focal_only:
            controls, trend = (), False
        return CountModelSpec(
            outcome=self.outcome.column,
            predictors=(self.focal,),
            controls=controls,
            family=self.model,
            trend=trend,
            season=season,
            exposure=exposure,
            cov=self.cov,
            cluster=self.cluster,
            fixed_effects=self.fixed_effects,
            period_effects=period_effects,
            season_months=tuple(sorted(IRRIGATION_MONTHS)),
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
            needs = [f"incidents / incident_claims / incident_coverage: {self.outcome.dyad}"]
        needs += [f"indicators: {p.indicator} ({p.iso3})" for p in self.predictors]
        return needs

    def with_overrides(self, **overrides: Any) -> HypothesisSpec:
        """A variant of this spec (notebook parameters, robustness runs); checked like an entry.

        Accepts the spec's own fields plus ``lag`` (sets every predictor's lag) and ``start`` /
        ``end`` (the sample window; either may be given alone).
        """
        overrides = {k: v for k, v in overrides.items() if v is not None}
        if "lag" in overrides:
            lag = int(overrides.pop("lag"))
            overrides["predictors"] = tuple(replace(p, lag=lag) for p in self.predictors)
        if "start" in overrides or "end" in overrides:
            first, last = self.window or ("", "")
            overrides["window"] = (
                str(overrides.pop("start", first)),
                str(overrides.pop("end", last)),
            )
        _check_keys(overrides, {f.name for f in fields(self)}, f"override of {self.id}")
        return replace(self, **overrides)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _check_keys(given, allowed, where: str) -> None:
    for key in given:
        if key not in allowed:
            hint = suggest(key, sorted(allowed)) or f"; valid keys: {sorted(allowed)}"
            raise ConfigError(f"{where}: unknown key '{key}'{hint}")


ENTRY_KEYS = {f.name for f in fields(HypothesisSpec)} - {"id", "series"}
_OUTCOME_SPECS = {"case": OutcomeSpec, "global": GlobalOutcomeSpec}
_DEFAULT_OUTCOMES = {"case": ("catalogue",), "global": ("ucdp",)}


def parse_entry(entry_id: str, entry: dict[str, Any], study: Study | None = None) -> HypothesisSpec:
    """Validate one registry entry and build its spec; every error names the entry and key."""
    where = f"hypothesis {entry_id}"
    if "family" in entry:
        raise ConfigError(
            f"{where}: key 'family' was renamed 'multiplicity' (the group Holm's correction runs "
            f"within, here {entry['family']!r}); the distribution is 'model' (one of "
            f"{', '.join(FAMILIES)})"
        )
    _check_keys(entry, ENTRY_KEYS, where)
    required = {"statement", "multiplicity", "frequency", "outcome", "focal", "rationale"}
    missing = sorted(required - set(entry))
    if missing:
        raise ConfigError(f"{where}: missing key(s) {missing}")
    scope = entry.get("scope", "case")
    if scope not in _OUTCOME_SPECS:
        raise ConfigError(f"{where}: scope '{scope}' is not one of {list(SCOPES)}")
    outcome_spec = _OUTCOME_SPECS[scope]
    _check_keys(entry["outcome"], {f.name for f in fields(outcome_spec)}, f"{where}, outcome")
    for predictor in entry.get("predictors", []):
        _check_keys(predictor, {f.name for f in fields(PredictorSpec)}, f"{where}, predictor")
    for term in entry.get("milestone_terms", []):
        _check_keys(term, {f.name for f in fields(MilestoneTerm)}, f"{where}, milestone term")
    window = entry.get("window")
    if window is not None and not (
        isinstance(window, list) and len(window) == 2 and all(isinstance(w, str) for w in window)
    ):
        raise ConfigError(
            f"{where}: window must be [first, last] as text periods, found {window!r}"
        )
    outcomes = tuple(entry.get("outcomes", _DEFAULT_OUTCOMES[scope]))
    study = study or load_study()
    for outcome_id in outcomes:
        series = study.outcome(outcome_id, f"{where}: ")
        if (series.kind == "ucdp") != (scope == "global"):
            raise ConfigError(
                f"{where}: outcome '{outcome_id}' ({series.kind}) does not fit a {scope} entry"
            )
        if series.kind == "stated" and entry["frequency"] != "A":
            raise ConfigError(
                f"{where}: outcome '{outcome_id}' is a yearly count; the entry is monthly"
            )
    try:
        spec = HypothesisSpec(
            id=entry_id,
            **{
                **entry,
                "outcomes": outcomes,
                "window": None if window is None else tuple(window),
                "outcome": _outcome(outcome_spec, entry["outcome"]),
                "predictors": tuple(PredictorSpec(**p) for p in entry.get("predictors", [])),
                "steps": tuple(sorted(entry.get("steps", {}).items())),
                "milestone_terms": tuple(
                    MilestoneTerm(**t) for t in entry.get("milestone_terms", [])
                ),
                "outcome_lags": tuple(entry.get("outcome_lags", ())),
                "calendar": tuple(entry.get("calendar", ())),
                "fixed_effects": tuple(entry.get("fixed_effects", ())),
                "coverage_controls": tuple(entry.get("coverage_controls", ())),
            },
        )
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except ConfigError as exc:
        message = str(exc)
        raise ConfigError(
            message if message.startswith(entry_id) else f"{where}: {message}"
        ) from None
    _check_fitted(spec, entry, study, where)
    return spec


def _check_fitted(spec: HypothesisSpec, entry: dict[str, Any], study: Study, where: str) -> None:
    """Refuse a registered option the engine drops on every outcome series (a trend or season
    that period effects absorb): the registry must say what is fitted."""
    fitted = [spec.model_spec(study.outcome(o)) for o in spec.outcomes]
    if entry.get("trend") is True and not any(m.trend for m in fitted):
        effects = sorted({m.period_effects for m in fitted if m.period_effects})
        why = f"{' and '.join(effects)} effects absorb it" if effects else "the series is too short"
        raise ConfigError(
            f"{where}: trend = true is never fitted (on {', '.join(spec.outcomes)} "
            f"{why}); set trend = false"
        )
    if entry.get("season") and not any(m.season for m in fitted):
        raise ConfigError(
            f"{where}: season = '{entry['season']}' is never fitted (year-and-season effects "
            f"absorb it on {', '.join(spec.outcomes)}); drop it"
        )


def _check_controls(registry: dict[str, HypothesisSpec]) -> None:
    """Every control an entry names for what coverage cannot assess is a registered negative
    control of the same scope, tested on every outcome series of the entry."""
    for spec in registry.values():
        for name in spec.coverage_controls:
            where = f"hypothesis {spec.id}, coverage_controls"
            if name not in registry:
                raise ConfigError(
                    f"{where}: '{name}' is not a registered entry{suggest(name, list(registry))}"
                )
            control = registry[name]
            if not control.control or control.scope != spec.scope:
                raise ConfigError(
                    f"{where}: '{name}' must be a negative control (control = true) of scope "
                    f"'{spec.scope}'; found control = {str(control.control).lower()}, scope "
                    f"'{control.scope}'"
                )
            missing = [o for o in spec.outcomes if o not in control.outcomes]
            if missing:
                raise ConfigError(
                    f"{where}: '{name}' is not tested on {missing}, where {spec.id} is"
                )


def _outcome(spec_class, entry: dict[str, Any]) -> OutcomeSpec | GlobalOutcomeSpec:
    """An outcome spec from its TOML table (lists become tuples, as the specs hold them)."""
    return spec_class(**{k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()})


def load_registry(
    path: Path | None = None, study: Study | None = None
) -> dict[str, HypothesisSpec]:
    """Every registered hypothesis, in file order (default: ``paths.registry_path()``)."""
    study = study or load_study()
    registry = {
        entry_id: parse_entry(entry_id, entry, study)
        for entry_id, entry in _read_toml(path or registry_path()).items()
    }
    _check_controls(registry)
    for spec in registry.values():
        _check_labels(spec)
    return registry


def _check_labels(spec: HypothesisSpec) -> None:
    """Every term and outcome measure of a registered entry has words in ``labels.toml``
    (reports would otherwise show the raw names)."""
    terms = {*spec.terms, spec.focal}
    terms |= {"trend"} if spec.trend else set()
    terms |= {"irrigation_season"} if spec.season == "irrigation" else set()
    missing = sorted(terms - labels.known("terms"))
    if missing:
        raise ConfigError(
            f"hypothesis {spec.id}: no label for term(s) {missing}; add them to [terms] in "
            f"{labels.LABELS_PATH}"
        )
    if spec.outcome.measure not in labels.known("outcomes"):
        raise ConfigError(
            f"hypothesis {spec.id}: no label for outcome measure '{spec.outcome.measure}'; add "
            f"it to [outcomes] in {labels.LABELS_PATH}"
        )


def get(hypothesis_id: str, registry: dict[str, HypothesisSpec] | None = None) -> HypothesisSpec:
    registry = registry if registry is not None else load_registry()
    if hypothesis_id not in registry:
        raise ConfigError(
            f"unknown hypothesis '{hypothesis_id}'{suggest(hypothesis_id, list(registry))} "
            f"(registered: {', '.join(registry)})"
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


def fitted_text(spec: HypothesisSpec, study: Study) -> str:
    """What the engine fits on each outcome series: family and generated controls (the data
    may still turn a registered NB2 into Poisson where its dispersion is at the boundary)."""
    parts = []
    for outcome_id in spec.outcomes:
        model = spec.model_spec(study.outcome(outcome_id))
        terms = [model.distribution.label]
        terms += list(model.controls)
        if model.period_effects:
            terms.append(f"{model.period_effects} effects")
        terms += [f"{name} effects" for name in model.fixed_effects]
        terms += ["trend"] if model.trend else []
        terms += [f"season {model.season}"] if model.season else []
        terms += [f"exposure {model.exposure}"] if model.exposure else []
        parts.append(f"{outcome_id}: {' + '.join(terms)}")
    return " | ".join(parts)


def registry_frame(registry: dict[str, HypothesisSpec], study: Study | None = None) -> pd.DataFrame:
    """One row per hypothesis: what `analysis hypotheses list` prints, with what is fitted on
    each outcome series."""
    study = study or load_study()
    return pd.DataFrame(
        [
            {
                "id": s.id,
                "scope": s.scope,
                "multiplicity": s.multiplicity,
                "control": "yes" if s.control else "",
                "freq": s.frequency,
                "outcomes": ", ".join(s.outcomes),
                "window": "–".join(s.window) if s.window else "covered",
                "focal": s.focal,
                "model": family(s.model).label,
                "fitted": fitted_text(s, study),
                "test": s.inference,
                "expected": s.expected_sign,
                "sided": s.sided,
                "statement": s.statement,
            }
            for s in registry.values()
        ]
    )


def events_near(
    spec: HypothesisSpec,
    entries: dict[str, HypothesisSpec],
    study: Study,
    milestones: pd.DataFrame,
    months: int = 12,
) -> pd.DataFrame:
    """Everything dated within ``months`` of the entry's own dates (its steps): the other
    registered steps, the known breaks and the milestones, with their distance in months. A
    step test cannot tell these apart from the step it tests; the report shows them."""
    events = [(d, f"registered step {name} ({entry.id})") for entry in entries.values()
              for name, d in entry.steps if entry.id != spec.id]  # fmt: skip
    events += [(b.date, f"known break {b.name}: {b.reason}") for b in study.breaks]
    events += [
        (m.latest_date, f"{m.milestone_id} ({m.kind}): {m.event}") for m in milestones.itertuples()
    ]
    columns = ["date", "months_from_step", "step", "event"]
    rows = [
        (date, (pd.Period(date, "M") - pd.Period(own, "M")).n, name, what)
        for name, own in spec.steps
        for date, what in events
        if abs((pd.Period(date, "M") - pd.Period(own, "M")).n) <= months
    ]
    table = pd.DataFrame(rows, columns=columns).drop_duplicates()
    return table.sort_values(["step", "date", "event"]).reset_index(drop=True)
