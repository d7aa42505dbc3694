"""IOC, FOK, DAY and GTD orders, and reduce-only orders."""

from __future__ import annotations

import pytest
from jules_contracts import (
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderSide,
    OrderType,
    TimeInForce,
    derive_event_id,
    parse_utc_nanos,
)
from jules_order_router.engine import L1Quote, OrderStatus

from .helpers import (  # type: ignore[import-not-found]
    BTC,
    T0,
    approve,
    bar_time,
    feed,
    make_bar,
    make_engine,
    make_quote,
    reason_of,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL
HOUR = 3_600_000_000_000


def test_ioc_fills_what_it_can_on_its_first_event_and_cancels_the_rest() -> None:
    engine = make_engine(fill_model=L1Quote())
    decision = approve("ioc", BUY, 1.0, at=T0, tif=TimeInForce.IOC)
    [accepted] = engine.on_decision(decision)

    partial, canceled = feed(engine, [make_quote(T0 + 1, 99.0, 100.0, ask_size=0.4)])

    assert isinstance(partial, OrderPartiallyFilled)
    assert partial.last_quantity == 0.4
    assert isinstance(canceled, OrderCanceled)
    assert reason_of(canceled).startswith("IOC_REMAINDER: ")
    assert canceled.filled_quantity == 0.4
    assert canceled.event_id == derive_event_id(
        "order.canceled", accepted.event_id, decision.client_order_id
    )
    assert engine.working_orders == ()


def test_ioc_limit_not_marketable_is_canceled_without_resting() -> None:
    engine = make_engine()
    engine.on_decision(
        approve(
            "ioc",
            BUY,
            1,
            at=bar_time(0),
            order_type=OrderType.LIMIT,
            limit=95.0,
            tif=TimeInForce.IOC,
        )
    )

    [canceled] = feed(engine, [make_bar(1, 100.0, 101.0, 94.0, 99.0)])  # low reaches 95

    assert isinstance(canceled, OrderCanceled)
    assert canceled.filled_quantity == 0.0


def test_fok_that_cannot_fill_completely_is_canceled_without_a_fill() -> None:
    engine = make_engine(fill_model=L1Quote())
    engine.on_decision(approve("fok", BUY, 1.0, at=T0, tif=TimeInForce.FOK))

    [canceled] = feed(engine, [make_quote(T0 + 1, 99.0, 100.0, ask_size=0.99)])

    assert isinstance(canceled, OrderCanceled)
    assert reason_of(canceled).startswith("FOK_NOT_FILLED: ")
    assert engine.positions == ()


def test_fok_that_can_fill_completely_fills() -> None:
    engine = make_engine(fill_model=L1Quote())
    engine.on_decision(approve("fok", BUY, 1.0, at=T0, tif=TimeInForce.FOK))

    [filled] = feed(engine, [make_quote(T0 + 1, 99.0, 100.0, ask_size=1.0)])

    assert isinstance(filled, OrderFilled)


def test_a_day_order_expires_at_the_end_of_its_utc_day() -> None:
    midnight = parse_utc_nanos("2024-08-09T00:00:00Z")
    engine = make_engine(fill_model=L1Quote())
    decision = approve(
        "day",
        BUY,
        1,
        at=midnight - HOUR,
        order_type=OrderType.LIMIT,
        limit=90.0,
        tif=TimeInForce.DAY,
    )
    engine.on_decision(decision)

    before = feed(engine, [make_quote(midnight - 1, 99.0, 100.0)])
    [expired] = feed(engine, [make_quote(midnight, 80.0, 85.0)])  # would have filled

    assert before == []
    assert isinstance(expired, OrderExpired)
    assert expired.event_time == midnight
    assert engine.order(decision.client_order_id).status is OrderStatus.EXPIRED
    assert engine.positions == ()


def test_a_gtd_order_expires_at_its_expire_time_reporting_what_had_filled() -> None:
    engine = make_engine(max_participation=0.1)
    decision = approve("gtd", BUY, 10, at=bar_time(0), tif=TimeInForce.GTD, expire=bar_time(1))
    engine.on_decision(decision)

    events = feed(engine, [make_bar(1, 100.0, volume=20.0), make_bar(2, 100.0, volume=20.0)])

    partial, expired = events
    assert isinstance(partial, OrderPartiallyFilled)
    assert isinstance(expired, OrderExpired)
    assert expired.filled_quantity == 2.0
    assert expired.event_time == bar_time(2)
    assert engine.position(BTC).quantity == 2.0


def test_a_reduce_only_order_fills_at_most_the_position_and_then_is_canceled() -> None:
    engine = make_engine()
    engine.on_decision(approve("open", BUY, 3, at=bar_time(0)))
    feed(engine, [make_bar(1, 100.0)])
    engine.on_decision(approve("reduce", SELL, 5, at=bar_time(1), reduce_only=True))

    partial, canceled = feed(engine, [make_bar(2, 110.0)])

    assert isinstance(partial, OrderPartiallyFilled)
    assert (partial.last_quantity, partial.leaves_quantity) == (3.0, 2.0)
    assert isinstance(canceled, OrderCanceled)
    assert reason_of(canceled).startswith("REDUCE_ONLY: ")
    assert engine.position(BTC).quantity == 0.0
    assert engine.position(BTC).realized_pnl == pytest.approx(30.0)


def test_a_reduce_only_order_without_a_position_is_canceled() -> None:
    engine = make_engine()
    engine.on_decision(approve("reduce", BUY, 1, at=bar_time(0), reduce_only=True))

    [canceled] = feed(engine, [make_bar(1, 100.0)])

    assert isinstance(canceled, OrderCanceled)
    assert canceled.filled_quantity == 0.0
