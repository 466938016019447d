"""Descriptive views of the incident data: what the catalogue holds and what it misses.

Used by the data-audit and incident-pattern notebooks; every function takes canonical tables
and returns a tidy frame, so each number in those reports is computed (and tested) here.
"""

from __future__ import annotations

import pandas as pd

MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def yearly_counts(incidents: pd.DataFrame, dyads: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Catalogued incidents per year and dyad (years without a row are shown as 0 inside the
    catalogue's span; the catalogue is a sample, so 0 means none catalogued, not none happened)."""
    rows = incidents if dyads is None else incidents[incidents["dyad"].isin(dyads)]
    years = rows["date_start"].str[:4].astype(int)
    table = rows.assign(year=years).pivot_table(
        index="year", columns="dyad", values="incident_id", aggfunc="count", fill_value=0
    )
    span = range(
        int(incidents["date_start"].str[:4].astype(int).min()),
        int(incidents["date_start"].str[:4].astype(int).max()) + 1,
    )
    table = table.reindex(span, fill_value=0)
    table.columns.name = None
    table.index.name = "year"
    return table.astype(int)


def catalogue_vs_claims(incidents: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """Each stated single-year incident count beside the catalogue's count for the same dyad-year.

    This is the project's measure of how much the catalogue misses (e.g. the Kyrgyz border
    service's 32 Kyrgyz-Tajik incidents in 2014).
    """
    stated = claims.dropna(subset=["incidents_stated", "dyad", "period_start", "period_end"])
    stated = stated[stated["period_start"].str[:4] == stated["period_end"].str[:4]]
    rows = []
    for claim in stated.itertuples(index=False):
        year = claim.period_start[:4]
        held = int(
            ((incidents["dyad"] == claim.dyad) & (incidents["date_start"].str[:4] == year)).sum()
        )
        rows.append(
            {
                "dyad": claim.dyad,
                "year": int(year),
                "stated_incidents": int(claim.incidents_stated),
                "catalogued": held,
                "share_catalogued": held / int(claim.incidents_stated)
                if claim.incidents_stated
                else float("nan"),
                "claimant": claim.claimant,
                "claim_id": claim.claim_id,
            }
        )
    return pd.DataFrame(rows).sort_values(["dyad", "year", "claim_id"]).reset_index(drop=True)


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
