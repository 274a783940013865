"""The workload estimate (SPEC §4, §5 `estimate`): one attempt priced by hand, volume, arrivals."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cost_model.arrivals import cold_starts, concurrency_averages, month_arrivals_s, peak_sessions
from cost_model.billing import COMPONENTS, peak_concurrency
from cost_model.cli import main
from cost_model.coldstart import count_cold_starts
from cost_model.estimate import (
    MONTH_H,
    crossovers,
    estimate,
    horizon_sweep,
    plan_crossings,
)
from cost_model.plans import parse_plan
from cost_model.workload import Workload, agent_steps, save_workload

# Three steps, a = 100 + 2·50 = 200: x = 1000, 1200, 1400; cached 200, 500, 600;
# uncached 800, 700, 800; output 100 each; LLM 11, 10, 11 s; tools 3 s; overhead 0.5 s.
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
    "tasks_per_month": 100,
    "success_rate": 0.5,
}
TOKENS = {"match": "*", "input_per_mtok": 1.0, "cached_input_per_mtok": 0.1, "output_per_mtok": 2}


def small(**changes) -> Workload:
    return Workload(**SMALL | changes)


def plan(**blocks):
    return parse_plan({"name": blocks.pop("name", "p")} | blocks, "test")


def per_attempt(workload, p) -> dict:
    """Each component of one plan per attempt (the month's cost / attempts)."""
    e = estimate(workload, [p])
    return {k: v / e["attempts_per_month"] for k, v in e["plans"][0]["components"].items()}


def test_tokens_with_cache_are_priced_by_hand():
    # (800 + 700 + 800)·1 + (200 + 500 + 600)·0.1 + 300·2 = 3030 per 10^6
    assert per_attempt(small(), plan(tokens=[TOKENS]))["tokens"] == pytest.approx(3030e-6)


def test_calls_over_the_long_context_threshold_take_its_rates_for_all_their_tokens():
    card = TOKENS | {"long_context": {"above_input_tokens": 1100, "input_per_mtok": 3}}
    # Step 1 at the card's rates: 800 + 20 + 200 = 1020; steps 2 and 3 (1200, 1400 > 1100)
    # 1500 uncached at 3, 1100 cached at 0.1 and 200 output at 2 (as the card): 5010.
    assert per_attempt(small(), plan(tokens=[card]))["tokens"] == pytest.approx(6030e-6)


def test_a_model_no_card_fits_costs_nothing_for_tokens():
    p = plan(tokens=[TOKENS | {"match": "gpt-*"}])
    assert per_attempt(small(), p)["tokens"] == 0


def test_the_first_card_that_fits_the_model_prices_it():
    cards = [TOKENS | {"match": "kimi-*", "output_per_mtok": 0}, TOKENS]
    assert per_attempt(small(), plan(tokens=cards))["tokens"] == pytest.approx(2430e-6)


def test_session_time_bills_the_runtime_rounded_up_to_the_granularity():
    # runtime 14.5 + 13.5 + 14.5 = 42.5 s → 50 s at granularity 10; × 0.01 × 2 units
    p = plan(session_time={"per_second": 0.01, "units": 2, "granularity_s": 10})
    assert per_attempt(small(), p)["session_time"] == pytest.approx(1.0)


def test_session_time_bills_at_least_the_minimum():
    p = plan(session_time={"per_second": 0.01, "granularity_s": 10, "minimum_s": 60})
    assert per_attempt(small(), p)["session_time"] == pytest.approx(0.6)


def test_active_time_bills_only_the_busy_time_of_its_kinds():
    tools = plan(active_time={"per_second": 0.1, "granularity_s": 1})
    both = plan(active_time={"per_second": 0.1, "kinds": ["llm", "tool"], "granularity_s": 4})
    assert per_attempt(small(), tools)["active_time"] == pytest.approx(0.9)  # 3 × 3 s
    assert per_attempt(small(), both)["active_time"] == pytest.approx(4.4)  # 41 s → 44 s


def test_active_time_of_kind_other_is_the_whole_session():
    p = plan(active_time={"per_second": 1, "kinds": ["other"]})
    assert per_attempt(small(), p)["active_time"] == pytest.approx(42.5)


def test_requests_count_calls_tool_calls_and_sessions():
    p = plan(requests={"per_llm_call": 0.001, "per_tool_call": 0.0001, "per_session": 0.01})
    assert per_attempt(small(), p)["requests"] == pytest.approx(0.003 + 0.0006 + 0.01)


def test_snapshots_pay_storage_egress_and_a_fee_each():
    w = small(snapshot_every_steps=2, snapshot_base_bytes=1e9, snapshot_bytes_per_token=1000)
    p = plan(
        snapshots={
            "storage_per_gb_month": 0.02,
            "retention_days": 15,
            "egress_per_gb": 0.1,
            "egress_fraction": 0.5,
            "per_snapshot": 0.001,
        }
    )
    # One snapshot after step 2 of 10^9 + 1000·1400 bytes = 1.0014 GB.
    gb = 1.0014
    expected = gb * 0.02 * 15 / 30 + gb * 0.5 * 0.1 + 0.001
    assert per_attempt(w, p)["snapshots"] == pytest.approx(expected)
    assert estimate(w, [p])["per_attempt"]["snapshot_bytes"] == pytest.approx(1.0014e9)


def test_compaction_lowers_the_tokens_of_later_steps():
    w = small(steps=5, context_limit=2000, compaction_at=0.7, compacted_tokens=1000)
    # x = 1000, 1200, 1400, 1000 (1600 > 1400), 1200; cached 200, 500, 600, 200, 500.
    # uncached 800 + 700 + 800 + 800 + 700 = 3800; cached 2000 → 200; output 500 → 1000.
    assert per_attempt(w, plan(tokens=[TOKENS]))["tokens"] == pytest.approx(5000e-6)


def test_sub_agents_are_sessions_of_their_own():
    w = small(subagents=2, subagent_steps=2, subagent_prompt_tokens=400)
    p = plan(requests={"per_llm_call": 1, "per_session": 100}, session_time={"per_second": 1})
    # A sub-agent: x = 400, 600; uncached 200, 400 → LLM 1 + 2 + 2 = 5 s and 7 s; steps
    # 8.5 s and 10.5 s: 19 s.
    e = estimate(w, [p])
    assert e["per_attempt"]["llm_calls"] == 3 + 2 * 2
    assert e["per_attempt"]["runtime_s_subagent"] == pytest.approx(19)
    assert per_attempt(w, p)["requests"] == pytest.approx(7 + 300)
    assert per_attempt(w, p)["session_time"] == pytest.approx(42.5 + 2 * 19)


def test_attempts_per_month_divide_tasks_by_the_success_rate():
    e = estimate(small(), [plan(tokens=[TOKENS])])
    assert e["tasks_per_month"] == 100 and e["attempts_per_month"] == 200
    row = e["plans"][0]
    assert row["per_month_usd"] == pytest.approx(200 * 3030e-6)
    assert row["per_attempt_usd"] == pytest.approx(3030e-6)
    assert row["per_completed_task_usd"] == pytest.approx(2 * 3030e-6)


def test_per_attempt_counts_what_one_attempt_uses():
    e = estimate(small(), [])
    assert e["per_attempt"] == {
        "llm_calls": 3,
        "tool_calls": 6,
        "input_tokens": 3600,
        "cached_input_tokens": 1300,
        "output_tokens": 300,
        "snapshot_bytes": 0,
        "runtime_s_main": 42.5,
        "runtime_s_subagent": None,
    }


def test_the_estimate_has_exactly_the_spec_keys():
    p = plan(tokens=[TOKENS], cold_start={"idle_timeout_s": 60}, capacity={"per_replica_hour": 1})
    e = estimate(small(), [p])
    assert list(e) == [
        "tasks_per_month",
        "attempts_per_month",
        "per_attempt",
        "concurrency",
        "plans",
    ]
    assert list(e["concurrency"]) == ["average", "peak"]
    row = e["plans"][0]
    assert list(row) == [
        "name",
        "per_attempt_usd",
        "per_completed_task_usd",
        "per_month_usd",
        "components",
        "cold_starts_per_month",
        "replicas",
    ]
    assert list(row["components"]) == list(COMPONENTS)
    json.dumps(e)


def test_absent_blocks_leave_cold_starts_and_replicas_unknown():
    row = estimate(small(), [plan(tokens=[TOKENS])])["plans"][0]
    assert row["cold_starts_per_month"] is None and row["replicas"] is None


def test_average_concurrency_is_spec_runtime_over_the_window_of_the_month():
    w = small(active_hours_per_day=10, subagents=1, subagent_steps=1, subagent_prompt_tokens=0)
    # 200 attempts; sessions of 42.5 s and 1 + 0 + 2 + 3 + 0.5 = 6.5 s; the window runs from
    # the first arrival to the end of the last one's main agent.
    t = month_arrivals_s(w)
    expected = 200 * (42.5 + 6.5) / (t[-1] + 42.5 - t[0])
    assert estimate(w, [])["concurrency"]["average"] == pytest.approx(expected)


def test_concurrency_averages_by_hand():
    # Attempts at 0, 5 and 100 s, each one session of 10 s and two of 4 s: 18 s each.
    # Window 0..110 s; sessions run during [0, 15) and [100, 110): 25 s.
    t = np.array([0.0, 5.0, 100.0])
    assert concurrency_averages(t, [(10.0, 1), (4.0, 2)]) == (54 / 110, 54 / 25)
    assert concurrency_averages(np.zeros(0), [(10.0, 1)]) == (None, None)


def test_peak_and_cold_starts_are_those_of_the_month_of_arrivals():
    w = small(tasks_per_month=3000, steps=40, subagents=2)
    p = plan(
        cold_start={"idle_timeout_s": 120, "duration_s": 10, "fee": 0.5},
        session_time={"per_second": 0.01},
    )
    e = estimate(w, [p])
    t = month_arrivals_s(w)
    runtimes = [
        (e["per_attempt"]["runtime_s_main"], 1),
        (e["per_attempt"]["runtime_s_subagent"], 2),
    ]
    cold = cold_starts(t, runtimes, 120, 0)
    assert e["concurrency"]["peak"] == peak_sessions(t, runtimes)
    assert e["plans"][0]["cold_starts_per_month"] == cold
    assert e["plans"][0]["components"]["cold_start"] == pytest.approx(cold * (10 * 0.01 + 0.5))


def test_month_arrivals_come_in_active_hours_at_the_attempt_rate():
    t = month_arrivals_s(small(tasks_per_month=7000, success_rate=0.7, active_hours_per_day=6))
    assert t.size == 10_000  # 7000 tasks ÷ 0.7: the expected count, without Poisson noise
    assert np.all(t % 86_400 < 6 * 3600) and np.all(np.diff(t) >= 0)


def month_window_h(w: Workload) -> float:
    """From the month's first arrival to the end of its last session (every session of an
    attempt starts at its arrival), as SPEC §3 bills a simulated month."""
    t = month_arrivals_s(w)
    return (t[-1] - t[0] + agent_steps(w).runtime_s) / 3600


def test_capacity_bills_auto_replicas_for_the_peak_over_the_months_window():
    w = small(tasks_per_month=3000, steps=40)
    p = plan(capacity={"per_replica_hour": 2, "sessions_per_replica": 2})
    e = estimate(w, [p])
    replicas = math.ceil(e["concurrency"]["peak"] / 2)
    assert e["plans"][0]["replicas"] == replicas
    window_h = month_window_h(w)
    assert MONTH_H - 24 < window_h < MONTH_H  # the last day's active hours end early
    assert e["plans"][0]["components"]["capacity"] == pytest.approx(replicas * 2 * window_h)


def test_the_tier_is_chosen_by_the_peak():
    w = small(tasks_per_month=3000, steps=40)
    peak = estimate(w, [])["concurrency"]["peak"]
    tiers = [
        {"max_concurrency": peak - 1, "monthly_fee": 10},
        {"max_concurrency": peak + 5, "monthly_fee": 300},
        {"max_concurrency": peak, "monthly_fee": 100},
    ]
    row = estimate(w, [plan(concurrency_tiers=tiers)])["plans"][0]
    assert row["components"]["concurrency_tier"] == pytest.approx(100 * month_window_h(w) / MONTH_H)


def test_no_tasks_have_no_window_to_bill_capacity_over():
    # An empty simulated month has no window, so SPEC §3 bills it no capacity.
    p = plan(tokens=[TOKENS], capacity={"per_replica_hour": 1, "replicas": 2})
    row = estimate(small(tasks_per_month=0), [p])["plans"][0]
    assert row["per_month_usd"] == 0.0
    assert row["per_attempt_usd"] == pytest.approx(3030e-6)
    assert row["per_completed_task_usd"] == pytest.approx(2 * 3030e-6)


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.integers(0, 4000), min_size=1, max_size=60),
    main_s=st.integers(1, 3000),
    sub_s=st.integers(1, 3000),
    subs=st.integers(0, 2),
    idle=st.sampled_from([0, 5, 60, 900, 5000]),
)
def test_vectorised_cold_starts_and_peak_follow_the_instance_rule(gaps, main_s, sub_s, subs, idle):
    t = np.cumsum(gaps).astype(float)
    runtimes = [(main_s, 1)] + ([(sub_s, subs)] if subs else [])
    starts = np.repeat(t, 1 + subs).astype(np.int64)
    ends = (
        np.concatenate([t[:, None] + main_s, np.repeat(t[:, None] + sub_s, subs, axis=1)], axis=1)
        .ravel()
        .astype(np.int64)
    )
    order = np.lexsort((ends, starts))
    exact = count_cold_starts(starts[order].tolist(), ends[order].tolist(), idle, 0)
    assert cold_starts(t, runtimes, idle, 0) == exact
    assert peak_sessions(t, runtimes) == peak_concurrency(starts, ends)


