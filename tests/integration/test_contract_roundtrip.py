"""Every contract type travels through the Kafka bus and comes back equal, with its envelope."""

from __future__ import annotations

from collections.abc import Sequence

from jules_contracts import (
    ALL_TOPICS,
    EVENT_TYPES,
    DeadLetterRecord,
    Event,
    Topic,
)
from jules_contracts.base import CONTRACTS_NAMESPACE, format_utc_nanos
from jules_contracts.examples import example_events
from jules_contracts.topics import MD_TRADES
from jules_runtime.bus import InboundRecord, KafkaBus, ensure_topics
from jules_runtime.bus.records import outbound_event
from jules_runtime.settings import KafkaSettings

from .bus_helpers import create_scoped_topics, new_scope, wait_until

# Dead-letter records have no topic of their own (tools read them back from `<topic>.dlq`);
# they take a topic made for this test so that they too make the trip.
DEAD_LETTER_RECORDS = Topic(
    "test.dead-letter-records.v1", (DeadLetterRecord,), "origin_topic", "", "test only"
)


async def test_every_contract_type_round_trips_through_kafka_with_its_envelope(kafka_client, kafka):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap, client=kafka_client)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    await ensure_topics(settings, [DEAD_LETTER_RECORDS.scoped(scope)])
    events = example_events()
    assert {type(event) for event in events} == set(EVENT_TYPES)
    received: dict[str, tuple[InboundRecord, Event]] = {}

    async def collect(event: Event) -> Sequence[Event]:
        return []

    def remember(record: InboundRecord, event: Event, outputs: Sequence[Event]) -> None:
        received[event.event_id] = (record, event)

    bus = KafkaBus("roundtrip", settings, scope)
    processor = bus.subscribe(
        [*ALL_TOPICS, DEAD_LETTER_RECORDS], collect, on_outputs_published=remember
    )
    async with bus:
        for event in events:
            topic = DEAD_LETTER_RECORDS if isinstance(event, DeadLetterRecord) else None
            await bus.send([outbound_event(event, scope, topic)])
        await wait_until(lambda: len(received) == len(events))

    assert processor.stats.dead_lettered == 0
    for event in events:
        record, decoded = received[event.event_id]
        assert decoded == event
        assert type(decoded) is type(event)
        assert record.header("ce_id") == event.event_id
        assert record.header("ce_type") == f"{CONTRACTS_NAMESPACE}.{event.event_type}"
        assert record.header("ce_source") == event.source
        assert record.header("ce_time") == format_utc_nanos(event.event_time)
        assert record.header("ce_specversion") == "1.0"
        assert record.header("ce_correlationid") == event.chain_id
        assert record.header("content-type") == "application/json"


async def test_events_are_keyed_by_instrument_so_per_instrument_order_is_kept(kafka_client, kafka):
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap, client=kafka_client)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    trades = [e for e in example_events() if e.event_type == "md.trade"]
    seen: list[InboundRecord] = []

    async def collect(event: Event) -> Sequence[Event]:
        return []

    bus = KafkaBus("keys", settings, scope)
    bus.subscribe([MD_TRADES], collect, on_outputs_published=lambda record, *_: seen.append(record))
    async with bus:
        await bus.publish(*trades)
        await wait_until(lambda: len(seen) == len(trades))

    for record, trade in zip(seen, trades, strict=True):
        assert record.key == trade.instrument_id.encode()  # type: ignore[attr-defined]
        assert record.header("ce_subject") == trade.instrument_id  # type: ignore[attr-defined]
