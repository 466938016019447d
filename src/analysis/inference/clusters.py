"""Inference for global fixed-effects panels when few clusters carry the events.

The global panels are clustered by unit (country or contiguous dyad), and the cluster-robust
Wald test is justified by many clusters. What counts is not how many clusters there are but
how many carry the identifying variation: in the dyad panels 8 of 294 pairs have any
conflict-year, one of them (IND-PAK) most of them. The sandwich variance is then estimated
from a handful of large score contributions and the normal reference distribution is wrong
(Cameron, Gelbach & Miller 2008; MacKinnon & Webb 2017, 2018: with few treated clusters the
Wald test over-rejects badly). :func:`clusters_with_events` counts those clusters; below
:data:`FEW_CLUSTERS` the score bootstrap here is the reported test, otherwise the
cluster-robust Wald test (the same rule decides for each simulated panel).

Score wild cluster bootstrap (Kline & Santos 2012)
    Parameters ``theta = (b, g)``: ``b`` the focal coefficient, ``g`` every nuisance parameter
    (other terms and fixed-effect dummies; the conditional logit conditions its first fixed
    effect out). To test ``H0: b = b0`` fit only the restricted model, with ``b`` held at
    ``b0``, giving ``g~``. Let ``s_c = (s_cb, s_cg)`` be cluster ``c``'s score at ``(b0, g~)``
    and ``H`` the Hessian there. The effective score of ``b`` in cluster ``c``,

        e_c = s_cb - H_bg H_gg^{-1} s_cg,

    is the focal score with the nuisance parameters partialled out (to first order, the
    score a re-estimation of ``g`` would leave). Since ``sum_c s_cg = 0`` at ``g~``,
    ``sum_c e_c = sum_c s_cb``. The statistic is the studentised score
    ``t = sum_c e_c / sqrt(sum_c e_c^2)`` (the cluster-robust score test; the variance is not
    centred because ``E e_c = 0`` under H0). A bootstrap draw multiplies each cluster's
    effective score by an independent weight ``v_c`` with mean 0 and variance 1,
    ``t* = sum_c v_c e_c / sqrt(sum_c v_c^2 e_c^2)`` (``v_c = 1`` for all ``c`` gives ``t``),
    and the p-value is the share of draws at least as extreme as ``t`` (``|t*| >= |t|``
    two-sided, ``t* >= t`` for "greater", ``t* <= t`` for "less": the package's one tie rule,
    ``small_sample.as_extreme``). Nothing is re-estimated per draw: the restricted fit and ``H``
    are computed once, so a draw costs one product. For the logit and Poisson models ``s`` and
    ``H`` are the GLM score and Hessian, fitted by the package's one batched fitter
    (``models.batch.fit_batch`` on a ``Blocks`` design: the fixed-effect dummies are never
    formed); for the conditional logit they come from the exact conditional likelihood
    (``ConditionalLogitBatch``). The cluster-robust standard error is the one cluster
    sandwich of ``models.covariance``.

Weights (``weights="auto"``, with ``G`` clusters and ``E`` of them carrying events)
    Webb's six-point weights (``+-sqrt(1/2), +-1, +-sqrt(3/2)``, each 1/6; Webb 2023) when
    ``G <= 7`` or ``E < 12``, Rademacher signs otherwise. With few clusters, or when the
    statistic is a sum of a few large terms (the clusters with events; the others' scores
    are small), Rademacher signs leave only about ``2^E`` distinct values of ``t*`` and
    p-values that cannot fall below ``2^(1-E)`` (MacKinnon & Webb 2018); six points give
    ``6^E``. Every weight vector is enumerated when that is feasible (``6^G``, ``G <= 7``;
    ``2^G``, ``G <= 12``): the p-value is then exact, with no Monte Carlo error. Otherwise
    ``n_boot`` vectors are drawn, and the p-value has ``se = sqrt(p (1 - p) / B)``.

One rejection rule
    A test rejects at level ``alpha`` when ``p <= alpha`` (``small_sample.rejects``, the
    package's one rule), everywhere: the reported test, the size and power simulations and
    the interval (an enumerated bootstrap p can sit exactly at the level).

Confidence interval
    The set of ``b0`` the same bootstrap test does not reject at ``alpha``, with the same
    weight vectors for every ``b0`` (so p(b0) is a smooth function of ``b0`` up to the
    discreteness of the bootstrap). Each bound is bracketed outward from the estimate in
    steps of 1, 2, 4, ... cluster-robust standard errors (at most :data:`CI_MAX_SE`) and then
    bisected (``small_sample.invert``, the package's one test inversion); a bound not reached
    within that range is returned as infinite, with the reason in the interval's ``note``,
    never as a number made up at the edge of the search. A ``b0`` where the restricted model
    cannot be fitted gives no p-value and so is not rejected. A one-sided test gives a
    one-sided interval.

Size and power by simulation (:class:`Simulation`)
    Each simulated panel runs the reported procedure: the model refitted (the fixed-effect
    levels without outcome variation dropped, as ``models`` does), the divergence guard, the
    cluster-robust Wald test, and where fewer than :data:`FEW_CLUSTERS` clusters carry events
    in that panel the score bootstrap (``n_boot`` draws, or enumeration) instead. A panel
    whose model has no finite maximum or does not converge is counted in ``n_failed`` and
    left out: no test would be reported on it.
    The generating model at a focal effect ``b`` is the restricted model (``b`` held fixed)
    refitted to the real data, so event counts stay like the data's at every effect: the
    logit's or Poisson's fitted means, and for the conditional logit the plug-in unit effects
    that make each unit's expected events equal its observed events given the index. The
    focal predictor and the other regressors keep their observed values; the outcome's own
    lags (``<outcome>_lag<k>``) are rebuilt from each simulated panel, drawn year by year
    (where the earlier year lies outside the sample the observed lag is kept). Dependence
    beyond the model enters through a Gaussian copula: each draw thresholds a latent AR(1)
    normal within the cluster (``rho`` per year), so the marginal law of every row given its
    lags is exactly the model's (the conditional logit's likelihood assumes independence
    within a unit, so with ``rho > 0`` the simulation also carries that misspecification, as
    the real data do if their residuals are dependent). ``rho`` is chosen on a grid so that
    the lag-1 within-cluster correlation of the Pearson residuals of the simulated outcomes
    matches the observed one (:func:`residual_autocorrelation`). Why not permute or rotate
    cluster histories: rotating within a cluster keeps each cluster's events and predictor
    level together, so a model without unit effects (the dyad logit) would not be under the
    null; permuting histories across clusters needs clusters observed in the same years,
    which most event clusters are not.
    Size: the share of panels at ``b = 0`` the reported test rejects, with its Monte Carlo
    s.e. Power: the same panels (common random numbers: the same latent normals and the
    same bootstrap weights) at effects along the claim's direction; the minimum detectable
    effect is searched as ``calibration.power_check`` does. Each fit starts from the
    estimates of the same panels at the nearest effect already simulated (the panels differ
    in a few outcomes), or from the generating model.
    Panels run in chunks of :data:`CHUNK`, chunk ``k`` seeded by
    ``small_sample.seed_from(f"{key}/panels/{k}")`` (the bootstrap weights of its panel ``i``
    by ``f"{key}/panels/{k}/{i}"``) and mapped with ``mapper`` (the built-in ``map``, or any
    object with a ``.map(fn, items)`` method), so the numbers do not depend on how chunks are
    spread over workers.

Leave one cluster out
    The model is refitted without each cluster that carries events, and without the case
    units (KGZ and TJK, or their dyad) whether or not they do (:func:`leave_one_cluster_out`).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from ..errors import AnalysisError, ConfigError, ModelError
from ..models.batch import Blocks, by_level, fit_batch
from ..models.clogit import ConditionalLogitBatch
from ..models.covariance import cluster_variance
from ..models.design import Design, build_design
from ..models.families import Family
from ..models.solve import solve_batched
from ..models.spec import CountModelSpec
from ..results import (
    Interval,
    PowerCheck,
    SizeCheck,
    SmallSampleTest,
    check_sided,
    mc_standard_error,
)
from .small_sample import as_extreme, invert, normal_p, rate_se, rejects, seed_from

#: Fewer clusters with events than this: the score bootstrap is the reported test.
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
#: Simulated panels per chunk (the unit of seeding and of parallelism).
CHUNK = 25
#: At most this many simulated panels for the size and per point of the power curve (fewer
#: when the settings ask for fewer): the cost of a size that is checked (>= 200 panels) and
#: of a power curve, at about 10-20 ms a panel.
SIMULATIONS = 200
#: The CI search goes at most this many cluster-robust standard errors from the estimate.
CI_MAX_SE = 64.0
#: Largest effect on the display scale the power search tries (as ``calibration``).
SEARCH_LIMIT = 20.0
#: A power point whose panels carry on average more than this many times the observed
#: events is left out: power on data unlike ours means nothing.
EXPLODED = 2.0
_RHO_GRID = np.round(np.arange(0.0, 0.95, 0.1), 2)
_RHO_SIMS = 20
#: Newton tolerance inside simulations (on the full step; a p-value needs no more digits).
_SIM_TOL = 1e-8
#: Largest distance of a warm start from the generating model's parameters.
_WARM = 3.0
#: Newton iterations of a global fit (the clogit's own fitter has its own).
_MAX_ITER = 100


# --------------------------------------------------------------------------- the problem


@dataclass(frozen=True, eq=False)
class _Problem:
    """A global fixed-effects design as arrays, with what the bootstrap and simulations need.

    ``X`` holds the terms (the conditional logit: the design's columns, its fixed-effect
    dummies at ``indicators``). Logit and Poisson add, after X's columns, one parameter per
    level of each fixed effect (``blocks``: each row's level; the first effect has every
    level and no constant, the later ones lose their first level present in a panel).
    ``lags`` are the columns of X that hold the outcome's own lags (``lag_orders`` periods
    back) and ``previous`` the row holding each row's unit that many periods earlier (-1:
    outside the sample).
    """

    family: Family
    term: str
    y: np.ndarray
    X: np.ndarray
    blocks: tuple[np.ndarray, ...]
    sizes: tuple[int, ...]
    names: tuple[str, ...]
    j: int
    offset: np.ndarray
    clusters: np.ndarray
    labels: tuple[str, ...]
    periods: np.ndarray
    strata: np.ndarray | None
    indicators: np.ndarray
    lags: np.ndarray
    lag_orders: np.ndarray
    previous: np.ndarray

    @property
    def n_clusters(self) -> int:
        return len(self.labels)

    @property
    def k(self) -> int:
        return self.X.shape[1] + sum(self.sizes)

    def design(self, X: np.ndarray) -> Blocks:
        """The fitter's design: the terms ``X`` (shared, or one per vector) and the levels."""
        return Blocks(X, self.blocks, self.sizes)

    @functools.cached_property
    def owner(self) -> np.ndarray:
        """Cluster of each conditioning group (conditional logit)."""
        return _stratum_clusters(self.strata, self.clusters)


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
    periods = pd.to_numeric(rows[time_column]).to_numpy(dtype=float)
    blocks, sizes, indicators = [], [], np.zeros(0, dtype=int)
    if spec.distribution.conditional:
        columns = list(design.X.columns)
        names = list(columns)
        indicators = np.array([columns.index(c) for c in design.absorbed], dtype=int)
        _stratum_clusters(design.strata, codes)
    else:
        columns = [c for c in design.X.columns if c not in design.absorbed and c != "const"]
        names = list(columns)
        for fe in spec.fixed_effects:
            levels, values = pd.factorize(rows[fe].astype(str), sort=True)
            blocks.append(levels)
            sizes.append(len(values))
            names += [f"{fe}={v}" for v in values]
    lag = re.compile(rf"^{re.escape(spec.outcome)}_lag(\d+)$")
    lags = [(i, int(m.group(1))) for i, c in enumerate(columns) if (m := lag.match(c))]
    offset = np.zeros(design.nobs) if design.offset is None else np.asarray(design.offset)
    return _Problem(
        family=spec.distribution,
        term=term,
        y=np.asarray(design.y, dtype=float),
        X=design.X[columns].to_numpy(dtype=float),
        blocks=tuple(blocks),
        sizes=tuple(sizes),
        names=tuple(names),
        j=names.index(term),
        offset=offset,
        clusters=codes,
        labels=tuple(str(v) for v in labels),
        periods=periods,
        strata=design.strata,
        indicators=indicators,
        lags=np.array([i for i, _ in lags], dtype=int),
        lag_orders=np.array([k for _, k in lags], dtype=int),
        previous=_previous_rows(codes, periods, [k for _, k in lags], spec.cluster),
    )


