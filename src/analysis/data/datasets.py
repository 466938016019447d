"""The shipped tables in ``data/``: load them, verify them, and summarise what they cover.

``load`` is what every later stage calls; it checks the file against the sha256 recorded by the
build before trusting it, so a silently edited table never reaches a model. The contracts are
checked without a day (``schema.validate(today=None)``): the build held every date to the day it
ran, and a shipped table must not start failing because the clock moved on or was set back.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pandas as pd

from ..errors import REBUILD_HINT, ChecksumError, DataError
from ..paths import data_dir
from ..provenance import sha256_file
from . import schema


def read_manifest(folder: str | Path | None = None) -> dict:
    folder = data_dir(folder)
    path = folder / "manifest.json"
    if not path.is_file():
        raise DataError(path, "data manifest not found", hint=REBUILD_HINT)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(
            path, f"manifest is not valid JSON ({exc.msg})", row=exc.lineno, hint=REBUILD_HINT
        ) from None


def table_path(table: str, folder: str | Path | None = None) -> Path:
    return data_dir(folder) / f"{table}.csv"


def verify_checksum(table: str, folder: str | Path | None = None) -> str:
    """Compare a table's bytes with the manifest; return its sha256 or raise ChecksumError."""
    manifest = read_manifest(folder)
    if table not in manifest["tables"]:
        raise DataError(
            data_dir(folder) / "manifest.json",
            f"no table '{table}' in the manifest",
            expected=f"one of {sorted(manifest['tables'])}",
        )
    path = table_path(table, folder)
    if not path.is_file():
        raise DataError(path, "shipped table is missing", hint=REBUILD_HINT)
    found = sha256_file(path)
    expected = manifest["tables"][table]["sha256"]
    if found != expected:
        raise ChecksumError(
            path,
            "file differs from the one the data build recorded",
            found=found[:16] + "…",
            expected=f"sha256 {expected[:16]}…",
            hint=REBUILD_HINT,
        )
    return found


def load(table: str, folder: str | Path | None = None) -> pd.DataFrame:
    """A shipped table with its contract's dtypes, after its checksum and contract are verified."""
    path = table_path(table, folder)
    digest = verify_checksum(table, folder)
    return _load_verified(str(path), digest, table).copy()


@lru_cache(maxsize=16)
def _load_verified(path: str, digest: str, table: str) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    return schema.validate(table, schema.coerce(table, frame), file=path)


