"""Testing the registered claims: the engine behind every hypothesis report and the summary.

For one registered entry on one of its outcome series (``registry``):

1. build its panel (case: the catalogue with its coverage, a counter's own yearly count, or the
   catalogue scaled by detection shares; global: a unit-year panel) and its model;
2. run the reported small-sample test (``inference``): block permutation, within-stratum
   permutation for the outcome's own dependence, placebo dates for a step, or for a global
   panel the cluster-robust Wald test or, when few clusters carry events, the score wild
   cluster bootstrap;
3. invert that same test for the 95% interval;
4. simulate its size under a null like the data, and its power and minimum detectable effect
   (``calibration``; ``cluster_inference`` for a global panel), and check what the outcome's
   coverage allows (``coverage``);
5. over the *whole* registry: Holm within each family and Benjamini-Hochberg across the
   non-control tests of each scope, whatever subset is reported; then a structured verdict
   for each test (``verdicts``).

Defaults live in :class:`settings.TestSettings`, the one place they are stated.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, fields, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import AnalysisError, ConfigError, ModelError
from ..inference import calibration, clusters, coverage, small_sample
from ..models.design import Design, build_design, drop_eventless, period_strata
from ..models.fit import fit_design
from ..panels.global_panel import GlobalPanel, build_global_panel
from ..panels.panel import Panel, build_panel, stated_counts
from ..results import (
    CountModelResult,
    EffectScale,
    Failure,
    HypothesisResult,
    Interval,
    PowerCheck,
    RegistryResults,
    SizeCheck,
    SmallSampleTest,
)
from . import verdicts
from .registry import HypothesisSpec, OutcomeSeries, Study, load_study
from .settings import TestSettings


@dataclass(frozen=True)
class Tables:
    """The canonical tables a test reads (from ``datasets.load``). Case entries need the first
    four (and the milestones for terms built from them); global entries the UCDP conflict years, the state list, the country crosswalk and
    (dyads) contiguity."""

    incidents: pd.DataFrame | None = None
    indicators: pd.DataFrame | None = None
    incident_claims: pd.DataFrame | None = None
    incident_coverage: pd.DataFrame | None = None
    milestones: pd.DataFrame | None = None
    conflict_years: pd.DataFrame | None = None
    states: pd.DataFrame | None = None
    countries: pd.DataFrame | None = None
    contiguity: pd.DataFrame | None = None
    folder: Path | None = None  # where ``load`` read them (None: frames given directly)

    @classmethod
    def load(cls, folder=None) -> Tables:
        """Every table any registered test reads, from the shipped data (checksums verified)."""
        from ..data import datasets

        return cls(
            **{name: datasets.load(name, folder) for name in TABLES},
            folder=datasets.data_dir(folder).absolute(),
        )

    @cached_property
    def detection_shares(self) -> pd.DataFrame:
        """The catalogue's detection shares (``patterns.detection_shares``), computed once per
        set of tables: every catalogue test and robustness variant reads them."""
        from ..panels.patterns import detection_shares

        return detection_shares(self.incidents, self.incident_claims)

    def digests(self) -> dict[str, str]:
        """A content hash of each table: its sha256 in the data manifest when loaded from a
        folder (``load`` verified the files against it), else a hash of the frame's values."""
        if self.folder is not None:
            from ..data import datasets

            tables = datasets.read_manifest(self.folder)["tables"]
            return {name: tables[name]["sha256"] for name in TABLES}
        out = {}
        for name in TABLES:
            frame = getattr(self, name)
            if frame is None:
                out[name] = "absent"
                continue
            digest = hashlib.sha256(repr(list(frame.columns)).encode())
            digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
            out[name] = digest.hexdigest()
        return out

    def require(self, names: list[str], hypothesis_id: str) -> None:
        absent = [name for name in names if getattr(self, name) is None]
        if absent:
            raise ConfigError(
                f"{hypothesis_id} needs the table(s) {absent}: pass them in Tables "
                "(Tables.load() reads every shipped table)"
            )


