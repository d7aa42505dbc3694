"""Forward compatibility: unknown fields from a newer producer are read and dropped, never sent.

Contracts are frozen: an event, once validated, cannot be changed in place.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jules_contracts import (
    EVENT_TYPES,
    BookLevel,
    BookSnapshot,
    Event,
    OrderApproved,
    PortfolioSnapshot,
    SignalGenerated,
    SubmitOrder,
    decode_event,
    encode_event,
)
from jules_contracts.examples import example_events, example_for
from pydantic import ValidationError

from .strategies import events

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)
UNKNOWN_FIELDS = st.dictionaries(
    st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True).map(lambda name: f"x_{name}"),
    JSON_VALUES,
    min_size=1,
    max_size=3,
)


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda cls: cls.__name__)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_unknown_fields_of_a_newer_producer_are_read_and_dropped(
    cls: type[Event], data: st.DataObject
) -> None:
    event = data.draw(events(cls))
    extra = data.draw(UNKNOWN_FIELDS)
    newer_message = json.dumps(event.model_dump(mode="json") | extra)

    decoded = decode_event(newer_message)
    reencoded = json.loads(encode_event(decoded))

    assert decoded == event
    # an order sized at the decision is written as before size_at_fill existed, and a target
    # signal as before order existed
    unset = set()
    if isinstance(decoded, SubmitOrder) and not decoded.size_at_fill:
        unset.add("size_at_fill")
    if isinstance(decoded, SignalGenerated) and decoded.order is None:
        unset.add("order")
    assert set(reencoded) == set(cls.model_fields) - unset
    assert not set(extra) & set(decoded.model_dump())


@pytest.mark.parametrize("event", example_events(), ids=lambda event: event.event_type)
def test_an_event_dump_holds_its_declared_fields_only(event: Event) -> None:
    dumped = event.model_dump(mode="json")
    declared = list(type(event).model_fields)
    left_out = [name for name in declared if name not in dumped]

    assert list(dumped) == [name for name in declared if name in dumped]
    # only the optional parts written as before they existed may be left out, when unset
    assert set(left_out) <= {"size_at_fill", "order"}
    assert all(getattr(event, name) is None for name in left_out)


def test_unknown_fields_inside_nested_models_are_dropped_too() -> None:
    payload: dict[str, Any] = example_for(OrderApproved).model_dump(mode="json")
    payload["order"]["x_iceberg_quantity"] = 0.01
    portfolio: dict[str, Any] = example_for(PortfolioSnapshot).model_dump(mode="json")
    portfolio["positions"][0]["x_margin"] = {"initial": 0.1}

    approved = decode_event(json.dumps(payload))
    snapshot = decode_event(json.dumps(portfolio))

    assert approved == example_for(OrderApproved)
    assert snapshot == example_for(PortfolioSnapshot)
    assert b"x_iceberg_quantity" not in encode_event(approved)
    assert b"x_margin" not in encode_event(snapshot)


def test_an_unknown_field_cannot_be_smuggled_in_through_the_constructor() -> None:
    payload = example_for(BookSnapshot).model_dump() | {"x_venue_latency_ns": 1200}

    snapshot = BookSnapshot.model_validate(payload)

    assert "x_venue_latency_ns" not in snapshot.model_dump()
    assert not hasattr(snapshot, "x_venue_latency_ns")


@pytest.mark.parametrize("event", example_events(), ids=lambda event: event.event_type)
def test_every_event_is_frozen(event: Event) -> None:
    with pytest.raises(ValidationError, match="frozen"):
        event.event_time = 0  # type: ignore[misc]

    assert event == example_for(type(event))


def test_nested_contracts_are_frozen_too() -> None:
    level = example_for(BookSnapshot).bids[0]

    with pytest.raises(ValidationError, match="frozen"):
        level.price = 1.0  # type: ignore[misc]

    assert isinstance(level, BookLevel)
    assert isinstance(example_for(BookSnapshot).bids, tuple)
