"""Sessions as extents in time: cold starts (SPEC §3 `cold_start`) and peak concurrency (§2).

Sessions are taken in order of start. Each needs an instance: one freed at or before its start
and, unless the instance is always warm, at most the idle timeout before it. The most recently
freed candidate is taken (the earliest created on a tie, so always-warm instances first, and an
always-warm instance never used counts as freed at the beginning of time). With no candidate the
session creates a new instance: one cold start.

Two heaps keep this O(n log n): running instances by the time they are freed, and free instances
by how recently they were freed. Free instances that are not always warm expire for good once the
newest of them is older than the idle timeout, because session starts only grow.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np

# Sorts before any real instant: an always-warm instance that has not run yet.
_NEVER = float("-inf")


def count_cold_starts(
    starts_us: Sequence[int],
    ends_us: Sequence[int],
    idle_timeout_us: int,
    warm_instances: int,
) -> int:
    """The number of cold starts of sessions given in order of start (then end, run, agent).

    `starts_us` and `ends_us` are each session's extent in µs; `idle_timeout_us` is how long an
    instance stays warm after its session ends; `warm_instances` instances never go cold.
    """
    # No more instances than sessions are ever taken, and the first ones are taken first.
    warm_instances = min(warm_instances, len(starts_us))
    running: list[tuple[int, int]] = []  # (freed at, instance), soonest first
    free_warm = [(-_NEVER, i) for i in range(warm_instances)]  # (-freed at, instance)
    free_idle: list[tuple[int, int]] = []  # (-freed at, instance) of ordinary instances
    created = warm_instances
    cold = 0
    for start, end in zip(starts_us, ends_us):
        while running and running[0][0] <= start:
            freed, instance = heapq.heappop(running)
            free = free_warm if instance < warm_instances else free_idle
            heapq.heappush(free, (-freed, instance))
        if free_idle and start + free_idle[0][0] > idle_timeout_us:
            free_idle.clear()  # the newest free one is too old, so all are
        best = _best(free_warm, free_idle)
        if best is None:
            instance = created
            created += 1
            cold += 1
        else:
            instance = heapq.heappop(best)[1]
        heapq.heappush(running, (end, instance))
    return cold


def _best(free_warm: list, free_idle: list) -> list | None:
    """The heap whose top is the candidate to take, or None when there is no candidate."""
    if not free_warm:
        return free_idle or None
    if not free_idle:
        return free_warm
    # Smaller (-freed at, instance) is better: freed later, or created earlier on a tie.
    return free_warm if free_warm[0] <= free_idle[0] else free_idle


def peak_concurrency(starts_us: np.ndarray, ends_us: np.ndarray) -> int:
    """The most extents [start, end) that overlap at one instant (an end meets a start)."""
    if len(starts_us) == 0:
        return 0
    starts = np.sort(np.asarray(starts_us, dtype=np.int64))
    ends = np.sort(np.asarray(ends_us, dtype=np.int64))
    # Just after the i-th start: i + 1 sessions started, those with end <= that start are over.
    running = np.arange(1, len(starts) + 1) - np.searchsorted(ends, starts, side="right")
    return int(running.max())
