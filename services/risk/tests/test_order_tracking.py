"""Working orders and fills: what counts, when, and never twice."""

from __future__ import annotations

from typing import Any

from jules_contracts import (
    OrderApproved,
    OrderDenied,
    OrderExpired,
    OrderRejected,
    OrderSide,
    RiskReason,
    derive_event_id,
)
from jules_risk.engine import RiskEngine

from .helpers import (
    BTC,
    MINUTE,
    T0,
    accepted,
    bar,
    canceled,
    decide,
    filled,
    intent,
    make_engine,
    snapshot,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def _engine(**limits: Any) -> RiskEngine:
    engine = make_engine(**limits)
    engine.on_market(bar(T0, 100.0))
    return engine


def test_approved_order_is_working_at_once_and_partial_fills_reduce_it():
    engine = _engine()
    order = intent(T0, BUY, 10.0)
    decide(engine, order)

    working_at_approval = engine.book.working_net(BTC)
    engine.on_order_event(accepted(order, T0 + 1))
    engine.on_order_event(filled(order, T0 + 2, 100.0, quantity=4.0, cumulative=4.0))

    assert working_at_approval == 10.0
    assert engine.book.working_net(BTC) == 6.0
    assert engine.book.position(BTC) == 4.0


def test_fill_after_the_snapshot_moves_the_position_but_one_already_in_it_does_not():
    engine = _engine()
    order = intent(T0, BUY, 3.0)
    decide(engine, order, snapshot(T0))
    # The router filled it at T0 + 1 and published a snapshot including the fill.
    engine.on_portfolio(snapshot(T0 + 1, positions={BTC: 3.0}))

    engine.on_order_event(filled(order, T0 + 1, 100.0))

    assert engine.book.position(BTC) == 3.0
    assert engine.book.working_net(BTC) == 0.0


def test_fill_reported_before_the_snapshot_is_replaced_by_it_not_added():
    engine = _engine()
    order = intent(T0, BUY, 3.0)
    decide(engine, order, snapshot(T0))

    engine.on_order_event(filled(order, T0 + 1, 100.0))
    before_snapshot = engine.book.position(BTC)
    engine.on_portfolio(snapshot(T0 + 1, positions={BTC: 3.0}))

    assert before_snapshot == 3.0
    assert engine.book.position(BTC) == 3.0


def test_duplicate_fill_is_applied_once():
    engine = _engine()
    order = intent(T0, BUY, 10.0)
    decide(engine, order, snapshot(T0))
    fill = filled(order, T0 + 1, 100.0, quantity=4.0, cumulative=4.0)

    engine.on_order_event(fill)
    engine.on_order_event(fill)

    assert engine.book.position(BTC) == 4.0


def test_rejected_and_canceled_orders_stop_counting():
    engine = _engine(max_position_quantity=10.0)
    first, second = intent(T0, BUY, 10.0), intent(T0, BUY, 10.0, client_order_id="second")
    decide(engine, first)

    blocked = decide(engine, second)
    engine.on_order_event(
        OrderRejected(
            event_id=derive_event_id("rej"),
            source="test",
            event_time=T0 + 1,
            client_order_id=first.client_order_id,
            instrument_id=BTC,
            reason="venue says no",
        )
    )
    after_reject = decide(engine, intent(T0 + 2, BUY, 10.0, client_order_id="third"))
    engine.on_order_event(canceled(after_reject.order, T0 + 3))

    assert isinstance(blocked, OrderDenied)
    assert isinstance(after_reject, OrderApproved)
    assert engine.book.open_order_count() == 0


def test_position_average_price_follows_fills_after_the_snapshot():
    engine = _engine()
    engine.on_portfolio(snapshot(T0))
    first, second = intent(T0, BUY, 1.0), intent(T0, BUY, 3.0, client_order_id="b")
    decide(engine, first, snapshot(T0))
    decide(engine, second, snapshot(T0))

    engine.on_order_event(filled(first, T0 + MINUTE, 100.0))
    engine.on_order_event(filled(second, T0 + MINUTE, 104.0))

    assert engine.book.position(BTC) == 4.0
    assert engine.book.average_price(BTC) == (100.0 + 3 * 104.0) / 4
    assert engine.book.traded_notional == 100.0 + 312.0


def test_sell_fill_moves_the_position_down():
    engine = _engine()
    engine.on_portfolio(snapshot(T0, positions={BTC: 5.0}))
    order = intent(T0, SELL, 2.0)
    decide(engine, order, snapshot(T0, positions={BTC: 5.0}))

    engine.on_order_event(filled(order, T0 + 1, 101.0))

    assert engine.book.position(BTC) == 3.0


def test_expired_order_stops_counting():
    engine = _engine(max_open_orders=1)
    order = intent(T0, BUY, 1.0)
    decide(engine, order)

    blocked = decide(engine, intent(T0, BUY, 1.0, client_order_id="next"))
    engine.on_order_event(
        OrderExpired(
            event_id=derive_event_id("exp"),
            source="test",
            event_time=T0 + 1,
            client_order_id=order.client_order_id,
            instrument_id=BTC,
        )
    )
    after = decide(engine, intent(T0 + 1, BUY, 1.0, client_order_id="after"))

    assert isinstance(blocked, OrderDenied)
    assert blocked.reasons == (RiskReason.OPEN_ORDERS_LIMIT,)
    assert isinstance(after, OrderApproved)
