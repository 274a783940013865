"""A plan as the flat values of an editing form, and back (the Plans page's logic, no widgets).

The form holds one value per widget key: text fields, a switch and a number per field of each
block, and a table of rows for the token cards and the concurrency tiers. `form_to_data` turns
those values into plan data for `parse_plan`, which alone decides what is valid, so the form and
a plan file are checked by the same rules and report the same messages.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from cost_model.catalogue import catalogue_models
from cost_model.plans import (
    RATE_KEYS,
    ActiveTimeRate,
    Capacity,
    ColdStart,
    Plan,
    RateCard,
    Requests,
    Snapshots,
    TimeRate,
)

KEY = "plan_form:"
"""Prefix of every form widget key in the page's session state."""
TEXT_KEYS = ("name", "description", "source", "notes")
BLOCKS: dict[str, type[BaseModel]] = {
    "session_time": TimeRate,
    "active_time": ActiveTimeRate,
    "requests": Requests,
    "cold_start": ColdStart,
    "capacity": Capacity,
    "snapshots": Snapshots,
}
CARD_COLUMNS = ("match", *RATE_KEYS, "long_context.above_input_tokens") + tuple(
    f"long_context.{k}" for k in RATE_KEYS
)
TIER_COLUMNS = ("max_concurrency", "monthly_fee")
INT_COLUMNS = {"long_context.above_input_tokens", "max_concurrency"}
TABLES = {"tokens": CARD_COLUMNS, "concurrency_tiers": TIER_COLUMNS}
COMPONENTS = tuple(k for k in Plan.model_fields if k in BLOCKS or k in TABLES)
"""The plan's blocks in the order of the plan format."""


@dataclass(frozen=True)
class FieldSpec:
    """One widget of a block: its key in the form, label, kind and help text."""

    key: str
    """Widget key, e.g. `plan_form:session_time.per_second`."""
    label: str
    """The field's name in a plan file."""
    kind: str
    """`float`, `int`, `kinds` (a list of span kinds) or `replicas` (a number or auto)."""
    help: str
    """The field's docstring (with its unit)."""


def _kind(name: str, annotation: Any) -> str:
    if name in ("kinds", "replicas"):
        return name
    return "int" if int in (annotation, *typing.get_args(annotation)) else "float"


def block_fields(block: str) -> list[FieldSpec]:
    """The widgets of one block, in the order of the plan format."""
    model = BLOCKS[block]
    return [
        FieldSpec(f"{KEY}{block}.{name}", name, _kind(name, f.annotation), f.description or "")
        for name, f in model.model_fields.items()
    ]


def _form_value(spec: FieldSpec, value: Any) -> Any:
    if spec.kind == "replicas":
        return str(value)
    if spec.kind == "kinds":
        return list(value)
    return int(value) if spec.kind == "int" else float(value)


def _rows(items: list[BaseModel] | None, columns: tuple[str, ...]) -> list[dict]:
    rows = []
    for item in items or []:
        flat = item.model_dump()
        nested = flat.pop("long_context", None) or {}
        flat.update({f"long_context.{k}": v for k, v in nested.items()})
        rows.append({c: flat.get(c) for c in columns})
    return rows


def plan_to_form(plan: Plan, *, name: str | None = None) -> dict[str, Any]:
    """The form's values for `plan` (widget key → value); `name` replaces the plan's name."""
    values: dict[str, Any] = {f"{KEY}{k}": getattr(plan, k) for k in TEXT_KEYS}
    values[f"{KEY}name"] = plan.name if name is None else name
    values[f"{KEY}checked"] = plan.checked
    for block, model in BLOCKS.items():
        present = getattr(plan, block)
        values[f"{KEY}{block}.on"] = present is not None
        shown = present if present is not None else model()
        for spec in block_fields(block):
            values[spec.key] = _form_value(spec, getattr(shown, spec.label))
    for table, columns in TABLES.items():
        values[f"{KEY}{table}.on"] = getattr(plan, table) is not None
        values[f"{KEY}{table}.rows"] = _rows(getattr(plan, table), columns)
    return values


