"""What a user sees, as a link or a scenario file: page, chosen plans, edited plans, workload.

A link carries the state in its query parameters, kept short:

    page=compare                the page shown
    p=Plan A&p=Plan B           the chosen plans, by name (`p=` alone: none chosen)
    e=eJy…                      the chosen plans that are not presets as they stand, each as
                                its differences from a preset: compact JSON, zlib-compressed,
                                URL-safe base64 without padding
    w.steps=60&w.model=glm-5    the workload parameters that differ from their defaults

Decoding validates every part with the pydantic models. A part that is bad or stale (a plan
renamed, a parameter out of range, a mangled blob) is dropped, so the page shows its defaults for
that part, and one notice sentence says what was not used. A link never raises.

A scenario file (YAML, or JSON, which reads as YAML) holds the same state in full, with a
`version`. Loading one validates like a link, but a bad file is an InputError and changes nothing.
Uploaded trace data is never part of either.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml
from pydantic import ValidationError

from cost_model import documents
from cost_model.errors import InputError
from cost_model.plans import Plan, parse_plan, plan_to_dict
from cost_model.workload import Workload, workload_from_dict

PAGES = ("traces", "compare", "plans", "workload")
"""The pages a link or a scenario may name (their URL paths)."""
SCENARIO_VERSION = 1
"""The version of the scenario file format this code writes and reads."""

PAGE_KEY, CHOSEN_KEY, EDITED_KEY, WORKLOAD_PREFIX = "page", "p", "e", "w."
# Streamlit's own parameters, never ours.
_FOREIGN_KEYS = {"embed", "embed_options"}
_MAX_VALUE_CHARS = 8_000
_MAX_JSON_BYTES = 200_000
_MAX_PLANS = 50
LINK_LIMIT_FACTOR = 10
"""A link's workload value may be at most this many times its widget's upper end."""


@dataclass
class SharedState:
    """The state a link or a scenario carries; None is "not given: keep the defaults"."""

    page: str | None = None
    """URL path of the page shown (one of `PAGES`)."""
    chosen_plans: list[str] | None = None
    """Names of the plans chosen for comparison, in order."""
    plans: dict[str, Plan] | None = None
    """Edited or uploaded plans by name (they take precedence over presets of the same name)."""
    workload: Workload | None = None
    """The workload of the Workload page."""
    problems: list[str] = field(default_factory=list)
    """One phrase per part of a link that was not used (empty for a good link)."""

    @property
    def notice(self) -> str | None:
        """One sentence for the user when part of a link was not used, else None."""
        if not self.problems:
            return None
        return (
            "Part of this link could not be used, so defaults are shown for it: "
            + "; ".join(self.problems)
            + "."
        )


# ---- links ----


def state_to_params(state: SharedState, presets: Mapping[str, Plan]) -> dict[str, str | list[str]]:
    """The query parameters of a link to `state` (only what differs from the defaults).

    Chosen presets travel by name; a chosen plan that is not a preset, or differs from the preset
    of its name, travels inline in `e`. A list value is one repeated parameter.
    """
    params: dict[str, str | list[str]] = {}
    if state.page:
        params[PAGE_KEY] = state.page
    if state.chosen_plans is not None:
        params[CHOSEN_KEY] = list(state.chosen_plans) or [""]
        edited = state.plans or {}
        inline = [
            edited[name]
            for name in state.chosen_plans
            if name in edited and edited[name] != presets.get(name)
        ]
        if inline:
            params[EDITED_KEY] = pack_plans(inline, presets)
    if state.workload is not None:
        params.update(workload_params(state.workload))
    return params


def params_to_state(
    params: Mapping[str, str | list[str]], presets: Mapping[str, Plan], pages=PAGES
) -> SharedState:
    """The state a link's query parameters describe; a bad part is left None and named."""
    values = {k: ([v] if isinstance(v, str) else list(v)) for k, v in params.items()}
    state = SharedState()
    unknown = sorted(
        k
        for k in values
        if k not in (PAGE_KEY, CHOSEN_KEY, EDITED_KEY)
        and not k.startswith(WORKLOAD_PREFIX)
        and k not in _FOREIGN_KEYS
    )
    if unknown:
        state.problems.append("unknown parameter " + ", ".join(repr(k) for k in unknown))
    if PAGE_KEY in values:
        page = values[PAGE_KEY][-1]
        if page in pages:
            state.page = page
        else:
            state.problems.append(f"there is no page {_short(page)}")
    edited = _decode_edited(values.get(EDITED_KEY), presets, state)
    if CHOSEN_KEY in values:
        _decode_chosen(values[CHOSEN_KEY], edited, presets, state)
    workload_raw = {
        k[len(WORKLOAD_PREFIX) :]: v[-1] for k, v in values.items() if k.startswith(WORKLOAD_PREFIX)
    }
    if workload_raw:
        state.workload, problem = _decode_workload(workload_raw)
        if problem:
            state.problems.append(problem)
    return state


