"""The runtime metrics of SPEC §2, computed in SQL over a data set's DuckDB table.

Conventions (where SPEC §2 leaves room, this is the reading taken):
- Durations are whole microseconds in SQL and seconds (float, µs / 10^6) in results.
- Runtime, active and idle statistics are over sessions with a known time; the total of an
  empty set is null (no timed session means the runtime is unknown, not zero).
- A session of zero runtime occupies no instant of `[start, end)`: it adds nothing to peak
  concurrency or to the union of session extents. Peak is null when no session has a known time.
- Window ends are ISO 8601 UTC with `Z`, with six fractional digits only when the instant is
  not a whole second (`2026-04-10T01:36:26Z`, `2026-04-10T01:45:22.587710Z`).
- A run's outcome is `completed` (success true), `failed` (false) or `unknown` (no value while
  the data set has some); with no success value anywhere every run is `completed`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pandas as pd

from cost_model.sessions import ACTIVE_KINDS, busy_sql, sessions_frame
from cost_model.traces import TraceSet

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SAMPLE_ROWS = 100_000
"""The most rows a chart helper returns; larger sets are a uniform random sample of this size."""

_temp_ids = itertools.count(1)


def _iso(us: int | None) -> str | None:
    """µs since the epoch as ISO 8601 UTC with Z (fraction only when not a whole second)."""
    if us is None:
        return None
    at = EPOCH + timedelta(microseconds=int(us))
    text = f"{at.year:04d}-" + at.strftime("%m-%dT%H:%M:%S.%f")
    return (text.removesuffix(".000000")) + "Z"


def _s(us) -> float | None:
    """µs (int or float) to seconds; None stays None."""
    return None if us is None else float(us) / 1e6


def _seconds(keys: Sequence[str], values: Sequence | None) -> dict:
    """Keys to µs values as seconds; all None when `values` is (a quantile over no values)."""
    return {k: _s(v) for k, v in zip(keys, values or [None] * len(keys))}


def _ratio(num, den) -> float | None:
    """num / den, or None when either is unknown or den is 0."""
    if num is None or den is None or den == 0:
        return None
    return float(num) / float(den)


class _Query:
    """One cursor for a computation, with the data set's table as `{t}` and a private
    temporary sessions table as `{s}` (temporary tables belong to their cursor)."""

    def __init__(self, ts: TraceSet):
        self.ts = ts
        self.cur = ts.cursor()
        self.sessions = f"metrics_sessions_{next(_temp_ids)}"

    def _text(self, query: str) -> str:
        return query.replace("{t}", self.ts.ref).replace("{s}", f'"{self.sessions}"')

    def sql(self, query: str, params: list | None = None) -> list[tuple]:
        return self.cur.execute(self._text(query), params or []).fetchall()

    def one(self, query: str, params: list | None = None) -> tuple:
        return self.sql(query, params)[0]

    def records(self, query: str, params: list | None = None) -> list[dict]:
        """Rows as dicts keyed by the query's column names."""
        rows = self.sql(query, params)
        return [dict(zip([d[0] for d in self.cur.description], row)) for row in rows]

    def df(self, query: str) -> pd.DataFrame:
        return self.cur.execute(self._text(query)).df()

    def close(self) -> None:
        self.cur.close()

    def make_sessions(self, busy: dict[str, Sequence[str]]) -> None:
        """Create `{s}`: one row per session with its extent, runtime and `<label>_us` busy
        time (0 for a timed session that ran none of the kinds, null for an untimed one).

        The extent is that of `sessions.sessions_frame` (a test holds them equal); it is
        made here in SQL so that the statistics over sessions stay in DuckDB."""
        joins, cols, params = [], [], []
        for i, (label, kinds) in enumerate(busy.items()):
            query, args = busy_sql(kinds)
            joins.append(f"LEFT JOIN ({query}) b{i} USING (run_id, agent_id)")
            cols.append(
                f"CASE WHEN e.start_us IS NOT NULL THEN coalesce(b{i}.busy_us, 0) END AS {label}_us"
            )
            params += args
        self.sql(
            f"""CREATE TEMP TABLE {{s}} AS
            SELECT e.*, e.end_us - e.start_us AS runtime_us, {", ".join(cols)}
            FROM (SELECT run_id, agent_id,
                         least(min(start_us), min(end_us)) AS start_us,
                         greatest(max(start_us), max(end_us)) AS end_us,
                         count(*) AS spans
                  FROM {{t}} GROUP BY run_id, agent_id) e
            {" ".join(joins)}""",
            params,
        )


