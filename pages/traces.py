"""Traces: the runtime metrics (SPEC §2) of one data set of run traces, with charts and runs."""

import pandas as pd
import streamlit as st

from cost_model import charts
from cost_model.export import frame_to_csv
from cost_model.metrics import (
    compute_metrics,
    concurrency_steps,
    per_run_metrics,
    run_spans,
    session_runtimes,
    snapshot_points,
    tool_latencies,
)
from pages import common

common.require_app()

st.title("Traces")
st.caption(
    "How long agent sessions run, how many run at once, how long tools take and how much state "
    "they snapshot, from run traces (one row per span). Start with the bundled sample or add "
    "your own file; filter in the sidebar."
)
common.trace_uploader()
ts = common.dataset_sidebar()
metrics = common.memo(ts, compute_metrics)

summary = [f"**{common.escape_markdown(st.session_state['dataset_name'])}**"]
summary += [common.escape_markdown(f"{k} = {v}") for k, v in ts.where.items()]
summary += [f"{metrics[k]:,} {k}" for k in ("runs", "sessions", "spans")]
st.markdown(" · ".join([*summary, charts.window_text(metrics["window"])]))
if metrics["spans"] == 0:
    st.info("This data set has no spans, so there is nothing to measure. Choose another one.")
    st.stop()

groups = charts.headline_figures(metrics)
for row in (groups[:1], groups[1:3], groups[3:]):
    for group, col in zip(row, st.columns(len(row), gap="small")):
        with col.container(border=True):
            st.markdown(f"**{group['title']}**")
            for (label, value, help_text), cell in zip(
                group["figures"], st.columns(len(group["figures"]))
            ):
                cell.metric(label, value, help=help_text)
for warning in metrics["warnings"]:
    st.warning(common.escape_markdown(warning), icon=":material/warning:")
if ts.attributes:
    st.caption(
        "Attribute columns, kept as text (they change no number): "
        + ", ".join(f"`{a}`" for a in ts.attributes)
        + ". Filter by them in the sidebar."
    )

runtime, concurrency = metrics["runtime_s"], metrics["concurrency"]
steps = common.memo(ts, concurrency_steps)
left, right = st.columns(2, gap="medium")
left.plotly_chart(
    charts.runtime_histogram(
        common.memo(ts, session_runtimes)["runtime_s"].dropna().tolist(),
        p50=runtime["p50"],
        p95=runtime["p95"],
    )
    if runtime["mean"] is not None
    else charts.empty_figure("Session runtime distribution", "No session has a known time.")
)
right.plotly_chart(
    charts.concurrency_step(
        steps,
        average=concurrency["average"],
        average_active=concurrency["average_active"],
        peak=concurrency["peak"],
    )
    if len(steps)
    else charts.empty_figure("Concurrency over time", "No session runs for a positive time.")
)
left, right = st.columns(2, gap="medium")
latencies = common.memo(ts, tool_latencies)
left.plotly_chart(
    charts.tool_latency_box(latencies)
    if len(latencies)
    else charts.empty_figure("Tool latency per tool", "No tool span has both a start and an end.")
)
snapshots = common.memo(ts, snapshot_points)
right.plotly_chart(
    charts.snapshot_scatter(snapshots)
    if len(snapshots)
    else charts.empty_figure(
        "Snapshot size over time", "This data set has no snapshot spans with a known time."
    )
)

st.caption("Charts: hover for values, drag to zoom, double-click to zoom out.")

st.subheader("One run, span by span")
runs = pd.DataFrame(common.memo(ts, per_run_metrics))
labels = {
    r.run_id: f"{r.run_id} · {r.outcome} · {charts.fmt_duration(r.runtime_s)}"
    for r in runs.itertuples()
}
run_id = st.selectbox("Run", list(labels), format_func=labels.get, key="waterfall_run")
spans = run_spans(ts, run_id)
st.plotly_chart(charts.span_waterfall(spans, title=f"Spans of {run_id}"))
if len(spans) > charts.MAX_WATERFALL_ROWS:
    st.caption(f"The first {charts.MAX_WATERFALL_ROWS} of {len(spans):,} spans are drawn.")

st.subheader("Runs")
st.caption(
    "One row per run; click a column header to sort. The CSV keeps the keys of "
    "`python -m cost_model metrics --per-run`."
)
seconds = {"runtime_s": "Runtime", "session_runtime_s": "Σ session runtime",
           "active_s": "Active", "tool_busy_s": "Tool busy"}  # fmt: skip
labels = {"run_id": "Run", "outcome": "Outcome", "start": "Start (UTC)", "end": "End (UTC)",
          "llm_calls": "LLM calls", "cache_write_tokens": "Cache-write tokens"}  # fmt: skip
st.dataframe(
    runs,
    hide_index=True,
    column_config={
        **{k: k.replace("_", " ").capitalize() for k in runs.columns},
        **labels,
        **{k: st.column_config.NumberColumn(f"{v} (s)", format="%.1f") for k, v in seconds.items()},
        "recorded_cost_usd": st.column_config.NumberColumn("Recorded cost ($)", format="$%.4f"),
    },
)
st.download_button(
    "Download runs as CSV",
    frame_to_csv(runs),
    file_name="runs.csv",
    mime="text/csv",
    icon=":material/download:",
)
