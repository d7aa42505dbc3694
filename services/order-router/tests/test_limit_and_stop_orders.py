"""Limit and stop rules on bars and quotes (see jules_order_router.engine.fills)."""

from __future__ import annotations

from typing import Any

import pytest
from jules_contracts import (
    Bar,
    LiquiditySide,
    OrderApproved,
    OrderFilled,
    OrderPartiallyFilled,
    OrderSide,
    OrderType,
)
from jules_order_router.engine import L1Quote, OrderRouterEngine

from .helpers import (  # type: ignore[import-not-found]
    T0,
    approve,
    bar_time,
    feed,
    fills,
    make_bar,
    make_engine,
    make_quote,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL
LIMIT, STOP, STOP_LIMIT = OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT
MAKER, TAKER = LiquiditySide.MAKER, LiquiditySide.TAKER
FillEvent = OrderFilled | OrderPartiallyFilled


def run(
    decision: OrderApproved, bars: list[Bar], **config: Any
) -> tuple[OrderRouterEngine, list[FillEvent]]:
    engine = make_engine(**config)
    engine.on_decision(decision)
    return engine, fills(feed(engine, bars))


@pytest.mark.parametrize(
    ("side", "limit", "bar", "price", "liquidity"),
    [
        # marketable at the open: taker at the open (price improvement over the limit)
        (BUY, 101.0, (100.0, 102.0, 99.0, 101.0), 100.0, TAKER),
        (SELL, 99.0, (100.0, 101.0, 98.0, 99.0), 100.0, TAKER),
        # reached within the bar: maker at the limit
        (BUY, 98.0, (100.0, 101.0, 97.5, 99.0), 98.0, MAKER),
        (SELL, 101.5, (100.0, 102.0, 99.0, 100.5), 101.5, MAKER),
        # touched exactly: fills (low <= limit / high >= limit)
        (BUY, 97.5, (100.0, 101.0, 97.5, 99.0), 97.5, MAKER),
    ],
)
def test_a_limit_order_on_its_first_bar_fills_at_the_better_of_open_and_limit(
    side: OrderSide,
    limit: float,
    bar: tuple[float, float, float, float],
    price: float,
    liquidity: LiquiditySide,
) -> None:
    decision = approve("l", side, 1, at=bar_time(0), order_type=LIMIT, limit=limit)

    _, [filled] = run(decision, [make_bar(1, *bar)])

    assert (filled.last_price, filled.liquidity) == (price, liquidity)


def test_a_limit_order_not_reached_keeps_working() -> None:
    decision = approve("l", BUY, 1, at=bar_time(0), order_type=LIMIT, limit=95.0)

    engine, events = run(decision, [make_bar(1, 100.0, 101.0, 95.01, 100.0)])

    assert events == []
    assert len(engine.working_orders) == 1


def test_a_resting_limit_order_later_gapped_through_fills_at_its_limit_as_maker() -> None:
    decision = approve("l", BUY, 1, at=bar_time(0), order_type=LIMIT, limit=95.0)

    _, [filled] = run(
        decision, [make_bar(1, 100.0, 101.0, 96.0, 97.0), make_bar(2, 90.0, 91.0, 89.0, 90.0)]
    )

    assert (filled.last_price, filled.liquidity, filled.event_time) == (95.0, MAKER, bar_time(2))


@pytest.mark.parametrize(
    ("side", "stop", "bar", "price"),
    [
        (BUY, 102.0, (100.0, 103.0, 99.0, 101.0), 102.0),  # triggered within the bar: at the stop
        (BUY, 102.0, (104.0, 105.0, 103.0, 104.0), 104.0),  # gapped over: at the open
        (SELL, 98.0, (100.0, 101.0, 97.0, 99.0), 98.0),
        (SELL, 98.0, (96.0, 97.0, 95.0, 96.0), 96.0),
    ],
)
def test_a_stop_triggers_on_the_high_or_low_and_fills_no_better_than_its_stop(
    side: OrderSide, stop: float, bar: tuple[float, float, float, float], price: float
) -> None:
    decision = approve("s", side, 1, at=bar_time(0), order_type=STOP, stop=stop)

    _, [filled] = run(decision, [make_bar(1, *bar)])

    assert (filled.last_price, filled.liquidity) == (price, TAKER)


def test_a_stop_not_reached_waits_and_triggers_on_a_later_bar() -> None:
    decision = approve("s", BUY, 1, at=bar_time(0), order_type=STOP, stop=105.0)

    engine, [filled] = run(
        decision, [make_bar(1, 100.0, 104.9, 99.0, 104.0), make_bar(2, 104.0, 106.0, 103.0, 105.5)]
    )

    assert (filled.last_price, filled.event_time) == (105.0, bar_time(2))
    order = engine.order(decision.client_order_id)
    assert order is not None
    assert order.triggered


def test_a_stop_limit_triggered_within_its_limit_fills_at_once() -> None:
    decision = approve("sl", BUY, 1, at=bar_time(0), order_type=STOP_LIMIT, stop=102.0, limit=103.0)

    _, [filled] = run(decision, [make_bar(1, 100.0, 104.0, 99.0, 103.5)])

    assert (filled.last_price, filled.liquidity) == (102.0, TAKER)


def test_a_stop_limit_gapping_beyond_its_limit_rests_and_fills_later_at_the_limit() -> None:
    decision = approve("sl", BUY, 1, at=bar_time(0), order_type=STOP_LIMIT, stop=102.0, limit=103.0)

    engine, events = run(decision, [make_bar(1, 105.0, 106.0, 104.0, 105.0)])
    assert events == []
    assert engine.working_orders[0].triggered
    [filled] = fills(feed(engine, [make_bar(2, 104.0, 104.5, 102.5, 103.0)]))

    assert (filled.last_price, filled.liquidity) == (103.0, MAKER)


def test_on_quotes_a_marketable_limit_takes_the_ask_and_a_resting_one_makes_at_its_limit() -> None:
    marketable = approve("m", BUY, 1, at=T0, order_type=LIMIT, limit=100.5)
    resting = approve("r", BUY, 1, at=T0, order_type=LIMIT, limit=99.0)
    engine = make_engine(fill_model=L1Quote())
    engine.on_decision(marketable)
    engine.on_decision(resting)

    first = fills(feed(engine, [make_quote(T0 + 1, 99.5, 100.0)]))
    second = fills(feed(engine, [make_quote(T0 + 2, 98.0, 98.5)]))

    assert [(e.client_order_id, e.last_price, e.liquidity) for e in first] == [
        (marketable.client_order_id, 100.0, TAKER)
    ]
    assert [(e.client_order_id, e.last_price, e.liquidity) for e in second] == [
        (resting.client_order_id, 99.0, MAKER)
    ]


def test_on_quotes_a_buy_stop_triggers_when_the_ask_reaches_it() -> None:
    decision = approve("s", BUY, 1, at=T0, order_type=STOP, stop=101.0)
    engine = make_engine(fill_model=L1Quote())
    engine.on_decision(decision)

    before = feed(engine, [make_quote(T0 + 1, 100.0, 100.9)])
    [filled] = fills(feed(engine, [make_quote(T0 + 2, 100.8, 101.2)]))

    assert before == []
    assert filled.last_price == 101.2
