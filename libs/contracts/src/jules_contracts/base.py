"""Building blocks of every contract: field types, the model base and the event envelope.

Every contract is a frozen pydantic v2 model that:

* accepts only finite numbers (no NaN or infinity) and never coerces strings to numbers;
* carries timestamps as integer nanoseconds since the Unix epoch, UTC (``UtcNanos``), and
  accepts on input an ISO-8601 string or a ``datetime`` only when it states its UTC offset;
* tolerates unknown fields on read (a newer producer may add optional fields) but never
  produces them: they are dropped at validation, so a dump holds declared fields only.

Events carry the envelope of ``Event``. The id of a derived event is a hash of its cause
(``derive_event_id``), so replaying the same input regenerates the same ids.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
)

__all__ = [
    "CONTRACTS_NAMESPACE",
    "MAX_MESSAGE",
    "Contract",
    "Event",
    "EventId",
    "FiniteFloat",
    "Identifier",
    "InstrumentId",
    "Message",
    "NonNegativeFloat",
    "PositiveFloat",
    "Probability",
    "SourceName",
    "UtcNanos",
    "derive_event_id",
    "format_utc_nanos",
    "new_event_id",
    "parse_utc_nanos",
]

CONTRACTS_NAMESPACE = "io.intradayjules"
"""Prefix of the CloudEvents ``type`` attribute (``io.intradayjules.<event_type>``)."""

_INT64_MAX = 2**63 - 1
_ISO_RE = re.compile(
    r"^(?P<base>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})"
    r"(?:\.(?P<frac>\d{1,9}))?"
    r"(?P<tz>Z|z|[+-]\d{2}:?\d{2})$"
)


def parse_utc_nanos(value: object) -> int:
    """Convert a timestamp to integer nanoseconds since the Unix epoch, UTC.

    Args:
        value: An ``int`` of nanoseconds, a timezone-aware ``datetime``, or an ISO-8601 string
            with an explicit offset (``Z`` or ``±HH:MM``) and up to nine fractional digits.

    Returns:
        Nanoseconds since 1970-01-01T00:00:00Z.

    Raises:
        ValueError: The value is naive (no offset), malformed, of another type, or out of range.
    """
    if isinstance(value, bool):
        raise ValueError("a timestamp must be integer nanoseconds, not a boolean")
    if isinstance(value, int):
        nanos = value
    elif isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("a naive datetime is ambiguous: give a timezone-aware UTC timestamp")
        delta = value - datetime(1970, 1, 1, tzinfo=UTC)
        nanos = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    elif isinstance(value, str):
        nanos = _parse_iso_nanos(value)
    else:
        raise ValueError(
            f"a timestamp must be integer nanoseconds or an ISO-8601 string, "
            f"not {type(value).__name__}"
        )
    if not 0 <= nanos <= _INT64_MAX:
        raise ValueError(f"timestamp {nanos} ns is outside 1970-01-01..2262-04-11 UTC")
    return nanos


def _parse_iso_nanos(text: str) -> int:
    match = _ISO_RE.match(text.strip())
    if match is None:
        raise ValueError(
            f"{text!r} is not an ISO-8601 timestamp with an explicit UTC offset "
            "(for example 2024-08-08T23:54:13.123456789Z)"
        )
    tz = match["tz"].upper()
    if tz != "Z" and ":" not in tz:
        tz = f"{tz[:3]}:{tz[3:]}"
    base = datetime.fromisoformat(
        f"{match['base'].replace(' ', 'T')}{'+00:00' if tz == 'Z' else tz}"
    )
    frac = (match["frac"] or "").ljust(9, "0")
    return parse_utc_nanos(base) + int(frac)


def format_utc_nanos(nanos: int) -> str:
    """Format nanoseconds since the epoch as RFC 3339 UTC with nine fractional digits."""
    seconds, frac = divmod(nanos, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{frac:09d}Z"


# The bounds come before the validator so that the JSON Schema states them as minimum/maximum
# (placed after a BeforeValidator, pydantic exports a non-standard ``ge`` keyword instead).
UtcNanos = Annotated[int, Field(ge=0, le=_INT64_MAX), BeforeValidator(parse_utc_nanos)]
"""A UTC timestamp: integer nanoseconds since the Unix epoch."""

FiniteFloat = Annotated[float, Strict(), AllowInfNan(False)]
"""Any finite number (NaN and infinity rejected, strings never coerced)."""

PositiveFloat = Annotated[float, Strict(), AllowInfNan(False), Field(gt=0)]
"""A finite number strictly greater than zero (prices, order quantities)."""

NonNegativeFloat = Annotated[float, Strict(), AllowInfNan(False), Field(ge=0)]
"""A finite number greater than or equal to zero (quoted sizes, volumes, fees)."""

Probability = Annotated[float, Strict(), AllowInfNan(False), Field(ge=0, le=1)]
"""A finite number in [0, 1]."""

Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$"),
]
"""A printable identifier without spaces (order ids, strategy ids, account ids)."""

InstrumentId = Annotated[
    str,
    StringConstraints(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9/_+-]+\.[A-Za-z0-9_-]+$"),
]
"""An instrument as ``SYMBOL.VENUE`` (``BTCUSDT.BINANCE``, ``EURUSD.OANDA``, ``6EH4.XCME``)."""

SourceName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._:/-]*$")
]
"""Who produced an event: a service name (``risk``) or a feed (``replay:binance``)."""

MAX_MESSAGE = 1024
"""The longest ``Message``; a longer one is cut to this length."""


def _cut_message(value: object) -> object:
    if isinstance(value, str) and len(value) > MAX_MESSAGE:
        return value[:MAX_MESSAGE]
    return value


Message = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_MESSAGE), BeforeValidator(_cut_message)
]
"""A sentence a system writes for people (an alert, a denial, a cancel reason): non-empty and
cut to ``MAX_MESSAGE`` characters, so a long error text never makes its event invalid."""

EventId = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    ),
]
"""A lowercase UUID string."""


_HEX = "0123456789abcdef"


def derive_event_id(*parts: str | int) -> str:
    """Return a deterministic event id: a UUIDv8 built from the SHA-256 of ``parts``.

    The same parts always give the same id, so an event derived from a cause
    (``derive_event_id(event_type, cause_id, leg)``) keeps its id when a run is replayed.
    The first 16 bytes of the digest, with the version nibble set to 8 (custom, RFC 9562)
    and the RFC 4122 variant bits, formatted as a lowercase UUID.
    """
    h = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()
    variant = _HEX[(int(h[16], 16) & 0x3) | 0x8]
    return f"{h[:8]}-{h[8:12]}-8{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


def new_event_id() -> str:
    """Return a random event id, for events with no cause (an operator's command)."""
    return str(uuid.uuid4())


class Contract(BaseModel):
    """Base of every contract model: frozen, finite, forward compatible on read."""

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        validate_default=True,
        use_enum_values=False,
        ser_json_inf_nan="strings",
        # rust-regex: ``$`` is the end of the text (python-re let "BTCUSDT.BINANCE\n" through).
        regex_engine="rust-regex",
    )


