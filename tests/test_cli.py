"""The `analysis` command: clear messages and exit codes, no traceback for a user's mistake."""

import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

from analysis.cli import main


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "analysis.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


@pytest.mark.slow
def test_data_check_passes_and_prints_coverage(capsys):
    assert main(["data", "check"]) == 0
    out = capsys.readouterr().out
    assert "incidents" in out and "match their checksums and contracts" in out


@pytest.mark.slow
def test_data_check_fails_on_a_corrupted_copy(tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(ROOT / "data", copy)
    (copy / "indicators.csv").write_text("iso3\n")
    result = run("data", "check", "--data-dir", str(copy))
    assert result.returncode == 1
    assert (
        "indicators.csv" in result.stderr
        and "differs from the one the data build recorded" in result.stderr
    )
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_user_errors_exit_2_without_traceback(tmp_path):
    result = run("data", "check", "--data-dir", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "manifest not found" in result.stderr
    assert "Traceback" not in result.stderr
    result = run(
        "data", "build", "--raw", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")
    )
    assert result.returncode == 2 and "raw data folder not found" in result.stderr


def test_cite_and_verify_errors_are_clean(tmp_path):
    result = run("cite", "no_such_report", "--reports-dir", str(tmp_path))
    assert result.returncode == 2 and "no published report 'no_such_report'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_hypotheses_test_prints_each_test_with_its_coverage_and_no_numerical_noise():
    result = run("hypotheses", "test", "H3", "--no-calibrate", "--n-perm", "99", "--n-power", "0")
    assert result.returncode == 0, result.stderr
    summary, coverage = result.stdout.split("\nCoverage:", 1)
    assert "H3" in summary and "not computed (calibrate=False)" in summary
    assert "Evidence" not in summary  # a size that was not simulated supports no claim
    assert "tipping ratio" in coverage and "coverage could produce it" in coverage
    assert "Multiplicity:" in coverage and "RuntimeWarning" not in result.stderr
