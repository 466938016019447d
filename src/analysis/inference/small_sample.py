"""Small-sample tests of one focal term of a count model, and multiplicity corrections.

With one or two hundred autocorrelated monthly counts (or a dozen annual ones), asymptotic
p-values mislead, so each hypothesis is tested with a resampling or placebo test whose
reference distribution is built from the data. All of them rest on one cheap device: fit the
*null* model (the spec without the focal term) once, then score any candidate column ``x``:

    z(x) = x~' r / sqrt(x~' W x~),   r = (y - mu) / (1 + alpha mu),   W = mu / (1 + alpha mu),

with ``x~`` the W-weighted residual of ``x`` on the null design: the Rao score test of adding
``x`` to the null Poisson (alpha = 0) or NB2 model. No refit per draw, so thousands of draws
cost a few matrix products.

The tests (each a *procedure* that can also be run on thousands of simulated outcome vectors
at once, which is how :mod:`calibration` measures its size and power):

* :class:`BlockPermutation`: permute the focal predictor's residual on the null design
  (Kennedy 1995) in blocks of consecutive *calendar* periods after a random rotation, so the
  predictor keeps its short-range autocorrelation; rows a gap separates are never in one block.
  p = (1 + #as extreme) / (B + 1).
* :class:`StratifiedPermutation`: for a claim about the outcome's own dependence (its lag is
  the focal term), permute the outcome within strata (e.g. each season half of each year) and
  recompute its lag. The null design must be the strata alone; then the fitted means and NB
  alpha depend on the data only through what the permutation keeps, and the test is exact
  under "months within a stratum are exchangeable", whatever the yearly reporting density.
* :class:`PlaceboDates`: rank the actual break of a step among every admissible placebo date:
  at least ``min_segment`` rows on each side, and none inside a registered window around a
  known break (a war, a step in reporting density), whose own effect the model leaves out.
  p = share of admissible dates at least as extreme; it cannot fall below 1/#dates.

Intervals invert the same test: the focal coefficient held at ``b0`` by an offset, the test run
again (same draws), and the 95% interval is every ``b0`` it does not reject (two-sided), found
by bracketing and bisection (:func:`invert`).

Seeds: pass an integer; derive it from a readable key with :func:`seed_from` so results
repeat exactly across runs and machines.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ConfigError, ModelError
from ..models.batch import fit_batch, weighted_gram
from ..models.design import Design, lag_rows, period_strata
from ..models.families import Family
from ..models.solve import solve_batched
from ..results import Interval, SmallSampleTest, check_sided, mc_standard_error

_TIE = 1e-10  # statistics closer than this count as ties (and so as "as extreme")


def rejects(p: np.ndarray | float, level: float) -> np.ndarray:
    """The one rejection rule, for every test, simulation and interval: ``p <= level`` (an
    enumerated or placebo p can sit exactly at the level; a missing p never rejects)."""
    return np.asarray(p, dtype=float) <= level


def as_extreme(draws: np.ndarray, observed: np.ndarray | float, sided: str) -> np.ndarray:
    """The one tie rule: a draw at least as extreme as the observed statistic for ``sided``,
    within :data:`_TIE` (a draw equal to the observed one up to rounding counts)."""
    return oriented(draws, sided) >= oriented(observed, sided) - _TIE


def rate_se(rate: float, n: int) -> float:
    """Monte Carlo s.e. of a share of ``n`` simulated draws (a size, a power; NaN without any)."""
    se = mc_standard_error(rate, n) if math.isfinite(rate) else None
    return math.nan if se is None else se


def seed_from(key: str) -> int:
    """A 64-bit seed from a text key (first 8 bytes of its SHA-256): same key, same draws."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")


# --------------------------------------------------------------------------- multiplicity


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


# --------------------------------------------------------------------------- scores


def oriented(z: np.ndarray | float, sided: str) -> np.ndarray:
    """Map a signed statistic so that larger always means more extreme for ``sided``."""
    z = np.asarray(z, dtype=float)
    if sided == "greater":
        return z
    if sided == "less":
        return -z
    return np.abs(z)


def normal_p(z: np.ndarray | float, sided: str) -> np.ndarray:
    """Normal-approximation p-value of a score or Wald z, by sidedness."""
    if sided == "greater":
        return stats.norm.sf(z)
    if sided == "less":
        return stats.norm.cdf(z)
    return 2 * stats.norm.sf(np.abs(z))


