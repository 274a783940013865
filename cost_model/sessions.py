"""Sessions (SPEC §1–2): all spans of one (run_id, agent_id), with their extent and busy time.

Every duration here is a whole number of microseconds (`*_us`), as billing needs them.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from cost_model.traces import TraceSet

ACTIVE_KINDS = ("llm", "tool", "snapshot")

# The union of the intervals of a session's spans of some kinds, in one window pass: taken in
# order of start, a span adds only its part beyond the furthest end reached before it (the span
# that reached it started no later, so it covers everything from this start to that end).
_BUSY_SQL = """
WITH iv AS (
    SELECT run_id, agent_id, start_us AS s, end_us AS e FROM {t}
    WHERE list_contains(?, kind) AND start_us IS NOT NULL AND end_us IS NOT NULL
      AND end_us >= start_us
), reached AS (
    SELECT *, max(e) OVER (
        PARTITION BY run_id, agent_id ORDER BY s, e
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
    FROM iv
)
SELECT run_id, agent_id,
       CAST(sum(greatest(e - greatest(s, coalesce(reach, s)), 0)) AS BIGINT) AS busy_us
FROM reached
GROUP BY run_id, agent_id
"""

_SESSIONS_SQL = """
SELECT run_id, agent_id,
       least(min(start_us), min(end_us)) AS start_us,
       greatest(max(start_us), max(end_us)) AS end_us,
       count(*) AS spans
FROM {t} GROUP BY run_id, agent_id
"""


def busy_sql(kinds: Sequence[str]) -> tuple[str, list]:
    """SQL (with `{t}` for the table) and its parameters: busy µs per session that has any."""
    return _BUSY_SQL, [list(kinds)]


def sessions_frame(
    ts: TraceSet, busy_kinds: dict[str, Sequence[str]] | None = None
) -> pd.DataFrame:
    """One row per session: run_id, agent_id, start_us, end_us, runtime_us, spans, and a
    `<label>_us` busy-time column per entry of `busy_kinds` (label → kinds).

    start_us, end_us and runtime_us are null for a session with no known instant; busy time is 0
    for a timed session that ran none of the kinds and null for an untimed one. Sorted by start,
    end, run_id, agent_id (untimed sessions last).
    """
    if busy_kinds is None:
        busy_kinds = {
            "llm_busy": ("llm",),
            "tool_busy": ("tool",),
            "active": ACTIVE_KINDS,
        }
    frame = ts.df(_SESSIONS_SQL)
    frame["runtime_us"] = (frame["end_us"] - frame["start_us"]).astype("Int64")
    timed = frame["start_us"].notna()
    for label, kinds in busy_kinds.items():
        query, params = busy_sql(kinds)
        busy = ts.df(query, params).rename(columns={"busy_us": f"{label}_us"})
        frame = frame.merge(busy, on=["run_id", "agent_id"], how="left")
        col = f"{label}_us"
        frame[col] = frame[col].astype("Int64").where(~timed, frame[col].fillna(0).astype("Int64"))
    frame = frame.sort_values(
        ["start_us", "end_us", "run_id", "agent_id"], na_position="last", kind="stable"
    )
    return frame.reset_index(drop=True)
