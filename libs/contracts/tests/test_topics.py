"""Topics: every event has one home, names follow the convention, keys keep per-instrument order."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from jules_contracts import (
    ALL_TOPICS,
    EVENT_TYPES,
    DeadLetterReason,
    DeadLetterRecord,
    DecodeError,
    EngageKillSwitch,
    Event,
    RiskAlert,
    SignalGenerated,
    Topic,
    backtest_scope,
    decode_event,
    encode_event,
    topic_for,
)
from jules_contracts.examples import example_events, example_for
from jules_contracts.system import Watermark
from jules_contracts.topics import (
    CONTROL,
    MD_BARS,
    MD_TRADES,
    ORDERS_EVENTS,
    RISK_ALERTS,
    SECONDARY_TOPICS,
    SIGNALS,
    SIGNALS_SHADOW,
    WATERMARKS,
    topic_named,
)
from jules_contracts.topics import (
    IN_BAND_WATERMARK_TOPICS as IN_BAND,
)

from .strategies import ANY_EVENT

TOPIC_NAME = re.compile(r"^[a-z]+(\.[a-z_]+)*\.v\d+$")
PUBLISHED = [cls for cls in EVENT_TYPES if cls is not DeadLetterRecord]


@pytest.mark.parametrize("cls", PUBLISHED, ids=lambda cls: cls.__name__)
def test_every_event_class_is_carried_by_exactly_one_topic(cls: type[Event]) -> None:
    homes = [
        topic
        for topic in ALL_TOPICS
        if cls in topic.event_types
        and not (cls is Watermark and topic in IN_BAND)
        and topic not in SECONDARY_TOPICS
    ]

    assert len(homes) == 1
    assert topic_for(cls) is homes[0]
    assert topic_for(example_for(cls)) is homes[0]


def test_watermarks_travel_in_band_on_the_data_topics_of_a_lockstep_replay() -> None:
    carriers = {topic.name for topic in ALL_TOPICS if Watermark in topic.event_types}

    assert carriers == {WATERMARKS.name} | {topic.name for topic in IN_BAND}
    assert topic_for(Watermark) is WATERMARKS
    assert MD_BARS in IN_BAND
    assert ORDERS_EVENTS in IN_BAND
    assert CONTROL not in IN_BAND
    assert topic_named("orders.events.v1") is ORDERS_EVENTS


def test_shadow_signals_have_their_own_topic_but_signals_keep_their_home() -> None:
    assert SIGNALS_SHADOW in ALL_TOPICS
    assert SIGNALS_SHADOW in SECONDARY_TOPICS
    assert SIGNALS_SHADOW.event_types == (SignalGenerated,)
    assert SIGNALS_SHADOW.dlq == "signals.shadow.v1.dlq"
    assert SIGNALS_SHADOW not in IN_BAND
    assert topic_for(SignalGenerated) is SIGNALS
    assert topic_named("signals.shadow.v1") is SIGNALS_SHADOW


def test_dead_letter_records_have_no_topic_of_their_own() -> None:
    assert all(DeadLetterRecord not in topic.event_types for topic in ALL_TOPICS)
    with pytest.raises(KeyError):
        topic_for(DeadLetterRecord)


@settings(max_examples=150, deadline=None)
@given(event=ANY_EVENT)
def test_any_event_is_accepted_on_the_topic_that_carries_it_and_refused_on_every_other(
    event: Event,
) -> None:
    data = encode_event(event)

    for topic in ALL_TOPICS:
        if type(event) in topic.event_types:
            assert decode_event(data, allowed=topic.event_types) == event
        else:
            with pytest.raises(DecodeError) as refused:
                decode_event(data, allowed=topic.event_types)
            assert refused.value.reason is DeadLetterReason.WRONG_TOPIC


def test_topics_carry_v1_events_only() -> None:
    carried = {cls for topic in ALL_TOPICS for cls in topic.event_types}

    assert carried == set(PUBLISHED)


@pytest.mark.parametrize("topic", ALL_TOPICS, ids=lambda topic: topic.name)
def test_topic_name_is_domain_stream_and_major_version(topic: Topic) -> None:
    assert TOPIC_NAME.match(topic.name)
    assert topic.name.endswith(".v1")


def test_topic_names_and_their_dead_letter_topics_are_all_distinct() -> None:
    names = [topic.name for topic in ALL_TOPICS] + [topic.dlq for topic in ALL_TOPICS]

    assert len(set(names)) == len(names)


@pytest.mark.parametrize("topic", ALL_TOPICS, ids=lambda topic: topic.name)
def test_dead_letter_topic_is_the_topic_name_with_dlq_suffix(topic: Topic) -> None:
    assert topic.dlq == f"{topic.name}.dlq"
    assert topic.scoped_dlq(None) == topic.dlq


@pytest.mark.parametrize("topic", ALL_TOPICS, ids=lambda topic: topic.name)
def test_every_event_on_a_topic_has_the_topics_key_field(topic: Topic) -> None:
    keyed = [cls for cls in topic.event_types if not (cls is Watermark and topic in IN_BAND)]
    assert all(topic.key_field in cls.model_fields for cls in keyed)  # in-band: by partition


def test_scoped_names_prefix_the_run_scope() -> None:
    scope = backtest_scope("run1")

    assert scope == "bt-run1"
    assert MD_TRADES.scoped(scope) == "bt-run1.md.trades.v1"
    assert MD_TRADES.scoped_dlq(scope) == "bt-run1.md.trades.v1.dlq"
    assert MD_TRADES.scoped(None) == "md.trades.v1"


@pytest.mark.parametrize(
    "scope", ["", "Bt-run1", "bt_run1", "bt.run1", "-bt", "bt run", "b" * 64, "bt-run1\n"]
)
def test_invalid_run_scope_is_rejected_naming_it(scope: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(scope))):
        MD_TRADES.scoped(scope)


@pytest.mark.parametrize("run_id", ["Run1", "run 1", "run_1", "r" * 61])
def test_backtest_scope_rejects_a_run_id_that_makes_an_invalid_scope(run_id: str) -> None:
    with pytest.raises(ValueError, match="run scope"):
        backtest_scope(run_id)


KEYED_BY_INSTRUMENT = [
    event
    for event in example_events()
    if event.event_type != DeadLetterRecord.EVENT_TYPE
    and topic_for(event).key_field == "instrument_id"
]


@pytest.mark.parametrize("event", KEYED_BY_INSTRUMENT, ids=lambda event: event.event_type)
def test_event_on_a_topic_keyed_by_instrument_has_its_instrument_as_key(event: Event) -> None:
    key = topic_for(event).key_for(event)

    assert key == getattr(event, "instrument_id", None)
    assert key in {"BTCUSDT.BINANCE", "EURUSD.OANDA"}


def test_market_data_and_order_topics_are_keyed_by_instrument() -> None:
    keyed_by_instrument = {t.name for t in ALL_TOPICS if t.key_field == "instrument_id"}

    assert {
        "md.trades.v1",
        "md.quotes.v1",
        "md.bars.v1",
        "md.book.v1",
        "features.v1",
        "signals.v1",
        "signals.shadow.v1",
        "orders.intents.v1",
        "orders.decisions.v1",
        "orders.events.v1",
    } <= keyed_by_instrument


def test_alert_without_instrument_is_keyed_portfolio() -> None:
    alert = example_for(RiskAlert).model_copy(update={"instrument_id": None})

    assert RISK_ALERTS.key_for(alert) == "portfolio"
    assert RISK_ALERTS.key_for(example_for(RiskAlert)) == "BTCUSDT.BINANCE"


def test_control_commands_are_keyed_by_their_target_service() -> None:
    assert CONTROL.key_for(example_for(EngageKillSwitch)) == "risk"
