"""The Gleditsch-Ward list of independent states → the canonical ``states`` table.

Read from peacesciencer's conversion of GW's ``iisystem.dat`` (2017 edition; shared
``global/crosswalks/PROVENANCE.md`` §4b): ``gwcode, stateabb, statename, startdate, enddate``.
A state can have several spells (Haiti, the Baltic states, Serbia ...), so the key is code and
start date. States still in the system when the list was compiled end on the list's last day
(2017-12-31); the panels treat that date as "still a state" and say so (``global_panel``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ._common import (
    ReadContext,
    finish_table,
    parse_date_series,
    parse_int_series,
    read_csv_table,
    require_filled,
    source_label,
)
from .contiguity import ISO_DATE

GW_STATE_COLUMNS = ("gwcode", "stateabb", "statename", "startdate", "enddate")


def read_gw_states(path: Path, root: Path | None = None) -> pd.DataFrame:
    """Read the GW state list (one row per state and spell of independence)."""
    path = Path(path)
    raw = read_csv_table(path, GW_STATE_COLUMNS)
    require_filled(raw, GW_STATE_COLUMNS, path)
    frame = pd.DataFrame(
        {
            "system": "gw",
            "code": parse_int_series(raw, "gwcode", path, minimum=1),
            "abbreviation": raw["stateabb"].str.strip(),
            "name": raw["statename"].str.strip(),
            "date_start": parse_date_series(raw, "startdate", path, ISO_DATE, "yyyy-mm-dd"),
            "date_end": parse_date_series(raw, "enddate", path, ISO_DATE, "yyyy-mm-dd"),
            "source_file": source_label(path, root),
            "source_row": raw["source_row"],
        }
    )
    return finish_table("states", frame)


def read_raw(paths: list[Path], ctx: ReadContext) -> pd.DataFrame:
    """Registry reader: the Gleditsch-Ward state list."""
    return read_gw_states(paths[0], root=ctx.root)
