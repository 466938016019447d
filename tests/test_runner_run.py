"""`analysis run` end to end on tiny notebooks written into tmp_path (stdlib, pandas, matplotlib)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import HANG
from runner_fixtures import (
    PARAMETERS,
    REPORT_LIMIT,
    WRITES_OUTPUTS,
    entry,
    files,
    run_plan,
    set_tables,
    sha,
    wait_until_gone,
    write_notebook,
    write_plan,
)

from analysis.cli import main
from analysis.errors import ConfigError
from analysis.runner import execute, pool
from analysis.runner.lock import RunLock


def test_a_report_is_published_with_notebook_html_outputs_and_a_deterministic_manifest(project):
    write_notebook(
        project / "nb" / "good.ipynb",
        PARAMETERS,
        WRITES_OUTPUTS,
        "SECRET_INPUT_MARKER = 40 + 2\nSECRET_INPUT_MARKER",
    )
    plan = write_plan(
        project,
        entry("good-{n}", "nb/good.ipynb", 'parameters = { n = 4 }\ninputs = ["incidents"]'),
    )
    code, out = run_plan(plan)
    assert code == 0, out
    folder = project / "reports" / "good-4"
    assert sorted(files(folder)) == [
        "figures/squares.png",
        "good-4.html",
        "good-4.ipynb",
        "manifest.json",
        "numbers.json",
        "tables/squares.csv",
        "timings.json",
    ]
    assert json.loads((folder / "numbers.json").read_text()) == {"n": 4, "sum": 14}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["report"] == "good-4" and manifest["notebook"] == "nb/good.ipynb"
    assert manifest["parameters"] == {"label": "plain", "n": 4} and manifest["inputs"] == {
        "incidents": sha("1")
    }
    assert manifest["python"] == sys.version.split()[0] and manifest["packages"]["pandas"]
    assert set(manifest["git"]) == {"commit", "dirty"} and manifest["engine"] == "fork"
    assert set(manifest["outputs"]) == {
        "figures/squares.png",
        "good-4.html",
        "good-4.ipynb",
        "numbers.json",
        "tables/squares.csv",
    }
    assert "seconds" in json.loads((folder / "timings.json").read_text())
    html = (folder / "good-4.html").read_text()
    assert "42" in html and "SECRET_INPUT_MARKER" not in html, "inputs are hidden by default"
    executed = json.loads((folder / "good-4.ipynb").read_text())
    injected = executed["cells"][2]
    assert injected["metadata"]["tags"] == ["injected-parameters"]
    assert "n = 4" in "".join(injected["source"]) and 'output_dir = "reports/good-4"' in "".join(
        injected["source"]
    )
    before = files(folder)
    code, _ = run_plan(plan, force=True)
    after = files(folder)
    assert code == 0 and {k: v for k, v in after.items() if k != "timings.json"} == {
        k: v for k, v in before.items() if k != "timings.json"
    }, "same content, same bytes"
    code, _ = run_plan(plan, force=True, with_code=True)
    assert "SECRET_INPUT_MARKER" in (folder / "good-4.html").read_text()


@pytest.mark.slow
def test_unchanged_reports_are_skipped_and_changes_rerun_exactly_what_depends_on_them(project):
    write_notebook(project / "a.ipynb", PARAMETERS, "print(label)")
    write_notebook(project / "b.ipynb", PARAMETERS, "print(n)")
    plan = write_plan(
        project,
        entry("a", "a.ipynb", 'inputs = ["incidents"]')
        + entry("b", "b.ipynb", 'inputs = ["indicators"]'),
    )
    assert run_plan(plan)[0] == 0

    def ran(out: str) -> set[str]:
        return {line.split()[1] for line in out.splitlines() if line.startswith("[")}

    code, out = run_plan(plan)
    assert code == 0 and ran(out) == set() and "fresh   a  (unchanged" in out
    assert ran(run_plan(plan, force=True, only=("b",))[1]) == {"b"}
    set_tables(project, incidents="3", indicators="2")
    code, listing = run_plan(plan, list_plan=True)
    assert "input 'incidents' changed" in listing and ran(run_plan(plan, dry_run=True)[1]) == set()
    assert ran(run_plan(plan)[1]) == {"a"}
    source = project / "src_copy"
    (source / "panels" / "panel.py").write_text(
        (source / "panels" / "panel.py").read_text() + "\n# edited\n"
    )
    code, dry = run_plan(plan, dry_run=True)
    assert "would run   a  (code in src/analysis changed)" in dry and "would run   b" in dry
    assert ran(run_plan(plan)[1]) == {"a", "b"}


@pytest.mark.slow
def test_editing_one_registry_entry_reruns_only_its_reports(project):
    params = (
        PARAMETERS + 'hypothesis: str = "H1a"  # registered hypothesis id (choices: registry)\n'
    )
    write_notebook(project / "h.ipynb", params, "print(hypothesis)")
    write_notebook(project / "all.ipynb", PARAMETERS, "print('every entry')")
    plan = write_plan(
        project,
        entry("h-{hypothesis}", "h.ipynb", 'grid = { hypothesis = ["H1a", "H1b", "H3"] }')
        + entry("all", "all.ipynb", 'inputs = ["registry"]')
        + entry("none", "all.ipynb"),
    )
    assert run_plan(plan)[0] == 0
    registry = project / "src_copy" / "study" / "hypotheses.toml"
    text = registry.read_text()
    start = text.index("[H1b]")
    registry.write_text(
        text[:start] + text[start:].replace('rationale = "', 'rationale = "Edited. ', 1)
    )
    listing = run_plan(plan, list_plan=True)[1]
    assert "the hypothesis registry (its entry, or every entry it reads) changed" in listing
    code, out = run_plan(plan)
    ran = {line.split()[1] for line in out.splitlines() if line.startswith("[")}
    assert code == 0 and ran == {"h-H1b", "all"}, out


@pytest.mark.slow
def test_a_failing_report_is_kept_apart_and_the_others_publish(project):
    write_notebook(project / "good.ipynb", PARAMETERS, "print('fine')")
    bad = write_notebook(project / "bad.ipynb", PARAMETERS, "print('version 1 works')")
    plan = write_plan(project, entry("good", "good.ipynb") + entry("bad", "bad.ipynb"))
    assert run_plan(plan)[0] == 0
    published = files(project / "reports" / "bad")
    write_notebook(bad, PARAMETERS, "print('before')", "raise ValueError('no <data> here')")
    code, out = run_plan(plan, force=True)
    assert code == 1
    assert "report  cell  error" in out and "bad        5  ValueError: no <data> here" in out
    assert (project / "reports" / "good" / "good.html").is_file()
    assert files(project / "reports" / "bad") == published, "the last good report stays untouched"
    failed = project / "reports" / "_failed" / "bad"
    failure = json.loads((failed / "failure.json").read_text())
    assert {k: failure[k] for k in ("report", "cell", "ename", "evalue")} == {
        "report": "bad",
        "cell": 5,
        "ename": "ValueError",
        "evalue": "no <data> here",
    }
    executed = json.loads((failed / "bad.ipynb").read_text())
    assert "".join(executed["cells"][3]["outputs"][0]["text"]) == "before\n"
    assert executed["cells"][4]["outputs"][0]["output_type"] == "error"
    page = (project / "reports" / "status.html").read_text()
    assert "no &lt;data&gt; here" in page and '<td class="failed">failed' in page
    assert not (project / "reports" / ".staging").exists()


def test_every_report_starts_from_a_clean_process(project):
    write_notebook(
        project / "dirty.ipynb",
        PARAMETERS,
        """
