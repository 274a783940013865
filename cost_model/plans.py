"""Pricing plans (SPEC §3): pydantic models whose field names are the keys of a plan file.

A plan is read from YAML (a safe loader, so JSON reads too) and validated whole: unknown keys at
any depth, wrong types, negative or non-finite numbers are errors naming the file, the line and the
key path (`tokens[0].input_per_mtok`). Defaults that point at another rate ("default: input rate")
are resolved at validation time, so billing reads every effective rate directly from its field.

Models are frozen: a preset shared by every user of a server cannot be changed through one of them
(`load_presets` also hands out copies, since a frozen model's lists are still lists).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cost_model import documents
from cost_model.errors import InputError

PRESETS_DIR = Path(__file__).resolve().parent.parent / "data" / "plans"
SPAN_KINDS = ("llm", "tool", "snapshot", "other")
RATE_KEYS = ("input_per_mtok", "cached_input_per_mtok", "cache_write_per_mtok", "output_per_mtok")

# Strict: a quoted "0.95" or a `true` is a wrong type, not a number; ints are fine as floats.
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]
Count = Annotated[int, Field(ge=0, strict=True)]


_Loader = documents.NumberLoader


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class LongContext(_Block):
    """Rates for a call whose input is over a threshold; they apply to all of its tokens."""

    above_input_tokens: Count
    """Threshold in tokens: a call with more `input_tokens` than this uses these rates."""
    input_per_mtok: Amount | None = None
    """USD per 10^6 uncached input tokens; default: the card's `input_per_mtok`."""
    cached_input_per_mtok: Amount | None = None
    """USD per 10^6 cached input tokens; default: the card's `cached_input_per_mtok`."""
    cache_write_per_mtok: Amount | None = None
    """USD per 10^6 cache-write tokens; default: the card's `cache_write_per_mtok`."""
    output_per_mtok: Amount | None = None
    """USD per 10^6 output tokens; default: the card's `output_per_mtok`."""


class RateCard(_Block):
    """Token prices for the `llm` spans whose name fits `match`."""

    match: str = "*"
    """Shell-style pattern on the llm span's name (case-sensitive; `*` also matches `/`)."""
    input_per_mtok: Amount = 0.0
    """USD per 10^6 uncached input tokens."""
    cached_input_per_mtok: Amount | None = None
    """USD per 10^6 input tokens read from a prompt cache; default: `input_per_mtok`."""
    cache_write_per_mtok: Amount | None = None
    """USD per 10^6 input tokens written to a prompt cache; default: `input_per_mtok`."""
    output_per_mtok: Amount = 0.0
    """USD per 10^6 output tokens (reasoning included)."""
    long_context: LongContext | None = None
    """Rates for calls over `above_input_tokens` input tokens; absent: no long-context price."""

    @model_validator(mode="after")
    def _resolve_defaults(self) -> RateCard:
        # Fill every "default: another rate" here, once, so that billing never re-derives it.
        # The model is frozen, hence object.__setattr__ during its own validation.
        for key in ("cached_input_per_mtok", "cache_write_per_mtok"):
            if getattr(self, key) is None:
                object.__setattr__(self, key, self.input_per_mtok)
        lc = self.long_context
        if lc is not None:
            own = {k: getattr(self, k) for k in RATE_KEYS}
            filled = {k: own[k] for k in RATE_KEYS if getattr(lc, k) is None}
            if filled:
                object.__setattr__(self, "long_context", lc.model_copy(update=filled))
        return self


class TimeRate(_Block):
    """A price per second of a session's wall-clock lifetime."""

    per_second: Amount = 0.0
    """USD per unit-second."""
    units: Amount = 1.0
    """How many units are billed at once (e.g. GB of memory, vCPUs); default 1."""
    granularity_s: Amount = 0.0
    """Seconds: each session's time rounds up to a multiple of this; 0 = exact."""
    minimum_s: Amount = 0.0
    """Seconds: the least a session is billed."""


class ActiveTimeRate(TimeRate):
    """A price per second during which spans of the given kinds run (their union)."""

    kinds: list[Literal["llm", "tool", "snapshot", "other"]] = Field(
        default_factory=lambda: ["tool"]
    )
    """Span kinds whose running time is billed (llm, tool, snapshot, other); default [tool]."""

    @field_validator("kinds", mode="before")
    @classmethod
    def _lower_kinds(cls, value: Any) -> Any:
        # Trace kinds are case-insensitive (SPEC §1), so plan kinds are too.
        if isinstance(value, list):
            return [v.strip().lower() if isinstance(v, str) else v for v in value]
        return value


