"""ATR stops produce reduce-only exits."""

from __future__ import annotations

from typing import Any

import pytest
from jules_contracts import (
    EngageKillSwitch,
    Event,
    KillSwitchState,
    OrderApproved,
    OrderDenied,
    OrderSide,
    RiskAlert,
    RiskReason,
    SubmitOrder,
    derive_event_id,
)
from jules_contracts.ids import client_order_id
from jules_risk.engine import RiskEngine, StopsConfig

from .helpers import BTC, MINUTE, T0, bar, canceled, decide, intent, make_engine, snapshot


def _engine(position: float, entry: float = 100.0, **stops: Any) -> RiskEngine:
    engine = make_engine(stops=StopsConfig(**stops))
    engine.on_market(bar(T0, entry), atr=2.0)
    engine.on_portfolio(snapshot(T0, positions={BTC: position}, average_prices={BTC: entry}))
    return engine


def _exit(events: list[Event]) -> tuple[SubmitOrder, OrderApproved | OrderDenied, RiskAlert]:
    order, decision, alert = events
    assert isinstance(order, SubmitOrder)
    assert isinstance(decision, OrderApproved | OrderDenied)
    assert isinstance(alert, RiskAlert)
    return order, decision, alert


def test_long_stop_loss_triggers_at_the_level_not_before():
    engine = _engine(10.0, stop_loss_atr_multiple=1.5)  # level 100 - 1.5 * 2 = 97

    above = engine.on_market(bar(T0 + MINUTE, 97.01))
    at_level_bar = bar(T0 + 2 * MINUTE, 97.0)
    events = engine.on_market(at_level_bar)

    assert above == []
    order, decision, alert = _exit(events)
    assert (order.side, order.quantity, order.reduce_only) == (OrderSide.SELL, 10.0, True)
    assert order.client_order_id == client_order_id("risk-stops", at_level_bar.event_id)
    assert order.causation_id == at_level_bar.event_id
    assert isinstance(decision, OrderApproved)
    assert alert.code == "STOP_LOSS"
    assert alert.metrics["entry"] == 100.0
    assert alert.metrics["atr"] == 2.0


def test_no_second_exit_while_one_is_working_but_again_after_it_is_canceled():
    engine = _engine(10.0, stop_loss_atr_multiple=1.5)
    order, _, _ = _exit(engine.on_market(bar(T0 + MINUTE, 96.0)))

    while_working = engine.on_market(bar(T0 + 2 * MINUTE, 95.0))
    engine.on_order_event(canceled(order, T0 + 2 * MINUTE + 1))
    after_cancel = engine.on_market(bar(T0 + 3 * MINUTE, 95.0))

    assert while_working == []
    second, decision, _ = _exit(after_cancel)
    assert second.client_order_id != order.client_order_id
    assert isinstance(decision, OrderApproved)


def test_short_stop_loss_and_take_profit_mirror_the_long_side():
    stop = _engine(-5.0, stop_loss_atr_multiple=1.0, take_profit_atr_multiple=3.0)
    profit = _engine(-5.0, stop_loss_atr_multiple=1.0, take_profit_atr_multiple=3.0)

    stop_events = stop.on_market(bar(T0 + MINUTE, 102.0))  # 100 + 1 * 2
    near_target = profit.on_market(bar(T0 + MINUTE, 94.01))
    target_events = profit.on_market(bar(T0 + 2 * MINUTE, 94.0))  # 100 - 3 * 2

    order, _, alert = _exit(stop_events)
    assert (order.side, order.quantity, alert.code) == (OrderSide.BUY, 5.0, "STOP_LOSS")
    assert near_target == []
    order, _, alert = _exit(target_events)
    assert (order.side, alert.code) == (OrderSide.BUY, "TAKE_PROFIT")


def test_trailing_stop_follows_the_best_price():
    engine = _engine(10.0, trailing_atr_multiple=1.0)

    rising = [
        engine.on_market(bar(T0 + i * MINUTE, price))
        for i, price in enumerate([104.0, 110.0, 108.01], start=1)
    ]
    events = engine.on_market(bar(T0 + 4 * MINUTE, 108.0))  # 110 - 1 * 2

    assert rising == [[], [], []]
    order, _, alert = _exit(events)
    assert alert.code == "TRAILING_STOP"
    assert alert.metrics["best"] == 110.0
    assert order.quantity == 10.0


def test_exit_covers_the_net_position_with_working_orders():
    engine = _engine(10.0, stop_loss_atr_multiple=1.0)
    decide(
        engine,
        intent(T0, OrderSide.SELL, 4.0),
        snapshot(T0, positions={BTC: 10.0}, average_prices={BTC: 100.0}),
    )

    order, _, _ = _exit(engine.on_market(bar(T0 + MINUTE, 97.0)))

    assert order.quantity == 6.0


def test_exit_is_denied_while_halted():
    engine = _engine(10.0, stop_loss_atr_multiple=1.0)
    engine.on_control(
        EngageKillSwitch(
            event_id=derive_event_id("halt"),
            source="test",
            event_time=T0,
            reason="test",
            operator="risk-officer",
        )
    )

    _, decision, _ = _exit(engine.on_market(bar(T0 + MINUTE, 90.0)))

    assert isinstance(decision, OrderDenied)
    assert decision.reasons == (RiskReason.KILL_SWITCH_HALTED,)


def test_exit_passes_the_reducing_kill_switch():
    engine = _engine(10.0, stop_loss_atr_multiple=1.0)
    engine.on_control(
        EngageKillSwitch(
            event_id=derive_event_id("reduce"),
            source="test",
            event_time=T0,
            state=KillSwitchState.REDUCING,
            reason="test",
            operator="risk-officer",
        )
    )

    _, decision, _ = _exit(engine.on_market(bar(T0 + MINUTE, 90.0)))

    assert isinstance(decision, OrderApproved)


def test_stops_wait_for_an_atr_and_use_the_internal_wilder_atr():
    engine = make_engine(stops=StopsConfig(stop_loss_atr_multiple=1.0), atr_period=3)
    engine.on_portfolio(snapshot(T0, positions={BTC: 1.0}, average_prices={BTC: 100.0}))
    # Bars with true range 2 each: the ATR needs 3 of them after a first bar.
    warmup = [engine.on_market(bar(T0 + i * MINUTE, 100.0, high=101.0, low=99.0)) for i in range(3)]
    engine.on_market(bar(T0 + 3 * MINUTE, 100.0, high=101.0, low=99.0))
    market = engine.market(BTC)
    assert market is not None
    atr = market.atr
    events = engine.on_market(bar(T0 + 4 * MINUTE, 98.0, high=100.0, low=98.0))

    assert warmup == [[], [], []]
    assert atr == pytest.approx(2.0)
    _, _, alert = _exit(events)
    assert alert.code == "STOP_LOSS"


def test_flat_position_has_no_stop():
    engine = _engine(0.0, stop_loss_atr_multiple=1.0)

    assert engine.on_market(bar(T0 + MINUTE, 50.0)) == []
