"""A checked, time-ordered design matrix built from a panel and a spec.

:func:`build_design` refuses inputs whose estimates would be undefined (all-zero outcome,
constant or collinear predictors, a 0/1 predictor under which the outcome is always zero, too
few rows), naming the columns, instead of returning numbers that only look like estimates.
Rows with missing values are an error unless ``dropna=True``, which drops and counts them in
``sample``. ``positions`` keeps each row's period number, so procedures that care about time
(HAC, permutation blocks, placebo dates) see a gap where rows were dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, ModelError
from .spec import MIN_EXTRA_ROWS, MIN_ROWS, CountModelSpec

#: Unit-length columns closer than this to the span of the others are collinear.
COLLINEAR_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class Design:
    """A checked, time-ordered design: what the estimators and the inference tools consume.

    ``X`` keeps the panel's row labels; ``periods`` are the rows' time labels (None when the
    panel has no time information).
    """

    spec: CountModelSpec
    y: np.ndarray
    X: pd.DataFrame
    offset: np.ndarray | None
    groups: np.ndarray | None
    periods: pd.Index | None
    sample: dict[str, Any]
    absorbed: tuple[str, ...] = ()  # fixed-effect / year dummy columns of X (not reported)
    strata: np.ndarray | None = None  # conditional logit: the conditioned-out fixed effect
    positions: np.ndarray | None = None  # period number of each row; gaps differ by more than 1

    @property
    def nobs(self) -> int:
        return len(self.y)

    def without(self, *terms: str) -> Design:
        """Drop model terms, keeping the same rows (for restricted and null models)."""
        unknown = [t for t in terms if t not in self.X.columns or t == "const"]
        if unknown:
            raise ConfigError(f"cannot drop {unknown}: not a non-constant term of the design")
        return replace(self, spec=self.spec.without(*terms), X=self.X.drop(columns=list(terms)))

    def with_offset(self, extra: np.ndarray) -> Design:
        """The same design with ``extra`` added to the log offset (a coefficient held fixed in
        test inversion, or an assumed log detection share in coverage bounds)."""
        base = np.zeros(self.nobs) if self.offset is None else self.offset
        return replace(self, offset=base + np.asarray(extra, dtype=float))

    def column(self, term: str) -> np.ndarray:
        """One column of the design as an array (a clear error if it is not a term)."""
        if term not in self.X.columns:
            raise ConfigError(f"term {term!r} is not a term of the model; terms are {list(self.X)}")
        return self.X[term].to_numpy(dtype=float)

    @property
    def calendar(self) -> np.ndarray:
        """Period number of each row (consecutive when the design has no time information)."""
        return np.arange(self.nobs) if self.positions is None else self.positions

    def outcome_lags(self) -> dict[str, int]:
        """Columns that are the outcome's own lags, with their lag (``{"incidents_lag1": 1}``):
        the terms a simulated outcome changes."""
        prefix = f"{self.spec.outcome}_lag"
        return {
            name: int(name[len(prefix) :])
            for name in self.X.columns
            if name.startswith(prefix) and name[len(prefix) :].isdigit()
        }

    def basis(self, drop: str | None = None) -> np.ndarray:
        """The design matrix (without column ``drop``) for batched fits of draws that may drop
        strata: under period effects the constant becomes the indicator of the first stratum,
        so every stratum has its own column. Same column space, so the same fitted means and
        the same other coefficients; but a stratum a draw leaves empty then leaves one column
        without weight (held at 0), never a constant exactly collinear with the remaining
        dummies, whose solution would turn on rounding (and on the BLAS kernel)."""
        frame = self.X if drop is None else self.X.drop(columns=[drop])
        X = frame.to_numpy(dtype=float)
        if self.absorbed and "const" in frame.columns:
            j = list(frame.columns).index("const")
            X[:, j] = 1.0 - self.X[list(self.absorbed)].to_numpy(dtype=float).sum(axis=1)
        return X

    def matrices(self, Y: np.ndarray, drop: str | None = None) -> np.ndarray:
        """:meth:`basis` for each simulated outcome vector in the rows of ``Y``: draws x n x k,
        the lagged-outcome columns rebuilt from the draw, as the panel builder would build them
        from a simulated series. The simulated series replaces the outcome on the design's rows;
        a lag whose period is not a row of the design (before the sample, or a period whose own
        lag is missing) keeps its observed value: those periods are initial conditions, held as
        the generator holds them. Without lagged outcomes there is nothing to rebuild and the
        shared n x k basis is returned."""
        X = self.basis(drop)
        names = [c for c in self.X.columns if c != drop]
        lags = {name: k for name, k in self.outcome_lags().items() if name in names}
        if not lags:
            return X
        Y = np.atleast_2d(Y)
        out = np.broadcast_to(X, (len(Y), *X.shape)).copy()
        for name, k in lags.items():
            j = names.index(name)
            source = lag_rows(self.calendar, k)
            inside = source >= 0
            out[:, inside, j] = Y[:, source[inside]]
        return out

    def refused(self, Y: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Per outcome vector in ``Y`` (rows ``mask`` 0 dropped): whether :func:`build_design`
        would refuse the design it leaves, by the rules of :func:`_check_design` that a draw can
        break: no event, too few rows for the parameters, a term constant over the rows, a 0/1
        term under which the outcome is always zero (its coefficient would be infinite), or
        terms made collinear by the strata dropped (a step whose one side is a set of years).
        Such a draw is not a test of the reported procedure but a failure."""
        Y = np.atleast_2d(Y)
        kept = np.ones(Y.shape, dtype=bool) if mask is None else np.asarray(mask) > 0
        X = self.matrices(Y)
        X = np.broadcast_to(X, (len(Y), *X.shape)) if X.ndim == 2 else X
        names = list(self.X.columns)
        terms = [j for j, c in enumerate(names) if c != "const" and c not in self.absorbed]
        strata = 1
        if self.absorbed:
            indicators = np.c_[self.basis()[:, :1], self.X[list(self.absorbed)].to_numpy()]
            strata = (kept.astype(float) @ indicators > 0).sum(axis=1)
        k = 1 + len(terms) + (strata - 1) + self.spec.distribution.extra_params
        events = np.where(kept, Y, 0.0)
        refused = (kept.sum(axis=1) < np.maximum(MIN_ROWS, k + MIN_EXTRA_ROWS)) | (
            events.sum(axis=1) == 0
        )
        for j in terms:
            column = X[:, :, j]
            high = np.where(kept, column, -np.inf).max(axis=1)
            low = np.where(kept, column, np.inf).min(axis=1)
            binary = np.all(~kept | (column == 0) | (column == 1), axis=1)
            on = (events * (column == 1)).sum(axis=1)
            off = (events * (column == 0)).sum(axis=1)
            refused |= (high == low) | (binary & ((on == 0) | (off == 0)))
        return refused | _collinear(np.where(kept[:, :, None], X, 0.0))


