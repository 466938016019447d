"""Event files a user downloads (UCDP GED, ACLED) reach `incidents` on refresh; nothing is skipped silently.

The fixtures are written here in the producers' official layouts (every value made up): GED's 49
columns, fully quoted or minimally quoted, dates with a midnight time, a source field spanning
lines; ACLED's export columns.
"""

from __future__ import annotations

import re
import shutil
import warnings

import pandas as pd
import pytest
from conftest import SHARED_DATA, requires_shared
from sources_fixtures_ucdp import (
    ACLED_HEADER,
    ACLED_RECORD,
    CODELIST,
    GED_HEADER,
    GED_RECORD,
    HEADERS,
    RECORDS,
    csv_text,
)

from analysis.cli import main
from analysis.data import databuild
from analysis.errors import DataError

CODELIST_FILE = "global/crosswalks/countrycode_codelist_without_cldr.csv"
GED_EVENTS = [
    {"id": "5", "best": "6", "low": "5", "high": "8"},
    {
        "id": "7",
        "best": "0",
        "low": "0",
        "high": "2",
        "date_start": "2021-04-30 00:00:00.000",
        "date_end": "2021-05-02 00:00:00.000",
        "date_prec": "2",
        "source_article": 'Agency X, "Clash",\n30 April 2021;\nAgency Y, 1 May 2021',
    },
    {"id": "9", "best": "13", "low": "11", "high": "20", "gwnob": "", "side_b": "Group C"},
]
ACLED_EVENTS = [
    {"event_id_cnty": "KGZ101", "fatalities": "6"},
    {"event_id_cnty": "TJK202", "iso": "762", "fatalities": "2", "event_date": "2022-09-16"},
]


def ged_text(quote_all: bool = True, newline: str = "\n") -> str:
    records = [{**GED_RECORD, **event} for event in GED_EVENTS]
    return csv_text(GED_HEADER, records, quote_all=quote_all, newline=newline)


def acled_text() -> str:
    records = [{**ACLED_RECORD, **event} for event in ACLED_EVENTS]
    for record in records:
        record["year"] = record["event_date"][:4]
    return csv_text(ACLED_HEADER, records)


def registry_of(tmp_path, *ids: str):
    """The real registry cut down to the entries ``ids`` (and the real [[unread]] list)."""
    blocks = re.split(r"(?m)^(?=\[)", databuild.SOURCES_FILE.read_text(encoding="utf-8"))
    kept = [
        block
        for block in blocks
        if block.startswith("[[unread]]")
        or ((name := re.match(r"\[(\w+)\]", block)) and name[1] in ids)
    ]
    path = tmp_path / "registry.toml"
    path.write_text("".join(kept), encoding="utf-8")
    assert set(databuild.load_sources(path)) == set(ids)
    return path


@pytest.fixture
def raw(tmp_path):
    """A raw root with the code list and one ACD conflict-year file where the registry wants them."""
    root = tmp_path / "raw"
    (root / "global" / "crosswalks").mkdir(parents=True)
    (root / CODELIST_FILE).write_text(CODELIST, encoding="utf-8")
    (root / "global" / "ucdp").mkdir()
    acd = csv_text(HEADERS["acd"], [RECORDS["acd"]])
    (root / "global" / "ucdp" / "UcdpPrioConflict_v25_1.csv").write_text(acd, encoding="utf-8")
    (root / "global" / "PROVENANCE.md").write_text("where the files came from\n")
    (root / "global" / ".DS_Store").write_bytes(b"\0")
    return root


@pytest.fixture
def registry(tmp_path):
    return registry_of(tmp_path, "countrycode", "ucdp", "ucdp_ged", "acled")


def put(raw, relative: str, text: str):
    path = raw / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def build(raw, out, registry):
    with warnings.catch_warnings():
        warnings.simplefilter("error", databuild.UnknownRawFiles)
        return databuild.build(raw, out, registry)


def test_absent_event_files_leave_no_trace_and_are_reported_not_present(raw, registry, tmp_path):
    manifest = build(raw, tmp_path / "out", registry)
    assert set(manifest["sources"]) == {"countrycode", "ucdp"}
    assert "incidents" not in manifest["tables"]
    assert "sundberg2013" not in (tmp_path / "out" / "sources.bib").read_text()
    absent = databuild.not_present(manifest, databuild.load_sources(registry))
    assert [source.id for source in absent] == ["ucdp_ged", "acled"]


@pytest.mark.parametrize(
    "quote_all, newline",
    [(True, "\n"), (False, "\n"), (True, "\r\n")],
    ids=["quoted", "minimal", "crlf"],
)
@pytest.mark.slow
def test_an_official_ged_file_becomes_events_with_its_count_and_deaths(
    raw, registry, tmp_path, quote_all, newline
):
    text = ged_text(quote_all, newline)
    assert text.count("00:00:00.000") == 2 * len(GED_EVENTS)
    assert len(text.splitlines()[0].split(",")) == 49
    put(raw, "global/ucdp_ged/GEDEvent_v23_1.csv", text)
    manifest = build(raw, tmp_path / "out", registry)
    assert manifest["tables"]["incidents"]["sources"] == ["ucdp_ged"]
    assert list(manifest["sources"]["ucdp_ged"]["raw_files"]) == [
        "global/ucdp_ged/GEDEvent_v23_1.csv"
    ]
    events = pd.read_csv(tmp_path / "out" / "incidents.csv", dtype=str, keep_default_na=False)
    assert len(events) == len(GED_EVENTS)
    assert events["fatalities"].astype(int).sum() == sum(int(e["best"]) for e in GED_EVENTS)
    assert events["fatalities_high"].astype(int).sum() == 30
    row = events.set_index("incident_id").loc["GED-7"]
    assert (row["date_start"], row["date_end"], row["date_precision"]) == (
        "2021-04-30",
        "2021-05-02",
        "day",
    )
    assert row["secondary_sources"] == 'Agency X, "Clash",\n30 April 2021;\nAgency Y, 1 May 2021'
    assert (row["source_reference"], row["source_file"]) == (
        "UCDP GED 23.1 id 7",
        "global/ucdp_ged/GEDEvent_v23_1.csv",
    )
    assert events.set_index("incident_id").loc["GED-9", "source_row"] == "6", (
        "lines counted through the quoted line breaks"
    )
    assert "sundberg2013" in (tmp_path / "out" / "sources.bib").read_text()


