"""Figures and tables of the Workload page: what a workload costs under plans, its context step
by step, cost against the number of steps, the runtime metrics it implies, and how each
parameter is shown as a widget (group, range, step, label).

Builders take a Workload, an `estimate` result or a `horizon_sweep` frame and return Plotly
figures or plain data; none imports Streamlit. Values go into figures as Python lists.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from cost_model.arrivals import concurrency_averages, month_arrivals_s
from cost_model.charts import _layout, empty_figure, fmt_bytes, fmt_duration, fmt_number, fmt_usd
from cost_model.compare_charts import component_bars
from cost_model.workload import GROUPS, Workload, agent_steps

DEFAULT_PLANS = (
    "Kimi K2.6 tokens (Moonshot API)",
    "Kimi K2.6 tokens + AgentCore Runtime",
    "Kimi K2.6 tokens + AWS Lambda (2 GB)",
    "Kimi K2.6 on Modal 8×H200 containers",
    "Kimi K2.6 on Together dedicated 8×H200",
)
"""Plans the Workload page starts with, when they exist."""
BASES = {"per_completed_task": "Per completed task", "per_month": "Per month"}
"""What the cost chart's bars measure: key → label."""
CONTEXT_COLOURS = {"cached": "#9cc0f5", "uncached": "#2f6fdf", "output": "#e8833a"}
PLAN_COLOURS = (
    "#2f6fdf",
    "#e8833a",
    "#2a9d6f",
    "#8e6bbf",
    "#d9534f",
    "#6fc2a8",
    "#f2b134",
    "#9aa3ad",
    "#333333",
    "#b5651d",
)


def cost_chart(result: dict, basis: str = "per_completed_task") -> go.Figure:
    """Stacked horizontal bars: each plan's cost per completed task (or per month) by component.

    Per completed task = the month's cost of the component ÷ tasks per month.
    """
    title = f"Cost by component · {BASES[basis].lower()}"
    tasks = result["tasks_per_month"]
    if basis == "per_completed_task" and not tasks:
        return empty_figure(title, "No tasks a month: nothing is completed to divide by.")
    if not result["plans"]:
        return empty_figure(title, "Choose at least one plan.")
    by = tasks if basis == "per_completed_task" else 1
    fig = component_bars(result["plans"], by)
    if not fig.data:
        fig.add_annotation(text="Every chosen plan costs $0 here.", showarrow=False)
    fig.update_layout(barmode="stack", yaxis={"autorange": "reversed"})
    fig = _layout(fig, title, "USD", "", height=160 + 48 * len(result["plans"]))
    fig.update_xaxes(tickprefix="$")
    return fig


def _crossing_markers(points: list[dict], name: str, marker: dict, text: list[str]) -> go.Scatter:
    """Markers at crossings of a horizon sweep (dicts with `steps`, `per_completed_task_usd`)."""
    return go.Scatter(
        x=[c["steps"] for c in points],
        y=[c["per_completed_task_usd"] for c in points],
        mode="markers",
        name=name,
        marker=marker,
        text=text,
        hovertemplate="%{text}<br>at %{x:.1f} steps: $%{y:,.4g}<extra></extra>",
    )


def context_chart(workload: Workload, which: str = "main") -> go.Figure:
    """The tokens of each call of one agent, stacked: cached input, uncached input, output;
    the compaction threshold as a dashed line and each compaction as a marker."""
    st = agent_steps(workload, which)
    step = list(range(1, st.input_tokens.size + 1))
    fig = go.Figure()
    parts = (
        ("cached", "Cached input", st.cached_input_tokens),
        ("uncached", "Uncached input", st.uncached_input_tokens + st.cache_write_tokens),
        ("output", "Output", st.output_tokens),
    )
    for key, label, values in parts:
        fig.add_trace(
            go.Bar(
                x=step,
                y=values.tolist(),
                name=label,
                marker_color=CONTEXT_COLOURS[key],
                hovertemplate="step %{x}<br>" + label + ": %{y:,.0f} tokens<extra></extra>",
            )
        )
    compacted = [s for s, c in zip(step, st.compacted.tolist()) if c]
    if compacted:
        fig.add_trace(
            go.Scatter(
                x=compacted,
                y=[float(st.input_tokens[s - 1]) for s in compacted],
                mode="markers",
                name="After a compaction",
                marker={"symbol": "triangle-down", "size": 10, "color": "#d9534f"},
                hovertemplate="step %{x}: compacted to %{y:,.0f} tokens<extra></extra>",
            )
        )
    fig.add_hline(
        y=workload.compaction_threshold,
        line_dash="dash",
        line_color="#888",
        annotation_text="compaction threshold",
        annotation_position="top left",
    )
    who = "main agent" if which == "main" else "each sub-agent"
    fig.update_layout(barmode="stack", bargap=0.05)
    return _layout(fig, f"Context per step · {who}", "Step", "Tokens")


