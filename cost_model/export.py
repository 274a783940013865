"""Tables as CSV that is safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import decimal
import io
import math
import numbers

import numpy as np
import pandas as pd

# A spreadsheet runs a cell that starts with one of these as a formula (CWE-1236). Leading
# blanks are skipped first, because some spreadsheets trim them before they look.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
_BLANKS = " \u00a0"


def safe_cell(value) -> str:
    """A cell's text, with a leading quote before text a spreadsheet would run as a formula.

    Numbers (Python's or numpy's) are written as numbers, so a negative number is not taken for a
    formula; booleans are `true`/`false`; None, NaN, `pd.NA` and `NaT` are empty. Line breaks
    inside text are written as `\n`.
    """
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, decimal.Decimal):
        return "" if value.is_nan() else str(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return "" if math.isnan(number) else repr(number)
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return ""
    text = str(value)
    if text.lstrip(_BLANKS).startswith(_FORMULA_STARTS):
        text = "'" + text
    # The writer ends lines with \n and quotes only cells holding one, so a bare \r would break
    # the row; every line break inside a cell is written as \n.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def to_csv_text(columns: list[str], rows: list[list]) -> str:
    """CSV text with a header row; every cell, header included, passed through `safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_cell(c) for c in columns])
    writer.writerows([[safe_cell(v) for v in row] for row in rows])
    return out.getvalue()


def frame_to_csv(frame: pd.DataFrame) -> str:
    """A pandas DataFrame as safe CSV text (for download buttons); the index is left out."""
    rows = frame.astype(object).where(frame.notna(), None).values.tolist()
    return to_csv_text([str(c) for c in frame.columns], rows)
