"""Poisson, NB2 and logit maximum likelihood for thousands of outcome vectors at once: the one
batched fitter, for the case tests' null models and simulations and for the global panels'
score bootstrap and its simulated panels.

Simulation-based inference (size, power, inverted tests) refits the same model on many draws;
looping statsmodels over them costs seconds per test. Here every draw is a row of ``Y`` and
all of them are fitted together, on one shared design ``X`` (n x k) or on a design per draw
(draws x n x k: a simulated series has its own lagged outcome, so the reported procedure run
on it regresses on that lag, not on the observed one):

* beta by Fisher scoring (IRLS) at the current alpha: ``w = mu/(1 + alpha mu)``,
  ``z = eta - offset + (y - mu)/mu``, ``beta = (X'WX)^-1 X'Wz``, with the step halved (per
  draw) while the log-likelihood falls;
* NB2's alpha by Newton steps on ``theta = log alpha`` given the means, halved while the
  likelihood falls. The likelihood is written as ``sum_{j<y} log1p(j alpha) + y log mu - log y!
  - (y + 1/alpha) log1p(alpha mu)``, which is exact down to alpha -> 0 (where gamma-function
  differences lose all their digits) and needs no digamma. alpha stays in ``[1e-8, 1e3]``;
  at the lower bound the fit is Poisson.

A per-draw 0/1 ``mask`` removes rows (weight 0), e.g. a year a draw leaves without events
under year effects; a column with no active row is held at 0 by a unit ridge, so the system
stays solvable without changing the other estimates. A draw whose fit does not converge, or
has no event among its active rows, is flagged in ``converged`` and never silently used.

The logit (a global dyad panel) is fitted by the same IRLS steps (``w = mu (1 - mu)``). A
global panel's design is a :class:`Blocks`: dense terms plus fixed-effect levels whose dummies
are never formed (hundreds of unit and year levels). ``held`` columns stay at their start (a
coefficient held at a null value for a restricted fit, a level the data cannot identify).
Every step is solved by :func:`solve_batched` (the least-squares rule) and halved while the
likelihood falls. A fit has converged when the *full* Newton step moves the linear predictor
of the active rows by less than ``tol`` (not the step taken: a draw whose halving found no
better point has moved little but is not at a maximum). With ``separation`` (the global
panels, where a few clusters carry the events) three safeguards are added: no step moves an
active row's linear predictor by more than :data:`MOVE` (along a quasi-separated direction a
logit step can be astronomically long, and past ``|eta| ~ 40`` a row is saturated anyway); a
long step still rising at its end is doubled while it keeps rising; and a fit has also
converged when two successive full steps each promise a gain below :data:`FLAT`: the
likelihood is at its supremum along a quasi-separated direction (a lag coefficient rising
without bound while its perfectly predicted rows saturate), the limit statsmodels' Newton also
reports. (A trust region on the case panels' count fits would change where a fit held far
out by an offset ends, and so an inverted interval's open bound.)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import special

from ..errors import ConfigError
from .families import FAMILIES, NB2, Family
from .solve import solve_batched

ALPHA_BOUNDS = (1e-8, 1e3)
#: Largest change of any active row's linear predictor in one step (the trust region of a
#: fit with ``separation``).
MOVE = 20.0
#: A full step promising less log-likelihood than this gains nothing measurable.
FLAT = 1e-10


@dataclass(frozen=True, eq=False)
class BatchFit:
    """Estimates for each draw (rows): coefficients, NB alpha (0 for Poisson), means, flags."""

    beta: np.ndarray
    alpha: np.ndarray
    mu: np.ndarray
    converged: np.ndarray
    iterations: int


def linear(beta: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``X b`` per draw (draws x n) for a shared (n x k) or per-draw (draws x n x k) design."""
    if X.ndim == 2:
        return beta @ X.T
    return np.matmul(X, beta[:, :, None])[:, :, 0]


