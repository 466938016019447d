"""Global panels: country-year, contiguous-dyad-year and event counts, from the canonical tables.

The Kyrgyz-Tajik case has 16 years; the same hypotheses on every state of the world give the
comparative evidence that has power. The rules, which every builder here follows:

* **Units.** Gleditsch-Ward (GW) states, UCDP's own codes, in every year they were independent
  on at least one day (``states``). A dyad is a non-directed pair of GW states sharing a land
  border that year (``contiguity``: CShapes distance 0 by default, or COW Direct Contiguity
  type 1, land or river), both states alive. ``unit`` is the ISO3 code ("AAA-BBB" for a dyad);
  a GW state with no ISO3 code (Yugoslavia 345, GDR, Czechoslovakia, Kosovo, South Yemen) is
  "GW<code>" and gets no indicators, since every indicator is keyed by ISO3.
* **After the lists end.** The GW list ends on 2017-12-31, CShapes in 2019 and COW contiguity
  in 2016. No state entered or left the system and no land border changed between then and
  2024 (shared ``global/PROVENANCE.md`` §4), so by default a state still listed on the list's
  last day, and a border still present in its source's last year, continue to the panel's
  end. These rows are flagged (``carried_forward``) and counted in the panel's notes;
  ``carry_forward=False`` ends the panel with the lists instead.
* **Outcomes** (UCDP): ``incidence`` = at least one state-based conflict-year of UCDP/PRIO ACD
  with the state in ``gwno_loc`` (dyads: one state in ``gwno_a``, the other in ``gwno_b``, i.e.
  an interstate conflict between the two). ``onset`` = incidence after at least
  :data:`ONSET_GAP` years without (1); 0 in a year without incidence that follows as many
  years without; missing otherwise: a unit in conflict, or within the gap, is not at risk of a
  *new* conflict. Years before a state existed count as years without conflict located in it
  (ACD covers them and records none). ``battle_deaths`` = UCDP BRD best estimates summed over
  the dyads located in the state (dyads: over the interstate dyads between the two). A dyad
  located in several states counts in full for each of them, so global sums double-count;
  the alternative, splitting deaths equally, would invent a distribution UCDP does not give.
  Years outside a source's coverage are missing, never zero (BRD 24.1 ends in 2023).
* **Predictors** use the case panel's rules through :func:`analysis.panels.panel.indicator_series`
  (transform and lag on the indicator's own frequency, then aligned, never interpolated). A
  predictor's ``iso3`` is :data:`OWN` on a country panel (each unit's own series) and ``min``
  or ``max`` on a dyad panel (the lower or higher of the two states' values; missing when either
  is missing). A country-year outside an indicator's coverage is missing.
* **Outcome lags** (``<measure>_lag<k>``) are read from the unit's own history, so the first
  panel year has one when the source covers the year before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..data.sources.ucdp import gw_lookup
from ..errors import ConfigError, DataError
from . import panel as case_panel
from .panel import PredictorSpec

UNITS = ("country", "dyad")
MEASURES = ("incidence", "onset", "battle_deaths")
ONSET_GAP = 2
OWN = "own"
DYAD_AGGREGATES = ("min", "max")
# contiguity option -> (dataset in the contiguity table, conttype kept or None for all rows)
CONTIGUITY = {"cshapes": ("cshapes_mindist", None), "cow": ("cow_contdir", 1)}


@dataclass(frozen=True)
class GlobalOutcomeSpec:
    """What a global panel measures, and from which UCDP versions (one version per variable)."""

    unit: str = "country"
    measure: str = "incidence"
    conflict_types: tuple[int, ...] = ()  # UCDP type_of_conflict kept; () = every state-based type
    acd_version: str = "25.1"
    brd_version: str = "24.1"
    contiguity: str = "cshapes"
    carry_forward: bool = True

    def __post_init__(self):
        object.__setattr__(self, "conflict_types", tuple(self.conflict_types))
        if self.unit not in UNITS:
            raise ConfigError(f"outcome unit '{self.unit}' is not one of {list(UNITS)}")
        if self.measure not in MEASURES:
            raise ConfigError(
                f"global outcome measure '{self.measure}' is not one of {list(MEASURES)}"
            )
        if self.contiguity not in CONTIGUITY:
            raise ConfigError(f"contiguity '{self.contiguity}' is not one of {list(CONTIGUITY)}")
        if not set(self.conflict_types) <= {1, 2, 3, 4}:
            raise ConfigError(f"conflict_types {list(self.conflict_types)} are not UCDP types 1-4")

    @property
    def column(self) -> str:
        return self.measure


@dataclass(frozen=True)
class GlobalPanel:
    """A unit-year panel (RangeIndex; ``unit`` and ``year`` columns) and what it is made of."""

    frame: pd.DataFrame
    unit: str
    outcome: GlobalOutcomeSpec
    coverage: tuple[str, str]
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------- units


def state_years(
    states: pd.DataFrame,
    countries: pd.DataFrame,
    start: int,
    end: int,
    *,
    carry_forward: bool = True,
) -> pd.DataFrame:
    """GW states alive on at least one day of each year: gwno, year, iso3, carried_forward."""
    gw = states[states["system"] == "gw"]
    if gw.empty:
        raise DataError(
            None, "no Gleditsch-Ward states in the states table", expected="rows with system 'gw'"
        )
    list_end = gw["date_end"].max()
    list_last_year = int(list_end[:4])
    first = gw["date_start"].str[:4].astype(int).to_numpy()
    last = gw["date_end"].str[:4].astype(int).to_numpy()
    if carry_forward:
        last = np.where(gw["date_end"].eq(list_end), max(end, list_last_year), last)
    years = _spell_years(gw["code"].astype(int).to_numpy(), first, last, start, end)
    years = years.rename(columns={"code": "gwno"}).drop_duplicates(["gwno", "year"])
    lookup = gw_lookup(countries)
    years["iso3"] = years["gwno"].map(lambda code: lookup.get(code)).astype("str")
    years["carried_forward"] = years["year"] > list_last_year
    return years.sort_values(["gwno", "year"], kind="stable").reset_index(drop=True)


def _spell_years(
    code: np.ndarray, first: np.ndarray, last: np.ndarray, start: int, end: int, **extra: np.ndarray
) -> pd.DataFrame:
    """One row per year of each spell, clipped to [start, end]."""
    lo, hi = np.maximum(first, start), np.minimum(last, end)
    length = np.clip(hi - lo + 1, 0, None)
    rows = np.repeat(np.arange(len(code)), length)
    offset = np.arange(len(rows)) - np.repeat(np.cumsum(length) - length, length)
    frame = pd.DataFrame({"code": code[rows], "year": lo[rows] + offset})
    for name, values in extra.items():
        frame[name] = values[rows]
    return frame


def _unit_label(iso3: pd.Series, gwno: pd.Series) -> pd.Series:
    return iso3.fillna("GW" + gwno.astype(str))


def contiguous_dyads(
    contiguity: pd.DataFrame,
    states: pd.DataFrame,
    countries: pd.DataFrame,
    start: int,
    end: int,
    *,
    source: str = "cshapes",
    carry_forward: bool = True,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Pairs of GW states sharing a land border in a year, both alive: gwno_1 < gwno_2, year,
    iso3_1, iso3_2, carried_forward; plus notes on what could not be placed."""
    dataset, conttype = CONTIGUITY[source]
    rows = contiguity[contiguity["dataset"] == dataset]
    if rows.empty:
        raise DataError(None, f"no '{dataset}' rows in the contiguity table", hint="rebuild data/")
    source_last = int(rows["date_end"].str[:4].astype(int).max())
    if conttype is not None:
        rows = rows[rows["conttype"] == conttype]
    first = rows["date_start"].str[:4].astype(int).to_numpy()
    last = rows["date_end"].str[:4].astype(int).to_numpy()
    if carry_forward:
        last = np.where(last == source_last, max(end, source_last), last)
    pairs = _spell_years(
        rows["state1"].astype(int).to_numpy(),
        first,
        last,
        start,
        end,
        state2=rows["state2"].astype(int).to_numpy(),
    )
    pairs = pairs.rename(columns={"code": "state1"})
    alive = state_years(states, countries, start, end, carry_forward=carry_forward)
    notes = []
    if rows["system"].iloc[0] == "cow":
        pairs, lost = _cow_to_gw(pairs, alive, countries)
        notes.append(
            f"COW contiguity: {lost} pair-years dropped because a COW code has no GW state "
            "alive that year under the same ISO3 code (e.g. COW 345 Serbia)"
        )
    else:
        pairs = pairs.rename(columns={"state1": "gwno_1", "state2": "gwno_2"})
    pairs = pairs.drop_duplicates(["gwno_1", "gwno_2", "year"])
    for side in ("1", "2"):
        pairs = pairs.merge(
            alive.rename(
                columns={
                    "gwno": f"gwno_{side}",
                    "iso3": f"iso3_{side}",
                    "carried_forward": f"alive_carried_{side}",
                }
            ),
            on=[f"gwno_{side}", "year"],
        )
    pairs["carried_forward"] = (
        (pairs["year"] > source_last) | pairs["alive_carried_1"] | pairs["alive_carried_2"]
    )
    pairs = pairs.drop(columns=["alive_carried_1", "alive_carried_2"])
    return pairs.sort_values(["gwno_1", "gwno_2", "year"], kind="stable").reset_index(
        drop=True
    ), tuple(notes)


