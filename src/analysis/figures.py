"""Figures over tidy frames. They never estimate and never save: ``reporting`` saves them.

Each function returns a matplotlib Figure, so a notebook can show it and hand it to
``ReportOutputs.figure``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

sns.set_theme(style="whitegrid", context="paper")


def incident_timeline(yearly: pd.DataFrame, claims: pd.DataFrame | None = None):
    """Catalogued incidents per year and dyad; stated counts (where sources give one) as markers."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    yearly.plot(kind="bar", stacked=True, ax=ax, width=0.8, colormap="tab10")
    if claims is not None and len(claims):
        positions = {year: i for i, year in enumerate(yearly.index)}
        for claim in claims.itertuples(index=False):
            if claim.year in positions:
                ax.scatter(
                    positions[claim.year],
                    claim.stated_incidents,
                    marker="D",
                    color="black",
                    zorder=3,
                )
        ax.scatter([], [], marker="D", color="black", label="count stated by a source")
    ax.set_xlabel("")
    ax.set_ylabel("incidents catalogued")
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def monthly_bars(profile: pd.DataFrame):
    fig, ax = plt.subplots(figsize=(6, 3))
    colours = ["#1f77b4" if s else "#bbbbbb" for s in profile["irrigation_season"]]
    ax.bar(profile["month"], profile["incidents"], color=colours)
    ax.set_ylabel("incidents (all years)")
    ax.set_title("Blue: irrigation season (Apr-Sep)", fontsize=8)
    fig.tight_layout()
    return fig


def severity_chart(severity: pd.DataFrame):
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.bar(severity["year"], severity["incidents"], color="#cccccc", label="incidents")
    ax.bar(
        severity["year"],
        severity["with_fatality_figure"],
        color="#1f77b4",
        label="with a stated fatality figure",
    )
    ax2 = ax.twinx()
    ax2.plot(
        severity["year"],
        severity["stated_fatalities"],
        "o-",
        color="#d62728",
        label="stated fatalities",
    )
    ax2.set_yscale("symlog")
    ax.set_ylabel("incidents")
    ax2.set_ylabel("stated fatalities (symlog)")
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles=handles, frameon=False, fontsize=7, loc="upper left")
    ax2.grid(False)
    fig.tight_layout()
    return fig


def forest(rows: pd.DataFrame, label: str = "hypothesis"):
    """IRRs with 95% intervals on a log axis; columns irr, irr_low, irr_high and ``label``."""
    rows = rows.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(rows) + 1.2))
    y = np.arange(len(rows))
    ax.errorbar(
        rows["irr"],
        y,
        xerr=[rows["irr"] - rows["irr_low"], rows["irr_high"] - rows["irr"]],
        fmt="o",
        color="#1f77b4",
        ecolor="#555555",
        capsize=2,
    )
    ax.axvline(1, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_yticks(y, rows[label])
    ax.set_xlabel("incidence-rate ratio (log scale), 95% CI")
    fig.tight_layout()
    return fig


def small_sample_check(result):
    """The focal statistic against its permutation or placebo-date distribution; for entries
    tested with cluster-robust inference (global panels) a panel that says so instead."""
    if result.permutation is not None:
        check = result.permutation
        return null_distribution(
            check.null_statistics, check.statistic, f"block permutation: p = {check.p_value:.3f}"
        )
    if result.placebo is not None:
        check = result.placebo
        return null_distribution(
            check.placebo["statistic"].to_numpy(),
            check.statistic,
            f"placebo break dates: p = {check.p_value:.3f}",
        )
    fig, ax = plt.subplots(figsize=(5, 1.2))
    ax.axis("off")
    ax.text(
        0.5,
        0.5,
        f"cluster-robust inference: p = {result.p_asymptotic:.3f} (no permutation distribution)",
        ha="center",
        va="center",
        fontsize=8,
    )
    return fig


def null_distribution(null_statistics: np.ndarray, observed: float, title: str):
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.hist(null_statistics[np.isfinite(null_statistics)], bins=30, color="#bbbbbb")
    ax.axvline(observed, color="#d62728", lw=2, label="observed")
    ax.set_xlabel("score statistic")
    ax.set_title(title, fontsize=8)
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def power_curve(curve: pd.DataFrame, mde: float, x: str = "irr_per_sd"):
    fig, ax = plt.subplots(figsize=(5, 3))
    ordered = curve.sort_values(x)
    ax.plot(ordered[x], ordered["power"], "o-")
    ax.axhline(0.8, color="grey", ls="--", lw=0.8)
    if np.isfinite(mde):
        ax.axvline(mde, color="#d62728", lw=1, label=f"MDE {mde:.2f}")
        ax.legend(frameon=False, fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("true IRR" + (" per SD" if x == "irr_per_sd" else ""))
    ax.set_ylabel("power")
    fig.tight_layout()
    return fig


def observed_vs_fitted(periods: pd.Index, observed: np.ndarray, fitted: np.ndarray):
    fig, ax = plt.subplots(figsize=(8, 3))
    x = periods.to_timestamp() if hasattr(periods, "to_timestamp") else periods
    ax.plot(x, observed, color="#bbbbbb", lw=1, label="observed")
    ax.plot(x, fitted, color="#1f77b4", lw=1.2, label="fitted")
    ax.set_ylabel("incidents")
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def specification_curve(variants: pd.DataFrame):
    """Estimates of one focal term across specifications, sorted, with intervals."""
    ordered = variants.dropna(subset=["irr"]).sort_values("irr").reset_index(drop=True)
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(8, 5), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
    )
    x = np.arange(len(ordered))
    top.errorbar(
        x,
        ordered["irr"],
        yerr=[ordered["irr"] - ordered["irr_low"], ordered["irr_high"] - ordered["irr"]],
        fmt="o",
        ms=3,
        color="#1f77b4",
        ecolor="#999999",
    )
    top.axhline(1, color="black", lw=0.8)
    top.set_yscale("log")
    top.set_ylabel("IRR (95% CI)")
    kinds = sorted(ordered["dimension"].unique())
    for j, kind in enumerate(kinds):
        mask = ordered["dimension"] == kind
        bottom.scatter(x[mask], np.full(mask.sum(), j), marker="|", s=80, color="#333333")
    bottom.set_yticks(range(len(kinds)), kinds)
    bottom.set_xlabel("specification (sorted by estimate)")
    fig.tight_layout()
    return fig
