"""Dyad × period panels (month or year) from the canonical tables, ready for the count models.

Rules that make the panel honest about its data:

* An incident is counted in the period of its ``date_start``. Periods inside the outcome
  source's coverage with no catalogued incident are zeros; periods outside it are *missing*.
* An annual indicator applies to every month of its year as a step: never interpolated.
  A monthly indicator on an annual panel is the mean of the year's twelve months, and missing
  unless all twelve are present.
* Transforms (differences, growth) are taken on the indicator's own frequency, before
  alignment; lags are counted in the indicator's own periods (years for annual data).
* Rows a model cannot use (outcome outside coverage, a predictor missing) stay in the panel;
  the model layer drops them and reports how many and why.

The panel never reads files: it takes tables that ``datasets.load`` returned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import ConfigError, DataError

FREQUENCIES = {"M": "month", "A": "year"}
MEASURES = ("incidents", "fatalities", "fatal_incidents")
TRANSFORMS = ("level", "diff", "pct_change", "log", "log_diff")
IRRIGATION_MONTHS = frozenset(range(4, 10))  # April-September: the Isfara basin's irrigation season
CALENDAR_TERMS = ("irrigation_months",)


@dataclass(frozen=True)
class OutcomeSpec:
    """What is counted: which dyad, which incidents, and which measure."""

    dyad: str = "KGZ-TJK"
    measure: str = "incidents"
    categories: tuple[str, ...] = ()
    min_fatalities: int | None = None
    source: str = "catalogue"

    def __post_init__(self):
        if self.measure not in MEASURES:
            raise ConfigError(f"outcome measure '{self.measure}' is not one of {list(MEASURES)}")

    @property
    def column(self) -> str:
        return self.measure


@dataclass(frozen=True)
class PredictorSpec:
    """One indicator series, transformed and lagged on its own frequency, then aligned."""

    indicator: str
    iso3: str
    transform: str = "level"
    lag: int = 0
    source: str | None = None
    name: str | None = None

    def __post_init__(self):
        if self.transform not in TRANSFORMS:
            raise ConfigError(
                f"transform '{self.transform}' of {self.indicator} is not one of {list(TRANSFORMS)}"
            )
        if self.lag < 0:
            raise ConfigError(f"lag of {self.indicator} must be >= 0, got {self.lag}")

    @property
    def column(self) -> str:
        if self.name:
            return self.name
        suffix = "" if self.transform == "level" else f"_{self.transform}"
        lag = f"_lag{self.lag}" if self.lag else ""
        return f"{self.iso3}_{self.indicator}{suffix}{lag}".replace(".", "_")


@dataclass(frozen=True)
class Panel:
    """A panel frame indexed by period plus what it is made of (for reports and checks)."""

    frame: pd.DataFrame
    frequency: str
    outcome: OutcomeSpec
    coverage: tuple[str, str]
    notes: tuple[str, ...] = ()


def periods(frequency: str, start: str, end: str) -> pd.PeriodIndex:
    """Every period from ``start`` to ``end`` inclusive ('2008', '2008-01', ...)."""
    if frequency not in FREQUENCIES:
        raise ConfigError(f"frequency '{frequency}' is not one of {list(FREQUENCIES)}")
    freq = "M" if frequency == "M" else "Y"
    try:
        index = pd.period_range(
            pd.Period(start, freq), pd.Period(end, freq), freq=freq, name="period"
        )
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"sample window {start}..{end} is not a valid period range ({exc})"
        ) from None
    if len(index) == 0:
        raise ConfigError(f"sample window {start}..{end} is empty: start must not be after end")
    return index


def outcome_coverage(incidents: pd.DataFrame, outcome: OutcomeSpec) -> tuple[str, str]:
    """The years an incident source covers at all: first to last year with any row, any dyad.

    Outside these years the source says nothing, so the count is missing rather than zero.
    """
    rows = incidents[incidents["source_dataset"] == outcome.source]
    if rows.empty:
        raise DataError(
            None,
            f"no incidents from source '{outcome.source}' in the incidents table",
            expected="a source present in data/incidents.csv",
        )
    years = rows["date_start"].str[:4].astype(int)
    return str(years.min()), str(years.max())


def count_incidents(
    incidents: pd.DataFrame, outcome: OutcomeSpec, index: pd.PeriodIndex
) -> pd.DataFrame:
    """Per period: incidents, stated fatalities, incidents with a stated fatality figure."""
    rows = incidents[
        (incidents["source_dataset"] == outcome.source) & (incidents["dyad"] == outcome.dyad)
    ]
    if outcome.categories:
        rows = rows[rows["event_category"].isin(outcome.categories)]
    if outcome.min_fatalities is not None:
        rows = rows[rows["fatalities"].fillna(0) >= outcome.min_fatalities]
    when = pd.PeriodIndex(pd.to_datetime(rows["date_start"]), freq=index.freq)
    grouped = rows.assign(period=when).groupby("period")
    counts = pd.DataFrame(
        {
            "incidents": grouped.size(),
            "fatalities": grouped["fatalities"].sum(min_count=1),
            "fatal_incidents": grouped["fatalities"].apply(lambda s: int((s.fillna(0) > 0).sum())),
            "incidents_with_fatality_figure": grouped["fatalities"].count(),
        }
    ).reindex(index)
    first, last = outcome_coverage(incidents, outcome)
    covered = (index.year >= int(first)) & (index.year <= int(last))
    for column in ("incidents", "fatal_incidents", "incidents_with_fatality_figure"):
        counts[column] = counts[column].fillna(0).astype("Int64").where(covered)
    # Fatalities stay missing in periods with no stated figure: no figure is not zero deaths.
    counts["fatalities"] = counts["fatalities"].astype("Float64").where(covered)
    counts.index.name = "period"
    return counts


def indicator_series(
    indicators: pd.DataFrame, spec: PredictorSpec, index: pd.PeriodIndex
) -> pd.Series:
    """One indicator, transformed and lagged on its own frequency, aligned to ``index``."""
    rows = indicators[
        (indicators["indicator"] == spec.indicator) & (indicators["iso3"] == spec.iso3)
    ]
    if spec.source is not None:
        rows = rows[rows["source"] == spec.source]
    if rows.empty:
        raise DataError(
            None,
            f"indicator {spec.indicator} for {spec.iso3} is not in the indicators table"
            + (f" from source '{spec.source}'" if spec.source else ""),
            hint="check the registry entry against data/README.md",
        )
    if rows["source"].nunique() > 1:
        raise ConfigError(
            f"indicator {spec.indicator} ({spec.iso3}) comes from several sources "
            f"{sorted(rows['source'].unique())}: name one with `source`"
        )
    native = rows["frequency"].iloc[0]
    freq = "M" if native == "M" else "Y"
    series = pd.Series(
        rows["value"].to_numpy(dtype=float), index=pd.PeriodIndex(rows["period"], freq=freq)
    )
    full = pd.period_range(series.index.min(), series.index.max() + spec.lag, freq=freq)
    series = apply_transform(series.reindex(full), spec.transform).shift(spec.lag)
    target_monthly = index.freqstr.startswith("M")
    if native == "M" and not target_monthly:
        years = series.groupby(series.index.year)
        aligned = years.mean().where(years.count() == 12)
        aligned.index = pd.PeriodIndex([str(y) for y in aligned.index], freq="Y")
        return aligned.reindex(index).rename(spec.column)
    if native == "A" and target_monthly:
        by_year = dict(zip(series.index.year, series.to_numpy()))
        return pd.Series(
            [by_year.get(p.year, np.nan) for p in index], index=index, name=spec.column
        )
    return series.reindex(index).rename(spec.column)


def apply_transform(series, transform: str):
    """A transform of a Series (or of every column of a frame) on its own consecutive periods."""
    if transform == "level":
        return series
    if transform == "diff":
        return series.diff()
    if transform == "pct_change":
        return 100 * (series / series.shift(1) - 1)
    positive = series.where(series > 0)
    if transform == "log":
        return np.log(positive)
    return 100 * np.log(positive).diff()  # log_diff: approximately % change


def step(index: pd.PeriodIndex, date: str, name: str) -> pd.Series:
    """1 from the period containing ``date`` onwards, else 0 (a level shift at a dated event)."""
    when = pd.Period(date, index.freq)
    return pd.Series((index >= when).astype(int), index=index, name=name)


def calendar_term(index: pd.PeriodIndex, name: str) -> pd.Series:
    """A column that depends only on the calendar, for a test whose claim is about the calendar
    (H3: 1 in irrigation-season months). Seasonal *controls* are generated by the model layer."""
    if name not in CALENDAR_TERMS:
        raise ConfigError(f"calendar term '{name}' is not one of {list(CALENDAR_TERMS)}")
    if not index.freqstr.startswith("M"):
        raise ConfigError(f"calendar term '{name}' needs a monthly panel (frequency 'M')")
    return pd.Series(index.month.isin(IRRIGATION_MONTHS).astype(int), index=index, name=name)


def build_panel(
    incidents: pd.DataFrame,
    indicators: pd.DataFrame,
    *,
    frequency: str,
    start: str,
    end: str,
    outcome: OutcomeSpec = OutcomeSpec(),
    predictors: tuple[PredictorSpec, ...] = (),
    steps: dict[str, str] | None = None,
    outcome_lags: tuple[int, ...] = (),
    calendar: tuple[str, ...] = (),
) -> Panel:
    """Assemble outcome counts, aligned predictors, dated steps, calendar terms and lagged outcomes.

    Trend and seasonal terms are generated by ``models`` from the period index, so every
    spec gets them the same way.
    """
    index = periods(frequency, start, end)
    counts = count_incidents(incidents, outcome, index)
    columns = [counts]
    columns += [indicator_series(indicators, spec, index) for spec in predictors]
    columns += [step(index, date, name) for name, date in (steps or {}).items()]
    columns += [calendar_term(index, name) for name in calendar]
    frame = pd.concat(columns, axis=1)
    for lag in outcome_lags:
        frame[f"{outcome.column}_lag{lag}"] = frame[outcome.column].shift(lag)
    return Panel(
        frame=frame,
        frequency=frequency,
        outcome=outcome,
        coverage=outcome_coverage(incidents, outcome),
    )
