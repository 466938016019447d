"""The results stage: each registered test computed once per content key, stored, and read back.

A *test* is one registry entry on one of its outcome series, with its reported small-sample test,
the interval that inverts it, its size, power and coverage check (``hypotheses.assess``).
Its content key hashes everything that decides its numbers:

* the entry as parsed (``HypothesisSpec``, outcome series included) and the study's outcome
  series and known breaks (``study.toml``);
* the sha256 of each data table it reads (``hypotheses.tables_read``), from the data manifest;
* the test settings (draws, level, ...);
* the code that computes it: every module ``analysis.study.hypotheses`` imports, directly or not, the
  package's TOML files other than the registry (which is keyed per entry, above), and the
  versions of Python, numpy, scipy, pandas and statsmodels.

A stored test is the package's own result object (a ``HypothesisResult``, or a ``Failure`` when
the data cannot support the test), pickled under its key. Everything downstream reads it: the
reports, the summary, the CLI and interactive notebooks call :func:`registry_results`, which
computes what is missing (in parallel over tests on an executor) and applies the multiplicity
corrections and verdicts over the whole stored registry, so every reader gets the same adjusted
p-values and verdicts. Reports key their freshness on :func:`digests` of what they show.

Why not ``joblib.Memory``: it keys a call on the function's own source and its pickled
arguments, so an edit in a module the function calls (the batch fitter, say) would serve stale
numbers, and pickles of frames are not a stable content hash. The runner already keys reports
on content hashes; the store extends the same rule to tests.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import pickle
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path

from .. import paths, provenance
from ..errors import AnalysisError, ConfigError
from ..results import Failure, HypothesisResult, RegistryResults
from . import hypotheses
from .registry import HypothesisSpec, Study, load_study
from .settings import TestSettings

#: Bumped when the stored layout changes (old files are then simply not found).
LAYOUT = 1
#: Packages whose versions decide the numbers.
NUMERIC_PACKAGES = ("numpy", "scipy", "pandas", "statsmodels")
#: The module whose import closure is "the code that computes a test".
ENGINE = "analysis.study.hypotheses"

Outcome = HypothesisResult | Failure


@dataclass(frozen=True)
class Stored:
    """What the store keeps for one test: its outcome, the parts of its key, and how long it took
    (kept for scheduling the longest tests first, never part of a result)."""

    key: str
    parts: Mapping
    outcome: Outcome
    seconds: float


class ResultStore:
    """Stored tests by content key: files under ``folder``, or a dict when ``folder`` is None.

    Files are written to a temporary name and renamed, so a reader never sees half a result and
    workers computing the same key at once leave one good file."""

    def __init__(self, folder: str | Path | None):
        self.folder = None if folder is None else Path(folder)
        self._memory: dict[str, Stored] = {}

    @classmethod
    def default(cls) -> ResultStore:
        """The project's store: $ANALYSIS_RESULTS_DIR, else build/results in the project root."""
        return cls(paths.results_dir())

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.pkl"

    def has(self, key: str) -> bool:
        return key in self._memory if self.folder is None else self._path(key).is_file()

    def get(self, key: str) -> Stored | None:
        if self.folder is None:
            return self._memory.get(key)
        path = self._path(key)
        try:
            with open(path, "rb") as handle:
                stored = pickle.load(handle)
        except FileNotFoundError:
            return None
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
            return None  # written by other code: recomputed under the same key
        return stored if isinstance(stored, Stored) and stored.key == key else None

    def put(self, stored: Stored) -> None:
        if self.folder is None:
            self._memory[stored.key] = stored
            return
        path = self._path(stored.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, pickle.dumps(stored, protocol=pickle.HIGHEST_PROTOCOL))


def _write_atomically(path: Path, content: bytes) -> None:
    """Write through a temporary file and rename, so a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, path)


# --------------------------------------------------------------------------- content keys


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def _sha(value: object) -> str:
    return hashlib.sha256(_canonical(value)).hexdigest()


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The code that computes a test: the import closure of :data:`ENGINE` within the package,
    the package's TOML files but the registry, and the numeric packages' versions.

    Finding the closure parses every module (about half a second); the answer is a function of
    the package's files alone, so it is kept under the hash of all of them beside the results
    (``code/``) and a warm command only hashes the files."""
    source = Path(__file__).resolve().parents[1]  # the whole package
    versions = [provenance.python_version()]
    versions += [f"{name} {importlib.metadata.version(name)}" for name in NUMERIC_PACKAGES]
    files = sorted(p for pattern in ("*.py", "*.toml") for p in source.rglob(pattern))
    every = {p.relative_to(source).as_posix(): provenance.sha256_file(p) for p in files}
    kept = paths.results_dir() / "code" / f"{_sha([every, versions])}.txt"
    try:
        return kept.read_text(encoding="utf-8").strip()
    except OSError:
        pass
    modules = provenance.package_modules(source)
    closure = provenance.import_closure(ENGINE, provenance.import_edges(source))
    chosen = sorted(modules[name] for name in closure)
    chosen += sorted(p for p in source.rglob("*.toml") if p.name != "hypotheses.toml")
    digest = hashlib.sha256()
    for path in chosen:
        name = path.relative_to(source).as_posix()
        digest.update(name.encode() + b"\0" + every[name].encode() + b"\n")
    digest.update("\n".join(versions).encode())
    fingerprint = digest.hexdigest()
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(kept, fingerprint.encode())
    except OSError:
        pass  # a read-only store: computed again next time
    return fingerprint


