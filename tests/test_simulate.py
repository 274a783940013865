"""The simulator writes SPEC §1 traces whose spans are exactly the steps of `agent_steps`."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cost_model.errors import InputError
from cost_model.loader import load_traces
from cost_model.simulate import (
    EPOCH_US,
    LLM,
    ROOT,
    TOOL,
    arrivals_us,
    expected_spans,
    simulate_spans,
    simulate_to_csv,
    simulate_traces,
)
from cost_model.workload import Workload, agent_steps

DAY_US = 86_400_000_000

# Round numbers so that every token count and duration is exact: x1 = 10 000, a = 500 + 1·1 500.
SMALL = Workload(
    name="small",
    steps=6,
    prompt_tokens=10_000,
    system_prompt_tokens=4_000,
    output_tokens_per_step=500,
    tool_calls_per_step=1,
    tool_result_tokens=1_500,
    tool_latency_s=2,
    cache_hit_rate=0.5,
    ttft_s=1,
    prefill_tokens_per_s=1_000,
    decode_tokens_per_s=100,
    step_overhead_s=0.25,
    subagents=2,
    subagent_steps=3,
    subagent_prompt_tokens=2_000,
    subagent_model="small-model",
    snapshot_every_steps=2,
    snapshot_base_bytes=1_000,
    snapshot_bytes_per_token=2,
    tasks_per_month=300,
    success_rate=0.5,
    active_hours_per_day=6,
)


@pytest.fixture(scope="module")
def small_month(tmp_path_factory):
    path = tmp_path_factory.mktemp("sim") / "small.csv"
    summary = simulate_to_csv(SMALL, days=5, seed=7, path=path)
    return summary, load_traces(path)


def test_the_file_loads_without_a_problem(small_month):
    summary, ts = small_month
    assert ts.warnings == []
    assert ts.span_count == summary["spans"]


def test_each_run_has_one_session_per_agent_and_every_step_as_spans(small_month):
    summary, ts = small_month
    runs = summary["runs"]
    counts = dict(ts.sql("SELECT kind, count(*) FROM {t} GROUP BY kind"))
    assert ts.sql("SELECT count(DISTINCT run_id) FROM {t}")[0][0] == runs
    assert ts.sql("SELECT count(DISTINCT (run_id, agent_id)) FROM {t}")[0][0] == 3 * runs
    assert counts["other"] == 3 * runs  # one root per session
    assert counts["llm"] == runs * (6 + 2 * 3)
    assert counts["tool"] == runs * (6 + 2 * 3)  # exactly one call per step
    assert counts["snapshot"] == runs * (3 + 2 * 1)  # after steps 2, 4, 6 and each sub-agent's 2
    assert summary["llm_spans"] == counts["llm"] and summary["snapshot_spans"] == runs * 5


def test_main_agent_tokens_per_step_equal_agent_steps(small_month):
    _, ts = small_month
    run = ts.sql("SELECT min(run_id) FROM {t}")[0][0]
    rows = ts.sql(
        "SELECT input_tokens, cached_input_tokens, output_tokens, name FROM {t} "
        "WHERE run_id = ? AND agent_id = '' AND kind = 'llm' ORDER BY start_us",
        [run],
    )
    steps = agent_steps(SMALL, "main")
    # x = 10 000 + 2 000·i; cached = 0.5·4 000 first, then 0.5·(x − 2 000)
    assert [r[0] for r in rows] == [10_000, 12_000, 14_000, 16_000, 18_000, 20_000]
    assert [r[1] for r in rows] == [2_000, 5_000, 6_000, 7_000, 8_000, 9_000]
    assert [r[0] for r in rows] == steps.input_tokens.tolist()
    assert [r[1] for r in rows] == steps.cached_input_tokens.tolist()
    assert [r[2] for r in rows] == steps.output_tokens.tolist()
    assert {r[3] for r in rows} == {SMALL.model}


def test_sub_agent_tokens_and_model_follow_agent_steps(small_month):
    _, ts = small_month
    rows = ts.sql(
        "SELECT agent_id, list(input_tokens ORDER BY start_us), list(DISTINCT name) FROM {t} "
        "WHERE kind = 'llm' AND agent_id <> '' AND run_id = (SELECT min(run_id) FROM {t}) "
        "GROUP BY agent_id ORDER BY agent_id"
    )
    assert [r[0] for r in rows] == ["sub-1", "sub-2"]
    for _, tokens, names in rows:
        assert tokens == [2_000, 4_000, 6_000]
        assert names == ["small-model"]


def test_durations_are_the_step_model_to_the_microsecond(small_month):
    _, ts = small_month
    # step 1: 1 + (10 000 − 2 000)/1 000 + 500/100 = 14 s call, 2 s tool, 0.25 s harness
    first = ts.sql(
        "SELECT kind, end_us - start_us FROM {t} WHERE run_id = (SELECT min(run_id) FROM {t}) "
        "AND agent_id = '' AND span_id LIKE 'main/s0001/%' ORDER BY start_us, kind"
    )
    assert first == [("llm", 14_000_000), ("tool", 2_000_000)]
    runtime = ts.sql(
        "SELECT DISTINCT max(end_us) - min(start_us) FROM {t} WHERE agent_id = '' GROUP BY run_id"
    )
    assert runtime == [(round(agent_steps(SMALL, "main").runtime_s * 1e6),)]


def test_steps_follow_one_another_with_the_harness_overhead_between(small_month):
    _, ts = small_month
    gaps = ts.sql(
        "SELECT DISTINCT start_us - lag(end_us) OVER (PARTITION BY run_id, agent_id "
        "ORDER BY start_us, kind) AS gap FROM {t} WHERE kind IN ('llm', 'tool') "
        "QUALIFY gap IS NOT NULL AND span_id LIKE '%/llm'"
    )
    assert gaps == [(250_000,)]


def test_snapshots_take_no_time_and_carry_the_context_after_their_step(small_month):
    _, ts = small_month
    rows = ts.sql(
        "SELECT span_id, end_us - start_us, bytes FROM {t} WHERE kind = 'snapshot' "
        "AND agent_id = '' AND run_id = (SELECT min(run_id) FROM {t}) ORDER BY start_us"
    )
    # after step 2 the context is 14 000 tokens: 1 000 + 2·14 000 bytes
    assert rows == [
        ("main/s0002/snapshot", 0, 29_000),
        ("main/s0004/snapshot", 0, 37_000),
        ("main/s0006/snapshot", 0, 45_000),
    ]


def test_attempts_arrive_only_in_the_first_active_hours_of_each_day(small_month):
    summary, ts = small_month
    offsets = [r[0] for r in ts.sql("SELECT min(start_us) FROM {t} GROUP BY run_id")]
    days = [(o - EPOCH_US) // DAY_US for o in offsets]
    hours = [((o - EPOCH_US) % DAY_US) / 3.6e9 for o in offsets]
    assert min(days) >= 0 and max(days) <= 4
    assert max(hours) < 6
    # 300 tasks / 0.5 success = 600 attempts per 30 days: 20 a day, 100 in 5 days (σ = 10)
    assert 60 <= summary["runs"] <= 140


def test_arrival_counts_per_day_are_poisson():
    arrivals = arrivals_us(SMALL, 300, np.random.default_rng(3))
    per_day = np.bincount((arrivals - EPOCH_US) // DAY_US, minlength=300)
    assert per_day.size == 300
    assert per_day.mean() == pytest.approx(20, rel=0.05)
    assert per_day.var() == pytest.approx(20, rel=0.3)  # Poisson: variance = mean
    assert np.all(np.diff(arrivals) >= 0)


def test_every_row_of_a_run_carries_its_outcome_and_the_rate_is_kept(small_month):
    summary, ts = small_month
    mixed = ts.sql(
        "SELECT count(*) FROM (SELECT run_id FROM {t} GROUP BY run_id "
        "HAVING count(DISTINCT success) <> 1 OR count(success) <> count(*))"
    )
    assert mixed == [(0,)]
    completed = ts.sql("SELECT count(DISTINCT run_id) FROM {t} WHERE success")[0][0]
    assert completed == summary["completed"]
    assert 0.3 < completed / summary["runs"] < 0.7


def test_the_same_seed_writes_the_same_file_and_another_seed_does_not(tmp_path):
    paths = [tmp_path / f"{i}.csv" for i in range(3)]
    for path, seed in zip(paths, (11, 11, 12)):
        simulate_to_csv(SMALL, days=2, seed=seed, path=path)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_fractional_tool_calls_become_floor_or_ceiling_with_mean_k():
    workload = SMALL.model_copy(update={"tool_calls_per_step": 1.3, "steps": 50, "subagents": 0})
    table = simulate_traces(workload, days=10, seed=5)
    kinds = np.array(table["kind"].to_pylist())
    steps = [
        s.rsplit("/", 1)[0] for s, k in zip(table["span_id"].to_pylist(), kinds) if k == "tool"
    ]
    per_step = np.unique(
        np.array(
            [
                f"{r}:{s}"
                for r, s in zip(np.array(table["run_id"].to_pylist())[kinds == "tool"], steps)
            ]
        ),
        return_counts=True,
    )[1]
    llm_calls = int((kinds == "llm").sum())
    assert set(per_step.tolist()) == {1, 2}
    assert len(per_step) == llm_calls  # every step has at least one call
    assert per_step.sum() / llm_calls == pytest.approx(1.3, abs=0.03)


def test_random_durations_vary_but_keep_their_mean():
    workload = SMALL.model_copy(update={"subagents": 0, "steps": 20})
    table = simulate_traces(workload, days=5, seed=9, rng_durations=True)
    ts_ = np.array([np.datetime64(t[:-1]) for t in table["start_time"].to_pylist()])
    te = np.array([np.datetime64(t[:-1]) for t in table["end_time"].to_pylist()])
    kinds = np.array(table["kind"].to_pylist())
    tool_s = (te - ts_)[kinds == "tool"].astype("timedelta64[us]").astype(float) / 1e6
    assert tool_s.std() > 0.5
    assert tool_s.mean() == pytest.approx(2.0, rel=0.05)


def test_no_tasks_write_a_header_only_file_that_loads_as_empty(tmp_path):
    path = tmp_path / "none.csv"
    summary = simulate_to_csv(
        SMALL.model_copy(update={"tasks_per_month": 0}), days=3, seed=1, path=path
    )
    assert summary["runs"] == 0 and summary["spans"] == 0
    assert load_traces(path).span_count == 0


@settings(max_examples=30, deadline=None)
@given(
    steps=st.integers(1, 8),
    subagents=st.integers(0, 2),
    subagent_steps=st.integers(1, 4),
    tool_calls=st.floats(0, 2.5),
    every=st.integers(0, 3),
    compaction_at=st.floats(0.2, 1),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_session_is_its_agent_steps(
    steps, subagents, subagent_steps, tool_calls, every, compaction_at, seed
):
    workload = SMALL.model_copy(
        update={
            "steps": steps,
            "subagents": subagents,
            "subagent_steps": subagent_steps,
            "tool_calls_per_step": tool_calls,
            "snapshot_every_steps": every,
            "context_limit": 30_000,
            "compaction_at": compaction_at,
            "compacted_tokens": 5_000,
            "tasks_per_month": 45,
        }
    )
    t = simulate_spans(workload, days=2, seed=seed).to_pandas()
    runs = int(((t["kind"] == ROOT) & (t["agent"] == 0)).sum())
    llm = t[t["kind"] == LLM]
    assert len(llm) == runs * (steps + subagents * subagent_steps)
    for (_, agent), spans in llm.groupby(["run", "agent"]):
        expected = agent_steps(workload, "main" if agent == 0 else "subagent")
        assert spans["input_tokens"].tolist() == np.rint(expected.input_tokens).tolist()
        assert (
            spans["cached_input_tokens"].tolist() == np.rint(expected.cached_input_tokens).tolist()
        )
    calls = t[t["kind"] == TOOL].groupby(["run", "agent", "step"]).size()
    assert set(calls.tolist()) <= {int(np.floor(tool_calls)), int(np.ceil(tool_calls))}
    # within a session, the llm and tool spans follow one another without overlap
    work = t[t["kind"].isin([LLM, TOOL])].sort_values(["run", "agent", "start_us", "kind"])
    same = (work["run"].to_numpy()[1:] == work["run"].to_numpy()[:-1]) & (
        work["agent"].to_numpy()[1:] == work["agent"].to_numpy()[:-1]
    )
    assert np.all(work["start_us"].to_numpy()[1:][same] >= work["end_us"].to_numpy()[:-1][same])


def test_a_negative_period_or_seed_or_a_huge_volume_is_refused_with_a_message(tmp_path):
    with pytest.raises(InputError) as err:
        simulate_to_csv(SMALL, days=-1, seed=-2, path=tmp_path / "x.csv")
    assert err.value.problems == [
        "--days is -1; it must be 0 or more.",
        "--seed is -2; it must be 0 or more.",
    ]
    huge = SMALL.model_copy(update={"tasks_per_month": 100_000, "steps": 400})
    with pytest.raises(InputError, match="simulate fewer days"):
        simulate_to_csv(huge, days=30, seed=1, path=tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_the_expected_span_count_is_counted_by_hand():
    # 600 attempts a month: 20 a day. Main: 1 root + 6·(1 + 1) + 3 snapshots = 16;
    # each sub-agent: 1 + 3·2 + 1 = 8. So 32 spans an attempt, 640 a day.
    assert expected_spans(SMALL, 1) == pytest.approx(640)
