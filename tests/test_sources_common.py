"""Every raw file goes through the same opening steps; each bad file fails with file/line/column."""

import pandas as pd
import pytest

from analysis.data.sources._common import (
    parse_float_series,
    parse_int_series,
    parse_year_series,
    raise_at_first,
    read_csv_table,
    require_unique,
    source_label,
)
from analysis.errors import DataError

REQUIRED = ["id", "year", "value"]


def test_reads_text_columns_and_line_numbers_across_multiline_fields(write):
    path = write("t.csv", 'id,year,value\na,2020,1\nb,2021,"two\nlines"\nc,2022,3\n')
    frame = read_csv_table(path, REQUIRED)
    assert frame["id"].tolist() == ["a", "b", "c"]
    assert frame["source_row"].tolist() == [2, 3, 5]
    assert frame["value"].iloc[1] == "two\nlines"


def test_blank_cells_are_missing_not_empty_strings(write):
    frame = read_csv_table(write("t.csv", "id,year,value\na,2020,\n"), REQUIRED)
    assert frame["value"].isna().all()


@pytest.mark.parametrize(
    "content, fragments",
    [
        (b"", ["file is empty"]),
        (b"   \n\n", ["file is empty"]),
        (b"id,year,value\n", ["no data rows", "line 2"]),
        (b"id;year;value\na;2020;1\n", ["wrong delimiter", "line 1", "';'-delimited"]),
        (b"id,yr,value\na,2020,1\n", ["missing column(s) ['year']", "column 'year'"]),
        (b"id,year,value\na,2020\n", ["wrong number of fields", "line 2", "3 fields"]),
        (b"id,year,value\na,2020,\xff\xfe\n", ["not valid UTF-8", "line 2"]),
    ],
)
def test_bad_files_name_file_line_and_problem(write, content, fragments):
    path = write("bad.csv", content)
    with pytest.raises(DataError) as caught:
        read_csv_table(path, REQUIRED)
    message = str(caught.value)
    assert "bad.csv" in message
    for fragment in fragments:
        assert fragment in message


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_csv_table(tmp_path / "nope.csv", REQUIRED)


def one_column(write, values: list[str]):
    """A file with one ``value`` column (cells as given, "" blank) and its frame."""
    path = write("n.csv", "id,value\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)))
    return path, read_csv_table(path, ["id", "value"])


@pytest.mark.parametrize(
    "value, expected, problem",
    [
        ("3", 3, None),
        ("3.0", 3, None),
        ("", None, None),
        ("-1", None, "negative count"),
        ("2.5", None, "not a whole number"),
        ("many", None, "not a number"),
        ("nan", None, "not a number"),
        ("inf", None, "not a number"),
    ],
)
def test_parse_int_series(write, value, expected, problem):
    path, frame = one_column(write, ["1", "2", value])
    if problem:
        with pytest.raises(DataError, match=problem) as caught:
            parse_int_series(frame, "value", path)
        assert "line 4" in str(caught.value) and "column 'value'" in str(caught.value)
    else:
        parsed = parse_int_series(frame, "value", path)
        assert parsed.iloc[2] == expected if expected is not None else pd.isna(parsed.iloc[2])


@pytest.mark.parametrize(
    "value, problem",
    [
        ("2021", None),
        ("2021.0", None),
        ("", "not a year"),  # a blank year is an error, not a missing value
        ("1850", "not a year"),
        ("21.5", "not a whole number"),
        ("MMXXI", "not a number"),
    ],
)
def test_parse_year_series(write, value, problem):
    path, frame = one_column(write, ["2020", value])
    if problem:
        with pytest.raises(DataError, match=problem) as caught:
            parse_year_series(frame, "value", path, label="Year")
        assert "line 3, column 'Year'" in str(caught.value)
    else:
        assert parse_year_series(frame, "value", path).tolist() == [2020, 2021]


def test_parse_float_series_names_each_rows_own_column(write):
    """A wide file melted to long rows: the error names the raw column of the bad row."""
    path, frame = one_column(write, ["1.5", "x", "2"])
    label = pd.Series(["2019", "2020", "2021"], index=frame.index)
    with pytest.raises(DataError, match="line 3, column '2020': not a number"):
        parse_float_series(frame, "value", path, label=label)


def test_raise_at_first_reports_the_first_flagged_row_and_its_own_expectation(write):
    path, frame = one_column(write, ["a", "b", "c"])
    expected = pd.Series(["A", "B", "C"], index=frame.index)
    with pytest.raises(DataError) as caught:
        raise_at_first(frame, frame["value"].ne("a"), path, "value", "odd", expected)
    assert "line 3, column 'value': odd; found 'b'; expected B" in str(caught.value)


def test_require_unique_names_both_lines(write):
    path, frame = one_column(write, ["a", "b", "a"])
    with pytest.raises(DataError, match="line 4, column 'value': duplicate value.*line 2"):
        require_unique(frame, ["value"], path, "value", "value")


def test_source_label_is_relative_to_root(tmp_path):
    path = tmp_path / "incidents" / "x.csv"
    assert source_label(path, tmp_path) == "incidents/x.csv"
    assert source_label(path) == "x.csv"