def key_parts(
    spec: HypothesisSpec, study: Study, tables: Mapping[str, str], settings: TestSettings
) -> dict:
    """The parts of one test's content key (``tables``: sha256 of every table it reads)."""
    return {
        "layout": LAYOUT,
        "spec": asdict(spec),
        "study": asdict(study),
        "tables": {name: tables[name] for name in hypotheses.tables_read(spec)},
        "settings": asdict(settings),
        "code": code_fingerprint(),
    }


# --------------------------------------------------------------------------- computing


@dataclass(frozen=True)
class _Task:
    """One test for a worker: it reads the shipped tables from ``data_dir`` itself."""

    spec: HypothesisSpec
    settings: TestSettings
    key: str
    parts: Mapping
    data_dir: str
    store_dir: str | None


_TABLES: dict[str, hypotheses.Tables] = {}  # per process: tables a forked worker inherits


def _shipped(data_dir: str) -> hypotheses.Tables:
    if data_dir not in _TABLES:
        _TABLES[data_dir] = hypotheses.Tables.load(data_dir)
    return _TABLES[data_dir]


def _compute(
    spec: HypothesisSpec,
    tables: hypotheses.Tables,
    settings: TestSettings,
    study: Study,
    key: str,
    parts: Mapping,
    mapper=map,
) -> Stored:
    """One test, on one BLAS thread (so its numbers never depend on how many a process has)."""
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    with threadpool_limits(1):
        try:
            outcome: Outcome = hypotheses.assess(spec, tables, settings, study, mapper)
            outcome = replace(outcome, content_key=key)
        except AnalysisError as exc:
            label = study.outcome(spec.series).label
            outcome = Failure(spec.id, spec.series, spec.multiplicity, spec.scope, spec.control,
                              str(exc), spec.statement, label, content_key=key,
                              expected_sign=spec.sign)  # fmt: skip
    return Stored(key, parts, outcome, time.perf_counter() - started)


def _run_task(task: _Task) -> Stored:
    """A worker's part: compute one test and store it (so it survives an interrupted run)."""
    stored = _compute(
        task.spec, _shipped(task.data_dir), task.settings, load_study(), task.key, task.parts
    )
    if task.store_dir is not None:
        ResultStore(task.store_dir).put(stored)
    return stored


def _longest_first(tasks: list[_Task]) -> list[_Task]:
    """Global panels first, then monthly, then annual: the slowest start first on a pool."""

    def rank(task: _Task) -> int:
        return 0 if task.spec.scope == "global" else 1 if task.spec.frequency == "M" else 2

    return sorted(tasks, key=rank)


# --------------------------------------------------------------------------- the registry


def registry_results(
    registry: Mapping[str, HypothesisSpec],
    tables: hypotheses.Tables | None = None,
    settings: TestSettings | None = None,
    *,
    only: Sequence[str] | None = None,
    study: Study | None = None,
    executor=None,
    store: ResultStore | None = None,
) -> RegistryResults:
    """The tests of the entries in ``only`` (default: every entry), in full, with Holm and
    Benjamini-Hochberg corrections and verdicts over every test of ``registry``.

    A test outside ``only`` contributes its p-value: from its stored full result if there is
    one, else from the test run without calibration (the same draws give the same p-value).
    Every test is read from ``store`` or computed there (:func:`outcomes`)."""
    settings = settings or TestSettings()
    chosen = set(registry) if only is None else set(only)
    unknown = sorted(chosen - set(registry))
    if unknown:
        raise ConfigError(f"no registered hypothesis {unknown}; registered: {list(registry)}")
    chosen |= {
        name for hid in chosen for name in registry[hid].coverage_controls
    }  # verdicts read them
    every = hypotheses.tests_of(registry)
    context = _Context.of(tables, study, store)
    quick = replace(settings, calibrate=False)
    wanted = [
        settings
        if spec.id in chosen or not settings.calibrate or context.holds(spec, settings)
        else quick
        for spec in every
    ]
    found = context.outcomes(every, wanted, executor)
    return hypotheses.assemble(
        {(spec.id, spec.series): outcome for spec, outcome in zip(every, found)}, chosen, settings
    )


