"""One project root for every command: found from the working directory (or named), never from
where the package is installed, so a second clone run with this clone's environment uses its own
plan, data and reports."""

import ast
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, require_shared

from analysis import paths
from analysis.errors import ConfigError


def project(folder):
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "manifest.json").write_text("{}")
    (folder / "reports.toml").write_text("")
    return folder


def test_the_root_is_found_upwards_from_the_working_directory(tmp_path, monkeypatch):
    root = project(tmp_path / "clone")
    (root / "notebooks" / "deep").mkdir(parents=True)
    monkeypatch.delenv(paths.ROOT_ENV, raising=False)
    monkeypatch.chdir(root / "notebooks" / "deep")
    assert paths.project_root() == root
    assert paths.data_dir() == root / "data"
    assert paths.reports_dir() == root / "reports"
    assert paths.plan_path() == root / "reports.toml"


def test_a_named_root_wins_and_must_be_a_project(tmp_path, monkeypatch):
    root = project(tmp_path / "named")
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv(paths.ROOT_ENV, str(root))
    assert paths.project_root() == root
    monkeypatch.setenv(paths.ROOT_ENV, str(tmp_path))
    with pytest.raises(ConfigError, match="holds no reports.toml and no data/manifest.json"):
        paths.project_root()


def test_no_project_says_what_was_looked_for_where_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv(paths.ROOT_ENV, raising=False)
    (tmp_path / "reports.toml").write_text("")  # a plan without data/ is not a project
    with pytest.raises(ConfigError) as caught:
        paths.project_root(tmp_path)
    message = str(caught.value)
    assert "reports.toml and data/manifest.json" in message and str(tmp_path) in message
    assert "--root" in message and paths.ROOT_ENV in message


def test_pinned_root_is_restored(tmp_path, monkeypatch):
    root = project(tmp_path / "pinned")
    monkeypatch.setenv(paths.ROOT_ENV, str(ROOT))
    with paths.pinned_root(root):
        assert os.environ[paths.ROOT_ENV] == str(root)
    assert os.environ[paths.ROOT_ENV] == str(ROOT)


# --------------------------------------------------------------------------------------------
# the CLI from a second clone, with this clone's environment

REPORT = "second_clone_audit"
COMMIT = "c0ffee" * 6 + "c0ff"


@pytest.fixture(scope="module")
def second_clone(tmp_path_factory):
    """A copy of the project's own files (not the package: that stays this clone's install),
    with a plan of one report, a published report and a citation of its own."""
    clone = tmp_path_factory.mktemp("second") / "clone"
    clone.mkdir()
    shutil.copytree(ROOT / "data", clone / "data")
    shutil.copytree(ROOT / "notebooks", clone / "notebooks")
    shutil.copy(ROOT / "requirements.lock", clone)
    (clone / "reports.toml").write_text(
        f'[[report]]\nname = "{REPORT}"\nnotebook = "notebooks/00_data_audit.ipynb"\n'
        'inputs = ["incidents"]\n'
    )
    (clone / "CITATION.cff").write_text(
        'cff-version: 1.2.0\ntitle: "The second clone"\nversion: "9.9"\n'
        'authors:\n  - name: "Second Author"\n'
    )
    published = clone / "reports" / REPORT
    published.mkdir(parents=True)
    (published / "manifest.json").write_text(
        json.dumps({"git": {"commit": COMMIT, "dirty": False}, "inputs": {"incidents": "x"}})
    )
    return clone


def cli(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k not in (paths.ROOT_ENV, paths.DATA_ENV)}
    return subprocess.run(
        [sys.executable, "-m", "analysis.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow
def test_run_list_reads_the_second_clones_plan(second_clone):
    done = cli("run", "--list", cwd=second_clone / "notebooks")
    assert done.returncode == 0, done.stderr
    assert REPORT in done.stdout and "90_summary" not in done.stdout
    assert (second_clone / "reports" / ".memo.json").is_file()


@pytest.mark.slow
def test_data_check_reads_the_second_clones_data(second_clone):
    done = cli("data", "check", cwd=second_clone / "notebooks")
    assert done.returncode == 0, done.stderr
    assert f"all tables in {second_clone / 'data'} match" in done.stdout


@pytest.mark.slow
def test_cite_reads_the_second_clones_reports_and_citation(second_clone):
    done = cli("cite", REPORT, cwd=second_clone)
    assert done.returncode == 0, done.stderr
    assert "The second clone (version 9.9)" in done.stdout and COMMIT in done.stdout


@pytest.mark.slow
def test_root_option_names_the_project_from_anywhere(second_clone, tmp_path):
    done = cli("--root", str(second_clone), "data", "check", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert str(second_clone / "data") in done.stdout


def test_outside_any_project_the_error_says_how_to_fix_it(tmp_path):
    done = cli("run", "--list", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "no project folder found" in done.stderr and "--root" in done.stderr


# --------------------------------------------------------------------------------------------
# the tests themselves

SYSTEM = ("/proc/",)  # kernel interfaces, the same on every Linux machine


def test_no_test_names_an_absolute_path():
    """Raw data is ``conftest.SHARED_DATA`` (relative to the repository), scratch is tmp_path."""
    found = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        formatted = {
            id(part)
            for node in ast.walk(tree)
            if isinstance(node, ast.JoinedStr)
            for part in node.values
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in formatted
                and re.match(r"^/[\w.-]+/", node.value)
                and not node.value.startswith(SYSTEM)
            ):
                found.append(f"{path.name}:{node.lineno}: {node.value}")
    assert found == []


@pytest.mark.parametrize(
    "ci, outcome", [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_missing_raw_data_fails_under_ci_and_skips_elsewhere(monkeypatch, tmp_path, ci, outcome):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="raw data not found"):
        require_shared(tmp_path / "shared" / "data")
