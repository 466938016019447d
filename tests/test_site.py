"""The landing page, the verdict box and the paper table, from the headline contract."""

import copy
import json

import pytest
from conftest import ROOT

from analysis.errors import DataError
from analysis.report import reporting, site
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

    registry = tomllib.loads(
        (ROOT / "src/analysis/study/hypotheses.toml").read_text(encoding="utf-8")
    )
    checked = site.validate_headline(headline)
    assert {row["id"] for row in checked["rows"]} <= set(registry)
    assert {row["verdict"] for row in checked["rows"]} == set(site.labels.VERDICT_CODES) - {
        "control_failed"
    }


def test_the_landing_page_answers_first_then_shows_the_forest_then_one_line_per_test(headline):
    page = _landing(headline, forest=("90_summary/figures/forest.svg", "Forest <plot>"))
    order = ['class="question"', 'id="findings"', 'class="forest"', 'class="headline"']
    assert [page.index(mark) for mark in order] == sorted(page.index(mark) for mark in order)
    for group in site.claim_groups(headline["rows"]):
        assert f"<strong>{group[0]['id']}</strong>" in page
    assert 'rowspan="2" title="Years in which remittances' in page  # one claim, two outcomes
    assert page.count("<tr") == len(headline["rows"]) + 1  # a header and one line per test
    assert page.count('class="verdict"') >= len(headline["rows"])
    assert "○</span> Not detected" in page and "?</span> Cannot tell" in page
    assert "0.96 [0.37, 2.47]" in page and "—" in page  # null numbers stay visible as a dash
    assert "IRR per SD (0.93 pp of GDP)" in page  # the unit of every SD
    assert "Change in TJK remittances (% of GDP)" in page  # the focal term in words
    assert 'alt="Forest &lt;plot&gt;"' in page
    assert '<a href="10_hypothesis-H1a/10_hypothesis-H1a.html"><strong>H1a</strong></a>' in page
    assert "robustness (not built)" in page  # never a link to a report that does not exist
    assert "How to cite" in page and "Cite &lt;us&gt;" in page and "status.html" in page
    assert "http" not in page.replace("http-equiv", "")  # nothing fetched from the network
    assert _landing(headline) == _landing(headline)


def test_coverage_is_a_short_word_explained_once_in_a_numbered_note(headline):
    rows = [r for r in headline["rows"] if r["coverage_control"] == "year effects"]
    assert len(rows) > 3
    rows[0]["coverage_text"] = "A difference in detection of ×2.34 would produce it."  # its own
    odd = next(r for r in headline["rows"] if r["coverage_control"] == "one counter's own count")
    odd["coverage_control"] = "a control the label map does not explain"
    page = _landing(headline)
    note = page.index('<ol class="notes"')
    explained = site.e(site.labels.coverage("year effects"))
    assert page[note:].count(f">{explained}</li>") == 1  # the explanation, once
    number = page[note:].split(f">{explained}</li>")[0].rsplit('id="coverage-', 1)[1][0]
    assert page.count(f'href="#coverage-{number}"') == len(rows)  # each row points to it
    assert page[:note].count(f'cannot assess</span><sup><a href="#coverage-{number}"') == len(rows)
    assert 'title="A difference in detection of ×2.34 would produce it.">' in page  # on hover
    assert f">{odd['coverage_text']}</li>" in page[note:]  # no explanation: the row's own note
    assert '>yes</span><sup><a href="#coverage-' in page  # coverage could produce it
    assert "≥ 4.70" in page and "none" in page  # the detectable effect, with its direction
    failed = next(r for r in headline["rows"] if r["verdict"] == "not_testable")
    assert f'<td colspan="3" class="why">{site.e(failed["verdict_sentence"])}</td>' in page


