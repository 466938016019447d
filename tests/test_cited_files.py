"""Every committed cited file (what paper/main.tex cites from reports/) equals what the code
produces now: the reports that publish them are rebuilt through the results stage, on the
shipped data, into a scratch folder, and compared byte for byte."""

from __future__ import annotations

import io
import subprocess

import pytest
from conftest import ROOT

from analysis.runner import RunOptions, run

pytestmark = pytest.mark.slow


def committed_report_files() -> list[str]:
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "reports"], capture_output=True, text=True, check=True
    ).stdout.split()
    return [path for path in listed if path != "reports/README.md"]


def test_committed_cited_files_equal_a_fresh_build(tmp_path):
    cited = committed_report_files()
    assert cited, "nothing under reports/ is committed: the paper cites nothing?"
    reports = sorted({path.split("/")[1] for path in cited})
    out = io.StringIO()
    status = run(
        RunOptions(plan=ROOT / "reports.toml", reports_dir=tmp_path, only=tuple(reports), jobs=2),
        out,
    )
    assert status == 0, out.getvalue()
    differ = [
        path
        for path in cited
        if (tmp_path / path.removeprefix("reports/")).read_bytes() != (ROOT / path).read_bytes()
    ]
    assert not differ, (
        f"committed cited files differ from a fresh build: {differ}; rebuild them with "
        f"`analysis run --only {' '.join(reports)}` and commit the result"
    )
