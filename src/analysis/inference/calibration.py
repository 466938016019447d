"""How the reported tests behave on data like ours: size, power, and simulation-based intervals.

Every number here comes from running the *reported* procedure (the same
:class:`small_sample.Procedure` object that produced the p-value) on outcome vectors simulated
like the data:

    y_t ~ NB2(mean = exp(base_t + b (x_t - mean x) + gamma y_{t-1}) * exp(u_t - s2/2), alpha')

* ``base`` is the fitted linear predictor of the generating model without the focal term and
  without the lagged outcome (offsets, trend, season, year effects and other controls stay at
  their fitted values, so a null with year effects keeps the catalogue's yearly reporting
  density exactly as observed);
* ``gamma`` is the fitted coefficient of the lagged outcome, and ``y_{t-1}`` the *simulated*
  previous count (the observed one where the previous period lies outside the sample), so the
  dependence the model controls for is reproduced, not held fixed;
* means are capped at ten times the largest observed count (a large lag coefficient would
  otherwise let a draw explode);
* ``u`` is a stationary Gaussian AR(1) over calendar periods (gaps included) for the serial
  dependence the model leaves in its residuals, with ``(rho, s2)`` from the Pearson residuals'
  autocorrelation at lags 1 and 2: under the model ``log(1 + c_d) = s2 rho^d`` with ``c_d`` the
  lag-d residual covariance scaled by the means. The NB ``alpha'`` is lowered so that the total
  overdispersion stays the fitted ``alpha``: ``(1 + alpha')exp(s2) = 1 + alpha``. For a claim
  about the outcome's own dependence the null has no such term (its null *is* no dependence).

Each draw is then tested as the data were: the procedure regresses it on its *own* lagged
outcome (``Design.matrices``), drops the strata it leaves without events, and builds its
permutation blocks or placebo dates again on the rows that remain (``Procedure.pvalues``);
a test checks this against ``build_design`` run on the simulated series. (Exposures are held:
a detection share or a count of incidents with a fatality figure describes how the outcome was
recorded, not the outcome.)

Size: the focal effect ``b`` at 0, the generating model fitted without the focal term; the
share of draws the procedure rejects at 5% is the test's size, with its Monte Carlo s.e. A
test that cannot reach 5% on these data has no size (not a number), whatever its draws give.
Power: the generating model is the full fit (its alpha); ``b`` moves along a grid in the
claim's direction, the same draws (common random numbers: uniforms inverted through the
Poisson quantile) at every point, so the curve is close to monotone; the minimum detectable
effect is bisected. For a claim about the outcome's own lag, raising ``gamma`` on the fitted
levels would let the series run away, so at each ``gamma`` the levels are refitted with the lag
coefficient held there (as intervals found by simulation do). Whatever the term, a point whose
samples hold on average more than :data:`EVENT_FACTOR` times the observed events is not data
like ours: it is flagged in the curve and never counts towards the MDE (the search stops
there). At a reference effect (the adequate effect the verdicts use) the draws also give the
exaggeration of significant estimates (Gelman & Carlin 2014: type M and type S errors).
A draw whose fit fails is counted and excluded, never a non-rejection.

Work is split into chunks of draws, each seeded from a text key and its index, and mapped with
any ``map(fn, items)``: the numbers do not depend on how chunks are spread over workers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ModelError
from ..models.batch import fit_batch, weighted_gram
from ..models.covariance import hac_covariance
from ..models.design import Design, drop_eventless, lag_rows, period_strata
from ..models.fit import hac_lags
from ..models.solve import estimable, solve_batched
from ..results import EffectScale, Exaggeration, Interval, PowerCheck, SizeCheck
from .small_sample import Procedure, invert, normal_p, rate_se, rejects, seed_from

#: Budget of one chunk in array cells (draws x resampling draws x periods): large enough to
#: vectorise, small enough to bound memory (~40 MB per array).
CHUNK_CELLS = 5_000_000
#: Largest effect on the display scale the power search tries (ratio per display unit).
SEARCH_LIMIT = 20.0
#: A power point whose samples hold on average more than this many times the observed events
#: is not data like ours: flagged, and never used for the MDE.
EVENT_FACTOR = 2.0


@dataclass(frozen=True, eq=False)
class LagLink:
    """The lagged outcome as the generator needs it: its coefficient, the row holding each
    row's previous period (-1: outside the sample) and the observed lag values."""

    gamma: float
    previous: np.ndarray
    observed: np.ndarray


