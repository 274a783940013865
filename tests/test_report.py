"""The HTML report of a comparison: one file, tables and charts, nothing fetched from the web."""

import datetime as dt
import html.parser
import json
import re

import plotly.graph_objects as go

from cost_model.plans import Plan
from cost_model.report import estimate_report, heading, money, price_report, report_html

COMPONENTS = {
    "tokens": 1.5,
    "session_time": 0.25,
    "active_time": 0.0,
    "requests": 0.0,
    "cold_start": 0.0,
    "capacity": 0.0,
    "concurrency_tier": 0.0,
    "snapshots": 0.0,
}
WHEN = dt.datetime(2026, 12, 3, 20, 0, tzinfo=dt.UTC)


def result(name: str, total: float, per_task: float | None, warnings=()) -> dict:
    """One element of SPEC §5 `price.plans`, with 4 runs."""
    return {
        "name": name,
        "total_usd": total,
        "per_run_usd": total / 4,
        "per_completed_task_usd": per_task,
        "completed_runs": 0 if per_task is None else 2,
        "components": COMPONENTS,
        "cold_starts": None,
        "replicas": 3,
        "unpriced_llm_calls": 0,
        "warnings": list(warnings),
    }


class Parsed(html.parser.HTMLParser):
    """The tags, table cells and script sources of an HTML page."""

    def __init__(self, text: str):
        super().__init__()
        self.cells, self.scripts, self.urls, self._in_cell = [], [], [], False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._in_cell = tag in ("td", "th")
        if tag == "script":
            self.scripts.append(attrs)
        self.urls += [v for k, v in attrs.items() if k in ("src", "href") and v]

    def handle_endtag(self, tag):
        self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.cells.append(data)


def bars() -> go.Figure:
    return go.Figure(go.Bar(x=["Plan A", "Plan B"], y=[1.75, 12.5], name="total"))


def test_money_shows_cents_from_a_dollar_and_four_decimals_below():
    assert money(1234.5) == "$1,234.50"
    assert money(0.01234) == "$0.0123"
    assert money(0) == "$0.00"
    assert money(None) == "—"


def test_headings_name_their_unit():
    assert heading("per_completed_task_usd") == "per completed task (USD)"
    assert heading("runtime_s") == "runtime (s)"
    assert heading("cold_starts") == "cold starts"


def test_the_report_table_holds_each_plans_values():
    page = price_report([result("Plan A", 1.75, 0.875), result("Plan B", 12.5, None)], [bars()])
    cells = Parsed(page).cells
    assert cells[:3] == ["plan", "total (USD)", "per run (USD)"]
    row_a = cells[cells.index("Plan A") :][:5]
    assert row_a == ["Plan A", "$1.75", "$0.4375", "$0.8750", "$1.50"]
    row_b = cells[cells.index("Plan B") :][:5]
    assert row_b == ["Plan B", "$12.50", "$3.12", "—", "$1.50"]


def test_the_report_inlines_plotly_once_and_loads_nothing_from_the_web():
    page = price_report([result("Plan A", 1.75, 0.875)], [bars(), bars()])
    parsed = Parsed(page)
    assert parsed.urls == []
    assert all("src" not in s for s in parsed.scripts)
    assert page.count("plotly.js v") == 1
    assert page.count('class="plotly-graph-div"') == 2
    assert page.startswith("<!DOCTYPE html>")


def test_the_chart_data_is_in_the_page():
    page = price_report([result("Plan A", 1.75, 0.875)], [bars()])
    calls = re.findall(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*\{", page, re.DOTALL)
    assert json.loads(calls[0])[0]["y"] == [1.75, 12.5]


def test_a_report_without_charts_has_no_script():
    page = price_report([result("Plan A", 1.75, 0.875)])
    assert "<script" not in page


def test_user_text_is_escaped():
    evil = '<script>alert("x")</script>'
    page = price_report(
        [result(evil, 1.0, 1.0, warnings=["<b>loud</b>"])], context=[("data set", evil)]
    )
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&lt;b&gt;loud&lt;/b&gt;" in page


def test_plan_warnings_become_notes():
    page = price_report([result("Plan A", 1.0, 1.0, warnings=["3 llm spans match no card."])])
    assert "<li>Plan A: 3 llm spans match no card.</li>" in page


def test_sources_are_text_not_links():
    plan = Plan(name="Plan A", source="https://example.com/pricing", checked="2026-12-01")
    page = price_report([result("Plan A", 1.0, 1.0)], plans=[plan])
    cells = Parsed(page).cells
    assert cells[-3:] == ["Plan A", "2026-12-01", "https://example.com/pricing"]
    assert Parsed(page).urls == []


def test_the_report_says_when_it_was_made_and_what_was_compared():
    page = report_html("Title", context=[("data set", "sample.csv")], generated=WHEN)
    assert "made 2026-12-03 20:00 UTC" in page
    assert "<dt>data set</dt><dd>sample.csv</dd>" in page


def test_an_estimate_report_shows_each_plan_per_month():
    estimate = {
        "tasks_per_month": 1000,
        "attempts_per_month": 1000 / 0.8,
        "plans": [
            {
                "name": "Plan A",
                "per_attempt_usd": 0.5,
                "per_completed_task_usd": 0.625,
                "per_month_usd": 625.0,
                "components": {"tokens": 600.0, "session_time": 25.0},
                "cold_starts_per_month": 12.5,
                "replicas": None,
            }
        ],
    }
    cells = Parsed(estimate_report(estimate)).cells
    assert cells[cells.index("Plan A") :] == [
        "Plan A",
        "$0.5000",
        "$0.6250",
        "$625.00",
        "$600.00",
        "$25.00",
        "12.5",
        "—",
    ]
    assert "attempts per month" in estimate_report(estimate)
