"""Fit a workload (SPEC §4) to traces: the parameters that best describe what the runs did.

Steps. In each session the most frequent `llm` span name is its agent's model, and that model's
calls are the agent's steps, in order of time (then file line). Calls under other names (a user
simulator in a benchmark, a placeholder for a failed call) are left out of the step model: they
are not part of the agent being priced, and their time counts as harness overhead.

The fit, parameter by parameter:
- token growth: every stretch of growth starts at the mean first context of its kind (main agent:
  `prompt_tokens`; sub-agent; after a compaction: `compacted_tokens`), and the growth per step
  `a` = output + tool calls · result tokens is the least-squares slope of input tokens over the
  step index from there; a step whose context is smaller than the one before starts a
  compaction, when those drops fit one threshold (else they are noise and are ignored);
- `cache_hit_rate` = Σ cached / Σ (x − a) over steps that are not the first of a context, and
  `system_prompt_tokens` from the first steps; with no cache data at all the rate is 0;
- timing: least squares of call duration over uncached input and output tokens (with an
  intercept, `ttft_s`); a rate that the data cannot determine keeps its default;
- `step_overhead_s`: chosen so that the fitted workload's session runtime equals the traces';
- snapshots: the median number of steps between snapshots, and bytes by least squares over the
  context after the snapshot's step;
- volume: `success_rate` over runs with an outcome; attempts per day over the calendar days from
  the first to the last run start; `active_hours_per_day` from the shortest part of the day that
  holds every run start, corrected for sampling.
Every value is clamped into the range the Workload allows, so the result is always valid.
"""

from __future__ import annotations

import logging
import math
from itertools import combinations

import numpy as np

from cost_model.traces import TraceSet
from cost_model.workload import Workload, agent_steps

log = logging.getLogger(__name__)
DEFAULT = Workload()

# The agent's own calls: in each session, the llm spans of its most frequent name.
_AGENT_CALLS = """
names AS (
    SELECT run_id, agent_id, name, count(*) AS n FROM {t} WHERE kind = 'llm' GROUP BY ALL
), models AS (
    SELECT run_id, agent_id, first(name ORDER BY n DESC, name NULLS LAST) AS model
    FROM names GROUP BY ALL
), calls AS (
    SELECT l.*, coalesce(m.model, '') AS model FROM {t} l JOIN models m
      ON l.run_id = m.run_id AND l.agent_id = m.agent_id AND l.name IS NOT DISTINCT FROM m.model
    WHERE l.kind = 'llm'
)"""

_STEPS_SQL = (
    "WITH"
    + _AGENT_CALLS
    + """
SELECT dense_rank() OVER (ORDER BY run_id, agent_id) AS session,
       agent_id <> '' AS sub,
       row_number() OVER w - 1 AS j,
       input_tokens::DOUBLE AS x,
       cached_input_tokens::DOUBLE AS cached,
       (input_tokens - coalesce(cached_input_tokens, 0)
        - coalesce(cache_write_tokens, 0))::DOUBLE AS uncached,
       output_tokens::DOUBLE AS output,
       CASE WHEN end_us >= start_us THEN (end_us - start_us) / 1e6 END AS duration_s,
       model
FROM calls
WINDOW w AS (PARTITION BY run_id, agent_id ORDER BY coalesce(start_us, end_us), line_no)
ORDER BY session, j
"""
)

_SESSIONS_SQL = """
SELECT agent_id <> '' AS sub,
       greatest(max(start_us), max(end_us)) - least(min(start_us), min(end_us)) AS runtime_us,
       count(*) FILTER (WHERE kind = 'tool') AS tools
FROM {t} GROUP BY run_id, agent_id
"""

_TOOLS_SQL = """
SELECT avg((end_us - start_us) / 1e6) FROM {t}
WHERE kind = 'tool' AND end_us >= start_us
"""

_RUNS_SQL = """
SELECT least(min(start_us), min(end_us)) AS start_us, bool_or(success) AS ok
FROM {t} GROUP BY run_id
"""

