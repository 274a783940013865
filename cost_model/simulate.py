"""Simulated traces of a workload (SPEC §4): a month of attempts written as SPEC §1 spans.

Arrivals: attempts arrive as a Poisson process at `tasks_per_month / success_rate` per 30 days,
only during the first `active_hours_per_day` hours of each UTC day, from `EPOCH`
(2026-01-01T00:00Z) for `days` days. Each attempt succeeds with probability `success_rate`.

Layout of one attempt (run ids `sim-000001`, … in order of arrival): the main agent (empty
`agent_id`) and `subagents` sub-agents (`sub-1`, `sub-2`, …) all start at the arrival instant,
each its own session. Every session has a root span of kind `other` (`<agent>/root`) that covers
exactly its steps, so the session's runtime is the sum of its step durations, the last step's
overhead included, as `agent_steps` defines it; an `other` span adds no busy time and no cost of
its own. Step i (1-based) is an `llm` span `<agent>/s<i>/llm`, then its tool spans
`<agent>/s<i>/tool-<j>` one after another, then the harness overhead (no span); a due snapshot
is a zero-length `snapshot` span `<agent>/s<i>/snapshot` at the end of the step.

The step quantities come from `cost_model.workload.agent_steps`; tokens and bytes are rounded to
whole numbers and every duration to whole microseconds. A fractional `tool_calls_per_step` k
becomes ⌊k⌋ or ⌈k⌉ calls per step, ⌈k⌉ with probability k − ⌊k⌋. With `rng_durations`, each LLM
call and each tool call lasts its model duration times an independent log-normal factor of
mean 1 (σ = 0.5 of its logarithm); the harness overhead stays fixed.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from cost_model.errors import InputError
from cost_model.workload import Workload, agent_steps

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
"""The first simulated day starts here (midnight UTC)."""
EPOCH_US = int(EPOCH.timestamp()) * 1_000_000
DAY_US = 86_400 * 1_000_000
_CHUNK = 4096
MAX_SPANS = 20_000_000
"""The most spans one simulation writes (about 2.5 GB of CSV and as much memory)."""
DURATION_SIGMA = 0.5
"""σ of the logarithm of the random factor on LLM and tool durations (`rng_durations`)."""

# Span kinds, numbered in the order a step writes them (the root first).
ROOT, LLM, TOOL, SNAPSHOT = 0, 1, 2, 3


@dataclass
class _Spans:
    """Spans of one kind as parallel arrays (one entry per span)."""

    run: np.ndarray
    agent: np.ndarray
    kind: int
    step: np.ndarray
    tool_no: np.ndarray
    start_us: np.ndarray
    end_us: np.ndarray
    input_tokens: np.ndarray | None = None
    cached_input_tokens: np.ndarray | None = None
    output_tokens: np.ndarray | None = None
    bytes: np.ndarray | None = None


def arrivals_us(workload: Workload, days: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted arrival instants (µs since the Unix epoch) of the attempts over `days` days.

    The active hours of all days, laid end to end, form one axis on which attempts are a Poisson
    process: exponential gaps of mean 1/rate, drawn in fixed-size chunks. So the same seed at a
    slightly different rate gives nearly the same arrivals, only closer or further apart (an
    estimate read from one month of arrivals then moves smoothly with the workload), and each
    day's count is still Poisson with mean `rate` per day.
    """
    per_day = workload.tasks_per_month / workload.success_rate / 30
    if per_day <= 0 or days <= 0:
        return np.zeros(0, dtype=np.int64)
    # Positions in units of one day's active window: gaps have mean 1/per_day.
    chunks, total = [], 0.0
    while total < days:
        gaps = rng.standard_exponential(_CHUNK) / per_day
        chunks.append(total + np.cumsum(gaps))
        total = chunks[-1][-1]
    position = np.concatenate(chunks)
    position = position[position < days]
    day = np.floor(position).astype(np.int64)
    offset = np.floor((position - day) * workload.active_hours_per_day * 3_600e6)
    return EPOCH_US + day * DAY_US + offset.astype(np.int64)


