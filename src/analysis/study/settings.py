"""How each test is run: the one place every default of the hypothesis engine is stated.

Kept apart from the engine so that the command line and the notebook configs can read the
defaults without importing the estimation stack.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Notebook parameters that set a report's test settings (``config``); the runner computes the
#: registry's results once per combination of them that its reports use.
SETTINGS_PARAMETERS = ("n_perm", "n_size", "n_power")


@dataclass(frozen=True)
class TestSettings:
    """How each test is run: the one place every default is stated.

    ``n_perm`` draws give the reported p-value (its Monte Carlo s.e. is shown beside it);
    ``n_perm_sim`` draws per p-value inside size and power simulations (a test that rejects
    at p <= 0.05 with B+1 a multiple of 20 has the same size for any such B); ``n_size``
    null samples for the size, ``n_power`` samples per point of the power curve, and
    ``n_interval`` samples per value for intervals found by simulation. ``calibrate=False``
    skips size, power and intervals (multiplicity needs only the p-values)."""

    n_perm: int = 9_999
    n_perm_sim: int = 199
    n_size: int = 1_000
    n_power: int = 500
    n_interval: int = 499
    level: float = 0.05
    power: float = 0.8
    oversize: float = 0.10
    adequate_mde: float = 2.0
    min_segment: int | None = None
    calibrate: bool = True

    __test__ = False  # not a pytest class
