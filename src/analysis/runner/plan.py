"""The run plan (``reports.toml``): read it, expand its grids, and reject anything wrong before a run.

Every value reaches a notebook as a checked literal of the type its ``parameters`` cell declares,
so no code can travel from the plan into a kernel; every mistake is a ``ConfigError`` naming the
plan file, the report and the parameter, raised before any worker starts.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
import string
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, suggest
from .parameters import OUTPUT_DIR, REGISTRY, Parameter, read_parameters

PLAN_KEYS = ("defaults", "report")
DEFAULT_KEYS = ("timeout", "jobs")
REPORT_KEYS = ("name", "notebook", "parameters", "grid", "inputs", "results")
# What a report shows of the stored registry results (its freshness keys on their digests):
# the tests of its own `hypothesis` entry, or every test of the registry.
RESULTS = ("entry", "registry")
DEFAULT_TIMEOUT = 1800.0
# Report names become folder names under reports/, beside these files of the runner's own.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.=+-]*")
RESERVED_NAMES = ("index.html", "status.html", "README.md")


@dataclass(frozen=True)
class Report:
    """One expanded report: what to run, with which parameters, reading which data tables."""

    name: str
    notebook: Path  # absolute
    notebook_label: str  # as written in the plan (relative to the plan's folder)
    parameters: dict  # every declared parameter but output_dir: notebook defaults, then the plan's
    inputs: tuple[str, ...]
    results: str | None = None  # one of RESULTS: the stored registry results it shows


@dataclass(frozen=True)
class Plan:
    path: Path
    timeout: float
    jobs: int | None
    reports: tuple[Report, ...]

    @property
    def root(self) -> Path:
        """The folder of the plan file: notebook paths, and the lock file, are relative to it."""
        return self.path.parent

    def select(self, patterns: Sequence[str] | None) -> list[Report]:
        """Reports whose name matches one of the patterns (exact names or shell globs); all if none."""
        if not patterns:
            return list(self.reports)
        names = [r.name for r in self.reports]
        for pattern in patterns:
            if not fnmatch.filter(names, pattern):
                raise ConfigError(
                    f"{self.path}: --only '{pattern}' matches no report{suggest(pattern, names)}"
                )
        return [r for r in self.reports if any(fnmatch.fnmatchcase(r.name, p) for p in patterns)]


def load_plan(path: str | Path, registry_ids: Callable[[], Sequence[str]]) -> Plan:
    """Read and validate the plan; ``registry_ids`` is called only if a notebook needs the registry."""
    path = Path(path).absolute()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: run plan not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    _check_keys(document, PLAN_KEYS, f"{path}")
    defaults = document.get("defaults", {})
    _check_table(defaults, f"{path}: [defaults]")
    _check_keys(defaults, DEFAULT_KEYS, f"{path}: [defaults]")
    timeout = defaults.get("timeout", DEFAULT_TIMEOUT)
    if type(timeout) not in (int, float) or not timeout > 0:
        raise ConfigError(
            f"{path}: [defaults] timeout must be a positive number of seconds, found {timeout!r}"
        )
    jobs = defaults.get("jobs")
    if jobs is not None and (type(jobs) is not int or jobs < 1):
        raise ConfigError(f"{path}: [defaults] jobs must be a positive integer, found {jobs!r}")
    entries = document.get("report", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: 'report' must be an array of tables ([[report]])")
    expander = _Expander(path, registry_ids)
    reports: list[Report] = []
    for number, entry in enumerate(entries, start=1):
        reports += expander.expand(entry, f"{path}: [[report]] #{number}")
    seen: dict[str, Report] = {}
    for report in reports:
        if report.name in seen:
            raise ConfigError(
                f"{path}: report name '{report.name}' occurs twice (parameters {seen[report.name].parameters} "
                f"and {report.parameters}); put each grid parameter into the name, e.g. '{{param}}'"
            )
        seen[report.name] = report
    return Plan(path=path, timeout=float(timeout), jobs=jobs, reports=tuple(reports))


class _Expander:
    """Turns one ``[[report]]`` entry into its reports, reading each notebook's declarations once."""

    def __init__(self, path: Path, registry_ids: Callable[[], Sequence[str]]):
        self.path = path
        self._registry_ids = registry_ids
        self._ids: tuple[str, ...] | None = None
        self._declared: dict[Path, dict[str, Parameter]] = {}

    def registry(self) -> tuple[str, ...]:
        if self._ids is None:
            self._ids = tuple(self._registry_ids())
        return self._ids

    def expand(self, entry: object, where: str) -> list[Report]:
        _check_table(entry, where)
        _check_keys(entry, REPORT_KEYS, where)
        for key in ("name", "notebook"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise ConfigError(f"{where}: '{key}' is required and must be a non-empty string")
        template = entry["name"]
        where = f"{self.path}: report '{template}'"
        notebook = (self.path.parent / entry["notebook"]).resolve()
        if not notebook.is_file():
            raise ConfigError(
                f"{where}: notebook '{entry['notebook']}' not found (looked for {notebook})"
            )
        if notebook not in self._declared:
            self._declared[notebook] = read_parameters(notebook)
        declared = self._declared[notebook]
        fixed = entry.get("parameters", {})
        grid = entry.get("grid", {})
        _check_table(fixed, f"{where}: parameters")
        _check_table(grid, f"{where}: grid")
        inputs = entry.get("inputs", [])
        if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
            raise ConfigError(
                f"{where}: inputs must be a list of data table names, found {inputs!r}"
            )
        results = entry.get("results")
        if results is not None and results not in RESULTS:
            raise ConfigError(
                f"{where}: results must be one of {', '.join(RESULTS)}, found {results!r}"
            )
        if results == "entry" and "hypothesis" not in declared:
            raise ConfigError(
                f"{where}: results = \"entry\" needs a notebook with a 'hypothesis' parameter"
            )
        for name in [*fixed, *grid]:
            self._check_name(name, declared, where)
        both = sorted(set(fixed) & set(grid))
        if both:
            raise ConfigError(
                f"{where}: parameter '{both[0]}' is set both in parameters and in grid"
            )
        axes = {name: self._grid_values(name, values, where) for name, values in grid.items()}
        fields = _template_fields(template, where)
        reports = []
        for combination in itertools.product(*axes.values()):
            values = {**fixed, **dict(zip(axes, combination))}
            parameters = self._resolve(declared, values, where)
            unknown = [f for f in fields if f not in parameters]
            if unknown:
                raise ConfigError(
                    f"{where}: name placeholder '{{{unknown[0]}}}' is not a parameter of the notebook"
                    f"{suggest(unknown[0], list(parameters))}"
                )
            name = template.format(**parameters)
            self._check_report_name(name, where)
            reports.append(
                Report(name, notebook, entry["notebook"], parameters, tuple(inputs), results)
            )
        return reports

    def _check_name(self, name: str, declared: dict[str, Parameter], where: str) -> None:
        if name == OUTPUT_DIR:
            raise ConfigError(
                f"{where}: parameter '{OUTPUT_DIR}' is set by the runner, not by the plan"
            )
        if name not in declared:
            names = [n for n in declared if n != OUTPUT_DIR]
            raise ConfigError(
                f"{where}: parameter '{name}' is not declared in the notebook's parameters cell"
                f"{suggest(name, names)} (declared: {', '.join(names) or 'none'})"
            )

    def _grid_values(self, name: str, values: object, where: str) -> list:
        if values == REGISTRY:
            values = list(self.registry())
        if not isinstance(values, list):
            raise ConfigError(
                f"{where}: grid '{name}' must be a list of values or \"{REGISTRY}\", found {values!r}"
            )
        if not values:
            raise ConfigError(
                f"{where}: grid '{name}' is empty, so the entry would produce no report"
            )
        return values

    def _resolve(self, declared: dict[str, Parameter], values: dict, where: str) -> dict:
        """Every declared parameter (but output_dir) with its checked value: the plan's, else the default."""
        resolved = {}
        for name, parameter in declared.items():
            if name == OUTPUT_DIR:
                continue
            value = values.get(name, parameter.default)
            registry = self.registry() if parameter.from_registry else ()
            try:
                resolved[name] = parameter.check(value, registry)
            except ValueError as exc:
                origin = "" if name in values else " (the notebook's default)"
                raise ConfigError(f"{where}: parameter '{name}'{origin}: {exc}") from None
        return resolved

    def _check_report_name(self, name: str, where: str) -> None:
        if not NAME_PATTERN.fullmatch(name) or name in RESERVED_NAMES:
            raise ConfigError(
                f"{where}: report name '{name}' cannot be a folder name under reports/; use letters, digits "
                "and _ . = + - (starting with a letter or digit), not index.html, status.html or README.md"
            )


def _template_fields(template: str, where: str) -> list[str]:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(f"{where}: cannot read the name template ({exc})") from None
    fields = [f for _, f, spec, conversion in parsed if f is not None]
    if any(not f.isidentifier() for f in fields) or any(
        spec or conv for _, f, spec, conv in parsed if f
    ):
        raise ConfigError(
            f"{where}: name placeholders must be plain parameter names like '{{hypothesis}}'"
        )
    return fields


def _check_table(value: object, where: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table, found {value!r}")


def _check_keys(table: dict, allowed: Sequence[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(
                f"{where}: unknown key '{key}'{suggest(key, allowed)} (allowed: {', '.join(allowed)})"
            )
