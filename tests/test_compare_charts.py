"""Figures and tables of pricing results, on hand-made results."""

from __future__ import annotations

from cost_model.billing import COMPONENTS
from cost_model.compare_charts import (
    components_chart,
    default_plans,
    display_table,
    divisor,
    plan_warnings,
)


def result(name, warnings=(), **components):
    parts = dict.fromkeys(COMPONENTS, 0.0) | components
    total = sum(parts.values())
    return {
        "name": name,
        "total_usd": total,
        "per_run_usd": total / 4,
        "per_completed_task_usd": total / 2,
        "completed_runs": 2,
        "components": parts,
        "cold_starts": None,
        "replicas": 3 if parts["capacity"] else None,
        "unpriced_llm_calls": 0,
        "warnings": list(warnings),
    }


RESULTS = [
    result("A", tokens=6.0, session_time=2.0, cold_start=0.5),
    result("B", tokens=1.0, capacity=7.0),
]
RESULTS[0]["cold_starts"] = 5


def test_chart_stacks_one_bar_trace_per_component_that_costs_something():
    fig = components_chart(RESULTS)
    assert [t.name for t in fig.data] == ["Tokens", "Session time", "Cold starts", "Capacity"]
    assert fig.layout.barmode == "stack"
    assert list(fig.data[0].x) == [6.0, 1.0] and list(fig.data[0].y) == ["A", "B"]


def test_chart_per_run_divides_every_amount_and_the_recorded_line():
    fig = components_chart(RESULTS, basis="per_run", by=4, recorded_usd=10.0)
    assert list(fig.data[0].x) == [1.5, 0.25]
    assert fig.data[0].customdata[0] == "$1.50"
    assert fig.layout.shapes[0].x0 == 2.5
    assert fig.layout.title.text == "Cost by component · per run"


def test_chart_says_so_when_the_basis_is_undefined():
    fig = components_chart(RESULTS, basis="per_completed_task", by=None)
    assert not fig.data
    assert "undefined" in fig.layout.annotations[0].text


def test_divisor_of_a_basis_is_undefined_without_runs():
    assert divisor("total", 0, 0) == 1
    assert divisor("per_run", 10, 3) == 10
    assert divisor("per_completed_task", 10, 0) is None


def test_table_shows_money_counts_and_dashes_for_unknowns():
    table = display_table(RESULTS, recorded_usd=12.5)
    assert list(table.columns[:5]) == ["Plan", "Total", "Recorded", "Per run", "Per completed task"]
    assert table.columns.is_unique
    assert table.loc[0, "Total"] == "$8.50"
    assert (table.loc[0, "Cold starts"], table.loc[0, "Cold starts, count"]) == ("$0.5", "5")
    assert table.loc[1, "Capacity"] == "$7.00"
    assert table.loc[0, "Replicas"] == "—" and table.loc[1, "Replicas"] == "3"
    assert "Recorded" not in display_table(RESULTS)


def test_a_warning_given_by_several_plans_is_shown_once_with_their_names():
    results = [result("A", ["w1", "w2"]), result("B", ["w1"])]
    assert plan_warnings(results) == ["A; B: w1", "A: w2"]


def test_default_plans_are_the_known_ones_or_the_first_two():
    assert default_plans(["x", "Kimi K2.6 tokens (Moonshot API)"]) == [
        "Kimi K2.6 tokens (Moonshot API)"
    ]
    assert default_plans(["x", "y", "z"]) == ["x", "y"]
