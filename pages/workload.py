"""Workload: what an agent that has not run yet would cost under pricing plans (SPEC §4)."""

import json

import streamlit as st

from cost_model import workload as wl
from cost_model import workload_charts as wc
from cost_model.charts import fmt_usd
from cost_model.errors import InputError
from cost_model.estimate import (
    crossovers,
    estimate,
    horizon_steps,
    horizon_sweep,
    plan_crossings,
)
from cost_model.export import frame_to_csv
from cost_model.plans import load_presets
from cost_model.report import estimate_frame, estimate_report
from cost_model.share import workload_params
from pages import common, simulation

common.require_app()

KEY = "wl:"  # widget keys: KEY + parameter name
CHOSEN = "chosen_plans"  # kept apart from the widget's key, which a page switch forgets
common.init_state()
ss = st.session_state
presets = wl.load_workload_presets()
if not isinstance(ss.get("workload"), wl.Workload):
    ss["workload"] = wl.Workload()


def use(workload: wl.Workload) -> None:
    ss["workload"] = workload
    ss.pop("workload_error", None)


def attempt(make) -> None:
    """Use the workload `make()` returns; keep the current one and show why on a bad input."""
    try:
        use(make())
    except InputError as err:
        ss["workload_error"] = err


def edit(name: str) -> None:
    changed = ss["workload"].model_dump() | {name: ss[KEY + name]}
    attempt(lambda: wl.workload_from_dict(changed, "workload"))


def fit_from_traces() -> None:
    from cost_model.fit import fit_workload

    with st.spinner("Fitting the workload to the traces…", show_time=True):
        attempt(lambda: fit_workload(common.current_traces()))


def open_file() -> None:
    if (upload := ss.get("wl_upload")) is not None:
        attempt(lambda: wl.load_workload(upload.getvalue(), source=upload.name))


def widget(spec: dict, value) -> None:
    key, name = KEY + spec["name"], spec["name"]
    args = {"key": key, "help": spec["help"], "on_change": edit, "args": (name,)}
    if spec["kind"] == "text":
        ss[key] = value
        st.text_input(spec["label"], **args)
        return
    bounds = wc.widget_bounds(spec, value)
    ss[key] = type(bounds["step"])(value)
    (st.slider if spec["slider"] else st.number_input)(spec["label"], **bounds, **args)


st.title("Workload")
st.caption(
    "What an agent that has not run yet would cost: describe its loop in the sidebar (steps, "
    "context, tools, sub-agents, snapshots, model speed, volume) and compare plans. One attempt "
    "is priced exactly as its traces would be; cold starts, peak concurrency, capacity and tiers "
    "come from a month of random arrivals."
)
top = st.columns([3, 2, 2])
top[0].selectbox("Start from a preset", list(presets), index=None, key="wl_preset",
                 placeholder="Choose a kind of agent",
                 on_change=lambda: ss["wl_preset"] and use(presets[ss["wl_preset"]]))  # fmt: skip
top[1].button(
    f"Start from traces: {ss['dataset_name']}",
    key="wl_fit",
    on_click=fit_from_traces,
    help="Fit the workload to the data set and filters chosen on the Traces page (growth and "
    "timing by least squares over the spans), then edit it here.",
)
top[2].file_uploader("Open a workload file", ["yaml", "yml", "json"], key="wl_upload",
                     on_change=open_file)  # fmt: skip
if "workload_error" in ss:
    common.show_error(ss["workload_error"])

workload = ss["workload"]
values = workload.model_dump()
with st.sidebar:
    st.caption(f"Parameters of **{common.escape_markdown(workload.name)}**")
    for group in wl.GROUPS:
        with st.expander(group.capitalize(), expanded=group == "agent loop"):
            for spec in (s for s in wc.parameter_widgets() if s["group"] == group):
                widget(spec, values[spec["name"]])

available = {**load_presets(), **ss["plans"]}
if CHOSEN not in ss:
    ss[CHOSEN] = [n for n in wc.DEFAULT_PLANS if n in available] or list(available)[:3]
ss["wl_plans"] = [n for n in ss[CHOSEN] if n in available]
chosen = st.multiselect("Plans", list(available), key="wl_plans", placeholder="Choose plans",
                        help="Presets, and the plans edited or uploaded on the Plans page.",
                        on_change=lambda: ss.update({CHOSEN: ss["wl_plans"]}))  # fmt: skip
plans = [available[n] for n in chosen]
with st.spinner("Pricing one attempt and simulating a month of arrivals…", show_time=True):
    result = estimate(workload, plans)

for col, m in zip(st.columns(4), wc.implied_metrics(workload, result)):
    col.metric(m["label"], m["value"], help=m["help"])
simulation.simulation_panel(workload)
if not plans:
    st.info("Choose at least one plan above to see what this workload costs under it.")
    st.stop()

cheapest = min(result["plans"], key=lambda p: p["per_completed_task_usd"])
cols = st.columns(3)
cols[0].metric("Cheapest per completed task", fmt_usd(cheapest["per_completed_task_usd"]))
cols[0].caption(common.escape_markdown(cheapest["name"]))
cols[1].metric("Its cost per month", fmt_usd(cheapest["per_month_usd"]))
cols[2].metric(
    "Attempts per month",
    f"{result['attempts_per_month']:,.0f}",
    help="Tasks per month ÷ success rate: failed attempts are paid for too.",
)
basis = st.segmented_control(
    "Bars show", list(wc.BASES), default="per_completed_task", format_func=wc.BASES.get,
    key="wl_basis",
)  # fmt: skip
cost_figure = wc.cost_chart(result, basis or "per_completed_task")
st.plotly_chart(cost_figure)

sweep = horizon_sweep(workload, plans, horizon_steps(workload.steps))
crossings = crossovers(sweep)
horizon_figure = wc.horizon_chart(sweep, crossings, workload.steps, plan_crossings(sweep))
st.plotly_chart(horizon_figure)
for sentence in wc.crossing_sentences(crossings):
    st.caption(common.escape_markdown(sentence))

agents = ["main", "subagent"][: 1 + bool(workload.subagents)]
for tab, which in zip(st.tabs(["Main agent", "Each sub-agent"][: len(agents)]), agents):
    tab.plotly_chart(wc.context_chart(workload, which), key=f"wl_context_{which}")

st.dataframe(wc.plans_table(result), hide_index=True)
left, right = st.columns(2)
left.download_button("Download the workload (YAML)", wl.workload_to_yaml(workload),
                     file_name="workload.yaml", icon=":material/download:")  # fmt: skip
right.download_button("Download the estimate (JSON)", json.dumps(result, indent=2),
                      file_name="estimate.json", icon=":material/download:")  # fmt: skip
left.download_button("Download the table (CSV)", frame_to_csv(estimate_frame(result)),
                     file_name="workload-estimate.csv", mime="text/csv",
                     icon=":material/download:")  # fmt: skip
changed = {k.removeprefix("w."): v for k, v in workload_params(workload).items()}
context = [("Workload", workload.name)] + [(k, v) for k, v in changed.items() if k != "name"]
right.download_button(
    "Download a report (HTML)",
    lambda: estimate_report(result, [cost_figure, horizon_figure], plans=plans, context=context),
    file_name="workload-estimate.html",
    mime="text/html",
    on_click="ignore",
    icon=":material/description:",
)
