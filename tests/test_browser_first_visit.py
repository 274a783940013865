"""The first visit of a fresh server is a link to a page other than the first.

Until a run of the server process has called `st.navigation`, Streamlit treats the `pages/`
folder as an old-style multipage app and would run `pages/compare.py` alone, without app.py
(see `pages.common.require_app`). The server here is new, and the link below is its first visit.
"""

import re
import urllib.parse

import pytest
from conftest import serve_app, wait_for_app
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
VENICE = "Kimi K2.6 tokens (Venice)"


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory):
    with serve_app(tmp_path_factory.mktemp("streamlit-fresh")) as url:
        yield url


def test_a_link_to_compare_opens_compare_through_the_app_on_a_fresh_server(page, fresh_server):
    page.goto(f"{fresh_server}/compare?p={urllib.parse.quote(VENICE)}")
    expect(page.get_by_role("heading", name="Compare plans")).to_be_visible(timeout=60_000)
    page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=60_000)
    wait_for_app(page)
    links = page.get_by_test_id("stSidebarNavLink")
    expect(links).to_have_count(4)
    for title in ("Traces", "Compare", "Plans", "Workload"):
        expect(links.filter(has_text=title)).to_have_count(1)
    chosen = page.get_by_test_id("stMultiSelect").get_by_text(VENICE, exact=True)
    expect(chosen).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/compare\?.*page=compare"))
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_a_module_that_is_not_a_page_opens_the_first_page(page, fresh_server):
    page.goto(f"{fresh_server}/sharing")
    expect(page.get_by_role("heading", name="Traces")).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("stSidebarNavLink")).to_have_count(4)
