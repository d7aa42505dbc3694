"""l2_book: walk the levels for the quantity and fill at the average price."""

from __future__ import annotations

import pytest
from jules_contracts import OrderFilled, OrderPartiallyFilled, OrderSide, OrderType
from jules_order_router.engine import L2Book, OrderRouterEngine

from .helpers import (  # type: ignore[import-not-found]
    T0,
    approve,
    feed,
    fills,
    make_book,
    make_engine,
)

BIDS = [(99.5, 1.0), (99.0, 2.0), (98.0, 5.0)]
ASKS = [(100.0, 1.0), (101.0, 1.0), (102.0, 5.0)]


def book_engine() -> OrderRouterEngine:
    engine: OrderRouterEngine = make_engine(fill_model=L2Book())
    return engine


def test_a_buy_walks_the_asks_and_fills_at_the_average_price() -> None:
    engine = book_engine()
    engine.on_decision(approve("a", OrderSide.BUY, 2.5, at=T0))

    [filled] = fills(feed(engine, [make_book(T0 + 1, BIDS, ASKS)]))

    assert filled.last_quantity == 2.5
    assert filled.last_price == pytest.approx((1 * 100.0 + 1 * 101.0 + 0.5 * 102.0) / 2.5)


def test_a_sell_walks_the_bids() -> None:
    engine = book_engine()
    engine.on_decision(approve("s", OrderSide.SELL, 2.0, at=T0))

    [filled] = fills(feed(engine, [make_book(T0 + 1, BIDS, ASKS)]))

    assert filled.last_price == pytest.approx((1 * 99.5 + 1 * 99.0) / 2.0)


def test_a_book_too_thin_fills_partially_and_the_rest_keeps_working() -> None:
    engine = book_engine()
    engine.on_decision(approve("a", OrderSide.BUY, 10.0, at=T0))

    first = fills(feed(engine, [make_book(T0 + 1, BIDS, ASKS)]))
    second = fills(feed(engine, [make_book(T0 + 2, BIDS, [(103.0, 50.0)])]))

    assert isinstance(first[0], OrderPartiallyFilled)
    assert (first[0].last_quantity, first[0].leaves_quantity) == (7.0, 3.0)
    assert first[0].last_price == pytest.approx((100.0 + 101.0 + 5 * 102.0) / 7)
    assert isinstance(second[0], OrderFilled)
    assert (second[0].last_quantity, second[0].last_price) == (3.0, 103.0)
    assert second[0].average_price == pytest.approx((100.0 + 101.0 + 5 * 102.0 + 3 * 103.0) / 10)


def test_a_marketable_limit_walks_only_the_levels_within_its_limit() -> None:
    engine = book_engine()
    engine.on_decision(
        approve("l", OrderSide.BUY, 3.0, at=T0, order_type=OrderType.LIMIT, limit=101.0)
    )

    [filled] = fills(feed(engine, [make_book(T0 + 1, BIDS, ASKS)]))

    assert (filled.last_quantity, filled.last_price) == (2.0, 100.5)
    assert filled.leaves_quantity == 1.0


def test_two_orders_on_one_snapshot_do_not_take_the_same_levels() -> None:
    engine = book_engine()
    engine.on_decision(approve("a", OrderSide.BUY, 1.0, at=T0))
    engine.on_decision(approve("b", OrderSide.BUY, 1.0, at=T0))

    first, second = fills(feed(engine, [make_book(T0 + 1, BIDS, ASKS)]))

    assert (first.last_price, second.last_price) == (100.0, 101.0)


def test_an_empty_side_fills_nothing() -> None:
    engine = book_engine()
    engine.on_decision(approve("a", OrderSide.BUY, 1.0, at=T0))

    assert feed(engine, [make_book(T0 + 1, BIDS, [])]) == []
