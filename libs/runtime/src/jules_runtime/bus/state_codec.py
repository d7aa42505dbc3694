"""State as JSON: an engine's state objects encoded so that decoding rebuilds them exactly.

A stateful service writes its engine's entities (positions, working orders, limits …) to a
compacted changelog topic as JSON (``jules_runtime.bus.changelog``). The entities are the
engines' own objects: plain objects, dataclasses, pydantic models (events, configuration),
enums, containers. ``encode_state`` turns one into JSON-able data, tagging what JSON cannot
say (a tuple, a set, a deque and its length, a dict with keys that are not text, an object's
class); ``decode_state`` rebuilds it. Objects are rebuilt without calling their constructor
(their attributes set as they were), and only classes of the platform's own packages
(``jules_*``, unless told otherwise) are rebuilt: a record names a class, and decoding never
imports anything else.

Floats keep their value exactly (JSON numbers with Python's shortest repr; ``NaN`` and the
infinities as tokens), so a state decoded from its encoding compares equal to it.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections import deque
from enum import Enum
from typing import Any

from jules_contracts import JulesError
from pydantic import BaseModel

__all__ = ["StateCodecError", "decode_state", "dumps_state", "encode_state", "loads_state"]

_TAG = "__t"
_ALLOWED_PREFIX = "jules_"


class StateCodecError(JulesError, ValueError):
    """A value that cannot be encoded, or a record that does not decode."""


def encode_state(value: Any) -> Any:
    """JSON-able data holding ``value`` (see the module); ``decode_state`` rebuilds it."""
    if isinstance(value, Enum):
        return {_TAG: "enum", "c": _class_path(type(value)), "v": value.value}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [encode_state(item) for item in value]
    if isinstance(value, tuple):
        if _plain(value):
            return {_TAG: "tuple", "v": list(value)}
        return {_TAG: "tuple", "v": [encode_state(item) for item in value]}
    if isinstance(value, set | frozenset):
        if all(isinstance(item, str) for item in value):
            items: list[Any] = sorted(value)
        else:
            items = sorted((encode_state(item) for item in value), key=_sort_key)
        return {_TAG: "frozenset" if isinstance(value, frozenset) else "set", "v": items}
    if isinstance(value, deque):
        if all(isinstance(item, tuple) and _plain(item) for item in value):
            return {_TAG: "deque", "m": value.maxlen, "tuples": [list(item) for item in value]}
        return {_TAG: "deque", "m": value.maxlen, "v": [encode_state(item) for item in value]}
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value) and _TAG not in value:
            return {key: encode_state(item) for key, item in value.items()}
        pairs = [[encode_state(key), encode_state(item)] for key, item in value.items()]
        return {_TAG: "dict", "v": pairs}
    if isinstance(value, BaseModel):
        return {_TAG: "model", "c": _class_path(type(value)), "v": value.model_dump(mode="json")}
    return {_TAG: "object", "c": _class_path(type(value)), "v": _fields(value)}


def decode_state(data: Any, *, packages: tuple[str, ...] = (_ALLOWED_PREFIX,)) -> Any:
    """The value ``encode_state`` encoded as ``data``.

    Args:
        data: The encoded value.
        packages: Prefixes of the modules whose classes may be rebuilt.

    Raises:
        StateCodecError: ``data`` names a class outside the platform's packages, or is
            malformed.
    """

    def decode(item: Any) -> Any:
        return decode_state(item, packages=packages)

    if isinstance(data, list):
        return [decode(item) for item in data]
    if not isinstance(data, dict):
        return data
    tag = data.get(_TAG)
    if tag is None:
        return {key: decode(item) for key, item in data.items()}
    items: Any = data.get("v")
    if tag == "tuple":
        return tuple(decode(item) for item in items)
    if tag == "set":
        return {decode(item) for item in items}
    if tag == "frozenset":
        return frozenset(decode(item) for item in items)
    if tag == "deque":
        if "tuples" in data:  # a deque of tuples of plain values (returns, times)
            return deque((tuple(item) for item in data["tuples"]), maxlen=data.get("m"))
        return deque((decode(item) for item in items), maxlen=data.get("m"))
    if tag == "dict":
        return {decode(key): decode(item) for key, item in items}
    cls = _class_at(data.get("c"), packages)
    if tag == "enum":
        return cls(items)
    if tag == "model":
        return cls.model_validate(items)
    if tag == "object":
        return _rebuilt(cls, {name: decode(item) for name, item in items.items()})
    raise StateCodecError(f"unknown state tag {tag!r}")


def dumps_state(value: Any) -> bytes:
    """``value`` encoded (``encode_state``) as compact JSON bytes, keys in a stable order."""
    return json.dumps(encode_state(value), separators=(",", ":")).encode()


def loads_state(raw: bytes, *, packages: tuple[str, ...] = (_ALLOWED_PREFIX,)) -> Any:
    """The value ``dumps_state`` wrote as ``raw`` (``packages``: as for ``decode_state``)."""
    return decode_state(json.loads(raw), packages=packages)


def _fields(value: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(value):
        names = [f.name for f in dataclasses.fields(value)]
    elif hasattr(value, "__dict__"):
        names = list(vars(value))
    else:
        names = [name for cls in type(value).__mro__ for name in getattr(cls, "__slots__", ())]
    if not names and not hasattr(value, "__dict__"):
        raise StateCodecError(f"cannot encode a {type(value).__name__} as state")
    return {name: encode_state(getattr(value, name)) for name in names if hasattr(value, name)}


def _rebuilt(cls: type, fields: dict[str, Any]) -> Any:
    value: Any = object.__new__(cls)
    for name, item in fields.items():
        object.__setattr__(value, name, item)  # frozen dataclasses too
    return value


def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _class_at(path: Any, packages: tuple[str, ...]) -> Any:
    if not isinstance(path, str) or ":" not in path:
        raise StateCodecError(f"no class named in state record: {path!r}")
    module_name, _, qualname = path.partition(":")
    if not module_name.startswith(packages):
        raise StateCodecError(f"class {path} is not the platform's: not decoded")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    if not isinstance(target, type):
        raise StateCodecError(f"{path} is not a class")
    return target


def _plain(values: tuple[Any, ...]) -> bool:
    """Whether every value is JSON as it is (no enum, container or object)."""
    return all(value is None or (type(value) in (bool, int, float, str)) for value in values)


def _sort_key(item: Any) -> str:
    return json.dumps(item, sort_keys=True)
