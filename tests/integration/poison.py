"""Bad messages for a topic: every class of input a consumer must dead-letter, with its reason.

``bad_messages(topic, base, copy)`` turns one valid event of ``topic`` into one message of each
class (``CLASSES``); different ``copy`` numbers give different bytes for the same class (the
second variant of a class where there is one, and the other fields of another base event).
Each message carries the reason code the shared message processor must dead-letter it with.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jules_contracts import DeadLetterReason, Event, derive_event_id, encode_event
from jules_contracts.examples import example_events
from jules_contracts.topics import Topic

__all__ = ["CLASSES", "JUNK_HEADERS", "NON_UTF8_HEADERS", "BadMessage", "bad_messages"]

JUNK_HEADERS: tuple[tuple[tuple[str, bytes], ...], ...] = (
    (("jules-origin-ns", "\u00b2".encode()),),  # a digit to str.isdigit, not to int()
    (("jules-sent-ns", b"9" * 5000),),  # more digits than int() converts
    (("x-junk", "\u00e9\u00e8\U0001f600".encode()), ("x-empty", b"")),
    (("jules-origin-ns", b"-1"), ("jules-origin-ns", "\u0661\u0662".encode())),
)
"""Headers a producer may attach to any message, valid or not: they must change nothing."""

NON_UTF8_HEADERS: tuple[tuple[tuple[str, bytes], ...], ...] = ((("x-junk", b"\xff\xfe\xfd"),),)
"""A header value that is not UTF-8: it must change nothing either."""

_NESTING = 20_000
_OVERSIZED = 300_000


@dataclass(frozen=True)
class BadMessage:
    """One message a consumer must refuse.

    Attributes:
        kind: The class of bad input (a name of ``CLASSES``).
        value: The message body.
        key: The message key.
        reason: The dead-letter reason it must get.
    """

    kind: str
    value: bytes | None
    key: bytes | None
    reason: DeadLetterReason


def _fields(event: Event) -> dict[str, Any]:
    fields: dict[str, Any] = json.loads(encode_event(event))
    return fields


def _dump(fields: object) -> bytes:
    return json.dumps(fields, allow_nan=True).encode()


def _edit(event: Event, **changes: Any) -> bytes:
    return _dump({**_fields(event), **changes})


def _not_json(event: Event, copy: int) -> bytes:
    return (b"event_type=md.bar; price=1", b"<event><id>1</id></event>")[copy % 2]


def _truncated(event: Event, copy: int) -> bytes:
    body = encode_event(event)
    return body[: len(body) // (2 + copy % 2)]


def _not_object(event: Event, copy: int) -> bytes:
    return (_dump([_fields(event)]), b'"' + encode_event(event).replace(b'"', b"'") + b'"')[
        copy % 2
    ]


def _deeply_nested(event: Event, copy: int) -> bytes:
    if copy % 2:
        return b"[" * _NESTING + b"]" * _NESTING
    return b'{"a":' * _NESTING + b"1" + b"}" * _NESTING


def _invalid_utf8(event: Event, copy: int) -> bytes:
    if copy % 2:
        return b"\xff\xfe\x00" + encode_event(event)
    return encode_event(event).replace(b'"source":"', b'"source":"\xc3\x28', 1)


def _empty(event: Event, copy: int) -> bytes | None:
    return (b"", None)[copy % 2]  # an empty body, a tombstone


def _missing_field(event: Event, copy: int) -> bytes:
    required = [
        name
        for name, info in type(event).model_fields.items()
        if info.is_required() and name != "event_type"
    ]
    fields = _fields(event)
    del fields[required[copy % len(required)]]
    return _dump(fields)


def _wrong_type(event: Event, copy: int) -> bytes:
    return _edit(event, event_id=(12345, ["a", "b"])[copy % 2])


def _non_finite(event: Event, copy: int) -> bytes:
    fields = _fields(event)
    path = _float_path(fields)
    if path is None:
        raise ValueError(f"{event.event_type} has no float field")
    *parents, name = path
    holder = fields
    for parent in parents:
        holder = holder[parent]
    holder[name] = (float("nan"), float("inf"))[copy % 2]
    return _dump(fields)


def _float_path(fields: dict[str, Any]) -> tuple[str, ...] | None:
    """The path of the first float field, at the top or in an object one level down."""
    for name, value in fields.items():
        if type(value) is float:
            return (name,)
    for name, value in fields.items():
        if isinstance(value, dict):
            inner = [key for key, item in value.items() if type(item) is float]
            if inner:
                return (name, inner[0])
    return None


def _unknown_event_type(event: Event, copy: int) -> bytes:
    fields = _fields(event)
    if copy % 2:
        del fields["event_type"]
    else:
        fields["event_type"] = event.event_type + ".nope"
    return _dump(fields)


def _future_version(event: Event, copy: int) -> bytes:
    return _edit(event, schema_version=(2, 99)[copy % 2])


def _bad_timestamp(event: Event, copy: int) -> bytes:
    return _edit(event, event_time=("2018-04-05T00:01:00", -5)[copy % 2])


def _bad_instrument(event: Event, copy: int) -> bytes:
    return _edit(event, instrument_id=("ETHUSD", "ETH USD.COINBASE")[copy % 2])


def _oversized(event: Event, copy: int) -> bytes:
    return _edit(event, source="a" * (_OVERSIZED + copy))


Body = Callable[[Event, int], bytes | None]

CLASSES: dict[str, tuple[Body, DeadLetterReason]] = {
    "not json": (_not_json, DeadLetterReason.UNDECODABLE),
    "truncated json": (_truncated, DeadLetterReason.UNDECODABLE),
    "json not an object": (_not_object, DeadLetterReason.UNDECODABLE),
    "deeply nested json": (_deeply_nested, DeadLetterReason.UNDECODABLE),
    "invalid utf-8": (_invalid_utf8, DeadLetterReason.UNDECODABLE),
    "empty body or tombstone": (_empty, DeadLetterReason.UNDECODABLE),
    "missing required field": (_missing_field, DeadLetterReason.INVALID),
    "wrong field type": (_wrong_type, DeadLetterReason.INVALID),
    "nan or infinity": (_non_finite, DeadLetterReason.INVALID),
    "unknown event_type": (_unknown_event_type, DeadLetterReason.UNKNOWN_EVENT_TYPE),
    "schema_version from the future": (_future_version, DeadLetterReason.UNSUPPORTED_VERSION),
    "naive or negative timestamp": (_bad_timestamp, DeadLetterReason.INVALID),
    "invalid instrument id": (_bad_instrument, DeadLetterReason.INVALID),
    "oversized field": (_oversized, DeadLetterReason.INVALID),
}
"""Classes built from any event; ``bad_messages`` adds ``event of another topic`` and, on a
topic that checks its keys, ``wrong key``."""


def _foreign(topic: Topic, copy: int) -> Event:
    """A valid example event of a type ``topic`` does not carry."""
    foreign = [event for event in example_events() if type(event) not in topic.event_types]
    return foreign[copy % len(foreign)]


def _other_key(key: bytes, copy: int) -> bytes | None:
    """Another instrument's key, no key, or a key that is not UTF-8."""
    other = b"BTCUSD.COINBASE" if key != b"BTCUSD.COINBASE" else b"ETHUSD.COINBASE"
    return (other, None, b"\xff\xfe.COINBASE")[copy % 3]


def bad_messages(topic: Topic, base: Event, copy: int = 0) -> list[BadMessage]:
    """One bad message of each class for ``topic``, made from ``base`` (a valid event of it).

    Classes that do not apply to ``base`` are left out: ``nan or infinity`` without a float
    field, ``invalid instrument id`` without an instrument, ``wrong key`` on a topic that does
    not check its keys.
    """
    key = topic.key_for(base).encode()
    fields = _fields(base)
    messages = []
    for kind, (body, reason) in CLASSES.items():
        if kind == "nan or infinity" and _float_path(fields) is None:
            continue
        if kind == "invalid instrument id" and "instrument_id" not in fields:
            continue
        messages.append(BadMessage(kind, body(base, copy), key, reason))
    foreign = _foreign(topic, copy)
    messages.append(
        BadMessage(
            "event of another topic",
            encode_event(foreign),
            key,
            DeadLetterReason.WRONG_TOPIC,
        )
    )
    if topic.checks_key:
        renamed = base.model_copy(update={"event_id": derive_event_id("wrong-key", base.event_id)})
        messages.append(
            BadMessage(
                "wrong key",
                encode_event(renamed),
                _other_key(key, copy),
                DeadLetterReason.WRONG_KEY,
            )
        )
    return messages
