"""Every event survives encoding: the codec and pydantic's JSON both give back an equal event."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jules_contracts import (
    EVENT_TYPES,
    ChangeConfig,
    Event,
    decode_event,
    encode_event,
)
from jules_contracts.examples import example_events, example_for

from .strategies import events

PER_CLASS = settings(max_examples=60, deadline=None)


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda cls: cls.__name__)
@PER_CLASS
@given(data=st.data())
def test_every_event_comes_back_equal_from_the_codec_and_from_its_own_json(
    cls: type[Event], data: st.DataObject
) -> None:
    event = data.draw(events(cls))

    from_codec = decode_event(encode_event(event))
    from_own_json = cls.model_validate_json(event.model_dump_json())

    assert type(from_codec) is cls
    assert from_codec == event
    assert from_own_json == event


@pytest.mark.parametrize("event", example_events(), ids=lambda event: event.event_type)
def test_every_example_comes_back_equal_from_the_codec_and_its_own_json(event: Event) -> None:
    encoded = encode_event(event)

    assert decode_event(encoded) == event
    assert type(event).model_validate_json(event.model_dump_json()) == event
    assert encode_event(decode_event(encoded)) == encoded


@pytest.mark.parametrize(
    "value",
    [1, 0, -7, 1.0, 0.0, 2.5, True, False, "on", "1", "0", "true", "1.5", ""],
    ids=repr,
)
def test_config_value_keeps_its_json_type_through_the_codec(value: object) -> None:
    command = example_for(ChangeConfig).model_copy(update={"value": value})
    command = ChangeConfig.model_validate(command.model_dump())

    decoded = decode_event(encode_event(command))

    assert isinstance(decoded, ChangeConfig)
    assert type(command.value) is type(value)
    assert type(decoded.value) is type(value)
    assert decoded.value == value