def _stats(row: Sequence) -> dict:
    """{total, mean, p50, p95, max} in seconds from (sum, avg, [p50, p95], max) in µs."""
    total, mean, quantiles, top = row
    return (
        _seconds(("total", "mean"), (total, mean))
        | _seconds(("p50", "p95"), quantiles)
        | {"max": _s(top)}
    )


def _stat_sql(x: str) -> str:
    return f"sum({x}), avg({x}), quantile_cont(CAST({x} AS DOUBLE), [0.5, 0.95]), max({x})"


def _session_metrics(q: _Query) -> dict:
    """Sessions, window, and the runtime/active/idle statistics over timed sessions."""
    row = q.one(
        f"""SELECT count(*), min(start_us), max(end_us),
            {_stat_sql("runtime_us")}, {_stat_sql("active_us")},
            {_stat_sql("runtime_us - active_us")}
        FROM {{s}}"""
    )
    start, end = row[1], row[2]
    return {
        "sessions": row[0],
        "window": {
            "start": _iso(start),
            "end": _iso(end),
            "seconds": None if start is None else _s(end - start),
        },
        "runtime_s": _stats(row[3:7]),
        "active_s": _stats(row[7:11]),
        "idle_s": _stats(row[11:15]),
    }


# The number of running sessions after each instant where it changes: +1 at a start, -1 at an
# end, summed per instant first so that an end and a start at one instant do not overlap.
_STEPS_SQL = """
WITH ev AS (
    SELECT t, sum(d) AS d FROM (
        SELECT start_us AS t, 1 AS d FROM {s} WHERE end_us > start_us
        UNION ALL SELECT end_us, -1 FROM {s} WHERE end_us > start_us
    ) GROUP BY t
)
SELECT t, CAST(sum(d) OVER (ORDER BY t) AS BIGINT) AS running, lead(t) OVER (ORDER BY t) AS next_t
FROM ev
"""


def _concurrency(q: _Query, runtime_total_s: float | None, window_s: float | None) -> dict:
    """Average, average while active and peak concurrency from the session extents."""
    peak, union_us, timed = q.one(
        f"""SELECT max(running), sum(next_t - t) FILTER (WHERE running > 0),
                   (SELECT count(start_us) FROM {{s}})
            FROM ({_STEPS_SQL})"""
    )
    return {
        "average": _ratio(runtime_total_s, window_s),
        "average_active": _ratio(runtime_total_s, _s(union_us)),
        "peak": None if timed == 0 else int(peak or 0),
    }


# A run's outcome from `ok`, its success value (true beside empty cells is true; the loader
# rejects true beside false). While no run of the file has a value ($recorded is false), every
# run completed.
_OUTCOME_SQL = """CASE WHEN ok OR NOT $recorded THEN 'completed'
    WHEN NOT ok THEN 'failed' ELSE 'unknown' END"""


def _runs(q: _Query) -> dict:
    """Runs by outcome."""
    keys = ("runs", "completed_runs", "failed_runs", "unknown_runs")
    row = q.one(
        f"""SELECT count(*), count(*) FILTER (WHERE o = 'completed'),
                   count(*) FILTER (WHERE o = 'failed'), count(*) FILTER (WHERE o = 'unknown')
            FROM (SELECT {_OUTCOME_SQL} AS o
                  FROM (SELECT bool_or(success) AS ok FROM {{t}} GROUP BY run_id))""",
        {"recorded": q.ts.records_outcomes()},
    )
    return dict(zip(keys, row))


# Latency of a span with an interval (both times known, end not before start), in µs.
_LATENCY = "CASE WHEN end_us >= start_us THEN end_us - start_us END"

