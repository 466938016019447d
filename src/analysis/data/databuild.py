"""Build the shipped tables in ``data/`` from the official raw files (``analysis data build``).

Raw files → one reader per format (``analysis.data.sources``) → canonical tables, validated against
``schema`` (plus tables computed from them, :data:`DERIVED_TABLES`) → deterministic CSV (stable
row order, repr floats, ``\\n`` line ends) plus ``manifest.json`` (sha256 of every derived and
raw file), ``README.md`` (with the column dictionary of ``schema.COLUMN_DOCS``) and
``sources.bib``.
Nothing is written until every table has been built and validated, and files are replaced
atomically, so a failed build never leaves ``data/`` half old, half new.

Every file under the raw root is accounted for: read by a registry entry, or listed in the
registry's ``[[unread]]`` entries with the reason it is not read (documentation, R originals of
converted CSVs, extracts of files read in full, indicators no panel uses). Any other file draws an
:class:`UnknownRawFiles` warning naming it, so a download put in the wrong folder is never skipped
silently. Hidden files and folders (``.git``, ``.DS_Store``) are not data and are not listed.
An ``optional`` entry (UCDP GED, ACLED: event files a user may download) whose files are absent is
left out of the tables, the manifest and the bibliography ("not present" in the build summary).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import os
import tempfile
import tomllib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..provenance import sha256_file
from . import schema
from .sources import acled, catalogue, ucdp, wdi
from .sources._common import ReadContext, concat

SOURCES_FILE = Path(__file__).with_name("sources") / "sources.toml"
UNREAD = "unread"  # the registry's list of files known and deliberately not read


class UnknownRawFiles(UserWarning):
    """Files under the raw root that no registry entry reads or lists as not read."""


# A registry entry's reader: "module.function" in analysis.data.sources, called as
# function(paths, ctx, **options) (the naming convention keeps helpers out of reach).
READER_PREFIX = "read_raw"


@dataclass(frozen=True)
class RawSource:
    """One entry of ``sources/sources.toml``: where the raw files are, which function of
    ``analysis.data.sources`` reads them, and how to cite them."""

    id: str
    table: str
    files: tuple[str, ...]
    reader: str
    producer: str
    dataset: str
    version: str
    licence: str
    citation: str
    bibtex: str
    options: dict = field(default_factory=dict)
    optional: bool = False  # may be absent from the raw root (then not in data/ at all)

    def read(self, paths: list[Path], ctx: ReadContext) -> pd.DataFrame:
        return _reader(self.reader)(paths, ctx, **self.options)


def _reader(name: str) -> Callable[..., pd.DataFrame] | None:
    """The function a registry ``reader`` names, or None when there is no such reader."""
    module_name, _, function = name.rpartition(".")
    if not module_name or not function.startswith(READER_PREFIX):
        return None
    try:
        module = importlib.import_module(f"{__package__}.sources.{module_name}")
    except ModuleNotFoundError:
        return None
    return getattr(module, function, None)


# Header columns by which a file is recognised as another entry's, for the error a file put in
# the wrong folder gets (alternatives: any one of them).
SIGNATURES: dict[str, tuple[tuple[str, ...], ...]] = {
    "ucdp": tuple(tuple(layout.columns.values()) for layout in ucdp.LAYOUTS),
    "ucdp_ged": (ucdp.GED_COLUMNS,),
    "acled": (acled.ACLED_COLUMNS,),
}

# Quantities computed in code from other rows of a built table (labelled "derived" in it).
DERIVATIONS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "indicators": lambda table: wdi.derive_remittances_share(table),
}
# Tables computed from other built tables, not read from raw files: name -> (the tables it
# reads, how). Its manifest entry lists the sources of those tables.
DERIVED_TABLES: dict[str, tuple[tuple[str, ...], Callable[..., pd.DataFrame]]] = {
    "incident_coverage": (("incidents", "incident_claims"), catalogue.incident_coverage),
}


def load_sources(path: Path = SOURCES_FILE) -> dict[str, RawSource]:
    """Read ``sources.toml``; a malformed entry is a DataError naming the entry and key."""
    entries = tomllib.loads(path.read_text(encoding="utf-8"))
    entries.pop(UNREAD, None)
    sources = {}
    for source_id, entry in entries.items():
        try:
            sources[source_id] = RawSource(
                id=source_id, **{**entry, "files": tuple(entry["files"])}
            )
        except (TypeError, KeyError) as exc:
            raise DataError(path, f"source entry [{source_id}] is malformed: {exc}") from None
        if _reader(sources[source_id].reader) is None:
            raise DataError(
                path,
                f"source [{source_id}] names no reader of analysis.data.sources",
                column="reader",
                found=entry["reader"],
                expected=f"'module.{READER_PREFIX}...': a function of a module in "
                "src/analysis/data/sources taking (paths, ctx, **options)",
            )
        if entry["table"] not in schema.CONTRACTS:
            raise DataError(
                path,
                f"source [{source_id}] names an unknown table",
                column="table",
                found=entry["table"],
                expected=f"one of {list(schema.CONTRACTS)}",
            )
    return sources


def load_unread(path: Path = SOURCES_FILE) -> list[str]:
    """The patterns of the registry's ``[[unread]]`` entries (each gives its reason as ``why``)."""
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get(UNREAD, [])
    for number, entry in enumerate(entries, start=1):
        if not entry.get("files") or not str(entry.get("why", "")).strip():
            raise DataError(
                path,
                f"[[{UNREAD}]] entry {number} is malformed",
                found=entry,
                expected="files = [patterns] and why = the reason they are not read",
            )
    return [pattern for entry in entries for pattern in entry["files"]]


