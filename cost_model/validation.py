"""The value rules of a trace file (SPEC §1): how each cell converts, what rejects, what warns,
and the sentences that name each problem of a rejected file.

Everything here is SQL run over a whole table at once; nothing loops over spans in Python.
A cell is first trimmed (spaces, tabs, CR, LF), and an empty cell becomes NULL (unknown).
"""

from __future__ import annotations

import re

import duckdb

from cost_model.traces import INT_COLUMNS, KINDS, REQUIRED_COLUMNS, TraceSet

NUMBER_RE = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
"""A decimal number: no `inf`, `NaN`, hex or digit separators (which DuckDB's casts accept)."""
ISO_RE = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)?"
    r"(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?"
)
"""An ISO 8601 date or date and time, with an optional offset (none = UTC)."""
MAX_BIGINT = 2**63 - 1
MAX_EPOCH_S = MAX_BIGINT // 10**6
"""The largest epoch time in seconds whose microseconds fit in a BIGINT."""
MIN_TIME_US = -62_135_596_800 * 10**6
MAX_TIME_US = 253_402_300_800 * 10**6 - 1
"""The instants ISO 8601 can write with a four-digit year: 0001-01-01 to 9999-12-31, UTC."""
TIME_HINT = "ISO 8601 such as 2026-04-10T01:36:26Z, or Unix epoch seconds"
BOOL_TRUE = ("true", "1", "yes")
BOOL_FALSE = ("false", "0", "no")
EXAMPLES = 5


def trimmed_sql(ref: str) -> str:
    """A raw cell trimmed, NULL when empty. Most cells need no trimming: test the ends first,
    because trimming copies every string and is several times slower than the test. A cell
    whose first and last characters are above the space has nothing to trim (`ord('')` is -1;
    strings compare by bytes); any other goes to the exact trim."""
    return (
        f"CASE WHEN ord({ref}) > 32 AND {ref}[-1] > ' ' THEN {ref} "
        f"ELSE NULLIF(trim({ref}, ' ' || chr(9) || chr(10) || chr(13)), '') END"
    )


def converted_sql(convert, ref: str) -> str:
    """`convert` (one of the `*_sql` below) of a raw, untrimmed cell, NULL when empty or when
    it does not convert. The raw text is tried first: no conversion accepts a space, tab or
    line break at either end, so a raw cell that converts is its own trimmed text, and only the
    others pay for the trimming."""
    return (
        f"CASE WHEN {ref} IS NOT NULL THEN coalesce({convert(ref)}, "
        f"{convert(trimmed_sql(ref))}) END"
    )


def kind_sql(ref: str) -> str:
    """A raw `kind` cell trimmed and in lower case (NULL when empty); the usual spellings
    need neither."""
    return f"CASE WHEN {ref} IN {KINDS} THEN {ref} ELSE lower({trimmed_sql(ref)}) END"


def _decimal(v: str, scale: int) -> str:
    return f"TRY_CAST({v} AS DECIMAL(38, {scale}))"


def int_sql(v: str) -> str:
    """A trimmed cell as BIGINT: digits, or an integral decimal (`1714.0`, `1.5e3`); else NULL."""
    d = _decimal(v, 18)
    return (
        f"CASE WHEN regexp_full_match({v}, '[0-9]{{1,18}}') THEN CAST({v} AS BIGINT) "
        f"WHEN regexp_full_match({v}, '{NUMBER_RE}') AND {d} = trunc({d}) "
        f"AND {d} <= {MAX_BIGINT} AND {d} >= -{MAX_BIGINT} THEN CAST({d} AS BIGINT) END"
    )


def number_sql(v: str) -> str:
    """A trimmed cell as a finite DOUBLE, else NULL."""
    return (
        f"CASE WHEN regexp_full_match({v}, '{NUMBER_RE}') "
        f"AND isfinite(TRY_CAST({v} AS DOUBLE)) THEN TRY_CAST({v} AS DOUBLE) END"
    )


