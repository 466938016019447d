"""Every raw file goes through the same opening steps; each bad file fails with file/line/column."""

import pytest

from analysis.errors import DataError
from analysis.sources._common import parse_column, parse_int, read_csv_table, source_label

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
def test_parse_int(write, value, expected, problem):
    path = write("n.csv", "id,year,value\n")
    if problem:
        with pytest.raises(DataError, match=problem) as caught:
            parse_int(value, path=path, row=7, column="value")
        assert "line 7" in str(caught.value) and "column 'value'" in str(caught.value)
    elif expected is None:
        assert parse_int(value, path=path, row=7, column="value") is not None  # pd.NA
    else:
        assert parse_int(value, path=path, row=7, column="value") == expected


def test_parse_column_reports_the_line_of_the_bad_cell(write):
    path = write("t.csv", "id,year,value\na,2020,1\nb,2021,x\n")
    frame = read_csv_table(path, REQUIRED)
    with pytest.raises(DataError, match="line 3, column 'value'"):
        parse_column(frame, "value", parse_int, path)


def test_source_label_is_relative_to_root(tmp_path):
    path = tmp_path / "incidents" / "x.csv"
    assert source_label(path, tmp_path) == "incidents/x.csv"
    assert source_label(path) == "x.csv"