def test_the_findings_are_written_from_the_verdicts_and_follow_them(headline):
    said = site.findings(headline["rows"])
    assert 3 <= len(said) <= 5
    assert said[0].startswith("Of 21 registered tests (20 claims") and "3 “Evidence”" in said[0]
    assert "H3 on" in said[1] and "1.71 [1.12, 2.61]" in said[1] and "against it for H2a" in said[1]
    undecided = next(s for s in said if "cannot decide" in s)
    assert "for 9, the test could not detect a large effect" in undecided
    assert "for 1, a difference in reporting coverage could produce the estimate" in undecided
    for row in headline["rows"]:  # the same data with nothing found reads differently
        if row["verdict"] in ("evidence", "opposite"):
            row.update(verdict="cannot_tell", verdict_label=None, verdict_reasons=["multiplicity"])
    said = site.findings(headline["rows"])
    assert said[1] == "No test finds an effect after the multiplicity correction."
    assert "for 4, significant alone, not after the multiplicity correction" in said[3]


def test_negative_and_positive_controls_are_told_apart(headline):
    rows = [r for r in headline["rows"] if r["control"]]
    assert rows and all(r["control_kind"] == "negative" for r in rows)
    positive = {**rows[0], "id": "PC_x", "control_kind": "positive", "verdict": "control_failed"}
    said = site.findings([*headline["rows"], positive])
    assert len(said) <= 5 and said[-1].startswith("Controls: of the negative ones (tests that ")
    negative, positive_part = said[-1].split("; of the positive ones ")
    assert "should find nothing" in negative and "PC_x" not in negative
    assert positive_part.startswith("(tests that should find their effect), 1 ")
    assert positive_part.endswith(f"(PC_x on {positive['outcome_label']} did not find it).")


def test_what_changed_lists_verdicts_then_cited_numbers_old_to_new():
    class Change:
        def __init__(self, kind, report, key, old, new, what=""):
            self.kind, self.report, self.key, self.old, self.new, self.what = (
                kind, report, key, old, new, what
            )  # fmt: skip

    changes = [
        Change("verdict", "90_summary", "H3 on incidents", "Evidence", "Cannot tell", "H3 <x>"),
        Change("number", "90_summary", "HThreeIncidentsP", "0.004", "0.012", "H3: p"),
        Change("number", "10_hypothesis-H3", "HThreeIncidentsLow", None, "1.25", "bound"),
        Change("report", "10_hypothesis-H1a", "10_hypothesis-H1a", None, "20 numbers"),
    ]
    section = site.changes_section(changes, "abc123 + uncommitted changes")
    assert section.startswith('<section id="changes">') and "abc123" in section
    assert "1 verdict and 2 cited numbers changed" in section
    assert section.index("H3 &lt;x&gt;") < section.index("HThreeIncidentsP")
    assert "<td>Evidence</td><td>→ Cannot tell</td>" in section
    assert "<code>\\HThreeIncidentsP</code>" in section and "→ 0.012" in section
    assert '<td class="num">—</td><td class="num">→ 1.25' in section  # a new number
    assert "10_hypothesis-H1a: newly published (20 numbers)" in section
    quiet = site.changes_section([], "abc123")
    assert "no verdict and no cited number changed" in quiet
    many = [Change("number", "r", f"M{i}", "1", "2") for i in range(site.OPEN_CHANGES + 1)]
    assert "<details" in site.changes_section(many, "abc123")
    page = _landing(json.loads(FIXTURE.read_text(encoding="utf-8")), changes=section)
    assert '<a href="#changes">What changed</a>' in page and section in page


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
        (lambda h: h.update(schema=1), "column 'schema': unsupported headline schema; found 1"),
        (lambda h: h["rows"][0].pop("p"), r"rows\[0\] \(H1a\) lacks key\(s\) \['p'\]"),
        (lambda h: h["rows"][1].update(p="0.9"), r"column 'p': rows\[1\] \(H1a\): wrong type"),
        (lambda h: h["rows"][2].update(verdict="maybe"), "unknown verdict; found 'maybe'"),
        (
            lambda h: h["rows"][2].update(verdict_reasons=["bad luck"]),
            r"unknown verdict reason\(s\); found \['bad luck'\]",
        ),
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
    said = {**row, "verdict_sentence": "Oversized: it rejects 12% of samples.", "caveats": [
        "it rejects 12% of samples.", "Another caveat."]}  # fmt: skip
    box = site.verdict_box(said)  # a caveat the sentence already says is not said twice
    assert box.count("it rejects 12% of samples") == 1 and "Another caveat." in box
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