def test_warm_instances_use_the_instance_rule_itself():
    t = np.array([0.0, 10, 20, 1000, 1005])
    # Sessions of 100 s: [0,100) [10,110) [20,120) overlap (3 instances, 1 always warm: 2 cold),
    # then after 880 s idle only the warm instance is left: 1005 is cold again.
    assert cold_starts(t, [(100, 1)], 60, 1) == 3


def test_the_horizon_sweep_at_the_workloads_steps_equals_the_estimate():
    w = small(tasks_per_month=2000, steps=30)
    plans = [
        plan(name="tokens", tokens=[TOKENS]),
        plan(
            name="runtime",
            session_time={"per_second": 0.001},
            cold_start={"idle_timeout_s": 60, "duration_s": 30},
        ),
        plan(name="replicas", capacity={"per_replica_hour": 0.5}),
    ]
    sweep = horizon_sweep(w, plans, [1, 30, 10, 30])
    assert list(sweep.columns) == ["steps", "tokens", "runtime", "replicas"]
    assert sweep["steps"].tolist() == [1, 10, 30]
    at_30 = sweep.set_index("steps").loc[30]
    for row in estimate(w, plans)["plans"]:
        assert at_30[row["name"]] == pytest.approx(row["per_completed_task_usd"])


def test_token_cost_per_task_grows_with_steps():
    sweep = horizon_sweep(small(), [plan(tokens=[TOKENS])], range(1, 50))
    assert np.all(np.diff(sweep["p"]) > 0)


