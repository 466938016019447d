"""Tables a person reads: text left, numbers right, the same digits down a column, labels."""

import pandas as pd

from analysis import formatting


def test_alignment_follows_the_cells():
    header = ["claim", "effect", "p", "n", "note"]
    rows = [
        ["H1a", "0.96 [0.37, 2.47]", "<0.001", "2,760", "one counter"],
        ["H1b", "—", "0.394", "16", "—"],
    ]
    assert formatting.column_alignment(header, rows) == ["l", "r", "r", "r", "l"]
    assert formatting.is_numeric_text("0.37–2.47") and not formatting.is_numeric_text("per SD")


def test_a_column_keeps_the_same_digits_and_missing_is_a_dash():
    assert formatting.format_column([0.1234, 12.5, None], None) == ["0.123", "12.500", "—"]
    assert formatting.format_column([1.0, 2760.0], None) == ["1", "2,760"]
    assert formatting.format_column([0.0004, 0.5], "p") == ["<0.001", "0.500"]
    assert formatting.format_column([0.09, 0.315], "share") == ["9%", "32%"]
    assert formatting.format_interval(0.96, 0.37, None) == "0.96 [0.37, —]"
    assert formatting.format_interval(None, None, None) == "—"


def test_display_frame_labels_columns_and_terms():
    frame = pd.DataFrame(
        {"term": ["incidents_lag1", "trend"], "irr": [1.4523, 0.9], "p_value": [0.0001, 0.5]}
    )
    table = formatting.display_frame(frame)
    assert table.header == ["Term", "IRR", "p (asymptotic)"]
    assert table.rows == [
        ["Incidents last month", "1.45", "<0.001"],
        ["Linear trend", "0.90", "0.500"],
    ]
    assert table.align == ["l", "r", "r"]


def test_renderers_carry_the_alignment():
    header, rows = ["claim", "p"], [["<b>H1</b>", "0.5"]]
    assert "| --- | ---: |" in formatting.markdown_table(header, rows)
    assert r"\begin{tabular}{lr}" in formatting.latex_table(header, rows)
    page = formatting.html_table(header, rows)
    assert '<td style="text-align:left">&lt;b&gt;H1&lt;/b&gt;</td>' in page
    assert '<td style="text-align:right">0.5</td>' in page
    assert formatting.html_table(header, rows) == page  # byte-stable


def test_an_unbounded_interval_reads_as_infinity_and_a_missing_one_as_a_dash():
    assert formatting.format_range(0.37, 2.474) == "0.37–2.47"
    assert formatting.format_range(0.0, float("inf")) == "0–∞"
    assert formatting.format_range(float("nan"), 2.0) == "—–2.00"
    assert formatting.format_interval(1.5, 0.4, float("inf")) == "1.50 [0.40, ∞]"
    assert formatting.is_numeric_text("0–∞")
    assert formatting.latex_escape("0–∞") == r"0–$\infty$"
