"""Billing of traces under plans (SPEC §3): every component, costs computed by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cost_model.billing import (
    COMPONENTS,
    billed_us,
    peak_concurrency,
    price,
    price_frame,
    recorded_cost_usd,
)
from cost_model.cli import main
from cost_model.loader import load_traces
from cost_model.plans import parse_plan

COLUMNS = (
    "run_id,span_id,agent_id,kind,name,start_time,end_time,input_tokens,"
    "cached_input_tokens,cache_write_tokens,output_tokens,bytes,cost_usd,success"
)
HOUR = 3600
DAY = 86_400


def span(
    run,
    sid,
    kind="other",
    start="",
    end="",
    agent="",
    name="",
    inp="",
    cached="",
    write="",
    out="",
    size="",
    cost="",
    success="",
):
    """One CSV row; times are Unix epoch seconds."""
    fields = (run, sid, agent, kind, name, start, end, inp, cached, write, out, size, cost, success)
    return ",".join(str(f) for f in fields)


def session(run, start, end, agent=""):
    """A session of one `other` span from start to end (seconds)."""
    return span(run, f"{run}-{agent}-s", start=start, end=end, agent=agent)


@pytest.fixture
def traces(tmp_path):
    def make(*rows, header=COLUMNS):
        path = tmp_path / "t.csv"
        path.write_text("\n".join([header, *rows]) + "\n")
        return load_traces(path)

    return make


def plan(**blocks):
    return parse_plan({"name": "p", **blocks}, "test plan")


def bill(ts, **blocks) -> dict:
    return price(ts, [plan(**blocks)])[0]


# bill(x) on whole microseconds


def test_billed_us_rounds_each_duration_up_to_the_granularity():
    assert billed_us(np.array([0, 1, 1_000_000, 1_000_001]), 1, 0) == 4_000_000


def test_billed_us_with_granularity_zero_is_exact_above_the_minimum():
    assert billed_us(np.array([1, 2_500_000]), 0, 1) == 1_000_000 + 2_500_000


def test_billed_us_with_a_millisecond_granularity_has_no_float_error():
    # 0.001 s is not exact in binary; on whole µs, 1501 µs bills exactly 2000 µs.
    assert billed_us(np.array([1_501, 2_000, 3_000_001]), 0.001, 0) == 2_000 + 2_000 + 3_001_000


def test_billed_us_minimum_beats_granularity_for_short_sessions():
    assert billed_us(np.array([100, 61_000_000]), 60, 90) == 90_000_000 + 120_000_000


# session_time


def test_session_time_bills_rounded_runtime_of_each_session_times_units(traces):
    ts = traces(session("a", 0, 2.5), session("b", 10, 10.2), session("c", 20, 20))
    cost = bill(ts, session_time={"per_second": 0.5, "units": 2, "granularity_s": 1})
    # 3 s + 1 s + 0 s, at 0.5 $/s for 2 units
    assert cost["components"]["session_time"] == pytest.approx(4.0)


def test_session_time_minimum_applies_to_each_session_also_zero_length(traces):
    ts = traces(session("a", 0, 5), session("b", 10, 10.2), session("c", 20, 20))
    cost = bill(ts, session_time={"per_second": 1, "minimum_s": 1})
    assert cost["components"]["session_time"] == pytest.approx(5 + 1 + 1)


def test_session_time_with_granularity_zero_bills_exact_microseconds(traces):
    ts = traces(session("a", 0, 1.000001))
    cost = bill(ts, session_time={"per_second": 1_000_000})
    assert cost["components"]["session_time"] == pytest.approx(1_000_001)


def test_session_runtime_spans_all_known_instants_of_its_agent(traces):
    ts = traces(
        span("r", "1", start=0, end=4, agent="sub"),
        span("r", "2", start=6, agent="sub"),  # one time known: counts for the extent
        span("r", "3", start=0, end=1),
    )
    cost = bill(ts, session_time={"per_second": 1})
    assert cost["components"]["session_time"] == pytest.approx(6 + 1)


def test_untimed_sessions_are_left_out_of_time_billing_with_a_warning(traces):
    ts = traces(session("a", 0, 3), span("b", "x", kind="tool"))
    cost = bill(ts, session_time={"per_second": 1, "minimum_s": 10})
    assert cost["components"]["session_time"] == pytest.approx(10)
    assert cost["warnings"] == [
        "1 session with no known time is left out of session_time, active_time and cold starts."
    ]


# active_time


def test_active_time_bills_the_union_of_tool_spans_by_default(traces):
    ts = traces(
        span("a", "t1", "tool", 0, 2),
        span("a", "t2", "tool", 1, 3),
        span("a", "l1", "llm", 3, 5),
        span("a", "o", "other", 0, 100),
    )
    cost = bill(ts, active_time={"per_second": 1})
    assert cost["components"]["active_time"] == pytest.approx(3)


def test_active_time_kinds_choose_which_spans_count(traces):
    ts = traces(span("a", "t1", "tool", 0, 2), span("a", "l1", "llm", 3, 5.5))
    cost = bill(ts, active_time={"per_second": 1, "kinds": ["llm", "TOOL"], "granularity_s": 1})
    assert cost["components"]["active_time"] == pytest.approx(2 + 3)


def test_active_time_minimum_applies_to_a_session_without_those_kinds(traces):
    ts = traces(span("a", "t1", "tool", 0, 2), span("b", "l1", "llm", 0, 5))
    cost = bill(ts, active_time={"per_second": 0.5, "units": 4, "minimum_s": 1})
    assert cost["components"]["active_time"] == pytest.approx((2 + 1) * 0.5 * 4)


def test_plans_with_different_active_kinds_price_in_one_call(traces):
    ts = traces(span("a", "t1", "tool", 0, 2), span("a", "l1", "llm", 3, 7))
    tool = plan(active_time={"per_second": 1})
    llm = parse_plan({"name": "llm", "active_time": {"per_second": 1, "kinds": ["llm"]}}, "x")
    results = price(ts, [tool, llm])
    assert [r["components"]["active_time"] for r in results] == [2.0, 4.0]


# tokens


def test_cached_and_cache_write_tokens_bill_at_their_own_rates(traces):
    ts = traces(span("a", "1", "llm", name="m", inp=1000, cached=600, write=100, out=50))
    card = {
        "input_per_mtok": 1,
        "cached_input_per_mtok": 0.1,
        "cache_write_per_mtok": 1.25,
        "output_per_mtok": 4,
    }
    cost = bill(ts, tokens=[card])
    # (300 uncached · 1 + 600 · 0.1 + 100 · 1.25 + 50 · 4) / 10^6
    assert cost["components"]["tokens"] == pytest.approx(685e-6)


def test_cached_rates_default_to_the_input_rate(traces):
    ts = traces(span("a", "1", "llm", inp=1000, cached=600, write=100, out=10))
    cost = bill(ts, tokens=[{"input_per_mtok": 2, "output_per_mtok": 10}])
    assert cost["components"]["tokens"] == pytest.approx((1000 * 2 + 10 * 10) / 1e6)


def test_the_first_matching_card_prices_a_span(traces):
    ts = traces(
        span("a", "1", "llm", name="kimi-k2.6", inp=10**6),
        span("a", "2", "llm", name="moonshot/kimi/k2", inp=10**6),
        span("a", "3", "llm", name="Kimi-k2", inp=10**6),
        span("a", "4", "llm", inp=10**6),
    )
    cards = [
        {"match": "kimi-*", "input_per_mtok": 1},
        {"match": "moonshot*k2", "input_per_mtok": 10},  # * also matches /
        {"match": "kimi-k2.6", "input_per_mtok": 1000},  # never reached: kimi-* comes first
        {"match": "*", "input_per_mtok": 100},  # case-sensitive: Kimi-k2 and no name end here
    ]
    cost = bill(ts, tokens=cards)
    assert cost["components"]["tokens"] == pytest.approx(1 + 10 + 100 + 100)
    assert cost["unpriced_llm_calls"] == 0


def test_a_span_without_a_name_fits_only_the_star_pattern(traces):
    ts = traces(span("a", "1", "llm", inp=10**6), span("a", "2", "llm", name="gpt", inp=10**6))
    cards = [{"match": "**", "input_per_mtok": 1}, {"match": "g*", "input_per_mtok": 5}]
    cost = bill(ts, tokens=cards)
    assert cost["components"]["tokens"] == pytest.approx(1)
    assert cost["unpriced_llm_calls"] == 1
    assert cost["warnings"] == [
        "1 llm span matches no rate card of this plan and costs nothing for tokens."
    ]


def test_spans_no_card_fits_are_unpriced_counted_and_warned(traces):
    ts = traces(
        span("a", "1", "llm", name="kimi-k2", out=10**6),
        span("a", "2", "llm", name="gpt-5", out=10**6),
        span("a", "3", "llm", out=10**6),
    )
    cost = bill(ts, tokens=[{"match": "kimi-*", "output_per_mtok": 4}])
    assert cost["components"]["tokens"] == pytest.approx(4)
    assert cost["unpriced_llm_calls"] == 2
    assert cost["warnings"] == [
        "2 llm spans match no rate card of this plan and cost nothing for tokens."
    ]


def test_no_tokens_block_prices_nothing_and_leaves_nothing_unpriced(traces):
    ts = traces(span("a", "1", "llm", name="m", inp=100), span("a", "2", "llm"))
    cost = bill(ts)
    assert cost["components"]["tokens"] == 0.0
    assert cost["unpriced_llm_calls"] == 0
    assert cost["warnings"] == []


def test_an_empty_tokens_list_leaves_every_llm_span_unpriced(traces):
    ts = traces(
        span("a", "1", "llm", name="m", inp=100),
        span("a", "2", "llm"),
        span("a", "3", "tool", inp=5),
    )
    cost = bill(ts, tokens=[])
    assert cost["components"]["tokens"] == 0.0
    assert cost["unpriced_llm_calls"] == 2


def test_long_context_starts_one_token_above_the_threshold(traces):
    ts = traces(
        span("a", "at", "llm", inp=1000, out=1000),
        span("a", "above", "llm", inp=1001, cached=1, out=1000),
    )
    card = {
        "input_per_mtok": 1,
        "cached_input_per_mtok": 0.5,
        "output_per_mtok": 2,
        "long_context": {
            "above_input_tokens": 1000,
            "input_per_mtok": 10,
            "cached_input_per_mtok": 5,
        },
    }
    cost = bill(ts, tokens=[card])
    at = 1000 * 1 + 1000 * 2
    above = 1000 * 10 + 1 * 5 + 1000 * 2  # output rate left out: the card's own
    assert cost["components"]["tokens"] == pytest.approx((at + above) / 1e6)


def test_cards_with_different_thresholds_each_use_their_own(traces):
    ts = traces(span("a", "1", "llm", name="x", inp=150), span("a", "2", "llm", name="y", inp=150))
    cards = [
        {
            "match": "x",
            "input_per_mtok": 1,
            "long_context": {"above_input_tokens": 100, "input_per_mtok": 3},
        },
        {
            "match": "y",
            "input_per_mtok": 1,
            "long_context": {"above_input_tokens": 200, "input_per_mtok": 3},
        },
    ]
    cost = bill(ts, tokens=cards)
    assert cost["components"]["tokens"] == pytest.approx((150 * 3 + 150 * 1) / 1e6)


def test_unknown_token_counts_count_as_zero_and_are_warned(traces):
    ts = traces(
        span("a", "1", "llm", out=10**6), span("a", "2", "llm"), span("a", "3", "tool", inp=10**6)
    )
    cost = bill(ts, tokens=[{"input_per_mtok": 1, "output_per_mtok": 3}])
    assert cost["components"]["tokens"] == pytest.approx(3)
    assert cost["warnings"] == ["1 llm span without token counts counts as 0 tokens."]


# requests


def test_requests_count_every_span_and_session_timed_or_not(traces):
    ts = traces(
        span("a", "1", "llm", 0, 1),
        span("a", "2", "llm"),
        span("a", "3", "tool"),
        span("b", "1", "tool", agent="sub"),
        span("b", "2", "tool"),
        span("b", "3", "other"),
    )
    cost = bill(ts, requests={"per_llm_call": 0.1, "per_tool_call": 0.01, "per_session": 1})
    assert cost["components"]["requests"] == pytest.approx(2 * 0.1 + 3 * 0.01 + 3 * 1)


# cold_start


def test_an_instance_stays_warm_for_exactly_the_idle_timeout(traces):
    ts = traces(
        session("a", 0, 10), session("b", 15, 20), session("c", 40, 50), session("d", 60, 70)
    )
    cost = bill(
        ts,
        cold_start={"idle_timeout_s": 10, "duration_s": 20, "fee": 0.5},
        session_time={"per_second": 0.01, "units": 2},
    )
    # a cold; b 5 s after a; c 20 s after b: cold; d exactly 10 s after c: warm
    assert cost["cold_starts"] == 2
    assert cost["components"]["cold_start"] == pytest.approx(2 * (20 * 0.01 * 2 + 0.5))


def test_overlapping_sessions_each_need_an_instance(traces):
    ts = traces(session("a", 0, 10), session("b", 5, 15), session("c", 10, 12))
    cost = bill(ts, cold_start={"idle_timeout_s": 100, "fee": 1})
    assert cost["cold_starts"] == 2  # c takes a's instance, freed at 10
    assert cost["components"]["cold_start"] == 2.0


def test_the_most_recently_freed_instance_is_taken(traces):
    # c takes b's instance (freed 12), so a's (freed 10) goes cold before d and e start.
    ts = traces(
        session("a", 0, 10),
        session("b", 0, 12),
        session("c", 15, 16),
        session("d", 21, 22),
        session("e", 21, 22, agent="x"),
    )
    cost = bill(ts, cold_start={"idle_timeout_s": 10})
    assert cost["cold_starts"] == 3


def test_always_warm_instances_never_go_cold(traces):
    ts = traces(
        session("a", 0, 10),
        session("b", 5, 15),
        session("c", 1000, 1010),
        session("d", 1000, 1010, agent="x"),
    )
    cost = bill(ts, cold_start={"idle_timeout_s": 10, "warm_instances": 1, "fee": 1})
    # a: warm; b: cold (the warm one is busy); c: warm again; d: b's went cold at 25
    assert cost["cold_starts"] == 2


def test_cold_starts_without_session_time_cost_only_the_fee(traces):
    ts = traces(session("a", 0, 10))
    cost = bill(ts, cold_start={"duration_s": 30, "fee": 0.25})
    assert cost["components"]["cold_start"] == 0.25


# capacity and concurrency tiers


def test_auto_replicas_cover_peak_concurrency_for_the_window(traces):
    ts = traces(session("a", 0, 3600), session("b", 1800, 7200), session("c", 3599, 3601))
    cost = bill(ts, capacity={"per_replica_hour": 10, "sessions_per_replica": 2})
    assert cost["replicas"] == 2  # peak 3 at 3599 s
    assert cost["components"]["capacity"] == pytest.approx(2 * 10 * 2)


def test_a_session_that_ends_when_another_starts_does_not_overlap_it(traces):
    ts = traces(session("a", 0, 3600), session("b", 3600, 7200))
    cost = bill(ts, capacity={"per_replica_hour": 1})
    assert cost["replicas"] == 1


def test_fixed_replicas_bill_their_number_and_warn_when_too_few(traces):
    ts = traces(session("a", 0, 2 * HOUR), session("b", 0, 2 * HOUR), session("c", 0, HOUR))
    cost = bill(ts, capacity={"per_replica_hour": 10, "replicas": 1})
    assert cost["replicas"] == 1
    assert cost["components"]["capacity"] == pytest.approx(20)
    assert cost["warnings"] == [
        "Peak concurrency 3 needs 3 replicas at 1 session each; the plan bills 1."
    ]


def test_the_smallest_tier_that_fits_is_billed_whatever_the_file_order(traces):
    ts = traces(*[session(f"r{i}", 0, 3 * DAY) for i in range(12)])
    tiers = [
        {"max_concurrency": 50, "monthly_fee": 250},
        {"max_concurrency": 10, "monthly_fee": 0},
        {"max_concurrency": 12, "monthly_fee": 100},
    ]
    cost = bill(ts, concurrency_tiers=tiers)
    assert cost["components"]["concurrency_tier"] == pytest.approx(100 * 3 / 30)
    assert cost["warnings"] == []


def test_peak_above_every_tier_bills_the_largest_with_a_warning(traces):
    ts = traces(*[session(f"r{i}", 0, 6 * DAY) for i in range(3)])
    tiers = [{"max_concurrency": 2, "monthly_fee": 20}, {"max_concurrency": 1, "monthly_fee": 10}]
    cost = bill(ts, concurrency_tiers=tiers)
    assert cost["components"]["concurrency_tier"] == pytest.approx(20 * 6 / 30)
    assert cost["warnings"] == [
        (
            "Peak concurrency 3 exceeds every concurrency tier; billed at the largest "
            "(max_concurrency 2, $20 a month)."
        )
    ]


def test_peak_concurrency_counts_no_zero_length_extent():
    assert peak_concurrency(np.array([0, 5, 5]), np.array([10, 5, 6])) == 2
    assert peak_concurrency(np.array([]), np.array([])) == 0


# snapshots


def test_snapshots_bill_storage_egress_and_writes(traces):
    ts = traces(
        span("a", "1", "snapshot", size=2 * 10**9),
        span("a", "2", "snapshot"),
        span("a", "3", "tool", size=10**12),
    )
    block = {
        "storage_per_gb_month": 0.02,
        "retention_days": 15,
        "egress_per_gb": 0.01,
        "egress_fraction": 0.5,
        "per_snapshot": 0.001,
    }
    cost = bill(ts, snapshots=block)
    storage = 2 * 0.02 * 15 / 30
    egress = 2 * 0.5 * 0.01
    assert cost["components"]["snapshots"] == pytest.approx(storage + egress + 2 * 0.001)


def test_snapshot_defaults_keep_a_month_and_read_everything_back(traces):
    ts = traces(span("a", "1", "snapshot", size=10**9))
    cost = bill(ts, snapshots={"storage_per_gb_month": 1, "egress_per_gb": 1})
    assert cost["components"]["snapshots"] == pytest.approx(2)


# results


def test_absent_blocks_cost_zero_and_have_no_counts(traces):
    cost = bill(traces(session("a", 0, 10)))
    assert cost["components"] == dict.fromkeys(COMPONENTS, 0.0)
    assert cost["cold_starts"] is None and cost["replicas"] is None
    assert cost["total_usd"] == 0.0


def test_total_is_the_sum_of_components_per_run_and_per_completed_task(traces):
    ts = traces(
        span("a", "1", "tool", 0, 1, success="true"),
        span("b", "1", "tool", 0, 1, success="false"),
        span("c", "1", "tool", 0, 1),
        span("d", "1", "tool", 0, 1, success="true"),
        span("d", "2", "tool", 1, 2),
    )
    cost = bill(ts, requests={"per_tool_call": 1}, session_time={"per_second": 1})
    assert cost["total_usd"] == pytest.approx(5 + 5)
    assert cost["per_run_usd"] == pytest.approx(10 / 4)
    assert cost["completed_runs"] == 2
    assert cost["per_completed_task_usd"] == pytest.approx(10 / 2)


def test_per_completed_task_is_undefined_without_a_completed_run(traces):
    ts = traces(span("a", "1", "tool", success="false"), span("b", "1", "tool"))
    cost = bill(ts, requests={"per_tool_call": 1})
    assert cost["completed_runs"] == 0
    assert cost["per_completed_task_usd"] is None
    assert cost["per_run_usd"] == 1.0


def test_every_run_completes_when_no_run_has_a_success_value(traces):
    ts = traces("a,1,tool", "b,1,tool", header="run_id,span_id,kind")
    cost = bill(ts, requests={"per_tool_call": 1})
    assert cost["completed_runs"] == 2
    assert cost["per_completed_task_usd"] == 1.0


def test_a_filter_to_runs_without_an_outcome_leaves_no_completed_task(traces):
    ts = traces(span("a", "1", "tool", success="true"), span("b", "1", "tool"))
    cost = bill(ts.filter({"run_id": "b"}), requests={"per_tool_call": 1})
    assert cost["completed_runs"] == 0 and cost["per_completed_task_usd"] is None


def test_an_empty_data_set_has_no_per_run_cost(traces):
    cost = bill(
        traces(),
        capacity={"per_replica_hour": 1},
        concurrency_tiers=[{"max_concurrency": 0, "monthly_fee": 5}],
    )
    assert cost["total_usd"] == 0.0
    assert cost["per_run_usd"] is None and cost["per_completed_task_usd"] is None
    assert cost["replicas"] == 0


def test_price_frame_has_a_row_per_plan_with_recorded_cost(traces):
    ts = traces(span("a", "1", "llm", out=10**6, cost=0.5), span("a", "2", "tool", cost=0.25))
    results = price(ts, [plan(tokens=[{"output_per_mtok": 2}]), plan(cold_start={})])
    frame = price_frame(results, recorded_cost_usd(ts))
    assert list(frame["total_usd"]) == [2.0, 0.0]
    assert list(frame["recorded_usd"]) == [0.75, 0.75]
    assert [f"{c}_usd" in frame for c in COMPONENTS] == [True] * len(COMPONENTS)
    assert frame["cold_starts"].isna().tolist() == [True, False]
    assert frame["cold_starts"][1] == 0  # the spans have no times


def test_recorded_cost_is_unknown_when_no_span_has_one(traces):
    assert recorded_cost_usd(traces(span("a", "1", "tool"))) is None


# command line


def test_price_command_prints_the_json_keys_of_the_spec(traces, tmp_path, capsys):
    traces(session("a", 0, 10))
    plan_path = tmp_path / "p.yaml"
    plan_path.write_text("name: P\nsession_time:\n  per_second: 0.1\ncold_start: {}\n")
    code = main(["price", str(tmp_path / "t.csv"), "--plan", str(plan_path), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    (result,) = out["plans"]
    assert set(result) == {
        "name",
        "total_usd",
        "per_run_usd",
        "per_completed_task_usd",
        "completed_runs",
        "components",
        "cold_starts",
        "replicas",
        "unpriced_llm_calls",
        "warnings",
    }
    assert list(result["components"]) == list(COMPONENTS)
    assert result["name"] == "P" and result["cold_starts"] == 1 and result["replicas"] is None
    assert result["total_usd"] == pytest.approx(1.0)


def test_a_granularity_beyond_int64_microseconds_bills_exactly():
    from cost_model.billing import billed_us

    # 1e13 s is 1e19 µs, past 2^63: two sessions of 5 s and 7 s each round up to one unit.
    assert billed_us([5_000_000, 7_000_000], 1e13, 0) == 2 * 10**19
    assert billed_us([5_000_000], 0, 1e15) == 10**21
