"""What an outcome's coverage allows one to say about an estimate.

The catalogue is a cited sample of public reporting; its detection share (catalogued /
counted by a counter, same dyad and period) is known only where a counter states a count, and
varies several-fold between years. Three devices carry that into every estimate:

* **Detection paths.** Each year in the sample gets the range of shares the stated counts
  allow: the shares its counters imply where a count exists, else the whole range observed in
  other years (never an interpolated value), with 0 allowed where the catalogue holds nothing
  (a zero share takes the year out). The focal estimate is refitted with the log share as an
  offset at the two corners of that box that move it most: the corners come from the sign of
  the estimate's finite-difference derivative with respect to each year's offset, computed for
  all years in one batched fit, and the two refits give the reported bounds.
* **Tipping point.** The ratio of detection rates between the compared periods (years one
  display unit of the predictor apart, or after vs before a step) that would produce the
  estimate with no real effect is the estimate's own ratio. Where the observed shares span a
  wider ratio, coverage alone could have produced it, and the estimate is not a finding.
* **Controls that make yearly coverage irrelevant**: year effects on monthly panels (only
  within-year variation is used; within-year differences in detection cannot be checked
  against yearly counts, which the check says), or a counter's own count (one rule
  throughout; its own completeness is unknown but constant by assumption).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..models.batch import fit_batch
from ..models.design import Design
from ..results import CoverageCheck, EffectScale

STEP = 0.1  # finite-difference step on the log share
#: The period effects a monthly model uses, in words: what they absorb, and within what the
#: compared months still differ.
PERIOD_WORDS = {
    "year": ("Year effects", ("years", "years")),
    "year_season": (
        "Year-and-season effects",
        ("years and between the season halves of each year", "each season half of each year"),
    ),
}


def shares_by_year(shares: pd.DataFrame, dyad: str) -> pd.DataFrame:
    """Per year with a stated count for ``dyad``: the lowest and highest detection share its
    counters imply, and which counters and periods they rest on."""
    rows = shares[(shares["dyad"] == dyad) & shares["share"].notna()]
    if rows.empty:
        return pd.DataFrame(columns=["year", "low", "high", "basis"])
    grouped = rows.groupby("year")
    return pd.DataFrame(
        {
            "low": grouped["share"].min(),
            "high": grouped["share"].max(),
            "basis": grouped.apply(
                lambda g: "; ".join(
                    f"{r.counter} {r.catalogued_same_period}/{r.stated} ({r.period_kind})"
                    for r in g.itertuples(index=False)
                ),
                include_groups=False,
            ),
        }
    ).reset_index()


def share_ranges(
    known: pd.DataFrame, years: list[int], catalogued: dict[int, float]
) -> pd.DataFrame:
    """Every sample year's range of detection shares: its own where a count exists, else the
    range observed in other years (from 0 where the catalogue holds nothing that year)."""
    positive = known.loc[known["low"] > 0, "low"]
    observed_low = float(positive.min()) if len(positive) else math.nan
    observed_high = float(known["high"].max()) if len(known) else math.nan
    by_year = known.set_index("year")
    rows = []
    for year in years:
        if year in by_year.index:
            row = by_year.loc[year]
            rows.append((year, float(row["low"]), float(row["high"]), True, row["basis"]))
        else:
            low = observed_low if catalogued.get(year, 0) > 0 else 0.0
            rows.append((year, low, observed_high, False, "no stated count: observed range"))
    return pd.DataFrame(rows, columns=["year", "low", "high", "known", "basis"])


def path_bounds(
    design: Design, term: str, ranges: pd.DataFrame, scale: EffectScale
) -> tuple[float, float] | None:
    """Lowest and highest focal effect (display scale) across the detection paths in
    ``ranges`` (see the module docstring); None when no year's share is uncertain or a fit
    fails."""
    years = np.asarray(design.periods.year)
    j = list(design.X.columns).index(term)
    X = design.X.to_numpy(dtype=float)
    base = np.zeros(design.nobs) if design.offset is None else design.offset
    family = design.spec.distribution.simulated_as
    table = ranges.set_index("year")
    span = [
        y for y in table.index if table.loc[y, "high"] > table.loc[y, "low"] and y in set(years)
    ]
    if not span or not np.isfinite(table[["high"]].to_numpy()).all():
        return None

    def log_share(year: int, side: str) -> float:
        value = float(table.loc[year, side])
        return math.log(value) if value > 0 else -math.inf

    def reference(year: int) -> float:
        """A point inside the year's range, where the derivative is taken."""
        low, high = float(table.loc[year, "low"]), float(table.loc[year, "high"])
        if high <= 0:
            return -math.inf
        return 0.5 * (math.log(low) + math.log(high)) if low > 0 else math.log(high) - 1.0

    middle = {int(y): reference(y) for y in table.index}

    def offsets_and_mask(choice: dict[int, float]):
        values = np.array([choice.get(int(y), middle.get(int(y), 0.0)) for y in years])
        mask = np.isfinite(values).astype(float)
        return base + np.where(np.isfinite(values), values, 0.0), mask

    start, _ = offsets_and_mask({})
    trial = [start]
    for year in span:
        bumped, _ = offsets_and_mask({year: middle[year] + STEP})
        trial.append(bumped)
    fit = fit_batch(np.tile(design.y, (len(trial), 1)), X, np.vstack(trial), family=family)
    if not fit.converged.all():
        return None
    slope = (fit.beta[1:, j] - fit.beta[0, j]) / STEP
    corners = []
    for direction in (-1.0, 1.0):
        choice = {
            year: log_share(year, "high" if direction * s > 0 else "low")
            for year, s in zip(span, slope)
        }
        corners.append(offsets_and_mask(choice))
    offsets = np.vstack([c[0] for c in corners])
    masks = np.vstack([c[1] for c in corners])
    extreme = fit_batch(np.tile(design.y, (2, 1)), X, offsets, family=family, mask=masks)
    if not extreme.converged.all():
        return None
    values = sorted(scale.display(float(b)) for b in extreme.beta[:, j])
    return values[0], values[1]