def _plain(value: Any) -> Any:
    """A table cell as plain data: blank (None, NaN, NA, "") is None; numpy scalars unwrapped."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    if value.__class__.__name__ in ("NAType", "NaTType"):
        return None
    return value


def _row_data(row: Mapping, columns: tuple[str, ...]) -> dict | None:
    cells = {c: _plain(row.get(c)) for c in columns}
    for c in INT_COLUMNS & cells.keys():
        if isinstance(cells[c], float) and cells[c].is_integer():
            cells[c] = int(cells[c])
    cells = {c: v for c, v in cells.items() if v is not None}
    if not cells:
        return None
    data = {c: v for c, v in cells.items() if not c.startswith("long_context.")}
    nested = {c.split(".", 1)[1]: v for c, v in cells.items() if c.startswith("long_context.")}
    if nested:
        data["long_context"] = nested
    return data


def _replicas(text: Any) -> Any:
    text = str(text).strip()
    return int(text) if re.fullmatch(r"\d+", text) else text


def form_to_data(values: Mapping[str, Any]) -> dict:
    """Plan data from the form's values, for `parse_plan`: blanks are left out (so default)."""
    data: dict[str, Any] = {k: (values.get(f"{KEY}{k}") or "").strip() for k in TEXT_KEYS}
    checked = values.get(f"{KEY}checked")
    data["checked"] = checked if isinstance(checked, dt.date) else None
    for block in BLOCKS:
        if not values.get(f"{KEY}{block}.on"):
            continue
        fields = {s.label: values.get(s.key) for s in block_fields(block)}
        if "replicas" in fields:
            fields["replicas"] = _replicas(fields["replicas"])
        data[block] = {k: _plain(v) for k, v in fields.items() if _plain(v) is not None}
    for table, columns in TABLES.items():
        if values.get(f"{KEY}{table}.on"):
            rows = [_row_data(r, columns) for r in values.get(f"{KEY}{table}.rows") or []]
            data[table] = [r for r in rows if r is not None]
    return data


def component_help(component: str) -> str:
    """What a plan block does (its docstring)."""
    return Plan.model_fields[component].description or ""


def catalogue_choices(contains: str) -> dict[str, tuple[str, str]]:
    """Catalogue models containing `contains`: label "provider · model" → (model id, provider id)."""
    rows = catalogue_models(contains)
    return {
        f"{r['provider_id']} · {r['model_id']}": (r["model_id"], r["provider_id"]) for r in rows
    }


def card_row(card: RateCard) -> dict:
    """A rate card as a row of the token table."""
    return _rows([card], CARD_COLUMNS)[0]


def plans_table(presets: Mapping[str, Plan], mine: Mapping[str, Plan]) -> list[dict]:
    """One row per plan (presets, then the user's): name, origin, components, checked, source."""
    rows = []
    for origin, plans in (("preset", presets), ("yours", mine)):
        for name, plan in plans.items():
            parts = [b for b in COMPONENTS if getattr(plan, b) is not None]
            rows.append(
                {
                    "plan": name,
                    "from": origin,
                    "components": ", ".join(parts),
                    "checked": plan.checked.isoformat() if plan.checked else "not stated",
                    "source": plan.source,
                }
            )
    return rows


def name_problems(plan: Plan, presets: Mapping[str, Plan]) -> list[str]:
    """Why `plan` cannot be kept under its name (a preset has it), as sentences; [] if it can."""
    if plan.name in presets:
        return [f"name: {plan.name!r} is the name of a preset; choose another name."]
    return []


def file_name(plan: Plan) -> str:
    """A file name for the plan's YAML, from its name."""
    slug = re.sub(r"[^a-z0-9.]+", "-", plan.name.lower()).strip("-.")
    return f"{slug or 'plan'}.yaml"