def time_sql(v: str) -> str:
    """A trimmed cell as µs since the epoch: ISO 8601 (naive = UTC, as the session's TimeZone
    is UTC) or a number of epoch seconds rounded to the microsecond; else NULL."""
    return (
        f"CASE WHEN regexp_full_match({v}, '{ISO_RE}') "
        f"THEN epoch_us(TRY_CAST({v} AS TIMESTAMPTZ)) "
        f"WHEN regexp_full_match({v}, '{NUMBER_RE}') AND abs({_decimal(v, 6)}) <= {MAX_EPOCH_S} "
        f"THEN CAST({_decimal(v, 6)} * 1000000 AS BIGINT) END"
    )


def bool_sql(v: str) -> str:
    """A trimmed cell as BOOLEAN (true/false, 1/0, yes/no in any case), else NULL."""
    return (
        f"CASE WHEN lower({v}) IN {BOOL_TRUE} THEN true "
        f"WHEN lower({v}) IN {BOOL_FALSE} THEN false END"
    )


def int_reason_sql(v: str) -> str:
    """Why a non-empty integer cell is rejected (NULL when it is fine)."""
    d = _decimal(v, 18)
    return (
        f"CASE WHEN NOT regexp_full_match({v}, '{NUMBER_RE}') THEN 'is not a number' "
        f"WHEN {d} IS NULL OR {d} > {MAX_BIGINT} OR {d} < -{MAX_BIGINT} "
        "THEN 'is out of range (a count is at most 2^63-1)' "
        f"WHEN {d} <> trunc({d}) THEN 'is not a whole number' "
        f"WHEN {d} < 0 THEN 'is negative' END"
    )


def number_reason_sql(v: str) -> str:
    """Why a non-empty cost cell is rejected (NULL when it is fine)."""
    return (
        f"CASE WHEN {number_sql(v)} IS NULL THEN 'is not a finite decimal number' "
        f"WHEN {number_sql(v)} < 0 THEN 'is negative' END"
    )


def reason_sql(column: str, v: str) -> str | None:
    """Why a non-empty cell of a known column is rejected, as SQL (NULL when it is fine)."""
    if column in INT_COLUMNS:
        return int_reason_sql(v)
    if column == "cost_usd":
        return number_reason_sql(v)
    if column in ("start_time", "end_time"):
        return (
            f"CASE WHEN {time_sql(v)} IS NULL THEN 'is not a time ({TIME_HINT})' "
            f"WHEN {time_sql(v)} NOT BETWEEN {MIN_TIME_US} AND {MAX_TIME_US} "
            "THEN 'is outside the years 0001 to 9999 (UTC)' END"
        )
    if column == "success":
        return f"CASE WHEN {bool_sql(v)} IS NULL THEN 'is not true/false, 1/0 or yes/no' END"
    if column == "kind":
        kinds = ", ".join(KINDS)
        return f"CASE WHEN lower({v}) NOT IN {KINDS} THEN 'is not a kind (one of {kinds})' END"
    return None


def _examples(names: list[str]) -> str:
    return ", ".join(names[:EXAMPLES]) + (", …" if len(names) > EXAMPLES else "")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# (condition, what the spans have, what follows); examples are the file's first such spans.
_SPAN_WARNINGS = (
    (
        "start_us IS NOT NULL AND end_us IS NOT NULL AND end_us < start_us",
        "Spans that end before they start (a clock that stepped back)",
        (
            "Their instants count for their session's extent, but they add no busy time and are "
            "left out of latency statistics."
        ),
    ),
    (
        "(start_us IS NULL) <> (end_us IS NULL)",
        "Spans with only one of start_time and end_time",
        "That instant counts for the session's extent, nothing else.",
    ),
    (
        (
            "kind = 'llm' AND input_tokens IS NULL AND cached_input_tokens IS NULL "
            "AND cache_write_tokens IS NULL AND output_tokens IS NULL"
        ),
        "llm spans without token counts",
        "They count as zero tokens.",
    ),
    (
        (
            "kind <> 'llm' AND (input_tokens IS NOT NULL OR cached_input_tokens IS NOT NULL "
            "OR cache_write_tokens IS NOT NULL OR output_tokens IS NOT NULL)"
        ),
        "Token counts on spans that are not llm",
        "The counts are ignored.",
    ),
    (
        "kind <> 'snapshot' AND bytes IS NOT NULL",
        "bytes on spans that are not snapshot",
        "The bytes are ignored.",
    ),
)

