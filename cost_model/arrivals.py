"""Arrivals of a workload's attempts over a month, and what they imply: how many sessions run at
once and how many cold starts they make (SPEC §3 `cold_start`), for many session runtimes at once.

The month is drawn with the simulator's own arrival process and a fixed seed (`ARRIVALS_SEED`),
so an estimate is deterministic. Only session extents are needed, never spans: every arrival
starts `count` sessions of each (runtime, count) at its instant.

Cold starts: when the most recently freed warm instance is always taken, the instances alive just
before an instant (busy or warm) are exactly the most sessions that ran at once during the idle
timeout before it; an arrival whose sessions lift the running count above that makes the
difference in new instances. Window maxima come from a sparse table, for every point (one row per
session runtime) at once. With always-warm instances that identity fails, and SPEC §3's rule is
run instance by instance instead (`count_cold_starts`).
"""

from __future__ import annotations

import numpy as np

from cost_model.workload import Workload

ARRIVALS_SEED = 20261201
"""Seed of the month of arrivals an estimate reads concurrency and cold starts from."""


def month_arrivals_s(workload: Workload) -> np.ndarray:
    """Arrival instants (s from the month's start) of one typical 30-day month.

    Exactly the expected number of attempts, round(tasks_per_month / success_rate), placed as a
    Poisson process with that count places them (uniformly at random over the active hours of
    the month's days, from normalised sums of exponential gaps with the fixed `ARRIVALS_SEED`).
    A month with the Poisson count itself would carry that count's noise into every cold start,
    replica and tier of the estimate. The same seed at a slightly different volume or active
    hours gives nearly the same instants, so an estimate moves smoothly with the workload.
    """
    n = round(workload.tasks_per_month / workload.success_rate)
    if n <= 0:
        return np.zeros(0)
    rng = np.random.default_rng(ARRIVALS_SEED)
    sums = np.cumsum(rng.standard_exponential(n + 1))
    position = sums[:-1] / sums[-1] * 30  # in days of active hours, laid end to end
    day = np.floor(position)
    return day * 86_400 + (position - day) * workload.active_hours_per_day * 3600


def concurrency_averages(t: np.ndarray, runtimes) -> tuple[float | None, float | None]:
    """SPEC §2's average concurrency and average while active, over arrivals t (sorted, s)
    whose sessions have the given (runtime, count): Σ session runtime over the window, and
    over the time during which at least one session runs. None when nothing runs."""
    longest = max((r for r, c in runtimes if c), default=0.0)
    total = t.size * sum(r * c for r, c in runtimes)
    if t.size == 0 or longest <= 0:
        return None, None
    ends = t + longest
    # With starts in order, arrival i adds to the union what its extent covers after the
    # latest end before it.
    before = np.concatenate(([-np.inf], np.maximum.accumulate(ends)[:-1]))
    union = np.maximum(0.0, ends - np.maximum(t, before)).sum()
    return float(total / (ends.max() - t[0])), float(total / union)


def running(t: np.ndarray, x: np.ndarray, runtimes, after: bool) -> np.ndarray:
    """Sessions running at instants x (just after them, or just before) at each point: every
    arrival in t starts `count` sessions of each (runtimes at the points, count) of `runtimes`.
    The result has one row per point and one column per instant."""
    side = "right" if after else "left"
    started = np.searchsorted(t, x, side)
    return sum(c * (started - np.searchsorted(t, x - r[:, None], side)) for r, c in runtimes)


def _range_max(a: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """max a[:, lo..hi] (inclusive) per range and row, from a sparse table; 0 where empty.
    The table is built only as deep as the longest range needs (short idle timeouts see few
    arrivals)."""
    out = np.zeros(a.shape, dtype=a.dtype)
    length = hi - lo + 1
    ok = length > 0
    if not ok.any():
        return out
    level = np.zeros(lo.size, dtype=np.int64)
    level[ok] = np.floor(np.log2(length[ok])).astype(np.int64)
    levels = [a]
    for k in range(1, int(level.max()) + 1):
        half = 2 ** (k - 1)
        levels.append(np.maximum(levels[-1][:, :-half], levels[-1][:, half:]))
    for k in np.unique(level[ok]):
        m = ok & (level == k)
        out[:, m] = np.maximum(levels[k][:, lo[m]], levels[k][:, hi[m] - 2**k + 1])
    return out


def cold_starts_at_points(
    t, runtimes, after, idle_timeout_s: float, warm_instances: int
) -> np.ndarray:
    """Cold starts at each point (one row of `after` per point, the sessions running just
    after each arrival; runtimes hold one value per point)."""
    if warm_instances:
        return np.array(
            [
                _cold_starts_exact(
                    t, [(r[i], c) for r, c in runtimes], idle_timeout_s, warm_instances
                )
                for i in range(after.shape[0])
            ]
        )
    lo = np.searchsorted(t, t - idle_timeout_s, "left")
    alive = _range_max(after, lo, np.arange(t.size) - 1)
    alive = np.maximum(alive, running(t, t - idle_timeout_s, runtimes, after=False))
    return np.maximum(0, after - alive).sum(axis=1)


def cold_starts(t: np.ndarray, runtimes, idle_timeout_s: float, warm_instances: int) -> int:
    """Cold starts over arrivals t (sorted, s) whose sessions have the given (runtime, count).

    Without always-warm instances: instances alive just before an arrival = the most sessions
    running at once during the idle timeout before it; the arrival's sessions beyond that are
    cold starts (vectorised, and equal to SPEC §3's instance-by-instance rule). With always-warm
    instances, that rule itself is run (`count_cold_starts`), one session at a time.
    """
    if t.size == 0:
        return 0
    runtimes = [(np.array([float(r)]), c) for r, c in runtimes]
    after = running(t, t, runtimes, after=True)
    return int(cold_starts_at_points(t, runtimes, after, idle_timeout_s, warm_instances)[0])


def _cold_starts_exact(t, runtimes, idle_timeout_s: float, warm_instances: int) -> int:
    from cost_model.coldstart import count_cold_starts

    t_us = np.rint(t * 1e6).astype(np.int64)
    starts = np.concatenate([np.repeat(t_us, c) for _, c in runtimes])
    ends = np.concatenate([np.repeat(t_us + round(r * 1e6), c) for r, c in runtimes])
    order = np.lexsort((ends, starts))
    return count_cold_starts(
        starts[order].tolist(), ends[order].tolist(), round(idle_timeout_s * 1e6), warm_instances
    )


def peak_sessions(t: np.ndarray, runtimes) -> int:
    """The most sessions running at one instant (always just after an arrival)."""
    if t.size == 0:
        return 0
    runtimes = [(np.array([float(r)]), c) for r, c in runtimes]
    return int(running(t, t, runtimes, after=True).max())