TABLES = tuple(f.name for f in fields(Tables) if f.name != "folder")  # every table a test may read
CASE_TABLES = ("incidents", "indicators", "incident_claims", "incident_coverage", "milestones")


def tables_read(spec: HypothesisSpec) -> tuple[str, ...]:
    """The tables a test of ``spec`` reads (its results depend on these alone)."""
    if spec.scope == "global":
        dyads = ("contiguity",) if spec.outcome.unit == "dyad" else ()
        return ("conflict_years", "states", "countries", "indicators", *dyads)
    return CASE_TABLES


@dataclass(frozen=True, eq=False)
class Prepared:
    """One entry on one outcome series, ready to test: its panel, design and series."""

    spec: HypothesisSpec
    series: OutcomeSeries
    panel: Panel | GlobalPanel
    design: Design
    shares: pd.DataFrame | None  # detection-share ranges per year (catalogue outcomes)
    unit: str = ""  # what the focal term is measured in (EffectScale.unit)


def _series(spec: HypothesisSpec, study: Study) -> OutcomeSeries:
    if not spec.series:
        raise ConfigError(f"{spec.id}: say which outcome to test it on ({list(spec.outcomes)})")
    return study.outcome(spec.series, f"{spec.id}: ")


def panel_for(
    spec: HypothesisSpec, tables: Tables, study: Study | None = None
) -> Panel | GlobalPanel:
    """The panel the entry's scope and outcome series call for; years in ``exclude_years``
    lose their outcome (leave-one-year-out)."""
    study = study or load_study()
    series = _series(spec, study)
    if spec.scope == "global":
        panel = _global_panel(spec, tables)
        years = panel.frame["year"]
    else:
        tables.require(["incidents", "indicators", "incident_claims", "incident_coverage"], spec.id)
        panel = _case_panel(spec, series, tables)
        years = panel.frame.index.year
    if spec.exclude_years:
        frame = panel.frame.copy()
        frame.loc[np.asarray(years.isin(spec.exclude_years)), spec.outcome.column] = pd.NA
        panel = replace(panel, frame=frame)
    return panel


def _case_panel(spec: HypothesisSpec, series: OutcomeSeries, tables: Tables) -> Panel:
    stated = exposure = None
    notes: tuple[str, ...] = ()
    if series.kind == "stated":
        index = pd.period_range("1990", "2030", freq="Y", name="period")
        stated, notes = stated_counts(tables.incident_claims, spec.outcome, series.counter, index)
        observed = stated.dropna().index
        first, last = str(observed[0]), str(observed[-1])
    else:
        first, last = _catalogue_span(tables.incident_coverage, spec.outcome.dyad, spec.frequency)
    if series.kind == "catalogue_adjusted":
        shares = tables.detection_shares
        exposure, notes = _share_exposure(shares, spec, series.counter, spec.frequency)
        first, last = str(exposure.index[0]), str(exposure.index[-1])
    if spec.window:
        first, last = spec.window
    return build_panel(
        tables.incidents,
        tables.indicators,
        frequency=spec.frequency,
        start=first,
        end=last,
        outcome=spec.outcome,
        predictors=spec.predictors,
        steps=dict(spec.steps),
        outcome_lags=spec.outcome_lags,
        calendar=spec.calendar,
        coverage=tables.incident_coverage,
        milestone_terms=spec.milestone_terms,
        milestones=tables.milestones,
        stated=stated
        if stated is None
        else stated.reindex(pd.period_range(first, last, freq="Y", name="period")),
        exposure=exposure,
        notes=notes,
    )


def _catalogue_span(coverage_table: pd.DataFrame, dyad: str, frequency: str) -> tuple[str, str]:
    rows = coverage_table[
        (coverage_table["dyad"] == dyad) & (coverage_table["status"] != "not_covered")
    ]
    if rows.empty:
        raise ConfigError(f"the coverage table has no covered year for {dyad}")
    first, last = rows.iloc[rows["year"].argmin()], rows.iloc[rows["year"].argmax()]
    if frequency == "A":
        return str(int(first["year"])), str(int(last["year"]))
    return (
        f"{int(first['year'])}-{int(first['first_month']):02d}",
        f"{int(last['year'])}-{int(last['last_month']):02d}",
    )


