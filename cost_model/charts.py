"""Plotly figures of the runtime metrics (SPEC §2), and number formats for people.

Each builder takes small frames or plain numbers (as `cost_model.metrics` returns them) and gives a
`plotly.graph_objects.Figure`; none reads the database, so each is tested on a hand-made frame.
Values go into figures as Python lists, not numpy arrays, so that a figure's JSON holds readable
numbers rather than Plotly's packed binary arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

KIND_COLOURS = {"llm": "#2f6fdf", "tool": "#e8833a", "snapshot": "#2a9d6f", "other": "#9aa3ad"}
"""One colour per span kind, the same in every chart."""

_FONT = "Inter, Segoe UI, Helvetica, Arial, sans-serif"
MAX_WATERFALL_ROWS = 400
"""The most spans a waterfall draws (a taller chart is no longer readable)."""


def fmt_duration(seconds: float | None) -> str:
    """A duration for people: '213 ms', '42.5 s', '8 min 27 s', '3 h 05 min', '4 d 02 h'."""
    if seconds is None or _nan(seconds):
        return "—"
    s = float(seconds)
    if s < 1:
        return f"{s * 1000:.3g} ms" if s > 0 else "0 s"
    if s < 60:
        return f"{s:.3g} s"
    whole = round(s)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    minutes = round(s / 60)
    if minutes < 24 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    hours = round(s / 3600)
    return f"{hours // 24} d {hours % 24:02d} h"


def fmt_bytes(n: float | None) -> str:
    """A size in decimal units (1 kB = 1000 bytes, 1 GB = 10^9 bytes, as SPEC says)."""
    if n is None or _nan(n):
        return "—"
    if abs(n) < 999.5:
        return f"{n:,.0f} bytes"
    # Three significant digits; 999,600 bytes reads '1 MB', not '1e+03 kB'.
    power = min(int(math.log10(abs(float(f"{n:.3g}")))) // 3, 4)
    return f"{float(f'{n / 1000**power:.3g}'):,g} {('kB', 'MB', 'GB', 'TB')[power - 1]}"


def fmt_usd(amount: float | None) -> str:
    """Dollars: '$1,234.57'; under a dollar, three significant digits ('$0.000522')."""
    if amount is None or _nan(amount):
        return "—"
    if amount != 0 and abs(amount) < 1:
        return f"${amount:.3g}" if abs(amount) >= 1e-4 else f"${amount:.2e}"
    return f"${amount:,.2f}"


def fmt_number(x: float | None, digits: int = 3) -> str:
    """A count with thousands separators, or a fraction to `digits` significant digits."""
    if x is None or _nan(x):
        return "—"
    if float(x).is_integer() and abs(x) >= 1:
        return f"{int(x):,}"
    if abs(x) >= 10**digits:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def _nan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, height: int = 340) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        template="plotly_white",
        font={"family": _FONT, "size": 12},
        height=height,
        margin={"l": 10, "r": 10, "t": 48, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.3, "xanchor": "left", "x": 0},
        hoverlabel={"font_family": _FONT},
    )
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return fig


def to_datetimes(times: Sequence) -> list:
    """UTC timestamps (or µs since the epoch) as naive UTC datetimes, None when unknown.

    Naive, because Plotly would otherwise show the viewer's offset; the axes say 'UTC'.
    """
    series = pd.Series(list(times))
    if not isinstance(series.dtype, pd.DatetimeTZDtype) and not series.empty:
        series = pd.to_datetime(series.astype("Int64"), unit="us", utc=True)
    return [
        None if pd.isna(t) else t.tz_convert("UTC").tz_localize(None).to_pydatetime()
        for t in series
    ]


def runtime_histogram(
    runtimes_s: Sequence[float], *, p50: float | None = None, p95: float | None = None
) -> go.Figure:
    """Histogram of session runtimes (seconds), with dashed lines at the median and p95."""
    values = [float(v) for v in runtimes_s if v is not None and not _nan(v)]
    fig = go.Figure(
        go.Histogram(
            x=values,
            nbinsx=40,
            name="Sessions",
            showlegend=False,
            marker_color=KIND_COLOURS["llm"],
            hovertemplate="%{x} s: %{y} sessions<extra></extra>",
        )
    )
    for label, value, dash in (("Median", p50, "dash"), ("p95", p95, "dot")):
        if value is not None:
            fig.add_vline(
                x=value,
                line={"dash": dash, "color": "#333", "width": 1.5},
                name=f"{label} {fmt_duration(value)}",
                showlegend=True,
            )
    fig.update_layout(bargap=0.05)
    return _layout(fig, "Session runtime distribution", "Session runtime (s)", "Sessions")


def concurrency_step(
    steps: pd.DataFrame,
    *,
    average: float | None,
    average_active: float | None,
    peak: int | None,
) -> go.Figure:
    """Sessions running over time as a step line ('hv'), with the averages and the peak marked.

    `steps` has `time` (UTC) and `sessions` (the count from that instant on), as
    `cost_model.metrics.concurrency_steps` gives them.
    The peak marker sits at the first instant the count reaches `peak`.
    """
    times = to_datetimes(steps["time"])
    counts = [int(c) for c in steps["sessions"].tolist()]
    fig = go.Figure(
        go.Scatter(
            x=times,
            y=counts,
            mode="lines",
            line={"shape": "hv", "color": KIND_COLOURS["llm"], "width": 1.5},
            name="Sessions running",
            hovertemplate="%{x|%Y-%m-%d %H:%M:%S} UTC<br>%{y} sessions<extra></extra>",
        )
    )
    if times:
        ends = [times[0], times[-1]]
        for label, value, dash in (
            ("Average", average, "dash"),
            ("Average while active", average_active, "dot"),
        ):
            if value is not None:
                fig.add_trace(
                    go.Scatter(
                        x=ends,
                        y=[value, value],
                        mode="lines",
                        line={"dash": dash, "color": "#555", "width": 1},
                        name=f"{label} {fmt_number(value)}",
                        hoverinfo="skip",
                    )
                )
    if peak is not None and peak in counts:
        at = times[counts.index(peak)]
        fig.add_trace(
            go.Scatter(
                x=[at],
                y=[peak],
                mode="markers+text",
                marker={"symbol": "triangle-down", "size": 12, "color": "#c0392b"},
                text=[f"peak {peak}"],
                textposition="top center",
                name=f"Peak {peak}",
                hovertemplate="%{x|%Y-%m-%d %H:%M:%S} UTC<br>peak %{y} sessions<extra></extra>",
            )
        )
    # Headroom above the peak, so that its label stays inside the plot.
    fig.update_yaxes(range=[0, max(counts + [peak or 0, 1]) * 1.2], rangemode="tozero")
    return _layout(fig, "Concurrency over time", "Time (UTC)", "Sessions running")


def tool_latency_box(latencies: pd.DataFrame) -> go.Figure:
    """Tool latency per tool name (one horizontal box each, on a log axis, sorted by name).

    `latencies` has `name` (None for a tool span without a name) and `latency_s`. Latencies of
    tools differ by orders of magnitude (ms for in-process tools, a minute for a shell timeout).
    """
    frame = latencies.assign(name=latencies["name"].fillna("(no name)"))
    names = sorted(n for n in frame["name"].unique() if n != "(no name)")
    if (frame["name"] == "(no name)").any():
        names.append("(no name)")
    fig = go.Figure()
    for name in names:
        values = frame.loc[frame["name"] == name, "latency_s"].astype(float).tolist()
        # A log axis cannot place 0; a zero-length call is drawn at 1 µs.
        fig.add_trace(
            go.Box(
                x=[max(v, 1e-6) for v in values],
                name=str(name),
                orientation="h",
                marker_color=KIND_COLOURS["tool"],
                boxpoints="outliers",
                hovertemplate="%{x:.4g} s<extra>" + str(name) + "</extra>",
            )
        )
    height = max(260, 60 + 22 * len(names))
    fig.update_layout(showlegend=False)
    fig.update_xaxes(type="log")
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Tool latency per tool", "Latency (s, log scale)", "", height=height)


def snapshot_scatter(points: pd.DataFrame) -> go.Figure:
    """Snapshot size over time: `points` has `time` (UTC) and `bytes`, as
    `cost_model.metrics.snapshot_points` gives them."""
    fig = go.Figure(
        go.Scatter(
            x=to_datetimes(points["time"]),
            y=[None if pd.isna(b) else int(b) for b in points["bytes"].tolist()],
            mode="markers",
            marker={"color": KIND_COLOURS["snapshot"], "size": 6, "opacity": 0.7},
            name="Snapshots",
            hovertemplate="%{x|%Y-%m-%d %H:%M:%S} UTC<br>%{y:,} bytes<extra></extra>",
        )
    )
    return _layout(fig, "Snapshot size over time", "Time (UTC)", "Snapshot size (bytes)")


def waterfall_rows(spans: pd.DataFrame) -> pd.DataFrame:
    """The rows of a run's waterfall, in the order given (one per span, 0 at the top).

    `spans` has span_id, kind, name, start, end (UTC, NaT when unknown) and optionally agent_id,
    as `cost_model.metrics.run_spans` gives them. Adds `row`, `start_s` and `end_s` (seconds from
    the run's first known instant, NaN when unknown) and `label`.
    """
    frame = spans.reset_index(drop=True).copy()
    origin = pd.concat([frame["start"], frame["end"]]).min()
    frame["start_s"] = (frame["start"] - origin).dt.total_seconds()
    frame["end_s"] = (frame["end"] - origin).dt.total_seconds()
    frame["row"] = range(len(frame))
    agents = frame["agent_id"] if "agent_id" in frame else [""] * len(frame)
    frame["label"] = [
        f"{i + 1}. {kind}{' · ' + name if isinstance(name, str) and name else ''}"
        f"{' [' + agent + ']' if isinstance(agent, str) and agent else ''}"
        for i, kind, name, agent in zip(range(len(frame)), frame["kind"], frame["name"], agents)
    ]
    return frame


def span_waterfall(spans: pd.DataFrame, *, title: str = "Spans of the run") -> go.Figure:
    """A trace viewer's waterfall: one row per span, a bar from its start to its end.

    Bars are coloured by kind on a time axis in seconds from the run's first instant. A span with
    only one known time, or an end before its start, shows as a diamond at its known instant; a
    span with no time is listed without a mark. Shows at most 400 spans (the first ones).
    """
    rows = waterfall_rows(spans).head(MAX_WATERFALL_ROWS)
    whole = rows["start_s"].notna() & rows["end_s"].notna() & (rows["end_s"] >= rows["start_s"])
    instant = ~whole & (rows["start_s"].notna() | rows["end_s"].notna())
    fig = go.Figure()
    for kind, colour in KIND_COLOURS.items():
        bars = rows[whole & (rows["kind"] == kind)]
        points = rows[instant & (rows["kind"] == kind)]
        if len(bars):
            fig.add_trace(
                go.Bar(
                    y=bars["row"].tolist(),
                    x=(bars["end_s"] - bars["start_s"]).astype(float).tolist(),
                    base=bars["start_s"].astype(float).tolist(),
                    orientation="h",
                    marker={"color": colour, "line": {"color": colour, "width": 1}},
                    name=kind,
                    legendgroup=kind,
                    customdata=bars[["label", "span_id"]].values.tolist(),
                    hovertemplate="%{customdata[0]}<br>%{base:.3f} s → +%{x:.3f} s"
                    "<br>%{customdata[1]}<extra></extra>",
                )
            )
        if len(points):
            at = points["start_s"].fillna(points["end_s"])
            fig.add_trace(
                go.Scatter(
                    y=points["row"].tolist(),
                    x=at.astype(float).tolist(),
                    mode="markers",
                    marker={"symbol": "diamond-open", "size": 9, "color": colour},
                    name=f"{kind} (one time known)",
                    legendgroup=kind,
                    customdata=points[["label", "span_id"]].values.tolist(),
                    hovertemplate="%{customdata[0]}<br>only one time known: %{x:.3f} s"
                    "<br>%{customdata[1]}<extra></extra>",
                )
            )
    fig.update_yaxes(
        tickvals=rows["row"].tolist(),
        ticktext=rows["label"].tolist(),
        autorange="reversed",
        tickfont={"size": 10},
    )
    fig.update_layout(barmode="overlay", bargap=0.25)
    height = max(260, 90 + 16 * len(rows))
    fig = _layout(fig, title, "Time since the run's first span (s)", "", height=height)
    # Below a tall chart the legend would sit far from the bars: put it beside the title.
    fig.update_layout(legend={"yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1})
    return fig


def empty_figure(title: str, sentence: str) -> go.Figure:
    """A chart frame that says in words why there is nothing to draw."""
    fig = go.Figure()
    fig.add_annotation(
        text=sentence,
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        font={"size": 13, "color": "#666"},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title, "", "", height=240)


def headline_figures(metrics: dict) -> list[dict]:
    """The Traces page's headline numbers, formatted: groups of (label, value, explanation).

    `metrics` is `cost_model.metrics.compute_metrics` output. Each group is
    {"title": str, "figures": [(label, text, help)]}; an unknown value reads '—'.
    """
    runtime, conc = metrics["runtime_s"], metrics["concurrency"]
    tools, snaps = metrics["tools"], metrics["snapshots"]
    return [
        {
            "title": "Runs",
            "figures": [
                ("Runs", fmt_number(metrics["runs"]), "Distinct run_id values."),
                ("Completed", fmt_number(metrics["completed_runs"]), "success is true."),
                ("Failed", fmt_number(metrics["failed_runs"]), "success is false."),
                ("Unknown", fmt_number(metrics["unknown_runs"]), "No success value."),
                (
                    "Recorded cost",
                    fmt_usd(metrics["recorded_cost_usd"]),
                    "Sum of cost_usd as the source recorded it (not re-priced).",
                ),
            ],
        },
        {
            "title": "Runtime per agent session",
            "figures": [
                ("Mean", fmt_duration(runtime["mean"]), _RUNTIME_HELP),
                ("Median", fmt_duration(runtime["p50"]), _RUNTIME_HELP),
                ("p95", fmt_duration(runtime["p95"]), _RUNTIME_HELP),
            ],
        },
        {
            "title": "Concurrent sessions",
            "figures": [
                ("Average", fmt_number(conc["average"]), "Σ session runtime / window length."),
                (
                    "While active",
                    fmt_number(conc["average_active"]),
                    "Σ session runtime / time when at least one session runs.",
                ),
                ("Peak", fmt_number(conc["peak"]), "Most sessions running at one instant."),
            ],
        },
        {
            "title": "Tool calls",
            "figures": [
                ("Calls", fmt_number(tools["calls"]), "Spans of kind tool."),
                ("Per run", fmt_number(tools["calls_per_run"]), "Tool calls / runs."),
                ("Mean latency", fmt_duration(tools["latency_s"]["mean"]), _LATENCY_HELP),
                ("p95 latency", fmt_duration(tools["latency_s"]["p95"]), _LATENCY_HELP),
            ],
        },
        {
            "title": "State snapshots",
            "figures": [
                ("Snapshots", fmt_number(snaps["count"]), "Spans of kind snapshot."),
                ("Mean size", fmt_bytes(snaps["mean_bytes"]), "Over snapshots with known bytes."),
                (
                    "Per session-hour",
                    fmt_number(snaps["per_session_hour"]),
                    "Snapshots / (Σ session runtime in hours).",
                ),
            ],
        },
    ]


_RUNTIME_HELP = (
    "A session is one agent of one run; its runtime runs from its first to its last known "
    "instant. Statistics over sessions with a known time."
)
_LATENCY_HELP = "End − start of tool spans with both times (end not before start)."


def window_text(window: dict) -> str:
    """'2026-04-13 07:11 → 2026-04-13 08:37 UTC (1 h 26 min)', or 'no known time'."""
    if window.get("start") is None or window.get("end") is None:
        return "no known time"
    start = window["start"][:16].replace("T", " ")
    end = window["end"][:16].replace("T", " ")
    return f"{start} → {end} UTC ({fmt_duration(window['seconds'])})"
