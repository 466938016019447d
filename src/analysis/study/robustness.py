"""One hypothesis across alternative specifications: the data behind a specification curve.

Each variant changes one thing of the registered spec on one outcome series (the outcome
series itself, the coverage control, lag, model family, incident definition, dependence
control, trend, sample window, one year left out), so the curve shows which choice an
estimate depends on. Every variant is tested by the engine itself (``hypotheses``, through the
results store), with the test it reports for that specification (fewer draws than report 10,
Monte Carlo s.e. shown) and the interval that inverts that same test, so the curve never mixes
a small-sample p-value with an asymptotic interval. Variants that cannot be estimated are
kept, with the reason.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd

from ..errors import AnalysisError
from ..models.families import FAMILIES
from ..results import Failure, HypothesisResult
from .hypotheses import Tables
from .registry import HypothesisSpec, Study, load_study
from .settings import TestSettings
from .store import ResultStore, outcomes

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
        ("model", family.label, lambda name=name: replace(spec, model=name))
        for name, family in FAMILIES.items()
        if family.compared and name != spec.model
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


#: How a variant is tested: the reported test with fewer draws (its Monte Carlo s.e. shown) and
#: the interval that inverts it; no size or power (report 10 has them for the registered spec).
VARIANT_SETTINGS = TestSettings(n_perm=VARIANT_DRAWS, n_size=0, n_power=0, n_interval=99)


def run_variants(
    spec: HypothesisSpec,
    tables: Tables | None = None,
    settings: TestSettings | None = None,
    study: Study | None = None,
    store: ResultStore | None = None,
) -> pd.DataFrame:
    """Test every variant; one row each: effect and interval on the display scale, the
    reported test's p with its Monte Carlo s.e., n, and a note (the reason, if it failed).

    Each variant is a test in the results ``store`` (the engine's own, computed once per
    content key); the registered specification is the stored registry test itself, with the
    draws of report 10 (``settings``, default the study's)."""
    study = study or load_study()
    listed = variants(spec)
    testable = [(i, v) for i, (_, _, v) in enumerate(listed) if not isinstance(v, str)]
    each = [settings or TestSettings() if i == 0 else VARIANT_SETTINGS for i, _ in testable]
    found = dict(
        zip(
            [i for i, _ in testable],
            outcomes([v for _, v in testable], each, tables, study=study, store=store),
        )
    )
    rows = []
    for i, (dimension, label, variant) in enumerate(listed):
        outcome = found.get(i, variant)
        rows.append({"dimension": dimension, "variant": label, **_row(outcome)})
    return pd.DataFrame(rows)


def _row(outcome: HypothesisResult | Failure | str) -> dict:
    """A curve row from a tested variant, or the reason it could not be tested."""
    if not isinstance(outcome, HypothesisResult):
        reason = outcome if isinstance(outcome, str) else outcome.reason
        return {"effect": math.nan, "ci_low": math.nan, "ci_high": math.nan, "scale": "",
                "p": math.nan, "p_mc_se": math.nan, "test": "", "nobs": 0, "note": reason}  # fmt: skip
    row = outcome.to_row()
    return {
        "effect": row["effect"],
        "ci_low": row["ci_low"],
        "ci_high": row["ci_high"],
        "scale": outcome.effect.label(),
        "p": row["p"],
        "p_mc_se": math.nan if row["p_mc_se"] is None else row["p_mc_se"],
        "test": outcome.test.method.replace("_", " "),
        "nobs": row["nobs"],
        "note": "",
    }
