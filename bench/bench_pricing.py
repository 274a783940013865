"""Benchmark: price a trace file under five plans (SPEC §3), beside plain pandas.

    python bench/bench_pricing.py [--spans 1000000] [--repeat 3]

Writes a synthetic trace CSV with `bench_traces.write_traces`, loads it once into DuckDB (the
project) and once into a DataFrame (pandas), then bills it under five plans that together use
every block of the plan format. Loading is timed apart from pricing; pricing is the best of
`--repeat` runs. The two implementations' totals and components are compared, so the speed-up
is for the same answers.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from fnmatch import fnmatchcase
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_traces import _busy, pandas_load, write_traces

from cost_model.billing import COMPONENTS, card_rates, price
from cost_model.loader import load_traces
from cost_model.plans import load_presets, parse_plan

PRESETS = (
    "Kimi K2.6 tokens + AgentCore Runtime",
    "Kimi K2.6 tokens + AWS Lambda (2 GB)",
    "Kimi K2.6 on Modal 8×H200 containers",
    "Kimi K2.6 on Together dedicated 8×H200",
)
EVERYTHING = {
    "name": "Every block",
    "tokens": [
        {"match": "kimi-*-mini", "input_per_mtok": 0.3, "output_per_mtok": 1.2},
        {"match": "kimi-*", "input_per_mtok": 0.95, "cached_input_per_mtok": 0.16,
         "output_per_mtok": 4.0,
         "long_context": {"above_input_tokens": 100_000, "input_per_mtok": 1.9}},
    ],
    "session_time": {"per_second": 0.0000026, "units": 2, "granularity_s": 60, "minimum_s": 5},
    "active_time": {"kinds": ["llm", "snapshot"], "per_second": 0.00002, "granularity_s": 0.001},
    "requests": {"per_llm_call": 0.0001, "per_tool_call": 0.000005, "per_session": 0.001},
    "cold_start": {"idle_timeout_s": 300, "duration_s": 20, "fee": 0.001, "warm_instances": 3},
    "capacity": {"per_replica_hour": 2.5, "sessions_per_replica": 8},
    "concurrency_tiers": [{"max_concurrency": 10, "monthly_fee": 0},
                          {"max_concurrency": 100, "monthly_fee": 250}],
    "snapshots": {"storage_per_gb_month": 0.02, "retention_days": 7, "egress_per_gb": 0.09,
                  "egress_fraction": 0.5, "per_snapshot": 0.000005},
}  # fmt: skip


def bench_plans() -> list:
    presets = load_presets()
    return [presets[name] for name in PRESETS] + [parse_plan(EVERYTHING, "bench")]


# ---- plain pandas: the same billing, for comparison ------------------------------------------


def _bill_s(durations_us: pd.Series, block) -> float:
    g, m = round(block.granularity_s * 1e6), round(block.minimum_s * 1e6)
    x = durations_us.astype("int64")
    if g:
        x = -(-x // g) * g
    return x.clip(lower=m).sum() / 1e6


def _tokens(llm: pd.DataFrame, cards) -> tuple[float, int]:
    if cards is None:
        return 0.0, 0

    def first(name):
        fits = [i for i, c in enumerate(cards) if c.match == "*" or
                (isinstance(name, str) and fnmatchcase(name, c.match))]  # fmt: skip
        return fits[0] if fits else -1

    card = llm["name"].map({n: first(n) for n in llm["name"].unique()})
    tokens = llm.reindex(columns=["input_tokens", "cached_input_tokens", "cache_write_tokens",
                                  "output_tokens"]).fillna(0)  # fmt: skip
    counts = np.c_[tokens.iloc[:, 0] - tokens.iloc[:, 1] - tokens.iloc[:, 2], tokens.iloc[:, 1:]]
    cost = 0.0
    for i, c in enumerate(cards):
        rates, long_rates = card_rates(c)
        mine = (card == i).to_numpy()
        long = np.zeros(len(llm), bool)
        if long_rates is not None:
            long = tokens["input_tokens"].to_numpy() > c.long_context.above_input_tokens
            cost += (counts[mine & long] @ np.array(long_rates)).sum() / 1e6
        cost += (counts[mine & ~long] @ np.array(rates)).sum() / 1e6
    return cost, int((card == -1).sum())


def _cold_starts(timed: pd.DataFrame, block) -> int:
    """A scan over the instances for each session."""
    timeout = round(block.idle_timeout_s * 1e6)
    free = [(-math.inf, i, True) for i in range(block.warm_instances)]
    busy, cold = [], 0
    for s, e in zip(timed["s"].astype("int64"), timed["e"].astype("int64")):
        free += [inst for inst in busy if inst[0] <= s]
        busy = [inst for inst in busy if inst[0] > s]
        free = [inst for inst in free if inst[2] or s - inst[0] <= timeout]
        if free:
            best = max(free, key=lambda inst: (inst[0], -inst[1]))
            free.remove(best)
            busy.append((e, best[1], best[2]))
        else:
            cold += 1
            busy.append((e, block.warm_instances + cold, False))
    return cold


def pandas_price(df: pd.DataFrame, plans) -> list[dict]:
    """Every plan's components with pandas; sessions and peak computed once."""
    lo, hi = np.fmin(df["start_us"], df["end_us"]), np.fmax(df["start_us"], df["end_us"])
    sess = (
        df.assign(lo=lo, hi=hi)
        .groupby(["run_id", "agent_id"])
        .agg(s=("lo", "min"), e=("hi", "max"))
    )
    timed = sess[sess["s"].notna()].sort_values(["s", "e"]).copy()
    timed["rt"] = (timed["e"] - timed["s"]).astype("int64")
    ev = pd.concat([pd.Series(1, index=timed["s"]), pd.Series(-1, index=timed["e"])])
    peak = int(ev.groupby(level=0).sum().sort_index().cumsum().max()) if len(timed) else 0
    window_s = (timed["e"].max() - timed["s"].min()) / 1e6 if len(timed) else 0.0
    llm, kind = df[df["kind"] == "llm"], df["kind"]
    snaps = df[kind == "snapshot"]
    runs = df["run_id"].nunique()
    results = []
    for plan in plans:
        c = dict.fromkeys(COMPONENTS, 0.0)
        c["tokens"], unpriced = _tokens(llm, plan.tokens)
        st = plan.session_time
        if st:
            c["session_time"] = _bill_s(timed["rt"], st) * st.per_second * st.units
        if at := plan.active_time:
            busy = _busy(df, at.kinds).reindex(timed.index).fillna(0)
            c["active_time"] = _bill_s(busy, at) * at.per_second * at.units
        if rq := plan.requests:
            c["requests"] = (rq.per_llm_call * len(llm) + rq.per_tool_call * (kind == "tool").sum()
                             + rq.per_session * len(sess))  # fmt: skip
        if cs := plan.cold_start:
            rate = st.per_second * st.units if st else 0.0
            c["cold_start"] = _cold_starts(timed, cs) * (cs.duration_s * rate + cs.fee)
        if cap := plan.capacity:
            n = (
                math.ceil(peak / cap.sessions_per_replica)
                if cap.replicas == "auto"
                else cap.replicas
            )
            c["capacity"] = n * cap.per_replica_hour * window_s / 3600
        if tiers := plan.concurrency_tiers:
            fit = [t for t in tiers if t.max_concurrency >= peak]
            tier = min(fit, key=lambda t: t.max_concurrency) if fit else max(
                tiers, key=lambda t: t.max_concurrency)  # fmt: skip
            c["concurrency_tier"] = tier.monthly_fee * window_s / (30 * 86400)
        if sn := plan.snapshots:
            gb = snaps["bytes"].sum() / 1e9
            c["snapshots"] = (gb * sn.storage_per_gb_month * sn.retention_days / 30
                              + gb * sn.egress_fraction * sn.egress_per_gb
                              + sn.per_snapshot * len(snaps))  # fmt: skip
        total = sum(c.values())
        results.append({"name": plan.name, "total_usd": total, "per_run_usd": total / runs,
                        "components": c, "unpriced_llm_calls": unpriced})  # fmt: skip
    return results