def _lognormal(rng: np.random.Generator, shape) -> np.ndarray:
    """Factors of mean 1 (a log-normal whose log has σ = DURATION_SIGMA)."""
    return rng.lognormal(-(DURATION_SIGMA**2) / 2, DURATION_SIGMA, size=shape)


def _tool_calls(st, s_count: int, rng, rng_durations: bool):
    """Tool spans of `s_count` sessions: the flat (session·n + step) index each belongs to, its
    number within its step (from 1) and its duration in µs."""
    n = st.tool_calls.size
    k = st.tool_calls
    whole = np.floor(k).astype(np.int64)
    calls = np.broadcast_to(whole, (s_count, n))
    if np.any(k > whole):
        calls = calls + (rng.random((s_count, n)) < (k - whole)).astype(np.int64)
    per_call_s = np.divide(st.tool_s, k, out=np.zeros(n), where=k > 0)
    owner = np.repeat(np.arange(s_count * n), calls.ravel())
    lat = np.broadcast_to(per_call_s * 1e6, (s_count, n)).ravel()[owner]
    if rng_durations:
        lat = lat * _lognormal(rng, lat.size)
    first = np.concatenate(([0], np.cumsum(calls.ravel())[:-1]))
    return owner, np.arange(owner.size) - first[owner] + 1, np.rint(lat).astype(np.int64)


def _agent_spans(workload, which, runs, agents, t0_us, rng, rng_durations) -> list[_Spans]:
    """All spans of the sessions of one agent type: session s is run `runs[s]`, agent
    `agents[s]`, starting at `t0_us[s]` (µs)."""
    st = agent_steps(workload, which)
    full = (runs.size, st.input_tokens.size)
    llm_us = np.broadcast_to(np.rint(st.llm_s * 1e6), full)
    if rng_durations:
        llm_us = llm_us * _lognormal(rng, full)
    llm_us = np.rint(llm_us).astype(np.int64)
    owner, tool_no, lat = _tool_calls(st, runs.size, rng, rng_durations)
    tool_us = np.bincount(owner, weights=lat, minlength=llm_us.size).astype(np.int64)

    step_us = llm_us + tool_us.reshape(full) + round(workload.step_overhead_s * 1e6)
    ends = t0_us[:, None] + np.cumsum(step_us, axis=1)
    llm_start = (ends - step_us).ravel()
    llm_end = llm_start + llm_us.ravel()
    # Tool j of a step starts when the call and tools 1..j-1 have ended.
    done_before = np.cumsum(lat) - lat
    first_of_step = np.arange(owner.size) - (tool_no - 1)
    tool_start = llm_end[owner] + done_before - done_before[first_of_step]
    step_no = np.broadcast_to(np.arange(1, full[1] + 1), full).ravel()
    run = np.broadcast_to(runs[:, None], full).ravel()
    agent = np.broadcast_to(agents[:, None], full).ravel()
    snap = np.broadcast_to(st.snapshot, full).ravel()
    zeros = np.zeros(runs.size, np.int64)

    def per_step(values):
        return np.broadcast_to(np.rint(values), full).ravel().astype(np.int64)

    return [
        _Spans(runs, agents, ROOT, zeros, zeros, t0_us, ends[:, -1]),
        _Spans(
            run,
            agent,
            LLM,
            step_no,
            np.zeros_like(run),
            llm_start,
            llm_end,
            per_step(st.input_tokens),
            per_step(st.cached_input_tokens),
            per_step(st.output_tokens),
        ),
        _Spans(
            run[owner], agent[owner], TOOL, step_no[owner], tool_no, tool_start, tool_start + lat
        ),
        _Spans(
            run[snap],
            agent[snap],
            SNAPSHOT,
            step_no[snap],
            np.zeros(snap.sum(), np.int64),
            ends.ravel()[snap],
            ends.ravel()[snap],
            bytes=per_step(st.snapshot_bytes)[snap],
        ),
    ]


