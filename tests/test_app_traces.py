"""The Traces page under AppTest: the sample, uploads, a rejected file, attribute filters.

Numbers of the sample come from its sources (data/README.md): 518 runs, of which
8 + 8 + 5 + 177 = 198 succeeded, 15 deepseek-reasoner runs have no outcome, so
518 − 198 − 15 = 305 failed; tau2-bench has 434 runs, 177 with reward 1.0.
"""

import json

import pytest
from conftest import ROOT
from streamlit.testing.v1 import AppTest

# Two runs, one session each: r1 runs 00:00:00–00:00:12 (12 s), r2 00:00:05–00:00:35 (30 s).
# Mean and median runtime 21 s, p95 12 + 0.95 · 18 = 29.1 s; window 35 s, Σ runtime 42 s:
# average concurrency 42 / 35 = 1.2, peak 2 (00:00:05–00:00:12); one tool call of 2 s in 2 runs.
SMALL = b"""run_id,span_id,kind,name,start_time,end_time,success,team
r1,a,llm,kimi-k2.6,2026-01-01T00:00:00Z,2026-01-01T00:00:10Z,true,red
r1,b,tool,bash,2026-01-01T00:00:10Z,2026-01-01T00:00:12Z,true,red
r2,a,llm,kimi-k2.6,2026-01-01T00:00:05Z,2026-01-01T00:00:35Z,false,blue
"""
BAD = b"""run_id,span_id,kind
r9,a,banana
"""


def figures(at: AppTest) -> dict[str, str]:
    """Headline figures by label."""
    return {m.label: m.value for m in at.metric}


def plotly_figures(at: AppTest) -> dict[str, dict]:
    """The page's Plotly figures (as JSON) by title."""
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return {s["layout"]["title"]["text"]: s for s in specs}


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    return at.file_uploader(key="trace_upload").set_value((name, data, "text/csv")).run()


def test_app_runs_without_exception_and_shows_the_sample(app):
    assert not app.exception
    values = figures(app)
    assert (values["Runs"], values["Completed"], values["Failed"], values["Unknown"]) == (
        "518",
        "198",
        "305",
        "15",
    )
    assert app.session_state["dataset_name"] == "sample.csv (bundled sample)"


def test_sample_shows_every_chart_and_says_it_has_no_snapshots(app):
    titles = set(plotly_figures(app))
    assert {
        "Session runtime distribution",
        "Concurrency over time",
        "Tool latency per tool",
        "Snapshot size over time",
    } <= titles
    assert any(t.startswith("Spans of ") for t in titles)
    empty = plotly_figures(app)["Snapshot size over time"]
    assert empty["layout"]["annotations"][0]["text"] == (
        "This data set has no snapshot spans with a known time."
    )


def test_uploading_a_good_file_shows_its_figures(app):
    upload(app, "small.csv", SMALL)
    assert not app.exception
    assert not app.error
    values = figures(app)
    assert values["Runs"] == "2"
    assert (values["Completed"], values["Failed"]) == ("1", "1")
    assert (values["Mean"], values["Median"], values["p95"]) == ("21 s", "21 s", "29.1 s")
    assert (values["Average"], values["While active"], values["Peak"]) == ("1.2", "1.2", "2")
    assert (values["Calls"], values["Per run"], values["Mean latency"]) == ("1", "0.5", "2 s")
    steps = plotly_figures(app)["Concurrency over time"]
    (peak,) = [t for t in steps["data"] if t["name"] == "Peak 2"]
    assert peak["y"] == [2]
    assert app.session_state["dataset_name"] == "small.csv"


def test_a_rejected_file_shows_one_error_and_keeps_the_previous_figures(app):
    upload(app, "small.csv", SMALL)
    before = figures(app)
    upload(app, "bad.csv", BAD)
    assert not app.exception
    assert len(app.error) == 1
    assert "bad.csv" in app.error[0].value
    assert "banana" in app.error[0].value
    assert figures(app) == before
    assert list(app.session_state["datasets"]) == ["sample.csv (bundled sample)", "small.csv"]
    assert app.session_state["dataset_name"] == "small.csv"