def _cow_to_gw(
    pairs: pd.DataFrame, alive: pd.DataFrame, countries: pd.DataFrame
) -> tuple[pd.DataFrame, int]:
    """COW codes -> GW codes through ISO3: the GW state alive that year with the same ISO3."""
    cow_iso3 = dict(
        zip(
            countries["cown"].dropna().astype(int), countries.loc[countries["cown"].notna(), "iso3"]
        )
    )
    gw_of = alive.dropna(subset=["iso3"]).set_index(["iso3", "year"])["gwno"]
    gw_of = gw_of[~gw_of.index.duplicated(keep=False)]
    mapped = {}
    for side in ("state1", "state2"):
        iso3 = pairs[side].map(cow_iso3)
        mapped[side] = pd.Series(
            gw_of.reindex(pd.MultiIndex.from_arrays([iso3, pairs["year"]])).to_numpy(),
            index=pairs.index,
        )
    ok = mapped["state1"].notna() & mapped["state2"].notna()
    low = np.minimum(mapped["state1"][ok], mapped["state2"][ok]).astype(int)
    high = np.maximum(mapped["state1"][ok], mapped["state2"][ok]).astype(int)
    return pd.DataFrame({"gwno_1": low, "gwno_2": high, "year": pairs.loc[ok, "year"]}), int(
        (~ok).sum()
    )


