"""`analysis run` with the results stage: reports that show stored registry results are re-run
exactly when what they show changes, and then agree with the summary.

The registry is a copy of four real entries ($ANALYSIS_REGISTRY) tested on the shipped data with
few draws and no calibration, so the stage takes seconds; the reports are tiny notebooks that
publish the Holm-adjusted p-values they read from the store."""

from __future__ import annotations

import io
import json
import re
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT
from runner_fixtures import write_notebook, write_plan

from analysis import paths
from analysis.runner import RunOptions, run

pytestmark = pytest.mark.slow

ENTRIES = ("H1a", "H1g", "H3", "NC_season_other_categories", "PC_season_fatal", "NC_placebo_dyad")
PARAMETERS = """hypothesis: str = "H1a"  # the entry shown (choices: registry)
n_perm: int = 99  # draws of each reported test (range: 19..99999)
n_size: int = 0  # null samples for the size (range: 0..20000)
n_power: int = 0  # samples per power point (range: 0..10000)
output_dir: str = ""  # folder for numbers.json
"""
SHOWS = """import json, pathlib
from analysis.study import config, registry, store
settings = config.settings_from({"n_perm": n_perm, "n_size": n_size, "n_power": n_power})
results = store.registry_results(
    registry.load_registry(), settings=settings, only=ONLY, store=store.ResultStore.default()
)
holm = {f"{r.hypothesis_id}/{r.outcome}": r.p_adjusted["holm_family"] for r in results.results}
if output_dir:
    pathlib.Path(output_dir, "numbers.json").write_text(json.dumps(holm, sort_keys=True))
"""
PLAN = """[[report]]
name = "entry-{hypothesis}"
notebook = "entry.ipynb"
grid = { hypothesis = "registry" }
inputs = ["incidents", "indicators", "incident_claims", "incident_coverage", "milestones"]
results = "entry"

[[report]]
name = "summary"
notebook = "summary.ipynb"
inputs = ["incidents", "indicators", "incident_claims", "incident_coverage", "milestones"]
results = "registry"
"""


def entry_blocks(text: str) -> dict[str, str]:
    """Each ``[id]`` table of the registry file as its own text, comments dropped."""
    blocks = re.split(r"(?m)^(?=\[[A-Za-z0-9_]+\]\s*$)", text)
    return {re.match(r"\[(\w+)\]", b).group(1): b for b in blocks if b.startswith("[")}


@pytest.fixture
def study(tmp_path, monkeypatch):
    blocks = entry_blocks((ROOT / "src" / "analysis" / "study" / "hypotheses.toml").read_text())
    registry = tmp_path / "registry.toml"
    registry.write_text("\n".join(blocks[e] for e in ENTRIES))
    assert list(tomllib.loads(registry.read_text())) == list(ENTRIES)
    monkeypatch.setenv(paths.REGISTRY_ENV, str(registry))
    monkeypatch.setenv(paths.DATA_ENV, str(ROOT / "data"))
    monkeypatch.setenv(paths.RESULTS_ENV, str(tmp_path / "store"))
    write_notebook(tmp_path / "entry.ipynb", PARAMETERS, SHOWS.replace("ONLY", "[hypothesis]"))
    write_notebook(
        tmp_path / "summary.ipynb", PARAMETERS.replace("(choices: registry)", ""),
        SHOWS.replace("ONLY", "None"),
    )  # fmt: skip
    write_plan(tmp_path, PLAN)
    return tmp_path


def build(folder: Path) -> tuple[str, dict[str, dict]]:
    out = io.StringIO()
    status = run(
        RunOptions(plan=folder / "reports.toml", jobs=2, warm_modules=("analysis.study.store",)),
        out,
    )
    assert status == 0, out.getvalue()
    numbers = {
        p.parent.name: json.loads(p.read_text())
        for p in (folder / "reports").glob("*/numbers.json")
    }
    return out.getvalue(), numbers


def agree_with_summary(numbers: dict[str, dict]) -> None:
    summary = numbers["summary"]
    for name, shown in numbers.items():
        for test, holm in shown.items():
            assert summary[test] == holm, (
                f"{name} shows Holm {holm} for {test}, the summary {summary[test]}"
            )


def ran(log: str) -> set[str]:
    return set(re.findall(r"\] (\S+)  [\d.]+ s  ok", log))


def test_an_edited_entry_reruns_every_report_whose_numbers_change_and_no_other(study):
    log, numbers = build(study)
    assert "results stage" in log and ran(log) == {f"entry-{e}" for e in ENTRIES} | {"summary"}
    agree_with_summary(numbers)
    again, _ = build(study)
    assert "results stage" not in again and not ran(again)  # nothing changed: a no-op

    # H1a loses its 24.kg outcome: H1_economic_stress shrinks, so H1g's Holm p moves, and every
    # non-control test's BH q moves; the negative control's numbers stay as they were
    registry = study / "registry.toml"
    registry.write_text(
        registry.read_text().replace(
            'outcomes = ["catalogue", "stated_24kg"]', 'outcomes = ["catalogue"]', 1
        )
    )
    log, after = build(study)
    assert "results stage" in log
    assert ran(log) == {"entry-H1a", "entry-H1g", "entry-H3", "summary"}
    assert after["entry-H1g"] != numbers["entry-H1g"]
    assert after["entry-NC_placebo_dyad"] == numbers["entry-NC_placebo_dyad"]
    agree_with_summary(after)
