"""Inference for global fixed-effects panels when few clusters carry the events.

The global panels are clustered by unit (country or contiguous dyad), and the cluster-robust
Wald test is justified by many clusters. What counts is not how many clusters there are but
how many carry the identifying variation: in the dyad panels 8 of 294 pairs have any
conflict-year, one of them (IND-PAK) most of them. The sandwich variance is then estimated
from a handful of large score contributions and the normal reference distribution is wrong
(Cameron, Gelbach & Miller 2008; MacKinnon & Webb 2017, 2018: with few treated clusters the
Wald test over-rejects badly). :func:`clusters_with_events` counts those clusters; below
:data:`FEW_CLUSTERS` the score bootstrap here is the primary test.

Score wild cluster bootstrap (Kline & Santos 2012)
    Parameters ``theta = (b, g)``: ``b`` the focal coefficient, ``g`` every nuisance parameter
    (other terms and fixed-effect dummies; the conditional logit conditions its first fixed
    effect out). To test ``H0: b = b0`` fit only the restricted model, with ``b0 * x`` as an
    offset, giving ``g~``. Let ``s_c = (s_cb, s_cg)`` be cluster ``c``'s score at
    ``(b0, g~)`` and ``H`` the Hessian there. The effective score of ``b`` in cluster ``c``,

        e_c = s_cb - H_bg H_gg^{-1} s_cg,

    is the focal score with the nuisance parameters partialled out (to first order, the
    score a re-estimation of ``g`` would leave). Since ``sum_c s_cg = 0`` at ``g~``,
    ``sum_c e_c = sum_c s_cb``. The statistic is the studentised score
    ``t = sum_c e_c / sqrt(sum_c e_c^2)`` (the cluster-robust score test; the variance is not
    centred because ``E e_c = 0`` under H0). A bootstrap draw multiplies each cluster's
    effective score by an independent weight ``v_c`` with mean 0 and variance 1,
    ``t* = sum_c v_c e_c / sqrt(sum_c v_c^2 e_c^2)`` (``v_c = 1`` for all ``c`` gives ``t``),
    and the p-value is the share of draws at least as extreme as ``t`` (``|t*| >= |t|``
    two-sided, ``t* >= t`` for "greater", ``t* <= t`` for "less"). Nothing is re-estimated per
    draw: the restricted fit and ``H`` are computed once, so a draw costs one product. For a
    logit or Poisson model (canonical links) ``e_c = sum_{i in c} x~_i (y_i - mu~_i)`` with
    ``x~`` the residual of ``x`` on the nuisance columns weighted by ``V(mu~)``; for the
    conditional logit ``s`` and ``H`` come from the exact conditional likelihood
    (``models.ConditionalLogitLikelihood``, with an offset for ``b0 * x``).

Weights (``weights="auto"``, with ``G`` clusters and ``E`` of them carrying events)
    Webb's six-point weights (``+-sqrt(1/2), +-1, +-sqrt(3/2)``, each 1/6; Webb 2023) when
    ``G <= 7`` or ``E < 12``, Rademacher signs otherwise. With few clusters, or when the
    statistic is a sum of a few large terms (the clusters with events; the others' scores
    are small), Rademacher signs leave only about ``2^E`` distinct values of ``t*`` and
    p-values that cannot fall below ``2^(1-E)`` (MacKinnon & Webb 2018); six points give
    ``6^E``. Every weight vector is enumerated when that is feasible (``6^G``, ``G <= 7``;
    ``2^G``, ``G <= 12``): the p-value is then exact, with no Monte Carlo error. Otherwise
    ``n_boot`` vectors are drawn, and the p-value has ``se = sqrt(p (1 - p) / B)``.

Confidence interval
    The set of ``b0`` the same bootstrap test does not reject at ``alpha``, with the same
    weight vectors for every ``b0`` (so p(b0) is a smooth function of ``b0`` up to the
    discreteness of the bootstrap). Each bound is bracketed outward from the estimate in
    steps of 1, 2, 4, ... cluster-robust standard errors (at most :data:`CI_MAX_SE`) and then
    bisected; a bound not reached within that range (or where the restricted model cannot
    be fitted) is returned as infinite, with the reason in ``ci_method``, never as a number
    made up at the edge of the search. A one-sided test gives a one-sided interval.

Size by simulation
    The null keeps every regressor, the focal predictor included, at its observed values and
    draws outcomes from the restricted model (``b = 0``): the logit's or Poisson's fitted
    means, and for the conditional logit the plug-in unit effects that make each unit's
    expected events equal its observed events given the restricted index. Events therefore
    fall where the model puts them on the real data (in the few clusters with conflict, since
    the lagged outcome dominates), which reproduces the concentration that breaks the Wald
    test. Dependence beyond the model enters through a Gaussian copula: each draw
    thresholds a latent AR(1) normal within the cluster (``rho`` per year), so the marginal
    law of every row is exactly the restricted model's and ``b = 0`` holds exactly for the
    logit and Poisson (the conditional logit's likelihood assumes independence within a
    unit, so with ``rho > 0`` the simulation also carries that misspecification, as the
    real data do if their residuals are dependent). ``rho`` is chosen on a grid so that the
    lag-1 within-cluster correlation of the Pearson residuals of the simulated outcomes
    matches the observed one (:func:`residual_autocorrelation`). Why not permute or rotate
    cluster histories: rotating within a cluster keeps each cluster's events and predictor
    level together, so a model without unit effects (the dyad logit) would not be under the
    null; permuting histories across clusters needs clusters observed in the same years,
    which most event clusters are not. Each simulated panel is tested with the
    cluster-robust Wald test (refitted, same small-sample factor as ``models``) and with the
    score bootstrap (``size_boot`` draws or enumeration), and the size is the rejection rate
    at ``alpha`` with its Monte Carlo s.e. ``sqrt(r (1 - r) / n)`` over the ``n`` panels
    where both tests could be computed. A panel whose model has no finite maximum (in the
    dyad logit the lagged outcome and the year effects often separate the few events) or
    does not converge is counted in ``n_failed`` and left out: no test would be reported
    on it. Cost: the logit and Poisson panels of a chunk are fitted together (vectorised
    Newton steps), a few hundredths of a second per panel; a conditional-logit panel needs
    two fits of the exact conditional likelihood (``models.ConditionalLogitLikelihood``,
    computed row by row), one to a few seconds with 35 year dummies, hence the small default
    :data:`DEFAULT_SIZE_SIMS` there (those designs have 68-80 clusters with events, where
    the Wald test is primary).
    Simulations run in chunks of :data:`SIZE_CHUNK`, chunk ``k`` seeded by
    ``inference.seed_from(f"{key}/size/{k}")`` and run through ``mapper`` (the built-in
    ``map``, or any object with a ``.map(fn, items)`` method), so the numbers do not depend
    on how chunks are spread over workers.

Leave one cluster out
    The model is refitted without each cluster that carries events, and without the case
    units (KGZ and TJK, or their dyad) whether or not they do (:func:`leave_one_cluster_out`).
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from .errors import ConfigError, ModelError
from .inference import seed_from
from .models import (
    BINARY_FAMILIES,
    ConditionalLogitLikelihood,
    CountModelSpec,
    Design,
    build_design,
)
from .results import check_sided

#: Fewer clusters with events than this: the score bootstrap is the primary test.
FEW_CLUSTERS = 50
#: Rademacher weights are enumerated (all 2^G sign vectors) up to this many clusters.
ENUMERATE_MAX = 12
#: Webb's weights are enumerated (all 6^G vectors) up to this many clusters.
WEBB_ENUMERATE_MAX = 7
#: Drawn weights are Webb's when fewer clusters than this carry events.
WEBB_BELOW = 12
WEIGHTS = ("auto", "rademacher", "webb")
_WEBB = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])
#: The case study's states: their units are always left out in the leave-one-out table.
CASE_STATES = ("KGZ", "TJK")
#: Simulated panels per chunk of the size simulation (the unit of seeding and of parallelism).
SIZE_CHUNK = 10
#: Default simulated panels per registered design: the dyad logit refits in a batch (cheap);
#: a conditional-logit refit with 35 year dummies takes about a second.
DEFAULT_SIZE_SIMS = {"logit": 300, "poisson": 200, "clogit": 10}
#: The CI search goes at most this many cluster-robust standard errors from the estimate.
CI_MAX_SE = 64.0
_CI_BISECTIONS = 10
_RHO_GRID = np.round(np.arange(0.0, 0.95, 0.1), 2)
_RHO_SIMS = 20
_TIE = 1e-9


# --------------------------------------------------------------------------- the problem


@dataclass(frozen=True, eq=False)
class _Problem:
    """A global fixed-effects design as arrays, with what the bootstrap and the simulation need.

    Logit and Poisson: ``X`` holds the terms and full dummies of the first fixed effect (no
    constant) and of every other fixed effect; ``fe_blocks`` says which columns belong to
    which fixed effect, so levels without information can be dropped per simulated panel.
    Conditional logit: ``X`` is the design's (terms and dummies), ``strata`` its groups.
    """

    family: str
    term: str
    y: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    j: int
    offset: np.ndarray
    clusters: np.ndarray
    labels: tuple[str, ...]
    periods: np.ndarray
    strata: np.ndarray | None
    fe_blocks: tuple[tuple[int, int], ...]

    @property
    def n_clusters(self) -> int:
        return len(self.labels)


def _check_spec(spec: CountModelSpec, term: str | None) -> str:
    if not spec.fixed_effects or spec.cov != "cluster":
        raise ConfigError(
            "few-cluster inference is for fixed-effects panels with cluster-robust errors "
            f"(fixed_effects and cov='cluster'); found fixed_effects={spec.fixed_effects}, "
            f"cov={spec.cov!r}"
        )
    term = term or spec.predictors[0]
    if term not in (*spec.predictors, *spec.controls):
        raise ConfigError(f"term {term!r} is not a term of the model {spec.predictors}")
    return term


def _problem(frame: pd.DataFrame, spec: CountModelSpec, term: str, time_column: str) -> _Problem:
    if time_column not in frame:
        raise ConfigError(
            f"time column {time_column!r} (to order each cluster) is not in the panel"
        )
    design = build_design(frame, spec)
    return _problem_from_design(design, frame, term, time_column)


def _problem_from_design(
    design: Design, frame: pd.DataFrame, term: str, time_column: str
) -> _Problem:
    spec = design.spec
    rows = frame.loc[design.X.index]
    codes, labels = pd.factorize(rows[spec.cluster])
    terms = [c for c in design.X.columns if c not in design.absorbed and c != "const"]
    if spec.family == "clogit":
        X = design.X.to_numpy(dtype=float)
        names, blocks = tuple(design.X.columns), ()
        _stratum_clusters(design.strata, codes)
    else:
        parts, blocks, start = [design.X[terms].to_numpy(dtype=float)], [], len(terms)
        names = list(terms)
        for fe in spec.fixed_effects:
            levels, values = pd.factorize(rows[fe].astype(str), sort=True)
            parts.append(np.eye(len(values))[levels])
            names += [f"{fe}={v}" for v in values]
            blocks.append((start, start + len(values)))
            start += len(values)
        X, names = np.hstack(parts), tuple(names)
    offset = np.zeros(design.nobs) if design.offset is None else np.asarray(design.offset)
    return _Problem(
        family=spec.family,
        term=term,
        y=np.asarray(design.y, dtype=float),
        X=X,
        names=names,
        j=names.index(term),
        offset=offset,
        clusters=codes,
        labels=tuple(str(v) for v in labels),
        periods=pd.to_numeric(rows[time_column]).to_numpy(dtype=float),
        strata=design.strata,
        fe_blocks=tuple(blocks),
    )


def _stratum_clusters(strata: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Cluster of each conditioning group; a group split over clusters has no cluster score."""
    first = np.zeros(strata.max() + 1, dtype=int)
    first[strata[::-1]] = clusters[::-1]
    if np.any(first[strata] != clusters):
        raise ModelError(
            "each group of the conditioned-out fixed effect must lie within one cluster "
            "(cluster by that fixed effect or by a coarser unit)"
        )
    return first