# Each snapshot with the number of its session's agent steps begun before it and the input
# tokens of the next step (the context after the snapshot's step; NULL after the last step).
# A snapshot sorts before a step that starts at the same instant: it ends the step before.
_SNAPSHOTS_SQL = (
    "WITH"
    + _AGENT_CALLS
    + """, events AS (
    SELECT run_id, agent_id, coalesce(start_us, end_us) AS at_us, 1 AS is_step,
           input_tokens, NULL::BIGINT AS bytes
    FROM calls
    UNION ALL
    SELECT run_id, agent_id, coalesce(start_us, end_us), 0, NULL, bytes FROM {t}
    WHERE kind = 'snapshot'
), counted AS (
    SELECT *, sum(is_step) OVER w AS before,
           first_value(input_tokens IGNORE NULLS) OVER (w ROWS BETWEEN 1 FOLLOWING
               AND UNBOUNDED FOLLOWING) AS x_next
    FROM events
    WINDOW w AS (PARTITION BY run_id, agent_id ORDER BY at_us NULLS LAST, is_step)
)
SELECT run_id, agent_id, bytes::DOUBLE AS bytes, before, x_next::DOUBLE AS x_next
FROM counted WHERE is_step = 0 ORDER BY run_id, agent_id, at_us
"""
)

DAY_US = 86_400_000_000
MIN_SUCCESS_RATE = 0.01
MIN_ACTIVE_HOURS = 0.1


def fit_workload(ts: TraceSet) -> Workload:
    """The workload that best describes a set of traces (see the module docstring).

    Never raises on odd data: a parameter the traces say nothing about keeps its default, and
    every value is clamped into its valid range.
    """
    steps = ts.df(_STEPS_SQL)
    sessions = ts.df(_SESSIONS_SQL)
    fields: dict = {"name": _name(ts)}
    fields.update(_agents(steps, sessions))
    fields.update(_growth(steps, fields))
    fields.update(_timing(steps))
    fields.update(_tools(ts))
    fields.update(_snapshots(ts.df(_SNAPSHOTS_SQL)))
    fields.update(_volume(ts.df(_RUNS_SQL)))
    workload = _valid(fields)
    return _valid({**fields, "step_overhead_s": _overhead(workload, sessions)})


def _name(ts: TraceSet) -> str:
    where = ", ".join(f"{k}={v}" for k, v in ts.where.items())
    return f"fitted to {ts.source}" + (f" ({where})" if where else "")


def _most_common(values) -> str:
    names, counts = np.unique(np.asarray(values, dtype=str), return_counts=True)
    return str(names[np.argmax(counts)])


def _agents(steps, sessions) -> dict:
    """Models, steps per agent, sub-agents per run and tool calls per step."""
    out: dict = {}
    per_session = steps.groupby("session").agg(sub=("sub", "first"), n=("j", "size"))
    for sub, prefix in ((False, ""), (True, "subagent_")):
        mine = per_session[per_session["sub"] == sub]
        if len(mine):
            out[f"{prefix}steps"] = max(1, round(mine["n"].mean()))
            out["subagent_model" if sub else "model"] = _most_common(
                steps.loc[steps["sub"] == sub, "model"]
            )
    main_sessions = int((~sessions["sub"].astype(bool)).sum())
    if main_sessions:
        out["subagents"] = round(sessions["sub"].astype(bool).sum() / main_sessions)
    if len(steps):
        out["tool_calls_per_step"] = float(sessions["tools"].sum() / len(steps))
    return out


def _after_drop(new_session: np.ndarray, drop: np.ndarray) -> np.ndarray:
    """Whether a row comes at or after a drop of context within its session."""
    drops = np.cumsum(drop)
    first = np.flatnonzero(new_session)[np.cumsum(new_session) - 1]
    return drops - drops[first] > 0


