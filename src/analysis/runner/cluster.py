"""Reports as tasks on a dask cluster: the alternative to ``pool`` behind ``--executor dask``.

The client (the ``analysis run`` process) keeps everything that decides what is published, as with
the fork pool: staging folders, the lock, publishing, the index and failure records. A worker
builds one report per task the way the fork pool does: it does the heavy imports once (``warm_up``)
and forks a child per report (``pool.run_pool`` with one task), so each report runs in a fresh
process with the same code, under the same time limit, and gives the same bytes.

What the client sends with each report: the task (notebook path, parameters, staging folder and
labels, engine, time limit), the data folder its content key was computed from, and a fingerprint
of its code, Python and package versions, which the worker checks against its own. Notebooks,
data and staging folders are read and written by path: they must be on a filesystem the workers
share.

Faults. A worker that dies mid-report is replaced by its nanny, and the scheduler gives the report
to a worker again; when ``retries`` workers have died running it (the scheduler's
``allowed-failures``: set from ``--retries`` for a local cluster, the scheduler's own setting
otherwise) the next death fails that report alone, with ``KilledWorker``. An exception raised on
the worker outside the notebook (e.g. a worker that cannot see the shared folders) is retried
``retries`` times (``submit(retries=...)``). A notebook that fails is a result, not retried. At
most as many reports are in flight as the cluster has threads, so a dying worker takes only the
report it was running with it.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from .. import executors, provenance
from ..errors import ConfigError
from .execute import warm_up
from .pool import Task, failure, run_pool

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the analysis package this process runs
PR_SET_PDEATHSIG = 1  # linux/prctl.h
REFILL_SECONDS = 5.0  # how often the client looks for workers that joined while reports run


@dataclass(frozen=True)
class WorkerSetup:
    """What every report's worker needs besides the task itself."""

    engine: str
    warm_modules: tuple[str, ...]
    environ: tuple[tuple[str, str], ...]  # set in the report's process (the data folder)
    fingerprint: tuple  # the client's (code, python, packages): the worker's must be equal


def fingerprint() -> tuple:
    """The code, Python and package versions that decide a report's bytes."""
    return (
        provenance.tree_sha256(PACKAGE_DIR),
        provenance.python_version(),
        tuple(provenance.package_versions().items()),
    )


def run_reports(
    tasks: list[Task],
    stagings: dict[str, Path],
    on_done: Callable[[Task, dict, float], None],
    setup: WorkerSetup,
    *,
    scheduler: str | None,
    workers: int,
    retries: int,
    announce: Callable[[str], None],
) -> None:
    """Build every task on the cluster (a local one of ``workers`` processes without a
    ``scheduler``); ``on_done`` runs here as each report finishes, as with ``run_pool``."""
    from distributed import wait

    local = scheduler is None
    with executors.dask_client(
        scheduler,
        workers=workers if local else None,
        allowed_failures=retries if local else None,
    ) as client:
        announce(
            f"a local cluster of {workers} worker process(es)"
            if local
            else f"the cluster at {scheduler} ({executors.total_threads(client)} thread(s) now)"
        )
        pending = list(reversed(tasks))  # popped from the end: in the order given
        in_flight: dict[object, tuple[Task, float]] = {}  # future -> (task, submitted at)

        def fill() -> None:
            while pending and len(in_flight) < max(1, executors.total_threads(client)):
                task = pending.pop()
                future = client.submit(
                    build_on_worker,
                    task,
                    stagings[task.name],
                    setup,
                    key=f"report-{task.name}-{uuid.uuid4().hex[:8]}",
                    pure=False,
                    retries=retries,
                )
                in_flight[future] = (task, time.monotonic())

        try:
            while pending or in_flight:
                fill()  # also takes up workers that joined meanwhile (e.g. SLURM jobs starting)
                try:
                    done, _ = wait(
                        list(in_flight), timeout=REFILL_SECONDS, return_when="FIRST_COMPLETED"
                    )
                except TimeoutError:
                    continue
                for future in done:
                    task, submitted = in_flight.pop(future)
                    try:
                        result, seconds = future.result()
                    except Exception as exc:  # noqa: BLE001 - KilledWorker, or the task's own error
                        result = failure(type(exc).__name__, str(exc))
                        seconds = time.monotonic() - submitted
                    on_done(task, result, seconds)
        finally:
            if in_flight:  # interrupted: nothing of these reports will be published
                client.cancel(list(in_flight))


# --- on the worker ---------------------------------------------------------------------------

_verified: set[tuple] = set()  # per worker process: client fingerprints found equal to its own
_warmed: set[tuple] = set()  # and (engine, modules) warmed up


def build_on_worker(task: Task, staging: Path, setup: WorkerSetup) -> tuple[dict, float]:
    """Runs on a worker: the report in a child forked from this (warmed-up) worker process."""
    if setup.fingerprint not in _verified:
        _check_fingerprint(setup.fingerprint)
        _verified.add(setup.fingerprint)
    if (setup.engine, setup.warm_modules) not in _warmed:
        warm_up(setup.engine, setup.warm_modules)
        _warmed.add((setup.engine, setup.warm_modules))
    if not staging.is_dir():
        raise ConfigError(
            f"worker on {os.uname().nodename}: staging folder {staging} not found; the reports "
            "folder must be on a filesystem that the client and every worker share"
        )
    for leftover in staging.iterdir():  # from an attempt on a worker that died
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()
    outcome: list[tuple[dict, float]] = []
    run_pool(
        [task],
        1,
        lambda _, result, seconds: outcome.append((result, seconds)),
        after_fork=partial(_in_report_process, dict(setup.environ), os.getpid()),
    )
    return outcome[0]


def _check_fingerprint(expected: tuple) -> None:
    found = fingerprint()
    if found != expected:
        names = ("code in src/analysis", "Python", "package versions")
        differing = [name for name, a, b in zip(names, found, expected) if a != b]
        raise ConfigError(
            f"worker on {os.uname().nodename}: {', '.join(differing)} differ(s) from the client's; "
            "install the same commit and requirements.lock on every worker, or its reports "
            "would not be the ones their content keys describe"
        )


def _in_report_process(environ: dict[str, str], worker_pid: int) -> None:
    """In the report's child: die with the worker (Linux), so that a retry elsewhere never
    races an orphan writing into the same staging folder; see the client's data folder."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != worker_pid:  # the worker died before prctl took effect
            os._exit(1)
    os.environ.update(environ)
