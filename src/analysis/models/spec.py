"""What a count model estimates: the spec, its vocabulary and the defaults it relies on."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..errors import ConfigError
from . import families
from .families import Family, names

PANEL_COV_TYPES = ("cluster", "nonrobust")
COV_TYPES = ("hac", "cluster", "nonrobust")
SEASONS = (None, "month", "irrigation")
#: Dummies that absorb each calendar year (or each half-year of one season within a year) of a
#: monthly panel: the strata within which only the other terms' variation is used.
PERIOD_EFFECTS = (None, "year", "year_season")
#: Smallest sample accepted, on top of ``k + MIN_EXTRA_ROWS`` for k parameters.
MIN_ROWS = 8
MIN_EXTRA_ROWS = 5
#: Names of generated terms; a panel column may not use them.
RESERVED = ("const", "trend", "irrigation_season", *(f"month_{m:02d}" for m in range(2, 13)))


def default_hac_lags(n_periods: int) -> int:
    """Newey-West (1994) rule of thumb ``floor(4 * (T/100) ** (2/9))``."""
    return math.floor(4 * (n_periods / 100) ** (2 / 9))


@dataclass(frozen=True)
class CountModelSpec:
    """What to estimate; validated on creation so a typo fails before any data is touched."""

    outcome: str
    predictors: tuple[str, ...]
    family: str = "negbin"
    controls: tuple[str, ...] = ()
    trend: bool = False
    season: str | None = None
    exposure: str | None = None
    time: str | None = None
    cov: str = "hac"
    hac_lags: int | None = None
    cluster: str | None = None
    alpha: float = 0.05
    dropna: bool = False
    fixed_effects: tuple[str, ...] = ()
    period_effects: str | None = None
    #: The months (1-12) of the season that ``season="irrigation"`` and year-and-season period
    #: effects split the year by: the study's calendar, given to the model, not known to it.
    season_months: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for name in ("predictors", "controls", "fixed_effects"):
            value = getattr(self, name)
            value = (value,) if isinstance(value, str) else tuple(value)
            object.__setattr__(self, name, value)
        distribution = self.distribution  # an unknown family name fails here
        if self.fixed_effects:
            self._check_fixed_effects(distribution)
        elif not distribution.without_fixed_effects:
            raise ConfigError(
                f"family must be one of {names(fixed_effects=False)} without fixed effects; "
                f"found {self.family!r} (it needs fixed_effects)"
            )
        if self.cov not in COV_TYPES:
            raise ConfigError(f"cov must be one of {COV_TYPES}; found {self.cov!r}")
        if self.season not in SEASONS:
            raise ConfigError(f"season must be one of {SEASONS}; found {self.season!r}")
        object.__setattr__(self, "season_months", tuple(sorted(set(self.season_months))))
        if not set(self.season_months) <= set(range(1, 13)):
            raise ConfigError(f"season_months must be months 1-12; found {self.season_months}")
        seasonal = self.season == "irrigation" or self.period_effects == "year_season"
        if seasonal and not self.season_months:
            raise ConfigError(
                "season='irrigation' and period_effects='year_season' need season_months "
                "(the months of the season, e.g. (4, 5, 6, 7, 8, 9))"
            )
        if self.cov == "cluster" and not self.cluster:
            raise ConfigError("cov='cluster' needs the name of the cluster column in cluster=")
        if self.hac_lags is not None and (not isinstance(self.hac_lags, int) or self.hac_lags < 0):
            raise ConfigError(f"hac_lags must be a non-negative integer; found {self.hac_lags!r}")
        if not 0 < self.alpha < 1:
            raise ConfigError(f"alpha (test level) must be in (0, 1); found {self.alpha!r}")
        terms = self.predictors + self.controls
        repeated = sorted({t for t in terms if terms.count(t) > 1})
        if repeated:
            raise ConfigError(f"terms listed twice (predictors/controls): {repeated}")
        reserved = sorted(set(terms) & set(RESERVED))
        if reserved:
            raise ConfigError(
                f"column names {reserved} are reserved for generated terms; rename them"
            )
        if self.outcome in terms:
            raise ConfigError(f"outcome {self.outcome!r} is also listed as a predictor")
        if self.period_effects not in PERIOD_EFFECTS:
            raise ConfigError(
                f"period_effects must be one of {PERIOD_EFFECTS}; found {self.period_effects!r}"
            )
        if self.period_effects and (self.trend or self.fixed_effects):
            raise ConfigError(
                "period_effects absorb every between-year difference: drop the trend, and use "
                "fixed_effects=('year', ...) for unit-year panels instead"
            )
        if self.period_effects == "year_season" and self.season is not None:
            raise ConfigError("period_effects='year_season' already absorbs the season: drop it")

    @property
    def distribution(self) -> Family:
        """The family object ``family`` names (:mod:`.families`)."""
        return families.family(self.family)

    def _check_fixed_effects(self, distribution: Family) -> None:
        if not distribution.with_fixed_effects:
            why = distribution.fixed_effects_refusal
            raise ConfigError(
                f"family must be one of {names(fixed_effects=True)} with fixed effects; found "
                f"{self.family!r}{'; ' + why if why else ''}"
            )
        if self.cov not in PANEL_COV_TYPES:
            raise ConfigError(
                f"cov must be one of {PANEL_COV_TYPES} with fixed effects; found {self.cov!r}"
            )
        if self.trend or self.season is not None:
            raise ConfigError(
                "trend and season cannot be combined with fixed effects: use year fixed effects"
            )
        if distribution.binary and self.exposure:
            raise ConfigError("exposure is for counts; a logit takes none")
        clash = sorted(set(self.fixed_effects) & {self.outcome, *self.predictors, *self.controls})
        if clash or len(set(self.fixed_effects)) < len(self.fixed_effects):
            raise ConfigError(
                f"fixed effects {list(self.fixed_effects)} repeat or are also model terms: {clash}"
            )

    def without(self, *terms: str) -> CountModelSpec:
        """The same spec with some predictors/controls removed (a restricted model)."""
        return replace(
            self,
            predictors=tuple(t for t in self.predictors if t not in terms),
            controls=tuple(t for t in self.controls if t not in terms),
        )
