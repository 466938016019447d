"""Small-sample inference for one focal term of a count model.

With one or two hundred autocorrelated monthly counts, asymptotic p-values can mislead, so
each hypothesis can also get a block-permutation p-value, a placebo-date p-value (for step
effects) and a simulated minimum detectable effect. All of them rest on one cheap device:
fit the *null* model (the spec without the focal term) once, then score any candidate
column against it. The efficient score statistic

    z(x) = x~' r / sqrt(x~' W x~),   r = (y - mu) / (1 + alpha mu),   W = mu / (1 + alpha mu),

with x~ the W-weighted residual of x on the null design, is the Rao score test of adding x
to the null Poisson (alpha = 0) or NB2 model. It needs no refit per permutation, so 999
permutations cost one matrix product. The permutation (not the normal approximation) then
calibrates it, which is what makes the test valid under autocorrelation.

Seeds: pass an integer; derive it from a readable key with :func:`seed_from` so results
repeat exactly across runs and machines.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from .errors import ConfigError, ModelError
from .models import CountModelSpec, Design, build_design, fit_design
from .results import (
    CountModelResult,
    MDEResult,
    PermutationResult,
    PlaceboResult,
    check_sided,
)

_TIE = 1e-10  # statistics closer than this count as ties (and so as "as extreme")


def seed_from(key: str) -> int:
    """A 64-bit seed from a text key (first 8 bytes of its SHA-256): same key, same draws."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")


# --------------------------------------------------------------------------- p-values


def _sided_p(z: np.ndarray | float, sided: str) -> np.ndarray | float:
    if sided == "greater":
        return stats.norm.sf(z)
    if sided == "less":
        return stats.norm.cdf(z)
    return 2 * stats.norm.sf(np.abs(z))


def _oriented(z: np.ndarray | float, sided: str) -> np.ndarray | float:
    """Map a signed statistic so that larger always means more extreme for ``sided``."""
    if sided == "greater":
        return z
    if sided == "less":
        return -np.asarray(z)
    return np.abs(z)


def asymptotic_pvalue(model: CountModelResult, term: str, sided: str = "two-sided") -> float:
    """Normal p-value of one term's z statistic (with the model's covariance), by sidedness."""
    check_sided(sided)
    return float(_sided_p(model.term(term)["statistic"], sided))


def _check_pvalues(pvalues: Sequence[float] | pd.Series) -> np.ndarray:
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1:
        raise ConfigError("p-values must be a one-dimensional sequence")
    bad = np.flatnonzero(~((p >= 0) & (p <= 1)))
    if len(bad):
        raise ModelError(
            f"p-values must lie in [0, 1]; found {p[bad[0]]!r} at position {bad[0]} "
            "(a model that failed to produce a p-value?)"
        )
    return p


def _same_shape(adjusted: np.ndarray, pvalues: Sequence[float] | pd.Series):
    if isinstance(pvalues, pd.Series):
        return pd.Series(adjusted, index=pvalues.index, name=pvalues.name)
    return adjusted


def holm(pvalues: Sequence[float] | pd.Series) -> np.ndarray | pd.Series:
    """Holm step-down adjusted p-values (family-wise error); a Series keeps its index."""
    p = _check_pvalues(pvalues)
    order = np.argsort(p, kind="stable")
    m = len(p)
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return _same_shape(adjusted, pvalues)


def benjamini_hochberg(pvalues: Sequence[float] | pd.Series) -> np.ndarray | pd.Series:
    """Benjamini-Hochberg step-up adjusted p-values (false discovery rate)."""
    p = _check_pvalues(pvalues)
    order = np.argsort(p, kind="stable")[::-1]  # largest first
    m = len(p)
    ranks = m - np.arange(m)  # rank of each p in ascending order
    stepped = np.minimum.accumulate(p[order] * m / ranks)
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return _same_shape(adjusted, pvalues)


# --------------------------------------------------------------------------- null model


