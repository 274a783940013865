"""The Compare page under AppTest: default plans, choosing plans, user plans, an upload."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from cost_model.loader import load_traces
from cost_model.plans import load_presets, parse_plan

MODAL = "Kimi K2.6 on Modal 8×H200 containers"
TOKENS = "Kimi K2.6 tokens (Moonshot API)"
# Two runs of one session each; r1 succeeded, r2 failed; three tool calls in all.
SMALL = b"""run_id,span_id,kind,name,start_time,end_time,success,cost_usd
r1,a,llm,kimi-k2.6,2026-01-01T00:00:00Z,2026-01-01T00:00:10Z,true,0.5
r1,b,tool,bash,2026-01-01T00:00:10Z,2026-01-01T00:00:12Z,true,
r2,a,tool,bash,2026-01-01T00:00:05Z,2026-01-01T00:00:35Z,false,
r2,b,tool,bash,2026-01-01T00:00:35Z,2026-01-01T00:00:36Z,false,
"""


@pytest.fixture
def compare(app) -> AppTest:
    return app.switch_page("pages/compare.py").run()


def table(at: AppTest):
    return at.dataframe[0].value


def figure(at: AppTest) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def test_compare_page_runs_and_prices_the_default_plans(compare):
    assert not compare.exception
    assert list(table(compare)["Plan"]) == compare.multiselect(key="compare_plans").value
    assert TOKENS in list(table(compare)["Plan"])
    assert figure(compare)["layout"]["barmode"] == "stack"


def test_choosing_plans_changes_the_table_and_the_chart(compare):
    before = table(compare)
    at = compare.multiselect(key="compare_plans").set_value([MODAL, TOKENS]).run()
    after = table(at)
    assert not at.exception
    assert list(after["Plan"]) == [MODAL, TOKENS]
    assert not before.equals(after)
    assert after.loc[0, "Cold starts, count"] != "—"  # the Modal plan has a cold_start block
    assert after.loc[1, "Cold starts, count"] == "—"
    bars = {t["name"] for t in figure(at)["data"]}
    assert {"Session time", "Cold starts", "Tokens"} <= bars


def test_choosing_no_plan_asks_for_one(compare):
    at = compare.multiselect(key="compare_plans").set_value([]).run()
    assert not at.exception
    assert not at.dataframe
    assert "Choose at least one plan" in at.info[0].value


def test_a_users_plan_is_offered_and_priced_by_hand_on_a_small_data_set(app, tmp_path):
    plan = parse_plan({"name": "Per tool call", "requests": {"per_tool_call": 1}}, "test")
    app.session_state["plans"] = {plan.name: plan}
    (tmp_path / "small.csv").write_bytes(SMALL)
    small = load_traces(tmp_path / "small.csv", name="small.csv", con=app.session_state["con"])
    app.session_state["datasets"] = {**app.session_state["datasets"], "small.csv": small}
    app.session_state["dataset_name"] = "small.csv"
    at = app.switch_page("pages/compare.py").run()
    at = at.multiselect(key="compare_plans").set_value(["Per tool call"]).run()
    row = table(at).iloc[0]
    assert not at.exception
    # 3 tool calls at $1; 2 runs; 1 completed; recorded $0.50
    assert (row["Total"], row["Per run"], row["Per completed task"]) == ("$3.00", "$1.50", "$3.00")
    assert row["Recorded"] == "$0.5"
    assert row["Cold starts, count"] == "—"


def test_the_choice_of_plans_survives_a_visit_to_another_page(compare):
    at = compare.multiselect(key="compare_plans").set_value([MODAL]).run()
    at = at.switch_page("pages/traces.py").run()
    at = at.switch_page("pages/compare.py").run()
    assert list(table(at)["Plan"]) == [MODAL]


def test_every_preset_prices_on_the_sample_without_exception(compare):
    at = compare.multiselect(key="compare_plans").set_value(list(load_presets())).run()
    assert not at.exception
    assert len(table(at)) == len(load_presets())