def _growth_fit(known, new_session, drop):
    """Each stretch of growth starts at its group's mean first context (main agent, sub-agent,
    after a compaction); the common slope `a` is the least-squares fit of the rest over the step
    index. Returns the three intercepts (NaN for a group with no stretch) and `a`."""
    starts = new_session | drop
    seg = np.cumsum(starts) - 1
    j = known["j"].to_numpy()
    x = known["x"].to_numpy()
    jseg = j - j[np.flatnonzero(starts)][seg]
    sub = known["sub"].to_numpy(bool)
    group = np.where(_after_drop(new_session, drop), 2, sub.astype(int))
    intercepts = np.array(
        [
            x[starts & (group == g)].mean() if (starts & (group == g)).any() else np.nan
            for g in range(3)
        ]
    )
    rest = x - intercepts[group]
    a = float(jseg @ rest / (jseg @ jseg)) if jseg.any() else 0.0
    return np.r_[np.maximum(intercepts, 0.0), max(a, 0.0)]


def _growth(steps, fields: dict) -> dict:
    """Prompt sizes, tokens per step, compaction and caching from the input tokens per step."""
    known = steps[steps["x"].notna()].reset_index(drop=True)
    if known.empty:
        return {}
    x = known["x"].to_numpy()
    session = known["session"].to_numpy()
    new_session = np.r_[True, session[1:] != session[:-1]]
    drop = ~new_session & (x < np.r_[np.inf, x[:-1]])
    coef = _growth_fit(known, new_session, drop)
    threshold = None
    if drop.any():
        before = x[np.flatnonzero(drop) - 1]
        # Compaction only if one threshold explains every drop: no context above it, and every
        # context before a drop within one step of it.
        if x.max() <= before.min() + coef[3] + 1:
            threshold = (x.max() + before.min() + coef[3]) / 2
        else:
            drop = np.zeros_like(drop)
            coef = _growth_fit(known, new_session, drop)
    out = {"prompt_tokens": coef[0], "subagent_prompt_tokens": coef[1]}
    output = known["output"].mean()
    if not math.isnan(output):
        out["output_tokens_per_step"] = output
    out.update(_per_step_tokens(coef[3], out.get("output_tokens_per_step"), fields))
    out.update(_context(threshold, coef[2], out, fields))
    fresh = (known["j"].to_numpy() == 0) | drop
    out.update(_cache(known, fresh, out))
    return out


def _per_step_tokens(a: float, output, fields: dict) -> dict:
    """Split the growth `a` into output and tool results (output cannot be taken back out)."""
    output = DEFAULT.output_tokens_per_step if output is None else output
    calls = fields.get("tool_calls_per_step", DEFAULT.tool_calls_per_step)
    result = max(0.0, (a - output) / calls) if calls > 0 else 0.0
    return {"tool_result_tokens": result, "_a": output + calls * result}


def _context(threshold, compacted: float, out: dict, fields: dict) -> dict:
    """context_limit, compaction_at and compacted_tokens: the seen threshold, or else one that
    the fitted agents never reach."""
    if threshold is not None:
        limit = max(DEFAULT.context_limit, math.ceil(threshold))
        return {
            "context_limit": limit,
            "compaction_at": threshold / limit,
            "compacted_tokens": min(compacted, threshold),
        }
    a = out["_a"]
    main = out["prompt_tokens"] if math.isfinite(out["prompt_tokens"]) else DEFAULT.prompt_tokens
    sub = out["subagent_prompt_tokens"]
    top = max(
        main + fields.get("steps", DEFAULT.steps) * a,
        sub + fields.get("subagent_steps", 0) * a if math.isfinite(sub) else 0,
    )
    if top <= DEFAULT.compaction_threshold:
        return {}
    return {"context_limit": math.ceil(top) + 1, "compaction_at": 1.0}


