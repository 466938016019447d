"""Dyad × period panels (month or year) from the canonical tables, ready for the count models.

Rules that make the panel honest about its data:

* An incident is counted in the period of its ``date_start``. Periods the coverage table
  (``incident_coverage``, built with the data) marks as covered with no catalogued incident are
  zeros; periods it marks as not covered are *missing*. A counter's own yearly count replaces
  the catalogue's where an outcome series asks for it, one counter at a time.
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

from ..errors import ConfigError, DataError

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
    coverage: tuple[str, str]  # first and last period with an observed outcome
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


def covered_periods(coverage: pd.DataFrame, dyad: str, index: pd.PeriodIndex) -> np.ndarray:
    """Which periods of ``index`` the catalogue covered for ``dyad``, from the coverage table:
    a dyad-year is covered when its status is ``rows_found``, ``searched_empty`` or
    ``stated_zero`` (``not_covered`` means the catalogue says nothing: missing, never zero),
    and within a covered year only its months ``first_month``..``last_month``. A year is
    covered on an annual panel only if all twelve of its months are."""
    rows = coverage[(coverage["dyad"] == dyad) & (coverage["status"] != "not_covered")]
    if rows.empty:
        raise DataError(
            None,
            f"the coverage table has no covered year for dyad {dyad}",
            expected="rows in data/incident_coverage.csv",
        )
    months = {
        (int(r.year), m)
        for r in rows.itertuples(index=False)
        for m in range(int(r.first_month), int(r.last_month) + 1)
    }
    if index.freqstr.startswith("M"):
        return np.array([(p.year, p.month) in months for p in index])
    return np.array([all((p.year, m) in months for m in range(1, 13)) for p in index])


def count_incidents(
    incidents: pd.DataFrame, outcome: OutcomeSpec, index: pd.PeriodIndex, covered: np.ndarray
) -> pd.DataFrame:
    """Per period: incidents, stated fatalities, incidents with a stated fatality figure;
    missing (never zero) in periods the source did not cover."""
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
    for column in ("incidents", "fatal_incidents", "incidents_with_fatality_figure"):
        counts[column] = counts[column].fillna(0).astype("Int64").where(covered)
    # Fatalities stay missing in periods with no stated figure: no figure is not zero deaths.
    counts["fatalities"] = counts["fatalities"].astype("Float64").where(covered)
    counts.index.name = "period"
    return counts


def stated_counts(
    claims: pd.DataFrame, outcome: OutcomeSpec, counter: str, index: pd.PeriodIndex
) -> tuple[pd.Series, tuple[str, ...]]:
    """One counter's full-year counts for the dyad, on an annual index; other periods missing.

    Partial-year statements are kept as they are stated, never scaled up: they do not enter
    the series, and the notes name them."""
    if not index.freqstr.startswith("Y"):
        raise ConfigError(f"counts stated by {counter} are yearly: use frequency 'A'")
    rows = claims[(claims["counter"] == counter) & (claims["dyad"] == outcome.dyad)]
    rows = rows.dropna(subset=["incidents_stated"])
    if rows.empty:
        raise DataError(
            None,
            f"no count of {outcome.dyad} incidents stated by counter '{counter}'",
            expected="rows in data/incident_claims.csv with that counter and dyad",
        )
    full = rows[rows["period_kind"] == "full_year"]
    series = pd.Series(
        full["incidents_stated"].astype(float).to_numpy(),
        index=pd.PeriodIndex(full["period_start"].str[:4], freq="Y"),
    )
    if series.index.has_duplicates:
        raise DataError(
            None,
            f"counter '{counter}' states two full-year counts for one year of {outcome.dyad}",
            found=sorted(str(p) for p in series.index[series.index.duplicated()]),
        )
    notes = tuple(
        f"{r.claim_id}: {int(r.incidents_stated)} incidents stated for {r.period_start} to "
        f"{r.period_end} ({r.period_kind.replace('_', ' ')}, kept aside, not scaled up)"
        for r in rows[rows["period_kind"] != "full_year"].itertuples(index=False)
    )
    return series.reindex(index).astype("Float64").rename("incidents"), notes


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


@dataclass(frozen=True)
class MilestoneTerm:
    """A term built from dated milestones (``data/milestones.csv``), by id.

    ``on``/``off``: a regime, 1 from each ``on`` milestone until the next ``off`` one (a border
    closed until it reopens). ``sum_of``: the cumulative ``quantity`` of those milestones (km of
    border agreed), 0 before the first. A milestone counts from its ``latest_date``: for one
    dated "reported by" that is the date it was reported, the latest it can have happened."""

    name: str
    on: tuple[str, ...] = ()
    off: tuple[str, ...] = ()
    sum_of: tuple[str, ...] = ()

    def __post_init__(self):
        for key in ("on", "off", "sum_of"):
            object.__setattr__(self, key, tuple(getattr(self, key)))
        if bool(self.on) == bool(self.sum_of) or (self.off and not self.on):
            raise ConfigError(
                f"milestone term '{self.name}': give either on (with optional off) milestone ids, "
                "or sum_of ids"
            )


def milestone_term(
    index: pd.PeriodIndex, milestones: pd.DataFrame, term: MilestoneTerm
) -> pd.Series:
    """The term on ``index`` (see :class:`MilestoneTerm`); an unknown id is a DataError."""
    table = milestones.set_index("milestone_id")
    wanted = [*term.on, *term.off, *term.sum_of]
    absent = [m for m in wanted if m not in table.index]
    if absent:
        raise DataError(
            None, f"milestone term '{term.name}': no milestone {absent} in the milestones table",
            expected="ids of data/milestones.csv",
        )  # fmt: skip
    when = {m: pd.Period(table.loc[m, "latest_date"], index.freq) for m in wanted}
    if term.sum_of:
        amounts = table.loc[list(term.sum_of), "quantity"]
        if amounts.isna().any():
            raise DataError(
                None, f"milestone term '{term.name}': milestones {list(amounts.index[amounts.isna()])} "
                "state no quantity", expected="milestones with a quantity (e.g. km of border)",
            )  # fmt: skip
        values = [sum(float(amounts[m]) for m in term.sum_of if when[m] <= p) for p in index]
        return pd.Series(values, index=index, name=term.name)
    events = sorted([(when[m], 1) for m in term.on] + [(when[m], 0) for m in term.off])
    state, values = 0, []
    for period in index:
        for date, switch in events:
            if date == period:
                state = switch
        values.append(state if any(date <= period for date, _ in events) else 0)
    return pd.Series(values, index=index, name=term.name)


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
    coverage: pd.DataFrame | None = None,
    stated: pd.Series | None = None,
    exposure: pd.Series | None = None,
    milestone_terms: tuple[MilestoneTerm, ...] = (),
    milestones: pd.DataFrame | None = None,
    notes: tuple[str, ...] = (),
) -> Panel:
    """Assemble outcome counts, aligned predictors, dated steps, calendar terms and lagged outcomes.

    The outcome is the catalogue's count, missing outside what ``coverage`` (the coverage
    table) says was covered, unless ``stated`` gives a counter's own yearly series instead.
    ``exposure`` (e.g. a detection share per period) becomes a column of that name. Trend and
    seasonal terms are generated by ``models`` from the period index, so every spec gets them
    the same way.
    """
    index = periods(frequency, start, end)
    if stated is not None:
        counts = pd.DataFrame({outcome.column: stated.reindex(index)})
    else:
        if coverage is None:
            raise ConfigError("a catalogue outcome needs the coverage table (incident_coverage)")
        counts = count_incidents(
            incidents, outcome, index, covered_periods(coverage, outcome.dyad, index)
        )
    columns = [counts]
    if exposure is not None:
        columns.append(exposure.reindex(index))
    columns += [indicator_series(indicators, spec, index) for spec in predictors]
    columns += [step(index, date, name) for name, date in (steps or {}).items()]
    columns += [calendar_term(index, name) for name in calendar]
    if milestone_terms and milestones is None:
        raise ConfigError("milestone terms need the milestones table")
    columns += [milestone_term(index, milestones, term) for term in milestone_terms]
    frame = pd.concat(columns, axis=1)
    for lag in outcome_lags:
        frame[f"{outcome.column}_lag{lag}"] = frame[outcome.column].shift(lag)
    observed = frame[outcome.column].notna()
    span = (
        (str(index[observed.to_numpy()][0]), str(index[observed.to_numpy()][-1]))
        if observed.any()
        else ("", "")
    )
    return Panel(frame=frame, frequency=frequency, outcome=outcome, coverage=span, notes=notes)
