"""Poison messages go to `<topic>.dlq` with their reason and origin; the valid ones around
them are all processed, in order, and the consumer carries on."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from jules_contracts import DeadLetterReason, Event, Quote, Trade, derive_event_id, encode_event
from jules_contracts.dead_letter import (
    DLQ_HEADER_ERROR,
    DLQ_HEADER_OFFSET,
    DLQ_HEADER_PARTITION,
    DLQ_HEADER_REASON,
    DLQ_HEADER_SERVICE,
    DLQ_HEADER_TOPIC,
)
from jules_contracts.topics import MD_TRADES
from jules_runtime.bus import InboundRecord, KafkaBus, read_dead_letter
from jules_runtime.settings import KafkaSettings

from .bus_helpers import create_scoped_topics, new_scope, read_topic, wait_until


def trade(n: int) -> Trade:
    return Trade(
        event_id=derive_event_id("dlq-test", n),
        source="replay",
        event_time=1_723_161_253_000_000_000 + n,
        instrument_id="BTCUSDT.BINANCE",
        price=60_000.0 + n,
        size=0.01,
    )


def poison_messages() -> dict[str, tuple[bytes, DeadLetterReason, str]]:
    """Each poison message, the reason it must be dead-lettered for, and a word its error names."""
    valid = encode_event(trade(100)).decode()
    quote = Quote(
        event_id=derive_event_id("dlq-test", "quote"),
        source="replay",
        event_time=1,
        instrument_id="BTCUSDT.BINANCE",
        bid_price=1.0,
        ask_price=2.0,
    )
    return {
        "bad json": (b'{"event_type": "md.trade", "price": ', DeadLetterReason.UNDECODABLE, "JSON"),
        "not utf-8": (b"\xff\xfe\x00garbage", DeadLetterReason.UNDECODABLE, "JSON"),
        "wrong schema": (
            valid.replace('"price":60100.0,', "").encode(),
            DeadLetterReason.INVALID,
            "price",
        ),
        "nan price": (
            valid.replace('"price":60100.0', '"price":NaN').encode(),
            DeadLetterReason.INVALID,
            "price",
        ),
        "unknown event type": (
            valid.replace('"md.trade"', '"md.tradez"').encode(),
            DeadLetterReason.UNKNOWN_EVENT_TYPE,
            "md.tradez",
        ),
        "wrong topic": (encode_event(quote), DeadLetterReason.WRONG_TOPIC, "md.quote"),
    }


async def test_poison_messages_are_dead_lettered_with_reason_and_origin_while_valid_ones_flow(
    kafka_client,
    kafka,
):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap, client=kafka_client)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    topic = MD_TRADES.scoped(scope)
    poison = poison_messages()

    # Arrange: valid and poison messages interleaved, produced by a foreign producer.
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all")
    await producer.start()
    sent_valid: list[Trade] = []
    poison_offsets: dict[int, str] = {}
    try:
        for n, name in enumerate([*poison, None]):
            valid = trade(n)
            await producer.send_and_wait(topic, encode_event(valid), key=b"BTCUSDT.BINANCE")
            sent_valid.append(valid)
            if name is not None:
                meta = await producer.send_and_wait(topic, poison[name][0], key=b"BTCUSDT.BINANCE")
                poison_offsets[meta.offset] = name
    finally:
        await producer.stop()

    # Act: the service's consumer processes the topic.
    processed: list[Event] = []

    async def handle(event: Event) -> Sequence[Event]:
        processed.append(event)
        return []

    bus = KafkaBus("dlq-test", settings, scope)
    processor = bus.subscribe([MD_TRADES], handle)
    async with bus:
        await wait_until(lambda: processor.stats.received == len(sent_valid) + len(poison))

    # Assert: every valid message processed, in order; every poison message dead-lettered.
    assert processed == sent_valid
    dead = await read_topic(kafka.bootstrap, MD_TRADES.scoped_dlq(scope), len(poison))
    assert len(dead) == len(poison)
    for message in dead:
        headers = {key: value.decode() for key, value in message.headers}
        origin = int(headers[DLQ_HEADER_OFFSET])
        name = poison_offsets[origin]
        payload, reason, mentioned = poison[name]
        assert headers[DLQ_HEADER_REASON] == reason.value, name
        assert mentioned in headers[DLQ_HEADER_ERROR], (name, headers[DLQ_HEADER_ERROR])
        assert headers[DLQ_HEADER_TOPIC] == topic
        assert headers[DLQ_HEADER_PARTITION] == "0"
        assert headers[DLQ_HEADER_SERVICE] == "dlq-test"
        assert message.value == payload  # the original bytes, unchanged
        assert message.key == b"BTCUSDT.BINANCE"
        record = read_dead_letter(
            InboundRecord(
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                key=message.key,
                value=message.value,
                headers=tuple(message.headers),
                timestamp_ms=message.timestamp,
            )
        )
        assert (record.origin_topic, record.origin_offset, record.reason) == (topic, origin, reason)
    assert processor.stats.dead_letter_reasons == {
        reason.value: sum(1 for _, r, _ in poison.values() if r is reason)
        for reason in {r for _, r, _ in poison.values()}
    }


async def test_a_handler_that_keeps_failing_dead_letters_the_message_and_the_next_one_flows(
    kafka_client,
    kafka,
):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap, client=kafka_client)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    attempts: dict[str, int] = {}
    processed: list[Event] = []
    cursed = trade(1)

    async def handle(event: Event) -> Sequence[Event]:
        attempts[event.event_id] = attempts.get(event.event_id, 0) + 1
        if event == cursed:
            raise RuntimeError("cannot price this trade")
        processed.append(event)
        return []

    bus = KafkaBus("handler-error", settings, scope, handler_attempts=3)
    processor = bus.subscribe([MD_TRADES], handle)
    async with bus:
        await bus.publish(trade(0), cursed, trade(2))
        await wait_until(lambda: processor.stats.received == 3)

    assert processed == [trade(0), trade(2)]
    assert attempts[cursed.event_id] == 3
    [dead] = await read_topic(kafka.bootstrap, MD_TRADES.scoped_dlq(scope), 1)
    headers = {key: value.decode() for key, value in dead.headers}
    assert headers[DLQ_HEADER_REASON] == DeadLetterReason.HANDLER_ERROR.value
    assert "cannot price this trade" in headers[DLQ_HEADER_ERROR]
    assert dead.value == encode_event(cursed)
