"""Figures and tables of pricing results (SPEC §3), as `cost_model.billing.price` returns them.

Nothing here reads the database or imports Streamlit: the Compare page passes in the results,
and each function is tested on hand-made ones.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from cost_model.billing import COMPONENTS
from cost_model.charts import fmt_number, fmt_usd

COMPONENT_LABELS = {
    "tokens": "Tokens",
    "session_time": "Session time",
    "active_time": "Active time",
    "requests": "Requests",
    "cold_start": "Cold starts",
    "capacity": "Capacity",
    "concurrency_tier": "Concurrency tier",
    "snapshots": "Snapshots",
}
"""How each cost component is named in tables and legends."""

COMPONENT_COLOURS = {
    "tokens": "#2f6fdf",
    "session_time": "#e8833a",
    "active_time": "#f2b134",
    "requests": "#8e6bbf",
    "cold_start": "#d9534f",
    "capacity": "#2a9d6f",
    "concurrency_tier": "#6fc2a8",
    "snapshots": "#9aa3ad",
}
"""One colour per component, the same in every chart."""

BASES = {
    "total": "Total over the data set",
    "per_run": "Per run",
    "per_completed_task": "Per completed task",
}
"""What a chart's bars measure: key → label."""

DEFAULT_PLANS = (
    "Kimi K2.6 tokens (Moonshot API)",
    "Kimi K2.6 tokens + AgentCore Runtime",
    "Kimi K2.6 tokens + AWS Lambda (2 GB)",
)
"""Plans the Compare page starts with, when they exist."""

_FONT = "Inter, Segoe UI, Helvetica, Arial, sans-serif"


def default_plans(names: list[str]) -> list[str]:
    """The default choice among the available plan names (the first two when none is known)."""
    chosen = [n for n in DEFAULT_PLANS if n in names]
    return chosen or names[:2]


def divisor(basis: str, runs: int, completed_runs: int) -> int | None:
    """What a total is divided by for a basis; None when that is undefined (no runs)."""
    value = {"total": 1, "per_run": runs, "per_completed_task": completed_runs}[basis]
    return value or None


def components_chart(
    results: list[dict], *, basis: str = "total", by: int | None = 1, recorded_usd=None
) -> go.Figure:
    """Stacked horizontal bars: each plan's cost split into its components, in USD.

    `by` divides every amount (1, the runs or the completed runs, as `divisor` gives it);
    `recorded_usd`, the total cost the traces recorded, is drawn as a line, divided the same.
    """
    if by is None:
        return _empty(f"{BASES[basis]}: undefined, the data set has no such runs.")
    fig = component_bars(results, by)
    if recorded_usd is not None:
        fig.add_vline(
            x=recorded_usd / by,
            line_dash="dash",
            line_color="#333",
            annotation_text=f"recorded {fmt_usd(recorded_usd / by)}",
            annotation_position="top",
        )
    if not fig.data:
        fig.add_annotation(text="Every chosen plan costs $0 here.", showarrow=False)
    fig.update_layout(
        barmode="stack", yaxis={"autorange": "reversed"}, legend={"traceorder": "normal"}
    )
    height = 160 + 48 * len(results)
    return _layout(fig, f"Cost by component · {BASES[basis].lower()}", "USD", height)


def component_bars(results: list[dict], by: float = 1) -> go.Figure:
    """One stacked horizontal bar per result (a dict with `name` and `components`), one trace per
    component that costs something, every amount divided by `by`."""
    fig = go.Figure()
    names = [r["name"] for r in results]
    for key in COMPONENTS:
        values = [r["components"][key] / by for r in results]
        if not any(values):
            continue
        fig.add_trace(
            go.Bar(
                y=names,
                x=values,
                name=COMPONENT_LABELS[key],
                orientation="h",
                marker_color=COMPONENT_COLOURS[key],
                customdata=[fmt_usd(v) for v in values],
                hovertemplate="%{y}<br>" + COMPONENT_LABELS[key] + ": %{customdata}<extra></extra>",
            )
        )
    return fig


def _empty(sentence: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=sentence, showarrow=False, font={"size": 14})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, "Cost by component", "", 240)


def _layout(fig: go.Figure, title: str, x_title: str, height: int) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        template="plotly_white",
        font={"family": _FONT, "size": 12},
        height=height,
        margin={"l": 10, "r": 10, "t": 48, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.25, "xanchor": "left", "x": 0},
        hoverlabel={"font_family": _FONT},
    )
    fig.update_xaxes(title_text=x_title, tickprefix="$")
    return fig


def display_table(results: list[dict], recorded_usd: float | None = None) -> pd.DataFrame:
    """The comparison table for people: one row per plan, amounts as text ('—' = undefined).

    Columns: Plan, Total, Recorded (only with a recorded cost), Per run, Per completed task,
    one per component, "Cold starts, count", Replicas, Unpriced llm calls.
    """
    rows = []
    for r in results:
        row = {"Plan": r["name"], "Total": fmt_usd(r["total_usd"])}
        if recorded_usd is not None:
            row["Recorded"] = fmt_usd(recorded_usd)
        row["Per run"] = fmt_usd(r["per_run_usd"])
        row["Per completed task"] = fmt_usd(r["per_completed_task_usd"])
        row |= {COMPONENT_LABELS[k]: fmt_usd(r["components"][k]) for k in COMPONENTS}
        row["Cold starts, count"] = fmt_number(r["cold_starts"])
        row["Replicas"] = fmt_number(r["replicas"])
        row["Unpriced llm calls"] = fmt_number(r["unpriced_llm_calls"])
        rows.append(row)
    return pd.DataFrame(rows)


def plan_warnings(results: list[dict]) -> list[str]:
    """Every distinct warning once, led by the names of the plans that gave it."""
    plans_by_warning: dict[str, list[str]] = {}
    for r in results:
        for warning in r["warnings"]:
            plans_by_warning.setdefault(warning, []).append(r["name"])
    return [f"{'; '.join(names)}: {w}" for w, names in plans_by_warning.items()]
