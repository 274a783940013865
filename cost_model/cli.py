"""The command line (SPEC §5): `python -m cost_model COMMAND`."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb

from cost_model.errors import InputError


def flatten(data: dict, prefix: str = "") -> dict:
    """Nested dicts become dotted keys; lists of scalars are joined with '; '."""
    flat: dict = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
            flat[name] = "; ".join(str(v) for v in value)
        else:
            flat[name] = value
    return flat


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:.10g}"
    return str(value)


def render_rows(rows: list[dict], fmt: str) -> str:
    """Rows of flat dicts as CSV or an aligned text table."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    if fmt == "csv":
        from cost_model.export import to_csv_text

        return to_csv_text(columns, [[row.get(c) for c in columns] for row in rows])
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines) + "\n"


def render_record(record: dict, fmt: str) -> str:
    """One nested result as key/value rows (table, csv) or JSON."""
    if fmt == "json":
        return json.dumps(record, indent=2) + "\n"
    rows = []
    for key, value in flatten(record).items():
        if isinstance(value, list):
            for i, item in enumerate(value):
                for k, v in flatten(item).items():
                    rows.append({"key": f"{key}[{i}].{k}", "value": v})
        else:
            rows.append({"key": key, "value": value})
    return render_rows(rows, fmt)


def render_plans(record: dict, fmt: str, list_key: str = "plans") -> str:
    """A result with a list of plans: one row per plan (table, csv) or JSON."""
    if fmt == "json":
        return json.dumps(record, indent=2) + "\n"
    top = {k: v for k, v in record.items() if k != list_key}
    rows = [{**flatten(top), **flatten(plan)} for plan in record[list_key]]
    return render_rows(rows, fmt)


def _where(pairs: list[str]) -> list[tuple[str, str]]:
    where = []
    for pair in pairs or []:
        column, sep, value = pair.partition("=")
        if not sep or not column.strip():
            raise InputError("--where", [f"{pair!r} is not COLUMN=VALUE"])
        where.append((column.strip(), value))
    return where


def _load(args):
    """The trace file, with every --where applied (all must hold, even two on one column)."""
    from cost_model.loader import load_traces

    where = _where(args.where)
    ts = load_traces(args.traces, name=args.traces)
    for column, value in where:
        ts = ts.filter({column: value})
    if ts.attributes:
        names = ", ".join(ts.attributes)
        print(f"note: attribute columns, kept as text (--where filters by them): {names}",
              file=sys.stderr)  # fmt: skip
    for warning in ts.warnings if args.command != "metrics" or args.per_run else []:
        # The metrics of the whole data set list them in their output; the rest say them here.
        print(f"warning: {warning}", file=sys.stderr)
    return ts


def cmd_metrics(args) -> str:
    from cost_model.metrics import compute_metrics, per_run_metrics

    ts = _load(args)
    if args.per_run:
        rows = per_run_metrics(ts)
        if args.format == "json":
            return json.dumps(rows, indent=2) + "\n"
        return render_rows([flatten(r) for r in rows], args.format)
    return render_record(compute_metrics(ts), args.format)


def cmd_price(args) -> str:
    from cost_model.billing import price
    from cost_model.plans import load_plan

    plans = [load_plan(Path(p)) for p in args.plan]
    ts = _load(args)
    return render_plans({"plans": price(ts, plans)}, args.format)


def cmd_estimate(args) -> str:
    from cost_model.estimate import estimate
    from cost_model.plans import load_plan
    from cost_model.workload import load_workload

    workload = load_workload(Path(args.workload))
    plans = [load_plan(Path(p)) for p in args.plan]
    return render_plans(estimate(workload, plans), args.format)


def cmd_simulate(args) -> str:
    from cost_model.simulate import simulate_to_csv
    from cost_model.workload import load_workload

    workload = load_workload(Path(args.workload))
    try:
        summary = simulate_to_csv(workload, days=args.days, seed=args.seed, path=args.out)
    except duckdb.IOException as err:
        problem = str(err).splitlines()[0].removeprefix("IO Error: ")
        raise InputError(args.out, [f"{args.out}: cannot be written ({problem})"]) from None
    return render_record(summary, args.format)


def cmd_fit(args) -> str:
    from cost_model.fit import fit_workload
    from cost_model.workload import save_workload

    workload = fit_workload(_load(args))
    save_workload(workload, args.out)
    return render_record(workload.model_dump(mode="json"), args.format)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cost_model",
        description="What long-running AI agents cost: metrics, plans, workloads.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, func: Callable, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--format", choices=["table", "json", "csv"], default="table")
        p.set_defaults(func=func)
        return p

    def traces_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("traces", help="a trace CSV file (SPEC §1)")
        p.add_argument(
            "--where",
            action="append",
            default=[],
            metavar="COLUMN=VALUE",
            help="keep only spans whose column or attribute has this value (repeatable)",
        )

    p = command("metrics", cmd_metrics, "the runtime metrics of a trace file")
    traces_args(p)
    p.add_argument("--per-run", action="store_true", help="one row per run")

    p = command("price", cmd_price, "price a trace file under pricing plans")
    traces_args(p)
    p.add_argument("--plan", action="append", required=True, help="a plan file (repeatable)")

    p = command("estimate", cmd_estimate, "estimate a workload's cost under pricing plans")
    p.add_argument("workload", help="a workload file (YAML or JSON)")
    p.add_argument("--plan", action="append", required=True, help="a plan file (repeatable)")

    p = command("simulate", cmd_simulate, "write simulated traces of a workload")
    p.add_argument("workload", help="a workload file (YAML or JSON)")
    p.add_argument("--days", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True, help="the trace CSV file to write")

    p = command("fit", cmd_fit, "estimate a workload from a trace file")
    traces_args(p)
    p.add_argument("--out", required=True, help="the workload file to write")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; 0 on success, 2 on invalid input (the message on standard error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        out = args.func(args)
    except InputError as err:
        print(err.message, file=sys.stderr)
        return 2
    except OSError as err:
        print(f"{err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return 2
    sys.stdout.write(out)
    return 0
