"""What every estimator returns before it becomes a result: the fit record and its one
finishing step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True, eq=False)
class Fit:
    """One fit reduced to what a result needs (``model`` keeps the likelihood for diagnostics)."""

    model: Any
    params: pd.Series
    cov: pd.DataFrame
    llf: float
    mu: np.ndarray
    converged: bool
    messages: tuple[str, ...]


def finish(model, params, covariance, names, llf, mu, converged, messages) -> Fit:
    """The one way a fit is finalised: labelled estimates, and a fit whose covariance is not
    positive definite is flagged as not converged (its standard errors mean nothing)."""
    params = pd.Series(np.asarray(params, dtype=float), index=names)
    cov = pd.DataFrame(np.asarray(covariance, dtype=float), index=names, columns=names)
    diagonal = np.diag(cov.to_numpy())
    ok = converged and bool(np.all(np.isfinite(diagonal))) and bool(np.all(diagonal > 0))
    if converged and not ok:
        messages = (*messages, "covariance matrix is not positive definite")
    return Fit(model, params, cov, float(llf), np.asarray(mu), ok, tuple(messages))