def resolve_files(source: RawSource, root: Path) -> list[Path]:
    """The raw files of a source, in sorted order; a pattern matching nothing is an error,
    except for an optional source none of whose patterns match (absent: no files)."""
    matches = {pattern: sorted(root.glob(pattern)) for pattern in source.files}
    if source.optional and not any(matches.values()):
        return []
    for pattern, paths in matches.items():
        if not paths:
            raise DataError(
                root / pattern,
                f"raw file(s) of source '{source.id}' not found",
                hint=f"point --raw at a folder holding {pattern} (see data/README.md for where to get it)",
            )
    return [path for paths in matches.values() for path in paths]


def not_present(manifest: dict, sources: dict[str, RawSource]) -> list[RawSource]:
    """The optional sources a build found no files for (so left out of its manifest)."""
    return [s for s in sources.values() if s.id not in manifest["sources"]]


def unknown_files(root: Path, used: dict[str, list[Path]], unread: list[str]) -> list[str]:
    """Files under ``root`` (relative paths) that no source read and no ``unread`` pattern
    lists; hidden files and folders are skipped. Symbolic links to folders are followed."""
    known = {path.resolve() for paths in used.values() for path in paths}
    known |= {path.resolve() for pattern in unread for path in root.glob(pattern)}
    found = []
    for folder, subfolders, names in os.walk(root, followlinks=True):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(names):
            path = Path(folder) / name
            if not name.startswith(".") and path.resolve() not in known:
                found.append(path.relative_to(root).as_posix())
    return found


def _read_source(
    source: RawSource, paths: list[Path], ctx: ReadContext, sources: dict[str, RawSource]
) -> pd.DataFrame:
    """One source's table; an error names the entry it was read as and, if the offending
    file's header is another entry's, where that entry expects it."""
    try:
        return source.read(paths, ctx)
    except DataError as exc:
        if exc.file is None or exc.row not in (None, 1):
            raise
        elsewhere = _entry_of_header(Path(exc.file), source.id, sources)
        context = (
            f"read as [{source.id}] ({source.dataset}), the registry's entry for "
            f"{', '.join(source.files)}"
        )
        if elsewhere is not None:
            context += (
                f"; its header is that of [{elsewhere.id}] ({elsewhere.dataset}), which the "
                f"build reads from {', '.join(elsewhere.files)}: move the file there"
            )
        raise DataError(
            exc.file,
            f"{exc.problem} ({context})",
            row=exc.row,
            column=exc.column,
            found=exc.found,
            expected=exc.expected,
            hint=exc.hint,
        ) from None


def _entry_of_header(path: Path, exclude: str, sources: dict[str, RawSource]) -> RawSource | None:
    """The registry entry whose signature columns the file's header holds, if any."""
    try:
        with path.open(encoding="utf-8-sig") as handle:
            first = handle.readline()
    except (OSError, UnicodeDecodeError):
        return None
    delimiter = ";" if first.count(";") > first.count(",") else ","
    header = {cell.strip().strip('"') for cell in first.split(delimiter)}
    matching = [
        source_id
        for source_id, alternatives in SIGNATURES.items()
        if any(set(columns) <= header for columns in alternatives)
    ]
    return next((sources[i] for i in matching if i in sources and i != exclude), None)


