"""The workload model (SPEC §4): an agent that has not run yet, described by its parameters.

`agent_steps` turns a workload into the step-by-step quantities of one agent (tokens, cache,
timing, snapshots). It is the single source of truth: the estimate prices these arrays and the
simulator writes them out as spans.

Time inside a session: step i starts at `start_s[i]`; its LLM call lasts `llm_s[i]`, then its tool
calls run one after another (`tool_s[i]` in all), then the harness takes `step_overhead_s`. A
snapshot, when due, is written at the end of its step and takes no time. The session's runtime is
the sum of its step durations, the last step's overhead included.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cost_model import documents
from cost_model.errors import InputError

GROUPS = (
    "agent loop",
    "context and caching",
    "tools",
    "sub-agents",
    "snapshots",
    "model timing",
    "volume",
)


# Bounds that keep one estimate fast (its arrays are as long as an agent's steps); far beyond
# any agent that runs today.
MAX_STEPS = 100_000
MAX_SUBAGENTS = 1_000
MAX_SESSION_S = 365 * 86_400
"""The longest an agent's session may run (a year): times stay whole microseconds in int64."""


def _p(default, group: str, top=None, step=None, slider: bool = False, **limits):
    """A parameter: its default, limits, and how the Workload page shows it: its group, the
    upper end of its widget, the widget's step and whether it is a slider."""
    extra = {"group": group, "top": top, "step": step, "slider": slider}
    return Field(default, json_schema_extra=extra, **limits)


class Workload(BaseModel):
    """An agent workload (SPEC §4); each parameter defaults to a coding agent on Kimi K2.6."""

    model_config = ConfigDict(
        extra="forbid", use_attribute_docstrings=True, validate_assignment=True, allow_inf_nan=False
    )

    name: str = Field("coding agent", min_length=1)
    """Text: what the workload is called."""

    model: str = _p("kimi-k2.6", "agent loop")
    """Text: the `name` of the main agent's `llm` spans, which plan token cards match."""
    steps: int = _p(40, "agent loop", top=400, step=1, slider=True, ge=1, le=MAX_STEPS)
    """Count: LLM calls of the main agent per attempt."""
    prompt_tokens: float = _p(12_000, "agent loop", top=200000, step=500, ge=0)
    """Tokens: the main agent's context at its first call."""
    system_prompt_tokens: float = _p(8_000, "agent loop", top=100000, step=500, ge=0)
    """Tokens: the part of the first context that is the same for every task (cacheable)."""
    output_tokens_per_step: float = _p(400, "agent loop", top=16000, step=50, ge=0)
    """Tokens: output of each call, reasoning included."""
    step_overhead_s: float = _p(0.2, "agent loop", top=30, step=0.1, ge=0)
    """Seconds: harness time after each step's tool calls."""

    cache_hit_rate: float = _p(
        0.9, "context and caching", top=1, step=0.05, slider=True, ge=0, le=1
    )
    """Share 0–1: the part of the reusable prefix read from the prompt cache."""
    context_limit: int = _p(262_144, "context and caching", top=2000000, step=1024, gt=0)
    """Tokens: the model's context window."""
    compaction_at: float = _p(0.8, "context and caching", top=1, step=0.05, slider=True, gt=0, le=1)
    """Share 0–1 of `context_limit`: a context that would grow beyond it is compacted."""
    compacted_tokens: float = _p(30_000, "context and caching", top=500000, step=1000, ge=0)
    """Tokens: the context right after a compaction. Left out, 30,000, or half the compaction
    threshold when that is smaller (a small context window)."""

    tool_calls_per_step: float = _p(1.0, "tools", top=10, step=0.1, ge=0)
    """Count per step (may be fractional): tool calls after each LLM call."""
    tool_result_tokens: float = _p(1_200, "tools", top=50000, step=100, ge=0)
    """Tokens: context each tool result adds."""
    tool_latency_s: float = _p(3.0, "tools", top=600, step=0.5, ge=0)
    """Seconds: duration of each tool call."""

    subagents: int = _p(0, "sub-agents", top=32, step=1, slider=True, ge=0, le=MAX_SUBAGENTS)
    """Count: sub-agents per attempt, each its own session, all starting with the main agent."""
    subagent_model: str = _p("kimi-k2.6", "sub-agents")
    """Text: the `name` of the sub-agents' `llm` spans."""
    subagent_steps: int = _p(10, "sub-agents", top=400, step=1, ge=1, le=MAX_STEPS)
    """Count: LLM calls of each sub-agent."""
    subagent_prompt_tokens: float = _p(4_000, "sub-agents", top=200000, step=500, ge=0)
    """Tokens: a sub-agent's context at its first call."""

    snapshot_every_steps: int = _p(0, "snapshots", top=100, step=1, ge=0)
    """Steps: a snapshot after every this many steps of each agent; 0 = never."""
    snapshot_base_bytes: float = _p(50_000_000, "snapshots", top=10000000000, step=1000000, ge=0)
    """Bytes: the fixed part of each snapshot (files, environment)."""
    snapshot_bytes_per_token: float = _p(4.0, "snapshots", top=100000, step=1, ge=0)
    """Bytes per token of the context at the time of the snapshot."""

    ttft_s: float = _p(0.8, "model timing", top=60, step=0.1, ge=0)
    """Seconds: time to first token of each call."""
    prefill_tokens_per_s: float = _p(5_000, "model timing", top=100000, step=500, gt=0)
    """Tokens per second: how fast uncached input is read."""
    decode_tokens_per_s: float = _p(60, "model timing", top=1000, step=5, gt=0)
    """Tokens per second: how fast output is written."""

    success_rate: float = _p(0.7, "volume", top=1, step=0.05, slider=True, gt=0, le=1)
    """Share 0–1 (above 0): attempts that complete their task."""
    tasks_per_month: float = _p(1_000, "volume", top=10000000, step=100, ge=0)
    """Count: tasks completed per month (30 days)."""
    active_hours_per_day: float = _p(10, "volume", top=24, step=0.5, slider=True, gt=0, le=24)
    """Hours (0–24]: tasks arrive at random during the first this many hours of each UTC day."""

    @model_validator(mode="before")
    @classmethod
    def _compacted_default_fits(cls, data):
        """A compacted context left out fits under the threshold of a small context window."""
        if not isinstance(data, dict) or "compacted_tokens" in data:
            return data
        fields = cls.model_fields
        limit = data.get("context_limit", fields["context_limit"].default)
        share = data.get("compaction_at", fields["compaction_at"].default)
        if not all(type(v) in (int, float) and math.isfinite(v) and v > 0 for v in (limit, share)):
            return data  # a bad value: field validation names it
        half = math.floor(limit * share / 2)
        if half < fields["compacted_tokens"].default:
            data = {**data, "compacted_tokens": half}
        return data

    @model_validator(mode="after")
    def _compaction_leaves_room(self) -> Workload:
        if self.compacted_tokens > self.compaction_threshold:
            raise ValueError(
                f"compacted_tokens ({self.compacted_tokens:g}) must not exceed compaction_at · "
                f"context_limit ({self.compaction_threshold:g})"
            )
        for which in ("main", "subagent")[: 1 + (self.subagents > 0)]:
            runtime = agent_steps(self, which).runtime_s
            if not runtime <= MAX_SESSION_S:
                raise ValueError(
                    f"a {which} agent's session would run {runtime:.3g} s, more than a year "
                    f"({MAX_SESSION_S:,} s): check the timing parameters"
                )
        return self

    @property
    def compaction_threshold(self) -> float:
        """Tokens: a context that would grow beyond this is compacted."""
        return self.compaction_at * self.context_limit

    @property
    def tokens_per_step(self) -> float:
        """Tokens: `a`, the context each step adds (its output and its tool results)."""
        return self.output_tokens_per_step + self.tool_calls_per_step * self.tool_result_tokens