def test_the_error_stays_while_the_rejected_file_is_in_the_uploader_and_nothing_reloads(app):
    upload(app, "bad.csv", BAD)
    app.selectbox(key="filter:source").set_value("tau2-bench/blakeelias-grok-modified").run()
    assert len(app.error) == 1
    assert figures(app)["Runs"] == "434"


def test_filtering_by_an_attribute_changes_the_figures(app):
    upload(app, "small.csv", SMALL)
    app.selectbox(key="filter:team").set_value("red").run()
    values = figures(app)
    assert (values["Runs"], values["Mean"], values["Peak"]) == ("1", "12 s", "1")
    app.selectbox(key="filter:team").set_value("(all)").run()
    assert figures(app)["Runs"] == "2"


def test_filtering_the_sample_by_source_counts_only_that_source(app):
    app.selectbox(key="filter:source").set_value("tau2-bench/blakeelias-grok-modified").run()
    values = figures(app)
    assert (values["Runs"], values["Completed"], values["Unknown"]) == ("434", "177", "0")


def test_choosing_the_sample_again_brings_back_its_figures(app):
    upload(app, "small.csv", SMALL)
    app.selectbox(key="dataset_picker").set_value("sample.csv (bundled sample)").run()
    assert figures(app)["Runs"] == "518"


def test_an_attribute_with_many_values_gets_no_filter(app):
    # duration_s has a value per span; a filter on it would be a list of thousands.
    assert [s.key for s in app.selectbox if s.key.startswith("filter:")] == ["filter:source"]


def test_the_waterfall_follows_the_chosen_run(app):
    upload(app, "small.csv", SMALL)
    app.selectbox(key="waterfall_run").set_value("r2").run()
    waterfall = plotly_figures(app)["Spans of r2"]
    assert waterfall["layout"]["yaxis"]["ticktext"] == ["1. llm · kimi-k2.6"]


@pytest.mark.usefixtures("fresh_caches")
def test_an_upload_is_private_to_its_browser_session():
    first = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    second = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    upload(first, "small.csv", SMALL)
    second.run()
    assert list(second.session_state["datasets"]) == ["sample.csv (bundled sample)"]
    assert figures(second)["Runs"] == "518"
    assert first.session_state["con"] is not second.session_state["con"]


def test_a_header_alone_is_an_empty_data_set_said_in_words(app):
    upload(app, "empty.csv", b"run_id,span_id,kind\n")
    assert not app.exception
    assert not app.error
    assert "no spans" in app.info[0].value
    assert not app.get("plotly_chart")


def test_the_chosen_run_may_leave_the_data_set_when_the_filter_changes(app):
    upload(app, "small.csv", SMALL)
    app.selectbox(key="waterfall_run").set_value("r2").run()
    app.selectbox(key="filter:team").set_value("red").run()
    assert not app.exception
    assert "Spans of r1" in plotly_figures(app)


def test_a_file_without_times_says_so_instead_of_drawing_empty_axes(app):
    upload(app, "untimed.csv", b"run_id,span_id,kind,name\nr1,a,llm,kimi-k2.6\nr1,b,tool,bash\n")
    assert not app.exception
    drawn = plotly_figures(app)
    assert drawn["Session runtime distribution"]["layout"]["annotations"][0]["text"] == (
        "No session has a known time."
    )
    assert drawn["Concurrency over time"]["layout"]["annotations"][0]["text"] == (
        "No session runs for a positive time."
    )


def test_the_data_set_and_filter_survive_a_visit_to_another_page(app):
    upload(app, "small.csv", SMALL)
    app.selectbox(key="filter:team").set_value("blue").run()
    app.switch_page("pages/plans.py").run()
    app.switch_page("pages/traces.py").run()
    assert not app.exception
    assert app.session_state["dataset_name"] == "small.csv"
    assert (figures(app)["Runs"], figures(app)["Mean"]) == ("1", "30 s")
