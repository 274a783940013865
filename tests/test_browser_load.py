"""Ten browser sessions at once: each uploads its own file, prices it, moves a slider, and sees
its own right numbers, with no error anywhere.

The ten sessions are ten contexts of one Chromium; every step is started in all ten before any
is waited for, so the server runs their reruns at the same time. Every wait takes its timeout
from one deadline, so the test ends by itself within `LIMIT_S` seconds, and every request the
pages make must go to the loopback address (anything else is refused and fails the test).
"""

import csv
import io
import time
import urllib.parse
from pathlib import Path

import pytest
from conftest import wait_for_app
from playwright.sync_api import expect

from cost_model.billing import price
from cost_model.charts import fmt_usd
from cost_model.estimate import estimate
from cost_model.loader import load_traces
from cost_model.plans import load_presets
from cost_model.workload import Workload

pytestmark = pytest.mark.browser

SESSIONS = 10
LIMIT_S = 420
HEADER = "run_id,span_id,kind,name,start_time,end_time,input_tokens,output_tokens,success\n"


def trace_file(i: int) -> bytes:
    """Session i's own file: i + 1 runs, each with tokens that differ from every other file's."""
    rows = []
    for run in range(i + 1):
        t = f"2026-01-01T00:{run:02d}:00Z"
        end = f"2026-01-01T00:{run:02d}:{10 + i:02d}Z"
        ok = "true" if run % 2 == 0 else "false"
        rows.append(f"s{i}r{run},a,llm,kimi-k2.6,{t},{end},{1000 * (i + 1)},{100 + i},{ok}\n")
        rows.append(f"s{i}r{run},b,tool,bash,{t},{end},,,{ok}\n")
    return (HEADER + "".join(rows)).encode()


class Deadline:
    """Milliseconds left until one moment, for every wait of the test."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def ms(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the load test passed its limit of {LIMIT_S} s")
        return left * 1000


def csv_totals(page, wait: Deadline) -> dict[str, float]:
    with page.expect_download(timeout=wait.ms()) as info:
        page.get_by_role("button", name="Download the table (CSV)").click(timeout=wait.ms())
    text = Path(info.value.path()).read_text(encoding="utf-8")
    return {row["plan"]: float(row["total_usd"]) for row in csv.DictReader(io.StringIO(text))}


def go_to(page, title: str, wait: Deadline) -> None:
    """Switch page through the sidebar (a new URL would start a new session)."""
    page.get_by_test_id("stSidebarNavLink").filter(has_text=title).click(timeout=wait.ms())


def steps_slider(page):
    label = page.get_by_test_id("stWidgetLabel").get_by_text("Steps", exact=True)
    return page.get_by_test_id("stSlider").filter(has=label).get_by_role("slider")


def test_ten_sessions_upload_price_and_move_sliders_at_once(browser, own_streamlit_server):
    streamlit_server = own_streamlit_server
    host = urllib.parse.urlsplit(streamlit_server).hostname
    assert host == "127.0.0.1"
    wait = Deadline(LIMIT_S)
    presets = load_presets()
    contexts, foreign = [], []
    try:
        for _ in range(SESSIONS):
            context = browser.new_context(viewport={"width": 1200, "height": 800})
            context.route(
                lambda url: urllib.parse.urlsplit(url).hostname != host,
                lambda route: (foreign.append(route.request.url), route.abort()),
            )
            contexts.append(context)
        pages = [c.new_page() for c in contexts]
        for page in pages:
            page.goto(streamlit_server, wait_until="commit", timeout=wait.ms())
        for page in pages:
            page.get_by_test_id("stMetricValue").first.wait_for(timeout=wait.ms())
            wait_for_app(page, timeout_ms=wait.ms())

        for i, page in enumerate(pages):
            page.get_by_test_id("stMain").get_by_test_id("stFileUploaderDropzoneInput") \
                .set_input_files(files=[{"name": f"session-{i}.csv", "mimeType": "text/csv",
                                         "buffer": trace_file(i)}], timeout=wait.ms())  # fmt: skip
        for i, page in enumerate(pages):
            runs = page.get_by_test_id("stMetric").filter(has_text="Runs")
            expect(runs.get_by_test_id("stMetricValue").first).to_have_text(
                str(i + 1), timeout=wait.ms()
            )

        for page in pages:
            go_to(page, "Compare", wait)
        for i, page in enumerate(pages):
            page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=wait.ms())
            wait_for_app(page, timeout_ms=wait.ms())
            shown = csv_totals(page, wait)
            ts = load_traces(trace_file(i), name=f"session-{i}.csv")
            expected = price(ts, [presets[name] for name in shown])
            assert shown == {r["name"]: pytest.approx(r["total_usd"], rel=1e-9) for r in expected}

        for page in pages:
            go_to(page, "Workload", wait)
        for page in pages:
            steps_slider(page).wait_for(timeout=wait.ms())
            wait_for_app(page, timeout_ms=wait.ms())
        # One key press per round, each rerun finished before the next: a press that lands
        # during a rerun may be overwritten, which is not what this test is about.
        presses = [i % 3 + 1 for i in range(SESSIONS)]
        for round_ in range(1, max(presses) + 1):
            moving = [(i, page) for i, page in enumerate(pages) if presses[i] >= round_]
            for _, page in moving:
                steps_slider(page).press("ArrowRight", timeout=wait.ms())
            for _, page in moving:
                expect(steps_slider(page)).to_have_value(
                    str(Workload().steps + round_), timeout=wait.ms()
                )
                wait_for_app(page, timeout_ms=wait.ms())
        for i, page in enumerate(pages):
            steps = Workload().steps + presses[i]
            cheapest = page.get_by_test_id("stMetric").filter(has_text="Cheapest per completed")
            column = page.get_by_test_id("stColumn").filter(has=cheapest)
            plan = presets[column.get_by_test_id("stCaptionContainer").inner_text().strip()]
            result = estimate(Workload(steps=steps), [plan])["plans"][0]
            expect(cheapest.get_by_test_id("stMetricValue")).to_have_text(
                fmt_usd(result["per_completed_task_usd"]), timeout=wait.ms()
            )
        for page in pages:
            expect(page.get_by_test_id("stException")).to_have_count(0)
    finally:
        for context in contexts:
            context.close()
    assert foreign == []
