"""The value rules of a trace file (SPEC §1): how each cell converts, what rejects, what warns.

Everything here is SQL run over a whole table at once; nothing loops over spans in Python.
A cell is first trimmed (spaces, tabs, CR, LF), and an empty cell becomes NULL (unknown).
"""

from __future__ import annotations

from cost_model.traces import INT_COLUMNS, KINDS, TraceSet

NUMBER_RE = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
"""A decimal number: no `inf`, `NaN`, hex or digit separators (which DuckDB's casts accept)."""
ISO_RE = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)?"
    r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)?"
)
"""An ISO 8601 date or date and time, with an optional offset (none = UTC)."""
MAX_BIGINT = 2**63 - 1
_WS = "' ', chr(9), chr(10), chr(13)"
TIME_HINT = "ISO 8601 such as 2026-04-10T01:36:26Z, or Unix epoch seconds"
BOOL_TRUE = ("true", "1", "yes")
BOOL_FALSE = ("false", "0", "no")
EXAMPLES = 5


def trimmed_sql(ref: str) -> str:
    """A raw cell trimmed, NULL when empty. Most cells need no trimming: test the ends first,
    because trimming copies every string and doubles the cost of a large file."""
    return (
        f"CASE WHEN {ref} = '' THEN NULL WHEN {ref}[1] IN ({_WS}) OR {ref}[-1] IN ({_WS}) "
        f"THEN NULLIF(trim({ref}, ' ' || chr(9) || chr(10) || chr(13)), '') ELSE {ref} END"
    )


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
        f"WHEN regexp_full_match({v}, '{NUMBER_RE}') "
        f"THEN TRY_CAST({_decimal(v, 6)} * 1000000 AS BIGINT) END"
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
        return f"CASE WHEN {time_sql(v)} IS NULL THEN 'is not a time ({TIME_HINT})' END"
    if column == "success":
        return f"CASE WHEN {bool_sql(v)} IS NULL THEN 'is not true/false, 1/0 or yes/no' END"
    if column == "kind":
        kinds = ", ".join(KINDS)
        return f"CASE WHEN lower({v}) NOT IN {KINDS} THEN 'is not a kind (one of {kinds})' END"
    return None


def _names(rows: list[tuple]) -> str:
    shown = ", ".join(f"{r[0]}/{r[1]}" for r in rows[:EXAMPLES])
    return shown + (", …" if len(rows) > EXAMPLES else "")


def _spans(n: int) -> str:
    return f"{n:,} span{'' if n == 1 else 's'}"


# (condition, sentence after "N spans"); examples are the first spans of the file that match.
_SPAN_WARNINGS = (
    (
        "start_us IS NOT NULL AND end_us IS NOT NULL AND end_us < start_us",
        "end before they start (a clock that stepped back): their instants count for their "
        "session's extent, but they add no busy time and are left out of latency statistics",
    ),
    (
        "(start_us IS NULL) <> (end_us IS NULL)",
        "have only one of start_time and end_time: that instant counts for their session's "
        "extent, nothing else",
    ),
    (
        "kind = 'llm' AND input_tokens IS NULL AND cached_input_tokens IS NULL "
        "AND cache_write_tokens IS NULL AND output_tokens IS NULL",
        "of kind llm have no token counts (they count as zero tokens)",
    ),
    (
        "kind <> 'llm' AND (input_tokens IS NOT NULL OR cached_input_tokens IS NOT NULL "
        "OR cache_write_tokens IS NOT NULL OR output_tokens IS NOT NULL)",
        "that are not llm spans have token counts, which are ignored",
    ),
    (
        "kind <> 'snapshot' AND bytes IS NOT NULL",
        "that are not snapshot spans have bytes, which are ignored",
    ),
)

_UNTIMED_SESSIONS = """
SELECT run_id, agent_id, count(*) AS spans, min(line_no) AS first_line FROM {t}
GROUP BY run_id, agent_id
HAVING count(start_us) = 0 AND count(end_us) = 0
ORDER BY first_line
"""


def span_warnings(ts: TraceSet, *, success_column: bool = True) -> list[str]:
    """The warnings of SPEC §1 for the spans of a data set, one sentence each.

    `success_column` says whether the file had a success column (only the wording differs).
    """
    conditions = [c for c, _ in _SPAN_WARNINGS]
    counts_sql = ", ".join(f"count_if({c})" for c in conditions)
    spans, runs, known, *counts = ts.sql(
        f"SELECT count(*), count(DISTINCT run_id), count(success), {counts_sql} FROM {{t}}"
    )[0]
    warnings = []
    if spans and not known:
        where = f"{ts.source} has no success column" if not success_column else (
            "No span has a success value"
        )
        warnings.append(
            f"{where}: all {runs:,} run{'' if runs == 1 else 's'} ({_spans(spans)}) "
            "count as completed."
        )
    for (condition, text), n in zip(_SPAN_WARNINGS, counts, strict=True):
        if n:
            rows = ts.sql(
                f"SELECT run_id, span_id FROM {{t}} WHERE {condition} ORDER BY line_no LIMIT ?",
                [EXAMPLES + 1],
            )
            warnings.append(f"{_spans(n)} {text}: {_names(rows)}.")
    untimed = ts.sql(_UNTIMED_SESSIONS)
    if untimed:
        named = [(r, f" (agent {a})" if a else "") for r, a, _, _ in untimed[:EXAMPLES]]
        shown = ", ".join(r + a for r, a in named) + (", …" if len(untimed) > EXAMPLES else "")
        n_spans = sum(r[2] for r in untimed)
        warnings.append(
            f"{len(untimed):,} session{'' if len(untimed) == 1 else 's'} ({_spans(n_spans)}) "
            "have no known time and are left out of runtime, concurrency and time-billed "
            f"costs: {shown}."
        )
    return warnings