def _cache(known, fresh: np.ndarray, out: dict) -> dict:
    """cache_hit_rate and system_prompt_tokens from the steps with cache data."""
    cached = known["cached"].to_numpy()
    has = ~np.isnan(cached)
    if not has.any():
        log.warning("no cached_input_tokens in the traces: cache_hit_rate fitted as 0")
        # With no cache hits the system prompt changes no number; keep it within the prompt.
        prompt = out["prompt_tokens"] if math.isfinite(out["prompt_tokens"]) else math.inf
        return {
            "cache_hit_rate": 0.0,
            "system_prompt_tokens": min(DEFAULT.system_prompt_tokens, prompt),
        }
    later = has & ~fresh
    reusable = np.maximum(known["x"].to_numpy() - out["_a"], 0)
    if later.any() and reusable[later].sum() > 0:
        rate = cached[later].sum() / reusable[later].sum()
    else:
        rate = cached[has].sum() / max(known["x"].to_numpy()[has].sum(), 1)
    rate = min(max(rate, 0.0), 1.0)
    result = {"cache_hit_rate": rate}
    first = has & fresh & (known["x"].to_numpy() > 0)
    if first.any() and rate > 0:
        # A fresh context caches rate · min(system prompt, x): where that is below rate · x the
        # system prompt is what limits it; where none is, the system prompt is the whole prompt.
        x = known["x"].to_numpy()[first]
        limited = cached[first] < 0.999 * rate * x
        prompt = cached[first][limited].mean() / rate if limited.any() else x.max()
        result["system_prompt_tokens"] = prompt
    return result


def _fit_linear(y, cols: np.ndarray, defaults: np.ndarray, strict: np.ndarray) -> np.ndarray:
    """Least squares with every coefficient ≥ 0 (> 0 where `strict`): the most columns that give
    a determined, valid fit (least residual among those); the others keep their defaults."""
    p = cols.shape[1]
    for size in range(p, 0, -1):
        best, best_rss = None, math.inf
        for free in map(list, combinations(range(p), size)):
            fixed = [i for i in range(p) if i not in free]
            rest = y - cols[:, fixed] @ defaults[fixed]
            norms = np.linalg.norm(cols[:, free], axis=0)
            if np.any(norms == 0):
                continue
            sol, _, rank, _ = np.linalg.lstsq(cols[:, free] / norms, rest, rcond=1e-9)
            coef = sol / norms
            # A coefficient that is 0 but for rounding (ttft 0 comes out as -8e-15) is 0.
            coef[np.abs(sol) <= 1e-9 * max(np.linalg.norm(rest), 1e-300)] = 0.0
            if rank < size or np.any(coef < 0) or np.any((coef == 0) & strict[free]):
                continue
            rss = float(np.sum((rest - cols[:, free] @ coef) ** 2))
            if rss < best_rss:
                best, best_rss = (free, coef), rss
        if best is not None:
            result = defaults.astype(float).copy()
            result[best[0]] = best[1]
            return result
    return defaults.astype(float)


def _timing(steps) -> dict:
    """ttft_s, prefill and decode speed: call duration over uncached input and output tokens."""
    timed = steps.dropna(subset=["duration_s", "uncached", "output"])
    if timed.empty:
        return {}
    cols = np.column_stack(
        [np.ones(len(timed)), timed["uncached"].clip(lower=0), timed["output"]]
    ).astype(float)
    defaults = np.array(
        [DEFAULT.ttft_s, 1 / DEFAULT.prefill_tokens_per_s, 1 / DEFAULT.decode_tokens_per_s]
    )
    ttft, per_input, per_output = _fit_linear(
        timed["duration_s"].to_numpy(float), cols, defaults, np.array([False, True, True])
    )
    return {
        "ttft_s": ttft,
        "prefill_tokens_per_s": 1 / per_input,
        "decode_tokens_per_s": 1 / per_output,
    }


def _tools(ts: TraceSet) -> dict:
    """tool_latency_s: the mean length of the timed tool spans."""
    mean = ts.sql(_TOOLS_SQL)[0][0]
    return {} if mean is None else {"tool_latency_s": float(mean)}


