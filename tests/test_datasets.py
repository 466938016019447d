"""Loading verifies checksums and contracts; a corrupted copy is refused with a precise message."""

import datetime as dt
import hashlib
import json
import shutil

import pytest
from conftest import ROOT

from analysis.cli import main
from analysis.data import databuild, datasets, schema
from analysis.errors import ChecksumError, DataError


@pytest.fixture
def data_copy(tmp_path):
    target = tmp_path / "data"
    shutil.copytree(ROOT / "data", target)
    return target


def test_shipped_data_passes_the_check():
    problems, coverage = datasets.check()
    assert problems == []
    assert set(coverage["table"]) == set(datasets.read_manifest()["tables"])


@pytest.mark.slow
@pytest.mark.parametrize("clock", [dt.date(1990, 1, 1), dt.date(2999, 12, 31)])
def test_shipped_data_passes_whatever_the_clock_says(monkeypatch, clock):
    """The build held every date to its own day; loading must not depend on today's."""

    class Clock(dt.date):
        @classmethod
        def today(cls):
            return clock

    monkeypatch.setattr(schema.dt, "date", Clock)
    datasets._load_verified.cache_clear()
    try:
        assert datasets.check()[0] == []
    finally:
        datasets._load_verified.cache_clear()


def test_the_build_holds_dates_to_the_day_it_runs(monkeypatch, tmp_path):
    """`analysis data build` passes today's date down; a date after it is an error there."""
    given = {}
    monkeypatch.setattr(
        databuild,
        "build",
        lambda raw, out, today: given.update(today=today) or {"tables": {}, "sources": {}},
    )
    assert main(["data", "build", "--raw", str(tmp_path), "--out", str(tmp_path)]) == 0
    assert given["today"] == dt.date.today()


def test_load_gives_contract_columns_and_types():
    incidents = datasets.load("incidents")
    assert list(incidents.columns) == schema.columns("incidents")
    assert str(incidents["fatalities"].dtype) == "Int64"
    assert incidents["incident_id"].is_unique


@pytest.mark.slow
def test_edited_table_is_refused_with_rebuild_hint(data_copy):
    path = data_copy / "incidents.csv"
    path.write_text(path.read_text().replace("KGZ-TJK", "KGZ-TJX", 1))
    with pytest.raises(ChecksumError) as caught:
        datasets.load("incidents", data_copy)
    message = str(caught.value)
    assert "incidents.csv" in message and "analysis data build" in message
    problems, _ = datasets.check(data_copy)
    assert len(problems) == 1 and "incidents.csv" in problems[0]


def test_contract_violation_is_reported_at_its_line_in_the_shipped_file(data_copy):
    path = data_copy / "milestones.csv"
    lines = path.read_text().splitlines(keepends=True)
    assert ",KGZ+TJK," in lines[3]
    lines[3] = lines[3].replace(",KGZ+TJK,", ",KGZ+QQQ,", 1)
    path.write_text("".join(lines))
    manifest = json.loads((data_copy / "manifest.json").read_text())
    manifest["tables"]["milestones"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (data_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=r"milestones.csv, line 4, column 'country'.*'KGZ\+QQQ'"):
        datasets.load("milestones", data_copy)


def test_missing_pieces(data_copy):
    (data_copy / "countries.csv").unlink()
    with pytest.raises(DataError, match="shipped table is missing"):
        datasets.load("countries", data_copy)
    with pytest.raises(DataError, match="no table 'nope'"):
        datasets.load("nope", data_copy)
    (data_copy / "manifest.json").unlink()
    with pytest.raises(DataError, match="data manifest not found"):
        datasets.load("incidents", data_copy)


def test_environment_variable_selects_the_data_folder(data_copy, monkeypatch):
    monkeypatch.setenv("ANALYSIS_DATA_DIR", str(data_copy))
    assert datasets.data_dir() == data_copy


def test_coverage_names_years_without_rows():
    assert datasets._compress([2001, 2002, 2003, 2007, 2009, 2010]) == "2001–2003, 2007, 2009–2010"