@dataclass(frozen=True, eq=False)
class NullFits:
    """Null-model fits of a batch of outcome vectors (rows), ready for scoring columns.

    ``Z`` is the null design, shared (n x k) or one per draw (draws x n x k: a draw's own
    lagged outcome). At the null maximum the score equations hold, ``Z' r = 0``, so the
    numerator of the score statistic needs no residualising (``x~' r = x' r``) and its variance
    is the quadratic form ``x'Wx - (x'WZ)(Z'WZ)^-1(Z'Wx)``: two matrix products per batch of
    columns, whatever the number of strata dummies in Z."""

    Z: np.ndarray
    mu: np.ndarray
    alpha: np.ndarray
    w: np.ndarray
    r: np.ndarray
    ok: np.ndarray
    inverse: np.ndarray  # (Z'WZ)^-1 per draw

    @classmethod
    def fit(cls, Y, Z, offset, family: Family, mask=None, start=None) -> NullFits:
        Y = np.atleast_2d(Y)
        mask = np.ones_like(Y) if mask is None else mask
        fit = fit_batch(Y, Z, offset, family=family, mask=mask, start=start)
        a = fit.alpha[:, None]
        w = mask * fit.mu / (1 + a * fit.mu)
        r = mask * (Y - fit.mu) / (1 + a * fit.mu)
        gram = weighted_gram(Z, w)
        identity = np.broadcast_to(np.eye(Z.shape[-1]), gram.shape).copy()
        return cls(Z, fit.mu, fit.alpha, w, r, fit.converged, solve_batched(gram, identity))

    def take(self, draws: np.ndarray) -> NullFits:
        """The fits of some draws only."""
        Z = self.Z if self.Z.ndim == 2 else self.Z[draws]
        return NullFits(Z, self.mu[draws], self.alpha[draws], self.w[draws], self.r[draws],
                        self.ok[draws], self.inverse[draws])  # fmt: skip

    def _cross(self, columns: np.ndarray) -> np.ndarray:
        """``x'WZ`` for each column and draw (draws x m x k), as one large matrix product."""
        Z = self.Z
        if columns.ndim == 2:  # shared n x m columns
            WZ = self.w[:, :, None] * (Z[None] if Z.ndim == 2 else Z)
            return np.einsum("nm,snk->smk", columns, WZ, optimize=True)
        draws, m, n = columns.shape
        weighted = columns * self.w[:, None, :]
        if Z.ndim == 3:
            return np.matmul(weighted, Z)
        return (weighted.reshape(-1, n) @ Z).reshape(draws, m, Z.shape[1])

    def residualise(self, columns: np.ndarray) -> np.ndarray:
        """W-weighted residuals of columns on Z, per draw (draws x m x n)."""
        coef = self._cross(columns) @ self.inverse  # draws x m x k
        draws, m, k = coef.shape
        if self.Z.ndim == 3:
            fitted = np.matmul(coef, np.swapaxes(self.Z, 1, 2))
        else:
            fitted = (coef.reshape(-1, k) @ self.Z.T).reshape(draws, m, -1)
        values = columns.T[None] if columns.ndim == 2 else columns
        return values - fitted

    def score_z(self, columns: np.ndarray, r: np.ndarray | None = None) -> np.ndarray:
        """Score z of adding each column (n x m shared, or draws x m x n) to the null model;
        NaN where a column lies in the span of Z. ``r`` replaces the null residuals
        (draws x m x n) when each column comes with its own outcome (a permuted outcome)."""
        cross = self._cross(columns)
        quadratic = np.einsum("smk,smk->sm", cross @ self.inverse, cross)
        if columns.ndim == 2:
            total = np.einsum("nm,sn->sm", columns**2, self.w)
            numerator = np.einsum("nm,sn->sm", columns, self.r) if r is None else None
        else:
            total = np.einsum("smn,smn,sn->sm", columns, columns, self.w)
            numerator = np.einsum("smn,sn->sm", columns, self.r) if r is None else None
        if r is not None:
            numerator = np.einsum("smn,smn->sm", columns, r)
        info = total - quadratic
        with np.errstate(invalid="ignore", divide="ignore"):
            z = numerator / np.sqrt(info)
        return np.where(info > 1e-9 * np.maximum(total, 1e-300), z, np.nan)