def _snapshots(snaps) -> dict:
    """How often snapshots are written and their size over the context after their step."""
    if snaps.empty:
        return {"snapshot_every_steps": 0}
    session = snaps["run_id"] + "\x00" + snaps["agent_id"]
    gaps = snaps["before"].groupby(session, sort=False).diff().fillna(snaps["before"])
    out = {"snapshot_every_steps": max(1, round(float(np.median(gaps))))}
    sized = snaps.dropna(subset=["bytes", "x_next"])
    if sized.empty:
        mean = snaps["bytes"].mean()
        return (
            out
            if math.isnan(mean)
            else {**out, "snapshot_base_bytes": mean, "snapshot_bytes_per_token": 0.0}
        )
    cols = np.column_stack([np.ones(len(sized)), sized["x_next"]]).astype(float)
    defaults = np.array([DEFAULT.snapshot_base_bytes, DEFAULT.snapshot_bytes_per_token])
    base, per_token = _fit_linear(
        sized["bytes"].to_numpy(float), cols, defaults, np.array([False, False])
    )
    return {**out, "snapshot_base_bytes": base, "snapshot_bytes_per_token": per_token}


def _volume(runs) -> dict:
    """success_rate, tasks_per_month and active_hours_per_day from the runs' starts and outcomes."""
    if runs.empty:
        return {}
    known = runs["ok"].dropna().astype(bool)
    rate = known.mean() if len(known) else 1.0
    out = {"success_rate": max(float(rate), MIN_SUCCESS_RATE)}
    starts = runs["start_us"].dropna().to_numpy(np.int64)
    if starts.size == 0:
        log.warning("no run has a known time: tasks_per_month keeps its default")
        return out
    days = starts.max() // DAY_US - starts.min() // DAY_US + 1
    out["tasks_per_month"] = len(runs) / days * 30 * out["success_rate"]
    hours = np.sort(np.unique(starts % DAY_US)) / 3.6e9
    if hours.size >= 2:
        gaps = np.r_[np.diff(hours), hours[0] + 24 - hours[-1]]
        covered = 24 - gaps.max()
        # n uniform starts cover (n − 1)/(n + 1) of their window on average
        out["active_hours_per_day"] = covered * (hours.size + 1) / (hours.size - 1)
    out["active_hours_per_day"] = min(
        max(out.get("active_hours_per_day", 24.0), MIN_ACTIVE_HOURS), 24.0
    )
    return out


def _overhead(workload: Workload, sessions) -> float:
    """Harness seconds per step that make the fitted sessions last as long as the traces'."""
    timed = sessions.dropna(subset=["runtime_us"])
    sub = timed["sub"].astype(bool).to_numpy()
    if workload.subagents == 0:
        timed, sub = timed[~sub], sub[~sub]
    if timed.empty:
        return DEFAULT.step_overhead_s
    bare = workload.model_copy(update={"step_overhead_s": 0.0})
    n_sub = int(sub.sum())
    n_main = len(sub) - n_sub
    predicted = n_main * agent_steps(bare, "main").runtime_s
    steps = n_main * workload.steps
    if n_sub:
        predicted += n_sub * agent_steps(bare, "subagent").runtime_s
        steps += n_sub * workload.subagent_steps
    observed = timed["runtime_us"].sum() / 1e6
    return max(0.0, (observed - predicted) / steps)


def _valid(fields: dict) -> Workload:
    """A Workload from fitted values, each clamped into its field's range (NaN → default) and
    rounded to 6 significant digits (a file people read; far below the fit's own error)."""
    clean = {}
    for key, value in fields.items():
        if key.startswith("_") or value is None:
            continue
        field = Workload.model_fields[key]
        if isinstance(value, (float, np.floating)):
            value = float(value)
            if not math.isfinite(value):
                continue
            value = float(f"{value:.6g}")
            for bound in field.metadata:
                if getattr(bound, "ge", None) is not None:
                    value = max(value, bound.ge)
                if getattr(bound, "gt", None) is not None and value <= bound.gt:
                    value = bound.gt + 1e-9
                if getattr(bound, "le", None) is not None:
                    value = min(value, bound.le)
            if field.annotation is int:
                value = max(round(value), 1 if key.endswith("steps") else 0)
        clean[key] = int(value) if field.annotation is int else value
    threshold = clean.get("compaction_at", DEFAULT.compaction_at) * clean.get(
        "context_limit", DEFAULT.context_limit
    )
    clean["compacted_tokens"] = min(
        clean.get("compacted_tokens", DEFAULT.compacted_tokens), threshold
    )
    return Workload(**clean)
