"""Tables as CSV that is safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import math

# A spreadsheet runs a cell that starts with one of these as a formula (CWE-1236).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """A cell's text, with a leading quote before text a spreadsheet would run as a formula.

    Numbers are written as numbers (a negative number is not a formula); None and NaN are empty.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return ""
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def to_csv_text(columns: list[str], rows: list[list]) -> str:
    """CSV text with a header row; every cell passed through `safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_cell(c) for c in columns])
    writer.writerows([[safe_cell(v) for v in row] for row in rows])
    return out.getvalue()


def frame_to_csv(frame) -> str:
    """A pandas DataFrame as safe CSV text (for download buttons)."""
    rows = frame.astype(object).where(frame.notna(), None).values.tolist()
    return to_csv_text([str(c) for c in frame.columns], rows)