# Totals over spans, for the whole data set and per run. Token counts are those of llm spans
# and bytes those of snapshot spans (SPEC §1 ignores them elsewhere); unknown tokens count 0.
_TOTALS_SQL = """count(*) AS spans,
    count(*) FILTER (WHERE kind = 'llm') AS llm_calls,
    coalesce(sum(input_tokens) FILTER (WHERE kind = 'llm'), 0) AS input_tokens,
    coalesce(sum(cached_input_tokens) FILTER (WHERE kind = 'llm'), 0) AS cached_input_tokens,
    coalesce(sum(cache_write_tokens) FILTER (WHERE kind = 'llm'), 0) AS cache_write_tokens,
    coalesce(sum(output_tokens) FILTER (WHERE kind = 'llm'), 0) AS output_tokens,
    count(*) FILTER (WHERE kind = 'tool') AS tool_calls,
    count(*) FILTER (WHERE kind = 'snapshot') AS snapshots,
    sum(bytes) FILTER (WHERE kind = 'snapshot') AS snapshot_bytes,
    sum(cost_usd) AS recorded_cost_usd"""
_TOKENS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens")


def _span_metrics(q: _Query, runs: int) -> dict:
    """Spans, llm, tools (without by_name), snapshot sizes and the recorded cost."""
    [r] = q.records(
        f"""SELECT {_TOTALS_SQL},
            count(*) FILTER (WHERE kind = 'llm' AND input_tokens IS NULL AND output_tokens IS NULL
                AND cached_input_tokens IS NULL AND cache_write_tokens IS NULL) AS no_usage,
            avg(lat) FILTER (WHERE kind = 'tool') AS lat_mean,
            quantile_cont(lat, [0.5, 0.95, 0.99]) FILTER (WHERE kind = 'tool') AS lat_q,
            avg(bytes) FILTER (WHERE kind = 'snapshot') AS bytes_mean,
            quantile_cont(CAST(bytes AS DOUBLE), 0.95) FILTER (WHERE kind = 'snapshot') AS bytes_p95
        FROM (SELECT *, CAST({_LATENCY} AS DOUBLE) AS lat FROM {{t}})"""
    )
    bytes_total = r["snapshot_bytes"]
    return {
        "spans": r["spans"],
        "llm": {"calls": r["llm_calls"], "calls_without_usage": r["no_usage"]}
        | {k: int(r[k]) for k in _TOKENS},
        "tools": {
            "calls": r["tool_calls"],
            "calls_per_run": _ratio(r["tool_calls"], runs),
            "latency_s": {"mean": _s(r["lat_mean"])} | _seconds(("p50", "p95", "p99"), r["lat_q"]),
        },
        "snapshots": {
            "count": r["snapshots"],
            "total_bytes": None if bytes_total is None else int(bytes_total),
            "mean_bytes": r["bytes_mean"],
            "p95_bytes": r["bytes_p95"],
        },
        "recorded_cost_usd": r["recorded_cost_usd"],
    }


def _tools_by_name(q: _Query) -> list[dict]:
    """Calls and latency per tool name, sorted by name, the spans without a name last."""
    rows = q.sql(
        f"""SELECT name, count(*), avg(lat), quantile_cont(CAST(lat AS DOUBLE), [0.5, 0.95])
        FROM (SELECT name, {_LATENCY} AS lat FROM {{t}} WHERE kind = 'tool')
        GROUP BY name ORDER BY name NULLS LAST"""
    )
    return [
        {"name": name, "calls": calls, "mean": _s(mean)} | _seconds(("p50", "p95"), qs)
        for name, calls, mean, qs in rows
    ]


def _snapshot_interval_s(q: _Query) -> float | None:
    """The mean gap between consecutive snapshot starts within a session, all gaps pooled. A
    snapshot with only one known time counts for its session's extent, nothing else (SPEC §1);
    one that ends before it starts still has its start."""
    (gap,) = q.one(
        """SELECT avg(gap) FROM (
            SELECT start_us - lag(start_us) OVER (
                PARTITION BY run_id, agent_id ORDER BY start_us) AS gap
            FROM {t} WHERE kind = 'snapshot' AND start_us IS NOT NULL AND end_us IS NOT NULL)"""
    )
    return _s(gap)


