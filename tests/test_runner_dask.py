"""`analysis run --executor dask`: reports as tasks on a LocalCluster of two worker processes.

The client keeps staging, publishing, the index and failure records; these tests check that the
reports are the fork pool's bytes, that a worker killed mid-report costs a retry and nothing else,
and that a report which kills every worker it runs on fails alone.
"""

from __future__ import annotations

import io
import json
import os
import signal
import threading
import time

import pytest
from runner_fixtures import (
    PARAMETERS,
    REPORT_LIMIT,
    WARM,
    WRITES_OUTPUTS,
    alive,
    entry,
    files,
    run_plan,
    wait_until_gone,
    write_notebook,
    write_plan,
)

from analysis import executors
from analysis.cli import main
from analysis.errors import ConfigError
from analysis.runner import RunOptions, cluster
from analysis.runner.verify import verify

pytestmark = [pytest.mark.dask, pytest.mark.slow]

ALLOWED_FAILURES = 1  # a report may lose one worker; the second death fails it


@pytest.fixture(scope="module")
def local_client():
    with executors.dask_client(workers=2, allowed_failures=ALLOWED_FAILURES) as client:
        yield client


@pytest.fixture
def scheduler(local_client):
    """The cluster's address once both workers are up. A test before may have killed some, and
    their nannies start new ones: wait as long as that takes (a busy machine takes minutes)."""
    local_client.wait_for_workers(2, timeout=None)
    return local_client.scheduler.address


def on_dask(plan, scheduler, **options):
    return run_plan(plan, executor="dask", scheduler=scheduler, jobs=None, **options)


def published(project, name):
    return {k: v for k, v in files(project / "reports" / name).items() if k != "timings.json"}


def test_dask_reports_are_the_fork_reports_byte_for_byte(project, scheduler):
    write_notebook(project / "nb" / "squares.ipynb", PARAMETERS, WRITES_OUTPUTS, "n * 2")
    write_notebook(project / "plain.ipynb", PARAMETERS, "print(label)")
    plan = write_plan(
        project,
        entry("squares-{n}", "nb/squares.ipynb", 'grid = { n = [2, 5] }\ninputs = ["incidents"]')
        + entry("plain", "plain.ipynb"),
    )
    code, out = run_plan(plan)
    assert code == 0, out
    by_fork = {name: published(project, name) for name in ("squares-2", "squares-5", "plain")}
    code, out = on_dask(plan, scheduler, force=True)
    assert code == 0, out
    assert f"running 3 report(s) on the cluster at {scheduler}" in out
    for name, expected in by_fork.items():
        assert published(project, name) == expected, name
    timings = json.loads((project / "reports" / "plain" / "timings.json").read_text())
    assert timings["executor"] == "dask" and timings["seconds"]["execute"] > 0


def test_verify_rebuilds_on_a_local_cluster_and_finds_the_fork_bytes(project):
    write_notebook(project / "nb.ipynb", PARAMETERS, WRITES_OUTPUTS)
    plan = write_plan(project, entry("one-{n}", "nb.ipynb", "grid = { n = [3, 4] }"))
    assert run_plan(plan)[0] == 0
    out = io.StringIO()
    options = RunOptions(plan=plan, executor="dask", jobs=2, warm_modules=WARM)
    assert verify(options, out) == 0, out.getvalue()
    assert "one-3: identical" in out.getvalue() and "one-4: identical" in out.getvalue()


SLEEPS_ONCE = """import os, pathlib, time
marker = pathlib.Path(marker_file)
if not marker.exists():  # first attempt: say which worker runs it, then wait to be killed
    marker.write_text(str(os.getppid()))
    time.sleep(600)  # far longer than any run waits: only the kill ends it
print("done")
"""
KILLS_ITS_WORKER = """import os, signal
if kill:
    os.kill(os.getppid(), signal.SIGKILL)
print("survived")
"""


def kill_when_marked(marker, killed: list, over: threading.Event) -> threading.Thread:
    """Kill the worker named in ``marker`` as soon as it is written, however long that takes,
    until the run is ``over``."""

    def watch():
        while not over.is_set():
            if marker.is_file() and marker.read_text():
                pid = int(marker.read_text())
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_worker_killed_mid_report_costs_a_retry_on_another_worker(
    project,
    scheduler,
    monkeypatch,
):
    monkeypatch.setattr(cluster, "REFILL_SECONDS", 0.2)  # the client also wakes up while waiting
    params = PARAMETERS + 'marker_file: str = ""  # where the first attempt writes its worker pid\n'
    write_notebook(project / "sleeps.ipynb", params, SLEEPS_ONCE)
    write_notebook(project / "quick.ipynb", PARAMETERS, "print('quick')")
    marker = project / "worker.pid"
    plan = write_plan(
        project,
        entry("sleeps", "sleeps.ipynb", f'parameters = {{ marker_file = "{marker}" }}')
        + entry("quick", "quick.ipynb"),
    )
    killed: list[int] = []
    over = threading.Event()
    watcher = kill_when_marked(marker, killed, over)
    code, out = on_dask(plan, scheduler)
    over.set()
    watcher.join()
    assert code == 0, out
    assert killed and not alive(killed[0]), "a worker was killed while building the report"
    notebook = json.loads((project / "reports" / "sleeps" / "sleeps.ipynb").read_text())
    assert "".join(notebook["cells"][3]["outputs"][0]["text"]) == "done\n"
    assert (project / "reports" / "quick" / "quick.html").is_file()
    assert not (project / "reports" / "_failed").exists()


