"""Scale benchmark: reading a UCDP GED-sized event file into the ``incidents`` table.

UCDP GED itself is not in the raw data (too large for the public copies, global/PROVENANCE.md
§5), so this writes a *generated* file in GED's own layout (every column ``read_ucdp_ged``
reads, ~400,000 events by default, dates 1989-2023 with GED's date precisions, events located
in the shipped GW states) to a temporary folder, then times and measures
``ucdp.read_ucdp_ged``: the file to the ``incidents`` table (parsing and contract checks).

Time is wall-clock; memory is the process's peak resident set size (``getrusage``) once the
read is done, so it includes everything before it (``tracemalloc`` would slow the parsing about
fivefold and distort the times). The generated file is deleted afterwards. Run: ``python benchmarks/bench_ucdp_ged.py
[--events N] [--seed S]``; it uses the shipped ``data/`` (countries and states).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data import datasets
from analysis.data.sources.ucdp import GED_COLUMNS, read_ucdp_ged
from analysis.panels.global_panel import state_years


def generate_ged(
    path: Path, n: int, states: pd.DataFrame, countries: pd.DataFrame, seed: int
) -> None:
    """Write ``n`` events in GED's layout: located in GW states alive in the event's year."""
    rng = np.random.default_rng(seed)
    alive = state_years(states, countries, 1989, 2023).dropna(subset=["iso3"])
    pick = alive.iloc[rng.integers(len(alive), size=n)]
    start = pd.to_datetime(pick["year"].astype(str).to_numpy()) + pd.to_timedelta(
        rng.integers(0, 365, n), unit="D"
    )
    span = pd.to_timedelta(rng.choice([0, 0, 0, 1, 5, 20], n), unit="D")
    best = rng.negative_binomial(0.5, 0.1, n)
    gw = pick["gwno"].to_numpy()
    interstate = rng.random(n) < 0.02
    columns = {
        "id": np.arange(1, n + 1),
        "type_of_violence": rng.choice([1, 2, 3], n, p=[0.6, 0.2, 0.2]),
        "side_a": "Government of " + pick["iso3"].to_numpy(),
        "side_b": np.where(interstate, "Government of neighbour", "armed group"),
        "source_article": "generated",
        "source_date": start.strftime("%Y-%m-%d"),
        "source_headline": "generated event",
        "where_coordinates": "a place",
        "where_description": "",
        "adm_1": "a province",
        "adm_2": "",
        "latitude": rng.uniform(-60, 70, n).round(4),
        "longitude": rng.uniform(-180, 180, n).round(4),
        "country_id": gw,
        "date_prec": rng.choice([1, 2, 3, 4, 5], n, p=[0.7, 0.1, 0.1, 0.07, 0.03]),
        "date_start": start.strftime("%Y-%m-%d"),
        "date_end": (start + span).strftime("%Y-%m-%d"),
        "deaths_a": best // 2,
        "deaths_b": best - best // 2,
        "deaths_civilians": 0,
        "deaths_unknown": 0,
        "best": best,
        "high": best + rng.integers(0, 5, n),
        "low": best,
        "gwnoa": gw,
        "gwnob": np.where(interstate, gw[rng.permutation(n)], -1),
    }
    frame = pd.DataFrame(columns)[list(GED_COLUMNS)]
    frame["gwnob"] = frame["gwnob"].astype("Int64").where(frame["gwnob"] > 0)
    frame.to_csv(path, index=False)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # kilobytes on Linux


def measure(label: str, step):
    """Run ``step``, print its wall time and the process's peak memory so far, return its result."""
    started = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - started
    print(f"{label:<36} {seconds:8.2f} s   peak resident memory so far {peak_rss_mib():7.0f} MiB")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events", type=int, default=400_000, help="events to generate (default 400,000)"
    )
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the generated file")
    args = parser.parse_args(argv)
    countries, states = datasets.load("countries"), datasets.load("states")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "GEDEvent_v24_1.csv"
        generate_ged(path, args.events, states, countries, args.seed)
        print(
            f"generated {args.events:,} events in GED's layout: {path.stat().st_size / 2**20:.0f} MiB "
            f"(peak resident memory so far {peak_rss_mib():.0f} MiB)"
        )
        incidents = measure(
            "read_ucdp_ged (parse + contract)", lambda: read_ucdp_ged(path, countries)
        )
    assert len(incidents) == args.events, f"{len(incidents):,} of {args.events:,} events read"
    print(f"every one of the {args.events:,} events read")
    return 0


if __name__ == "__main__":
    sys.exit(main())
