"""The Kyrgyz-Tajik case inside the global evidence: the registry's global entries under other
outcomes, windows and regions, and where Kyrgyzstan and Tajikistan sit in the world.

Reuses the registry (no second code path): a comparison is a registered global entry with its
outcome measure, window or region replaced.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from ..errors import ConfigError
from ..inference import clusters
from ..models.families import family
from ..panels.global_panel import MEASURES, UNITS
from ..results import RegistryResults
from .hypotheses import Tables, prepare
from .registry import HypothesisSpec
from .settings import TestSettings
from .store import ResultStore, registry_results

# A count outcome needs a count model and a 0/1 outcome a (conditional) logit: an entry whose
# family is of the other kind is fitted with its counterpart.
COUNT_MEASURES = ("battle_deaths",)


def global_variant(
    spec: HypothesisSpec, *, measure: str, start: str, end: str, region: str
) -> HypothesisSpec:
    """A registered global entry with another outcome measure, window or region."""
    if measure not in MEASURES:
        raise ConfigError(f"outcome '{measure}' is not one of {list(MEASURES)}")
    registered = family(spec.model)
    counts = measure in COUNT_MEASURES
    model = registered.counterpart if registered.binary == counts else registered.name
    return spec.with_overrides(
        outcome=replace(spec.outcome, measure=measure),
        model=model,
        start=start,
        end=end,
        region="" if region == "all" else region,
    )


def global_results(
    registry: dict[str, HypothesisSpec],
    tables: Tables,
    *,
    unit: str,
    measure: str,
    start: str,
    end: str,
    region: str,
    settings: TestSettings | None = None,
    store: ResultStore | None = None,
) -> RegistryResults:
    """Every registered global entry of ``unit`` (country or dyad) under the given outcome and
    sample (each test read from ``store`` when it holds it)."""
    if unit not in UNITS:
        raise ConfigError(f"unit '{unit}' is not one of {list(UNITS)}")
    chosen = {
        spec.id: global_variant(spec, measure=measure, start=start, end=end, region=region)
        for spec in registry.values()
        if spec.scope == "global" and spec.outcome.unit == unit
    }
    return registry_results(chosen, tables, settings or TestSettings(), store=store)


def case_in_world(
    indicators: pd.DataFrame,
    codes: tuple[str, ...],
    start: int,
    end: int,
    countries: tuple[str, ...] = ("KGZ", "TJK"),
) -> pd.DataFrame:
    """Each case country's mean of an indicator over the window and its percentile among all
    countries with data (is the case typical or extreme on the predictors the tests use?)."""
    rows = []
    for code in codes:
        values = indicators[(indicators["indicator"] == code) & (indicators["frequency"] == "A")]
        values = values[values["period"].astype(int).between(start, end) & values["value"].notna()]
        means = values.groupby("iso3")["value"].mean()
        for country in countries:
            if country not in means:
                rows.append(
                    {
                        "indicator": code,
                        "country": country,
                        "mean": float("nan"),
                        "percentile": float("nan"),
                        "countries_with_data": len(means),
                    }
                )
                continue
            rows.append(
                {
                    "indicator": code,
                    "country": country,
                    "mean": means[country],
                    "percentile": 100 * (means < means[country]).mean(),
                    "countries_with_data": len(means),
                }
            )
    return pd.DataFrame(rows)


def leave_one_out(
    results: RegistryResults,
    tables: Tables,
    *,
    unit: str,
    measure: str,
    start: str,
    end: str,
    region: str,
) -> pd.DataFrame:
    """For each tested global entry that few clusters carry (its reported test is the score
    bootstrap), every estimate with one event-carrying cluster, or a case unit, left out; an
    entry with enough clusters gets one row saying why it was not run (no one cluster carries
    its estimate, and the cluster-robust Wald test is the reported one there)."""
    from .registry import get

    frames = []
    for result in results.results:
        spec = global_variant(
            get(result.hypothesis_id), measure=measure, start=start, end=end, region=region
        ).on(result.outcome)
        events = result.test.details.get("clusters_with_events")
        if result.test.method != "wild_cluster_bootstrap":
            frames.append(
                pd.DataFrame(
                    [
                        {
                            "claim": spec.id,
                            "dropped": "(none)",
                            "note": f"not run: {events} clusters carry events, the cluster-robust Wald test is primary",
                        }
                    ]
                )
            )
            continue
        prepared = prepare(spec, tables)
        table = clusters.leave_one_cluster_out(
            prepared.panel.frame,
            prepared.design.spec,
            spec.focal,
            key=f"{spec.id}/{spec.series}",
            sided=spec.sided,
        ).to_frame()
        frames.append(table.assign(claim=spec.id)[["claim", *table.columns]])
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["claim", "dropped", "note"])
    )
