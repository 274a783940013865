"""Fitting traces gives back the workload that made them (SPEC §4), and a valid one from real
data."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cost_model.estimate import estimate
from cost_model.fit import fit_workload
from cost_model.loader import load_traces
from cost_model.plans import parse_plan
from cost_model.simulate import simulate_to_csv
from cost_model.workload import Workload, load_workload, save_workload

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "traces" / "sample.csv"

ORIGINAL = Workload(
    name="original",
    model="main-model",
    steps=24,
    prompt_tokens=9_000,
    system_prompt_tokens=5_000,
    output_tokens_per_step=350,
    tool_calls_per_step=1.6,
    tool_result_tokens=900,
    tool_latency_s=4,
    cache_hit_rate=0.85,
    context_limit=50_000,
    compaction_at=0.6,
    compacted_tokens=12_000,
    ttft_s=0.6,
    prefill_tokens_per_s=3_000,
    decode_tokens_per_s=70,
    step_overhead_s=0.4,
    subagents=2,
    subagent_model="sub-model",
    subagent_steps=5,
    subagent_prompt_tokens=3_000,
    snapshot_every_steps=6,
    snapshot_base_bytes=10e6,
    snapshot_bytes_per_token=6,
    success_rate=0.8,
    tasks_per_month=1_600,
    active_hours_per_day=9,
)
PLANS = [
    {
        "name": "tokens",
        "tokens": [{"input_per_mtok": 0.95, "cached_input_per_mtok": 0.16, "output_per_mtok": 4.0}],
    },
    {"name": "session", "session_time": {"per_second": 2.6e-6, "units": 2, "granularity_s": 1}},
    {"name": "active", "active_time": {"kinds": ["tool"], "per_second": 2.49e-5}},
    {"name": "requests", "requests": {"per_llm_call": 0.001, "per_tool_call": 5e-6}},
    {"name": "snapshots", "snapshots": {"storage_per_gb_month": 0.02, "per_snapshot": 5e-6}},
    {
        "name": "cold",
        "session_time": {"per_second": 2.6e-6},
        "cold_start": {"idle_timeout_s": 300, "duration_s": 20},
    },
    {"name": "capacity", "capacity": {"per_replica_hour": 1.0, "sessions_per_replica": 4}},
    {
        "name": "tiers",
        "concurrency_tiers": [
            {"max_concurrency": 4, "monthly_fee": 0},
            {"max_concurrency": 100, "monthly_fee": 300},
        ],
    },
]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    path = tmp_path_factory.mktemp("fit") / "month.csv"
    simulate_to_csv(ORIGINAL, days=30, seed=5, path=path)
    return fit_workload(load_traces(path))


@pytest.fixture(scope="module")
def sample():
    return load_traces(SAMPLE)


def _csv(tmp_path, text: str):
    path = tmp_path / "t.csv"
    path.write_text(text.strip() + "\n")
    return load_traces(path)


def test_round_trip_recovers_the_shape_of_an_attempt_exactly(fitted):
    assert (fitted.steps, fitted.subagents, fitted.subagent_steps) == (24, 2, 5)
    assert (fitted.model, fitted.subagent_model) == ("main-model", "sub-model")
    assert fitted.snapshot_every_steps == 6
    assert fitted.prompt_tokens == pytest.approx(9_000, abs=1)
    assert fitted.subagent_prompt_tokens == pytest.approx(3_000, abs=1)
    assert fitted.compacted_tokens == pytest.approx(12_000, abs=1)
    assert fitted.system_prompt_tokens == pytest.approx(5_000, rel=0.001)
    assert fitted.cache_hit_rate == pytest.approx(0.85, abs=0.001)
    assert fitted.output_tokens_per_step == 350
    assert fitted.tokens_per_step == pytest.approx(350 + 1.6 * 900, abs=1)
    # Compaction when a context would pass 30 000. Contexts grow by 1 790 a step and reach
    # 28 690 (9 000 + 11 steps) and 29 900 (12 000 + 10 steps) before a compaction: any threshold
    # from the largest context seen to 28 690 + 1 790 compacts at the same steps.
    assert 29_900 <= fitted.compaction_threshold < 30_480
    assert fitted.tool_latency_s == pytest.approx(4, abs=1e-5)
    assert fitted.snapshot_base_bytes == pytest.approx(10e6, rel=1e-4)
    assert fitted.snapshot_bytes_per_token == pytest.approx(6, rel=1e-3)


def test_round_trip_recovers_rates_within_sampling_noise(fitted):
    # 2 000 attempts a month: counts vary by about 2% (Poisson), outcomes by about 1%
    assert fitted.tasks_per_month == pytest.approx(1_600, rel=0.06)
    assert fitted.success_rate == pytest.approx(0.8, rel=0.03)
    assert fitted.tool_calls_per_step == pytest.approx(1.6, rel=0.01)
    assert fitted.active_hours_per_day == pytest.approx(9, rel=0.01)


def test_round_trip_estimate_matches_the_original_within_5pct(fitted):
    plans = [parse_plan(p, p["name"]) for p in PLANS]
    want, got = estimate(ORIGINAL, plans), estimate(fitted, plans)
    for key, value in want["per_attempt"].items():
        assert got["per_attempt"][key] == pytest.approx(value, rel=0.05), key
    assert got["concurrency"]["average"] == pytest.approx(want["concurrency"]["average"], rel=0.05)
    assert got["concurrency"]["peak"] == pytest.approx(want["concurrency"]["peak"], rel=0.05)
    for a, b in zip(want["plans"], got["plans"]):
        assert a["per_completed_task_usd"] > 0
        assert b["per_completed_task_usd"] == pytest.approx(a["per_completed_task_usd"], rel=0.05)


def test_round_trip_holds_with_random_durations(tmp_path):
    path = tmp_path / "noisy.csv"
    original = ORIGINAL.model_copy(update={"subagents": 0, "tasks_per_month": 400})
    simulate_to_csv(original, days=30, seed=8, path=path, rng_durations=True)
    fitted = fit_workload(load_traces(path))
    plans = [parse_plan(p, p["name"]) for p in PLANS[:3]]
    want, got = estimate(original, plans), estimate(fitted, plans)
    assert got["per_attempt"]["runtime_s_main"] == pytest.approx(
        want["per_attempt"]["runtime_s_main"], rel=0.05
    )
    for a, b in zip(want["plans"], got["plans"]):
        assert b["per_completed_task_usd"] == pytest.approx(a["per_completed_task_usd"], rel=0.05)


def test_fitting_the_real_sample_gives_a_valid_workload(sample, tmp_path):
    fitted = fit_workload(sample)
    assert Workload.model_validate(fitted.model_dump()) == fitted
    save_workload(fitted, tmp_path / "w.yaml")
    assert load_workload(tmp_path / "w.yaml") == fitted


def test_a_user_simulator_is_not_part_of_the_agent(sample):
    tau2 = fit_workload(sample.filter({"source": "tau2-bench/blakeelias-grok-modified"}))
    assert tau2.model.startswith("agent:")
    assert (
        tau2.steps == 10
    )  # 4 315 agent calls over 434 runs; the 2 488 user-simulator calls left out
    assert tau2.success_rate == pytest.approx(177 / 434)
    assert tau2.cache_hit_rate == 0  # tau2 recorded no cache data
    assert tau2.snapshot_every_steps == 0
    assert tau2.subagents == 0


def test_a_coding_agent_sample_keeps_its_cache_hits_and_outcomes(sample):
    msa = fit_workload(sample.filter({"source": "mini-swe-agent/deepseek-chat/swebench-lite-dev"}))
    assert msa.model == "deepseek/deepseek-chat"
    assert msa.success_rate == pytest.approx(8 / 23)
    assert msa.cache_hit_rate > 0.9  # 97% of the input tokens were cache hits
    assert msa.steps == 80  # 1 843 calls over 23 runs


def test_runs_without_outcomes_count_as_completed(sample):
    reasoner = fit_workload(
        sample.filter({"source": "mini-swe-agent/deepseek-reasoner/swebench-lite-dev"})
    )
    assert reasoner.success_rate == 1.0
    assert reasoner.model == "deepseek/deepseek-reasoner"  # placeholders of failed calls left out


HEADER = (
    "run_id,span_id,kind,name,start_time,end_time,input_tokens,cached_input_tokens,output_tokens"
)


def test_a_hand_made_file_gives_its_growth_and_timing(tmp_path):
    # Two runs of three steps, a day apart: x = 1 000 + 500·i with 100 output and one tool call
    # (1 s) a step; each call lasts 1 s + uncached/1 000 + output/50, so 4, 4.5 and 5 s.
    ts = _csv(
        tmp_path,
        f"""
{HEADER}
a,1,llm,m,0,4,1000,0,100
a,2,tool,t,4,5,,,
a,3,llm,m,5,9.5,1500,0,100
a,4,tool,t,9.5,10.5,,,
a,5,llm,m,10.5,15.5,2000,0,100
a,6,tool,t,15.5,16.5,,,
b,1,llm,m,86400,86404,1000,0,100
b,2,tool,t,86404,86405,,,
b,3,llm,m,86405,86409.5,1500,0,100
b,4,tool,t,86409.5,86410.5,,,
b,5,llm,m,86410.5,86415.5,2000,0,100
b,6,tool,t,86415.5,86416.5,,,
""",
    )
    fitted = fit_workload(ts)
    assert (fitted.model, fitted.steps, fitted.prompt_tokens) == ("m", 3, 1_000)
    assert fitted.tool_calls_per_step == 1 and fitted.tool_latency_s == 1
    assert fitted.output_tokens_per_step == 100 and fitted.tool_result_tokens == 400
    assert fitted.cache_hit_rate == 0
    # ttft and output/decode cannot be told apart at a constant output: their sum is 3 s
    assert fitted.ttft_s + 100 / fitted.decode_tokens_per_s == pytest.approx(3)
    assert fitted.prefill_tokens_per_s == pytest.approx(1_000)
    assert fitted.step_overhead_s == 0  # 16.5 s of runtime: 13.5 s of calls, 3 s of tools
    assert fitted.tasks_per_month == 30  # 2 runs over 2 days, no outcomes: all completed


def test_calls_without_a_time_to_first_token_fit_ttft_zero(tmp_path):
    # No output; each call lasts exactly uncached / 1 000 s: 1, 1.5 and 2 s.
    ts = _csv(
        tmp_path,
        f"""
{HEADER}
a,1,llm,m,0,1,1000,0,0
a,2,llm,m,1,2.5,1500,0,0
a,3,llm,m,2.5,4.5,2000,0,0
""",
    )
    fitted = fit_workload(ts)
    assert fitted.ttft_s == 0
    assert fitted.prefill_tokens_per_s == pytest.approx(1_000)


def test_small_drops_of_context_are_not_taken_for_compaction(tmp_path):
    ts = _csv(
        tmp_path,
        f"""
{HEADER}
a,1,llm,m,0,1,1000,,10
a,2,llm,m,2,3,2000,,10
a,3,llm,m,4,5,1900,,10
a,4,llm,m,6,7,3000,,10
b,1,llm,m,8,9,1000,,10
b,2,llm,m,10,11,2000,,10
b,3,llm,m,12,13,3000,,10
b,4,llm,m,14,15,4000,,10
""",
    )
    fitted = fit_workload(ts)
    assert fitted.compaction_threshold > 4_000 + 4 * fitted.tokens_per_step


def test_a_file_without_times_keeps_the_default_timing_and_volume(tmp_path):
    ts = _csv(
        tmp_path,
        f"""
{HEADER}
a,1,llm,m,,,1000,500,10
a,2,tool,t,,,,,
""",
    )
    fitted = fit_workload(ts)
    default = Workload()
    assert (fitted.steps, fitted.tool_calls_per_step, fitted.prompt_tokens) == (1, 1.0, 1_000)
    assert fitted.ttft_s == default.ttft_s
    assert fitted.tasks_per_month == default.tasks_per_month
    assert fitted.step_overhead_s == default.step_overhead_s


def test_an_empty_file_gives_the_default_workload(tmp_path):
    fitted = fit_workload(_csv(tmp_path, HEADER))
    assert fitted.model_dump(exclude={"name"}) == Workload().model_dump(exclude={"name"})


_cell = st.one_of(st.none(), st.integers(0, 50_000))
_row = st.tuples(
    st.sampled_from(["r1", "r2", "r3"]),
    st.sampled_from(["", "", "s1"]),
    st.sampled_from(["llm", "llm", "tool", "snapshot", "other"]),
    st.sampled_from(["m", "m", "u", ""]),
    st.one_of(st.none(), st.integers(0, 200_000)),
    st.one_of(st.none(), st.integers(0, 200)),
    _cell,
    _cell,
    _cell,
    _cell,
    st.sampled_from(["", "true", "false"]),
)


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(_row, max_size=25))
def test_any_trace_file_fits_to_a_valid_workload(rows, tmp_path_factory):
    header = "run_id,agent_id,span_id,kind,name,start_time,end_time,input_tokens,"
    lines = [header + "cached_input_tokens,output_tokens,bytes,success"]
    outcome = {}
    for i, (run, agent, kind, name, start, length, x, cached, out, size, ok) in enumerate(rows):
        ok = outcome.setdefault(run, ok)  # one outcome per run
        end = None if start is None or length is None else start + length
        cached = None if x is None or cached is None else min(cached, x)
        cells = [run, agent, str(i), kind, name, start, end, x, cached, out, size, ok]
        lines.append(",".join("" if c is None else str(c) for c in cells))
    path = tmp_path_factory.mktemp("any") / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    fitted = fit_workload(load_traces(path))
    assert Workload.model_validate(fitted.model_dump()) == fitted