# --------------------------------------------------------------------------- events


def events_by_cluster(frame: pd.DataFrame, spec: CountModelSpec) -> pd.Series:
    """Events each cluster contributes to the estimation sample (0 for clusters without any).

    For the conditional logit only units with outcome variation stay in the sample (the
    others are dropped by the design), so every cluster left carries identifying variation.
    """
    _check_spec(spec, None)
    design = build_design(frame, spec)
    labels = frame.loc[design.X.index, spec.cluster].astype(str).to_numpy()
    return pd.Series(design.y, index=labels).groupby(level=0, sort=True).sum().rename("events")


def clusters_with_events(data: Design | pd.DataFrame, spec: CountModelSpec | None = None) -> int:
    """How many clusters carry identifying variation: a cluster with at least one event, or,
    for the conditional logit, one of whose groups has both outcomes.

    Pass a ``Design`` (from ``models.build_design``), or a panel frame and its spec.
    """
    if isinstance(data, pd.DataFrame):
        if spec is None:
            raise ConfigError("clusters_with_events(frame, spec): the spec is needed with a frame")
        design = build_design(data, spec)
    else:
        design = data
    if design.groups is None:
        raise ConfigError("the design has no clusters (cov='cluster' and a cluster column needed)")
    return _count_event_clusters(design.y, design.groups, design.strata)


