"""Notebooks are committed stripped, keep their parameters typed, and run top to bottom."""

import ast
import json
import re
from pathlib import Path

import nbformat
import papermill
import pytest
from conftest import ROOT

from analysis import labels

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TINY = {
    "00_data_audit": {},
    "01_incident_patterns": {"dyad": "KGZ-UZB"},
    "10_hypothesis": {"hypothesis": "H1b", "n_perm": 99, "n_size": 30, "n_power": 20},
    "20_robustness": {"hypothesis": "H1e"},
    "30_global_panel": {
        "outcome": "onset",
        "unit": "country",
        "start": "2000",
        "region": "Europe & Central Asia",
    },
    "90_summary": {"n_perm": 99, "n_size": 0, "n_power": 0},
}


def parameters_cell(path: Path):
    book = nbformat.read(path, as_version=4)
    tagged = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: exactly one cell tagged 'parameters'"
    return tagged[0]


def test_every_notebook_has_a_tiny_parameter_set():
    assert sorted(p.stem for p in NOTEBOOKS) == sorted(TINY)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_are_typed_and_documented(path):
    source = parameters_cell(path).source
    names = []
    for line in source.splitlines():
        node = ast.parse(line.split("#")[0]).body[0]
        assert isinstance(node, ast.AnnAssign), (
            f"{path.name}: '{line}' is not `name: type = value  # help`"
        )
        assert node.annotation.id in {"int", "float", "str", "bool"}
        assert "#" in line and line.split("#", 1)[1].strip(), (
            f"{path.name}: '{line}' has no help text"
        )
        names.append(node.target.id)
    assert "output_dir" in names
    documented = papermill.inspect_notebook(str(path))
    assert set(documented) == set(names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_stay_thin(path):
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            tree = ast.parse(cell.source)
            assert not any(
                isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.For, ast.While))
                for n in ast.walk(tree)
            ), f"{path.name}: logic belongs in src/analysis, not in a notebook cell"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_with_plain_papermill(path, tmp_path):
    out_dir = tmp_path / "out"
    papermill.execute_notebook(
        str(path),
        str(tmp_path / path.name),
        parameters={**TINY[path.stem], "output_dir": str(out_dir)},
        progress_bar=False,
        kernel_name="python3",
    )
    for kind in ("tables", "figures"):  # every notebook saves both
        assert (out_dir / kind).is_dir() and any((out_dir / kind).iterdir()), (
            f"{path.name} saved no {kind} into output_dir"
        )
    figures = {p.stem for p in (out_dir / "figures").glob("*.png")}
    assert figures and figures == {p.stem for p in (out_dir / "figures").glob("*.csv")}, (
        f"{path.name}: every figure offers its data as CSV"
    )
    shown = [
        output["data"]["text/html"]
        for cell in nbformat.read(tmp_path / path.name, as_version=4).cells
        for output in cell.get("outputs", [])
        if "text/html" in output.get("data", {})
    ]
    tables = [t for markup in shown for t in re.findall(r"<table.*?</table>", markup, re.DOTALL)]
    assert tables and not [t[:200] for t in tables if "<td" not in t], (
        f"{path.name} shows a table with a header and no rows"
    )
    headers = {h for t in tables for h in re.findall(r"<th[^>]*>([^<]*)</th>", t)}
    assert not labels.unlabelled(headers), f"{path.name} shows raw column names"
    assert "<code>reports/" in "".join(shown) or not (out_dir / "numbers.json").exists(), (
        f"{path.name}: How to cite names the macro of each number"
    )
