"""Message-rate throttle by event time (C4), and duplicate client order ids (C8)."""

from __future__ import annotations

from jules_contracts import OrderApproved, OrderDenied, OrderSide, RiskReason, SubmitOrder
from jules_risk.engine import RiskEngine

from .helpers import (
    SECOND,
    T0,
    accepted,
    bar,
    canceled,
    decide,
    intent,
    make_engine,
    signal,
    snapshot,
)

BUY = OrderSide.BUY


def _engine() -> RiskEngine:
    engine = make_engine(max_orders_per_window=3, throttle_window_ns=SECOND)
    engine.on_market(bar(T0, 100.0))
    return engine


def test_orders_up_to_the_rate_are_approved_and_the_next_in_the_window_is_throttled():
    engine = _engine()
    times = [T0, T0 + 100, T0 + SECOND // 2]
    approved = [decide(engine, intent(t, BUY, 1.0)) for t in times]

    throttled = decide(engine, intent(T0 + SECOND - 1, BUY, 1.0))

    assert all(isinstance(d, OrderApproved) for d in approved)
    assert isinstance(throttled, OrderDenied)
    assert throttled.reasons == (RiskReason.THROTTLED,)
    assert "limits.max_orders_per_window 3" in throttled.message


def test_an_order_leaves_the_window_exactly_one_window_later():
    engine = _engine()
    for t in (T0, T0 + 100, T0 + 200):
        decide(engine, intent(t, BUY, 1.0))

    at_expiry = decide(engine, intent(T0 + SECOND, BUY, 1.0))
    again = decide(engine, intent(T0 + SECOND + 1, BUY, 1.0))

    assert isinstance(at_expiry, OrderApproved)
    assert isinstance(again, OrderDenied)
    assert again.reasons == (RiskReason.THROTTLED,)


def test_denied_orders_do_not_use_the_rate():
    engine = make_engine(max_orders_per_window=1, throttle_window_ns=SECOND, max_order_quantity=5.0)
    engine.on_market(bar(T0, 100.0))

    too_big = decide(engine, intent(T0, BUY, 6.0))
    fine = decide(engine, intent(T0 + 1, BUY, 1.0))

    assert isinstance(too_big, OrderDenied)
    assert isinstance(fine, OrderApproved)


def test_throttle_counts_event_time_not_arrival_order_of_calls():
    engine = _engine()
    # Six orders one window apart: never more than one in any window, though six in all.
    decisions = [decide(engine, intent(T0 + i * SECOND, BUY, 1.0)) for i in range(6)]

    assert all(isinstance(d, OrderApproved) for d in decisions)


def test_repeated_client_order_id_is_denied_as_duplicate():
    engine = make_engine()
    engine.on_market(bar(T0, 100.0))
    order = intent(T0, BUY, 1.0, client_order_id="same-id")

    first = decide(engine, order)
    second = decide(engine, order)

    assert isinstance(first, OrderApproved)
    assert isinstance(second, OrderDenied)
    assert second.reasons == (RiskReason.DUPLICATE_CLIENT_ORDER_ID,)
    assert "same-id" in second.message


def test_id_of_a_denied_or_finished_order_stays_used():
    engine = make_engine(max_order_quantity=1.0)
    engine.on_market(bar(T0, 100.0))
    denied_first = decide(engine, intent(T0, BUY, 2.0, client_order_id="d1"))
    approved = intent(T0, BUY, 1.0, client_order_id="c1")
    decide(engine, approved)
    engine.on_order_event(accepted(approved, T0 + 1))
    engine.on_order_event(canceled(approved, T0 + 2))

    retry_denied = decide(engine, intent(T0 + 3, BUY, 1.0, client_order_id="d1"))
    retry_canceled = decide(engine, intent(T0 + 3, BUY, 1.0, client_order_id="c1"))

    assert isinstance(denied_first, OrderDenied)
    for decision in (retry_denied, retry_canceled):
        assert isinstance(decision, OrderDenied)
        assert decision.reasons == (RiskReason.DUPLICATE_CLIENT_ORDER_ID,)


def test_redelivered_signal_regenerates_the_same_order_id_and_it_is_a_duplicate():
    engine = make_engine()
    engine.on_market(bar(T0, 100.0))
    sig = signal(T0, 0.5)

    first = engine.on_signal(sig, snapshot(T0))
    assert isinstance(first[0], SubmitOrder)
    engine.on_order_event(canceled(first[0], T0 + 1))  # nothing working: the same order again
    second = engine.on_signal(sig, snapshot(T0))

    assert first[0] == second[0]
    assert isinstance(first[1], OrderApproved)
    assert isinstance(second[1], OrderDenied)
    assert second[1].reasons == (RiskReason.DUPLICATE_CLIENT_ORDER_ID,)
