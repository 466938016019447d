"""Frozen result objects: what was estimated, by which test, on which scale, with what verdict.

Nothing here estimates anything: ``models``, ``inference``, ``calibration`` and ``hypotheses``
build these objects; tables, figures, words and reports only read them. A result describes
itself: a fitted model carries its family and what ``exp(coefficient)`` is (``effect_ratio``:
IRR or OR), a hypothesis result carries its effect scale (per SD, per switch), its reported
small-sample test, the interval that inverts that same test, the test's simulated size and
power, the outcome's coverage, and a structured :class:`Verdict`. Every table a result exposes
is returned as a copy, so a caller cannot change a stored estimate by editing a frame.

This module imports no estimation code (a test over the import graph checks), so renderers can
depend on it without depending on statsmodels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from . import labels
from .errors import ConfigError
from .formatting import format_number, format_p, html_table, latex_table, markdown_table

#: The columns of every tidy coefficient table, in this order. ``ratio`` is exp(estimate): an
#: incidence-rate ratio or an odds ratio, as the result's ``effect_ratio`` says.
TIDY_COLUMNS = (
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "ci_low",
    "ci_high",
    "ratio",
    "ratio_low",
    "ratio_high",
)

#: Accepted sidedness of a test, in scipy's vocabulary.
SIDES = ("two-sided", "greater", "less")

#: Verdict codes and their short labels (the closed set of ``labels.toml``, stated there once).
VERDICTS = {code: labels.verdict(code).label for code in labels.VERDICT_CODES}


def check_sided(sided: str) -> str:
    """Fail early on a misspelt sidedness rather than silently testing two-sided."""
    if sided not in SIDES:
        raise ConfigError(f"sided must be one of {SIDES}; found {sided!r}")
    return sided


class ReadOnlyDict(dict):
    """A dict that refuses changes (a result's details cannot be edited after the fact) and
    still pickles, which the results store needs (``types.MappingProxyType`` does not)."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("a result's mapping is read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __reduce__(self):
        return (ReadOnlyDict, (dict(self),))


def _read_only(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return ReadOnlyDict(mapping or {})


def _frozen_array(values: Any) -> np.ndarray:
    array = np.array(values, dtype=float)
    array.setflags(write=False)
    return array


def mc_standard_error(p: float, draws: int | None) -> float | None:
    """Monte Carlo standard error of a resampling p-value from ``draws`` draws (None: exact)."""
    if not draws:
        return None
    return math.sqrt(max(p * (1 - p), 0.0) / draws)


@dataclass(frozen=True)
class StatTest:
    """One test statistic with its p-value; ``note`` states H0 and sidedness in words."""

    name: str
    statistic: float
    p_value: float
    df: float | None = None
    note: str = ""

    def describe(self) -> str:
        """The test without its name: statistic, df, p-value and note."""
        df = f", df={self.df:g}" if self.df is not None else ""
        p = format_p(self.p_value)
        note = f" ({self.note})" if self.note else ""
        return f"{self.statistic:.3f}{df}, p{'' if p.startswith('<') else '='}{p}{note}"

    def __str__(self) -> str:
        return f"{self.name}: {self.describe()}"


@dataclass(frozen=True, eq=False)
class CountModelResult:
    """One fitted model.

    ``coefficients`` holds the tidy table (see :data:`TIDY_COLUMNS`): count-equation terms
    carry ``ratio = exp(estimate)`` with its CI (for ``const`` that is the baseline rate, not a
    ratio); zero-inflation terms (``inflate_*``) have none. ``effect_ratio`` names the ratio
    for the fitted family ("IRR" for Poisson/NB/ZINB, "OR" for (conditional) logit), and
    ``family_label`` how a report names it (both from the family object). The NB
    dispersion is in ``dispersion``/``dispersion_se``, not a term. ``spec`` is the
    ``models.spec.CountModelSpec`` that was fitted.

    ``sample`` describes the rows: ``rows_input``, ``rows_used``, ``rows_dropped`` (total),
    ``dropped_by_reason`` (counts that sum to the total), ``period_start``, ``period_end``
    and ``gaps`` (periods missing inside the range once rows were dropped).
    """

    spec: Any
    family: str
    family_label: str
    effect_ratio: str
    cov_type: str
    cov_label: str
    coefficients: pd.DataFrame
    nobs: int
    events: int
    zeros_share: float
    dispersion: float | None
    dispersion_se: float | None
    loglik: float
    n_params: int
    aic: float
    bic: float
    converged: bool
    warnings: tuple[str, ...]
    overdispersion: StatTest | None
    excess_zeros: StatTest | None
    lr_test: StatTest | None
    wald_test: StatTest | None
    vuong: StatTest | None
    sample: Mapping[str, Any]
    fitted: pd.Series

    def __post_init__(self) -> None:
        if tuple(self.coefficients.columns) != TIDY_COLUMNS:
            raise ValueError(f"coefficient table must have columns {TIDY_COLUMNS}")
        object.__setattr__(self, "sample", _read_only(self.sample))
        object.__setattr__(self, "warnings", tuple(self.warnings))

    def tidy(self) -> pd.DataFrame:
        """Coefficient table indexed by term (a copy)."""
        return self.coefficients.copy()

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(self.coefficients.index)

    def term(self, name: str) -> pd.Series:
        """One row of the tidy table; a clear error names the terms that exist."""
        if name not in self.coefficients.index:
            raise ConfigError(f"term {name!r} is not in the model; terms are {list(self.terms)}")
        return self.coefficients.loc[name].copy()

    def stats(self) -> list[tuple[str, str]]:
        """Model-level facts as (label, text) pairs, shared by every renderer."""
        items = [
            ("Family", self.family_label),
            ("exp(coefficient)", self.effect_ratio),
            ("Covariance", self.cov_label),
            ("Observations", str(self.nobs)),
            ("Events", str(self.events)),
            ("Share of zero periods", f"{self.zeros_share:.3f}"),
        ]
        if self.dispersion is not None:
            se = "" if self.dispersion_se is None else f" (se {format_number(self.dispersion_se)})"
            items.append(("NB dispersion alpha", f"{format_number(self.dispersion)}{se}"))
        items += [
            ("Log-likelihood", f"{self.loglik:.2f}"),
            ("AIC", f"{self.aic:.2f}"),
            ("BIC", f"{self.bic:.2f}"),
            ("Converged", "yes" if self.converged else "NO"),
        ]
        tests = (self.lr_test, self.wald_test, self.overdispersion, self.excess_zeros, self.vuong)
        items += [(test.name, test.describe()) for test in tests if test is not None]
        return items

    def _notes(self) -> list[str]:
        return [f"{label}: {value}" for label, value in self.stats()] + [
            f"Warning: {text}" for text in self.warnings
        ]

    def to_markdown(self, digits: int = 3) -> str:
        header, rows = _cells(self.coefficients, digits)
        return markdown_table(["term", *header], rows, notes=self._notes())

    def to_latex(
        self, digits: int = 3, caption: str | None = None, label: str | None = None
    ) -> str:
        header, rows = _cells(self.coefficients, digits)
        return latex_table(
            ["term", *header], rows, notes=self._notes(), caption=caption, label=label
        )

    def to_html(self, digits: int = 3) -> str:
        header, rows = _cells(self.coefficients, digits)
        return html_table(["term", *header], rows, notes=self._notes(), css_class="count-model")

    @property
    def summary(self) -> str:
        header, rows = _cells(self.coefficients, 3)
        table = pd.DataFrame(rows, columns=["term", *header]).to_string(index=False)
        spec = self.spec
        title = (
            f"{self.family_label} model of {spec.outcome!r} ({self.effect_ratio} = exp(estimate))"
        )
        facts = "\n".join(f"{label}: {value}" for label, value in self.stats())
        warned = "".join(f"\nWARNING: {text}" for text in self.warnings)
        return f"{title}\n{table}\n{facts}{warned}"


@dataclass(frozen=True)
class EffectScale:
    """How the focal effect is shown: ``ratio`` (IRR or OR, from the fitted family) per
    standard deviation of the predictor (``per="sd"``, ``sd`` its value), per switch of a 0/1
    term (``per="switch"``), or per unit (``per="unit"``)."""

    ratio: str
    per: str
    sd: float | None = None
    unit: str = ""

    def __post_init__(self) -> None:
        if self.per not in ("sd", "switch", "unit"):
            raise ConfigError(f"effect scale 'per' must be sd, switch or unit; found {self.per!r}")
        if self.per == "sd" and not (self.sd and math.isfinite(self.sd) and self.sd > 0):
            raise ConfigError(f"a per-SD scale needs a positive SD; found {self.sd!r}")

    @property
    def multiplier(self) -> float:
        return self.sd if self.per == "sd" else 1.0

    def display(self, log_effect: float) -> float:
        """exp(coefficient x multiplier): the ratio a reader sees."""
        return (
            math.exp(log_effect * self.multiplier)
            if math.isfinite(log_effect)
            else (math.inf if log_effect > 0 else 0.0)
        )

    def label(self) -> str:
        if self.per == "sd":
            unit = f" {self.unit}" if self.unit else ""
            return f"{self.ratio} per SD ({format_number(self.sd, 3)}{unit})"
        if self.per == "switch":
            return f"{self.ratio}, switching on"
        return f"{self.ratio} per unit{f' ({self.unit})' if self.unit else ''}"


@dataclass(frozen=True, eq=False)
class SmallSampleTest:
    """The reported test of the focal term. ``method`` is a code (block_permutation,
    stratified_permutation, placebo_dates, cluster_wald, wild_cluster_bootstrap); ``label``
    says in words what was done. ``p_mc_se`` is None when the p-value is exact (enumerated
    dates or sign vectors, or an analytic test); ``min_attainable_p`` is the smallest p the
    test can give on these data (1/number of admissible dates for placebo dates)."""

    method: str
    label: str
    statistic: float
    p_value: float
    sided: str
    p_mc_se: float | None = None
    n_draws: int | None = None
    min_attainable_p: float = 0.0
    null_statistics: np.ndarray = field(default_factory=lambda: np.array([]))
    placebo: pd.DataFrame | None = None  # period, statistic, admissible
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_sided(self.sided)
        object.__setattr__(self, "null_statistics", _frozen_array(self.null_statistics))
        object.__setattr__(self, "details", _read_only(self.details))

    @property
    def can_reach(self) -> bool:
        """Whether the test can reject at 5% on these data at all."""
        return self.min_attainable_p <= 0.05

    def borderline(self, level: float = 0.05) -> bool:
        """True when the decision at ``level`` is within two Monte Carlo s.e. of flipping."""
        return self.p_mc_se is not None and abs(self.p_value - level) < 2 * self.p_mc_se


@dataclass(frozen=True)
class Interval:
    """A 95% interval for the focal coefficient (log scale), from inverting a test.
    An unbounded side is infinite: the test does not reject any value beyond the estimate on
    that side within the searched range, and ``low_floor`` / ``high_floor`` hold the smallest
    p-value it gave there (a floor above the level: the test cannot bound that side on these
    data, whatever the data say); ``method`` says which test was inverted."""

    low: float
    high: float
    method: str
    level: float = 0.95
    note: str = ""
    low_floor: float = math.nan
    high_floor: float = math.nan

    @property
    def bounded(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)

    @property
    def unbounded(self) -> bool:
        """An infinite side (not a missing one: a failed interval is NaN)."""
        return math.isinf(self.low) or math.isinf(self.high)

    @property
    def computed(self) -> bool:
        """Whether there is an interval at all (one not computed or failed is NaN on both sides)."""
        return not (math.isnan(self.low) and math.isnan(self.high))

    def excludes(self, log_effect: float) -> bool:
        """Whether the interval lies wholly on one side of ``log_effect`` (a NaN interval
        excludes nothing)."""
        return self.low > log_effect or self.high < log_effect


@dataclass(frozen=True)
class SizeCheck:
    """Simulated rejection rate at ``nominal`` of the reported test (and of the HAC Wald test
    beside it) under the calibration null described in ``null``.

    The size decides nothing until ``minimum`` simulations are usable (``checked``); a test
    that cannot reach the nominal level on these data has no size at all (``reachable`` False,
    ``size`` NaN). Against the ``threshold`` the size is read with its Monte Carlo error at the
    threshold, ``se = sqrt(t (1 - t) / usable)``: ``oversized`` when it exceeds ``t + 2 se``,
    ``within`` when it stays below ``t - 2 se``, else ``borderline`` (the simulation cannot
    tell which side it is on)."""

    nominal: float
    size: float
    mc_se: float
    n_sims: int
    n_failed: int
    null: str
    wald_size: float | None = None
    wald_mc_se: float | None = None
    threshold: float = 0.10
    minimum: int = 200  # usable simulations below which the size is not a check at all
    reachable: bool = True

    @property
    def usable(self) -> int:
        return self.n_sims - self.n_failed

    @property
    def checked(self) -> bool:
        """Whether enough simulations were usable for the size to mean anything."""
        return self.reachable and self.usable >= self.minimum

    @property
    def threshold_se(self) -> float:
        """Monte Carlo s.e. of a size equal to the threshold, from the usable simulations."""
        t = self.threshold
        return math.sqrt(t * (1 - t) / self.usable) if self.usable else math.inf

    @property
    def oversized(self) -> bool:
        return self.checked and self.size > self.threshold + 2 * self.threshold_se

    @property
    def within(self) -> bool:
        return self.checked and self.size < self.threshold - 2 * self.threshold_se

    @property
    def borderline(self) -> bool:
        return self.checked and not self.oversized and not self.within


@dataclass(frozen=True)
class Exaggeration:
    """A design analysis at one true effect (Gelman & Carlin 2014): the power of the reported
    test there, the median of the significant estimates (display scale), their type M error
    (mean absolute significant log estimate over the true one) and type S error (share with the
    wrong sign); ``like_data``: the samples there have event counts like the data."""

    effect: float
    power: float
    mc_se: float
    median_significant: float
    type_m: float
    type_s: float
    n_significant: int
    like_data: bool = True


@dataclass(frozen=True, eq=False)
class PowerCheck:
    """Power of the reported test against effects of the focal term, by simulation.

    ``reachable`` is False when the test cannot reach ``alpha`` at all (too few placebo
    dates); then there is no curve and no MDE, and ``reason`` says why. ``mde`` is the
    smallest effect on the display scale with power >= ``target``; NaN when no effect up to
    ``search_limit`` reached it. The curve holds effect (display scale), log effect, power,
    the draws whose fit failed (excluded from the power, never counted as non-rejections), the
    mean events per sample and whether that is like the data (at most ``event_factor`` times
    ``observed_events``); a point unlike the data never counts, and ``event_limited`` says the
    search stopped at one. ``exaggeration`` is the design analysis at the adequate effect.
    """

    reachable: bool
    target: float
    alpha: float
    n_sims: int
    mde: float
    mde_log: float
    search_limit: float
    curve: pd.DataFrame
    reason: str = ""
    generator: str = ""
    observed_events: float = math.nan
    event_factor: float = math.nan
    event_limited: bool = False
    exaggeration: Exaggeration | None = None

    @property
    def achieved(self) -> bool:
        return self.reachable and math.isfinite(self.mde)

    def power_curve(self) -> pd.DataFrame:
        return self.curve.copy()


@dataclass(frozen=True, eq=False)
class CoverageCheck:
    """What the outcome's coverage allows one to say about the estimate.

    ``shares`` are the catalogue's detection shares per year in the window where a counter
    states a count (period, counter, share). ``bounds`` are the lowest and highest focal
    effect (display scale) across the detection paths those shares allow for the years without
    one (None when the coverage control makes the estimate insensitive to yearly coverage, or
    the outcome is a single counter's own count). ``tipping_ratio`` is the ratio of detection
    rates between the compared periods (high vs low predictor by one display unit, after vs
    before a step) that would produce the estimate with no real effect; ``plausible_range``
    the range of such ratios that the observed shares show (None where the data cannot say);
    ``could_produce`` whether the tipping ratio lies inside it (None: cannot assess).
    """

    outcome: str
    control: str
    description: str
    shares: pd.DataFrame
    tipping_ratio: float
    plausible_range: tuple[float, float] | None
    could_produce: bool | None
    bounds: tuple[float, float] | None = None
    note: str = ""

    def share_table(self) -> pd.DataFrame:
        return self.shares.copy()


@dataclass(frozen=True)
class Verdict:
    """A structured verdict: one code of :data:`VERDICTS` and the reasons behind it."""

    code: str
    reasons: tuple[str, ...] = ()
    controls: tuple[tuple[str, str], ...] = ()  # (control id, its verdict code) it rests on

    def __post_init__(self) -> None:
        if self.code not in VERDICTS:
            raise ConfigError(f"verdict {self.code!r} is not one of {list(VERDICTS)}")
        known = labels.reasons()
        unknown = [r for r in self.reasons if r not in known]
        if unknown:
            raise ConfigError(f"verdict reasons {unknown} are not in {list(known)}")

    @property
    def label(self) -> str:
        return VERDICTS[self.code]


@dataclass(frozen=True, eq=False)
class HypothesisResult:
    """One registered claim tested on one of its outcomes: everything a report says about it."""

    hypothesis_id: str
    outcome: str
    outcome_label: str
    statement: str
    rationale: str
    multiplicity: str
    scope: str
    control: bool
    expected_sign: str | None
    sided: str
    window: tuple[str, str]
    model: CountModelResult
    term: str
    effect: EffectScale
    test: SmallSampleTest
    interval: Interval
    size: SizeCheck | None = None
    power: PowerCheck | None = None
    coverage: CoverageCheck | None = None
    p_adjusted: Mapping[str, float] = field(default_factory=dict)
    verdict: Verdict | None = None
    notes: tuple[str, ...] = ()
    contrast: pd.DataFrame | None = None  # a 0/1 focal term: periods, events, rate in each state
    coverage_controls: tuple[str, ...] = ()  # registered controls for what coverage cannot assess
    loyo: pd.DataFrame | None = None  # leave-one-year-out: year, effect (display), p
    content_key: str = ""  # the results store's key: what decided these numbers (``store``)

    def __post_init__(self) -> None:
        check_sided(self.sided)
        if self.expected_sign not in ("+", "-", None):
            raise ConfigError(
                f"expected_sign must be '+', '-' or None; found {self.expected_sign!r}"
            )
        self.model.term(self.term)  # raises if the focal term is not in the model
        object.__setattr__(self, "p_adjusted", _read_only(self.p_adjusted))
        object.__setattr__(self, "notes", tuple(self.notes))

    @property
    def key(self) -> tuple[str, str]:
        return (self.hypothesis_id, self.outcome)

    @property
    def estimate(self) -> pd.Series:
        """The focal row of the model's tidy table (Wald quantities, model covariance)."""
        return self.model.term(self.term)

    @property
    def log_effect(self) -> float:
        return float(self.estimate["estimate"])

    @property
    def sign_agrees(self) -> bool | None:
        """Whether the estimate has the expected sign (None when no sign was expected)."""
        if self.expected_sign is None:
            return None
        return self.log_effect > 0 if self.expected_sign == "+" else self.log_effect < 0

    def open_towards(self, log_effect: float) -> bool:
        """Whether the interval's side towards ``log_effect`` (from 0) is unbounded: its own
        test rejects no effect that large on these data."""
        interval = self.interval
        return (log_effect > 0 and math.isinf(interval.high)) or (
            log_effect < 0 and math.isinf(interval.low)
        )

    @property
    def mde_stated(self) -> bool:
        """Whether the MDE is a figure to state: reached by the simulated power, on a side the
        interval's own test can bound (else the same test could not reject it on these data)."""
        power = self.power
        return power is not None and power.achieved and not self.open_towards(power.mde_log)

    def with_adjusted(self, **p_values: float) -> HypothesisResult:
        """A copy with more adjusted p-values (results are frozen)."""
        return replace(
            self, p_adjusted={**self.p_adjusted, **{k: float(v) for k, v in p_values.items()}}
        )

    def with_verdict(self, verdict: Verdict) -> HypothesisResult:
        return replace(self, verdict=verdict)

    def to_row(self) -> dict[str, Any]:
        """One flat row of numbers and codes (no display text beyond labels)."""
        effect = self.effect
        wald = self.estimate
        power, size, coverage = self.power, self.size, self.coverage
        return {
            "hypothesis": self.hypothesis_id,
            "outcome": self.outcome,
            "outcome_label": self.outcome_label,
            "multiplicity": self.multiplicity,
            "scope": self.scope,
            "control": self.control,
            "term": self.term,
            "model_family": self.model.family,
            "effect_ratio": self.model.effect_ratio,
            "effect_label": effect.label(),
            "nobs": self.model.nobs,
            "window_start": self.window[0],
            "window_end": self.window[1],
            "effect": effect.display(self.log_effect),
            "ci_low": effect.display(self.interval.low),
            "ci_high": effect.display(self.interval.high),
            "interval_method": self.interval.method,
            "p": self.test.p_value,
            "p_mc_se": self.test.p_mc_se,
            "p_method": self.test.method,
            "p_label": self.test.label,
            "min_attainable_p": self.test.min_attainable_p,
            "p_holm": self.p_adjusted.get("holm_family"),
            "q_bh": self.p_adjusted.get("bh_scope"),
            "wald_p": float(wald["p_value"]),
            "wald_ci_low": effect.display(float(wald["ci_low"])),
            "wald_ci_high": effect.display(float(wald["ci_high"])),
            "wald_label": self.model.cov_label,
            "size": None if size is None or not size.reachable else size.size,
            "size_mc_se": None if size is None else size.mc_se,
            "wald_size": None if size is None else size.wald_size,
            "oversized": None if size is None else bool(size.oversized),
            "power_reachable": None if power is None else power.reachable,
            "mde": power.mde if self.mde_stated else None,
            "coverage_control": None if coverage is None else coverage.control,
            "coverage_tipping_ratio": None if coverage is None else coverage.tipping_ratio,
            "coverage_could_produce": None if coverage is None else coverage.could_produce,
            "coverage_bound_low": None
            if coverage is None or not coverage.bounds
            else coverage.bounds[0],
            "coverage_bound_high": None
            if coverage is None or not coverage.bounds
            else coverage.bounds[1],
            "expected_sign": self.expected_sign,
            "sign_agrees": self.sign_agrees,
            "sided": self.sided,
            "verdict": None if self.verdict is None else self.verdict.code,
            "verdict_reasons": "" if self.verdict is None else ",".join(self.verdict.reasons),
            "converged": self.model.converged,
        }

    def tidy(self) -> pd.DataFrame:
        """The row above as a one-row frame indexed by (hypothesis, outcome)."""
        return pd.DataFrame([self.to_row()]).set_index(["hypothesis", "outcome"])


@dataclass(frozen=True)
class Failure:
    """A registered test the data could not support, and why (reported, never hidden)."""

    hypothesis_id: str
    outcome: str
    multiplicity: str
    scope: str
    control: bool
    reason: str
    statement: str = ""
    outcome_label: str = ""
    content_key: str = ""  # the results store's key (``store``)
    expected_sign: str | None = None  # as a result's: a control with one is a positive control

    @property
    def key(self) -> tuple[str, str]:
        return (self.hypothesis_id, self.outcome)

    def to_row(self) -> dict[str, Any]:
        return {
            "hypothesis": self.hypothesis_id,
            "outcome": self.outcome,
            "multiplicity": self.multiplicity,
            "scope": self.scope,
            "control": self.control,
            "verdict": "not_testable",
            "note": self.reason,
        }


@dataclass(frozen=True)
class RegistryResults:
    """Tested entries (all outcomes) with the multiplicity corrections over the whole
    registry; ``corrections`` says in words exactly what was computed."""

    results: tuple[HypothesisResult, ...]
    failures: tuple[Failure, ...] = ()
    corrections: str = ""

    def get(self, hypothesis_id: str, outcome: str | None = None) -> HypothesisResult:
        for result in self.results:
            if result.hypothesis_id == hypothesis_id and outcome in (None, result.outcome):
                return result
        raise ConfigError(
            f"no tested result for {hypothesis_id}" + (f" on {outcome}" if outcome else "")
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per (hypothesis, outcome): tested rows, then the untestable ones."""
        rows = [r.to_row() for r in self.results] + [f.to_row() for f in self.failures]
        return pd.DataFrame(rows)


def _cells(table: pd.DataFrame, digits: int) -> tuple[list[str], list[list[str]]]:
    """Format a tidy table once, so every renderer shows the same digits."""
    header = list(table.columns)
    rows = []
    for term, values in table.iterrows():
        cells = [
            format_p(v, digits) if col == "p_value" else format_number(v, digits)
            for col, v in values.items()
        ]
        rows.append([str(term), *cells])
    return header, rows
