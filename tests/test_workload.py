"""The workload model (SPEC §4): parameters, files, and the step-by-step quantities by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cost_model.errors import InputError
from cost_model.workload import (
    Workload,
    agent_steps,
    load_workload,
    save_workload,
    workload_to_yaml,
)
from cost_model.workload_charts import parameter_groups

# a = output 100 + 2 tool calls × 50 = 200 new tokens per step.
SMALL = {
    "steps": 3,
    "prompt_tokens": 1000,
    "system_prompt_tokens": 400,
    "output_tokens_per_step": 100,
    "tool_calls_per_step": 2,
    "tool_result_tokens": 50,
    "tool_latency_s": 1.5,
    "cache_hit_rate": 0.5,
    "ttft_s": 1,
    "prefill_tokens_per_s": 100,
    "decode_tokens_per_s": 50,
    "step_overhead_s": 0.5,
}


def small(**changes) -> Workload:
    """The three-step workload of SMALL with some parameters changed."""
    return Workload(**SMALL | changes)


def test_defaults_describe_a_coding_agent_on_kimi_k2_6():
    w = Workload()
    assert (w.model, w.subagent_model, w.context_limit) == ("kimi-k2.6", "kimi-k2.6", 262_144)
    assert w.snapshot_every_steps == 0 and w.subagents == 0


def test_every_parameter_of_the_spec_is_a_field_with_a_documented_unit():
    spec = str.split(
        "model subagent_model steps subagent_steps subagents prompt_tokens "
        "subagent_prompt_tokens system_prompt_tokens output_tokens_per_step tool_calls_per_step "
        "tool_result_tokens tool_latency_s cache_hit_rate context_limit compaction_at "
        "compacted_tokens ttft_s prefill_tokens_per_s decode_tokens_per_s step_overhead_s "
        "snapshot_every_steps snapshot_base_bytes snapshot_bytes_per_token success_rate "
        "tasks_per_month active_hours_per_day"
    )
    assert set(Workload.model_fields) == {"name", *spec}
    assert all(Workload.model_fields[k].description for k in spec)


def test_parameter_groups_hold_every_parameter_once():
    grouped = [k for keys in parameter_groups().values() for k in keys]
    assert sorted(grouped) == sorted(k for k in Workload.model_fields if k != "name")


def test_negative_steps_are_rejected_naming_the_file_and_key(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text("name: x\nsteps: -1\n")
    with pytest.raises(InputError) as err:
        load_workload(path)
    assert err.value.problems == [
        f"{path}: key 'steps' = -1: Input should be greater than or equal to 1."
    ]


@pytest.mark.parametrize(
    "key, value",
    [
        ("cache_hit_rate", 1.5),
        ("cache_hit_rate", -0.1),
        ("success_rate", 0),
        ("success_rate", 1.2),
        ("compaction_at", 0),
        ("active_hours_per_day", 0),
        ("active_hours_per_day", 25),
        ("subagents", -2),
        ("tool_latency_s", -1),
        ("prefill_tokens_per_s", 0),
        ("steps", 100_001),
        ("subagents", 1_001),
    ],
)
def test_values_outside_their_range_are_rejected(key, value):
    with pytest.raises(InputError) as err:
        load_workload(f"{key}: {value}\n", source="w.yaml")
    (problem,) = err.value.problems
    assert problem.startswith(f"w.yaml: key '{key}' = {value!r}: Input should be")


@pytest.mark.parametrize("value", [".inf", ".nan"])
def test_infinite_and_nan_values_are_rejected(value):
    with pytest.raises(InputError) as err:
        load_workload(f"tool_latency_s: {value}\n", source="w.yaml")
    (problem,) = err.value.problems
    assert problem.startswith("w.yaml: key 'tool_latency_s'")


def test_unknown_keys_are_rejected_with_the_known_ones_listed():
    with pytest.raises(InputError) as err:
        load_workload("name: x\nstep: 3\n", source="w.yaml")
    assert err.value.problems[0].startswith("w.yaml: unknown key 'step'; the known keys are name")


def test_compacted_context_must_fit_under_the_compaction_threshold():
    with pytest.raises(InputError) as err:
        load_workload(
            "context_limit: 1000\ncompaction_at: 0.5\ncompacted_tokens: 600\n", source="w.yaml"
        )
    assert err.value.problems == [
        "w.yaml: compacted_tokens (600) must not exceed compaction_at · context_limit (500)."
    ]


def test_a_small_context_window_halves_the_compacted_context_left_out():
    workload = load_workload("context_limit: 32768\n", source="w.yaml")
    assert workload.compacted_tokens == 13_107  # ⌊0.8 · 32,768 / 2⌋
    assert load_workload("context_limit: 1000000\n").compacted_tokens == 30_000


@pytest.mark.parametrize(
    ("text", "key"),
    [("cache_hit_rate: '0.5'", "cache_hit_rate"), ("steps: true", "steps"),
     ("snapshot_every_steps: false", "snapshot_every_steps"), ("subagents: 2.0", "subagents")],
)  # fmt: skip
def test_quoted_numbers_and_booleans_are_wrong_types(text, key):
    with pytest.raises(InputError) as err:
        load_workload(text + "\n", source="w.yaml")
    (problem,) = err.value.problems
    assert problem.startswith(f"w.yaml: key '{key}' = ") and "Input should be a valid" in problem


def test_exponents_read_as_numbers_as_in_json():
    assert load_workload("tasks_per_month: 1e3\n").tasks_per_month == 1000.0


def test_a_session_longer_than_a_year_is_rejected():
    with pytest.raises(InputError) as err:
        load_workload("prefill_tokens_per_s: 1.0e-9\n", source="w.yaml")
    # The default main agent reads 232,560 uncached tokens: 2.33e14 s at 1e-9 tokens a second.
    assert err.value.problems == [
        (
            "w.yaml: a main agent's session would run 2.33e+14 s, more than a year "
            "(31,536,000 s): check the timing parameters."
        )
    ]


def test_yaml_syntax_errors_name_the_line():
    with pytest.raises(InputError) as err:
        load_workload("name: x\nsteps: [1,\n", source="w.yaml")
    assert err.value.problems[0].startswith("w.yaml, line 3, column 1: is not valid YAML or JSON")


def test_a_list_is_not_a_workload():
    with pytest.raises(InputError) as err:
        load_workload("- 1\n- 2\n", source="w.yaml")
    assert err.value.problems == ["w.yaml: a workload is a mapping of keys, not [1, 2]."]


def test_a_missing_file_is_an_input_error_naming_it(tmp_path):
    path = tmp_path / "none.yaml"
    with pytest.raises(InputError) as err:
        load_workload(path)
    assert err.value.problems == [f"{path}: cannot be read (No such file or directory)."]


def test_a_file_that_is_not_utf8_is_an_input_error():
    with pytest.raises(InputError) as err:
        load_workload(b"name: \xff\xfe x\n", source="latin.yaml")
    assert err.value.problems == ["latin.yaml: is not UTF-8 text (byte 6)."]


def test_a_tab_indented_json_workload_reads():
    assert load_workload('{\n\t"name": "tabs",\n\t"steps": 3\n}', source="w.json").steps == 3


def test_a_json_file_reads_and_left_out_keys_take_their_defaults(tmp_path):
    path = tmp_path / "w.json"
    path.write_text('{"name": "j", "steps": 7}')
    w = load_workload(str(path))
    assert (w.name, w.steps, w.cache_hit_rate) == ("j", 7, 0.9)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_saved_workloads_read_back_equal(tmp_path, suffix):
    w = Workload(name="round", subagents=3, cache_hit_rate=0.25, tool_calls_per_step=1.5)
    save_workload(w, tmp_path / f"w{suffix}")
    assert load_workload(tmp_path / f"w{suffix}") == w


def test_yaml_writes_whole_numbers_without_a_decimal_point():
    text = workload_to_yaml(Workload(prompt_tokens=12000))
    assert "prompt_tokens: 12000\n" in text and "cache_hit_rate: 0.9\n" in text


def test_three_steps_by_hand():
    s = agent_steps(Workload(**SMALL))
    assert s.input_tokens.tolist() == [1000, 1200, 1400]
    # First step: h · system prompt; later: h · (x_i − a).
    assert s.cached_input_tokens.tolist() == [200, 500, 600]
    assert s.uncached_input_tokens.tolist() == [800, 700, 800]
    assert s.cache_write_tokens.tolist() == [0, 0, 0]
    # ttft 1 + uncached/100 + 100/50
    assert s.llm_s.tolist() == [11, 10, 11]
    assert s.tool_s.tolist() == [3, 3, 3]
    assert s.step_s.tolist() == [14.5, 13.5, 14.5]
    assert s.start_s.tolist() == [0, 14.5, 28]
    assert s.runtime_s == 42.5
    assert not s.snapshot.any() and not s.compacted.any()


def test_compaction_makes_a_sawtooth_that_restarts_the_cache():
    w = small(steps=8, context_limit=2000, compaction_at=0.8, compacted_tokens=1100)
    s = agent_steps(w)
    # Threshold 1600: 1000, 1200, 1400, 1600, then 1800 > 1600 compacts to 1100, and so on.
    assert s.input_tokens.tolist() == [1000, 1200, 1400, 1600, 1100, 1300, 1500, 1100]
    assert s.compacted.tolist() == [False] * 4 + [True, False, False, True]
    assert s.cached_input_tokens.tolist() == [200, 500, 600, 700, 200, 550, 650, 200]


def test_a_snapshot_after_every_nth_step_holds_the_next_context():
    w = small(steps=5, snapshot_every_steps=2, snapshot_base_bytes=1000, snapshot_bytes_per_token=2)
    s = agent_steps(w)
    assert s.snapshot.tolist() == [False, True, False, True, False]
    # After step 2 the context is x_3 = 1400; after step 4, x_5 = 1800.
    assert s.snapshot_bytes.tolist() == [0, 3800, 0, 4600, 0]


def test_a_sub_agent_has_its_own_model_steps_and_first_context():
    w = small(subagents=2, subagent_model="small", subagent_steps=2, subagent_prompt_tokens=300)
    s = agent_steps(w, "subagent")
    assert s.model == "small"
    assert s.input_tokens.tolist() == [300, 500]
    # The shared system prompt is larger than this first context: only what is there is cached.
    assert s.cached_input_tokens.tolist() == [150, 150]


def test_a_context_over_the_threshold_at_the_start_compacts_after_one_step():
    w = small(
        steps=3, prompt_tokens=5000, context_limit=2000, compaction_at=0.5, compacted_tokens=600
    )
    assert agent_steps(w).input_tokens.tolist() == [5000, 600, 800]


def _loop_contexts(x1, a, threshold, c, n):
    xs, x = [], x1
    for _ in range(n):
        xs.append(x)
        x = c if x + a > threshold else x + a
    return xs


@settings(max_examples=200, deadline=None)
@given(
    x1=st.integers(0, 5000),
    output=st.integers(0, 800),
    tools=st.sampled_from([0, 0.5, 1, 2.5]),
    result=st.integers(0, 900),
    limit=st.integers(1000, 8000),
    at=st.sampled_from([0.3, 0.5, 0.8, 1.0]),
    c_share=st.floats(0, 1),
    n=st.integers(1, 120),
)
def test_contexts_equal_the_step_by_step_recurrence(
    x1, output, tools, result, limit, at, c_share, n
):
    c = int(c_share * at * limit)
    w = Workload(
        steps=n,
        prompt_tokens=x1,
        output_tokens_per_step=output,
        tool_calls_per_step=tools,
        tool_result_tokens=result,
        context_limit=limit,
        compaction_at=at,
        compacted_tokens=c,
    )
    expected = _loop_contexts(x1, w.tokens_per_step, at * limit, c, n)
    assert np.allclose(agent_steps(w).input_tokens, expected)


def test_agent_steps_refuses_an_unknown_agent():
    with pytest.raises(ValueError):
        agent_steps(Workload(), "helper")


def test_every_bundled_preset_loads_and_names_are_unique():
    from cost_model.workload import PRESETS_DIR, load_workload_presets

    presets = load_workload_presets()
    assert len(presets) == len(list(PRESETS_DIR.glob("*.yaml"))) >= 3
    swarm = [w for w in presets.values() if w.subagents and w.snapshot_every_steps]
    assert swarm, "a preset with sub-agents and snapshots"
