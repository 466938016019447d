"""The import graph (tools/check_imports.py): no cycles, and every import goes down the pipeline."""

import importlib.util
import subprocess
import sys

import pytest
from conftest import ROOT

SCRIPT = ROOT / "tools" / "check_imports.py"
spec = importlib.util.spec_from_file_location("check_imports", SCRIPT)
check_imports = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_imports)


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
            "data/__init__.py": "",
            "data/schema.py": "def f():\n    from .sources.countries import x\n",
            "data/sources/__init__.py": "",
            "data/sources/countries.py": "from .. import schema\n",
        },
    )
    (line,) = check_imports.problems(source)
    assert line.startswith(
        "import cycle among analysis.data.schema, analysis.data.sources.countries"
    )
    assert (
        "src/analysis/data/schema.py:2" in line
        and "src/analysis/data/sources/countries.py:1" in line
    )


@pytest.mark.parametrize(
    "importer, text, why",
    [
        ("report/tables.py", "from ..models.count import fit\n", "never estimates"),
        ("report/tables.py", "from ..study import verdicts\n", "never estimates"),
        ("panels/panel.py", "from ..study import verdicts\n", "stage panels comes before study"),
        ("models/design.py", "from ..panels import panel\n", "models are generic"),
        ("results.py", "from .models import count\n", "shared modules import only"),
        ("study/verdicts.py", "from ..runner import plan\n", "nothing in it imports a driver"),
        ("extras.py", "from .models import count\n", "extras is not a stage"),
    ],
)
def test_the_check_finds_an_import_against_the_pipeline(tmp_path, importer, text, why):
    folders = ("data", "panels", "models", "study", "report", "runner")
    files = {f"{folder}/__init__.py": "" for folder in folders}
    files |= {"models/count.py": "", "study/verdicts.py": "", "runner/plan.py": ""}
    files |= {"panels/panel.py": ""}
    source = package(tmp_path, {**files, "results.py": "", importer: text})
    (line,) = check_imports.problems(source)
    assert line.startswith(f"forbidden import analysis.{importer[:-3].replace('/', '.')} -> ")
    assert why in line and f"src/analysis/{importer}:1" in line


def test_a_stage_may_import_earlier_stages_and_shared_modules(tmp_path):
    source = package(
        tmp_path,
        {
            "data/__init__.py": "",
            "data/schema.py": "from .. import errors\n",
            "models/__init__.py": "",
            "models/fit.py": "from .. import results\n",
            "panels/__init__.py": "",
            "panels/panel.py": "from ..data import schema\n",
            "study/__init__.py": "",
            "study/engine.py": "from ..panels import panel\nfrom ..models import fit\n",
            "report/__init__.py": "",
            "report/site.py": "from ..data import schema\nfrom .. import labels, results\n",
            "runner/__init__.py": "",
            "runner/run.py": "from ..report import site\nfrom ..models import fit\n",
            "errors.py": "",
            "labels.py": "from . import errors\n",
            "results.py": "from . import labels\n",
        },
    )
    assert check_imports.problems(source) == []


def test_anyone_can_run_it():
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False
    )
    assert done.returncode == (1 if check_imports.problems() else 0)
    assert "problem(s) in the import graph" in done.stderr