def _previous_rows(clusters, periods, orders, cluster_name: str) -> np.ndarray:
    """For each lag order, the row of the same cluster that many periods earlier, or -1."""
    keys = pd.MultiIndex.from_arrays([clusters, periods])
    if orders and keys.has_duplicates:
        raise ConfigError(
            f"the outcome's lags can be rebuilt only with one row per cluster ({cluster_name!r}) "
            "and period; the panel repeats some"
        )
    found = [keys.get_indexer(pd.MultiIndex.from_arrays([clusters, periods - k])) for k in orders]
    return np.array(found, dtype=int).reshape(len(orders), len(clusters))


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

    Pass a ``Design`` (from ``build_design``), or a panel frame and its spec.
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


# --------------------------------------------------------------------------- GLM pieces


def _cluster_sums(problem: _Problem, values: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Each cluster's score ``sum_{i in c} values_i x_i`` (vectors x clusters x k)."""
    C = problem.n_clusters
    full = X if X.ndim == 3 else X[None]
    parts = [
        np.stack(
            [by_level(values * full[..., c], problem.clusters, C) for c in range(X.shape[-1])],
            axis=2,
        )
    ]
    for codes, size in zip(problem.blocks, problem.sizes):
        cells = by_level(values, problem.clusters * size + codes, C * size)
        parts.append(cells.reshape(len(values), C, size))
    return np.concatenate(parts, axis=2)


def _informative(problem: _Problem, Y: np.ndarray) -> np.ndarray:
    """Rows kept per vector: fixed-effect levels with outcome variation, found by repeated
    passes as ``models`` does for the real panel (logit and Poisson)."""
    keep = np.ones(Y.shape, dtype=bool)
    binary = problem.family.binary
    while True:
        before = keep.sum()
        for codes, size in zip(problem.blocks, problem.sizes):
            rows = by_level(keep.astype(float), codes, size)
            events = by_level(keep * Y, codes, size)
            bad = (events == 0) | (binary & (events == rows))
            keep &= ~bad[:, codes]
        if keep.sum() == before:
            return keep


def _free_columns(problem: _Problem, keep: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Parameters estimable per vector (vectors x k): a term with a kept nonzero row, a level
    with kept rows, except the first kept level of each fixed effect after the first."""
    nonzero = X != 0
    if X.ndim == 2:
        parts = [keep.astype(float) @ nonzero > 0]
    else:
        parts = [np.einsum("pn,pnk->pk", keep.astype(float), nonzero) > 0]
    for b, (codes, size) in enumerate(zip(problem.blocks, problem.sizes)):
        present = by_level(keep.astype(float), codes, size) > 0
        if b:
            present[np.arange(len(present)), np.argmax(present, axis=1)] = False
        parts.append(present)
    return np.concatenate(parts, axis=1)


# --------------------------------------------------------------------------- fits


@dataclass(frozen=True, eq=False)
class _Fits:
    """Fits of many outcome vectors, with what the tests need at the estimates: Hessian,
    each cluster's score, the estimable parameters, the clusters in the sample (``present``),
    how many of them carry events, and the rows used."""

    params: np.ndarray  # (P, k)
    converged: np.ndarray  # (P,)
    hessian: np.ndarray  # (P, k, k)
    scores: np.ndarray  # (P, clusters, k)
    free: np.ndarray  # (P, k)
    present: np.ndarray  # (P, clusters)
    events: np.ndarray  # (P,)
    nobs: np.ndarray  # (P,)


def _fits(
    problem: _Problem,
    Y: np.ndarray,
    start: np.ndarray,
    *,
    b0: float | None = None,
    lags: np.ndarray | None = None,
    tol: float = 1e-10,
    hessian: np.ndarray | None = None,
) -> _Fits:
    """Unrestricted fits of each row of ``Y`` (``b0`` None) or restricted ones with the focal
    coefficient held at ``b0``; ``lags`` the outcome's lags rebuilt from each vector (vectors
    x lags x rows) or None (the observed ones); ``hessian`` a first Newton matrix for the
    conditional logit."""
    start = np.array(start, dtype=float)
    if b0 is not None:
        start[:, problem.j] = b0
    fixed = None if b0 is None else problem.j
    if problem.family.conditional:
        mask = np.zeros(problem.k, dtype=bool)
        if fixed is not None:
            mask[fixed] = True
        replaced = None if lags is None else (problem.lags, lags)
        batch = ConditionalLogitBatch(
            Y, problem.X, problem.strata, problem.offset, problem.indicators, replaced
        )
        fit = batch.maximise(start, fixed=mask, hessian=hessian, tol=tol)
        owner = np.eye(problem.n_clusters)[problem.owner]  # groups x clusters
        scores = (fit.scores.transpose(0, 2, 1) @ owner).transpose(0, 2, 1)
        present = fit.informative.astype(float) @ owner > 0
        sizes = np.bincount(problem.strata).astype(float)
        return _Fits(
            params=fit.params,
            converged=fit.converged,
            hessian=fit.hessian,
            scores=scores,
            free=batch.varying(),
            present=present,
            events=present.sum(axis=1),
            nobs=fit.informative.astype(float) @ sizes,
        )
    design = problem.design(problem.X if lags is None else _with_lags(problem, lags))
    keep = _informative(problem, Y)
    free = _free_columns(problem, keep, design.X)
    held = ~free  # a level without kept rows, or the first kept level of a later effect
    if fixed is not None:
        held[:, fixed] = True
    start = np.where(held & ~free, 0.0, start)
    fit = fit_batch(
        Y, design, problem.offset, family=problem.family, mask=keep.astype(float),
        start=start, held=held, max_iter=_MAX_ITER, tol=tol, separation=True,
    )  # fmt: skip
    params, mu, X = fit.beta, fit.mu, design.X
    present = by_level(keep.astype(float), problem.clusters, problem.n_clusters) > 0
    return _Fits(
        params=params,
        converged=fit.converged,
        hessian=-design.gram(keep * problem.family.variance(mu)),
        scores=_cluster_sums(problem, keep * (Y - mu), X),
        free=free,
        present=present,
        events=(by_level(keep * (Y > 0), problem.clusters, problem.n_clusters) > 0).sum(axis=1),
        nobs=keep.sum(axis=1),
    )


def _restricted_system(fits: _Fits, columns: np.ndarray):
    """``-H`` over ``columns`` (vectors x k), with a unit diagonal elsewhere."""
    k = fits.hessian.shape[1]
    both = columns[:, :, None] & columns[:, None, :]
    return np.where(both, -fits.hessian, 0.0) + np.eye(k) * ~columns[:, None, :]


def _wald_se(fits: _Fits, j: int) -> np.ndarray:
    """Cluster-robust standard error of parameter ``j`` per vector, with the models module's
    factor G/(G-1) (N-1)/(N-K) (G clusters in the sample, N rows, K estimable parameters)."""
    k = fits.hessian.shape[1]
    unit = np.zeros((len(fits.params), k, 1))
    unit[:, j] = 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        bread = solve_batched(_restricted_system(fits, fits.free), unit[..., 0])
        g, k_free = fits.present.sum(axis=1), fits.free.sum(axis=1)
        return np.sqrt(cluster_variance(fits.scores, bread * fits.free, g, fits.nobs, k_free))


def _effective_scores(fits: _Fits, j: int) -> np.ndarray:
    """Effective focal score per cluster, ``s_b - H_bg H_gg^-1 s_g`` (vectors x clusters)."""
    k = fits.hessian.shape[1]
    others = fits.free & (np.arange(k) != j)
    rhs = np.where(others, fits.hessian[:, :, j], 0.0)[..., None]
    solved = solve_batched(_restricted_system(fits, others), -rhs[..., 0])
    return fits.scores[:, :, j] - np.einsum("pck,pk->pc", fits.scores, solved)


@dataclass(frozen=True)
class _Wald:
    estimate: float
    std_error: float
    converged: bool
    params: np.ndarray = field(repr=False)

    @property
    def z(self) -> float:
        return self.estimate / self.std_error


@dataclass(frozen=True, eq=False)
class _Restricted:
    """The restricted fit at ``b0`` and the effective focal score of each cluster."""

    b0: float
    params: np.ndarray
    scores: np.ndarray  # effective focal score per cluster in the sample
    converged: bool


def _start(problem: _Problem, start: dict[str, float] | np.ndarray | None) -> np.ndarray:
    if isinstance(start, np.ndarray):
        return start[None]
    return np.array([[(start or {}).get(name, 0.0) for name in problem.names]])


def _wald(problem: _Problem, start: dict[str, float] | None = None) -> _Wald:
    """The unrestricted fit and cluster-robust Wald statistic of the focal term; ``start``
    maps parameter names to start values (e.g. the full sample's estimates)."""
    fits = _fits(problem, problem.y[None], _start(problem, start))
    se = float(_wald_se(fits, problem.j)[0])
    ok = bool(fits.converged[0]) and math.isfinite(se) and se > 0
    return _Wald(float(fits.params[0, problem.j]), se, ok, fits.params[0])


def _restricted(problem: _Problem, b0: float, start: np.ndarray | None = None) -> _Restricted:
    fits = _fits(problem, problem.y[None], _start(problem, start), b0=b0)
    scores = _effective_scores(fits, problem.j)[0][fits.present[0]]
    ok = bool(fits.converged[0]) and bool(np.all(np.isfinite(scores)))
    return _Restricted(b0, fits.params[0], scores, ok)


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

    @property
    def draws(self) -> int | None:
        """Drawn vectors, or None when every vector was enumerated (an exact p-value)."""
        return None if self.enumerated else len(self.matrix)


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
    """Bootstrap p-value of the studentised effective score, and the observed statistic."""
    observed = _studentised(scores)
    if not math.isfinite(observed):
        return math.nan, observed
    with np.errstate(invalid="ignore", divide="ignore"):
        draws = (weights.matrix @ scores) / np.sqrt(weights.squared @ scores**2)
    return float(np.mean(as_extreme(draws, observed, sided))), observed


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ClusterBootstrapResult:
    """Score wild cluster bootstrap test of ``term = b0`` (``test``) and its inverted interval,
    in the package's own result types, beside the cluster-robust Wald test of the same fit.
    ``test.details`` says how the weights were made (kind, vectors, seed); ``test.n_draws`` is
    None when every weight vector was enumerated (an exact p-value)."""

    test: SmallSampleTest
    interval: Interval
    estimate: float
    std_error: float
    wald_p: float
    n_clusters: int
    clusters_with_events: int
    converged: bool

    @property
    def few_clusters(self) -> bool:
        """Fewer than FEW_CLUSTERS clusters carry events: this test, not the Wald, is reported."""
        return self.clusters_with_events < FEW_CLUSTERS


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


# --------------------------------------------------------------------------- the test


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
    time_column: str = "year",
) -> ClusterBootstrapResult:
    """Score wild cluster bootstrap test of ``H0: term = b0`` for a global FE panel model.

    ``key`` (e.g. the hypothesis id) seeds the weights (``seed_from(f"{key}/score-bootstrap")``).
    ``ci`` adds the interval from inverting this test at ``alpha``. Size and power:
    :class:`Simulation`.
    """
    check_sided(sided)
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be in (0, 1); found {alpha!r}")
    term = _check_spec(spec, term)
    problem = _problem(frame, spec, term, time_column)
    wald = _wald(problem)
    if not wald.converged:
        raise ModelError(f"the {problem.family.label} model of {term!r} did not converge")
    with_events = _count_event_clusters(problem.y, problem.clusters, problem.strata)
    seed = seed_from(f"{key}/score-bootstrap")
    restricted = _restricted(problem, b0, wald.params)
    draws = _choose_weights(weights, len(restricted.scores), with_events, n_boot, seed)
    p_value, statistic = _bootstrap_p(restricted.scores, draws, sided)

    starts: dict[float, np.ndarray] = {b0: restricted.params}

    def pvalue_at(value: float) -> float:
        nearest = min(starts, key=lambda b: abs(b - value))
        fit = _restricted(problem, value, starts[nearest])
        if not fit.converged or len(fit.scores) != draws.matrix.shape[1]:
            return math.nan
        starts[value] = fit.params
        return _bootstrap_p(fit.scores, draws, sided)[0]

    events = f"{with_events} of {problem.n_clusters} clusters carry events"
    vectors = "every sign vector" if draws.enumerated else f"{draws.draws:,} draws"
    test = SmallSampleTest(
        method="wild_cluster_bootstrap",
        label=f"score wild cluster bootstrap ({draws.kind} weights, {vectors}; {events})",
        statistic=statistic,
        p_value=p_value,
        sided=sided,
        p_mc_se=mc_standard_error(p_value, draws.draws),
        n_draws=draws.draws,
        min_attainable_p=1 / len(draws.matrix) if draws.enumerated else 0.0,
        details={
            "clusters": problem.n_clusters,
            "clusters_with_events": with_events,
            "weights": draws.kind,
            "vectors": len(draws.matrix),
        },
    )
    interval = Interval(math.nan, math.nan, "not computed")
    if ci:
        interval = invert(
            lambda values: np.array([pvalue_at(float(v)) for v in values]),
            wald.estimate,
            wald.std_error,
            method=f"inverted score bootstrap (at level {alpha:g}, the same weight vectors for "
            "every b0; bracketing then bisection)",
            level=alpha,
            limit=CI_MAX_SE * wald.std_error,
            sided=sided,
        )
    return ClusterBootstrapResult(
        test=test,
        interval=interval,
        estimate=wald.estimate,
        std_error=wald.std_error,
        wald_p=float(normal_p(wald.z, sided)),
        n_clusters=problem.n_clusters,
        clusters_with_events=with_events,
        converged=restricted.converged,
    )


def wald_test(model, term: str, sided: str, why: str) -> tuple[SmallSampleTest, Interval]:
    """The cluster-robust Wald test and interval of ``term`` from a fitted global model
    (``fit_design``), with ``why`` it is the reported test."""
    row = model.term(term)
    statistic = float(row["statistic"])
    test = SmallSampleTest(
        method="cluster_wald",
        label=f"cluster-robust Wald test ({model.cov_label}; {why})",
        statistic=statistic,
        p_value=float(normal_p(statistic, sided)),
        sided=sided,
    )
    interval = Interval(float(row["ci_low"]), float(row["ci_high"]), "cluster-robust Wald interval")
    return test, interval


def reported_test(
    frame: pd.DataFrame,
    model,
    term: str,
    *,
    key: str,
    sided: str,
    alpha: float,
    n_boot: int,
    ci: bool,
) -> tuple[SmallSampleTest, Interval]:
    """The reported test of a global entry and the interval inverting it: the score wild
    cluster bootstrap when fewer than :data:`FEW_CLUSTERS` clusters carry events, else the
    cluster-robust Wald test of ``model``. Where the bootstrap's own fits break down, the Wald
    test, flagged (``details["unchecked"]`` says why: no size can be simulated for it).
    :class:`Simulation` runs the same rule on every simulated panel."""
    try:
        boot = score_bootstrap(
            frame, model.spec, term, key=key, sided=sided, alpha=alpha, n_boot=n_boot, ci=ci
        )
    except AnalysisError as exc:
        why = f"the score bootstrap could not be computed ({exc}), so this test's size is unchecked"
        test, interval = wald_test(model, term, sided, why)
        return replace(test, details={"unchecked": str(exc)}), interval
    if boot.few_clusters:
        return boot.test, boot.interval
    events = f"{boot.clusters_with_events} of {boot.n_clusters} clusters carry events"
    test, interval = wald_test(model, term, sided, events)
    return replace(test, details=boot.test.details), interval


# --------------------------------------------------------------------------- simulation


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
    """Standard normal draws (n x rows), AR(1) within each cluster with ``rho`` per period.
    Draw i uses the i-th block of the generator's normals, so the first m of n draws equal
    m draws."""
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


@dataclass(frozen=True, eq=False)
class _Generator:
    """The model panels are drawn from at one focal effect: the restricted model refitted to
    the real data with the focal coefficient held there (module docstring)."""

    effect: float
    params: np.ndarray  # (k,) the refitted parameters, focal = effect
    static: np.ndarray  # (rows,) linear predictor without the outcome's own lags
    gamma: np.ndarray  # coefficients of those lags
    log_cap: float  # Poisson: largest log mean a draw may reach


def _unit_effects(problem: _Problem, eta: np.ndarray) -> np.ndarray:
    """Plug-in unit effects of the conditional logit: each unit's expected events given the
    index equal its observed events (the unconditional logit's first-order condition)."""
    strata = problem.strata
    rows = np.bincount(strata)
    target = np.bincount(strata, weights=problem.y)
    alpha = special.logit(target / rows) - np.bincount(strata, weights=eta) / rows
    for _ in range(100):
        p = special.expit(alpha[strata] + eta)
        gap = np.bincount(strata, weights=p) - target
        slope = np.bincount(strata, weights=p * (1 - p))
        step = np.clip(gap / slope, -5, 5)
        alpha -= step
        if np.max(np.abs(step)) < 1e-12:
            break
    return alpha[strata]


def _generator(problem: _Problem, effect: float, start: np.ndarray) -> _Generator:
    fits = _fits(problem, problem.y[None], start[None], b0=effect)
    if not fits.converged[0]:
        raise ModelError(
            f"the model of {problem.term!r} with the focal coefficient held at {effect:.4g} "
            "has no finite maximum on these data, so no panels can be drawn from it"
        )
    params = fits.params[0]
    eta = problem.design(problem.X).linear(params[None])[0] + problem.offset
    if problem.family.conditional:
        eta = eta + _unit_effects(problem, eta)
    gamma = params[problem.lags]
    static = eta - gamma @ problem.X[:, problem.lags].T
    log_cap = math.log(max(50.0, 10.0 * float(problem.y.max())))
    return _Generator(effect, params, static, gamma, log_cap)


def _draw(problem: _Problem, generator: _Generator, latent: np.ndarray):
    """Outcomes (draws x rows), the outcome's lags rebuilt from them (draws x lags x rows) and
    each row's mean given its lags, drawn period by period through the latent normals."""
    n = latent.shape[0]
    observed = problem.X[:, problem.lags].T
    lags = np.array(np.broadcast_to(observed, (n, *observed.shape)))
    Y = np.zeros(latent.shape)
    mean = np.zeros(latent.shape)
    for period in np.unique(problem.periods):
        rows = np.flatnonzero(problem.periods == period)
        for index in range(len(problem.lags)):
            before = problem.previous[index, rows]
            inside = before >= 0
            lags[:, index, rows[inside]] = Y[:, before[inside]]
        eta = generator.static[rows] + np.einsum("l,nlr->nr", generator.gamma, lags[:, :, rows])
        if not problem.family.binary:
            mu = np.exp(np.minimum(eta, generator.log_cap))
            Y[:, rows] = stats.poisson.ppf(stats.norm.cdf(latent[:, rows]), mu)
        else:
            mu = special.expit(eta)
            Y[:, rows] = latent[:, rows] > stats.norm.isf(mu)
        mean[:, rows] = mu
    return Y, lags, mean


def _with_lags(problem: _Problem, lags: np.ndarray) -> np.ndarray:
    """The terms of every draw with its own lags (draws x rows x terms)."""
    X = np.array(np.broadcast_to(problem.X, (len(lags), *problem.X.shape)))
    X[:, :, problem.lags] = lags.transpose(0, 2, 1)
    return X


def _pearson(family: Family, Y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    return (Y - mu) / np.sqrt(family.variance(mu))


@dataclass(frozen=True, eq=False)
class _Task:
    """One chunk of panels at one effect (a picklable unit of work for executors)."""

    problem: _Problem
    generator: _Generator
    rho: float
    key: str
    index: int
    n: int
    n_boot: int
    weights: str
    sided: str
    max_effect: float
    full_start: np.ndarray  # (n, k)
    null_start: np.ndarray  # (n, k)
    hessian: np.ndarray | None  # first Newton matrix of the conditional logit


@dataclass(frozen=True, eq=False)
class _Outcome:
    """Per panel of a chunk: the reported test's p, the Wald p, whether a test would be
    reported at all, the estimates (the next effect's starts) and the events."""

    reported: np.ndarray
    wald: np.ndarray
    ok: np.ndarray
    full: np.ndarray
    null: np.ndarray
    events: np.ndarray
    bootstrapped: np.ndarray


def _run_chunk(task: _Task) -> _Outcome:
    problem, generator = task.problem, task.generator
    rng = np.random.default_rng(seed_from(f"{task.key}/panels/{task.index}"))
    latent = _latent(rng, task.n, problem.clusters, problem.periods, task.rho)
    Y, lags, _ = _draw(problem, generator, latent)
    lags = lags if len(problem.lags) else None
    full = _fits(problem, Y, task.full_start, lags=lags, tol=_SIM_TOL, hessian=task.hessian)
    se = _wald_se(full, problem.j)
    estimate = full.params[:, problem.j]
    with np.errstate(invalid="ignore", divide="ignore"):
        wald = normal_p(estimate / se, task.sided)
    ok = full.converged & np.isfinite(wald) & (np.abs(estimate) <= task.max_effect)
    few = ok & (full.events < FEW_CLUSTERS)
    reported, null = wald.copy(), np.full_like(task.null_start, np.nan)
    if few.any():
        at = np.flatnonzero(few)
        fits = _fits(
            problem,
            Y[at],
            task.null_start[at],
            b0=0.0,
            lags=None if lags is None else lags[at],
            tol=_SIM_TOL,
            hessian=task.hessian,
        )
        effective = _effective_scores(fits, problem.j)
        null[at] = fits.params
        for i, panel in enumerate(at):
            scores = effective[i][fits.present[i]]
            seed = seed_from(f"{task.key}/panels/{task.index}/{panel}")
            draws = _choose_weights(
                task.weights, len(scores), int(fits.events[i]), task.n_boot, seed
            )
            p = _bootstrap_p(scores, draws, task.sided)[0] if fits.converged[i] else math.nan
            reported[panel] = p
        ok &= np.isfinite(reported)
    return _Outcome(reported, wald, ok, full.params, null, Y.sum(axis=1), few)


def _run(mapper: Any, fn, items: list) -> list:
    """Apply ``fn`` to every item with an executor's ``.map`` or a map-like callable."""
    apply = mapper.map if hasattr(mapper, "map") else mapper
    return list(apply(fn, items))


class Simulation:
    """Size and power of the reported global test (module docstring: the generating model,
    the rebuilt lags, the copula, the reported procedure per panel).

    ``max_effect`` is the divergence guard: a panel whose focal estimate exceeds it in
    absolute value has no finite fit (the report would not test it) and counts as failed.
    Simulated panels are kept, so later calls start each fit from the same panel's estimates
    at the nearest effect already simulated.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        spec: CountModelSpec,
        term: str | None = None,
        *,
        key: str,
        sided: str = "two-sided",
        alpha: float = 0.05,
        n_boot: int = 199,
        weights: str = "auto",
        rho: float | None = None,
        max_effect: float = math.inf,
        time_column: str = "year",
    ):
        check_sided(sided)
        if weights not in WEIGHTS:
            raise ConfigError(f"weights must be one of {WEIGHTS}; found {weights!r}")
        term = _check_spec(spec, term)
        self.problem = _problem(frame, spec, term, time_column)
        self.key, self.sided, self.alpha = key, sided, alpha
        self.n_boot, self.weights, self.max_effect = n_boot, weights, max_effect
        wald = _wald(self.problem)
        if not wald.converged:
            raise ModelError(f"the {self.problem.family.label} model of {term!r} did not converge")
        self.generators = {0.0: _generator(self.problem, 0.0, wald.params)}
        self.outcomes: dict[float, dict[int, _Outcome]] = {}
        self.observed_rho = self._observed_rho()
        if rho is None:
            rho = self._calibrate_rho()
        elif not 0 <= rho < 1:
            raise ConfigError(f"rho must be in [0, 1); found {rho!r}")
        self.rho = float(rho)

    def _observed_rho(self) -> float:
        problem, null = self.problem, self.generators[0.0]
        eta = null.static + null.gamma @ problem.X[:, problem.lags].T
        mu = problem.family.mean(np.minimum(eta, 50.0))  # the clip keeps Poisson means finite
        residuals = _pearson(problem.family, problem.y, mu)
        return float(residual_autocorrelation(residuals, problem.clusters, problem.periods))

    def _calibrate_rho(self) -> float:
        """The copula's rho whose simulated lag-1 residual correlation is closest to the
        data's (the same normals for every rho: common random numbers)."""
        if not math.isfinite(self.observed_rho) or self.observed_rho <= 0:
            return 0.0
        problem, gaps = self.problem, []
        for rho in _RHO_GRID:
            rng = np.random.default_rng(seed_from(f"{self.key}/size-rho"))
            latent = _latent(rng, _RHO_SIMS, problem.clusters, problem.periods, rho)
            Y, _, mu = _draw(problem, self.generators[0.0], latent)
            residuals = _pearson(problem.family, Y, mu)
            simulated = residual_autocorrelation(residuals, problem.clusters, problem.periods)
            gaps.append(abs(float(np.nanmean(simulated)) - self.observed_rho))
        return float(_RHO_GRID[int(np.argmin(gaps))])

    def _generator_at(self, effect: float) -> _Generator:
        if effect not in self.generators:
            nearest = min(self.generators, key=lambda b: abs(b - effect))
            start = self.generators[nearest].params.copy()
            self.generators[effect] = _generator(self.problem, effect, start)
        return self.generators[effect]

    def _starts(self, generator: _Generator, index: int, n: int) -> tuple[np.ndarray, ...]:
        """Starts for chunk ``index``: the same panels' estimates at the nearest effect
        simulated, moved as the generating model moved between the two effects, else the
        generating model (focal at the effect, or 0 for the null fit).
        Estimates more than :data:`_WARM` from the generating model's (a quasi-separated
        panel whose lag coefficient ran off) are not used: a start where rows are saturated
        gives Newton no curvature to move them back."""
        full = np.tile(generator.params, (n, 1))
        null = full.copy()
        null[:, self.problem.j] = 0.0
        done = [b for b, chunks in self.outcomes.items() if index in chunks]
        if done:
            nearest = min(done, key=lambda b: abs(b - generator.effect))
            before = self.outcomes[nearest][index]
            shift = generator.params - self.generators[nearest].params
            m = min(n, len(before.full))
            for start, previous in ((full, before.full[:m]), (null, before.null[:m])):
                previous = previous + shift  # the estimates move as the model does
                if start is null:
                    previous[:, self.problem.j] = 0.0
                gap = np.abs(previous - generator.params)
                usable = np.all(np.isfinite(previous), axis=1) & (gap.max(axis=1) <= _WARM)
                start[:m][usable] = previous[usable]
        return full, null

    def run(self, effect: float, n: int, mapper: Any = map) -> _Outcome:
        """The first ``n`` panels at ``effect`` (each chunk computed once and kept)."""
        if n < 1:
            raise ConfigError(f"the number of simulated panels must be >= 1; found {n}")
        generator = self._generator_at(effect)
        sizes = [CHUNK] * (n // CHUNK) + ([n % CHUNK] if n % CHUNK else [])
        done = self.outcomes.setdefault(effect, {})
        missing = [i for i, size in enumerate(sizes) if i not in done or len(done[i].ok) < size]
        hessian = None
        if missing and self.problem.family.conditional:  # the data's: the first Newton matrix
            problem = self.problem
            batch = ConditionalLogitBatch(
                problem.y[None], problem.X, problem.strata, problem.offset, problem.indicators
            )
            hessian = batch.evaluate(generator.params[None], scores=False)[3][0]
        tasks = []
        for index in missing:
            full, null = self._starts(generator, index, sizes[index])
            tasks.append(
                _Task(self.problem, generator, self.rho, self.key, index, sizes[index],
                      self.n_boot, self.weights, self.sided, self.max_effect, full, null, hessian)
            )  # fmt: skip
        for task, outcome in zip(tasks, _run(mapper, _run_chunk, tasks)):
            done[task.index] = outcome
        parts = [_take(done[index], size) for index, size in enumerate(sizes)]
        return _Outcome(*(np.concatenate([getattr(p, f) for p in parts]) for f in _OUTCOME))

    def describe(self, effect: str) -> str:
        """The generating model in words."""
        lags = "the outcome's own lag rebuilt from each panel; " if len(self.problem.lags) else ""
        return (
            f"restricted model (focal term {effect}) refitted to the data; {lags}AR(1) "
            f"Gaussian copula within clusters, rho {self.rho:.1f} (lag-1 residual correlation "
            f"{self.observed_rho:.2f} observed)"
        )

    def size(self, n: int, mapper: Any = map, threshold: float = 0.10) -> SizeCheck:
        """Rejection rate at ``alpha`` of the reported test on ``n`` usable panels at
        ``b = 0`` (with the cluster-robust Wald test's beside it where panels report the
        bootstrap). Panels on which no test would be reported are replaced, a chunk at a
        time, up to ``2 n`` panels in all."""
        total = n
        outcome = self.run(0.0, total, mapper)
        while outcome.ok.sum() < n and total + CHUNK <= 2 * n:
            total += CHUNK
            outcome = self.run(0.0, total, mapper)
        ok = outcome.ok
        used = int(ok.sum())
        size = float(rejects(outcome.reported[ok], self.alpha).mean()) if used else math.nan
        wald = float(rejects(outcome.wald[ok], self.alpha).mean()) if used else math.nan
        beside = bool(outcome.bootstrapped[ok].any())
        return SizeCheck(
            nominal=self.alpha,
            size=size,
            mc_se=rate_se(size, used),
            n_sims=total,
            n_failed=total - used,
            null=f"{self.describe('at 0')}; panels carry {float(np.mean(outcome.events)):.0f} "
            f"events on average ({self.problem.y.sum():.0f} observed)",
            wald_size=wald if beside else None,
            wald_mc_se=rate_se(wald, used) if beside else None,
            threshold=threshold,
        )

    def power(
        self,
        n: int,
        *,
        multiplier: float,
        direction: float,
        guess: float,
        target: float = 0.8,
        min_attainable_p: float = 0.0,
        bisections: int = 3,
        mapper: Any = map,
    ) -> PowerCheck:
        """Power curve and minimum detectable effect (display scale: ``exp(b multiplier)``)
        of the reported test, searched as ``calibration.power_check`` searches: from
        ``guess``, halving or doubling the log ratio to bracket ``target``, then bisecting;
        the MDE is the smallest evaluated ratio that reaches it. No effect beyond
        :data:`SEARCH_LIMIT` is searched, nor one whose panels carry on average more than
        :data:`EXPLODED` times the observed events (the lagged outcome making onsets persist:
        data unlike ours; its power is left out, and ``search_limit`` is then the largest
        effect searched). A test whose smallest attainable p exceeds ``alpha`` has no power to
        report."""
        limit = SEARCH_LIMIT
        columns = ["effect", "log_effect", "power", "n_failed", "events"]
        if min_attainable_p > self.alpha:
            return PowerCheck(
                reachable=False, target=target, alpha=self.alpha, n_sims=0, mde=math.nan,
                mde_log=math.nan, search_limit=limit, curve=pd.DataFrame(columns=columns),
                reason=f"the smallest p-value this test can give is {min_attainable_p:.3f} "
                f"> {self.alpha}", generator=self.describe("at each effect"),
            )  # fmt: skip
        curve: dict[float, tuple[float, int, float]] = {}

        observed = float(self.problem.y.sum())

        def power_at(ratio: float) -> float:
            if ratio not in curve:
                try:
                    outcome = self.run(direction * math.log(ratio) / multiplier, n, mapper)
                except ModelError:  # no finite model to draw from at this effect
                    curve[ratio] = (math.nan, n, math.nan)
                    return math.nan
                used, events = int(outcome.ok.sum()), float(outcome.events.mean())
                like = used and events <= EXPLODED * observed
                rate = (
                    float(rejects(outcome.reported[outcome.ok], self.alpha).mean())
                    if like
                    else math.nan
                )
                curve[ratio] = (rate, n - used, events)
            return curve[ratio][0]

        high = _bracket(power_at, guess, target, limit, bisections)
        unlike = [r for r, (_, _, events) in curve.items() if not events <= EXPLODED * observed]
        ratios = sorted(curve)
        table = pd.DataFrame(
            {
                "effect": [r if direction > 0 else 1 / r for r in ratios],
                "log_effect": [direction * math.log(r) / multiplier for r in ratios],
                "power": [curve[r][0] for r in ratios],
                "n_failed": [curve[r][1] for r in ratios],
                "events": [curve[r][2] for r in ratios],
            }
        )
        mde = math.nan if high is None else (high if direction > 0 else 1 / high)
        reason = ""
        if high is None and unlike:  # the search stopped short of the limit: say where
            limit = max([1.0, *(r for r in curve if r not in unlike)])
            first = min(unlike) if direction > 0 else 1 / min(unlike)
            reason = (
                f"from a ratio of {first:.3g} on, simulated panels carry more than "
                f"{EXPLODED:g} times the observed events (or the model held there has no "
                "finite fit to draw them from), so no larger effect was searched"
            )
        return PowerCheck(
            reachable=True,
            target=target,
            alpha=self.alpha,
            n_sims=n,
            mde=mde,
            mde_log=math.log(mde) / multiplier if math.isfinite(mde) else math.nan,
            search_limit=limit if direction > 0 else 1 / limit,
            curve=table,
            reason=reason,
            generator=self.describe("at each effect"),
        )


_OUTCOME = ("reported", "wald", "ok", "full", "null", "events", "bootstrapped")


def _take(outcome: _Outcome, n: int) -> _Outcome:
    return _Outcome(*(getattr(outcome, f)[:n] for f in _OUTCOME))


def _bracket(
    power_at: Callable[[float], float], guess: float, target: float, limit: float, bisections: int
) -> float | None:
    """The smallest evaluated ratio with power >= target (None: not reached by ``limit``)."""
    low, high = 1.0, None
    ratio = min(max(guess, 1.1), limit)
    if power_at(ratio) >= target:  # step down (halving the log ratio) to bracket from below
        high = ratio
        while high > 1.05:
            lower = math.sqrt(high)
            if not power_at(lower) >= target:
                low = lower
                break
            high = lower
    else:  # step up (doubling the log ratio) until the target is reached or the limit passed
        low = ratio
        while low < limit:
            upper = min(low**2, limit)
            for _ in range(3):  # a point left out (NaN): come back halfway, in the log
                if not math.isnan(power_at(upper)):
                    break
                upper = math.sqrt(low * upper)
            if math.isnan(power_at(upper)):
                break
            if power_at(upper) >= target:
                high = upper
                break
            low = upper
    if high is not None:
        for _ in range(bisections):
            mid = math.sqrt(low * high)
            low, high = (low, mid) if power_at(mid) >= target else (mid, high)
    return high


def size_by_simulation(
    frame: pd.DataFrame,
    spec: CountModelSpec,
    term: str | None = None,
    *,
    key: str,
    n_sim: int | None = None,
    n_boot: int = 199,
    alpha: float = 0.05,
    sided: str = "two-sided",
    weights: str = "auto",
    rho: float | None = None,
    mapper: Any = map,
    time_column: str = "year",
) -> SizeCheck:
    """Size of the reported test on ``n_sim`` panels simulated under ``term = 0`` (default
    :data:`SIMULATIONS`); see :class:`Simulation`."""
    simulation = Simulation(
        frame, spec, term, key=key, sided=sided, alpha=alpha, n_boot=n_boot, weights=weights,
        rho=rho, time_column=time_column,
    )  # fmt: skip
    return simulation.size(SIMULATIONS if n_sim is None else n_sim, mapper)


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
            p_wald=float(normal_p(wald.z, self.sided)),
            nobs=len(problem.y),
            clusters=problem.n_clusters,
            clusters_with_events=_count_event_clusters(problem.y, problem.clusters, problem.strata),
            converged=wald.converged,
        )
        if self.bootstrap:
            restricted = _restricted(problem, 0.0, wald.params)
            draws = _choose_weights(
                self.weights,
                len(restricted.scores),
                row["clusters_with_events"],
                self.n_boot,
                _loo_seed(self.key, dropped),
            )
            p, _ = _bootstrap_p(restricted.scores, draws, self.sided)
            row.update(p_bootstrap=p, p_bootstrap_mc_se=mc_standard_error(p, draws.draws) or 0.0)
        return {c: row.get(c, math.nan) for c in LOO_COLUMNS}


__all__ = [
    "CASE_STATES",
    "FEW_CLUSTERS",
    "ClusterBootstrapResult",
    "LeaveOneClusterOut",
    "Simulation",
    "clusters_with_events",
    "events_by_cluster",
    "leave_one_cluster_out",
    "reported_test",
    "residual_autocorrelation",
    "score_bootstrap",
    "size_by_simulation",
    "wald_test",
]
