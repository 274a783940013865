"""The runtime metrics of SPEC §2 on small files whose numbers are worked out by hand."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cost_model.loader import connect, load_traces
from cost_model.metrics import (
    compute_metrics,
    concurrency_steps,
    per_run_metrics,
    run_spans,
    session_runtimes,
    snapshot_points,
    tool_latencies,
)
from cost_model.sessions import sessions_frame

T = 1767225600  # 2026-01-01T00:00:00Z in Unix seconds
HEADER = (
    "run_id,span_id,agent_id,kind,name,start_time,end_time,bytes,"
    "input_tokens,cached_input_tokens,output_tokens,cost_usd,success"
)

# Sessions: r1 main [0, 20) runtime 20, r1/sub [5, 9) runtime 4, r2 main [22, 32) runtime 10,
# r3 main untimed. r2/b ends before it starts; r2/c has a start only; r1/h and r2/d are instants.
MIXED = [
    "r1,a,,llm,m,0,10,,100,40,5,0.5,true",
    "r1,b,,tool,bash,10,12,,,,,,true",
    "r1,c,,tool,bash,11,15,,,,,,true",
    "r1,d,,snapshot,,15,16,1000,,,,,true",
    "r1,e,,other,,16,20,,,,,,true",
    "r1,i,,snapshot,,18,19,500,,,,,true",
    "r1,f,sub,llm,m,5,8,,50,,3,0.25,",
    "r1,g,sub,tool,grep,8,9,,,,,,",
    "r1,h,sub,snapshot,,9,9,3000,,,,,",
    "r2,a,,llm,m,22,32,,10,,1,,false",
    "r2,b,,tool,,32,27,,,,,,false",
    "r2,c,,snapshot,,28,,,,,,,false",
    "r2,d,,snapshot,,32,32,0,,,,,false",
    "r3,a,,llm,m,,,,,,,,",
]


def shifted(row: str) -> str:
    """Times in the rows above are seconds after T."""
    cells = row.split(",")
    for i in (5, 6):
        if cells[i]:
            cells[i] = str(T + float(cells[i]))
    return ",".join(cells)


@functools.cache
def database():
    """One database for every test (each load makes a table of its own): examples stay cheap."""
    return connect()


def load(tmp_path, rows, header=HEADER, shift=True, name="t.csv"):
    path = tmp_path / name
    body = [shifted(r) if shift else r for r in rows]
    path.write_text("\n".join([header, *body]) + "\n", encoding="utf-8")
    return load_traces(path, con=database())


def timed(tmp_path, extents, name="t.csv"):
    """One session per (start, end) in seconds after T, each a single `other` span."""
    rows = [f"r{i},s,,other,,{s},{e},,,,,," for i, (s, e) in enumerate(extents)]
    return load(tmp_path, rows, name=name)


@pytest.fixture
def mixed(tmp_path):
    return load(tmp_path, MIXED)


def test_runs_sessions_and_spans_are_counted(mixed):
    m = compute_metrics(mixed)
    assert (m["runs"], m["completed_runs"], m["failed_runs"], m["unknown_runs"]) == (3, 1, 1, 1)
    assert (m["sessions"], m["spans"]) == (4, 14)


def test_window_runs_from_first_session_start_to_last_session_end(mixed):
    assert compute_metrics(mixed)["window"] == {
        "start": "2026-01-01T00:00:00Z",
        "end": "2026-01-01T00:00:32Z",
        "seconds": 32.0,
    }


def test_runtime_active_and_idle_are_statistics_over_timed_sessions(mixed):
    m = compute_metrics(mixed)
    # runtimes 4, 10, 20; active 4, 10, 17 (r1 main: llm 0-10, tools 10-15, snapshots 15-16
    # and 18-19; `other` is not active); idle 0, 0, 3. p95 of 3 values sits at rank 1.9.
    assert m["runtime_s"] == pytest.approx(
        {"total": 34.0, "mean": 34 / 3, "p50": 10.0, "p95": 19.0, "max": 20.0}
    )
    assert m["active_s"] == pytest.approx(
        {"total": 31.0, "mean": 31 / 3, "p50": 10.0, "p95": 16.3, "max": 17.0}
    )
    assert m["idle_s"] == pytest.approx(
        {"total": 3.0, "mean": 1.0, "p50": 0.0, "p95": 2.7, "max": 3.0}
    )


def test_concurrency_divides_total_runtime_by_window_and_by_busy_union(mixed):
    # Extents [0,20), [5,9), [22,32): union 30 s, window 32 s, two at once during [5,9).
    assert compute_metrics(mixed)["concurrency"] == pytest.approx(
        {"average": 34 / 32, "average_active": 34 / 30, "peak": 2}
    )


def test_llm_tokens_add_up_and_spans_without_usage_are_counted(mixed):
    assert compute_metrics(mixed)["llm"] == {
        "calls": 4,
        "calls_without_usage": 1,
        "input_tokens": 160,
        "cached_input_tokens": 40,
        "cache_write_tokens": 0,
        "output_tokens": 9,
    }


def test_tool_counts_take_every_span_and_latencies_only_intervals(mixed):
    tools = compute_metrics(mixed)["tools"]
    assert tools["calls"] == 4
    assert tools["calls_per_run"] == pytest.approx(4 / 3)
    # Latencies 1, 2, 4 (r2/b ends before it starts).
    assert tools["latency_s"] == pytest.approx({"mean": 7 / 3, "p50": 2.0, "p95": 3.8, "p99": 3.96})


def test_tools_by_name_sorted_by_name_with_no_name_last(mixed):
    assert compute_metrics(mixed)["tools"]["by_name"] == [
        {"name": "bash", "calls": 2, "mean": 3.0, "p50": 3.0, "p95": pytest.approx(3.9)},
        {"name": "grep", "calls": 1, "mean": 1.0, "p50": 1.0, "p95": 1.0},
        {"name": None, "calls": 1, "mean": None, "p50": None, "p95": None},
    ]


def test_tool_names_sort_by_code_point(tmp_path):
    rows = [f"r,{i},,tool,{n},0,1,,,,,," for i, n in enumerate(["b", "", "a", "B"])]
    names = [t["name"] for t in compute_metrics(load(tmp_path, rows))["tools"]["by_name"]]
    assert names == ["B", "a", "b", None]


def test_snapshot_sizes_rate_and_pooled_interval(mixed):
    # Bytes known: 1000, 500, 3000, 0. Starts per session: r1 main 15, 18 (gap 3); r2 only 32
    # (r2/c has a start alone, which counts for the extent only); r1/sub one snapshot (no gap).
    assert compute_metrics(mixed)["snapshots"] == pytest.approx(
        {
            "count": 5,
            "total_bytes": 4500,
            "mean_bytes": 1125.0,
            "p95_bytes": 2700.0,
            "per_session_hour": 5 / (34 / 3600),
            "mean_interval_s": 3.0,
        }
    )


def test_recorded_cost_and_warnings_pass_through(mixed):
    m = compute_metrics(mixed)
    assert m["recorded_cost_usd"] == pytest.approx(0.75)
    assert m["warnings"] == mixed.warnings


def test_keys_are_those_of_the_json_contract(mixed):
    m = compute_metrics(mixed)
    assert list(m) == [
        "runs", "completed_runs", "failed_runs", "unknown_runs", "sessions", "spans", "window",
        "runtime_s", "active_s", "idle_s", "concurrency", "llm", "tools", "snapshots",
        "recorded_cost_usd", "warnings",
    ]  # fmt: skip
    assert set(m["tools"]) == {"calls", "calls_per_run", "latency_s", "by_name"}
    assert set(m["snapshots"]) == {
        "count", "total_bytes", "mean_bytes", "p95_bytes", "per_session_hour", "mean_interval_s"
    }  # fmt: skip


def test_an_empty_data_set_has_zero_counts_and_null_statistics(tmp_path):
    m = compute_metrics(load(tmp_path, []))
    assert (m["runs"], m["completed_runs"], m["sessions"], m["spans"]) == (0, 0, 0, 0)
    assert m["window"] == {"start": None, "end": None, "seconds": None}
    for key in ("runtime_s", "active_s", "idle_s"):
        assert m[key] == dict.fromkeys(("total", "mean", "p50", "p95", "max"))
    assert m["concurrency"] == {"average": None, "average_active": None, "peak": None}
    assert m["llm"]["calls"] == 0 and m["llm"]["input_tokens"] == 0
    assert m["tools"] == {
        "calls": 0,
        "calls_per_run": None,
        "latency_s": dict.fromkeys(("mean", "p50", "p95", "p99")),
        "by_name": [],
    }
    assert m["snapshots"] == {
        "count": 0,
        **dict.fromkeys(
            ("total_bytes", "mean_bytes", "p95_bytes", "per_session_hour", "mean_interval_s")
        ),
    }
    assert m["recorded_cost_usd"] is None


def test_untimed_sessions_count_but_have_no_runtime(tmp_path):
    m = compute_metrics(load(tmp_path, ["r,a,,llm,m,,,,1,,1,,", "r,b,,snapshot,,,,9,,,,,"]))
    assert (m["runs"], m["sessions"], m["spans"]) == (1, 1, 2)
    assert m["runtime_s"]["total"] is None and m["concurrency"]["peak"] is None
    assert m["snapshots"]["total_bytes"] == 9
    assert m["snapshots"]["per_session_hour"] is None


def test_without_any_success_value_every_run_is_completed(tmp_path):
    m = compute_metrics(load(tmp_path, ["r1,a,,other,,0,1,,,,,,", "r2,a,,other,,0,1,,,,,,"]))
    assert (m["completed_runs"], m["failed_runs"], m["unknown_runs"]) == (2, 0, 0)


def test_once_a_run_has_a_success_value_runs_without_one_are_unknown(tmp_path):
    m = compute_metrics(load(tmp_path, ["r1,a,,other,,0,1,,,,,,", "r2,a,,other,,0,1,,,,,,false"]))
    assert (m["completed_runs"], m["failed_runs"], m["unknown_runs"]) == (0, 1, 1)


def test_a_session_ending_when_another_starts_does_not_overlap_it(tmp_path):
    c = compute_metrics(timed(tmp_path, [(0, 10), (10, 20)]))["concurrency"]
    assert c == {"average": 1.0, "average_active": 1.0, "peak": 1}


def test_one_instant_sessions_have_zero_runtime_and_occupy_no_instant(tmp_path):
    m = compute_metrics(load(tmp_path, ["r1,a,,other,,5,,,,,,,", "r2,a,,other,,,15,,,,,,"]))
    assert m["runtime_s"]["total"] == 0.0 and m["window"]["seconds"] == 10.0
    assert m["concurrency"] == {"average": 0.0, "average_active": None, "peak": 0}


def test_an_end_before_start_span_counts_for_extent_but_not_busy_time(tmp_path):
    m = compute_metrics(load(tmp_path, ["r,a,,tool,x,10,4,,,,,,", "r,b,,llm,m,5,6,,1,,1,,"]))
    assert m["runtime_s"]["total"] == 6.0 and m["active_s"]["total"] == 1.0
    assert m["tools"]["calls"] == 1 and m["tools"]["latency_s"]["mean"] is None


def test_window_ends_carry_microseconds_only_when_not_whole_seconds(tmp_path):
    w = compute_metrics(timed(tmp_path, [(0.5, 2), (1, 3.000001)]))["window"]
    assert w == {
        "start": "2026-01-01T00:00:00.500000Z",
        "end": "2026-01-01T00:00:03.000001Z",
        "seconds": 2.500001,
    }


def test_session_runtimes_agree_with_sessions_frame(mixed):
    frame = sessions_frame(mixed)
    m = compute_metrics(mixed)
    assert m["runtime_s"]["total"] == frame["runtime_us"].sum() / 1e6
    assert m["active_s"]["total"] == frame["active_us"].sum() / 1e6


def test_per_run_rows_are_sorted_by_start_with_untimed_runs_last(mixed):
    rows = per_run_metrics(mixed)
    assert [r["run_id"] for r in rows] == ["r1", "r2", "r3"]
    assert rows[0] == pytest.approx({
        "run_id": "r1", "outcome": "completed", "sessions": 2, "spans": 9,
        "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T00:00:20Z",
        "runtime_s": 20.0, "session_runtime_s": 24.0, "active_s": 21.0,
        "llm_calls": 2, "input_tokens": 150, "cached_input_tokens": 40,
        "cache_write_tokens": 0, "output_tokens": 8, "tool_calls": 3, "tool_busy_s": 6.0,
        "snapshots": 3, "snapshot_bytes": 4500, "recorded_cost_usd": 0.75,
    })  # fmt: skip
    assert (rows[1]["outcome"], rows[1]["tool_busy_s"], rows[1]["snapshot_bytes"]) == (
        "failed",
        0.0,
        0,
    )
    assert rows[2] == {
        "run_id": "r3", "outcome": "unknown", "sessions": 1, "spans": 1, "start": None,
        "end": None, "runtime_s": None, "session_runtime_s": None, "active_s": None,
        "llm_calls": 1, "input_tokens": 0, "cached_input_tokens": 0, "cache_write_tokens": 0,
        "output_tokens": 0, "tool_calls": 0, "tool_busy_s": None, "snapshots": 0,
        "snapshot_bytes": None, "recorded_cost_usd": None,
    }  # fmt: skip


def test_concurrency_steps_change_at_each_start_and_end(mixed):
    steps = concurrency_steps(mixed)
    seconds = (steps["time"] - pd.Timestamp(T, unit="s", tz="UTC")).dt.total_seconds().tolist()
    assert list(zip(seconds, steps["sessions"])) == [
        (0, 1), (5, 2), (9, 1), (20, 0), (22, 1), (32, 0)
    ]  # fmt: skip


def test_chart_frames_hold_sessions_latencies_snapshots_and_one_run(mixed):
    sessions = session_runtimes(mixed)
    assert sessions["runtime_s"].tolist()[:3] == [20.0, 4.0, 10.0]
    assert sessions["idle_s"].tolist()[:3] == [3.0, 0.0, 0.0]
    assert sorted(tool_latencies(mixed)["latency_s"]) == [1.0, 2.0, 4.0]
    assert len(tool_latencies(mixed, limit=2)) == 2
    points = snapshot_points(mixed)
    assert points["bytes"].tolist()[:2] == [3000, 1000] and len(points) == 5
    spans = run_spans(mixed, "r2")
    assert spans["span_id"].tolist() == ["a", "c", "b", "d"]
    assert spans["duration_s"].tolist()[0] == 10.0 and spans["duration_s"].isna().sum() == 2


def test_chart_frames_of_an_empty_data_set_are_empty_with_their_columns(tmp_path):
    ts = load(tmp_path, [])
    assert list(concurrency_steps(ts)) == ["time", "sessions"]
    assert list(tool_latencies(ts)) == ["name", "latency_s"]
    assert list(snapshot_points(ts)) == ["time", "bytes", "run_id", "agent_id"]
    assert len(session_runtimes(ts)) == 0 and len(run_spans(ts, "r")) == 0
    assert per_run_metrics(ts) == []


def test_a_filtered_data_set_is_measured_alone(mixed):
    m = compute_metrics(mixed.filter({"run_id": "r2"}))
    assert (m["runs"], m["failed_runs"], m["sessions"], m["spans"]) == (1, 1, 1, 4)
    assert m["window"]["seconds"] == 10.0 and m["concurrency"]["peak"] == 1


def test_a_snapshot_with_only_a_start_makes_no_snapshot_interval(tmp_path):
    rows = [
        "r,a,,snapshot,,0,1,100,,,,,",
        "r,b,,snapshot,,10,,100,,,,,",
        "r,c,,snapshot,,30,31,,,,,,",
    ]
    snapshots = compute_metrics(load(tmp_path, rows))["snapshots"]
    assert snapshots["count"] == 3 and snapshots["mean_interval_s"] == 30.0  # a→c; b is left out


def test_a_run_without_an_outcome_stays_unknown_when_a_filter_keeps_it_alone(mixed):
    alone = mixed.filter({"run_id": "r3"})
    m = compute_metrics(alone)
    assert (m["runs"], m["completed_runs"], m["unknown_runs"]) == (1, 0, 1)
    assert [r["outcome"] for r in per_run_metrics(alone)] == ["unknown"]


extents = st.lists(
    st.tuples(st.integers(0, 60), st.integers(0, 30)).map(lambda p: (p[0], p[0] + p[1])),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None)
@given(extents)
def test_concurrency_matches_its_definitions_on_random_sessions(tmp_path_factory, sessions):
    c = compute_metrics(timed(tmp_path_factory.mktemp("c"), sessions))["concurrency"]
    total = sum(e - s for s, e in sessions)
    window = max(e for _, e in sessions) - min(s for s, _ in sessions)
    covered = [t for t in range(91) if any(s <= t < e for s, e in sessions)]
    assert c["peak"] == max(sum(s <= t < e for s, e in sessions) for t in range(91))
    assert c["average"] == (pytest.approx(total / window) if window else None)
    assert c["average_active"] == (pytest.approx(total / len(covered)) if covered else None)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 10**7), min_size=1, max_size=40))
def test_latency_percentiles_equal_numpy_quantile(tmp_path_factory, latencies_us):
    rows = [f"r,{i},,tool,x,0,{us / 1e6},,,,,," for i, us in enumerate(latencies_us)]
    lat = compute_metrics(load(tmp_path_factory.mktemp("q"), rows))["tools"]["latency_s"]
    values = np.array(latencies_us) / 1e6
    expected = np.quantile(values, [0.5, 0.95, 0.99])
    assert [lat["p50"], lat["p95"], lat["p99"]] == pytest.approx(list(expected), abs=1e-9)
    assert lat["mean"] == pytest.approx(values.mean(), abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["llm", "tool", "other"]), st.integers(0, 40),
                          st.integers(-3, 15)), min_size=1, max_size=15))  # fmt: skip
def test_busy_time_is_the_length_of_the_union_of_intervals(tmp_path_factory, spans):
    rows = [f"r,{i},,{k},x,{s},{s + d},,,,,," for i, (k, s, d) in enumerate(spans)]
    ts = load(tmp_path_factory.mktemp("b"), rows)
    [run] = per_run_metrics(ts)

    def covered(kinds):
        return sum(any(k in kinds and s <= t < s + d for k, s, d in spans) for t in range(60))

    assert run["active_s"] == covered({"llm", "tool"})
    assert run["tool_busy_s"] == covered({"tool"})