def _extreme_share(
    draws: np.ndarray, observed: np.ndarray, sided: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: how many finite draws are at least as extreme as the observed, and how many
    are finite."""
    finite = np.isfinite(draws)
    more = as_extreme(np.where(finite, draws, 0.0), np.asarray(observed)[:, None], sided) & finite
    return more.sum(axis=1), finite.sum(axis=1)


# --------------------------------------------------------------------------- procedures


@dataclass(frozen=True, eq=False)
class Problem:
    """What every procedure needs from a design: the null design ``Z`` (the design without the
    focal term), the focal column ``x``, the outcome, offset, family, and calendar positions.
    A simulated outcome gets its own null design (:meth:`null_design`): lagged outcomes among
    the controls are rebuilt from it."""

    design: Design
    term: str
    Z: np.ndarray
    x: np.ndarray
    y: np.ndarray
    offset: np.ndarray
    family: Family
    start: np.ndarray | None = None  # null estimates on the data: every draw starts there

    @classmethod
    def from_design(cls, design: Design, term: str) -> Problem:
        family = design.spec.distribution
        if not family.batched:
            simulated = family.simulated_as
            hint = f" (use {simulated.name!r}, as its simulations do)" if simulated.batched else ""
            raise ConfigError(
                f"small-sample tests refit every draw with the batched fitter, which cannot fit "
                f"family {family.name!r}{hint}"
            )
        x = design.column(term)
        if term == "const":
            raise ConfigError("the constant is not a testable term")
        Z = design.basis(drop=term)
        offset = np.zeros(design.nobs) if design.offset is None else design.offset
        start = fit_batch(design.y[None], Z, offset, family=family)
        initial = start.beta[0] if start.converged[0] else None
        return cls(design, term, Z, x, design.y, offset, family, initial)

    @property
    def positions(self) -> np.ndarray:
        return self.design.calendar

    def null_design(self, Y: np.ndarray) -> np.ndarray:
        """The null design of each outcome vector in ``Y`` (``Design.matrices``)."""
        return self.design.matrices(Y, drop=self.term)

    def null_fits(self, Y: np.ndarray, mask=None, shift: float | np.ndarray = 0.0) -> NullFits:
        """Null fits with the focal coefficient held at ``shift`` (0: the test of no effect;
        an array: one value per draw)."""
        offset = self.offset + np.multiply.outer(shift, self.x)
        return NullFits.fit(Y, self.null_design(Y), offset, self.family, mask, self.start)


#: Layouts kept per procedure (one per set of rows the draws keep; a few dozen in practice).
LAYOUT_CACHE = 256


class Procedure:
    """A small-sample test that can run on the data or on a batch of simulated outcomes.

    Each draw is tested as the reported procedure would test it were it the data: its own
    lagged outcome (:meth:`Problem.null_design`), and, where period effects drop the strata a
    draw leaves without events (``mask``), the test's layout (permutation blocks and orders,
    admissible placebo dates) built again on the rows that remain, from the same seed; a draw
    whose design the engine would refuse (``Design.refused``) is a failure, not a test.
    Subclasses implement :meth:`_layout` (that layout for a set of kept rows, or None when the
    design those rows leave admits no test) and :meth:`_test` (statistic, p, ok and the null
    statistics of a batch of draws sharing one layout), :meth:`result` (the
    :class:`SmallSampleTest` on the data), and set ``draws`` (resampling draws per p-value,
    None when exact) and ``min_attainable_p``.
    """

    method: str
    problem: Problem
    sided: str
    draws: int | None
    min_attainable_p: float
    full: Any  # the layout on every row of the design

    def _layout(self, rows: np.ndarray):
        raise NotImplementedError

    def _test(self, fits: NullFits, Y: np.ndarray, mask, layout, sided: str):
        raise NotImplementedError

    def layout(self, kept: np.ndarray):
        """The layout for the rows ``kept`` (boolean), cached."""
        if kept.all():
            return self.full
        if not kept.any():  # a draw without any event: nothing to test
            return None
        cache = self.__dict__.setdefault("_layouts", {})
        key = np.packbits(kept).tobytes()
        if key not in cache:
            if len(cache) >= LAYOUT_CACHE:
                cache.clear()
            cache[key] = self._layout(np.flatnonzero(kept))
        return cache[key]

    def pvalues(self, Y: np.ndarray, mask=None, shift: float = 0.0, sided: str | None = None):
        """Statistic, p-value, whether the test was defined, and the null statistics (padded
        with NaN to one width) of each outcome vector in ``Y`` (draws x n), with the focal
        coefficient held at ``shift`` (0 for the test of no effect; other values for
        inverting the test). Rows with ``mask`` 0 are dropped from that draw's test."""
        Y = np.atleast_2d(np.asarray(Y, dtype=float))
        fits = self.problem.null_fits(Y, mask, shift)
        admitted = ~self.problem.design.refused(Y, mask)  # else the engine would refuse it
        n_draws = len(Y)
        observed, p = np.full(n_draws, np.nan), np.full(n_draws, np.nan)
        ok = np.zeros(n_draws, dtype=bool)
        parts = []
        if mask is None:
            groups = [(np.arange(n_draws), np.ones(Y.shape[1], dtype=bool))]
        else:
            kept, which = np.unique(np.asarray(mask) > 0, axis=0, return_inverse=True)
            groups = [(np.flatnonzero(which.ravel() == g), kept[g]) for g in range(len(kept))]
        for draws, kept in groups:
            layout = self.layout(kept)
            if layout is None:  # the design these rows leave admits no test: a failed draw
                continue
            sub_mask = None if mask is None else mask[draws]
            o, pp, good, null = self._test(
                fits.take(draws), Y[draws], sub_mask, layout, sided or self.sided
            )
            observed[draws], p[draws], ok[draws] = o, pp, good & admitted[draws]
            parts.append((draws, null))
        width = max((null.shape[1] for _, null in parts), default=0)
        null_all = np.full((n_draws, width), np.nan)
        for draws, null in parts:
            null_all[draws, : null.shape[1]] = null
        return observed, p, ok, null_all

    def result(self) -> SmallSampleTest:
        raise NotImplementedError

    def _resampled(self, failure: str, *, label: str, details: dict) -> SmallSampleTest:
        """The test on the data for a resampling procedure, with the p-value's Monte Carlo error."""
        observed, p, ok, null = self.pvalues(self.problem.y[None])
        if not ok[0]:
            raise ModelError(failure)
        p_value = float(p[0])
        return SmallSampleTest(
            method=self.method,
            label=label,
            statistic=float(observed[0]),
            p_value=p_value,
            sided=self.sided,
            p_mc_se=mc_standard_error(p_value, self.draws),
            n_draws=self.draws,
            min_attainable_p=self.min_attainable_p,
            null_statistics=null[0],
            details=details,
        )

    def pvalues_at(self, shifts: np.ndarray, sided: str = "two-sided") -> np.ndarray:
        """The test on the data with the focal coefficient held at each of ``shifts`` (one
        batch: the data repeated, one offset each); NaN where it is not defined."""
        shifts = np.asarray(shifts, dtype=float)
        Y = np.repeat(self.problem.y[None], len(shifts), axis=0)
        _, p, ok, _ = self.pvalues(Y, shift=shifts, sided=sided)
        return np.where(ok, p, np.nan)


