"""Compare: what one data set of traces costs under several pricing plans (SPEC §3)."""

import streamlit as st

from cost_model import compare_charts as cc
from cost_model.billing import price, price_frame
from cost_model.charts import fmt_usd, window_text
from cost_model.export import frame_to_csv
from cost_model.metrics import compute_metrics
from cost_model.plans import Plan, load_presets
from cost_model.report import price_report
from pages import common

common.require_app()

PLANS_KEY = "compare_plans"
# The chosen plan names, kept apart from the widget's key so that they survive a page switch
# (Streamlit forgets a widget's key on a page that does not show it).
CHOSEN = "chosen_plans"


def keep_choice() -> None:
    st.session_state[CHOSEN] = st.session_state[PLANS_KEY]


def price_plans(ts, plan_json: tuple[str, ...]) -> list[dict]:
    """`price` of the plans given as JSON (hashable, so `common.memo` can keep the result)."""
    return price(ts, [Plan.model_validate_json(text) for text in plan_json])


st.title("Compare plans")
st.caption(
    "What the runs of one data set would have cost under each pricing plan: tokens, runtime, "
    "requests, cold starts, capacity, tiers and snapshots, re-priced from the spans. Choose the "
    "data set in the sidebar; edit or upload plans on the Plans page."
)
ts = common.dataset_sidebar()
metrics = common.memo(ts, compute_metrics)
available = {**load_presets(), **st.session_state["plans"]}
names = list(available)
if CHOSEN not in st.session_state:
    st.session_state[CHOSEN] = cc.default_plans(names)
# A plan removed on the Plans page can no longer be chosen.
st.session_state[PLANS_KEY] = [n for n in st.session_state[CHOSEN] if n in available]
chosen = st.multiselect(
    "Plans",
    names,
    key=PLANS_KEY,
    on_change=keep_choice,
    placeholder="Choose one or more plans",
    help="Bundled presets, and the plans you edited or uploaded in this browser session.",
)

name = common.escape_markdown(st.session_state["dataset_name"])
st.markdown(
    f"**{name}** · {metrics['runs']:,} runs ({metrics['completed_runs']:,} completed) · "
    f"{metrics['sessions']:,} sessions · peak concurrency "
    f"{metrics['concurrency']['peak'] or 0} · {window_text(metrics['window'])}"
)
if metrics["spans"] == 0:
    st.info("This data set has no spans, so there is nothing to price. Choose another one.")
    st.stop()
if not chosen:
    st.info("Choose at least one plan above to see what these runs cost under it.")
    st.stop()

plans = [available[n] for n in chosen]
results = common.memo(ts, price_plans, tuple(p.model_dump_json() for p in plans))
recorded = metrics["recorded_cost_usd"]

cheapest = min(results, key=lambda r: r["total_usd"])
cols = st.columns(3)
cols[0].metric("Cheapest plan", fmt_usd(cheapest["total_usd"]))
cols[0].caption(common.escape_markdown(cheapest["name"]))
cols[1].metric(
    "Cheapest, per completed task",
    fmt_usd(cheapest["per_completed_task_usd"]),
    help="Total ÷ completed runs; failed and unknown runs are paid for but complete nothing. "
    "'—' when no run completed.",
)
cols[2].metric(
    "Recorded by the source",
    fmt_usd(recorded),
    help="Σ cost_usd of the spans, as the traces recorded it (never used to price). "
    "'—' when no span has a cost.",
)

st.subheader("Cost by plan")
st.dataframe(cc.display_table(results, recorded), hide_index=True)
st.caption(
    "Recorded = the cost the traces themselves recorded (their `cost_usd`), for comparison. "
    "Capacity and concurrency tiers are billed over the whole window of the data set; a file "
    "that joins batches far apart has a long, mostly empty window (filter one batch first)."
)
for warning in cc.plan_warnings(results):
    st.warning(common.escape_markdown(warning), icon=":material/warning:")

basis = st.segmented_control(
    "Bars show",
    list(cc.BASES),
    default="total",
    format_func=cc.BASES.get,
    key="compare_basis",
)
basis = basis or "total"
by = cc.divisor(basis, metrics["runs"], metrics["completed_runs"])
figure = cc.components_chart(results, basis=basis, by=by, recorded_usd=recorded)
st.plotly_chart(figure)

table = price_frame(results, recorded)
left, right = st.columns(2)
left.download_button(
    "Download the table (CSV)",
    frame_to_csv(table),
    file_name="plan-comparison.csv",
    mime="text/csv",
    icon=":material/download:",
)
context = [
    ("Data set", st.session_state["dataset_name"]),
    ("Window", window_text(metrics["window"])),
]
context += [("Filter", f"{k} = {v}") for k, v in ts.where.items()]
right.download_button(
    "Download a report (HTML)",
    lambda: price_report(results, [figure], plans=plans, context=context, recorded_usd=recorded),
    file_name="plan-comparison.html",
    mime="text/html",
    icon=":material/description:",
)
