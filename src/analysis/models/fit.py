"""Estimation of a checked design: the family's statsmodels fit, the covariance, the tidy result.

Each family (:mod:`.families`) is fitted by its own ``fit``, after the families it starts from:
``negbin`` from the Poisson estimates, ``zinb`` from NB (and only when the data support extra
zeros); with fixed effects ``poisson`` and ``logit`` take dummies and ``clogit`` conditions the
first effect out (see :mod:`.clogit`).

Covariance (:mod:`.covariance`): ``hac`` (Newey-West over calendar distance), ``cluster``
(cluster-robust with statsmodels' correction) or ``nonrobust`` (model-based).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ModelError
from ..results import TIDY_COLUMNS, CountModelResult
from .base import Fit, finish
from .covariance import cluster_covariance, hac_covariance
from .design import Design, build_design
from .diagnostics import cameron_trivedi, excess_zeros, joint_tests, vuong
from .families import NB2, POISSON, Family
from .spec import CountModelSpec, default_hac_lags

#: An NB alpha below this is at its boundary: the Poisson fit is reported instead.
POISSON_BOUNDARY = 1e-4


def fit_count_model(
    data: pd.DataFrame, outcome: str, predictors: tuple[str, ...] | list[str], **options: Any
) -> CountModelResult:
    """Fit a count model of ``outcome`` on ``predictors``; ``options`` are CountModelSpec fields."""
    return fit_spec(data, CountModelSpec(outcome=outcome, predictors=tuple(predictors), **options))


def fit_spec(data: pd.DataFrame, spec: CountModelSpec) -> CountModelResult:
    """Fit a prepared spec (the form the hypothesis registry holds)."""
    return fit_design(build_design(data, spec))


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
            f"{design.spec.family} estimation of {design.spec.outcome!r} broke down "
            f"numerically: {exc}"
        ) from None


def _fit_design(design: Design) -> CountModelResult:
    spec = design.spec
    family = spec.distribution
    notes: list[str] = []
    fits = _fit_chain(design, spec.cov, family)
    main = fits[family]
    if family.boundary and float(main.params["alpha"]) < POISSON_BOUNDARY:
        # The likelihood is flat in alpha at 0 and its covariance singular there: the data
        # are not overdispersed, and the simpler fit is the model to report.
        family = family.boundary
        fits[family] = main = _with_covariance(fits[family], design, spec.cov)
        notes.append(
            f"NB dispersion alpha is at its boundary (0): no overdispersion beyond "
            f"{family.label}, so the {family.label} fit is reported"
        )
    messages = [*notes, *main.messages]
    if not main.converged:
        messages.insert(0, f"{family.name} fit did not converge: estimates are not reliable")
    tests: dict[str, Any] = {"vuong": None, "dispersion": None, "dispersion_se": None}
    tests["overdispersion"] = tests["excess_zeros"] = None
    if not family.binary:  # count diagnostics read the Poisson fit, in the chain or not
        poisson = fits[POISSON] if POISSON in fits else POISSON.fit(design, None)
        tests["overdispersion"] = cameron_trivedi(design.y, poisson.mu)
        tests["excess_zeros"] = excess_zeros(design, fits.get(NB2, poisson))
    if family.zero_inflated:
        tests["vuong"] = vuong(main, fits[family.starts_from])
        if tests["vuong"].p_value >= spec.alpha and tests["excess_zeros"].p_value >= spec.alpha:
            raise ModelError(
                "zero-inflated NB is not supported by the data at level "
                f"{spec.alpha}: {tests['vuong']}; {tests['excess_zeros']}. Use family='negbin'"
            )
    tests["lr_test"] = tests["wald_test"] = None
    if spec.predictors:
        smaller = design.without(*spec.predictors)
        restricted = _fit_chain(smaller, "nonrobust", family)[family]
        if not restricted.converged:
            messages.append("restricted model for the LR test did not converge")
        tests["lr_test"], tests["wald_test"] = joint_tests(main, restricted, list(spec.predictors))
    if family.dispersed:
        tests["dispersion"] = float(main.params["alpha"])
        tests["dispersion_se"] = float(np.sqrt(main.cov.loc["alpha", "alpha"]))
    return _result(design, main, messages, family=family, **tests)


def _result(
    design: Design, main: Fit, messages: list[str], *, family: Family, **tests: Any
) -> CountModelResult:
    """The frozen result of a main fit and its diagnostics (absorbed dummies not shown);
    ``family`` is the one actually fitted."""
    n_params = len(main.params)
    return CountModelResult(
        spec=design.spec,
        family=family.name,
        family_label=family.label,
        effect_ratio=family.ratio,
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
    """Absorbed dummies, and with fixed effects the intercept (the baseline of first levels)."""
    return (*design.absorbed, "const") if design.spec.fixed_effects else design.absorbed


# --------------------------------------------------------------------------- covariance


def hac_lags(design: Design) -> int:
    lags = design.spec.hac_lags
    return default_hac_lags(design.nobs) if lags is None else lags


def _with_covariance(fit: Fit, design: Design, cov: str) -> Fit:
    """Replace a fit's model-based covariance by the one ``cov`` names."""
    if cov == "nonrobust" or not fit.converged:
        return fit
    names = list(fit.params.index)
    params = fit.params.to_numpy()
    bread = fit.cov.to_numpy()  # inverse of the observed information
    if hasattr(fit.model, "cluster_scores"):  # conditional logit: one score per group
        scores, groups = fit.model.cluster_scores(params, design.groups)
    else:
        scores, groups = np.asarray(fit.model.score_obs(params)), design.groups
    if cov == "hac":
        positions = np.arange(design.nobs) if design.positions is None else design.positions
        matrix = hac_covariance(scores, bread, positions, hac_lags(design))
    else:  # cluster
        summed = pd.DataFrame(scores).groupby(groups).sum().to_numpy()
        matrix = cluster_covariance(summed, bread, design.nobs)
    return finish(fit.model, params, matrix, names, fit.llf, fit.mu, True, fit.messages)