def test_crossovers_interpolate_where_the_cheapest_plan_changes():
    sweep = pd.DataFrame({"steps": [10, 20, 30], "a": [1.0, 3.0, 5.0], "b": [2.0, 2.0, 6.0]})
    # a − b: −1 at 10, +1 at 20: equal at 15 (cost 2); b − a: −1 at 20, +1 at 30: at 25.
    assert crossovers(sweep) == [
        {"steps": 15.0, "from_plan": "a", "to_plan": "b", "per_completed_task_usd": 2.0},
        {"steps": 25.0, "from_plan": "b", "to_plan": "a", "per_completed_task_usd": 4.0},
    ]


def test_every_crossing_of_two_lines_is_found_cheapest_or_not():
    sweep = pd.DataFrame(
        {"steps": [10, 20, 30], "a": [0.5, 0.5, 0.5], "b": [1.0, 3.0, 5.0], "c": [2.0, 2.0, 6.0]}
    )
    # a is cheapest throughout; b − c is −1 at 10 and +1 at 20 (cross at 15, cost 2), then
    # c − b is −1 at 20 and +1 at 30 (cross at 25, cost 4).
    assert crossovers(sweep) == []
    assert plan_crossings(sweep) == [
        {"steps": 15.0, "cheaper_plan": "c", "dearer_plan": "b", "per_completed_task_usd": 2.0},
        {"steps": 25.0, "cheaper_plan": "b", "dearer_plan": "c", "per_completed_task_usd": 4.0},
    ]


