"""The Compare page in a real Chromium against `streamlit run app.py`: pick plans, see them priced."""

import pytest
from conftest import wait_for_app
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

MODAL = "Kimi K2.6 on Modal 8×H200 containers"
TOKENS = "Kimi K2.6 tokens (Moonshot API)"


def chart_plans(page) -> list[str]:
    """The plan names on the components chart's axis, top to bottom."""
    ticks = page.get_by_test_id("stPlotlyChart").locator(".ytick text").all()
    return [t.text_content() for t in reversed(ticks)]


def table_cell(page, text: str):
    """The comparison table's cells with this text."""
    # The grid draws on a canvas; its cells are mirrored in a hidden table for screen readers.
    return page.get_by_test_id("stDataFrame").locator('[role="gridcell"]', has_text=text)


def test_picking_a_plan_adds_it_to_the_table_and_the_chart(app_page):
    page = app_page
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Compare").click()
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(1, timeout=60_000)
    wait_for_app(page)
    assert TOKENS in chart_plans(page)
    assert MODAL not in chart_plans(page)
    expect(table_cell(page, TOKENS)).to_have_count(1)

    page.get_by_test_id("stMultiSelect").locator("input").click()
    page.keyboard.type("Modal 8")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    expect(table_cell(page, MODAL)).to_have_count(1, timeout=60_000)
    wait_for_app(page)
    assert chart_plans(page)[-1] == MODAL
    legend = page.get_by_test_id("stPlotlyChart").locator(".legendtext").all_text_contents()
    assert {"Tokens", "Session time", "Cold starts"} <= set(legend)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    downloads = page.get_by_test_id("stDownloadButton")
    expect(downloads.filter(has_text="Download the table (CSV)")).to_have_count(1)
    expect(downloads.filter(has_text="Download a report (HTML)")).to_have_count(1)
