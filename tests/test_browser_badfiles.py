"""Bad trace files in a real Chromium: one clear message each, and the session's data unchanged.

The server here is the app copied into a temporary directory, run with a 1 MB upload limit (so
that a file over the limit is small enough to send) and with HOME and TMPDIR of its own. The
last test checks that serving these uploads wrote nothing outside its temporary directory.

Unusual but valid files (a byte-order mark, a quoted newline, a header alone) load as SPEC §1
says. The corpus is generated here, in `CORPUS`, so it needs no data files.
"""

import re
import shutil
from pathlib import Path

import pytest
from conftest import CHROMIUM, serve_app, wait_for_app
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
WAIT_MS = 60_000

ROOT = Path(__file__).resolve().parent.parent
APP_PARTS = ("app.py", "pages", "cost_model", "data", ".streamlit")
HEADER = "run_id,span_id,kind,name,start_time,end_time,input_tokens,output_tokens,success\n"
GOOD = (
    HEADER
    + "r1,s1,llm,kimi-k2.6,2026-01-01T00:00:00Z,2026-01-01T00:00:02Z,1000,100,true\n"
    + "r1,s2,tool,bash,2026-01-01T00:00:02Z,2026-01-01T00:00:05Z,,,true\n"
    + "r2,s1,llm,kimi-k2.6,2026-01-01T00:01:00Z,2026-01-01T00:01:01Z,500,50,false\n"
)
QUOTED_NEWLINE = (
    HEADER + 'r1,s1,llm,"kimi\nk2.6",2026-01-01T00:00:00Z,2026-01-01T00:00:02Z,10,1,true\n'
)

# name → (content, a phrase the message must hold)
CORPUS = {
    "pipes.csv": (b"run_id|span_id|kind\nr1|s1|llm\n", "no run_id column"),
    "utf16.csv": (GOOD.encode("utf-16"), "UTF-16"),
    "binary.csv": (bytes(range(256)) * 8, "not UTF-8"),
    "unclosed.csv": (
        (HEADER + 'r1,s1,llm,"kimi,2026-01-01T00:00:00Z,,1,1,true\nr1,s2,tool,x,,,,,\n').encode(),
        "not closed",
    ),
    "huge.csv": (
        b"run_id,span_id,kind,input_tokens\nr1,s1,llm,99999999999999999999\n",
        "out of range",
    ),
    "empty.csv": (b"", "empty"),
}
# name → (content, runs shown)
UNUSUAL = {
    "bom.csv": (("\ufeff" + GOOD).encode(), "2"),
    "quoted-newline.csv": (QUOTED_NEWLINE.encode(), "1"),
}


def snapshot(root: Path) -> dict[str, tuple[int, float]]:
    """Every file under `root`: relative path → (size, modification time)."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime)
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.fixture(scope="module")
def sandbox_server(tmp_path_factory):
    """The app copied to a temporary directory, served with a 1 MB upload limit."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    base = tmp_path_factory.mktemp("sandbox")
    app, home, tmp = base / "app", base / "home", base / "tmp"
    for d in (app, home, tmp):
        d.mkdir()
    for part in APP_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, app / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, app / part)
    env = {"HOME": str(home), "TMPDIR": str(tmp), "PYTHONDONTWRITEBYTECODE": "1"}
    before = snapshot(app)
    with serve_app(base, app, env, ("--server.maxUploadSize", "1")) as url:
        yield {"url": url, "app": app, "home": home, "before": before}


def figures(page) -> dict[str, str]:
    """Every headline figure on the page, label → value text."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[data-testid="stMetric"]')]
            .map(m => [m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
                       m.querySelector('[data-testid="stMetricValue"]').innerText.trim()]))"""
    )


def upload(page, name: str, content: bytes) -> None:
    """Put a file into the page's trace uploader (the one in the main area)."""
    dropzone = page.get_by_test_id("stMain").get_by_test_id("stFileUploaderDropzoneInput")
    dropzone.set_input_files(files=[{"name": name, "mimeType": "text/csv", "buffer": content}])


def data_set_picker(page):
    """The sidebar's choice of data set (a combobox whose value is the chosen name)."""
    return page.get_by_test_id("stSidebar").get_by_role("combobox", name="Data set")


def data_set(page) -> str:
    return data_set_picker(page).input_value()


@pytest.fixture(scope="module")
def traces_page(browser, sandbox_server):
    """One browser session on the Traces page for the whole module (the tests run in order)."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(sandbox_server["url"])
    page.get_by_test_id("stMetricValue").first.wait_for()
    wait_for_app(page)
    yield page
    context.close()


def test_each_bad_file_gets_one_clear_message_and_changes_nothing(traces_page):
    page = traces_page
    shown, chosen = figures(page), data_set(page)
    assert chosen.startswith("sample.csv")
    error = page.get_by_test_id("stAlertContentError")
    for name, (content, phrase) in CORPUS.items():
        upload(page, name, content)
        expect(error).to_have_count(1, timeout=WAIT_MS)
        expect(error).to_contain_text(name, timeout=WAIT_MS)
        expect(error).to_contain_text(phrase, timeout=WAIT_MS)
        wait_for_app(page)
        assert (figures(page), data_set(page)) == (shown, chosen), name
    expect(page.get_by_test_id("stException")).to_have_count(0, timeout=WAIT_MS)


def test_a_file_over_the_upload_limit_is_refused_before_it_is_sent(traces_page):
    page = traces_page
    shown = figures(page)
    row = "r1,s{},llm,kimi-k2.6,2026-01-01T00:00:00Z,2026-01-01T00:00:01Z,1,1,true\n"
    big = (HEADER + "".join(row.format(i) for i in range(20_000))).encode()
    assert len(big) > 1_000_000
    upload(page, "big.csv", big)
    refusal = page.get_by_text(re.compile(r"File must be 1(\.0)? ?MB or smaller"))
    expect(refusal).to_be_visible(timeout=WAIT_MS)
    assert figures(page) == shown


def test_unusual_but_valid_files_load(traces_page):
    page = traces_page
    runs = (
        page.get_by_test_id("stMetric")
        .filter(has_text="Runs")
        .get_by_test_id("stMetricValue")
        .first
    )
    for name, (content, count) in UNUSUAL.items():
        upload(page, name, content)
        expect(data_set_picker(page)).to_have_value(name, timeout=WAIT_MS)
        expect(runs).to_have_text(count, timeout=WAIT_MS)
        wait_for_app(page)
    upload(page, "header-only.csv", HEADER.encode())
    expect(page.get_by_text("This data set has no spans")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0, timeout=WAIT_MS)
    expect(page.get_by_test_id("stException")).to_have_count(0, timeout=WAIT_MS)


def test_serving_uploads_wrote_nothing_outside_a_temporary_directory(traces_page, sandbox_server):
    upload(traces_page, "one-more.csv", GOOD.encode())
    expect(data_set_picker(traces_page)).to_have_value("one-more.csv", timeout=WAIT_MS)
    wait_for_app(traces_page)
    assert snapshot(sandbox_server["app"]) == sandbox_server["before"]
    assert sorted(snapshot(sandbox_server["home"])) == []