def _decode_edited(raw: list[str] | None, presets, state: SharedState) -> dict[str, Plan]:
    if not raw:
        return {}
    try:
        plans = unpack_plans(raw[-1], presets)
    except ValueError as exc:
        state.problems.append(f"the edited plans ({exc})")
        return {}
    return plans


def _decode_chosen(
    names: list[str], edited: dict[str, Plan], presets: Mapping[str, Plan], state: SharedState
) -> None:
    names = [n for n in names if n != ""]
    missing = [n for n in names if n not in edited and n not in presets]
    if missing:
        state.problems.append(
            "the chosen plans (" + ", ".join(_short(n) for n in missing[:3]) + " not known)"
        )
        return
    state.chosen_plans = list(dict.fromkeys(names))
    if edited:
        state.plans = {n: p for n, p in edited.items() if n in state.chosen_plans}


def _short(text: str, limit: int = 40) -> str:
    """A value quoted for a message, cut to `limit` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def pack_plans(plans: list[Plan], presets: Mapping[str, Plan]) -> str:
    """Plans as compact JSON, zlib-compressed, URL-safe base64 without padding.

    A plan is written as its differences from a preset (`"_b"`: the preset's name, then only the
    top-level keys whose values differ), so a rate edited in a long preset stays short; a plan
    that shares nothing with any preset is written whole, defaults left out.
    """
    data = [_plan_patch(p, presets) for p in plans]
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    packed = zlib.compress(text.encode("utf-8"), 9)
    return base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def _plan_patch(plan: Plan, presets: Mapping[str, Plan]) -> dict:
    mine = plan.model_dump(mode="json")
    whole = plan.model_dump(mode="json", exclude_defaults=True)
    best = None
    for preset in presets.values():
        theirs = preset.model_dump(mode="json")
        patch = {k: v for k, v in mine.items() if v != theirs.get(k)}
        patch["_b"] = preset.name
        if len(json.dumps(patch)) < len(json.dumps(best or whole)):
            best = patch
    return best or whole


def unpack_plans(blob: str, presets: Mapping[str, Plan]) -> dict[str, Plan]:
    """The plans `pack_plans` wrote, by name, validated; ValueError saying what is wrong."""
    if len(blob) > _MAX_VALUE_CHARS:
        raise ValueError(f"{len(blob)} characters, more than {_MAX_VALUE_CHARS}")
    try:
        packed = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
        inflater = zlib.decompressobj()
        text = inflater.decompress(packed, _MAX_JSON_BYTES)
        if inflater.unconsumed_tail:
            raise ValueError(f"more than {_MAX_JSON_BYTES} bytes unpacked")
        data = json.loads(text.decode("utf-8"))
    except (binascii.Error, zlib.error, UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("not readable") from None
    if not isinstance(data, list) or not 0 < len(data) <= _MAX_PLANS:
        raise ValueError("not a list of plans")
    plans: dict[str, Plan] = {}
    for i, item in enumerate(data):
        if isinstance(item, dict) and "_b" in item:
            base = presets.get(item["_b"]) if isinstance(item["_b"], str) else None
            if base is None:
                based = _short(str(item["_b"]))
                raise ValueError(f"plan {i + 1} is based on {based}, not a preset")
            item = {**base.model_dump(mode="json"), **item}
            del item["_b"]
        try:
            plan = parse_plan(item, f"plan {i + 1}")
        except InputError as exc:
            raise ValueError(exc.problems[0].rstrip(".")) from None
        plans[plan.name] = plan
    return plans


def workload_params(workload: Workload) -> dict[str, str]:
    """`w.<parameter>` query parameters for the workload's values that differ from the defaults."""
    defaults = Workload()
    params = {}
    for name in Workload.model_fields:
        value = getattr(workload, name)
        if value != getattr(defaults, name):
            params[WORKLOAD_PREFIX + name] = _param_text(value)
    return params