def _table(parts: list[_Spans], success: np.ndarray) -> pa.Table:
    """One numeric Arrow table of all spans (token columns null where they do not apply)."""
    cols: dict[str, list] = {
        c: []
        for c in (
            "run",
            "agent",
            "kind",
            "step",
            "tool_no",
            "start_us",
            "end_us",
            "input_tokens",
            "cached_input_tokens",
            "output_tokens",
            "bytes",
        )
    }
    for p in parts:
        size = p.run.size
        for c in ("run", "agent", "step", "tool_no", "start_us", "end_us"):
            cols[c].append(np.asarray(getattr(p, c), dtype=np.int64))
        cols["kind"].append(np.full(size, p.kind, dtype=np.int64))
        for c in ("input_tokens", "cached_input_tokens", "output_tokens", "bytes"):
            v = getattr(p, c)
            cols[c].append(np.full(size, -1, np.int64) if v is None else np.asarray(v, np.int64))
    arrays = {}
    for c, chunks in cols.items():
        v = np.concatenate(chunks) if chunks else np.zeros(0, np.int64)
        arrays[c] = (
            pa.array(v, mask=v < 0)
            if c in ("input_tokens", "cached_input_tokens", "output_tokens", "bytes")
            else pa.array(v)
        )
    arrays["success"] = pa.array(
        success[np.concatenate([p.run for p in parts])] if parts else np.zeros(0, bool)
    )
    return pa.table(arrays)


