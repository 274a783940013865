import re
from datetime import datetime

import pandas as pd
import plotly.graph_objects as go
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cost_model import charts


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def steps_frame() -> pd.DataFrame:
    times = ["07:00:00", "07:00:10", "07:00:30", "07:01:00"]
    return pd.DataFrame({"time": [utc(f"2026-04-13T{t}") for t in times], "sessions": [1, 2, 1, 0]})


def test_concurrency_line_is_a_step_after_each_change():
    fig = charts.concurrency_step(steps_frame(), average=0.75, average_active=1.25, peak=2)
    line = fig.data[0]
    assert line.line.shape == "hv"
    assert list(line.y) == [1, 2, 1, 0]
    assert line.x[0] == datetime(2026, 4, 13, 7, 0, 0)


def test_concurrency_peak_marker_sits_at_the_first_instant_of_the_peak():
    fig = charts.concurrency_step(steps_frame(), average=0.75, average_active=1.25, peak=2)
    (marker,) = [t for t in fig.data if t.mode == "markers+text"]
    assert list(marker.y) == [2]
    assert list(marker.x) == [datetime(2026, 4, 13, 7, 0, 10)]
    assert marker.name == "Peak 2"


def test_concurrency_averages_are_flat_lines_over_the_window():
    fig = charts.concurrency_step(steps_frame(), average=0.75, average_active=1.25, peak=2)
    lines = {t.name: t for t in fig.data if t.mode == "lines"}
    assert list(lines["Average 0.75"].y) == [0.75, 0.75]
    assert list(lines["Average while active 1.25"].y) == [1.25, 1.25]
    assert list(lines["Average 0.75"].x) == [
        datetime(2026, 4, 13, 7, 0, 0),
        datetime(2026, 4, 13, 7, 1, 0),
    ]


def test_concurrency_without_sessions_draws_no_marks():
    empty = pd.DataFrame({"time": pd.Series([], dtype="datetime64[us, UTC]"), "sessions": []})
    fig = charts.concurrency_step(empty, average=None, average_active=None, peak=None)
    assert len(fig.data) == 1
    assert list(fig.data[0].y) == []


def test_runtime_histogram_marks_median_and_p95_in_the_legend():
    fig = charts.runtime_histogram([10.0, 20.0, None, 30.0], p50=20.0, p95=29.0)
    assert list(fig.data[0].x) == [10.0, 20.0, 30.0]
    marks = {s.name: s.x0 for s in fig.layout.shapes}
    assert marks == {"Median 20 s": 20.0, "p95 29 s": 29.0}


def test_runtime_histogram_without_statistics_has_no_marks():
    fig = charts.runtime_histogram([], p50=None, p95=None)
    assert fig.layout.shapes == ()


def test_tool_latency_has_one_box_per_tool_sorted_with_unnamed_last():
    frame = pd.DataFrame(
        {"name": ["read", None, "bash", "read"], "latency_s": [0.5, 2.0, 0.0, 1.5]}
    )
    fig = charts.tool_latency_box(frame)
    assert [t.name for t in fig.data] == ["bash", "read", "(no name)"]
    assert list(fig.data[1].x) == [0.5, 1.5]
    # A zero-length call cannot sit on a log axis: it is drawn at 1 µs.
    assert list(fig.data[0].x) == [1e-6]
    assert fig.layout.xaxis.type == "log"


def test_snapshot_scatter_plots_bytes_over_time():
    frame = pd.DataFrame(
        {"time": [utc("2026-01-01T00:00:00"), utc("2026-01-01T00:05:00")], "bytes": [1000, None]}
    )
    fig = charts.snapshot_scatter(frame)
    assert list(fig.data[0].y) == [1000, None]
    assert fig.data[0].x[1] == datetime(2026, 1, 1, 0, 5)


def run_frame() -> pd.DataFrame:
    nat = pd.NaT
    return pd.DataFrame(
        {
            "span_id": ["root", "m1", "m2", "m3", "m4"],
            "agent_id": ["", "", "", "helper", ""],
            "kind": ["other", "llm", "tool", "llm", "snapshot"],
            "name": ["agent_run", "kimi-k2.6", "bash", None, None],
            "start": [utc("2026-04-13T07:00:00"), nat, utc("2026-04-13T07:00:02"),
                      utc("2026-04-13T07:00:03.5"), nat],
            "end": [utc("2026-04-13T07:00:10"), utc("2026-04-13T07:00:02"),
                    utc("2026-04-13T07:00:03"), utc("2026-04-13T07:00:06"), nat],
        }
    )  # fmt: skip


def test_waterfall_bars_run_from_start_to_end_in_seconds_from_the_first_instant():
    fig = charts.span_waterfall(run_frame())
    bars = {t.name: t for t in fig.data if isinstance(t, go.Bar)}
    assert list(bars["other"].base) == [0.0]
    assert list(bars["other"].x) == [10.0]
    assert list(bars["tool"].base) == [2.0]
    assert list(bars["tool"].x) == [1.0]
    assert list(bars["llm"].base) == [3.5]
    assert list(bars["llm"].x) == [2.5]
    assert list(bars["llm"].y) == [3]
    assert all(t.orientation == "h" for t in bars.values())


