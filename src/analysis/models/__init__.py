"""Count models for small, overdispersed, zero-heavy period panels (the only statsmodels caller).

A *panel* here is a DataFrame with one row per period: an outcome count, predictor columns,
optionally an exposure column and a time column (or a Datetime/Period index). Nothing in this
package reads a file. Estimation is split in two steps so inference can reuse them:
:func:`build_design` (:mod:`.design`) checks the input and builds the design matrix (sorted by
time), and :func:`fit_design` (:mod:`.fit`) estimates it; :func:`fit_count_model` does both.
:mod:`.spec` holds the vocabulary, :mod:`.families` one object per model family (everything a
family name means: mean, variance, likelihood, draws, ratio, statsmodels fitter), :mod:`.base`
the fit record, :mod:`.clogit` the conditional logit, :mod:`.diagnostics` the tests of a fit, and
:mod:`.batch` the vectorised fits that simulations run by the thousand.

Families (:mod:`.families`)
    ``poisson``: GLM Poisson with log link.
    ``negbin``: NB2 (variance ``mu + alpha*mu**2``) with ``alpha`` estimated by maximum
    likelihood (``discrete_model.NegativeBinomial``). statsmodels' GLM ``NegativeBinomial``
    family is deliberately not used: it holds ``alpha`` fixed (1.0 unless told), which would
    give wrong standard errors and a meaningless likelihood on these data.
    ``zinb``: zero-inflated NB2 with a constant inflation probability, started from the NB
    estimates, and estimated only when the data support extra zeros (a Vuong test against
    NB or the excess-zeros test at level ``alpha``); otherwise a ``ModelError`` says why.

Covariance
    ``hac`` (default): Newey-West (Bartlett kernel, no small-sample correction) over calendar
    distance between rows (a gap is a gap), with ``hac_lags`` lags, by default
    ``floor(4 * (T/100) ** (2/9))`` (Newey and West's 1994 rule of thumb). With a dozen or two
    annual points it is badly oversized; the hypothesis engine reports it only beside its
    simulated size, never as the primary test.
    ``cluster``: cluster-robust by the ``cluster`` column. ``nonrobust``: model-based.

Missing values
    By default a missing value in any model column is an error that counts the rows
    concerned: the panel builder is expected to have dropped them, so finding one here means
    something upstream changed. ``dropna=True`` drops them instead, and the result's
    ``sample`` records how many rows went and why.

Period effects
    ``period_effects="year"`` adds one dummy per calendar year of a monthly panel (not
    reported): each year's level is absorbed, e.g. the yearly reporting density of an incident
    catalogue, so only within-year variation identifies the other terms. ``"year_season"`` does
    the same for each season half of each year (irrigation months and the others). Strata
    without any event carry no information and are dropped (counted in ``sample``).

Degenerate inputs (all-zero outcome, constant or perfectly collinear predictors, a 0/1
predictor under which the outcome is always zero, too few rows) raise ``ModelError`` naming
the columns, instead of returning estimates that only look like numbers.

Fixed effects (unit-period panels: ``fixed_effects=("unit", "year")``, rows in any order)
    ``poisson``: Poisson with one dummy per level of every fixed effect. Its slopes are
    identical to the conditional (fixed-effects) Poisson estimator, consistent whatever the
    overdispersion when the errors are cluster-robust. ``negbin`` is refused: NB with
    fixed-effect dummies suffers from the incidental-parameters problem and is biased in short
    panels (Allison & Waterman 2002), and the "conditional NB" of Hausman, Hall & Griliches
    does not remove unit effects in the mean.
    ``clogit``: conditional (fixed-effects) logit for a 0/1 outcome: the first fixed effect is
    conditioned out (Chamberlain 1980), the others enter as dummies; with cluster-robust
    errors its groups must lie within the clusters. The exact conditional likelihood is
    computed here for every group, and for many outcome vectors, at once
    (:class:`ConditionalLogitBatch`; statsmodels' ``ConditionalLogit`` gives the same
    estimates, a test checks to 1e-6, but takes ~20 s for 170 countries with year dummies). ``fitted`` holds ``exp(x'b)``, the odds relative to the group's own baseline.
    ``logit``: ordinary logit with a dummy per fixed-effect level, for effects with many rows
    per level (years of a country panel); with few rows per level (countries over a few
    decades) it is biased like NB above, and ``clogit`` is the estimator to use.
    For both, ``ratio`` holds odds ratios, and the result's ``effect_ratio`` says so.
    Levels whose outcome never varies (Poisson: always 0; logit: always 0 or always 1) carry
    no information and have no finite estimate; their rows are dropped and counted in
    ``sample``. Fixed-effect dummies are not reported in the tidy table. ``cov`` must be
    ``cluster`` or ``nonrobust``; cluster-robust errors use statsmodels' correction
    ``G/(G-1) * (N-1)/(N-K)``. A trend or season cannot be combined with fixed effects (use
    year effects); a predictor that does not vary within the fixed effects is an error.
"""
