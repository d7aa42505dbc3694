"""The examples: one valid, deterministic event of every class, telling one consistent story."""

from __future__ import annotations

import pytest
from jules_contracts import (
    EVENT_TYPES,
    Bar,
    BookLevel,
    Event,
    OrderApproved,
    OrderDenied,
    SubmitOrder,
    Trade,
    encode_event,
)
from jules_contracts.examples import example_events, example_for


def test_examples_hold_one_event_of_every_class_in_codec_order() -> None:
    examples = example_events()

    assert [type(event) for event in examples] == list(EVENT_TYPES)


def test_examples_are_the_same_on_every_call_down_to_the_bytes() -> None:
    first, second = example_events(), example_events()

    assert first == second
    assert [encode_event(e) for e in first] == [encode_event(e) for e in second]


def test_example_ids_are_unique() -> None:
    ids = [event.event_id for event in example_events()]

    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda cls: cls.__name__)
def test_example_for_a_class_is_its_example_among_all_examples(cls: type[Event]) -> None:
    example = example_for(cls)

    assert isinstance(example, cls)
    assert example in example_events()


@pytest.mark.parametrize("cls", [Event, BookLevel], ids=lambda cls: cls.__name__)
def test_example_for_a_class_that_is_not_a_v1_event_raises_key_error(cls: type) -> None:
    with pytest.raises(KeyError, match=cls.__name__):
        example_for(cls)


def test_derived_examples_point_at_a_cause_that_is_itself_an_example() -> None:
    examples = example_events()
    nested_orders = [e.order for e in examples if isinstance(e, OrderApproved | OrderDenied)]
    known_ids = {event.event_id for event in [*examples, *nested_orders]}

    derived = [event for event in examples if event.causation_id is not None]

    assert len(derived) >= len(examples) // 2
    assert all(event.causation_id in known_ids for event in derived)
    assert all(event.correlation_id in known_ids for event in derived)


def test_examples_use_the_instruments_of_the_docs() -> None:
    assert example_for(Trade).instrument_id == "BTCUSDT.BINANCE"
    assert example_for(OrderDenied).instrument_id == "EURUSD.OANDA"


def test_example_bar_is_derived_from_the_example_trade() -> None:
    trade, bar = example_for(Trade), example_for(Bar)

    assert bar.causation_id == trade.event_id
    assert bar.start_time <= trade.event_time < bar.event_time


def test_example_order_sets_every_optional_field() -> None:
    order = example_for(SubmitOrder)

    unset = [name for name in SubmitOrder.model_fields if getattr(order, name) is None]

    assert unset == []
