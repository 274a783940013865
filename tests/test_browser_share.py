"""Links, scenario files and reports in a real Chromium against `streamlit run app.py`.

A link opened in a fresh browser context shows the same plans and the same dollars; a bad link
opens with defaults and one notice; a scenario file saved in one context restores the view in
another; the HTML report opens with working charts while every web request is refused.
"""

import csv
import io
import re
import urllib.parse
from pathlib import Path

import pytest
from conftest import wait_for_app
from playwright.sync_api import expect

from cost_model.billing import price
from cost_model.loader import load_traces
from cost_model.plans import Plan, load_presets
from cost_model.share import SharedState, state_to_params
from cost_model.workload import Workload

pytestmark = pytest.mark.browser

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "traces" / "sample.csv"
PRESETS = load_presets()
MOONSHOT = "Kimi K2.6 tokens (Moonshot API)"
LAMBDA = "Kimi K2.6 tokens + AWS Lambda (2 GB)"
HALF = "Moonshot at half price"


def half_price() -> Plan:
    """The Moonshot preset with every token rate halved, under a new name."""
    data = PRESETS[MOONSHOT].model_dump()
    data["name"] = HALF
    data["tokens"] = [
        {k: (v / 2 if k.endswith("_per_mtok") and v else v) for k, v in card.items()}
        for card in data["tokens"]
    ]
    return Plan.model_validate(data)


def link_state() -> SharedState:
    return SharedState(
        page="compare",
        chosen_plans=[LAMBDA, HALF],
        plans={HALF: half_price()},
        workload=Workload(steps=60, cache_hit_rate=0.5),
    )


def link(base: str, state: SharedState) -> str:
    params = state_to_params(state, PRESETS)
    return base + "/?" + urllib.parse.urlencode(params, doseq=True, quote_via=urllib.parse.quote)


@pytest.fixture(scope="module")
def expected_totals() -> dict[str, float]:
    """What the bundled sample costs under the two plans of the link, priced here directly."""
    ts = load_traces(SAMPLE, name="sample.csv")
    return {r["name"]: r["total_usd"] for r in price(ts, [PRESETS[LAMBDA], half_price()])}


def open_compare(page, url: str) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name="Compare plans")).to_be_visible(timeout=60_000)
    page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=60_000)
    wait_for_app(page)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


def download(page, label: str, folder: Path) -> Path:
    """Click a download button; the file, kept under its own name after the context closes."""
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name=label).click()
    path = folder / f"{len(list(folder.iterdir()))}-{info.value.suggested_filename}"
    info.value.save_as(path)
    return path


def table_csv(page, folder: Path) -> dict[str, dict[str, str]]:
    """The Compare page's table, downloaded as CSV: plan name → row."""
    text = download(page, "Download the table (CSV)", folder).read_text(encoding="utf-8")
    return {row["plan"]: row for row in csv.DictReader(io.StringIO(text))}


def open_share_panel(page) -> None:
    page.get_by_test_id("stSidebar").get_by_text("Share this view").click()


def test_a_link_shows_the_same_plans_and_dollars_in_a_fresh_browser(
    browser, streamlit_server, expected_totals, downloads
):
    first = browser.new_context()
    page = first.new_page()
    open_compare(page, link(streamlit_server, link_state()))
    rows = table_csv(page, downloads)
    assert list(rows) == [LAMBDA, HALF]
    for name, total in expected_totals.items():
        assert float(rows[name]["total_usd"]) == pytest.approx(total, rel=1e-9)
    expect(page).to_have_url(re.compile(r"w\.steps=60"))
    shared_url = page.url
    first.close()

    second = browser.new_context()
    page = second.new_page()
    open_compare(page, shared_url)
    assert table_csv(page, downloads) == rows
    expect(page.get_by_test_id("stAlertContentWarning").filter(has_text="link")).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    second.close()


def test_the_address_bar_follows_a_change_of_plans(page, streamlit_server):
    open_compare(page, link(streamlit_server, SharedState(page="compare", chosen_plans=[MOONSHOT])))
    choice = page.get_by_test_id("stMultiSelect")
    choice.get_by_role("button", name=re.compile("Clear all|Clear")).first.click()
    expect(page).to_have_url(re.compile(r"[?&]p=(&|$)"), timeout=30_000)


