"""Figures over tidy frames. They never estimate and never save: ``reporting`` saves them.

Each function returns a matplotlib Figure, so a notebook can show it and hand it to
``ReportOutputs.figure``, which saves beside it the tidy frame it was drawn from
(:func:`drawn_from`) as CSV. Every figure is drawn inside :func:`style` (importing this module
changes no matplotlib setting), uses the Okabe–Ito palette, writes model terms and outcomes in
words (``labels``), puts plain numbers on log axes (0.25, 0.5, 1, 2, 4) and whole years on year
axes (:func:`year_axis`), and ends with a footer naming the units plotted and the source of the
data (``units=`` and ``source=`` on every function; each has a default that says what it draws).
"""

from __future__ import annotations

import functools
import textwrap
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from cycler import cycler
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

from .. import labels

#: Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision
#: deficiency. Defined once; every figure takes its colours from here.
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}
CYCLE = [OKABE_ITO[name] for name in ("blue", "orange", "bluish green", "vermillion")] + [
    OKABE_ITO[name] for name in ("reddish purple", "sky blue", "yellow", "black")
]
GREY = "#999999"
LIGHT = "#DDDDDD"
INK = "#222222"
NOTE = "#555555"

CATALOGUE = "Source: curated incident catalogue, data/incidents.csv (see data/README.md)."
CASE_MODELS = (
    "Source: count models on the curated incident catalogue and WDI/SIPRI/IMF/FAO indicators "
    "(data/README.md)."
)
GLOBAL_MODELS = "Source: UCDP/PRIO conflict data, World Bank WDI, SIPRI (data/README.md)."
SIMULATION = "Source: simulation from the fitted model (see the report's method notes)."

#: Milestone kinds (data/milestones.csv ``kind``): a colour and a marker each, so they read in grey.
MILESTONE_KINDS = {
    "militarisation": (OKABE_ITO["vermillion"], "^"),
    "delimitation": (OKABE_ITO["blue"], "s"),
    "border_regime": (OKABE_ITO["orange"], "D"),
    "ceasefire": (OKABE_ITO["bluish green"], "o"),
    "mediation": (OKABE_ITO["reddish purple"], "P"),
}
MILESTONE_OTHER = (INK, "o")

_STYLE = {
    **sns.axes_style("whitegrid"),
    **sns.plotting_context("notebook", font_scale=0.85),
    "axes.prop_cycle": cycler(color=CYCLE),
    "axes.edgecolor": "#BBBBBB",
    "grid.color": "#E6E6E6",
    "text.color": INK,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "legend.frameon": False,
    "figure.dpi": 100,
}


_DRAWN_FROM: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def drawn_from(fig) -> pd.DataFrame | None:
    """The tidy frame a figure of this module was drawn from (None for any other figure)."""
    return _DRAWN_FROM.get(fig)


def _offer(fig, frame: pd.DataFrame):
    """Keep ``frame`` as the data of ``fig`` (saved as CSV beside it), and return ``fig``."""
    _DRAWN_FROM[fig] = frame.reset_index(drop=True)
    return fig


def year_axis(ax, axis: str = "x") -> None:
    """Ticks at whole years only, written as years (2008, not 2007.5 or 2,008)."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    target.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:.0f}"))
    target.set_minor_locator(NullLocator())


@contextmanager
def style() -> Iterator[None]:
    """The project's figure style, for the duration of a ``with`` block only."""
    with mpl.rc_context(_STYLE):
        yield


def _styled(function: Callable) -> Callable:
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with style():
            return function(*args, **kwargs)

    return wrapper


def footer(fig, units: str, source: str, width: int = 110) -> None:
    """The units line and the source line under the axes (kept by ``bbox_inches="tight"``)."""
    lines = [f"Units: {units}" if units else "", source]
    text = "\n".join(textwrap.fill(line, width) for line in lines if line)
    fig.text(0.01, 0.0, text, ha="left", va="top", fontsize=8, color=NOTE, wrap=False)


# --- log axes with plain ticks ---------------------------------------------------------------

_POWERS_OF_TWO = [2.0**k for k in range(-4, 5)]  # 1/16 ... 16
_STEPS = (  # ever coarser tick series for wider ranges; the first with few enough ticks is used
    [m * 10.0**k for k in range(-3, 5) for m in (1, 2, 5)],
    [m * 10.0**k for k in range(-3, 5) for m in (1, 3)],
    [10.0**k for k in range(-3, 5)],
)
MAX_TICKS = 8


