"""Read a trace CSV file (SPEC §1) into a DuckDB table of a `TraceSet`.

The data is parsed by DuckDB's own CSV reader with fixed settings (no sniffing) and every column
read as text; conversion and validation are a few set-based SQL passes (`validation`). Python
only splits the header line (to pick the delimiter and name the columns) and scans the bytes
for NUL bytes and line breaks, so that problems name physical lines even after quoted newlines
and the blank lines the reader skips.

A file is loaded in a transaction of its own: a rejected file leaves the connection unchanged.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from cost_model import validation as v
from cost_model.errors import InputError
from cost_model.traces import (
    INT_COLUMNS,
    KNOWN_COLUMNS,
    REQUIRED_COLUMNS,
    TraceSet,
    attr_column,
    new_table_name,
    quote_ident,
)

BOM = b"\xef\xbb\xbf"
DELIMITERS = (",", ";", "\t")
"""Candidate delimiters, in the order that breaks a tie in the header line."""
_CONVERT = {"start_time": v.time_sql, "end_time": v.time_sql}
_CONVERT |= {c: v.int_sql for c in INT_COLUMNS} | {"cost_usd": v.number_sql, "success": v.bool_sql}
_TARGET = {"start_time": "start_us", "end_time": "end_us"}
MAX_ROW_BYTES = 2**25
"""The longest row the reader takes (32 MiB; DuckDB's default is 2 MB): an attribute may hold a
whole prompt."""


def connect() -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB database, in UTC."""
    # DuckDB spills large queries to ./.tmp of the working directory by default; a deployed app
    # may write only to the temporary directory. A directory of its own per connection (DuckDB
    # removes it on close), since two databases of one process would share file names.
    spill = Path(tempfile.gettempdir()) / f"duckdb-{uuid.uuid4().hex}"
    con = duckdb.connect(config={"temp_directory": str(spill)})
    _configure(con)
    return con


def _configure(con) -> None:
    # Naive times are UTC; a long load must not draw DuckDB's progress bar on the terminal.
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")


@dataclass
class Header:
    """What the header line says about a file."""

    delimiter: str
    names: list[str]
    """Column names as written (trimmed); an empty one becomes `column<N>`."""
    known: dict[str, int]
    """Known column → its position (0-based)."""
    attributes: dict[str, int]
    """Attribute name → its position."""
    lines: int
    """Physical lines the header takes (more than 1 only if a quoted name holds a newline)."""
    file_lines: int
    """Physical lines of the whole file."""


def load_traces(source, *, name: str | None = None, con=None) -> TraceSet:
    """Load a trace CSV file (a path, or the bytes of an upload) into a new table of `con`.

    `name` is the file name used in messages (default: the path). Raises `InputError` naming
    every problem (line, column, value) when the file is rejected; then `con` is unchanged.
    The returned data set holds the warnings of SPEC §1.
    """
    con = con or connect()
    if isinstance(source, (bytes, bytearray, memoryview)):
        name, path, data = name or "upload.csv", None, bytes(source)
    else:
        name, path = name or str(source), Path(source)
        try:
            data = path.read_bytes()
        except OSError as err:
            raise InputError(name, [f"{name} cannot be read: {err.strerror or err}"]) from None
    if (problem := _encoding_problem(data, name)) is not None:
        raise InputError(name, [problem])
    if (lf_only := one_line_ending(data)) is not None:
        path, data = None, lf_only
    if path is not None:
        return _load(path, data, name, con)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "traces.csv"
        path.write_bytes(data)
        return _load(path, data, name, con)


def one_line_ending(data: bytes) -> bytes | None:
    """The file with its CRLF line breaks made LF when it mixes CRLF and LF (files joined from
    two systems), else None. The CSV reader takes one kind of line break per file; the line
    numbers stay the same."""
    crlf = data.count(b"\r\n")
    if crlf == 0 or crlf == data.count(b"\n"):
        return None
    return data.replace(b"\r\n", b"\n")


def _load(path: Path, data: bytes, name: str, con) -> TraceSet:
    header = read_header(data, name)
    table = new_table_name()
    cur = con.cursor()
    try:
        _configure(cur)
        cur.begin()
        failure = _build(cur, table, path, data, header)
        if failure is None:
            cur.execute(f"ALTER TABLE {quote_ident(table)} DROP COLUMN bad")
            cur.commit()
        else:
            cur.rollback()
    finally:
        cur.close()
    if failure is not None:
        problems = explain(path, data, name, header)
        raise InputError(name, problems or [f"{name} cannot be loaded: {failure}"])
    ts = TraceSet(
        con, table, name, list(header.attributes), success_column="success" in header.known
    )
    ts.outcomes_recorded = ts.records_outcomes()
    ts.warnings = v.span_warnings(ts)
    return ts


def _build(cur, table: str, path: Path, data: bytes, header: Header) -> str | None:
    """Create and check the table; None when the file is good, else why not (may be empty)."""
    try:
        # Most files have one row per line; if the count says otherwise (quoted newlines,
        # blank lines), number the rows again counting the line breaks inside them.
        ok = _create(cur, table, path, header, None)
        if ok is None:
            cur.execute(f"DROP TABLE {quote_ident(table)}")
            ok = _create(cur, table, path, header, blank_line_shifts(data, header))
        return None if ok and _consistent(cur, table) else ""
    except duckdb.Error as err:
        return str(err).splitlines()[0]


_CONSISTENT = """
SELECT (SELECT count(*) FROM (SELECT 1 FROM {t} GROUP BY run_id, span_id HAVING count(*) > 1)),
       (SELECT count(*) FROM (SELECT 1 FROM {t} GROUP BY run_id
                              HAVING bool_or(success) AND NOT bool_and(success)))
"""


def _consistent(cur, table: str) -> bool:
    """No (run_id, span_id) twice and no run with two success values."""
    row = cur.execute(_CONSISTENT.replace("{t}", quote_ident(table))).fetchall()[0]
    return row == (0, 0)


def _lines(data: bytes) -> int:
    """Physical lines of the file (a last line without a line break counts)."""
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def read_header(data: bytes, name: str) -> Header:
    """Decode and split the header line, or reject the file (encoding, no header, columns)."""
    problem = _encoding_problem(data, name)
    if problem:
        raise InputError(name, [problem])
    record, lines = _first_record(data, len(BOM) if data.startswith(BOM) else 0)
    try:
        text = record.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(name, [f"{name}, line 1: the header is not UTF-8 text ({err.reason})"])
    if not text.strip():
        if not data.removeprefix(BOM).strip():
            raise InputError(name, [f"{name} is empty: it needs at least a header line"])
        raise InputError(name, [f"{name}, line 1: empty, but the header must be the first line"])
    first_line = text.split("\n", 1)[0]
    counts = [first_line.count(d) for d in DELIMITERS]
    delimiter = DELIMITERS[counts.index(max(counts))]
    fields = split_record(text, delimiter)
    if fields is None:
        raise InputError(name, [f"{name}, line 1: a quoted column name is not closed"])
    return _map_columns(fields, delimiter, (lines, _lines(data)), name)


def _encoding_problem(data: bytes, name: str) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f"{name} is UTF-16 text, not UTF-8: save it as UTF-8"
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        return (
            f"{name}, line {line}: a NUL byte at byte {nul}, so this is not UTF-8 CSV text "
            "(a binary or UTF-16 file?)"
        )
    return None


def _first_record(data: bytes, start: int) -> tuple[bytes, int]:
    """The header record (to its first line break outside quotes) and the lines it takes.
    A header still inside quotes after 64 KiB has an unclosed quote: stop there."""
    end, lines, quotes, limit = start - 1, 0, 0, start + 2**16
    while True:
        prev, end = end + 1, data.find(b"\n", end + 1, limit)
        lines += 1
        quotes += data.count(b'"', prev, limit if end < 0 else end)
        if end < 0 or quotes % 2 == 0:
            break
    record = data[start:limit] if end < 0 else data[start:end]
    return record.rstrip(b"\r"), lines


def split_record(text: str, delimiter: str) -> list[str] | None:
    """Split one CSV record (the header) into fields; None when a quote is not closed."""
    fields, field, quoted, i = [], [], False, 0
    while i < len(text):
        ch = text[i]
        if quoted and ch == '"' and text[i + 1 : i + 2] == '"':
            field.append('"')
            i += 1
        elif ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            fields.append("".join(field))
            field = []
        else:
            field.append(ch)
        i += 1
    fields.append("".join(field))
    return None if quoted else fields


def _map_columns(fields: list[str], delimiter: str, lines: tuple[int, int], name: str) -> Header:
    names, known, attributes, problems = [], {}, {}, []
    seen: dict[str, int] = {}
    for i, raw in enumerate(fields):
        col = raw.strip(" \t\r\n") or f"column{i + 1}"
        names.append(col)
        key = col.lower()
        if key in seen:
            problems.append(
                f"{name}, line 1, column {i + 1}: {col!r} names the column "
                f"{names[seen[key]]!r} (column {seen[key] + 1}) again"
            )
            continue
        seen[key] = i
        if key in KNOWN_COLUMNS:
            known[key] = i
        else:
            attributes[col] = i
    for col in REQUIRED_COLUMNS:
        if col not in known:
            problems.append(
                f"{name}, line 1: the header has no {col} column "
                f"(required: {', '.join(REQUIRED_COLUMNS)}; found: {', '.join(names)})"
            )
    if problems:
        raise InputError(name, problems)
    return Header(delimiter, names, known, attributes, *lines)


def csv_sql(header: Header) -> tuple[str, list]:
    """The `read_csv` call for the data rows (all text, fixed settings) and its parameters."""
    columns = {f"c{i}": "VARCHAR" for i in range(len(header.names))}
    sql = (
        "read_csv(?, header = false, skip = 1, columns = ?, delim = ?, quote = '\"', "
        "escape = '\"', auto_detect = false, strict_mode = true, encoding = 'utf-8', "
        f"null_padding = false, max_line_size = {MAX_ROW_BYTES})"
    )
    return sql, [columns, header.delimiter]


def _breaks_sql(header: Header) -> str:
    """The line breaks inside a row's fields (quoted newlines), from the raw cells."""
    return " + ".join(
        f"coalesce(length(c{i}) - length(replace(c{i}, chr(10), '')), 0)"
        for i in range(len(header.names))
    )


def _number_lines(cur, ref: str, header: Header, shifts: list[int] | None) -> None:
    """Set each row's `line_no`, its first physical line, from the table's row order (the
    file's: DuckDB keeps insertion order). A row number would force one thread for the whole
    read. Without `shifts` (the fast way) a row is a line; with them, the line breaks inside
    earlier rows (column `breaks`, then dropped) and the blank lines before it add up."""
    # Row ids of a table made in an open transaction do not start at 0.
    first = f"{header.lines + 1} - (SELECT min(rowid) FROM {ref})"
    if shifts is None:
        cur.execute(f"UPDATE {ref} SET line_no = rowid + {first}")
        return
    cur.execute(
        f"UPDATE {ref} SET line_no = x.line FROM (SELECT rowid AS r, rowid + {first} + "
        f"coalesce(sum(breaks) OVER (ORDER BY rowid ROWS BETWEEN UNBOUNDED PRECEDING "
        f"AND 1 PRECEDING), 0) AS line FROM {ref}) AS x WHERE {ref}.rowid = x.r"
    )
    cur.execute(f"ALTER TABLE {ref} DROP COLUMN breaks")
    if shifts:
        cur.execute(
            f"UPDATE {ref} SET line_no = line_no + "
            f"(SELECT count(*) FROM unnest(?::BIGINT[]) AS s(moved_at) WHERE moved_at <= line_no)",
            [shifts],
        )


def blank_line_shifts(data: bytes, header: Header) -> list[int]:
    """Where the CSV reader skipped blank lines, which it does silently: for the k-th blank
    line (0-based) at physical line b, every row numbered b - k or later without blank lines
    moves down one line. Blank lines inside quoted values are values, not skipped lines."""
    shifts, quotes, line, pos = [], 0, 1, 0
    for match in re.finditer(rb"\n(?=\r?\n)", data):
        quotes += data.count(b'"', pos, match.start())
        line += data.count(b"\n", pos, match.start() + 1)
        pos = match.start() + 1
        if quotes % 2 == 0 and line > header.lines:
            shifts.append(line - len(shifts))
    return shifts


def _create(cur, table: str, path: Path, header: Header, shifts: list[int] | None) -> bool | None:
    """Create the typed table, with a `bad` flag per row. False when a row is bad; None when
    the fast numbering (no `shifts`) cannot be right (the file has more lines than rows)."""
    src, params = csv_sql(header)
    breaks = "" if shifts is None else f", {_breaks_sql(header)} AS breaks"
    typed, checks = _typed_columns(header)
    typed += [] if shifts is None else ["breaks"]
    raw = [f"raw_{_TARGET.get(c, c)}" for c in _CONVERT if c in header.known]
    exclude = f" EXCLUDE ({', '.join(raw)})" if raw else ""
    ref = quote_ident(table)
    cur.execute(
        f"CREATE TABLE {ref} AS SELECT CAST(NULL AS BIGINT) AS line_no, *{exclude}, "
        f"{' OR '.join(checks)} AS bad FROM (SELECT {', '.join(typed)} "
        f"FROM (SELECT *{breaks} FROM {src}))",
        [str(path), *params],
    )
    rows, bad = cur.execute(f"SELECT count(*), count_if(bad) FROM {ref}").fetchall()[0]
    if shifts is None and rows != header.file_lines - header.lines:
        return None
    _number_lines(cur, ref, header, shifts)
    return not bad


def _typed_columns(header: Header) -> tuple[list[str], list[str]]:
    """The typed columns of the table (SELECT list over the raw cells `c<i>`) and the
    conditions that make a row bad. Cells are trimmed only where the cheap tests of
    `validation` say they may need it."""

    def cell(col: str) -> str:
        return f"c{header.known[col]}" if col in header.known else "CAST(NULL AS VARCHAR)"

    text = v.trimmed_sql
    typed = [f"{text(cell(col))} AS {col}" for col in ("run_id", "span_id", "parent_span_id")]
    typed.append(f"coalesce({text(cell('agent_id'))}, '') AS agent_id")
    typed.append(f"{v.kind_sql(cell('kind'))} AS kind")
    typed.append(f"{text(cell('name'))} AS name")
    checks = ["run_id IS NULL", "span_id IS NULL", "kind IS NULL", f"kind NOT IN {v.KINDS}"]
    for col, convert in _CONVERT.items():
        target = _TARGET.get(col, col)
        typed.append(f"{v.converted_sql(convert, cell(col))} AS {target}")
        if col in header.known:
            # The raw cell is untrimmed: one of only spaces is empty, not a bad value.
            typed.append(f"{cell(col)} AS raw_{target}")
            checks.append(
                f"(CASE WHEN raw_{target} IS NOT NULL AND {target} IS NULL "
                f"THEN {text(f'raw_{target}')} IS NOT NULL ELSE false END)"
            )
    checks += [f"coalesce({c}, 0) < 0" for c in INT_COLUMNS] + ["coalesce(cost_usd, 0) < 0"]
    checks += [
        f"coalesce({t}, 0) NOT BETWEEN {v.MIN_TIME_US} AND {v.MAX_TIME_US}"
        for t in ("start_us", "end_us")
    ]
    checks.append(
        "coalesce(cached_input_tokens, 0)::HUGEINT + coalesce(cache_write_tokens, 0) "
        "> coalesce(input_tokens, 0)"
    )
    for attribute, i in header.attributes.items():
        typed.append(f"{text(f'c{i}')} AS {quote_ident(attr_column(attribute))}")
    return typed, checks


def explain(path: Path, data: bytes, name: str, header: Header) -> list[str]:
    """Every problem of a rejected file, one sentence each, in the order of the file.

    Runs on a private connection: the error path may be slow, the good path stays lean.
    """
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        bad = data[err.start : err.start + 4]
        return [
            (
                f"{name}, line {line}: byte {err.start} ({bad!r}) is not UTF-8 text: save the "
                "file as UTF-8"
            )
        ]
    scratch = connect()
    try:
        src, params = csv_sql(header)
        src = src.replace("null_padding = false", "null_padding = false, store_rejects = true")
        problems = v.structure_problems(scratch, src, [str(path), *params], data, name)
        return problems or _value_problems(scratch, path, data, name, header)
    except duckdb.Error as err:
        return [f"{name} cannot be read as CSV: {str(err).splitlines()[0]}"]
    finally:
        scratch.close()


def _value_problems(scratch, path: Path, data: bytes, name: str, header: Header) -> list[str]:
    """Cells that do not convert, empty required cells, duplicates and success conflicts."""
    src, params = csv_sql(header)
    cells = ", ".join(f"{v.trimmed_sql(f'c{i}')} AS t{i}" for i in range(len(header.names)))
    scratch.execute(
        f"CREATE TABLE raw AS SELECT CAST(NULL AS BIGINT) AS line_no, {cells}, "
        f"{_breaks_sql(header)} AS breaks FROM {src}",
        [str(path), *params],
    )
    _number_lines(scratch, "raw", header, blank_line_shifts(data, header))
    return v.raw_problems(scratch, name, header.names, header.known)
