"""How a pricing plan bills a set of traces (SPEC §3), for several plans at once.

`measure` reads what a data set used (sessions, busy time, token sums per model name, span
counts, peak concurrency, window) in a few DuckDB queries; `price` bills that under each plan
without reading the spans again. Durations stay whole microseconds until they are billed, so
rounding to a granularity is exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

import numpy as np
import pandas as pd

from cost_model.coldstart import count_cold_starts, peak_concurrency
from cost_model.sessions import sessions_frame
from cost_model.traces import TraceSet

COMPONENTS = (
    "tokens",
    "session_time",
    "active_time",
    "requests",
    "cold_start",
    "capacity",
    "concurrency_tier",
    "snapshots",
)
"""The cost components of SPEC §3, in the order they are shown."""

US_PER_S = 1_000_000
MONTH_S = 30 * 86_400
TOKEN_KINDS = ("uncached", "cached", "cache_write", "output")

_COUNTS_SQL = """
SELECT count(*) FILTER (WHERE kind = 'llm'),
       count(*) FILTER (WHERE kind = 'llm' AND input_tokens IS NULL
                        AND cached_input_tokens IS NULL AND cache_write_tokens IS NULL
                        AND output_tokens IS NULL),
       count(*) FILTER (WHERE kind = 'tool'),
       count(*) FILTER (WHERE kind = 'snapshot'),
       sum(bytes) FILTER (WHERE kind = 'snapshot'),
       count(DISTINCT run_id)
FROM {t}
"""

# A run without a success value is unknown, unless no run of the file has one: then every run
# completed.
_COMPLETED_SQL = """
SELECT count(*) FILTER (WHERE ok) FROM (SELECT bool_or(success) AS ok FROM {t} GROUP BY run_id)
"""

_TOKEN_SUMS = (
    (
        "coalesce(input_tokens, 0) - coalesce(cached_input_tokens, 0) "
        "- coalesce(cache_write_tokens, 0)"
    ),
    "coalesce(cached_input_tokens, 0)",
    "coalesce(cache_write_tokens, 0)",
    "coalesce(output_tokens, 0)",
)


@dataclass
class Usage:
    """What a data set used, measured once and billed under any number of plans."""

    runs: int
    completed_runs: int
    """Runs whose success is true (every run when no run has a success value)."""
    sessions: int
    """All sessions, timed or not."""
    llm_calls: int
    calls_without_usage: int
    tool_calls: int
    snapshots: int
    snapshot_bytes: int
    """Sum of the known bytes of snapshot spans."""
    timed: pd.DataFrame
    """Sessions with a known extent, in order of start: start_us, end_us, runtime_us, busy."""
    peak: int
    """Peak concurrency: most session extents [start, end) that overlap at one instant."""
    window_us: int
    """Earliest session start to latest session end (0 with no timed session)."""
    tokens: list[tuple]
    """Per llm span name (None for no name): calls, then the four token sums over all calls,
    then the four sums over calls above each threshold of `thresholds`."""
    thresholds: list[int] = field(default_factory=list)
    busy_labels: dict[tuple[str, ...], str] = field(default_factory=dict)
    """Busy-time column of `timed` for each set of kinds."""


def _kinds(plan) -> tuple[str, ...]:
    return tuple(sorted({k.lower() for k in plan.active_time.kinds}))


def _long_thresholds(plans) -> list[int]:
    found = {
        card.long_context.above_input_tokens
        for plan in plans
        for card in plan.tokens or []
        if card.long_context is not None
    }
    return sorted(found)


def _token_sums(ts: TraceSet, thresholds: list[int]) -> list[tuple]:
    columns = ["count(*)"] + [f"sum({expr})" for expr in _TOKEN_SUMS]
    params = []
    for threshold in thresholds:
        for expr in _TOKEN_SUMS:
            columns.append(f"sum({expr}) FILTER (WHERE coalesce(input_tokens, 0) > ?)")
            params.append(threshold)
    query = f"SELECT name, {', '.join(columns)} FROM {{t}} WHERE kind = 'llm' GROUP BY name"
    return [tuple(v or 0 if i else v for i, v in enumerate(row)) for row in ts.sql(query, params)]


def measure(ts: TraceSet, plans=()) -> Usage:
    """Read once what the data set used, with the busy time every plan's active_time needs."""
    kind_sets = sorted({_kinds(p) for p in plans if p.active_time is not None})
    labels = {kinds: f"busy{i}" for i, kinds in enumerate(kind_sets)}
    frame = sessions_frame(ts, {label: kinds for kinds, label in labels.items()})
    labels = {kinds: f"{label}_us" for kinds, label in labels.items()}
    timed = frame[frame["start_us"].notna()].reset_index(drop=True)
    timed = timed[["start_us", "end_us", "runtime_us", *labels.values()]].astype("int64")
    llm, no_usage, tool, snaps, snap_bytes, runs = ts.sql(_COUNTS_SQL)[0]
    completed = ts.sql(_COMPLETED_SQL)[0][0]
    thresholds = _long_thresholds(plans)
    window = int(timed["end_us"].max() - timed["start_us"].min()) if len(timed) else 0
    return Usage(
        runs=runs,
        completed_runs=completed if ts.records_outcomes() else runs,
        sessions=len(frame),
        llm_calls=llm,
        calls_without_usage=no_usage,
        tool_calls=tool,
        snapshots=snaps,
        snapshot_bytes=int(snap_bytes or 0),
        timed=timed,
        peak=peak_concurrency(timed["start_us"].to_numpy(), timed["end_us"].to_numpy()),
        window_us=window,
        tokens=_token_sums(ts, thresholds),
        thresholds=thresholds,
        busy_labels=labels,
    )