def _share_exposure(shares: pd.DataFrame, spec: HypothesisSpec, counter: str, frequency: str):
    """Each year's detection share by ``counter`` as an exposure series (its full-year share
    where stated, else its partial-period one, flagged); years without one, or where the
    catalogue holds none of the counter's incidents, are missing."""
    rows = shares[(shares["dyad"] == spec.outcome.dyad) & (shares["counter"] == counter)]
    rows = rows.sort_values(
        ["year", "period_kind"], key=lambda s: s.eq("full_year") if s.name == "period_kind" else s
    )
    chosen = rows.drop_duplicates("year", keep="last").set_index("year")
    notes = tuple(
        f"{int(year)}: share {r.share:.2f} from a {r.period_kind.replace('_', ' ')} statement"
        for year, r in chosen.iterrows()
        if r.period_kind != "full_year"
    )
    share = chosen["share"].where(chosen["share"] > 0)
    index = pd.period_range(f"{int(chosen.index.min())}", f"{int(chosen.index.max())}-12", freq="M")
    if frequency == "A":
        index = pd.period_range(
            str(int(chosen.index.min())), str(int(chosen.index.max())), freq="Y"
        )
    values = [share.get(p.year, np.nan) for p in index]
    return pd.Series(
        values, index=pd.PeriodIndex(index, name="period"), name="detection_share"
    ), notes


def _global_panel(spec: HypothesisSpec, tables: Tables) -> GlobalPanel:
    needed = ["conflict_years", "states", "countries", "indicators"]
    needed += ["contiguity"] if spec.outcome.unit == "dyad" else []
    tables.require(needed, spec.id)
    start, end = spec.window or ("1990", "2024")
    panel = build_global_panel(
        tables.conflict_years,
        tables.states,
        tables.countries,
        tables.indicators,
        tables.contiguity,
        start=int(start),
        end=int(end),
        outcome=spec.outcome,
        predictors=spec.predictors,
        outcome_lags=spec.outcome_lags,
    )
    if spec.region:
        panel = replace(
            panel, frame=_in_region(panel.frame, tables.countries, spec.region, spec.id)
        )
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


def prepare(spec: HypothesisSpec, tables: Tables, study: Study | None = None) -> Prepared:
    """Panel and design of one entry on its outcome series (``spec.series``)."""
    study = study or load_study()
    series = _series(spec, study)
    panel = panel_for(spec, tables, study)
    model_spec = spec.model_spec(series)
    try:
        design = build_design(panel.frame, model_spec)
    except ModelError as exc:
        raise ModelError(_why_untestable(spec, series, panel, model_spec, exc)) from None
    shares = None
    if series.kind in ("catalogue", "catalogue_adjusted"):
        shares = _share_ranges(spec, tables, panel)
    return Prepared(spec, series, panel, design, shares, focal_unit(spec, tables))


def focal_unit(spec: HypothesisSpec, tables: Tables) -> str:
    """What one unit of the focal term is, from the data's own unit columns (an indicator's in
    data/indicators.csv as transformed, a milestone quantity's) or the outcome for its own lag,
    so that "per SD" says in what; '' for 0/1 terms or where the rows disagree."""
    predictor = next((p for p in spec.predictors if p.column == spec.focal), None)
    if predictor is not None and tables.indicators is not None:
        if "unit" not in tables.indicators:  # a table without units states none
            return ""
        rows = tables.indicators[tables.indicators["indicator"] == predictor.indicator]
        if predictor.iso3 in set(rows["iso3"]):
            rows = rows[rows["iso3"] == predictor.iso3]
        units = rows["unit"].dropna().unique()
        return _transformed_unit(str(units[0]), predictor.transform) if len(units) == 1 else ""
    summed = next((t.sum_of for t in spec.milestone_terms if t.name == spec.focal), ())
    if summed and tables.milestones is not None and "unit" in tables.milestones:
        found = tables.milestones.set_index("milestone_id").loc[list(summed), "unit"]
        units = found.dropna().unique()
        return str(units[0]) if len(units) == 1 else ""
    return spec.outcome.column.replace("_", " ") if spec.focal == spec.lag_term else ""


