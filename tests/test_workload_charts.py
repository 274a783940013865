"""Figures and tables of the Workload page, on hand-made estimates and small workloads."""

from __future__ import annotations

import pandas as pd
import pytest

from cost_model import workload_charts as wc
from cost_model.billing import COMPONENTS
from cost_model.workload import Workload


def result(tasks=100.0, plans=None) -> dict:
    """An estimate-shaped result with two plans."""
    zero = dict.fromkeys(COMPONENTS, 0.0)
    plans = plans or [
        {"name": "a", "per_attempt_usd": 0.5, "per_completed_task_usd": 1.0,
         "per_month_usd": 100.0, "components": zero | {"tokens": 60.0, "requests": 40.0},
         "cold_starts_per_month": None, "replicas": None},
        {"name": "b", "per_attempt_usd": 1.0, "per_completed_task_usd": 2.0,
         "per_month_usd": 200.0, "components": zero | {"capacity": 200.0},
         "cold_starts_per_month": 12.0, "replicas": 2},
    ]  # fmt: skip
    return {"tasks_per_month": tasks, "attempts_per_month": tasks * 2,
            "per_attempt": {"tool_calls": 6.0, "snapshot_bytes": 0.0, "runtime_s_subagent": None},
            "concurrency": {"average": 0.5, "peak": 3}, "plans": plans}  # fmt: skip


def test_cost_bars_per_completed_task_divide_the_month_by_the_tasks():
    fig = wc.cost_chart(result(), "per_completed_task")
    bars = {t.name: list(t.x) for t in fig.data}
    assert bars == {"Tokens": [0.6, 0.0], "Requests": [0.4, 0.0], "Capacity": [0.0, 2.0]}


def test_cost_bars_per_month_are_the_components():
    fig = wc.cost_chart(result(), "per_month")
    assert {t.name: list(t.x) for t in fig.data}["Capacity"] == [0.0, 200.0]


def test_with_no_tasks_the_per_task_chart_says_why_it_is_empty():
    fig = wc.cost_chart(result(tasks=0), "per_completed_task")
    assert not fig.data
    assert "No tasks a month" in fig.layout.annotations[0].text


def test_the_context_chart_marks_each_compaction():
    w = Workload(steps=8, prompt_tokens=1000, output_tokens_per_step=100, tool_calls_per_step=2,
                 tool_result_tokens=50, context_limit=2000, compaction_at=0.8,
                 compacted_tokens=1100)  # fmt: skip
    fig = wc.context_chart(w)
    marks = [t for t in fig.data if t.name == "After a compaction"]
    assert list(marks[0].x) == [5, 8] and list(marks[0].y) == [1100, 1100]
    stacked = [t for t in fig.data if t.type == "bar"]
    totals = [sum(v) for v in zip(*(t.y for t in stacked))]
    # cached + uncached input + output of each step = x_i + 100
    assert totals == [1100, 1300, 1500, 1700, 1200, 1400, 1600, 1200]


def test_the_horizon_chart_has_a_line_per_plan_and_marks_crossings():
    sweep = pd.DataFrame({"steps": [10, 20, 30], "a": [1.0, 3.0, 5.0], "b": [2.0, 2.0, 6.0]})
    crossing = {"steps": 15.0, "from_plan": "a", "to_plan": "b", "per_completed_task_usd": 2.0}
    fig = wc.horizon_chart(sweep, [crossing], steps=20)
    assert [t.name for t in fig.data] == ["a", "b", "Cheapest plan changes"]
    assert list(fig.data[2].x) == [15.0] and list(fig.data[2].text) == ["a → b"]
    assert wc.crossing_sentences([crossing]) == [
        "From about 15 steps, b is cheaper than a ($2.00 per completed task there)."
    ]


def test_other_crossings_are_marked_apart_from_changes_of_the_cheapest_plan():
    sweep = pd.DataFrame({"steps": [10, 20, 30], "a": [1.0, 3.0, 5.0], "b": [2.0, 2.0, 6.0]})
    cheapest = {"steps": 15.0, "from_plan": "a", "to_plan": "b", "per_completed_task_usd": 2.0}
    pairs = [
        {"steps": 15.0, "cheaper_plan": "b", "dearer_plan": "a", "per_completed_task_usd": 2.0},
        {"steps": 25.0, "cheaper_plan": "x", "dearer_plan": "y", "per_completed_task_usd": 4.0},
    ]
    fig = wc.horizon_chart(sweep, [cheapest], steps=20, plan_crossings=pairs)
    assert [t.name for t in fig.data] == ["a", "b", "Two plans cross", "Cheapest plan changes"]
    assert list(fig.data[2].x) == [25.0]
    assert list(fig.data[2].text) == ["x becomes cheaper than y"]


def test_the_plans_table_writes_unknowns_as_a_dash():
    table = wc.plans_table(result())
    assert table.to_dict("records")[0] == {
        "Plan": "a", "Per completed task": "$1.00", "Per attempt": "$0.5",
        "Per month": "$100.00", "Cold starts a month": "—", "Replicas": "—",
    }  # fmt: skip
    assert table["Replicas"].tolist() == ["—", "2"]


def test_the_four_implied_metrics_are_runtime_concurrency_tools_and_snapshots():
    w = Workload(steps=3, prompt_tokens=1000, system_prompt_tokens=400,
                 output_tokens_per_step=100, tool_calls_per_step=2, tool_result_tokens=50,
                 tool_latency_s=1.5, cache_hit_rate=0.5, ttft_s=1, prefill_tokens_per_s=100,
                 decode_tokens_per_s=50, step_overhead_s=0.5)  # fmt: skip
    shown = {m["label"]: m["value"] for m in wc.implied_metrics(w, result())}
    assert shown == {
        "Session runtime": "42.5 s",
        "Concurrency": "0.5 avg · 3 peak",
        "Tool calls per attempt": "6",
        "Snapshots per attempt": "0",
    }


@pytest.mark.parametrize("basis", list(wc.BASES))
def test_no_plans_give_an_empty_cost_chart_with_a_sentence(basis):
    fig = wc.cost_chart(result(plans=[]) | {"plans": []}, basis)
    assert not fig.data and fig.layout.annotations


def test_token_widgets_show_whole_numbers_and_seconds_keep_decimals():
    specs = {s["name"]: s for s in wc.parameter_widgets()}

    tokens = wc.widget_bounds(specs["prompt_tokens"], 12_000.0)
    seconds = wc.widget_bounds(specs["step_overhead_s"], 0.2)
    steps = wc.widget_bounds(specs["steps"], 40)

    assert tokens["format"] == "%.0f" and tokens["step"] == 500.0
    assert "format" not in seconds
    assert "format" not in steps and steps["step"] == 1
