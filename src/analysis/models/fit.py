"""Estimation of a checked design: statsmodels fits, the covariance, the tidy result.

Families: ``poisson`` (GLM), ``negbin`` (NB2 with alpha by maximum likelihood, from the Poisson
estimates), ``zinb`` (from NB, only when the data support extra zeros), and with fixed effects
``poisson`` with dummies, ``logit`` with dummies and ``clogit`` (see :mod:`.clogit`).

Covariance (:mod:`.covariance`): ``hac`` (Newey-West over calendar distance), ``cluster``
(cluster-robust with statsmodels' correction) or ``nonrobust`` (model-based).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.discrete.count_model import ZeroInflatedNegativeBinomialP
from statsmodels.discrete.discrete_model import NegativeBinomial

from ..errors import ModelError
from ..results import TIDY_COLUMNS, CountModelResult
from .base import Fit, finish
from .clogit import fit_conditional_logit
from .covariance import cluster_covariance, hac_covariance
from .design import Design, build_design
from .diagnostics import cameron_trivedi, ct_regression, excess_zeros, joint_tests, vuong
from .spec import CountModelSpec, default_hac_lags, ratio_name

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


def fit_main(design: Design, cov: str | None = None) -> Fit:
    """The spec's own family fitted on the design, with covariance ``cov`` (default: the spec's).

    The entry point for callers that need only the estimates (null models, restricted fits,
    inverted tests), without the diagnostics :func:`fit_design` adds.
    """
    cov = cov or design.spec.cov
    if design.spec.fixed_effects:
        fitters = {"poisson": _fit_poisson, "logit": _fit_logit, "clogit": fit_conditional_logit}
        return _with_covariance(fitters[design.spec.family](design), design, cov)
    return _fit_chain(design, cov)[design.spec.family]


def _fit_design(design: Design) -> CountModelResult:
    spec = design.spec
    family = spec.family
    notes: list[str] = []
    if spec.fixed_effects:
        main = fit_main(design)
        fits = {family: main}
    else:
        fits = _fit_chain(design, spec.cov)
        main = fits[family]
        if family == "negbin" and float(main.params["alpha"]) < POISSON_BOUNDARY:
            # The likelihood is flat in alpha at 0 and its covariance singular there: the data
            # are not overdispersed, and the Poisson fit is the model to report.
            fits["poisson"] = main = _with_covariance(fits["poisson"], design, spec.cov)
            family = "poisson"
            notes.append(
                "NB dispersion alpha is at its boundary (0): no overdispersion beyond Poisson, so "
                "the Poisson fit is reported"
            )
    messages = [*notes, *main.messages]
    if not main.converged:
        messages.insert(0, f"{family} fit did not converge: estimates are not reliable")
    tests: dict[str, Any] = {"vuong": None, "dispersion": None, "dispersion_se": None}
    if spec.family in ("poisson", "negbin", "zinb"):
        tests["overdispersion"] = cameron_trivedi(design.y, fits.get("poisson", main).mu)
        count_fit = fits.get("negbin", fits.get("poisson", main))
        tests["excess_zeros"] = excess_zeros(design, count_fit)
    else:
        tests["overdispersion"] = tests["excess_zeros"] = None
    if spec.family == "zinb":
        tests["vuong"] = vuong(main, fits["negbin"])
        if tests["vuong"].p_value >= spec.alpha and tests["excess_zeros"].p_value >= spec.alpha:
            raise ModelError(
                "zero-inflated NB is not supported by the data at level "
                f"{spec.alpha}: {tests['vuong']}; {tests['excess_zeros']}. Use family='negbin'"
            )
    tests["lr_test"] = tests["wald_test"] = None
    if spec.predictors:
        smaller = design.without(*spec.predictors)
        restricted = (
            fit_main(smaller, "nonrobust")
            if spec.fixed_effects
            else _fit_chain(smaller, "nonrobust")[family]
        )
        if not restricted.converged:
            messages.append("restricted model for the LR test did not converge")
        tests["lr_test"], tests["wald_test"] = joint_tests(main, restricted, list(spec.predictors))
    if family in ("negbin", "zinb"):
        tests["dispersion"] = float(main.params["alpha"])
        tests["dispersion_se"] = float(np.sqrt(main.cov.loc["alpha", "alpha"]))
    return _result(design, main, messages, family=family, **tests)


def _result(
    design: Design, main: Fit, messages: list[str], *, family: str, **tests: Any
) -> CountModelResult:
    """The frozen result of a main fit and its diagnostics (absorbed dummies not shown);
    ``family`` is the one actually fitted."""
    n_params = len(main.params)
    return CountModelResult(
        spec=design.spec,
        family=family,
        effect_ratio=ratio_name(family),
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


def _fit_chain(design: Design, cov: str) -> dict[str, Fit]:
    """Fit Poisson, then NB from it, then ZINB from NB, up to the spec's family.

    Only the last fit gets the requested covariance; the earlier ones provide start values
    and diagnostics.
    """
    family = design.spec.family
    chain = {"poisson": _fit_poisson(design)}
    if family != "poisson":
        chain["negbin"] = _fit_negbin(design, chain["poisson"])
    if family == "zinb":
        chain["zinb"] = _fit_zinb(design, chain["negbin"])
    chain[family] = _with_covariance(chain[family], design, cov)
    return chain


def _run(fit_call: Any) -> tuple[Any, tuple[str, ...]]:
    """Call a statsmodels fit, keeping its warnings as text instead of letting them scroll by."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit_call()
    texts = tuple(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    return result, texts


def _from_statsmodels(model: Any, result: Any, converged: bool, messages: tuple[str, ...]) -> Fit:
    def evaluated():  # statsmodels computes these lazily, with warnings of their own
        try:
            cov = np.asarray(result.cov_params())
        except (ValueError, np.linalg.LinAlgError):  # statsmodels could not invert the Hessian
            cov = np.full((len(result.params),) * 2, np.nan)
        return cov, float(result.llf), np.asarray(result.predict())

    (cov, llf, mu), more = _run(evaluated)
    names = list(result.params.index)
    messages = tuple(dict.fromkeys((*messages, *more)))
    return finish(model, result.params, cov, names, llf, mu, converged, messages)


def _fit_poisson(design: Design) -> Fit:
    model = sm.GLM(design.y, design.X, family=sm.families.Poisson(), offset=design.offset)
    result, messages = _run(lambda: model.fit())
    return _from_statsmodels(model, result, bool(result.converged), messages)


def _fit_negbin(design: Design, poisson: Fit) -> Fit:
    """NB2 by Newton from the Poisson estimates; BFGS on log(alpha) if Newton fails.

    Newton steps in alpha itself and can step below zero when the data are close to
    Poisson; BFGS works on log(alpha), so it cannot, at the price of a looser optimum.
    """
    model = NegativeBinomial(design.y, design.X, loglike_method="nb2", offset=design.offset)
    moment_alpha = max(0.05, float(ct_regression(design.y, poisson.mu).params[0]))
    start = np.r_[poisson.params.to_numpy(), moment_alpha]
    try:
        result, messages = _run(
            lambda: model.fit(start_params=start, method="newton", maxiter=100, disp=0)
        )
        newton_ok = result.mle_retvals["converged"] and result.params.iloc[-1] > 0
    except np.linalg.LinAlgError:  # singular Hessian on the way
        newton_ok = False
    if not newton_ok:
        result, more = _run(
            lambda: model.fit(start_params=start, method="bfgs", maxiter=2000, disp=0)
        )
        messages = (*more, "Newton failed for NB; estimated with BFGS on log(alpha)")
    return _from_statsmodels(model, result, bool(result.mle_retvals["converged"]), messages)


def _fit_zinb(design: Design, negbin: Fit) -> Fit:
    """ZINB from the NB estimates, with a zero-inflation probability of 1/2 to start.

    A start near no inflation lets BFGS wander off (NB has already absorbed the zeros into
    a large alpha); 1/2 is statsmodels' own start. ZINB nests NB, so a maximum below the NB
    log-likelihood means the optimiser failed, and the fit is flagged as not converged.
    """
    model = ZeroInflatedNegativeBinomialP(design.y, design.X, offset=design.offset, p=2)
    start = np.r_[0.0, negbin.params.to_numpy()]
    result, messages = _run(
        lambda: model.fit(start_params=start, method="bfgs", maxiter=2000, disp=0)
    )
    converged = bool(result.mle_retvals["converged"])
    llf, more = _run(lambda: float(result.llf))
    messages = (*messages, *more)
    if converged and not llf >= negbin.llf - 1e-6:
        converged = False
        messages = (*messages, "ZINB log-likelihood below NB's: the optimiser failed")
    return _from_statsmodels(model, result, converged, messages)


def _fit_logit(design: Design) -> Fit:
    model = sm.Logit(design.y, design.X, offset=design.offset)
    result, messages = _run(lambda: model.fit(method="newton", maxiter=100, disp=0))
    return _from_statsmodels(model, result, bool(result.mle_retvals["converged"]), messages)


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