class Requests(_Block):
    """Fees per call and per session, timed or not, priced or not."""

    per_llm_call: Amount = 0.0
    """USD per `llm` span."""
    per_tool_call: Amount = 0.0
    """USD per `tool` span."""
    per_session: Amount = 0.0
    """USD per session (one agent of one run)."""


class ColdStart(_Block):
    """Instances that go cold after an idle timeout; a new one costs start-up time and a fee."""

    idle_timeout_s: Amount = 0.0
    """Seconds an instance stays warm after its session ends."""
    duration_s: Amount = 0.0
    """Seconds billed at the session_time rate for each cold start."""
    fee: Amount = 0.0
    """USD per cold start."""
    warm_instances: Count = 0
    """Instances that are always warm and never go cold (count)."""


class Capacity(_Block):
    """Replicas billed by the hour over the whole window, whether used or not."""

    per_replica_hour: Amount = 0.0
    """USD per replica-hour."""
    sessions_per_replica: Annotated[int, Field(ge=1, strict=True)] = 1
    """Sessions one replica serves at once (count, at least 1); default 1."""
    replicas: int | Literal["auto"] = "auto"
    """Replicas (count), or `auto` = ceil(peak concurrency / sessions_per_replica)."""

    @field_validator("replicas", mode="before")
    @classmethod
    def _replicas(cls, value: Any) -> Any:
        # One clear message instead of one per branch of the union.
        whole = isinstance(value, int) and not isinstance(value, bool)
        if value == "auto" or (whole and value >= 0):
            return value
        raise ValueError("must be a whole number ≥ 0 or 'auto'")


class Tier(_Block):
    """A platform plan that allows up to `max_concurrency` sessions at once."""

    max_concurrency: Count
    """The most sessions that may run at once on this tier (count)."""
    monthly_fee: Amount = 0.0
    """USD per 30-day month."""


class Snapshots(_Block):
    """Storage and egress of the state that `snapshot` spans write."""

    storage_per_gb_month: Amount = 0.0
    """USD per GB (10^9 bytes) stored for a 30-day month."""
    retention_days: Amount = 30.0
    """Days each snapshot is kept; default 30."""
    egress_per_gb: Amount = 0.0
    """USD per GB read back out."""
    egress_fraction: Amount = 1.0
    """Share of snapshot bytes read back out (above 1 when read more than once); default 1."""
    per_snapshot: Amount = 0.0
    """USD per snapshot span (a write request)."""


