import datetime as dt
import json
import math

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from cost_model.errors import InputError
from cost_model.plans import (
    PRESETS_DIR,
    Capacity,
    Plan,
    RateCard,
    load_plan,
    load_presets,
    plan_to_yaml,
)

FULL = """\
name: Full plan
description: every block
source: SPEC
checked: 2026-12-01
tokens:
  - match: "kimi-*"
    input_per_mtok: 0.95
    cached_input_per_mtok: 0.16
    output_per_mtok: 4.00
    long_context:
      above_input_tokens: 200000
      input_per_mtok: 1.90
  - input_per_mtok: 2
session_time: {per_second: 0.0000026, units: 2, granularity_s: 1, minimum_s: 1}
active_time: {per_second: 0.0000249}
requests: {per_tool_call: 0.000005}
cold_start: {idle_timeout_s: 900, duration_s: 20}
capacity: {per_replica_hour: 43.92, sessions_per_replica: 32}
concurrency_tiers:
  - {max_concurrency: 50, monthly_fee: 250}
  - {max_concurrency: 10}
snapshots: {storage_per_gb_month: 0.02, egress_per_gb: 0.01, per_snapshot: 0.000005}
"""


def problems(text: str, name: str = "p.yaml") -> list[str]:
    with pytest.raises(InputError) as info:
        load_plan(text, name=name)
    assert info.value.source == name
    return info.value.problems


def test_cached_and_cache_write_rates_default_to_the_input_rate():
    card = load_plan(FULL).tokens[1]
    assert (card.input_per_mtok, card.cached_input_per_mtok, card.cache_write_per_mtok) == (2, 2, 2)
    assert card.match == "*"
    assert card.output_per_mtok == 0


def test_long_context_rates_default_to_the_cards_own_rates_of_each_kind():
    card = load_plan(FULL).tokens[0]
    lc = card.long_context
    assert card.cache_write_per_mtok == 0.95
    assert (lc.above_input_tokens, lc.input_per_mtok) == (200000, 1.90)
    assert lc.cached_input_per_mtok == 0.16
    assert lc.cache_write_per_mtok == 0.95
    assert lc.output_per_mtok == 4.00


def test_block_defaults_follow_the_spec():
    plan = load_plan(FULL)
    assert plan.checked == dt.date(2026, 12, 1)
    assert plan.active_time.kinds == ["tool"]
    assert (plan.active_time.units, plan.active_time.granularity_s) == (1, 0)
    assert plan.requests.per_llm_call == 0 and plan.requests.per_session == 0
    assert (plan.cold_start.fee, plan.cold_start.warm_instances) == (0, 0)
    assert plan.capacity.replicas == "auto"
    assert plan.concurrency_tiers[1].monthly_fee == 0
    assert (plan.snapshots.retention_days, plan.snapshots.egress_fraction) == (30, 1)
    assert Capacity().sessions_per_replica == 1


def test_absent_and_null_blocks_are_none():
    plan = load_plan("name: x\ntokens: null")
    assert plan.tokens is None and plan.session_time is None and plan.snapshots is None
    assert plan.checked is None
    assert load_plan("name: x\ntokens: []").tokens == []


def test_yaml_round_trip_gives_an_equal_plan():
    plan = load_plan(FULL)
    assert load_plan(plan_to_yaml(plan)) == plan


def test_json_reads_as_yaml_and_round_trips():
    data = yaml.safe_load(FULL)
    data["checked"] = "2026-12-01"
    assert load_plan(json.dumps(data)) == load_plan(FULL)