# ---- files ----


def _problems(err: ValidationError, source: str) -> list[str]:
    problems = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        if e["type"] == "extra_forbidden":
            known = ", ".join(Workload.model_fields)
            problems.append(f"{source}: unknown key {key!r}; the known keys are {known}.")
        elif key == "(top level)":
            problems.append(f"{source}: {e['msg'].removeprefix('Value error, ')}.")
        else:
            problems.append(f"{source}: key {key!r} = {e.get('input')!r}: {e['msg']}.")
    return problems


def workload_from_dict(data: object, source: str = "workload") -> Workload:
    """A Workload from parsed YAML/JSON data; InputError naming `source` and each bad key."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(source, [f"{source}: a workload is a mapping of keys, not {data!r}."])
    try:
        # Strict, as plans are: a quoted "0.5" or a `true` is a wrong type; ints are fine as
        # floats. (Links carry text and are read apart, in `share`.)
        return Workload.model_validate(data, strict=True)
    except ValidationError as err:
        raise InputError(source, _problems(err, source)) from None


def _looks_like_text(s: str) -> bool:
    return "\n" in s or s.lstrip().startswith("{") or (": " in s and not Path(s).exists())


def load_workload(path_or_text: str | Path | bytes, *, source: str | None = None) -> Workload:
    """Read a workload from a YAML/JSON file path or from its text (or bytes).

    Raises InputError naming the file (and the key) for a file that cannot be read or bad content.
    """
    if isinstance(path_or_text, bytes):
        source = source or "workload"
        text = documents.decode(path_or_text, source)
    elif isinstance(path_or_text, str) and _looks_like_text(path_or_text):
        text, source = path_or_text, source or "workload"
    else:
        source = source or str(path_or_text)
        text = documents.read_file(path_or_text, source)
    return workload_from_dict(documents.parse(text, source), source)


def workload_to_yaml(workload: Workload) -> str:
    """The workload as YAML text, every parameter written, in the model's order."""
    data = workload.model_dump(mode="json")
    for key, value in data.items():
        if isinstance(value, float) and value.is_integer():
            data[key] = int(value)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def save_workload(workload: Workload, path: str | Path) -> None:
    """Write the workload to `path`: JSON when it ends in .json, YAML otherwise."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(workload.model_dump(mode="json"), indent=2) + "\n")
    else:
        path.write_text(workload_to_yaml(workload), encoding="utf-8")


# ---- the step-by-step model ----


@dataclass(frozen=True)
class AgentSteps:
    """One agent's steps (SPEC §4); every array has one entry per step, in step order."""

    model: str
    """The `name` of this agent's `llm` spans."""
    input_tokens: np.ndarray
    """Tokens: x_i, all input of the call, cached included."""
    cached_input_tokens: np.ndarray
    """Tokens: the part of x_i read from the prompt cache."""
    cache_write_tokens: np.ndarray
    """Tokens: the part of x_i written to the cache (the model has none: always 0)."""
    uncached_input_tokens: np.ndarray
    """Tokens: x_i − cached − cache write."""
    output_tokens: np.ndarray
    """Tokens: output of the call."""
    compacted: np.ndarray
    """Bool: this step is the first after a compaction."""
    llm_s: np.ndarray
    """Seconds: duration of the LLM call."""
    tool_calls: np.ndarray
    """Count (may be fractional): tool calls after the call."""
    tool_s: np.ndarray
    """Seconds: all tool calls of the step, one after another."""
    step_s: np.ndarray
    """Seconds: the call, its tools and the harness overhead."""
    start_s: np.ndarray
    """Seconds from the session's start to the step's start."""
    snapshot: np.ndarray
    """Bool: a snapshot is written at the end of this step."""
    snapshot_bytes: np.ndarray
    """Bytes of the snapshot written after the step (0 where there is none)."""

    @property
    def runtime_s(self) -> float:
        """Seconds: the session's runtime, from the first call's start to the last step's end."""
        return float(self.step_s.sum())


