"""The import graph (tools/check_imports.py): no cycles, and no renderer imports estimation code."""

import importlib.util
import subprocess
import sys

import pytest
from conftest import ROOT

SCRIPT = ROOT / "tools" / "check_imports.py"
spec = importlib.util.spec_from_file_location("check_imports", SCRIPT)
check_imports = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_imports)


@pytest.mark.slow
def test_no_cycles_and_no_forbidden_imports():
    problems = check_imports.problems()
    assert problems == [], "\n" + "\n".join(problems)


def package(tmp_path, files: dict[str, str]):
    source = tmp_path / "src" / "analysis"
    for name, text in {"__init__.py": "", **files}.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(text)
    return source


def test_the_check_finds_a_cycle_through_a_function_level_import(tmp_path):
    source = package(
        tmp_path,
        {
            "schema.py": "def f():\n    from .sources.countries import x\n",
            "sources/__init__.py": "",
            "sources/countries.py": "from .. import schema\n",
        },
    )
    (line,) = check_imports.problems(source)
    assert line.startswith("import cycle among analysis.schema, analysis.sources.countries")
    assert "src/analysis/schema.py:2" in line and "src/analysis/sources/countries.py:1" in line


def test_the_check_finds_a_renderer_importing_a_model_package(tmp_path):
    source = package(
        tmp_path,
        {
            "tables.py": "from .models.count import fit\nfrom . import results\n",
            "models/__init__.py": "",
            "models/count.py": "",
            "results.py": "",
        },
    )
    (line,) = check_imports.problems(source)
    assert line.startswith("forbidden import analysis.tables -> analysis.models.count")
    assert "src/analysis/tables.py:1" in line


@pytest.mark.slow
def test_anyone_can_run_it():
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False
    )
    assert done.returncode == (1 if check_imports.problems() else 0)
    assert "problem(s) in the import graph" in done.stderr
