"""`analysis run`: build every stale report of the plan, in parallel, and publish the good ones.

The order of a run: validate the whole plan (nothing starts if any entry is wrong), take the lock,
clear what a killed run left, decide what is stale from content keys, run the stale reports on the
executor (``fork``: workers forked from this process, warmed up once; ``dask``: tasks on a dask
cluster, see cluster.py), publish each as it succeeds, keep each failure for inspection, and
rewrite ``reports/index.html``. A failure never stops the other reports; it makes the exit status 1.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TextIO

from .. import executors, paths, provenance
from ..errors import ConfigError
from . import cache, cluster, index, results
from .execute import ENGINES, WARM_MODULES, Job, build, warm_up
from .lock import RunLock
from .plan import Plan, Report, load_plan
from .pool import Task, run_pool
from .publish import clean_leftovers, keep_failed, new_staging, output_files, publish, staging_root
from .signals import EXIT_INTERRUPTED, Interrupted, deferred, interruptible

EXECUTORS = ("fork", "dask")
RETRIES = 2  # dask: a report is tried again when its worker dies, up to this many times
TIMINGS = "timings.json"
WORKER_LOG = "worker.log"
KILL_GRACE = 10.0  # seconds a worker gets past its timeout to record it before being killed


@dataclass(frozen=True)
class RunOptions:
    plan: Path = Path("reports.toml")
    reports_dir: Path | None = None  # default: reports/ beside the plan
    only: tuple[str, ...] = ()
    list_plan: bool = False  # --list
    dry_run: bool = False
    force: bool = False
    jobs: int | None = None  # default: the plan's, else os.cpu_count()
    timeout: float | None = None  # default: the plan's
    with_code: bool = False
    engine: str = "fork"
    executor: str = "fork"
    scheduler: str | None = None  # dask: address of a running scheduler; None: a local cluster
    retries: int = RETRIES
    wait: float = 0.0
    warm_modules: tuple[str, ...] = WARM_MODULES
    kill_grace: float = KILL_GRACE
    published_as: Path | None = None  # name the reports folder this way inside reports (verify)


@dataclass
class _State:
    """The plan as it stands against the reports folder: key parts and status of every report."""

    plan: Plan
    reports_dir: Path
    parts: dict[str, dict]
    statuses: dict[str, cache.Status] = field(default_factory=dict)

    def refresh(self) -> None:
        self.statuses = {
            r.name: cache.status(r.name, self.parts[r.name], self.reports_dir)
            for r in self.plan.reports
        }

    def write_index(self) -> Path:
        self.refresh()
        rows = [(r, self.parts[r.name], self.statuses[r.name]) for r in self.plan.reports]
        label = _label(self.plan.path, self.plan.root)
        return index.write_site(self.reports_dir, rows, label, root=self.plan.root)


def run(options: RunOptions, out: TextIO | None = None) -> int:
    """Exit status: 0 all built or fresh, 1 some report failed, 130 interrupted (errors raise)."""
    out = out or sys.stdout
    _check_options(options)
    plan_path = Path(options.plan).absolute()
    reports_dir = (
        Path(options.reports_dir).absolute()
        if options.reports_dir
        else plan_path.parent / "reports"
    )
    if options.list_plan or options.dry_run:
        state = _survey(options, plan_path, reports_dir)
        (_print_list if options.list_plan else _print_dry_run)(state, options, out)
        return 0
    lock = RunLock(reports_dir).acquire(options.wait)
    try:
        with interruptible():
            state = None
            try:
                for name in clean_leftovers(reports_dir):
                    print(
                        f"restored {reports_dir / name}, which a killed run had moved aside",
                        file=out,
                    )
                state = _survey(options, plan_path, reports_dir, out)
                return _build(state, options, lock, out)
            except Interrupted as stop:
                with deferred():
                    shutil.rmtree(staging_root(reports_dir), ignore_errors=True)
                    if state is not None:
                        state.write_index()
                print(
                    f"\ninterrupted ({stop}): workers stopped, staging folders removed, "
                    "published reports and index.html left consistent",
                    file=out,
                )
                return EXIT_INTERRUPTED
    finally:
        lock.release()


def _check_options(options: RunOptions) -> None:
    if options.engine not in ENGINES:
        raise ConfigError(f"--engine must be one of {', '.join(ENGINES)}, found '{options.engine}'")
    if options.executor not in EXECUTORS:
        raise ConfigError(
            f"--executor must be one of {', '.join(EXECUTORS)}, found '{options.executor}'"
        )
    executors.check(options.executor, options.jobs, options.scheduler)
    if options.retries < 0:
        raise ConfigError(f"--retries must be zero or more, found {options.retries}")
    if options.timeout is not None and not options.timeout > 0:
        raise ConfigError(
            f"--timeout must be a positive number of seconds, found {options.timeout}"
        )
    if options.wait < 0:
        raise ConfigError(f"--wait must be zero or more seconds, found {options.wait}")


def _survey(
    options: RunOptions, plan_path: Path, reports_dir: Path, out: TextIO | None = None
) -> _State:
    """The plan against the reports folder. With ``out`` (a run, not --list), the results stage
    runs first if a selected report shows stored results that are not known yet."""
    memo = cache.Memo(reports_dir / ".memo.json")
    # The environment is hashed before the plan is read: the registry ids it validates against
    # are memoised under the hash of src/analysis.
    env = cache.environment(plan_path.parent, options.with_code)
    plan = load_plan(plan_path, cache.registry_ids(memo, env))
    showing = [r for r in plan.select(options.only) if r.results]
    needs_tables = showing or any(r.inputs for r in plan.reports)
    tables = cache.table_hashes(memo, env) if needs_tables else {}
    digests = results.known(memo, env, tables, showing)
    if digests is None and out is not None:
        digests = results.compute(
            memo, env, tables, showing, executor=options.executor, jobs=options.jobs,
            scheduler=options.scheduler, out=out,
        )  # fmt: skip
    parts = cache.key_parts(plan.reports, env, tables, str(plan.path), digests)
    state = _State(plan, reports_dir, parts)
    state.refresh()
    return state


def _to_run(state: _State, options: RunOptions) -> tuple[list[Report], list[Report]]:
    selected = state.plan.select(options.only)
    todo = [r for r in selected if options.force or state.statuses[r.name].state != "fresh"]
    return todo, [r for r in selected if r not in todo]


def _build(state: _State, options: RunOptions, lock: RunLock, out: TextIO) -> int:
    started = time.monotonic()
    todo, fresh = _to_run(state, options)
    for report in fresh:
        key = state.statuses[report.name].published["content_key"]
        print(f"fresh   {report.name}  (unchanged: same content key {key[:12]}, skipped)", file=out)
    failures: list[tuple[str, dict]] = []
    if todo:
        jobs = options.jobs or state.plan.jobs or os.cpu_count() or 1
        timeout = options.timeout or state.plan.timeout
        origin = {
            "git": provenance.git_state(state.plan.root),
            "packages": provenance.package_versions(),
        }
        builder = _Builder(state, options, origin, len(todo), out)
        tasks = [builder.task(report, timeout) for report in _longest_first(todo, state)]

        def announce(workers: str) -> None:
            print(
                f"running {len(todo)} report(s) on {workers}, engine {options.engine}",
                file=out,
                flush=True,
            )

        with provenance.recorded_git_state(origin["git"]):  # reports say what manifests say
            _dispatch(tasks, builder, options, jobs, len(todo), lock, announce)
        failures = builder.failures
    index_path = state.write_index()
    if staging_root(state.reports_dir).is_dir() and not any(
        staging_root(state.reports_dir).iterdir()
    ):
        staging_root(state.reports_dir).rmdir()
    ran = len(todo)
    print(
        f"{ran} run ({ran - len(failures)} ok, {len(failures)} failed), {len(fresh)} fresh and skipped, "
        f"in {time.monotonic() - started:.1f} s",
        file=out,
    )
    if failures:
        _print_failures(failures, state, out)
    print(f"landing page: {_label(index_path, state.plan.root)}", file=out)
    return 1 if failures else 0


def _dispatch(
    tasks: list[Task],
    builder: _Builder,
    options: RunOptions,
    jobs: int,
    count: int,
    lock: RunLock,
    announce,
) -> None:
    """Run the report tasks on the chosen executor; ``builder.done`` publishes each."""
    if options.executor == "dask":
        cluster.run_reports(
            tasks,
            {name: job.staging for name, job in builder.jobs.items()},
            builder.done,
            _worker_setup(options),
            scheduler=options.scheduler,
            workers=min(jobs, count),
            retries=options.retries,
            announce=announce,
        )
    else:
        announce(f"{min(jobs, count)} forked worker(s)")
        warm_up(options.engine, options.warm_modules)
        run_pool(tasks, jobs, builder.done, after_fork=lock.forget)


class _Builder:
    """Makes a worker task per report, and publishes or keeps its result in the parent."""

    def __init__(self, state: _State, options: RunOptions, origin: dict, total: int, out: TextIO):
        self.state, self.options, self.origin, self.total, self.out = (
            state,
            options,
            origin,
            total,
            out,
        )
        self.jobs: dict[str, Job] = {}
        self.failures: list[tuple[str, dict]] = []
        self.finished = 0

    def task(self, report: Report, timeout: float) -> Task:
        staging = new_staging(self.state.reports_dir, report.name)
        reports_dir, root = (
            self.options.published_as or self.state.reports_dir,
            self.state.plan.root,
        )
        job = Job(
            report,
            staging,
            _label(reports_dir / report.name, root),
            _label(reports_dir / cache.FAILED / report.name, root),
            self.options.engine,
            timeout,
            self.options.with_code,
        )
        self.jobs[report.name] = job
        log = staging.with_name(staging.name + ".log")
        return Task(report.name, partial(build, job), timeout + self.options.kill_grace, log)

    def done(self, task: Task, result: dict, seconds: float) -> None:
        job = self.jobs[task.name]
        report, parts = job.report, self.state.parts[task.name]
        key = cache.content_key(parts)
        timings = {
            "engine": job.engine,
            "executor": self.options.executor,
            "seconds": {**result.get("seconds", {}), "total": seconds},
        }
        error = result["error"]
        if error is None:
            manifest = {
                "report": report.name,
                "notebook": report.notebook_label,
                "content_key": key,
                **parts,
                "engine": job.engine,
                **self.origin,
                "outputs": output_files(job.staging, exclude=(cache.MANIFEST, TIMINGS)),
            }
            cache.write_json(job.staging / cache.MANIFEST, manifest)
            cache.write_json(job.staging / TIMINGS, timings)
            publish(job.staging, self.state.reports_dir, report.name)
            line = "ok"
        else:
            failure = {
                "report": report.name,
                "notebook": report.notebook_label,
                "content_key": key,
                "engine": job.engine,
                **error,
            }
            cache.write_json(job.staging / TIMINGS, timings)
            if task.log.is_file() and task.log.stat().st_size:
                shutil.move(task.log, job.staging / WORKER_LOG)
            keep_failed(job.staging, self.state.reports_dir, report.name, failure)
            self.failures.append((report.name, error))
            where = f"cell {error['cell']}: " if error.get("cell") else ""
            line = f"FAILED  {where}{error['ename']}: {_one_line(error['evalue'])}"
        task.log.unlink(missing_ok=True)
        self.finished += 1
        width = len(str(self.total))
        print(
            f"[{self.finished:>{width}}/{self.total}] {report.name}  {seconds:.1f} s  {line}",
            file=self.out,
            flush=True,
        )


def _worker_setup(options: RunOptions) -> cluster.WorkerSetup:
    """What a dask worker needs to build a report exactly as a forked worker here would."""
    from ..data.datasets import data_dir

    return cluster.WorkerSetup(
        engine=options.engine,
        warm_modules=options.warm_modules,
        environ=(
            ("ANALYSIS_DATA_DIR", str(data_dir().resolve())),
            (paths.RESULTS_ENV, str(paths.results_dir().resolve())),
            (provenance.GIT_STATE_ENV, os.environ.get(provenance.GIT_STATE_ENV, "")),
        ),
        fingerprint=cluster.fingerprint(),
    )


def _longest_first(todo: list[Report], state: _State) -> list[Report]:
    """Start the slowest reports first (by their last recorded time; unknown counts as slowest),
    so that a long report does not start last and leave the other workers idle."""

    def last_seconds(report: Report) -> float:
        for folder in (
            state.reports_dir / report.name,
            state.reports_dir / cache.FAILED / report.name,
        ):
            timings = cache.read_json(folder / TIMINGS)
            if timings is not None:
                return timings["seconds"]["total"]
        return math.inf

    return sorted(todo, key=last_seconds, reverse=True)


def _print_failures(failures: list[tuple[str, dict]], state: _State, out: TextIO) -> None:
    rows = [
        (name, str(error["cell"] or "-"), f"{error['ename']}: {_one_line(error['evalue'])}")
        for name, error in failures
    ]
    widths = [max(len(row[i]) for row in [("report", "cell", "error"), *rows]) for i in range(2)]
    print(
        f"\n{len(failures)} report(s) failed; executed notebooks kept in "
        f"{_label(state.reports_dir / cache.FAILED, state.plan.root)}/<report>/",
        file=out,
    )
    for name, cell, error in [("report", "cell", "error"), *rows]:
        print(f"  {name:<{widths[0]}}  {cell:>{widths[1]}}  {error}", file=out)


def _print_list(state: _State, options: RunOptions, out: TextIO) -> None:
    rows = [("report", "status", "notebook", "parameters", "why")]
    for report in state.plan.select(options.only):
        status = state.statuses[report.name]
        parameters = ", ".join(f"{k}={v!r}" for k, v in report.parameters.items()) or "-"
        why = "; ".join(status.reasons) if status.state in ("stale", "failed") else "-"
        rows.append((report.name, status.state, report.notebook_label, parameters, why))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths)) + "  " + row[4], file=out)


def _print_dry_run(state: _State, options: RunOptions, out: TextIO) -> None:
    todo, fresh = _to_run(state, options)
    for report in state.plan.select(options.only):
        status = state.statuses[report.name]
        if report in todo:
            why = "; ".join(status.reasons) or "--force"
            print(f"would run   {report.name}  ({why})", file=out)
        else:
            print(f"fresh       {report.name}  (skipped)", file=out)
    print(f"{len(todo)} would run, {len(fresh)} fresh; nothing was executed (--dry-run)", file=out)


def _label(path: Path, root: Path) -> str:
    """A path as a reader of this repository would write it: relative to the plan's folder if inside."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _one_line(text: str) -> str:
    first = (text or "").strip().splitlines()
    return first[0][:200] if first else ""