def check(
    *,
    series_id: str,
    kind: str,
    frequency: str,
    control: str | None,
    ranges: pd.DataFrame | None,
    design: Design,
    term: str,
    scale: EffectScale,
    log_effect: float,
    description: str,
) -> CoverageCheck:
    """The coverage check of one estimate (module docstring)."""
    tipping = scale.display(log_effect)
    shares = _NO_SHARES if ranges is None else ranges
    controlled = _controlled(kind, control, tipping)
    if controlled is not None:
        label, note, by_year = controlled
        table = shares if by_year else _NO_SHARES
        return CoverageCheck(series_id, label, description, table, tipping, None, None, note=note)
    known = shares[shares["known"]] if len(shares) else shares
    plausible = _plausible_range(known)
    could = None if plausible is None else plausible[0] <= tipping <= plausible[1]
    bounds = path_bounds(design, term, shares, scale) if len(shares) else None
    return CoverageCheck(
        series_id,
        "none (annual catalogue)",
        description,
        shares,
        tipping,
        plausible,
        could,
        bounds,
        _range_note(known, plausible),
    )


_NO_SHARES = pd.DataFrame(columns=["year", "low", "high", "known", "basis"])


def _controlled(kind: str, control: str | None, tipping: float) -> tuple[str, str, bool] | None:
    """What makes yearly coverage irrelevant to this outcome, in words (the control, the note,
    whether the yearly shares are still shown); None for an annual catalogue without one."""
    if kind == "stated":
        note = (
            "One counter, one rule: its completeness is unknown and taken as constant over the "
            "years"
        )
        return "one counter's own count", note, False
    if kind == "ucdp":
        return "complete by design", "", False
    if kind == "catalogue" and control:
        absorbed, within = PERIOD_WORDS[control]
        note = (
            f"{absorbed} absorb every difference in coverage between {within[0]}. A "
            f"difference in detection of ×{tipping:.2f} between the compared months within "
            f"{within[1]} would produce the estimate; yearly counts cannot tell whether that "
            "is plausible"
        )
        return f"{control} effects", note, True
    if kind == "catalogue_adjusted":
        note = (
            "Each year weighs as the counter's own count does; the counter's completeness is "
            "unknown but taken as constant"
        )
        return "detection shares as exposure", note, True
    return None


def _range_note(known: pd.DataFrame, plausible: tuple[float, float] | None) -> str:
    """What the years with a stated count show about differences in detection."""
    if plausible is None:
        if len(known):
            return (
                f"only {int(known['year'].iloc[0])} has a stated count in the sample: one year "
                "cannot show how detection differs between years, so coverage cannot be assessed"
            )
        return "no year of the sample has a stated count: coverage cannot be assessed"
    observed = (
        f"detection shares run from {known['low'].min():.2g} to {known['high'].max():.2g} "
        "in the years with a stated count"
    )
    if math.isinf(plausible[1]):
        return f"{observed}; with a year at 0, coverage alone could produce any estimate"
    return f"{observed}, so detection can differ up to ×{plausible[1]:.3g} between years"


def _plausible_range(known: pd.DataFrame) -> tuple[float, float] | None:
    """Ratios of detection between two years that the observed shares show."""
    if len(known) < 2:
        return None
    low = float(known["low"].min())
    high = float(known["high"].max())
    if low <= 0:
        return (0.0, math.inf)
    return (low / high, high / low)
