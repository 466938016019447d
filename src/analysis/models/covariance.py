"""The covariance estimators every fitter shares: the statsmodels-based fits of ``fit`` and the
batched fits of the global bootstrap and its simulations (``cluster_inference``).

``hac`` is Newey-West with Bartlett weights and no small-sample correction, computed from each
period's score over *calendar* distance: two rows four months apart are four lags apart even
when the months between them were dropped, and rows further apart than the lag window do not
enter. On a series without gaps this is exactly statsmodels' ``HAC`` (a test checks).
``cluster`` is the cluster sandwich with statsmodels' correction ``G/(G-1) (N-1)/(N-K)``
(Cameron & Miller 2015), ``G`` clusters, ``N`` rows and ``K`` estimable parameters.
"""

from __future__ import annotations

import numpy as np


def hac_covariance(
    scores: np.ndarray, bread: np.ndarray, positions: np.ndarray, lags: int
) -> np.ndarray:
    """Newey-West sandwich ``B S B`` with ``S = sum_ij w(|t_i - t_j|) s_i s_j'`` over calendar
    distance ``|t_i - t_j|`` (Bartlett weights ``1 - d/(L+1)`` for ``d <= L``, else 0).

    ``positions`` must be strictly increasing period numbers; pairs at a distance no row pair
    realises (a gap) simply do not enter, which is what "adjacent periods" means with gaps.
    ``scores`` is n x k (or draws x n x k, with ``bread`` draws x k x k, for many at once).
    """
    meat = np.swapaxes(scores, -1, -2) @ scores
    for distance in range(1, lags + 1):
        later = np.searchsorted(positions, positions + distance)
        found = later < len(positions)
        found[found] = positions[later[found]] == positions[found] + distance
        if found.any():
            cross = np.swapaxes(scores[..., later[found], :], -1, -2) @ scores[..., found, :]
            meat = meat + (1 - distance / (lags + 1)) * (cross + np.swapaxes(cross, -1, -2))
    return bread @ meat @ bread


def cluster_correction(clusters, nobs, parameters):
    """statsmodels' small-sample factor of the cluster sandwich, ``G/(G-1) (N-1)/(N-K)``
    (scalars, or arrays for many fits at once)."""
    return clusters / (clusters - 1) * (nobs - 1) / (nobs - parameters)


def cluster_covariance(cluster_scores: np.ndarray, bread: np.ndarray, nobs: int) -> np.ndarray:
    """The cluster sandwich ``c B (sum_g s_g s_g') B`` of one fit, from each cluster's summed
    score (clusters x k) and the bread ``B`` (the inverse of the information)."""
    g, k = cluster_scores.shape
    meat = cluster_scores.T @ cluster_scores
    return bread @ meat @ bread * cluster_correction(g, nobs, k)


def cluster_variance(
    cluster_scores: np.ndarray, bread_row: np.ndarray, clusters, nobs, parameters
) -> np.ndarray:
    """One parameter's variance from the cluster sandwich, for many fits at once: ``c sum_g
    (s_g . b)^2`` with ``b`` that parameter's row of the bread (fits x k) and each cluster's
    summed score (fits x clusters x k); ``clusters``, ``nobs`` and ``parameters`` per fit."""
    meat = np.einsum("pck,pk->pc", cluster_scores, bread_row)
    return cluster_correction(clusters, nobs, parameters) * (meat**2).sum(axis=1)
