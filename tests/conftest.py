"""Fixtures shared by the app tests.

AppTest (`tests/test_app_*.py`):
- `app` runs `app.py` once on a fresh session and returns the AppTest. Each AppTest is a browser
  session of its own (own `st.session_state`, own DuckDB connection); Streamlit's caches, however,
  are shared by every AppTest in the pytest process. The app caches only the bundled sample, so
  `app` keeps them (the sample is parsed once per process).
- `fresh_caches` clears `st.cache_data` and `st.cache_resource` before a test; use it where a
  test must not see values another test cached.

Real browser (`tests/test_browser_*.py`, marked `@pytest.mark.browser`; run them with
`pytest -m browser`, leave them out with `-m "not browser"`):
- `streamlit_server` (session scope) starts `streamlit run app.py` on a free loopback port,
  waits for `/_stcore/health` and yields the base URL (`http://127.0.0.1:<port>`); it stops the
  server at the end of the test run. One server serves every browser test; each test's browser
  page is a new Streamlit session, so tests do not share uploads. `own_streamlit_server`
  (module scope) is a server for one test module alone, for tests that load it heavily.
- `browser` (session scope) is Debian's Chromium driven by plain `sync_playwright()`
  (not pytest-playwright, whose fixtures would clash with these).
- `page` is a new browser context and page for one test (1440×1000), closed after it.
- `app_page` is `page` opened on the app's default page (Traces), with the first run finished.
- `open_page(page, url, ready)` opens any page (`f"{streamlit_server}/plans"`) and waits for the
  CSS selector `ready` (default: the page title, `h1`), then for the run to finish.
- `wait_for_app(page)` waits until a rerun has finished (see STACK.md): the script state is
  `notRunning` and the status widget is gone. Wait for the expected content first, then call it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SERVER_START_TIMEOUT_S = 60

# `from pages import common` must work however pytest was started (not only `python -m pytest`).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def clear_streamlit_caches() -> None:
    """Empty every `st.cache_data` and `st.cache_resource` of this process."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def fresh_caches():
    """Clear Streamlit's caches before the test (AppTests in one process share them)."""
    clear_streamlit_caches()
    yield


@pytest.fixture
def app():
    """`app.py` after its first run, in a fresh AppTest session (default timeout 60 s)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    return at.run()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit not healthy after {SERVER_START_TIMEOUT_S} s")


@contextlib.contextmanager
def serve_app(log_dir: Path, app_dir: Path = ROOT, env: dict | None = None, args=()):
    """`streamlit run app.py` in `app_dir` on a free loopback port, with `env` added to the
    environment and `args` added to the command; yields the base URL, stops it after."""
    port = _free_port()
    log_path = log_dir / "server.log"
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        *args,
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=app_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log_path)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def streamlit_server(tmp_path_factory):
    """Base URL of `streamlit run app.py` on a free loopback port, for the whole test run."""
    with serve_app(tmp_path_factory.mktemp("streamlit")) as url:
        yield url


@pytest.fixture(scope="module")
def own_streamlit_server(tmp_path_factory):
    """A server for one test module alone: a test that loads the server heavily (many sessions
    at once) leaves no sessions behind to slow the tests after it."""
    with serve_app(tmp_path_factory.mktemp("streamlit-own")) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, through plain Playwright (one for the whole run)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A new browser context and page for one test; closed after it."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    yield pg
    context.close()


def wait_for_app(page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished the current run: script not running, no status widget.

    Call it after waiting for content the run should show; alone it may see the state before
    the rerun began.
    """
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms
    )
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout_ms)


def open_page(page, url: str, ready: str = "h1", timeout_ms: int = 60_000):
    """Open `url` and wait for the selector `ready`, then for the first run to finish."""
    page.goto(url)
    page.wait_for_selector(ready, timeout=timeout_ms)
    wait_for_app(page, timeout_ms)
    return page


@pytest.fixture
def app_page(page, streamlit_server):
    """`page` opened on the app's default page (Traces), with its headline figures shown."""
    return open_page(page, streamlit_server, '[data-testid="stMetricValue"]')