@dataclass(frozen=True, eq=False)
class _NullModel:
    """The spec without the focal term, fitted on the full spec's rows, ready for scoring."""

    design: Design  # full design (with the term), rows in time order
    fit: CountModelResult  # null fit
    term: str
    Z: np.ndarray
    w: np.ndarray
    r: np.ndarray

    @property
    def x(self) -> np.ndarray:
        return self.design.X[self.term].to_numpy()

    @property
    def dispersion(self) -> float:
        return self.fit.dispersion or 0.0

    def residualise(self, columns: np.ndarray) -> np.ndarray:
        """W-weighted residuals of each column on the null design."""
        zw = self.Z.T * self.w
        return columns - self.Z @ np.linalg.solve(zw @ self.Z, zw @ columns)

    def score_z(self, columns: np.ndarray) -> np.ndarray:
        """Score statistic of adding each column (n x m) to the null model; NaN if redundant."""
        resid = self.residualise(columns)
        info = self.w @ resid**2
        scale = self.w @ columns**2
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (resid.T @ self.r) / np.sqrt(info)
        return np.where(info > 1e-10 * np.maximum(scale, 1e-300), z, np.nan)


def _null_model(data: pd.DataFrame, spec: CountModelSpec, term: str) -> _NullModel:
    if spec.family == "zinb":
        raise ConfigError(
            "permutation, placebo and MDE support family 'poisson' or 'negbin'; "
            "use the NB counterpart of this zinb spec"
        )
    design = build_design(data, spec)
    if term == "const" or term not in design.X.columns:
        raise ConfigError(f"term {term!r} is not a term of the model; terms are {list(design.X)}")
    fit = fit_design(design.without(term))
    if not fit.converged and spec.family == "negbin" and (fit.dispersion or 0.0) < 1e-3:
        # NB2 with alpha at its boundary is Poisson: score against the Poisson null, which
        # converges, rather than refuse a test on data that are simply not overdispersed.
        fit = fit_design(replace(design, spec=replace(spec, family="poisson")).without(term))
    if not fit.converged:
        raise ModelError(f"the null model (without {term!r}) did not converge: {fit.warnings}")
    mu = fit.fitted.to_numpy()
    alpha = fit.dispersion or 0.0
    return _NullModel(
        design=design,
        fit=fit,
        term=term,
        Z=design.X.drop(columns=[term]).to_numpy(),
        w=mu / (1 + alpha * mu),
        r=(design.y - mu) / (1 + alpha * mu),
    )


def _extreme_count(draws: np.ndarray, observed: float, sided: str) -> int:
    draws = _oriented(draws[np.isfinite(draws)], sided)
    return int(np.sum(draws >= _oriented(observed, sided) - _TIE))


# --------------------------------------------------------------------------- permutation


def _block_permutations(n: int, block_length: int, n_perm: int, rng: np.random.Generator):
    """Row orders: rotate the series by a random offset, cut it into blocks, shuffle them.

    Inside a block consecutive periods stay consecutive, so the predictor keeps its
    autocorrelation up to lag ``block_length - 1`` except at a few seams; the random rotation
    moves the seams between draws. A persistent predictor paired with persistent residuals
    produces large chance correlations, and the permuted series reproduce exactly that,
    which an ordinary (i.i.d.) permutation would not. ``block_length >= n`` gives pure
    circular shifts.
    """
    cuts = np.arange(block_length, n, block_length)
    orders = np.empty((n_perm, n), dtype=int)
    for i in range(n_perm):
        blocks = np.split(np.roll(np.arange(n), -int(rng.integers(n))), cuts)
        orders[i] = np.concatenate([blocks[j] for j in rng.permutation(len(blocks))])
    return orders