def test_waterfall_marks_a_span_with_one_known_time_at_that_instant():
    fig = charts.span_waterfall(run_frame())
    (points,) = [t for t in fig.data if isinstance(t, go.Scatter)]
    assert points.name == "llm (one time known)"
    assert list(points.x) == [2.0]
    assert list(points.y) == [1]


def test_waterfall_has_one_labelled_row_per_span_top_down():
    fig = charts.span_waterfall(run_frame())
    assert list(fig.layout.yaxis.ticktext) == [
        "1. other · agent_run",
        "2. llm · kimi-k2.6",
        "3. tool · bash",
        "4. llm [helper]",
        "5. snapshot",
    ]
    assert fig.layout.yaxis.autorange == "reversed"


def test_waterfall_bars_are_coloured_by_kind():
    fig = charts.span_waterfall(run_frame())
    colours = {t.name: t.marker.color for t in fig.data if isinstance(t, go.Bar)}
    assert colours == {k: charts.KIND_COLOURS[k] for k in ("llm", "tool", "other")}


def test_empty_figure_says_why_in_words():
    fig = charts.empty_figure("Snapshot size over time", "No snapshots.")
    assert fig.layout.annotations[0].text == "No snapshots."
    assert fig.layout.title.text == "Snapshot size over time"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0, "0 s"),
        (0.000437, "0.437 ms"),
        (0.2133, "213 ms"),
        (42.5, "42.5 s"),
        (507.4, "8 min 27 s"),
        (3 * 3600 + 5 * 60 + 10, "3 h 05 min"),
        (4 * 86400 + 2 * 3600, "4 d 02 h"),
    ],
)
def test_durations_read_in_the_largest_sensible_unit(seconds, text):
    assert charts.fmt_duration(seconds) == text


@given(st.floats(min_value=60, max_value=3599.4))
def test_minutes_and_seconds_add_up_to_the_rounded_duration(seconds):
    minutes, secs = re.fullmatch(r"(\d+) min (\d\d) s", charts.fmt_duration(seconds)).groups()
    assert int(minutes) * 60 + int(secs) == round(seconds)


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (None, "—"),
        (999, "999 bytes"),
        (12_300, "12.3 kB"),
        (999_600, "1 MB"),
        (4_500_000_000, "4.5 GB"),
    ],
)
def test_sizes_use_decimal_units(n, text):
    assert charts.fmt_bytes(n) == text


@given(st.integers(min_value=0, max_value=10**14))
def test_sizes_read_back_to_within_half_a_percent_with_under_1000_of_a_unit(n):
    number, unit = charts.fmt_bytes(n).split(" ")
    value = float(number.replace(",", ""))
    assert value < 1000 or (unit == "bytes" and value == n)
    scale = {"bytes": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}[unit]
    assert abs(value * scale - n) <= 0.005 * n


@pytest.mark.parametrize(
    ("usd", "text"),
    [(None, "—"), (0.0, "$0.00"), (1234.567, "$1,234.57"), (0.000522, "$0.000522")],
)
def test_dollars_keep_small_amounts_visible(usd, text):
    assert charts.fmt_usd(usd) == text


def metrics_dict(**over) -> dict:
    base = {
        "runs": 4, "completed_runs": 2, "failed_runs": 1, "unknown_runs": 1,
        "recorded_cost_usd": None,
        "runtime_s": {"total": 300.0, "mean": 75.0, "p50": 60.0, "p95": 150.0, "max": 160.0},
        "concurrency": {"average": 1.5, "average_active": 2.0, "peak": 3},
        "tools": {"calls": 10, "calls_per_run": 2.5,
                  "latency_s": {"mean": 0.25, "p50": 0.2, "p95": 1.0, "p99": 1.2}},
        "snapshots": {"count": 0, "total_bytes": None, "mean_bytes": None, "p95_bytes": None,
                      "per_session_hour": 0.0, "mean_interval_s": None},
    }  # fmt: skip
    return {**base, **over}


def test_headline_figures_say_unknown_as_a_dash_and_format_units():
    groups = charts.headline_figures(metrics_dict())
    values = {(g["title"], label): value for g in groups for label, value, _ in g["figures"]}
    assert values[("Runs", "Recorded cost")] == "—"
    assert values[("Runs", "Unknown")] == "1"
    assert values[("Runtime per agent session", "Mean")] == "1 min 15 s"
    assert values[("Concurrent sessions", "Peak")] == "3"
    assert values[("Tool calls", "Per run")] == "2.5"
    assert values[("Tool calls", "Mean latency")] == "250 ms"
    assert values[("State snapshots", "Mean size")] == "—"
    assert values[("State snapshots", "Per session-hour")] == "0"


def test_window_text_gives_both_ends_in_utc_and_the_length():
    window = {"start": "2026-04-13T07:11:00Z", "end": "2026-04-13T08:37:30Z", "seconds": 5190.0}
    assert charts.window_text(window) == "2026-04-13 07:11 → 2026-04-13 08:37 UTC (1 h 26 min)"
    assert charts.window_text({"start": None, "end": None, "seconds": None}) == "no known time"