def _transformed_unit(unit: str, transform: str) -> str:
    """The unit of an indicator after its transform: a spread of per cents is in percentage
    points, of logs in log units."""
    if transform == "log":
        return f"log units of {unit}"
    if transform in ("pct_change", "log_diff"):
        return f"percentage points of % change in {unit}"
    if unit == "annual %":  # a growth or inflation rate
        return "percentage points a year"
    if unit.startswith("%"):
        return f"percentage points {unit[1:].strip()}".strip()
    if "%" in unit or "percent" in unit:
        return f"percentage points ({unit})"
    return unit


def _why_untestable(spec, series: OutcomeSeries, panel, model_spec, exc: ModelError) -> str:
    """The model layer's reason, preceded by what it means for this claim and outcome."""
    frame = panel.frame
    observed = frame[spec.outcome.column].notna()
    span = (
        f"{frame.index[observed][0]}–{frame.index[observed][-1]}" if observed.any() else "no period"
    )
    focal = frame.loc[observed, spec.focal].dropna()
    if focal.nunique() <= 1:
        return f"{series.label} covers {span}, where '{spec.focal}' does not vary" + (
            " (the step falls outside the series)" if spec.is_step else ""
        )
    if model_spec.period_effects and spec.focal in str(exc):
        return (
            f"on {series.label} with {model_spec.period_effects.replace('_', '-')} effects, "
            f"'{spec.focal}' is absorbed by the strata that carry events ({exc})"
        )
    return f"{series.label}, {span}: {exc}"


def _share_ranges(spec: HypothesisSpec, tables: Tables, panel: Panel) -> pd.DataFrame:
    known = coverage.shares_by_year(tables.detection_shares, spec.outcome.dyad)
    observed = panel.frame[spec.outcome.column].dropna()
    years = sorted({int(p.year) for p in observed.index})
    catalogued = observed.groupby(observed.index.year).sum().to_dict()
    return coverage.share_ranges(known, years, catalogued)


def effect_scale(spec: HypothesisSpec, design: Design, ratio: str, unit: str = "") -> EffectScale:
    """Per switch for a 0/1 focal term, else per standard deviation of the predictor as it
    enters the model (units differ wildly across predictors; ``unit`` says what the SD is
    measured in); the ratio is what the fitted family makes of exp(coefficient)."""
    x = design.column(spec.focal)
    if spec.is_binary_focal or set(np.unique(x)) <= {0.0, 1.0}:
        return EffectScale(ratio, "switch")
    return EffectScale(ratio, "sd", sd=float(np.std(x, ddof=1)), unit=unit)


def procedure(prepared: Prepared, settings: TestSettings, study: Study, n_perm: int, purpose: str):
    """The reported small-sample test of a case entry, as a reusable procedure."""
    spec, design = prepared.spec, prepared.design
    problem = small_sample.Problem.from_design(design, spec.focal)
    seed = small_sample.seed_from(f"{spec.id}/{spec.series}/{purpose}")
    if spec.inference == "placebo_dates":
        own = {date for _, date in spec.steps if _ == spec.focal}
        breaks = [b for b in study.breaks if b.date not in own]  # a control placed on a break
        return small_sample.PlaceboDates(
            problem, min_segment=settings.min_segment, sided=spec.sided, breaks=breaks
        )
    if spec.inference == "stratified_permutation":
        return small_sample.StratifiedPermutation(
            problem, n_perm=n_perm, seed=seed, sided=spec.sided
        )
    return small_sample.BlockPermutation(problem, n_perm=n_perm, seed=seed, sided=spec.sided)


