"""Simulated traces of the Workload page's workload, as a data set of this session (a module,
not a page).

The simulator writes a SPEC §1 file, which is loaded exactly as an upload is (`common.add_upload`):
it appears on Traces and prices on Compare like any file, and it can be downloaded.
"""

from __future__ import annotations

import streamlit as st

from cost_model.errors import InputError
from cost_model.simulate import simulate_csv
from cost_model.workload import Workload
from pages import common

MAX_SPANS = 1_000_000
"""The most spans one simulation in the browser writes: about the largest upload allowed."""
_RESULT = "_simulated"


def _simulate(workload: Workload, days: int, seed: int) -> None:
    with st.status(f"Simulating {days} days of {workload.name}…", expanded=True) as status:
        try:
            data, summary = simulate_csv(workload, days=days, seed=seed, max_spans=MAX_SPANS)
        except InputError as err:
            status.update(label="Nothing was simulated", state="error")
            common.show_error(err)
            return
        status.write(f"{summary['spans']:,} spans of {summary['runs']:,} runs; loading them…")
        name = f"simulated {workload.name}, {days} d, seed {seed}.csv"
        if (err := common.add_upload(name, data)) is not None:
            status.update(label="The simulated traces could not be loaded", state="error")
            common.show_error(err)
            return
        name = st.session_state["dataset_name"]
        status.update(label=f"Added the data set “{name}”", state="complete", expanded=False)
    st.session_state[_RESULT] = (name, data, summary)


def simulation_panel(workload: Workload) -> None:
    """Days and seed, a button that simulates and adds the data set, and its download."""
    with st.expander("Simulate traces of this workload", icon=":material/science:"):
        st.caption(
            "Attempts arrive at random during the active hours of each day (UTC), every step as "
            "the model says, and each succeeds with the success rate. The traces become a data "
            "set of this browser session: open them on Traces, price them on Compare."
        )
        left, right = st.columns(2)
        days = left.number_input("Days", min_value=1, max_value=31, value=7, key="sim_days")
        seed = right.number_input("Seed", min_value=0, value=1, step=1, key="sim_seed")
        if st.button("Simulate", key="sim_run", icon=":material/play_arrow:"):
            _simulate(workload, int(days), int(seed))
        if (done := st.session_state.get(_RESULT)) is not None:
            name, data, summary = done
            st.caption(
                f"“{common.escape_markdown(name)}”: {summary['runs']:,} runs "
                f"({summary['completed']:,} completed), {summary['sessions']:,} sessions, "
                f"{summary['spans']:,} spans from {summary['start']}."
            )
            st.download_button(
                "Download the simulated traces (CSV)",
                data,
                file_name=name,
                mime="text/csv",
                on_click="ignore",
                icon=":material/download:",
                key="sim_download",
            )


if __name__ == "__main__":
    # Streamlit's old multipage mode may run a module of `pages/` as a page (see require_app).
    common.require_app()
