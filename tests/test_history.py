"""What changed between builds: kept builds by commit, the list on the site, `analysis diff`."""

from __future__ import annotations

import io
import json
import shutil
import subprocess

import pytest
from conftest import ROOT
from runner_fixtures import write_notebook, write_plan

from analysis.cli import main
from analysis.report.reporting import ReportOutputs
from analysis.runner import RunOptions, cache, history, run

FIXTURE = ROOT / "tests" / "data" / "headline.json"
PARAMETERS = """output_dir: str = ""  # folder for figures/tables/numbers ("" = do not save)
value: float = 1.0  # the number the report quotes
"""
QUOTES = """from analysis.report.reporting import ReportOutputs
out = ReportOutputs(output_dir, report="quote")
out.number("answer", value, description="the number that changes")
out.number("fixed", 7, description="a number that does not")
"""


def _quote(reports, name, **numbers):
    out = ReportOutputs(reports / name, report=name)
    for key, value in numbers.items():
        out.number(key, value, description=f"{key} of {name}")


def _summary(reports, **verdicts):
    """The fixture headline as the summary report, with some verdicts changed (by claim id)."""
    headline = json.loads(FIXTURE.read_text(encoding="utf-8"))
    for row in headline["rows"]:
        if row["id"] in verdicts:
            row.update(verdict=verdicts[row["id"]], verdict_label=None)
    (reports / "90_summary").mkdir(parents=True, exist_ok=True)
    (reports / "90_summary" / "headline.json").write_text(json.dumps(headline), encoding="utf-8")


def test_the_state_and_what_changed_between_two_states(tmp_path):
    reports = tmp_path / "reports"
    _quote(reports, "a", answer=1.0, fixed=7)
    _summary(reports)
    before = history.state(reports)
    assert before["numbers"]["a"]["Answer"] == {"text": "1.00", "what": "answer of a"}
    assert before["verdicts"]["H3 on incidents"]["label"] == "Evidence"
    _quote(reports, "a", answer=1.004, fixed=8)  # 1.004 prints as 1.00: no citation changes
    _quote(reports, "b", answer=2.0)
    _summary(reports, H3="cannot_tell")
    changes = history.compare(before, history.state(reports))
    assert [(c.kind, c.report, c.key, c.old, c.new) for c in changes] == [
        ("verdict", "90_summary", "H3 on incidents", "Evidence", "Cannot tell"),
        ("number", "a", "Fixed", "7", "8"),
        ("report", "b", "b", None, "1 numbers"),
    ]
    assert history.compare(before, before) == []


def test_builds_are_kept_by_commit_and_a_rerun_keeps_nothing_new(tmp_path):
    reports = tmp_path / "reports"
    assert history.record(reports, {"commit": "c1", "dirty": False}) is None  # nothing published
    assert history.Build("x", None, None).label == "no git commit"
    _quote(reports, "a", answer=1.0)
    first = history.record(reports, {"commit": "c1", "dirty": False})
    assert first is not None and history.record(reports, {"commit": "c1", "dirty": False}) is None
    assert history.last_changes(reports) is None  # one build: nothing to compare with
    same = history.record(reports, {"commit": "c2", "dirty": False})  # same state, new commit
    assert same.sha256 == first.sha256 and history.last_changes(reports)[1] == []
    _quote(reports, "a", answer=2.0)
    history.record(reports, {"commit": "c2", "dirty": True})
    since, changes = history.last_changes(reports)
    assert since.label == "c2" and [(c.old, c.new) for c in changes] == [("1.00", "2.00")]
    assert history.build_of(reports, "c2") == same  # a clean build of c2 is preferred
    assert [b.commit for b in history.builds(reports)] == ["c1", "c2", "c2"]
    with pytest.raises(history.DataError, match="no build of commit c3 is kept.*analysis diff"):
        history.build_of(reports, "c3")
    kept = {p.name for p in (reports / history.HISTORY).iterdir()}
    assert kept == {
        history.INDEX,
        f"{first.sha256}.json",
        f"{history.builds(reports)[-1].sha256}.json",
    }


def _git(folder, *args):
    subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True,
        capture_output=True,
    )


def _build(plan):
    options = RunOptions(plan=plan, jobs=1, warm_modules=("analysis.report.reporting",))
    out = io.StringIO()
    assert run(options, out) == 0, out.getvalue()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_two_builds_with_a_changed_entry_list_every_changed_citation(tmp_path, monkeypatch, capsys):
    """A tiny plan in a git repository: build, change the entry, commit, build again; the site
    and `analysis diff` list the changed verdict and number, and nothing else."""
    source = tmp_path / "src_copy"  # keys on a private copy of the package that no one edits
    shutil.copytree(cache.SOURCE_DIR, source, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "SOURCE_DIR", source)
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    cache.write_json(project / "data" / "manifest.json", {"tables": {}})
    monkeypatch.setenv("ANALYSIS_DATA_DIR", str(project / "data"))
    write_notebook(project / "nb" / "quote.ipynb", PARAMETERS, QUOTES)
    entry = (
        '[[report]]\nname = "quote"\nnotebook = "nb/quote.ipynb"\nparameters = {{ value = {} }}\n'
    )
    plan = write_plan(project, entry.format(1.0))
    reports = project / "reports"
    _summary(reports)
    (project / ".gitignore").write_text("reports/\n")  # as in the project: not a change
    _git(project, "init", "-q")
    _git(project, "add", ".gitignore", "reports.toml", "nb", "data")
    _git(project, "commit", "-q", "-m", "first")
    first = history.resolve("HEAD", project)
    _build(plan)
    assert 'id="changes"' not in (reports / "index.html").read_text()  # one build so far

    write_plan(project, entry.format(2.5))
    _summary(reports, H3="cannot_tell")
    _git(project, "commit", "-q", "-am", "second")
    _build(plan)
    for page in ("index.html", "status.html"):
        text = (reports / page).read_text()
        section = text[text.index('<section id="changes">') :]
        assert f"({first[:12]})" in section, page
        assert "1 verdict and 1 cited number changed" in section
        assert "<td>Evidence</td><td>→ Cannot tell</td>" in section
        assert "<code>\\Answer</code>" in section and "→ 2.50" in section
        assert "\\Fixed" not in section

    assert main(["--root", str(project), "diff", first]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"Against the build of {first[:12]}:")
    assert "Evidence -> Cannot tell" in said and "quote  \\Answer: 1.00 -> 2.50" in said
    assert "Fixed" not in said
    assert main(["--root", str(project), "diff"]) == 0
    assert "\\Answer: 1.00 -> 2.50" in capsys.readouterr().out
    assert main(["--root", str(project), "diff", "--against", str(reports)]) == 0
    assert "no verdict and no cited number changed" in capsys.readouterr().out
    assert main(["--root", str(project), "diff", "no-such-ref"]) == 2
    assert "'no-such-ref' is not a commit" in capsys.readouterr().err
    _git(project, "commit", "-q", "--allow-empty", "-m", "third, never built")
    assert main(["--root", str(project), "diff", "HEAD"]) == 2
    assert "is kept" in capsys.readouterr().err
