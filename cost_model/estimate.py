"""What a workload costs under pricing plans (SPEC §4, §5 `estimate`), without traces.

One attempt is priced exactly as SPEC §3 would price its spans: the main agent and each sub-agent
is one session; their steps come from `agent_steps`. Everything that one attempt determines is
exact (tokens, session time, active time, requests, snapshots), and a month of it is that times
the attempts per month.

Cold starts, peak concurrency, capacity and tiers depend on how attempts overlap, so they are
read from one month of arrivals drawn with a fixed seed by the simulator's own arrival process
(`cost_model.arrivals`): a deterministic small simulation of session extents only, no spans.

Capacity and tiers are billed over that month's window, as SPEC §3 bills a simulated month: from
the first arrival to the end of the last session (a little under 30 days; much less when a few
attempts arrive a month). No arrival, no window: they cost nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from cost_model.arrivals import (
    cold_starts_at_points,
    concurrency_averages,
    month_arrivals_s,
    running,
)
from cost_model.billing import COMPONENTS, card_for, card_rates, replicas_for, tier_for
from cost_model.workload import AgentSteps, Workload, agent_steps

MONTH_S = 30 * 86_400
MONTH_H = MONTH_S / 3600


@dataclass(frozen=True)
class _Agent:
    """One agent session type: its steps, and how many of its first steps each point takes."""

    steps: AgentSteps
    n: np.ndarray
    """Steps per session at each point (1-based counts)."""

    def total(self, per_step: np.ndarray) -> np.ndarray:
        """Σ of a per-step quantity over each point's first n steps."""
        return np.concatenate(([0.0], np.cumsum(per_step, dtype=float)))[self.n]

    @property
    def runtime_s(self) -> np.ndarray:
        return self.total(self.steps.step_s)


def _bill_s(x: np.ndarray, block) -> np.ndarray:
    """bill(x) of SPEC §3 per session, in seconds."""
    g = block.granularity_s
    billed = g * np.ceil(np.round(x / g, 9)) if g > 0 else x
    return np.maximum(block.minimum_s, billed)


def _expected_bill_s(agent: _Agent, x: np.ndarray, with_tools: bool, block) -> np.ndarray:
    """E[bill(x)] of one session at each point, in seconds.

    A fractional tool-call count k makes each step run ⌊k⌋ or ⌈k⌉ calls (SPEC §4), so a session
    whose billed time includes tool time lasts its mean x − p·n·latency plus B·latency, with
    B ~ Binomial(n steps, p = k − ⌊k⌋). Granularity and minimum are not linear, so the bill is
    averaged over B rather than taken at the mean.
    """
    k = float(agent.steps.tool_calls[0]) if agent.steps.tool_calls.size else 0.0
    p = k - math.floor(k)
    latency = float(agent.steps.tool_s[0] / k) if k > 0 else 0.0
    if not with_tools or p == 0 or latency == 0:
        return _bill_s(x, block)
    n = agent.n[:, None]
    b = np.arange(int(agent.n.max()) + 1)[None, :]
    log_pmf = (
        _log_factorial(n)
        - _log_factorial(b)
        - _log_factorial(np.maximum(n - b, 0))
        + b * math.log(p)
        + (n - b) * math.log1p(-p)
    )
    pmf = np.where(b <= n, np.exp(log_pmf), 0.0)
    seconds = x[:, None] - p * n * latency + b * latency
    return (pmf * _bill_s(seconds, block)).sum(axis=1)


def _log_factorial(n: np.ndarray) -> np.ndarray:
    """log(n!) elementwise, for whole n ≥ 0."""
    table = np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, int(np.max(n)) + 1)))))
    return table[np.asarray(n, dtype=np.int64)]


def _tokens_usd(agent: _Agent, plan) -> np.ndarray:
    """Token cost of one session at each point (0 where no card fits the model)."""
    if plan.tokens is None:
        return np.zeros(agent.n.shape)
    index = card_for(agent.steps.model, plan.tokens)
    if index is None:
        return np.zeros(agent.n.shape)
    card = plan.tokens[index]
    st = agent.steps
    counts = (
        st.uncached_input_tokens,
        st.cached_input_tokens,
        st.cache_write_tokens,
        st.output_tokens,
    )
    rates, long_rates = card_rates(card)
    per_step = sum(c * r for c, r in zip(counts, rates))
    if long_rates is not None:
        long = st.input_tokens > card.long_context.above_input_tokens
        long_cost = sum(c * r for c, r in zip(counts, long_rates))
        per_step = np.where(long, long_cost, per_step)
    return agent.total(per_step / 1e6)