def _spread(rows: np.ndarray, local: np.ndarray, n: int) -> np.ndarray:
    """Orders over ``rows`` (local indices, draws x len(rows)) as orders over all ``n`` rows;
    the other rows stay in place (their weight is 0 in the draws that drop them)."""
    orders = np.tile(np.arange(n), (len(local), 1))
    orders[:, rows] = rows[local]
    return orders


def block_length(n_periods: int) -> int:
    """Blocks of about n^(1/3) periods (Hall, Horowitz & Jing 1995) keep short-range dependence."""
    return max(1, round(n_periods ** (1 / 3)))


def block_orders(
    positions: np.ndarray, length: int, n_perm: int, rng: np.random.Generator
) -> np.ndarray:
    """Row orders from calendar blocks: rotate the calendar by a random offset, cut it into
    windows of ``length`` periods, and shuffle the windows. Rows in one window are consecutive
    periods (a gap ends a window's run), so a permuted series keeps the autocorrelation within
    windows; the random rotation moves the seams between draws. ``length >= span`` gives pure
    circular shifts."""
    rel = positions - positions[0]
    span = int(rel[-1]) + 1
    orders = np.empty((n_perm, len(positions)), dtype=int)
    blocks_of: dict[int, list[np.ndarray]] = {}  # one calendar cut per rotation, made once
    for i in range(n_perm):
        shift = int(rng.integers(span))
        if shift not in blocks_of:
            rotated = (rel + shift) % span
            by_time = np.argsort(rotated, kind="stable")
            labels = (rotated // length)[by_time]
            blocks_of[shift] = np.split(by_time, np.flatnonzero(np.diff(labels)) + 1)
        blocks = blocks_of[shift]
        orders[i] = np.concatenate([blocks[j] for j in rng.permutation(len(blocks))])
    return orders


class BlockPermutation(Procedure):
    """Block permutation of the focal predictor's residual (see the module docstring)."""

    method = "block_permutation"

    def __init__(
        self, problem: Problem, *, n_perm: int, seed: int, sided: str, length: int | None = None
    ):
        check_sided(sided)
        if n_perm < 1:
            raise ConfigError(f"n_perm must be >= 1; found {n_perm}")
        self.problem, self.sided, self.seed, self.fixed_length = problem, sided, seed, length
        self.draws = n_perm
        self.min_attainable_p = 1 / (n_perm + 1)
        self.full = self._layout(np.arange(problem.design.nobs))

    @property
    def length(self) -> int:
        return self.full[1]

    @property
    def orders(self) -> np.ndarray:
        return self.full[0]

    def _layout(self, rows: np.ndarray):
        """Block orders over ``rows``, from the procedure's seed, with the block length their
        calendar span gives."""
        positions = self.problem.positions[rows]
        span = int(positions[-1] - positions[0]) + 1
        length = self.fixed_length or block_length(span)
        local = block_orders(positions, length, self.draws, np.random.default_rng(self.seed))
        return _spread(rows, local, self.problem.design.nobs), length

    def _test(self, fits, Y, mask, layout, sided):
        orders, _ = layout
        observed = fits.score_z(self.problem.x[:, None])[:, 0]
        x_resid = fits.residualise(self.problem.x[:, None])[:, 0, :]  # draws x n
        null = fits.score_z(x_resid[:, orders])  # Kennedy: permute the residual
        extreme, finite = _extreme_share(null, observed, sided)
        p = (1 + extreme) / (finite + 1)
        ok = fits.ok & np.isfinite(observed) & (finite > 0)
        return observed, p, ok, null

    def result(self) -> SmallSampleTest:
        return self._resampled(
            f"term {self.problem.term!r}: the block-permutation test could not be computed (null model did not converge or the term is redundant)",
            label=f"block permutation ({self.draws:,} draws, blocks of {self.length} periods)",
            details={"block_length": self.length, "seed": self.seed},
        )


def stratum_orders(strata: np.ndarray, n_perm: int, rng: np.random.Generator) -> np.ndarray:
    """Row orders that permute rows only within their stratum."""
    orders = np.tile(np.arange(len(strata)), (n_perm, 1))
    for label in np.unique(strata):
        rows = np.flatnonzero(strata == label)
        if len(rows) > 1:
            keys = rng.random((n_perm, len(rows)))
            orders[:, rows] = rows[np.argsort(keys, axis=1)]
    return orders


class StratifiedPermutation(Procedure):
    """Within-stratum permutation of the outcome for a test of its own lag (module docstring).

    The focal term must be the outcome's lag 1; ``previous`` gives, for each row, the row
    holding the previous period (or -1 when that period is not in the design: its observed lag
    value is kept, as it comes from outside the sample)."""

    method = "stratified_permutation"

    def __init__(self, problem: Problem, *, n_perm: int, seed: int, sided: str):
        check_sided(sided)
        design = problem.design
        effects = design.spec.period_effects
        if effects is None:
            raise ConfigError("a stratified permutation needs period_effects (its strata)")
        extra = [
            c
            for c in design.X.columns
            if c not in design.absorbed and c not in ("const", problem.term)
        ]
        if extra:
            raise ConfigError(
                f"a stratified permutation needs a null design of the strata alone; it also "
                f"has {extra}"
            )
        self.problem, self.sided, self.seed = problem, sided, seed
        self.strata = period_strata(design.periods, design.spec)
        self.previous = lag_rows(problem.positions)
        self.draws = n_perm
        self.min_attainable_p = 1 / (n_perm + 1)
        self.full = self._layout(np.arange(design.nobs))

    @property
    def orders(self) -> np.ndarray:
        return self.full

    def _layout(self, rows: np.ndarray):
        """Within-stratum orders over ``rows``, from the procedure's seed. (A kept row whose
        previous period a draw dropped keeps that period's simulated value as its lag: the
        dropped stratum is empty, so both are 0, as in the design rebuilt without it.)"""
        local = stratum_orders(self.strata[rows], self.draws, np.random.default_rng(self.seed))
        return _spread(rows, local, self.problem.design.nobs)

    def _lag(self, Y: np.ndarray) -> np.ndarray:
        """The lagged outcome of each row of Y (last axis = rows of the design)."""
        inside = self.previous >= 0
        lag = np.broadcast_to(self.problem.x, Y.shape).copy()
        lag[..., inside] = Y[..., self.previous[inside]]
        return lag

    def statistics(self, Y, mask=None) -> tuple[np.ndarray, np.ndarray]:
        """The observed statistic of each draw (no permutations) and whether it is defined:
        what an interval found by simulation compares."""
        fits = self.problem.null_fits(Y, mask)
        observed = fits.score_z(self._lag(Y)[:, None, :])[:, 0]
        admitted = ~self.problem.design.refused(Y, mask)
        return observed, fits.ok & np.isfinite(observed) & admitted

    def pvalues(self, Y, mask=None, shift: float = 0.0, sided: str | None = None):
        if shift:
            raise ConfigError("a stratified permutation cannot be inverted by an offset")
        return super().pvalues(Y, mask, sided=sided)

    def _test(self, fits, Y, mask, orders, sided):
        observed = fits.score_z(self._lag(Y)[:, None, :])[:, 0]  # draws x 1 x n
        Y_perm = Y[:, orders]  # draws x B x n; fitted means, W and Z'r are unchanged
        a = fits.alpha[:, None, None]
        r = (Y_perm - fits.mu[:, None, :]) / (1 + a * fits.mu[:, None, :])
        if mask is not None:
            r = r * mask[:, None, :]
        null = fits.score_z(self._lag(Y_perm), r=r)
        extreme, finite = _extreme_share(null, observed, sided)
        p = (1 + extreme) / (finite + 1)
        return observed, p, fits.ok & np.isfinite(observed), null

    def result(self) -> SmallSampleTest:
        kind = self.problem.design.spec.period_effects.replace("_", " and ")
        return self._resampled(
            "the within-stratum permutation test could not be computed",
            label=f"outcome permuted within each {kind} ({self.draws:,} draws)",
            details={"strata": len(np.unique(self.strata)), "seed": self.seed},
        )


@dataclass(frozen=True)
class KnownBreak:
    """A dated break the models leave out (a war, a change in reporting), with the window of
    periods around it that placebo dates must avoid."""

    name: str
    date: str
    months: int
    reason: str


def default_min_segment(nobs: int, monthly: bool) -> int:
    """Rows a placebo date leaves on each side: a year of months (three years of an annual
    panel), at most a quarter of the rows, at least two."""
    return max(2, min(12 if monthly else 3, nobs // 4))


@dataclass(frozen=True, eq=False)
class PlaceboLayout:
    """Admissible placebo dates over a set of rows: their step columns (n x m over every row of
    the design; rows outside the set are 0), which one is the actual break, the windows
    excluded around known breaks, and the candidate rows (indices into the set)."""

    steps: np.ndarray
    actual: int
    candidates: np.ndarray
    exclusions: list
    rows: np.ndarray


class PlaceboDates(Procedure):
    """The actual break of a step ranked among admissible placebo dates (module docstring).
    ``min_segment`` None: :func:`default_min_segment` of the rows tested."""

    method = "placebo_dates"

    def __init__(
        self,
        problem: Problem,
        *,
        min_segment: int | None,
        sided: str,
        breaks: Sequence[KnownBreak] = (),
    ):
        check_sided(sided)
        self.problem, self.sided, self.breaks = problem, sided, tuple(breaks)
        self.fixed_segment = min_segment
        self.full = self._placebo_layout(np.arange(problem.design.nobs), strict=True)
        self.draws = None
        self.min_attainable_p = 1 / len(self.full.candidates)

    @property
    def min_segment(self) -> int:
        return self._segment(self.problem.design.nobs)

    @property
    def candidates(self) -> np.ndarray:
        return self.full.candidates

    @property
    def actual(self) -> int:
        return int(self.full.candidates[self.full.actual])

    @property
    def exclusions(self) -> list:
        return self.full.exclusions

    def _segment(self, nobs: int) -> int:
        periods = self.problem.design.periods
        monthly = periods is not None and str(getattr(periods, "freqstr", "")).startswith("M")
        return self.fixed_segment or default_min_segment(nobs, monthly)

    def _layout(self, rows: np.ndarray):
        return self._placebo_layout(rows, strict=False)

    def _placebo_layout(self, rows: np.ndarray, *, strict: bool) -> PlaceboLayout | None:
        """The admissible dates over ``rows``; on the data (``strict``) a clear error where
        there are none, on a draw None (the design it leaves admits no placebo test)."""
        term = self.problem.term
        x = self.problem.x[rows]
        n = len(rows)
        k = int(np.argmax(x == 1))
        if not np.array_equal(x, (np.arange(n) >= k).astype(float)):
            if strict:
                raise ModelError(
                    f"term {term!r} is not a step: expected 0 before one break and 1 from it "
                    "on (in time order)"
                )
            return None
        min_segment = self._segment(n)
        excluded, exclusions = self._excluded(rows)
        candidates = np.arange(min_segment, n - min_segment + 1)
        inside = [b.name for b, within in exclusions if k in within]
        if k not in candidates or inside:
            if not strict:
                return None
            if k not in candidates:
                raise ConfigError(
                    f"the break of {term!r} at row {k} leaves fewer than "
                    f"min_segment={min_segment} rows on one side of {n}"
                )
            raise ConfigError(
                f"the break of {term!r} lies inside the registered window of {inside}: "
                "placebo dates cannot separate the two"
            )
        candidates = candidates[~np.isin(candidates, excluded)]
        steps = np.zeros((self.problem.design.nobs, len(candidates)))
        steps[rows] = (np.arange(n)[:, None] >= candidates[None, :]).astype(float)
        actual = int(np.flatnonzero(candidates == k)[0])
        return PlaceboLayout(steps, actual, candidates, exclusions, rows)

    def _excluded(self, rows: np.ndarray):
        """Rows (indices into ``rows``) inside each known break's window, by calendar
        distance."""
        periods = self.problem.design.periods
        positions = self.problem.positions[rows]
        if periods is None or not self.breaks:
            return np.array([], dtype=int), []
        origin = periods[rows[0]]
        windows, rows_all = [], []
        for known in self.breaks:
            distance = pd.Period(known.date, periods.freq).ordinal - origin.ordinal
            centre = positions[0] + distance
            months = (
                known.months
                if periods.freqstr.startswith("M")
                else max(1, round(known.months / 12))
            )
            inside = np.flatnonzero(np.abs(positions - centre) <= months)
            windows.append((known, inside))
            rows_all.append(inside)
        return np.unique(np.concatenate(rows_all)), windows

    def _test(self, fits, Y, mask, layout: PlaceboLayout, sided):
        statistics = fits.score_z(layout.steps)
        observed = statistics[:, layout.actual]
        extreme, finite = _extreme_share(statistics, observed, sided)
        p = extreme / np.maximum(finite, 1)
        return observed, p, fits.ok & np.isfinite(observed), statistics

    def result(self) -> SmallSampleTest:
        observed, p, ok, statistics = self.pvalues(self.problem.y[None])
        if not ok[0]:
            raise ModelError(
                f"the placebo-date test of {self.problem.term!r} could not be computed"
            )
        periods = self.problem.design.periods
        labels = self.candidates if periods is None else periods[self.candidates].astype(str)
        table = pd.DataFrame({"period": labels, "statistic": statistics[0]})
        admissible = int(np.isfinite(statistics[0]).sum())
        excluded = ", ".join(f"{b.name} (±{b.months} months)" for b, _ in self.exclusions)
        return SmallSampleTest(
            method=self.method,
            label=f"placebo break dates ({admissible} admissible"
            + (f"; excluding {excluded}" if excluded else "")
            + ")",
            statistic=float(observed[0]),
            p_value=float(p[0]),
            sided=self.sided,
            p_mc_se=None,
            n_draws=None,
            min_attainable_p=1 / max(admissible, 1),
            null_statistics=statistics[0],
            placebo=table,
            details={
                "break_period": str(labels[self.full.actual]),
                "admissible_dates": admissible,
                "min_segment": self.min_segment,
                "excluded_windows": excluded,
            },
        )


# --------------------------------------------------------------------------- intervals


def invert(
    pvalues_at: Callable[[np.ndarray], np.ndarray],
    estimate: float,
    scale: float,
    *,
    method: str,
    level: float = 0.05,
    limit: float = math.log(1000.0),
    points: int = 1,
    rounds: int = 10,
    sided: str = "two-sided",
) -> Interval:
    """The set of coefficients ``b0`` a test does not reject at ``level``, as an interval.

    ``pvalues_at`` gives the test's p-value at each of an array of ``b0``. From the estimate,
    each side steps out by ``scale`` (doubling) until the test rejects or ``|b0 - estimate|``
    passes ``limit`` (then that side is unbounded); then, ``rounds`` times, ``points`` evenly
    spaced values between the last accepted and the first rejected value are tried and the
    bracket shrinks to the first that rejects and the one before it (``points=1`` is bisection).
    Both sides are tried together, ``points`` values per call, also when stepping out: a test
    held at several values by an offset costs little more than one (one batched fit), so the
    bound takes a few calls at the precision of ten bisections, ``(points + 1) ** rounds``. A test
    whose p-value is not monotone in ``b0`` could accept again beyond the first rejection; the
    interval reports the connected set around the estimate, as test-inversion intervals
    conventionally do. A one-sided test (``sided`` "greater" or "less") gives a one-sided
    interval: only its lower (upper) bound is searched. A p-value that could not be computed
    (NaN) never rejects.
    """
    if not (math.isfinite(estimate) and math.isfinite(scale) and scale > 0):
        return Interval(-math.inf, math.inf, method, note="no finite estimate to start from")
    steps = [scale * 2.0**k for k in range(64) if scale * 2.0 ** (k - 1) < limit]
    steps = [min(step, limit) for step in steps]
    sides = (-1.0, 1.0)
    searched = [sided in ("two-sided", "greater"), sided in ("two-sided", "less")]

    def rejected(distances: list[np.ndarray]) -> list[np.ndarray]:
        """The rule at ``estimate + side * distance`` for each side's distances (one call)."""
        shifts = np.concatenate([estimate + side * d for side, d in zip(sides, distances)])
        p = np.asarray(pvalues_at(shifts), dtype=float) if len(shifts) else np.array([])
        cut = np.cumsum([len(d) for d in distances])[:-1]
        return [(rejects(q, level), q) for q in np.split(p, cut)]

    # step out, ``points`` steps per call, until one rejects: steps far beyond the bound are
    # not tried (a fit held far out of the data's range can crawl for many iterations)
    batch = points
    inside, outside, floors = [0.0, 0.0], [None, None], [math.nan, math.nan]
    for first in range(0, len(steps), batch):
        open_sides = [
            i for i in range(2) if searched[i] and outside[i] is None and inside[i] < limit
        ]
        if not open_sides:
            break
        tried = np.array(steps[first : first + batch])
        found = rejected([tried if i in open_sides else tried[:0] for i in range(2)])
        for i in open_sides:
            hit, p = found[i]
            before = np.flatnonzero(hit)
            upto = before[0] if len(before) else len(tried)
            accepted = p[:upto][np.isfinite(p[:upto])]
            if len(accepted):  # the smallest p seen on this side before it rejects
                floors[i] = float(np.fmin(floors[i], accepted.min()))
            if len(before):
                outside[i] = float(tried[before[0]])
            if upto:
                inside[i] = float(tried[upto - 1])
    # narrow each bracket
    for _ in range(rounds):
        brackets = [i for i in range(2) if outside[i] is not None]
        if not brackets:
            break
        grids = [
            np.linspace(inside[i], outside[i], points + 2)[1:-1] if i in brackets else np.array([])
            for i in range(2)
        ]
        found = rejected(grids)
        for i in brackets:
            hit, _ = found[i]
            values = np.concatenate([[inside[i]], grids[i], [outside[i]]])
            first_hit = (np.flatnonzero(hit)[0] + 1) if hit.any() else len(values) - 1
            inside[i], outside[i] = float(values[first_hit - 1]), float(values[first_hit])
    bounds = [
        estimate + side * (inside[i] + outside[i]) / 2
        if outside[i] is not None
        else side * math.inf
        for i, side in enumerate(sides)
    ]
    floors = [math.nan if outside[i] is not None else floors[i] for i in range(2)]
    open_bound = any(not math.isfinite(b) for b, on in zip(bounds, searched) if on)
    note = f"unbounded within ±{limit:.1f} on the log scale" if open_bound else ""
    if sided != "two-sided":
        note = "; ".join(filter(None, [note, f"one-sided ({sided}) test: one-sided interval"]))
    return Interval(bounds[0], bounds[1], method, note=note, low_floor=floors[0],
                    high_floor=floors[1])  # fmt: skip