def plain_number(value: float, _position=None) -> str:
    """0.25, 0.5, 1, 2, 4, 1,000: how a reader writes a ratio (never 10^0 or 2×10^0)."""
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:g}"


def log_ratio_axis(ax, axis: str = "x") -> None:
    """A log axis for ratios with ticks a reader knows: halvings and doublings around 1 for a
    narrow range (0.25, 0.5, 1, 2, 4), 1-2-5 or 1-3-10 steps for wider ones; no minor ticks."""
    getattr(ax, f"set_{axis}scale")("log")
    low, high = getattr(ax, f"get_{axis}lim")()
    low, high = max(low, 1e-3), max(high, low * 1.01)

    def within(candidates):
        return [t for t in candidates if low <= t <= high]

    ticks = within(_POWERS_OF_TWO) if low >= 1 / 16 and high <= 16 else []
    for series in _STEPS:
        if ticks:
            break
        if len(within(series)) <= MAX_TICKS:
            ticks = within(series)
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(ticks or [1.0]))
    target.set_major_formatter(FuncFormatter(plain_number))
    target.set_minor_locator(NullLocator())
    getattr(ax, f"set_{axis}lim")(low, high)


#: Said under a figure whose intervals include one with no finite bound on a side.
OPEN_END_NOTE = "an arrow at the edge: the interval has no finite bound on that side"


def open_intervals(ax, axis: str, rows: list[tuple[float, float, float, str]]) -> bool:
    """Draw intervals that are unbounded on a side (``±inf``; a lower bound at or below 0 on a
    log axis) from their finite end to the axis edge, with an arrowhead at the open end.

    Call after ``log_ratio_axis``: an open side of the axis is widened by a tenth of its log
    range, so the arrowheads sit clear of every point. ``rows``: (position, lower, upper,
    colour). Returns whether anything was drawn, so the caller can add ``OPEN_END_NOTE`` to the
    units line."""
    if not rows:
        return False
    low_edge, high_edge = (ax.get_xlim if axis == "x" else ax.get_ylim)()
    room = (high_edge / low_edge) ** 0.1
    if any(not (np.isfinite(lower) and lower > 0) for _, lower, _, _ in rows):
        low_edge /= room
    if any(not np.isfinite(upper) for _, _, upper, _ in rows):
        high_edge *= room
    (ax.set_xlim if axis == "x" else ax.set_ylim)(low_edge, high_edge)
    heads = {"x": ("<", ">"), "y": ("v", "^")}[axis]
    for position, lower, upper, colour in rows:
        start = lower if np.isfinite(lower) and lower > 0 else low_edge
        end = upper if np.isfinite(upper) else high_edge
        span, across = [start, end], [position, position]
        ax.plot(*((span, across) if axis == "x" else (across, span)), color=colour, lw=1.2)
        for edge, opened, head in (
            (start, start != lower, heads[0]),
            (end, end != upper, heads[1]),
        ):
            if opened:
                point = (edge, position) if axis == "x" else (position, edge)
                ax.plot(*point, marker=head, ms=6, ls="", color=colour, clip_on=False)
    return True


# --- descriptive figures -----------------------------------------------------------------------


@_styled
def incident_timeline(
    yearly: pd.DataFrame,
    claims: pd.DataFrame | None = None,
    milestones: pd.DataFrame | None = None,
    *,
    units: str = "incidents per calendar year, by border dyad",
    source: str = CATALOGUE,
):
    """Catalogued incidents per year and dyad; stated counts (where sources give one) as
    markers; dated milestones (wars, purchases, laws, treaties) as a strip under the bars."""
    if milestones is not None and len(milestones):
        fig, (ax, strip) = plt.subplots(
            2, 1, figsize=(9, 5.2), sharex=True, gridspec_kw={"height_ratios": [3, 1.4]}
        )
    else:
        fig, ax = plt.subplots(figsize=(9, 3.8))
        strip = None
    years = [int(y) for y in yearly.index]
    x = np.arange(len(years))
    bottom = np.zeros(len(years))
    for colour, dyad in zip(CYCLE, yearly.columns):
        values = yearly[dyad].to_numpy(dtype=float)
        ax.bar(x, values, bottom=bottom, width=0.8, color=colour, label=dyad.replace("-", "–"))
        bottom += values
    if claims is not None and len(claims):
        positions = dict(zip(years, x))
        shown = claims[claims["year"].isin(positions)]
        ax.scatter(
            [positions[y] for y in shown["year"]],
            shown["stated_incidents"],
            marker="D",
            s=28,
            facecolor="white",
            edgecolor=INK,
            zorder=3,
            label="count stated by a source",
        )
    ax.set_xticks(x, [str(y) if y % 2 == 0 else "" for y in years])
    ax.set_ylabel("incidents catalogued")
    ax.grid(axis="x", visible=False)
    ax.legend(fontsize=8, ncols=4, loc="lower left", bbox_to_anchor=(0, 1.0))
    note = ""
    if strip is not None:
        drawn = milestone_strip(strip, milestones, position=_year_position(years))
        left = len(milestones) - drawn
        note = f" {left} milestone(s) outside {years[0]}–{years[-1]} not drawn." if left else ""
        strip.set_xticks(x, [str(y) if y % 2 == 0 else "" for y in years])
    fig.tight_layout()
    footer(fig, units, source + note)
    return _offer(fig, _timeline_data(yearly, claims, milestones))


