"""Citable outputs are byte-stable and named predictably; descriptive views compute what they say."""

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from analysis.data import datasets
from analysis.errors import ConfigError
from analysis.panels import patterns
from analysis.report import figures, reporting
from analysis.report.reporting import ReportOutputs, macro_name
from analysis.study import config, robustness
from analysis.study.registry import get


@pytest.mark.parametrize(
    "key, macro",
    [
        ("H1 IRR low", "HOneIRRLow"),
        ("H2a_tb2 p", "HTwoaTbTwoP"),
        ("catalogue share", "CatalogueShare"),
    ],
)
def test_macro_names_spell_digits(key, macro):
    assert macro_name(key) == macro


def _figure():
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [3, 1, 2], label="<b>x</b>")
    ax.legend()
    return fig


@pytest.mark.slow
def test_outputs_are_byte_identical_across_saves(tmp_path):
    for run in ("a", "b"):
        out = ReportOutputs(tmp_path / run, report="r")
        out.figure(_figure(), "line", caption="c", data=pd.DataFrame({"x": [1, 2, 3]}))
        out.table(pd.DataFrame({"ratio": [1.0, 2.5], "note": ["a|b", "<script>"]}), "t")
        out.number("H1 IRR", 1.234567)
    for path in sorted((tmp_path / "a").rglob("*.*")):
        twin = tmp_path / "b" / path.relative_to(tmp_path / "a")
        assert path.read_bytes() == twin.read_bytes(), path.name
    svg = (tmp_path / "a" / "figures" / "line.svg").read_text()
    assert "<dc:date>" not in svg
    assert b"CreationDate" not in (tmp_path / "a" / "figures" / "line.pdf").read_bytes()
    md = (tmp_path / "a" / "tables" / "t.md").read_text()
    assert "&lt;script&gt;" in md and r"a\|b" in md
    numbers = json.loads((tmp_path / "a" / "numbers.json").read_text())
    assert numbers["numbers"]["H1 IRR"]["text"] == "1.23"
    assert r"\newcommand{\HOneIRR}{1.23}" in (tmp_path / "a" / "numbers.tex").read_text()


def test_interactive_mode_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = ReportOutputs("", report="r")
    out.figure(_figure(), "line", data=pd.DataFrame({"x": [1]}))
    out.number("x", 1)
    assert list(tmp_path.iterdir()) == []


def test_bad_names_and_macro_clashes(tmp_path):
    out = ReportOutputs(tmp_path, report="r")
    with pytest.raises(ConfigError, match="figure name"):
        out.figure(_figure(), "Bad Name", data=pd.DataFrame())
    out.number("a b", 1)
    with pytest.raises(ConfigError, match="same macro"):
        out.number("a-b", 2)


def _shown(monkeypatch) -> list[str]:
    shown = []
    monkeypatch.setattr(reporting, "_display_html", lambda markup, plain: shown.append(markup))
    return shown


def test_a_figure_offers_the_frame_it_was_drawn_from_as_csv(tmp_path, monkeypatch):
    shown = _shown(monkeypatch)
    out = ReportOutputs(tmp_path, report="r")
    profile = pd.DataFrame(
        {"month": ["Jan", "Apr"], "incidents": [2, 5], "irrigation_season": [False, True]}
    )
    out.figure(figures.monthly_bars(profile), "months", caption="By month")
    saved = pd.read_csv(tmp_path / "figures" / "months.csv")
    assert saved.to_dict("list") == profile.to_dict("list")
    assert 'href="figures/months.csv">data (CSV)</a>' in shown[0]
    assert 'href="figures/months.svg">SVG</a>' in shown[0]
    with pytest.raises(ConfigError, match="figure 'plain' carries no data"):
        out.figure(_figure(), "plain")


def test_an_empty_table_is_one_sentence_saying_why(tmp_path, monkeypatch):
    shown = _shown(monkeypatch)
    out = ReportOutputs(tmp_path, report="r")
    empty = pd.DataFrame(columns=["date", "event"])
    why = "No registered step or milestone lies within a year of this claim's dates."
    out.table(empty, "nearby", caption="Events near the claim", empty=why)
    assert (
        "<table" not in shown[0]
        and "Events near the claim:</em> " + why.replace("'", "&#x27;") in shown[0]
    )
    assert (tmp_path / "tables" / "nearby.md").read_text() == why + "\n"
    assert "tabular" not in (tmp_path / "tables" / "nearby.tex").read_text()
    assert (tmp_path / "tables" / "nearby.csv").read_text() == "date,event\n"  # data: no rows
    with pytest.raises(ConfigError, match="table 'nearby' has no rows: pass empty="):
        out.table(empty, "nearby")
    out.table(pd.DataFrame({"date": ["2021-04-29"], "event": ["war"]}), "nearby", empty=why)
    assert "<table" in shown[-1] and ">Date</th>" in shown[-1]


