"""Content keys: a report is re-run exactly when something it depends on has changed.

The key of a report hashes its notebook (outputs stripped), its parameters, the sha256 of each data
table it declares, every source file of the package, the lock file and the Python version. The
published ``manifest.json`` keeps those parts, so a stale report can say *why* it is stale.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import provenance
from ..errors import REBUILD_HINT, ChecksumError, ConfigError, suggest
from ..paths import data_dir, registry_path
from ..study.settings import SETTINGS_PARAMETERS
from .parameters import read_cells
from .plan import Report

SOURCE_DIR = Path(__file__).resolve().parents[1]  # src/analysis
LOCK_FILE = "requirements.lock"
FAILED = "_failed"
MANIFEST = "manifest.json"
FAILURE = "failure.json"
# Written by Jupyter or papermill when a notebook runs; they describe a run, not the notebook.
VOLATILE_METADATA = ("execution", "papermill")


REGISTRY_FILE = (
    "study/hypotheses.toml"  # keyed per entry, not as code: one edited entry re-runs its reports
)
REGISTRY_INPUT = "registry"  # a report that reads every entry declares this among its inputs
RESULTS_PENDING = "results stage not run yet"  # a results part before the stage (--list)


@dataclass(frozen=True)
class Environment:
    """The parts of every key that do not depend on the report (and the registry's hashes)."""

    source_sha256: str
    lock_sha256: str
    python: str
    with_code: bool
    registry_sha256: str = ""
    registry_entries: tuple[tuple[str, str], ...] = ()


def environment(root: Path, with_code: bool) -> Environment:
    lock = root / LOCK_FILE
    registry = registry_path()
    entries: dict[str, object] = {}
    if registry.is_file():
        try:
            entries = tomllib.loads(registry.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError:
            entries = {}  # the registry's own loader reports the error when the plan is checked
    return Environment(
        source_sha256=provenance.tree_sha256(SOURCE_DIR, exclude=(REGISTRY_FILE,)),
        lock_sha256=provenance.sha256_file(lock) if lock.is_file() else "no lock file",
        python=provenance.python_version(),
        with_code=with_code,
        registry_sha256=provenance.sha256_file(registry) if registry.is_file() else "no registry",
        registry_entries=tuple(
            (hid, hashlib.sha256(canonical_json(entry)).hexdigest())
            for hid, entry in entries.items()
        ),
    )


def registry_part(report: Report, env: Environment) -> str | None:
    """What a report keys on in the registry: its own entry (a ``hypothesis`` parameter), the
    whole file (``registry`` among its inputs), or nothing."""
    if REGISTRY_INPUT in report.inputs:
        return env.registry_sha256
    if "hypothesis" in report.parameters:
        return dict(env.registry_entries).get(str(report.parameters["hypothesis"]), "no such entry")
    return None


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def notebook_sha256(path: Path) -> str:
    """Hash of the notebook as code and prose: outputs, counts and run metadata stripped."""
    cells = []
    for cell in read_cells(path):
        cell = {k: v for k, v in cell.items() if k not in ("outputs", "execution_count")}
        cell["metadata"] = {
            k: v for k, v in cell.get("metadata", {}).items() if k not in VOLATILE_METADATA
        }
        cells.append(cell)
    return hashlib.sha256(canonical_json(cells)).hexdigest()


def settings_group(report: Report) -> str:
    """The test settings a report's results are computed with, as its parameters set them
    (the stage computes the registry once per group)."""
    return canonical_json(
        {k: v for k, v in report.parameters.items() if k in SETTINGS_PARAMETERS}
    ).decode()


def results_part(report: Report, digests: dict[str, dict[str, str]] | None) -> str | None:
    """What a report keys on in the stored registry results (``runner.results``): the digest
    of its entry's tests, of every test, nothing, or a placeholder before the stage has run.
    ``digests`` are per settings group (:func:`settings_group`)."""
    if report.results is None:
        return None
    group = (digests or {}).get(settings_group(report))
    if group is None:
        return RESULTS_PENDING
    if report.results == "registry":
        return group["*"]
    return group.get(str(report.parameters["hypothesis"]), "no such entry")


def key_parts(
    reports: Sequence[Report],
    env: Environment,
    tables: dict[str, str],
    where: str,
    digests: dict[str, dict[str, str]] | None = None,
) -> dict[str, dict]:
    """Each report's key parts; ``tables`` maps data table names to their manifest sha256,
    ``digests`` are the stored results' (None: the results stage has not run yet)."""
    notebooks: dict[Path, str] = {}
    parts = {}
    for report in reports:
        if report.notebook not in notebooks:
            notebooks[report.notebook] = notebook_sha256(report.notebook)
        for table in report.inputs:
            if table not in tables and table != REGISTRY_INPUT:
                raise ConfigError(
                    f"{where}: report '{report.name}': input '{table}' is not a table of the data manifest"
                    f"{suggest(table, list(tables))} (tables: {', '.join(tables)})"
                )
        parts[report.name] = {
            "notebook_sha256": notebooks[report.notebook],
            "parameters": report.parameters,
            "inputs": {
                table: tables[table] for table in sorted(report.inputs) if table != REGISTRY_INPUT
            },
            "registry": registry_part(report, env),
            "results": results_part(report, digests),
            "source_sha256": env.source_sha256,
            "lock_sha256": env.lock_sha256,
            "python": env.python,
            "with_code": env.with_code,
        }
    return parts


def content_key(parts: dict) -> str:
    return hashlib.sha256(canonical_json(parts)).hexdigest()


@dataclass(frozen=True)
class Status:
    """What is on disk for a report compared with what the plan asks for now."""

    state: str  # "fresh" | "stale" | "failed" | "never run"
    reasons: tuple[str, ...]
    published: dict | None
    failure: dict | None


def status(name: str, parts: dict, reports_dir: Path) -> Status:
    published = read_json(reports_dir / name / MANIFEST)
    failure = read_json(reports_dir / FAILED / name / FAILURE)
    if failure is not None:
        where = f" at cell {failure['cell']}" if failure.get("cell") else ""
        reasons = [f"last run failed{where}: {failure['ename']}"]
        if published is not None:
            reasons.append("an earlier good run stays published")
        return Status("failed", tuple(reasons), published, failure)
    if published is None:
        return Status("never run", ("never run",), None, None)
    if published.get("content_key") == content_key(parts):
        return Status("fresh", (), published, None)
    return Status(
        "stale", tuple(changes(published, parts)) or ("content key differs",), published, None
    )


def changes(published: dict, parts: dict) -> list[str]:
    """In words, which key parts differ between the published run and now."""
    reasons = []
    for part, now in parts.items():
        before = published.get(part)
        if before == now:
            continue
        if part == "inputs":
            for table in sorted(set(before or {}) | set(now)):
                if (before or {}).get(table) != now.get(table):
                    change = (
                        "added"
                        if table not in (before or {})
                        else "dropped"
                        if table not in now
                        else "changed"
                    )
                    reasons.append(f"input '{table}' {change}")
        elif part == "parameters":
            for name in sorted(set(before or {}) | set(now)):
                if (before or {}).get(name) != now.get(name):
                    reasons.append(
                        f"parameter '{name}' {(before or {}).get(name)!r} → {now.get(name)!r}"
                    )
        elif part == "python":
            reasons.append(f"Python {before} → {now}")
        elif part == "with_code":
            reasons.append("HTML now " + ("shows" if now else "hides") + " code")
        else:
            reasons.append(
                {
                    "notebook_sha256": "notebook changed",
                    "source_sha256": "code in src/analysis changed",
                    "lock_sha256": f"{LOCK_FILE} changed",
                    "registry": "the hypothesis registry (its entry, or every entry it reads) changed",
                    "results": "the results stage has not run for this code, registry and data"
                    if now == RESULTS_PENDING
                    else "a stored result it shows changed (a test's numbers, an adjusted p-value "
                    "or a verdict)",
                }[part]
            )
    return reasons


def read_json(path: Path) -> dict | None:
    """A JSON file the runner wrote, or None if it is absent or unreadable (treated as never written)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(path: Path, value: object) -> None:
    """Deterministic JSON: sorted keys, one layout."""
    write_atomic(path, json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False) + "\n")


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary name, then rename: a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


class Memo:
    """Values that follow from content but need slow imports (pandas, the hypothesis registry).

    Each entry is kept with the content it was computed from and reused only while that content
    is unchanged, so a no-op run answers without importing the scientific stack.
    """

    def __init__(self, path: Path):
        self.path = path
        self.entries = read_json(path) or {}

    def get(self, kind: str, key: object, compute: Callable[[], object]):
        value = self.peek(kind, key)
        if value is None:
            value = compute()
            self.put(kind, key, value)
        return value

    def peek(self, kind: str, key: object):
        """The value kept for ``kind`` if it was computed from ``key``, else None."""
        entry = self.entries.get(kind)
        # JSON has no tuples: compare the key as it reads back from the file
        if entry is not None and entry.get("key") == json.loads(json.dumps(key)):
            return entry["value"]
        return None

    def put(self, kind: str, key: object, value: object) -> None:
        self.entries[kind] = {"key": key, "value": value}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_json(self.path, self.entries)


def registry_ids(memo: Memo, env: Environment) -> Callable[[], list[str]]:
    """The hypothesis ids, recomputed (and the registry validated) whenever src/analysis changes."""

    def load() -> list[str]:
        from ..study.registry import load_registry

        return list(load_registry())

    return lambda: memo.get("registry_ids", [env.source_sha256, env.registry_sha256], load)


def table_hashes(memo: Memo, env: Environment) -> dict[str, str]:
    """sha256 of each data table as recorded in data/manifest.json (via datasets.read_manifest)."""

    path = data_dir() / MANIFEST

    def read() -> dict[str, str]:
        from ..data.datasets import read_manifest

        return {
            table: entry["sha256"] for table, entry in read_manifest(path.parent)["tables"].items()
        }

    digest = provenance.sha256_file(path) if path.is_file() else None
    recorded = memo.get("table_hashes", [str(path), digest, env.source_sha256], read)
    for table, expected in recorded.items():  # refuse edited data before any report starts
        file = path.parent / f"{table}.csv"
        found = provenance.sha256_file(file) if file.is_file() else "missing"
        if found != expected:
            raise ChecksumError(
                file,
                "file differs from the one the data build recorded",
                found=found[:16],
                expected=f"sha256 {expected[:16]}…",
                hint=REBUILD_HINT,
            )
    return recorded
