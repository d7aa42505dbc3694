"""next_bar_open: an order accepted at t fills at the open of the first bar starting at/after t."""

from __future__ import annotations

from jules_contracts import LiquiditySide, OrderFilled, OrderSide, derive_event_id

from .helpers import (  # type: ignore[import-not-found]
    BTC,
    SECOND,
    approve,
    bar_time,
    feed,
    fills,
    make_bar,
    make_engine,
    make_quote,
)


def test_an_order_decided_at_a_bar_close_fills_at_the_next_bar_open() -> None:
    engine = make_engine()
    [accepted] = engine.on_decision(approve("a", OrderSide.BUY, 2, at=bar_time(0)))
    next_bar = make_bar(1, 100.25, 103.0, 99.0, 102.0)

    [filled] = engine.on_market(next_bar)

    assert isinstance(filled, OrderFilled)
    assert filled.last_price == 100.25
    assert filled.average_price == 100.25
    assert (filled.last_quantity, filled.cumulative_quantity, filled.leaves_quantity) == (2, 2, 0)
    assert filled.event_time == next_bar.event_time
    assert filled.liquidity is LiquiditySide.TAKER
    assert filled.event_id == derive_event_id("order.filled", accepted.event_id, "fill-1")
    assert filled.fill_id == f"{accepted.client_order_id}-1"
    assert filled.causation_id == accepted.event_id
    assert engine.working_orders == ()


def test_a_sell_fills_at_the_next_open_too() -> None:
    engine = make_engine()
    engine.on_decision(approve("s", OrderSide.SELL, 3, at=bar_time(0)))

    [filled] = fills(feed(engine, [make_bar(1, 99.5, 100.0, 98.0, 98.5)]))

    assert (filled.side, filled.last_price) == (OrderSide.SELL, 99.5)
    assert engine.position(BTC).quantity == -3.0


def test_a_bar_that_started_before_acceptance_does_not_fill_the_order() -> None:
    engine = make_engine()
    engine.on_decision(approve("a", OrderSide.BUY, 1, at=bar_time(0) + 30 * SECOND))

    during = engine.on_market(make_bar(1, 100.0))  # covers the acceptance time
    after = fills(engine.on_market(make_bar(2, 104.0)))

    assert during == []
    assert [f.last_price for f in after] == [104.0]


def test_a_gap_in_the_bars_fills_at_the_first_bar_after_it() -> None:
    engine = make_engine()
    engine.on_decision(approve("a", OrderSide.BUY, 1, at=bar_time(0)))

    [filled] = fills(feed(engine, [make_bar(7, 111.0, 112.0, 110.0, 111.5)]))

    assert filled.last_price == 111.0


def test_quotes_do_not_fill_under_the_bar_model_but_mark_the_position() -> None:
    engine = make_engine()
    engine.on_decision(approve("a", OrderSide.BUY, 1, at=bar_time(0)))

    assert engine.on_market(make_quote(bar_time(0) + SECOND, 99.0, 101.0)) == []
    feed(engine, [make_bar(1, 100.0, 100.0, 100.0, 100.0)])
    engine.on_market(make_quote(bar_time(1) + SECOND, 104.0, 106.0))

    assert engine.position(BTC).last_price == 105.0
    assert engine.equity == 100_000.0 - 100.0 + 105.0