def block_permutation_pvalue(
    data: pd.DataFrame,
    spec: CountModelSpec,
    term: str,
    *,
    block_length: int,
    n_perm: int = 999,
    seed: int,
    sided: str = "two-sided",
) -> PermutationResult:
    """Block-permutation p-value of ``term``, ``(1 + #as extreme) / (n_perm + 1)``.

    What is permuted is the focal predictor's residual on the null design (Kennedy 1995),
    not the raw predictor: permuting a trending predictor directly would also scramble its
    relation with the trend and seasonal controls and distort the null distribution.
    """
    check_sided(sided)
    if n_perm < 1 or block_length < 1:
        raise ConfigError(f"n_perm and block_length must be >= 1; found {n_perm}, {block_length}")
    null = _null_model(data, spec, term)
    x_resid = null.residualise(null.x[:, None])[:, 0]
    observed = float(null.score_z(x_resid[:, None])[0])
    if not math.isfinite(observed):
        raise ModelError(f"term {term!r} is redundant given the other terms")
    orders = _block_permutations(
        null.design.nobs, block_length, n_perm, np.random.default_rng(seed)
    )
    draws = null.score_z(x_resid[orders].T)
    p_value = (1 + _extreme_count(draws, observed, sided)) / (n_perm + 1)
    return PermutationResult(
        term=term,
        statistic=observed,
        p_value=p_value,
        n_perm=n_perm,
        block_length=block_length,
        sided=sided,
        seed=seed,
        null_statistics=draws,
    )


# --------------------------------------------------------------------------- placebo dates


def placebo_date_pvalue(
    data: pd.DataFrame,
    spec: CountModelSpec,
    term: str,
    *,
    min_segment: int = 12,
    sided: str = "two-sided",
) -> PlaceboResult:
    """Rank the actual break of a step predictor among all admissible placebo break dates.

    ``term`` must be a step in time order (0 before the break, 1 from it on). Every date
    leaving at least ``min_segment`` periods on each side is a placebo; the p-value is the
    share of dates (the actual one included) whose score statistic is at least as extreme,
    so it cannot fall below ``1 / number of dates``.
    """
    check_sided(sided)
    null = _null_model(data, spec, term)
    x, n = null.x, null.design.nobs
    position = np.arange(n)
    k = int(np.argmax(x == 1))
    if not np.array_equal(x, (position >= k).astype(float)):
        raise ModelError(
            f"term {term!r} is not a step: expected 0 before one break and 1 from it on "
            "(in time order)"
        )
    candidates = np.arange(min_segment, n - min_segment + 1)
    if k not in candidates:
        raise ConfigError(
            f"the break of {term!r} at row {k} leaves fewer than min_segment={min_segment} "
            f"periods on one side of {n}"
        )
    steps = (position[:, None] >= candidates[None, :]).astype(float)
    statistics = null.score_z(steps)
    observed = float(statistics[candidates == k][0])
    admissible = np.isfinite(statistics)
    p_value = _extreme_count(statistics, observed, sided) / int(admissible.sum())
    periods = null.design.periods
    labels = candidates if periods is None else periods[candidates].astype(str)
    return PlaceboResult(
        term=term,
        break_period=k if periods is None else str(periods[k]),
        statistic=observed,
        p_value=p_value,
        sided=sided,
        min_segment=min_segment,
        placebo=pd.DataFrame({"period": labels, "statistic": statistics}),
    )


# --------------------------------------------------------------------------- power and MDE


def _count_quantile(u: np.ndarray, mu: np.ndarray, alpha: float) -> np.ndarray:
    """NB2 (Poisson when alpha = 0) draws by inversion of ``u`` (simulations x periods).

    Inversion lets the same uniforms serve every effect size (common random numbers keep
    the power curve close to monotone). It goes through a table of each period's CDF, built
    by the pmf recursion p(k+1) = p(k) (k + r) / (k + 1) * mu / (r + mu) (Poisson:
    p(k) mu / (k + 1)), which is exact and far cheaper than scipy's incomplete-beta ``cdf``.
    """
    top = float(u.max())
    spread = np.sqrt(mu * (1 + alpha * mu))
    size = int(np.max(mu + 12 * spread)) + 16
    while True:
        cdf = _cdf_table(size, mu, alpha)  # counts x periods
        if np.all(cdf[-1] >= top):
            break
        size *= 2
    draws = np.empty(u.shape)
    for i in range(u.shape[1]):
        draws[:, i] = np.searchsorted(cdf[:, i], u[:, i])  # smallest count with cdf >= u
    return draws