def _global_test(prepared: Prepared, model, settings: TestSettings, mapper):
    """The reported test of a global entry and its interval (``clusters.reported_test``),
    with the simulated size and power of that procedure where it has one."""
    spec = prepared.spec
    test, interval = clusters.reported_test(
        prepared.panel.frame, model, spec.focal, key=f"{spec.id}/{spec.series}", sided=spec.sided,
        alpha=settings.level, n_boot=settings.n_perm, ci=settings.calibrate,
    )  # fmt: skip
    if not settings.calibrate or "unchecked" in test.details:
        return test, interval, None, None
    return (test, interval, *_global_calibration(prepared, model, test, interval, settings, mapper))


def _global_calibration(prepared: Prepared, model, test, interval, settings: TestSettings, mapper):
    """Simulated size and power of a global entry's reported test (None where the settings
    ask for none, or where the model has no finite fit to draw panels from). The power
    search starts from the planning MDE ``(z_level + z_power) se``, with the standard error
    the reported interval implies (the bootstrap's is often far wider than the Wald's)."""
    spec, design = prepared.spec, prepared.design
    scale = effect_scale(spec, design, model.effect_ratio)
    cap = clusters.SIMULATIONS
    try:
        simulation = clusters.Simulation(
            prepared.panel.frame, design.spec, spec.focal, key=f"{spec.id}/{spec.series}",
            sided=spec.sided, alpha=settings.level, n_boot=settings.n_perm_sim,
            max_effect=math.log(DIVERGED_RATIO) / scale.multiplier,
        )  # fmt: skip
    except AnalysisError:
        return None, None
    size = power = None
    if settings.n_size > 0:
        size = simulation.size(min(cap, settings.n_size), mapper, threshold=settings.oversize)
    if settings.n_power > 0:
        crit = stats.norm.ppf(1 - settings.level / 2)
        se = (interval.high - interval.low) / (2 * crit)
        if not (math.isfinite(se) and se > 0):
            se = float(model.term(spec.focal)["std_error"])
        guess = scale.display((crit + stats.norm.ppf(settings.power)) * se)
        power = simulation.power(
            min(cap, settings.n_power),
            multiplier=scale.multiplier,
            direction=-1.0 if spec.expected_sign == "negative" or spec.sided == "less" else 1.0,
            guess=guess,
            target=settings.power,
            min_attainable_p=test.min_attainable_p,
            mapper=mapper,
        )
    return size, power


#: A fitted ratio beyond this (or below its inverse) is a likelihood without a finite maximum
#: (quasi-separation), not an estimate: no interval search goes beyond it either.
DIVERGED_RATIO = 1000.0


def finite_fit(spec: HypothesisSpec, prepared: Prepared):
    """The fitted model and its effect scale, or a ModelError where the focal estimate has no
    finite maximum (so neither the report nor the multiplicity count treats it as a test)."""
    model = fit_design(prepared.design)
    scale = effect_scale(spec, prepared.design, model.effect_ratio, prepared.unit)
    estimate = float(model.term(spec.focal)["estimate"])
    if not abs(estimate * scale.multiplier) <= math.log(DIVERGED_RATIO):
        raise ModelError(
            f"on {prepared.series.label}, the estimate of {spec.focal!r} has no finite value (a "
            f"ratio of {scale.display(estimate):.3g}: the likelihood keeps rising as the effect "
            "grows, because the few events sit on one side of the predictor's range within the "
            "strata that carry them)"
        )
    return model, scale


@dataclass(frozen=True, eq=False)
class Reported:
    """What the engine reports for one entry on one outcome series: the fitted model and its
    effect scale, the reported test, the interval inverting it, the simulated size and power
    of that test (None where not simulated) and, for a case entry that rejects, its
    leave-one-year-out table."""

    model: CountModelResult
    scale: EffectScale
    test: SmallSampleTest
    interval: Interval
    size: SizeCheck | None = None
    power: PowerCheck | None = None
    loyo: pd.DataFrame | None = None