# --------------------------------------------------------------------------- UCDP outcomes


def _gw_lists(cells: pd.Series) -> pd.Series:
    """ "702, 703" -> 702 and 703 (one row each, the cell's index kept); blanks dropped."""
    codes = cells.dropna().astype(str).str.split(",").explode().str.strip()
    codes = codes[codes.ne("")]
    return codes.astype(int)


def _ucdp_rows(conflict_years: pd.DataFrame, dataset: str, version: str, types: tuple[int, ...]):
    """One UCDP dataset/version, its coverage (first, last year with any row) and rows kept."""
    rows = conflict_years[
        (conflict_years["dataset"] == dataset) & (conflict_years["version"] == version)
    ]
    if rows.empty:
        raise DataError(
            None,
            f"no UCDP {dataset} {version} rows in the conflict_years table",
            expected="a dataset and version present in data/conflict_years.csv",
        )
    coverage = (int(rows["year"].min()), int(rows["year"].max()))
    if types:
        rows = rows[rows["type_of_conflict"].isin(types)]
    return rows, coverage


def _located(rows: pd.DataFrame, unit: str) -> pd.DataFrame:
    """UCDP rows keyed by unit: (key, year, row) with key a GW number or a (low, high) pair."""
    if unit == "country":
        codes = _gw_lists(rows["gwno_loc"])
        return pd.DataFrame(
            {
                "key": codes.to_numpy(),
                "year": rows.loc[codes.index, "year"].astype(int).to_numpy(),
                "row": codes.index,
            }
        )
    a, b = _gw_lists(rows["gwno_a"]), _gw_lists(rows["gwno_b"])
    both = pd.DataFrame({"a": a}).join(pd.DataFrame({"b": b}), how="inner")
    both = both[both["a"] != both["b"]]
    key = list(zip(np.minimum(both["a"], both["b"]), np.maximum(both["a"], both["b"])))
    return pd.DataFrame(
        {"key": key, "year": rows.loc[both.index, "year"].astype(int).to_numpy(), "row": both.index}
    )


