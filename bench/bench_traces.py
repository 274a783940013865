"""Benchmark: load a trace file and compute the SPEC §2 metrics, beside plain pandas.

    python bench/bench_traces.py [--sizes 100000 1000000] [--keep DIR]

Writes synthetic trace CSVs (in a temporary directory) with many runs, sub-agents, llm, tool,
snapshot and other spans and some unknowns, then, for each size and each implementation, runs
one fresh Python process that loads the file and computes the metrics. Each process reports
its own times and its peak resident memory (`ru_maxrss`, which includes the interpreter and
the imported libraries, and, unlike tracemalloc, DuckDB's native allocations). The two
implementations' main numbers are compared, so the speed-up is for the same answers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
T0_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
SPANS_PER_SESSION = 28  # about, for sizing the number of runs


def _sessions(rng, n_sessions: int) -> pd.DataFrame:
    """Sessions: runs arrive at random over three days; 0-3 sub-agents start after the main."""
    n_runs = max(1, n_sessions * 10 // 17)
    subagents = rng.choice([0, 0, 1, 2, 3], size=n_runs)
    agents = subagents + 1
    run = np.repeat(np.arange(n_runs), agents)
    first = np.repeat(np.cumsum(agents) - agents, agents)
    agent = np.arange(len(run)) - first
    arrival = T0_US + np.sort(rng.uniform(0, 3 * 86400e6, n_runs)).astype(np.int64)
    start = arrival[run] + np.where(agent > 0, rng.integers(1, 60_000_000, len(run)), 0)
    return pd.DataFrame({"run": run, "agent": agent, "start": start,
                         "steps": rng.integers(3, 24, len(run))})  # fmt: skip


def _spans(rng, sessions: pd.DataFrame) -> pd.DataFrame:
    """Steps: an llm span, then 0-2 tool spans; a snapshot after every 5th step."""
    sess = np.repeat(np.arange(len(sessions)), sessions["steps"].to_numpy())
    step = np.arange(len(sess)) - np.repeat(
        np.cumsum(sessions["steps"].to_numpy()) - sessions["steps"].to_numpy(),
        sessions["steps"].to_numpy(),
    )
    tools = rng.choice([0, 1, 1, 2], size=len(sess))
    snap = (step % 5 == 4).astype(int)
    per_step = 1 + tools + snap
    row_step = np.repeat(np.arange(len(sess)), per_step)
    pos = np.arange(len(row_step)) - np.repeat(np.cumsum(per_step) - per_step, per_step)
    kind = np.where(pos == 0, "llm", np.where(pos <= tools[row_step], "tool", "snapshot"))
    dur = np.where(
        kind == "llm",
        rng.lognormal(1.2, 0.7, len(kind)) * 1e6,
        np.where(kind == "tool", rng.lognormal(-1.0, 1.3, len(kind)) * 1e6,
                 rng.uniform(0.01, 0.3, len(kind)) * 1e6),
    ).astype(np.int64)  # fmt: skip
    gap = rng.integers(0, 200_000, len(kind))
    session = sess[row_step]
    # Spans follow each other within a session: start = session start + the time before it.
    before = np.cumsum(dur + gap) - dur - gap
    first = np.r_[0, np.flatnonzero(np.diff(session)) + 1]
    base = np.repeat(before[first], np.diff(np.r_[first, len(session)]))
    start = sessions["start"].to_numpy()[session] + before - base
    return pd.DataFrame({"session": session, "kind": kind, "start": start, "end": start + dur})


def _finish(rng, sessions: pd.DataFrame, spans: pd.DataFrame) -> pd.DataFrame:
    """Names, tokens, bytes, costs, outcomes, and some unknowns, in SPEC §1 columns."""
    n = len(spans)
    run = sessions["run"].to_numpy()[spans["session"]]
    agent = sessions["agent"].to_numpy()[spans["session"]]
    kind = spans["kind"].to_numpy()
    llm, tool, snap = kind == "llm", kind == "tool", kind == "snapshot"
    inp = np.where(llm, rng.integers(2_000, 120_000, n), -1)
    tool_names = np.array(["bash", "edit", "grep", "python", "read_file", "web_fetch", ""])
    outcome = rng.choice(["true", "false", ""], size=run.max() + 1, p=[0.55, 0.4, 0.05])
    start, end = spans["start"].to_numpy().copy(), spans["end"].to_numpy().copy()
    no_start = rng.random(n) < 0.01
    start[no_start] = -1
    back = rng.random(n) < 0.002
    start[back], end[back] = end[back], start[back]
    untimed_run = rng.random(run.max() + 1) < 0.002
    start[untimed_run[run]], end[untimed_run[run]] = -1, -1
    no_usage = llm & (rng.random(n) < 0.01)
    return pd.DataFrame({
        "source": np.where(run % 3 == 0, "batch-a", "batch-b"),
        "run_id": np.char.add("run-", run.astype(str)),
        "span_id": np.char.add("s", np.arange(n).astype(str)),
        "agent_id": np.where(agent > 0, np.char.add("sub-", agent.astype(str)), ""),
        "kind": kind,
        "name": np.where(llm, np.where(agent > 0, "kimi-k2.6-mini", "kimi-k2.6"),
                         np.where(tool, tool_names[rng.integers(0, 7, n)], "")),
        "start_us": start, "end_us": end,
        "input_tokens": np.where(no_usage, -1, inp),
        "cached_input_tokens": np.where(llm & ~no_usage, inp * rng.uniform(0, 0.9, n), -1),
        "output_tokens": np.where(llm & ~no_usage, rng.integers(20, 4_000, n), -1),
        "bytes": np.where(snap & (rng.random(n) > 0.05), rng.integers(10**5, 10**8, n), -1),
        "cost_usd": np.where(llm & ~no_usage, inp * 1e-6, np.nan),
        "success": outcome[run],
    })  # fmt: skip


def write_traces(path: Path, n_spans: int, seed: int = 1) -> int:
    """Write a synthetic trace CSV of about `n_spans` spans; return the exact number."""
    import duckdb

    rng = np.random.default_rng(seed)
    sessions = _sessions(rng, max(1, n_spans // SPANS_PER_SESSION))
    frame = _finish(rng, sessions, _spans(rng, sessions))
    frame = frame.head(n_spans)
    for col in (
        "start_us",
        "end_us",
        "input_tokens",
        "cached_input_tokens",
        "output_tokens",
        "bytes",
    ):
        frame[col] = frame[col].astype("int64").astype("Int64").where(frame[col] >= 0)
    time_cols = ", ".join(
        f"strftime(make_timestamp({c}_us), '%Y-%m-%dT%H:%M:%S.%fZ') AS {c}_time"
        for c in ("start", "end")
    )
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute(
        f"""COPY (SELECT source, run_id, span_id, NULLIF(agent_id, '') AS agent_id, kind,
                  NULLIF(name, '') AS name, {time_cols}, input_tokens, cached_input_tokens,
                  output_tokens, bytes, cost_usd, NULLIF(success, '') AS success
                  FROM frame) TO '{path}' (HEADER, DELIMITER ',')"""
    )
    con.close()
    return len(frame)


# ---- plain pandas: the same metrics, for comparison ------------------------------------------


def pandas_load(path: Path) -> pd.DataFrame:
    """read_csv, times as float µs (NaN unknown)."""
    df = pd.read_csv(path, dtype={"agent_id": str, "name": str, "success": str},
                     keep_default_na=False, na_values=[""])  # fmt: skip
    for col in ("start", "end"):
        t = pd.to_datetime(df[f"{col}_time"], utc=True, format="ISO8601")
        df[f"{col}_us"] = (t - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1)
        df[f"{col}_us"] = df[f"{col}_us"].astype("float64")
    df["agent_id"] = df["agent_id"].fillna("")
    df["success"] = df["success"].str.lower().map({"true": True, "false": False})
    return df


def _q(values, qs):
    values = np.asarray(values, dtype="float64")
    return [None] * len(qs) if len(values) == 0 else list(np.quantile(values, qs))


def _busy(df: pd.DataFrame, kinds) -> pd.Series:
    """Union of intervals per session (µs), like sessions.busy_sql."""
    iv = df[df["kind"].isin(kinds) & (df["end_us"] >= df["start_us"])]
    iv = iv[["run_id", "agent_id", "start_us", "end_us"]].sort_values(
        ["run_id", "agent_id", "start_us", "end_us"])  # fmt: skip
    keys = [iv["run_id"], iv["agent_id"]]
    reach = iv.groupby(keys, sort=False)["end_us"].cummax().groupby(keys, sort=False).shift()
    island = (reach.isna() | (iv["start_us"] > reach)).cumsum()
    isl = iv.assign(island=island).groupby(["run_id", "agent_id", "island"], sort=False)
    length = (isl["end_us"].max() - isl["start_us"].min()).groupby(level=[0, 1]).sum()
    return length


def pandas_metrics(df: pd.DataFrame) -> dict:
    """The main SPEC §2 numbers with pandas and numpy."""
    lo = np.fmin(df["start_us"], df["end_us"])
    hi = np.fmax(df["start_us"], df["end_us"])
    g = df.assign(lo=lo, hi=hi).groupby(["run_id", "agent_id"])
    sess = pd.DataFrame({"s": g["lo"].min(), "e": g["hi"].max()})
    sess["rt"] = sess["e"] - sess["s"]
    sess["active"] = _busy(df, ["llm", "tool", "snapshot"]).reindex(sess.index).fillna(0)
    timed = sess[sess["s"].notna()]
    pos = timed[timed["e"] > timed["s"]]
    ev = pd.concat([pd.Series(1, index=pos["s"].values), pd.Series(-1, index=pos["e"].values)])
    ev = ev.groupby(level=0).sum().sort_index()
    running = ev.cumsum()
    gaps = np.diff(running.index.to_numpy())
    union = gaps[running.to_numpy()[:-1] > 0].sum()
    window = timed["e"].max() - timed["s"].min()
    runs = df.groupby("run_id")["success"].agg(lambda s: s.dropna().any() if s.notna().any()
                                               else None)  # fmt: skip
    tools = df[df["kind"] == "tool"]
    lat = tools["end_us"] - tools["start_us"]
    lat = lat[lat >= 0]
    by_name = tools.assign(lat=lat).groupby("name", dropna=False)["lat"]
    # A snapshot with only one time counts for its session's extent, nothing else.
    timed_snap = (df["kind"] == "snapshot") & df["start_us"].notna() & df["end_us"].notna()
    snaps = df[timed_snap].sort_values(["run_id", "agent_id", "start_us"])
    snap_gap = snaps.groupby(["run_id", "agent_id"])["start_us"].diff()
    llm = df[df["kind"] == "llm"]
    return {
        "runs": len(runs),
        "completed_runs": int((runs == True).sum()),
        "sessions": len(sess),
        "spans": len(df),
        "runtime_total_s": timed["rt"].sum() / 1e6,
        "runtime_p95_s": _q(timed["rt"], [0.95])[0] / 1e6,
        "active_total_s": timed["active"].sum() / 1e6,
        "idle_p50_s": _q(timed["rt"] - timed["active"], [0.5])[0] / 1e6,
        "concurrency_average": timed["rt"].sum() / window,
        "concurrency_average_active": timed["rt"].sum() / union,
        "concurrency_peak": int(running.max()),
        "input_tokens": int(llm["input_tokens"].sum()),
        "tool_latency_p99_s": _q(lat, [0.99])[0] / 1e6,
        "tool_names": len(by_name.size()),
        "snapshot_p95_bytes": _q(df.loc[df["kind"] == "snapshot", "bytes"].dropna(), [0.95])[0],
        "snapshot_mean_interval_s": snap_gap.mean() / 1e6,
        "recorded_cost_usd": df["cost_usd"].sum(),
    }


def project_summary(m: dict) -> dict:
    """The numbers of `compute_metrics` that `pandas_metrics` also computes."""
    return {
        "runs": m["runs"], "completed_runs": m["completed_runs"],
        "sessions": m["sessions"], "spans": m["spans"],
        "runtime_total_s": m["runtime_s"]["total"], "runtime_p95_s": m["runtime_s"]["p95"],
        "active_total_s": m["active_s"]["total"], "idle_p50_s": m["idle_s"]["p50"],
        "concurrency_average": m["concurrency"]["average"],
        "concurrency_average_active": m["concurrency"]["average_active"],
        "concurrency_peak": m["concurrency"]["peak"],
        "input_tokens": m["llm"]["input_tokens"],
        "tool_latency_p99_s": m["tools"]["latency_s"]["p99"],
        "tool_names": len(m["tools"]["by_name"]),
        "snapshot_p95_bytes": m["snapshots"]["p95_bytes"],
        "snapshot_mean_interval_s": m["snapshots"]["mean_interval_s"],
        "recorded_cost_usd": m["recorded_cost_usd"],
    }  # fmt: skip


# ---- one measurement per process -------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (10^6 bytes).

    VmHWM belongs to the process image, so it starts afresh at exec; `ru_maxrss` would not: Linux
    carries it over from the parent that forked the process, here the one that made the data.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def child(impl: str, path: str) -> None:
    """Load and compute in this process; print times, peak RSS and the numbers as JSON."""
    if impl == "project":  # imports stay outside the timing (pandas is imported by both)
        sys.path.insert(0, str(ROOT))
        from cost_model.loader import load_traces
        from cost_model.metrics import compute_metrics, per_run_metrics

    t0, c0 = time.perf_counter(), time.process_time()
    if impl == "project":
        ts = load_traces(path)
        t1 = time.perf_counter()
        summary = project_summary(compute_metrics(ts))
        t2, c2 = time.perf_counter(), time.process_time()
        per_run_metrics(ts)
        t3 = time.perf_counter()
    else:
        df = pandas_load(Path(path))
        t1 = time.perf_counter()
        summary = pandas_metrics(df)
        t2, c2 = time.perf_counter(), time.process_time()
        t3 = t2
    print(json.dumps({"load_s": t1 - t0, "metrics_s": t2 - t1, "per_run_s": t3 - t2,
                      "cpu_s": c2 - c0, "rss_mb": peak_rss_mb(), "summary": summary}))  # fmt: skip


def measure(impl: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", impl, str(path)],
                         check=True, capture_output=True, text=True)  # fmt: skip
    return json.loads(out.stdout)


def _agree(a: dict, b: dict) -> list[str]:
    """Names of the numbers on which the two implementations differ."""
    return [k for k in a if not np.isclose(a[k], b[k], rtol=1e-9, atol=1e-9)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--keep", help="write the CSVs into this directory and keep them")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load} (other work slows every figure)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        print(f"{'spans':>9} {'impl':>8} {'load s':>7} {'metrics s':>9} {'total s':>7} "
              f"{'per-run s':>9} {'peak RSS MB':>11} {'CPU s':>6}")  # fmt: skip
        for size in args.sizes:
            path = folder / f"traces_{size}.csv"
            n = write_traces(path, size)
            res = {impl: measure(impl, path) for impl in ("project", "pandas")}
            for impl, r in res.items():
                per_run = f"{r['per_run_s']:9.2f}" if impl == "project" else f"{'':>9}"
                print(
                    f"{n:>9} {impl:>8} {r['load_s']:7.2f} {r['metrics_s']:9.2f} "
                    f"{r['load_s'] + r['metrics_s']:7.2f} {per_run} {r['rss_mb']:11.0f} "
                    f"{r['cpu_s']:6.2f}"
                )
            p, q = res["project"], res["pandas"]
            speed = (q["load_s"] + q["metrics_s"]) / (p["load_s"] + p["metrics_s"])
            print(
                f"{'':>9} {'ratio':>8} {q['load_s'] / p['load_s']:6.1f}x "
                f"{q['metrics_s'] / p['metrics_s']:8.1f}x {speed:6.1f}x {'':>9} "
                f"{q['rss_mb'] / p['rss_mb']:10.1f}x  (pandas / project; "
                f"{os.path.getsize(path) / 1e6:.0f} MB file)"
            )
            differ = _agree(p["summary"], q["summary"])
            print(f"{'':>18} same numbers: {'yes' if not differ else 'NO: ' + ', '.join(differ)}")


if __name__ == "__main__":
    main()
