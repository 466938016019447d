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


def variants(spec: HypothesisSpec) -> list[tuple[str, str, HypothesisSpec]]:
    """(dimension, label, spec) for every variant of ``spec``, the registered one first."""
    out = [("registered", "as registered", spec)]
    if spec.predictors:
        for lag in (0, 1, 2):
            if any(p.lag != lag for p in spec.predictors):
                out.append(("lag", f"predictor lag {lag}", spec.with_overrides(lag=lag)))
    for family in ("poisson", "negbin"):
        if family != spec.model:
            out.append(("model", family, replace(spec, model=family)))
    if spec.outcome.measure == "incidents":
        out.append(("incidents", "armed clashes and shootings only",
                    replace(spec, outcome=replace(spec.outcome, categories=VIOLENT))))
        out.append(("incidents", "fatal incidents only", replace(spec, outcome=replace(spec.outcome, min_fatalities=1))))
    focal_lag = f"{spec.outcome.column}_lag1"
    if spec.outcome_lags and spec.focal != focal_lag:
        out.append(("dependence", "no lagged outcome", replace(spec, outcome_lags=())))
    out.append(("trend", "trend off" if spec.trend else "trend on", replace(spec, trend=not spec.trend)))
    first, last = spec.window
    later = str(int(first[:4]) + 5) + first[4:]
    out.append(("window", f"start {later[:4]}", spec.with_overrides(start=later)))
    out.append(("window", "end 2021", spec.with_overrides(end="2021" + last[4:])))
    for year in range(int(first[:4]), int(last[:4]) + 1):
        out.append(("leave one year out", f"without {year}", replace(spec, exclude_years=(year,))))
    return out


def run_variants(spec: HypothesisSpec, tables: Tables) -> pd.DataFrame:
    """Estimate every variant; one row each with the focal IRR, its interval, p and n."""
    rows = []
    for dimension, label, variant in variants(spec):
        row = {"dimension": dimension, "variant": label}
        try:
            model = fit_only(variant, tables)
            term = model.term(variant.focal)
            row.update(irr=term["irr"], irr_low=term["irr_low"], irr_high=term["irr_high"], p_value=term["p_value"],
                       nobs=model.nobs, converged=model.converged, note="")
        except AnalysisError as exc:
            row.update(irr=float("nan"), irr_low=float("nan"), irr_high=float("nan"), p_value=float("nan"),
                       nobs=0, converged=False, note=str(exc))
        rows.append(row)
    return pd.DataFrame(rows)