def compute_metrics(ts: TraceSet) -> dict:
    """The metrics of SPEC §2 for a data set, with the JSON keys of SPEC §5 `metrics`.

    Seconds are floats, counts ints, bytes ints (total) or floats (mean, p95), dollars floats;
    a statistic over no values is None. `warnings` are the loader's warnings of the data set.
    """
    q = _Query(ts)
    try:
        q.make_sessions({"active": ACTIVE_KINDS})
        runs = _runs(q)
        sessions = _session_metrics(q)
        spans = _span_metrics(q, runs["runs"])
        runtime_s = sessions["runtime_s"]["total"]
        concurrency = _concurrency(q, runtime_s, sessions["window"]["seconds"])
        spans["tools"]["by_name"] = _tools_by_name(q)
        spans["snapshots"]["per_session_hour"] = _ratio(
            spans["snapshots"]["count"], _ratio(runtime_s, 3600)
        )
        spans["snapshots"]["mean_interval_s"] = _snapshot_interval_s(q)
    finally:
        q.close()
    head = {**runs, "sessions": sessions.pop("sessions"), "spans": spans.pop("spans")}
    return head | sessions | {"concurrency": concurrency} | spans | {"warnings": list(ts.warnings)}


_PER_RUN_SQL = f"""
WITH sp AS (SELECT run_id, bool_or(success) AS ok, {_TOTALS_SQL} FROM {{t}} GROUP BY run_id),
ss AS (
    SELECT run_id, count(*) AS sessions, min(start_us) AS start_us, max(end_us) AS end_us,
        sum(runtime_us) AS session_runtime_us, sum(active_us) AS active_us,
        sum(tool_busy_us) AS tool_busy_us
    FROM {{s}} GROUP BY run_id
)
SELECT run_id, {_OUTCOME_SQL} AS outcome, sessions, spans,
    ss.start_us AS "start", ss.end_us AS "end", ss.end_us - ss.start_us AS runtime_s,
    session_runtime_us AS session_runtime_s, active_us AS active_s, llm_calls, input_tokens,
    cached_input_tokens, cache_write_tokens, output_tokens, tool_calls,
    tool_busy_us AS tool_busy_s, snapshots, snapshot_bytes, recorded_cost_usd
FROM sp JOIN ss USING (run_id)
ORDER BY ss.start_us NULLS LAST, ss.end_us, run_id
"""


def per_run_metrics(ts: TraceSet) -> list[dict]:
    """One dict per run, sorted by run start (runs without a known time last, then by run_id).

    Keys: run_id; outcome ('completed', 'failed', 'unknown'); sessions; spans; start, end (ISO
    8601 UTC, the run's extent over all its sessions); runtime_s (end − start: the run's
    wall-clock extent); session_runtime_s (Σ session runtimes, what session billing counts;
    larger than runtime_s when sub-agents run side by side); active_s (Σ session active time);
    llm_calls; input_tokens, cached_input_tokens, cache_write_tokens, output_tokens (llm spans);
    tool_calls; tool_busy_s (Σ session tool busy time); snapshots; snapshot_bytes (known bytes,
    None when none is known); recorded_cost_usd (None when no span recorded a cost).
    Times are None for a run with no known instant.
    """
    q = _Query(ts)
    try:
        q.make_sessions({"active": ACTIVE_KINDS, "tool_busy": ("tool",)})
        rows = q.records(_PER_RUN_SQL, {"recorded": ts.records_outcomes()})
    finally:
        q.close()
    for rec in rows:  # the SQL gives µs under the `_s` names; HUGEINT sums come as int
        rec["start"], rec["end"] = _iso(rec["start"]), _iso(rec["end"])
        for key in ("runtime_s", "session_runtime_s", "active_s", "tool_busy_s"):
            rec[key] = _s(rec[key])
        if rec["snapshot_bytes"] is not None:
            rec["snapshot_bytes"] = int(rec["snapshot_bytes"])
        rec.update({k: int(rec[k]) for k in _TOKENS})
    return rows


# Data for the Traces page charts: small DataFrames, times as pandas UTC timestamps.


