"""Every benchmark script runs, with its smallest settings (its figures are not checked here:
performance claims come from the scripts, run on purpose, never from timed tests)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow

SMALLEST = {
    "bench_calibration.py": ["--entries", "H1b"],
    "bench_executors.py": ["--only", "00_data_audit", "--tasks", "20"],
    "bench_results.py": ["--entries", "H1b", "--no-baseline"],
    "bench_runner.py": ["--n", "1", "--repeat", "1", "--no-ploomber"],
    "bench_ucdp_ged.py": ["--events", "2000"],
}


def test_every_benchmark_has_a_smoke_setting():
    assert sorted(p.name for p in (ROOT / "benchmarks").glob("bench_*.py")) == sorted(SMALLEST)


@pytest.mark.parametrize("script", sorted(SMALLEST))
def test_benchmark_runs(script):
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *SMALLEST[script]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"{script}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
