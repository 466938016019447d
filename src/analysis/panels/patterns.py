"""Descriptive views of the incident data: what the catalogue holds and what it misses.

Used by the data-audit and incident-pattern notebooks; every function takes canonical tables
and returns a tidy frame, so each number in those reports is computed (and tested) here.
"""

from __future__ import annotations

import pandas as pd

MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def yearly_counts(incidents: pd.DataFrame, dyads: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Catalogued incidents per year and dyad over the catalogue's span.

    A year without a row for a dyad is 0 when the catalogue holds rows for another dyad that
    year (collected, none found: a catalogue zero, not "none happened"); a year without any
    row is missing (not covered), as in the ``incident_coverage`` table.
    """
    rows = _catalogue(incidents)
    rows = rows if dyads is None else rows[rows["dyad"].isin(dyads)]
    years = rows["date_start"].str[:4].astype(int)
    table = rows.assign(year=years).pivot_table(
        index="year", columns="dyad", values="incident_id", aggfunc="count", fill_value=0
    )
    covered = _catalogue(incidents)["date_start"].str[:4].astype(int)
    table = table.reindex(range(covered.min(), covered.max() + 1)).astype("Int64")
    collected = table.index.isin(covered)
    table.loc[collected] = table.loc[collected].fillna(0)
    table.columns.name = None
    table.index.name = "year"
    return table


# Claimant kinds whose counts are official (a government or its border service).
OFFICIAL_KINDS = ("government", "border_service")


def catalogue_vs_claims(incidents: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """Every stated count of incidents beside the catalogue's rows for the same scope and days.

    Like with like: a full-year count is compared with the catalogue's rows of that dyad and
    year, a partial-year count ("2015 to 27 October", "first half of 2018") with the rows in the
    same days, never with the whole year. Counts over every Kyrgyz border (``dyad_scope``
    "KGZ (all borders)", which includes borders the catalogue does not cover) and multi-year
    totals are shown but get no share (``comparison`` says why). ``share_catalogued`` is
    catalogued / stated; above 1, the counter's rule is narrower than the catalogue's (or its
    count incomplete), and for a lower-bound count ("at least 32") it is an upper bound.
    Columns: claim_id, dyad_scope, counter, claimant_kind, counting_rule, period_kind,
    period_first, period_last, year, stated_incidents, incidents_bound, catalogued,
    share_catalogued, comparison (same_period, all_borders, multi_year, approximate_period),
    note.
    """
    rows = _catalogue(incidents)
    stated = claims[claims["incidents_stated"].notna()]
    out = []
    for claim in stated.itertuples(index=False):
        dated = isinstance(claim.period_first, str) and isinstance(claim.period_last, str)
        if claim.period_kind == "multi_year":
            comparison = "multi_year"
        elif pd.isna(claim.dyad):
            comparison = "all_borders"
        elif not dated:
            comparison = "approximate_period"
        else:
            comparison = "same_period"
        catalogued = pd.NA
        if comparison == "same_period":
            within = rows["date_start"].between(claim.period_first, claim.period_last)
            catalogued = int((within & rows["dyad"].eq(claim.dyad)).sum())
        out.append(
            {
                "claim_id": claim.claim_id,
                "dyad_scope": claim.dyad_scope,
                "counter": claim.counter,
                "claimant_kind": claim.claimant_kind,
                "counting_rule": claim.counting_rule,
                "period_kind": claim.period_kind,
                "period_first": claim.period_first,
                "period_last": claim.period_last,
                "year": int(claim.period_first[:4]) if claim.period_kind in _ONE_YEAR else pd.NA,
                "stated_incidents": int(claim.incidents_stated),
                "incidents_bound": claim.incidents_bound,
                "catalogued": catalogued,
                "comparison": comparison,
                "note": _comparison_note(comparison, claim, catalogued),
            }
        )
    columns = ["claim_id", "dyad_scope", "counter", "claimant_kind", "counting_rule", "period_kind",
               "period_first", "period_last", "year", "stated_incidents", "incidents_bound",
               "catalogued", "comparison", "note"]  # fmt: skip
    table = pd.DataFrame(out, columns=columns).astype({"year": "Int64", "catalogued": "Int64"})
    share = table["catalogued"].astype(float) / table["stated_incidents"].where(
        table["stated_incidents"] > 0
    )
    table.insert(table.columns.get_loc("comparison"), "share_catalogued", share)
    return table.sort_values(["dyad_scope", "period_first", "claim_id"]).reset_index(drop=True)


_ONE_YEAR = ("full_year", "partial_year")


def _comparison_note(comparison: str, claim, catalogued) -> str:
    if comparison == "multi_year":
        return "multi-year total: shown, not turned into a yearly share"
    if comparison == "all_borders":
        return (
            f"counts every border of {claim.dyad_scope[:3]} (some the catalogue does not "
            "cover): shown, not turned into a dyad share"
        )
    if comparison == "approximate_period":
        return "period not dated: no share"
    notes = []
    if claim.period_kind == "partial_year":
        notes.append(
            f"partial year: catalogue rows dated {claim.period_first} to {claim.period_last}"
        )
    if claim.incidents_bound == "lower_bound":
        notes.append("stated count is a lower bound: the share is an upper bound")
    if catalogued > claim.incidents_stated:
        notes.append(
            "the catalogue holds more than this counter counted: its rule is broader than the "
            "counter's (or the count incomplete); not a detection rate"
        )
    return "; ".join(notes)


#: The columns of ``detection_shares``, in order: one counter's statement beside what the
#: catalogue holds for the same dyad and period.
SHARE_COLUMNS = (
    "dyad",
    "counter",
    "claimant_kind",
    "year",
    "period_start",
    "period_end",
    "period_kind",
    "stated",
    "stated_bound",
    "catalogued_same_period",
    "share",
    "claim_ids",
    "note",
)


def detection_shares(incidents: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """The catalogue's share of each stated count it can be compared with, per counter.

    One row per dyad, counter and period with a stated count (full or partial year, dated,
    one dyad; unverified claims left out): ``stated`` incidents the counter counted,
    ``catalogued_same_period`` catalogue rows of the dyad dated in the same days, and
    ``share`` = catalogued / stated. Statements of the same count by the same counter (the
    border service's 9 for 2020, twice) are one row, their claims listed in ``claim_ids``.
    ``stated_bound`` says when ``stated`` is a lower bound (then ``share`` is an upper bound);
    a share above 1 means the counter counts less than the catalogue holds (its rule is
    narrower), not that the catalogue is complete. What coverage bounds may read.
    Columns: dyad, counter, claimant_kind, year, period_start, period_end, period_kind,
    stated, stated_bound, catalogued_same_period, share, claim_ids, note.
    """
    compared = catalogue_vs_claims(incidents, claims)
    compared = compared[
        compared["comparison"].eq("same_period") & compared["claimant_kind"].ne("unverified")
    ]
    key = ["dyad_scope", "counter", "period_first", "period_last", "stated_incidents"]
    grouped = compared.groupby(key, sort=False, dropna=False)
    table = grouped.agg(
        claimant_kind=("claimant_kind", "first"),
        year=("year", "first"),
        period_kind=("period_kind", "first"),
        stated_bound=("incidents_bound", "first"),
        catalogued_same_period=("catalogued", "first"),
        share=("share_catalogued", "first"),
        claim_ids=("claim_id", ", ".join),
        note=("note", "first"),
    ).reset_index()
    table = table.rename(
        columns={
            "dyad_scope": "dyad",
            "period_first": "period_start",
            "period_last": "period_end",
            "stated_incidents": "stated",
        }
    )
    return (
        table[list(SHARE_COLUMNS)]
        .sort_values(["dyad", "counter", "period_start"])
        .reset_index(drop=True)
    )


def worst_shares(shares: pd.DataFrame) -> pd.DataFrame:
    """For each dyad and counter, the period where the catalogue holds the smallest share of
    the stated count (of :func:`detection_shares`; ties go to the earliest period)."""
    ordered = shares.sort_values(["dyad", "counter", "share", "period_start"], kind="stable")
    return ordered.groupby(["dyad", "counter"], sort=True).head(1).reset_index(drop=True)


def worst_share(
    shares: pd.DataFrame, dyad: str, kinds: tuple[str, ...] = OFFICIAL_KINDS
) -> pd.Series:
    """The smallest share for ``dyad`` against counters of ``kinds`` (default: official
    counts, by a government or a border service): the row of :func:`detection_shares`."""
    rows = shares[shares["dyad"].eq(dyad) & shares["claimant_kind"].isin(kinds)]
    if rows.empty:
        raise ValueError(f"no stated count for {dyad} by a counter of kind {list(kinds)}")
    return rows.sort_values(["share", "period_start"], kind="stable").iloc[0]


def yearly_stated_counts(
    claims: pd.DataFrame, dyads: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Full-year counts stated for one dyad (the markers beside the yearly bars): dyad, year,
    stated_incidents, counter, claimant_kind, claim_id; only for ``dyads`` when given.
    Partial years, multi-year totals and all-border counts are left out, since a yearly bar
    cannot be compared with them."""
    rows = claims[
        claims["incidents_stated"].notna()
        & claims["dyad"].notna()
        & claims["period_kind"].eq("full_year")
        & claims["claimant_kind"].ne("unverified")
    ]
    rows = rows if dyads is None else rows[rows["dyad"].isin(dyads)]
    return pd.DataFrame(
        {
            "dyad": rows["dyad"],
            "year": rows["period_first"].str[:4].astype(int),
            "stated_incidents": rows["incidents_stated"].astype(int),
            "counter": rows["counter"],
            "claimant_kind": rows["claimant_kind"],
            "claim_id": rows["claim_id"],
        }
    ).reset_index(drop=True)


def milestone_marks(
    milestones: pd.DataFrame, kinds: tuple[str, ...] | None = None, label_words: int = 8
) -> pd.DataFrame:
    """Milestones to draw on a timeline: event_date (where to draw: the earliest possible day,
    or for ``reported_by`` the report's date, an upper bound the figure marks as "by"),
    latest_date, date_precision, kind, label (the event's first clause without asides in
    brackets, at most ``label_words`` words), event and milestone_id.

    For ``reported_by`` rows the true date is unknown and on or before ``latest_date``;
    ``event_date`` there is not the event's date.
    """
    rows = milestones if kinds is None else milestones[milestones["kind"].isin(kinds)]
    clause = rows["event"].str.replace(r"\s*\([^()]*\)", "", regex=True).str.split(";").str[0]
    words = clause.str.split()
    label = words.map(lambda w: " ".join(w[:label_words]) + (" …" if len(w) > label_words else ""))
    return pd.DataFrame(
        {
            "event_date": rows["earliest_date"].fillna(rows["latest_date"]),
            "latest_date": rows["latest_date"],
            "date_precision": rows["date_precision"],
            "kind": rows["kind"],
            "label": label,
            "event": rows["event"],
            "milestone_id": rows["milestone_id"],
        }
    ).reset_index(drop=True)


#: One count in the coverage table's ``stated`` cell ("24kg 18 (AGG-102); kgz_... at least 32 ...").
_STATED_COUNT = r"(?:^|; )\S+ (?:at least |about )?(\d+)"


def coverage_grid(coverage: pd.DataFrame) -> pd.DataFrame:
    """The ``incident_coverage`` table as years x dyads for reading: the catalogue's count, "0
    searched" (a catalogue zero; "0 searched; 39 stated" when a counter states incidents the
    catalogue missed), "0 stated" (a source states zero) or "not covered" (missing); a year
    covered only to its collection cutoff says so ("to Sep")."""
    zeros = {
        "searched_empty": "0 searched",
        "stated_zero": "0 stated",
        "not_covered": "not covered",
    }
    cell = coverage["status"].map(zeros).fillna(coverage["catalogued"].astype("string"))
    counts = coverage["stated"].fillna("").str.findall(_STATED_COUNT)
    counts = counts.map(lambda found: [n for n in found if int(n) > 0])
    missed = coverage["status"].eq("searched_empty") & counts.map(bool)
    cell = cell.mask(missed, cell + "; " + counts.str.join("/") + " stated")
    partial = coverage["last_month"].lt(12)
    months = pd.to_datetime(coverage["last_month"].astype(str), format="%m").dt.strftime("%b")
    cell = cell.mask(partial, cell + " (to " + months + ")")
    grid = coverage.assign(cell=cell).pivot(index="year", columns="dyad", values="cell")
    grid.columns.name = None
    return grid


def _catalogue(incidents: pd.DataFrame) -> pd.DataFrame:
    """The catalogue's rows (the incidents table may also hold GED or ACLED events)."""
    return incidents[incidents["source_dataset"].eq("catalogue")]


def monthly_profile(incidents: pd.DataFrame, dyad: str) -> pd.DataFrame:
    """Incidents by calendar month (all years pooled) and the share in April-September."""
    rows = incidents[incidents["dyad"] == dyad]
    months = pd.to_datetime(rows["date_start"]).dt.month
    counts = months.value_counts().reindex(range(1, 13), fill_value=0)
    return pd.DataFrame(
        {
            "month": MONTH_NAMES,
            "incidents": counts.to_numpy(),
            "irrigation_season": [4 <= m <= 9 for m in range(1, 13)],
        }
    )


def severity_by_year(incidents: pd.DataFrame, dyad: str) -> pd.DataFrame:
    """Per year: incidents, incidents with a stated fatality figure, and stated fatalities."""
    rows = incidents[incidents["dyad"] == dyad]
    years = rows["date_start"].str[:4].astype(int)
    grouped = rows.assign(year=years).groupby("year")
    return pd.DataFrame(
        {
            "incidents": grouped.size(),
            "with_fatality_figure": grouped["fatalities"].count(),
            "stated_fatalities": grouped["fatalities"].sum(min_count=1),
            "stated_injured": grouped["injured"].sum(min_count=1),
        }
    ).reset_index()


def by_category(incidents: pd.DataFrame, dyad: str) -> pd.DataFrame:
    rows = incidents[incidents["dyad"] == dyad]
    table = rows.groupby("event_category").agg(
        incidents=("incident_id", "count"),
        stated_fatalities=("fatalities", lambda s: s.sum(min_count=1)),
    )
    return table.sort_values("incidents", ascending=False).reset_index()


def by_location(incidents: pd.DataFrame, dyad: str, top: int = 12) -> pd.DataFrame:
    """Where incidents happen: the administrative units named by the sources, most frequent first."""
    rows = incidents[incidents["dyad"] == dyad]
    units = rows["admin_units"].fillna("(not stated)")
    table = units.value_counts().rename_axis("admin_units").reset_index(name="incidents")
    return table.head(top)


def indicator_coverage(
    indicators: pd.DataFrame, iso3: tuple[str, ...] = ("KGZ", "TJK")
) -> pd.DataFrame:
    """For each annual series of the study countries: first and last year and years missing."""
    rows = indicators[
        (indicators["iso3"].isin(iso3))
        & (indicators["frequency"] == "A")
        & indicators["value"].notna()
    ]
    out = []
    for (indicator, country, source), part in rows.groupby(
        ["indicator", "iso3", "source"], sort=True
    ):
        years = sorted(part["period"].astype(int))
        missing = len(range(years[0], years[-1] + 1)) - len(years)
        out.append(
            {
                "indicator": indicator,
                "iso3": country,
                "first": years[0],
                "last": years[-1],
                "years": len(years),
                "internal_gaps": missing,
                "source": source,
            }
        )
    return pd.DataFrame(out)
