"""Two browser sessions on one server: what one uploads or edits, the other never sees."""

import urllib.parse

import pytest
from conftest import wait_for_app
from playwright.sync_api import expect

from cost_model.plans import Plan, load_presets
from cost_model.share import SharedState, state_to_params

pytestmark = pytest.mark.browser
WAIT_MS = 60_000

PRESETS = load_presets()
MOONSHOT = "Kimi K2.6 tokens (Moonshot API)"
ALICE_PLAN = "Alice's private plan"
ALICE_FILE = (
    b"run_id,span_id,kind,name,start_time,end_time,input_tokens,output_tokens,success\n"
    b"a1,s1,llm,kimi-k2.6,2026-01-01T00:00:00Z,2026-01-01T00:00:02Z,1000,100,true\n"
    b"a2,s1,llm,kimi-k2.6,2026-01-01T00:01:00Z,2026-01-01T00:01:01Z,500,50,false\n"
    b"a3,s1,tool,bash,2026-01-01T00:02:00Z,2026-01-01T00:02:03Z,,,true\n"
)


def data_set_picker(page):
    return page.get_by_test_id("stSidebar").get_by_role("combobox", name="Data set")


def runs_value(page):
    return (
        page.get_by_test_id("stMetric")
        .filter(has_text="Runs")
        .get_by_test_id("stMetricValue")
        .first
    )


def open_traces(context, url: str):
    page = context.new_page()
    page.goto(url)
    page.get_by_test_id("stMetricValue").first.wait_for(timeout=WAIT_MS)
    wait_for_app(page)
    return page


def test_an_upload_and_an_edited_plan_stay_in_their_own_session(browser, streamlit_server):
    alice_ctx, bob_ctx = browser.new_context(), browser.new_context()
    alice = open_traces(alice_ctx, streamlit_server)
    bob = open_traces(bob_ctx, streamlit_server)

    alice.get_by_test_id("stMain").get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": "alice.csv", "mimeType": "text/csv", "buffer": ALICE_FILE}]
    )
    expect(runs_value(alice)).to_have_text("3", timeout=WAIT_MS)
    wait_for_app(alice)

    # Bob's session, already open, and a new one, both see the sample alone.
    for page in (bob, open_traces(bob_ctx, streamlit_server)):
        expect(runs_value(page)).to_have_text("518", timeout=WAIT_MS)
        data_set_picker(page).click()
        options = page.get_by_role("option")
        expect(options).to_have_count(1, timeout=WAIT_MS)
        expect(options.first).to_contain_text("sample.csv")
        page.keyboard.press("Escape")

    # Alice makes a plan of her own (through a link); Bob cannot name it.
    mine = Plan.model_validate({**PRESETS[MOONSHOT].model_dump(), "name": ALICE_PLAN})
    params = state_to_params(
        SharedState(page="compare", chosen_plans=[ALICE_PLAN], plans={ALICE_PLAN: mine}), PRESETS
    )
    alice.goto(streamlit_server + "/compare?" + urllib.parse.urlencode(params, doseq=True))
    expect(alice.get_by_test_id("stMultiSelect")).to_contain_text(ALICE_PLAN, timeout=WAIT_MS)
    bob.goto(streamlit_server + "/compare?" + urllib.parse.urlencode({"p": ALICE_PLAN}))
    notice = bob.get_by_test_id("stAlertContentWarning").filter(has_text="this link")
    expect(notice).to_contain_text(ALICE_PLAN, timeout=WAIT_MS)
    expect(bob.get_by_test_id("stMultiSelect")).not_to_contain_text(ALICE_PLAN)
    for page in (alice, bob):
        expect(page.get_by_test_id("stException")).to_have_count(0)
    alice_ctx.close()
    bob_ctx.close()