def test_a_bad_link_opens_with_defaults_and_one_notice(page, streamlit_server):
    page.goto(streamlit_server + "/?page=nowhere&p=Gone&e=zzz&w.steps=abc&colour=red")
    notice = page.get_by_test_id("stAlertContentWarning").filter(has_text="this link")
    expect(notice).to_have_count(1, timeout=60_000)
    page.get_by_test_id("stMetricValue").first.wait_for(timeout=60_000)
    wait_for_app(page)
    expect(notice).to_contain_text("there is no page 'nowhere'")
    expect(notice).to_contain_text("w.steps")
    expect(page.get_by_role("heading", name="Traces")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page).not_to_have_url(re.compile("nowhere|colour|steps"))


def test_a_scenario_file_restores_the_view_in_another_browser(
    browser, streamlit_server, tmp_path, downloads
):
    first = browser.new_context()
    page = first.new_page()
    open_compare(page, link(streamlit_server, link_state()))
    rows = table_csv(page, downloads)
    open_share_panel(page)
    saved = download(page, "Save a scenario (YAML)", downloads)
    text = saved.read_text(encoding="utf-8")
    assert text.count("name: Moonshot at half price") == 1
    assert "  steps: 60\n" in text
    first.close()

    second = browser.new_context()
    page = second.new_page()
    page.goto(streamlit_server)
    page.get_by_test_id("stMetricValue").first.wait_for(timeout=60_000)
    wait_for_app(page)
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nchosen_plans: [Gone]\n", encoding="utf-8")
    open_share_panel(page)
    page.get_by_role("button", name="Open a scenario…").click()
    dialog = page.get_by_role("dialog")
    # The dialog opens after a rerun of the page, which a busy machine may take a while to finish.
    expect(dialog.locator("input[type=file]")).to_be_attached(timeout=60_000)
    dialog.locator("input[type=file]").set_input_files(str(bad))
    expect(dialog.get_by_test_id("stAlertContentError")).to_contain_text("'Gone'", timeout=60_000)
    page.keyboard.press("Escape")
    expect(page.get_by_role("heading", name="Traces")).to_be_visible()

    page.get_by_role("button", name="Open a scenario…").click()
    upload = page.get_by_role("dialog").locator("input[type=file]")
    expect(upload).to_be_attached(timeout=60_000)
    upload.set_input_files(str(saved))
    expect(page.get_by_role("heading", name="Compare plans")).to_be_visible(timeout=60_000)
    page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=60_000)
    wait_for_app(page)
    assert table_csv(page, downloads) == rows
    expect(page).to_have_url(re.compile(r"w\.steps=60"))
    second.close()


def test_the_report_opens_offline_with_its_charts_and_table(
    browser, page, streamlit_server, downloads
):
    open_compare(page, link(streamlit_server, link_state()))
    report = download(page, "Download a report (HTML)", downloads)
    text = report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "plotly.js v" in text
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?https?:""", text)

    offline = browser.new_context()
    requests = []
    offline.route(
        re.compile(r"^https?://"), lambda route: (requests.append(route.request.url), route.abort())
    )
    viewer = offline.new_page()
    viewer.goto(report.resolve().as_uri())
    expect(viewer.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=30_000)
    expect(viewer.locator("td", has_text=HALF).first).to_be_visible()
    viewer.locator(".js-plotly-plot").first.hover()
    assert requests == []
    offline.close()


def test_the_workload_page_reports_its_estimate(page, streamlit_server, downloads):
    state = SharedState(page="workload", chosen_plans=[MOONSHOT], workload=Workload(steps=60))
    page.goto(link(streamlit_server, state))
    expect(page.get_by_role("heading", name="Workload")).to_be_visible(timeout=60_000)
    page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=60_000)
    wait_for_app(page)
    text = download(page, "Download a report (HTML)", downloads).read_text(encoding="utf-8")
    assert "<h1>Workload estimate by plan</h1>" in text
    assert "<dt>steps</dt><dd>60</dd>" in text
    assert f"<td>{MOONSHOT}</td>" in text
    assert text.count("plotly.js v") == 1
