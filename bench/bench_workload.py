"""Benchmark: the workload estimate and a 200-point horizon sweep under five plans.

    python bench/bench_workload.py [--points 200] [--repeat 5] [--tasks 1000 20000]

Five bundled plans that together use tokens, session and active time, requests, cold starts,
capacity and tiers. For each monthly volume, times `estimate` alone, `horizon_sweep` over steps
1..points, and both together with the sweep's crossings (the Workload page's work on each
change), best of `--repeat`.
The target: both together under 50 ms at 200 points for the default volume.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cost_model.estimate import crossovers, estimate, horizon_sweep, plan_crossings
from cost_model.plans import load_presets
from cost_model.workload import Workload

PLANS = (
    "Kimi K2.6 tokens (Moonshot API)",
    "Kimi K2.6 tokens + AgentCore Runtime",
    "Kimi K2.6 tokens + AWS Lambda (2 GB)",
    "Kimi K2.6 on Modal 8×H200 containers",
    "Kimi K2.6 on Together dedicated 8×H200",
)


def best_ms(func, repeat: int) -> float:
    """The fastest of `repeat` runs of func(), in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def redraw(w: Workload, plans, steps) -> None:
    """What the Workload page computes on every change: the estimate, the sweep, its crossings."""
    estimate(w, plans)
    sweep = horizon_sweep(w, plans, steps)
    crossovers(sweep)
    plan_crossings(sweep)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tasks", type=float, nargs="+", default=[1000, 20000])
    args = parser.parse_args()
    presets = load_presets()
    plans = [presets[name] for name in PLANS]
    steps = range(1, args.points + 1)
    print(f"{len(plans)} plans, sweep of {args.points} points, best of {args.repeat}")
    print(
        f"{'tasks/month':>12} {'attempts':>9} {'estimate ms':>12} {'sweep ms':>9} "
        f"{'both ms':>8} crossovers"
    )
    for tasks in args.tasks:
        w = Workload(tasks_per_month=tasks)
        estimate(w, plans)  # warm imports and caches
        e_ms = best_ms(lambda w=w: estimate(w, plans), args.repeat)
        s_ms = best_ms(lambda w=w: horizon_sweep(w, plans, steps), args.repeat)
        both_ms = best_ms(lambda w=w: redraw(w, plans, steps), args.repeat)
        found = len(crossovers(horizon_sweep(w, plans, steps)))
        attempts = tasks / w.success_rate
        print(f"{tasks:12.0f} {attempts:9.0f} {e_ms:12.1f} {s_ms:9.1f} {both_ms:8.1f} {found}")


if __name__ == "__main__":
    main()
