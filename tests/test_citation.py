"""Every report, figure and table can be cited: software, the data it read, and the commit."""

import json

import pytest

from analysis.errors import ConfigError, DataError
from analysis.report import citation


@pytest.fixture
def reports(tmp_path):
    folder = tmp_path / "10_hypothesis-H1a"
    (folder / "figures").mkdir(parents=True)
    (folder / "figures" / "power.pdf").write_bytes(b"%PDF")
    manifest = {
        "inputs": {"incidents": "a" * 64, "indicators": "b" * 64},
        "git": {"commit": "abc123", "dirty": False},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path


def test_text_citation_names_software_commit_and_exactly_the_data_read(reports):
    text = citation.cite("10_hypothesis-H1a", reports)
    assert "commit abc123" in text and "version 0.1.0" in text
    assert "World Bank" in text and "SIPRI Military Expenditure Database 2025" in text  # indicators
    assert "Border-incident catalogue" in text  # incidents
    assert "Uppsala" not in text and "Davies" not in text  # conflict_years not read by this report


def test_bibtex_citation_of_a_figure(reports):
    text = citation.cite("10_hypothesis-H1a/figures/power", reports, fmt="bibtex")
    assert text.startswith("@software{analysis_10hypothesisH1a")
    assert "Report 10_hypothesis-H1a/figures/power, commit abc123" in text
    assert "@misc{wdi2026" in text and "@misc{bordercatalogue" in text


def test_unknown_report_item_or_format(reports):
    with pytest.raises(DataError, match="no published report 'nope'"):
        citation.cite("nope", reports)
    with pytest.raises(DataError, match="no item 'figures/missing'"):
        citation.cite("10_hypothesis-H1a/figures/missing", reports)
    with pytest.raises(ConfigError, match="unknown citation format"):
        citation.cite("10_hypothesis-H1a", reports, fmt="apa")


def test_how_to_cite_section_lists_commit_and_sources():
    text = citation.how_to_cite("90_summary", ["incidents"])
    assert (
        text.startswith("## How to cite")
        and "report `90_summary`" in text
        and "Border-incident catalogue" in text
    )
