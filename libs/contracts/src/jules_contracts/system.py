"""Events about the platform itself: watermarks and audit checkpoints."""

from __future__ import annotations

from typing import Annotated, Final, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from jules_contracts.base import Event, Identifier, SourceName, UtcNanos, derive_event_id

__all__ = [
    "MARKET_HEARTBEAT_STREAM",
    "AuditCheckpoint",
    "Sha256Hex",
    "Watermark",
    "is_market_heartbeat",
    "market_heartbeat",
]

Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
"""A SHA-256 digest as 64 lowercase hex characters."""

MARKET_HEARTBEAT_STREAM: Final = "md.live"
"""The ``stream`` of live market-data's heartbeat (``market_heartbeat``)."""
_MARKET_DATA: Final = "market-data"


class Watermark(Event):
    """How far in event time a service has processed a stream (``watermarks.v1``).

    A service publishes a watermark once every output for event times ``<= watermark`` is
    published; services that depend on it (the simulated venue, risk) wait on it in backtests.

    In a topic-replay backtest watermarks travel in band: the producer of a data topic
    (``md.bars.v1``, ``orders.events.v1``, ...) writes its watermark into every partition of
    that topic after its outputs for that event time, so a consumer that has read a partition
    up to the watermark has read everything the producer made up to that time (Kafka keeps
    order within a partition, not across topics or partitions).

    Attributes:
        service: The service that publishes it.
        stream: The stream it covers (a topic name, or a logical stream such as ``fills``).
        partition: The partition of ``stream`` it is written to, or ``None`` for all of them.
        watermark: Event time (UTC ns) up to which processing is complete.
        final: The producer has nothing more to publish on the stream (end of a replay).
    """

    event_type: Literal["system.watermark"] = "system.watermark"
    service: SourceName
    stream: Annotated[str, StringConstraints(min_length=1, max_length=249)]
    partition: Annotated[int, Field(ge=0, strict=True)] | None = None
    watermark: UtcNanos
    final: bool = False


def market_heartbeat(time_ns: int) -> Watermark:
    """Live market-data's heartbeat: the market time now, ``time_ns`` (UTC ns).

    The market-data service publishes it on ``watermarks.v1`` every few seconds while it is
    live, so consumers that measure ages in event time (risk) see market time pass while a
    feed is silent. Its id is derived from the time.
    """
    return Watermark(
        event_id=derive_event_id(
            "system.watermark", _MARKET_DATA, MARKET_HEARTBEAT_STREAM, time_ns
        ),
        source=_MARKET_DATA,
        event_time=time_ns,
        service=_MARKET_DATA,
        stream=MARKET_HEARTBEAT_STREAM,
        watermark=time_ns,
    )


def is_market_heartbeat(watermark: Watermark) -> bool:
    """Whether ``watermark`` is live market-data's heartbeat (``market_heartbeat``)."""
    return watermark.service == _MARKET_DATA and watermark.stream == MARKET_HEARTBEAT_STREAM


class AuditCheckpoint(Event):
    """A checkpoint of the hash-chained audit record (``audit.checkpoints.v1``).

    ``chain_hash`` is the chain value after record ``last_sequence``:
    ``h_i = SHA-256(h_(i-1) || canonical(e_i))``. A verifier that holds the checkpoints detects
    a truncated or rewritten tail.

    Attributes:
        segment: The segment file the records are in.
        first_sequence: Sequence number of the first record covered by this checkpoint.
        last_sequence: Sequence number of the last record covered.
        chain_hash: Chain hash after ``last_sequence``.
        previous_chain_hash: Chain hash of the previous checkpoint (zeros for the first).
        signature: Optional hex signature of ``chain_hash`` by the audit service's key.
    """

    event_type: Literal["audit.checkpoint"] = "audit.checkpoint"
    segment: Identifier
    first_sequence: Annotated[int, Field(ge=0, strict=True)]
    last_sequence: Annotated[int, Field(ge=0, strict=True)]
    chain_hash: Sha256Hex
    previous_chain_hash: Sha256Hex
    signature: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{2,1024}$")] | None = None

    @model_validator(mode="after")
    def _check_range(self) -> Self:
        if self.last_sequence < self.first_sequence:
            raise ValueError(
                f"last_sequence {self.last_sequence} is before first_sequence {self.first_sequence}"
            )
        return self

    @property
    def record_count(self) -> int:
        """How many records the checkpoint covers."""
        return self.last_sequence - self.first_sequence + 1