class Plan(_Block):
    """A pricing plan: every block is optional, and an absent block costs nothing."""

    name: str
    """Name shown in tables and charts; unique among the plans compared."""
    description: str = ""
    """What the plan models, in a sentence."""
    source: str = ""
    """Where the prices come from (URLs or words)."""
    checked: dt.date | None = None
    """The date someone last checked the prices; None = not known."""
    notes: str = ""
    """What the plan includes and leaves out, and any assumption."""
    tokens: list[RateCard] | None = None
    """Rate cards; the first whose `match` fits an llm span's name prices it. None = no tokens."""
    session_time: TimeRate | None = None
    """Billing of each session's wall-clock runtime."""
    active_time: ActiveTimeRate | None = None
    """Billing of each session's busy time for some span kinds."""
    requests: Requests | None = None
    """Fees per llm call, tool call and session."""
    cold_start: ColdStart | None = None
    """Cold starts of instances after an idle timeout."""
    capacity: Capacity | None = None
    """Replicas billed by the hour over the window."""
    concurrency_tiers: list[Tier] | None = None
    """Platform tiers; the one with the smallest max_concurrency ≥ peak concurrency is billed."""
    snapshots: Snapshots | None = None
    """Storage and egress of snapshots."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("checked", mode="before")
    @classmethod
    def _checked(cls, value: Any) -> Any:
        # Only a date or an ISO date text; pydantic would also take a number as a timestamp.
        if value is None or isinstance(value, str) or type(value) is dt.date:
            return value
        raise ValueError("must be a date written as YYYY-MM-DD")


def _key_path(loc: tuple) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _key_lines(text: str) -> dict[tuple, int]:
    """The 1-based line of each key path in a YAML text (best effort: {} if it won't compose)."""
    lines: dict[tuple, int] = {}

    def walk(node, loc: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = loc + (key.value,)
                lines[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[loc + (i,)] = item.start_mark.line + 1
                walk(item, loc + (i,))

    try:
        walk(yaml.compose(text, Loader=_Loader), ())
    except yaml.YAMLError:
        return {}
    return lines


def _problem(err: dict, source: str, lines: dict[tuple, int]) -> str:
    loc = tuple(err["loc"])
    # The line of the key itself, or of its nearest parent (a missing key has no line).
    line = next((lines[loc[:i]] for i in range(len(loc), 0, -1) if loc[:i] in lines), None)
    where = f"{source}, line {line}, {_key_path(loc)}" if line else f"{source}, {_key_path(loc)}"
    kind, value = err["type"], err.get("input")
    if kind == "missing":
        return f"{where}: is required but missing."
    if kind == "extra_forbidden":
        return f"{where}: {loc[-1]!r} is not a known key ({_allowed(loc)})."
    if kind == "finite_number" or (isinstance(value, float) and not math.isfinite(value)):
        msg = "must be a finite number"
    elif kind == "greater_than_equal":
        msg = f"must be ≥ {err['ctx']['ge']:g}"
    else:
        msg = _MESSAGES.get(kind) or err["msg"].removeprefix("Value error, ")
        msg = re.sub(r"^Input should be", "must be", msg)
    return f"{where}: {msg[0].lower() + msg[1:]} (got {value!r})."


_MESSAGES = {
    "float_type": "must be a number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "string_type": "must be text",
    "model_type": "must be a mapping of keys",
    "model_attributes_type": "must be a mapping of keys",
    "list_type": "must be a list",
}


def _allowed(loc: tuple) -> str:
    """The keys allowed where `loc` points, for an unknown-key message."""
    model: Any = Plan
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        ann = model.model_fields[part].annotation
        model = next(
            (a for a in _flat_args(ann) if isinstance(a, type) and issubclass(a, BaseModel)), None
        )
        if model is None:
            return "no keys allowed here"
    return "allowed: " + ", ".join(model.model_fields)


def _flat_args(ann: Any) -> list:
    args = list(getattr(ann, "__args__", ()) or ())
    return [ann] + [x for a in args for x in _flat_args(a)]


def parse_plan(data: Any, source: str, text: str | None = None) -> Plan:
    """Validate plan data (a dict read from a file or a form); raise InputError naming each key.

    `text`, when given, is the YAML it came from, used to name the line of each problem.
    """
    if not isinstance(data, dict):
        got = "nothing" if data is None else type(data).__name__
        raise InputError(source, [f"{source}: a plan must be a mapping of keys, not {got}."])
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        lines = _key_lines(text) if text else {}
        problems = [_problem(e, source, lines) for e in exc.errors()]
        raise InputError(source, problems) from None


def _read_text(path_or_text: Any, name: str | None) -> tuple[str, str]:
    """(text, source name) from a path, bytes, or YAML/JSON text."""
    if isinstance(path_or_text, bytes):
        source = name or "plan"
        return documents.decode(path_or_text, source), source
    if isinstance(path_or_text, Path) or _looks_like_path(path_or_text):
        source = name or str(path_or_text)
        return documents.read_file(path_or_text, source), source
    return str(path_or_text), name or "plan"


def _looks_like_path(value: Any) -> bool:
    # A one-line text without YAML structure is a file name; anything else is the plan itself.
    # (The command line passes a Path, so a file named "plan: v2.yaml" is still a file.)
    if not isinstance(value, str) or not value.strip() or "\n" in value or ": " in value:
        return False
    return not value.lstrip().startswith(("{", "[", "- "))


def load_plan(path_or_text: Any, *, name: str | None = None) -> Plan:
    """Read a plan file (YAML or JSON) from a path, bytes or text; raise InputError if invalid.

    `name` is the file name used in messages (default: the path, or "plan" for text).
    """
    text, source = _read_text(path_or_text, name)
    return parse_plan(documents.parse(text, source, _Loader), source, text)


def plan_to_dict(plan: Plan) -> dict:
    """The plan as plain data with every default written out; absent blocks are left out."""
    return plan.model_dump(mode="python", exclude_none=True)


def plan_to_yaml(plan: Plan) -> str:
    """The plan as YAML text that `load_plan` reads back to an equal plan."""
    return yaml.safe_dump(plan_to_dict(plan), sort_keys=False, allow_unicode=True, width=100)


@functools.lru_cache(maxsize=1)
def _presets() -> tuple[Plan, ...]:
    plans = [load_plan(p, name=p.name) for p in sorted(PRESETS_DIR.glob("*.yaml"))]
    names = [p.name for p in plans]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(str(PRESETS_DIR), [f"plan name {n!r} is used twice." for n in dupes])
    return tuple(sorted(plans, key=lambda p: p.name))


def load_presets() -> dict[str, Plan]:
    """The bundled plans of data/plans, by name, sorted by name; a fresh copy on each call."""
    return {p.name: p.model_copy(deep=True) for p in _presets()}
