"""State of one browser session, shared by the pages (a module, not a page).

Everything a user loads lives in `st.session_state`, in a DuckDB connection of the session's own:
another visitor of the same server never sees it. The one thing shared between sessions is the
bundled sample, parsed once per server process (`_sample_table`), which is the same for everyone.

Keys of `st.session_state`:
- `con`: this session's private DuckDB connection.
- `datasets`: data set name → `TraceSet` (the bundled sample first, then uploads in order).
- `dataset_name`: the chosen data set.
- `filters`: data set name → {attribute: value}, the attribute filters chosen for it.
- `plans`: plan name → Plan, plans the user edited or uploaded.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import runpy
import threading
from contextlib import contextmanager
from pathlib import Path

import duckdb
import streamlit as st

from cost_model.errors import InputError
from cost_model.loader import connect, load_traces
from cost_model.traces import TraceSet, new_table_name, quote_ident

log = logging.getLogger(__name__)

APP_PATH = Path(__file__).resolve().parent.parent / "app.py"
SAMPLE_PATH = APP_PATH.parent / "data" / "traces" / "sample.csv"
SAMPLE_NAME = "sample.csv (bundled sample)"
MAX_FILTER_VALUES = 50
"""An attribute with more distinct values than this (an id, a number) gets no filter widget."""

ALL_VALUES = "(all)"
"""The filter choice that keeps every value of an attribute."""
_DATASET_KEY = "dataset_picker"
_FILTER_PREFIX = "filter:"


_run = threading.local()
"""Per script thread: whether app.py is running the current page (`through_app`)."""


@contextmanager
def through_app():
    """app.py runs the chosen page inside this, so that the page knows it came through app.py."""
    _run.through_app = True
    try:
        yield
    finally:
        _run.through_app = False


def require_app() -> None:
    """Run app.py in place when a page of `pages/` was started on its own, then stop.

    Until some run of a server process has called `st.navigation`, Streamlit treats a `pages/`
    folder as the old kind of multipage app: the first visit of a fresh server to a link such as
    `/compare` runs `pages/compare.py` alone, without app.py's page list, link handling or layout,
    and lists every module of the folder as a page. (AppTest puts Streamlit back into that mode
    before every run.) app.py calls `st.navigation`, which ends that mode for the process, and
    runs the page the URL asks for, in this same run, so no widget value is lost.
    """
    if getattr(_run, "through_app", False):
        return
    runpy.run_path(str(APP_PATH), run_name="__main__")
    st.stop()


@st.cache_resource(show_spinner="Reading the sample traces…")
def _sample_table():
    """The bundled sample as Arrow, with its TraceSet (same file for everyone: safe to share)."""
    ts = load_traces(SAMPLE_PATH, name=SAMPLE_PATH.name, con=connect())
    cur = ts.cursor()
    try:
        arrow = cur.sql(f"SELECT * FROM {ts.ref}").to_arrow_table()
    finally:
        cur.close()
    return arrow, ts


def _load_sample(con: duckdb.DuckDBPyConnection) -> TraceSet:
    """A copy of the sample in the session's own connection (the cached Arrow is only read)."""
    arrow, template = _sample_table()
    table = new_table_name()
    cur = con.cursor()
    try:
        cur.register("sample_arrow", arrow)
        cur.execute(f"CREATE TABLE {quote_ident(table)} AS SELECT * FROM sample_arrow")
        cur.unregister("sample_arrow")
    finally:
        cur.close()
    return dataclasses.replace(
        template,
        con=con,
        table=table,
        attributes=list(template.attributes),
        warnings=list(template.warnings),
        where={},
    )


def init_state() -> None:
    """Create this session's connection and data sets on its first run (later runs: nothing)."""
    ss = st.session_state
    if "con" not in ss:
        ss["con"] = connect()
    if "datasets" not in ss:
        ss["datasets"] = {SAMPLE_NAME: _load_sample(ss["con"])}
        ss["dataset_name"] = SAMPLE_NAME
    ss.setdefault("filters", {})
    ss.setdefault("plans", {})


def datasets() -> dict[str, TraceSet]:
    """This session's data sets, name → TraceSet (the sample first)."""
    init_state()
    return st.session_state["datasets"]


def current_where() -> dict[str, str]:
    """The attribute filters chosen for the current data set (attribute → value)."""
    init_state()
    return dict(st.session_state["filters"].get(st.session_state["dataset_name"], {}))


def current_traces() -> TraceSet:
    """The chosen data set with its attribute filters applied.

    A filtered set is a table of its own; the session keeps only the latest one and drops the
    one before, so clicking through filters does not pile up tables.
    """
    init_state()
    ss = st.session_state
    base = ss["datasets"][ss["dataset_name"]]
    where = current_where()
    if not where:
        return base
    key = (ss["dataset_name"], tuple(sorted(where.items())))
    held = ss.get("_filtered")
    if held is not None and held[0] == key:
        return held[1]
    if held is not None:
        _forget(held[1])
    ts = base.filter(where)
    ss["_filtered"] = (key, ts)
    return ts


