"""The calibrated registry against the uncalibrated one, timed in the same process.

    python benchmarks/bench_calibration.py [--executor serial|fork|dask] [--jobs 2] [--case-only]
        [--entries H1a,H3]

1. Baseline: every registered test with its reported p-value only (``calibrate=False``: the
   estimates, the small-sample p with its draws, and the corrections over the registry).
2. Calibrated, the default settings: the inverted interval, the size from 1,000 null samples
   and the power curve from 500 samples per point, each running the reported test.
Both on the shipped data, in this process (the first run also warms the imports and caches, so
the baseline is measured twice and the second time counts). Prints seconds per test of the
calibrated run, the two totals and their ratio. Performance claims in the README come from
this script, not from timed tests.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from analysis import executors
from analysis.study import hypotheses, registry, store
from analysis.study.settings import TestSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executor", default="serial", choices=("serial", "fork", "dask"))
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--case-only", action="store_true", help="the case entries only")
    parser.add_argument("--entries", default="", help="comma-separated ids only (a smoke test)")
    args = parser.parse_args()
    entries = registry.load_registry()
    if args.case_only:
        entries = {k: v for k, v in entries.items() if v.scope == "case"}
    if args.entries:
        entries = {k: entries[k] for k in args.entries.split(",")}
    tables = hypotheses.Tables.load()
    settings = TestSettings()
    baseline = replace(settings, calibrate=False)
    store.registry_results(entries, tables, baseline)  # warm-up (an in-memory store: no reuse)
    start = time.perf_counter()
    store.registry_results(entries, tables, baseline)
    uncalibrated = time.perf_counter() - start

    tests = hypotheses.tests_of(entries)
    rows = []
    study = registry.load_study()
    with executors.open(args.executor, jobs=args.jobs) as executor:
        mapper = executor.map
        began = time.perf_counter()
        for spec in tests:
            start = time.perf_counter()
            try:
                hypotheses.assess(spec, tables, settings, study, mapper)
                status = "ok"
            except Exception as exc:  # noqa: BLE001 - a benchmark reports failures and goes on
                status = f"not testable ({type(exc).__name__})"
            rows.append((spec.id, spec.series, time.perf_counter() - start, status))
        calibrated = time.perf_counter() - began
    width = max(len(f"{i} on {o}") for i, o, _, _ in rows)
    for hypothesis_id, outcome, seconds, status in rows:
        print(f"{hypothesis_id + ' on ' + outcome:<{width}}  {seconds:7.1f} s  {status}")
    print(
        f"\n{len(rows)} tests; executor {args.executor} ({executor.workers} worker(s))\n"
        f"uncalibrated (p-values and corrections): {uncalibrated:7.1f} s\n"
        f"calibrated (interval, size, power):      {calibrated:7.1f} s\n"
        f"ratio calibrated / uncalibrated:         {calibrated / uncalibrated:7.1f}"
    )


if __name__ == "__main__":
    main()
