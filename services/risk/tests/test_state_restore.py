"""The risk engine's state as entities, restored into a new engine (round trips)."""

from __future__ import annotations

import pytest
from jules_contracts.base import derive_event_id
from jules_contracts.control import ChangeConfig
from jules_contracts.enums import KillSwitchState, OrderSide
from jules_risk.engine import RiskEngine, StopsConfig
from jules_risk.engine.state import restore_risk_state, risk_state
from jules_runtime.bus.state_codec import dumps_state, loads_state

from .helpers import (
    BTC,
    ETH,
    MINUTE,
    accepted,
    bar,
    canceled,
    decide,
    engage,
    filled,
    intent,
    make_engine,
    quote,
    snapshot,
)

STOPS = StopsConfig(stop_loss_atr_multiple=2.0, trailing_atr_multiple=3.0)


def _encoded(engine: RiskEngine) -> dict[str, bytes]:
    return {key: dumps_state(value) for key, value in risk_state(engine).items()}


def _restored(engine: RiskEngine) -> RiskEngine:
    fresh = make_engine(stops=STOPS, atr_period=3)
    restore_risk_state(fresh, {key: loads_state(raw) for key, raw in _encoded(engine).items()})
    return fresh


def _busy_engine() -> RiskEngine:
    engine = make_engine(stops=STOPS, atr_period=3)
    for i, close in enumerate([100.0, 101.0, 99.0, 102.0, 103.0]):
        engine.on_market(bar((i + 1) * MINUTE, close))
        engine.on_market(bar((i + 1) * MINUTE, close * 0.1, instrument=ETH))
    engine.on_market(quote(6 * MINUTE, 102.9, 103.1))
    book = snapshot(6 * MINUTE, positions={BTC: 2.0}, average_prices={BTC: 100.0})
    engine.on_portfolio(book)
    buy = intent(6 * MINUTE, OrderSide.BUY, 3.0)
    decide(engine, buy, book)
    engine.on_order_event(accepted(buy, 6 * MINUTE))
    engine.on_order_event(filled(buy, 6 * MINUTE + 1, 103.0, quantity=1.0, cumulative=1.0))
    gone = intent(6 * MINUTE + 2, OrderSide.SELL, 1.0, instrument=ETH)
    decide(engine, gone, book)
    engine.on_order_event(canceled(gone, 6 * MINUTE + 3))
    engine.on_control(engage(6 * MINUTE + 4, KillSwitchState.REDUCING, instrument=ETH))
    change = ChangeConfig(
        event_id=derive_event_id("test-change", "limits.max_open_orders"),
        source="test",
        event_time=6 * MINUTE + 5,
        target="risk",
        key="limits.max_open_orders",
        value=7,
        operator="alice",
    )
    engine.on_control(change)
    return engine


def test_positions_working_orders_limits_and_kill_switch_survive_a_round_trip() -> None:
    engine = _busy_engine()
    restored = _restored(engine)

    assert _encoded(restored) == _encoded(engine)
    assert restored.config == engine.config
    assert restored.config.limits.max_open_orders == 7
    assert restored.kill_switch_state(ETH) is KillSwitchState.REDUCING
    assert restored.book.position(BTC) == engine.book.position(BTC) == 3.0
    assert restored.book.working_orders() == engine.book.working_orders()
    assert [o.leaves for o in restored.book.working_orders()] == [2.0]
    state = risk_state(engine)
    assert {"config", "kill_switch", f"position/{BTC}", "book"} <= set(state)
    assert sum(key.startswith("order/") for key in state) == 1


def test_a_restored_engine_decides_as_the_original() -> None:
    engine = _busy_engine()
    restored = _restored(engine)
    later = [bar(7 * MINUTE, 90.0), bar(8 * MINUTE, 80.0)]
    for event in later:
        assert restored.on_market(event) == engine.on_market(event)
    again = intent(6 * MINUTE, OrderSide.BUY, 3.0)
    book = snapshot(8 * MINUTE, positions={BTC: 3.0})
    assert decide(restored, again, book) == decide(engine, again, book)
    halt = engage(9 * MINUTE)
    assert restored.on_control(halt) == engine.on_control(halt)
    assert restored.kill_switch_state() is KillSwitchState.HALTED
    assert _encoded(restored) == _encoded(engine)


def test_an_engine_of_another_account_is_not_restored() -> None:
    other = RiskEngine(make_engine().config.model_copy(update={"account_id": "other"}))
    with pytest.raises(ValueError, match="account"):
        restore_risk_state(other, risk_state(make_engine()))