@dataclass(frozen=True, eq=False)
class Generator:
    """Draws outcome vectors like the data (module docstring); ``effect`` is the focal
    coefficient on the model scale (for a lag focal term: the lag coefficient)."""

    base: np.ndarray
    x: np.ndarray
    alpha: float
    rho: float
    s2: float
    positions: np.ndarray
    lag: LagLink | None
    focal_is_lag: bool
    strata: np.ndarray | None
    description: str
    log_cap: float = math.log(1e4)  # largest mean a draw may reach (explosive dependence)
    observed_events: float = math.nan  # events in the data the generator was fitted to

    def draw(self, effect: float, n_draws: int, rng: np.random.Generator) -> np.ndarray:
        n = len(self.base)
        span = int(self.positions[-1] - self.positions[0]) + 1
        latent = np.zeros((n_draws, n))
        if self.s2 > 0:
            path = np.empty((n_draws, span))
            shocks = rng.standard_normal((n_draws, span))
            path[:, 0] = shocks[:, 0] * math.sqrt(self.s2)
            innovation = math.sqrt(self.s2 * (1 - self.rho**2))
            for t in range(1, span):
                path[:, t] = self.rho * path[:, t - 1] + innovation * shocks[:, t]
            latent = path[:, self.positions - self.positions[0]] - self.s2 / 2
        if self.alpha > 0:
            mix = rng.gamma(1 / self.alpha, self.alpha, size=(n_draws, n))
        else:
            mix = np.ones((n_draws, n))
        uniforms = rng.random((n_draws, n))
        gamma = effect if self.focal_is_lag else (self.lag.gamma if self.lag else 0.0)
        slope = 0.0 if self.focal_is_lag else effect
        eta = self.base + slope * (self.x - self.x.mean()) + latent
        if self.lag is None or gamma == 0.0:
            lam = np.exp(np.minimum(eta, self.log_cap)) * mix
            return poisson_quantile(uniforms, lam)
        Y = np.empty((n_draws, n))
        for t in range(n):
            prev = self.lag.previous[t]
            lagged = Y[:, prev] if prev >= 0 else self.lag.observed[t]
            lam = np.exp(np.minimum(eta[:, t] + gamma * lagged, self.log_cap)) * mix[:, t]
            Y[:, t] = poisson_quantile(uniforms[:, t], lam)
        return Y

    def mask(self, Y: np.ndarray) -> np.ndarray | None:
        """Rows of strata a draw leaves without events get weight 0 (the reported procedure
        drops such strata under period effects)."""
        return None if self.strata is None else drop_eventless(Y, self.strata)


