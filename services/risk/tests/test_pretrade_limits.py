"""Boundary tests of the order-level pre-trade controls: one order just inside each limit is
approved, one just outside is denied with exactly that control's reason code."""

from __future__ import annotations

from jules_contracts import OrderApproved, OrderDenied, OrderSide, RiskReason

from .helpers import (
    BTC,
    ETH,
    SECOND,
    T0,
    accepted,
    bar,
    decide,
    filled,
    intent,
    make_engine,
    quote,
    snapshot,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def _denied_for(decision: object, reason: RiskReason) -> OrderDenied:
    assert isinstance(decision, OrderDenied), decision
    assert decision.reasons == (reason,), decision.message
    return decision


# --- price collar (C1) ---------------------------------------------------------------------


def test_limit_price_exactly_at_the_collar_is_approved():
    engine = make_engine(price_collar_bps=50.0)
    engine.on_market(bar(T0, 100.0))

    decision = decide(engine, intent(T0, BUY, 1.0, limit_price=100.5))

    assert isinstance(decision, OrderApproved)


def test_limit_price_just_beyond_the_collar_is_denied():
    engine = make_engine(price_collar_bps=50.0)
    engine.on_market(bar(T0, 100.0))

    decision = decide(engine, intent(T0, SELL, 1.0, limit_price=99.49))

    denied = _denied_for(decision, RiskReason.PRICE_COLLAR)
    assert "limits.price_collar_bps 50" in denied.message
    assert "51 bps" in denied.message


def test_market_order_reference_price_is_collared_against_the_market():
    engine = make_engine(price_collar_bps=50.0)
    engine.on_market(bar(T0, 100.0))

    inside = decide(engine, intent(T0, BUY, 1.0, reference_price=100.49))
    outside = decide(engine, intent(T0, BUY, 2.0, reference_price=100.51))

    assert isinstance(inside, OrderApproved)
    _denied_for(outside, RiskReason.PRICE_COLLAR)


# --- reference price: missing and stale (C1) ---------------------------------------------


def test_order_without_any_market_data_is_denied_missing_reference_price():
    engine = make_engine()

    decision = decide(engine, intent(T0, BUY, 1.0, reference_price=100.0))

    denied = _denied_for(decision, RiskReason.MISSING_REFERENCE_PRICE)
    assert BTC in denied.message


def test_reference_price_exactly_at_max_age_is_approved():
    engine = make_engine(reference_max_age_ns=60 * SECOND, stale_market_data_max_age_ns=None)
    engine.on_market(bar(T0, 100.0))

    decision = decide(engine, intent(T0 + 60 * SECOND, BUY, 1.0))

    assert isinstance(decision, OrderApproved)


def test_reference_price_one_ns_older_than_max_age_is_denied_even_for_reducing_order():
    engine = make_engine(reference_max_age_ns=60 * SECOND, stale_market_data_max_age_ns=None)
    engine.on_market(bar(T0, 100.0))
    t = T0 + 60 * SECOND + 1

    decision = decide(engine, intent(t, SELL, 1.0), snapshot(t, positions={BTC: 5.0}))

    denied = _denied_for(decision, RiskReason.STALE_REFERENCE_PRICE)
    assert "limits.reference_max_age_ns 60000000000" in denied.message


# --- stale market data (C13) ---------------------------------------------------------------


def test_market_data_exactly_at_max_age_allows_increasing_order():
    engine = make_engine(reference_max_age_ns=None, stale_market_data_max_age_ns=30 * SECOND)
    engine.on_market(bar(T0, 100.0))

    decision = decide(engine, intent(T0 + 30 * SECOND, BUY, 1.0))

    assert isinstance(decision, OrderApproved)


def test_stale_market_data_denies_increasing_order_but_not_reducing_one():
    engine = make_engine(reference_max_age_ns=None, stale_market_data_max_age_ns=30 * SECOND)
    engine.on_market(bar(T0, 100.0))
    t = T0 + 30 * SECOND + 1
    portfolio = snapshot(t, positions={BTC: 5.0})

    increasing = decide(engine, intent(t, BUY, 1.0), portfolio)
    reducing = decide(engine, intent(t, SELL, 5.0), portfolio)

    _denied_for(increasing, RiskReason.STALE_MARKET_DATA)
    assert isinstance(reducing, OrderApproved)


def test_crossed_quote_denies_increasing_orders_until_an_uncrossed_quote():
    engine = make_engine()
    engine.on_market(quote(T0, 100.2, 100.0))

    crossed = decide(engine, intent(T0, BUY, 1.0))
    engine.on_market(quote(T0 + SECOND, 100.0, 100.2))
    uncrossed = decide(engine, intent(T0 + SECOND, BUY, 1.0))

    assert isinstance(crossed, OrderDenied)
    assert crossed.reasons == (RiskReason.MISSING_REFERENCE_PRICE, RiskReason.STALE_MARKET_DATA)
    assert isinstance(uncrossed, OrderApproved)


# --- order quantity and notional (C2, C3) --------------------------------------------------


def test_order_at_max_quantity_is_approved_and_just_above_is_denied():
    engine = make_engine(max_order_quantity=10.0)
    engine.on_market(bar(T0, 100.0))

    at_limit = decide(engine, intent(T0, BUY, 10.0))
    above = decide(engine, intent(T0, BUY, 10.001))

    assert isinstance(at_limit, OrderApproved)
    denied = _denied_for(above, RiskReason.ORDER_QUANTITY_LIMIT)
    assert "order quantity 10.001 exceeds limits.max_order_quantity 10" in denied.message


def test_order_at_max_notional_is_approved_and_just_above_is_denied():
    engine = make_engine(max_order_notional=1_000.0)
    engine.on_market(bar(T0, 100.0))

    at_limit = decide(engine, intent(T0, BUY, 10.0))
    above = decide(engine, intent(T0, BUY, 10.01))

    assert isinstance(at_limit, OrderApproved)
    denied = _denied_for(above, RiskReason.ORDER_NOTIONAL_LIMIT)
    assert "order notional 1001.00 exceeds limits.max_order_notional 1000.00" in denied.message


def test_limit_order_notional_uses_its_limit_price():
    engine = make_engine(max_order_notional=1_000.0, price_collar_bps=None)
    engine.on_market(bar(T0, 100.0))

    decision = decide(engine, intent(T0, BUY, 10.0, limit_price=101.0))

    _denied_for(decision, RiskReason.ORDER_NOTIONAL_LIMIT)


# --- position (C6): working orders count at once -------------------------------------------


def test_position_with_working_orders_at_limit_is_approved_and_above_is_denied():
    engine = make_engine(max_position_quantity=10.0)
    engine.on_market(bar(T0, 100.0))
    portfolio = snapshot(T0, positions={BTC: 4.0})
    first = decide(engine, intent(T0, BUY, 3.0), portfolio)

    at_limit = decide(engine, intent(T0, BUY, 3.0, client_order_id="second"), portfolio)
    above = decide(engine, intent(T0, BUY, 0.01, client_order_id="third"), portfolio)

    assert isinstance(first, OrderApproved)
    assert isinstance(at_limit, OrderApproved)
    denied = _denied_for(above, RiskReason.POSITION_LIMIT)
    assert "10.01 would exceed limits.max_position_quantity 10" in denied.message


def test_short_position_limit_is_symmetric():
    engine = make_engine(max_position_quantity=10.0)
    engine.on_market(bar(T0, 100.0))

    at_limit = decide(engine, intent(T0, SELL, 10.0))
    above = decide(engine, intent(T0, SELL, 0.5))

    assert isinstance(at_limit, OrderApproved)
    _denied_for(above, RiskReason.POSITION_LIMIT)


def test_position_notional_at_limit_is_approved_and_above_is_denied():
    engine = make_engine(max_position_notional=1_000.0)
    engine.on_market(bar(T0, 100.0))
    portfolio = snapshot(T0, positions={BTC: 6.0})

    at_limit = decide(engine, intent(T0, BUY, 4.0), portfolio)
    above = decide(engine, intent(T0, BUY, 0.1), portfolio)

    assert isinstance(at_limit, OrderApproved)
    _denied_for(above, RiskReason.POSITION_LIMIT)


def test_position_above_a_lowered_limit_can_still_be_reduced():
    engine = make_engine(max_position_quantity=5.0)
    engine.on_market(bar(T0, 100.0))

    decision = decide(engine, intent(T0, SELL, 2.0), snapshot(T0, positions={BTC: 20.0}))

    assert isinstance(decision, OrderApproved)


def test_reversal_beyond_the_position_limit_is_denied():
    engine = make_engine(max_position_quantity=15.0)
    engine.on_market(bar(T0, 100.0))

    decision = decide(engine, intent(T0, SELL, 30.0), snapshot(T0, positions={BTC: 10.0}))

    _denied_for(decision, RiskReason.POSITION_LIMIT)


# --- gross exposure ------------------------------------------------------------------------


def test_gross_exposure_at_limit_is_approved_and_above_is_denied():
    engine = make_engine(max_gross_exposure=1_000.0)
    engine.on_market(bar(T0, 100.0, instrument=BTC))
    engine.on_market(bar(T0, 50.0, instrument=ETH))
    portfolio = snapshot(T0, positions={BTC: -5.0})  # 500 of gross exposure

    at_limit = decide(engine, intent(T0, BUY, 10.0, instrument=ETH), portfolio)
    above = decide(engine, intent(T0, SELL, 0.01, instrument=BTC), portfolio)

    assert isinstance(at_limit, OrderApproved)
    denied = _denied_for(above, RiskReason.GROSS_EXPOSURE_LIMIT)
    assert "1001.00 would exceed limits.max_gross_exposure 1000.00" in denied.message


# --- open orders (C7) ----------------------------------------------------------------------


def test_open_orders_at_limit_approved_one_more_denied_until_one_fills():
    engine = make_engine(max_open_orders=2)
    engine.on_market(bar(T0, 100.0))
    first = intent(T0, BUY, 1.0, client_order_id="o1")
    decide(engine, first)

    second = decide(engine, intent(T0, BUY, 1.0, client_order_id="o2"))
    third = decide(engine, intent(T0, BUY, 1.0, client_order_id="o3"))
    engine.on_order_event(accepted(first, T0 + 1))
    engine.on_order_event(filled(first, T0 + 2, 100.0))
    fourth = decide(engine, intent(T0 + 2, BUY, 1.0, client_order_id="o4"))

    assert isinstance(second, OrderApproved)
    denied = _denied_for(third, RiskReason.OPEN_ORDERS_LIMIT)
    assert "limits.max_open_orders 2" in denied.message
    assert isinstance(fourth, OrderApproved)


# --- allowed instruments (C12) ---------------------------------------------------------------


def test_allowed_instrument_is_approved_and_other_is_denied():
    engine = make_engine(allowed_instruments=(BTC,))
    engine.on_market(bar(T0, 100.0, instrument=BTC))
    engine.on_market(bar(T0, 100.0, instrument=ETH))

    allowed = decide(engine, intent(T0, BUY, 1.0, instrument=BTC))
    other = decide(engine, intent(T0, BUY, 1.0, instrument=ETH))

    assert isinstance(allowed, OrderApproved)
    denied = _denied_for(other, RiskReason.INSTRUMENT_NOT_ALLOWED)
    assert ETH in denied.message


# --- invalid intents -----------------------------------------------------------------------


def test_intent_for_another_account_is_invalid():
    engine = make_engine()
    engine.on_market(bar(T0, 100.0))

    decision = decide(engine, intent(T0, BUY, 1.0, account="other-acct"))

    denied = _denied_for(decision, RiskReason.INVALID_ORDER)
    assert "other-acct" in denied.message


def test_reduce_only_order_that_would_flip_the_position_is_invalid():
    engine = make_engine()
    engine.on_market(bar(T0, 100.0))
    portfolio = snapshot(T0, positions={BTC: 5.0})

    exact = decide(engine, intent(T0, SELL, 5.0, reduce_only=True), portfolio)
    flip = decide(engine, intent(T0, SELL, 0.5, reduce_only=True), portfolio)

    assert isinstance(exact, OrderApproved)
    _denied_for(flip, RiskReason.INVALID_ORDER)


# --- several failures ----------------------------------------------------------------------


def test_every_failing_control_is_listed_most_important_first():
    engine = make_engine(
        max_order_quantity=1.0, max_order_notional=50.0, allowed_instruments=(ETH,)
    )
    engine.on_market(bar(T0, 100.0))

    decision = decide(engine, intent(T0, BUY, 2.0, limit_price=120.0))

    assert isinstance(decision, OrderDenied)
    assert decision.reasons == (
        RiskReason.INSTRUMENT_NOT_ALLOWED,
        RiskReason.PRICE_COLLAR,
        RiskReason.ORDER_QUANTITY_LIMIT,
        RiskReason.ORDER_NOTIONAL_LIMIT,
    )
    assert decision.message.count(";") == 3