def test_a_report_that_kills_every_worker_fails_alone_and_loses_nothing(project, scheduler):
    params = PARAMETERS + "kill: bool = False  # kill the worker that runs this report\n"
    write_notebook(project / "killer.ipynb", params, KILLS_ITS_WORKER)
    write_notebook(project / "good.ipynb", PARAMETERS, "print(label)")
    write_notebook(project / "later.ipynb", PARAMETERS, "print('later')")

    def plan_with(kill: str, later: str = ""):
        return write_plan(
            project,
            entry("killer", "killer.ipynb", f"parameters = {{ kill = {kill} }}")
            + entry("good", "good.ipynb")
            + later,
        )

    assert on_dask(plan_with("false"), scheduler)[0] == 0
    before = {name: published(project, name) for name in ("killer", "good")}
    code, out = on_dask(plan_with("true", entry("later", "later.ipynb")), scheduler)
    assert code == 1, out
    assert "fresh   good" in out and "later" in out and "killer" in out
    failure = json.loads((project / "reports" / "_failed" / "killer" / "failure.json").read_text())
    assert failure["ename"] == "KilledWorker"
    assert f"on {ALLOWED_FAILURES + 1} different workers" in failure["evalue"]
    assert {name: published(project, name) for name in before} == before, "nothing published lost"
    assert (project / "reports" / "later" / "later.html").is_file(), "the others still publish"
    assert not (project / "reports" / ".staging").exists()


def test_a_worker_on_other_code_refuses_the_report(project, scheduler, monkeypatch):
    write_notebook(project / "one.ipynb", PARAMETERS, "print(1)")
    plan = write_plan(project, entry("one", "one.ipynb"))
    _, python, packages = cluster.fingerprint()
    monkeypatch.setattr(cluster, "fingerprint", lambda: ("0" * 64, python, packages))
    assert on_dask(plan, scheduler, retries=0)[0] == 1
    failure = json.loads((project / "reports" / "_failed" / "one" / "failure.json").read_text())
    assert failure["ename"] == "ConfigError"
    assert "code in src/analysis differ(s) from the client's" in failure["evalue"]


def test_a_report_past_its_timeout_on_a_worker_fails_alone(project, scheduler):
    write_notebook(project / "slow.ipynb", PARAMETERS, "import time\ntime.sleep(600)")
    write_notebook(project / "quick.ipynb", PARAMETERS, "print('quick')")
    plan = write_plan(project, entry("slow", "slow.ipynb") + entry("quick", "quick.ipynb"))
    started = time.monotonic()
    code, _ = on_dask(plan, scheduler, timeout=REPORT_LIMIT, kill_grace=REPORT_LIMIT)
    assert time.monotonic() - started < 600, "the run waited for the report to end"
    slow = json.loads((project / "reports" / "_failed" / "slow" / "failure.json").read_text())
    assert code == 1 and (slow["cell"], slow["ename"]) == (4, "ReportTimeout")
    assert (project / "reports" / "quick" / "quick.html").is_file()


def test_the_cli_runs_on_a_scheduler_and_refuses_wrong_combinations(project, scheduler, capsys):
    write_notebook(project / "one.ipynb", PARAMETERS, "print(1)")
    plan = str(write_plan(project, entry("one", "one.ipynb")))
    assert main(["run", "--plan", plan, "--executor", "dask", "--scheduler", scheduler]) == 0
    assert (project / "reports" / "one" / "one.html").is_file()
    for argv, message in (
        (["--scheduler", scheduler], "--scheduler needs --executor dask (executor is 'fork')"),
        (["--executor", "dask", "--scheduler", scheduler, "--jobs", "2"], "drop --jobs"),
        (["--executor", "dask", "--retries", "-1"], "--retries must be zero or more"),
    ):
        assert main(["run", "--plan", plan, "--force", *argv]) == 2
        assert message in capsys.readouterr().err
    with pytest.raises(ConfigError, match="--executor must be one of fork, dask"):
        run_plan(write_plan(project, entry("one", "one.ipynb")), executor="serial")


SLEEPS = """import os, pathlib, time
pathlib.Path(pid_file).write_text(str(os.getpid()))
time.sleep(3600)  # only being stopped ends it within the suite's patience
"""


def test_an_interrupted_run_on_a_local_cluster_stops_its_reports_and_publishes_nothing(project):
    params = PARAMETERS + 'pid_file: str = ""  # where the report writes its process id\n'
    write_notebook(project / "slow.ipynb", params, SLEEPS)
    pid_file = project / "slow.pid"
    plan = write_plan(
        project, entry("slow", "slow.ipynb", f'parameters = {{ pid_file = "{pid_file}" }}')
    )

    def interrupt_once_running():
        while not pid_file.is_file():  # however long the cluster takes to start the report
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C would, to this (the client) process

    threading.Thread(target=interrupt_once_running, daemon=True).start()
    code, out = run_plan(plan, executor="dask", jobs=1)
    assert code == 130 and "interrupted (SIGINT)" in out, out
    assert not (project / "reports" / ".staging").exists()
    assert not (project / "reports" / "slow").exists()
    wait_until_gone(int(pid_file.read_text()))  # the report's process dies with its worker
