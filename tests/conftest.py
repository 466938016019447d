"""Shared test helpers: where the repository and the raw data are, and what to do without them.

The raw data is ``../shared/data`` beside the repository, never an absolute machine path. Without
it a raw-data test skips on a developer's machine but fails under CI (``CI`` set), where a
missing folder means a broken checkout that skips would hide.
"""

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import paths
from analysis.data import schema
from analysis.study.hypotheses import Tables

# The runner tests' fixture module: its `project` fixture is available to every test module.
pytest_plugins = ["runner_fixtures"]

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# Every command in the tests works on this clone, wherever pytest was started from; the tests of
# root finding itself run the CLI in subprocesses with an environment of their own.
os.environ[paths.ROOT_ENV] = str(ROOT)
# Tests that compute registered tests share one results store for the session, apart from the
# developer's build/results (its keys carry the settings, so small test settings never collide).
os.environ.setdefault(paths.RESULTS_ENV, tempfile.mkdtemp(prefix="analysis-test-results-"))

# How long a test waits for a process that should end before calling it hung: a guard against
# hanging the suite, far beyond what a busy machine takes, never a statement about speed.
HANG = 600


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_shared(path: Path = SHARED_DATA) -> Path:
    """``path`` (the raw data folder, or a file in it); skip without it, fail under CI."""
    if not path.exists():
        reason = f"raw data not found at {path} (clone the project beside ../shared to run this)"
        if in_ci():
            pytest.fail(f"{reason}; CI must provide ../shared/data", pytrace=False)
        pytest.skip(reason)
    return path


# The smallest registry entry that parses; tests change one key at a time.
MINIMAL_ENTRY = {
    "statement": "s",
    "multiplicity": "F",
    "frequency": "A",
    "outcome": {"dyad": "KGZ-TJK"},
    "focal": "x",
    "rationale": "r",
    "predictors": [{"indicator": "X", "iso3": "TJK", "name": "x"}],
}


# The study's irrigation season (panels.panel.IRRIGATION_MONTHS), as a model spec takes it.
SEASON = (4, 5, 6, 7, 8, 9)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require_shared()


# The markers a fixture implies (pyproject.toml registers them).
FIXTURE_MARKERS = {"shipped_tables": "shipped_data", "shared_data": "raw_data"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture, marker in FIXTURE_MARKERS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


# Session scope, so that it is checked before any module fixture reads the raw files.
requires_shared = pytest.mark.usefixtures("shared_data")


@pytest.fixture(scope="session")
def shipped_tables() -> Tables:
    """The shipped tables (data/), loaded once per session: tests read them, never change them."""
    return Tables.load()


@pytest.fixture
def write(tmp_path):
    """Write text (or bytes) to a file in tmp_path and return its path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write


def synthetic_tables(effect: float, seed: int = 1) -> Tables:
    """Incidents simulated from a known IRR of an annual indicator (estimator test only), with
    a coverage table that covers every year and no stated counts."""
    rng = np.random.default_rng(seed)
    years = np.arange(1990, 2030)
    x = rng.normal(0, 1, len(years))
    rows = []
    for year, value in zip(years, x):
        for k in range(rng.poisson(6 * np.exp(effect * value))):
            rows.append({"incident_id": f"{year}-{k}", "source_dataset": "catalogue", "dyad": "KGZ-TJK",
                         "date_start": f"{year}-{1 + k % 12:02d}-01", "fatalities": pd.NA, "event_category": "other"})  # fmt: skip
    incidents = pd.DataFrame(rows).astype({"fatalities": "Int64"})
    indicators = pd.DataFrame({"iso3": "TJK", "frequency": "A", "period": years.astype(str), "indicator": "X",
                               "value": x, "source": "synthetic"})  # fmt: skip
    coverage = pd.DataFrame({"dyad": "KGZ-TJK", "year": years, "catalogued": 1, "status": "rows_found",
                             "first_month": 1, "last_month": 12, "basis": "synthetic"})  # fmt: skip
    claims = pd.DataFrame(columns=schema.columns("incident_claims"))
    return Tables(
        incidents=incidents,
        indicators=indicators,
        incident_claims=claims,
        incident_coverage=coverage,
    )


def assert_points_at(error, file: str, line: int | None, column: str | None) -> None:
    """A reader's error names the file, and the line and the column where given (None: not
    checked), in its message."""
    text = str(error)
    assert file in text, text
    if line is not None:
        assert f"line {line}" in text, text
    if column is not None:
        assert f"column '{column}'" in text, text


def assert_same_result(one, two) -> None:
    """Two results of the same test carry the same numbers (NaN equal to NaN, as a missing
    number is the same fact in both)."""
    from dataclasses import asdict

    np.testing.assert_equal(asdict(one.interval), asdict(two.interval))
    np.testing.assert_equal(
        None if one.size is None else asdict(one.size),
        None if two.size is None else asdict(two.size),
    )
    np.testing.assert_array_equal(one.test.null_statistics, two.test.null_statistics)
    assert one.test.p_value == two.test.p_value
    if one.power is not None or two.power is not None:
        pd.testing.assert_frame_equal(one.power.curve, two.power.curve)
