"""Links and scenario files: every state round-trips; a bad or stale part falls back to defaults."""

import base64
import json
import urllib.parse
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cost_model.errors import InputError
from cost_model.plans import Plan, load_presets
from cost_model.share import (
    PAGES,
    SharedState,
    load_scenario,
    pack_plans,
    params_to_state,
    scenario_to_json,
    scenario_to_yaml,
    state_to_params,
    unpack_plans,
)
from cost_model.workload import Workload

PRESETS = load_presets()
NAMES = list(PRESETS)
MOONSHOT = "Kimi K2.6 tokens (Moonshot API)"
AGENTCORE = "Kimi K2.6 tokens + AgentCore Runtime"


def edited(preset: str, **update) -> Plan:
    """A preset with some top-level keys changed, validated like a form would be."""
    return Plan.model_validate({**PRESETS[preset].model_dump(), **update})


def query_string(params) -> str:
    """The query string a browser shows for these parameters (as Streamlit writes it)."""
    return urllib.parse.urlencode(params, doseq=True, quote_via=urllib.parse.quote)


def through_url(params) -> dict[str, list[str]]:
    """Parameters after a trip through a real URL's query string."""
    return urllib.parse.parse_qs(query_string(params), keep_blank_values=True)


def test_presets_travel_by_name_only():
    state = SharedState(chosen_plans=[MOONSHOT, AGENTCORE])
    assert state_to_params(state, PRESETS) == {"p": [MOONSHOT, AGENTCORE]}


def test_an_edited_preset_travels_inline_and_comes_back_equal():
    plan = edited(AGENTCORE, requests={"per_tool_call": 0.00001})
    state = SharedState(chosen_plans=[AGENTCORE], plans={AGENTCORE: plan})
    back = params_to_state(through_url(state_to_params(state, PRESETS)), PRESETS)
    assert back.notice is None
    assert back.chosen_plans == [AGENTCORE]
    assert back.plans == {AGENTCORE: plan}


def test_an_edited_plan_equal_to_its_preset_is_not_inlined():
    state = SharedState(chosen_plans=[MOONSHOT], plans={MOONSHOT: PRESETS[MOONSHOT]})
    assert "e" not in state_to_params(state, PRESETS)


def test_edited_plans_not_chosen_stay_out_of_the_link():
    state = SharedState(chosen_plans=[MOONSHOT], plans={"Mine": edited(MOONSHOT, name="Mine")})
    assert state_to_params(state, PRESETS) == {"p": [MOONSHOT]}


def test_no_plan_chosen_is_kept_as_an_empty_choice():
    params = state_to_params(SharedState(chosen_plans=[]), PRESETS)
    assert query_string(params) == "p="
    assert params_to_state(through_url(params), PRESETS).chosen_plans == []


def test_only_workload_values_that_differ_from_defaults_are_written():
    workload = Workload(steps=60, cache_hit_rate=0.75, model="glm-5")
    params = state_to_params(SharedState(workload=workload), PRESETS)
    assert params == {"w.model": "glm-5", "w.steps": "60", "w.cache_hit_rate": "0.75"}


def test_a_default_workload_writes_nothing():
    assert state_to_params(SharedState(workload=Workload()), PRESETS) == {}


def test_a_typical_link_is_short():
    state = SharedState(
        page="compare",
        chosen_plans=[NAMES[0], MOONSHOT, AGENTCORE, "My plan"],
        plans={
            AGENTCORE: edited(AGENTCORE, description="with a gateway"),
            "My plan": edited(MOONSHOT, name="My plan", requests={"per_llm_call": 0.001}),
        },
        workload=Workload(steps=60, cache_hit_rate=0.75, subagents=2),
    )
    assert len(query_string(state_to_params(state, PRESETS))) < 600


def test_an_empty_link_gives_the_defaults_without_a_notice():
    state = params_to_state({}, PRESETS)
    assert state == SharedState()
    assert state.notice is None


def test_streamlit_embed_parameters_are_not_ours_to_judge():
    assert params_to_state({"embed": "true"}, PRESETS).notice is None


