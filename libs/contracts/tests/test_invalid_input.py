"""Invalid input is refused with an error that names the field (or the values) at fault.

Property tests take a valid event of any class, spoil one field of a kind (a float, a positive
number, an enum, a timestamp, an instrument id) and check both doors: ``model_validate``
raises ``ValidationError`` located at that field, and ``decode_event`` raises ``DecodeError``
with reason ``INVALID`` whose detail names it. Fields are found by introspecting the models, so
a new field of one of these kinds is covered without touching this file.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Callable
from typing import Any, Literal, get_args, get_origin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jules_contracts import (
    EVENT_TYPES,
    AuditCheckpoint,
    Bar,
    BookDelta,
    BookSnapshot,
    DeadLetterReason,
    DecodeError,
    Event,
    OrderApproved,
    OrderDenied,
    OrderFilled,
    OrderPartiallyFilled,
    RiskAlert,
    SignalGenerated,
    SubmitOrder,
    Trade,
    decode_event,
    encode_event,
)
from jules_contracts.examples import example_for
from jules_contracts.topics import MD_BOOK, MD_QUOTES, MD_TRADES
from pydantic import ValidationError

from .strategies import Constraints, constraints_of, events, is_union, unwrap

Case = tuple[type[Event], str]


def _members(cls: type[Event], name: str) -> list[tuple[Any, Constraints]]:
    """The non-``None`` types a field accepts, each with its own constraints."""
    field = cls.model_fields[name]
    tp, metadata = unwrap(field.annotation, field.metadata)
    if not is_union(tp):
        return [(tp, constraints_of(metadata))]
    members = [unwrap(arg) for arg in get_args(tp) if arg is not type(None)]
    return [(base, constraints_of(extra)) for base, extra in members]


def _fields_where(predicate: Callable[[Any, Constraints], bool]) -> list[Case]:
    return [
        (cls, name)
        for cls in EVENT_TYPES
        for name in cls.model_fields
        if all(predicate(base, found) for base, found in _members(cls, name))
    ]


def _is_enum(tp: Any) -> bool:
    if get_origin(tp) is Literal:
        return all(isinstance(arg, enum.Enum) for arg in get_args(tp))
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


FLOAT_FIELDS = _fields_where(lambda tp, _: tp is float)
POSITIVE_FIELDS = _fields_where(
    lambda tp, found: tp is float and found.lower == 0 and found.lower_exclusive
)
ENUM_FIELDS = _fields_where(lambda tp, _: _is_enum(tp))
TIMESTAMP_FIELDS = _fields_where(lambda _, found: found.timestamp)
INSTRUMENT_FIELDS = [(cls, name) for cls, name in _fields_where(lambda *_: True)]
INSTRUMENT_FIELDS = [(cls, name) for cls, name in INSTRUMENT_FIELDS if name == "instrument_id"]

PROPERTY = settings(max_examples=120, deadline=None)


def _spoiled(cases: list[Case], bad_values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A valid event's JSON payload with one field of ``cases`` replaced by a bad value."""

    def spoil(case: Case) -> st.SearchStrategy[tuple[type[Event], str, dict[str, Any]]]:
        cls, name = case
        return st.builds(
            lambda event, bad: (cls, name, event.model_dump(mode="json") | {name: bad}),
            events(cls),
            bad_values,
        )

    return st.sampled_from(cases).flatmap(spoil)


