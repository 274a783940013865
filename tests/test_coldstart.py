"""Cold starts (SPEC §3): the heap algorithm against a direct simulation of the rule."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cost_model.coldstart import count_cold_starts, peak_concurrency


def brute_force_cold_starts(sessions, idle_timeout_us, warm_instances):
    """The rule read literally: look at every instance for every session."""
    never = float("-inf")
    # [freed at, created order, always warm]; busy instances are freed after the start
    instances = [[never, i, True] for i in range(warm_instances)]
    cold = 0
    for start, end in sorted(sessions):
        candidates = [
            inst
            for inst in instances
            if inst[0] <= start and (inst[2] or start - inst[0] <= idle_timeout_us)
        ]
        if candidates:
            chosen = max(candidates, key=lambda inst: (inst[0], -inst[1]))
        else:
            chosen = [None, len(instances), False]
            instances.append(chosen)
            cold += 1
        chosen[0] = end
    return cold


def test_a_lone_session_is_one_cold_start():
    assert count_cold_starts([0], [10], 0, 0) == 1


def test_a_session_starting_when_another_ends_reuses_its_instance():
    assert count_cold_starts([0, 10], [10, 20], 0, 0) == 1


def test_a_never_used_warm_instance_waits_forever():
    assert count_cold_starts([10**12], [10**12 + 1], 0, 1) == 0


def test_the_newest_free_instance_is_taken_so_older_ones_expire():
    starts, ends = [0, 0, 15, 21, 21], [10, 12, 16, 22, 22]
    assert count_cold_starts(starts, ends, 10, 0) == 3


sessions_strategy = st.lists(
    st.tuples(st.integers(0, 60), st.integers(0, 15)).map(lambda p: (p[0], p[0] + p[1])),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(sessions_strategy, st.integers(0, 20), st.integers(0, 4))
def test_heap_count_equals_a_direct_simulation(sessions, idle_timeout_us, warm_instances):
    ordered = sorted(sessions)
    starts = [s for s, _ in ordered]
    ends = [e for _, e in ordered]
    expected = brute_force_cold_starts(ordered, idle_timeout_us, warm_instances)
    assert count_cold_starts(starts, ends, idle_timeout_us, warm_instances) == expected


@settings(max_examples=200, deadline=None)
@given(sessions_strategy)
def test_peak_concurrency_is_the_most_extents_covering_one_start(sessions):
    # The count of half-open extents only rises at a start, so the starts are the instants to try.
    expected = max((sum(s <= t < e for s, e in sessions) for t, _ in sessions), default=0)
    starts = np.array([s for s, _ in sessions], dtype=np.int64)
    ends = np.array([e for _, e in sessions], dtype=np.int64)
    assert peak_concurrency(starts, ends) == expected


def test_a_billion_always_warm_instances_cost_no_memory_and_no_cold_start():
    assert count_cold_starts([0, 5], [10, 12], 0, 10**9) == 0
