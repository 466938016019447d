"""The results store: each test computed once per content key, read back by every reader, with
the registry's corrections and verdicts over whatever is stored."""

from dataclasses import replace

import pytest
from conftest import MINIMAL_ENTRY, assert_same_result, synthetic_tables

from analysis import executors
from analysis.results import Failure
from analysis.study import hypotheses, registry, store
from analysis.study.settings import TestSettings

FAST = TestSettings(n_perm=199, n_perm_sim=99, n_size=40, n_power=20, n_interval=49)


def entry(name: str, **changes):
    return registry.parse_entry(name, {**MINIMAL_ENTRY, "outcome_lags": [1], **changes})


def two_entries() -> dict:
    return {"HX": entry("HX"), "HY": entry("HY", multiplicity="G")}


def test_a_stored_test_is_read_back_not_recomputed(monkeypatch):
    tables, kept = synthetic_tables(0.3, seed=3), store.ResultStore(None)
    first = store.registry_results(two_entries(), tables, FAST, only=["HX"], store=kept)

    def refuse(*args, **kwargs):
        raise AssertionError("computed again")

    monkeypatch.setattr(hypotheses, "assess", refuse)
    again = store.registry_results(two_entries(), tables, FAST, only=["HX"], store=kept)
    assert store.digests(again) == store.digests(first)
    assert again.get("HX").content_key == first.get("HX").content_key != ""


def test_the_store_keeps_results_on_disk_for_another_process(tmp_path):
    tables = synthetic_tables(0.3, seed=3)
    first = store.registry_results(two_entries(), tables, FAST, store=store.ResultStore(tmp_path))
    files = sorted(tmp_path.rglob("*.pkl"))
    assert len(files) == 2 and not list(tmp_path.rglob("*.tmp"))
    stored = store.ResultStore(tmp_path).get(files[0].stem)
    assert stored.outcome.content_key == files[0].stem and stored.seconds > 0
    again = store.registry_results(two_entries(), tables, FAST, store=store.ResultStore(tmp_path))
    assert [r.test.p_value for r in again.results] == [r.test.p_value for r in first.results]
    files[0].write_bytes(b"not a pickle")  # unreadable: recomputed, never an error
    store.registry_results(two_entries(), tables, FAST, store=store.ResultStore(tmp_path))
    assert store.ResultStore(tmp_path).get(files[0].stem) is not None


def test_a_key_changes_with_what_decides_the_numbers_and_nothing_else():
    study, tables = registry.load_study(), synthetic_tables(0.3).digests()
    spec = entry("HX").on("catalogue")
    base = store.key_parts(spec, study, tables, FAST)
    assert store.key_parts(spec, study, tables, FAST) == base
    changed = [
        store.key_parts(replace(spec, outcome_lags=(1, 2)), study, tables, FAST),
        store.key_parts(spec, study, tables, replace(FAST, n_perm=99)),
        store.key_parts(spec, study, {**tables, "incidents": "other"}, FAST),
    ]
    assert all(store._sha(parts) != store._sha(base) for parts in changed)
    # a table the test does not read is not part of its key
    assert store.key_parts(spec, study, {**tables, "conflict_years": "other"}, FAST) == base
    assert base["code"] == store.code_fingerprint() and len(base["code"]) == 64


def test_the_code_of_a_test_is_the_engine_and_what_it_imports():
    source = store.Path(store.__file__).parents[1]
    closure = store.provenance.import_closure(store.ENGINE, store.provenance.import_edges(source))
    assert {
        "analysis.study.hypotheses",
        "analysis.inference.small_sample",
        "analysis.models.batch",
    } <= closure
    assert "analysis" in closure  # the package's __init__ runs on every import
    assert (
        not {"analysis.report.figures", "analysis.report.site", "analysis.runner.orchestrate"}
        & closure
    )


@pytest.mark.slow
def test_a_p_value_alone_is_the_calibrated_tests_p_value():
    """Tests outside ``only`` contribute p-values computed without calibration: they must be
    the very numbers the calibrated test reports, or a subset would correct differently."""
    tables = synthetic_tables(0.3, seed=5)
    calibrated = store.registry_results(two_entries(), tables, FAST)
    alone = store.registry_results(two_entries(), tables, replace(FAST, calibrate=False))
    for full, quick in zip(calibrated.results, alone.results):
        assert full.test.p_value == quick.test.p_value
        assert full.p_adjusted == quick.p_adjusted
    subset = store.registry_results(two_entries(), tables, FAST, only=["HY"])
    assert subset.get("HY").p_adjusted == calibrated.get("HY").p_adjusted


def test_a_test_the_data_cannot_support_is_stored_as_a_failure():
    broken = entry("HZ", predictors=[{"indicator": "NOPE", "iso3": "TJK", "name": "x"}])
    kept = store.ResultStore(None)
    results = store.registry_results({"HZ": broken}, synthetic_tables(0.0), FAST, store=kept)
    (failure,) = results.failures
    assert isinstance(failure, Failure) and "NOPE" in failure.reason
    assert kept.get(failure.content_key).outcome == failure


def test_digests_follow_exactly_what_a_report_shows():
    results = store.registry_results(two_entries(), synthetic_tables(0.3, seed=3), FAST)
    before = store.digests(results)
    assert set(before) == {"HX", "HY", "*"}
    hx = results.get("HX")
    moved = replace(results, results=(hx.with_adjusted(holm_family=0.5), results.get("HY")))
    after = store.digests(moved)
    assert after["HX"] != before["HX"] and after["*"] != before["*"]
    assert after["HY"] == before["HY"]


def test_unknown_ids_are_refused():
    with pytest.raises(store.ConfigError, match="no registered hypothesis"):
        store.registry_results(two_entries(), synthetic_tables(0.0), FAST, only=["H9"])


@pytest.mark.slow
def test_tests_computed_in_parallel_are_the_tests_computed_here(shipped_tables):
    shipped = shipped_tables
    entries = {k: v for k, v in registry.load_registry().items() if k in ("H1b", "H3", "H5")}
    here = store.registry_results(entries, shipped, FAST)
    with executors.open("fork", jobs=2) as pool:
        there = store.registry_results(entries, shipped, FAST, executor=pool)
    assert store.digests(here) == store.digests(there)
    for one, two in zip(here.results, there.results):
        assert_same_result(one, two)


def test_the_code_fingerprint_is_kept_under_the_hash_of_every_package_file(tmp_path, monkeypatch):
    """A warm command hashes the files instead of parsing every module: the kept fingerprint is
    read back (here a planted one), and the parsed one is what is kept."""
    monkeypatch.setenv("ANALYSIS_RESULTS_DIR", str(tmp_path))
    store.code_fingerprint.cache_clear()
    computed = store.code_fingerprint()
    (kept,) = (tmp_path / "code").iterdir()
    assert kept.read_text(encoding="utf-8") == computed
    kept.write_text("planted", encoding="utf-8")
    store.code_fingerprint.cache_clear()
    assert store.code_fingerprint() == "planted"
    store.code_fingerprint.cache_clear()
