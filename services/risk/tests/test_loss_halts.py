"""Daily-loss and drawdown halts from portfolio snapshots."""

from __future__ import annotations

from typing import Any

import pytest
from jules_contracts import (
    AlertSeverity,
    Event,
    OrderApproved,
    OrderDenied,
    OrderSide,
    ReleaseKillSwitch,
    RiskAlert,
    RiskReason,
    SubmitOrder,
    derive_event_id,
    parse_utc_nanos,
)
from jules_risk.engine import RiskEngine

from .helpers import BTC, MINUTE, T0, bar, decide, intent, make_engine, signal, snapshot

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def _alert_codes(events: list[Event]) -> list[str]:
    return [e.code for e in events if isinstance(e, RiskAlert)]


def _engine(**limits: Any) -> RiskEngine:
    engine = make_engine(reference_max_age_ns=None, stale_market_data_max_age_ns=None, **limits)
    engine.on_market(bar(T0, 100.0))
    return engine


def test_daily_loss_at_limit_keeps_trading_and_just_beyond_halts_increasing_orders():
    engine = _engine(max_daily_loss=1_000.0)
    engine.on_portfolio(snapshot(T0, 100_000.0, {BTC: 10.0}))

    inside = snapshot(T0 + MINUTE, 99_000.0, {BTC: 10.0})
    outside = snapshot(T0 + 2 * MINUTE, 98_999.0, {BTC: 10.0})

    at_limit = engine.on_portfolio(inside)
    still = decide(engine, intent(T0 + MINUTE, BUY, 1.0), inside)
    beyond = engine.on_portfolio(outside)
    increase = decide(engine, intent(T0 + 2 * MINUTE, BUY, 1.0), outside)
    reduce = decide(engine, intent(T0 + 2 * MINUTE, SELL, 5.0), outside)

    assert at_limit == []
    assert isinstance(still, OrderApproved)
    (alert,) = beyond
    assert isinstance(alert, RiskAlert)
    assert (alert.code, alert.severity) == ("DAILY_LOSS_LIMIT", AlertSeverity.CRITICAL)
    assert "daily loss 1001.00 exceeds limits.max_daily_loss 1000.00" in alert.message
    assert alert.metrics["daily_loss"] == 1_001.0
    assert isinstance(increase, OrderDenied)
    assert increase.reasons == (RiskReason.DAILY_LOSS_LIMIT,)
    assert isinstance(reduce, OrderApproved)


def test_daily_loss_fraction_of_start_of_day_equity():
    engine = _engine(max_daily_loss_fraction=0.02)
    engine.on_portfolio(snapshot(T0, 50_000.0))

    at_limit = engine.on_portfolio(snapshot(T0 + MINUTE, 49_000.0))
    beyond = engine.on_portfolio(snapshot(T0 + 2 * MINUTE, 48_999.0))

    assert at_limit == []
    assert _alert_codes(beyond) == ["DAILY_LOSS_LIMIT"]


def test_daily_loss_halt_lifts_at_the_next_utc_day_with_new_start_equity():
    engine = _engine(max_daily_loss=1_000.0)
    engine.on_portfolio(snapshot(T0, 100_000.0))
    engine.on_portfolio(snapshot(T0 + MINUTE, 98_000.0))
    midnight = parse_utc_nanos("2024-08-09T00:00:00Z")
    engine.on_market(bar(midnight, 100.0))

    new_day = snapshot(midnight, 97_500.0)

    events = engine.on_portfolio(new_day)
    decision = decide(engine, intent(midnight, BUY, 1.0), new_day)

    # Start of the new day is the last equity before midnight (98,000): loss 500, no halt.
    assert _alert_codes(events) == ["DAILY_LOSS_RESET"]
    assert isinstance(decision, OrderApproved)
    assert engine.portfolio_metrics().daily_loss == 500.0