def test_a_path_is_read_and_named_in_messages(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: x\ncapacity: {colour: red}\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_plan(str(path))
    assert info.value.problems[0].startswith(f"{path}, line 2, capacity.colour: ")


def test_unknown_key_at_depth_names_file_line_and_key():
    text = (
        "name: x\ntokens:\n  - input_per_mtok: 1\n"
        "    long_context:\n      above_input_tokens: 5\n      colour: red\n"
    )
    allowed = (
        "above_input_tokens, input_per_mtok, cached_input_per_mtok, cache_write_per_mtok, "
        "output_per_mtok"
    )
    where = "p.yaml, line 6, tokens[0].long_context.colour"
    assert problems(text) == [f"{where}: 'colour' is not a known key (allowed: {allowed})."]


def test_unknown_top_level_key_is_an_error():
    assert problems("name: x\nprice: 3\n")[0].startswith("p.yaml, line 2, price: 'price' is not")


def test_negative_number_is_an_error():
    assert problems("name: x\nsnapshots: {retention_days: -1}") == [
        "p.yaml, line 2, snapshots.retention_days: must be ≥ 0 (got -1)."
    ]


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_non_finite_number_is_an_error(value):
    (problem,) = problems(f"name: x\nsession_time: {{per_second: {value}}}")
    assert problem.startswith("p.yaml, line 2, session_time.per_second: must be a finite number")


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("requests: {per_llm_call: '0.1'}", "requests.per_llm_call: must be a number (got '0.1')."),
        ("requests: {per_llm_call: true}", "requests.per_llm_call: must be a number (got True)."),
        ("cold_start: {warm_instances: 1.5}", "cold_start.warm_instances: must be a whole number"),
        ("snapshots: 3", "snapshots: must be a mapping of keys (got 3)."),
        ("tokens: {match: x}", "tokens: must be a list"),
        ("name: 5", "name: must be text (got 5)."),
        (
            "active_time: {kinds: [tool, gpu]}",
            "active_time.kinds[1]: must be 'llm', 'tool', 'snapshot' or 'other' (got 'gpu').",
        ),
    ],
)
def test_wrong_type_is_an_error(block, message):
    text = block if block.startswith("name") else f"name: x\n{block}"
    assert message in problems(text)[0]


def test_missing_thresholds_are_errors():
    text = "name: x\ntokens: [{long_context: {}}]\nconcurrency_tiers: [{monthly_fee: 1}]\n"
    assert problems(text) == [
        "p.yaml, line 2, tokens[0].long_context.above_input_tokens: is required but missing.",
        "p.yaml, line 3, concurrency_tiers[0].max_concurrency: is required but missing.",
    ]


def test_missing_name_is_an_error():
    assert problems("tokens: []") == ["p.yaml, name: is required but missing."]


@pytest.mark.parametrize(("value", "expected"), [("auto", "auto"), ("0", 0), ("3", 3)])
def test_replicas_is_auto_or_a_whole_number(value, expected):
    assert load_plan(f"name: x\ncapacity: {{replicas: {value}}}").capacity.replicas == expected


@pytest.mark.parametrize("value", ["2.5", "-1", "many", "true"])
def test_other_replicas_are_errors(value):
    (problem,) = problems(f"name: x\ncapacity: {{replicas: {value}}}")
    assert "capacity.replicas: must be a whole number ≥ 0 or 'auto'" in problem


def test_kinds_are_case_insensitive():
    plan = load_plan("name: x\nactive_time: {kinds: [Tool, SNAPSHOT]}")
    assert plan.active_time.kinds == ["tool", "snapshot"]


def test_every_problem_is_listed_at_once():
    text = "name: x\nrequests: {per_llm_call: -1, per_tool_call: -2}\ncapacity: {replicas: x}"
    assert len(problems(text)) == 3


def test_broken_yaml_names_line_and_column():
    assert problems("name: [x\n")[0].startswith("p.yaml, line 2, column 1: is not valid YAML")


def test_a_key_given_twice_is_refused_in_yaml_and_json():
    assert problems("name: a\nsession_time:\n  per_second: 1\n  per_second: 2\n") == [
        "p.yaml, line 4, column 3: is not valid YAML or JSON (the key 'per_second' is given twice)."
    ]
    assert problems('{"name": "a", "name": "b"}') == ["p.yaml: the key 'name' is given twice."]


def test_a_plan_must_be_a_mapping():
    assert problems("- a\n- b\n") == ["p.yaml: a plan must be a mapping of keys, not list."]


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot be read"):
        load_plan(tmp_path / "none.yaml")


def test_plans_are_frozen():
    plan = load_plan(FULL)
    with pytest.raises(ValidationError, match="frozen"):
        plan.name = "y"
    with pytest.raises(ValidationError, match="frozen"):
        plan.tokens[0].input_per_mtok = 9


