"""The landing page, the verdict box and the paper table, from the headline contract."""

import copy
import json

import pytest
from conftest import ROOT

from analysis import reporting, site
from analysis.errors import DataError
from analysis.runner import index

FIXTURE = ROOT / "tests" / "data" / "headline.json"
CITE = {"text": "Cite <us>", "bibtex": "@software{x}"}


@pytest.fixture
def headline():
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def _landing(headline, published=("10_hypothesis-H1a", "00_data_audit"), **kwargs):
    reports = [
        site.ReportLink(name, "fresh", name in published)
        for name in ("00_data_audit", "10_hypothesis-H1a", "20_robustness-H1a", "90_summary")
    ]
    return site.render_landing(headline, reports, title="Study: a subtitle", cite=CITE, **kwargs)


def test_the_fixture_follows_the_contract_and_uses_registered_claims(headline):
    import tomllib

    registry = tomllib.loads((ROOT / "src/analysis/hypotheses.toml").read_text(encoding="utf-8"))
    checked = site.validate_headline(headline)
    assert {row["id"] for row in checked["rows"]} <= set(registry)
    assert {row["verdict"] for row in checked["rows"]} == set(site.labels.VERDICT_CODES) - {
        "control_failed"
    }


def test_the_landing_page_leads_with_the_question_and_one_row_per_claim_and_outcome(headline):
    page = _landing(headline, forest=("90_summary/figures/forest.svg", "Forest <plot>"))
    assert page.index('class="question"') < page.index('class="headline"') < page.index("forest")
    for group in site.claim_groups(headline["rows"]):
        assert f"<strong>{group[0]['id']}</strong>" in page
    assert 'rowspan="2"><strong>H1a</strong>' in page  # two outcomes under one claim
    assert page.count('class="verdict"') >= len(headline["rows"])
    assert "○</span> Not detected" in page and "?</span> Cannot tell" in page
    assert "0.96 [0.37, 2.47]" in page and "—" in page  # null numbers stay visible as a dash
    assert 'alt="Forest &lt;plot&gt;"' in page
    assert '<a href="10_hypothesis-H1a/10_hypothesis-H1a.html">report</a>' in page
    assert "robustness (not built)" in page  # never a link to a report that does not exist
    assert "How to cite" in page and "Cite &lt;us&gt;" in page and "status.html" in page
    assert "http" not in page.replace("http-equiv", "")  # nothing fetched from the network
    assert _landing(headline) == _landing(headline)


def test_every_text_of_the_contract_is_escaped(headline):
    headline["rows"][0]["claim"] = "<script>alert(1)</script>"
    headline["question"] = "Why <b>?"
    page = _landing(headline)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Why &lt;b&gt;?" in page


def test_results_that_may_be_out_of_date_say_so(headline):
    stale = [site.ReportLink("90_summary", "stale", True)]
    page = site.render_landing(headline, stale, title="Study", cite=CITE)
    assert "The summary is stale" in page
    assert "is stale" not in _landing(headline)


def test_the_landing_page_is_useful_before_the_summary_exists():
    page = _landing(None)
    assert "has not been built yet" in page and "analysis run --only 90_summary" in page
    assert '<a href="00_data_audit/00_data_audit.html">00_data_audit</a>' in page
    assert 'class="headline"' not in page


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda h: h.update(schema=2), "column 'schema': unsupported headline schema; found 2"),
        (lambda h: h["rows"][0].pop("p"), r"rows\[0\] \(H1a\) lacks key\(s\) \['p'\]"),
        (lambda h: h["rows"][1].update(p="0.9"), r"column 'p': rows\[1\] \(H1a\): wrong type"),
        (lambda h: h["rows"][2].update(verdict="maybe"), "unknown verdict; found 'maybe'"),
        (lambda h: h["rows"][0].update(ci_lo=1), "unknown key; did you mean 'ci_low'"),
        (
            lambda h: h["rows"][0].update(verdict_label="Nothing"),
            "verdict_label differs from the label of its code",
        ),
        (lambda h: h.update(rows=[]), "column 'rows': must be a non-empty list"),
    ],
)
def test_a_broken_contract_names_the_field(headline, edit, message):
    broken = copy.deepcopy(headline)
    edit(broken)
    with pytest.raises(DataError, match=message):
        site.validate_headline(broken, "headline.json")


def test_the_runner_writes_both_pages_and_shows_a_broken_headline(tmp_path, headline):
    summary = tmp_path / "90_summary"
    summary.mkdir()
    headline["rows"][0]["verdict"] = "maybe"
    (summary / "headline.json").write_text(json.dumps(headline), encoding="utf-8")
    path = index.write_site(tmp_path, [], "reports.toml")
    page = path.read_text(encoding="utf-8")
    assert path == tmp_path / "index.html" and (tmp_path / "status.html").is_file()
    assert "The summary could not be read" in page and "unknown verdict" in page
    (summary / "headline.json").write_text("{", encoding="utf-8")
    assert "is not valid JSON" in index.write_site(tmp_path, [], "reports.toml").read_text()


def test_the_verdict_box_says_what_was_tested_and_what_the_test_can_say(headline, monkeypatch):
    row = headline["rows"][7]  # H1g: oversized
    box = site.verdict_box(row)
    assert row["claim"].replace("'", "&#x27;") in box and row["verdict_sentence"] in box
    assert "Oversized test" in box and "oversized, the p-value is not reliable" in box
    labelled = {**row, "verdict_sentence": "Oversized test: not evidence either way."}
    once = site.verdict_box(labelled)  # the badge shows the label; the sentence goes on after it
    assert once.count("Oversized test") == 1 and "Not evidence either way." in once
    assert row["caveats"][0] in box and row["power_text"] in box
    repeated = {**row, "caveats": [row["coverage_text"], *row["caveats"]]}
    assert site.verdict_box(repeated).count(row["coverage_text"]) == 1
    shown = []
    monkeypatch.setattr(reporting, "_display_html", lambda markup, plain: shown.append(markup))
    reporting.show_verdict(headline["rows"][:2])
    assert shown[0].count('class="verdict-box"') == 2
    with pytest.raises(DataError, match="lacks key"):
        reporting.show_verdict({"id": "H1a"})
    collapsed = site.details("Full model summary", text="coef <0.05")
    assert collapsed.startswith("<details") and "coef &lt;0.05" in collapsed


def test_the_paper_table_is_compact_and_escaped(headline):
    table = site.paper_table(headline["rows"], caption="Claims & verdicts", label="tab:x")
    lines = table.splitlines()
    assert r"\begin{longtable}" in table and r"\toprule" in table and r"\endhead" in table
    assert r"\caption{Claims \& verdicts}" in table and r"\label{tab:x}" in table
    body = [line for line in lines if line.endswith(r"\\")][3:]  # caption, header twice
    assert len(body) == len(headline["rows"])
    assert body[0].startswith("H1a & ") and body[1].startswith(" & ")  # the id once per claim
    assert r"H2a\_\allowbreak{}milex\_\allowbreak{}kgz" in table
    assert "Opposite direction" in table and "— & — & — & Not testable" in table


def test_an_unbounded_interval_shows_infinity_and_a_missing_bound_a_dash(headline):
    row = headline["rows"][0]
    row.update(effect=1.5, ci_low=0.4, ci_high=None, ci_unbounded=True)
    assert "1.50 [0.40, ∞]" in _landing(headline)
    row["ci_unbounded"] = False
    assert "1.50 [0.40, —]" in _landing(headline)
