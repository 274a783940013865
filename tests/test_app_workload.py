"""The Workload page under AppTest: it runs, its widgets change the charts, presets and fitting
replace the workload, and a bad value is refused with a message."""

from __future__ import annotations

import json

import pytest

from cost_model.workload import Workload, load_workload_presets

SWARM = "research swarm (sub-agents and snapshots, Kimi K2.6)"


@pytest.fixture
def page(app):
    at = app.switch_page("pages/workload.py").run()
    assert not at.exception
    return at


def charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def chart(at, title: str) -> dict:
    (found,) = [c for c in charts(at) if c["layout"]["title"]["text"].startswith(title)]
    return found


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_the_page_shows_the_default_workload_under_the_default_plans(page):
    assert page.session_state["workload"] == Workload()
    assert metrics(page)["Attempts per month"] == "1,429"  # 1000 tasks ÷ 0.7
    titles = [c["layout"]["title"]["text"] for c in charts(page)]
    assert titles == [
        "Cost by component · per completed task",
        "Cost per completed task vs steps",
        "Context per step · main agent",
    ]
    assert len(page.multiselect(key="wl_plans").value) == 5
    assert not page.error


def test_moving_the_steps_slider_changes_the_charts(page):
    before = chart(page, "Cost by component")
    context = chart(page, "Context per step")
    page.slider(key="wl:steps").set_value(100).run()
    assert not page.exception
    assert page.session_state["workload"].steps == 100
    after = chart(page, "Cost by component")
    assert sum(after["data"][0]["x"]) > sum(before["data"][0]["x"])
    assert (
        len(chart(page, "Context per step")["data"][0]["x"]) == 100 != len(context["data"][0]["x"])
    )
    assert metrics(page)["Session runtime"] != "7 min 53 s"


def test_start_from_traces_fits_the_chosen_data_set(page):
    page.button(key="wl_fit").click().run()
    assert not page.exception and not page.error
    fitted = page.session_state["workload"]
    assert fitted.name.startswith("fitted to sample.csv")
    assert page.slider(key="wl:steps").value == fitted.steps


def test_a_preset_fills_every_widget(page):
    page.selectbox(key="wl_preset").set_value(SWARM).run()
    swarm = load_workload_presets()[SWARM]
    assert page.session_state["workload"] == swarm
    assert page.slider(key="wl:subagents").value == swarm.subagents
    assert page.number_input(key="wl:snapshot_every_steps").value == swarm.snapshot_every_steps
    titles = [c["layout"]["title"]["text"] for c in charts(page)]
    assert "Context per step · each sub-agent" in titles


def test_a_value_the_model_refuses_keeps_the_workload_and_says_why(page):
    page.number_input(key="wl:compacted_tokens").set_value(300_000).run()
    assert not page.exception
    assert page.session_state["workload"] == Workload()
    (error,) = page.error
    assert "compacted\\_tokens \\(300000\\) must not exceed" in error.value


def test_without_plans_the_page_says_so(page):
    page.multiselect(key="wl_plans").set_value([]).run()
    assert not page.exception
    assert [i.value for i in page.info] == [
        "Choose at least one plan above to see what this workload costs under it."
    ]


def test_a_workload_file_can_be_opened(page):
    page.file_uploader(key="wl_upload").set_value(
        ("w.yaml", b"name: uploaded\nsteps: 7\n", "application/yaml")
    ).run()
    assert page.session_state["workload"].name == "uploaded"
    assert page.slider(key="wl:steps").value == 7


def test_a_bad_workload_file_is_refused_with_its_key(page):
    page.file_uploader(key="wl_upload").set_value(
        ("w.yaml", b"steps: -2\n", "application/yaml")
    ).run()
    assert page.session_state["workload"] == Workload()
    assert "w.yaml\\: key 'steps' = -2" in page.error[0].value


def test_simulated_traces_become_a_data_set_of_the_session(page):
    from cost_model.metrics import compute_metrics
    from cost_model.simulate import simulate_csv

    page.number_input(key="sim_days").set_value(2)
    page.number_input(key="sim_seed").set_value(5)
    page.button(key="sim_run").click().run()
    assert not page.exception and not page.error
    name = "simulated coding agent, 2 d, seed 5.csv"
    assert page.session_state["dataset_name"] == name
    data, summary = simulate_csv(Workload(), days=2, seed=5)
    shown = compute_metrics(page.session_state["datasets"][name])
    assert (shown["runs"], shown["spans"]) == (summary["runs"], summary["spans"])
    assert shown["completed_runs"] == summary["completed"]
    assert page.session_state["_simulated"][1] == data
    assert any(
        b.proto.label == "Download the simulated traces (CSV)" for b in page.get("download_button")
    )


def test_a_simulation_too_large_for_the_browser_is_refused_and_adds_nothing(page):
    before = list(page.session_state["datasets"])
    page.number_input(key="wl:tasks_per_month").set_value(10_000_000).run()
    page.number_input(key="sim_days").set_value(1)
    page.button(key="sim_run").click().run()
    assert not page.exception
    (error,) = page.error
    assert "more than the 1,000,000 this simulator writes here; simulate fewer days" in error.value
    assert list(page.session_state["datasets"]) == before
