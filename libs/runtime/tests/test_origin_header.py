"""A malformed origin or sent-time header never fails a message: the header only feeds latency
metrics, so the message is processed (or dead-lettered) as if it had none."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

import pytest
from jules_contracts import Event, Trade, derive_event_id, encode_event
from jules_contracts.dead_letter import DLQ_HEADER_REASON
from jules_contracts.topics import MD_TRADES
from jules_runtime.bus import InboundRecord, MessageProcessor
from jules_runtime.bus.records import ORIGIN_HEADER, SENT_HEADER, OutboundMessage

TRADE = Trade(
    event_id=derive_event_id("origin-header", 1),
    source="replay",
    event_time=1_000,
    instrument_id="BTCUSDT.BINANCE",
    price=100.0,
    size=1.0,
)


class Recorder:
    """A sender that keeps what it is given."""

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    async def send(self, messages: Sequence[OutboundMessage]) -> None:
        self.sent.extend(messages)

    async def enqueue(self, messages: Sequence[OutboundMessage]) -> Awaitable[object]:
        self.sent.extend(messages)
        done: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def handle(event: Event) -> Sequence[Event]:
    return [event.model_copy(update={"event_id": derive_event_id("out", event.event_id)})]


@pytest.mark.parametrize(
    "header",
    [
        (ORIGIN_HEADER, "\u00b2".encode()),  # str.isdigit() accepts it, int() does not
        (SENT_HEADER, b"9" * 5000),  # more digits than int() converts
        (ORIGIN_HEADER, b"9" * 30),  # beyond int64 nanoseconds
    ],
)
@pytest.mark.parametrize("body", [encode_event(TRADE), b"not json"])
async def test_a_malformed_time_header_neither_fails_nor_travels_on(
    header: tuple[str, bytes], body: bytes
) -> None:
    sender = Recorder()
    processor = MessageProcessor(
        service="unit", scope=None, topics=[MD_TRADES], handler=handle, sender=sender
    )
    record = InboundRecord(
        topic=MD_TRADES.name,
        partition=0,
        offset=0,
        key=b"BTCUSDT.BINANCE",
        value=body,
        headers=(header,),
    )

    await processor.process(record)

    [message] = sender.sent
    if body == b"not json":
        assert message.headers[DLQ_HEADER_REASON] == "UNDECODABLE"
    else:
        assert processor.stats.processed == 1
        assert ORIGIN_HEADER not in message.headers