def _timeline_data(yearly, claims, milestones) -> pd.DataFrame:
    """One long frame of what the timeline draws: catalogued counts per year and dyad, stated
    counts, milestones (``layer`` says which)."""
    parts = [
        yearly.rename_axis(index="year", columns="dyad")
        .stack()
        .rename("incidents")
        .reset_index()
        .assign(layer="catalogued")
    ]
    if claims is not None and len(claims):
        parts.append(
            claims.rename(columns={"stated_incidents": "incidents"}).assign(layer="stated")
        )
    if milestones is not None and len(milestones):
        parts.append(milestones.assign(layer="milestone"))
    frame = pd.concat(parts, ignore_index=True)
    return frame[["layer", *[c for c in frame.columns if c != "layer"]]]


def _year_position(years: Sequence[int]) -> Callable[[pd.Timestamp], float | None]:
    """Date → x on a bar chart with one bar per year at 0, 1, 2, ... (None outside the years)."""
    first, last = years[0], years[-1]

    def position(date: pd.Timestamp) -> float | None:
        if not first <= date.year <= last:
            return None
        start = pd.Timestamp(year=date.year, month=1, day=1)
        days = 366 if date.is_leap_year else 365
        return (
            years.index(date.year) - 0.5 + (date - start).days / days
            if date.year in years
            else None
        )

    return position


def milestone_strip(
    ax,
    milestones: pd.DataFrame,
    position: Callable[[pd.Timestamp], float | None] | None = None,
    *,
    max_label: int = 38,
) -> int:
    """Dated events as a labelled strip on ``ax``; returns how many were drawn.

    ``milestones`` has ``event_date``, ``event`` and ``date_precision`` (day, month, year or
    reported_by), and optionally ``kind`` (colour and marker, see :data:`MILESTONE_KINDS`) and
    ``label`` (short text; else the event, shortened). A month or year precision is drawn as a
    bar over that month or year; ``reported_by`` (the event happened on or before the date) as a
    left-pointing arrow ending at the date. ``position`` maps a date to x (default: the date).
    """
    position = position or (lambda date: mpl.dates.date2num(date))
    rows = milestones.assign(when=pd.to_datetime(milestones["event_date"])).sort_values("when")
    levels: list[list[tuple[float, float]]] = []  # x-intervals taken by the labels of each row
    right_edge = ax.get_xlim()[1]  # before any mark: later marks may widen an autoscaled axis
    drawn = 0
    kinds_shown = {}
    for row in rows.itertuples(index=False):
        x = position(row.when)
        if x is None:
            continue
        precision = getattr(row, "date_precision", "day")
        kind = getattr(row, "kind", None)
        colour, marker = MILESTONE_KINDS.get(kind, MILESTONE_OTHER)
        text = str(getattr(row, "label", None) or row.event)
        if len(text) > max_label:
            text = text[: max_label - 1].rstrip() + "…"
        label = ax.text(
            x, 0, f" {_when(row.when, precision)}: {text} ", va="center", fontsize=7, color=INK
        )
        span = _precision_span(row.when, precision, position)
        y = _place_label(ax, label, span, precision, levels, right_edge)
        _milestone_mark(ax, span, y, precision, colour, marker)
        if kind in MILESTONE_KINDS:
            kinds_shown[kind] = MILESTONE_KINDS[kind]
        drawn += 1
    _strip_axes(ax, len(levels), kinds_shown)
    return drawn