def reported_test(
    prepared: Prepared,
    settings: TestSettings | None = None,
    study: Study | None = None,
    mapper: Callable = map,
) -> Reported:
    """The one function that decides which test is reported for a spec, for the main report,
    the summary, every robustness variant and calibration alike: first the divergence guard
    (:func:`finite_fit`: a focal estimate without a finite maximum is no test), then for a
    global entry ``clusters.reported_test`` (the score wild cluster bootstrap with few
    event clusters, else the cluster-robust Wald test), for a case entry the small-sample
    :func:`procedure` its registry entry names; size and power simulate that same procedure."""
    settings = settings or TestSettings()
    study = study or load_study()
    spec = prepared.spec
    model, scale = finite_fit(spec, prepared)
    if spec.scope == "global":
        test, interval, size, power = _global_test(prepared, model, settings, mapper)
        return Reported(model, scale, test, interval, size, power)
    row = model.term(spec.focal)
    estimate, se = float(row["estimate"]), float(row["std_error"])
    inference_ = _case_inference(prepared, estimate, se, scale, settings, study, mapper)
    return Reported(model, scale, *inference_)


def assess(
    spec: HypothesisSpec,
    tables: Tables,
    settings: TestSettings | None = None,
    study: Study | None = None,
    mapper: Callable = map,
) -> HypothesisResult:
    """Estimate one entry on its outcome series with its reported test, interval, size, power
    and coverage check (no adjusted p-values or verdict: those need the whole registry)."""
    study = study or load_study()
    prepared = prepare(spec, tables, study)
    return _result(prepared, reported_test(prepared, settings, study, mapper))


def _result(prepared: Prepared, reported: Reported) -> HypothesisResult:
    """The entry's result from what is reported for it, with the coverage check."""
    spec, design, series = prepared.spec, prepared.design, prepared.series
    model, scale = reported.model, reported.scale
    check = coverage.check(
        series_id=series.id,
        kind=series.kind,
        frequency=spec.frequency,
        control=design.spec.period_effects,
        ranges=prepared.shares,
        design=design,
        term=spec.focal,
        scale=scale,
        log_effect=float(model.term(spec.focal)["estimate"]),
        description=series.description,
    )
    notes = (
        *prepared.panel.notes,
        f"sample {model.sample.get('period_start')}–{model.sample.get('period_end')}",
    )
    return HypothesisResult(
        hypothesis_id=spec.id,
        outcome=series.id,
        outcome_label=series.label,
        statement=spec.statement,
        rationale=spec.rationale,
        multiplicity=spec.multiplicity,
        scope=spec.scope,
        control=spec.control,
        expected_sign=spec.sign,
        sided=spec.sided,
        window=_sample_window(prepared),
        model=model,
        term=spec.focal,
        effect=scale,
        test=reported.test,
        interval=reported.interval,
        size=reported.size,
        power=reported.power,
        coverage=check,
        notes=notes,
        contrast=_contrast(design, spec.focal) if scale.per == "switch" else None,
        coverage_controls=spec.coverage_controls,
        loyo=reported.loyo,
    )


