"""The in-memory bus: the processing pipeline, dead letters and deterministic delivery."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from jules_contracts import (
    DeadLetterReason,
    Event,
    SignalDirection,
    SignalGenerated,
    Trade,
    decode_event,
    derive_event_id,
    encode_event,
)
from jules_contracts.dead_letter import DLQ_HEADER_OFFSET, DLQ_HEADER_REASON, DLQ_HEADER_TOPIC
from jules_contracts.examples import example_for
from jules_contracts.topics import MD_TRADES, SIGNALS
from jules_runtime.bus import InMemoryBus, read_dead_letter
from jules_runtime.bus.records import (
    ORIGIN_HEADER,
    SENT_HEADER,
    InboundRecord,
    OutboundMessage,
    outbound_event,
)


def trade(n: int, instrument: str = "BTCUSDT.BINANCE") -> Trade:
    return Trade(
        event_id=derive_event_id("unit", instrument, n),
        source="replay",
        event_time=1_000 + n,
        instrument_id=instrument,
        price=100.0 + n,
        size=1.0,
    )


async def to_signal(event: Event) -> Sequence[Event]:
    assert isinstance(event, Trade)
    return [
        SignalGenerated.derive(
            event,
            source="signal",
            instrument_id=event.instrument_id,
            strategy_id="unit",
            direction=SignalDirection.LONG,
            target_weight=1.0,
        )
    ]


async def test_handler_outputs_are_published_on_their_topic_and_offsets_committed():
    bus = InMemoryBus("signal", scope="bt-unit")
    bus.subscribe([MD_TRADES], to_signal)
    async with bus:
        await bus.publish(trade(1), trade(2))
        delivered = await bus.drain()

    assert delivered == 2
    signals = [decode_event(r.value) for r in bus.records("bt-unit.signals.v1")]
    assert [s.causation_id for s in signals] == [trade(1).event_id, trade(2).event_id]
    assert bus.committed("bt-unit.jules-signal", "bt-unit.md.trades.v1") == 2


async def test_malformed_message_is_dead_lettered_with_reason_and_origin_and_the_next_flows():
    bus = InMemoryBus("signal")
    processor = bus.subscribe([MD_TRADES], to_signal)
    async with bus:
        await bus.publish(trade(1))
        await bus.publish_raw(MD_TRADES.name, b'{"event_type": "md.trade"', key=b"k")
        await bus.publish(trade(2))
        await bus.drain()

    [dead] = bus.records(MD_TRADES.dlq)
    assert dead.header(DLQ_HEADER_REASON) == DeadLetterReason.UNDECODABLE.value
    assert dead.header(DLQ_HEADER_TOPIC) == MD_TRADES.name
    assert dead.header(DLQ_HEADER_OFFSET) == "1"
    assert dead.value == b'{"event_type": "md.trade"'
    assert dead.key == b"k"
    record = read_dead_letter(dead)
    assert (record.origin_offset, record.reason, record.service) == (
        1,
        DeadLetterReason.UNDECODABLE,
        "signal",
    )
    assert len(bus.records(SIGNALS.name)) == 2
    assert processor.stats.dead_lettered == 1
    assert processor.stats.processed == 2


async def test_invalid_field_dead_letter_names_the_field():
    bus = InMemoryBus("signal")
    bus.subscribe([MD_TRADES], to_signal)
    bad = encode_event(trade(1)).replace(b'"size":1.0', b'"size":-3')
    async with bus:
        await bus.publish_raw(MD_TRADES.name, bad)
        await bus.drain()

    [dead] = bus.records(MD_TRADES.dlq)
    assert dead.header(DLQ_HEADER_REASON) == "INVALID"
    assert "size" in (dead.header("x-dlq-error") or "")


async def test_failing_handler_is_retried_then_dead_lettered():
    calls: list[str] = []

    async def flaky(event: Event) -> Sequence[Event]:
        calls.append(event.event_id)
        raise RuntimeError("venue unreachable")

    bus = InMemoryBus("router", handler_attempts=2)
    processor = bus.subscribe([MD_TRADES], flaky)
    processor_wait = processor  # retries wait only a few ms in tests
    async with bus:
        await bus.publish(trade(1))
        await bus.drain()

    assert calls == [trade(1).event_id] * 2
    assert processor_wait.stats.handler_retries == 1
    [dead] = bus.records(MD_TRADES.dlq)
    assert dead.header(DLQ_HEADER_REASON) == "HANDLER_ERROR"
    assert "venue unreachable" in (dead.header("x-dlq-error") or "")


async def test_a_handler_that_recovers_on_retry_publishes_once():
    failures = iter([RuntimeError("blip")])

    async def recovers(event: Event) -> Sequence[Event]:
        for failure in failures:
            raise failure
        return await to_signal(event)

    bus = InMemoryBus("signal")
    processor = bus.subscribe([MD_TRADES], recovers)
    async with bus:
        await bus.publish(trade(1))
        await bus.drain()

    assert len(bus.records(SIGNALS.name)) == 1
    assert bus.records(MD_TRADES.dlq) == []
    assert processor.stats.handler_retries == 1


async def test_delivery_is_oldest_first_across_topics_and_subscribers_so_runs_repeat():
    async def run() -> list[str]:
        order: list[str] = []

        def recorder(name: str):
            async def handle(event: Event) -> Sequence[Event]:
                order.append(f"{name}:{event.event_type}:{event.event_time}")
                return await to_signal(event) if name == "signal" else []

            return handle

        bus = InMemoryBus("node")
        bus.subscribe([MD_TRADES], recorder("signal"), group="signal")
        bus.subscribe([SIGNALS], recorder("risk"), group="risk")
        bus.subscribe([MD_TRADES], recorder("audit"), group="audit")
        async with bus:
            await bus.publish(trade(1), trade(2, "ETHUSDT.BINANCE"))
            await bus.drain()
        return order

    first = await run()
    assert first == [
        "signal:md.trade:1001",
        "audit:md.trade:1001",
        "signal:md.trade:1002",
        "audit:md.trade:1002",
        "risk:signal.generated:1001",
        "risk:signal.generated:1002",
    ]
    assert await run() == first


async def test_draining_a_stopped_bus_is_an_error():
    bus = InMemoryBus("x")
    with pytest.raises(RuntimeError, match="start the bus"):
        await bus.drain()


def test_two_subscribers_of_one_group_on_one_topic_are_refused():
    bus = InMemoryBus("x")
    bus.subscribe([MD_TRADES], to_signal)
    with pytest.raises(ValueError, match="already consumes"):
        bus.subscribe([MD_TRADES], to_signal)


def test_outputs_carry_the_wall_clock_of_the_chains_first_market_event() -> None:
    bar = example_for(Trade)
    first = outbound_event(bar, None)
    root = InboundRecord(
        "md.bars.v1",
        0,
        0,
        None,
        first.value,
        tuple((k, v.encode()) for k, v in first.headers.items()),
    )
    sent = int(first.headers[SENT_HEADER])
    assert ORIGIN_HEADER not in first.headers
    assert root.origin_ns() == sent  # a root: its own publication time

    second = outbound_event(bar, None, origin_ns=root.origin_ns())
    hop = InboundRecord(
        "features.v1",
        0,
        0,
        None,
        second.value,
        tuple((k, v.encode()) for k, v in second.headers.items()),
    )
    assert hop.origin_ns() == sent  # passed on, not replaced by the later send time
    assert int(second.headers[SENT_HEADER]) >= sent
    assert InboundRecord("x", 0, 0, None, b"").origin_ns() is None


@pytest.mark.parametrize("attempts", [1, 3])
async def test_a_handler_failing_every_attempt_is_tried_that_often_then_dead_lettered(attempts):
    calls: list[str] = []

    async def broken(event: Event) -> Sequence[Event]:
        calls.append(event.event_id)
        raise ValueError(f"attempt {len(calls)}")

    bus = InMemoryBus("router", handler_attempts=attempts)
    processor = bus.subscribe([MD_TRADES], broken)
    async with bus:
        await bus.publish(trade(1), trade(2))
        await bus.drain()

    assert calls == [trade(1).event_id] * attempts + [trade(2).event_id] * attempts
    assert processor.stats.handler_retries == 2 * (attempts - 1)
    errors = [dead.header("x-dlq-error") or "" for dead in bus.records(MD_TRADES.dlq)]
    assert errors == [
        f"ValueError: attempt {attempts} (after {attempts} attempts)",
        f"ValueError: attempt {2 * attempts} (after {attempts} attempts)",
    ]


async def test_outputs_not_acknowledged_run_the_abandoned_hook_and_are_not_committed():
    class Unreachable(InMemoryBus):
        async def send(self, messages: Sequence[OutboundMessage]) -> None:
            if any(message.topic == SIGNALS.name for message in messages):
                raise ConnectionError("broker unavailable")
            await super().send(messages)

    abandoned: list[bool] = []
    bus = Unreachable("signal")
    bus.subscribe([MD_TRADES], to_signal, on_outputs_abandoned=lambda: abandoned.append(True))
    async with bus:
        await bus.publish(trade(1))
        with pytest.raises(ConnectionError):
            await bus.drain()

    assert abandoned == [True]
    assert bus.committed("jules-signal", MD_TRADES.name) == 0  # read again