def _busy_s(agent: _Agent, kinds) -> np.ndarray:
    """Busy time of the given span kinds in one session; the root `other` span covers it all."""
    kinds = {k.lower() for k in kinds}
    if "other" in kinds:
        return agent.runtime_s
    st = agent.steps
    return agent.total(st.llm_s * ("llm" in kinds) + st.tool_s * ("tool" in kinds))


def _snapshots_usd(agent: _Agent, block) -> np.ndarray:
    gb = agent.steps.snapshot_bytes / 1e9
    per_step = gb * block.storage_per_gb_month * block.retention_days / 30
    per_step = per_step + gb * block.egress_fraction * block.egress_per_gb
    return agent.total(per_step + block.per_snapshot * agent.steps.snapshot)


def _attempt_usd(plan, agents: list[tuple[_Agent, int]]) -> dict[str, np.ndarray]:
    """Per-attempt cost of the components one attempt determines, at each point.

    `agents` holds (session type, sessions of that type per attempt).
    """
    out: dict[str, np.ndarray] = {}

    def add(key: str, f) -> None:
        out[key] = sum(count * f(a) for a, count in agents)

    add("tokens", lambda a: _tokens_usd(a, plan))
    if (b := plan.session_time) is not None:
        add(
            "session_time",
            lambda a: _expected_bill_s(a, a.runtime_s, True, b) * b.per_second * b.units,
        )
    if (b := plan.active_time) is not None:
        kinds = {k.lower() for k in b.kinds}
        tools = bool(kinds & {"tool", "other"})
        add(
            "active_time",
            lambda a: _expected_bill_s(a, _busy_s(a, kinds), tools, b) * b.per_second * b.units,
        )
    if (b := plan.requests) is not None:
        add(
            "requests",
            lambda a: (
                b.per_llm_call * a.n + b.per_tool_call * a.total(a.steps.tool_calls) + b.per_session
            ),
        )
    if (b := plan.snapshots) is not None:
        add("snapshots", lambda a: _snapshots_usd(a, b))
    return out


def _agents(workload: Workload, main_steps: np.ndarray) -> list[tuple[_Agent, int]]:
    """The session types of an attempt: the main agent at each point's step count, and the
    sub-agents (the same at every point)."""
    main = agent_steps(workload.model_copy(update={"steps": int(main_steps.max())}), "main")
    agents = [(_Agent(main, main_steps), 1)]
    if workload.subagents:
        sub = agent_steps(workload, "subagent")
        agents.append(
            (_Agent(sub, np.full(main_steps.shape, workload.subagent_steps)), workload.subagents)
        )
    return agents


def _month_usd(plan, attempt: dict, attempts: float, arrivals) -> dict[str, np.ndarray]:
    """Per-month cost of every component at each point (0 for an absent block)."""
    peak, cold, window_s = arrivals
    zero = np.zeros(np.shape(peak))
    month = {key: attempt.get(key, zero) * attempts for key in COMPONENTS}
    if (b := plan.cold_start) is not None:
        st = plan.session_time
        per_start = b.duration_s * st.per_second * st.units if st is not None else 0.0
        month["cold_start"] = cold[(b.idle_timeout_s, b.warm_instances)] * (per_start + b.fee)
    if (b := plan.capacity) is not None:
        replicas = np.array([replicas_for(int(p), b) for p in peak])
        month["capacity"] = replicas * b.per_replica_hour * window_s / 3600
    if plan.concurrency_tiers:
        fees = [tier_for(int(p), plan.concurrency_tiers)[0].monthly_fee for p in peak]
        month["concurrency_tier"] = np.array(fees) * window_s / MONTH_S
    return month


CHUNK_CELLS = 2_000_000
"""At most this many (point, arrival) cells are held at once."""
SWEEP_CELLS = 600_000
"""A horizon sweep reads arrivals at no more (point, arrival) cells; points in between are
interpolated."""