def _place_label(
    ax, label, span: tuple[float, float], precision: str, levels: list, right_edge: float
) -> int:
    """Put a milestone's label beside its mark (to the left where the axis ends first) on the
    highest row where it overlaps no other label; record the x-interval it takes; return the
    row's y (0, -1, ...)."""
    renderer = ax.figure.canvas.get_renderer()
    extent = label.get_window_extent(renderer).transformed(ax.transData.inverted())
    width = extent.x1 - extent.x0
    x = (span[0] + span[1]) / 2
    start = x - 0.6 if precision == "reported_by" else span[0]
    if span[1] + width > right_edge:  # no room on the right: the label ends where the mark starts
        label.set_horizontalalignment("right")
        label.set_x(start)
        taken = (start - width, span[1])
    else:
        label.set_x(span[1])
        taken = (start, span[1] + width)
    level = next(
        (i for i, used in enumerate(levels) if all(taken[1] < a or taken[0] > b for a, b in used)),
        len(levels),
    )
    if level == len(levels):
        levels.append([])
    levels[level].append(taken)
    label.set_y(-level)
    return -level


def _milestone_mark(ax, span, y: float, precision: str, colour: str, marker: str) -> None:
    """The mark in the middle of the period the date stands for: a bar over a month or year
    known, an arrow ending at the date for "reported by"."""
    x = (span[0] + span[1]) / 2
    if precision == "reported_by":
        ax.annotate(
            "",
            xy=(x, y),
            xytext=(x - 0.6, y),
            arrowprops={"arrowstyle": "<-", "color": colour, "lw": 1.2},
        )
        ax.plot([x, x], [y - 0.25, y + 0.25], color=colour, lw=1.5)
    elif span[1] > span[0]:
        ax.plot(list(span), [y, y], color=colour, lw=5, alpha=0.4, solid_capstyle="butt")
    ax.scatter([x], [y], marker=marker, s=30, color=colour, zorder=3)


def _strip_axes(ax, rows: int, kinds_shown: dict) -> None:
    """The strip's axis: one line per label row, no y scale, a legend of the kinds shown."""
    ax.set_ylim(-rows + 0.4, 0.6)
    ax.set_yticks([])
    ax.grid(False)
    ax.set_ylabel("milestones", fontsize=8)
    for spine in ("top", "right", "left"):
        ax.spines[spine].set_visible(False)
    if kinds_shown:
        handles = [
            plt.Line2D([], [], ls="", marker=m, color=c, label=k.replace("_", " "))
            for k, (c, m) in kinds_shown.items()
        ]
        ax.legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))


def _when(date: pd.Timestamp, precision: str) -> str:
    """A date written as precisely as it is known."""
    if precision == "year":
        return f"{date:%Y}"
    if precision == "month":
        return f"{date:%b %Y}"
    return (
        f"by {date.day} {date:%b %Y}" if precision == "reported_by" else f"{date.day} {date:%b %Y}"
    )


def _precision_span(date: pd.Timestamp, precision: str, position) -> tuple[float, float]:
    """x-range of the period a date stands for: its month or year when that is all that is known."""
    if precision == "year":
        start, end = (
            pd.Timestamp(year=date.year, month=1, day=1),
            pd.Timestamp(year=date.year, month=12, day=31),
        )
    elif precision == "month":
        start = date.replace(day=1)
        end = start + pd.offsets.MonthEnd(0)
    else:
        x = position(date)
        return x, x
    a, b = position(start), position(end)
    return (a, b) if a is not None and b is not None else (position(date), position(date))


@_styled
def monthly_bars(
    profile: pd.DataFrame,
    *,
    units: str = "incidents per calendar month, all years pooled",
    source: str = CATALOGUE,
):
    fig, ax = plt.subplots(figsize=(7, 3.2))
    season = profile["irrigation_season"].to_numpy(dtype=bool)
    ax.bar(
        profile["month"][season],
        profile["incidents"][season],
        color=OKABE_ITO["blue"],
        label="irrigation season (Apr–Sep)",
    )
    ax.bar(
        profile["month"][~season],
        profile["incidents"][~season],
        color=LIGHT,
        edgecolor=GREY,
        hatch="///",
        label="rest of the year",
    )
    ax.set_ylabel("incidents (all years)")
    ax.grid(axis="x", visible=False)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    footer(fig, units, source)
    return _offer(fig, profile)


