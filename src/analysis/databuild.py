"""Build the shipped tables in ``data/`` from the official raw files (``analysis data build``).

Raw files → one reader per format (``analysis.sources``) → canonical tables, validated against
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
import json
import os
import tempfile
import tomllib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import schema
from .errors import DataError
from .provenance import sha256_file
from .sources import (
    acled,
    catalogue,
    claims,
    contiguity,
    countries,
    milestones,
    monthly,
    remittances_panel,
    sipri,
    states,
    ucdp,
    wdi,
)

REGISTRY = Path(__file__).with_name("sources") / "registry.toml"
UNREAD = "unread"  # the registry's list of files known and deliberately not read


class UnknownRawFiles(UserWarning):
    """Files under the raw root that no registry entry reads or lists as not read."""


# The case study's countries: the two border states, their other Central Asian neighbours and
# Russia, the main remittance-sending economy.
CASE_COUNTRIES = ("KAZ", "KGZ", "RUS", "TJK", "TKM", "UZB")


@dataclass(frozen=True)
class RawSource:
    """One entry of ``sources/registry.toml``: where the raw files are and how to cite them."""

    id: str
    table: str
    files: tuple[str, ...]
    producer: str
    dataset: str
    version: str
    licence: str
    citation: str
    bibtex: str
    options: dict = field(default_factory=dict)
    optional: bool = False  # may be absent from the raw root (then not in data/ at all)


@dataclass
class BuildContext:
    """What a reader may need beyond its own files: the raw root and the country crosswalk."""

    root: Path
    countries: pd.DataFrame | None = None
    built: dict[str, list[pd.DataFrame]] = field(default_factory=dict)
    used: dict[str, list[Path]] = field(default_factory=dict)  # raw files read, by source id


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True)


def _from_year(frame: pd.DataFrame, first_year: int | None) -> pd.DataFrame:
    """Indicator rows from ``first_year`` on (a registry option that keeps data/ small)."""
    if first_year is None:
        return frame
    return frame[frame["period"].str[:4].astype(int) >= first_year].reset_index(drop=True)


def _read_wdi(
    paths: list[Path], ctx: BuildContext, vintage, first_year: int | None = None
) -> pd.DataFrame:
    """The WDI mirror files for every economy, plus the Central Asia extract for the case
    countries and only the indicators the mirror files lack: one row per (indicator, country,
    year), so the table's key holds although both carry the same vintage label."""
    metadata = next(p for p in paths if p.name.startswith("WDI_Metadata_Country"))
    mirror = [
        p for p in paths if p.name.startswith("WDI_") and p.suffix == ".csv" and p != metadata
    ]
    extracts = [p for p in paths if p.suffix == ".csv" and not p.name.startswith("WDI_")]
    frames = [wdi.read_wdi(p, root=ctx.root, metadata=metadata, vintage=vintage) for p in mirror]
    covered = {code for frame in frames for code in frame["indicator"].unique()}
    for path in extracts:
        frame = wdi.read_wdi(path, root=ctx.root, countries=set(CASE_COUNTRIES), vintage=vintage)
        frames.append(frame[~frame["indicator"].isin(covered)])
    return _from_year(_concat(frames), first_year)


def _read_sipri_milex(
    path: Path,
    ctx: BuildContext,
    first_year: int | None = None,
    case_only: list[str] | tuple[str, ...] = (),
) -> pd.DataFrame:
    """The Milex workbook for every country; the ``case_only`` measures (local-currency series,
    which do not compare across countries) for the case countries only, to keep data/ small."""
    frame = sipri.read_sipri_milex_workbook(path, ctx.countries, root=ctx.root)
    keep = ~frame["indicator"].isin(case_only) | frame["iso3"].isin(CASE_COUNTRIES)
    return _from_year(frame[keep], first_year)


def _read_acled(paths: list[Path], ctx: BuildContext) -> pd.DataFrame:
    """ACLED exports; ACLED's numeric ISO codes are mapped with the countrycode code list."""
    iso_numeric = acled.iso_numeric_to_iso3(ctx.used["countrycode"][0])
    return _concat([acled.read_acled(p, iso_numeric, root=ctx.root) for p in paths])