def load_all(folder: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """Every shipped table, verified, keyed by table name."""
    return {table: load(table, folder) for table in read_manifest(folder)["tables"]}


def sources_table(folder: str | Path | None = None) -> pd.DataFrame:
    """One row per raw source: what it is, its version and licence, and the table it feeds."""
    manifest = read_manifest(folder)
    return pd.DataFrame(
        [
            {
                "source": source_id,
                "table": entry["table"],
                "dataset": entry["dataset"],
                "version": entry["version"],
                "licence": entry["licence"],
                "raw files": len(entry["raw_files"]),
            }
            for source_id, entry in manifest["sources"].items()
        ]
    )


def check(folder: str | Path | None = None) -> tuple[list[str], pd.DataFrame]:
    """Verify every table in the manifest (checksum, then contract); return problems and coverage.

    Problems are collected for all tables rather than stopping at the first, so one run of
    ``analysis data check`` lists everything that needs fixing.
    """
    folder = data_dir(folder)
    manifest = read_manifest(folder)
    problems, tables = [], {}
    for table in manifest["tables"]:
        try:
            tables[table] = load(table, folder)
        except DataError as exc:
            problems.append(str(exc))
    return problems, coverage_summary(tables)


def coverage_summary(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows, period covered and gaps per source within each table (what a reader must know)."""
    rows = []
    for table, frame in sorted(tables.items()):
        for group, part in _coverage_groups(table, frame):
            years = _years(table, part)
            span = f"{min(years)}–{max(years)}" if years else ""
            gaps = sorted(set(range(min(years), max(years) + 1)) - set(years)) if years else []
            rows.append(
                {
                    "table": table,
                    "group": group,
                    "rows": len(part),
                    "years": span,
                    "years_without_rows": _compress(gaps),
                }
            )
    return pd.DataFrame(rows, columns=["table", "group", "rows", "years", "years_without_rows"])


def _coverage_groups(table: str, frame: pd.DataFrame):
    key = {
        "incidents": "dyad",
        "incident_claims": "dyad_scope",
        "incident_coverage": "dyad",
        "indicators": "source",
        "conflict_years": ["dataset", "version"],
        "milestones": "country",
        "states": "system",
        "contiguity": "dataset",
    }.get(table)
    if key is None:
        yield "all", frame
        return
    for group, part in frame.groupby(key, dropna=False, sort=True):
        label = " ".join(str(g) for g in group) if isinstance(group, tuple) else str(group)
        yield label, part


def _years(table: str, frame: pd.DataFrame) -> list[int]:
    column = {
        "incidents": "date_start",
        "indicators": "period",
        "incident_coverage": "year",
        "milestones": "latest_date",
        "conflict_years": "year",  # spell tables (states, contiguity) have no yearly coverage
    }.get(table)
    if column is None:
        return []
    values = frame[column].dropna().astype(str).str[:4]
    return sorted({int(v) for v in values if v.isdigit()})


def _compress(years: list[int]) -> str:
    """[2001, 2002, 2003, 2007] → '2001–2003, 2007'."""
    runs, start = [], None
    for i, year in enumerate(years):
        if start is None:
            start = year
        if i + 1 == len(years) or years[i + 1] != year + 1:
            runs.append(f"{start}" if start == year else f"{start}–{year}")
            start = None
    return ", ".join(runs)


DATA_README_INTRO = """\
Generated by `analysis data build --raw ../shared/data` (do not edit by hand: `analysis data check`
refuses a table whose sha256 differs from `manifest.json`). Every row names its raw file and line
in `source_file` and `source_row`. Missing values are blank and mean *not stated / not available*,
never zero; nothing is interpolated. Rows flagged `derived` are computed in code (see `flags`,
`source`). To refresh, download the official files (same formats), lay them out as in
`src/analysis/data/sources/sources.toml`, and rebuild with `--raw DIR`."""


def render_data_readme(manifest: dict, coverage: pd.DataFrame) -> str:
    """data/README.md: producer, version, licence, citation and sha256 for every file."""
    lines = [
        "# data/: the derived tables shipped with the package",
        "",
        *DATA_README_INTRO.splitlines(),
        "",
        "## Tables",
        "",
        "| file | rows | sha256 | sources |",
        "|---|---:|---|---|",
    ]
    for entry in manifest["tables"].values():
        sources = ", ".join(entry["sources"])
        lines.append(f"| `{entry['file']}` | {entry['rows']} | `{entry['sha256']}` | {sources} |")
    lines += [
        "",
        "## Coverage",
        "",
        "| table | group | rows | years | years without rows |",
        "|---|---|---:|---|---|",
    ]
    for row in coverage.itertuples(index=False):
        lines.append(
            f"| {row.table} | {row.group} | {row.rows} | {row.years} | {row.years_without_rows} |"
        )
    lines += ["", "## Sources", ""]
    for source_id, entry in manifest["sources"].items():
        lines += [
            f"### {source_id} → `{entry['table']}`",
            "",
            f"- Producer: {entry['producer']}",
            f"- Dataset: {entry['dataset']}",
            f"- Version: {entry['version']}",
            f"- Licence: {entry['licence']}",
            f"- Cite: {entry['citation']}",
            "- Raw files (sha256):",
        ]
        lines += [f"  - `{path}`: `{digest}`" for path, digest in entry["raw_files"].items()]
        lines.append("")
    lines.append("BibTeX for every source: `sources.bib`.")
    return "\n".join(lines) + "\n"
