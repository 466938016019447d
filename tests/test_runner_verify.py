"""`analysis verify`: a rebuild in scratch is byte-identical to what was published, file by file."""

import io

import pytest
from runner_fixtures import (
    PARAMETERS,
    WARM,
    WRITES_OUTPUTS,
    entry,
    run_plan,
    write_notebook,
    write_plan,
)

from analysis.runner import RunOptions
from analysis.runner.verify import verify

pytestmark = pytest.mark.slow


def test_rebuild_is_identical_and_a_tampered_file_is_named(project):
    write_notebook(project / "nb.ipynb", PARAMETERS, WRITES_OUTPUTS)
    plan = write_plan(project, entry("one", "nb.ipynb", 'inputs = ["incidents"]'))
    assert run_plan(plan)[0] == 0
    options = RunOptions(plan=plan, jobs=1, warm_modules=WARM)
    out = io.StringIO()
    assert verify(options, out) == 0, out.getvalue()
    assert "one: identical" in out.getvalue()
    table = project / "reports" / "one" / "tables" / "squares.csv"
    table.write_text(table.read_text() + "9,81\n")
    out = io.StringIO()
    assert verify(options, out) == 1
    assert "tables/squares.csv: bytes differ" in out.getvalue()
    assert table.read_text().endswith("9,81\n"), "verify never touches the published report"