class _History:
    """A UCDP measure over (unit key, year): evaluated at any year, missing outside coverage."""

    def __init__(self, conflict_years: pd.DataFrame, outcome: GlobalOutcomeSpec, unit: str):
        acd, self.acd_coverage = _ucdp_rows(
            conflict_years, "acd", outcome.acd_version, outcome.conflict_types
        )
        located = _located(acd, unit)
        self.conflict = located.groupby(["key", "year"])["row"].nunique()
        self._brd_args = (conflict_years, "brd", outcome.brd_version, outcome.conflict_types)
        self._unit = unit
        self._deaths = None

    def coverage(self, measure: str) -> tuple[int, int]:
        return self._brd()[1] if measure == "battle_deaths" else self.acd_coverage

    def _brd(self):
        if self._deaths is None:
            brd, coverage = _ucdp_rows(*self._brd_args)
            located = _located(brd, self._unit)
            deaths = brd.loc[located["row"], "deaths_best"].to_numpy(
                dtype="float64", na_value=np.nan
            )
            grouped = located.assign(deaths=deaths, blank=np.isnan(deaths)).groupby(["key", "year"])
            total = (
                grouped["deaths"].sum().where(~grouped["blank"].any())
            )  # a blank figure: sum unknown
            self._deaths = (total, coverage)
        return self._deaths

    def evaluate(self, measure: str, keys: pd.Series, years: pd.Series) -> pd.Series:
        """One of MEASURES, or "conflicts" (distinct ACD conflicts), for each (key, year)."""
        years = years.astype(int)
        if measure == "incidence":
            return self._incidence(keys, years)
        if measure == "conflicts":
            index = pd.MultiIndex.from_arrays([keys, years])
            counts = self.conflict.reindex(index).fillna(0).to_numpy()
            return (
                pd.Series(counts, index=keys.index)
                .astype("Int64")
                .where(self._covered(years, self.acd_coverage))
            )
        if measure == "onset":  # at risk: the previous ONSET_GAP years known and without conflict
            before = pd.concat(
                [self._incidence(keys, years - k) for k in range(1, ONSET_GAP + 1)], axis=1
            )
            at_risk = before.notna().all(axis=1) & before.fillna(1).eq(0).all(axis=1)
            return self._incidence(keys, years).where(at_risk)
        total, coverage = self._brd()
        index = pd.MultiIndex.from_arrays([keys, years])
        listed = index.isin(total.index)  # no UCDP row: no battle deaths that year
        values = np.where(listed, total.reindex(index).to_numpy(), 0.0)
        return pd.Series(values, index=keys.index).where(self._covered(years, coverage))

    def _incidence(self, keys: pd.Series, years: pd.Series) -> pd.Series:
        index = pd.MultiIndex.from_arrays([keys, years])
        present = pd.Series(index.isin(self.conflict.index), index=keys.index).astype("Int64")
        return present.where(self._covered(years, self.acd_coverage))

    @staticmethod
    def _covered(years: pd.Series, coverage: tuple[int, int]) -> pd.Series:
        return years.between(*coverage)


# --------------------------------------------------------------------------- predictors


