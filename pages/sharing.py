"""Sharing what one sees: the link in the address bar, scenario files (a module, not a page).

`app.py` calls `apply_link` before the page runs (on a session's first run it turns the URL's
query parameters into this session's state; on every run it writes the state back) and
`write_link` after it, so the address bar always holds a link to what is on screen.
`share_sidebar` puts the link, a scenario download and a scenario upload (in a dialog) in the
sidebar of every page.

The state shared is `chosen_plans`, `plans` (edited plans) and `workload` of
`st.session_state`, and the page. Uploaded trace data never travels in a link or a scenario.
"""

from __future__ import annotations

import urllib.parse

import streamlit as st

from cost_model import share
from cost_model.errors import InputError
from cost_model.plans import load_presets
from pages import common

DEFAULT_PAGE = "traces"
"""The page a link without `page` opens (the app's default page)."""
_APPLIED = "_link_applied"
_NOTICE = "_link_notice"
_PENDING_PAGE = "_pending_page"
_SCENARIO_KEY = "scenario_upload"


def page_key(page) -> str:
    """The key of a `st.navigation` page in links: its URL path (`compare`), default `traces`."""
    return page.url_path or DEFAULT_PAGE


def current_state(page) -> share.SharedState:
    """What this session shows now, as a SharedState (chosen plans that still exist only)."""
    ss = st.session_state
    plans = ss.get("plans") or {}
    chosen = ss.get("chosen_plans")
    if chosen is not None:
        presets = load_presets()
        chosen = [n for n in chosen if n in plans or n in presets]
    return share.SharedState(
        page=page_key(page), chosen_plans=chosen, plans=plans, workload=ss.get("workload")
    )


def _query_params() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in st.query_params}


def _set_state(state: share.SharedState, *, replace_plans: bool) -> None:
    """Put a link's or a scenario's parts into this session; a part that is None stays as is."""
    ss = st.session_state
    if state.plans is not None:
        ss["plans"] = dict(state.plans) if replace_plans else {**ss["plans"], **state.plans}
    if state.chosen_plans is not None:
        ss["chosen_plans"] = list(state.chosen_plans)
    if state.workload is not None:
        ss["workload"] = state.workload
    if state.page is not None:
        ss[_PENDING_PAGE] = state.page


def apply_link(pages: dict[str, st.Page], page) -> None:
    """On a session's first run, take the state from the URL; later runs change nothing.

    `pages` maps page keys to `st.Page`s. A bad or stale part of the link leaves that part at
    its default, and one warning says so; the session is never stopped by a link. Then, on any
    run, go to the page a link or a scenario asked for.
    """
    ss = st.session_state
    common.init_state()
    if not ss.get(_APPLIED):
        ss[_APPLIED] = True
        state = share.params_to_state(_query_params(), load_presets(), tuple(pages))
        _set_state(state, replace_plans=False)
        ss[_NOTICE] = state.notice
    wanted = ss.pop(_PENDING_PAGE, None)
    if wanted and wanted != page_key(page) and wanted in pages:
        st.switch_page(pages[wanted])
    if ss.get(_NOTICE):
        st.warning(ss.pop(_NOTICE), icon=":material/link_off:")
    # Now as well as after the page: a page that calls st.stop() ends the run, and with it
    # every Streamlit call after the page, and widget callbacks have already run here.
    write_link(page)


def write_link(page) -> None:
    """Make the address bar a link to what this run showed (only when it changed)."""
    params = share.state_to_params(current_state(page), load_presets())
    wanted = {k: [v] if isinstance(v, str) else v for k, v in params.items()}
    if wanted != _query_params():
        st.query_params.from_dict(params)


def link_url(page) -> str | None:
    """The full link to this view, or None when the browser's URL is not known."""
    base = st.context.url
    if not base:
        return None
    params = share.state_to_params(current_state(page), load_presets())
    query = urllib.parse.urlencode(params, doseq=True, quote_via=urllib.parse.quote)
    return f"{base}?{query}" if query else base


@st.dialog("Open a scenario")
def _scenario_dialog() -> None:
    """A scenario file's state replaces this session's plans, choice, workload and page.

    A dialog rather than an uploader in the sidebar, so that a page has one file input of its
    own. A rejected file shows its problems here and changes nothing.
    """
    upload = st.file_uploader(
        "Scenario file (YAML or JSON)",
        type=["yaml", "yml", "json"],
        key=_SCENARIO_KEY,
        help="A scenario saved from this app: plans, chosen plans, workload and page.",
    )
    if upload is None:
        return
    try:
        state = share.load_scenario(upload.getvalue(), load_presets(), source=upload.name)
    except InputError as err:
        common.show_error(err)
        return
    _set_state(state, replace_plans=True)
    st.rerun()


def share_sidebar(page) -> None:
    """The sidebar's Share section: the link, a scenario file to save, one to open."""
    with st.sidebar.expander("Share this view", icon=":material/share:"):
        url = link_url(page)
        if url:
            st.code(url, language=None, wrap_lines=True)
        st.caption(
            "The address bar always holds this link: the page, the chosen plans (edited ones "
            "included) and the workload. Uploaded trace files are never in a link; the person "
            "who opens it sees the bundled sample unless they upload the file too."
        )
        state = current_state(page)
        st.download_button(
            "Save a scenario (YAML)",
            lambda: share.scenario_to_yaml(state),
            file_name="scenario.yaml",
            mime="application/x-yaml",
            on_click="ignore",
            icon=":material/download:",
        )
        if st.button("Open a scenario…", icon=":material/upload_file:"):
            _scenario_dialog()


if __name__ == "__main__":
    # Streamlit's old multipage mode may run a module of `pages/` as a page (see require_app).
    common.require_app()