def _cdf_table(size: int, mu: np.ndarray, alpha: float) -> np.ndarray:
    k = np.arange(size - 1, dtype=float)[:, None]
    if alpha > 0:
        r = 1 / alpha
        first = np.exp(r * np.log(r / (r + mu)))
        ratios = (k + r) / (k + 1) * (mu / (r + mu))
    else:
        first = np.exp(-mu)
        ratios = mu / (k + 1)
    pmf = np.vstack([first[None, :], first[None, :] * np.cumprod(ratios, axis=0)])
    return np.cumsum(pmf, axis=0)


def _batch_wald_z(
    Y: np.ndarray,
    X: np.ndarray,
    offset: np.ndarray,
    alpha: float,
    start: np.ndarray,
    j: int,
    max_iter: int = 50,
    tol: float = 1e-8,
) -> tuple[np.ndarray, np.ndarray]:
    """Wald z of coefficient ``j`` for many outcome vectors at once (rows of Y).

    IRLS for a log-link NB2 GLM with alpha held fixed (alpha = 0: Poisson), vectorised over
    simulations. Returns z and a flag per simulation; a fit that does not converge (e.g. an
    all-zero draw) is flagged rather than used.
    """
    B = np.tile(start, (len(Y), 1))
    change = np.full(len(Y), np.inf)
    for _ in range(max_iter):
        eta = np.clip(B @ X.T + offset, -30, 30)
        mu = np.exp(eta)
        w = mu / (1 + alpha * mu)
        work = eta - offset + (Y - mu) / mu
        info = (X.T[None] * w[:, None, :]) @ X  # X' W X per simulation (BLAS, not einsum)
        B_new = np.linalg.solve(info, ((w * work) @ X)[..., None])[..., 0]
        change = np.max(np.abs(B_new - B), axis=1)
        B = B_new
        if np.all(change < tol):
            break
    mu = np.exp(np.clip(B @ X.T + offset, -30, 30))
    info = (X.T[None] * (mu / (1 + alpha * mu))[:, None, :]) @ X
    se = np.sqrt(np.linalg.inv(info)[:, j, j])
    z = B[:, j] / se
    ok = (change < 1e-6) & np.isfinite(z) & Y.any(axis=1)
    return z, ok


class _PowerSimulator:
    """Simulate outcomes from the fitted null model plus an effect of the focal term.

    Outcomes are drawn from the null fit's means times ``exp(b * (x - mean x))`` (centring
    keeps the geometric-mean rate fixed as b varies) with the null fit's NB alpha. Each draw
    is tested with the model-based Wald z of the full design at that fixed alpha: it ignores
    autocorrelation and the uncertainty in alpha, so the MDE is a slightly optimistic
    planning figure for the HAC or permutation test actually reported.
    """

    def __init__(self, null: _NullModel, n_sim: int, seed: int, alpha: float, sided: str):
        design = null.design
        self.alpha, self.sided = alpha, sided
        self.mu0 = null.fit.fitted.to_numpy()
        self.dispersion = null.dispersion
        self.xc = null.x - null.x.mean()
        self.X = design.X.to_numpy()
        self.offset = np.zeros(design.nobs) if design.offset is None else design.offset
        self.j = list(design.X.columns).index(null.term)
        start = null.fit.coefficients["estimate"].reindex(design.X.columns, fill_value=0.0)
        self.start = start.to_numpy()
        self.uniforms = np.random.default_rng(seed).random((n_sim, design.nobs))

    def power(self, log_irr: float) -> tuple[float, int]:
        """Share of simulations rejecting at ``alpha``, and how many fits failed."""
        Y = _count_quantile(self.uniforms, self.mu0 * np.exp(log_irr * self.xc), self.dispersion)
        z, ok = _batch_wald_z(Y, self.X, self.offset, self.dispersion, self.start, self.j)
        reject = ok & (_sided_p(np.where(ok, z, 0.0), self.sided) < self.alpha)
        return float(reject.mean()), int((~ok).sum())