def cross(v: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``X' v`` per draw (draws x k) for a shared or per-draw design."""
    if X.ndim == 2:
        return v @ X
    return np.matmul(v[:, None, :], X)[:, 0, :]


def by_level(values: np.ndarray, codes: np.ndarray, size: int) -> np.ndarray:
    """Sums of ``values`` (draws x rows) by level (draws x size): one bincount, each draw's
    bins filled in row order whatever the other draws are."""
    index = (np.arange(len(values))[:, None] * size + codes).ravel()
    return np.bincount(index, weights=values.ravel(), minlength=len(values) * size).reshape(
        len(values), size
    )


@dataclass(frozen=True, eq=False)
class Blocks:
    """A design of dense columns ``X`` (rows x c shared, or draws x rows x c) followed by one
    parameter per level of each fixed effect (``codes``: each row's level; ``sizes``: levels
    per effect), the dummies never formed. Without fixed effects it is ``X`` itself."""

    X: np.ndarray
    codes: tuple[np.ndarray, ...] = ()
    sizes: tuple[int, ...] = ()

    @property
    def k(self) -> int:
        return self.X.shape[-1] + sum(self.sizes)

    def take(self, draws: np.ndarray) -> Blocks:
        """The design of some draws (the same one when it is shared)."""
        return self if self.X.ndim == 2 else replace(self, X=self.X[draws])

    def linear(self, params: np.ndarray) -> np.ndarray:
        """Linear predictor without offset (draws x rows) at ``params`` (draws x k)."""
        c = self.X.shape[-1]
        eta = linear(params[:, :c], self.X)
        for codes, size in zip(self.codes, self.sizes):
            eta = eta + params[:, c : c + size][:, codes]
            c += size
        return eta

    def cross(self, values: np.ndarray) -> np.ndarray:
        """``sum_i values_i x_i`` per draw (draws x k), ``x_i`` the row's full design row."""
        levels = [by_level(values, codes, size) for codes, size in zip(self.codes, self.sizes)]
        return np.concatenate([cross(values, self.X), *levels], axis=1)

    def gram(self, weights: np.ndarray) -> np.ndarray:
        """``sum_i w_i x_i x_i'`` per draw (draws x k x k), without ridge."""
        X = self.X
        P, c = len(weights), X.shape[-1]
        if not self.codes:
            return _dense_gram(X, weights)
        gram = np.zeros((P, self.k, self.k))
        weighted = weights[..., None] * (X if X.ndim == 3 else X[None])
        gram[:, :c, :c] = weighted.transpose(0, 2, 1) @ X
        starts = np.cumsum((c, *self.sizes))
        for b, (codes, size) in enumerate(zip(self.codes, self.sizes)):
            own = slice(starts[b], starts[b] + size)
            levels = np.arange(starts[b], starts[b] + size)
            gram[:, levels, levels] = by_level(weights, codes, size)
            mixed = np.stack([by_level(weighted[..., j], codes, size) for j in range(c)], axis=1)
            gram[:, :c, own] = mixed
            gram[:, own, :c] = mixed.transpose(0, 2, 1)
            for a in range(b):
                other = slice(starts[a], starts[a] + self.sizes[a])
                pair = by_level(weights, self.codes[a] * size + codes, self.sizes[a] * size)
                pair = pair.reshape(P, self.sizes[a], size)
                gram[:, other, own] = pair
                gram[:, own, other] = pair.transpose(0, 2, 1)
        return gram


def _dense_gram(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``X' W X`` per draw: for a shared design one matrix product of the weights with the
    row-wise outer products of ``X`` (draws x n times n x k^2), which BLAS does fast; a per-draw
    design takes one batched product."""
    k = X.shape[-1]
    if X.ndim == 2:
        n = X.shape[0]
        outer = (X[:, :, None] * X[:, None, :]).reshape(n, k * k)
        return (w @ outer).reshape(len(w), k, k)
    return np.matmul(np.swapaxes(X * w[:, :, None], 1, 2), X)


def weighted_gram(X: np.ndarray | Blocks, w: np.ndarray) -> np.ndarray:
    """``X' W X`` per draw (draws x k x k); a column with no weight in a draw (all its rows
    masked) gets a unit diagonal, which holds its coefficient at 0 and keeps the system
    solvable without touching the others."""
    gram = X.gram(w) if isinstance(X, Blocks) else _dense_gram(X, w)
    k = gram.shape[-1]
    diagonal = np.diagonal(gram, axis1=1, axis2=2)
    dead = diagonal <= 1e-12 * np.maximum(diagonal.max(axis=1, keepdims=True), 1e-300)
    return gram + np.eye(k)[None] * dead[:, None, :]


#: Counts up to this go through the cumulative table; larger ones through gamma functions.
TABLE_LIMIT = 300


def _pochhammer_tables(Y: np.ndarray, alpha: np.ndarray, power: int) -> np.ndarray:
    """Per draw and row, ``sum_{j<y} log1p(j alpha)`` (power 0) or its first (1) or minus its
    second (2) derivative in alpha, ``sum j^p / (1 + j alpha)^p``: a cumulative table over j
    for counts up to :data:`TABLE_LIMIT` (exact as alpha -> 0), closed forms in gamma
    functions above it, where ``prod(1 + j alpha) = alpha^y G(y + 1/alpha) / G(1/alpha)``."""
    counts = Y.astype(int)
    top = min(int(Y.max()) + 1 if Y.size else 1, TABLE_LIMIT + 1)
    j = np.arange(top, dtype=float)[None, :]
    a = alpha[:, None]
    terms = np.log1p(j * a) if power == 0 else (j / (1 + j * a)) ** power
    table = np.concatenate([np.zeros((len(alpha), 1)), np.cumsum(terms, axis=1)], axis=1)
    out = np.take_along_axis(table, np.minimum(counts, top), axis=1)
    large = counts > TABLE_LIMIT
    poisson = large & (alpha[:, None] == 0)  # the sums at alpha 0, in closed form
    if poisson.any():
        y = Y[poisson]
        out[poisson] = (0.0, y * (y - 1) / 2, (y - 1) * y * (2 * y - 1) / 6)[power]
    large &= alpha[:, None] > 0
    if large.any():
        rows, cols = np.nonzero(large)
        y, al = Y[rows, cols], alpha[rows]
        r = 1 / al
        if power == 0:
            value = y * np.log(al) + special.gammaln(y + r) - special.gammaln(r)
        elif power == 1:
            value = y / al - (special.digamma(y + r) - special.digamma(r)) / al**2
        else:
            value = (
                y / al**2
                - 2 * (special.digamma(y + r) - special.digamma(r)) / al**3
                - (special.polygamma(1, y + r) - special.polygamma(1, r)) / al**4
            )
        out[rows, cols] = value
    return out


def nb_loglik(
    Y: np.ndarray,
    mu: np.ndarray,
    alpha: np.ndarray,
    mask: np.ndarray,
    fixed: np.ndarray | None = None,
) -> np.ndarray:
    """NB2 log-likelihood of each draw, in the form that stays exact as alpha -> 0 (Poisson):
    ``sum_{j<y} log1p(j alpha) + y log mu - log y! - (y + 1/alpha) log1p(alpha mu)``.
    ``fixed`` are the terms that do not involve ``mu`` (:func:`_fixed_terms`), when a caller
    tries many ``mu`` at one alpha."""
    alpha = np.asarray(alpha, dtype=float)
    a = alpha[:, None]
    mu = np.maximum(mu, 1e-300)
    tail = np.where(a > 0, (Y + 1 / np.where(a > 0, a, 1.0)) * np.log1p(a * mu), mu)
    fixed = _fixed_terms(Y, alpha) if fixed is None else fixed
    return np.sum((fixed + Y * np.log(mu) - tail) * mask, axis=1)


def _fixed_terms(Y: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The log-likelihood's terms in ``y`` and alpha alone: ``sum_{j<y} log1p(j alpha) - log y!``."""
    return _pochhammer_tables(Y, alpha, 0) - special.gammaln(Y + 1)


def _alpha_derivatives(Y, mu, alpha, mask):
    """First and second derivative of the NB2 log-likelihood in theta = log(alpha)."""
    a = alpha[:, None]
    ratio = mu / (1 + a * mu)
    log1p = np.log1p(a * mu)
    d1 = _pochhammer_tables(Y, alpha, 1) + log1p / a**2 - (Y + 1 / a) * ratio
    d2 = (
        -_pochhammer_tables(Y, alpha, 2)
        - 2 * log1p / a**3
        + 2 * ratio / a**2
        + (Y + 1 / a) * ratio**2
    )
    g = np.sum(d1 * mask, axis=1)
    h = np.sum(d2 * mask, axis=1)
    return alpha * g, alpha**2 * h + alpha * g


def logit_loglik(Y: np.ndarray, eta: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Logit log-likelihood of each draw from its linear predictor (exact when saturated)."""
    return np.sum((Y * eta - np.logaddexp(0.0, eta)) * mask, axis=1)


def fit_batch(
    Y: np.ndarray,
    X: np.ndarray | Blocks,
    offset: np.ndarray | None = None,
    *,
    family: Family = NB2,
    mask: np.ndarray | None = None,
    start: np.ndarray | None = None,
    held: np.ndarray | None = None,
    alpha_start: float = 0.5,
    max_iter: int = 200,
    tol: float = 1e-7,
    separation: bool = False,
) -> BatchFit:
    """Fit ``family`` (one whose ``batched`` is true: Poisson, NB2 or the logit) to every row
    of ``Y`` on the design ``X``, shared (n x k) or one per draw (draws x n x k), or a
    :class:`Blocks` design.

    ``offset`` is shared (length n) or per draw (draws x n). ``start`` is a coefficient vector
    to start every draw from, or one per draw (draws x k) (default: log of each draw's mean
    for the intercept column 0, zero elsewhere; column 0 must then be the constant). ``held``
    (k, or draws x k; True: held) are columns that stay at their start. ``separation`` adds the
    safeguards for quasi-separated panels (module docstring): the trust region, step doubling
    and convergence at the supremum of a quasi-separated direction.
    """
    if not family.batched:
        batched = [name for name, f in FAMILIES.items() if f.batched]
        raise ConfigError(f"the batched fitter fits the families {batched}, not {family.name!r}")
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    S, n = Y.shape
    design = X if isinstance(X, Blocks) else Blocks(np.asarray(X, dtype=float))
    k = design.k
    offset = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
    offset = np.broadcast_to(offset, (S, n))
    mask = np.ones((S, n)) if mask is None else np.asarray(mask, dtype=float)
    active_y = (Y * mask).sum(axis=1) > 0
    if start is None:
        beta = np.zeros((S, k))
        means = (Y * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)
        beta[:, 0] = np.log(np.maximum(means, 1e-3)) - np.mean(offset, axis=1)
    else:
        beta = np.array(np.broadcast_to(np.asarray(start, dtype=float), (S, k)))
    held = np.zeros((S, k), bool) if held is None else np.broadcast_to(held, (S, k))
    logit = family.binary  # the batched binary family: the logit
    negbin = family.dispersed
    alpha = np.full(S, alpha_start if negbin else 0.0)

    def evaluate(b, rows, fixed=None):
        """Linear predictors, means and log-likelihoods of ``rows`` at ``b``."""
        eta = design.take(rows).linear(b) + offset[rows]
        if logit:
            mu = special.expit(eta)
            return eta, mu, logit_loglik(Y[rows], eta, mask[rows])
        mu = np.exp(np.clip(eta, -30, 30))
        return eta, mu, nb_loglik(Y[rows], mu, alpha[rows], mask[rows], fixed)

    everyone = np.arange(S)
    eta, mu, loglik = evaluate(beta, everyone)
    converged = np.zeros(S, dtype=bool)
    promised = np.zeros(S, dtype=bool)  # the previous full step promised no measurable gain
    # Only the draws still moving are iterated: most converge in a few steps, and a draw's
    # iterations do not depend on the others'.
    live = everyone[np.isfinite(loglik)]
    iteration = 0
    for iteration in range(1, max_iter + 1):
        if not len(live):
            break
        y, m, b, a, h = Y[live], mask[live], beta[live], alpha[live], held[live]
        Xl = design.take(live)
        w, score = _irls_terms(y, mu[live], a, m, logit)
        # The IRLS step (X'WX)^-1 X'(score): Fisher scoring, Newton's method for the canonical
        # links. A count row whose predictor is past the means' clip (+-30) enters with the
        # predictor its mean sees, as the working response log(mu) + (y - mu)/mu has it.
        # Held columns' rows of the system are the identity with no right-hand side, so they
        # stay where they are; the least-squares rule gives no step along a direction
        # without information.
        if not logit:
            score = score + w * (np.log(np.maximum(mu[live], 1e-300)) - eta[live])
        gram = weighted_gram(Xl, w)
        both = h[:, :, None] | h[:, None, :]
        system = np.where(both, 0.0, gram) + np.eye(k) * h[:, None, :]
        step = solve_batched(system, np.where(h, 0.0, Xl.cross(score)))
        finite = np.all(np.isfinite(step), axis=1)
        step = np.where(finite[:, None], step, 0.0)
        # Convergence is judged on the full Newton step, not the step taken: a draw whose
        # step-halving found no better point has moved little but is not at a maximum (and,
        # frozen once done, would stay there). It is measured on the linear predictor of the
        # active rows: a draw whose mask makes two columns collinear (e.g. the constant and
        # the dummies of the remaining strata) has a flat direction in beta that moves nothing.
        newton = np.max(np.abs(Xl.linear(step)) * (m > 0), axis=1)
        small = np.zeros(len(live), dtype=bool)
        if separation:
            gradient = Xl.cross(_irls_terms(y, mu[live], a, m, logit)[1])
            small = (gradient * step).sum(axis=1) / 2 <= FLAT
        reach = np.ones(len(live))
        if separation:  # the trust region
            reach = np.minimum(1.0, MOVE / np.maximum(newton, 1e-300))
        fixed = None if logit else _fixed_terms(y, a)

        def at(c, sub, rows=live, fixed=fixed):
            return evaluate(c, rows[sub], None if fixed is None else fixed[sub])

        step, moved = step * reach[:, None], newton * reach
        new_b, new, whole = _halve(at, b, step, loglik[live])
        if separation:  # a long step still rising at its end: double it while it keeps rising
            new_b, new = _double(at, Xl, y, a, m, logit, b, step, moved, whole, new_b, new)
        new_eta, new_mu, new_loglik = new
        alpha_newton = np.zeros(len(live))
        if negbin:
            a, new_loglik, alpha_newton = _alpha_step(y, new_mu, a, m, new_loglik)
        beta[live], eta[live], mu[live], loglik[live], alpha[live] = (
            new_b, new_eta, new_mu, new_loglik, a
        )  # fmt: skip
        done = ((newton < tol) & (alpha_newton < tol) | (small & promised[live])) & finite
        promised[live] = small
        converged[live[done]] = True
        live = live[~done & np.isfinite(new_loglik)]
    ok = converged & active_y & np.isfinite(loglik) & np.all(np.isfinite(beta), axis=1)
    return BatchFit(beta=beta, alpha=alpha, mu=mu, converged=ok, iterations=iteration)


def _irls_terms(Y, mu, alpha, mask, logit: bool):
    """IRLS weights ``w = (dmu/deta)^2 / Var`` and the score terms ``w (y - mu) / (dmu/deta)``
    per row (NB2 with its log link: ``mu / (1 + alpha mu)`` and ``(y - mu) / (1 + alpha mu)``;
    the logit: ``mu (1 - mu)`` and ``y - mu``), zero on masked rows."""
    if logit:
        return mask * mu * (1 - mu), mask * (Y - mu)
    scale = 1 + alpha[:, None] * mu
    return mask * mu / scale, mask * (Y - mu) / scale


def _double(at, design, Y, alpha, mask, logit, beta, step, moved, whole, new_beta, new):
    """Steps taken whole whose likelihood is still rising at their end (``gradient . step >=
    0`` there) and that moved the linear predictor by more than 1: doubled, up to four times
    and within the trust region, while the likelihood keeps rising (the likelihood is concave,
    so a point where it still rises along the step is better than the one before). Along a
    quasi-separated direction this reaches the flat supremum in a few steps, not dozens."""
    eta, mu, loglik = (np.array(part) for part in new)
    new_beta = np.array(new_beta)
    _, score = _irls_terms(Y[whole], mu[whole], alpha[whole], mask[whole], logit)
    rising = (design.take(whole).cross(score) * step[whole]).sum(axis=1) >= 0
    grow = whole[rising & (moved[whole] > 1.0)]
    for doubling in range(1, 5):
        grow = grow[2**doubling * moved[grow] <= MOVE]
        if not len(grow):
            break
        wider = beta[grow] + 2**doubling * step[grow]
        w_eta, w_mu, w_loglik = at(wider, grow)
        _, score = _irls_terms(Y[grow], w_mu, alpha[grow], mask[grow], logit)
        keeps = (design.take(grow).cross(score) * step[grow]).sum(axis=1) >= 0
        grow = grow[keeps]
        new_beta[grow], eta[grow], mu[grow], loglik[grow] = (
            wider[keeps], w_eta[keeps], w_mu[keeps], w_loglik[keeps]
        )  # fmt: skip
    return new_beta, (eta, mu, loglik)


def _halve(evaluate, beta, step, loglik, tries: int = 30):
    """Take each draw's step, halving it while that draw's log-likelihood falls (a draw whose
    step is not finite stays where it is). ``evaluate(coefficients, draws)`` gives the linear
    predictors, means and log-likelihoods of those draws; only the draws still being halved are
    evaluated again. Returns the new coefficients, the evaluation there and the draws whose
    step was taken whole."""
    finite = np.all(np.isfinite(step), axis=1)
    step = np.where(finite[:, None], step, 0.0)
    factor = np.ones(len(beta))
    candidate = beta + step
    eta, mu, new = evaluate(candidate, np.arange(len(beta)))
    for _ in range(tries):
        worse = np.flatnonzero(~(new >= loglik - 1e-10 * np.abs(loglik)) & finite)
        if not len(worse):
            break
        factor[worse] /= 2
        candidate[worse] = beta[worse] + factor[worse, None] * step[worse]
        eta[worse], mu[worse], new[worse] = evaluate(candidate[worse], worse)
    return candidate, (eta, mu, new), np.flatnonzero(factor == 1)


def _alpha_step(Y, mu, alpha, mask, loglik, tries: int = 30):
    """One safeguarded Newton step in log(alpha) per draw; returns the new alpha, the new
    log-likelihood and the size of the full Newton step within the bounds (the convergence
    measure). Where the likelihood falls as alpha leaves 0 (its derivative there,
    ``sum[(y - mu)^2 - y] / 2``, is not positive) the maximum is at the boundary, and alpha
    goes there at once instead of creeping."""
    at_zero = np.sum(mask * ((Y - mu) ** 2 - Y), axis=1) <= 0
    alpha = np.where(at_zero, ALPHA_BOUNDS[0], alpha)
    loglik = np.where(at_zero, nb_loglik(Y, mu, alpha, mask), loglik)
    theta = np.log(alpha)
    g, h = _alpha_derivatives(Y, mu, alpha, mask)
    step = np.where(h < 0, -g / np.where(h < 0, h, -1.0), np.sign(g) * 0.5)
    step = np.clip(step, -3.0, 3.0)
    factor = np.ones(len(alpha))
    lo, hi = np.log(ALPHA_BOUNDS[0]), np.log(ALPHA_BOUNDS[1])
    for _ in range(tries):
        candidate = np.exp(np.clip(theta + factor * step, lo, hi))
        new = nb_loglik(Y, mu, candidate, mask)
        worse = ~(new >= loglik - 1e-10 * np.abs(loglik))
        if not worse.any():
            break
        factor = np.where(worse, factor / 2, factor)
    better = new >= loglik - 1e-10 * np.abs(loglik)
    alpha_new = np.where(better, candidate, alpha)
    newton = np.abs(np.clip(theta + step, lo, hi) - theta)
    return alpha_new, np.where(better, new, loglik), newton
