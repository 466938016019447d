"""The one rule for the batched symmetric systems of every fitter: Newton steps, variances.

Kept apart from the fitters (``batch``, ``clogit``) because both use it and the families need
the conditional likelihood: one module below all three.
"""

from __future__ import annotations

import numpy as np


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


def estimable(system: np.ndarray, inverse: np.ndarray, j: int) -> np.ndarray:
    """Whether parameter ``j`` is identified in each draw: its unit vector lies in the row space
    of the draw's system (``system @ inverse`` maps it to itself, ``inverse`` from
    :func:`solve_batched`). A parameter collinear with others on a draw's active rows gets a
    finite least-squares variance that means nothing: no Wald test is reported for it."""
    column = system @ inverse[:, :, j : j + 1]
    unit = np.zeros(column.shape[1:])
    unit[j] = 1.0
    return np.abs(column - unit).max(axis=(1, 2)) < 1e-6


def _norm1(matrices: np.ndarray) -> np.ndarray:
    """The 1-norm (largest absolute column sum) of each matrix of a batch."""
    return np.abs(matrices).sum(axis=1).max(axis=1)