def _simulator(data, spec, term, alpha, sided, n_sim, seed) -> _PowerSimulator:
    check_sided(sided)
    if not 0 < alpha < 1 or n_sim < 1:
        raise ConfigError(f"need 0 < alpha < 1 and n_sim >= 1; found {alpha}, {n_sim}")
    return _PowerSimulator(_null_model(data, spec, term), n_sim, seed, alpha, sided)


def simulated_power(
    data: pd.DataFrame,
    spec: CountModelSpec,
    term: str,
    irr: float,
    *,
    alpha: float = 0.05,
    sided: str = "two-sided",
    n_sim: int = 500,
    seed: int,
) -> float:
    """Simulated power to detect an IRR of ``irr`` per unit of ``term`` (see _PowerSimulator)."""
    if not irr > 0:
        raise ConfigError(f"irr must be positive; found {irr!r}")
    return _simulator(data, spec, term, alpha, sided, n_sim, seed).power(math.log(irr))[0]


def minimum_detectable_effect(
    data: pd.DataFrame,
    spec: CountModelSpec,
    term: str,
    *,
    power: float = 0.8,
    alpha: float = 0.05,
    sided: str = "two-sided",
    n_sim: int = 500,
    seed: int,
    max_irr_per_sd: float = 20.0,
    bisections: int = 8,
) -> MDEResult:
    """Smallest effect of ``term`` detected with probability ``power``, by simulation.

    The search runs on the effect per standard deviation of the predictor (so the bracket
    does not depend on its units): doubling from 0.05 on the log scale until power is
    reached (at most ``log(max_irr_per_sd)``), then bisection. It assumes power grows with
    the effect, which common random numbers make hold up to simulation noise. The effect's
    direction follows ``sided`` ("less": IRR < 1; otherwise IRR > 1).
    """
    if not 0 < power < 1 or max_irr_per_sd <= 1:
        raise ConfigError(
            f"need 0 < power < 1 and max_irr_per_sd > 1; found {power}, {max_irr_per_sd}"
        )
    sim = _simulator(data, spec, term, alpha, sided, n_sim, seed)
    sd = float(np.std(sim.xc, ddof=1))
    direction = -1.0 if sided == "less" else 1.0
    curve: dict[float, tuple[float, int]] = {}

    def reaches(b_sd: float) -> bool:
        if b_sd not in curve:
            curve[b_sd] = sim.power(direction * b_sd / sd)
        return curve[b_sd][0] >= power

    bound = math.log(max_irr_per_sd)
    lo, hi, step = 0.0, None, 0.05
    reaches(0.0)
    while hi is None and lo < bound:
        b = min(step, bound)
        if reaches(b):
            hi = b
        else:
            lo, step = b, step * 2
    if hi is not None:
        for _ in range(bisections):
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if reaches(mid) else (mid, hi)

    b_sd = np.array(sorted(curve))
    table = pd.DataFrame(
        {
            "log_irr": direction * b_sd / sd,
            "irr_per_sd": np.exp(direction * b_sd),
            "power": [curve[b][0] for b in b_sd],
            "n_failed": [curve[b][1] for b in b_sd],
        }
    )
    table.insert(0, "irr", np.exp(table["log_irr"]))
    mde_log = direction * hi / sd if hi is not None else math.nan
    return MDEResult(
        term=term,
        mde_irr=math.exp(mde_log),
        mde_log_irr=mde_log,
        mde_irr_per_sd=math.exp(mde_log * sd),
        predictor_sd=sd,
        target_power=power,
        alpha=alpha,
        sided=sided,
        n_sim=n_sim,
        seed=seed,
        achieved=hi is not None,
        null_dispersion=sim.dispersion,
        curve=table,
    )