def _case_inference(prepared: Prepared, estimate, se, scale, settings: TestSettings, study, mapper):
    """The reported small-sample test of a case entry, its interval, and (when calibrating)
    its simulated size and power, and its leave-one-year-out range where it rejects."""
    spec, design = prepared.spec, prepared.design
    reported = procedure(prepared, settings, study, settings.n_perm, "p")
    test = reported.result()
    size = power = loyo = None
    if not settings.calibrate:
        return (
            test,
            Interval(math.nan, math.nan, "not computed (calibrate=False)"),
            None,
            None,
            None,
        )
    interval = _interval(reported, prepared, estimate, se, settings, mapper)
    if test.p_value <= settings.level:
        loyo = leave_one_year_out(reported, design, spec.focal, scale)
    if settings.n_size > 0 and settings.n_power > 0:
        inner = procedure(prepared, settings, study, settings.n_perm_sim, "sim")
        lag_term = spec.lag_term if spec.lag_term in design.X.columns else None
        focal_is_lag = spec.focal == lag_term
        key = f"{spec.id}/{spec.series}"
        null = calibration.generator_for(
            design, spec.focal, null=True, lag_term=lag_term, dependence=not focal_is_lag
        )
        size = calibration.size_check(
            inner, null, design, spec.focal, n_sims=settings.n_size, key=key,
            level=settings.level, mapper=mapper,
        )  # fmt: skip
        size = replace(size, threshold=settings.oversize)
        fitted = calibration.generator_for(
            design, spec.focal, null=False, lag_term=lag_term, dependence=not focal_is_lag
        )
        guess = scale.display(
            (stats.norm.ppf(1 - settings.level / 2) + stats.norm.ppf(settings.power)) * se
        )
        power = calibration.power_check(
            inner,
            fitted,
            scale,
            guess=guess if math.isfinite(guess) else 2.0,
            direction=-1.0 if spec.expected_sign == "negative" or spec.sided == "less" else 1.0,
            n_sims=settings.n_power,
            key=key,
            target=settings.power,
            level=settings.level,
            mapper=mapper,
            # a claim about the lag itself: the levels refitted at each lag coefficient, so a
            # series at a large coefficient stays like the data instead of running away
            generator_at=(
                (lambda b: calibration.held_generator(design, spec.focal, lag_term, b))
                if focal_is_lag
                else None
            ),
            design=design,
            reference=settings.adequate_mde,
        )
    return test, interval, size, power, loyo


def leave_one_year_out(reported, design: Design, term: str, scale: EffectScale) -> pd.DataFrame:
    """The estimate and the reported test's p-value with each year of the sample left out, as
    the engine runs them with ``exclude_years`` (the year's outcome missing: its rows go, and any
    stratum left without events; the next month keeps its lagged outcome, which the panel built
    before; the test's layout is rebuilt on what remains). A year whose removal leaves no test
    is left out of the table."""
    periods = design.periods
    if periods is None:
        return pd.DataFrame(columns=["year", "effect", "p"])
    years = np.asarray(periods.year)
    unique = np.unique(years)
    keep = (years[None, :] != unique[:, None]).astype(float)
    Y = np.tile(design.y, (len(unique), 1))
    if design.spec.period_effects:
        keep = drop_eventless(Y, period_strata(periods, design.spec), keep)
    _, p, ok, _ = reported.pvalues(Y, keep)
    beta, fitted = calibration.focal_estimates(design, term, Y, keep)
    good = ok & fitted
    return pd.DataFrame(
        {
            "year": unique[good].astype(int),
            "effect": [scale.display(float(b)) for b in beta[good]],
            "p": p[good],
        }
    )


def _contrast(design: Design, term: str) -> pd.DataFrame:
    """The raw comparison behind a 0/1 term: periods, events and events per period with the
    term off and on, over the rows the model used (no controls: a description, not a test)."""
    on = design.column(term) == 1
    rows = []
    for state, rows_in in (("off", ~on), ("on", on)):
        periods, events = int(rows_in.sum()), float(design.y[rows_in].sum())
        rows.append({"state": state, "periods": periods, "events": events,
                     "per_period": events / periods if periods else float("nan")})  # fmt: skip
    return pd.DataFrame(rows)


def _sample_window(prepared: Prepared) -> tuple[str, str]:
    """First and last period of the rows the model used (years of a unit-year panel)."""
    design = prepared.design
    if design.periods is not None:
        return str(design.periods[0]), str(design.periods[-1])
    years = prepared.panel.frame.loc[design.X.index, "year"]
    return str(int(years.min())), str(int(years.max()))


