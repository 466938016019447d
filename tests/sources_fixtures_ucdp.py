"""Small synthetic files in the UCDP, GED, ACLED and countrycode layouts, for the reader tests.

Every value here is made up for tests; only the column layouts copy the producers' files.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from analysis.data.sources.countries import read_countrycode_codelist

# Headers exactly as in the shared v23.1/v24.1/v25.1 files (global/ucdp/*.csv).
HEADERS = {
    "acd": "conflict_id,location,side_a,side_a_id,side_a_2nd,side_b,side_b_id,side_b_2nd,"
    "incompatibility,territory_name,year,intensity_level,cumulative_intensity,type_of_conflict,"
    "start_date,start_prec,start_date2,start_prec2,ep_end,ep_end_date,ep_end_prec,gwno_a,"
    "gwno_a_2nd,gwno_b,gwno_b_2nd,gwno_loc,region,version",
    "dyadic": "dyad_id,conflict_id,location,side_a,side_a_id,side_a_2nd,side_b,side_b_id,"
    "side_b_2nd,incompatibility,territory_name,year,intensity_level,type_of_conflict,"
    "start_date,start_prec,start_date2,start_prec2,gwno_a,gwno_a_2nd,gwno_b,gwno_b_2nd,gwno_loc,"
    "region,version",
    "brd": "conflict_id,dyad_id,location_inc,side_a,side_a_id,side_a_2nd,side_b,side_b_id,"
    "side_b_2nd,incompatibility,territory_name,year,bd_best,bd_low,bd_high,type_of_conflict,"
    "battle_location,gwno_a,gwno_a_2nd,gwno_b,gwno_b_2nd,gwno_loc,gwno_battle,region,version",
    "nonstate": "conflict_id,dyad_id,org,side_a_name,side_a_name_fulltext,side_a_name_mothertongue,"
    "side_a_id,side_a_components,side_a_2nd,gwno_a_2nd,side_b_name,side_b_name_fulltext,"
    "side_b_name_mothertongue,side_b_id,side_b_components,side_b_2nd,gwno_b_2nd,start_date,"
    "start_prec,start_date2,start_prec2,ep_end,ep_end_date,ep_end_prec,year,"
    "best_fatality_estimate,low_fatality_estimate,high_fatality_estimate,location,gwno_location,"
    "region,version",
    "onesided": "conflict_id,dyad_id,actor_id,coalition_components,actor_name,actor_name_fulltext,"
    "actor_name_mothertongue,year,best_fatality_estimate,low_fatality_estimate,"
    "high_fatality_estimate,is_government_actor,location,gwno_location,gwnoa,region,version",
}
HEADERS = {name: header.split(",") for name, header in HEADERS.items()}

# One made-up record per dataset (columns not named stay blank).
RECORDS = {
    "acd": {
        "conflict_id": "900",
        "location": "Kyrgyzstan, Tajikistan",
        "side_a": "Government of A",
        "side_b": "Government of B",
        "incompatibility": "1",
        "territory_name": "Border",
        "year": "2021",
        "intensity_level": "1",
        "cumulative_intensity": "0",
        "type_of_conflict": "2",
        "start_date": "2014-07-10",
        "ep_end": "1",
        "ep_end_date": "2021-05-01",
        "gwno_a": "703",
        "gwno_b": "702",
        "gwno_loc": "702, 703",
        "region": "3",
        "version": "25.1",
    },
    "dyadic": {
        "dyad_id": "901",
        "conflict_id": "900",
        "location": "Kyrgyzstan, Tajikistan",
        "side_a": "Government of A",
        "side_b": "Government of B",
        "incompatibility": "1",
        "territory_name": "Border",
        "year": "2021",
        "intensity_level": "1",
        "type_of_conflict": "2",
        "start_date": "2014-07-10",
        "gwno_a": "703",
        "gwno_b": "702",
        "gwno_loc": "702, 703",
        "region": "3",
        "version": "24.1",
    },
    "brd": {
        "conflict_id": "900",
        "dyad_id": "901",
        "location_inc": "Kyrgyzstan, Tajikistan",
        "side_a": "Government of A",
        "side_b": "Government of B",
        "incompatibility": "1",
        "territory_name": "Border",
        "year": "2021",
        "bd_best": "50",
        "bd_low": "40",
        "bd_high": "60",
        "type_of_conflict": "2",
        "gwno_a": "703",
        "gwno_b": "702",
        "gwno_loc": "702, 703",
        "gwno_battle": "703, 702",
        "region": "3",
        "version": "24.1",
    },
    "nonstate": {
        "conflict_id": "910",
        "dyad_id": "911",
        "org": "3",
        "side_a_name": "Group A",
        "side_b_name": "Group B",
        "start_date": "2010-06-10",
        "ep_end": "1",
        "ep_end_date": "2010-06-14",
        "year": "2010",
        "best_fatality_estimate": "44",
        "low_fatality_estimate": "44",
        "high_fatality_estimate": "468",
        "location": "Kyrgyzstan",
        "gwno_location": "703",
        "region": "3",
        "version": "23.1",
    },
    "onesided": {
        "conflict_id": "920",
        "dyad_id": "921",
        "actor_id": "77",
        "actor_name": "Group C",
        "year": "1992",
        "best_fatality_estimate": "30",
        "low_fatality_estimate": "",
        "high_fatality_estimate": "35",
        "is_government_actor": "0",
        "location": "Tajikistan",
        "gwno_location": "702",
        "gwnoa": "",
        "region": "3",
        "version": "23.1",
    },
}

GED_HEADER = [
    "id",
    "relid",
    "year",
    "active_year",
    "code_status",
    "type_of_violence",
    "conflict_dset_id",
    "conflict_new_id",
    "conflict_name",
    "dyad_dset_id",
    "dyad_new_id",
    "dyad_name",
    "side_a_dset_id",
    "side_a_new_id",
    "side_a",
    "side_b_dset_id",
    "side_b_new_id",
    "side_b",
    "number_of_sources",
    "source_article",
    "source_office",
    "source_date",
    "source_headline",
    "source_original",
    "where_prec",
    "where_coordinates",
    "where_description",
    "adm_1",
    "adm_2",
    "latitude",
    "longitude",
    "geom_wkt",
    "priogrid_gid",
    "country",
    "country_id",
    "region",
    "event_clarity",
    "date_prec",
    "date_start",
    "date_end",
    "deaths_a",
    "deaths_b",
    "deaths_civilians",
    "deaths_unknown",
    "best",
    "high",
    "low",
    "gwnoa",
    "gwnob",
]
GED_RECORD = {
    "id": "1001",
    "relid": "KYR-2021-1-1-1",
    "year": "2021",
    "active_year": "1",
    "code_status": "Clear",
    "type_of_violence": "1",
    "conflict_new_id": "900",
    "conflict_name": "Kyrgyzstan - Tajikistan",
    "dyad_new_id": "901",
    "dyad_name": "Government of A - Government of B",
    "side_a": "Government of A",
    "side_b": "Government of B",
    "number_of_sources": "2",
    "source_article": "Agency X, 29 April 2021",
    "source_office": "Agency X",
    "source_date": "2021-04-29",
    "source_headline": "Clash at the border",
    "where_prec": "1",
    "where_coordinates": "Village K",
    "where_description": "Village K, district L",
    "adm_1": "Region M",
    "adm_2": "District L",
    "latitude": "39.9",
    "longitude": "70.6",
    "geom_wkt": "POINT (70.6 39.9)",
    "priogrid_gid": "180142",
    "country": "Kyrgyzstan",
    "country_id": "703",
    "region": "Europe",
    "event_clarity": "1",
    "date_prec": "1",
    "date_start": "2021-04-29 00:00:00.000",
    "date_end": "2021-04-29 00:00:00.000",
    "deaths_a": "3",
    "deaths_b": "2",
    "deaths_civilians": "1",
    "deaths_unknown": "0",
    "best": "6",
    "high": "8",
    "low": "5",
    "gwnoa": "703",
    "gwnob": "702",
}

ACLED_HEADER = [
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "disorder_type",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "civilian_targeting",
    "iso",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "tags",
    "timestamp",
]
ACLED_RECORD = {
    "event_id_cnty": "KGZ101",
    "event_date": "2021-04-29",
    "year": "2021",
    "time_precision": "1",
    "disorder_type": "Political violence",
    "event_type": "Battles",
    "sub_event_type": "Armed clash",
    "actor1": "Military Forces of A",
    "assoc_actor_1": "Police Forces of A",
    "inter1": "1",
    "actor2": "Military Forces of B",
    "assoc_actor_2": "",
    "inter2": "1",
    "interaction": "11",
    "civilian_targeting": "",
    "iso": "417",
    "region": "Caucasus and Central Asia",
    "country": "Kyrgyzstan",
    "admin1": "Region M",
    "admin2": "District L",
    "admin3": "",
    "location": "Village K",
    "latitude": "39.9",
    "longitude": "70.6",
    "geo_precision": "1",
    "source": "Agency X; Agency Y",
    "source_scale": "National",
    "notes": "Border guards exchanged fire.",
    "fatalities": "6",
    "tags": "",
    "timestamp": "1620000000",
}

# A five-country code list in the countrycode layout (only the columns the readers use).
CODELIST = (
    "iso3c,country.name.en,gwn,cown,region,iso3n\n"
    "CHN,China,710,710,East Asia & Pacific,156\n"
    "KGZ,Kyrgyzstan,703,703,Europe & Central Asia,417\n"
    "RUS,Russia,365,365,Europe & Central Asia,643\n"
    "TJK,Tajikistan,702,702,Europe & Central Asia,762\n"
    "UZB,Uzbekistan,704,704,Europe & Central Asia,860\n"
)


def csv_text(header, records, *, delimiter=",", quote_all=False, newline="\n") -> str:
    """Records (dicts; missing keys blank) as delimited text, quoted as the producers do."""
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=delimiter,
        lineterminator=newline,
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
    )
    writer.writerow(header)
    writer.writerows([[record.get(column, "") for column in header] for record in records])
    return buffer.getvalue()


def small_countries(tmp_path: Path):
    """The canonical country table read from :data:`CODELIST`."""
    path = tmp_path / "codelist.csv"
    path.write_text(CODELIST, encoding="utf-8")
    return read_countrycode_codelist(path)