@_styled
def severity_chart(
    severity: pd.DataFrame,
    *,
    units: str = "incidents per year (bars); stated fatalities per year (line, symmetric log axis)",
    source: str = CATALOGUE,
):
    fig, ax = plt.subplots(figsize=(8, 3.4))
    ax.bar(severity["year"], severity["incidents"], color=LIGHT, label="incidents")
    ax.bar(
        severity["year"],
        severity["with_fatality_figure"],
        color=OKABE_ITO["sky blue"],
        label="with a stated fatality figure",
    )
    ax2 = ax.twinx()
    ax2.plot(
        severity["year"],
        severity["stated_fatalities"],
        "o-",
        color=OKABE_ITO["vermillion"],
        label="stated fatalities",
    )
    ax2.set_yscale("symlog")
    ax2.yaxis.set_major_formatter(FuncFormatter(plain_number))
    ax2.yaxis.set_minor_locator(NullLocator())
    ax.set_ylabel("incidents")
    ax2.set_ylabel("stated fatalities")
    year_axis(ax)
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=8, loc="upper left")
    ax2.grid(False)
    fig.tight_layout()
    footer(fig, units, source)
    return _offer(fig, severity)


# --- estimates ---------------------------------------------------------------------------------


@_styled
def forest(
    rows: pd.DataFrame,
    label: str = "hypothesis",
    *,
    estimate: str = "irr",
    low: str = "irr_low",
    high: str = "irr_high",
    scale: str = "scale",
    group: str | None = None,
    verdict: str | None = None,
    xlabel: str | None = None,
    units: str | None = None,
    source: str = CASE_MODELS,
):
    """Ratios with 95% intervals on a log axis, one row per line of ``rows`` (top to bottom).

    ``label`` names each row (model terms are put in words). The x label comes from the rows'
    ``scale`` column when all rows share one (an IRR per SD, an odds ratio...); when they differ,
    each row's scale is written at its right. ``group`` keeps the rows of one claim together
    (several outcomes per claim) and names the claim once; ``verdict`` (codes of
    ``labels.VERDICT_CODES``) gives each point its verdict's colour and marker, with a legend.
    A row without an estimate stays in the plot, marked "not estimated".
    """
    frame = rows.reset_index(drop=True)
    if frame.empty:
        return _no_estimate(frame, source)
    names = _row_names(frame, label, group)
    scales = frame[scale].astype(str).tolist() if scale in frame.columns else []
    single_scale = len(set(scales)) == 1
    n = len(frame)
    width = 10 if single_scale or not scales else 12  # room for the scale column at right
    fig, ax = plt.subplots(figsize=(width, 0.32 * n + 1.3))
    y = np.arange(n)[::-1]
    values = frame[[estimate, low, high]].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    codes = [c if isinstance(c, str) else None for c in frame[verdict]] if verdict else [None] * n
    used, opened = _forest_points(ax, values, y, codes)
    if group is not None:
        _group_bands(ax, frame[group].tolist(), y)
    ax.axvline(1, color=INK, lw=0.8)
    ax.set_yticks(y, names)
    ax.set_ylim(-0.7, n - 0.3)
    ax.grid(axis="y", visible=False)
    log_ratio_axis(ax, "x")
    units = units or "ratio of expected counts (or odds) with 95% interval; 1 = no effect"
    if open_intervals(ax, "x", opened):
        units = f"{units}; {OPEN_END_NOTE}"
    if scales and not single_scale:
        right = ax.secondary_yaxis("right")
        right.set_yticks(y, scales, fontsize=8, color=NOTE)
        right.tick_params(length=0)
    if xlabel is None:
        kind = scales[0] if single_scale else "ratio (scale of each row at right)"
        xlabel = f"{kind}, 95% interval (log scale)"
    ax.set_xlabel(xlabel)
    if used:
        _verdict_legend(ax, used)
    fig.tight_layout()
    footer(fig, units, source)
    return _offer(fig, frame)


def _no_estimate(frame: pd.DataFrame, source: str):
    """The forest plot of no rows: a sentence saying so, not an empty axis."""
    fig, ax = plt.subplots(figsize=(8, 1.2))
    ax.axis("off")
    ax.text(
        0.5,
        0.5,
        "No estimate to show: no entry could be estimated on these data.",
        ha="center",
        va="center",
        fontsize=10,
    )
    footer(fig, "", source)
    return _offer(fig, frame)


