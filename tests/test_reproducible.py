"""A cited number is a fact: the same commit and data print the same rows on another BLAS kernel,
with one worker or several.

``OPENBLAS_CORETYPE`` makes OpenBLAS use an older CPU's kernels (other blocking, other rounding
in every matrix product); each command runs in its own process with its own empty results
store, so every number is computed afresh. H2a_tb2 (placebo dates on a step with few events
after it) and H5 (the outcome's own lag, an interval found by simulation) are the rows that
moved with the kernel before the simulations were made robust to rounding."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow

COMMAND = ["hypotheses", "test", "H2a_tb2", "H5", "--format", "csv"]


def rows(tmp_path, name: str, *options: str, **environment: str) -> str:
    env = {**os.environ, "ANALYSIS_RESULTS_DIR": str(tmp_path / name), **environment}
    done = subprocess.run(
        [sys.executable, "-m", "analysis.cli", *COMMAND, *options],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_rows_are_the_same_on_another_blas_kernel_and_any_number_of_workers(tmp_path):
    serial = rows(tmp_path, "serial", "--executor", "serial")
    assert "H2a_tb2" in serial and "H5" in serial
    older_kernel = rows(
        tmp_path, "sandybridge", "--executor", "serial", OPENBLAS_CORETYPE="Sandybridge"
    )
    assert older_kernel == serial
    assert rows(tmp_path, "forked", "--executor", "fork", "--jobs", "2") == serial