def horizon_chart(
    sweep: pd.DataFrame,
    crossings: list[dict],
    steps: int | None = None,
    plan_crossings: list[dict] | None = None,
):
    """Cost per completed task against the main agent's steps, one line per plan; each point
    where the cheapest plan changes is marked (×), each other crossing of two plans' lines
    (`estimate.plan_crossings`) too (○), and the workload's own steps as a dashed line."""
    title = "Cost per completed task vs steps"
    plans = [c for c in sweep.columns if c != "steps"]
    if not plans or sweep.empty:
        return empty_figure(title, "Choose at least one plan.")
    fig = go.Figure()
    x = sweep["steps"].tolist()
    for i, name in enumerate(plans):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=sweep[name].tolist(),
                mode="lines",
                name=name,
                line={"color": PLAN_COLOURS[i % len(PLAN_COLOURS)], "width": 2},
                hovertemplate=f"{name}<br>%{{x}} steps: $%{{y:,.4g}}<extra></extra>",
            )
        )
    cheapest_at = {round(c["steps"], 6) for c in crossings}
    others = [c for c in plan_crossings or [] if round(c["steps"], 6) not in cheapest_at]
    if others:
        fig.add_trace(
            _crossing_markers(
                others,
                "Two plans cross",
                {"symbol": "circle-open", "size": 10, "color": "#111", "line": {"width": 2}},
                [f"{c['cheaper_plan']} becomes cheaper than {c['dearer_plan']}" for c in others],
            )
        )
    if crossings:
        fig.add_trace(
            _crossing_markers(
                crossings,
                "Cheapest plan changes",
                {"symbol": "x", "size": 11, "color": "#111"},
                [f"{c['from_plan']} → {c['to_plan']}" for c in crossings],
            )
        )
    if steps is not None:
        fig.add_vline(
            x=steps,
            line_dash="dot",
            line_color="#666",
            annotation_text=f"{steps} steps",
            annotation_position="top",
        )
    fig = _layout(fig, title, "Steps of the main agent", "USD per completed task", height=380)
    fig.update_yaxes(tickprefix="$")
    return fig


def crossing_sentences(crossings: list[dict]) -> list[str]:
    """Each change of the cheapest plan in words."""
    return [
        f"From about {c['steps']:.0f} steps, {c['to_plan']} is cheaper than {c['from_plan']} "
        f"({fmt_usd(c['per_completed_task_usd'])} per completed task there)."
        for c in crossings
    ]