def _row_names(frame: pd.DataFrame, label: str, group: str | None) -> list[str]:
    """Each row's name (model terms in words); a group's key is written on its first row only."""
    names = [
        labels.term(str(v)) if label in ("term", "focal") else str(v) for v in frame[label].tolist()
    ]
    if group is not None:
        previous = None
        for i, key in enumerate(frame[group].tolist()):
            names[i] = f"{key}   {names[i]}" if key != previous else names[i]
            previous = key
    return names


def _forest_points(ax, values: np.ndarray, y: np.ndarray, codes: list[str | None]):
    """Each row's point and interval in its verdict's look; returns the verdicts used (for the
    legend) and the intervals with an open or non-positive end (drawn by open_intervals)."""
    used, opened = {}, []
    for i, (point, lower, upper) in enumerate(values):
        if not np.isfinite(point):
            ax.text(1, y[i], "not estimated", va="center", ha="center", fontsize=8, color=NOTE)
            continue
        look = labels.verdict(codes[i]) if codes[i] is not None else None
        colour = look.colour if look else OKABE_ITO["blue"]
        marker = look.marker if look else "o"
        if np.isfinite(lower) and np.isfinite(upper) and lower > 0:
            ax.plot([lower, upper], [y[i], y[i]], color=colour, lw=1.6, solid_capstyle="butt")
        elif not (np.isnan(lower) or np.isnan(upper)):
            opened.append((y[i], lower, upper, colour))
        ax.plot(
            [point],
            [y[i]],
            marker=marker,
            ms=7,
            ls="",
            color=colour,
            markerfacecolor=colour if (look is None or look.filled) else "white",
            markeredgewidth=1.5,
            zorder=3,
        )
        if look is not None:
            used[look.code] = look
    return used, opened


def _group_bands(ax, keys: list, y: np.ndarray) -> None:
    """A light band behind every other group of rows, so one claim's rows read together."""
    n = len(keys)
    band = False
    start = 0
    for i in range(1, n + 1):
        if i == n or keys[i] != keys[start]:
            if band:
                ax.axhspan(y[i - 1] - 0.5, y[start] + 0.5, color="#F3F3F3", zorder=0)
            band = not band
            start = i


def _verdict_legend(ax, used: dict) -> None:
    """A legend of the verdicts shown, in the order of labels.verdicts(), above the plot."""
    handles = [
        plt.Line2D(
            [],
            [],
            ls="",
            marker=look.marker,
            color=look.colour,
            markerfacecolor=look.colour if look.filled else "white",
            markeredgewidth=1.5,
            label=look.label,
        )
        for look in labels.verdicts()
        if look.code in used
    ]
    ax.legend(
        handles=handles,
        fontsize=8,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncols=min(4, len(handles)),
    )


def headline_forest(rows: Sequence[dict], *, source: str = CASE_MODELS):
    """The study's forest plot from headline rows (``reports/90_summary/headline.json``): one
    line per claim and outcome, grouped by claim, coloured by verdict, scale per row; an
    interval without a finite upper bound runs to the edge with an arrow."""
    frame = pd.DataFrame(
        [
            {
                "id": row["id"],
                "outcome": row["outcome_label"],
                "effect": row["effect"],
                "ci_low": row["ci_low"],
                # an interval unbounded above is null in JSON: drawn open to the edge, not dropped
                "ci_high": np.inf
                if row["ci_unbounded"] and row["ci_high"] is None
                else row["ci_high"],
                "scale": row["effect_label"],
                "verdict": row["verdict"],
            }
            for row in rows
        ]
    )
    return forest(
        frame,
        label="outcome",
        estimate="effect",
        low="ci_low",
        high="ci_high",
        group="id",
        verdict="verdict",
        source=source,
    )


def _panels(count: int, height: float = 2.8, width: float = 6.2):
    """One row of axes per tested outcome (a report shows every outcome of its claim)."""
    fig, axes = plt.subplots(count, 1, figsize=(width, height * count + 0.4), squeeze=False)
    return fig, axes[:, 0]


def _panel_title(result) -> str:
    return f"{result.hypothesis_id} on {result.outcome_label}"