def seconds_to_us(seconds: float) -> int:
    """Seconds as whole microseconds (a granularity or minimum of a plan)."""
    return round(seconds * US_PER_S)


def billed_us(durations_us: np.ndarray, granularity_s: float, minimum_s: float) -> int:
    """Σ bill(x) in µs: max(minimum, g·⌈x/g⌉), or max(minimum, x) when g is 0."""
    x = np.asarray(durations_us, dtype=np.int64)
    g, minimum = seconds_to_us(granularity_s), seconds_to_us(minimum_s)
    most = max(int(x.max()) + g if x.size else 0, minimum)
    if most * max(x.size, 1) >= 2**63:
        # Beyond int64 (a granularity or minimum of centuries): exact, in Python integers.
        return sum(max(minimum, -(-int(v) // g) * g if g > 0 else int(v)) for v in x)
    if g > 0:
        x = -(-x // g) * g
    return int(np.maximum(x, minimum).sum())


def card_rates(card) -> tuple[tuple[float, ...], tuple[float, ...] | None]:
    """A rate card's USD per 10^6 (uncached, cached, cache-write, output) tokens, and its
    long-context rates (a rate left out is the card's own rate of that kind), or None."""
    base_input = card.input_per_mtok or 0.0
    rates = (
        base_input,
        base_input if card.cached_input_per_mtok is None else card.cached_input_per_mtok,
        base_input if card.cache_write_per_mtok is None else card.cache_write_per_mtok,
        card.output_per_mtok or 0.0,
    )
    long = card.long_context
    if long is None:
        return rates, None
    given = (
        long.input_per_mtok,
        long.cached_input_per_mtok,
        long.cache_write_per_mtok,
        long.output_per_mtok,
    )
    return rates, tuple(own if g is None else g for g, own in zip(given, rates))


def card_for(name: str | None, cards) -> int | None:
    """Index of the first card whose shell pattern fits the name (no name fits only "*")."""
    for i, card in enumerate(cards):
        if card.match == "*" or (name is not None and fnmatchcase(name, card.match)):
            return i
    return None


def _tokens_usd(usage: Usage, cards) -> tuple[float, int]:
    """Token cost of the llm spans, and the number of them that no card prices."""
    if cards is None:
        return 0.0, 0
    cost, unpriced = 0.0, 0
    for name, calls, *sums in usage.tokens:
        index = card_for(name, cards)
        if index is None:
            unpriced += calls
            continue
        rates, long_rates = card_rates(cards[index])
        total, long = sums[:4], [0, 0, 0, 0]
        if long_rates is not None:
            k = usage.thresholds.index(cards[index].long_context.above_input_tokens)
            long = sums[4 + 4 * k : 8 + 4 * k]
            cost += sum(n * r for n, r in zip(long, long_rates)) / 1e6
        cost += sum((n - m) * r for n, m, r in zip(total, long, rates)) / 1e6
    return cost, unpriced


def _time_usd(durations_us, block) -> float:
    if block is None:
        return 0.0
    seconds = billed_us(durations_us, block.granularity_s, block.minimum_s) / US_PER_S
    return seconds * block.per_second * block.units


def _requests_usd(usage: Usage, block) -> float:
    if block is None:
        return 0.0
    return (
        block.per_llm_call * usage.llm_calls
        + block.per_tool_call * usage.tool_calls
        + block.per_session * usage.sessions
    )


def _snapshots_usd(usage: Usage, block) -> float:
    if block is None:
        return 0.0
    gb = usage.snapshot_bytes / 1e9
    storage = gb * block.storage_per_gb_month * block.retention_days / 30
    egress = gb * block.egress_fraction * block.egress_per_gb
    return storage + egress + block.per_snapshot * usage.snapshots


def replicas_for(peak: int, block) -> int:
    """Replicas a capacity block bills: its number, or ⌈peak / sessions_per_replica⌉ (auto)."""
    if block.replicas != "auto":
        return int(block.replicas)
    return math.ceil(peak / block.sessions_per_replica)


def tier_for(peak: int, tiers) -> tuple[object, bool]:
    """The tier with the smallest max_concurrency ≥ peak (any file order), and whether peak fit;
    when it fits no tier, the largest one."""
    fitting = [t for t in tiers if t.max_concurrency >= peak]
    if fitting:
        return min(fitting, key=lambda t: t.max_concurrency), True
    return max(tiers, key=lambda t: t.max_concurrency), False


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


class _Bill:
    """One plan's components, counts and warnings over one Usage."""

    def __init__(self, usage: Usage, plan, cold_cache: dict):
        self.usage, self.plan, self.cold_cache = usage, plan, cold_cache
        self.components = dict.fromkeys(COMPONENTS, 0.0)
        self.warnings: list[str] = []
        self.cold_starts: int | None = None
        self.replicas: int | None = None
        self.unpriced = 0

    def run(self) -> dict:
        usage, plan, c = self.usage, self.plan, self.components
        c["tokens"], self.unpriced = _tokens_usd(usage, plan.tokens)
        c["session_time"] = _time_usd(usage.timed["runtime_us"].to_numpy(), plan.session_time)
        if plan.active_time is not None:
            busy = usage.timed[usage.busy_labels[_kinds(plan)]].to_numpy()
            c["active_time"] = _time_usd(busy, plan.active_time)
        c["requests"] = _requests_usd(usage, plan.requests)
        c["snapshots"] = _snapshots_usd(usage, plan.snapshots)
        self._cold_start()
        self._capacity()
        self._tiers()
        self._token_warnings()
        self._untimed_warning()
        return self._result()

    def _cold_start(self) -> None:
        if (block := self.plan.cold_start) is None:
            return
        key = (seconds_to_us(block.idle_timeout_s), int(block.warm_instances))
        if key not in self.cold_cache:
            timed = self.usage.timed
            starts, ends = timed["start_us"].tolist(), timed["end_us"].tolist()
            self.cold_cache[key] = count_cold_starts(starts, ends, *key)
        self.cold_starts = self.cold_cache[key]
        st = self.plan.session_time
        per_start = block.duration_s * st.per_second * st.units if st is not None else 0.0
        self.components["cold_start"] = self.cold_starts * (per_start + block.fee)

    def _capacity(self) -> None:
        if (block := self.plan.capacity) is None:
            return
        peak = self.usage.peak
        self.replicas = replicas_for(peak, block)
        hours = self.usage.window_us / US_PER_S / 3600
        self.components["capacity"] = self.replicas * block.per_replica_hour * hours
        need = math.ceil(peak / block.sessions_per_replica)
        if block.replicas != "auto" and need > self.replicas:
            self.warnings.append(
                f"Peak concurrency {peak} needs {_plural(need, 'replica')} at "
                f"{_plural(block.sessions_per_replica, 'session')} each; "
                f"the plan bills {self.replicas}."
            )

    def _tiers(self) -> None:
        if not (tiers := self.plan.concurrency_tiers):
            return
        peak = self.usage.peak
        tier, fits = tier_for(peak, tiers)
        months = self.usage.window_us / US_PER_S / MONTH_S
        self.components["concurrency_tier"] = tier.monthly_fee * months
        if not fits:
            self.warnings.append(
                f"Peak concurrency {peak} exceeds every concurrency tier; billed at the largest "
                f"(max_concurrency {tier.max_concurrency:g}, ${tier.monthly_fee:g} a month)."
            )

    def _token_warnings(self) -> None:
        if self.unpriced:
            self.warnings.append(
                f"{_plural(self.unpriced, 'llm span')} "
                + (
                    "matches no rate card of this plan and costs"
                    if self.unpriced == 1
                    else "match no rate card of this plan and cost"
                )
                + " nothing for tokens."
            )
        if self.plan.tokens and self.usage.calls_without_usage:
            n = self.usage.calls_without_usage
            self.warnings.append(
                f"{_plural(n, 'llm span')} without token counts "
                f"{'counts' if n == 1 else 'count'} as 0 tokens."
            )

    def _untimed_warning(self) -> None:
        plan = self.plan
        untimed = self.usage.sessions - len(self.usage.timed)
        timed_blocks = (plan.session_time, plan.active_time, plan.cold_start)
        if untimed and any(b is not None for b in timed_blocks):
            self.warnings.append(
                f"{_plural(untimed, 'session')} with no known time "
                f"{'is' if untimed == 1 else 'are'} left out of session_time, active_time "
                "and cold starts."
            )

    def _result(self) -> dict:
        usage = self.usage
        total = sum(self.components.values())
        return {
            "name": self.plan.name,
            "total_usd": total,
            "per_run_usd": total / usage.runs if usage.runs else None,
            "per_completed_task_usd": (
                total / usage.completed_runs if usage.completed_runs else None
            ),
            "completed_runs": usage.completed_runs,
            "components": dict(self.components),
            "cold_starts": self.cold_starts,
            "replicas": self.replicas,
            "unpriced_llm_calls": self.unpriced,
            "warnings": self.warnings,
        }


def price_usage(usage: Usage, plans) -> list[dict]:
    """Bill a measured Usage under each plan (SPEC §5 `price.plans`, in the plans' order)."""
    cold_cache: dict = {}
    return [_Bill(usage, plan, cold_cache).run() for plan in plans]


def price(ts: TraceSet, plans) -> list[dict]:
    """Bill a data set under each plan: one dict per plan with the keys of SPEC §5 `price`."""
    plans = list(plans)
    return price_usage(measure(ts, plans), plans)


def recorded_cost_usd(ts: TraceSet) -> float | None:
    """Σ of the cost_usd the source recorded, or None when no span has one."""
    return ts.sql("SELECT sum(cost_usd) FROM {t}")[0][0]


def price_frame(results: list[dict], recorded_usd: float | None = None) -> pd.DataFrame:
    """One row per plan for a table: totals, each component, counts; with `recorded_usd`, a
    column of the cost the traces recorded (the same on every row)."""
    rows = []
    for r in results:
        row = {"plan": r["name"], "total_usd": r["total_usd"]}
        if recorded_usd is not None:
            row["recorded_usd"] = recorded_usd
        row |= {
            "per_run_usd": r["per_run_usd"],
            "per_completed_task_usd": r["per_completed_task_usd"],
        }
        row |= {f"{k}_usd": r["components"][k] for k in COMPONENTS}
        row |= {k: r[k] for k in ("cold_starts", "replicas", "unpriced_llm_calls")}
        rows.append(row)
    frame = pd.DataFrame(rows)
    for col in ("cold_starts", "replicas"):
        if col in frame:
            frame[col] = frame[col].astype("Int64")
    return frame