# ---- the run ---------------------------------------------------------------------------------


def _best(func, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - t0)
    return min(times), result


def _differ(ours: list[dict], theirs: list[dict]) -> list[str]:
    bad = []
    for a, b in zip(ours, theirs):
        pairs = [("total", a["total_usd"], b["total_usd"])]
        pairs += [(k, a["components"][k], b["components"][k]) for k in COMPONENTS]
        pairs.append(("unpriced", a["unpriced_llm_calls"], b["unpriced_llm_calls"]))
        bad += [f"{a['name']}: {k}" for k, x, y in pairs if not np.isclose(x, y, rtol=1e-9)]
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    plans = bench_plans()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "traces.csv"
        n = write_traces(path, args.spans)
        t0 = time.perf_counter()
        ts = load_traces(path)
        t1 = time.perf_counter()
        df = pandas_load(path)
        t2 = time.perf_counter()
    ours_s, ours = _best(lambda: price(ts, plans), args.repeat)
    theirs_s, theirs = _best(lambda: pandas_price(df, plans), args.repeat)
    print(f"{n} spans, {len(plans)} plans: {', '.join(p.name for p in plans)}")
    print(f"{'':>8} {'load s':>7} {'price s':>8}")
    print(f"{'project':>8} {t1 - t0:7.2f} {ours_s:8.3f}")
    print(f"{'pandas':>8} {t2 - t1:7.2f} {theirs_s:8.3f}")
    print(
        f"{'ratio':>8} {(t2 - t1) / (t1 - t0):6.1f}x {theirs_s / ours_s:7.1f}x  (pandas / project)"
    )
    for r in ours:
        print(f"  {r['name']:<42} total ${r['total_usd']:,.2f}")
    differ = _differ(ours, theirs)
    print(f"same numbers: {'yes' if not differ else 'NO: ' + ', '.join(differ)}")


if __name__ == "__main__":
    main()
