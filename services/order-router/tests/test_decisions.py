"""Approvals become accepted (or rejected) orders; denials do nothing; cancels; idempotence."""

from __future__ import annotations

from jules_contracts import (
    CancelOrder,
    OrderAccepted,
    OrderApproved,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderSide,
    RiskReason,
    TimeInForce,
    derive_event_id,
)
from jules_order_router.engine import OrderStatus

from .helpers import (  # type: ignore[import-not-found]
    ACCOUNT,
    BTC,
    ETH,
    T0,
    approve,
    bar_time,
    feed,
    fills,
    make_bar,
    make_engine,
    root_id,
)

BUY = OrderSide.BUY


def test_an_approval_is_accepted_with_a_derived_id_and_starts_working() -> None:
    engine = make_engine()
    decision = approve("a", BUY, 2, at=bar_time(0))

    events = engine.on_decision(decision)

    assert len(events) == 1
    accepted = events[0]
    assert isinstance(accepted, OrderAccepted)
    assert accepted.event_id == derive_event_id("order.accepted", decision.event_id, "")
    assert accepted.causation_id == decision.event_id
    assert accepted.correlation_id == decision.chain_id
    assert accepted.source == "order-router"
    assert accepted.event_time == decision.event_time
    assert accepted.client_order_id == decision.client_order_id
    assert accepted.venue_order_id == "SIM-00000001"
    [working] = engine.working_orders
    assert (working.client_order_id, working.status, working.leaves_quantity) == (
        decision.client_order_id,
        OrderStatus.ACCEPTED,
        2.0,
    )


def test_a_denial_produces_nothing() -> None:
    engine = make_engine()
    intent = approve("a", BUY, 2, at=bar_time(0)).order
    denied = OrderDenied.derive(
        intent,
        source="risk",
        client_order_id=intent.client_order_id,
        instrument_id=BTC,
        reasons=(RiskReason.ORDER_NOTIONAL_LIMIT,),
        message="too big",
        order=intent,
    )

    assert engine.on_decision(denied) == []
    assert engine.working_orders == ()


def test_the_same_decision_processed_twice_yields_the_same_events_and_one_order() -> None:
    engine = make_engine()
    decision = approve("a", BUY, 2, at=bar_time(0))

    first = engine.on_decision(decision)
    second = engine.on_decision(decision)

    assert second == first
    assert len(engine.working_orders) == 1
    filled = fills(feed(engine, [make_bar(1, 100.0), make_bar(2, 105.0)]))
    assert [f.last_quantity for f in filled] == [2.0]
    assert engine.position(BTC).quantity == 2.0


def test_a_second_approval_for_the_same_client_order_id_is_rejected_as_duplicate() -> None:
    engine = make_engine()
    first = approve("a", BUY, 2, at=bar_time(0))
    again = approve("a-again", BUY, 5, at=bar_time(0), coid=first.client_order_id)
    engine.on_decision(first)

    [rejected] = engine.on_decision(again)

    assert isinstance(rejected, OrderRejected)
    assert rejected.reason.startswith("DUPLICATE_CLIENT_ORDER_ID: ")
    assert first.client_order_id in rejected.reason
    assert rejected.causation_id == again.event_id
    [working] = engine.working_orders  # the first order is unaffected
    assert working.quantity == 2.0
    [filled] = fills(feed(engine, [make_bar(1, 100.0)]))
    assert filled.last_quantity == 2.0


def test_an_order_for_an_instrument_the_venue_does_not_list_is_rejected() -> None:
    engine = make_engine(instruments=(BTC,))

    [rejected] = engine.on_decision(approve("e", BUY, 1, at=bar_time(0), instrument=ETH))

    assert isinstance(rejected, OrderRejected)
    assert rejected.reason.startswith("UNKNOWN_INSTRUMENT: ")
    assert ETH in rejected.reason
    assert engine.working_orders == ()


def test_an_order_for_another_account_is_rejected() -> None:
    engine = make_engine()

    [rejected] = engine.on_decision(approve("x", BUY, 1, at=bar_time(0), account="other-02"))

    assert isinstance(rejected, OrderRejected)
    assert rejected.reason.startswith("ACCOUNT_MISMATCH: ")
    assert "other-02" in rejected.reason
    assert ACCOUNT in rejected.reason


def test_a_gtd_order_already_expired_on_arrival_is_rejected() -> None:
    engine = make_engine()
    decision = approve("g", BUY, 1, at=bar_time(3), tif=TimeInForce.GTD, expire=bar_time(2))

    [rejected] = engine.on_decision(decision)

    assert isinstance(rejected, OrderRejected)
    assert rejected.reason.startswith("EXPIRED_ON_ARRIVAL: ")


