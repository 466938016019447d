"""The model families, one object each: the only place that knows what a family name means.

A registry entry, a spec and a stored result name their family by a word ("negbin"); every
module turns the word into its object with :func:`family` (an unknown word is a ``ConfigError``
naming the known ones) and asks it what it needs, instead of branching on the word: the mean
(inverse link), the variance, the log-likelihood and the IRLS weight of the batched fitters,
how to draw outcomes, what exp(coefficient) is called, which designs it accepts, how
statsmodels fits it (:meth:`Family.fit`, called by :mod:`.fit` along the chain of start
values) and which family simulations and batched refits use for it (``simulated_as``).

As in pyfixest's GLM families (``Felogit`` overrides only the mean, variance and score of
``Feglm``), :class:`Family` is one core (the log link, the IRLS weight from the link and the
variance, what a family is called and accepts) and each family overrides the few pieces that
differ: NB2 overrides Poisson's variance, likelihood, draws and fitter; ZINB adds the inflation
to NB2's; the conditional logit only the logit's fitter. Adding a family is one subclass here
and one line in :data:`FAMILIES`.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import statsmodels.api as sm
from scipy import special, stats
from statsmodels.discrete.count_model import ZeroInflatedNegativeBinomialP
from statsmodels.discrete.discrete_model import NegativeBinomial

from ..errors import ConfigError, suggest
from .base import Fit, finish
from .clogit import ConditionalLogitLikelihood


class Family(ABC):
    """The core every family overrides: what is common is a log link (the count families) and
    the IRLS weight written from the link and the variance.

    Attributes (class level, never changed): ``name`` is the registry's word, ``label`` how a
    report names it, ``ratio`` what exp(coefficient) is. ``binary``: the outcome is 0/1 (no
    exposure). ``with_fixed_effects`` / ``without_fixed_effects``: which designs accept it.
    ``conditional``: the first fixed effect is conditioned out, not estimated. ``dispersed``:
    an NB2 dispersion ``alpha`` is estimated. ``zero_inflated``: a zero-inflation part is
    estimated (and must be supported by the data). ``extra_params``: parameters beyond the
    design's columns. ``batched``: :func:`.batch.fit_batch` fits it (the small-sample tests
    need that). ``compared``: a robustness check swaps it in as the alternative model.
    """

    name: str
    label: str
    ratio = "IRR"
    binary = False
    with_fixed_effects = True
    without_fixed_effects = True
    conditional = False
    dispersed = False
    zero_inflated = False
    extra_params = 0
    batched = False
    compared = False
    #: With fixed effects, the family for an outcome of the other kind (count <-> 0/1).
    counterpart: str | None = None
    #: Why fixed effects are refused (when they are).
    fixed_effects_refusal = ""

    def __repr__(self) -> str:
        return f"family({self.name!r})"

    @property
    def simulated_as(self) -> Family:
        """The family simulations draw from and batched refits fit for this one."""
        return self

    @property
    def starts_from(self) -> Family | None:
        """The family whose fit gives this one its start values (fitted first)."""
        return None

    @property
    def boundary(self) -> Family | None:
        """The family reported instead when the dispersion sits at its boundary (0)."""
        return None

    def mean(self, eta: np.ndarray) -> np.ndarray:
        """The inverse link."""
        return np.exp(eta)

    def weight(self, mu: np.ndarray, alpha: float = 0.0) -> np.ndarray:
        """The IRLS (Fisher scoring) weight ``1 / (g'(mu)^2 V(mu))``: for a log link
        ``mu^2 / V(mu)``; the score of a coefficient is ``sum x w (y - mu) g'(mu)``."""
        mu = np.asarray(mu, dtype=float)
        return mu**2 / self.variance(mu, alpha)

    @abstractmethod
    def variance(self, mu: np.ndarray, alpha: float = 0.0) -> np.ndarray:
        """The outcome's variance at mean ``mu`` (and NB2 dispersion ``alpha``)."""

    @abstractmethod
    def loglik(self, y: np.ndarray, mu: np.ndarray, alpha: float = 0.0) -> np.ndarray:
        """Log-likelihood of each observation."""

    @abstractmethod
    def draw(
        self, rng: np.random.Generator, mu: np.ndarray, alpha: float = 0.0, size=None
    ) -> np.ndarray:
        """Outcomes with means ``mu`` (``size`` draws of the whole vector when given)."""

    @abstractmethod
    def fit(self, design: Any, start: Fit | None) -> Fit:
        """statsmodels' fit on a checked design (:class:`.design.Design`, which is not imported
        here: the design asks the families what they accept); ``start`` is the fit of
        :attr:`starts_from`."""


class Poisson(Family):
    """Poisson GLM with log link; with fixed effects, one dummy per level (its slopes are the
    conditional Poisson's)."""

    name = "poisson"
    label = "Poisson"
    batched = True
    compared = True
    counterpart = "clogit"

    def variance(self, mu, alpha=0.0):
        return np.asarray(mu, dtype=float)

    def loglik(self, y, mu, alpha=0.0):
        return stats.poisson.logpmf(y, mu)

    def draw(self, rng, mu, alpha=0.0, size=None):
        return rng.poisson(mu, size=_shape(mu, size)).astype(float)

    def fit(self, design, start):
        model = sm.GLM(design.y, design.X, family=sm.families.Poisson(), offset=design.offset)
        result, messages = run(lambda: model.fit())
        return from_statsmodels(model, result, bool(result.converged), messages)


class NegativeBinomial2(Poisson):
    """NB2, variance ``mu + alpha mu^2``, alpha by maximum likelihood (statsmodels'
    ``discrete_model.NegativeBinomial``; its GLM family holds alpha fixed, which would give
    wrong standard errors and a meaningless likelihood here)."""

    name = "negbin"
    label = "NB2"
    with_fixed_effects = False
    dispersed = True
    extra_params = 1
    counterpart = None
    fixed_effects_refusal = (
        "NB with fixed-effect dummies is biased in short panels (incidental parameters): use "
        "'poisson', the conditional Poisson, with cov='cluster'"
    )

    @property
    def starts_from(self):
        return POISSON

    @property
    def boundary(self):
        return POISSON

    def variance(self, mu, alpha=0.0):
        mu = np.asarray(mu, dtype=float)
        return mu + alpha * mu**2

    def loglik(self, y, mu, alpha=0.0):
        if alpha <= 0:
            return super().loglik(y, mu)
        return stats.nbinom.logpmf(y, 1 / alpha, 1 / (1 + alpha * np.asarray(mu)))

    def draw(self, rng, mu, alpha=0.0, size=None):
        """A gamma-Poisson mixture (a Poisson draw at alpha 0)."""
        shape = _shape(mu, size)
        mix = rng.gamma(1 / alpha, alpha, size=shape) if alpha > 0 else np.ones(shape)
        return rng.poisson(mu * mix).astype(float)

    def fit(self, design, start):
        """Newton from the Poisson estimates; BFGS on log(alpha) if Newton fails.

        Newton steps in alpha itself and can step below zero when the data are close to
        Poisson; BFGS works on log(alpha), so it cannot, at the price of a looser optimum.
        """
        model = NegativeBinomial(design.y, design.X, loglike_method="nb2", offset=design.offset)
        moment_alpha = max(0.05, float(ct_regression(design.y, start.mu).params[0]))
        values = np.r_[start.params.to_numpy(), moment_alpha]
        try:
            result, messages = run(
                lambda: model.fit(start_params=values, method="newton", maxiter=100, disp=0)
            )
            newton_ok = result.mle_retvals["converged"] and result.params.iloc[-1] > 0
        except np.linalg.LinAlgError:  # singular Hessian on the way
            newton_ok = False
        if not newton_ok:
            result, more = run(
                lambda: model.fit(start_params=values, method="bfgs", maxiter=2000, disp=0)
            )
            messages = (*more, "Newton failed for NB; estimated with BFGS on log(alpha)")
        return from_statsmodels(model, result, bool(result.mle_retvals["converged"]), messages)


class ZeroInflatedNB2(NegativeBinomial2):
    """NB2 with a constant probability ``inflation`` of a structural zero. Simulated (and
    refitted in batches) as NB2: the batched fitter has no inflation part, and the reported
    small-sample tests refuse it (``batched`` is false)."""

    name = "zinb"
    label = "zero-inflated NB2"
    zero_inflated = True
    extra_params = 2
    batched = False
    compared = False

    @property
    def simulated_as(self):
        return NB2

    @property
    def starts_from(self):
        return NB2

    @property
    def boundary(self):
        return None

    def mean(self, eta, inflation: float = 0.0):
        return (1 - inflation) * np.exp(eta)

    def variance(self, mu, alpha=0.0, inflation: float = 0.0):
        """Of the outcome whose count part has mean ``mu``."""
        mu = np.asarray(mu, dtype=float)
        return (1 - inflation) * mu * (1 + (alpha + inflation) * mu)

    def loglik(self, y, mu, alpha=0.0, inflation: float = 0.0):
        count = super().loglik(y, mu, alpha)
        zero = np.log(inflation + (1 - inflation) * np.exp(count))
        return np.where(np.asarray(y) == 0, zero, np.log1p(-inflation) + count)

    def draw(self, rng, mu, alpha=0.0, size=None, inflation: float = 0.0):
        counts = super().draw(rng, mu, alpha, size)
        return np.where(rng.random(counts.shape) < inflation, 0.0, counts)

    def fit(self, design, start):
        """From the NB estimates, with a zero-inflation probability of 1/2 to start.

        A start near no inflation lets BFGS wander off (NB has already absorbed the zeros into
        a large alpha); 1/2 is statsmodels' own start. ZINB nests NB, so a maximum below the NB
        log-likelihood means the optimiser failed, and the fit is flagged as not converged.
        """
        model = ZeroInflatedNegativeBinomialP(design.y, design.X, offset=design.offset, p=2)
        values = np.r_[0.0, start.params.to_numpy()]
        result, messages = run(
            lambda: model.fit(start_params=values, method="bfgs", maxiter=2000, disp=0)
        )
        converged = bool(result.mle_retvals["converged"])
        llf, more = run(lambda: float(result.llf))
        messages = (*messages, *more)
        if converged and not llf >= start.llf - 1e-6:
            converged = False
            messages = (*messages, "ZINB log-likelihood below NB's: the optimiser failed")
        return from_statsmodels(model, result, converged, messages)


class Logit(Family):
    """Logit with a dummy per fixed-effect level (for effects with many rows per level)."""

    name = "logit"
    label = "logit"
    batched = True
    ratio = "OR"
    binary = True
    without_fixed_effects = False
    counterpart = "poisson"

    def mean(self, eta):
        return special.expit(eta)

    def variance(self, mu, alpha=0.0):
        mu = np.asarray(mu, dtype=float)
        return mu * (1 - mu)

    def loglik(self, y, mu, alpha=0.0):
        return special.xlogy(y, mu) + special.xlog1py(1 - np.asarray(y), -np.asarray(mu))

    def weight(self, mu, alpha=0.0):
        """The canonical link's: the variance."""
        return self.variance(mu)

    def draw(self, rng, mu, alpha=0.0, size=None):
        return (rng.random(_shape(mu, size)) < mu).astype(float)

    def fit(self, design, start):
        model = sm.Logit(design.y, design.X, offset=design.offset)
        result, messages = run(lambda: model.fit(method="newton", maxiter=100, disp=0))
        return from_statsmodels(model, result, bool(result.mle_retvals["converged"]), messages)


class ConditionalLogit(Logit):
    """Conditional (fixed-effects) logit: the first fixed effect conditioned out (Chamberlain
    1980), its exact likelihood in :mod:`.clogit`; its mean, variance and draws are the
    logit's given the group effects."""

    name = "clogit"
    batched = False  # its own batched Newton (clogit.ConditionalLogitBatch)
    label = "conditional logit"
    conditional = True

    def fit(self, design, start):
        """Newton's method on the exact conditional likelihood, model-based covariance."""
        X = design.X.to_numpy(dtype=float)
        indicators = [design.X.columns.get_loc(c) for c in design.absorbed]
        model = ConditionalLogitLikelihood(design.y, X, design.strata, design.offset, indicators)
        params, converged, iterations = model.maximise()
        llf, _, hessian = model.evaluate(params)
        messages: tuple[str, ...] = ()
        try:
            bread = np.linalg.inv(-hessian) if len(params) else np.zeros((0, 0))
        except np.linalg.LinAlgError:
            bread, converged = np.full_like(hessian, np.nan), False
            messages = ("conditional logit information matrix is singular",)
        if not converged:
            messages = (*messages, f"Newton did not converge in {iterations} iterations")
        fitted = np.exp(X @ params)  # odds relative to the group's own baseline
        names_ = list(design.X.columns)
        return finish(model, params, bread, names_, llf, fitted, converged, messages)


POISSON = Poisson()
NB2 = NegativeBinomial2()
ZINB = ZeroInflatedNB2()
LOGIT = Logit()
CLOGIT = ConditionalLogit()

#: Every family, by the word the registry and specs use for it.
FAMILIES: dict[str, Family] = {f.name: f for f in (POISSON, NB2, ZINB, LOGIT, CLOGIT)}


def family(name: str) -> Family:
    """The family called ``name``; an unknown name is an error naming the known ones."""
    if name not in FAMILIES:
        raise ConfigError(
            f"unknown model family {name!r}{suggest(name, FAMILIES)} (known families: "
            f"{', '.join(FAMILIES)})"
        )
    return FAMILIES[name]


def names(*, fixed_effects: bool) -> tuple[str, ...]:
    """The families accepted with (or without) fixed effects."""
    return tuple(
        n
        for n, f in FAMILIES.items()
        if (f.with_fixed_effects if fixed_effects else f.without_fixed_effects)
    )


def ct_regression(y: np.ndarray, mu: np.ndarray) -> Any:
    """Cameron-Trivedi (1990) auxiliary OLS: ``((y - mu)**2 - y) / mu`` on ``mu``, no intercept.

    Its slope is a moment estimate of the NB2 alpha (NB2's start value) and its t-statistic
    tests alpha = 0 (:func:`.diagnostics.cameron_trivedi`).
    """
    return sm.OLS(((y - mu) ** 2 - y) / mu, mu).fit()


def _shape(mu: np.ndarray, size) -> tuple[int, ...]:
    mu = np.asarray(mu)
    return mu.shape if size is None else (size, *mu.shape)


# --------------------------------------------------------------------------- statsmodels


def run(fit_call: Any) -> tuple[Any, tuple[str, ...]]:
    """Call a statsmodels fit, keeping its warnings as text instead of letting them scroll by."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit_call()
    texts = tuple(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    return result, texts


def from_statsmodels(model: Any, result: Any, converged: bool, messages: tuple[str, ...]) -> Fit:
    """The fit record of a statsmodels result (covariance, likelihood and means evaluated
    here, their warnings kept with the others)."""

    def evaluated():  # statsmodels computes these lazily, with warnings of their own
        try:
            cov = np.asarray(result.cov_params())
        except (ValueError, np.linalg.LinAlgError):  # statsmodels could not invert the Hessian
            cov = np.full((len(result.params),) * 2, np.nan)
        return cov, float(result.llf), np.asarray(result.predict())

    (cov, llf, mu), more = run(evaluated)
    names_ = list(result.params.index)
    messages = tuple(dict.fromkeys((*messages, *more)))
    return finish(model, result.params, cov, names_, llf, mu, converged, messages)
