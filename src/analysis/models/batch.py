"""Poisson and NB2 maximum likelihood for thousands of outcome vectors at once.

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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

ALPHA_BOUNDS = (1e-8, 1e3)


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


def weighted_gram(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``X' W X`` per draw (draws x k x k); a column with no weight in a draw (all its rows
    masked) gets a unit diagonal, which holds its coefficient at 0 and keeps the system
    solvable without touching the others. For a shared design it is one matrix product of the
    weights with the row-wise outer products of ``X`` (draws x n times n x k^2), which BLAS
    does fast; a per-draw design takes one batched product."""
    k = X.shape[-1]
    if X.ndim == 2:
        n = X.shape[0]
        outer = (X[:, :, None] * X[:, None, :]).reshape(n, k * k)
        gram = (w @ outer).reshape(len(w), k, k)
    else:
        gram = np.matmul(np.swapaxes(X * w[:, :, None], 1, 2), X)
    diagonal = np.diagonal(gram, axis1=1, axis2=2)
    dead = diagonal <= 1e-12 * np.maximum(diagonal.max(axis=1, keepdims=True), 1e-300)
    return gram + np.eye(k)[None] * dead[:, None, :]


def solve_batched(system: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """The one rule for the symmetric positive semi-definite systems of every batched fitter
    (systems batch x k x k; right-hand sides batch x k, or batch x k x m): each draw gets the
    minimum-norm least-squares solution, eigenvalues below ``eps * k`` of the largest dropped
    (``lstsq``'s rule), whatever the other draws of the batch are. A direction flat up to
    rounding (a mask that leaves columns collinear, a quasi-separated coefficient running off)
    then gets no step and no variance on any BLAS kernel, where LU would return whatever the
    rounding made of it. The exact inverse is used where it provably equals that answer (its
    1-norm condition number below ``1 / (eps k^2)``, so no eigenvalue falls under the cutoff),
    the eigen decomposition only for the other draws: a tenth of the cost of decomposing every
    system. A system that is not finite gives NaN."""
    vector = rhs.ndim == system.ndim - 1
    b = rhs[..., None] if vector else rhs
    out = np.full(b.shape, np.nan)
    k = system.shape[-1]
    cutoff = np.finfo(float).eps * k
    finite = np.flatnonzero(
        np.all(np.isfinite(system), axis=(1, 2)) & np.all(np.isfinite(b), axis=(1, 2))
    )
    doubtful = finite
    if len(finite):
        matrices = system[finite]
        try:
            inverse = np.linalg.inv(matrices)
        except np.linalg.LinAlgError:  # an exactly singular draw: decompose them all
            inverse = None
        if inverse is not None:
            with np.errstate(invalid="ignore", over="ignore"):
                condition = _norm1(matrices) * _norm1(inverse)
            exact = condition * k < 1 / cutoff
            out[finite[exact]] = inverse[exact] @ b[finite[exact]]
            doubtful = finite[~exact]
    if len(doubtful):
        values, vectors = np.linalg.eigh(system[doubtful])
        top = np.abs(values).max(axis=1, keepdims=True)
        kept = np.abs(values) > cutoff * top
        inverse_values = np.where(kept, 1 / np.where(kept, values, 1.0), 0.0)
        projected = vectors.transpose(0, 2, 1) @ b[doubtful]
        out[doubtful] = vectors @ (inverse_values[..., None] * projected)
    return out[..., 0] if vector else out


def _norm1(matrices: np.ndarray) -> np.ndarray:
    """The 1-norm (largest absolute column sum) of each matrix of a batch."""
    return np.abs(matrices).sum(axis=1).max(axis=1)


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


def fit_batch(
    Y: np.ndarray,
    X: np.ndarray,
    offset: np.ndarray | None = None,
    *,
    family: str = "negbin",
    mask: np.ndarray | None = None,
    start: np.ndarray | None = None,
    alpha_start: float = 0.5,
    max_iter: int = 200,
    tol: float = 1e-7,
) -> BatchFit:
    """Fit ``family`` ("poisson" or "negbin") to every row of ``Y`` on the design ``X``, shared
    (n x k) or one per draw (draws x n x k).

    ``offset`` is shared (length n) or per draw (draws x n). ``start`` is a coefficient vector
    to start every draw from (default: log of each draw's mean for the intercept column 0, zero
    elsewhere; column 0 must then be the constant).
    """
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    S, n = Y.shape
    X = np.asarray(X, dtype=float)
    k = X.shape[-1]
    offset = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
    offset = np.broadcast_to(offset, (S, n))
    mask = np.ones((S, n)) if mask is None else np.asarray(mask, dtype=float)
    active_y = (Y * mask).sum(axis=1) > 0
    if start is None:
        beta = np.zeros((S, k))
        means = (Y * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)
        beta[:, 0] = np.log(np.maximum(means, 1e-3)) - np.mean(offset, axis=1)
    else:
        beta = np.tile(np.asarray(start, dtype=float), (S, 1))
    negbin = family == "negbin"
    alpha = np.full(S, alpha_start if negbin else 0.0)

    def design(rows):
        return X if X.ndim == 2 else X[rows]

    def means(b, rows):
        return np.exp(np.clip(linear(b, design(rows)) + offset[rows], -30, 30))

    everyone = np.arange(S)
    mu = means(beta, everyone)
    loglik = nb_loglik(Y, mu, alpha, mask)
    converged = np.zeros(S, dtype=bool)
    # Only the draws still moving are iterated: most converge in a few steps, and a draw's
    # iterations do not depend on the others'.
    live = everyone[np.isfinite(loglik)]
    iteration = 0
    for iteration in range(1, max_iter + 1):
        if not len(live):
            break
        y, m, b, a = Y[live], mask[live], beta[live], alpha[live]
        w = m * mu[live] / (1 + a[:, None] * mu[live])
        safe_mu = np.maximum(mu[live], 1e-300)
        work = np.log(safe_mu) - offset[live] + (y - mu[live]) / safe_mu
        Xl = design(live)
        proposal = solve_batched(weighted_gram(Xl, w), cross(w * work, Xl)[..., None])[..., 0]
        new_b, new_mu, new_loglik = _halve(
            lambda c, sub, rows=live: means(c, rows[sub]), b, proposal - b, y, a, m, loglik[live]
        )
        # Convergence is judged on the full Newton step, not the step taken: a draw whose
        # step-halving found no better point has moved little but is not at a maximum (and,
        # frozen once done, would stay there). It is measured on the linear predictor of the
        # active rows: a draw whose mask makes two columns collinear (e.g. the constant and
        # the dummies of the remaining strata) has a flat direction in beta that moves nothing.
        newton = np.max(np.abs(linear(proposal - b, Xl)) * (m > 0), axis=1)
        alpha_newton = np.zeros(len(live))
        if negbin:
            a, new_loglik, alpha_newton = _alpha_step(y, new_mu, a, m, new_loglik)
        beta[live], mu[live], loglik[live], alpha[live] = new_b, new_mu, new_loglik, a
        done = (newton < tol) & (alpha_newton < tol)
        converged[live[done]] = True
        live = live[~done & np.isfinite(new_loglik)]
    ok = converged & active_y & np.isfinite(loglik) & np.all(np.isfinite(beta), axis=1)
    return BatchFit(beta=beta, alpha=alpha, mu=mu, converged=ok, iterations=iteration)


def _halve(means, beta, step, Y, alpha, mask, loglik, tries: int = 30):
    """Take each draw's step, halving it while that draw's log-likelihood falls (a draw whose
    step is not finite stays where it is). ``means(coefficients, draws)`` gives the means of
    those draws; only the draws still being halved are evaluated again."""
    finite = np.all(np.isfinite(step), axis=1)
    step = np.where(finite[:, None], step, 0.0)
    factor = np.ones(len(beta))
    fixed = _fixed_terms(Y, alpha)
    candidate = beta + step
    mu = means(candidate, np.arange(len(beta)))
    new = nb_loglik(Y, mu, alpha, mask, fixed)
    for _ in range(tries):
        worse = np.flatnonzero(~(new >= loglik - 1e-10 * np.abs(loglik)) & finite)
        if not len(worse):
            break
        factor[worse] /= 2
        candidate[worse] = beta[worse] + factor[worse, None] * step[worse]
        mu[worse] = means(candidate[worse], worse)
        new[worse] = nb_loglik(Y[worse], mu[worse], alpha[worse], mask[worse], fixed[worse])
    return candidate, mu, new


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
