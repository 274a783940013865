"""Downloads of tables as CSV: safe to open in a spreadsheet, values unchanged otherwise."""

import csv
import decimal
import io

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from cost_model.export import frame_to_csv, safe_cell, to_csv_text


def read_back(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_formula_text_gets_a_leading_quote():
    for text in ["=1+1", "+1", "-1+2", "@SUM(A1)", "\tx", "\nx", '=HYPERLINK("http://x")']:
        assert safe_cell(text) == "'" + text


def test_carriage_returns_inside_a_cell_become_newlines():
    assert safe_cell("\r=1") == "'\n=1"
    assert safe_cell("a\r\nb\rc") == "a\nb\nc"
    assert read_back(to_csv_text(["a"], [["x\ry"]])) == [["a"], ["x\ny"]]


def test_formula_after_leading_blanks_is_escaped():
    assert safe_cell("  =1+1") == "'  =1+1"


def test_full_width_equals_sign_is_escaped():
    assert safe_cell("＝1+1") == "'＝1+1"


def test_plain_text_is_unchanged():
    assert safe_cell("kimi-k2.6") == "kimi-k2.6"
    assert safe_cell("a=b") == "a=b"
    assert safe_cell("") == ""


def test_negative_numbers_stay_numbers():
    assert safe_cell(-5) == "-5"
    assert safe_cell(-0.25) == "-0.25"
    assert safe_cell(np.int64(-5)) == "-5"
    assert safe_cell(np.float64(-1.5)) == "-1.5"
    assert safe_cell(decimal.Decimal("-2.50")) == "-2.50"


def test_numpy_numbers_are_written_as_plain_numbers():
    assert safe_cell(np.float64(1.5)) == "1.5"
    assert safe_cell(np.int32(7)) == "7"
    assert safe_cell(np.bool_(True)) == "true"


def test_unknown_values_are_empty_cells():
    for value in [None, float("nan"), np.nan, pd.NA, pd.NaT]:
        assert safe_cell(value) == ""


def test_booleans_are_lower_case_words():
    assert safe_cell(True) == "true"
    assert safe_cell(False) == "false"


def test_header_cells_are_escaped_too():
    assert to_csv_text(["=cmd", "cost_usd"], []) == "'=cmd,cost_usd\n"


def test_csv_quotes_commas_quotes_and_newlines():
    text = to_csv_text(["a", "b"], [['x, "y"', "line 1\nline 2"]])
    assert text == 'a,b\n"x, ""y""","line 1\nline 2"\n'
    assert read_back(text) == [["a", "b"], ['x, "y"', "line 1\nline 2"]]


def test_frame_to_csv_writes_unknowns_as_empty_and_drops_the_index():
    frame = pd.DataFrame(
        {
            "plan": ["=evil()", "Kimi"],
            "total_usd": [-1.25, None],
            "runs": pd.array([3, None], dtype="Int64"),
        },
        index=[10, 11],
    )
    assert frame_to_csv(frame) == "plan,total_usd,runs\n'=evil(),-1.25,3\nKimi,,\n"


@given(st.lists(st.lists(st.text(max_size=12), min_size=2, max_size=2), max_size=5))
def test_no_cell_read_back_starts_a_formula(rows):
    for row in read_back(to_csv_text(["a", "b"], rows))[1:]:
        for cell in row:
            assert not cell.lstrip(" \u00a0").startswith(("=", "+", "-", "@", "\t", "\r", "\n"))


@given(st.lists(st.text(max_size=12), min_size=1, max_size=4))
def test_escaping_only_adds_one_leading_quote(cells):
    back = read_back(to_csv_text(["c"] * len(cells), [cells]))[1]
    for original, cell in zip(cells, back):
        written = original.replace("\r\n", "\n").replace("\r", "\n")
        assert cell in (written, "'" + written)


@given(st.floats(allow_nan=False) | st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_numbers_read_back_exactly(number):
    assert type(number)(safe_cell(number)) == number
