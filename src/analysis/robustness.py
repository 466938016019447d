"""One hypothesis across alternative specifications: the data behind a specification curve.

Each variant changes one thing of the registered spec on one outcome series (the outcome
series itself, the coverage control, lag, model family, incident definition, dependence
control, trend, sample window, one year left out), so the curve shows which choice an
estimate depends on. Every variant is tested with the *reported* small-sample test (fewer
draws than report 10, Monte Carlo s.e. shown) and its interval inverts that same test, so
the curve never mixes a small-sample p-value with an asymptotic interval. Variants that
cannot be estimated are kept, with the reason.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd

from . import calibration, inference
from .errors import AnalysisError
from .hypotheses import Tables, effect_scale, prepare, procedure
from .models import fit_design
from .registry import HypothesisSpec, Study, load_study
from .settings import TestSettings

VIOLENT = ("armed_clash", "shooting")
#: Draws per variant: enough for a curve, few enough for twenty-odd variants.
VARIANT_DRAWS = 999


def variants(spec: HypothesisSpec) -> list[tuple[str, str, HypothesisSpec | str]]:
    """(dimension, label, spec) for every variant of ``spec`` (already on an outcome series),
    the registered one first. A variant the registry's rules refuse is listed with the reason
    instead of a spec, so the curve shows it was considered."""
    focal_lag = spec.lag_term
    candidates = [("registered", "as registered", lambda: spec)]
    candidates += [
        ("outcome", f"outcome: {other}", lambda other=other: spec.on(other))
        for other in spec.outcomes
        if other != spec.series
    ]
    if spec.scope == "case" and spec.frequency == "M" and spec.period_effects != "none":
        candidates.append(
            ("coverage", "no year effects (trend instead)",
             lambda: replace(spec, period_effects="none", trend=True))
        )  # fmt: skip
    if spec.predictors:
        candidates += [
            ("lag", f"predictor lag {lag}", lambda lag=lag: spec.with_overrides(lag=lag))
            for lag in (0, 1, 2)
            if any(p.lag != lag for p in spec.predictors)
        ]
    candidates += [
        ("model", family, lambda family=family: replace(spec, model=family))
        for family in ("poisson", "negbin")
        if family != spec.model
    ]
    if spec.outcome.measure == "incidents" and spec.scope == "case":
        candidates += [
            ("incidents", "armed clashes and shootings only",
             lambda: replace(spec, outcome=replace(spec.outcome, categories=VIOLENT))),
            ("incidents", "fatal incidents only",
             lambda: replace(spec, outcome=replace(spec.outcome, min_fatalities=1))),
        ]  # fmt: skip
    if spec.outcome_lags and spec.focal != focal_lag:
        candidates.append(
            ("dependence", "no lagged outcome", lambda: replace(spec, outcome_lags=()))
        )
    if spec.period_effects in (None, "none"):
        candidates.append(
            ("trend", "trend off" if spec.trend else "trend on",
             lambda: replace(spec, trend=not spec.trend))
        )  # fmt: skip
    candidates += _window_variants(spec)
    out = []
    for dimension, label, make in candidates:
        try:
            out.append((dimension, label, make()))
        except AnalysisError as exc:
            out.append((dimension, label, f"not a valid specification: {exc}"))
    return out


def _window_variants(spec: HypothesisSpec) -> list:
    if spec.scope == "global":
        first, last = spec.window or ("1990", "2024")
        later = str(int(first[:4]) + 5)
        return [
            ("window", f"start {later}", lambda: spec.with_overrides(start=later, end=last)),
            ("window", "end 2021", lambda: spec.with_overrides(start=first, end="2021")),
        ]
    years = range(2008, 2026)
    monthly = spec.frequency == "M"
    return [
        (
            "window",
            "end 2021",
            lambda: spec.with_overrides(
                start="2008-01" if monthly else "2008", end="2021-12" if monthly else "2021"
            ),
        ),
        (
            "window",
            "from 2013",
            lambda: spec.with_overrides(
                start="2013-01" if monthly else "2013", end="2025-12" if monthly else "2025"
            ),
        ),
    ] + [
        (
            "leave one year out",
            f"without {year}",
            lambda year=year: replace(spec, exclude_years=(year,)),
        )
        for year in years
    ]


def run_variants(
    spec: HypothesisSpec,
    tables: Tables,
    settings: TestSettings | None = None,
    study: Study | None = None,
) -> pd.DataFrame:
    """Test every variant; one row each: effect and interval on the display scale, the
    reported test's p with its Monte Carlo s.e., n, and a note (the reason, if it failed)."""
    settings = settings or TestSettings()
    study = study or load_study()
    rows = []
    for dimension, label, variant in variants(spec):
        row = {"dimension": dimension, "variant": label}
        try:
            if isinstance(variant, str):
                raise AnalysisError(variant)
            row.update(_test_variant(variant, tables, settings, study))
        except AnalysisError as exc:
            row.update(effect=math.nan, ci_low=math.nan, ci_high=math.nan, scale="", p=math.nan,
                       p_mc_se=math.nan, test="", nobs=0, note=str(exc))  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


def _test_variant(
    variant: HypothesisSpec, tables: Tables, settings: TestSettings, study: Study
) -> dict:
    prepared = prepare(variant, tables, study)
    model = fit_design(prepared.design)
    scale = effect_scale(variant, prepared.design, model.effect_ratio, prepared.unit)
    row = model.term(variant.focal)
    estimate, se = float(row["estimate"]), float(row["std_error"])
    if variant.scope == "global":
        low, high, p, mc = (
            float(row["ci_low"]),
            float(row["ci_high"]),
            float(row["p_value"]),
            math.nan,
        )
        method = "cluster-robust Wald"
    else:
        reported = procedure(prepared, settings, study, VARIANT_DRAWS, "variant")
        test = reported.result()
        p, mc, method = test.p_value, test.p_mc_se, test.method.replace("_", " ")
        if isinstance(reported, inference.StratifiedPermutation):
            low = high = math.nan  # found by simulation in report 10 only
        else:
            interval = calibration.offset_interval(reported, estimate, se if se > 0 else 0.5)
            low, high = interval.low, interval.high
    return {
        "effect": scale.display(estimate),
        "ci_low": math.nan if math.isnan(low) else scale.display(low),
        "ci_high": math.nan if math.isnan(high) else scale.display(high),
        "scale": scale.label(),
        "p": p,
        "p_mc_se": math.nan if mc is None else mc,
        "test": method,
        "nobs": model.nobs,
        "note": "",
    }