def test_an_unknown_page_falls_back_with_one_notice():
    state = params_to_state({"page": "admin", "p": MOONSHOT}, PRESETS)
    assert state.page is None
    assert state.chosen_plans == [MOONSHOT]
    assert state.notice == (
        "Part of this link could not be used, so defaults are shown for it: "
        "there is no page 'admin'."
    )


def test_a_renamed_plan_drops_the_whole_choice():
    state = params_to_state({"p": [MOONSHOT, "Old plan"]}, PRESETS)
    assert state.chosen_plans is None
    assert state.problems == ["the chosen plans ('Old plan' not known)"]


def test_a_mangled_blob_drops_the_edited_plans_and_the_choice_that_needs_them():
    state = params_to_state({"p": ["Mine"], "e": "not*base64!"}, PRESETS)
    assert (state.plans, state.chosen_plans) == (None, None)
    assert state.problems == [
        "the edited plans (not readable)",
        "the chosen plans ('Mine' not known)",
    ]


def test_an_inline_plan_with_a_negative_rate_is_refused():
    raw = json.dumps([{"_b": MOONSHOT, "name": "Mine", "requests": {"per_llm_call": -1}}])
    blob = base64.urlsafe_b64encode(zlib.compress(raw.encode())).decode()
    state = params_to_state({"p": ["Mine"], "e": blob}, PRESETS)
    assert state.plans is None
    assert state.problems[0] == (
        "the edited plans (plan 1, requests.per_llm_call: must be ≥ 0 (got -1))"
    )


def test_an_inline_plan_based_on_a_vanished_preset_is_refused():
    raw = json.dumps([{"_b": "Gone", "name": "Mine"}]).encode()
    with pytest.raises(ValueError, match="plan 1 is based on 'Gone', not a preset"):
        unpack_plans(base64.urlsafe_b64encode(zlib.compress(raw)).decode(), PRESETS)


def test_a_compressed_bomb_is_refused():
    blob = base64.urlsafe_b64encode(zlib.compress(b"[" + b" " * 5_000_000 + b"]", 9)).decode()
    with pytest.raises(ValueError, match="more than 200000 bytes unpacked"):
        unpack_plans(blob, PRESETS)


def test_a_blob_over_the_length_limit_is_refused_before_decoding():
    with pytest.raises(ValueError, match="9000 characters, more than 8000"):
        unpack_plans("A" * 9000, PRESETS)


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"w.steps": "many"}, "w.steps = 'many': input should be a valid integer"),
        ({"w.steps": "0"}, "w.steps = '0': input should be greater than or equal to 1"),
        ({"w.cache_hit_rate": "1.5"}, "w.cache_hit_rate = '1.5': input should be less than"),
        ({"w.colour": "red"}, "'w.colour' is not a workload parameter"),
        ({"w.tasks_per_month": "inf"}, "w.tasks_per_month = 'inf': input should be a finite"),
        ({"w.steps": "50000"}, "w.steps is above 4000"),
        ({"w.steps": "1000000000"}, "w.steps = '1000000000': input should be less than or equal"),
        ({"w.model": "x" * 300}, "a value is too long"),
        ({"w.compacted_tokens": "250000"}, "compacted_tokens (250000) must not exceed"),
    ],
)
def test_a_bad_workload_value_gives_the_default_workload(params, problem):
    state = params_to_state({**params, "p": MOONSHOT}, PRESETS)
    assert state.workload is None
    assert state.chosen_plans == [MOONSHOT]
    assert len(state.problems) == 1
    assert state.problems[0].startswith("the workload (")
    assert problem in state.problems[0]


def test_several_bad_parts_make_one_sentence():
    state = params_to_state({"page": "x", "w.steps": "y", "zz": "1"}, PRESETS)
    assert state.notice.endswith(".") and ". " not in state.notice
    assert len(state.problems) == 3


workloads = st.builds(
    Workload,
    steps=st.integers(1, 4000),
    cache_hit_rate=st.floats(0, 1),
    tool_latency_s=st.floats(0, 120),
    model=st.text(st.characters(codec="utf-8"), min_size=1, max_size=20),
    subagents=st.integers(0, 32),
    tasks_per_month=st.floats(0, 100_000),
)


