"""A comparison of plans as one self-contained HTML file, to mail to someone without Python.

The file holds its tables as HTML and its charts as interactive Plotly figures, with plotly.js
inlined once (about 5 MB). Nothing is fetched from the network when it opens: no script, style,
font or image comes from a URL, so it works offline and in a mail client's preview alike.
Every text that came from a user (plan names, data set names, notes) is escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Iterable, Sequence

import pandas as pd

from cost_model.billing import price_frame

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem;
       color: #1f2430; max-width: 1200px; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.meta { color: #5b6270; font-size: .9rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }
th, td { border-bottom: 1px solid #dde1e8; padding: .3rem .6rem; white-space: nowrap; }
th { text-align: left; background: #f3f5f9; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
dt { color: #5b6270; } dd { margin: 0; }
.chart { margin: 1rem 0; }
"""

_UNITS = {"_usd": "USD", "_s": "s", "_bytes": "bytes"}


def money(value: float | None) -> str:
    """Dollars for a table: cents from $1 up, four decimals below; unknown is an em dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if abs(value) >= 1 or value == 0:
        return f"${value:,.2f}"
    return f"${value:,.4f}"


def _cell(column: str, value) -> tuple[str, bool]:
    """(text, is_number) of one table cell."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—", True
    if column.endswith("_usd") and isinstance(value, (int, float)):
        return money(float(value)), True
    if isinstance(value, bool):
        return ("yes" if value else "no"), False
    if isinstance(value, int):
        return f"{value:,}", True
    if isinstance(value, float):
        return (f"{value:,.0f}" if value.is_integer() else f"{value:,.4g}"), True
    return str(value), False


def heading(column: str) -> str:
    """A column name for people: `per_run_usd` → `per run (USD)`."""
    for suffix, unit in _UNITS.items():
        if column.endswith(suffix):
            return column[: -len(suffix)].replace("_", " ") + f" ({unit})"
    return column.replace("_", " ")


def table_html(frame: pd.DataFrame) -> str:
    """A DataFrame as an HTML table; money columns (`*_usd`) as dollars, unknowns as —."""
    head = "".join(f"<th>{html.escape(heading(str(c)))}</th>" for c in frame.columns)
    rows = []
    for record in frame.astype(object).where(frame.notna(), None).itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record):
            text, number = _cell(str(column), value)
            cls = ' class="num"' if number else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    body = "\n".join(rows)
    return f'<div class="scroll"><table>\n<tr>{head}</tr>\n{body}\n</table></div>'


def figures_html(figures: Iterable) -> str:
    """Plotly figures as HTML divs; plotly.js is inlined once, before the first."""
    parts = []
    for i, fig in enumerate(figures):
        div = fig.to_html(
            full_html=False,
            include_plotlyjs=(i == 0),
            config={"displaylogo": False, "responsive": True},
        )
        parts.append(f'<div class="chart">{div}</div>')
    return "\n".join(parts)


def report_html(
    title: str,
    *,
    context: Sequence[tuple[str, str]] = (),
    tables: Sequence[tuple[str, pd.DataFrame]] = (),
    figures: Iterable = (),
    notes: Sequence[str] = (),
    generated: dt.datetime | None = None,
) -> str:
    """One self-contained HTML page: a title, what was compared, tables, charts and notes.

    `context` is (label, value) pairs (data set, filters, workload); `notes` are sentences such
    as plan warnings. `generated` is the time printed in the page (default: now, UTC).
    """
    generated = generated or dt.datetime.now(dt.UTC)
    esc = html.escape
    meta = "".join(f"<dt>{esc(k)}</dt><dd>{esc(str(v))}</dd>" for k, v in context)
    sections = [f"<h2>{esc(h)}</h2>\n{table_html(frame)}" for h, frame in tables]
    charts = figures_html(figures)
    if charts:
        sections.append(f"<h2>Charts</h2>\n{charts}")
    if notes:
        items = "".join(f"<li>{esc(n)}</li>" for n in notes)
        sections.append(f"<h2>Notes</h2>\n<ul>{items}</ul>")
    stamp = generated.strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{esc(title)}</h1>\n"
        f'<p class="meta">Agent cost model report, made {stamp}. Amounts in US dollars; '
        "— means unknown.</p>\n"
        f"<dl>{meta}</dl>\n" + "\n".join(sections) + "\n</body>\n</html>\n"
    )


def plan_notes(results: Sequence[dict]) -> list[str]:
    """Each plan's warnings, as `plan: sentence` lines."""
    return [f"{r['name']}: {w}" for r in results for w in r.get("warnings") or []]


def sources_frame(plans: Iterable) -> pd.DataFrame:
    """Where each plan's prices come from and when they were checked (as text, not links)."""
    rows = [
        {
            "plan": p.name,
            "checked": p.checked.isoformat() if p.checked else None,
            "source": p.source or None,
        }
        for p in plans
    ]
    return pd.DataFrame(rows, columns=["plan", "checked", "source"])


def price_report(
    results: Sequence[dict],
    figures: Iterable = (),
    *,
    plans: Iterable = (),
    context: Sequence[tuple[str, str]] = (),
    recorded_usd: float | None = None,
    title: str = "Plan comparison",
    generated: dt.datetime | None = None,
) -> str:
    """The report of `billing.price` results (SPEC §5 `price.plans`) for a set of traces.

    `plans` (the Plan models priced) adds a table of where each plan's prices come from.
    """
    tables = [("Cost by plan", price_frame(list(results), recorded_usd))]
    sources = sources_frame(plans)
    if len(sources):
        tables.append(("Where the prices come from", sources))
    return report_html(
        title,
        context=context,
        tables=tables,
        figures=figures,
        notes=plan_notes(results),
        generated=generated,
    )


def estimate_frame(estimate: dict) -> pd.DataFrame:
    """One row per plan of an `estimate.estimate` result: per attempt, task, month, components."""
    rows = []
    for p in estimate["plans"]:
        row = {
            "plan": p["name"],
            "per_attempt_usd": p["per_attempt_usd"],
            "per_completed_task_usd": p["per_completed_task_usd"],
            "per_month_usd": p["per_month_usd"],
        }
        row |= {f"{k}_per_month_usd": v for k, v in p["components"].items()}
        row |= {"cold_starts_per_month": p.get("cold_starts_per_month"), "replicas": p["replicas"]}
        rows.append(row)
    return pd.DataFrame(rows)


def estimate_report(
    estimate: dict,
    figures: Iterable = (),
    *,
    plans: Iterable = (),
    context: Sequence[tuple[str, str]] = (),
    title: str = "Workload estimate by plan",
    generated: dt.datetime | None = None,
) -> str:
    """The report of an `estimate.estimate` result (SPEC §5 `estimate`) for a workload."""
    tables = [("Cost by plan", estimate_frame(estimate))]
    sources = sources_frame(plans)
    if len(sources):
        tables.append(("Where the prices come from", sources))
    volume = [
        ("tasks per month", f"{estimate['tasks_per_month']:,.0f}"),
        ("attempts per month", f"{estimate['attempts_per_month']:,.0f}"),
    ]
    return report_html(
        title,
        context=[*context, *volume],
        tables=tables,
        figures=figures,
        notes=plan_notes(estimate["plans"]),
        generated=generated,
    )