@_styled
def small_sample_checks(results, *, source: str = CASE_MODELS):
    """Each test's statistic (red line) against the distribution its reported test compares it
    with: permuted series, placebo break dates or bootstrap draws; an analytic test says so."""
    tested = list(results.results)
    if not tested:
        return _message("No test could be run on these data.", source)
    fig, axes = _panels(len(tested))
    for ax, result in zip(axes, tested):
        test = result.test
        null = test.null_statistics[np.isfinite(test.null_statistics)]
        if len(null):
            ax.hist(null, bins=30, color=LIGHT, edgecolor=GREY)
            ax.axvline(test.statistic, color=OKABE_ITO["vermillion"], lw=2, label="observed")
            ax.set_xlabel("score statistic of the focal term")
            ax.set_ylabel("draws" if test.method != "placebo_dates" else "dates")
            ax.legend(fontsize=8)
        else:
            ax.axis("off")
            ax.text(0.5, 0.5, f"{test.label}: no resampling distribution", ha="center", va="center")
        mc = f" ± {test.p_mc_se:.3f}" if test.p_mc_se is not None else ""
        ax.set_title(
            f"{_panel_title(result)}: {test.method.replace('_', ' ')}, p = {test.p_value:.3f}{mc}",
            fontsize=9,
        )
    fig.tight_layout()
    footer(
        fig,
        "score statistic; bars: the reported test's reference distribution with no effect",
        source,
    )
    return _offer(fig, _null_data(tested))