def _country_values(
    indicators: pd.DataFrame, spec: PredictorSpec, start: int, end: int
) -> pd.Series:
    """One indicator for every country, transformed and lagged by the case panel's rules:
    values indexed by (iso3, year); countries without the indicator are simply absent."""
    rows = indicators[indicators["indicator"] == spec.indicator]
    if spec.source is not None:
        rows = rows[rows["source"] == spec.source]
    if rows.empty:
        raise DataError(
            None,
            f"indicator {spec.indicator} is not in the indicators table"
            + (f" from source '{spec.source}'" if spec.source else ""),
            hint="check the registry entry against data/README.md",
        )
    index = case_panel.periods("A", str(start), str(end))
    if (rows["frequency"] == "A").all() and not rows.duplicated(["iso3", "period"]).any():
        # Every country at once: the same transform and lag as indicator_series, column-wise.
        wide = rows.pivot(index="period", columns="iso3", values="value").astype(float)
        wide.index = pd.PeriodIndex(wide.index, freq="Y")
        full = pd.period_range(wide.index.min(), wide.index.max() + spec.lag, freq="Y")
        wide = (
            case_panel.apply_transform(wide.reindex(full), spec.transform)
            .shift(spec.lag)
            .reindex(index)
        )
        wide.index = wide.index.year
        values = wide.T.stack(future_stack=True)
        values.index.names = ["iso3", "year"]
        return values.sort_index()
    parts = []  # monthly series, or several sources for one country (indicator_series says which)
    for iso3, part in rows.groupby("iso3", sort=True):
        series = case_panel.indicator_series(part, replace(spec, iso3=iso3), index)
        parts.append(
            pd.Series(
                series.to_numpy(),
                index=pd.MultiIndex.from_arrays(
                    [np.repeat(iso3, len(index)), index.year], names=["iso3", "year"]
                ),
            )
        )
    return pd.concat(parts)


def _aligned(values: pd.Series, iso3: pd.Series, years: pd.Series) -> np.ndarray:
    return values.reindex(pd.MultiIndex.from_arrays([iso3, years.astype(int)])).to_numpy(
        dtype=float
    )


_PREDICTOR_ISO3 = {
    "country": ((OWN,), "each unit's own country"),
    "dyad": (DYAD_AGGREGATES, "the lower or the higher of the two states' values"),
}


def _check_predictor(spec: PredictorSpec, unit: str) -> None:
    allowed, meaning = _PREDICTOR_ISO3[unit]
    if spec.iso3 not in allowed:
        raise ConfigError(
            f"predictor {spec.indicator} on a {unit} panel needs iso3 = one of "
            f"{list(allowed)} ({meaning}); found '{spec.iso3}'"
        )


# --------------------------------------------------------------------------- panels


def country_year_panel(
    conflict_years: pd.DataFrame,
    states: pd.DataFrame,
    countries: pd.DataFrame,
    indicators: pd.DataFrame | None = None,
    *,
    start: int,
    end: int,
    outcome: GlobalOutcomeSpec = GlobalOutcomeSpec(),
    predictors: tuple[PredictorSpec, ...] = (),
    outcome_lags: tuple[int, ...] = (),
) -> GlobalPanel:
    """One row per GW state and year: incidence, onset, battle deaths, conflicts, predictors."""
    if outcome.unit != "country":
        raise ConfigError("country_year_panel needs an outcome with unit 'country'")
    units = state_years(states, countries, start, end, carry_forward=outcome.carry_forward)
    units.insert(0, "unit", _unit_label(units["iso3"], units["gwno"]))
    return _assemble(
        units,
        units["gwno"],
        conflict_years,
        indicators,
        outcome,
        predictors,
        outcome_lags,
        start,
        end,
        ("iso3",),
        _carried_note(units, "GW state list ends 2017-12-31"),
    )