def expected_spans(workload: Workload, days: int) -> float:
    """The expected number of spans of `days` simulated days (roots, calls, tools, snapshots)."""
    attempts = workload.tasks_per_month / workload.success_rate / 30 * days
    per_attempt = 0.0
    for which, count in (("main", 1), ("subagent", workload.subagents)):
        if count:
            n = workload.steps if which == "main" else workload.subagent_steps
            every = workload.snapshot_every_steps
            per_step = 1 + workload.tool_calls_per_step
            per_attempt += count * (1 + n * per_step + (n // every if every else 0))
    return attempts * per_attempt


def _check(workload: Workload, days: int, seed: int, max_spans: int) -> None:
    problems = []
    if days < 0:
        problems.append(f"--days is {days}; it must be 0 or more.")
    if seed < 0:
        problems.append(f"--seed is {seed}; it must be 0 or more.")
    if not problems and (spans := expected_spans(workload, days)) > max_spans:
        problems.append(
            f"{days} days of workload {workload.name!r} would be about {spans:,.0f} spans, "
            f"more than the {max_spans:,} this simulator writes here; simulate fewer days."
        )
    if problems:
        raise InputError("simulate", problems)


def simulate_spans(
    workload: Workload,
    *,
    days: int,
    seed: int,
    rng_durations: bool = False,
    max_spans: int = MAX_SPANS,
):
    """Numeric spans of a simulated period: an Arrow table (run, agent, kind, step, tool_no,
    start_us, end_us, tokens, bytes, success), with `kind` 0 root, 1 llm, 2 tool, 3 snapshot
    and `agent` 0 for the main agent.

    Raises InputError for a negative `days` or `seed`, or a period expected to have more than
    `max_spans` spans.
    """
    _check(workload, days, seed, max_spans)
    # Separate streams, so that e.g. the outcomes of the first runs do not depend on how many
    # arrivals were drawn.
    arrivals_rng, outcome_rng, rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    t0 = arrivals_us(workload, days, arrivals_rng)
    runs = np.arange(1, t0.size + 1, dtype=np.int64)
    success = np.concatenate(([False], outcome_rng.random(t0.size) < workload.success_rate))
    parts = _agent_spans(workload, "main", runs, np.zeros_like(runs), t0, rng, rng_durations)
    if workload.subagents and t0.size:
        subs = np.arange(1, workload.subagents + 1, dtype=np.int64)
        parts += _agent_spans(
            workload,
            "subagent",
            np.repeat(runs, subs.size),
            np.tile(subs, runs.size),
            np.repeat(t0, subs.size),
            rng,
            rng_durations,
        )
    return _table(parts, success)


# The SPEC §1 columns, in file order, from the numeric table `spans`.
_SPANS_SQL = """
WITH s AS (
    SELECT * RENAME (kind AS kind_no),
           CASE WHEN agent = 0 THEN 'main' ELSE 'sub-' || agent END AS agent_label,
           'sim-' || lpad(run::VARCHAR, 6, '0') AS run_label
    FROM spans
)
SELECT run_label AS run_id,
       agent_label || CASE kind_no WHEN 0 THEN '/root'
           ELSE '/s' || lpad(step::VARCHAR, 4, '0') || CASE kind_no WHEN 1 THEN '/llm'
               WHEN 2 THEN '/tool-' || tool_no ELSE '/snapshot' END END AS span_id,
       CASE WHEN kind_no > 0 THEN agent_label || '/root'
            WHEN agent > 0 THEN 'main/root' END AS parent_span_id,
       CASE WHEN agent > 0 THEN agent_label END AS agent_id,
       CASE kind_no WHEN 0 THEN 'other' WHEN 1 THEN 'llm' WHEN 2 THEN 'tool'
           ELSE 'snapshot' END AS kind,
       CASE kind_no WHEN 0 THEN (CASE WHEN agent = 0 THEN 'agent_run' ELSE 'subagent_run' END)
           WHEN 1 THEN (CASE WHEN agent = 0 THEN $model ELSE $subagent_model END)
           WHEN 2 THEN 'tool' ELSE 'snapshot' END AS name,
       strftime(make_timestamp(start_us), '%Y-%m-%dT%H:%M:%S.%fZ') AS start_time,
       strftime(make_timestamp(end_us), '%Y-%m-%dT%H:%M:%S.%fZ') AS end_time,
       input_tokens, cached_input_tokens, output_tokens, bytes,
       CASE WHEN success THEN 'true' ELSE 'false' END AS success
FROM s ORDER BY run, agent, step, kind_no, tool_no
"""


def _spans_relation(con, workload: Workload, spans: pa.Table):
    con.register("spans", spans)
    params = {"model": workload.model, "subagent_model": workload.subagent_model}
    return _SPANS_SQL, params


def simulate_traces(workload: Workload, *, days: int, seed: int, rng_durations: bool = False):
    """Simulated spans in the SPEC §1 columns, as an Arrow table (one row per span, ordered by
    run, agent and step). Times are ISO 8601 UTC text with microseconds."""
    con = duckdb.connect()
    spans = simulate_spans(workload, days=days, seed=seed, rng_durations=rng_durations)
    query, params = _spans_relation(con, workload, spans)
    try:
        return con.sql(query, params=params).to_arrow_table()
    finally:
        con.close()


def simulate_to_csv(
    workload: Workload,
    *,
    days: int,
    seed: int,
    path,
    rng_durations: bool = False,
    max_spans: int = MAX_SPANS,
) -> dict:
    """Write simulated traces of `days` days to a SPEC §1 CSV file; a summary of what was written:
    runs, completed runs, spans by kind, the first instant and the file."""
    con = duckdb.connect()
    spans = simulate_spans(
        workload, days=days, seed=seed, rng_durations=rng_durations, max_spans=max_spans
    )
    query, params = _spans_relation(con, workload, spans)
    try:
        con.execute(f"COPY ({query}) TO '{_sql_path(path)}' (FORMAT csv, HEADER true)", params)
    finally:
        con.close()
    kind = spans.column("kind").to_numpy()
    kinds = np.bincount(kind, minlength=4)
    main_root = (kind == ROOT) & (spans.column("agent").to_numpy() == 0)
    return {
        "file": str(path),
        "days": days,
        "seed": seed,
        "start": EPOCH.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "runs": int(main_root.sum()),
        "completed": int(spans.column("success").to_numpy(zero_copy_only=False)[main_root].sum()),
        "sessions": int(kinds[ROOT]),
        "spans": spans.num_rows,
        "llm_spans": int(kinds[LLM]),
        "tool_spans": int(kinds[TOOL]),
        "snapshot_spans": int(kinds[SNAPSHOT]),
    }


def simulate_csv(
    workload: Workload, *, days: int, seed: int, max_spans: int = MAX_SPANS
) -> tuple[bytes, dict]:
    """The CSV file `simulate_to_csv` writes, as bytes, and its summary (without `file`)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "traces.csv"
        summary = simulate_to_csv(workload, days=days, seed=seed, path=path, max_spans=max_spans)
        data = path.read_bytes()
    summary.pop("file")
    return data, summary


def _sql_path(path) -> str:
    """A file path as a SQL string literal body (COPY takes no bound parameter for its target)."""
    return str(Path(path)).replace("'", "''")