@pytest.mark.slow
def test_an_acled_export_becomes_events_with_countries_from_the_code_list(raw, registry, tmp_path):
    put(raw, "global/acled/acled_central_asia_2021_2022.csv", acled_text())
    manifest = build(raw, tmp_path / "out", registry)
    assert set(manifest["sources"]) == {"countrycode", "ucdp", "acled"}
    events = pd.read_csv(tmp_path / "out" / "incidents.csv", dtype=str, keep_default_na=False)
    assert events["incident_id"].tolist() == ["ACLED-KGZ101", "ACLED-TJK202"]
    assert events["country"].tolist() == ["KGZ", "TJK"]
    assert events["fatalities"].astype(int).sum() == 8
    assert set(events["source_dataset"]) == {"acled"}


def test_a_file_no_entry_knows_is_named_in_a_warning(raw, registry, tmp_path):
    put(raw, "global/GEDEvent_v23_1.csv", ged_text())
    put(raw, "global/ucdp_ged/README.md", "notes on the download\n")
    with pytest.warns(databuild.UnknownRawFiles, match=r"1 file\(s\)") as caught:
        manifest = databuild.build(raw, tmp_path / "out", registry)
    message = str(caught[0].message)
    assert "global/GEDEvent_v23_1.csv" in message and "global/ucdp_ged/" in message
    assert "README.md" not in message and ".DS_Store" not in message
    assert "ucdp_ged" not in manifest["sources"], "a misplaced file is not read"


def test_a_ged_file_in_the_conflict_year_folder_names_both_datasets(raw, registry, tmp_path):
    put(raw, "global/ucdp/GEDEvent_v23_1.csv", ged_text())
    with pytest.raises(DataError) as caught:
        databuild.build(raw, tmp_path / "out", registry)
    message = str(caught.value)
    assert "GEDEvent_v23_1.csv, line 1: header matches no UCDP conflict-year dataset" in message
    assert "read as [ucdp] (UCDP/PRIO Armed Conflict Dataset" in message
    assert "its header is that of [ucdp_ged] (UCDP Georeferenced Event Dataset" in message
    assert "global/ucdp_ged/*.csv: move the file there" in message
    assert not (tmp_path / "out").exists()


def test_a_conflict_year_file_in_the_ged_folder_names_the_dataset_expected_there(
    raw, registry, tmp_path
):
    shutil.copy(raw / "global/ucdp/UcdpPrioConflict_v25_1.csv", raw / "acd.csv")
    put(raw, "global/ucdp_ged/UcdpPrioConflict_v25_1.csv", (raw / "acd.csv").read_text())
    (raw / "acd.csv").unlink()
    with pytest.raises(DataError) as caught:
        databuild.build(raw, tmp_path / "out", registry)
    message = str(caught.value)
    assert "line 1, column 'id': missing column(s)" in message
    assert "read as [ucdp_ged] (UCDP Georeferenced Event Dataset" in message
    assert "its header is that of [ucdp] (UCDP/PRIO Armed Conflict Dataset" in message


def test_an_unread_entry_without_a_reason_is_refused(tmp_path):
    path = tmp_path / "registry.toml"
    path.write_text('[[unread]]\nfiles = ["**/*.md"]\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"\[\[unread\]\] entry 1 is malformed"):
        databuild.load_unread(path)


@requires_shared
def test_every_shared_raw_file_is_read_or_listed_as_unread_and_never_both():
    sources = databuild.load_sources()
    used = {s.id: databuild.resolve_files(s, SHARED_DATA) for s in sources.values()}
    used = {source_id: paths for source_id, paths in used.items() if paths}
    unread = databuild.load_unread()
    assert databuild.unknown_files(SHARED_DATA, used, unread) == []
    listed = {p.resolve() for pattern in unread for p in SHARED_DATA.glob(pattern)}
    read = {p.resolve() for paths in used.values() for p in paths}
    assert listed and not listed & read, "a file read by an entry is still listed as unread"
    assert {"ucdp_ged", "acled"}.isdisjoint(used), "no event file in the shared raw data"


@pytest.mark.slow
@requires_shared
def test_data_build_with_a_ged_download_in_its_folder(tmp_path, capsys):
    raw = tmp_path / "raw"
    shutil.copytree(SHARED_DATA, raw)
    put(raw, "global/ucdp_ged/GEDEvent_v23_1.csv", ged_text(quote_all=False))
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("error", databuild.UnknownRawFiles)
        assert main(["data", "build", "--raw", str(raw), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "acled                    not present (optional" in printed
    assert "ucdp_ged" not in printed
    events = pd.read_csv(out / "incidents.csv", dtype=str, keep_default_na=False)
    ged = events[events["source_dataset"] == "ucdp_ged"]
    assert len(ged) == len(GED_EVENTS)
    assert ged["fatalities"].astype(int).sum() == sum(int(e["best"]) for e in GED_EVENTS)
    assert (events["source_dataset"] == "catalogue").sum() > 50, "the catalogue is still there"
