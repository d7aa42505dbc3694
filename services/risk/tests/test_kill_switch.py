"""Kill switch: REDUCING lets only risk-reducing orders through, HALTED nothing, latched."""

from __future__ import annotations

from jules_contracts import (
    AlertSeverity,
    CancelOrder,
    KillSwitchState,
    OrderApproved,
    OrderDenied,
    OrderSide,
    PortfolioSnapshot,
    RiskAlert,
    RiskReason,
)
from jules_risk.engine import RiskEngine

from .helpers import (
    BTC,
    ETH,
    SECOND,
    T0,
    bar,
    decide,
    engage,
    intent,
    make_engine,
    release,
    snapshot,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def _engine_long_10() -> tuple[RiskEngine, PortfolioSnapshot]:
    engine = make_engine()
    engine.on_market(bar(T0, 100.0))
    engine.on_market(bar(T0, 200.0, instrument=ETH))
    return engine, snapshot(T0, positions={BTC: 10.0})


def test_reducing_accepts_a_reducing_order_and_denies_an_increasing_one():
    engine, portfolio = _engine_long_10()
    engine.on_control(engage(T0, KillSwitchState.REDUCING))

    reduce = decide(engine, intent(T0, SELL, 4.0), portfolio)
    increase = decide(engine, intent(T0, BUY, 1.0), portfolio)
    flip = decide(engine, intent(T0, SELL, 7.0), portfolio)  # 10 - 4 working - 7 = short 1

    assert isinstance(reduce, OrderApproved)
    for decision in (increase, flip):
        assert isinstance(decision, OrderDenied)
        assert decision.reasons == (RiskReason.KILL_SWITCH_REDUCING,)


def test_halted_denies_everything_and_stays_latched_until_released():
    engine, portfolio = _engine_long_10()
    engine.on_control(engage(T0, KillSwitchState.HALTED))

    reduce = decide(engine, intent(T0, SELL, 4.0), portfolio)
    engine.on_control(engage(T0 + 1, KillSwitchState.REDUCING))  # cannot lower a HALTED
    still = decide(engine, intent(T0 + 1, SELL, 4.0, client_order_id="again"), portfolio)
    events = engine.on_control(release(T0 + 2))
    after = decide(engine, intent(T0 + 2, BUY, 1.0), portfolio)

    for decision in (reduce, still):
        assert isinstance(decision, OrderDenied)
        assert decision.reasons == (RiskReason.KILL_SWITCH_HALTED,)
    assert engine.kill_switch_state() is KillSwitchState.ACTIVE
    assert [e.code for e in events if isinstance(e, RiskAlert)] == ["KILL_SWITCH_RELEASED"]
    assert isinstance(after, OrderApproved)


def test_halt_cancels_every_working_order_and_raises_a_critical_alert():
    engine, portfolio = _engine_long_10()
    orders = [intent(T0, BUY, 1.0, client_order_id=f"w{i}") for i in (2, 1)]
    for order in orders:
        decide(engine, order, portfolio)

    events = engine.on_control(engage(T0 + SECOND, KillSwitchState.HALTED))

    alert, *cancels = events
    assert isinstance(alert, RiskAlert)
    assert (alert.code, alert.severity) == ("KILL_SWITCH_ENGAGED", AlertSeverity.CRITICAL)
    cancel_orders = [c for c in cancels if isinstance(c, CancelOrder)]
    assert cancel_orders == cancels
    assert [c.client_order_id for c in cancel_orders] == ["w1", "w2"]
    assert {c.source for c in cancel_orders} == {"risk"}


def test_instrument_kill_switch_leaves_other_instruments_trading():
    engine, portfolio = _engine_long_10()
    engine.on_control(engage(T0, KillSwitchState.HALTED, instrument=BTC))

    btc = decide(engine, intent(T0, BUY, 1.0), portfolio)
    eth = decide(engine, intent(T0, BUY, 1.0, instrument=ETH), portfolio)
    engine.on_control(release(T0 + 1, instrument=BTC))
    btc_after = decide(engine, intent(T0 + 1, BUY, 1.0), portfolio)

    assert isinstance(btc, OrderDenied)
    assert btc.reasons == (RiskReason.KILL_SWITCH_HALTED,)
    assert isinstance(eth, OrderApproved)
    assert isinstance(btc_after, OrderApproved)


def test_book_halt_overrides_an_instrument_in_reducing():
    engine, _ = _engine_long_10()
    engine.on_control(engage(T0, KillSwitchState.REDUCING, instrument=BTC))
    engine.on_control(engage(T0, KillSwitchState.HALTED))

    assert engine.kill_switch_state(BTC) is KillSwitchState.HALTED
    assert engine.kill_switch_state(ETH) is KillSwitchState.HALTED


def test_command_for_another_service_is_ignored():
    engine, portfolio = _engine_long_10()
    command = engage(T0, KillSwitchState.HALTED).model_copy(update={"target": "signal"})

    events = engine.on_control(command)

    assert events == []
    assert isinstance(decide(engine, intent(T0, BUY, 1.0), portfolio), OrderApproved)
