"""The shipped tables rebuild byte-identically from the raw files; a failed build writes nothing."""

import shutil

import pytest
from conftest import ROOT, SHARED_DATA, requires_shared

from analysis import provenance
from analysis.data import databuild, datasets, schema
from analysis.errors import DataError


def test_every_registry_entry_names_a_reader():
    for source in databuild.load_sources().values():
        assert source.reader.rpartition(".")[2].startswith(databuild.READER_PREFIX), source.id


def test_every_registry_entry_has_citation_and_licence():
    for source in databuild.load_sources().values():
        assert source.licence and source.citation and source.bibtex.strip().startswith("@"), (
            source.id
        )


@pytest.mark.slow
@requires_shared
def test_committed_tables_rebuild_byte_identically(tmp_path):
    manifest = databuild.build(SHARED_DATA, tmp_path)
    for name in [
        "manifest.json",
        "README.md",
        "sources.bib",
        *(e["file"] for e in manifest["tables"].values()),
    ]:
        committed = ROOT / "data" / name
        assert committed.read_bytes() == (tmp_path / name).read_bytes(), (
            f"data/{name} differs from a fresh build: "
            "run `analysis data build --raw ../shared/data` and commit"
        )


@requires_shared
def test_manifest_records_raw_checksums_and_rows():
    manifest = datasets.read_manifest()
    raw = manifest["sources"]["catalogue"]["raw_files"]
    assert any(path.startswith("incidents/border_incidents_catalogue") for path in raw)
    for path, digest in raw.items():
        assert provenance.sha256_file(SHARED_DATA / path) == digest
    assert manifest["tables"]["incidents"]["rows"] == len(datasets.load("incidents"))


@pytest.mark.slow
@requires_shared
def test_failed_build_leaves_the_output_folder_untouched(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(SHARED_DATA, raw)
    out = tmp_path / "out"
    databuild.build(raw, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    catalogue = raw / "incidents" / "border_incidents_catalogue_pages.csv"
    catalogue.chmod(0o644)
    text = catalogue.read_text(encoding="utf-8")
    catalogue.write_text(
        text.replace("2013-05-31,2013-05-31", "2013-05-31,2013-02-30", 1), encoding="utf-8"
    )
    with pytest.raises(
        DataError, match=r"border_incidents_catalogue_pages.csv, line \d+, column 'date_end'"
    ):
        databuild.build(raw, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_missing_raw_folder_and_missing_raw_file(tmp_path):
    with pytest.raises(DataError, match="raw data folder not found"):
        databuild.build(tmp_path / "nope", tmp_path / "out")
    (tmp_path / "raw").mkdir()
    with pytest.raises(DataError, match="not found"):
        databuild.build(tmp_path / "raw", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_built_files_are_world_readable():
    for path in (ROOT / "data").iterdir():
        assert path.stat().st_mode & 0o044 == 0o044, path


def test_every_documented_table_documents_exactly_its_contract_columns():
    for table, docs in schema.COLUMN_DOCS.items():
        assert list(docs) == schema.columns(table), table
        assert all(text.strip() for text in docs.values()), table


@requires_shared
def test_the_coverage_table_is_built_listed_and_documented():
    manifest = datasets.read_manifest()
    entry = manifest["tables"]["incident_coverage"]
    assert entry["sources"] == ["aggregate_claims", "catalogue"]  # the sources of its inputs
    coverage = datasets.load("incident_coverage")
    assert entry["rows"] == len(coverage)
    dyads = set(datasets.load("incidents")["dyad"].dropna())
    assert set(coverage["dyad"]) == dyads
    assert len(coverage) == len(dyads) * coverage["year"].nunique()
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    assert "`incident_coverage.csv`" in readme and "| `status` |" in readme