def _interval(
    reported, prepared: Prepared, estimate: float, se: float, settings: TestSettings, mapper
) -> Interval:
    scale = se if math.isfinite(se) and se > 0 else 0.5
    spec = prepared.spec
    # search up to a ratio of 1000 on the display scale (per SD or per switch)
    multiplier = effect_scale(spec, prepared.design, "IRR").multiplier
    limit = math.log(1000.0) / multiplier
    if isinstance(reported, small_sample.StratifiedPermutation):
        return calibration.invert_by_simulation(
            reported,
            prepared.design,
            spec.focal,
            spec.lag_term,
            estimate,
            scale,
            n_sims=settings.n_interval,
            key=f"{spec.id}/{spec.series}",
            limit=limit,
            mapper=mapper,
        )
    return calibration.offset_interval(
        reported, estimate, scale, limit=math.log(1000.0) / multiplier
    )


# --------------------------------------------------------------------------- the registry


def tests_of(registry: dict[str, HypothesisSpec]) -> list[HypothesisSpec]:
    """Every (entry, outcome series) test of the registry, in registry order."""
    return [spec.on(outcome) for spec in registry.values() for outcome in spec.outcomes]


def corrections(
    pvalues: pd.Series, specs: Mapping[tuple[str, str], HypothesisSpec | HypothesisResult]
) -> tuple[dict[tuple[str, str], dict[str, float]], str]:
    """Holm within each multiplicity group (family of tests) and BH across the non-control
    tests of each scope; negative controls are corrected only within their own group. Keys are
    (id, outcome); ``specs`` give each test's group, scope and whether it is a control."""
    adjusted: dict[tuple[str, str], dict[str, float]] = {key: {} for key in pvalues.index}
    groups: dict[str, list] = {}
    scopes: dict[str, list] = {}
    for key in pvalues.index:
        spec = specs[key]
        groups.setdefault(spec.multiplicity, []).append(key)
        if not spec.control:
            scopes.setdefault(spec.scope, []).append(key)
    for keys in groups.values():
        for key, value in small_sample.holm(pvalues[keys]).items():
            adjusted[key]["holm_family"] = float(value)
    for keys in scopes.values():
        for key, value in small_sample.benjamini_hochberg(pvalues[keys]).items():
            adjusted[key]["bh_scope"] = float(value)
    untestable = len(specs) - len(pvalues)
    words = (
        f"Holm within each family and Benjamini-Hochberg across the non-control tests of each "
        f"scope, over the {len(pvalues)} tests of the registry that the data support (of "
        f"{len(specs)} registered: every entry on every outcome it names; {untestable} not "
        "testable); controls, negative and positive, are corrected within their own family only"
    )
    return adjusted, words


def assemble(
    outcomes: Mapping[tuple[str, str], HypothesisResult | Failure],
    chosen: Collection[str],
    settings: TestSettings,
) -> RegistryResults:
    """The registry's results from every test's outcome (keyed by (id, outcome), in registry
    order): multiplicity corrections over every test with a p-value, then the verdicts of the
    tests of the ``chosen`` entries (which include the controls they name, whose results their
    verdicts read), with their failures."""
    tested = {k: o for k, o in outcomes.items() if isinstance(o, HypothesisResult)}
    pvalues = pd.Series({k: r.test.p_value for k, r in tested.items()}, dtype=float)
    adjusted, words = corrections(pvalues, outcomes)
    final = verdicts.classify_all(
        [r.with_adjusted(**adjusted[k]) for k, r in tested.items() if k[0] in chosen],
        level=settings.level,
        adequate_mde=settings.adequate_mde,
    )
    failures = tuple(o for k, o in outcomes.items() if isinstance(o, Failure) and k[0] in chosen)
    return RegistryResults(results=tuple(final), failures=failures, corrections=words)


__all__ = [
    "TABLES",
    "Prepared",
    "Tables",
    "TestSettings",
    "assemble",
    "assess",
    "effect_scale",
    "panel_for",
    "prepare",
    "reported_test",
    "tests_of",
]
