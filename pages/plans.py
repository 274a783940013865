"""Plans: browse the presets, edit a copy, fill token prices from the catalogue, save, download."""

import pandas as pd
import streamlit as st

from cost_model import plan_form as pf
from cost_model.catalogue import catalogue_version, rate_card_from_catalogue
from cost_model.errors import InputError
from cost_model.plans import SPAN_KINDS, load_plan, load_presets, parse_plan, plan_to_yaml
from pages import common

common.require_app()

EDITED = "the edited plan"

common.init_state()
ss = st.session_state
presets, mine = load_presets(), ss["plans"]


def start_editing(plan, name):
    for key in [k for k in ss if str(k).startswith(pf.KEY)]:
        del ss[key]
    ss.update(pf.plan_to_form(plan, name=name))


def add_upload(upload):
    try:
        plan = load_plan(upload.getvalue(), name=upload.name)
        if problems := pf.name_problems(plan, presets):
            raise InputError(upload.name, [f"{upload.name}, {p}" for p in problems])
    except InputError as err:
        return err
    mine[plan.name] = plan
    return None


def catalogue_card(current_rows):
    with st.expander(f"Add a card from the genai-prices catalogue ({catalogue_version()})"):
        label = pf.catalogue_choices(st.text_input("Models containing", "kimi", key="plans_cat_q"))
        pick = st.selectbox("Model at provider", list(label), key="plans_cat_pick")
        match = st.text_input("match (span names)", "*", key="plans_cat_match")
        if not pick or not st.button("Add card", key="plans_cat_add"):
            return
        try:
            card = rate_card_from_catalogue(*label[pick], match=match)
        except InputError as err:
            common.show_error(err)
            return
        ss[f"{pf.KEY}tokens.rows"] = current_rows + [pf.card_row(card)]
        del ss[f"{pf.KEY}tokens.editor"]  # the editor's edits are now in the rows
        st.rerun()


def block_widgets(block):
    cols = st.columns(4)
    for i, spec in enumerate(pf.block_fields(block)):
        box = cols[i % 4]
        if spec.kind == "kinds":
            box.multiselect(spec.label, SPAN_KINDS, key=spec.key, help=spec.help)
        elif spec.kind == "replicas":
            box.text_input(spec.label, key=spec.key, help=spec.help)
        elif spec.kind == "int":
            box.number_input(spec.label, key=spec.key, step=1, help=spec.help)
        else:
            box.number_input(spec.label, key=spec.key, format="%g", help=spec.help)


st.title("Pricing plans")
st.caption(
    "A plan says how a platform bills: tokens, session time, active time, requests, cold starts, "
    "replicas, concurrency tiers and snapshots. Presets come from public prices; plans you edit "
    "or upload stay in this browser session and appear on the Compare page."
)
if flash := ss.pop("_plans_flash", None):
    st.success(flash)
table_slot = st.container()  # filled after the upload below, so that it lists the new plan
upload = st.file_uploader(
    "Upload a plan file (YAML or JSON)", type=["yaml", "yml", "json"], key="plans_upload"
)
if upload is not None:
    outcomes = ss.setdefault("_plan_uploads", {})
    if upload.file_id not in outcomes:
        outcomes[upload.file_id] = add_upload(upload)
    if outcomes[upload.file_id] is not None:
        common.show_error(outcomes[upload.file_id])
    else:
        st.success(f"{upload.name} was added to your plans.")
table_slot.dataframe(pd.DataFrame(pf.plans_table(presets, mine)), hide_index=True)
plans = {**presets, **mine}

left, right = st.columns([2, 1])
chosen = left.selectbox("Plan", list(plans), key="plans_pick")
plan = plans[chosen]
right.download_button(
    "Download YAML", plan_to_yaml(plan), file_name=pf.file_name(plan), mime="application/yaml"
)
if right.button("Edit a copy", key="plans_edit_copy"):
    start_editing(plan, plan.name if chosen in mine else f"{plan.name} (my copy)")
st.caption(common.escape_markdown(plan.description))
with st.expander("Details: source, notes and the plan file"):
    st.markdown(f"**Source:** {common.escape_markdown(plan.source or 'not stated')}")
    st.markdown(f"**Notes:** {common.escape_markdown(plan.notes or 'none')}")
    st.code(plan_to_yaml(plan), language="yaml")

if f"{pf.KEY}name" not in ss:
    st.info("Choose a plan and press **Edit a copy** to change its prices.")
    st.stop()

st.subheader("Edit")
a, b = st.columns(2)
a.text_input("name", key=f"{pf.KEY}name")
b.date_input("checked", key=f"{pf.KEY}checked", help="When the prices were last checked.")
for key in ("description", "source", "notes"):
    st.text_area(key, key=f"{pf.KEY}{key}", height=68)


tables = {}
for part in pf.COMPONENTS:
    if not st.toggle(part, key=f"{pf.KEY}{part}.on", help=pf.component_help(part)):
        continue
    if part not in pf.TABLES:
        block_widgets(part)
        continue
    rows_key = f"{pf.KEY}{part}.rows"
    base = pd.DataFrame(ss.get(rows_key) or [], columns=list(pf.TABLES[part]))
    edited = st.data_editor(base, num_rows="dynamic", key=f"{pf.KEY}{part}.editor")
    tables[rows_key] = edited.to_dict("records")
    if part == "tokens":
        catalogue_card(tables[rows_key])

try:
    edited_plan = parse_plan(pf.form_to_data({**ss, **tables}), EDITED)
    if problems := pf.name_problems(edited_plan, presets):
        raise InputError(EDITED, [f"{EDITED}, {p}" for p in problems])
except InputError as err:
    common.show_error(err)
    st.stop()
verb = "Replace" if edited_plan.name in mine else "Add"
if st.button(f"{verb} “{edited_plan.name}” in my plans", type="primary", key="plans_save"):
    mine[edited_plan.name] = edited_plan
    ss["_plans_flash"] = f"Saved “{edited_plan.name}”: it is in your plans and on Compare."
    st.rerun()
st.download_button(
    "Download the edited plan",
    plan_to_yaml(edited_plan),
    file_name=pf.file_name(edited_plan),
    key="plans_download_edited",
)
