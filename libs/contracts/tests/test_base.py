"""The envelope's building blocks: UTC nanosecond timestamps, deterministic ids, ``derive``."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jules_contracts import (
    Bar,
    OrderFilled,
    OrderPartiallyFilled,
    SignalGenerated,
    Trade,
    derive_event_id,
    format_utc_nanos,
    new_event_id,
    parse_utc_nanos,
)
from jules_contracts.examples import example_for

from .strategies import INT64_MAX

EVENT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
NOON_2024_08_08 = 1_723_118_400_000_000_000


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("2024-08-08T12:00:00Z", NOON_2024_08_08),
        ("2024-08-08T12:00:00.123456789Z", NOON_2024_08_08 + 123_456_789),
        ("2024-08-08T12:00:00.000000001Z", NOON_2024_08_08 + 1),
        ("2024-08-08T12:00:00.5Z", NOON_2024_08_08 + 500_000_000),
        ("2024-08-08T12:00:00z", NOON_2024_08_08),
        ("2024-08-08 12:00:00+00:00", NOON_2024_08_08),
        ("2024-08-08T14:00:00.123456789+02:00", NOON_2024_08_08 + 123_456_789),
        ("2024-08-08T14:00:00+0200", NOON_2024_08_08),
        ("2024-08-08T07:00:00-05:00", NOON_2024_08_08),
        ("1970-01-01T00:00:00Z", 0),
        ("2262-04-11T23:47:16.854775807Z", INT64_MAX),
    ],
)
def test_iso_timestamp_with_offset_is_parsed_to_utc_nanos_keeping_every_digit(
    text: str, nanos: int
) -> None:
    assert parse_utc_nanos(text) == nanos


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2024, 8, 8, 12, 0, tzinfo=UTC),
        datetime(2024, 8, 8, 14, 0, tzinfo=timezone(timedelta(hours=2))),
        datetime(2024, 8, 8, 7, 0, tzinfo=timezone(timedelta(hours=-5))),
    ],
    ids=str,
)
def test_timezone_aware_datetime_is_converted_to_utc_nanos(moment: datetime) -> None:
    assert parse_utc_nanos(moment) == NOON_2024_08_08
    assert parse_utc_nanos(moment + timedelta(microseconds=7)) == NOON_2024_08_08 + 7_000


@pytest.mark.parametrize("value", [0, NOON_2024_08_08, INT64_MAX])
def test_integer_nanos_are_taken_as_they_are(value: int) -> None:
    assert parse_utc_nanos(value) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2024-08-08T12:00:00", "explicit UTC offset"),
        ("2024-08-08 12:00:00.123", "explicit UTC offset"),
        (datetime(2024, 8, 8, 12, 0), "naive datetime"),
        ("2024-08-08T12:00:00.1234567891Z", "explicit UTC offset"),
        ("yesterday", "explicit UTC offset"),
        (True, "not a boolean"),
        (1.7e18, "not float"),
        (None, "not NoneType"),
        (-1, "outside 1970-01-01..2262-04-11"),
        (INT64_MAX + 1, "outside 1970-01-01..2262-04-11"),
        ("1969-12-31T23:59:59.999999999Z", "outside"),
        ("2262-04-11T23:47:16.854775808Z", "outside"),
        ("2024-13-01T00:00:00Z", "month must be in 1..12"),
    ],
    ids=repr,
)
def test_naive_malformed_or_out_of_range_timestamp_is_rejected_saying_why(
    value: object, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_utc_nanos(value)


def test_nanos_are_formatted_as_rfc3339_utc_with_nine_digits() -> None:
    assert format_utc_nanos(NOON_2024_08_08 + 123_456_789) == "2024-08-08T12:00:00.123456789Z"
    assert format_utc_nanos(0) == "1970-01-01T00:00:00.000000000Z"


@settings(max_examples=300)
@given(nanos=st.integers(min_value=0, max_value=INT64_MAX))
def test_formatting_then_parsing_gives_back_the_same_nanos(nanos: int) -> None:
    assert parse_utc_nanos(format_utc_nanos(nanos)) == nanos


def test_event_accepts_an_iso_timestamp_and_keeps_nanosecond_precision() -> None:
    payload = example_for(Trade).model_dump() | {
        "event_time": "2024-08-08T14:00:00.000000001+02:00"
    }

    trade = Trade.model_validate(payload)

    assert trade.event_time == NOON_2024_08_08 + 1


@given(parts=st.lists(st.text() | st.integers(), min_size=1, max_size=4))
def test_derived_event_id_is_deterministic_and_a_version_8_uuid(parts: list[str | int]) -> None:
    first, second = derive_event_id(*parts), derive_event_id(*parts)

    assert first == second
    assert EVENT_ID.match(first)
    assert uuid.UUID(first).version == 8
    assert uuid.UUID(first).variant == uuid.RFC_4122


def test_derived_event_ids_differ_when_the_parts_differ() -> None:
    ids = {
        derive_event_id("order.filled", "cause", 1),
        derive_event_id("order.filled", "cause", 2),
        derive_event_id("order.filled", "other", 1),
        derive_event_id("order.partially_filled", "cause", 1),
        derive_event_id("ab", "c"),
        derive_event_id("a", "bc"),
    }

    assert len(ids) == 6


def test_derived_event_id_is_stable_across_releases() -> None:
    assert derive_event_id("order.filled", "cause", 1) == derive_event_id(
        "order.filled", "cause", "1"
    )
    assert derive_event_id("example", "trade") == "c7408897-74e6-84c3-9713-43f3f70b240e"


def test_new_event_ids_are_random_uuids() -> None:
    first, second = new_event_id(), new_event_id()

    assert first != second
    assert EVENT_ID.match(first)
    assert uuid.UUID(first).version == 4


def test_event_derived_from_a_root_is_caused_and_correlated_by_the_root() -> None:
    trade = example_for(Trade)

    bar = Bar.derive(trade, **_bar_fields())

    assert trade.correlation_id is None
    assert bar.causation_id == trade.event_id
    assert bar.correlation_id == trade.event_id
    assert bar.event_id == derive_event_id(Bar.EVENT_TYPE, trade.event_id, "")
    assert bar.chain_id == trade.chain_id == trade.event_id


def test_event_derived_from_a_derived_event_keeps_the_root_as_correlation() -> None:
    signal = example_for(SignalGenerated)
    assert signal.correlation_id is not None

    again = SignalGenerated.derive(signal, **_signal_fields())

    assert again.causation_id == signal.event_id
    assert again.correlation_id == signal.correlation_id
    assert again.event_time == signal.event_time


def test_deriving_twice_from_the_same_cause_gives_the_same_event() -> None:
    trade = example_for(Trade)

    assert Bar.derive(trade, **_bar_fields()) == Bar.derive(trade, **_bar_fields())


def test_the_key_tells_apart_several_events_of_one_type_with_the_same_cause() -> None:
    fill = example_for(OrderPartiallyFilled)
    fields = fill.model_dump(exclude={"event_id", "correlation_id", "causation_id"})

    first = OrderPartiallyFilled.derive(fill, key=1, **fields)
    second = OrderPartiallyFilled.derive(fill, key=2, **fields)

    assert first.event_id != second.event_id
    assert first.event_id == derive_event_id("order.partially_filled", fill.event_id, 1)


def test_an_explicit_event_time_overrides_the_causes() -> None:
    filled = example_for(OrderFilled)
    fields = filled.model_dump(exclude={"event_id", "correlation_id", "causation_id"})

    later = OrderFilled.derive(filled, **fields | {"event_time": filled.event_time + 1})

    assert later.event_time == filled.event_time + 1


def _bar_fields() -> dict[str, Any]:
    bar = example_for(Bar)
    return bar.model_dump(exclude={"event_id", "correlation_id", "causation_id"})


def _signal_fields() -> dict[str, Any]:
    signal = example_for(SignalGenerated)
    return signal.model_dump(exclude={"event_id", "correlation_id", "causation_id", "event_time"})