_UNTIMED_SESSIONS = """
WITH u AS (SELECT run_id, agent_id FROM {t} GROUP BY run_id, agent_id
           HAVING count(start_us) = 0 AND count(end_us) = 0)
SELECT (SELECT count(*) FROM u), count(*), list(run_id || '/' || span_id ORDER BY line_no)[:?]
FROM {t} SEMI JOIN u USING (run_id, agent_id)
"""


def span_warnings(ts: TraceSet) -> list[str]:
    """The warnings of SPEC §1 for the spans of a data set, one sentence each."""
    counts_sql = ", ".join(f"count_if({c})" for c, _, _ in _SPAN_WARNINGS)
    spans, *counts = ts.sql(f"SELECT count(*), {counts_sql} FROM {{t}}")[0]
    warnings = []
    if spans and not ts.records_outcomes():
        runs = ts.sql("SELECT count(DISTINCT run_id) FROM {t}")[0][0]
        what = "No success column" if not ts.success_column else "No success value"
        warnings.append(
            f"{what}: all {_count(runs, 'run')} ({_count(spans, 'span')}) count as completed."
        )
    for (condition, what, effect), n in zip(_SPAN_WARNINGS, counts, strict=True):
        if n:
            rows = ts.sql(
                f"SELECT run_id, span_id FROM {{t}} WHERE {condition} ORDER BY line_no LIMIT ?",
                [EXAMPLES + 1],
            )
            named = _examples([f"{r}/{s}" for r, s in rows])
            warnings.append(f"{what}: {_count(n, 'span')} ({named}). {effect}")
    sessions, n_spans, named = ts.sql(_UNTIMED_SESSIONS, [EXAMPLES + 1])[0]
    if sessions:
        warnings.append(
            f"Sessions with no known time: {_count(sessions, 'session')}, "
            f"{_count(n_spans, 'span')} ({_examples(named)}). They are left out of runtime, "
            "concurrency and time-billed costs."
        )
    return warnings


# The problems of a rejected file, from a table `raw` of its trimmed cells: `line_no` and one
# column `t<i>` per column of the file. Each is (line, sentence), to be sorted by line.


def raw_problems(scratch, name: str, names: list[str], known: dict[str, int]) -> list[str]:
    """Cells that do not convert, empty required cells, duplicates and success conflicts, in
    the order of the file. `names` are the file's column names, `known` maps a known column
    to its position."""
    parts = []
    for col, i in known.items():
        if col in REQUIRED_COLUMNS:
            parts.append(f"SELECT line_no, {i}, NULL, 'is required' FROM raw WHERE t{i} IS NULL")
        reason = reason_sql(col, f"t{i}")
        if reason:
            parts.append(
                f"SELECT line_no, {i}, t{i}, {reason} AS why FROM raw "
                f"WHERE t{i} IS NOT NULL AND why IS NOT NULL"
            )
    found = [
        (line, f"{name}, line {line}, column {names[i]}: {show(val)} {why}")
        for line, i, val, why in scratch.execute(" UNION ALL ".join(parts)).fetchall()
    ]
    found += _cache_problems(scratch, name, known)
    found += _duplicate_problems(scratch, name, known)
    found += _conflict_problems(scratch, name, known)
    return [text for _, text in sorted(found, key=lambda p: p[0])]