def dyad_year_panel(
    conflict_years: pd.DataFrame,
    states: pd.DataFrame,
    countries: pd.DataFrame,
    contiguity: pd.DataFrame,
    indicators: pd.DataFrame | None = None,
    *,
    start: int,
    end: int,
    outcome: GlobalOutcomeSpec = GlobalOutcomeSpec(unit="dyad"),
    predictors: tuple[PredictorSpec, ...] = (),
    outcome_lags: tuple[int, ...] = (),
) -> GlobalPanel:
    """One row per land-contiguous pair of GW states and year; the outcome is between the two."""
    if outcome.unit != "dyad":
        raise ConfigError("dyad_year_panel needs an outcome with unit 'dyad'")
    units, notes = contiguous_dyads(
        contiguity,
        states,
        countries,
        start,
        end,
        source=outcome.contiguity,
        carry_forward=outcome.carry_forward,
    )
    label = (
        _unit_label(units["iso3_1"], units["gwno_1"])
        + "-"
        + _unit_label(units["iso3_2"], units["gwno_2"])
    )
    units.insert(0, "unit", label)
    keys = pd.Series(list(zip(units["gwno_1"], units["gwno_2"])), index=units.index)
    notes = (
        *notes,
        *_carried_note(units, f"{outcome.contiguity} contiguity and the GW list end before {end}"),
    )
    return _assemble(
        units,
        keys,
        conflict_years,
        indicators,
        outcome,
        predictors,
        outcome_lags,
        start,
        end,
        ("iso3_1", "iso3_2"),
        notes,
    )


def build_global_panel(
    conflict_years: pd.DataFrame,
    states: pd.DataFrame,
    countries: pd.DataFrame,
    indicators: pd.DataFrame | None,
    contiguity: pd.DataFrame | None = None,
    *,
    start: int,
    end: int,
    outcome: GlobalOutcomeSpec,
    predictors: tuple[PredictorSpec, ...] = (),
    outcome_lags: tuple[int, ...] = (),
) -> GlobalPanel:
    """The country-year or dyad-year panel, as the outcome's ``unit`` says (the registry's entry point)."""
    options = {
        "start": start,
        "end": end,
        "outcome": outcome,
        "predictors": predictors,
        "outcome_lags": outcome_lags,
    }
    if outcome.unit == "country":
        return country_year_panel(conflict_years, states, countries, indicators, **options)
    if contiguity is None:
        raise ConfigError("a dyad-year panel needs the contiguity table")
    return dyad_year_panel(conflict_years, states, countries, contiguity, indicators, **options)


def _carried_note(units: pd.DataFrame, why: str) -> tuple[str, ...]:
    carried = int(units["carried_forward"].sum())
    if not carried:
        return ()
    years = units.loc[units["carried_forward"], "year"]
    note = f"{carried} unit-years in {years.min()}-{years.max()} carried forward ({why}); flagged in column carried_forward"
    return (note,)


def _assemble(
    units,
    keys,
    conflict_years,
    indicators,
    outcome,
    predictors,
    outcome_lags,
    start,
    end,
    iso3_columns,
    notes,
) -> GlobalPanel:
    """Add the UCDP measures, their lags and the predictors to the unit-years."""
    unit = outcome.unit
    history = _History(conflict_years, outcome, unit)
    frame = units.copy()
    for measure in (*MEASURES, "conflicts"):
        frame[measure] = history.evaluate(measure, keys, frame["year"])
    for lag in outcome_lags:
        frame[f"{outcome.measure}_lag{lag}"] = history.evaluate(
            outcome.measure, keys, frame["year"] - lag
        )
    for spec in predictors:
        _check_predictor(spec, unit)
        if indicators is None:
            raise ConfigError(f"predictor {spec.indicator} needs the indicators table")
        values = _country_values(indicators, spec, start, end)
        sides = np.column_stack([_aligned(values, frame[c], frame["year"]) for c in iso3_columns])
        if unit == "country":
            frame[spec.column] = sides[:, 0]
        else:  # the lower or higher of the two; missing when either is missing
            frame[spec.column] = sides.min(axis=1) if spec.iso3 == "min" else sides.max(axis=1)
    first, last = history.coverage(outcome.measure)
    notes = list(notes)
    if outcome.measure == "battle_deaths" and unit == "country":
        notes.append(
            "battle deaths of a UCDP dyad located in several states count in full for each"
        )
    return GlobalPanel(
        frame=frame,
        unit=unit,
        outcome=outcome,
        coverage=(str(first), str(last)),
        notes=tuple(notes),
    )
