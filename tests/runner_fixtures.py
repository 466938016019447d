"""The runner tests' shared pieces: tiny notebooks and plans, the ``project`` fixture (a plan
folder keyed on a private copy of the source) and how a test runs a plan.

Registered by ``pytest_plugins`` in conftest.py, so ``project`` reaches every test module
without an import; the helpers are imported from here.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import time
from pathlib import Path

import pytest
from conftest import HANG

from analysis.runner import RunOptions, cache, run


def write_notebook(path: Path, parameters: str, *cells: str) -> Path:
    """A minimal nbformat-4 notebook: a markdown title, the parameters cell, then code cells."""

    def code(source: str, index: int, tags=()) -> dict:
        return {
            "cell_type": "code",
            "execution_count": None,
            "id": f"cell-{index}",
            "metadata": {"tags": list(tags)},
            "outputs": [],
            "source": source,
        }

    document = {
        "cells": [
            {"cell_type": "markdown", "id": "title", "metadata": {}, "source": "# A tiny report"},
            code(parameters, 0, ["parameters"]),
            *(code(source, i + 1) for i, source in enumerate(cells)),
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


def write_plan(folder: Path, text: str) -> Path:
    path = folder / "reports.toml"
    path.write_text(text, encoding="utf-8")
    return path


PARAMETERS = """output_dir: str = ""  # folder for figures/tables/numbers ("" = do not save)
label: str = "plain"  # shown in the report
n: int = 3  # how many (range: 1..10)
"""
WRITES_OUTPUTS = """import json, pathlib
import matplotlib.pyplot as plt
import pandas as pd
print("label is", label)
frame = pd.DataFrame({"x": list(range(n)), "y": [i * i for i in range(n)]})
fig, ax = plt.subplots()
ax.plot(frame.x, frame.y)
if output_dir:
    out = pathlib.Path(output_dir)
    (out / "figures").mkdir()
    (out / "tables").mkdir()
    fig.savefig(out / "figures" / "squares.png")
    frame.to_csv(out / "tables" / "squares.csv", index=False)
    (out / "numbers.json").write_text(json.dumps({"n": n, "sum": int(frame.y.sum())}))
"""
# Warm only what the tiny notebooks import; it stays imported in the test process.
WARM = ("pandas", "matplotlib.pyplot")


def run_plan(plan: Path, **options) -> tuple[int, str]:
    out = io.StringIO()
    settings = {"jobs": 2, "warm_modules": WARM, **options}
    return run(RunOptions(plan=plan, **settings), out), out.getvalue()


def entry(name: str, notebook: str, extra: str = "") -> str:
    return f'[[report]]\nname = "{name}"\nnotebook = "{notebook}"\n{extra}\n'


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A plan folder with a data manifest of two tables (their sha256 are what reports key on),
    and a private copy of src/analysis to key on, which no one edits while a test runs."""
    source = tmp_path / "src_copy"
    shutil.copytree(cache.SOURCE_DIR, source, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "SOURCE_DIR", source)
    monkeypatch.setenv("ANALYSIS_REGISTRY", str(source / "study" / "hypotheses.toml"))
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("ANALYSIS_DATA_DIR", str(data))
    set_tables(tmp_path, incidents="1", indicators="2")
    return tmp_path


def set_tables(folder: Path, **contents: str) -> None:
    """Write each table file with the given content and record its sha256 in the manifest."""
    for table, content in contents.items():
        (folder / "data" / f"{table}.csv").write_text(content)
    tables = {table: {"sha256": sha(content)} for table, content in contents.items()}
    cache.write_json(folder / "data" / "manifest.json", {"tables": tables})


def sha(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


# The time limit (and the grace before a kill) of the tests of reports past their limit. It
# applies to every report of the run, so it leaves a report that only prints ample time on a busy
# machine (one second did not), while those meant to pass it sleep for ten minutes; the grace,
# counted from the task's start, must outlast the report's own timer, which starts later.
REPORT_LIMIT = 20.0


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_until_gone(pid: int) -> None:
    """Wait for process ``pid`` to end, however long that takes (up to :data:`HANG`)."""
    deadline = time.monotonic() + HANG
    while alive(pid):
        assert time.monotonic() < deadline, f"process {pid} still runs after {HANG} s"
        time.sleep(0.05)


def files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
