"""ES and VaR budgets on the post-trade portfolio, from the engine's bar-return history."""

from __future__ import annotations

from typing import Any

import pytest
from jules_contracts import OrderApproved, OrderDenied, OrderSide, RiskReason
from jules_risk.engine import RiskEngine

from .helpers import BTC, ETH, MINUTE, T0, bar, decide, intent, make_engine, snapshot

BUY, SELL = OrderSide.BUY, OrderSide.SELL

# 40 bar returns; the four worst are -5 %, -4 %, -3 %, -2 %.
RETURNS = [0.01, -0.005, 0.003, 0.0] * 9 + [-0.02, -0.03, -0.04, -0.05]
TAIL_MEAN = (0.02 + 0.03 + 0.04 + 0.05) / 4  # ES at 90 % of 40 observations: mean of worst 4
FOURTH_WORST = 0.02  # VaR at 90 %: the 4th largest loss


def _feed(
    engine: RiskEngine, returns: list[float], *, instrument: str = BTC, start: float = 100.0
) -> tuple[float, int]:
    """Bars whose closes have exactly ``returns``; returns the last close and time."""
    close, t = start, T0
    engine.on_market(bar(t, close, instrument=instrument))
    for r in returns:
        close *= 1 + r
        t += MINUTE
        engine.on_market(bar(t, close, instrument=instrument))
    return close, t


def _engine(**limits: Any) -> RiskEngine:
    return make_engine(min_risk_observations=20, **limits)


def test_order_whose_post_trade_es_is_within_budget_is_approved_and_above_is_denied():
    budget = 1_000.0
    engine = _engine(es_budget=budget, es_confidence=0.9)
    price, t = _feed(engine, RETURNS)
    max_quantity = budget / (price * TAIL_MEAN)  # ES = quantity * price * TAIL_MEAN

    inside = decide(engine, intent(t, BUY, max_quantity * 0.999), snapshot(t))
    outside = decide(
        engine, intent(t, BUY, max_quantity * 1.002, client_order_id="big"), snapshot(t)
    )

    assert isinstance(inside, OrderApproved)
    assert isinstance(outside, OrderDenied)
    assert outside.reasons == (RiskReason.ES_LIMIT,)
    assert "limits.es_budget 1000.00" in outside.message


def test_es_counts_the_position_already_held():
    budget = 1_000.0
    engine = _engine(es_budget=budget, es_confidence=0.9)
    price, t = _feed(engine, RETURNS)
    max_quantity = budget / (price * TAIL_MEAN)
    held = snapshot(t, positions={BTC: max_quantity * 0.6})

    decision = decide(engine, intent(t, BUY, max_quantity * 0.5), held)

    assert isinstance(decision, OrderDenied)
    assert decision.reasons == (RiskReason.ES_LIMIT,)


def test_order_lowering_es_is_approved_even_above_budget():
    engine = _engine(es_budget=10.0, es_confidence=0.9)
    _, t = _feed(engine, RETURNS)

    decision = decide(engine, intent(t, SELL, 5.0), snapshot(t, positions={BTC: 100.0}))

    assert isinstance(decision, OrderApproved)


def test_hedge_in_an_opposite_instrument_lowers_es_and_is_approved():
    engine = _engine(es_budget=1.0, es_confidence=0.9)
    _, t = _feed(engine, RETURNS, instrument=BTC)
    _, t = _feed(engine, [-r for r in RETURNS], instrument=ETH)  # mirror image of BTC
    held = snapshot(t, positions={BTC: 10.0})

    # Buying ETH worth about the BTC position offsets most scenario losses.
    decision = decide(engine, intent(t, BUY, 1.0, instrument=ETH), held)
    more_btc = decide(engine, intent(t, BUY, 1.0, client_order_id="more-btc"), held)

    assert isinstance(decision, OrderApproved)
    assert isinstance(more_btc, OrderDenied)
    assert more_btc.reasons == (RiskReason.ES_LIMIT,)


def test_too_little_history_denies_increasing_orders_only():
    engine = _engine(es_budget=1_000.0)
    _, t = _feed(engine, RETURNS[:10])

    increasing = decide(engine, intent(t, BUY, 1.0), snapshot(t))
    reducing = decide(engine, intent(t, SELL, 1.0), snapshot(t, positions={BTC: 5.0}))

    assert isinstance(increasing, OrderDenied)
    assert increasing.reasons == (RiskReason.ES_LIMIT,)
    assert "limits.min_risk_observations 20" in increasing.message
    assert isinstance(reducing, OrderApproved)


def test_order_whose_post_trade_var_is_within_budget_is_approved_and_above_is_denied():
    budget = 500.0
    engine = _engine(var_budget=budget, var_confidence=0.9)
    price, t = _feed(engine, RETURNS)
    max_quantity = budget / (price * FOURTH_WORST)

    inside = decide(engine, intent(t, BUY, max_quantity * 0.999), snapshot(t))
    outside = decide(
        engine, intent(t, BUY, max_quantity * 1.002, client_order_id="big"), snapshot(t)
    )

    assert isinstance(inside, OrderApproved)
    assert isinstance(outside, OrderDenied)
    assert outside.reasons == (RiskReason.VAR_LIMIT,)


def test_portfolio_metrics_report_es_of_current_holdings():
    engine = _engine(es_confidence=0.9)
    price, t = _feed(engine, RETURNS)
    engine.on_portfolio(snapshot(t, positions={BTC: 2.0}))

    metrics = engine.portfolio_metrics()

    assert metrics.observations == len(RETURNS)
    assert metrics.es == pytest.approx(2.0 * price * TAIL_MEAN, rel=1e-12)