def poisson_quantile(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Smallest count k with P(Y <= k) >= u for Y ~ Poisson(lam), elementwise: the pmf
    recursion p(k+1) = p(k) lam/(k+1) run until every cell is placed (cells with a large mean
    go to scipy's quantile, which the recursion would walk too long for)."""
    lam = np.asarray(lam, dtype=float)
    u = np.asarray(u, dtype=float)
    out = np.zeros(lam.shape)
    large = lam > 40
    if large.any():
        out[large] = stats.poisson.ppf(u[large], lam[large])
    small = ~large
    lam_s, u_s = lam[small], u[small]
    pmf = np.exp(-lam_s)
    cdf = pmf.copy()
    count = np.zeros(lam_s.shape)
    k = 0
    while True:
        below = cdf < u_s
        if not below.any() or k > 400:
            break
        k += 1
        pmf = pmf * lam_s / k
        cdf = cdf + pmf
        count += below
    out[small] = count
    return out


def latent_dependence(y, mu, alpha, positions) -> tuple[float, float]:
    """(rho, s2) of the latent AR(1) from the lag-1 and lag-2 Pearson residual covariances."""
    variance = mu + alpha * mu**2
    e = (y - mu) / np.sqrt(variance)
    g = []
    for d in (1, 2):
        later = np.searchsorted(positions, positions + d)
        found = later < len(positions)
        found[found] = positions[later[found]] == positions[found] + d
        i, j = np.flatnonzero(found), later[found]
        if len(i) < 3:
            g.append(0.0)
            continue
        scale = np.sum(mu[i] * mu[j] / np.sqrt(variance[i] * variance[j]))
        c = np.sum(e[i] * e[j]) / scale if scale > 0 else 0.0
        g.append(math.log1p(c) if c > -1 else 0.0)
    g1, g2 = g
    if g1 <= 0:
        return 0.0, 0.0
    rho = min(max(g2 / g1, 0.05), 0.95) if g2 > 0 else 0.05
    s2 = min(g1 / rho, math.log1p(alpha) * 0.999) if alpha > 0 else 0.0
    return rho, max(s2, 0.0)


def generator_for(
    design: Design, term: str, *, null: bool, lag_term: str | None, dependence: bool
) -> Generator:
    """The generator of the module docstring, fitted to ``design``: without the focal term
    when ``null`` (size), with it otherwise (power)."""
    fitted_design = design.without(term) if null else design
    names = list(fitted_design.X.columns)
    offset = np.zeros(design.nobs) if design.offset is None else design.offset
    family = design.spec.distribution.simulated_as
    fit = fit_batch(design.y[None], fitted_design.X.to_numpy(dtype=float), offset, family=family)
    if not fit.converged[0]:
        raise ModelError(
            f"the {'null' if null else 'full'} model has no finite estimate on these data (its likelihood "
            "keeps rising, e.g. when every event lies on one side of the focal term)"
        )
    params = dict(zip(names, fit.beta[0]))
    mu = fit.mu[0]
    eta = np.log(np.maximum(mu, 1e-300))
    x = design.column(term)
    focal_is_lag = term == lag_term
    if not null and not focal_is_lag:  # centred as draw() adds it back: the fit at b = estimate
        eta = eta - params[term] * (x - x.mean())
    positions = design.calendar
    lag = None
    if lag_term is not None:
        observed = design.column(lag_term)
        gamma = params.get(lag_term, 0.0)
        eta = eta - gamma * observed
        lag = LagLink(gamma, lag_rows(positions), observed)
    alpha = float(fit.alpha[0])  # 0 for a family without dispersion
    rho, s2 = latent_dependence(design.y, mu, alpha, positions) if dependence else (0.0, 0.0)
    strata = period_strata(design.periods, design.spec) if design.spec.period_effects else None
    alpha_draw = max((1 + alpha) * math.exp(-s2) - 1, 0.0)
    parts = [f"NB alpha {alpha:.2f}" if alpha > 0 else "Poisson"]
    if lag is not None and not focal_is_lag:
        parts.append(f"lagged outcome simulated (coefficient {lag.gamma:.2f})")
    parts.append(
        f"latent AR(1) rho {rho:.2f}, variance {s2:.2f}"
        if s2 > 0
        else "no latent serial dependence"
    )
    if strata is not None:
        parts.append("yearly levels as fitted (period effects)")
    description = ("null: focal effect 0; " if null else "fitted model; ") + ", ".join(parts)
    # A simulated mean may not exceed ten times the largest count observed: dynamic draws with
    # a large lag coefficient would otherwise explode into counts no border has seen.
    log_cap = math.log(max(50.0, 10.0 * float(design.y.max())))
    return Generator(
        eta, x, alpha_draw, rho, s2, positions, lag, focal_is_lag, strata, description, log_cap,
        float(design.y.sum()),
    )  # fmt: skip


def held_generator(design: Design, term: str, lag_term: str | None, b0: float) -> Generator:
    """The generator with the focal coefficient held at ``b0`` and every other coefficient
    refitted given it (no latent dependence): for a lag focal term, the levels that keep the
    series like the data at that lag coefficient; ``draw(b0)`` puts ``b0`` back in."""
    x = design.column(term)
    held = design.with_offset(b0 * x)
    generator = generator_for(held, term, null=True, lag_term=lag_term, dependence=False)
    description = generator.description.replace(
        "null: focal effect 0", "focal coefficient held, other terms refitted"
    )
    return replace(generator, base=generator.base - b0 * x, description=description)


# --------------------------------------------------------------------------- chunks


def _chunks(n: int, procedure: Procedure, resampled: bool = True) -> list[int]:
    """Draws per chunk for ``n`` draws of ``procedure`` (``resampled``: with its reference
    distribution, else the statistic alone): fixed by the problem's size, so the same key gives
    the same chunks (and numbers) however the chunks are spread."""
    inner = (procedure.draws or len(getattr(procedure, "candidates", ())) or 1) if resampled else 1
    width = inner * procedure.problem.design.nobs
    size = int(min(1000, max(10, CHUNK_CELLS // width)))
    return [size] * (n // size) + ([n % size] if n % size else [])


def _size_chunk(task: tuple) -> tuple[int, int, int, int, int]:
    """Rejections (reported test, Wald) and failures in one seeded chunk of null draws."""
    procedure, generator, design, term, key, index, size, level = task
    rng = np.random.default_rng(seed_from(f"{key}/size/{index}"))
    Y = generator.draw(0.0, size, rng)
    mask = generator.mask(Y)
    _, p, ok, _ = procedure.pvalues(Y, mask)
    wald_z, wald_ok = wald_statistics(design, term, Y, mask)
    wald_reject = wald_ok & rejects(normal_p(wald_z, "two-sided"), level)
    return (
        int((ok & rejects(p, level)).sum()),
        int(ok.sum()),
        int(wald_reject.sum()),
        int(wald_ok.sum()),
        size,
    )


def _power_chunk(task: tuple) -> tuple[int, int, float, np.ndarray]:
    """Rejections, usable draws and events in one seeded chunk of draws at one effect; with
    ``design`` given, also the focal estimates of the draws that reject (for type M)."""
    procedure, generator, key, index, size, effect, level, design = task
    rng = np.random.default_rng(seed_from(f"{key}/power/{index}"))
    Y = generator.draw(effect, size, rng)
    mask = generator.mask(Y)
    _, p, ok, _ = procedure.pvalues(Y, mask)
    reject = ok & rejects(p, level)
    estimates = np.array([])
    if design is not None:
        beta, fitted = focal_estimates(design, procedure.problem.term, Y, mask)
        estimates = beta[reject & fitted]
    return int(reject.sum()), int(ok.sum()), float(Y[ok].sum()), estimates


def focal_estimates(
    design: Design, term: str, Y: np.ndarray, mask
) -> tuple[np.ndarray, np.ndarray]:
    """The focal coefficient of the full model fitted to each draw on its own design, and
    whether the fit converged."""
    offset = np.zeros(design.nobs) if design.offset is None else design.offset
    fit = fit_batch(
        Y, design.matrices(Y), offset, family=design.spec.distribution.simulated_as, mask=mask
    )
    j = list(design.X.columns).index(term)
    return fit.beta[:, j], fit.converged


def wald_statistics(
    design: Design, term: str, Y: np.ndarray, mask
) -> tuple[np.ndarray, np.ndarray]:
    """HAC Wald z of the focal term for many draws, each on its own design (alpha held at its
    estimate in the sandwich, which is the beta block of the reported Newey-West covariance);
    a draw whose mask leaves the focal term collinear with others has none."""
    X = design.matrices(Y)
    offset = np.zeros(design.nobs) if design.offset is None else design.offset
    fit = fit_batch(Y, X, offset, family=design.spec.distribution.simulated_as, mask=mask)
    a = fit.alpha[:, None]
    m = np.ones_like(Y) if mask is None else mask
    w = m * fit.mu / (1 + a * fit.mu)
    scores = (m * (Y - fit.mu) / (1 + a * fit.mu))[:, :, None] * (X if X.ndim == 3 else X[None])
    gram = weighted_gram(X, w)
    k = X.shape[-1]
    bread = solve_batched(gram, np.broadcast_to(np.eye(k), gram.shape).copy())
    if design.spec.cov == "hac":
        cov = hac_covariance(scores, bread, design.calendar, hac_lags(design))
    else:
        cov = bread
    j = list(design.X.columns).index(term)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = fit.beta[:, j] / np.sqrt(cov[:, j, j])
    return z, fit.converged & np.isfinite(z) & estimable(gram, bread, j)


def size_check(
    procedure: Procedure,
    generator: Generator,
    design: Design,
    term: str,
    *,
    n_sims: int,
    key: str,
    level: float = 0.05,
    mapper: Callable = map,
) -> SizeCheck:
    """Simulated size of the reported test and of the HAC Wald test, with Monte Carlo s.e.; a
    test that cannot reach ``level`` on these data has none (it never rejects, by
    construction, and a size of 0 would read as a check)."""
    if procedure.min_attainable_p > level:
        return SizeCheck(
            nominal=level, size=math.nan, mc_se=math.nan, n_sims=0, n_failed=0,
            null=generator.description, reachable=False,
        )  # fmt: skip
    tasks = [
        (procedure, generator, design, term, key, i, size, level)
        for i, size in enumerate(_chunks(n_sims, procedure))
    ]
    counts = np.array(list(mapper(_size_chunk, tasks)), dtype=float).sum(axis=0)
    rejected, ok, wald_rejected, wald_ok, total = counts
    size = rejected / ok if ok else math.nan
    wald = wald_rejected / wald_ok if wald_ok else math.nan
    return SizeCheck(
        nominal=level,
        size=size,
        mc_se=rate_se(size, ok),
        n_sims=int(total),
        n_failed=int(total - ok),
        null=generator.description,
        wald_size=wald,
        wald_mc_se=rate_se(wald, wald_ok),
    )


def power_check(
    procedure: Procedure,
    generator: Generator,
    scale: EffectScale,
    *,
    direction: float,
    n_sims: int,
    key: str,
    target: float = 0.8,
    level: float = 0.05,
    guess: float = 2.0,
    bisections: int = 3,
    mapper: Callable = map,
    generator_at: Callable[[float], Generator] | None = None,
    design: Design | None = None,
    reference: float | None = None,
) -> PowerCheck:
    """Power curve and minimum detectable effect (display scale) of the reported test.

    The search starts at ``guess`` (a ratio on the display scale, e.g. the Wald planning
    figure), comes down while its samples hold more than :data:`EVENT_FACTOR` times the
    observed events, brackets the target power by halving or doubling the log ratio, and
    bisects; the MDE is the smallest evaluated ratio that reaches the target (conservative by
    the last bisection step). No effect beyond :data:`SEARCH_LIMIT` is searched, nor beyond a
    point whose event counts are unlike the data. ``generator_at(b)`` gives the generator at
    coefficient ``b`` where it depends on it (a lag focal term: levels refitted); ``design``
    and ``reference`` (a ratio >= 1 in the claim's direction) add the exaggeration of
    significant estimates at that effect."""
    if procedure.min_attainable_p > level:
        return _unreachable(procedure, generator, target, level)
    curve = _PowerCurve(
        procedure, generator, scale, direction, n_sims, key, level, mapper, generator_at, design,
        target,
    )  # fmt: skip
    exaggeration = None
    if reference is not None and design is not None and reference > 1:
        point = curve.evaluate(reference, with_estimates=True)
        exaggeration = _exaggeration(
            reference, direction, scale, point, curve.estimates[reference], n_sims
        )
    high, limit, limited = _search(curve, guess, bisections)
    ratios = sorted(curve.points)
    mde = math.nan if high is None else (high if direction > 0 else 1 / high)
    described = generator.description
    if generator_at is not None:
        described = curve.points[ratios[0]]["generator"] + " (at each effect)"
    return PowerCheck(
        reachable=True,
        target=target,
        alpha=level,
        n_sims=n_sims,
        mde=mde,
        mde_log=math.log(mde) / scale.multiplier if math.isfinite(mde) else math.nan,
        search_limit=limit if direction > 0 else 1 / limit,
        curve=curve.table(),
        generator=described,
        observed_events=generator.observed_events,
        event_factor=EVENT_FACTOR,
        event_limited=limited,
        exaggeration=exaggeration,
    )


def _unreachable(procedure: Procedure, generator: Generator, target: float, level: float):
    """No power to report: the smallest p-value the test can give exceeds the level."""
    return PowerCheck(
        reachable=False,
        target=target,
        alpha=level,
        n_sims=0,
        mde=math.nan,
        mde_log=math.nan,
        search_limit=SEARCH_LIMIT,
        curve=pd.DataFrame(columns=list(CURVE_COLUMNS)),
        reason=f"the smallest p-value this test can give is {procedure.min_attainable_p:.3f} > {level}",
        generator=generator.description,
        observed_events=generator.observed_events,
        event_factor=EVENT_FACTOR,
    )


@dataclass(eq=False)
class _PowerCurve:
    """Power of the reported test at ratios on the display scale, each simulated once (in
    seeded chunks) and kept; with ``with_estimates`` also the focal estimates of the draws
    that reject at that ratio (for the exaggeration)."""

    procedure: Procedure
    generator: Generator
    scale: EffectScale
    direction: float
    n_sims: int
    key: str
    level: float
    mapper: Callable
    generator_at: Callable[[float], Generator] | None
    design: Design | None
    target: float

    def __post_init__(self) -> None:
        self.sizes = _chunks(self.n_sims, self.procedure)
        self.points: dict[float, dict] = {}
        self.estimates: dict[float, np.ndarray] = {}

    def evaluate(self, ratio: float, with_estimates: bool = False) -> dict:
        if ratio not in self.points or (with_estimates and ratio not in self.estimates):
            effect = self.direction * math.log(ratio) / self.scale.multiplier
            at = self.generator if self.generator_at is None else self.generator_at(effect)
            fit_design = self.design if with_estimates else None
            tasks = [
                (self.procedure, at, self.key, i, size, effect, self.level, fit_design)
                for i, size in enumerate(self.sizes)
            ]
            parts = list(self.mapper(_power_chunk, tasks))
            rejected, usable = sum(p[0] for p in parts), sum(p[1] for p in parts)
            events = sum(p[2] for p in parts) / usable if usable else math.nan
            self.points[ratio] = {
                "power": rejected / usable if usable else math.nan,
                "n_failed": int(self.n_sims - usable),
                "events": events,
                "like_data": bool(events <= EVENT_FACTOR * self.generator.observed_events),
                "generator": at.description,
            }
            if with_estimates:
                self.estimates[ratio] = np.concatenate([p[3] for p in parts])
        return self.points[ratio]

    def like_data(self, ratio: float) -> bool:
        return self.evaluate(ratio)["like_data"]

    def reached(self, ratio: float) -> bool:
        point = self.evaluate(ratio)
        return point["like_data"] and point["power"] >= self.target

    def table(self) -> pd.DataFrame:
        ratios = sorted(self.points)
        multiplier = self.scale.multiplier
        return pd.DataFrame(
            {
                "effect": [r if self.direction > 0 else 1 / r for r in ratios],
                "log_effect": [self.direction * math.log(r) / multiplier for r in ratios],
                "power": [self.points[r]["power"] for r in ratios],
                "n_failed": [self.points[r]["n_failed"] for r in ratios],
                "events": [self.points[r]["events"] for r in ratios],
                "like_data": [self.points[r]["like_data"] for r in ratios],
            },
            columns=list(CURVE_COLUMNS),
        )


def _search(curve: _PowerCurve, guess: float, bisections: int) -> tuple[float | None, float, bool]:
    """The smallest evaluated ratio reaching the target power (None: not reached), the largest
    ratio searched, and whether the search stopped at samples unlike the data: from ``guess``
    down to samples like the data, then halving or doubling the log ratio to bracket the
    target, then ``bisections`` bisections."""
    limit, limited = SEARCH_LIMIT, False
    ratio = min(max(guess, 1.1), limit)
    while not curve.like_data(ratio) and ratio > 1.05:  # down to series like the data
        limit, ratio, limited = ratio, math.sqrt(ratio), True
    low, high = 1.0, None
    if not curve.like_data(ratio):
        limit, limited = ratio, True
    elif curve.reached(ratio):  # step down (halving the log ratio) to bracket from below
        high = ratio
        while high > 1.05:
            lower = math.sqrt(high)
            if not curve.reached(lower):
                low = lower
                break
            high = lower
    else:  # step up (doubling the log ratio) until the target, the limit or unlike data
        low = ratio
        while low < limit:
            upper = min(low**2, limit)
            if not curve.like_data(upper):
                limit, limited = upper, True
                break
            if curve.reached(upper):
                high = upper
                break
            low = upper
    if high is not None:
        for _ in range(bisections):
            mid = math.sqrt(low * high)
            low, high = (low, mid) if curve.reached(mid) else (mid, high)
    return high, limit, limited


#: Columns of a power curve.
CURVE_COLUMNS = ("effect", "log_effect", "power", "n_failed", "events", "like_data")


def _exaggeration(
    reference: float,
    direction: float,
    scale: EffectScale,
    point: dict,
    significant: np.ndarray,
    n_sims: int,
) -> Exaggeration:
    """Gelman & Carlin's (2014) design analysis at a true effect ``reference``: power, the
    median significant estimate, the mean ratio of significant estimates' size to the true
    one (type M) and the share of significant estimates with the wrong sign (type S)."""
    true = direction * math.log(reference) / scale.multiplier
    usable = n_sims - point["n_failed"]
    power = point["power"]
    if not len(significant):
        median, type_m, type_s = math.nan, math.nan, math.nan
    else:
        median = scale.display(float(np.median(significant)))
        type_m = float(np.mean(np.abs(significant)) / abs(true))
        type_s = float(np.mean(np.sign(significant) != np.sign(true)))
    return Exaggeration(
        effect=scale.display(true),
        power=power,
        mc_se=rate_se(power, usable),
        median_significant=median,
        type_m=type_m,
        type_s=type_s,
        n_significant=len(significant),
        like_data=point["like_data"],
    )


def _statistic_chunk(task: tuple) -> np.ndarray:
    procedure, generator, key, index, size, effect = task
    rng = np.random.default_rng(seed_from(f"{key}/invert/{index}"))
    Y = generator.draw(effect, size, rng)
    statistic, ok = procedure.statistics(Y, generator.mask(Y))
    return np.where(ok, statistic, np.nan)


def invert_by_simulation(
    procedure: Procedure,
    design: Design,
    term: str,
    lag_term: str | None,
    estimate: float,
    scale: float,
    *,
    n_sims: int,
    key: str,
    mapper: Callable = map,
    limit: float = math.log(1000.0),
) -> Interval:
    """Interval for a test that an offset cannot invert (a permutation of the outcome itself):
    ``b0`` is kept when the observed statistic lies inside the central 95% of the statistic's
    distribution simulated with the focal coefficient at ``b0`` (a Neyman construction with
    the same statistic; the other coefficients refitted with the focal one held at ``b0``)."""
    observed = procedure.result().statistic

    def pvalue_at(b0: float) -> float:
        generator = held_generator(design, term, lag_term, b0)
        tasks = [
            (procedure, generator, key, i, size, b0)
            for i, size in enumerate(_chunks(n_sims, procedure, resampled=False))
        ]
        draws = np.concatenate(list(mapper(_statistic_chunk, tasks)))
        draws = draws[np.isfinite(draws)]
        if not len(draws):
            return math.nan
        below = (1 + np.sum(draws <= observed)) / (len(draws) + 1)
        above = (1 + np.sum(draws >= observed)) / (len(draws) + 1)
        return min(1.0, 2 * min(below, above))

    return invert(
        lambda shifts: np.array([pvalue_at(b0) for b0 in shifts]),
        estimate,
        scale,
        method=f"Monte Carlo inversion of the test statistic ({n_sims:,} draws per value)",
        rounds=6,
        limit=limit,
    )


def offset_interval(
    procedure: Procedure, estimate: float, scale: float, limit: float = math.log(1000.0)
) -> Interval:
    """Interval that inverts the reported test itself: the focal coefficient held at each
    ``b0`` by an offset, the same draws, two-sided at 5%; searched up to ``limit`` from the
    estimate on the coefficient's scale (beyond it a side is unbounded)."""
    label = {
        "block_permutation": "inverted block-permutation test",
        "placebo_dates": "inverted placebo-date test",
    }.get(getattr(procedure, "method", ""), "inverted test")
    return invert(
        procedure.pvalues_at, estimate, scale, method=label, limit=limit, points=3, rounds=5
    )


__all__: Sequence[Any] = (
    "Generator",
    "focal_estimates",
    "generator_for",
    "held_generator",
    "invert_by_simulation",
    "latent_dependence",
    "offset_interval",
    "power_check",
    "size_check",
    "wald_statistics",
)