def implied_metrics(workload: Workload, result: dict) -> list[dict]:
    """The four runtime metrics of SPEC §2 that the workload implies, for headline figures:
    label, value and an explanation, formatted."""
    main = agent_steps(workload, "main")
    sub = agent_steps(workload, "subagent") if workload.subagents else None
    sessions = [(main, 1)] + ([(sub, workload.subagents)] if sub is not None else [])
    runtime = sum(n * s.runtime_s for s, n in sessions)
    active_main = float(main.llm_s.sum() + main.tool_s.sum())
    snaps = sum(n * int(s.snapshot.sum()) for s, n in sessions)
    per = result["per_attempt"]
    conc = result["concurrency"]
    _, while_active = concurrency_averages(
        month_arrivals_s(workload), [(s.runtime_s, n) for s, n in sessions]
    )
    sub_text = (
        f"; each sub-agent {fmt_duration(per['runtime_s_subagent'])}" if sub is not None else ""
    )
    return [
        {
            "label": "Session runtime",
            "value": fmt_duration(main.runtime_s),
            "help": f"Main agent: {fmt_duration(active_main)} active (LLM and tools), "
            f"{fmt_duration(main.runtime_s - active_main)} idle (harness){sub_text}.",
        },
        {
            "label": "Concurrency",
            "value": f"{fmt_number(conc['average'])} avg · {conc['peak']} peak",
            "help": "Sessions running at once in a typical month of random arrivals. Average: "
            "Σ session runtime / the month; "
            f"{fmt_number(while_active)} while any runs (Σ session runtime / the "
            "time during which one runs). Peak: the most at once.",
        },
        {
            "label": "Tool calls per attempt",
            "value": fmt_number(per["tool_calls"]),
            "help": f"{fmt_number(workload.tool_calls_per_step)} a step, "
            f"{fmt_duration(workload.tool_latency_s)} each.",
        },
        {
            "label": "Snapshots per attempt",
            "value": fmt_number(snaps),
            "help": f"{fmt_bytes(per['snapshot_bytes'])} in all; "
            f"{fmt_number(snaps / (runtime / 3600)) if runtime else '—'} per session-hour.",
        },
    ]


def plans_table(result: dict) -> pd.DataFrame:
    """One row per plan, amounts as text: per completed task, per attempt, per month, cold
    starts a month and replicas ('—' where a plan has no such block)."""
    rows = [
        {
            "Plan": p["name"],
            "Per completed task": fmt_usd(p["per_completed_task_usd"]),
            "Per attempt": fmt_usd(p["per_attempt_usd"]),
            "Per month": fmt_usd(p["per_month_usd"]),
            "Cold starts a month": fmt_number(p["cold_starts_per_month"]),
            "Replicas": fmt_number(p["replicas"]),
        }
        for p in result["plans"]
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "Plan",
            "Per completed task",
            "Per attempt",
            "Per month",
            "Cold starts a month",
            "Replicas",
        ],
    )


# ---- the parameter widgets ----


def parameter_widgets() -> list[dict]:
    """How the Workload page shows each parameter, in the model's order: name, group, label,
    help (the field's docstring), kind (text, int or float), lower and upper end, step, slider."""
    specs = []
    for name, field in Workload.model_fields.items():
        extra = field.json_schema_extra or {}
        if "group" not in extra:
            continue
        kind = {int: "int", float: "float"}.get(field.annotation, "text")
        low = None
        for limit in field.metadata:
            if getattr(limit, "ge", None) is not None:
                low = limit.ge
            elif getattr(limit, "gt", None) is not None:
                low = limit.gt
        specs.append(
            {
                "name": name,
                "group": extra["group"],
                "label": _label(name),
                "help": field.description,
                "kind": kind,
                "low": low,
                "top": extra["top"],
                "step": extra["step"],
                "slider": extra["slider"],
            }
        )
    return specs


def _label(name: str) -> str:
    """A parameter's name for people: 'tool_latency_s' → 'Tool latency (s)'."""
    text = name.replace("ttft_s", "time to first token_s").replace("subagent", "sub-agent")
    if text.endswith("_per_s"):
        text = text[:-6] + " per second"
    elif text.endswith("_s"):
        text = text[:-2] + " (s)"
    return text.replace("_", " ").capitalize()


def parameter_groups() -> dict[str, list[str]]:
    """Field names by Workload-page group, in the model's order."""
    groups: dict[str, list[str]] = {g: [] for g in GROUPS}
    for name, field in Workload.model_fields.items():
        extra = field.json_schema_extra or {}
        if "group" in extra:
            groups[extra["group"]].append(name)
    return groups


def widget_bounds(spec: dict, value) -> dict:
    """min_value, max_value, step and format of a parameter's number widget, of the parameter's
    type and wide enough to hold `value` (a fitted or uploaded value may lie outside the usual).
    A float counted in whole steps (tokens, bytes, tasks) shows no decimals."""
    cast = int if spec["kind"] == "int" else float
    bounds = {
        "min_value": cast(min(spec["low"], value)),
        "max_value": cast(max(spec["top"], value)),
        "step": cast(spec["step"]),
    }
    if cast is float and spec["step"] >= 1:
        bounds["format"] = "%.0f"
    return bounds