def test_presets_load_sorted_with_unique_names_sources_and_notes():
    presets = load_presets()
    assert len(presets) == len(list(PRESETS_DIR.glob("*.yaml"))) >= 6
    assert list(presets) == sorted(presets)
    for name, plan in presets.items():
        assert plan.name == name
        assert plan.source and plan.notes and plan.description


def test_every_preset_file_states_checked_and_round_trips():
    for path in sorted(PRESETS_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert "checked" in data, path.name
        if data["checked"] is None:
            assert "no date" in data["notes"], path.name
        plan = load_plan(path)
        assert load_plan(plan_to_yaml(plan)) == plan


def test_presets_are_copies():
    first = load_presets()
    first["Kimi K2.6 tokens (Moonshot API)"].tokens.append(RateCard())
    assert len(load_presets()["Kimi K2.6 tokens (Moonshot API)"].tokens) == 1


def test_preset_rates_match_the_public_prices():
    p = load_presets()
    kimi = p["Kimi K2.6 tokens (Moonshot API)"].tokens[0]
    assert kimi.input_per_mtok == 0.95
    assert kimi.cached_input_per_mtok == 0.16
    assert kimi.output_per_mtok == 4.00
    agentcore = p["Kimi K2.6 tokens + AgentCore Runtime"]
    assert agentcore.session_time.per_second * 3600 == pytest.approx(0.00945)
    assert agentcore.active_time.per_second * 3600 == pytest.approx(0.0895, rel=1e-6)
    assert agentcore.active_time.kinds == ["tool", "snapshot"]
    assert p["Kimi K2.6 on Together dedicated 8×H200"].capacity.per_replica_hour == 43.92
    modal = p["Kimi K2.6 on Modal 8×H200 containers"]
    assert modal.session_time.per_second * modal.session_time.units * 3600 == pytest.approx(
        8 * 4.5396
    )
    assert p["Kimi K2.6 tokens + AWS Lambda (2 GB)"].session_time.granularity_s == 0.001


rates = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(rates, st.none() | rates, rates)
def test_any_valid_card_round_trips(inp, cached, out):
    card = {"input_per_mtok": inp, "output_per_mtok": out}
    if cached is not None:
        card["cached_input_per_mtok"] = cached
    plan = Plan.model_validate({"name": "h", "tokens": [card]})
    again = load_plan(plan_to_yaml(plan))
    assert again == plan
    assert again.tokens[0].cached_input_per_mtok == (inp if cached is None else cached)


@given(st.floats().filter(lambda x: x < 0 or not math.isfinite(x)))
def test_any_negative_or_non_finite_rate_is_rejected(value):
    with pytest.raises(InputError):
        load_plan(yaml.safe_dump({"name": "h", "requests": {"per_session": value}}))


def test_exponent_numbers_without_a_dot_are_numbers_as_in_json():
    plan = load_plan('{"name": "e", "requests": {"per_tool_call": 5e-06, "per_session": 1E3}}')
    assert (plan.requests.per_tool_call, plan.requests.per_session) == (0.000005, 1000)


def test_a_tab_indented_json_plan_reads():
    plan = load_plan('{\n\t"name": "tabs",\n\t"requests": {\n\t\t"per_session": 1\n\t}\n}')
    assert plan.requests.per_session == 1


@pytest.mark.parametrize(
    "text",
    [
        "name: D\nchecked: 2026-13-45\n",
        "name: D\nrequests: {per_llm_call: !!float abc}\n",
        "name: D\ntokens: &a [*a]\n",
    ],
)
def test_values_the_safe_loader_cannot_build_are_input_errors(text):
    with pytest.raises(InputError) as err:
        load_plan(text, name="p.yaml")
    (problem,) = err.value.problems
    assert problem.startswith("p.yaml: holds a value that cannot be read (")


def test_a_plan_file_whose_name_looks_like_yaml_is_read_as_a_file(tmp_path):
    path = tmp_path / "plan: v2.yaml"
    path.write_text("name: R\nrequests: {per_tool_call: 1}\n")
    assert load_plan(path).name == "R"
