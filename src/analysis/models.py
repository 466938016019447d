"""Count models for small, overdispersed, zero-heavy period panels (the only statsmodels caller).

A *panel* here is a DataFrame with one row per period: an outcome count, predictor columns,
optionally an exposure column and a time column (or a Datetime/Period index). Nothing in this
module reads a file. Estimation is split in two steps so inference can reuse them:
:func:`build_design` checks the input and builds the design matrix (sorted by time), and
:func:`fit_design` estimates it; :func:`fit_count_model` does both.

Families
    ``poisson``: GLM Poisson with log link.
    ``negbin``: NB2 (variance ``mu + alpha*mu**2``) with ``alpha`` estimated by maximum
    likelihood (``discrete_model.NegativeBinomial``). statsmodels' GLM ``NegativeBinomial``
    family is deliberately not used: it holds ``alpha`` fixed (1.0 unless told), which would
    give wrong standard errors and a meaningless likelihood on these data.
    ``zinb``: zero-inflated NB2 with a constant inflation probability, started from the NB
    estimates, and estimated only when the data support extra zeros (a Vuong test against
    NB or the excess-zeros test at level ``alpha``); otherwise a ``ModelError`` says why.

Covariance
    ``hac`` (default): Newey-West (Bartlett kernel, no small-sample correction) over the
    time-ordered rows, with ``hac_lags`` lags, by default ``floor(4 * (T/100) ** (2/9))``
    (Newey and West's 1994 rule of thumb), because monthly incident counts are autocorrelated.
    ``cluster``: cluster-robust by the ``cluster`` column. ``nonrobust``: model-based.

Missing values
    By default a missing value in any model column is an error that counts the rows
    concerned: the panel builder is expected to have dropped them, so finding one here means
    something upstream changed. ``dropna=True`` drops them instead, and the result's
    ``sample`` records how many rows went and why.

Degenerate inputs (all-zero outcome, constant or perfectly collinear predictors, a 0/1
predictor under which the outcome is always zero, too few rows) raise ``ModelError`` naming
the columns, instead of returning estimates that only look like numbers.

Fixed effects (unit-period panels: ``fixed_effects=("unit", "year")``, rows in any order)
    ``poisson``: Poisson with one dummy per level of every fixed effect. Its slopes are
    identical to the conditional (fixed-effects) Poisson estimator, consistent whatever the
    overdispersion when the errors are cluster-robust. ``negbin`` is refused: NB with
    fixed-effect dummies suffers from the incidental-parameters problem and is biased in short
    panels (Allison & Waterman 2002), and the "conditional NB" of Hausman, Hall & Griliches
    does not remove unit effects in the mean.
    ``clogit``: conditional (fixed-effects) logit for a 0/1 outcome: the first fixed effect is
    conditioned out (Chamberlain 1980), the others enter as dummies; with cluster-robust
    errors its groups must lie within the clusters. The exact conditional likelihood is
    computed here by a recursion over each group (statsmodels' ``ConditionalLogit`` gives
    the same estimates, a test checks to 1e-6, but takes ~20 s for 170 countries with year
    dummies). ``fitted`` holds ``exp(x'b)``, the odds relative to the group's own baseline.
    ``logit``: ordinary logit with a dummy per fixed-effect level, for effects with many rows
    per level (years of a country panel); with few rows per level (countries over a few
    decades) it is biased like NB above, and ``clogit`` is the estimator to use.
    For both, ``irr`` holds odds ratios.
    Levels whose outcome never varies (Poisson: always 0; logit: always 0 or always 1) carry
    no information and have no finite estimate; their rows are dropped and counted in
    ``sample``. Fixed-effect dummies are not reported in the tidy table. ``cov`` must be
    ``cluster`` or ``nonrobust``; cluster-robust errors use statsmodels' correction
    ``G/(G-1) * (N-1)/(N-K)``. A trend or season cannot be combined with fixed effects (use
    year effects); a predictor that does not vary within the fixed effects is an error.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.discrete.count_model import ZeroInflatedNegativeBinomialP
from statsmodels.discrete.discrete_model import NegativeBinomial

from .errors import ConfigError, ModelError
from .panel import IRRIGATION_MONTHS
from .results import TIDY_COLUMNS, CountModelResult, StatTest

FAMILIES = ("poisson", "negbin", "zinb")
PANEL_FAMILIES = ("poisson", "logit", "clogit")  # with fixed effects
BINARY_FAMILIES = ("logit", "clogit")
PANEL_COV_TYPES = ("cluster", "nonrobust")
COV_TYPES = ("hac", "cluster", "nonrobust")
SEASONS = (None, "month", "irrigation")
#: Months of the irrigation season (April-September), when water-sharing disputes peak.
#: Smallest sample accepted, on top of ``k + MIN_EXTRA_ROWS`` for k parameters.
MIN_ROWS = 10
MIN_EXTRA_ROWS = 5
_RESERVED = ("const", "trend", "irrigation_season", *(f"month_{m:02d}" for m in range(2, 13)))
_ALPHA_BOUNDARY = 1e-6


def default_hac_lags(n_periods: int) -> int:
    """Newey-West (1994) rule of thumb ``floor(4 * (T/100) ** (2/9))``."""
    return math.floor(4 * (n_periods / 100) ** (2 / 9))


@dataclass(frozen=True)
class CountModelSpec:
    """What to estimate; validated on creation so a typo fails before any data is touched."""

    outcome: str
    predictors: tuple[str, ...]
    family: str = "negbin"
    controls: tuple[str, ...] = ()
    trend: bool = False
    season: str | None = None
    exposure: str | None = None
    time: str | None = None
    cov: str = "hac"
    hac_lags: int | None = None
    cluster: str | None = None
    alpha: float = 0.05
    dropna: bool = False
    fixed_effects: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("predictors", "controls", "fixed_effects"):
            value = getattr(self, name)
            value = (value,) if isinstance(value, str) else tuple(value)
            object.__setattr__(self, name, value)
        if self.fixed_effects:
            self._check_fixed_effects()
        elif self.family not in FAMILIES:
            hint = (
                " (logit and clogit need fixed_effects)" if self.family in BINARY_FAMILIES else ""
            )
            raise ConfigError(f"family must be one of {FAMILIES}; found {self.family!r}{hint}")
        if self.cov not in COV_TYPES:
            raise ConfigError(f"cov must be one of {COV_TYPES}; found {self.cov!r}")
        if self.season not in SEASONS:
            raise ConfigError(f"season must be one of {SEASONS}; found {self.season!r}")
        if self.cov == "cluster" and not self.cluster:
            raise ConfigError("cov='cluster' needs the name of the cluster column in cluster=")
        if self.hac_lags is not None and (not isinstance(self.hac_lags, int) or self.hac_lags < 0):
            raise ConfigError(f"hac_lags must be a non-negative integer; found {self.hac_lags!r}")
        if not 0 < self.alpha < 1:
            raise ConfigError(f"alpha (test level) must be in (0, 1); found {self.alpha!r}")
        terms = self.predictors + self.controls
        repeated = sorted({t for t in terms if terms.count(t) > 1})
        if repeated:
            raise ConfigError(f"terms listed twice (predictors/controls): {repeated}")
        reserved = sorted(set(terms) & set(_RESERVED))
        if reserved:
            raise ConfigError(
                f"column names {reserved} are reserved for generated terms; rename them"
            )
        if self.outcome in terms:
            raise ConfigError(f"outcome {self.outcome!r} is also listed as a predictor")

    def _check_fixed_effects(self) -> None:
        if self.family not in PANEL_FAMILIES:
            why = ""
            if self.family == "negbin":
                why = (
                    "; NB with fixed-effect dummies is biased in short panels (incidental "
                    "parameters): use 'poisson', the conditional Poisson, with cov='cluster'"
                )
            raise ConfigError(
                f"family must be one of {PANEL_FAMILIES} with fixed effects; found {self.family!r}{why}"
            )
        if self.cov not in PANEL_COV_TYPES:
            raise ConfigError(
                f"cov must be one of {PANEL_COV_TYPES} with fixed effects; found {self.cov!r}"
            )
        if self.trend or self.season is not None:
            raise ConfigError(
                "trend and season cannot be combined with fixed effects: use year fixed effects"
            )
        if self.family in BINARY_FAMILIES and self.exposure:
            raise ConfigError("exposure is for counts; a logit takes none")
        clash = sorted(set(self.fixed_effects) & {self.outcome, *self.predictors, *self.controls})
        if clash or len(set(self.fixed_effects)) < len(self.fixed_effects):
            raise ConfigError(
                f"fixed effects {list(self.fixed_effects)} repeat or are also model terms: {clash}"
            )

    def without(self, *terms: str) -> CountModelSpec:
        """The same spec with some predictors/controls removed (a restricted model)."""
        return replace(
            self,
            predictors=tuple(t for t in self.predictors if t not in terms),
            controls=tuple(t for t in self.controls if t not in terms),
        )


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
    absorbed: tuple[str, ...] = ()  # fixed-effect dummy columns of X (not reported)
    strata: np.ndarray | None = None  # conditional logit: the conditioned-out fixed effect

    @property
    def nobs(self) -> int:
        return len(self.y)

    def without(self, *terms: str) -> Design:
        """Drop model terms, keeping the same rows (for restricted and null models)."""
        unknown = [t for t in terms if t not in self.X.columns or t == "const"]
        if unknown:
            raise ConfigError(f"cannot drop {unknown}: not a non-constant term of the design")
        return replace(self, spec=self.spec.without(*terms), X=self.X.drop(columns=list(terms)))


def fit_count_model(
    data: pd.DataFrame, outcome: str, predictors: tuple[str, ...] | list[str], **options: Any
) -> CountModelResult:
    """Fit a count model of ``outcome`` on ``predictors``; ``options`` are CountModelSpec fields."""
    return fit_spec(data, CountModelSpec(outcome=outcome, predictors=tuple(predictors), **options))


def fit_spec(data: pd.DataFrame, spec: CountModelSpec) -> CountModelResult:
    """Fit a prepared spec (the form the hypothesis registry holds)."""
    return fit_design(build_design(data, spec))


# --------------------------------------------------------------------------- design


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

    y = _outcome(frame[spec.outcome], spec.outcome)
    X = pd.DataFrame({"const": np.ones(len(frame))}, index=frame.index)
    for name in (*spec.predictors, *spec.controls):
        X[name] = _numeric(frame[name], name)
    if spec.trend:
        X["trend"] = rank.astype(float)
    if spec.season is not None:
        X = X.join(_season_dummies(periods, spec.season, X.index))
    offset, groups = _offset(frame, spec), _clusters(frame, spec)
    _check_design(y, X, spec)
    return Design(spec, y, X, offset, groups, periods, sample)


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
    if spec.family in BINARY_FAMILIES:
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
    conditioned = spec.fixed_effects[0] if spec.family == "clogit" else None
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
            if spec.family in BINARY_FAMILIES:
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


def _season_dummies(periods: pd.Index | None, season: str, index: pd.Index) -> pd.DataFrame:
    coarse = isinstance(periods, pd.PeriodIndex) and periods.freqstr[0] in "YAQ"
    if periods is None or not hasattr(periods, "month") or coarse:
        raise ModelError(
            f"season={season!r} needs monthly (or finer) dated periods in time= or a "
            f"Datetime/Period index; this panel has {'none' if periods is None else 'coarser ones'}"
        )
    month = np.asarray(periods.month)
    if season == "irrigation":
        return pd.DataFrame(
            {"irrigation_season": np.isin(month, list(IRRIGATION_MONTHS)).astype(float)},
            index=index,
        )
    return pd.DataFrame(
        {f"month_{m:02d}": (month == m).astype(float) for m in range(2, 13)}, index=index
    )


def _check_design(y: np.ndarray, X: pd.DataFrame, spec: CountModelSpec) -> None:
    """Refuse designs whose estimates would be undefined, naming the columns at fault."""
    k = X.shape[1] + (spec.family != "poisson") + (spec.family == "zinb")
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
        if np.linalg.norm(residual) < 1e-9:
            parts = [names[i] for i in np.flatnonzero(np.abs(coef) > 1e-8)]
            raise ModelError(
                f"predictors are perfectly collinear: {names[j]!r} is a linear combination of "
                f"{parts}; drop one of them"
            )


# --------------------------------------------------------------------------- estimation


@dataclass(frozen=True, eq=False)
class _Fit:
    """One statsmodels fit reduced to what the result needs."""

    model: Any
    params: pd.Series
    cov: pd.DataFrame
    llf: float
    mu: np.ndarray
    converged: bool
    messages: tuple[str, ...]


def fit_design(design: Design) -> CountModelResult:
    """Estimate a checked design; add LR, Wald, overdispersion and zero diagnostics.

    A numerical breakdown inside statsmodels (e.g. a fixed-effects Poisson diverging on huge,
    persistent battle-death counts) becomes a ModelError, so one impossible specification is
    reported as such instead of stopping a batch of tests.
    """
    try:
        return _fit_design(design)
    except (ValueError, np.linalg.LinAlgError, OverflowError) as exc:
        raise ModelError(
            f"{design.spec.family} estimation of {design.spec.outcome!r} broke down numerically: {exc}"
        ) from None


def _fit_design(design: Design) -> CountModelResult:
    if design.spec.fixed_effects:
        return _fit_fe_design(design)
    spec = design.spec
    chain = _fit_chain(design, _cov_options(design))
    main = chain[spec.family]
    messages = list(main.messages)
    if not main.converged:
        messages.insert(0, f"{spec.family} fit did not converge: estimates are not reliable")

    overdispersion = _cameron_trivedi(design.y, chain["poisson"].mu)
    count_fit = chain["negbin" if spec.family != "poisson" else "poisson"]
    excess_zeros = _excess_zeros(design, count_fit)
    vuong = None
    if spec.family == "zinb":
        vuong = _vuong(main, chain["negbin"])
        if vuong.p_value >= spec.alpha and excess_zeros.p_value >= spec.alpha:
            raise ModelError(
                "zero-inflated NB is not supported by the data at level "
                f"{spec.alpha}: {vuong}; {excess_zeros}. Use family='negbin'"
            )

    lr_test, wald_test = None, None
    if spec.predictors:
        restricted = _fit_chain(design.without(*spec.predictors), {"cov_type": "nonrobust"})
        restricted_fit = restricted[spec.family]
        lr_test = _lr_test(main, restricted_fit, len(spec.predictors))
        if not restricted_fit.converged:
            messages.append("restricted model for the LR test did not converge")
        wald_test = _wald_test(main, list(spec.predictors))

    dispersion = dispersion_se = None
    if spec.family != "poisson":
        dispersion = float(main.params["alpha"])
        dispersion_se = float(np.sqrt(main.cov.loc["alpha", "alpha"]))
        if dispersion < _ALPHA_BOUNDARY:
            messages.append(
                "NB dispersion alpha is at its boundary (about 0): no overdispersion beyond "
                "Poisson, and its standard error is not meaningful"
            )

    return _result(
        design,
        main,
        messages,
        overdispersion=overdispersion,
        excess_zeros=excess_zeros,
        lr_test=lr_test,
        wald_test=wald_test,
        vuong=vuong,
        dispersion=dispersion,
        dispersion_se=dispersion_se,
    )


def _result(design: Design, main: _Fit, messages: list[str], **tests: Any) -> CountModelResult:
    """The frozen result of a main fit and its diagnostics (fixed-effect dummies not shown)."""
    n_params = len(main.params)
    return CountModelResult(
        spec=design.spec,
        family=design.spec.family,
        cov_type=design.spec.cov,
        cov_label=_cov_label(design),
        coefficients=_tidy(main, design.spec.alpha, exclude=_hidden_terms(design)),
        nobs=design.nobs,
        events=int(design.y.sum()),
        zeros_share=float(np.mean(design.y == 0)),
        loglik=main.llf,
        n_params=n_params,
        aic=-2 * main.llf + 2 * n_params,
        bic=-2 * main.llf + math.log(design.nobs) * n_params,
        converged=main.converged,
        warnings=tuple(dict.fromkeys(messages)),
        sample=design.sample,
        fitted=pd.Series(main.mu, index=design.X.index, name="fitted"),
        **tests,
    )


def _hidden_terms(design: Design) -> tuple[str, ...]:
    """Fixed-effect dummies, and with them the intercept (the baseline of the first levels)."""
    return (*design.absorbed, "const") if design.spec.fixed_effects else ()


def _fit_fe_design(design: Design) -> CountModelResult:
    """Estimate a fixed-effects design: Poisson with dummies, or the conditional logit."""
    spec = design.spec
    fit = {"poisson": _fit_poisson, "logit": _fit_logit, "clogit": _fit_conditional_logit}[
        spec.family
    ]
    main = fit(design, _cov_options(design))
    messages = list(main.messages)
    if not main.converged:
        messages.insert(0, f"{spec.family} fit did not converge: estimates are not reliable")
    if spec.family == "poisson":
        overdispersion = _cameron_trivedi(design.y, main.mu)
        excess_zeros = _excess_zeros(design, main)
    else:
        overdispersion = excess_zeros = StatTest(
            name="Count diagnostics",
            statistic=math.nan,
            p_value=math.nan,
            note="not applicable to a 0/1 outcome",
        )
    lr_test = wald_test = None
    if spec.predictors:
        restricted = fit(design.without(*spec.predictors), {"cov_type": "nonrobust"})
        lr_test = _lr_test(main, restricted, len(spec.predictors))
        if not restricted.converged:
            messages.append("restricted model for the LR test did not converge")
        wald_test = _wald_test(main, list(spec.predictors))
    return _result(
        design,
        main,
        messages,
        overdispersion=overdispersion,
        excess_zeros=excess_zeros,
        lr_test=lr_test,
        wald_test=wald_test,
        vuong=None,
        dispersion=None,
        dispersion_se=None,
    )


def _hac_lags(design: Design) -> int:
    lags = design.spec.hac_lags
    return default_hac_lags(design.nobs) if lags is None else lags


def _cov_options(design: Design) -> dict[str, Any]:
    cov = design.spec.cov
    if cov == "hac":
        return {"cov_type": "HAC", "cov_kwds": {"maxlags": _hac_lags(design)}}
    if cov == "cluster":
        return {"cov_type": "cluster", "cov_kwds": {"groups": design.groups}}
    return {"cov_type": "nonrobust"}


def _cov_label(design: Design) -> str:
    cov = design.spec.cov
    if cov == "hac":
        return f"HAC (Newey-West, Bartlett kernel, {_hac_lags(design)} lags)"
    if cov == "cluster":
        n = len(np.unique(design.groups))
        label = f"cluster-robust by {design.spec.cluster!r} ({n} clusters)"
    else:
        label = "nonrobust (model-based)"
    return label + _fixed_effects_label(design)


def _fixed_effects_label(design: Design) -> str:
    if not design.spec.fixed_effects:
        return ""
    parts = []
    for fe in design.spec.fixed_effects:
        dummies = sum(name.startswith(f"{fe}=") for name in design.absorbed)
        if design.strata is not None and fe == design.spec.fixed_effects[0]:
            parts.append(f"{fe} ({design.strata.max() + 1} groups, conditioned out)")
        else:
            parts.append(f"{fe} ({dummies + 1} levels)")
    return "; fixed effects: " + ", ".join(parts)


def _fit_chain(design: Design, cov: dict[str, Any]) -> dict[str, _Fit]:
    """Fit Poisson, then NB from it, then ZINB from NB, up to the spec's family.

    Only the last fit gets the requested covariance; the earlier ones provide start values
    and diagnostics.
    """
    family = design.spec.family
    plain = {"cov_type": "nonrobust"}
    chain = {"poisson": _fit_poisson(design, cov if family == "poisson" else plain)}
    if family != "poisson":
        chain["negbin"] = _fit_negbin(
            design, chain["poisson"], cov if family == "negbin" else plain
        )
    if family == "zinb":
        chain["zinb"] = _fit_zinb(design, chain["negbin"], cov)
    return chain


def _run(fit_call: Any) -> tuple[Any, tuple[str, ...]]:
    """Call a statsmodels fit, keeping its warnings as text instead of letting them scroll by."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit_call()
    texts = tuple(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    return result, texts


def _finish(model: Any, result: Any, converged: bool, messages: tuple[str, ...]) -> _Fit:
    try:
        cov = result.cov_params()
    except (ValueError, np.linalg.LinAlgError):  # statsmodels could not invert the Hessian
        cov = pd.DataFrame(np.nan, index=result.params.index, columns=result.params.index)
    ok = converged and bool(np.all(np.isfinite(np.diag(cov)))) and bool(np.all(np.diag(cov) > 0))
    if converged and not ok:
        messages = (*messages, "covariance matrix is not positive definite")
    return _Fit(
        model=model,
        params=result.params,
        cov=cov,
        llf=float(result.llf),
        mu=np.asarray(result.predict()),
        converged=ok,
        messages=messages,
    )


def _fit_poisson(design: Design, cov: dict[str, Any]) -> _Fit:
    model = sm.GLM(design.y, design.X, family=sm.families.Poisson(), offset=design.offset)
    result, messages = _run(lambda: model.fit(**cov))
    return _finish(model, result, bool(result.converged), messages)


def _fit_negbin(design: Design, poisson: _Fit, cov: dict[str, Any]) -> _Fit:
    """NB2 by Newton from the Poisson estimates; BFGS on log(alpha) if Newton fails.

    Newton steps in alpha itself and can step below zero when the data are close to
    Poisson; BFGS works on log(alpha), so it cannot, at the price of a looser optimum.
    """
    model = NegativeBinomial(design.y, design.X, loglike_method="nb2", offset=design.offset)
    moment_alpha = max(0.05, float(_ct_regression(design.y, poisson.mu).params[0]))
    start = np.r_[poisson.params.to_numpy(), moment_alpha]
    try:
        result, messages = _run(
            lambda: model.fit(start_params=start, method="newton", maxiter=100, disp=0, **cov)
        )
        newton_ok = result.mle_retvals["converged"] and result.params.iloc[-1] > 0
    except np.linalg.LinAlgError:  # singular Hessian on the way
        newton_ok = False
    if not newton_ok:
        result, more = _run(
            lambda: model.fit(start_params=start, method="bfgs", maxiter=2000, disp=0, **cov)
        )
        messages = (*more, "Newton failed for NB; estimated with BFGS on log(alpha)")
    return _finish(model, result, bool(result.mle_retvals["converged"]), messages)


def _fit_zinb(design: Design, negbin: _Fit, cov: dict[str, Any]) -> _Fit:
    """ZINB from the NB estimates, with a zero-inflation probability of 1/2 to start.

    A start near no inflation lets BFGS wander off (NB has already absorbed the zeros into
    a large alpha); 1/2 is statsmodels' own start. ZINB nests NB, so a maximum below the NB
    log-likelihood means the optimiser failed, and the fit is flagged as not converged.
    """
    model = ZeroInflatedNegativeBinomialP(design.y, design.X, offset=design.offset, p=2)
    start = np.r_[0.0, negbin.params.to_numpy()]
    result, messages = _run(
        lambda: model.fit(start_params=start, method="bfgs", maxiter=2000, disp=0, **cov)
    )
    converged = bool(result.mle_retvals["converged"])
    if converged and not result.llf >= negbin.llf - 1e-6:
        converged = False
        messages = (*messages, "ZINB log-likelihood below NB's: the optimiser failed")
    return _finish(model, result, converged, messages)


def _fit_logit(design: Design, cov: dict[str, Any]) -> _Fit:
    model = sm.Logit(design.y, design.X)
    result, messages = _run(lambda: model.fit(method="newton", maxiter=100, disp=0, **cov))
    return _finish(model, result, bool(result.mle_retvals["converged"]), messages)


def _fit_conditional_logit(design: Design, cov: dict[str, Any]) -> _Fit:
    """Conditional logit by Newton's method on the exact conditional likelihood."""
    model = ConditionalLogitLikelihood(design.y, design.X.to_numpy(dtype=float), design.strata)
    params, converged, iterations = model.maximise()
    llf, scores, hessian = model.evaluate(params)
    names = list(design.X.columns)
    messages: tuple[str, ...] = ()
    try:
        bread = np.linalg.inv(-hessian) if len(params) else np.zeros((0, 0))
    except np.linalg.LinAlgError:
        bread, converged = np.full_like(hessian, np.nan), False
        messages = ("conditional logit information matrix is singular",)
    if cov.get("cov_type") == "cluster":
        clusters = _strata_clusters(design.strata, cov["cov_kwds"]["groups"])
        meat_scores = np.zeros((clusters.max() + 1, len(params)))
        np.add.at(meat_scores, clusters, scores)
        g, n, k = len(meat_scores), design.nobs, len(params)
        covariance = (
            bread @ (meat_scores.T @ meat_scores) @ bread * (g / (g - 1)) * ((n - 1) / (n - k))
        )
    else:
        covariance = bread
    if not converged:
        messages = (*messages, f"Newton did not converge in {iterations} iterations")
    return _finish_manual(
        params,
        covariance,
        names,
        llf,
        model,
        converged,
        messages,
        np.exp(design.X.to_numpy(dtype=float) @ params),
    )


def _strata_clusters(strata: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The cluster of each conditioning group; a group split across clusters has no score of
    its own to add to one cluster, so that is an error."""
    pairs = pd.DataFrame({"stratum": strata, "cluster": groups}).drop_duplicates()
    if pairs["stratum"].duplicated().any():
        raise ModelError(
            "each group of the conditioned-out fixed effect must lie within one cluster "
            "(cluster by that fixed effect or by a coarser unit)"
        )
    return pairs.set_index("stratum")["cluster"].reindex(np.arange(strata.max() + 1)).to_numpy()


def _finish_manual(params, covariance, names, llf, model, converged, messages, mu) -> _Fit:
    params = pd.Series(params, index=names, dtype=float)
    cov = pd.DataFrame(covariance, index=names, columns=names)
    diagonal = np.diag(cov.to_numpy())
    ok = converged and bool(np.all(np.isfinite(diagonal))) and bool(np.all(diagonal > 0))
    if converged and not ok:
        messages = (*messages, "covariance matrix is not positive definite")
    return _Fit(
        model=model, params=params, cov=cov, llf=float(llf), mu=mu, converged=ok, messages=messages
    )


class ConditionalLogitLikelihood:
    """Exact conditional logit likelihood, score per group and Hessian (Chamberlain 1980).

    For a group with outcomes ``y`` (``s`` ones among ``T`` rows) and weights
    ``w_t = exp(x_t'b)``, ``P(y | s) = prod(w_t^y_t) / e_s(w)``, with ``e_s`` the elementary
    symmetric polynomial of degree ``s``. ``e_k`` and its first two derivatives follow from the
    recursion ``e_k(w_1..w_t) = e_k(w_1..w_{t-1}) + w_t e_{k-1}(w_1..w_{t-1})``, run over the
    rows with all degrees at once. Weights are scaled by the group's largest (which cancels in
    the ratios), and a group with more ones than zeros is computed from its zeros (``y -> 1-y``,
    ``x -> -x`` gives the same likelihood), so the recursion stays short and finite.
    ``offset`` (optional) adds a fixed term to each row's index, ``w_t = exp(x_t'b + o_t)``:
    a coefficient held at a given value (restricted fits of score tests).
    """

    def __init__(
        self, y: np.ndarray, X: np.ndarray, strata: np.ndarray, offset: np.ndarray | None = None
    ):
        self.k = X.shape[1]
        offset = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float)
        self.groups = []
        for g in range(strata.max() + 1):
            rows = np.flatnonzero(strata == g)
            yg, xg, og = y[rows], X[rows], offset[rows]
            if yg.sum() > len(rows) / 2:
                yg, xg, og = 1 - yg, -xg, -og
            self.groups.append((int(yg.sum()), xg, yg @ xg, og, yg @ og))

    def evaluate(self, params: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Log-likelihood, score of each group (groups x k) and the Hessian."""
        llf, scores, hessian = 0.0, np.zeros((len(self.groups), self.k)), np.zeros((self.k, self.k))
        for g, (ones, x, xy, offset, oy) in enumerate(self.groups):
            eta = x @ params + offset
            shift = eta.max()
            w = np.exp(eta - shift)
            e = np.zeros(ones + 1)
            d = np.zeros((ones + 1, self.k))
            h = np.zeros((ones + 1, self.k, self.k))
            e[0] = 1.0
            for wt, xt in zip(w, x):  # right-hand sides use the previous row's values
                outer = np.multiply.outer(xt, xt)
                h[1:] += wt * (
                    h[:-1]
                    + np.multiply.outer(d[:-1], xt)
                    + np.multiply.outer(xt, d[:-1]).transpose(1, 0, 2)
                    + e[:-1, None, None] * outer
                )
                d[1:] += wt * (d[:-1] + e[:-1, None] * xt)
                e[1:] += wt * e[:-1]
            mean = d[ones] / e[ones]
            llf += xy @ params + oy - (np.log(e[ones]) + ones * shift)
            scores[g] = xy - mean
            hessian -= h[ones] / e[ones] - np.multiply.outer(mean, mean)
        return llf, scores, hessian

    def maximise(
        self, max_iter: int = 100, tol: float = 1e-10, start: np.ndarray | None = None
    ) -> tuple[np.ndarray, bool, int]:
        """Newton steps from ``start`` (default zero), halved while the likelihood falls."""
        params = np.zeros(self.k) if start is None else np.array(start, dtype=float)
        if not self.k:
            return params, True, 0
        llf, scores, hessian = self.evaluate(params)
        for iteration in range(1, max_iter + 1):
            try:
                step = np.linalg.solve(-hessian, scores.sum(axis=0))
            except np.linalg.LinAlgError:
                return params, False, iteration
            for _ in range(30):
                new = params + step
                new_llf, new_scores, new_hessian = self.evaluate(new)
                if new_llf >= llf - 1e-12 * abs(llf):
                    break
                step = step / 2
            params, llf, scores, hessian = new, new_llf, new_scores, new_hessian
            if np.max(np.abs(step)) < tol:
                return params, True, iteration
        return params, False, max_iter


def _tidy(fit: _Fit, level: float, exclude: tuple[str, ...] = ()) -> pd.DataFrame:
    hidden = {"alpha", *exclude}
    names = [n for n in fit.params.index if n not in hidden]
    estimate = fit.params[names].to_numpy(dtype=float)
    se = np.sqrt(np.diag(fit.cov.loc[names, names].to_numpy(dtype=float)))
    z = estimate / se
    crit = stats.norm.ppf(1 - level / 2)
    low, high = estimate - crit * se, estimate + crit * se
    count_term = np.array([not n.startswith("inflate_") for n in names])
    table = pd.DataFrame(
        {
            "estimate": estimate,
            "std_error": se,
            "statistic": z,
            "p_value": 2 * stats.norm.sf(np.abs(z)),
            "ci_low": low,
            "ci_high": high,
            "irr": np.where(count_term, np.exp(estimate), np.nan),
            "irr_low": np.where(count_term, np.exp(low), np.nan),
            "irr_high": np.where(count_term, np.exp(high), np.nan),
        },
        index=pd.Index(names, name="term"),
    )
    return table[list(TIDY_COLUMNS)]


# --------------------------------------------------------------------------- tests


def _ct_regression(y: np.ndarray, mu: np.ndarray) -> Any:
    """Cameron-Trivedi (1990) auxiliary OLS: ``((y - mu)**2 - y) / mu`` on ``mu``, no intercept.

    Its slope is a moment estimate of the NB2 alpha (used as NB start value) and its
    t-statistic tests alpha = 0.
    """
    return sm.OLS(((y - mu) ** 2 - y) / mu, mu).fit()


def _cameron_trivedi(y: np.ndarray, mu: np.ndarray) -> StatTest:
    """Overdispersion test from the Poisson fit: one-sided t-test of the auxiliary slope."""
    ols = _ct_regression(y, mu)
    t = float(ols.tvalues[0])
    return StatTest(
        name="Overdispersion (Cameron-Trivedi)",
        statistic=t,
        p_value=float(stats.t.sf(t, ols.df_resid)),
        df=float(ols.df_resid),
        note=f"H0: Poisson variance; alpha estimate {float(ols.params[0]):.3f}; one-sided",
    )


def _zero_probability(mu: np.ndarray, alpha: float) -> np.ndarray:
    if alpha <= 0:
        return np.exp(-mu)
    return (1 + alpha * mu) ** (-1 / alpha)


def _excess_zeros(design: Design, fit: _Fit) -> StatTest:
    """Observed minus expected zeros, standardised for the estimated parameters.

    The statistic of He et al. (2019) / Tang and Tang (2018), ``N0 - sum p0_i``, extended to
    NB. Each period contributes ``1{y=0} - p0_i - s_i' I^-1 G`` (s_i its score, I the
    observed information, G the gradient of the expected zeros in beta and alpha); the
    variance is the sum of squared contributions. This empirical variance stays positive
    and keeps the size near nominal for NB in samples of ~150, where the model-based
    ``Var(N0) - G' I^-1 G`` (statsmodels' Poisson version) rejected about twice too often.
    One-sided: more zeros than the count model predicts.
    """
    mu, params = fit.mu, fit.params.to_numpy()
    alpha = float(fit.params["alpha"]) if "alpha" in fit.params.index else 0.0
    p0 = _zero_probability(mu, alpha)
    gradient = design.X.to_numpy().T @ (-p0 * mu / (1 + alpha * mu))
    if alpha > 0:
        d_alpha = p0 * (np.log1p(alpha * mu) / alpha**2 - mu / (alpha * (1 + alpha * mu)))
        gradient = np.r_[gradient, d_alpha.sum()]
    residual = (design.y == 0) - p0
    try:
        direction = np.linalg.solve(-fit.model.hessian(params), gradient)
        contributions = residual - fit.model.score_obs(params) @ direction
        statistic = residual.sum() / math.sqrt(contributions @ contributions)
    except np.linalg.LinAlgError:  # singular information: no valid variance
        statistic = math.nan
    observed, expected = int(np.sum(design.y == 0)), float(p0.sum())
    return StatTest(
        name="Excess zeros",
        statistic=float(statistic),
        p_value=float(stats.norm.sf(statistic)),
        note=f"{observed} observed vs {expected:.1f} expected under "
        f"{'NB' if alpha > 0 else 'Poisson'}; one-sided",
    )


def _vuong(zinb: _Fit, negbin: _Fit) -> StatTest:
    """Vuong (1989) non-nested test, ZINB against NB (uncorrected; one-sided for ZINB).

    NB sits on the boundary of ZINB, so this test is only indicative (Wilson 2015); that is
    why the excess-zeros test is accepted as alternative evidence.
    """
    diff = zinb.model.loglikeobs(zinb.params.to_numpy()) - negbin.model.loglikeobs(
        negbin.params.to_numpy()
    )
    statistic = math.sqrt(len(diff)) * diff.mean() / diff.std(ddof=1)
    return StatTest(
        name="Vuong ZINB vs NB",
        statistic=float(statistic),
        p_value=float(stats.norm.sf(statistic)),
        note="H0: models equally close; one-sided for ZINB",
    )


def _lr_test(full: _Fit, restricted: _Fit, df: int) -> StatTest:
    statistic = max(2 * (full.llf - restricted.llf), 0.0)
    return StatTest(
        name="LR test (predictors)",
        statistic=statistic,
        p_value=float(stats.chi2.sf(statistic, df)),
        df=float(df),
        note="H0: all predictors zero; model-based, not robust to autocorrelation",
    )


def _wald_test(fit: _Fit, terms: list[str]) -> StatTest:
    b = fit.params[terms].to_numpy(dtype=float)
    V = fit.cov.loc[terms, terms].to_numpy(dtype=float)
    statistic = float(b @ np.linalg.solve(V, b))
    return StatTest(
        name="Wald test (predictors)",
        statistic=statistic,
        p_value=float(stats.chi2.sf(statistic, len(terms))),
        df=float(len(terms)),
        note="H0: all predictors zero; uses the model's chosen covariance",
    )
