"""One frozen, validated configuration per notebook family.

A notebook's first code line after its parameters cell turns the parameters into one of
these; an unknown key names the closest valid one, and every value is checked before any
data is read. The runner validates types against the parameters cell before a kernel starts;
these checks add what only the package knows (registered hypothesis ids, sample windows).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ..errors import ConfigError, suggest
from ..models.families import names
from ..panels.panel import periods
from .registry import HypothesisSpec, get, load_registry
from .settings import SETTINGS_PARAMETERS, TestSettings

_DEFAULTS = TestSettings()

DYADS = ("KGZ-TJK", "KGZ-UZB", "TJK-UZB")
#: A case entry's model: as registered, or any family fitted without fixed effects.
MODELS = ("registered", *names(fixed_effects=False))


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ConfigError(f"parameter {name}={value} is out of range; expected {low}..{high}")


@dataclass(frozen=True)
class DataAudit:
    output_dir: str = ""


@dataclass(frozen=True)
class IncidentPatterns:
    dyad: str = "KGZ-TJK"
    output_dir: str = ""

    def __post_init__(self):
        if self.dyad not in DYADS:
            raise ConfigError(f"parameter dyad={self.dyad!r} is not one of {list(DYADS)}")


def _check_draws(n_perm: int, n_size: int, n_power: int) -> None:
    _check_range("n_perm", n_perm, 19, 99_999)
    _check_range("n_size", n_size, 0, 20_000)
    _check_range("n_power", n_power, 0, 10_000)


def _settings(n_perm: int, n_size: int, n_power: int) -> TestSettings:
    """Test settings from a notebook's draws; 0 simulations skip size and power."""
    return TestSettings(
        n_perm=n_perm, n_size=n_size, n_power=n_power, calibrate=n_size > 0 and n_power > 0
    )


def settings_from(parameters: dict) -> TestSettings:
    """The test settings a report's parameters ask for (``settings.SETTINGS_PARAMETERS``; a
    parameter not given keeps its default): what the runner's results stage computes with."""
    draws = {name: parameters.get(name, getattr(_DEFAULTS, name)) for name in SETTINGS_PARAMETERS}
    _check_draws(**draws)
    return _settings(**draws)


settings_from.__test__ = False  # a library function, not a pytest test


@dataclass(frozen=True)
class HypothesisReport:
    """A registered hypothesis with optional overrides (lag, model, sample window)."""

    hypothesis: str = "H1a"
    lag: int = -1
    model: str = "registered"
    start: str = ""
    end: str = ""
    n_perm: int = _DEFAULTS.n_perm
    n_size: int = _DEFAULTS.n_size
    n_power: int = _DEFAULTS.n_power
    output_dir: str = ""

    def __post_init__(self):
        get(self.hypothesis)
        _check_range("lag", self.lag, -1, 5)
        _check_draws(self.n_perm, self.n_size, self.n_power)
        if self.model not in MODELS:
            raise ConfigError(f"parameter model={self.model!r} is not one of {list(MODELS)}")
        spec = self.spec  # builds and checks the overridden spec, including the window
        if spec.window:
            periods(spec.frequency, *spec.window)

    @property
    def spec(self) -> HypothesisSpec:
        return get(self.hypothesis).with_overrides(
            lag=None if self.lag < 0 else self.lag,
            model=None if self.model == "registered" else self.model,
            start=self.start or None,
            end=self.end or None,
        )

    @property
    def registry(self) -> dict[str, HypothesisSpec]:
        """The registry with this report's entry as overridden (multiplicity runs over all)."""
        return {**load_registry(), self.hypothesis: self.spec}

    @property
    def settings(self) -> TestSettings:
        return _settings(self.n_perm, self.n_size, self.n_power)


@dataclass(frozen=True)
class Robustness:
    hypothesis: str = "H1a"
    output_dir: str = ""

    def __post_init__(self):
        get(self.hypothesis)

    @property
    def spec(self) -> HypothesisSpec:
        """The entry on the first outcome it names (the others are variants of the curve)."""
        entry = get(self.hypothesis)
        return entry.on(entry.outcomes[0])


@dataclass(frozen=True)
class GlobalPanel:
    """The global comparison: outcome measure, unit, window and region (see comparison.py)."""

    outcome: str = "incidence"
    unit: str = "country"
    start: str = "1990"
    end: str = "2024"
    region: str = "all"
    output_dir: str = ""

    def __post_init__(self):
        from ..panels.global_panel import MEASURES, UNITS

        if self.outcome not in MEASURES:
            raise ConfigError(f"parameter outcome={self.outcome!r} is not one of {list(MEASURES)}")
        if self.unit not in UNITS:
            raise ConfigError(f"parameter unit={self.unit!r} is not one of {list(UNITS)}")
        periods("A", self.start, self.end)


@dataclass(frozen=True)
class Summary:
    n_perm: int = _DEFAULTS.n_perm
    n_size: int = _DEFAULTS.n_size
    n_power: int = _DEFAULTS.n_power
    output_dir: str = ""

    def __post_init__(self):
        _check_draws(self.n_perm, self.n_size, self.n_power)

    @property
    def registry(self) -> dict[str, HypothesisSpec]:
        return load_registry()

    @property
    def settings(self) -> TestSettings:
        return _settings(self.n_perm, self.n_size, self.n_power)


def make(family: type, **params: Any):
    """Build ``family`` from notebook parameters; an unknown name suggests the closest valid one."""
    valid = [f.name for f in fields(family)]
    for name in params:
        if name not in valid:
            hint = suggest(name, valid) or f"; valid: {valid}"
            raise ConfigError(f"unknown parameter '{name}' for {family.__name__}{hint}")
    return family(**params)
