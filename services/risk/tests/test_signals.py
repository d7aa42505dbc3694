"""From a signal to an order: target minus position minus working orders, one order."""

from __future__ import annotations

from jules_contracts import (
    AlertSeverity,
    Event,
    OrderApproved,
    OrderDenied,
    OrderSide,
    OrderType,
    RiskAlert,
    SubmitOrder,
    encode_event,
)
from jules_contracts.ids import client_order_id
from jules_risk.engine import SizingConfig

from .helpers import ACCOUNT, BTC, MINUTE, STRATEGY, T0, bar, intent, make_engine, signal, snapshot

WHOLE = SizingConfig(kind="all_equity")


def _sized(events: list[Event]) -> tuple[SubmitOrder, OrderApproved | OrderDenied]:
    order, decision = events
    assert isinstance(order, SubmitOrder)
    assert isinstance(decision, OrderApproved | OrderDenied)
    return order, decision


def test_long_signal_becomes_a_sized_market_order_with_deterministic_id():
    engine = make_engine(sizing=WHOLE)
    engine.on_market(bar(T0, 333.0))
    sig = signal(T0, 1.0, price=333.0)

    order, decision = _sized(engine.on_signal(sig, snapshot(T0, 10_000.0)))

    assert isinstance(order, SubmitOrder)
    assert (order.side, order.quantity, order.order_type) == (OrderSide.BUY, 30.0, OrderType.MARKET)
    assert order.client_order_id == client_order_id(STRATEGY, sig.event_id)
    assert (order.account_id, order.strategy_id, order.source) == (ACCOUNT, STRATEGY, "risk")
    assert order.causation_id == sig.event_id
    assert order.reference_price == 333.0
    assert isinstance(decision, OrderApproved)
    assert decision.quantity == order.quantity
    assert decision.causation_id == order.event_id


def test_reversal_from_long_to_short_is_one_order_of_the_difference():
    engine = make_engine(sizing=WHOLE)
    engine.on_market(bar(T0, 100.0))

    order, decision = _sized(engine.on_signal(signal(T0, -1.0), snapshot(T0, 1_000.0, {BTC: 10.0})))

    assert (order.side, order.quantity) == (OrderSide.SELL, 20.0)
    assert isinstance(decision, OrderApproved)


def test_flat_signal_closes_the_position():
    engine = make_engine(sizing=WHOLE)
    engine.on_market(bar(T0, 100.0))

    order, _ = _sized(engine.on_signal(signal(T0, 0.0), snapshot(T0, 1_000.0, {BTC: -4.0})))

    assert (order.side, order.quantity) == (OrderSide.BUY, 4.0)


def test_signal_already_met_by_position_and_working_orders_gives_no_order():
    engine = make_engine(sizing=WHOLE)
    engine.on_market(bar(T0, 100.0))
    portfolio = snapshot(T0, 1_000.0, {BTC: 4.0})
    first, _ = _sized(engine.on_signal(signal(T0, 1.0, key="a"), portfolio))  # buy 6, working

    second = engine.on_signal(signal(T0, 1.0, key="b"), portfolio)

    assert first.quantity == 6.0
    assert second == []


def test_signal_before_any_price_is_not_sized_and_alerts():
    engine = make_engine()

    events = engine.on_signal(signal(T0, 0.5, price=None), snapshot(T0))

    (alert,) = events
    assert isinstance(alert, RiskAlert)
    assert alert.code == "SIZING_UNAVAILABLE"
    assert alert.instrument_id == BTC


def test_before_any_snapshot_a_signal_is_not_sized_nor_an_intent_decided_and_nothing_changes():
    engine = make_engine()
    engine.on_market(bar(T0, 100.0))
    early = signal(T0 + MINUTE, 0.5)
    order = intent(T0 + MINUTE, OrderSide.BUY, 1.0, reference_price=100.0)
    why = f"no portfolio snapshot of account {ACCOUNT} yet"

    [unsized] = engine.on_signal(early, None)
    [undecided] = engine.on_intent(order, None)

    assert isinstance(unsized, RiskAlert)
    assert isinstance(undecided, RiskAlert)
    assert (unsized.code, unsized.severity, unsized.instrument_id) == (
        "SIZING_UNAVAILABLE",
        AlertSeverity.WARNING,
        BTC,
    )
    assert unsized.message == f"signal for {BTC} not sized (fixed_fraction): {why}"
    assert (undecided.code, undecided.severity, undecided.instrument_id) == (
        "PORTFOLIO_UNAVAILABLE",
        AlertSeverity.WARNING,
        BTC,
    )
    assert undecided.message == f"order {order.client_order_id} for {BTC} not decided: {why}"
    assert (unsized.causation_id, undecided.causation_id) == (early.event_id, order.event_id)
    assert engine.now == T0  # the clock did not move, the order id is not used
    assert isinstance(engine.on_intent(order, snapshot(T0 + MINUTE))[-1], OrderApproved)


def test_signal_without_price_is_sized_at_the_market_reference():
    engine = make_engine(sizing=WHOLE)
    engine.on_market(bar(T0, 250.0))

    order, _ = _sized(engine.on_signal(signal(T0, 1.0, price=None), snapshot(T0, 10_000.0)))

    assert order.quantity == 40.0
    assert order.reference_price is None


def test_atr_risk_sizing_uses_the_engine_atr_or_a_passed_one():
    sizing = SizingConfig(kind="atr_risk", risk_fraction=0.01, atr_multiple=2.0)
    engine = make_engine(sizing=sizing)
    engine.on_market(bar(T0, 100.0), atr=2.5)

    order, _ = _sized(engine.on_signal(signal(T0, 1.0), snapshot(T0, 100_000.0)))

    assert order.quantity == 200.0  # 1,000 at risk / (2 * 2.5)


def test_same_inputs_give_byte_identical_outputs():
    def run() -> list[bytes]:
        engine = make_engine()
        events = []
        for i, weight in enumerate([0.5, -0.25, 0.0, 1.0]):
            t = T0 + i
            events += engine.on_market(bar(t, 100.0 + i))
            events += engine.on_signal(signal(t, weight, price=100.0 + i), snapshot(t))
        return [encode_event(e) for e in events]

    assert run() == run()


def test_signal_with_a_snapshot_of_another_account_is_not_sized():
    engine = make_engine()
    engine.on_market(bar(T0, 100.0))

    events = engine.on_signal(signal(T0, 0.5), snapshot(T0, account="someone-else"))

    assert [e.code for e in events if isinstance(e, RiskAlert)] == [
        "ACCOUNT_MISMATCH",
        "SIZING_UNAVAILABLE",
    ]
    assert not any(isinstance(e, SubmitOrder) for e in events)
