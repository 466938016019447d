"""Figures a person reads: no side effect on import, plain log ticks, words, units and source."""

import subprocess
import sys

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.report import figures, reporting


def _texts(fig) -> str:
    return " ".join(" ".join(t.get_text().split()) for t in fig.findobj(matplotlib.text.Text))


@pytest.mark.slow
def test_importing_the_figures_changes_no_matplotlib_setting():
    script = (
        "import matplotlib; before = dict(matplotlib.rcParams)\n"
        "import analysis.report.figures\n"
        "after = dict(matplotlib.rcParams)\n"
        "print(sorted(k for k in before if str(before[k]) != str(after[k])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_log_axes_have_plain_ticks():
    fig, ax = plt.subplots()
    ax.set_xlim(0.2, 5)
    figures.log_ratio_axis(ax, "x")
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.25", "0.5", "1", "2", "4"]
    ax.set_xlim(0.02, 30)
    figures.log_ratio_axis(ax, "x")
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "1" in labels and len(labels) <= figures.MAX_TICKS
    assert not any("^" in label or "×" in label for label in labels)
    plt.close(fig)


def test_forest_uses_words_the_rows_scale_and_a_footer():
    tidy = pd.DataFrame(
        {
            "term": ["incidents_lag1", "irrigation_season"],
            "irr": [1.45, 1.7],
            "irr_low": [1.1, 0.8],
            "irr_high": [1.9, 3.5],
            "scale": ["IRR per SD", "IRR per SD"],
        }
    )
    fig = figures.forest(tidy, label="term")
    text = _texts(fig)
    assert "Incidents last month" in text and "Irrigation season (Apr–Sep)" in text
    assert "IRR per SD, 95% interval (log scale)" in text and "incidence-rate ratio" not in text
    assert "Units:" in text and "Source:" in text
    mixed = tidy.assign(scale=["IRR per SD", "odds ratio per SD"], verdict=["evidence", None])
    text = _texts(figures.forest(mixed, label="term", verdict="verdict"))
    assert "odds ratio per SD" in text and "scale of each row at right" in text
    assert "Evidence" in text  # the verdict legend
    assert "No estimate to show" in _texts(figures.forest(tidy.iloc[:0], label="term"))
    plt.close("all")


def _arrowheads(ax) -> list[str]:
    return [line.get_marker() for line in ax.get_lines() if line.get_marker() in "<>^v"]


def test_an_interval_without_a_finite_bound_runs_to_the_edge_with_an_arrow():
    rows = pd.DataFrame(
        {
            "term": ["incidents_lag1", "irrigation_season", "tb2_step"],
            "irr": [1.45, 2.0, 0.5],
            "irr_low": [1.1, 0.9, 0.0],
            "irr_high": [1.9, np.inf, 1.3],
            "scale": ["IRR per SD"] * 3,
        }
    )
    fig = figures.forest(rows, label="term")
    ax = fig.axes[0]
    assert sorted(_arrowheads(ax)) == ["<", ">"]  # upper open on row 2, lower open on row 3
    assert figures.OPEN_END_NOTE in _texts(fig)
    right_edge = ax.get_xlim()[1]
    assert any(np.isclose(line.get_xdata()[-1], right_edge) for line in ax.get_lines())
    closed = figures.forest(rows.iloc[:1], label="term")
    assert _arrowheads(closed.axes[0]) == [] and figures.OPEN_END_NOTE not in _texts(closed)
    variants = pd.DataFrame(
        {
            "effect": [0.8, 1.2, 3.0],
            "ci_low": [0.5, 0.9, 1.1],
            "ci_high": [1.3, 1.6, np.inf],
            "dimension": ["registered", "lags", "lags"],
        }
    )
    curve = figures.specification_curve(variants)
    assert _arrowheads(curve.axes[0]) == ["^"]
    assert figures.OPEN_END_NOTE in _texts(curve)
    plt.close("all")


def test_milestones_are_drawn_as_precisely_as_they_are_known():
    yearly = pd.DataFrame({"KGZ-TJK": [1, 3, 2]}, index=[2020, 2021, 2022])
    milestones = pd.DataFrame(
        {
            "event_date": ["2021-12-18", "2021-01-01", "2022-04-01", "2015-01-01"],
            "date_precision": ["day", "year", "reported_by", "day"],
            "event": ["TB2 in service", "Three TB2 obtained", "Framework agreement", "Old"],
            "kind": ["militarisation", "militarisation", "delimitation", "ceasefire"],
        }
    )
    fig = figures.incident_timeline(yearly, milestones=milestones)
    text = _texts(fig)
    assert "18 Dec 2021: TB2 in service" in text and "2021: Three TB2 obtained" in text
    assert "by 1 Apr 2022: Framework agreement" in text
    assert "1 milestone(s) outside 2020–2022 not drawn" in text
    assert "militarisation" in text and "delimitation" in text  # the kind legend
    strip = fig.axes[1]
    assert any(line.get_linewidth() == 5 for line in strip.get_lines())  # the year as a span
    assert strip.texts and any(
        a.arrow_patch is not None for a in strip.texts if hasattr(a, "arrow_patch")
    )
    plt.close(fig)


def test_the_report_shows_each_figure_with_its_caption_as_alt_text():
    fig, ax = plt.subplots()
    ax.plot(np.arange(3))
    first = reporting.figure_html(fig, 'Counts & "rates"')
    assert 'alt="Counts &amp; &quot;rates&quot;"' in first and "<figcaption" in first
    assert reporting.figure_html(fig, 'Counts & "rates"') == first  # byte-stable
    plt.close(fig)


def test_year_axes_show_whole_years_only():
    fig, ax = plt.subplots()
    years = np.arange(2008, 2025)
    ax.bar(years, np.ones(len(years)), width=0.6)  # autoscaled ticks would read 2007.5, 2010.0
    figures.year_axis(ax)
    fig.canvas.draw()
    shown = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert shown and all(label.isdigit() and len(label) == 4 for label in shown)
    assert all(float(tick).is_integer() for tick in ax.get_xticks())
    plt.close(fig)


@pytest.mark.slow
def test_every_figure_keeps_the_frame_it_was_drawn_from():
    yearly = pd.DataFrame({"KGZ-TJK": [1, 3], "KGZ-UZB": [0, 2]}, index=[2020, 2021])
    claims = pd.DataFrame({"dyad": ["KGZ-TJK"], "year": [2021], "stated_incidents": [5]})
    timeline = figures.drawn_from(figures.incident_timeline(yearly, claims))
    assert len(timeline) == 5 and set(timeline["layer"]) == {"catalogued", "stated"}
    assert timeline.loc[timeline.layer == "stated", "incidents"].tolist() == [5]
    severity = pd.DataFrame(
        {"year": [2020, 2021], "incidents": [1, 3], "with_fatality_figure": [0, 1],
         "stated_fatalities": pd.array([pd.NA, 2], dtype="Int64")}
    )  # fmt: skip
    assert figures.drawn_from(figures.severity_chart(severity)).equals(severity)
    rows = pd.DataFrame({"term": ["trend"], "irr": [1.2], "irr_low": [0.9], "irr_high": [1.6]})
    assert figures.drawn_from(figures.forest(rows, label="term"))["irr"].tolist() == [1.2]
    fig, _ = plt.subplots()
    assert figures.drawn_from(fig) is None  # not drawn here: the caller passes its data
    plt.close("all")


def test_the_headline_forest_draws_an_interval_unbounded_above_to_the_edge():
    row = {"id": "H1c", "outcome_label": "Catalogued incidents", "effect": 1.6, "ci_low": 0.33,
           "ci_high": None, "ci_unbounded": True, "effect_label": "IRR per SD", "verdict": "cannot_tell"}  # fmt: skip
    fig = figures.headline_forest([row])
    assert _arrowheads(fig.axes[0]) == [">"] and figures.OPEN_END_NOTE in _texts(fig)
    plt.close(fig)
