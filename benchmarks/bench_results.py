"""How long the study takes to build with the results stage, against the design before it.

    python benchmarks/bench_results.py [--baseline REV] [--entries H1a,H3] [--no-baseline]

Every timed command runs as a separate process, as a user would run it, on scratch folders (a
results store, a reports folder, a registry copy), so nothing in the repository is touched:

(a) ``analysis hypotheses test --all``, cold (empty store) and warm;
(b) ``analysis run`` of the whole plan from nothing (empty store and reports folder);
(c) ``analysis run`` again with nothing changed (the no-op);
(d) ``analysis run`` after one registry entry is edited (its first predictor's lag);
(e) the hypothesis notebook under plain papermill with a warm store (interactive use);
(f) the same (a) and a subset of the plan, cold, on the baseline commit (default: the last
    commit before the results stage), checked out into a scratch worktree and run with this
    interpreter, to print the ratios new/old measured in this same run.

``--entries`` restricts the registry (a copy) and the plan to some entries and the summary:
the smallest settings, for a smoke test. The goals of issue 19 (2 cores) are printed beside.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BASELINE = "03a0690"  # the last commit in which every report computed its own tests
SUBSET = ("10_hypothesis-H3", "10_hypothesis-H5", "90_summary")  # what the baseline rebuilds


def timed(command: list[str], env: dict, cwd: Path = ROOT) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n"
            f"{done.stderr[-3000:]}"
        )
    return seconds


def registry_copy(folder: Path, entries: list[str] | None) -> Path:
    """The registry as a file of its own (all entries, or the named ones)."""
    text = (ROOT / "src" / "analysis" / "study" / "hypotheses.toml").read_text(encoding="utf-8")
    if entries:
        blocks = re.split(r"(?m)^(?=\[[A-Za-z0-9_]+\]\s*$)", text)
        kept = {re.match(r"\[(\w+)\]", b).group(1): b for b in blocks if b.startswith("[")}
        text = "\n".join(kept[e] for e in entries)
    path = folder / "registry.toml"
    path.write_text(text, encoding="utf-8")
    return path


def edit_one_entry(registry: Path) -> str:
    """Give the first entry with a lagged predictor a lag one longer; return its id."""
    text = registry.read_text(encoding="utf-8")
    match = re.search(r'(?ms)^\[(\w+)\]$(?:(?!^\[).)*?transform = "diff"', text)
    entry = match.group(1) if match else re.search(r"(?m)^\[(\w+)\]$", text).group(1)
    start = text.index(f"[{entry}]")
    block_end = text.find("\n[", start + 1)
    block = text[start : block_end if block_end > 0 else len(text)]
    edited = re.sub(r'name = "(\w+)" }', r'name = "\1", lag = 1 }', block, count=1)
    if edited == block:
        edited = block.replace("trend = true", "trend = false", 1)
    registry.write_text(text.replace(block, edited, 1), encoding="utf-8")
    return entry


def only_patterns(entries: list[str] | None) -> list[str]:
    if not entries:
        return []
    return ["--only", *[f"*-{e}" for e in entries], "90_summary", "00_data_audit"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help=f"commit (default {BASELINE})")
    parser.add_argument("--no-baseline", action="store_true", help="skip (f)")
    parser.add_argument("--entries", default="", help="comma-separated registry ids (smoke)")
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temporary)")
    args = parser.parse_args()
    entries = [e for e in args.entries.split(",") if e] or None
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-results-"))
    work.mkdir(parents=True, exist_ok=True)
    store, reports = work / "store", work / "reports"
    registry = registry_copy(work, entries)
    env = {
        **os.environ,
        "ANALYSIS_ROOT": str(ROOT),
        "ANALYSIS_RESULTS_DIR": str(store),
        "ANALYSIS_REGISTRY": str(registry),
    }
    analysis = str(BIN / "analysis")
    run = [analysis, "run", "--reports-dir", str(reports), *only_patterns(entries)]
    print(f"{os.cpu_count()} CPUs, work folder {work}", flush=True)
    times: dict[str, float] = {}

    def measure(name: str, command: list[str], **kwargs) -> float:
        times[name] = timed(command, **{"env": env, **kwargs})
        print(f"{name:<52} {times[name]:8.2f} s", flush=True)
        return times[name]

    test_all = [analysis, "hypotheses", "test", "--all", "--format", "csv"]
    measure("(a) hypotheses test --all, cold", test_all)
    measure("(a) hypotheses test --all, warm", test_all)
    shutil.rmtree(store)
    measure("(b) run, cold (empty store and reports)", run)
    measure("(c) run, nothing changed", run)
    edited = edit_one_entry(registry)
    measure(f"(d) run after editing {edited}", run)
    notebook = entries[0] if entries else "H3"
    measure(
        f"(e) 10_hypothesis {notebook} under papermill, warm store",
        [str(BIN / "papermill"), "--no-progress-bar", "notebooks/10_hypothesis.ipynb",
         str(work / "interactive.ipynb"), "-p", "hypothesis", notebook],
    )  # fmt: skip
    goals = {"(a) hypotheses test --all, cold": 120, "(a) hypotheses test --all, warm": 2,
             "(b) run, cold (empty store and reports)": 300, "(c) run, nothing changed": 0.5,
             f"(d) run after editing {edited}": 90}  # fmt: skip
    print("\ngoals on 2 cores (issue 19):")
    for name, goal in goals.items():
        print(f"  {name:<50} {times[name]:8.2f} s  goal <= {goal} s")
    if not args.no_baseline:
        baseline(args.baseline, work, env, times, entries)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def baseline(rev: str, work: Path, env: dict, times: dict, entries: list[str] | None) -> None:
    """(f): the same commands on the baseline commit, and the ratios new / old."""
    old = work / "baseline"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), rev],
                   check=True, capture_output=True)  # fmt: skip
    try:
        old_env = {**env, "PYTHONPATH": str(old / "src"), "ANALYSIS_ROOT": str(old)}
        for name in ("ANALYSIS_RESULTS_DIR", "ANALYSIS_REGISTRY"):
            old_env.pop(name)
        analysis = str(BIN / "analysis")
        subset = [*SUBSET] if not entries else [f"10_hypothesis-{entries[0]}", "90_summary"]
        pairs = []
        started = timed([analysis, "hypotheses", "test", "--all", "--format", "csv"], old_env, old)
        pairs.append(("hypotheses test --all", times["(a) hypotheses test --all, cold"], started))
        reports, new_reports = work / "baseline-reports", work / "subset-reports"
        old_subset = timed([analysis, "run", "--reports-dir", str(reports), "--only", *subset],
                           old_env, old)  # fmt: skip
        shutil.rmtree(work / "store", ignore_errors=True)
        new_subset = timed([analysis, "run", "--reports-dir", str(new_reports), "--only", *subset],
                           env)  # fmt: skip
        pairs.append((f"run --only {' '.join(subset)}, cold", new_subset, old_subset))
        print(f"\nagainst {rev} (each report computing its own tests), measured in this run:")
        for name, new, before in pairs:
            print(f"  {name:<60} new {new:8.2f} s   old {before:8.2f} s   ratio {new / before:.2f}")
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
                       check=False, capture_output=True)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