def test_a_rejected_client_order_id_cannot_be_reused() -> None:
    engine = make_engine(instruments=(BTC,))
    first = approve("e", BUY, 1, at=bar_time(0), instrument=ETH)
    engine.on_decision(first)
    retry = approve("e2", BUY, 1, at=bar_time(0), instrument=ETH, coid=first.client_order_id)

    [rejected] = engine.on_decision(retry)

    assert rejected.reason.startswith("DUPLICATE_CLIENT_ORDER_ID: ")
    assert "status REJECTED" in rejected.reason


def test_the_approved_quantity_not_the_intent_quantity_is_worked() -> None:
    engine = make_engine()
    engine.on_decision(approve("a", BUY, 5, approved=3, at=bar_time(0)))

    [filled] = fills(feed(engine, [make_bar(1, 100.0)]))

    assert filled.last_quantity == 3.0
    assert engine.position(BTC).quantity == 3.0


def cancel_of(
    decision: OrderApproved, *, reason: str | None = None, at: int | None = None
) -> CancelOrder:
    return CancelOrder(
        event_id=root_id("cancel", decision.client_order_id, at or 0),
        source="signal",
        event_time=at or decision.event_time,
        client_order_id=decision.client_order_id,
        instrument_id=decision.instrument_id,
        reason=reason,
    )


def test_a_canceled_order_reports_canceled_and_never_fills() -> None:
    engine = make_engine()
    decision = approve("a", BUY, 2, at=bar_time(0))
    engine.on_decision(decision)
    cancel = cancel_of(decision, reason="signal flipped")

    [canceled] = engine.on_cancel(cancel)

    assert isinstance(canceled, OrderCanceled)
    assert canceled.reason == "CANCELED_BY_REQUEST: signal flipped"
    assert canceled.filled_quantity == 0.0
    assert canceled.causation_id == cancel.event_id
    assert engine.working_orders == ()
    assert feed(engine, [make_bar(1, 100.0)]) == []
    assert engine.order(decision.client_order_id).status is OrderStatus.CANCELED


def test_canceling_a_partially_filled_order_reports_what_had_filled() -> None:
    engine = make_engine(max_participation=0.1)
    decision = approve("a", BUY, 10, at=bar_time(0))
    engine.on_decision(decision)
    feed(engine, [make_bar(1, 100.0, volume=20.0)])

    [canceled] = engine.on_cancel(cancel_of(decision, at=bar_time(1)))

    assert canceled.filled_quantity == 2.0
    assert engine.position(BTC).quantity == 2.0


def test_canceling_an_unknown_or_finished_order_does_nothing_and_a_repeat_repeats() -> None:
    engine = make_engine()
    decision = approve("a", BUY, 2, at=bar_time(0))
    assert engine.on_cancel(cancel_of(decision)) == []  # not known yet
    engine.on_decision(decision)
    feed(engine, [make_bar(1, 100.0)])

    late = cancel_of(decision, at=bar_time(1))

    assert engine.on_cancel(late) == []
    assert engine.order(decision.client_order_id).status is OrderStatus.FILLED


def test_the_same_cancel_processed_twice_returns_the_same_event() -> None:
    engine = make_engine()
    decision = approve("a", BUY, 2, at=bar_time(0))
    engine.on_decision(decision)
    cancel = cancel_of(decision)

    assert engine.on_cancel(cancel) == engine.on_cancel(cancel)


def test_a_market_event_processed_twice_does_not_fill_twice() -> None:
    engine = make_engine(max_participation=0.1)
    engine.on_decision(approve("a", BUY, 10, at=bar_time(0)))
    bar = make_bar(1, 100.0, volume=20.0)

    first = engine.on_market(bar)
    second = engine.on_market(bar)

    assert second == first
    assert engine.position(BTC).quantity == 2.0


def test_an_old_market_event_replayed_later_does_not_fill_a_working_order_again() -> None:
    engine = make_engine(max_participation=0.1)
    engine.on_decision(approve("a", BUY, 10, at=bar_time(0)))
    first_bar = make_bar(1, 100.0, volume=20.0)
    feed(engine, [first_bar, make_bar(2, 101.0, volume=20.0)])

    assert engine.on_market(first_bar) == []
    assert engine.position(BTC).quantity == 4.0


def test_orders_of_another_instrument_are_not_touched_by_a_bar() -> None:
    engine = make_engine()
    engine.on_decision(approve("e", BUY, 1, at=bar_time(0), instrument=ETH))

    assert feed(engine, [make_bar(1, 100.0)]) == []
    [filled] = fills(feed(engine, [make_bar(1, 2_000.0, instrument=ETH)]))
    assert isinstance(filled, OrderFilled)
    assert filled.last_price == 2_000.0


def test_decision_time_does_not_depend_on_wall_clock() -> None:
    engine = make_engine()
    decision = approve("a", BUY, 1, at=T0 + 5)

    [accepted] = engine.on_decision(decision)

    assert accepted.event_time == T0 + 5
