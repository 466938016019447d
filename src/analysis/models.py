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

from .panel import IRRIGATION_MONTHS
from .errors import ConfigError, ModelError
from .results import TIDY_COLUMNS, CountModelResult, StatTest

FAMILIES = ("poisson", "negbin", "zinb")
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
    return int(math.floor(4 * (n_periods / 100) ** (2 / 9)))


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

    def __post_init__(self) -> None:
        for name in ("predictors", "controls"):
            value = getattr(self, name)
            value = (value,) if isinstance(value, str) else tuple(value)
            object.__setattr__(self, name, value)
        if self.family not in FAMILIES:
            raise ConfigError(f"family must be one of {FAMILIES}; found {self.family!r}")
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


def build_design(data: pd.DataFrame, spec: CountModelSpec) -> Design:
    """Check the panel against the spec and build the design matrix, ordered by time."""
    columns = [spec.outcome, *spec.predictors, *spec.controls]
    columns += [c for c in (spec.exposure, spec.cluster) if c]
    absent = [
        c for c in dict.fromkeys(columns + ([spec.time] if spec.time else [])) if c not in data
    ]
    if absent:
        raise ModelError(f"columns not in the panel: {absent}; available: {list(data.columns)}")
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
    offset = None
    if spec.exposure:
        exposure = _numeric(frame[spec.exposure], spec.exposure)
        if (exposure <= 0).any() or not np.isfinite(exposure).all():
            raise ModelError(
                f"exposure column {spec.exposure!r} must be positive and finite; found "
                f"{int((exposure <= 0).sum())} rows <= 0"
            )
        offset = np.log(exposure.to_numpy())
    groups = None
    if spec.cov == "cluster":
        groups = pd.factorize(frame[spec.cluster])[0]
        if groups.max() < 1:
            raise ModelError(f"cluster column {spec.cluster!r} has a single cluster")
    _check_design(y, X, spec)
    return Design(spec, y, X, offset, groups, periods, sample)


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
    """Estimate a checked design; add LR, Wald, overdispersion and zero diagnostics."""
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

    n_params = len(main.params)
    return CountModelResult(
        spec=spec,
        family=spec.family,
        cov_type=spec.cov,
        cov_label=_cov_label(design),
        coefficients=_tidy(main, spec.alpha),
        nobs=design.nobs,
        events=int(design.y.sum()),
        zeros_share=float(np.mean(design.y == 0)),
        dispersion=dispersion,
        dispersion_se=dispersion_se,
        loglik=main.llf,
        n_params=n_params,
        aic=-2 * main.llf + 2 * n_params,
        bic=-2 * main.llf + math.log(design.nobs) * n_params,
        converged=main.converged,
        warnings=tuple(dict.fromkeys(messages)),
        overdispersion=overdispersion,
        excess_zeros=excess_zeros,
        lr_test=lr_test,
        wald_test=wald_test,
        vuong=vuong,
        sample=design.sample,
        fitted=pd.Series(main.mu, index=design.X.index, name="fitted"),
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
        return f"cluster-robust by {design.spec.cluster!r} ({n} clusters)"
    return "nonrobust (model-based)"


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


def _tidy(fit: _Fit, level: float) -> pd.DataFrame:
    names = [n for n in fit.params.index if n != "alpha"]
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
