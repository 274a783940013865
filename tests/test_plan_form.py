import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from cost_model.plan_form import (
    KEY,
    block_fields,
    catalogue_choices,
    file_name,
    form_to_data,
    name_problems,
    plan_to_form,
    plans_table,
)
from cost_model.plans import load_plan, load_presets, parse_plan

PLAN = load_plan(
    """\
name: P
checked: 2026-12-01
tokens:
  - {match: "a*", input_per_mtok: 1, long_context: {above_input_tokens: 100, output_per_mtok: 9}}
capacity: {per_replica_hour: 2, replicas: 3}
concurrency_tiers: [{max_concurrency: 4, monthly_fee: 5}]
"""
)


@pytest.mark.parametrize("name", list(load_presets()))
def test_every_preset_survives_the_form_unchanged(name):
    plan = load_presets()[name]
    assert parse_plan(form_to_data(plan_to_form(plan)), "form") == plan


def test_a_plan_with_every_table_survives_the_form_unchanged():
    assert parse_plan(form_to_data(plan_to_form(PLAN)), "form") == PLAN


def test_a_block_switched_off_is_left_out_and_blank_fields_take_defaults():
    values = plan_to_form(PLAN)
    values[f"{KEY}capacity.on"] = False
    values[f"{KEY}session_time.on"] = True
    values[f"{KEY}session_time.units"] = None
    data = form_to_data(values)
    assert "capacity" not in data
    assert parse_plan(data, "form").session_time.units == 1


def test_table_cells_from_an_editor_become_plain_values():
    values = plan_to_form(PLAN, name="Q")
    values[f"{KEY}tokens.rows"] = [
        {
            "match": "b",
            "input_per_mtok": np.float64(2.0),
            "output_per_mtok": math.nan,
            "long_context.above_input_tokens": 1000.0,
            "long_context.input_per_mtok": pd.NA,
        },
        {"match": None, "input_per_mtok": math.nan},
    ]
    data = form_to_data(values)
    assert data["name"] == "Q"
    assert data["tokens"] == [
        {"match": "b", "input_per_mtok": 2.0, "long_context": {"above_input_tokens": 1000}}
    ]


def test_replicas_text_becomes_a_number_or_stays_text_for_validation():
    values = plan_to_form(PLAN)
    assert values[f"{KEY}capacity.replicas"] == "3"
    values[f"{KEY}capacity.replicas"] = " 7 "
    assert form_to_data(values)["capacity"]["replicas"] == 7
    values[f"{KEY}capacity.replicas"] = "auto"
    assert form_to_data(values)["capacity"]["replicas"] == "auto"


def test_an_unknown_checked_date_is_none():
    values = plan_to_form(PLAN)
    assert values[f"{KEY}checked"] == dt.date(2026, 12, 1)
    values[f"{KEY}checked"] = None
    assert form_to_data(values)["checked"] is None


def test_fields_carry_their_kind_and_documented_unit():
    kinds = {f.label: f.kind for f in block_fields("capacity")}
    assert kinds == {
        "per_replica_hour": "float",
        "sessions_per_replica": "int",
        "replicas": "replicas",
    }
    help_text = {f.label: f.help for f in block_fields("session_time")}
    assert help_text["per_second"] == "USD per unit-second."


def test_plans_table_lists_presets_then_yours_with_components():
    rows = plans_table({"P": PLAN}, {"Mine": PLAN.model_copy(update={"name": "Mine"})})
    assert [(r["plan"], r["from"]) for r in rows] == [("P", "preset"), ("Mine", "yours")]
    assert rows[0]["components"] == "tokens, capacity, concurrency_tiers"
    assert rows[0]["checked"] == "2026-12-01"


def test_a_preset_name_cannot_be_reused():
    assert name_problems(PLAN, {"P": PLAN}) == [
        "name: 'P' is the name of a preset; choose another name."
    ]
    assert name_problems(PLAN, {}) == []


def test_file_name_is_a_slug_of_the_plan_name():
    plan = PLAN.model_copy(update={"name": "Kimi K2.6 on 8×H200 (dedicated)"})
    assert file_name(plan) == "kimi-k2.6-on-8-h200-dedicated.yaml"


def test_catalogue_choices_are_labelled_by_provider_and_model():
    choices = catalogue_choices("kimi-k2.6")
    assert choices["moonshotai · kimi-k2.6"] == ("kimi-k2.6", "moonshotai")
    assert all(" · " in label for label in choices)
