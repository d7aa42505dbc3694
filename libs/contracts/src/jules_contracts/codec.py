"""JSON encoding and decoding of events, with the reason a message could not be decoded."""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Any, Final

from pydantic import Field, TypeAdapter, ValidationError

from jules_contracts.base import Event
from jules_contracts.control import ChangeConfig, EngageKillSwitch, ReleaseKillSwitch, SwapModel
from jules_contracts.dead_letter import DeadLetterRecord
from jules_contracts.enums import DeadLetterReason
from jules_contracts.errors import JulesError
from jules_contracts.features import FeatureVector
from jules_contracts.market_data import Bar, BookDelta, BookSnapshot, Quote, Trade
from jules_contracts.orders import (
    CancelOrder,
    OrderAccepted,
    OrderApproved,
    OrderCanceled,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderResized,
    SubmitOrder,
)
from jules_contracts.portfolio import PortfolioSnapshot
from jules_contracts.risk import RiskAlert
from jules_contracts.signals import SignalGenerated
from jules_contracts.system import AuditCheckpoint, Watermark

__all__ = [
    "EVENT_TYPES",
    "AnyEvent",
    "DecodeError",
    "decode_event",
    "encode_event",
    "event_class",
]

EVENT_TYPES: Final[tuple[type[Event], ...]] = (
    Trade,
    Quote,
    Bar,
    BookSnapshot,
    BookDelta,
    FeatureVector,
    SignalGenerated,
    SubmitOrder,
    CancelOrder,
    OrderApproved,
    OrderDenied,
    OrderAccepted,
    OrderRejected,
    OrderResized,
    OrderPartiallyFilled,
    OrderFilled,
    OrderCanceled,
    OrderExpired,
    PortfolioSnapshot,
    RiskAlert,
    EngageKillSwitch,
    ReleaseKillSwitch,
    ChangeConfig,
    SwapModel,
    Watermark,
    AuditCheckpoint,
    DeadLetterRecord,
)
"""Every event and command class of the v1 contracts."""

AnyEvent = Annotated[
    Trade
    | Quote
    | Bar
    | BookSnapshot
    | BookDelta
    | FeatureVector
    | SignalGenerated
    | SubmitOrder
    | CancelOrder
    | OrderApproved
    | OrderDenied
    | OrderAccepted
    | OrderRejected
    | OrderResized
    | OrderPartiallyFilled
    | OrderFilled
    | OrderCanceled
    | OrderExpired
    | PortfolioSnapshot
    | RiskAlert
    | EngageKillSwitch
    | ReleaseKillSwitch
    | ChangeConfig
    | SwapModel
    | Watermark
    | AuditCheckpoint
    | DeadLetterRecord,
    Field(discriminator="event_type"),
]
"""Any v1 event, told apart by its ``event_type``."""

_BY_TYPE: Final[dict[str, type[Event]]] = {cls.EVENT_TYPE: cls for cls in EVENT_TYPES}
_ADAPTER: Final[TypeAdapter[Any]] = TypeAdapter(AnyEvent)
_MAX_ERROR_CHARS: Final = 4000


class DecodeError(JulesError, ValueError):
    """A message could not be turned into an event.

    Attributes:
        reason: Which kind of failure, for the dead-letter headers.
        detail: What was wrong, naming the field and the value where there is one.
    """

    def __init__(self, reason: DeadLetterReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail[:_MAX_ERROR_CHARS]


def event_class(event_type: str) -> type[Event]:
    """Return the class of a v1 ``event_type``.

    Raises:
        KeyError: No v1 event has that type.
    """
    return _BY_TYPE[event_type]


def encode_event(event: Event) -> bytes:
    """Encode an event as compact JSON (declared fields only, enums as their values)."""
    return event.model_dump_json().encode()


def decode_event(data: bytes | str, allowed: Collection[type[Event]] | None = None) -> Event:
    """Decode and validate one event from JSON.

    Args:
        data: The message value.
        allowed: Event classes accepted here (a topic's); ``None`` accepts every v1 event.

    Returns:
        The validated event; unknown fields are dropped.

    Raises:
        DecodeError: With reason ``UNDECODABLE`` (not a JSON object), ``UNKNOWN_EVENT_TYPE``
            (no or unknown ``event_type``), ``UNSUPPORTED_VERSION`` (a ``schema_version``
            this code does not read), ``INVALID`` (fails validation; the detail names the
            field and value) or ``WRONG_TOPIC`` (an event ``allowed`` does not include).
    """
    try:
        event: Event = _ADAPTER.validate_json(data)
    except ValidationError as exc:
        raise _classify(exc) from exc
    if allowed is not None and type(event) not in allowed:
        names = ", ".join(sorted(cls.EVENT_TYPE for cls in allowed))
        raise DecodeError(
            DeadLetterReason.WRONG_TOPIC,
            f"event_type {event.event_type!r} does not belong here (expected one of: {names})",
        )
    return event


def _classify(exc: ValidationError) -> DecodeError:
    errors = exc.errors(include_url=False)
    # Only errors about the message as a whole (empty loc) say it is not an event at all; a
    # nested field that is not an object (``"metrics": "x"``) makes the event INVALID.
    kinds = {error["type"] for error in errors if not error["loc"]}
    if kinds & {"json_invalid", "json_type", "dict_type", "model_attributes_type"}:
        first = errors[0]
        return DecodeError(DeadLetterReason.UNDECODABLE, f"not a JSON object: {first['msg']}")
    if kinds & {"union_tag_not_found", "union_tag_invalid"}:
        tag = next((e.get("ctx", {}).get("tag") for e in errors if "ctx" in e), None)
        detail = (
            f"unknown event_type {tag!r}" if tag is not None else "the message has no event_type"
        )
        return DecodeError(DeadLetterReason.UNKNOWN_EVENT_TYPE, detail)
    if any(error["loc"][-1:] == ("schema_version",) for error in errors):
        got = next(e.get("input") for e in errors if e["loc"][-1:] == ("schema_version",))
        return DecodeError(
            DeadLetterReason.UNSUPPORTED_VERSION, f"schema_version: {got!r} is not supported"
        )
    parts = []
    for error in errors:
        # loc[0] is the union member (the event_type); the rest is the path of the field.
        loc = ".".join(str(part) for part in error["loc"][1:]) or "(event)"
        parts.append(f"{loc}: {error['msg']} (got {error.get('input')!r})")
    return DecodeError(DeadLetterReason.INVALID, "; ".join(parts))