def _null_data(tested) -> pd.DataFrame:
    """Each test's observed statistic and the statistics of its reference distribution."""
    frames = []
    for result in tested:
        test = result.test
        null = test.null_statistics[np.isfinite(test.null_statistics)]
        frames.append(
            pd.DataFrame(
                {
                    "claim": result.hypothesis_id,
                    "outcome": result.outcome_label,
                    "test": test.method,
                    "kind": ["observed", *["reference"] * len(null)],
                    "statistic": [test.statistic, *null],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@_styled
def power_curves(results, *, source: str = SIMULATION):
    """Power of each reported test against the true effect (display scale), with the minimum
    detectable effect and the target power; a test that cannot reach 5% says so."""
    tested = [r for r in results.results if r.power is not None]
    if not tested:
        return _message("No power calculation for these tests.", source)
    fig, axes = _panels(len(tested))
    for ax, result in zip(axes, tested):
        power = result.power
        if not power.reachable:
            _panel_note(ax, f"{_panel_title(result)}: {power.reason}", width=70)
            continue
        curve = power.curve.sort_values("effect")
        ax.plot(curve["effect"], curve["power"], "o-", color=OKABE_ITO["blue"])
        ax.axhline(power.target, color=GREY, ls="--", lw=0.8, label=f"{power.target:.0%} power")
        if np.isfinite(power.mde):
            ax.axvline(power.mde, color=OKABE_ITO["vermillion"], lw=1.2,
                       label=f"minimum detectable effect {plain_number(round(power.mde, 2))}")  # fmt: skip
        ax.set_xlim(min(curve["effect"].min(), 1.0) * 0.9, max(curve["effect"].max(), 1.0) * 1.1)
        log_ratio_axis(ax, "x")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(f"true {result.effect.label()} (log scale)")
        ax.set_ylabel("power")
        ax.set_title(_panel_title(result), fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    footer(fig, "share of simulated samples in which the reported test rejects at 5%", source)
    return _offer(fig, _power_data(tested))


def _power_data(tested) -> pd.DataFrame:
    """Each reachable test's power curve, with its minimum detectable effect and target."""
    frames = [
        r.power.curve.sort_values("effect").assign(
            claim=r.hypothesis_id,
            outcome=r.outcome_label,
            scale=r.effect.label(),
            target=r.power.target,
            mde=r.power.mde,
        )
        for r in tested
        if r.power.reachable
    ]
    columns = ["claim", "outcome", "scale", "target", "mde"]
    if not frames:
        return pd.DataFrame(columns=columns)
    frame = pd.concat(frames, ignore_index=True)
    return frame[[*columns, *[c for c in frame.columns if c not in columns]]]


def _panel_note(ax, text: str, *, width: int) -> None:
    """A panel that explains in words why it has no plot."""
    ax.axis("off")
    ax.text(0.5, 0.5, textwrap.fill(text, width), ha="center", va="center", fontsize=9)


@_styled
def coverage_panels(results, *, source: str = CATALOGUE):
    """What the outcome's coverage is over each test's window: the catalogue's detection share
    per year where a counter states a count (a bar from the lowest to the highest share the
    counters imply), the range assumed where none does (hatched), and the control in words."""
    tested = list(results.results)
    if not tested:
        return _message("No test could be run on these data.", source)
    fig, axes = _panels(len(tested), height=2.4)
    for ax, result in zip(axes, tested):
        check = result.coverage
        shares = None if check is None else check.share_table()
        if shares is None or shares.empty:
            note = "no coverage information" if check is None else f"{check.control}: {check.note}"
            _panel_note(ax, f"{_panel_title(result)}: {note}", width=80)
            continue
        known = shares["known"].astype(bool).to_numpy()
        years = shares["year"].to_numpy()
        ax.bar(years[known], (shares["high"] - shares["low"]).to_numpy()[known] + 0.01,
               bottom=shares["low"].to_numpy()[known], color=OKABE_ITO["blue"], width=0.6,
               label="detection share stated")  # fmt: skip
        ax.bar(years[~known], (shares["high"] - shares["low"]).to_numpy()[~known],
               bottom=shares["low"].to_numpy()[~known], color="none", edgecolor=GREY, hatch="///",
               width=0.6, label="no stated count: range assumed")  # fmt: skip
        ax.axhline(1.0, color=INK, lw=0.8)
        year_axis(ax)
        ax.set_ylabel("catalogued / counted")
        ax.set_title(f"{_panel_title(result)} ({check.control})", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    footer(fig, "share of a counter's yearly count that the catalogue holds (1 = all)", source)
    return _offer(fig, _coverage_data(tested))


def _coverage_data(tested) -> pd.DataFrame:
    """Each test's detection shares per year (stated, or the range assumed)."""
    frames = [
        r.coverage.share_table().assign(claim=r.hypothesis_id, outcome=r.outcome_label)
        for r in tested
        if r.coverage is not None
    ]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["claim", "outcome"])
    frame = pd.concat(frames, ignore_index=True)
    first = ["claim", "outcome"]
    return frame[[*first, *[c for c in frame.columns if c not in first]]]


def _message(text: str, source: str):
    """A figure that says in words why there is nothing to draw (and has no data)."""
    fig, ax = plt.subplots(figsize=(6, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=9)
    footer(fig, "", source)
    return _offer(fig, pd.DataFrame({"message": [text]}))


@_styled
def specification_curve(
    variants: pd.DataFrame,
    *,
    units: str = "ratio of the focal term with the 95% interval that inverts its reported test, one point per specification",
    source: str = CASE_MODELS,
):
    """Estimates of one focal term across specifications, sorted, with intervals."""
    ordered = variants.dropna(subset=["effect"]).sort_values("effect").reset_index(drop=True)
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(8, 5), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
    )
    x = np.arange(len(ordered))
    registered = (ordered["dimension"] == "registered").to_numpy()
    bounded = np.isfinite(ordered["ci_high"]) & (ordered["ci_low"] > 0)
    top.errorbar(
        x,
        ordered["effect"],
        yerr=[
            (ordered["effect"] - ordered["ci_low"]).clip(lower=0).where(bounded, 0).fillna(0),
            (ordered["ci_high"] - ordered["effect"]).clip(lower=0).where(bounded, 0).fillna(0),
        ],
        fmt="o",
        ms=3,
        color=OKABE_ITO["blue"],
        ecolor="#AAAAAA",
    )
    top.plot(
        x[registered],
        ordered["effect"][registered],
        "D",
        ms=7,
        color=OKABE_ITO["vermillion"],
        label="as registered",
    )
    top.axhline(1, color=INK, lw=0.8)
    log_ratio_axis(top, "y")
    opened = ordered[~bounded & ordered["ci_low"].notna() & ordered["ci_high"].notna()]
    if open_intervals(
        top, "y", [(x[i], r.ci_low, r.ci_high, "#AAAAAA") for i, r in opened.iterrows()]
    ):
        units = f"{units}; {OPEN_END_NOTE}"
    top.set_ylabel("ratio (95% interval)")
    top.legend(fontsize=8)
    kinds = sorted(ordered["dimension"].unique())
    for j, kind in enumerate(kinds):
        mask = (ordered["dimension"] == kind).to_numpy()
        bottom.scatter(x[mask], np.full(mask.sum(), j), marker="|", s=80, color=INK)
    bottom.set_yticks(range(len(kinds)), [labels.dimension(k) for k in kinds])
    bottom.set_xlabel("specification (sorted by estimate)")
    fig.tight_layout()
    footer(fig, units, source)
    return _offer(fig, ordered.assign(position=x))