def _count_event_clusters(y: np.ndarray, clusters: np.ndarray, strata: np.ndarray | None) -> int:
    if strata is not None:
        ones = np.bincount(strata, weights=y)
        varies = (ones > 0) & (ones < np.bincount(strata))
        return len(np.unique(clusters[varies[strata]]))
    return len(np.unique(clusters[y > 0]))


def _events_per_cluster(problem: _Problem) -> int:
    return _count_event_clusters(problem.y, problem.clusters, problem.strata)


# --------------------------------------------------------------------------- GLM fits


def _mean(family: str, eta: np.ndarray) -> np.ndarray:
    return special.expit(eta) if family == "logit" else np.exp(np.minimum(eta, 50.0))


def _variance(family: str, mu: np.ndarray) -> np.ndarray:
    return mu * (1 - mu) if family == "logit" else mu


def _loglik(family: str, Y: np.ndarray, eta: np.ndarray, keep: np.ndarray) -> np.ndarray:
    if family == "logit":
        terms = Y * eta - np.logaddexp(0.0, eta)
    else:
        terms = Y * eta - np.exp(np.minimum(eta, 50.0))
    return (keep * terms).sum(axis=1)


def _free_columns(fe_blocks: tuple, X: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Columns estimable in each panel (B x k): with a kept nonzero row, and not the baseline
    (first kept level) of a fixed effect after the first, whose dummies are all included."""
    free = (keep.astype(float) @ (X != 0)) > 0
    for start, stop in fe_blocks[1:]:
        block = free[:, start:stop]
        baseline = np.argmax(block, axis=1)
        block[np.arange(len(block)), baseline] = False
    return free


def _glm_fit(
    family: str,
    fe_blocks: tuple,
    X: np.ndarray,
    Y: np.ndarray,
    offset: np.ndarray,
    keep: np.ndarray,
    start: np.ndarray,
    max_iter: int = 25,
    tol: float = 1e-9,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Maximum likelihood of a logit or Poisson model for many outcome vectors at once.

    Newton's method (= IRLS for canonical links), each step halved while the likelihood
    falls. ``Y``, ``offset``, ``keep`` are panels x rows; rows not kept carry no weight and
    columns without kept rows are held at zero. Returns parameters, means, a convergence
    flag per panel (a separated panel does not converge) and the free columns.
    """
    free = _free_columns(fe_blocks, X, keep)
    params = np.where(free, start, 0.0)
    eta = params @ X.T + offset
    llf = _loglik(family, Y, eta, keep)
    converged = np.zeros(len(Y), dtype=bool)
    active = np.ones(len(Y), dtype=bool)  # neither converged nor broken down
    for _ in range(max_iter):
        at = np.flatnonzero(active)
        if not len(at):
            break
        mu = _mean(family, eta[at])
        weight = keep[at] * _variance(family, mu)
        hessian = (X.T[None] * weight[:, None, :]) @ X
        hessian += (~free[at])[:, :, None] * np.eye(X.shape[1])[None]
        gradient = ((keep[at] * (Y[at] - mu)) @ X) * free[at]
        step = np.zeros_like(gradient)
        for i in range(len(at)):
            try:
                step[i] = np.linalg.solve(hessian[i], gradient[i])
            except np.linalg.LinAlgError:
                active[at[i]] = False
        scale = np.ones(len(at))
        for _ in range(40):
            new = params[at] + scale[:, None] * step
            new_eta = new @ X.T + offset[at]
            new_llf = _loglik(family, Y[at], new_eta, keep[at])
            worse = new_llf < llf[at] - 1e-12 * np.abs(llf[at])
            if not worse.any():
                break
            scale = np.where(worse, scale / 2, scale)
        params[at], eta[at], llf[at] = new, new_eta, new_llf
        done = np.max(np.abs(scale[:, None] * step), axis=1) < tol
        converged[at[done]] = active[at[done]]
        active[at[done]] = False
    return params, _mean(family, eta), converged, free


# --------------------------------------------------------------------------- scores and Wald


@dataclass(frozen=True, eq=False)
class _Restricted:
    """The restricted fit at ``b0`` and the effective focal score of each cluster."""

    b0: float
    nuisance: np.ndarray  # restricted estimates of the nuisance parameters
    scores: np.ndarray  # effective focal score per cluster (zero for clusters left out)
    converged: bool


def _solve_effective(hessian: np.ndarray, scores: np.ndarray, j: int, free: np.ndarray):
    """Effective focal score per cluster: s_b - H_bg H_gg^-1 s_g (over free nuisance columns)."""
    others = np.flatnonzero(free & (np.arange(len(free)) != j))
    h_gg = hessian[np.ix_(others, others)]
    h_bg = hessian[j, others]
    return scores[:, j] - scores[:, others] @ np.linalg.solve(h_gg, h_bg)


def _restricted_glm(
    problem: _Problem, Y: np.ndarray, keep: np.ndarray, b0: float, start: np.ndarray | None
) -> list[_Restricted]:
    """Restricted fits of many outcome vectors (rows of Y) and their effective cluster scores."""
    x = problem.X[:, problem.j]
    Z = np.delete(problem.X, problem.j, axis=1)
    offset = problem.offset + b0 * x
    begin = np.zeros((len(Y), Z.shape[1])) if start is None else start
    blocks = tuple((a - 1, b - 1) for a, b in problem.fe_blocks)  # terms, the focal one
    params, mu, converged, free = _glm_fit(  # included, precede the fixed effects
        problem.family, blocks, Z, Y, np.broadcast_to(offset, Y.shape), keep, begin
    )
    out = []
    for b in range(len(Y)):
        weight = keep[b] * _variance(problem.family, mu[b])
        zf = Z[:, free[b]]
        zw = zf.T * weight
        try:
            x_tilde = x - zf @ np.linalg.solve(zw @ zf, zw @ x)
        except np.linalg.LinAlgError:  # a separated panel: no finite restricted estimate
            out.append(_Restricted(b0, params[b], np.full(problem.n_clusters, np.nan), False))
            continue
        contribution = keep[b] * x_tilde * (Y[b] - mu[b])
        scores = np.bincount(problem.clusters, weights=contribution, minlength=problem.n_clusters)
        out.append(_Restricted(b0, params[b], scores, bool(converged[b])))
    return out


def _restricted_clogit(
    problem: _Problem, y: np.ndarray, b0: float, start: np.ndarray | None
) -> _Restricted:
    x = problem.X[:, problem.j]
    Z = np.delete(problem.X, problem.j, axis=1)
    model = ConditionalLogitLikelihood(y, Z, problem.strata, offset=b0 * x)
    nuisance, converged, _ = model.maximise(start=start)
    theta = np.insert(nuisance, problem.j, b0)
    _, group_scores, hessian = ConditionalLogitLikelihood(y, problem.X, problem.strata).evaluate(
        theta
    )
    effective = _solve_effective(hessian, group_scores, problem.j, np.ones(len(theta), bool))
    owner = _stratum_clusters(problem.strata, problem.clusters)
    scores = np.bincount(owner, weights=effective, minlength=problem.n_clusters)
    return _Restricted(b0, nuisance, scores, bool(converged))


def _restricted(problem: _Problem, b0: float, start: np.ndarray | None = None) -> _Restricted:
    if problem.family == "clogit":
        return _restricted_clogit(problem, problem.y, b0, start)
    keep = np.ones((1, len(problem.y)), dtype=bool)
    return _restricted_glm(problem, problem.y[None], keep, b0, start)[0]


@dataclass(frozen=True)
class _Wald:
    estimate: float
    std_error: float
    converged: bool
    params: np.ndarray = field(repr=False)

    @property
    def z(self) -> float:
        return self.estimate / self.std_error


def _sandwich(hessian, cluster_scores, g: int, n: int, k: int) -> np.ndarray:
    """Cluster-robust covariance with the models module's factor G/(G-1) (N-1)/(N-K)."""
    bread = np.linalg.inv(-hessian)
    meat = cluster_scores.T @ cluster_scores
    return bread @ meat @ bread * (g / (g - 1)) * ((n - 1) / (n - k))


def _wald_glm(problem: _Problem, Y: np.ndarray, keep: np.ndarray, start: np.ndarray) -> list[_Wald]:
    params, mu, converged, free = _glm_fit(
        problem.family,
        problem.fe_blocks,
        problem.X,
        Y,
        np.broadcast_to(problem.offset, Y.shape),
        keep,
        start,
    )
    out = []
    for b in range(len(Y)):
        cols = np.flatnonzero(free[b])
        Xf = problem.X[:, cols]
        weight = keep[b] * _variance(problem.family, mu[b])
        hessian = -(Xf.T * weight) @ Xf
        row_scores = Xf * (keep[b] * (Y[b] - mu[b]))[:, None]
        cluster_scores = np.zeros((problem.n_clusters, len(cols)))
        np.add.at(cluster_scores, problem.clusters, row_scores)
        j = int(np.flatnonzero(cols == problem.j)[0])
        try:
            g = len(np.unique(problem.clusters[keep[b]]))
            cov = _sandwich(hessian, cluster_scores, g, int(keep[b].sum()), len(cols))
            se = math.sqrt(cov[j, j])
        except (np.linalg.LinAlgError, ValueError):
            se = math.nan
        ok = bool(converged[b]) and math.isfinite(se) and se > 0
        out.append(_Wald(float(params[b, problem.j]), se, ok, params[b]))
    return out


def _wald_clogit(problem: _Problem, y: np.ndarray, start: np.ndarray | None) -> _Wald:
    model = ConditionalLogitLikelihood(y, problem.X, problem.strata)
    params, converged, _ = model.maximise(start=start)
    _, group_scores, hessian = model.evaluate(params)
    owner = _stratum_clusters(problem.strata, problem.clusters)
    cluster_scores = np.zeros((problem.n_clusters, len(params)))
    np.add.at(cluster_scores, owner, group_scores)
    ones = np.bincount(problem.strata, weights=y)
    informative = ((ones > 0) & (ones < np.bincount(problem.strata)))[problem.strata]
    try:
        g = len(np.unique(owner[problem.strata[informative]]))
        cov = _sandwich(hessian, cluster_scores, g, int(informative.sum()), len(params))
        se = math.sqrt(cov[problem.j, problem.j])
    except (np.linalg.LinAlgError, ValueError):
        se = math.nan
    ok = converged and math.isfinite(se) and se > 0
    return _Wald(float(params[problem.j]), se, ok, params)


def _wald(problem: _Problem, start: dict[str, float] | None = None) -> _Wald:
    """The unrestricted fit and cluster-robust Wald statistic of the focal term; ``start``
    maps parameter names to start values (e.g. the full sample's estimates)."""
    begin = np.array([(start or {}).get(name, 0.0) for name in problem.names])
    if problem.family == "clogit":
        return _wald_clogit(problem, problem.y, begin)
    keep = np.ones((1, len(problem.y)), dtype=bool)
    return _wald_glm(problem, problem.y[None], keep, begin[None])[0]


def _wald_p(z: float, sided: str) -> float:
    if not math.isfinite(z):
        return math.nan
    if sided == "greater":
        return float(stats.norm.sf(z))
    if sided == "less":
        return float(stats.norm.cdf(z))
    return float(2 * stats.norm.sf(abs(z)))


# --------------------------------------------------------------------------- bootstrap


@dataclass(frozen=True, eq=False)
class _Weights:
    """Bootstrap weight vectors (vectors x clusters) and how they were made."""

    kind: str
    enumerated: bool
    matrix: np.ndarray

    @functools.cached_property
    def squared(self) -> np.ndarray:
        """The squared weights, computed once for every b0 of an interval search."""
        return self.matrix**2


def _choose_weights(
    weights: str, n_clusters: int, with_events: int, n_boot: int, seed: int
) -> _Weights:
    if weights not in WEIGHTS:
        raise ConfigError(f"weights must be one of {WEIGHTS}; found {weights!r}")
    if n_boot < 1:
        raise ConfigError(f"n_boot must be >= 1; found {n_boot}")
    if weights == "auto":
        few = n_clusters <= WEBB_ENUMERATE_MAX or with_events < WEBB_BELOW
        weights = "webb" if few else "rademacher"
    enumerate_all = n_clusters <= (WEBB_ENUMERATE_MAX if weights == "webb" else ENUMERATE_MAX)
    points = _points(weights)
    if enumerate_all:
        return _Weights(weights, True, _every_vector(weights, n_clusters))
    rng = np.random.default_rng(seed)
    return _Weights(weights, False, points[rng.integers(len(points), size=(n_boot, n_clusters))])


def _points(weights: str) -> np.ndarray:
    return _WEBB if weights == "webb" else np.array([-1.0, 1.0])


@functools.lru_cache(maxsize=16)
def _every_vector(weights: str, g: int) -> np.ndarray:
    """All 6^g (Webb) or 2^g (Rademacher) weight vectors, read-only (shared between calls)."""
    points = _points(weights)
    index = np.indices((len(points),) * g).reshape(g, -1).T
    matrix = points[index]
    matrix.setflags(write=False)
    return matrix


def _studentised(scores: np.ndarray) -> float:
    norm = math.sqrt(float(scores @ scores))
    return float(scores.sum() / norm) if norm > 0 else math.nan


def _bootstrap_p(scores: np.ndarray, weights: _Weights, sided: str) -> tuple[float, float]:
    """Bootstrap p-value of the studentised effective score, and the draws' statistic."""
    observed = _studentised(scores)
    if not math.isfinite(observed):
        return math.nan, observed
    with np.errstate(invalid="ignore", divide="ignore"):
        draws = (weights.matrix @ scores) / np.sqrt(weights.squared @ scores**2)
    tie = _TIE * max(1.0, abs(observed))
    if sided == "greater":
        extreme = draws >= observed - tie
    elif sided == "less":
        extreme = draws <= observed + tie
    else:
        extreme = np.abs(draws) >= abs(observed) - tie
    return float(np.mean(extreme)), observed


def _mc_se(p: float, n: int, enumerated: bool) -> float:
    return 0.0 if enumerated else math.sqrt(p * (1 - p) / n)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class SizeResult:
    """Empirical size at ``alpha`` of the cluster-robust Wald test and of the score bootstrap
    on panels simulated under the null (see the module docstring), with Monte Carlo s.e."""

    n_sim: int
    n_failed: int
    alpha: float
    rho: float
    residual_autocorrelation: float
    wald_size: float
    wald_size_mc_se: float
    bootstrap_size: float
    bootstrap_size_mc_se: float
    n_boot: int
    chunk_size: int
    seed_key: str
    seconds: float = field(compare=False)
    null: str = "restricted model (focal term 0), observed regressors, AR(1) Gaussian copula"


@dataclass(frozen=True)
class ClusterBootstrapResult:
    """Score wild cluster bootstrap test of ``term = b0``, its inverted CI and its size."""

    term: str
    family: str
    sided: str
    alpha: float
    b0: float
    estimate: float
    std_error: float
    wald_p: float
    statistic: float
    p_value: float
    p_mc_se: float
    n_boot: int | None  # None: every weight vector was enumerated
    n_vectors: int
    weights: str
    n_clusters: int
    clusters_with_events: int
    ci_low: float
    ci_high: float
    ci_method: str
    ci_evaluations: int
    seed: int
    converged: bool
    size: SizeResult | None = None

    @property
    def few_clusters(self) -> bool:
        """Fewer than FEW_CLUSTERS clusters carry events: this test, not the Wald, is primary."""
        return self.clusters_with_events < FEW_CLUSTERS

    @property
    def enumerated(self) -> bool:
        return self.n_boot is None

    def to_row(self) -> dict[str, Any]:
        """One flat row for a results table."""
        row = {k: v for k, v in self.__dict__.items() if k != "size" and not isinstance(v, tuple)}
        row["few_clusters"] = self.few_clusters
        if self.size is not None:
            for name in ("wald_size", "wald_size_mc_se", "bootstrap_size", "bootstrap_size_mc_se"):
                row[name] = getattr(self.size, name)
            row["n_size_sims"] = self.size.n_sim - self.size.n_failed
            row["size_rho"] = self.size.rho
        return row


LOO_COLUMNS = (
    "dropped",
    "case",
    "events",
    "estimate",
    "std_error",
    "ratio",
    "ratio_low",
    "ratio_high",
    "p_wald",
    "p_bootstrap",
    "p_bootstrap_mc_se",
    "nobs",
    "clusters",
    "clusters_with_events",
    "converged",
    "note",
)


@dataclass(frozen=True, eq=False)
class LeaveOneClusterOut:
    """The model refitted without each cluster carrying events and without the case units;
    the first row ("none") is the full sample. ``ratio`` is the odds ratio (logit models) or
    the IRR (Poisson) per unit of the term, with its cluster-robust CI."""

    term: str
    family: str
    table: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def extremes(self) -> pd.DataFrame:
        """The rows with the smallest and largest estimate and the case rows."""
        table = self.table[self.table["dropped"] != "none"]
        fitted = table.dropna(subset=["estimate"])
        picks = [fitted["estimate"].idxmin(), fitted["estimate"].idxmax()] if len(fitted) else []
        picks += list(table.index[table["case"]])
        return self.table.loc[list(dict.fromkeys(picks))].copy()


# --------------------------------------------------------------------------- the test


def _ci_bound(
    pvalue, estimate: float, se: float, direction: float, alpha: float
) -> tuple[float, str]:
    """Outermost b0 not rejected, going from the estimate in ``direction``; inf if none found."""
    inside, step = estimate, se
    while step <= CI_MAX_SE * se:
        candidate = estimate + direction * step
        p = pvalue(candidate)
        if p is None:
            return direction * math.inf, f"restricted model did not converge at b0={candidate:.4g}"
        if p < alpha:
            outside = candidate
            for _ in range(_CI_BISECTIONS):
                middle = (inside + outside) / 2
                p = pvalue(middle)
                if p is not None and p >= alpha:
                    inside = middle
                else:
                    outside = middle
            return (inside + outside) / 2, ""
        inside, step = candidate, step * 2
    return direction * math.inf, f"not rejected within {CI_MAX_SE:g} standard errors"


def score_bootstrap(
    frame: pd.DataFrame,
    spec: CountModelSpec,
    term: str | None = None,
    *,
    key: str,
    b0: float = 0.0,
    sided: str = "two-sided",
    alpha: float = 0.05,
    n_boot: int = 9999,
    weights: str = "auto",
    ci: bool = True,
    size: bool = True,
    n_size: int | None = None,
    size_boot: int = 399,
    mapper: Any = map,
    time_column: str = "year",
) -> ClusterBootstrapResult:
    """Score wild cluster bootstrap test of ``H0: term = b0`` for a global FE panel model.

    ``key`` (e.g. the hypothesis id) seeds the weights (``seed_from(f"{key}/score-bootstrap")``)
    and the size simulation. ``ci`` adds the interval from inverting this test at ``alpha``;
    ``size`` adds :func:`size_by_simulation` with ``n_size`` panels (default by family,
    :data:`DEFAULT_SIZE_SIMS`).
    """
    check_sided(sided)
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be in (0, 1); found {alpha!r}")
    term = _check_spec(spec, term)
    problem = _problem(frame, spec, term, time_column)
    wald = _wald(problem)
    if not wald.converged:
        raise ModelError(f"the {problem.family} model of {term!r} did not converge")
    with_events = _events_per_cluster(problem)
    seed = seed_from(f"{key}/score-bootstrap")
    draws = _choose_weights(weights, problem.n_clusters, with_events, n_boot, seed)
    restricted = _restricted(problem, b0)
    p_value, statistic = _bootstrap_p(restricted.scores, draws, sided)

    starts: dict[float, np.ndarray] = {b0: restricted.nuisance}
    evaluations = []

    def pvalue_at(value: float) -> float | None:
        nearest = min(starts, key=lambda b: abs(b - value))
        fit = _restricted(problem, value, starts[nearest])
        evaluations.append(value)
        if not fit.converged:
            return None
        starts[value] = fit.nuisance
        return _bootstrap_p(fit.scores, draws, sided)[0]

    low, high, notes = -math.inf, math.inf, []
    if ci:
        if sided in ("two-sided", "greater"):
            low, why = _ci_bound(pvalue_at, wald.estimate, wald.std_error, -1.0, alpha)
            notes += [f"lower bound open: {why}"] if why else []
        if sided in ("two-sided", "less"):
            high, why = _ci_bound(pvalue_at, wald.estimate, wald.std_error, 1.0, alpha)
            notes += [f"upper bound open: {why}"] if why else []
        if sided != "two-sided":
            notes.append(f"one-sided ({sided}) test: one-sided interval")
    method = (
        f"inversion of the score bootstrap test at level {alpha:g} (same weight vectors for "
        "every b0; bracketing then bisection)"
        if ci
        else "not computed"
    )
    size_result = None
    if size:
        size_result = size_by_simulation(
            frame,
            spec,
            term,
            key=key,
            n_sim=n_size,
            n_boot=size_boot,
            alpha=alpha,
            sided=sided,
            weights=weights,
            mapper=mapper,
            time_column=time_column,
        )
    return ClusterBootstrapResult(
        term=term,
        family=problem.family,
        sided=sided,
        alpha=alpha,
        b0=b0,
        estimate=wald.estimate,
        std_error=wald.std_error,
        wald_p=_wald_p(wald.z, sided),
        statistic=statistic,
        p_value=p_value,
        p_mc_se=_mc_se(p_value, len(draws.matrix), draws.enumerated),
        n_boot=None if draws.enumerated else len(draws.matrix),
        n_vectors=len(draws.matrix),
        weights=draws.kind,
        n_clusters=problem.n_clusters,
        clusters_with_events=with_events,
        ci_low=low,
        ci_high=high,
        ci_method="; ".join([method, *notes]),
        ci_evaluations=len(evaluations),
        seed=seed,
        converged=restricted.converged,
        size=size_result,
    )


# --------------------------------------------------------------------------- size


def residual_autocorrelation(
    residuals: np.ndarray, clusters: np.ndarray, periods: np.ndarray
) -> np.ndarray:
    """Lag-1 correlation of residuals within clusters over consecutive periods (last axis =
    rows; leading axes are panels): ``sum r_t r_(t-1) / sqrt(sum r_t^2 sum r_(t-1)^2)``."""
    order = np.lexsort((periods, clusters))
    c, t = clusters[order], periods[order]
    pair = (c[1:] == c[:-1]) & (t[1:] - t[:-1] == 1)
    r = np.asarray(residuals)[..., order]
    now, before = r[..., 1:][..., pair], r[..., :-1][..., pair]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (now * before).sum(-1) / np.sqrt((now**2).sum(-1) * (before**2).sum(-1))


def _latent(
    rng: np.random.Generator, n: int, clusters: np.ndarray, periods: np.ndarray, rho: float
) -> np.ndarray:
    """Standard normal draws (n x rows), AR(1) within each cluster with ``rho`` per period."""
    order = np.lexsort((periods, clusters))
    c, t = clusters[order], periods[order]
    same = np.r_[False, c[1:] == c[:-1]]
    gap = np.r_[0.0, t[1:] - t[:-1]]
    carry = np.where(same, rho ** np.where(same, gap, 1.0), 0.0)
    noise = rng.standard_normal((n, len(order)))
    firsts = np.flatnonzero(~same)
    rank = np.arange(len(order)) - firsts[np.cumsum(~same) - 1]
    latent = noise * np.sqrt(1 - carry**2)
    for level in range(1, rank.max() + 1):
        at = np.flatnonzero(rank == level)
        latent[:, at] += carry[at] * latent[:, at - 1]
    out = np.empty_like(latent)
    out[:, order] = latent
    return out


def _null_means(problem: _Problem, restricted: _Restricted) -> np.ndarray:
    """Each row's mean under the restricted model (b = 0) fitted to the real data.

    The conditional logit has no unit effects; they are plugged in so that each unit's
    expected events equal its observed events given the restricted index (the unconditional
    logit's first-order condition for the unit intercept)."""
    Z = np.delete(problem.X, problem.j, axis=1)
    eta = Z @ restricted.nuisance + problem.offset
    if problem.family != "clogit":
        return _mean(problem.family, eta)
    strata = problem.strata
    target = np.bincount(strata, weights=problem.y)
    alpha = special.logit(target / np.bincount(strata)) - np.bincount(strata, weights=eta) / (
        np.bincount(strata)
    )
    for _ in range(100):
        p = special.expit(alpha[strata] + eta)
        gap = np.bincount(strata, weights=p) - target
        slope = np.bincount(strata, weights=p * (1 - p))
        step = np.clip(gap / slope, -5, 5)
        alpha -= step
        if np.max(np.abs(step)) < 1e-12:
            break
    return special.expit(alpha[strata] + eta)


def _pearson(problem: _Problem, Y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    variance = mu if problem.family == "poisson" else mu * (1 - mu)
    return (Y - mu) / np.sqrt(variance)


def _draw_outcomes(problem: _Problem, latent: np.ndarray, mu: np.ndarray) -> np.ndarray:
    if problem.family == "poisson":
        return stats.poisson.ppf(stats.norm.cdf(latent), mu)
    return (latent > stats.norm.isf(mu)).astype(float)


def _informative(problem: _Problem, Y: np.ndarray) -> np.ndarray:
    """Rows kept per simulated panel: fixed-effect levels with outcome variation, found by
    repeated passes as ``models`` does for the real panel (logit and Poisson)."""
    keep = np.ones(Y.shape, dtype=bool)
    binary = problem.family in BINARY_FAMILIES
    while True:
        before = keep.sum()
        for start, stop in problem.fe_blocks:
            dummies = problem.X[:, start:stop]
            rows = keep.astype(float) @ dummies
            events = (keep * Y) @ dummies
            bad = (events == 0) | (binary & (events == rows))
            keep &= ~((bad.astype(float) @ dummies.T) > 0)
        if keep.sum() == before:
            return keep


@dataclass(frozen=True, eq=False)
class _SizeTask:
    problem: _Problem
    mu: np.ndarray
    rho: float
    n: int
    seed: int
    n_boot: int
    weights: str
    sided: str
    alpha: float
    start: np.ndarray


def _size_chunk(task: _SizeTask) -> np.ndarray:
    """Wald p, bootstrap p (NaN if the panel failed) for each panel of one chunk (n x 2)."""
    problem = task.problem
    rng = np.random.default_rng(task.seed)
    latent = _latent(rng, task.n, problem.clusters, problem.periods, task.rho)
    Y = _draw_outcomes(problem, latent, task.mu)
    out = np.full((task.n, 2), math.nan)
    boot_seed = int(rng.integers(2**63))
    if problem.family == "clogit":
        for b in range(task.n):
            out[b] = _clogit_panel_pvalues(task, Y[b], boot_seed + b)
        return out
    keep = _informative(problem, Y)
    start = np.broadcast_to(task.start, (task.n, len(task.start)))
    walds = _wald_glm(problem, Y, keep, start)
    restricted = _restricted_glm(problem, Y, keep, 0.0, np.delete(task.start, problem.j))
    for b in range(task.n):
        if not (walds[b].converged and restricted[b].converged):
            continue
        present = np.bincount(problem.clusters, weights=keep[b], minlength=problem.n_clusters) > 0
        events = len(np.unique(problem.clusters[keep[b] & (Y[b] > 0)]))
        scores = restricted[b].scores[present]
        draws = _choose_weights(task.weights, len(scores), events, task.n_boot, boot_seed + b)
        out[b] = _wald_p(walds[b].z, task.sided), _bootstrap_p(scores, draws, task.sided)[0]
    return out


def _clogit_panel_pvalues(task: _SizeTask, y: np.ndarray, seed: int) -> tuple[float, float]:
    problem = task.problem
    ones = np.bincount(problem.strata, weights=y)
    varies = ((ones > 0) & (ones < np.bincount(problem.strata)))[problem.strata]
    if varies.sum() < 2:
        return math.nan, math.nan
    rows = np.flatnonzero(varies)
    clusters, labels = pd.factorize(problem.clusters[rows])
    panel = _Problem(
        **{
            **problem.__dict__,
            "y": y[rows],
            "X": problem.X[rows],
            "offset": problem.offset[rows],
            "clusters": clusters,
            "labels": tuple(str(v) for v in labels),
            "periods": problem.periods[rows],
            "strata": pd.factorize(problem.strata[rows])[0],
        }
    )
    restricted = _restricted_clogit(panel, panel.y, 0.0, np.delete(task.start, problem.j))
    wald = _wald_clogit(panel, panel.y, task.start)
    if not (restricted.converged and wald.converged):
        return math.nan, math.nan
    draws = _choose_weights(task.weights, panel.n_clusters, panel.n_clusters, task.n_boot, seed)
    return _wald_p(wald.z, task.sided), _bootstrap_p(restricted.scores, draws, task.sided)[0]


def _run(mapper: Any, fn, items: list) -> list:
    """Apply ``fn`` to every item with an executor's ``.map`` or a map-like callable."""
    apply = mapper.map if hasattr(mapper, "map") else mapper
    return list(apply(fn, items))


def _calibrate_rho(problem: _Problem, mu: np.ndarray, key: str) -> tuple[float, float]:
    """The copula's rho whose simulated lag-1 residual correlation is closest to the data's."""
    observed = float(
        residual_autocorrelation(
            _pearson(problem, problem.y, mu), problem.clusters, problem.periods
        )
    )
    if not math.isfinite(observed) or observed <= 0:
        return 0.0, observed
    gaps = []
    for rho in _RHO_GRID:  # the same normals for every rho (common random numbers)
        rng = np.random.default_rng(seed_from(f"{key}/size-rho"))
        latent = _latent(rng, _RHO_SIMS, problem.clusters, problem.periods, rho)
        residuals = _pearson(problem, _draw_outcomes(problem, latent, mu), mu)
        simulated = residual_autocorrelation(residuals, problem.clusters, problem.periods)
        gaps.append(abs(float(np.nanmean(simulated)) - observed))
    return float(_RHO_GRID[int(np.argmin(gaps))]), observed


def size_by_simulation(
    frame: pd.DataFrame,
    spec: CountModelSpec,
    term: str | None = None,
    *,
    key: str,
    n_sim: int | None = None,
    n_boot: int = 399,
    alpha: float = 0.05,
    sided: str = "two-sided",
    weights: str = "auto",
    rho: float | None = None,
    chunk_size: int = SIZE_CHUNK,
    mapper: Any = map,
    time_column: str = "year",
) -> SizeResult:
    """Rejection rates at ``alpha`` of the cluster-robust Wald test and the score bootstrap on
    ``n_sim`` panels simulated under ``term = 0`` (module docstring: the null and its
    dependence). ``rho`` None: calibrated to the data's residual autocorrelation."""
    check_sided(sided)
    term = _check_spec(spec, term)
    n_sim = DEFAULT_SIZE_SIMS[spec.family] if n_sim is None else n_sim
    if n_sim < 1 or chunk_size < 1:
        raise ConfigError(f"n_sim and chunk_size must be >= 1; found {n_sim}, {chunk_size}")
    began = time.perf_counter()
    problem = _problem(frame, spec, term, time_column)
    wald = _wald(problem)
    restricted = _restricted(problem, 0.0)
    if not (wald.converged and restricted.converged):
        raise ModelError(f"the model of {term!r} or its restricted form did not converge")
    mu = _null_means(problem, restricted)
    observed_rho = float(
        residual_autocorrelation(
            _pearson(problem, problem.y, mu), problem.clusters, problem.periods
        )
    )
    if rho is None:
        rho, observed_rho = _calibrate_rho(problem, mu, key)
    elif not 0 <= rho < 1:
        raise ConfigError(f"rho must be in [0, 1); found {rho!r}")
    start = np.insert(restricted.nuisance, problem.j, 0.0)
    tasks = [
        _SizeTask(
            problem,
            mu,
            rho,
            min(chunk_size, n_sim - first),
            seed_from(f"{key}/size/{chunk}"),
            n_boot,
            weights,
            sided,
            alpha,
            start,
        )
        for chunk, first in enumerate(range(0, n_sim, chunk_size))
    ]
    pvalues = np.vstack(_run(mapper, _size_chunk, tasks))
    ok = np.all(np.isfinite(pvalues), axis=1)
    n_ok = int(ok.sum())
    rates = (pvalues[ok] < alpha).mean(axis=0) if n_ok else np.array([math.nan, math.nan])
    se = np.sqrt(rates * (1 - rates) / max(n_ok, 1))
    return SizeResult(
        n_sim=n_sim,
        n_failed=n_sim - n_ok,
        alpha=alpha,
        rho=float(rho),
        residual_autocorrelation=observed_rho,
        wald_size=float(rates[0]),
        wald_size_mc_se=float(se[0]),
        bootstrap_size=float(rates[1]),
        bootstrap_size_mc_se=float(se[1]),
        n_boot=n_boot,
        chunk_size=chunk_size,
        seed_key=f"{key}/size",
        seconds=time.perf_counter() - began,
    )


# --------------------------------------------------------------------------- leave one out


def _is_case(label: str, case_states: tuple[str, ...]) -> bool:
    """A country among the case states, or a dyad of two of them (either order)."""
    return set(label.split("-")) <= set(case_states)


def leave_one_cluster_out(
    frame: pd.DataFrame,
    spec: CountModelSpec,
    term: str | None = None,
    *,
    key: str,
    case_states: tuple[str, ...] = CASE_STATES,
    bootstrap: bool = True,
    n_boot: int = 9999,
    weights: str = "auto",
    sided: str = "two-sided",
    mapper: Any = map,
    time_column: str = "year",
) -> LeaveOneClusterOut:
    """Refit without each cluster that carries events, and without every case unit.

    A refit that the data no longer support (e.g. no events left) gives a row with NaN
    estimates and the reason in ``note``. With ``bootstrap`` each row also gets the score
    bootstrap p of ``term = 0`` (seeded ``f"{key}/loo/{cluster}"``; the full-sample row with the
    main test's seed, so it repeats :func:`score_bootstrap`'s p).
    """
    check_sided(sided)
    term = _check_spec(spec, term)
    events = events_by_cluster(frame, spec)
    whole = _problem(frame, spec, term, time_column)
    full = _wald(whole)
    labels = frame[spec.cluster].astype(str)
    case = sorted({u for u in labels.unique() if _is_case(u, case_states)})
    dropped = ["none", *dict.fromkeys([*events.index[events > 0], *case])]
    refit = _Refit(
        frame=frame,
        spec=spec,
        term=term,
        key=key,
        case_states=case_states,
        bootstrap=bootstrap,
        n_boot=n_boot,
        weights=weights,
        sided=sided,
        time_column=time_column,
        events=events,
        start=dict(zip(whole.names, full.params)),
    )
    table = pd.DataFrame(_run(mapper, refit, dropped), columns=list(LOO_COLUMNS))
    return LeaveOneClusterOut(term=term, family=spec.family, table=table)


def _loo_seed(key: str, dropped: str) -> int:
    """The full-sample row reuses the main test's weights, so its p is the test's p."""
    return seed_from(f"{key}/score-bootstrap" if dropped == "none" else f"{key}/loo/{dropped}")


@dataclass(frozen=True, eq=False)
class _Refit:
    """One leave-one-cluster-out refit per call (a picklable callable for executors)."""

    frame: pd.DataFrame
    spec: CountModelSpec
    term: str
    key: str
    case_states: tuple[str, ...]
    bootstrap: bool
    n_boot: int
    weights: str
    sided: str
    time_column: str
    events: pd.Series
    start: dict[str, float]

    def __call__(self, dropped: str) -> dict[str, Any]:
        spec = self.spec
        if dropped == "none":
            subset, events, note = self.frame, self.events.sum(), "full sample"
        else:
            subset = self.frame[self.frame[spec.cluster].astype(str) != dropped]
            events = self.events.get(dropped, 0)
            note = "" if dropped in self.events.index else "not in the estimation sample"
        row: dict[str, Any] = {
            "dropped": dropped,
            "case": dropped != "none" and _is_case(dropped, self.case_states),
            "events": float(events),
            "note": note,
        }
        try:
            problem = _problem(subset, spec, self.term, self.time_column)
            wald = _wald(problem, self.start)
        except ModelError as exc:
            row.update(converged=False, note="; ".join(filter(None, [note, str(exc)])))
            return {c: row.get(c, math.nan) for c in LOO_COLUMNS}
        crit = stats.norm.ppf(1 - spec.alpha / 2)
        row.update(
            estimate=wald.estimate,
            std_error=wald.std_error,
            ratio=math.exp(wald.estimate),
            ratio_low=math.exp(wald.estimate - crit * wald.std_error),
            ratio_high=math.exp(wald.estimate + crit * wald.std_error),
            p_wald=_wald_p(wald.z, self.sided),
            nobs=len(problem.y),
            clusters=problem.n_clusters,
            clusters_with_events=_events_per_cluster(problem),
            converged=wald.converged,
        )
        if self.bootstrap:
            restricted = _restricted(problem, 0.0)
            draws = _choose_weights(
                self.weights,
                problem.n_clusters,
                row["clusters_with_events"],
                self.n_boot,
                _loo_seed(self.key, dropped),
            )
            p, _ = _bootstrap_p(restricted.scores, draws, self.sided)
            row.update(
                p_bootstrap=p, p_bootstrap_mc_se=_mc_se(p, len(draws.matrix), draws.enumerated)
            )
        return {c: row.get(c, math.nan) for c in LOO_COLUMNS}