def build_tables(
    raw: Path,
    sources: dict[str, RawSource] | None = None,
    registry: Path = SOURCES_FILE,
    today: dt.date | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, list[Path]]]:
    """Read every registered source and return the validated tables and the raw files used
    (absent optional sources have no entry); warn about files under ``raw`` nothing reads. A
    date after ``today``, the day of the build, is an error."""
    raw = Path(raw)
    if not raw.is_dir():
        raise DataError(
            raw, "raw data folder not found", hint="pass --raw DIR, e.g. --raw ../shared/data"
        )
    sources = sources or load_sources(registry)
    ctx = ReadContext(root=raw)
    order = sorted(sources.values(), key=lambda s: s.table != "countries")  # crosswalk first
    for source in order:
        paths = resolve_files(source, raw)
        if not paths:
            continue
        ctx.used[source.id] = paths
        frame = _read_source(source, paths, ctx, sources)
        if source.table == "countries":
            ctx.countries = frame
        ctx.built.setdefault(source.table, []).append(frame)
    unknown = unknown_files(raw, ctx.used, load_unread(registry))
    if unknown:
        warnings.warn(
            f"{raw}: {len(unknown)} file(s) that no entry of {registry.name} reads or lists "
            f"as not read, so not read: {', '.join(unknown)}. Put a download where its entry "
            "expects it (e.g. UCDP GED in global/ucdp_ged/, ACLED in global/acled/), or add "
            f"it to [[{UNREAD}]] with the reason it is not read",
            UnknownRawFiles,
            stacklevel=2,
        )
    tables = {}
    for table, frames in ctx.built.items():
        frame = concat(frames)
        if table in DERIVATIONS:
            frame = concat([frame, DERIVATIONS[table](frame)])
        frame = frame.sort_values(schema.SORT_KEYS[table], kind="stable", na_position="first")
        tables[table] = schema.validate(table, schema.coerce(table, frame), today=today)
    for table, (inputs, derive) in DERIVED_TABLES.items():
        if not all(name in tables for name in inputs):
            continue  # a build without its inputs (a partial registry) has nothing to derive it from
        frame = derive(*(tables[name] for name in inputs))
        frame = frame.sort_values(schema.SORT_KEYS[table], kind="stable")
        tables[table] = schema.validate(table, schema.coerce(table, frame), today=today)
    return tables, ctx.used


def table_sources(table: str, sources: dict[str, RawSource]) -> list[str]:
    """The raw sources a table is built from (for a derived table, those of its inputs)."""
    tables = DERIVED_TABLES[table][0] if table in DERIVED_TABLES else (table,)
    return sorted(s.id for s in sources.values() if s.table in tables)


def table_bytes(frame: pd.DataFrame) -> bytes:
    """The canonical CSV bytes of a table: same frame, same bytes, on any machine."""
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def build(
    raw: Path, out: Path, registry: Path = SOURCES_FILE, today: dt.date | None = None
) -> dict:
    """Build every table from ``raw`` and write them, with manifest, README and BibTeX, to ``out``."""
    from .datasets import coverage_summary, render_data_readme

    raw, out = Path(raw), Path(out)
    tables, used = build_tables(raw, load_sources(registry), registry, today)
    sources = {id_: source for id_, source in load_sources(registry).items() if id_ in used}
    files: dict[str, bytes] = {f"{name}.csv": table_bytes(frame) for name, frame in tables.items()}
    manifest = {
        "tables": {
            name: {
                "file": f"{name}.csv",
                "sha256": hashlib.sha256(files[f"{name}.csv"]).hexdigest(),
                "rows": len(frame),
                "sources": table_sources(name, sources),
            }
            for name, frame in sorted(tables.items())
        },
        "sources": {
            s.id: {
                "table": s.table,
                "producer": s.producer,
                "dataset": s.dataset,
                "version": s.version,
                "licence": s.licence,
                "citation": s.citation,
                "raw_files": {p.relative_to(raw).as_posix(): sha256_file(p) for p in used[s.id]},
            }
            for s in sorted(sources.values(), key=lambda s: s.id)
        },
    }
    files["manifest.json"] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode(
        "utf-8"
    )
    files["sources.bib"] = ("\n\n".join(s.bibtex.strip() for s in sources.values()) + "\n").encode(
        "utf-8"
    )
    readme = render_data_readme(manifest, coverage_summary(tables)) + schema.column_docs()
    files["README.md"] = readme.encode("utf-8")
    _write_atomically(out, files)
    return manifest


def _write_atomically(out: Path, files: dict[str, bytes]) -> None:
    """Stage every file next to its target, then rename each into place (same filesystem)."""
    out.mkdir(parents=True, exist_ok=True)
    staged = []
    try:
        for name, content in files.items():
            handle, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=out)
            with os.fdopen(handle, "wb") as stream:
                stream.write(content)
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; shipped files are world-readable
            staged.append((Path(tmp), out / name))
        for tmp, target in staged:
            os.replace(tmp, target)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