def test_lines_that_touch_without_crossing_do_not_cross():
    sweep = pd.DataFrame({"steps": [1, 2, 3], "a": [1.0, 2.0, 3.0], "b": [2.0, 2.0, 4.0]})
    assert plan_crossings(sweep) == []


def test_one_plan_has_no_crossover():
    assert crossovers(pd.DataFrame({"steps": [1, 2], "a": [1.0, 2.0]})) == []


def test_the_command_line_prints_the_estimate_as_json(tmp_path, capsys):
    save_workload(small(), tmp_path / "w.yaml")
    (tmp_path / "p.yaml").write_text("name: tok\ntokens:\n  - input_per_mtok: 1\n")
    assert (
        main(
            [
                "estimate",
                str(tmp_path / "w.yaml"),
                "--plan",
                str(tmp_path / "p.yaml"),
                "--format",
                "json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["plans"][0]["components"]["tokens"] == pytest.approx(200 * 3600e-6)


def test_the_command_line_rejects_a_bad_workload_with_exit_2(tmp_path, capsys):
    (tmp_path / "w.yaml").write_text("steps: -3\n")
    (tmp_path / "p.yaml").write_text("name: tok\n")
    assert main(["estimate", str(tmp_path / "w.yaml"), "--plan", str(tmp_path / "p.yaml")]) == 2
    assert "w.yaml: key 'steps' = -3" in capsys.readouterr().err


def test_a_fractional_tool_call_count_bills_the_expected_rounded_runtime():
    w = Workload(
        steps=2,
        prompt_tokens=0,
        system_prompt_tokens=0,
        output_tokens_per_step=0,
        tool_calls_per_step=0.5,
        tool_result_tokens=0,
        tool_latency_s=10,
        ttft_s=1,
        step_overhead_s=0,
        tasks_per_month=100,
        success_rate=1,
    )
    # 0, 1 or 2 tool calls in all (¼, ½, ¼): 2, 12 or 22 s, billed 15, 15 or 30 s at 15 s
    # granularity: 18.75 s on average, where the mean runtime of 12 s would bill 15 s.
    p = plan(
        session_time={"per_second": 1, "granularity_s": 15},
        active_time={"per_second": 100, "granularity_s": 15},
    )
    got = per_attempt(w, p)
    assert got["session_time"] == pytest.approx(18.75)
    # Tool time 0, 10 or 20 s: billed 0, 15 or 30 s: 15 s on average.
    assert got["active_time"] == pytest.approx(1500)


def test_a_sweep_over_many_arrivals_reads_them_at_some_points_and_interpolates(monkeypatch):
    import cost_model.estimate as estimate_module  # SWEEP_CELLS lives here

    w = small(tasks_per_month=2000, steps=30)
    p = plan(session_time={"per_second": 0.001}, cold_start={"idle_timeout_s": 60, "fee": 1})
    full = horizon_sweep(w, [p], range(1, 41))["p"].to_numpy()
    monkeypatch.setattr(estimate_module, "SWEEP_CELLS", 4 * month_arrivals_s(w).size)
    coarse = horizon_sweep(w, [p], range(1, 41))["p"].to_numpy()
    # Four points are exact (steps 1, 14, 27, 40); the rest lie between their neighbours.
    assert coarse[[0, 13, 26, 39]] == pytest.approx(full[[0, 13, 26, 39]])
    assert coarse == pytest.approx(full, rel=0.05)