def _utc(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """µs-since-epoch columns as UTC timestamps (NaT when unknown)."""
    for col in columns:
        frame[col] = pd.to_datetime(frame[col].astype("Int64"), unit="us", utc=True)
    return frame


def concurrency_steps(ts: TraceSet) -> pd.DataFrame:
    """The number of running sessions over time, as a step series (draw with `line_shape='hv'`).

    Columns: time (UTC), sessions (running from this instant until the next row's time). One row
    per instant where the count changes; the last row has 0 sessions. Empty without timed
    sessions of positive runtime.
    """
    q = _Query(ts)
    try:
        q.make_sessions({})
        frame = q.df(f"SELECT t AS time, running AS sessions FROM ({_STEPS_SQL}) ORDER BY t")
    finally:
        q.close()
    return _utc(frame, "time")


def session_runtimes(ts: TraceSet) -> pd.DataFrame:
    """One row per session: run_id, agent_id, start (UTC), spans, runtime_s, active_s,
    llm_busy_s, tool_busy_s, idle_s (seconds; null for a session with no known time), sorted by
    start (untimed sessions last)."""
    frame = sessions_frame(ts)
    out = frame[["run_id", "agent_id", "spans"]].copy()
    out.insert(2, "start", pd.to_datetime(frame["start_us"].astype("Int64"), unit="us", utc=True))
    for label in ("runtime", "active", "llm_busy", "tool_busy"):
        out[f"{label}_s"] = frame[f"{label}_us"].astype("Float64") / 1e6
    out["idle_s"] = out["runtime_s"] - out["active_s"]
    return out


def _sampled(ts: TraceSet, query: str, limit: int) -> pd.DataFrame:
    """Rows of `query`, or a uniform random sample of `limit` of them (repeatable) when more."""
    (count,) = ts.sql(f"SELECT count(*) FROM ({query})")[0]
    if count <= limit:
        return ts.df(query)
    # DuckDB takes only a constant here; int() keeps it one.
    return ts.df(
        f"SELECT * FROM ({query}) USING SAMPLE reservoir({int(limit)} ROWS) REPEATABLE (7)"
    )


def tool_latencies(ts: TraceSet, limit: int = SAMPLE_ROWS) -> pd.DataFrame:
    """Latency of each tool span with an interval: columns name (None when unnamed), latency_s.

    With more than `limit` such spans, a uniform random sample of `limit` of them (the same
    sample every time): enough for a histogram or box plot; the exact statistics are in
    `compute_metrics`.
    """
    query = f"""SELECT name, ({_LATENCY}) / 1e6 AS latency_s FROM {{t}}
                WHERE kind = 'tool' AND end_us >= start_us"""
    frame = _sampled(ts, query, limit).sort_values("name", na_position="last", kind="stable")
    return frame.reset_index(drop=True)


def snapshot_points(ts: TraceSet, limit: int = SAMPLE_ROWS) -> pd.DataFrame:
    """Snapshot spans with a known instant: time (UTC; the start, else the end), bytes (null when
    unknown), run_id, agent_id. Sorted by time; sampled like `tool_latencies` beyond `limit`."""
    query = """SELECT coalesce(start_us, end_us) AS time, bytes, run_id, agent_id FROM {t}
               WHERE kind = 'snapshot' AND coalesce(start_us, end_us) IS NOT NULL"""
    frame = _sampled(ts, query, limit).sort_values("time", kind="stable")
    return _utc(frame.reset_index(drop=True), "time")


def run_spans(ts: TraceSet, run_id: str) -> pd.DataFrame:
    """The spans of one run for a waterfall: span_id, parent_span_id, agent_id, kind, name,
    start, end (UTC; NaT when unknown), duration_s (null without an interval), line_no.
    Sorted by start (untimed spans last), then by line."""
    frame = ts.df(
        f"""SELECT span_id, parent_span_id, agent_id, kind, name, start_us AS start,
                  end_us AS "end", ({_LATENCY}) / 1e6 AS duration_s, line_no
           FROM {{t}} WHERE run_id = ?
           ORDER BY coalesce(start_us, end_us) NULLS LAST, line_no""",
        [run_id],
    )
    return _utc(frame, "start", "end")