def outcomes(
    specs: Sequence[HypothesisSpec],
    settings: TestSettings | Sequence[TestSettings],
    tables: hypotheses.Tables | None = None,
    *,
    study: Study | None = None,
    executor=None,
    store: ResultStore | None = None,
) -> list[Outcome]:
    """Each test (an entry on its outcome series) under ``settings`` (one for all, or one
    each), read from ``store`` (default: an in-memory one) or computed and stored there.

    ``tables`` default to the shipped ones, loaded only if something must be computed.
    ``executor`` (``executors.open``) computes missing tests in parallel, one per worker, or,
    when fewer tests than workers are missing, the simulation chunks of each in parallel; the
    numbers do not depend on it."""
    each = [settings] * len(specs) if isinstance(settings, TestSettings) else list(settings)
    return _Context.of(tables, study, store).outcomes(specs, each, executor)


@dataclass(frozen=True)
class _Context:
    """What every key of one request shares: the tables (None: the shipped ones, loaded only
    when something is computed), their digests, the study and the store."""

    tables: hypotheses.Tables | None
    digests: Mapping[str, str]
    study: Study
    store: ResultStore

    @classmethod
    def of(cls, tables, study, store) -> _Context:
        digests = tables.digests() if tables is not None else _shipped_digests()
        store = store if store is not None else ResultStore(None)
        return cls(tables, digests, study or load_study(), store)

    def key(self, spec: HypothesisSpec, settings: TestSettings) -> tuple[str, dict]:
        parts = key_parts(spec, self.study, self.digests, settings)
        return _sha(parts), parts

    def holds(self, spec: HypothesisSpec, settings: TestSettings) -> bool:
        return self.store.has(self.key(spec, settings)[0])

    def outcomes(self, specs, settings: Sequence[TestSettings], executor) -> list[Outcome]:
        keys, found, needed = [], {}, {}
        for spec, wanted in zip(specs, settings):
            key, parts = self.key(spec, wanted)
            keys.append(key)
            if key in found or key in needed:
                continue
            stored = self.store.get(key)
            if stored is None:
                needed[key] = (spec, wanted, parts)
            else:
                found[key] = stored
        for stored in _compute_all(needed, self.tables, self.study, executor, self.store):
            found[stored.key] = stored
        return [found[key].outcome for key in keys]


def _shipped_digests() -> dict[str, str]:
    """sha256 of every shipped table, each file checked against the data manifest."""
    from ..data import datasets

    return {name: datasets.verify_checksum(name) for name in hypotheses.TABLES}


def _compute_all(
    needed: dict[str, tuple[HypothesisSpec, TestSettings, dict]],
    tables: hypotheses.Tables | None,
    study: Study,
    executor,
    store: ResultStore,
) -> list[Stored]:
    if not needed:
        return []
    workers = 1 if executor is None else executor.workers
    if tables is None:
        tables = _shipped(str(paths.data_dir()))
    if workers > 1 and len(needed) >= workers:
        if tables.folder is None:
            raise ConfigError(
                "computing tests on an executor needs the shipped tables (Tables.load()): "
                "workers read them from the data folder"
            )
        _TABLES[str(tables.folder)] = tables  # forked workers inherit them
        tasks = [
            _Task(spec, wanted, key, parts, str(tables.folder),
                  None if store.folder is None else str(store.folder))
            for key, (spec, wanted, parts) in needed.items()
        ]  # fmt: skip
        computed = executor.map(_run_task, _longest_first(tasks))
        for stored in computed:
            if store.folder is None:
                store.put(stored)
        return computed
    mapper = map if executor is None else executor.map
    computed = []
    for key, (spec, wanted, parts) in needed.items():
        stored = _compute(spec, tables, wanted, study, key, parts, mapper)
        store.put(stored)
        computed.append(stored)
    return computed


def digests(results: RegistryResults) -> dict[str, str]:
    """What a report shows of the stored registry, as content: per entry, a hash of each of its
    tests' content keys with their adjusted p-values and verdicts (so a report is stale exactly
    when one of these changes), and ``"*"`` for the whole registry."""
    rows: dict[str, list] = {}
    for result in results.results:
        adjusted = sorted(result.p_adjusted.items())
        verdict = None if result.verdict is None else asdict(result.verdict)
        rows.setdefault(result.hypothesis_id, []).append(
            [result.outcome, result.content_key, adjusted, verdict]
        )
    for failure in results.failures:
        rows.setdefault(failure.hypothesis_id, []).append([failure.outcome, failure.content_key])
    entries = {hid: _sha(sorted(items, key=str)) for hid, items in rows.items()}
    return {**entries, "*": _sha(sorted(entries.items()))}