def test_every_column_a_reader_sees_has_a_label(tmp_path, monkeypatch):
    shown = _shown(monkeypatch)
    out = ReportOutputs(tmp_path, report="r")
    with pytest.raises(ConfigError, match=r"column\(s\) \['months_from_x'\] have no label"):
        out.table(pd.DataFrame({"event": ["a"], "months_from_x": [1]}), "t")
    grid = pd.DataFrame(
        {"KGZ-TJK": [1], "95% CI": ["0.5–2.0"]}, index=pd.Index([2008], name="year")
    )
    out.table(grid, "grid", index=True)  # data as names (a border code) and words pass
    assert ">Year</th>" in shown[0] and ">KGZ-TJK</th>" in shown[0]


def test_how_to_cite_names_the_macro_of_every_number(tmp_path, monkeypatch):
    shown = _shown(monkeypatch)
    monkeypatch.setattr(reporting, "markdown", lambda text: shown.append(text))
    out = ReportOutputs(tmp_path, report="10_hypothesis-H3")
    out.number("H3 incidents effect", 2.3402, description="H3: IRR, switching on")
    out.number("H3 incidents p", 0.0031, digits=3, description="H3: p")
    out.how_to_cite(["incidents"])
    assert shown[0].startswith("## How to cite")
    assert "\\HThreeIncidentsEffect" in shown[1] and ">2.34<" in shown[1]
    assert "\\HThreeIncidentsP" in shown[1] and "H3: p" in shown[1]
    assert "reports/10_hypothesis-H3/numbers.tex" in shown[1] and "<details" not in shown[1]
    many = ReportOutputs(tmp_path, report="s")
    many.add_numbers([(f"n {i}", i, 0, "") for i in range(reporting.OPEN_MACROS + 1)])
    many.how_to_cite([])
    assert shown[-1].startswith("<details")


def test_catalogue_vs_claims_on_the_shipped_data():
    data = datasets.load_all()
    table = patterns.catalogue_vs_claims(data["incidents"], data["incident_claims"])
    border_service_2014 = table[
        (table.dyad_scope == "KGZ-TJK") & (table.year == 2014) & (table.stated_incidents == 32)
    ]
    assert len(border_service_2014) >= 1
    held = (
        (data["incidents"].dyad == "KGZ-TJK") & data["incidents"].date_start.str.startswith("2014")
    ).sum()
    assert (border_service_2014.catalogued == held).all() and held < 32


def test_monthly_profile_and_yearly_counts_add_up():
    incidents = datasets.load("incidents")
    profile = patterns.monthly_profile(incidents, "KGZ-TJK")
    assert profile.incidents.sum() == (incidents.dyad == "KGZ-TJK").sum()
    yearly = patterns.yearly_counts(incidents)
    assert yearly.sum().sum() == len(incidents)


def test_config_rejects_bad_parameters():
    with pytest.raises(ConfigError, match="did you mean 'hypothesis'"):
        config.make(config.HypothesisReport, hypothesis_id="H1a")
    with pytest.raises(ConfigError, match="unknown hypothesis"):
        config.make(config.HypothesisReport, hypothesis="H9")
    with pytest.raises(ConfigError, match="out of range"):
        config.make(config.HypothesisReport, lag=9)
    with pytest.raises(ConfigError, match="sample window"):
        config.make(config.HypothesisReport, start="2030")
    with pytest.raises(ConfigError, match="dyad"):
        config.make(config.IncidentPatterns, dyad="KGZ-KAZ")


def test_robustness_variants_change_one_thing_each():
    spec = get("H1e").on("catalogue")
    listed = robustness.variants(spec)
    assert listed[0][0] == "registered" and listed[0][2] == spec
    assert {d for d, _, _ in listed} >= {
        "outcome",
        "lag",
        "model",
        "incidents",
        "dependence",
        "trend",
        "window",
        "leave one year out",
    }


@pytest.mark.slow
def test_robustness_variants_are_each_tested_as_the_registered_test(shipped_tables):
    spec = get("H1e").on("catalogue")
    listed = robustness.variants(spec)
    curve = robustness.run_variants(spec, shipped_tables)
    assert len(curve) == len(listed)
    assert curve.loc[0, "nobs"] > 0 and (curve.note.eq("") | curve.effect.isna()).all()
    tested = curve.dropna(subset=["effect"])
    assert (tested["test"] == "block permutation").all() and tested["p_mc_se"].gt(0).all()
    outcome = curve[curve["dimension"] == "outcome"].iloc[0]
    assert outcome["variant"] == "outcome: stated_24kg" and outcome["nobs"] == 9