def _collinear(X: np.ndarray) -> np.ndarray:
    """Per draw (draws x n x k, dropped rows zero): whether the columns that keep a row are
    linearly dependent, on unit-length columns with :func:`_check_collinear`'s tolerance."""
    norms = np.linalg.norm(X, axis=1)
    alive = norms > 0
    scaled = X / np.where(alive, norms, 1.0)[:, None, :]
    singular = np.linalg.svd(scaled, compute_uv=False)
    return (singular > COLLINEAR_TOL).sum(axis=1) < alive.sum(axis=1)


def drop_eventless(Y: np.ndarray, strata: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """A 0/1 mask per outcome vector in ``Y`` that also drops (0) every stratum the vector
    leaves without an event among its kept rows, as :func:`build_design` drops them under
    period effects."""
    Y = np.atleast_2d(Y)
    mask = np.ones_like(Y, dtype=float) if mask is None else np.array(mask, dtype=float)
    for label in np.unique(strata):
        rows = strata == label
        empty = (Y[:, rows] * mask[:, rows]).sum(axis=1) == 0
        mask[np.ix_(empty, rows)] = 0.0
    return mask


def lag_rows(positions: np.ndarray, k: int = 1) -> np.ndarray:
    """For each row, the row holding the period ``k`` periods earlier, or -1 when that period is
    not a row."""
    prev = np.searchsorted(positions, positions - k)
    clipped = np.minimum(prev, len(positions) - 1)
    return np.where((prev < len(positions)) & (positions[clipped] == positions - k), clipped, -1)


def _model_columns(data: pd.DataFrame, spec: CountModelSpec) -> list[str]:
    """The panel columns a spec reads (the time column aside); absent ones are an error."""
    columns = [spec.outcome, *spec.predictors, *spec.controls, *spec.fixed_effects]
    columns += [c for c in (spec.exposure, spec.cluster) if c]
    absent = [
        c for c in dict.fromkeys(columns + ([spec.time] if spec.time else [])) if c not in data
    ]
    if absent:
        raise ModelError(f"columns not in the panel: {absent}; available: {list(data.columns)}")
    return columns


def build_design(data: pd.DataFrame, spec: CountModelSpec) -> Design:
    """Check the panel against the spec and build the design matrix, ordered by time."""
    if spec.fixed_effects:
        return _build_fe_design(data, spec)
    columns = _model_columns(data, spec)
    periods, order = _time_order(data, spec)
    frame = data.iloc[order]
    periods = None if periods is None else periods[order]
    keep, sample = _missing_rows(frame, list(dict.fromkeys(columns)), spec.dropna)
    rank = np.flatnonzero(keep)  # period number of each kept row: dropped rows leave gaps
    if not len(rank):
        raise ModelError("no rows left once rows with missing values are dropped")
    frame = frame.iloc[rank]
    sample["gaps"] = int(rank[-1] - rank[0] + 1 - len(rank))
    if periods is not None:
        periods = periods[rank]
        sample.update(period_start=str(periods[0]), period_end=str(periods[-1]))

    if spec.period_effects:
        frame, periods, rank = _drop_eventless_strata(frame, periods, rank, spec, sample)
    y = _outcome(frame[spec.outcome], spec.outcome)
    X = pd.DataFrame({"const": np.ones(len(frame))}, index=frame.index)
    for name in (*spec.predictors, *spec.controls):
        X[name] = _numeric(frame[name], name)
    if spec.trend:
        X["trend"] = rank.astype(float)
    if spec.season is not None:
        X = X.join(_season_dummies(periods, spec, X.index))
    absorbed: tuple[str, ...] = ()
    if spec.period_effects:
        dummies = pd.get_dummies(
            period_strata(periods, spec),
            prefix="period",
            prefix_sep="=",
            drop_first=True,
            dtype=float,
        ).set_index(X.index)
        X, absorbed = X.join(dummies), tuple(dummies.columns)
    offset, groups = _offset(frame, spec), _clusters(frame, spec)
    _check_design(y, X, spec)
    return Design(spec, y, X, offset, groups, periods, sample, absorbed=absorbed, positions=rank)


def period_strata(periods: pd.Index | None, spec: CountModelSpec) -> np.ndarray:
    """Label of each row's stratum under the spec's period effects: its year ("2019"), or its
    year and season half ("2019 irrigation" / "2019 other", the season of ``season_months``)."""
    effects = spec.period_effects
    if periods is None or not hasattr(periods, "month") or periods.freqstr[0] in "YAQ":
        raise ModelError(f"period_effects={effects!r} need a monthly, dated panel")
    years = np.asarray(periods.year).astype(str)
    if effects == "year":
        return years
    season = np.where(np.isin(np.asarray(periods.month), spec.season_months), "irrigation", "other")
    return np.char.add(np.char.add(years, " "), season)


def _drop_eventless_strata(frame, periods, rank, spec: CountModelSpec, sample: dict[str, Any]):
    """Rows of strata with at least one event. Under period effects a stratum without any event
    has an estimate of minus infinity and says nothing about the other terms; its rows are
    dropped and counted in ``sample``."""
    strata = period_strata(periods, spec)
    totals = pd.Series(frame[spec.outcome].to_numpy(dtype=float)).groupby(strata).sum()
    informative = np.isin(strata, totals.index[totals > 0])
    dropped = int((~informative).sum())
    if dropped:
        reason = f"{spec.period_effects.replace('_', ' and ')} without any event (period effects)"
        sample["dropped_by_reason"][reason] = dropped
        sample.update(
            rows_used=sample["rows_used"] - dropped, rows_dropped=sample["rows_dropped"] + dropped
        )
        sample["strata_without_events"] = sorted(str(s) for s in totals.index[totals == 0])
    return frame[informative], periods[informative], rank[informative]


def _offset(frame: pd.DataFrame, spec: CountModelSpec) -> np.ndarray | None:
    if not spec.exposure:
        return None
    exposure = _numeric(frame[spec.exposure], spec.exposure)
    if (exposure <= 0).any() or not np.isfinite(exposure).all():
        raise ModelError(
            f"exposure column {spec.exposure!r} must be positive and finite; found "
            f"{int((exposure <= 0).sum())} rows <= 0"
        )
    return np.log(exposure.to_numpy())


def _clusters(frame: pd.DataFrame, spec: CountModelSpec) -> np.ndarray | None:
    if spec.cov != "cluster":
        return None
    groups = pd.factorize(frame[spec.cluster])[0]
    if groups.max() < 1:
        raise ModelError(f"cluster column {spec.cluster!r} has a single cluster")
    return groups


def _build_fe_design(data: pd.DataFrame, spec: CountModelSpec) -> Design:
    """A fixed-effects design: rows in the panel's order, uninformative levels dropped, one
    dummy per level (first level dropped) of every fixed effect not conditioned out."""
    columns = _model_columns(data, spec)
    keep, sample = _missing_rows(data, list(dict.fromkeys(columns)), spec.dropna)
    frame = data[keep]
    if frame.empty:
        raise ModelError("no rows left once rows with missing values are dropped")
    if spec.distribution.binary:
        values = _numeric(frame[spec.outcome], spec.outcome).to_numpy()
        if not np.isin(values, (0.0, 1.0)).all():
            raise ModelError(f"outcome {spec.outcome!r} of a logit must be 0 or 1")
    else:
        values = _outcome(frame[spec.outcome], spec.outcome)
    informative = _informative_rows(frame, values, spec)
    dropped = int((~informative).sum())
    if dropped:
        frame, values = frame[informative], values[informative]
        reason = f"fixed-effect level with no outcome variation ({', '.join(spec.fixed_effects)})"
        sample["dropped_by_reason"][reason] = dropped
        sample.update(
            rows_used=sample["rows_used"] - dropped, rows_dropped=sample["rows_dropped"] + dropped
        )
    if len(values) == 0:
        raise ModelError(
            f"no fixed-effect level of {list(spec.fixed_effects)} has any variation in {spec.outcome!r}"
        )
    sample["gaps"] = 0
    conditioned = spec.fixed_effects[0] if spec.distribution.conditional else None
    X = (
        pd.DataFrame(index=frame.index)
        if conditioned
        else pd.DataFrame({"const": np.ones(len(frame))}, index=frame.index)
    )
    for name in (*spec.predictors, *spec.controls):
        X[name] = _numeric(frame[name], name)
    dummies = [
        pd.get_dummies(
            frame[fe].astype(str), prefix=fe, prefix_sep="=", drop_first=True, dtype=float
        )
        for fe in spec.fixed_effects
        if fe != conditioned
    ]
    absorbed = pd.concat(dummies, axis=1) if dummies else pd.DataFrame(index=frame.index)
    strata = pd.factorize(frame[conditioned])[0] if conditioned else None
    _check_fe_design(values, X, absorbed, strata, spec)
    return Design(
        spec,
        values.astype(float),
        X.join(absorbed),
        _offset(frame, spec),
        _clusters(frame, spec),
        None,
        sample,
        absorbed=tuple(absorbed.columns),
        strata=strata,
    )


def _informative_rows(frame: pd.DataFrame, y: np.ndarray, spec: CountModelSpec) -> np.ndarray:
    """Rows whose fixed-effect levels all show outcome variation, found by repeated passes
    (dropping a country can leave a year without variation)."""
    keep = np.ones(len(y), dtype=bool)
    outcome = pd.Series(y, index=frame.index)
    while True:
        before = keep.sum()
        for fe in spec.fixed_effects:
            grouped = outcome[keep].groupby(frame.loc[keep, fe].to_numpy())
            if spec.distribution.binary:
                bad = grouped.min() == grouped.max()
            else:
                bad = grouped.max() == 0
            keep &= ~frame[fe].isin(bad.index[bad]).to_numpy()
        if keep.sum() == before:
            return keep


def _check_fe_design(
    y: np.ndarray,
    X: pd.DataFrame,
    absorbed: pd.DataFrame,
    strata: np.ndarray | None,
    spec: CountModelSpec,
) -> None:
    """Enough rows, and every term varies within the fixed effects and is not collinear with
    the other terms once the fixed effects are partialled out."""
    k = X.shape[1] + absorbed.shape[1]
    need = max(MIN_ROWS, k + MIN_EXTRA_ROWS)
    if len(y) < need:
        raise ModelError(f"only {len(y)} usable rows for {k} parameters; need at least {need}")
    terms = [c for c in X.columns if c != "const"]
    if not terms:
        return
    values, basis = X[terms].to_numpy(), absorbed.to_numpy()
    if strata is None:
        basis = np.column_stack([np.ones(len(y)), basis])
    else:  # within-group deviations: what the conditional likelihood identifies from
        values, basis = _demean(values, strata), _demean(basis, strata)
    if basis.shape[1]:
        values = values - basis @ np.linalg.lstsq(basis, values, rcond=None)[0]
    scale = np.linalg.norm(X[terms].to_numpy() - X[terms].to_numpy().mean(axis=0), axis=0)
    for j, name in enumerate(terms):
        if np.linalg.norm(values[:, j]) <= 1e-9 * max(scale[j], 1e-300):
            raise ModelError(
                f"predictor {name!r} does not vary within the fixed effects {list(spec.fixed_effects)}"
            )
    _check_collinear(values, terms)


def _demean(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Deviations from group means, column by column."""
    sums = np.zeros((groups.max() + 1, values.shape[1]))
    np.add.at(sums, groups, values)
    return values - (sums / np.bincount(groups)[:, None])[groups]


def _time_order(data: pd.DataFrame, spec: CountModelSpec) -> tuple[pd.Index | None, np.ndarray]:
    """Period labels and the stable order that sorts them; row order when there is no time."""
    if spec.time is not None:
        raw = pd.Index(data[spec.time])
    elif isinstance(data.index, (pd.DatetimeIndex, pd.PeriodIndex)):
        raw = data.index
    else:
        return None, np.arange(len(data))
    label = spec.time or "index"
    if raw.isna().any():
        raise ModelError(f"time {label!r} has {int(raw.isna().sum())} missing values")
    dated = isinstance(raw, (pd.DatetimeIndex, pd.PeriodIndex))
    if not dated and not pd.api.types.is_integer_dtype(raw.dtype):  # text: ISO dates only
        try:
            raw = pd.DatetimeIndex(pd.to_datetime(raw, format="ISO8601"))
        except (ValueError, TypeError):
            raise ModelError(
                f"time {label!r} is text that is not ISO dates (YYYY-MM or YYYY-MM-DD)"
            ) from None
    if raw.has_duplicates:
        dupes = list(raw[raw.duplicated()][:5].astype(str))
        raise ModelError(f"time {label!r} repeats periods {dupes}: expected one row per period")
    return raw, np.argsort(raw, kind="stable")


def _missing_rows(
    frame: pd.DataFrame, columns: list[str], dropna: bool
) -> tuple[np.ndarray, dict[str, Any]]:
    """Rows without missing model values, and the sample description that goes with them."""
    missing = frame[columns].isna()
    keep = ~missing.any(axis=1).to_numpy()
    n_drop = int((~keep).sum())
    by_column = {c: int(n) for c, n in missing.sum().items() if n}
    if n_drop and not dropna:
        raise ModelError(
            f"{n_drop} of {len(frame)} rows have missing values in model columns {by_column}; "
            "the panel should not contain them, or pass dropna=True to drop and count them"
        )
    first_missing = missing[~keep].idxmax(axis=1).value_counts()
    reasons = {f"missing {col!r}": int(n) for col, n in first_missing.items()}
    sample = {
        "rows_input": len(frame),
        "rows_used": int(keep.sum()),
        "rows_dropped": n_drop,
        "dropped_by_reason": reasons,
    }
    return keep, sample


def _outcome(values: pd.Series, name: str) -> np.ndarray:
    y = _numeric(values, name).to_numpy()
    if (y < 0).any() or not np.allclose(y, np.round(y)):
        raise ModelError(f"outcome {name!r} must be non-negative whole counts")
    if len(y) and not y.any():
        raise ModelError(
            f"outcome {name!r} is zero in all {len(y)} rows: there is nothing to estimate"
        )
    return np.round(y)


def _numeric(values: pd.Series, name: str) -> pd.Series:
    if not (
        pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype)
    ):
        raise ModelError(f"column {name!r} is not numeric (dtype {values.dtype})")
    values = values.astype(float)
    if not np.isfinite(values).all():
        raise ModelError(f"column {name!r} has {int((~np.isfinite(values)).sum())} infinite values")
    return values


def _season_dummies(
    periods: pd.Index | None, spec: CountModelSpec, index: pd.Index
) -> pd.DataFrame:
    season = spec.season
    coarse = isinstance(periods, pd.PeriodIndex) and periods.freqstr[0] in "YAQ"
    if periods is None or not hasattr(periods, "month") or coarse:
        raise ModelError(
            f"season={season!r} needs monthly (or finer) dated periods in time= or a "
            f"Datetime/Period index; this panel has {'none' if periods is None else 'coarser ones'}"
        )
    month = np.asarray(periods.month)
    if season == "irrigation":
        return pd.DataFrame(
            {"irrigation_season": np.isin(month, spec.season_months).astype(float)},
            index=index,
        )
    return pd.DataFrame(
        {f"month_{m:02d}": (month == m).astype(float) for m in range(2, 13)}, index=index
    )


def _check_design(y: np.ndarray, X: pd.DataFrame, spec: CountModelSpec) -> None:
    """Refuse designs whose estimates would be undefined, naming the columns at fault."""
    k = X.shape[1] + spec.distribution.extra_params
    need = max(MIN_ROWS, k + MIN_EXTRA_ROWS)
    if len(y) < need:
        raise ModelError(f"only {len(y)} usable rows for {k} parameters; need at least {need}")
    values = X.to_numpy()
    for j, name in enumerate(X.columns[1:], start=1):
        column = values[:, j]
        if np.ptp(column) == 0:
            raise ModelError(f"predictor {name!r} is constant (every value is {column[0]:g})")
        if set(np.unique(column)) <= {0.0, 1.0}:
            for level in (1.0, 0.0):
                inside = column == level
                if not y[inside].any():
                    raise ModelError(
                        f"outcome {spec.outcome!r} is zero in every row where {name!r} == "
                        f"{level:g} ({int(inside.sum())} rows): its coefficient would be infinite"
                    )
    _check_collinear(values, list(X.columns))


def _check_collinear(values: np.ndarray, names: list[str]) -> None:
    """Name the first column that is an exact linear combination of the ones before it."""
    scaled = values / np.linalg.norm(values, axis=0)
    for j in range(1, scaled.shape[1]):
        coef, *_ = np.linalg.lstsq(scaled[:, :j], scaled[:, j], rcond=None)
        residual = scaled[:, j] - scaled[:, :j] @ coef
        if np.linalg.norm(residual) < COLLINEAR_TOL:
            parts = [names[i] for i in np.flatnonzero(np.abs(coef) > 1e-8)]
            raise ModelError(
                f"predictors are perfectly collinear: {names[j]!r} is a linear combination of "
                f"{parts}; drop one of them"
            )