def show(value: str | None, limit: int = 60) -> str:
    """A cell value for a message: quoted, shortened."""
    if value is None:
        return "empty, but it"
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _cache_problems(scratch, name: str, known: dict[str, int]) -> list[tuple[int, str]]:
    # A negative count is reported as such; here it counts as 0.
    parts = {
        c: f"greatest(coalesce({int_sql(f't{known[c]}')}, 0), 0)" if c in known else "0"
        for c in ("input_tokens", "cached_input_tokens", "cache_write_tokens")
    }
    rows = scratch.execute(
        f"SELECT line_no, {parts['cached_input_tokens']}, {parts['cache_write_tokens']}, "
        f"{parts['input_tokens']} FROM raw WHERE {parts['cached_input_tokens']}::HUGEINT + "
        f"{parts['cache_write_tokens']} > {parts['input_tokens']}"
    ).fetchall()
    return [
        (
            line,
            (
                f"{name}, line {line}, column cached_input_tokens: cached_input_tokens + "
                f"cache_write_tokens = {cached} + {written} is more than input_tokens = {total} "
                "(input_tokens includes them; an empty count is 0 here)"
            ),
        )
        for line, cached, written, total in rows
    ]


def _duplicate_problems(scratch, name: str, known: dict[str, int]) -> list[tuple[int, str]]:
    run, span = (f"t{known[c]}" for c in ("run_id", "span_id"))
    rows = scratch.execute(
        f"SELECT line_no, {run}, {span}, min(line_no) OVER (PARTITION BY {run}, {span}) AS first "
        f"FROM raw WHERE {run} IS NOT NULL AND {span} IS NOT NULL QUALIFY line_no > first"
    ).fetchall()
    return [
        (
            line,
            (
                f"{name}, line {line}, column span_id: run_id/span_id {r}/{s} "
                f"was already used on line {first}"
            ),
        )
        for line, r, s, first in rows
    ]


def _conflict_problems(scratch, name: str, known: dict[str, int]) -> list[tuple[int, str]]:
    if "success" not in known:
        return []
    run, ok = f"t{known['run_id']}", bool_sql(f"t{known['success']}")
    rows = scratch.execute(
        f"SELECT {run}, min(line_no) FILTER (WHERE {ok}), min(line_no) FILTER (WHERE NOT {ok}) "
        f"FROM raw WHERE {run} IS NOT NULL GROUP BY {run} "
        f"HAVING bool_or({ok}) AND NOT bool_and({ok})"
    ).fetchall()
    return [
        (
            max(yes, no),
            (
                f"{name}, line {max(yes, no)}, column success: run {r} has success "
                f"true on line {yes} and false on line {no} (one run has one outcome)"
            ),
        )
        for r, yes, no in rows
    ]


_STRUCTURE = {
    "UNQUOTED VALUE": "a quoted value is not closed, or text follows its closing quote",
    "INVALID ENCODING": "this is not UTF-8 text (save the file as UTF-8)",
    "INVALID UNICODE": "this is not UTF-8 text (save the file as UTF-8)",
    "LINE SIZE OVER MAXIMUM": "the row is longer than the reader's limit",
}


def structure_problems(scratch, src: str, params: list, data: bytes, name: str) -> list[str]:
    """Rows the CSV reader cannot split (bad quotes, wrong field counts, not UTF-8), from a
    `read_csv` call `src` with `store_rejects`; lines are found from the byte positions."""
    try:
        scratch.execute(f"SELECT count(*) FROM {src}", params).fetchall()
    except duckdb.Error as err:
        first = str(err).split("\n")[0]
        return [f"{name} cannot be read as CSV: {first}"]
    rows = scratch.execute(
        "SELECT line_byte_position, error_type, csv_line, error_message FROM reject_errors "
        "ORDER BY line_byte_position"
    ).fetchall()
    problems, seen = [], set()
    for position, kind, text, message in rows:
        # The reader's line may start with the line breaks before it (a CRLF's LF, blank lines).
        row = text.lstrip("\r\n")
        line = data.count(b"\n", 0, max(position - 1, 0) + len(text) - len(row)) + 1
        if line in seen:
            continue
        seen.add(line)
        if kind in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
            # DuckDB's message: "Expected Number of Columns: 4 Found: 5"
            numbers = re.findall(r"\d+", message)
            what = (
                f"{numbers[-1]} fields where the header has {numbers[0]}"
                if len(numbers) >= 2
                else message
            )
        else:
            what = _STRUCTURE.get(kind, message)
        problems.append(f"{name}, line {line}: {what}: {show(row.rstrip())}")
    return problems
