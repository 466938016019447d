"""One hypothesis across alternative specifications: the data behind a specification curve.

Each variant changes one thing of the registered spec (lag, model family, incident definition,
dependence control, trend, sample window, one year left out), so the curve shows which choice
an estimate depends on. Variants that cannot be estimated are kept, with the reason.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from .errors import AnalysisError
from .hypotheses import HypothesisSpec, Tables, fit_only

VIOLENT = ("armed_clash", "shooting")


def variants(spec: HypothesisSpec) -> list[tuple[str, str, HypothesisSpec | str]]:
    """(dimension, label, spec) for every variant of ``spec``, the registered one first.

    A variant the registry's rules refuse (e.g. NB with fixed effects on a global entry) is
    listed with the reason instead of a spec, so the curve shows it was considered.
    """
    first, last = spec.window
    later = str(int(first[:4]) + 5) + first[4:]
    focal_lag = f"{spec.outcome.column}_lag1"
    candidates = [("registered", "as registered", lambda: spec)]
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
    if spec.outcome.measure == "incidents":
        candidates += [
            (
                "incidents",
                "armed clashes and shootings only",
                lambda: replace(spec, outcome=replace(spec.outcome, categories=VIOLENT)),
            ),
            (
                "incidents",
                "fatal incidents only",
                lambda: replace(spec, outcome=replace(spec.outcome, min_fatalities=1)),
            ),
        ]
    if spec.outcome_lags and spec.focal != focal_lag:
        candidates.append(
            ("dependence", "no lagged outcome", lambda: replace(spec, outcome_lags=()))
        )
    candidates += [
        (
            "trend",
            "trend off" if spec.trend else "trend on",
            lambda: replace(spec, trend=not spec.trend),
        ),
        ("window", f"start {later[:4]}", lambda: spec.with_overrides(start=later)),
        ("window", "end 2021", lambda: spec.with_overrides(end="2021" + last[4:])),
    ]
    if spec.scope == "case":  # a global panel has power to spare and each refit costs seconds
        candidates += [
            (
                "leave one year out",
                f"without {year}",
                lambda year=year: replace(spec, exclude_years=(year,)),
            )
            for year in range(int(first[:4]), int(last[:4]) + 1)
        ]
    out = []
    for dimension, label, make in candidates:
        try:
            out.append((dimension, label, make()))
        except AnalysisError as exc:
            out.append((dimension, label, f"not a valid specification: {exc}"))
    return out


def run_variants(spec: HypothesisSpec, tables: Tables) -> pd.DataFrame:
    """Estimate every variant; one row each with the focal IRR, its interval, p and n."""
    rows = []
    for dimension, label, variant in variants(spec):
        row = {"dimension": dimension, "variant": label}
        try:
            if isinstance(variant, str):
                raise AnalysisError(variant)
            model = fit_only(variant, tables)
            term = model.term(variant.focal)
            row.update(
                irr=term["irr"],
                irr_low=term["irr_low"],
                irr_high=term["irr_high"],
                p_value=term["p_value"],
                nobs=model.nobs,
                converged=model.converged,
                note="",
            )
        except AnalysisError as exc:
            row.update(
                irr=float("nan"),
                irr_low=float("nan"),
                irr_high=float("nan"),
                p_value=float("nan"),
                nobs=0,
                converged=False,
                note=str(exc),
            )
        rows.append(row)
    return pd.DataFrame(rows)
