"""Every name the registry uses has words for a reader, and verdicts read apart in grey."""

import tomllib

import pytest
from conftest import ROOT

from analysis import labels
from analysis.errors import ConfigError

REGISTRY = ROOT / "src" / "analysis" / "study" / "hypotheses.toml"


def _registry_names() -> tuple[set[str], set[str]]:
    """(terms, outcome measures) named in hypotheses.toml, read as data."""
    terms, outcomes = set(), set()
    for entry in tomllib.loads(REGISTRY.read_text(encoding="utf-8")).values():
        measure = entry["outcome"]["measure"]
        outcomes.add(measure)
        terms.add(entry["focal"])
        terms |= {p["name"] for p in entry.get("predictors", []) if "name" in p}
        terms |= set(entry.get("steps", {})) | set(entry.get("calendar", []))
        terms |= {f"{measure}_lag{k}" for k in entry.get("outcome_lags", [])}
        if entry.get("trend"):
            terms.add("trend")
        if entry.get("season") == "irrigation":
            terms.add("irrigation_season")
    return terms, outcomes


def test_every_term_predictor_step_and_outcome_of_the_registry_has_a_label():
    terms, outcomes = _registry_names()
    assert terms - labels.known("terms") == set(), "add these to [terms] in labels.toml"
    assert outcomes - labels.known("outcomes") == set(), "add these to [outcomes]"
    assert all(labels.term(t) != t for t in terms)


def test_unknown_names_are_shown_as_they_are():
    assert labels.term("brand_new_predictor") == "brand_new_predictor"
    assert labels.column("irr_low") == "IRR, lower 95%"
    assert labels.term("incidents_lag1") == "Incidents last month"
    assert labels.term("irrigation_months") == labels.term("irrigation_season")


def test_verdicts_are_a_closed_set_that_reads_in_grey():
    shown = labels.verdicts()
    assert [v.code for v in shown] == list(labels.VERDICT_CODES)
    assert len({v.symbol for v in shown}) == len(shown), "each verdict needs its own symbol"
    assert len({(v.marker, v.filled) for v in shown}) == len(shown), "and its own marker"
    assert len({v.label for v in shown}) == len(shown)
    with pytest.raises(ConfigError, match="unknown verdict 'maybe'"):
        labels.verdict("maybe")


def test_a_broken_label_file_is_refused(tmp_path):
    path = tmp_path / "labels.toml"
    path.write_text('[terms]\nx = "X"\n[columns]\ny = { label = "Y", format = "pct" }\n')
    with pytest.raises(ConfigError, match="format 'pct'"):
        labels._load(path)
    path.write_text('[terms]\nx = "X"\n[verdicts.evidence]\nlabel = "E"\n')
    with pytest.raises(ConfigError, match="must define exactly"):
        labels._load(path)