def test_drawdown_at_limit_keeps_trading_and_beyond_halts_until_released():
    engine = _engine(max_drawdown=0.1)
    engine.on_portfolio(snapshot(T0, 100_000.0))
    engine.on_portfolio(snapshot(T0 + MINUTE, 120_000.0))

    breach = snapshot(T0 + 3 * MINUTE, 107_999.0)
    recovery = snapshot(T0 + 4 * MINUTE, 119_000.0)

    at_limit = engine.on_portfolio(snapshot(T0 + 2 * MINUTE, 108_000.0))
    beyond = engine.on_portfolio(breach)
    denied = decide(engine, intent(T0 + 3 * MINUTE, BUY, 1.0), breach)
    recovered = engine.on_portfolio(recovery)
    still_denied = decide(engine, intent(T0 + 4 * MINUTE, BUY, 1.0), recovery)
    engine.on_control(
        ReleaseKillSwitch(
            event_id=derive_event_id("test-release"),
            source="test",
            event_time=T0 + 5 * MINUTE,
            reason="reviewed",
            operator="risk-officer",
        )
    )
    after_release = decide(engine, intent(T0 + 5 * MINUTE, BUY, 1.0), recovery)

    assert at_limit == []
    assert _alert_codes(beyond) == ["DRAWDOWN_LIMIT"]
    assert isinstance(denied, OrderDenied)
    assert denied.reasons == (RiskReason.DRAWDOWN_LIMIT,)
    assert recovered == []
    assert isinstance(still_denied, OrderDenied)
    assert isinstance(after_release, OrderApproved)
    assert engine.portfolio_metrics().peak_equity == 119_000.0


def test_snapshot_passed_with_a_signal_also_sets_halts():
    engine = _engine(max_daily_loss=100.0)
    engine.on_portfolio(snapshot(T0, 10_000.0))
    events = engine.on_signal(signal(T0 + MINUTE, 0.5), snapshot(T0 + MINUTE, 9_800.0))

    alert, order, decision = events
    assert isinstance(alert, RiskAlert)
    assert alert.code == "DAILY_LOSS_LIMIT"
    assert isinstance(order, SubmitOrder)
    assert isinstance(decision, OrderDenied)
    assert decision.reasons == (RiskReason.DAILY_LOSS_LIMIT,)
    assert order.quantity == 9_800.0 * 0.5 / 100.0


def test_same_snapshot_twice_alerts_once():
    engine = _engine(max_daily_loss=100.0)
    engine.on_portfolio(snapshot(T0, 10_000.0))
    losing = snapshot(T0 + MINUTE, 9_000.0)

    first = engine.on_portfolio(losing)
    second = engine.on_portfolio(losing)

    assert _alert_codes(first) == ["DAILY_LOSS_LIMIT"]
    assert second == []


def test_snapshot_of_another_account_is_ignored_with_an_alert():
    engine = _engine(max_daily_loss=100.0)
    engine.on_portfolio(snapshot(T0, 10_000.0))

    events = engine.on_portfolio(snapshot(T0 + MINUTE, 1.0, account="someone-else"))

    assert _alert_codes(events) == ["ACCOUNT_MISMATCH"]
    assert engine.portfolio_metrics().equity == 10_000.0


def test_portfolio_metrics_follow_the_equity_curve():
    engine = _engine()
    curve = [100.0, 120.0, 90.0, 110.0]
    for i, equity in enumerate(curve):
        engine.on_portfolio(snapshot(T0 + i * MINUTE, equity, {BTC: 1.0}))

    metrics = engine.portfolio_metrics(velocity_window=2)

    # drawdowns 0, 0, 0.25, 1 - 110/120
    assert metrics.drawdown == pytest.approx(1 - 110 / 120)
    assert metrics.max_drawdown == pytest.approx(0.25)
    assert metrics.drawdown_velocity == pytest.approx((1 - 110 / 120 - 0.0) / 2)
    assert metrics.concentration == 1.0
    assert metrics.peak_equity == 120.0