def _forget(ts: TraceSet) -> None:
    ts.drop()
    memo_store = st.session_state.get("_memo", {})
    for key in [k for k in memo_store if k[0] == ts.table]:
        del memo_store[key]


def memo(ts: TraceSet, fn, *args):
    """`fn(ts, *args)`, computed once per data set in this session (a table never changes)."""
    store = st.session_state.setdefault("_memo", {})
    key = (ts.table, f"{fn.__module__}.{fn.__qualname__}", args)
    if key not in store:
        store[key] = fn(ts, *args)
    return store[key]


def _unique_name(name: str) -> str:
    taken = st.session_state["datasets"]
    if name not in taken:
        return name
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"


def add_upload(name: str, data: bytes) -> InputError | None:
    """Load an uploaded trace file into this session and choose it; return None.

    On a rejected file, return the `InputError` and leave every data set and choice as it was.
    """
    init_state()
    try:
        ts = load_traces(data, name=name, con=st.session_state["con"])
    except InputError as err:
        return err
    except duckdb.Error as err:
        # The loader names every problem it knows; anything DuckDB still refuses is reported
        # in its words rather than as a traceback.
        log.warning("DuckDB refused %s: %s", name, err)
        return InputError(name, [f"{name} could not be read as CSV text: {err}"])
    unique = _unique_name(name)
    st.session_state["datasets"][unique] = ts
    st.session_state["dataset_name"] = unique
    return None


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~$:])")


def escape_markdown(text: str) -> str:
    """Text shown as itself in Streamlit markdown (no emphasis, links, LaTeX or colour tags)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def show_error(err: InputError) -> None:
    """One `st.error` with the message of a rejected input: a headline and one line per problem."""
    head, *rest = err.message.splitlines()
    lines = [escape_markdown(head)]
    for line in rest:
        bullet = line.startswith("- ")
        lines.append(("- " if bullet else "  ") + escape_markdown(line[2:] if bullet else line))
    st.error("\n".join(lines), icon=":material/error:")


def _keep_dataset_choice() -> None:
    st.session_state["dataset_name"] = st.session_state[_DATASET_KEY]


def _keep_filter_choice(name: str, attribute: str) -> None:
    chosen = st.session_state[_FILTER_PREFIX + attribute]
    where = st.session_state["filters"].setdefault(name, {})
    if chosen == ALL_VALUES:
        where.pop(attribute, None)
    else:
        where[attribute] = chosen


def filterable_attributes(ts: TraceSet) -> dict[str, list[str]]:
    """Attribute → its values, for the attributes with at most MAX_FILTER_VALUES of them."""
    choices = {}
    for attribute in ts.attributes:
        values = memo(ts, TraceSet.values, attribute, MAX_FILTER_VALUES + 1)
        if 0 < len(values) <= MAX_FILTER_VALUES:
            choices[attribute] = values
    return choices


def dataset_sidebar() -> TraceSet:
    """The data set picker and attribute filters in the sidebar; returns `current_traces()`.

    Any page may call it. The choices live in `dataset_name` and `filters`, not in the widgets'
    own keys, so they survive a visit to a page that does not show these widgets.
    """
    init_state()
    ss = st.session_state
    ss[_DATASET_KEY] = ss["dataset_name"]
    with st.sidebar:
        st.selectbox(
            "Data set",
            list(ss["datasets"]),
            key=_DATASET_KEY,
            on_change=_keep_dataset_choice,
            help="The bundled sample, then the files you uploaded in this browser session.",
        )
        name = ss["dataset_name"]
        where = current_where()
        for attribute, values in filterable_attributes(ss["datasets"][name]).items():
            key = _FILTER_PREFIX + attribute
            ss[key] = where.get(attribute, ALL_VALUES)
            st.selectbox(
                f"Filter by {attribute}",
                [ALL_VALUES, *values],
                key=key,
                format_func=lambda v: "All" if v == ALL_VALUES else v,
                on_change=_keep_filter_choice,
                args=(name, attribute),
            )
    return current_traces()


def trace_uploader() -> None:
    """A file uploader that adds each new trace file to this session's data sets once.

    A rejected file shows one `st.error` for as long as it stays in the uploader; the data sets
    and the choice of data set stay as they were.
    """
    init_state()
    upload = st.file_uploader(
        "Add a trace file",
        type=["csv", "tsv", "txt"],
        key="trace_upload",
        help="CSV with a header row, one row per span (run_id, span_id, kind, start_time, …). "
        "It stays in this browser session only.",
    )
    if upload is None:
        return
    outcomes = st.session_state.setdefault("_uploads", {})
    if upload.file_id not in outcomes:
        with st.spinner(f"Reading {upload.name}…"):
            outcomes[upload.file_id] = add_upload(upload.name, upload.getvalue())
    if outcomes[upload.file_id] is not None:
        show_error(outcomes[upload.file_id])


if __name__ == "__main__":
    # Streamlit's old multipage mode may run a module of `pages/` as a page (see require_app).
    require_app()
