"""Plan, workload and scenario files: UTF-8 text in YAML or JSON, read into plain data.

JSON is tried first: it is YAML too, but PyYAML refuses some JSON that is valid (a tab before a
key, say). YAML is read with a safe loader, so a file builds plain data only. Whatever a file
holds, reading it raises only `InputError`, naming the file (and the line, where known).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from cost_model.errors import InputError


class NumberLoader(yaml.SafeLoader):
    """The safe loader, reading `5e-06` as a number as JSON and YAML 1.2 do (YAML 1.1: text),
    and refusing a mapping that names a key twice (PyYAML would keep the last silently)."""

    def construct_mapping(self, node, deep=False):
        self.flatten_mapping(node)
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)):
                continue  # not hashable: the model will refuse it as a key
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


NumberLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def decode(raw: bytes, source: str) -> str:
    """UTF-8 text of a file's bytes (a byte-order mark dropped), or an InputError."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(source, [f"{source}: is not UTF-8 text (byte {exc.start})."]) from None


def read_file(path: str | Path, source: str) -> str:
    """The text of a file, or an InputError that says why it cannot be read."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(source, [f"{source}: cannot be read ({exc.strerror or exc})."]) from None
    return decode(raw, source)


def parse(text: str, source: str, loader: type = NumberLoader) -> Any:
    """The data of a YAML or JSON document; an InputError when it is neither."""
    if text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text, object_pairs_hook=_unique_keys)
        except _DuplicateKey as exc:
            raise InputError(
                source, [f"{source}: the key {exc.args[0]!r} is given twice."]
            ) from None
        except ValueError:
            pass  # not JSON after all: YAML may still read it ("{a: 1}")
    try:
        data = yaml.load(text, Loader=loader)  # a SafeLoader (or a subclass): plain data only
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}, line {mark.line + 1}, column {mark.column + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(source, [f"{where}: is not valid YAML or JSON ({problem})."]) from None
    except (ValueError, TypeError, RecursionError) as exc:
        # A tag the safe loader cannot build (`!!float abc`, a date such as 2026-13-45), or
        # nesting too deep to read.
        raise _unreadable(source, str(exc) or type(exc).__name__) from None
    if _contains_itself(data):
        raise _unreadable(source, "an alias refers to a value that contains it")
    return data


class _DuplicateKey(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    data = dict(pairs)
    if len(data) < len(pairs):
        seen = set()
        raise _DuplicateKey(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return data


def _unreadable(source: str, problem: str) -> InputError:
    return InputError(source, [f"{source}: holds a value that cannot be read ({problem})."])


def _contains_itself(data: Any, inside: frozenset[int] = frozenset()) -> bool:
    """Whether a list or mapping holds itself (YAML aliases can build such a value)."""
    if not isinstance(data, (list, dict)):
        return False
    if id(data) in inside:
        return True
    inside = inside | {id(data)}
    values = data.values() if isinstance(data, dict) else data
    return any(_contains_itself(v, inside) for v in values)