import json, matplotlib
import matplotlib.pyplot as plt
LEFTOVER = 1
json.LEFTOVER = 1
matplotlib.rcParams["lines.linewidth"] = 9
plt.figure()
""",
    )
    write_notebook(
        project / "check.ipynb",
        PARAMETERS,
        """
import json, matplotlib
import matplotlib.pyplot as plt
assert "LEFTOVER" not in globals()
assert not hasattr(json, "LEFTOVER")
assert matplotlib.rcParams["lines.linewidth"] != 9
assert plt.get_fignums() == []
print("clean")
""",
    )
    plan = write_plan(project, entry("1-dirty", "dirty.ipynb") + entry("2-check", "check.ipynb"))
    import matplotlib.pyplot as plt

    figure = plt.figure()  # open in the parent: no worker may show it
    try:
        code, out = run_plan(plan, jobs=1)
    finally:
        plt.close(figure)
    assert code == 0, out


@pytest.mark.slow
def test_a_report_past_its_timeout_fails_alone(project):
    write_notebook(
        project / "slow.ipynb", PARAMETERS, "print('start')", "import time\ntime.sleep(600)"
    )
    write_notebook(
        project / "stuck.ipynb",
        PARAMETERS,
        "import signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\ntime.sleep(600)",
    )
    write_notebook(project / "quick.ipynb", PARAMETERS, "print('quick')")
    plan = write_plan(
        project,
        entry("slow", "slow.ipynb") + entry("stuck", "stuck.ipynb") + entry("quick", "quick.ipynb"),
    )
    started = time.monotonic()
    # The limit is every report's: long enough for "quick" on a busy machine (a second was not).
    code, _ = run_plan(plan, jobs=3, timeout=REPORT_LIMIT, kill_grace=REPORT_LIMIT)
    assert time.monotonic() - started < 600, "the run waited for the reports to end"
    assert code == 1 and (project / "reports" / "quick" / "quick.html").is_file()
    slow = json.loads((project / "reports" / "_failed" / "slow" / "failure.json").read_text())
    assert (slow["cell"], slow["ename"]) == (5, "ReportTimeout"), (
        "the cell that ran too long is named"
    )
    assert (project / "reports" / "_failed" / "slow" / "slow.ipynb").is_file()
    stuck = json.loads((project / "reports" / "_failed" / "stuck" / "failure.json").read_text())
    assert stuck["ename"] == "ReportTimeout"
    assert f"killed after {2 * REPORT_LIMIT:g} s" in stuck["evalue"]


@pytest.mark.slow
def test_both_engines_give_the_same_cell_outputs(project):
    notebook = write_notebook(
        project / "both.ipynb",
        PARAMETERS,
        "print('label is', label)\nn * 2",
        "import sys\nprint('to stderr', file=sys.stderr)",
        "import pandas as pd\npd.DataFrame({'a': [1, 2]})",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nNone",
    )
    extra = 'parameters = { label = "x\\"y" }'
    write_plan(project, entry("fork", "both.ipynb", extra))
    assert run_plan(project / "reports.toml", engine="fork")[0] == 0
    write_plan(project, entry("papermill", "both.ipynb", extra))
    code, out = run_plan(project / "reports.toml", engine="papermill")
    assert code == 0, out
    assert notebook.is_file()

    def texts(name: str) -> list:
        nb = json.loads((project / "reports" / name / f"{name}.ipynb").read_text())
        return [
            (
                "".join(cell["source"]).replace(f"reports/{name}", "reports/NAME")
                if "injected-parameters" in cell["metadata"].get("tags", [])
                else None,
                [
                    (
                        o["output_type"],
                        o.get("name"),
                        "".join(o.get("text", ""))
                        or "".join(o.get("data", {}).get("text/plain", "")),
                        sorted(o.get("data", {})),
                    )
                    for o in cell.get("outputs", [])
                ],
            )
            for cell in nb["cells"]
        ]

    fork, papermill = texts("fork"), texts("papermill")
    assert fork == papermill
    assert fork[3][1][0][2] == 'label is x"y\n' and fork[6][1][0][3] == ["image/png", "text/plain"]


def test_nothing_runs_when_the_plan_is_invalid(project, monkeypatch):
    write_notebook(project / "a.ipynb", PARAMETERS, "print(1)")
    plan = write_plan(
        project, entry("a", "a.ipynb") + entry("b", "a.ipynb", "parameters = { n = 99 }")
    )

    def never(*args, **kwargs):
        raise AssertionError("a worker started before the plan was validated")

    monkeypatch.setattr("analysis.runner.orchestrate.run_pool", never)
    monkeypatch.setattr("analysis.runner.orchestrate.warm_up", never)
    with pytest.raises(
        ConfigError, match="report 'b': parameter 'n': 99 is outside the range 1..10"
    ):
        run_plan(plan)
    assert not (project / "reports" / "a").exists()


def test_the_cli_refuses_a_second_run_and_reports_plan_errors_without_traceback(project, capsys):
    write_notebook(project / "a.ipynb", PARAMETERS, "print(1)")
    plan = write_plan(project, entry("a", "a.ipynb", "parameters = { nn = 2 }"))
    assert main(["run", "--plan", str(plan)]) == 2
    assert "did you mean 'n'?" in capsys.readouterr().err
    write_plan(project, entry("a", "a.ipynb"))
    assert main(["run", "--plan", str(plan), "--list"]) == 0
    assert "a       never run  a.ipynb" in capsys.readouterr().out
    with RunLock(project / "reports").acquire(wait=0):
        assert main(["run", "--plan", str(plan)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and f"(pid {os.getpid()})" in err and "--wait" in err


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_ends_the_run_and_leaves_published_reports_consistent(project, stop):
    write_notebook(project / "slow.ipynb", PARAMETERS, "import time\ntime.sleep(600)")
    write_notebook(project / "quick.ipynb", PARAMETERS, "print('quick')")
    plan = write_plan(project, entry("quick", "quick.ipynb"))
    assert run_plan(plan)[0] == 0
    published = files(project / "reports" / "quick")
    write_plan(project, entry("quick", "quick.ipynb") + entry("slow", "slow.ipynb"))
    command = [
        sys.executable,
        "-m",
        "analysis.cli",
        "run",
        "--plan",
        str(plan),
        "--force",
        "--jobs",
        "2",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    for line in process.stdout:  # wait until "quick" is published and "slow" is running
        if "quick" in line and "ok" in line:
            break
    process.send_signal(stop)
    out, err = process.communicate(timeout=HANG)
    assert process.returncode == 130, err
    assert f"interrupted ({stop.name})" in out and "Traceback" not in err
    assert not (project / "reports" / ".staging").exists()
    assert (
        not (project / "reports" / "slow").exists() and files(project / "reports" / "quick") != {}
    )
    assert set(files(project / "reports" / "quick")) == set(published)
    page = (project / "reports" / "status.html").read_text()
    assert "slow" in page and "never run" in page


SLEEPS_A_LITTLE = """import os, pathlib, time
pathlib.Path(pid_file).write_text(str(os.getpid()))
time.sleep(4)
"""


@pytest.mark.slow
def test_a_killed_run_loses_nothing_and_the_next_run_completes(project):
    params = PARAMETERS + 'pid_file: str = ""  # where the report writes its process id\n'
    pid_file = project / "slow.pid"
    write_notebook(project / "slow.ipynb", params, SLEEPS_A_LITTLE)
    write_notebook(project / "quick.ipynb", PARAMETERS, "print('quick')")
    plan = write_plan(project, entry("quick", "quick.ipynb"))
    assert run_plan(plan)[0] == 0
    published = files(project / "reports" / "quick")
    index_before = (project / "reports" / "index.html").read_bytes()
    slow = entry("slow", "slow.ipynb", f'parameters = {{ pid_file = "{pid_file}" }}')
    write_plan(project, entry("quick", "quick.ipynb") + slow)
    command = [sys.executable, "-m", "analysis.cli", "run", "--plan", str(plan), "--jobs", "2"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    while not pid_file.is_file():  # "slow" is running, however long a busy machine takes
        time.sleep(0.05)
    process.kill()  # SIGKILL: no handler runs, staging is left behind
    process.communicate(timeout=HANG)
    assert files(project / "reports" / "quick") == published
    assert (project / "reports" / "index.html").read_bytes() == index_before
    assert not (project / "reports" / "slow").exists()
    wait_until_gone(int(pid_file.read_text()))  # the orphaned worker finishes its sleep
    code, out = run_plan(plan)
    assert code == 0, out
    assert (project / "reports" / "slow" / "manifest.json").is_file()
    assert files(project / "reports" / "quick") == published
    assert not list((project / "reports" / ".staging").glob("slow-*")), (
        "the killed run's staging is cleared"
    )


def test_an_edited_data_table_is_refused_before_any_report_runs(project, capsys):
    write_notebook(project / "a.ipynb", PARAMETERS, "print(1)")
    plan = write_plan(project, entry("a", "a.ipynb", 'inputs = ["incidents"]'))
    (project / "data" / "incidents.csv").write_text("edited by hand")
    assert main(["run", "--plan", str(plan)]) == 2
    err = capsys.readouterr().err
    assert (
        "incidents.csv" in err
        and "differs from the one the data build recorded" in err
        and "analysis data build" in err
    )
    assert not (project / "reports" / "a").exists()


def test_a_worker_that_dies_is_a_failure_not_a_crash(tmp_path):
    results = {}
    tasks = [
        pool.Task("dies", lambda: os._exit(3), 10, tmp_path / "dies.log"),
        pool.Task("raises", lambda: 1 / 0, 10, tmp_path / "raises.log"),
        pool.Task("works", lambda: {"error": None}, 10, tmp_path / "works.log"),
    ]
    pool.run_pool(tasks, 2, lambda task, result, seconds: results.setdefault(task.name, result))
    assert results["works"] == {"error": None}
    assert results["dies"]["error"]["evalue"] == "the worker exited with status 3 and no result"
    assert results["raises"]["error"]["ename"] == "ZeroDivisionError"
    assert "ZeroDivisionError" in (tmp_path / "raises.log").read_text()


def test_first_error_numbers_cells_from_one():
    import nbformat

    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("x"), nbformat.v4.new_code_cell("1/0")]
    )
    nb.cells[1].outputs = [
        nbformat.v4.new_output(
            "error", ename="ZeroDivisionError", evalue="division by zero", traceback=[]
        )
    ]
    assert execute.first_error(nb) == {
        "cell": 2,
        "ename": "ZeroDivisionError",
        "evalue": "division by zero",
    }