def _assert_rejected_naming(cls: type[Event], field: str, payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        cls.model_validate(payload)
    assert {error["loc"][:1] for error in caught.value.errors()} == {(field,)}

    with pytest.raises(DecodeError) as decoded:
        decode_event(json.dumps(payload))
    assert decoded.value.reason is DeadLetterReason.INVALID
    assert decoded.value.detail.startswith(f"{field}")


def test_every_kind_of_field_is_found_by_introspection() -> None:
    assert (Trade, "price") in POSITIVE_FIELDS
    assert (SubmitOrder, "limit_price") in FLOAT_FIELDS
    assert (SubmitOrder, "expire_time") in TIMESTAMP_FIELDS
    assert (Bar, "start_time") in TIMESTAMP_FIELDS
    assert (SubmitOrder, "side") in ENUM_FIELDS
    assert (RiskAlert, "instrument_id") in INSTRUMENT_FIELDS
    assert {cls for cls, _ in TIMESTAMP_FIELDS} == set(EVENT_TYPES)


@PROPERTY
@given(
    spoiled=_spoiled(
        FLOAT_FIELDS,
        st.sampled_from([math.nan, math.inf, -math.inf, "1.5", "NaN", "", True, [1.0]]),
    )
)
def test_float_field_with_nan_infinity_or_text_is_rejected_naming_the_field(
    spoiled: tuple[type[Event], str, dict[str, Any]],
) -> None:
    _assert_rejected_naming(*spoiled)


@PROPERTY
@given(
    spoiled=_spoiled(
        POSITIVE_FIELDS,
        st.floats(max_value=0, allow_nan=False, allow_infinity=False) | st.just(0),
    )
)
def test_positive_field_with_zero_or_a_negative_is_rejected_naming_the_field(
    spoiled: tuple[type[Event], str, dict[str, Any]],
) -> None:
    _assert_rejected_naming(*spoiled)


@PROPERTY
@given(spoiled=_spoiled(ENUM_FIELDS, st.sampled_from(["BOGUS", "buy", "", 1, None])))
def test_enum_field_with_an_unknown_value_is_rejected_naming_the_field(
    spoiled: tuple[type[Event], str, dict[str, Any]],
) -> None:
    _assert_rejected_naming(*spoiled)


@PROPERTY
@given(
    spoiled=_spoiled(
        TIMESTAMP_FIELDS,
        st.sampled_from(
            [
                "2024-01-01T00:00:00",
                "2024-01-01 00:00:00",
                "2024-01-01",
                "1704067200000000000",
                "1969-12-31T23:59:59Z",
                True,
                False,
                -1,
                2**63,
                1.7e18,
            ]
        ),
    )
)
def test_timestamp_field_naive_boolean_or_out_of_range_is_rejected_naming_the_field(
    spoiled: tuple[type[Event], str, dict[str, Any]],
) -> None:
    _assert_rejected_naming(*spoiled)


@PROPERTY
@given(
    spoiled=_spoiled(
        INSTRUMENT_FIELDS,
        st.sampled_from(
            [
                "BTCUSDT",
                "BTC USDT.BINANCE",
                "BTCUSDT.BINANCE\n",
                " BTCUSDT.BINANCE",
                ".BINANCE",
                "BTCUSDT.",
                "BTC.USDT.BINANCE",
                "BTCUSDT€.BINANCE",
                "X" * 60 + ".ABCD",
                "",
                42,
            ]
        ),
    )
)
def test_instrument_id_that_is_not_symbol_dot_venue_is_rejected_naming_the_field(
    spoiled: tuple[type[Event], str, dict[str, Any]],
) -> None:
    _assert_rejected_naming(*spoiled)


def test_trade_with_nan_price_is_rejected_naming_the_field() -> None:
    payload = example_for(Trade).model_dump(mode="json") | {"price": math.nan}

    with pytest.raises(ValidationError) as caught:
        Trade.model_validate(payload)

    assert [error["loc"] for error in caught.value.errors()] == [("price",)]
    assert "finite number" in str(caught.value)


def test_naive_timestamp_is_rejected_asking_for_an_explicit_offset() -> None:
    payload = example_for(Trade).model_dump(mode="json") | {"event_time": "2024-01-01T00:00:00"}

    with pytest.raises(ValidationError, match="explicit UTC offset") as caught:
        Trade.model_validate(payload)

    assert [error["loc"] for error in caught.value.errors()] == [("event_time",)]


def test_nested_order_with_nan_limit_price_is_rejected_naming_the_nested_path() -> None:
    payload = example_for(OrderApproved).model_dump(mode="json")
    payload["order"]["limit_price"] = math.nan

    with pytest.raises(DecodeError) as decoded:
        decode_event(json.dumps(payload))

    assert decoded.value.reason is DeadLetterReason.INVALID
    assert decoded.value.detail.startswith("order.limit_price: ")


def test_unknown_risk_reason_is_rejected_naming_its_position() -> None:
    payload = example_for(OrderDenied).model_dump(mode="json") | {"reasons": ["TOO_RISKY"]}

    with pytest.raises(ValidationError) as caught:
        OrderDenied.model_validate(payload)

    assert ("reasons", 0) in [error["loc"] for error in caught.value.errors()]


CROSS_FIELD_VIOLATIONS = [
    pytest.param(
        Bar, {"high": 61_000.0, "low": 61_300.0}, "high 61000.0 is below", id="bar-high-below-low"
    ),
    pytest.param(Bar, {"low": 61_200.0}, "low 61200.0 is above open", id="bar-low-above-open"),
    pytest.param(
        Bar,
        {"start_time": 1_723_123_860_000_000_000},
        "must be before event_time",
        id="bar-start-not-before-end",
    ),
    pytest.param(
        SubmitOrder,
        {"order_type": "LIMIT", "limit_price": None, "stop_price": None},
        "limit_price is required for a LIMIT order",
        id="limit-without-limit-price",
    ),
    pytest.param(
        SubmitOrder,
        {"order_type": "MARKET", "stop_price": None},
        "limit_price is not allowed for a MARKET order",
        id="market-with-limit-price",
    ),
    pytest.param(
        SubmitOrder,
        {"order_type": "STOP", "limit_price": None, "stop_price": None},
        "stop_price is required for a STOP order",
        id="stop-without-stop-price",
    ),
    pytest.param(
        SubmitOrder,
        {"expire_time": None},
        "expire_time is required with time_in_force GTD",
        id="gtd-without-expire-time",
    ),
    pytest.param(
        SubmitOrder,
        {"time_in_force": "GTC"},
        "expire_time is only allowed with time_in_force GTD",
        id="gtc-with-expire-time",
    ),
    pytest.param(
        SignalGenerated,
        {"target_weight": -0.25},
        "target_weight -0.25 contradicts direction LONG",
        id="long-signal-with-negative-weight",
    ),
    pytest.param(
        SignalGenerated,
        {"direction": "FLAT"},
        "target_weight 0.25 contradicts direction FLAT",
        id="flat-signal-with-weight",
    ),
    pytest.param(
        OrderFilled,
        {"cumulative_quantity": 0.01},
        "cumulative_quantity 0.01 is below last_quantity 0.025",
        id="fill-cumulative-below-last",
    ),
    pytest.param(
        OrderPartiallyFilled,
        {"leaves_quantity": 0.0},
        "a partial fill leaves a positive leaves_quantity",
        id="partial-fill-leaving-nothing",
    ),
    pytest.param(
        OrderFilled,
        {"leaves_quantity": 0.5},
        "a complete fill leaves nothing, not 0.5",
        id="complete-fill-leaving-some",
    ),
    pytest.param(
        BookSnapshot,
        {"bids": [{"price": 1.0, "size": 1.0}, {"price": 2.0, "size": 1.0}]},
        "bids must be sorted by strictly descending price",
        id="book-bids-ascending",
    ),
    pytest.param(
        BookSnapshot,
        {"asks": [{"price": 2.0, "size": 1.0}, {"price": 2.0, "size": 3.0}]},
        "asks must be sorted by strictly ascending price",
        id="book-asks-repeating-a-price",
    ),
    pytest.param(
        BookDelta,
        {"first_sequence": 10, "sequence": 9},
        "first_sequence 10 is after sequence 9",
        id="book-delta-sequences-reversed",
    ),
    pytest.param(
        AuditCheckpoint,
        {"first_sequence": 10, "last_sequence": 9},
        "last_sequence 9 is before first_sequence 10",
        id="audit-checkpoint-range-reversed",
    ),
    pytest.param(
        OrderApproved,
        {"quantity": 1.0},
        "approved quantity 1.0 exceeds the intent's 0.05",
        id="approval-above-the-intent",
    ),
    pytest.param(
        OrderApproved,
        {"client_order_id": "other-1"},
        "decision for other-1/BTCUSDT.BINANCE carries another order (jules-7f3a9c2e01/",
        id="approval-of-another-order",
    ),
    pytest.param(
        OrderDenied,
        {"instrument_id": "GBPUSD.OANDA"},
        "decision for jules-5b1d0e7c42/GBPUSD.OANDA carries another order",
        id="denial-for-another-instrument",
    ),
]


@pytest.mark.parametrize(("cls", "changes", "message"), CROSS_FIELD_VIOLATIONS)
def test_cross_field_violation_is_rejected_with_a_message_naming_the_values(
    cls: type[Event], changes: dict[str, Any], message: str
) -> None:
    payload = example_for(cls).model_dump(mode="json") | changes

    with pytest.raises(ValidationError) as caught:
        cls.model_validate(payload)
    with pytest.raises(DecodeError) as decoded:
        decode_event(json.dumps(payload))

    assert message in str(caught.value)
    assert decoded.value.reason is DeadLetterReason.INVALID
    assert message in decoded.value.detail


@pytest.mark.parametrize(
    "data",
    [b"\xff\xfe\x00", b"not json", b"{", b"", b"[1, 2]", b"null", b"42", b'"md.trade"'],
    ids=repr,
)
def test_bytes_that_are_not_a_json_object_are_undecodable(data: bytes) -> None:
    with pytest.raises(DecodeError) as decoded:
        decode_event(data)

    assert decoded.value.reason is DeadLetterReason.UNDECODABLE


def test_nested_field_that_is_not_an_object_is_invalid_not_undecodable() -> None:
    payload = example_for(RiskAlert).model_dump(mode="json") | {"metrics": "drawdown=0.1"}

    with pytest.raises(DecodeError) as decoded:
        decode_event(json.dumps(payload))

    assert decoded.value.reason is DeadLetterReason.INVALID
    assert decoded.value.detail.startswith("metrics: ")


def test_message_without_event_type_is_an_unknown_event_type() -> None:
    payload = example_for(Trade).model_dump(mode="json")
    del payload["event_type"]

    with pytest.raises(DecodeError) as decoded:
        decode_event(json.dumps(payload))

    assert decoded.value.reason is DeadLetterReason.UNKNOWN_EVENT_TYPE
    assert "no event_type" in decoded.value.detail


@pytest.mark.parametrize("event_type", ["md.tick", "MD.TRADE", "md.trade.v2", 7])
def test_message_with_an_unknown_event_type_is_reported_with_that_type(event_type: object) -> None:
    payload = example_for(Trade).model_dump(mode="json") | {"event_type": event_type}

    with pytest.raises(DecodeError) as decoded:
        decode_event(json.dumps(payload))

    assert decoded.value.reason is DeadLetterReason.UNKNOWN_EVENT_TYPE
    assert str(event_type) in decoded.value.detail


def test_event_on_the_wrong_topic_is_reported_naming_what_belongs_there() -> None:
    data = encode_event(example_for(Trade))

    with pytest.raises(DecodeError) as decoded:
        decode_event(data, allowed=MD_QUOTES.event_types)

    assert decoded.value.reason is DeadLetterReason.WRONG_TOPIC
    assert "'md.trade'" in decoded.value.detail
    assert "md.quote" in decoded.value.detail


@pytest.mark.parametrize("cls", [Trade, BookSnapshot, BookDelta], ids=lambda cls: cls.__name__)
def test_event_on_its_own_topic_is_accepted(cls: type[Event]) -> None:
    topic = MD_TRADES if cls is Trade else MD_BOOK

    decoded = decode_event(encode_event(example_for(cls)), allowed=topic.event_types)

    assert decoded == example_for(cls)


def test_future_schema_version_is_unsupported_naming_the_field() -> None:
    payload = example_for(Trade).model_dump(mode="json") | {"schema_version": 2}

    with pytest.raises(DecodeError) as decoded:
        decode_event(json.dumps(payload))

    assert decoded.value.reason is DeadLetterReason.UNSUPPORTED_VERSION
    assert decoded.value.detail.startswith("schema_version: ")
