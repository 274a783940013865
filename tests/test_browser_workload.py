"""The Workload page in a real Chromium against `streamlit run app.py`: moving the steps slider
changes the headline figures and the charts."""

import pytest
from conftest import wait_for_app
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def metric_value(page, label: str):
    """The value of the headline figure with this label."""
    label_el = page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    return page.get_by_test_id("stMetric").filter(has=label_el).get_by_test_id("stMetricValue")


def chart_texts(page) -> list[str]:
    """The text of every Plotly chart on the page (titles, ticks, legends)."""
    return page.get_by_test_id("stPlotlyChart").all_inner_texts()


def test_moving_the_steps_slider_changes_the_charts(app_page):
    page = app_page
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Workload").click()
    runtime = metric_value(page, "Session runtime")
    expect(runtime).to_have_text("7 min 53 s", timeout=60_000)
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(3, timeout=60_000)
    wait_for_app(page)
    before = chart_texts(page)
    cost_before = metric_value(page, "Cheapest per completed task").inner_text()

    thumb = page.get_by_test_id("stSidebar").get_by_role("slider").first
    thumb.focus()
    thumb.press("End")  # 400 steps, the slider's upper end
    expect(runtime).not_to_have_text("7 min 53 s", timeout=60_000)
    wait_for_app(page)
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(3)
    assert metric_value(page, "Cheapest per completed task").inner_text() != cost_before
    after = chart_texts(page)
    assert after != before
    assert any("400 steps" in text for text in after)  # the horizon marks the workload's steps
    expect(page.get_by_test_id("stException")).to_have_count(0)
