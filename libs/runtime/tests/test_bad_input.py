"""Bad input on the processing pipeline: every message that cannot be decoded, a wrong key,
a redelivered event and an event the handler refuses each end in one place, never dropped."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from jules_contracts import (
    AlertCode,
    AlertSeverity,
    DeadLetterReason,
    Event,
    RiskAlert,
    SignalDirection,
    SignalGenerated,
    Trade,
    decode_event,
    derive_event_id,
    encode_event,
)
from jules_contracts.dead_letter import DLQ_HEADER_ERROR, DLQ_HEADER_REASON
from jules_contracts.topics import CONTROL, MD_TRADES, RISK_ALERTS, SIGNALS
from jules_runtime.bus import EventRejectedError, InMemoryBus, MessageProcessor
from jules_runtime.bus import processor as processor_module
from jules_runtime.bus.records import OutboundMessage
from jules_runtime.bus.redelivery import Redelivery


def trade(n: int, instrument: str = "BTCUSDT.BINANCE") -> Trade:
    return Trade(
        event_id=derive_event_id("bad-input", instrument, n),
        source="replay",
        event_time=1_000 + n,
        instrument_id=instrument,
        price=100.0 + n,
        size=1.0,
    )


def counting_handler(seen: list[str]):
    async def handle(event: Event) -> Sequence[Event]:
        seen.append(event.event_id)
        return [
            SignalGenerated.derive(
                event,
                source="signal",
                instrument_id=getattr(event, "instrument_id", "BTCUSDT.BINANCE"),
                strategy_id="unit",
                direction=SignalDirection.LONG,
                target_weight=1.0,
            )
        ]

    return handle


def reasons(bus: InMemoryBus, topic: str) -> list[str | None]:
    return [record.header(DLQ_HEADER_REASON) for record in bus.records(topic)]


async def test_every_undecodable_message_is_dead_lettered_with_its_reason_and_the_next_flows():
    valid = json.loads(encode_event(trade(9)))
    poison = [
        b"[" * 100_000 + b"]" * 100_000,  # deeply nested
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b"\xff\xfe\x00 not utf-8",
        json.dumps(valid | {"schema_version": 2}).encode(),
        json.dumps(valid | {"event_type": "md.unknown"}).encode(),
        b"",
    ]
    seen: list[str] = []
    bus = InMemoryBus("signal")
    processor = bus.subscribe([MD_TRADES], counting_handler(seen))
    async with bus:
        for value in poison:
            await bus.publish_raw(MD_TRADES.name, value)
        await bus.publish(trade(1))
        await bus.drain()

    assert reasons(bus, MD_TRADES.dlq) == [
        "UNDECODABLE",
        "UNDECODABLE",
        "UNDECODABLE",
        "UNSUPPORTED_VERSION",
        "UNKNOWN_EVENT_TYPE",
        "UNDECODABLE",
    ]
    assert seen == [trade(1).event_id]
    assert processor.stats.dead_lettered == len(poison)
    assert bus.committed("jules-signal", MD_TRADES.name) == len(poison) + 1


async def test_an_unexpected_decoder_exception_is_a_dead_letter_not_a_dropped_message(
    monkeypatch: pytest.MonkeyPatch,
):
    def explode(data: bytes | str, allowed: object = None) -> Event:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(processor_module, "decode_event", explode)
    bus = InMemoryBus("signal")
    bus.subscribe([MD_TRADES], counting_handler([]))
    async with bus:
        await bus.publish(trade(1))
        await bus.drain()

    [dead] = bus.records(MD_TRADES.dlq)
    assert dead.header(DLQ_HEADER_REASON) == "UNDECODABLE"
    assert "RecursionError" in (dead.header(DLQ_HEADER_ERROR) or "")
    assert bus.committed("jules-signal", MD_TRADES.name) == 1


async def test_the_offset_is_not_committed_when_the_dead_letter_is_not_acknowledged():
    class NoDlq(InMemoryBus):
        async def send(self, messages: Sequence[OutboundMessage]) -> None:
            if any(message.topic.endswith(".dlq") for message in messages):
                raise ConnectionError("broker unavailable")
            await super().send(messages)

    bus = NoDlq("signal")
    bus.subscribe([MD_TRADES], counting_handler([]))
    async with bus:
        await bus.publish_raw(MD_TRADES.name, b"[" * 10_000)
        with pytest.raises(ConnectionError):
            await bus.drain()

    assert bus.committed("jules-signal", MD_TRADES.name) == 0  # read again


async def test_a_message_keyed_by_another_instrument_is_dead_lettered_wrong_key():
    seen: list[str] = []
    bus = InMemoryBus("signal")
    bus.subscribe([MD_TRADES], counting_handler(seen))
    async with bus:
        await bus.publish_raw(MD_TRADES.name, encode_event(trade(1)), key=b"ETHUSDT.BINANCE")
        await bus.publish_raw(MD_TRADES.name, encode_event(trade(2)))  # no key at all
        await bus.publish_raw(MD_TRADES.name, encode_event(trade(3)), key=b"BTCUSDT.BINANCE")
        await bus.drain()

    assert reasons(bus, MD_TRADES.dlq) == ["WRONG_KEY", "WRONG_KEY"]
    assert "ETHUSDT.BINANCE" in (bus.records(MD_TRADES.dlq)[0].header(DLQ_HEADER_ERROR) or "")
    assert seen == [trade(3).event_id]


def test_only_topics_keyed_by_instrument_check_keys():
    assert MD_TRADES.checks_key
    assert SIGNALS.checks_key
    assert not CONTROL.checks_key


async def test_with_a_dedup_window_a_redelivered_event_is_handled_once():
    seen: list[str] = []
    bus = InMemoryBus("signal")
    processor = bus.subscribe([MD_TRADES], counting_handler(seen), dedup_window=10)
    async with bus:
        await bus.publish(trade(1), trade(2), trade(1), trade(3), trade(2))
        await bus.drain()

    assert seen == [trade(1).event_id, trade(2).event_id, trade(3).event_id]
    assert len(bus.records(SIGNALS.name)) == 3
    assert processor.stats.duplicates == 2
    assert processor.stats.dead_lettered == 0
    assert bus.committed("jules-signal", MD_TRADES.name) == 5


async def test_an_event_read_again_before_its_outputs_were_acknowledged_gets_the_same_outputs():
    class FailsOnce(InMemoryBus):
        failed = False

        async def send(self, messages: Sequence[OutboundMessage]) -> None:
            if not self.failed and any(m.topic == SIGNALS.name for m in messages):
                self.failed = True
                raise ConnectionError("broker unavailable")
            await super().send(messages)

    seen: list[str] = []
    bus = FailsOnce("signal")
    bus.subscribe([MD_TRADES], counting_handler(seen), dedup_window=10)
    async with bus:
        await bus.publish(trade(1))
        with pytest.raises(ConnectionError):
            await bus.drain()
        await bus.drain()

    assert seen == [trade(1).event_id]
    [signal] = bus.records(SIGNALS.name)
    assert decode_event(signal.value).causation_id == trade(1).event_id


async def test_a_rejected_event_is_dead_lettered_at_once_with_its_reason_and_outputs():
    calls: list[str] = []

    async def refuse_second(event: Event) -> Sequence[Event]:
        calls.append(event.event_id)
        if event.event_id == trade(2).event_id:
            alert = RiskAlert.derive(
                event,
                source="signal",
                severity=AlertSeverity.WARNING,
                code=AlertCode.BAR_OUT_OF_ORDER,
                message="refused",
            )
            raise EventRejectedError(DeadLetterReason.OUT_OF_ORDER, "too early", [alert])
        return []

    bus = InMemoryBus("signal", handler_attempts=3)
    processor = bus.subscribe([MD_TRADES], refuse_second)
    async with bus:
        await bus.publish(trade(1), trade(2), trade(3))
        await bus.drain()

    assert calls == [trade(1).event_id, trade(2).event_id, trade(3).event_id]  # no retry
    [dead] = bus.records(MD_TRADES.dlq)
    assert (dead.header(DLQ_HEADER_REASON), dead.header(DLQ_HEADER_ERROR)) == (
        "OUT_OF_ORDER",
        "too early",
    )
    [alert] = [decode_event(record.value) for record in bus.records(RISK_ALERTS.name)]
    assert isinstance(alert, RiskAlert)
    assert alert.code == AlertCode.BAR_OUT_OF_ORDER
    assert processor.stats.dead_lettered == 1
    assert processor.stats.handler_retries == 0


async def test_a_duplicate_begun_before_the_first_is_finished_publishes_nothing():
    seen: list[str] = []
    bus = InMemoryBus("signal")
    processor = bus.subscribe([MD_TRADES], counting_handler(seen), dedup_window=10)
    await two_copies_in_one_batch(bus, processor)

    assert seen == [trade(1).event_id]
    assert len(bus.records(SIGNALS.name)) == 1
    assert processor.stats.duplicates == 1


async def two_copies_in_one_batch(bus: InMemoryBus, processor: MessageProcessor) -> None:
    """Publish ``trade(1)`` twice; begin both copies, then finish both (a pipelined batch)."""
    async with bus:
        await bus.publish(trade(1), trade(1))
    first, second = bus.records(MD_TRADES.name)
    finish_first = await processor.begin(first)
    finish_second = await processor.begin(second)
    await finish_first()
    await finish_second()


async def test_a_duplicate_in_flight_is_skipped_for_a_handler_that_keeps_its_outputs():
    """A handler with its own ``Redelivery`` (risk, order-router) and no ``dedup_window``: a
    copy begun while the first is in flight would get the first's pending outputs back."""
    seen: list[str] = []
    redelivery = Redelivery()
    counting = counting_handler(seen)

    async def keeps_outputs(event: Event) -> Sequence[Event]:
        pending = redelivery.recall(event.event_id)
        if pending is not None:
            return pending
        outputs = list(await counting(event))
        redelivery.keep(event.event_id, outputs)
        return outputs

    bus = InMemoryBus("risk")
    processor = bus.subscribe(
        [MD_TRADES],
        keeps_outputs,
        on_outputs_published=lambda _r, event, _o: redelivery.acknowledge(event.event_id),
    )
    await two_copies_in_one_batch(bus, processor)

    assert seen == [trade(1).event_id]
    assert len(bus.records(SIGNALS.name)) == 1
    assert processor.stats.duplicates == 1
