"""The Traces page in a real Chromium against `streamlit run app.py`: upload, reject, no exception.

The good file is the rerun batch of mini-swe-agent from the development traces: its README
counts 23 runs, 8 of them resolved, so 15 failed and none unknown.
"""

import csv
import io
from pathlib import Path

import pytest
from conftest import wait_for_app
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
# The development traces beside the project; the bundled sample is an unmodified copy of them.
SPANS = next(
    p
    for p in (ROOT.parent / "shared/data/traces/spans.csv", ROOT / "data/traces/sample.csv")
    if p.exists()
)
RERUN = "mini-swe-agent/deepseek-chat/swebench-lite-dev-rerun"
BAD = "run_id,span_id,kind\nr9,a,banana\n"


def metric_value(page, label: str):
    """The value of the headline figure with this label."""
    label_el = page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    return page.get_by_test_id("stMetric").filter(has=label_el).get_by_test_id("stMetricValue")


def figures(page) -> dict[str, str]:
    """Every headline figure on the page, label → value text."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[data-testid="stMetric"]')]
            .map(m => [m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
                       m.querySelector('[data-testid="stMetricValue"]').innerText.trim()]))"""
    )


def upload(page, path: Path) -> None:
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))


@pytest.fixture
def rerun_batch(tmp_path) -> Path:
    """The spans of one source of the development traces, as a file of their own."""
    with SPANS.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = [r for r in reader if r["source"] == RERUN]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=reader.fieldnames, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    path = tmp_path / "rerun.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def test_upload_changes_the_figures_and_a_rejected_file_keeps_them(app_page, rerun_batch, tmp_path):
    page = app_page
    expect(metric_value(page, "Runs")).to_have_text("518")
    charts_before = page.get_by_test_id("stPlotlyChart").count()
    assert charts_before >= 5

    upload(page, rerun_batch)
    expect(metric_value(page, "Runs")).to_have_text("23", timeout=60_000)
    wait_for_app(page)
    shown = figures(page)
    assert (shown["Completed"], shown["Failed"], shown["Unknown"]) == ("8", "15", "0")

    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    upload(page, bad)
    error = page.get_by_test_id("stAlertContentError")
    expect(error).to_have_count(1, timeout=60_000)
    wait_for_app(page)
    expect(error).to_contain_text("bad.csv")
    expect(error).to_contain_text("banana")
    assert figures(page) == shown
    assert page.get_by_test_id("stPlotlyChart").count() == charts_before
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_filtering_by_source_in_the_sidebar_changes_the_figures(app_page):
    page = app_page
    page.get_by_test_id("stSidebar").get_by_role("combobox", name="Filter by source").click()
    page.get_by_role("option", name="tau2-bench/blakeelias-grok-modified").click()
    expect(metric_value(page, "Runs")).to_have_text("434", timeout=60_000)
    wait_for_app(page)
    expect(metric_value(page, "Completed")).to_have_text("177")
    expect(page.get_by_test_id("stException")).to_have_count(0)
