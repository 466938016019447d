"""The rules the case and global inference share: one solve rule for every batched fitter, one
rejection rule, one tie tolerance, one test inversion, and one function that decides the
reported test."""

from __future__ import annotations

import numpy as np

from analysis.models.batch import solve_batched, weighted_gram


def _step_design(n: int = 36) -> np.ndarray:
    """A step at a year boundary is the sum of the later years' dummies: collinear."""
    years = np.repeat(np.arange(3), 12)
    dummies = (years[:, None] == np.arange(1, 3)).astype(float)
    return np.c_[np.ones(n), dummies, (np.arange(n) >= 12).astype(float)]


def test_a_draw_singular_only_up_to_rounding_gets_the_per_draw_least_squares_answer():
    # seed 0's weighted system is singular, but rounding hides it from LU (no zero pivot): in a
    # batch with only well-posed draws beside it, it must still get lstsq's answer, not an
    # exact LU solution along its flat direction.
    X = _step_design()
    rng = np.random.default_rng(0)
    w = rng.gamma(2.0, size=(1, 36))
    rhs = (w * rng.normal(size=(1, 36))) @ X
    gram = weighted_gram(X, w)
    np.linalg.solve(gram[0], rhs[0])  # LU does not notice
    regular = np.eye(4) * 2.0
    systems = np.concatenate([gram, regular[None]])
    rights = np.concatenate([rhs, np.ones((1, 4))])
    solved = solve_batched(systems, rights)
    for system, right, answer in zip(systems, rights, solved, strict=True):
        expected = np.linalg.lstsq(system, right, rcond=None)[0]
        np.testing.assert_allclose(answer, expected, atol=1e-8)
    np.testing.assert_allclose(solved[1], 0.5)


def test_the_solve_rule_does_not_depend_on_the_other_draws_of_the_batch():
    X = _step_design()
    rng = np.random.default_rng(0)
    w = rng.gamma(2.0, size=(3, 36))
    w[1] = 1.0 + np.arange(36) % 5  # a draw without the collinearity
    X_full = np.c_[X[:, :3], np.arange(36.0)]
    grams = np.concatenate([weighted_gram(X, w[:1]), weighted_gram(X_full, w[1:])])
    rhs = rng.normal(size=(3, 4))
    together = solve_batched(grams, rhs)
    alone = np.concatenate([solve_batched(g[None], r[None]) for g, r in zip(grams, rhs)])
    np.testing.assert_allclose(together, alone, atol=1e-10)


def test_a_system_that_is_not_finite_gives_nan_and_leaves_the_others_alone():
    systems = np.stack([np.eye(2), np.full((2, 2), np.nan)])
    solved = solve_batched(systems, np.ones((2, 2)))
    np.testing.assert_allclose(solved[0], 1.0)
    assert np.isnan(solved[1]).all()


def test_matrix_right_hand_sides_give_the_least_squares_inverse():
    X = _step_design()
    gram = weighted_gram(X, np.ones((1, 36)))
    inverse = solve_batched(gram, np.eye(4)[None])
    np.testing.assert_allclose(
        inverse[0], np.linalg.pinv(gram[0], rcond=4 * np.finfo(float).eps), atol=1e-8
    )