@st.composite
def plans(draw):
    base = draw(st.sampled_from(NAMES))
    name = draw(st.sampled_from([base, "My plan", "Kimi, edited & 50% off?"]))
    update = {"name": name}
    if draw(st.booleans()):
        update["requests"] = {"per_llm_call": draw(st.floats(0, 1))}
    if draw(st.booleans()):
        update["session_time"] = None
    return edited(base, **update)


@st.composite
def states(draw):
    mine = draw(st.lists(plans(), max_size=3))
    edited_plans = {p.name: p for p in mine}
    chosen = draw(st.lists(st.sampled_from(NAMES + list(edited_plans)), unique=True, max_size=5))
    return SharedState(
        page=draw(st.sampled_from(PAGES)),
        chosen_plans=chosen,
        plans={n: p for n, p in edited_plans.items() if n in chosen and p != PRESETS.get(n)},
        workload=draw(workloads),
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states())
def test_every_state_round_trips_through_a_link(state):
    back = params_to_state(through_url(state_to_params(state, PRESETS)), PRESETS)
    assert back.notice is None
    assert back.page == state.page
    assert back.chosen_plans == state.chosen_plans
    assert (back.plans or {}) == state.plans
    assert back.workload == state.workload


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states(), st.sampled_from([scenario_to_yaml, scenario_to_json]))
def test_every_state_round_trips_through_a_scenario_file(state, write):
    assert load_scenario(write(state), PRESETS) == state


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.lists(st.text(max_size=30), max_size=3)))
def test_no_query_string_makes_decoding_raise(params):
    state = params_to_state(params, PRESETS)
    assert state.notice is None or state.notice.endswith(".")


def test_pack_plans_writes_a_preset_patch_not_the_whole_preset():
    blob = pack_plans([edited(AGENTCORE, description="changed")], PRESETS)
    data = json.loads(zlib.decompress(base64.urlsafe_b64decode(blob + "==")))
    assert data == [{"description": "changed", "_b": AGENTCORE}]


def test_a_scenario_file_names_every_bad_key():
    text = """
version: 1
page: nowhere
chosen_plans: [Gone]
plans:
  - name: Mine
    requests: {per_llm_call: -1}
workload: {steps: 0}
extra: 1
"""
    with pytest.raises(InputError) as caught:
        load_scenario(text, PRESETS, source="s.yaml")
    problems = caught.value.problems
    assert problems[0] == (
        "s.yaml: 'extra' is not a known key "
        "(allowed: version, page, chosen_plans, plans, workload)."
    )
    assert "s.yaml: page 'nowhere' is not one of traces, compare, plans, workload." in problems
    assert "s.yaml, plans[0], requests.per_llm_call: must be ≥ 0 (got -1)." in problems
    assert "s.yaml: chosen_plans names 'Gone', which is neither a preset nor in plans." in problems
    assert any(p.startswith("s.yaml, workload: key 'steps' = 0") for p in problems)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "s.yaml: a scenario must be a mapping of keys, not nothing."),
        (b"- 1\n- 2\n", "s.yaml: a scenario must be a mapping of keys, not list."),
        ("version: 1".encode("utf-16"), "s.yaml: is not UTF-8 text (byte 0)."),
        (b"version: [1\n", "s.yaml, line 2, column 1: is not valid YAML or JSON"),
        (b"version: 2\n", "s.yaml: version must be 1 (got 2)."),
        (b"page: traces\n", "s.yaml: version must be 1 (got None)."),
    ],
)
def test_an_unreadable_scenario_file_is_one_clear_error(content, problem):
    with pytest.raises(InputError) as caught:
        load_scenario(content, PRESETS, source="s.yaml")
    assert caught.value.problems[0].startswith(problem)


def test_a_scenario_yaml_file_reads_like_a_person_wrote_it():
    state = SharedState(page="workload", chosen_plans=[MOONSHOT], workload=Workload(steps=12))
    text = scenario_to_yaml(state)
    assert "version: 1\npage: workload\nchosen_plans:\n- Kimi K2.6 tokens (Moonshot API)\n" in text
    assert "  steps: 12\n" in text