def _contexts(x1: float, a: float, threshold: float, c: float, n: int) -> tuple:
    """x_i for n steps and whether each is the first after a compaction (no loop per step).

    The first phase grows from x1 until the next context would pass the threshold; after that
    every cycle grows from c by the same rule, so all cycles have one fixed length.
    """

    def run_length(start: float) -> float:
        if start + a > threshold:
            return 1
        if a <= 0:
            return math.inf
        # start + (L-1)·a ≤ threshold < start + L·a; the tolerance absorbs float rounding
        return math.floor((threshold - start) / a + 1e-9) + 1

    i = np.arange(n, dtype=np.int64)
    first = run_length(x1)
    cycle = run_length(c)
    x = x1 + i * a
    compacted = np.zeros(n, dtype=bool)
    if math.isfinite(first) and first < n:
        later = i >= first
        if math.isfinite(cycle):
            pos = (i[later] - first) % cycle
        else:
            pos = i[later] - first
        x[later] = c + pos * a
        compacted[later] = pos == 0
    return x, compacted


def agent_steps(workload: Workload, which: Literal["main", "subagent"] = "main") -> AgentSteps:
    """The step-by-step quantities of the main agent or of one sub-agent (SPEC §4)."""
    w = workload
    if which == "main":
        model, n, x1 = w.model, w.steps, float(w.prompt_tokens)
    elif which == "subagent":
        model, n, x1 = w.subagent_model, w.subagent_steps, float(w.subagent_prompt_tokens)
    else:
        raise ValueError(f"which must be 'main' or 'subagent', not {which!r}")
    a = w.tokens_per_step
    x, compacted = _contexts(x1, a, w.compaction_threshold, float(w.compacted_tokens), n)
    fresh = compacted.copy()
    fresh[0] = True
    cached = np.where(
        fresh, w.cache_hit_rate * np.minimum(w.system_prompt_tokens, x), w.cache_hit_rate * (x - a)
    )
    cache_write = np.zeros(n)
    uncached = x - cached - cache_write
    output = np.full(n, float(w.output_tokens_per_step))
    llm_s = w.ttft_s + uncached / w.prefill_tokens_per_s + output / w.decode_tokens_per_s
    tool_calls = np.full(n, float(w.tool_calls_per_step))
    tool_s = tool_calls * w.tool_latency_s
    step_s = llm_s + tool_s + w.step_overhead_s
    start_s = np.concatenate(([0.0], np.cumsum(step_s)[:-1]))

    every = w.snapshot_every_steps
    snapshot = np.zeros(n, dtype=bool) if every == 0 else (np.arange(1, n + 1) % every == 0)
    x_next, _ = _contexts(x1, a, w.compaction_threshold, float(w.compacted_tokens), n + 1)
    snapshot_bytes = np.where(
        snapshot, w.snapshot_base_bytes + w.snapshot_bytes_per_token * x_next[1:], 0.0
    )
    return AgentSteps(
        model,
        x,
        cached,
        cache_write,
        uncached,
        output,
        compacted,
        llm_s,
        tool_calls,
        tool_s,
        step_s,
        start_s,
        snapshot,
        snapshot_bytes,
    )


PRESETS_DIR = Path(__file__).resolve().parent.parent / "data" / "workloads"


def load_workload_presets() -> dict[str, Workload]:
    """The bundled workloads of data/workloads, by name, in file-name order."""
    presets = {}
    for path in sorted(PRESETS_DIR.glob("*.yaml")):
        w = load_workload(path)
        presets[w.name] = w
    return presets