def _arrival_effects(workload, agents, plans, need_peak: bool, max_cells: int | None):
    """Peak sessions, cold starts per (idle timeout, warm instances) and the month's window in
    seconds, at each point (the peak and window stay 0 unless they are needed: asked for, or a
    plan has capacity or tiers).

    With `max_cells`, when points × arrivals exceed it, they are computed at evenly spaced
    points only and interpolated in between (the peak rounded up).
    """
    need_peak = need_peak or any(p.capacity or p.concurrency_tiers for p in plans)
    keys = {
        (p.cold_start.idle_timeout_s, p.cold_start.warm_instances)
        for p in plans
        if p.cold_start is not None
    }
    points = agents[0][0].n.size
    t = month_arrivals_s(workload) if need_peak or keys else np.zeros(0)
    if t.size == 0:
        return (
            np.zeros(points, dtype=np.int64),
            {k: np.zeros(points) for k in keys},
            np.zeros(points),
        )
    longest = np.max([a.runtime_s for a, count in agents if count], axis=0)
    window_s = t[-1] - t[0] + longest
    at = np.arange(points)
    if max_cells and points * t.size > max_cells:
        at = np.unique(np.linspace(0, points - 1, max(2, max_cells // t.size)).round())
        at = at.astype(np.int64)
    peak = np.zeros(at.size, dtype=np.int64)
    cold = {k: np.zeros(at.size) for k in keys}
    step = max(1, CHUNK_CELLS // t.size)
    for start in range(0, at.size, step):
        part = slice(start, start + step)
        runtimes = [(a.runtime_s[at[part]], c) for a, c in agents]
        after = running(t, t, runtimes, after=True)
        peak[part] = after.max(axis=1)
        for key in keys:
            cold[key][part] = cold_starts_at_points(t, runtimes, after, *key)
    if at.size < points:
        every = np.arange(points)
        peak = np.ceil(np.interp(every, at, peak)).astype(np.int64)
        cold = {k: np.interp(every, at, v) for k, v in cold.items()}
    return peak, cold, window_s


def evaluate(
    workload: Workload, plans, main_steps, need_peak: bool = True, max_cells: int | None = None
) -> dict:
    """The estimate at each main-agent step count of `main_steps`, as arrays: per-attempt
    quantities, concurrency and, per plan, per-month components and totals. Without
    `need_peak`, the peak is computed only where a plan's cost depends on it; `max_cells`
    bounds the work on arrivals (see `_arrival_effects`)."""
    main_steps = np.atleast_1d(np.asarray(main_steps, dtype=np.int64))
    agents = _agents(workload, main_steps)
    attempts = workload.tasks_per_month / workload.success_rate
    arrivals = _arrival_effects(workload, agents, plans, need_peak, max_cells)
    peak, cold, _ = arrivals
    results = []
    for plan in plans:
        attempt = _attempt_usd(plan, agents)
        month = _month_usd(plan, attempt, attempts, arrivals)
        per_month = sum(month.values())
        if attempts > 0:
            per_attempt = per_month / attempts
        else:
            per_attempt = sum(attempt.values(), np.zeros(main_steps.shape))
        per_task = per_attempt / workload.success_rate
        results.append(
            {
                "plan": plan,
                "month": month,
                "per_month": per_month,
                "per_attempt": per_attempt,
                "per_task": per_task,
                "cold": cold,
            }
        )
    return {
        "agents": agents,
        "attempts": attempts,
        "peak": peak,
        "plans": results,
    }


def _per_attempt(workload: Workload, agents) -> dict:
    """SPEC §5 `estimate.per_attempt`: what one attempt uses (expected counts)."""

    def total(field: str) -> float:
        return float(sum(c * a.total(getattr(a.steps, field))[0] for a, c in agents))

    main = agents[0][0]
    sub = agents[1][0] if len(agents) > 1 else None
    return {
        "llm_calls": int(sum(c * a.n[0] for a, c in agents)),
        "tool_calls": total("tool_calls"),
        "input_tokens": total("input_tokens"),
        "cached_input_tokens": total("cached_input_tokens"),
        "output_tokens": total("output_tokens"),
        "snapshot_bytes": total("snapshot_bytes"),
        "runtime_s_main": float(main.runtime_s[0]),
        "runtime_s_subagent": float(sub.runtime_s[0]) if sub is not None else None,
    }


def estimate(workload: Workload, plans) -> dict:
    """Cost of a workload under each plan: SPEC §5 `estimate`, as plain JSON-able data.

    `per_attempt` holds expected counts of one attempt. `concurrency` is SPEC §2's, of the
    month of arrivals the estimate reads: `average` = Σ session runtime / the month's window
    (null when no session runs), `peak` the most sessions at once. Components are per 30-day
    month.
    """
    plans = list(plans)
    ev = evaluate(workload, plans, [workload.steps])
    runtimes = [(float(a.runtime_s[0]), c) for a, c in ev["agents"]]
    average, _ = concurrency_averages(month_arrivals_s(workload), runtimes)
    rows = []
    for r in ev["plans"]:
        plan = r["plan"]
        cold = None
        if plan.cold_start is not None:
            cold = float(
                r["cold"][(plan.cold_start.idle_timeout_s, plan.cold_start.warm_instances)][0]
            )
        rows.append(
            {
                "name": plan.name,
                "per_attempt_usd": float(r["per_attempt"][0]),
                "per_completed_task_usd": float(r["per_task"][0]),
                "per_month_usd": float(r["per_month"][0]),
                "components": {k: float(v[0]) for k, v in r["month"].items()},
                "cold_starts_per_month": cold,
                "replicas": (
                    replicas_for(int(ev["peak"][0]), plan.capacity)
                    if plan.capacity is not None
                    else None
                ),
            }
        )
    return {
        "tasks_per_month": float(workload.tasks_per_month),
        "attempts_per_month": float(ev["attempts"]),
        "per_attempt": _per_attempt(workload, ev["agents"]),
        "concurrency": {"average": average, "peak": int(ev["peak"][0])},
        "plans": rows,
    }


def horizon_sweep(workload: Workload, plans, steps_values) -> pd.DataFrame:
    """Cost per completed task (USD) as the main agent's step count varies: a `steps` column and
    one column per plan (by name), one row per value of `steps_values` (each at least 1).

    Sub-agents keep their own step count. With many arrivals, peak and cold starts are read at
    some of the points and interpolated between them (`SWEEP_CELLS`).
    """
    plans = list(plans)
    steps = np.unique(np.asarray(steps_values, dtype=np.int64))
    if steps.size == 0:
        return pd.DataFrame({"steps": steps} | {p.name: [] for p in plans})
    if steps[0] < 1:
        raise ValueError(f"steps must be at least 1, not {steps[0]}")
    ev = evaluate(workload, plans, steps, need_peak=False, max_cells=SWEEP_CELLS)
    return pd.DataFrame({"steps": steps} | {r["plan"].name: r["per_task"] for r in ev["plans"]})


def horizon_steps(steps: int, points: int = 200) -> np.ndarray:
    """Step counts for a horizon sweep around a workload: up to `points` values from 1 to twice
    its steps (at least 200)."""
    top = max(200, 2 * steps)
    return np.unique(np.linspace(1, top, points).round().astype(np.int64))


def crossovers(sweep: pd.DataFrame) -> list[dict]:
    """Where the cheapest plan of a horizon sweep changes: one dict per change with `steps` (the
    crossing, interpolated linearly between the two sweep points around it), `from_plan`,
    `to_plan` and `per_completed_task_usd` there."""
    plans = [c for c in sweep.columns if c != "steps"]
    if not plans or len(sweep) < 2:
        return []
    costs = sweep[plans].to_numpy(dtype=float)
    steps = sweep["steps"].to_numpy(dtype=float)
    best = np.argmin(costs, axis=1)
    out = []
    for i in np.flatnonzero(best[1:] != best[:-1]):
        a, b = best[i], best[i + 1]
        # The two plans' cost difference changes sign between points i and i + 1.
        d0 = costs[i, a] - costs[i, b]
        d1 = costs[i + 1, a] - costs[i + 1, b]
        f = d0 / (d0 - d1) if d0 != d1 else 1.0
        x = steps[i] + f * (steps[i + 1] - steps[i])
        y = costs[i, a] + f * (costs[i + 1, a] - costs[i, a])
        out.append(
            {
                "steps": float(x),
                "from_plan": plans[a],
                "to_plan": plans[b],
                "per_completed_task_usd": float(y),
            }
        )
    return out


def plan_crossings(sweep: pd.DataFrame) -> list[dict]:
    """Every point where two plans' lines of a horizon sweep cross, cheapest plan or not: one
    dict per crossing with `steps` (interpolated linearly), `cheaper_plan` (cheaper after it),
    `dearer_plan` and `per_completed_task_usd` there, in order of steps."""
    plans = [c for c in sweep.columns if c != "steps"]
    costs = sweep[plans].to_numpy(dtype=float)
    steps = sweep["steps"].to_numpy(dtype=float)
    out = []
    for a, b in combinations(range(len(plans)), 2):
        d = costs[:, a] - costs[:, b]
        for i in np.flatnonzero(d[:-1] * d[1:] < 0):
            f = d[i] / (d[i] - d[i + 1])
            cheaper, dearer = (a, b) if d[i + 1] < 0 else (b, a)
            out.append(
                {
                    "steps": float(steps[i] + f * (steps[i + 1] - steps[i])),
                    "cheaper_plan": plans[cheaper],
                    "dearer_plan": plans[dearer],
                    "per_completed_task_usd": float(
                        costs[i, a] + f * (costs[i + 1, a] - costs[i, a])
                    ),
                }
            )
    return sorted(out, key=lambda c: c["steps"])
