"""Make reference.json: the score wild cluster bootstrap on a public panel, by ``wildboottest``.

Run it by hand (the suite reads the numbers it wrote, and :func:`panel` from here):

    pip install wildboottest==0.3.2 numba tabulate   # in a scratch environment with statsmodels
    python tests/data/wild_bootstrap_reference/make_reference.py

Data. Grunfeld's investment panel as statsmodels ships it (``statsmodels.datasets.grunfeld``:
11 US firms, 1935-1954, 220 rows), with ``invest`` rounded to whole millions of dollars because
the package's Poisson model takes counts. The model is a Poisson (PPML) regression of
``invest`` on ``value`` and ``capital`` with firm fixed effects, clustered by firm (G = 11), and
each slope is tested against 0 with Rademacher weights: ``2^11 = 2048`` weight vectors, every
one enumerated by both implementations, so the p-values carry no Monte Carlo error and must
agree to rounding.

What is compared, and why it is the same quantity. ``analysis.inference.clusters.score_bootstrap``
is Kline & Santos's (2012) score bootstrap for a GLM; ``wildboottest`` (by the pyfixest author)
is the restricted wild cluster bootstrap (WCR) for OLS. They meet as follows.

1. At the restricted Poisson fit ``beta~`` (slope held at 0, fitted here by statsmodels' GLM),
   the Poisson score and Hessian are those of a least-squares problem: with ``w = mu~``,
   ``X* = sqrt(w) X`` and working response ``z = (y - mu~) / sqrt(w) + X* beta~``, one has
   ``X*' X* = X' W X`` (the Poisson information) and ``X*_g' (z_g - X*_g beta~) =
   X_g' (y_g - mu~_g)`` (cluster g's Poisson score). ``beta~`` satisfies the restricted normal
   equations of that least-squares problem, so it is also its restricted OLS fit; the script
   checks that ``wildboottest``'s own restricted estimate equals it.
2. ``wildboottest``'s WCR "scores" for cluster g are ``X*_g' u~_g`` with ``u~`` the restricted
   residuals, i.e. the cluster Poisson scores ``s_g``, and its bootstrap numerator is
   ``C v`` with ``C_g = R (X*'X*)^{-1} s_g``. By the partitioned inverse, ``R H^{-1} s_g =
   (s_gb - H_bg H_gg^{-1} s_gg) / k = e_g / k``: the effective score of the focal slope (the
   quantity the score bootstrap bootstraps), over a constant ``k > 0`` (a Schur complement).
3. The score bootstrap's statistic is ``t* = sum_g v_g e_g / sqrt(sum_g v_g^2 e_g^2)``. With
   Rademacher weights ``v_g^2 = 1``, so the denominator is the same for every draw and ``t*``
   orders the draws exactly as ``wildboottest``'s numerator ``C v`` does. The studentised
   statistic is ``t = sum C_g / sqrt(sum C_g^2)`` (``k`` cancels), and the enumerated p-values
   are shares of ``wildboottest``'s 2048 numerators: two-sided ``|C v| >= |C 1|``, "greater"
   ``C v >= C 1``, "less" ``C v <= C 1`` (``v = 1`` is one of the enumerated vectors).

Not compared: ``wildboottest``'s own t and p, which studentise each draw by a CRV1 variance of
re-estimated residuals (the WCR-t), a different statistic; nor Webb weights (their denominator
varies per draw, so the numerator alone does not order the draws).
"""

import hashlib
import json
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.datasets import grunfeld

HERE = Path(__file__).resolve().parent
SLOPES = ("value", "capital")


def panel() -> pd.DataFrame:
    """Grunfeld's panel as the test reads it: integer years, invest rounded to whole millions."""
    frame = grunfeld.load_pandas().data
    return frame.assign(year=frame["year"].astype(int), invest=frame["invest"].round().astype(int))


def digest(frame: pd.DataFrame) -> str:
    """sha256 of the panel's CSV, so a changed data set is told apart from a changed method."""
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()


def reference(frame: pd.DataFrame, slope: str) -> dict:
    from wildboottest.wildboottest import WildboottestCL  # here, so the suite can read panel()

    firms = pd.get_dummies(frame["firm"], dtype=float)
    X = pd.concat([frame[list(SLOPES)], firms], axis=1)
    y = frame["invest"].to_numpy(float)
    nuisance = X.drop(columns=slope)
    restricted = sm.GLM(y, nuisance, family=sm.families.Poisson()).fit(tol=1e-13, maxiter=200)
    beta = X.columns.map(lambda c: 0.0 if c == slope else restricted.params[c]).to_numpy()
    mu = restricted.fittedvalues.to_numpy()
    root = np.sqrt(mu)
    X_star = X.to_numpy() * root[:, None]
    z = (y - mu) / root + X_star @ beta
    R = (X.columns == slope).astype(float)

    boot = WildboottestCL(X=X_star, Y=z, cluster=frame["firm"].to_numpy(), R=R, B=99_999, seed=1)
    boot.get_scores(bootstrap_type="11", impose_null=True)
    boot.get_weights(weights_type="rademacher")
    assert boot.full_enumeration and boot.B == 2 ** frame["firm"].nunique()
    restricted_ols = boot.beta_hat - boot.tXXinv @ R / (R @ boot.tXXinv @ R) * (R @ boot.beta_hat)
    assert np.allclose(restricted_ols, beta, rtol=1e-7, atol=1e-10), "step 1 of the docstring"
    boot.get_numer()
    observed = boot.Cg.sum()
    draws = boot.numer
    tie = 1e-9 * abs(observed)
    return {
        "term": slope,
        "b0": 0.0,
        "statistic": float(observed / np.sqrt(boot.Cg @ boot.Cg)),
        "p_two_sided": float(np.mean(np.abs(draws) >= abs(observed) - tie)),
        "p_greater": float(np.mean(draws >= observed - tie)),
        "p_less": float(np.mean(draws <= observed + tie)),
        "n_vectors": int(boot.B),
    }


def main() -> None:
    frame = panel()
    out = {
        "source": "tests/data/wild_bootstrap_reference/make_reference.py",
        "data": "statsmodels.datasets.grunfeld, invest rounded to whole millions",
        "data_sha256": digest(frame),
        "model": "Poisson: invest ~ value + capital + firm fixed effects, clustered by firm",
        "weights": "rademacher, every vector enumerated",
        "versions": {
            name: version(name) for name in ("wildboottest", "statsmodels", "numpy", "pandas")
        },
        "python": sys.version.split()[0],
        "results": [reference(frame, slope) for slope in SLOPES],
    }
    (HERE / "reference.json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out["results"], indent=2))


if __name__ == "__main__":
    main()
