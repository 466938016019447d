"""The run plan on the fork pool and on a two-worker dask LocalCluster, timed in the same run.

    python benchmarks/bench_executors.py [--only GLOB ...] [--jobs 2] [--tasks 2000] [--keep DIR]

1. ``analysis run --force --jobs J`` (fork pool) into a scratch reports folder, then
   ``analysis run --force --jobs J --executor dask`` (a LocalCluster of J single-threaded worker
   processes, started and stopped by the run) into the same folder once the first tree is moved
   aside (so both state the same output folder): each a separate process, as a user would run
   it, so the dask time includes starting the cluster and warming up its workers.
2. Byte comparison of the two trees, file by file (``timings.json`` aside, which records wall
   time; and index.html, which links the run's own status).
3. The scheduler's throughput: ``--tasks`` no-op tasks through a fresh J-worker LocalCluster
   (tasks per second, the ceiling of what the scheduler adds per report), next to the reports
   per second of the plan.

Prints both wall times and their ratio (dask / fork). Default: the whole plan (``--only``
selects reports by name or glob, as ``analysis run --only`` does).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analysis import executors, provenance
from analysis.runner.verify import IGNORED

ROOT = Path(__file__).resolve().parents[1]
ANALYSIS = Path(sys.executable).with_name("analysis")


def timed_run(reports: Path, jobs: int, only: list[str], extra: list[str]) -> float:
    command = [str(ANALYSIS), "run", "--plan", str(ROOT / "reports.toml")]
    command += ["--reports-dir", str(reports), "--force", "--jobs", str(jobs), *extra]
    command += ["--only", *only] if only else []
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return seconds


def differing(fork: Path, dask: Path) -> list[str]:
    """Report files that differ between the two trees (or are in one only)."""

    def tree(root: Path) -> dict[str, bytes]:
        return {
            p.relative_to(root).as_posix(): p.read_bytes()
            for folder in root.iterdir()
            if folder.is_dir() and folder.name[0].isalnum()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in IGNORED
        }

    old, new = tree(fork), tree(dask)
    return sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))


def noop(item: int) -> int:
    return item


def scheduler_throughput(jobs: int, tasks: int) -> float:
    with executors.open("dask", jobs=jobs) as executor:
        executor.map(noop, range(jobs * 10))  # connections and imports warmed up
        started = time.perf_counter()
        executor.map(noop, range(tasks))
        return tasks / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=[], help="reports (names or globs)")
    parser.add_argument("--jobs", type=int, default=2, help="fork workers = dask workers")
    parser.add_argument("--tasks", type=int, default=2000, help="no-op tasks for throughput")
    parser.add_argument("--keep", type=Path, help="keep both report trees here")
    args = parser.parse_args()
    scratch = Path(args.keep or tempfile.mkdtemp(prefix="bench-executors-"))
    reports_dir, fork, dask = scratch / "reports", scratch / "fork", scratch / "dask"
    for folder in (reports_dir, fork, dask):
        shutil.rmtree(folder, ignore_errors=True)
    # Reports state the commit and whether the tree was dirty: an edit between the two runs
    # would make them differ for that reason alone.
    before = provenance.git_state(ROOT), provenance.tree_sha256(ROOT / "src" / "analysis")
    fork_seconds = timed_run(reports_dir, args.jobs, args.only, [])
    reports_dir.rename(fork)
    dask_seconds = timed_run(reports_dir, args.jobs, args.only, ["--executor", "dask"])
    reports_dir.rename(dask)
    changed = before != (
        provenance.git_state(ROOT),
        provenance.tree_sha256(ROOT / "src" / "analysis"),
    )
    reports = sorted(p.name for p in fork.iterdir() if p.is_dir() and p.name[0].isalnum())
    different = differing(fork, dask)
    throughput = scheduler_throughput(args.jobs, args.tasks)
    print(f"{len(reports)} reports, {args.jobs} workers each way")
    print(f"fork pool          {fork_seconds:8.1f} s")
    print(f"dask LocalCluster  {dask_seconds:8.1f} s  (cluster start and warm-up included)")
    print(f"ratio dask / fork  {dask_seconds / fork_seconds:8.2f}")
    print(f"reports per second through the scheduler: {len(reports) / dask_seconds:.3f}")
    print(f"scheduler throughput, no-op tasks on {args.jobs} workers: {throughput:,.0f} tasks/s")
    if changed:
        print("the repository changed between the two runs: no byte comparison (run again)")
    else:
        print(
            "byte-identical: every report file"
            if not different
            else f"DIFFERENT: {len(different)} file(s): {', '.join(different[:10])}"
        )
    if not args.keep:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
