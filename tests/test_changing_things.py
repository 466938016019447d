"""The README's "Changing things" walkthroughs, done as a newcomer would, on copies.

Each test follows its walkthrough to the letter: if a step stops being enough (another list to
edit, a check that no longer fires), the test fails and the README is out of date.
"""

import importlib
import shutil
import sys
import textwrap
import tomllib

import pytest
from conftest import SHARED_DATA, requires_shared

import analysis.sources
from analysis import databuild
from analysis.errors import DataError

# Walkthrough "Add a data source": the reader module a newcomer writes (here into a scratch
# folder added to analysis.sources), exactly as the README shows it.
WHEAT_READER = '''
"""Monthly wheat prices (Month,Price) -> indicators."""

from pathlib import Path

import pandas as pd

from analysis.sources._common import (
    ReadContext, finish_table, parse_float_series, read_csv_table, source_label,
)


def read_raw(paths: list[Path], ctx: ReadContext) -> pd.DataFrame:
    raw = read_csv_table(paths[0], ("Month", "Price"))
    return finish_table("indicators", pd.DataFrame({
        "iso3": "WLD", "frequency": "M", "period": raw["Month"],
        "indicator": "WHEAT", "indicator_name": "Wheat price",
        "value": parse_float_series(raw, "Price", paths[0]),
        "unit": "US$ per tonne", "source": "example wheat series", "flags": None,
        "source_file": source_label(paths[0], ctx.root), "source_row": raw["source_row"],
    }))
'''

WHEAT_ENTRY = """
[wheat]
table = "indicators"
files = ["indicators/wheat_monthly.csv"]
reader = "wheat.read_raw"
producer = "example producer"
dataset = "Monthly wheat price"
version = "2026-12"
licence = "CC BY 4.0"
citation = "Example (2026). Monthly wheat price."
bibtex = "@misc{wheat, title = {Monthly wheat price}, year = {2026}}"
"""


@pytest.fixture
def scratch_sources(tmp_path, monkeypatch):
    """A folder searched as part of analysis.sources, and a raw root with the crosswalk."""
    sys.modules.pop("analysis.sources.wheat", None)
    importlib.invalidate_caches()
    modules = tmp_path / "modules"
    modules.mkdir()
    monkeypatch.setattr(analysis.sources, "__path__", [*analysis.sources.__path__, str(modules)])
    raw = tmp_path / "raw"
    crosswalk = "global/crosswalks/countrycode_codelist_without_cldr.csv"
    (raw / crosswalk).parent.mkdir(parents=True)
    shutil.copy(SHARED_DATA / crosswalk, raw / crosswalk)
    yield modules, raw
    sys.modules.pop("analysis.sources.wheat", None)


def _registry(tmp_path, *entries: str):
    """The shipped registry's crosswalk entry plus ``entries``, as a file of its own."""
    shipped = tomllib.loads(databuild.REGISTRY.read_text(encoding="utf-8"))["countrycode"]
    crosswalk = "\n".join(f"{key} = {value!r}".replace("'", '"') for key, value in shipped.items())
    path = tmp_path / "registry.toml"
    path.write_text("[countrycode]\n" + crosswalk + "\n" + "\n".join(entries), encoding="utf-8")
    return path


@requires_shared
def test_add_a_data_source_is_one_reader_module_and_one_registry_entry(tmp_path, scratch_sources):
    modules, raw = scratch_sources
    (modules / "wheat.py").write_text(textwrap.dedent(WHEAT_READER), encoding="utf-8")
    (raw / "indicators").mkdir()
    (raw / "indicators" / "wheat_monthly.csv").write_text(
        "Month,Price\n2024-01,250.5\n2024-02,\n", encoding="utf-8"
    )
    tables, used = databuild.build_tables(raw, registry=_registry(tmp_path, WHEAT_ENTRY))
    wheat = tables["indicators"]
    assert wheat["period"].tolist() == ["2024-01", "2024-02"]
    assert wheat["value"].iloc[0] == 250.5 and wheat["value"].isna().iloc[1]  # missing stays
    assert wheat["source_file"].unique().tolist() == ["indicators/wheat_monthly.csv"]
    assert [p.name for p in used["wheat"]] == ["wheat_monthly.csv"]


@requires_shared
@pytest.mark.parametrize(
    "reader", ["wheat.read_raw", "nosuchmodule.read_raw", "wheat.helper", "read_raw"]
)
def test_a_registry_entry_naming_no_reader_is_an_error_at_load(tmp_path, scratch_sources, reader):
    modules, _ = scratch_sources
    if reader != "wheat.read_raw":
        (modules / "wheat.py").write_text(textwrap.dedent(WHEAT_READER), encoding="utf-8")
    entry = WHEAT_ENTRY.replace('"wheat.read_raw"', f'"{reader}"')
    with pytest.raises(DataError, match=r"column 'reader': source \[wheat\] names no reader"):
        databuild.load_registry(_registry(tmp_path, entry))