def _cov_label(design: Design) -> str:
    cov = design.spec.cov
    if cov == "hac":
        gaps = design.sample.get("gaps", 0)
        where = f", {gaps} missing periods inside the sample" if gaps else ""
        label = (
            f"HAC (Newey-West, Bartlett kernel, {hac_lags(design)} lags over calendar periods"
            f"{where})"
        )
    elif cov == "cluster":
        n = len(np.unique(design.groups))
        label = f"cluster-robust by {design.spec.cluster!r} ({n} clusters)"
    else:
        label = "nonrobust (model-based)"
    if design.spec.period_effects:
        strata = "year" if design.spec.period_effects == "year" else "year-and-season"
        label += f"; {strata} effects"
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


# --------------------------------------------------------------------------- estimators


def _fit_chain(design: Design, cov: str, family: Family) -> dict[Family, Fit]:
    """Fit ``family`` after the families it starts from (Poisson, then NB from it, then ZINB
    from NB), each from the previous one's estimates.

    Only ``family``'s fit gets the requested covariance; the earlier ones provide start values
    and diagnostics.
    """
    order = [family]
    while order[-1].starts_from is not None:
        order.append(order[-1].starts_from)
    chain: dict[Family, Fit] = {}
    previous = None
    for member in reversed(order):
        chain[member] = previous = member.fit(design, previous)
    chain[family] = _with_covariance(chain[family], design, cov)
    return chain


def _tidy(fit: Fit, level: float, exclude: tuple[str, ...] = ()) -> pd.DataFrame:
    hidden = {"alpha", *exclude}
    names = [n for n in fit.params.index if n not in hidden]
    estimate = fit.params[names].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):  # a negative variance (no maximum) is a missing s.e.
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
            "ratio": np.where(count_term, np.exp(estimate), np.nan),
            "ratio_low": np.where(count_term, np.exp(low), np.nan),
            "ratio_high": np.where(count_term, np.exp(high), np.nan),
        },
        index=pd.Index(names, name="term"),
    )
    return table[list(TIDY_COLUMNS)]