def _param_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _decode_workload(raw: dict[str, str]) -> tuple[Workload | None, str | None]:
    unknown = [k for k in raw if k not in Workload.model_fields]
    if unknown:
        names = ", ".join(repr(WORKLOAD_PREFIX + k) for k in sorted(unknown)[:3])
        return None, f"the workload ({names} is not a workload parameter)"
    if any(len(v) > 200 for v in raw.values()):
        return None, "the workload (a value is too long)"
    try:
        workload = Workload.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        if key:
            msg = err["msg"][0].lower() + err["msg"][1:]
            what = f"{WORKLOAD_PREFIX}{key} = {_short(str(err.get('input')))}: {msg}"
        else:
            what = err["msg"].removeprefix("Value error, ")
        return None, f"the workload ({what})"
    for key in raw:
        value, limit = getattr(workload, key), _link_limit(key)
        if limit is not None and isinstance(value, (int, float)) and value > limit:
            return None, f"the workload ({WORKLOAD_PREFIX}{key} is above {limit:g})"
    return workload, None


def _link_limit(key: str) -> float | None:
    """The largest value a link may give a parameter: ten times its widget's upper end.

    A fitted or uploaded workload may pass the widget's end, so a link may too; but a step
    count of a billion would make every estimate of the server slow, so a link stops well short.
    """
    extra = Workload.model_fields[key].json_schema_extra or {}
    top = extra.get("top")
    return None if top is None else LINK_LIMIT_FACTOR * top


# ---- scenario files ----


def scenario_to_data(state: SharedState) -> dict:
    """The state as plain data for a scenario file: every plan and parameter written out."""
    data: dict = {"version": SCENARIO_VERSION}
    if state.page:
        data["page"] = state.page
    if state.chosen_plans is not None:
        data["chosen_plans"] = list(state.chosen_plans)
    data["plans"] = [plan_to_dict(p) for p in (state.plans or {}).values()]
    if state.workload is not None:
        data["workload"] = state.workload.model_dump(mode="json")
    return data


def scenario_to_yaml(state: SharedState) -> str:
    """A scenario file's YAML text."""
    head = "# Agent cost model scenario: the page, the chosen plans, edited plans and workload.\n"
    return head + yaml.safe_dump(
        scenario_to_data(state), sort_keys=False, allow_unicode=True, width=100
    )


def scenario_to_json(state: SharedState) -> str:
    """A scenario file's JSON text."""
    return json.dumps(scenario_to_data(state), indent=2, ensure_ascii=False, default=_json_value)


def _json_value(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def load_scenario(
    text: str | bytes, presets: Mapping[str, Plan], *, source: str = "scenario", pages=PAGES
) -> SharedState:
    """A scenario file's state, validated whole; InputError naming each bad key."""
    data = _read_scenario(text, source)
    problems: list[str] = []
    known = ("version", "page", "chosen_plans", "plans", "workload")
    for key in [k for k in data if k not in known]:
        problems.append(f"{source}: {key!r} is not a known key (allowed: {', '.join(known)}).")
    if data.get("version") != SCENARIO_VERSION:
        got = data.get("version")
        problems.append(f"{source}: version must be {SCENARIO_VERSION} (got {got!r}).")
    state = SharedState()
    page = data.get("page")
    if page is not None and page not in pages:
        problems.append(f"{source}: page {page!r} is not one of {', '.join(pages)}.")
    state.page = page
    state.plans = _scenario_plans(data.get("plans"), source, problems)
    state.chosen_plans = _scenario_chosen(data, state.plans, presets, source, problems)
    if "workload" in data:
        try:
            state.workload = workload_from_dict(data["workload"], f"{source}, workload")
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(source, problems)
    return state


def _read_scenario(text: str | bytes, source: str) -> dict:
    if isinstance(text, bytes):
        text = documents.decode(text, source)
    data = documents.parse(text, source)
    if not isinstance(data, dict):
        got = "nothing" if data is None else type(data).__name__
        raise InputError(source, [f"{source}: a scenario must be a mapping of keys, not {got}."])
    return data


def _scenario_plans(raw, source: str, problems: list[str]) -> dict[str, Plan]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        problems.append(f"{source}: plans must be a list of plans (got {type(raw).__name__}).")
        return {}
    plans: dict[str, Plan] = {}
    for i, item in enumerate(raw):
        try:
            plan = parse_plan(item, f"{source}, plans[{i}]")
        except InputError as exc:
            problems += exc.problems
            continue
        if plan.name in plans:
            problems.append(f"{source}, plans[{i}].name: {plan.name!r} is used twice.")
        plans[plan.name] = plan
    return plans


def _scenario_chosen(data, plans, presets, source: str, problems: list[str]) -> list[str] | None:
    raw = data.get("chosen_plans")
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        problems.append(f"{source}: chosen_plans must be a list of plan names (got {raw!r}).")
        return None
    for name in raw:
        if name not in plans and name not in presets:
            problems.append(
                f"{source}: chosen_plans names {name!r}, which is neither a preset nor in plans."
            )
    return list(dict.fromkeys(raw))