# How each registered source is read. Keys must match registry.toml (a test checks).
# `opts` are the entry's `options` from registry.toml.
READERS: dict[str, Callable[..., pd.DataFrame]] = {
    "countrycode": lambda paths, ctx, **opts: countries.read_countrycode_codelist(
        paths[0], root=ctx.root
    ),
    "catalogue": lambda paths, ctx, **opts: catalogue.read_catalogue(
        [p for p in paths if p.name.startswith("border_incidents_catalogue")],
        corrections=next(p for p in paths if p.name == "catalogue_corrections.csv"),
        root=ctx.root,
    ),
    "aggregate_claims": lambda paths, ctx, **opts: claims.read_aggregate_claims(
        paths[0], root=ctx.root
    ),
    "ucdp": lambda paths, ctx, **opts: _concat(
        [ucdp.read_ucdp_table(p, ctx.countries, root=ctx.root) for p in paths]
    ),
    "ucdp_ged": lambda paths, ctx, **opts: _concat(
        [ucdp.read_ucdp_ged(p, ctx.countries, root=ctx.root) for p in paths]
    ),
    "acled": lambda paths, ctx, **opts: _read_acled(paths, ctx),
    "wdi": lambda paths, ctx, **opts: _read_wdi(paths, ctx, **opts),
    "remittances_secondary": lambda paths, ctx, **opts: remittances_panel.read_fozich_panel(
        paths[0], root=ctx.root, countries=set(CASE_COUNTRIES)
    ),
    "sipri_milex": lambda paths, ctx, **opts: _read_sipri_milex(paths[0], ctx, **opts),
    "sipri_milex_2024": lambda paths, ctx, **opts: sipri.read_sipri_milex_extract(
        paths[0], ctx.countries, root=ctx.root, countries=set(CASE_COUNTRIES)
    ),
    "sipri_tiv": lambda paths, ctx, **opts: sipri.read_sipri_tiv_imports(
        paths[0], ctx.countries, root=ctx.root, countries=set(CASE_COUNTRIES)
    ),
    "fao_ffpi": lambda paths, ctx, **opts: monthly.read_monthly(paths[0], root=ctx.root),
    "eia_brent": lambda paths, ctx, **opts: monthly.read_monthly(paths[0], root=ctx.root),
    "fred_rub": lambda paths, ctx, **opts: monthly.read_monthly(paths[0], root=ctx.root),
    "wb_gem": lambda paths, ctx, **opts: _concat(
        [monthly.read_monthly(p, root=ctx.root) for p in paths]
    ),
    "milestones": lambda paths, ctx, **opts: milestones.read_milestones(paths[0], root=ctx.root),
    "milestones_2020_2025": lambda paths, ctx, **opts: milestones.read_milestones_2020_2025(
        paths[0], root=ctx.root
    ),
    "cow_contiguity": lambda paths, ctx, **opts: contiguity.read_cow_contdir(
        paths[0], root=ctx.root
    ),
    "cshapes_contiguity": lambda paths, ctx, **opts: contiguity.read_gw_mindist_zero(
        paths[0], root=ctx.root
    ),
    "gw_states": lambda paths, ctx, **opts: states.read_gw_states(paths[0], root=ctx.root),
}

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


def load_registry(path: Path = REGISTRY) -> dict[str, RawSource]:
    """Read ``registry.toml``; a malformed entry is a DataError naming the entry and key."""
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
        if entry["table"] not in schema.CONTRACTS:
            raise DataError(
                path,
                f"source [{source_id}] names an unknown table",
                column="table",
                found=entry["table"],
                expected=f"one of {list(schema.CONTRACTS)}",
            )
    return sources


def load_unread(path: Path = REGISTRY) -> list[str]:
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
    source: RawSource, paths: list[Path], ctx: BuildContext, sources: dict[str, RawSource]
) -> pd.DataFrame:
    """One source's table; an error names the entry it was read as and, if the offending
    file's header is another entry's, where that entry expects it."""
    try:
        return READERS[source.id](paths, ctx, **source.options)
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
    registry: Path = REGISTRY,
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
    sources = sources or load_registry(registry)
    missing = sorted(set(sources) - set(READERS))
    if missing:
        raise DataError(registry, f"no reading step in databuild.READERS for {missing}")
    ctx = BuildContext(root=raw)
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
        frame = _concat(frames)
        if table in DERIVATIONS:
            frame = _concat([frame, DERIVATIONS[table](frame)])
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


def build(raw: Path, out: Path, registry: Path = REGISTRY, today: dt.date | None = None) -> dict:
    """Build every table from ``raw`` and write them, with manifest, README and BibTeX, to ``out``."""
    from .datasets import coverage_summary, render_data_readme

    raw, out = Path(raw), Path(out)
    tables, used = build_tables(raw, load_registry(registry), registry, today)
    sources = {id_: source for id_, source in load_registry(registry).items() if id_ in used}
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
