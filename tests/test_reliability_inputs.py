"""Malformed raw files fail cleanly, large ones read in bounded time and memory, and the table
contracts hold for generated tables (property tests).

Clean means: a ``DataError`` whose message names the file, and the line and column where there
is one; through ``analysis data build``, exit status 2, one ``error: ...`` line on stderr, no
traceback, and the output folder as it was. The corpus comes from ``tests/malformed.py``: every
variant of a valid sample of each reader's format (the first rows of the real file in
shared/data, and a generated sample so that it also runs without shared/data).

To stay within about a minute, the default run takes one variant per format through the CLI
(rotating, so that every kind of variant is covered), three of them as real subprocesses, and
reads large files of 5,000 rows, except a 200,000-row GED event file (GED and ACLED exports
come that large). ``ANALYSIS_FULL_CORPUS=1`` takes every variant through the CLI and every
large file to its full size, 200,000 rows where the format's key allows (a few minutes).
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import malformed as m
import pandas as pd
import pytest
from conftest import HANG, ROOT, SHARED_DATA, require_shared
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.cli import main
from analysis.data import databuild, schema
from analysis.errors import DataError

FULL = os.environ.get("ANALYSIS_FULL_CORPUS") == "1"
FLAVOURS = ("generated", "real")
DEFAULT_LARGE_ROWS = 5_000
ALWAYS_FULL_SIZE = ("ucdp_ged",)  # the column-wise event readers' case (ACLED's too, in full)
TRIED: dict[str, bool] = {}  # "format/flavour/variant" -> gave the clean DataError
CLI_TRIED: dict[str, bool] = {}  # the same through `analysis data build`


@functools.cache
def sample(name: str, flavour: str) -> m.Sample:
    fmt = m.FORMATS[name]
    if flavour == "generated":
        return fmt.generated()
    return fmt.real(require_shared())


@functools.cache
def corpus(name: str, flavour: str) -> dict[str, m.Case]:
    return {c.variant: c for c in m.cases(m.FORMATS[name], sample(name, flavour), flavour)}


def applicable(name: str, flavour: str) -> list[str]:
    fmt = m.FORMATS[name]
    return [v for v in fmt.variants if v not in m.not_applicable(fmt, flavour)]


def flavours(name: str) -> tuple[str, ...]:
    return FLAVOURS if m.FORMATS[name].real else ("generated",)  # see Format.no_real


def _corpus_params():
    for name in m.FORMATS:
        for flavour in flavours(name):
            for variant in applicable(name, flavour):
                yield pytest.param(name, flavour, variant, id=f"{name}-{flavour}-{variant}")


def assert_points_at(error: DataError, case: m.Case, file_name: str) -> None:
    """The error names the file, and the line and column the case expects (None: no line or
    no column to name); a set of columns is a contract key, named by some of its columns."""
    assert error.file is not None and file_name in error.file, str(error)
    assert str(error).startswith(error.file), str(error)
    assert error.row == case.line, str(error)
    if isinstance(case.column, frozenset):
        named = set((error.column or "").split(", "))
        assert error.column and named <= case.column, str(error)
    else:
        assert error.column == case.column, str(error)


# --------------------------------------------------------------------------------------------
# the readers


@pytest.mark.parametrize("name, flavour", [(n, f) for n in m.FORMATS for f in flavours(n)])
def test_valid_sample_reads(tmp_path, name, flavour):
    """Each variant breaks one thing of a sample the reader accepts."""
    frame = m.FORMATS[name].read(m.write_tree(tmp_path, sample(name, flavour).files()))
    assert len(frame) > 0


@pytest.mark.parametrize("name, flavour, variant", list(_corpus_params()))
def test_malformed_input_gives_a_clean_data_error(tmp_path, name, flavour, variant):
    case, source = corpus(name, flavour)[variant], sample(name, flavour)
    key = f"{name}/{flavour}/{variant}"
    TRIED[key] = False
    root = m.write_tree(tmp_path, source.files(case.content))
    with pytest.raises(DataError) as caught:
        m.FORMATS[name].read(root)
    assert_points_at(caught.value, case, Path(source.target).name)
    TRIED[key] = True


def test_every_variant_is_tried_or_says_why_not():
    for name, fmt in m.FORMATS.items():
        for flavour in FLAVOURS:
            na = m.not_applicable(fmt, flavour)
            untried = set(m.CSV_VARIANTS) - set(fmt.variants)
            if fmt.grow is None:
                untried.add("large")
            assert untried <= set(na), (name, flavour, untried - set(na))
            assert all(reason.strip() for reason in na.values()), name
        assert fmt.real is not None or fmt.no_real, name


# --------------------------------------------------------------------------------------------
# the CLI


@functools.cache
def registry() -> dict:
    return databuild.load_sources()


@functools.cache
def cli_tree() -> tuple[dict[str, bytes], dict[str, str]]:
    return m.cli_tree(registry(), SHARED_DATA if SHARED_DATA.is_dir() else None)


def cli_formats() -> list[str]:
    """Formats the data build reads, in FORMATS order."""
    return [
        n for n, f in m.FORMATS.items() if m.registered_source(f.generated().target, registry())
    ]


def cli_variants(name: str) -> list[str]:
    """Every variant under ANALYSIS_FULL_CORPUS, else those :func:`variants_covering_all` gives."""
    return applicable(name, "generated") if FULL else variants_covering_all()[name]


@functools.cache
def variants_covering_all() -> dict[str, list[str]]:
    """Few variants per format the build reads that together cover every kind: the kinds only
    that format has (the workbook's own), plus the kind used least so far."""
    names = cli_formats()
    rarity = Counter(v for n in names for v in applicable(n, "generated"))
    chosen, used = {}, Counter()
    for name in names:
        variants = applicable(name, "generated")
        shared = [v for v in variants if rarity[v] > 1]
        chosen[name] = [v for v in variants if rarity[v] == 1]
        chosen[name].append(min(shared, key=lambda v: (used[v], rarity[v])))
        used.update(chosen[name])
    return chosen


def _skip_unless_buildable(name: str) -> None:
    """Skip when a source the build reads before ``name``'s (or its own) has no file."""
    source = m.registered_source(m.FORMATS[name].generated().target, registry())
    _, missing = cli_tree()
    order = m.build_order(registry())
    unavailable = [s for s in order[: order.index(source) + 1] if s in missing]
    if unavailable:
        pytest.skip(f"cannot build a raw tree: {missing[unavailable[0]]}")


def bad_tree(tmp_path: Path, name: str, case: m.Case) -> tuple[Path, Path, dict]:
    """A raw tree with one bad file, and an output folder already holding files."""
    files, _ = cli_tree()
    raw = m.write_tree(
        tmp_path / "raw", {**files, m.FORMATS[name].generated().target: case.content}
    )
    out = m.write_tree(
        tmp_path / "out",
        {
            "manifest.json": (ROOT / "data" / "manifest.json").read_bytes(),
            "notes.txt": b"written before the build\n",
        },
    )
    return raw, out, snapshot(out)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def assert_one_clean_line(stderr: str, case: m.Case, file_name: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr and file_name in lines[0], stderr
    if case.line is not None:
        assert re.search(rf", line {case.line}\b", lines[0]), stderr
    if isinstance(case.column, str):
        assert f"column '{case.column}'" in lines[0], stderr


@pytest.mark.slow
def test_the_raw_tree_builds_when_valid(tmp_path):
    """The CLI cases below fail because of their one bad file, not the rest of the tree."""
    files, missing = cli_tree()
    if missing:
        pytest.skip(f"cannot build a raw tree: {next(iter(missing.values()))}")
    manifest = databuild.build(m.write_tree(tmp_path / "raw", files), tmp_path / "out")
    assert manifest["tables"]["incidents"]["rows"] > 0


@pytest.mark.parametrize(
    "name, variant",
    [pytest.param(n, v, id=f"{n}-{v}") for n in cli_formats() for v in cli_variants(n)],
)
@pytest.mark.slow
def test_cli_build_with_a_bad_file_exits_2_cleanly(tmp_path, capsys, name, variant):
    _skip_unless_buildable(name)
    case = corpus(name, "generated")[variant]
    raw, out, before = bad_tree(tmp_path, name, case)
    CLI_TRIED[f"{name}/generated/{variant}"] = False
    assert main(["data", "build", "--raw", str(raw), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_clean_line(captured.err, case, Path(m.FORMATS[name].generated().target).name)
    assert snapshot(out) == before
    CLI_TRIED[f"{name}/generated/{variant}"] = True


SUBPROCESS_FORMATS = ("countrycode", "sipri_workbook", "milestones")  # first, binary, last


@pytest.fixture(scope="module")
def subprocess_runs(tmp_path_factory):
    """`python -m analysis.cli data build` on a bad tree per format, run side by side."""
    names = cli_formats() if FULL else [n for n in SUBPROCESS_FORMATS if n in cli_formats()]
    runs = {}
    for name in names:
        try:
            _skip_unless_buildable(name)
        except pytest.skip.Exception as skipped:
            runs[name] = skipped
            continue
        case = corpus(name, "generated")[cli_variants(name)[0]]
        raw, out, before = bad_tree(tmp_path_factory.mktemp(name), name, case)
        command = [
            sys.executable,
            "-m",
            "analysis.cli",
            "data",
            "build",
            "--raw",
            str(raw),
            "--out",
            str(out),
        ]
        runs[name] = (
            case,
            out,
            before,
            subprocess.Popen(
                command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            ),
        )
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("name", cli_formats() if FULL else SUBPROCESS_FORMATS)
def test_cli_subprocess_exits_2_with_one_line_and_no_traceback(subprocess_runs, name):
    run = subprocess_runs[name]
    if isinstance(run, BaseException):
        pytest.skip(str(run))
    case, out, before, process = run
    CLI_TRIED[f"{name}/subprocess/{case.variant}"] = False
    stdout, stderr = process.communicate(timeout=HANG)
    assert process.returncode == 2, stderr
    assert stdout == ""
    assert_one_clean_line(stderr, case, Path(m.FORMATS[name].generated().target).name)
    assert snapshot(out) == before
    CLI_TRIED[f"{name}/subprocess/{case.variant}"] = True


# --------------------------------------------------------------------------------------------
# large files


def _resident_kb() -> tuple[int, int] | None:
    """(current, peak) resident memory of this process in kB, from /proc (Linux)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    return tuple(int(re.search(rf"{k}:\s+(\d+)", status)[1]) for k in ("VmRSS", "VmHWM"))


def _reset_peak() -> bool:
    """Start a fresh peak-memory count (writing 5 to clear_refs resets VmHWM)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


LARGE = [n for n, f in m.FORMATS.items() if f.grow is not None]


@pytest.mark.slow
@pytest.mark.parametrize("name", LARGE)
def test_large_file_reads_in_bounded_time_and_memory(tmp_path, name):
    fmt = m.FORMATS[name]
    rows = fmt.large_rows if FULL or name in ALWAYS_FULL_SIZE else DEFAULT_LARGE_ROWS
    big = fmt.grow(sample(name, "generated"), rows)
    rows = len(big.grid.rows)  # fewer when the format's key allows fewer distinct rows
    root = m.write_tree(tmp_path, big.files())
    size_mb = (root / big.target).stat().st_size / 1e6
    measured = _reset_peak() and _resident_kb()
    start = time.process_time()
    frame = fmt.read(root)
    seconds = time.process_time() - start
    assert len(frame) >= rows, len(frame)
    # Budgets tight enough to catch a per-row cost that grows with the file (200,000 rows within
    # 45 s) or a copy per row (memory). The time is this process's CPU time, which other jobs on
    # the machine do not lengthen (wall-clock time would fail on a loaded machine).
    assert seconds < 5 + rows / 5_000, f"{rows} rows of {name} took {seconds:.1f} s of CPU"
    if measured:
        growth_mb = (_resident_kb()[1] - measured[0]) / 1e3
        assert growth_mb < 300 + 40 * size_mb, f"{name}: +{growth_mb:.0f} MB for {size_mb:.0f} MB"


# --------------------------------------------------------------------------------------------
# the table contracts (property-based)

CODES = ("KAZ", "KGZ", "RUS", "TJK", "UZB")  # in the shipped country table and the fallback
TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
MAYBE_TEXT = st.none() | TEXT
COUNT = st.none() | st.integers(0, 10**6)
DAY = st.dates(pd.Timestamp("1946-01-01").date(), pd.Timestamp("2024-12-31").date())


def _maybe(strategy):
    return st.none() | strategy


def _dates_in_order(row: dict) -> dict:
    start, end = sorted([row["date_start"], row["date_end"]])
    return {**row, "date_start": start, "date_end": end}


def _period_for_frequency(row: dict) -> dict:
    year, month = row["period"]
    return {**row, "period": str(year) if row["frequency"] == "A" else f"{year}-{month:02d}"}


# Per table: strategies for the columns with rules beyond type and nullability, a fix-up that
# makes a row meet the table-level rules, and values that break one cell's rule.
SPECIAL = {
    "incidents": (
        {
            "source_dataset": st.sampled_from(schema.INCIDENT_SOURCES),
            "date_start": DAY.map(str),
            "date_end": DAY.map(str),
            "date_precision": st.sampled_from(schema.DATE_PRECISIONS),
            "dyad": _maybe(st.sampled_from(["KGZ-TJK", "KGZ-UZB", "TJK-UZB"])),
            "country": _maybe(st.sampled_from(CODES)),
            "latitude": _maybe(st.floats(-90, 90)),
            "longitude": _maybe(st.floats(-180, 180)),
            "event_category": st.sampled_from(schema.EVENT_CATEGORIES),
        },
        _dates_in_order,
        [
            ("date_start", "2021-02-30"),
            ("date_end", "2021-13-01"),
            ("fatalities", -1),
            ("latitude", 91.0),
            ("event_category", "war"),
            ("country", "XXX"),
            ("date_precision", "week"),
            ("dyad", "KG-TJ"),
            ("source_reference", None),
        ],
    ),
    "indicators": (
        {
            "iso3": st.sampled_from((*CODES, "WLD")),
            "frequency": st.sampled_from(schema.FREQUENCIES),
            "period": st.tuples(st.integers(1900, 2100), st.integers(1, 12)),
            "value": _maybe(st.floats(allow_nan=False, allow_infinity=False)),
            "flags": _maybe(st.sampled_from(schema.INDICATOR_FLAGS)),
        },
        _period_for_frequency,
        [
            ("iso3", "XXX"),
            ("frequency", "Q"),
            ("period", "21"),
            ("indicator", None),
            ("unit", None),
        ],
    ),
    "conflict_years": (
        {
            "dataset": st.sampled_from(schema.UCDP_DATASETS),
            "version": st.from_regex(r"\d{1,2}\.\d", fullmatch=True),
            "conflict_id": st.integers(1, 10**5),
            "dyad_id": _maybe(st.integers(1, 10**5)),
            "year": st.integers(1946, 2100),
            "incompatibility": _maybe(st.sampled_from([1, 2, 3])),
            "type_of_conflict": _maybe(st.sampled_from([1, 2, 3, 4])),
            "intensity_level": _maybe(st.sampled_from([1, 2])),
            "start_date": _maybe(DAY.map(str)),
            "ep_end_date": _maybe(DAY.map(str)),
        },
        lambda row: row,
        [
            ("year", 1900),
            ("deaths_best", -5),
            ("version", "v1"),
            ("incompatibility", 4),
            ("start_date", "1999-13-01"),
            ("dataset", "gedx"),
            ("conflict_id", None),
        ],
    ),
}


def rows_of(table: str, min_size: int = 1):
    """Lists of valid rows (dicts) of a contract, unique on its key."""
    special, fix, _ = SPECIAL[table]
    fields = {}
    for name, column in schema.CONTRACTS[table].columns.items():
        if name in ("source_file", "source_row"):
            continue
        if name in special:
            fields[name] = special[name]
        elif str(column.dtype) == "Int64":
            fields[name] = COUNT if column.nullable else st.integers(0, 10**6)
        else:
            fields[name] = MAYBE_TEXT if column.nullable else TEXT
    key = schema.CONTRACTS[table].unique
    return st.lists(
        st.fixed_dictionaries(fields).map(fix),
        min_size=min_size,
        max_size=6,
        unique_by=lambda row: tuple(row[k] for k in key),
    )


def as_table(table: str, rows: list[dict]) -> pd.DataFrame:
    """Rows as a reader hands them to the contract: from raw.csv, lines 2, 3, ..."""
    frame = pd.DataFrame(rows).assign(source_file="raw.csv", source_row=range(2, len(rows) + 2))
    return schema.coerce(table, frame)


PROPERTY_SETTINGS = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.mark.slow
@pytest.mark.parametrize("table", list(SPECIAL))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_contract_accepts_valid_rows_and_points_at_one_bad_cell(table, data):
    rows = data.draw(rows_of(table))
    schema.validate(table, as_table(table, rows))
    column, bad = data.draw(st.sampled_from(SPECIAL[table][2]))
    i = data.draw(st.integers(0, len(rows) - 1))
    rows[i] = {**rows[i], column: bad}
    with pytest.raises(DataError) as caught:
        schema.validate(table, as_table(table, rows))
    error = caught.value
    assert (error.file, error.row, error.column) == ("raw.csv", i + 2, column), str(error)


@pytest.mark.slow
@pytest.mark.parametrize("table", list(SPECIAL))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_contract_names_the_later_of_two_rows_sharing_a_key(table, data):
    rows = data.draw(rows_of(table, min_size=2))
    first, later = sorted(
        data.draw(st.lists(st.integers(0, len(rows) - 1), min_size=2, max_size=2, unique=True))
    )
    key = schema.CONTRACTS[table].unique
    rows[later] = {**rows[later], **{k: rows[first][k] for k in key}}
    with pytest.raises(DataError, match="duplicate key") as caught:
        schema.validate(table, as_table(table, rows))
    error = caught.value
    assert (error.file, error.row) == ("raw.csv", later + 2), str(error)
    assert set(error.column.split(", ")) <= set(key), str(error)
    assert f"raw.csv line {first + 2}" in str(error)


# --------------------------------------------------------------------------------------------


def test_corpus_summary(capsys):
    """How many malformed inputs were tried and how many failed cleanly (printed)."""
    if not TRIED:
        pytest.skip("the counts come from the corpus tests above: run the whole module")
    unclean = sorted(k for k, ok in {**TRIED, **CLI_TRIED}.items() if not ok)
    with capsys.disabled():
        print(
            f"\nmalformed inputs: {len(TRIED)} tried on the readers, {sum(TRIED.values())} gave "
            f"the clean DataError; {len(CLI_TRIED)} through `analysis data build`, "
            f"{sum(CLI_TRIED.values())} exited 2 cleanly"
        )
    assert not unclean, unclean