class Event(Contract):
    """An event or command with its envelope.

    Subclasses fix ``event_type`` with a ``Literal`` and set ``schema_version`` to the major
    version of their schema. On Kafka the envelope also travels as CloudEvents ``ce_*``
    headers beside the JSON body.

    Attributes:
        event_id: Unique id; deterministic for derived events (see ``derive``).
        event_type: What the event is (``md.trade``, ``order.filled`` ...).
        schema_version: Major version of the event's schema.
        source: The service or feed that produced it.
        event_time: When it happened, in event time (UTC nanoseconds).
        correlation_id: Id of the root event of the chain it belongs to (``None`` for a root).
        causation_id: Id of the event that caused it (``None`` for a root).
    """

    event_id: EventId
    event_type: str
    schema_version: Literal[1] = 1
    source: SourceName
    event_time: UtcNanos
    correlation_id: EventId | None = None
    causation_id: EventId | None = None

    EVENT_TYPE: ClassVar[str] = ""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        field = cls.model_fields.get("event_type")
        if field is not None and isinstance(field.default, str):
            cls.EVENT_TYPE = field.default

    @property
    def chain_id(self) -> str:
        """The correlation id of the chain this event belongs to (its own id for a root)."""
        return self.correlation_id or self.event_id

    @classmethod
    def derive(cls, cause: Event, *, key: str | int = "", **fields: Any) -> Self:
        """Build an event caused by ``cause`` with a deterministic id.

        The id hashes this event type, the cause's id and ``key`` (use ``key`` to tell apart
        several events of one type caused by the same event, such as the fills of one order).
        ``event_time`` defaults to the cause's; correlation and causation ids are filled in.

        Args:
            cause: The event this one is derived from.
            key: Distinguishes several events of this type with the same cause.
            **fields: The other fields of the event (``source`` is required).

        Returns:
            The new event, validated.
        """
        fields.setdefault("event_time", cause.event_time)
        return cls.model_validate(
            {
                **fields,
                "event_id": derive_event_id(cls.EVENT_TYPE, cause.event_id, key),
                "correlation_id": cause.chain_id,
                "causation_id": cause.event_id,
            }
        )
