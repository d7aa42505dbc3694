"""Volume participation: at most a fraction of each bar's volume; the rest fills later."""

from __future__ import annotations

import pytest
from jules_contracts import OrderFilled, OrderPartiallyFilled, OrderSide, PriceType
from jules_order_router.engine import OrderStatus

from .helpers import (  # type: ignore[import-not-found]
    approve,
    bar_time,
    feed,
    fills,
    make_bar,
    make_engine,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def test_an_order_fills_over_several_bars_capped_by_participation() -> None:
    engine = make_engine(max_participation=0.1)
    decision = approve("a", BUY, 10, at=bar_time(0))
    engine.on_decision(decision)
    bars = [make_bar(i, 100.0 + i, volume=30.0) for i in range(1, 6)]

    events = fills(feed(engine, bars))

    assert [type(e) for e in events] == [
        OrderPartiallyFilled,
        OrderPartiallyFilled,
        OrderPartiallyFilled,
        OrderFilled,
    ]
    assert [e.last_quantity for e in events] == pytest.approx([3.0, 3.0, 3.0, 1.0])
    assert [e.last_price for e in events] == [101.0, 102.0, 103.0, 104.0]
    assert [e.leaves_quantity for e in events] == pytest.approx([7.0, 4.0, 1.0, 0.0])
    assert [e.cumulative_quantity for e in events] == pytest.approx([3.0, 6.0, 9.0, 10.0])
    assert events[-1].average_price == pytest.approx((3 * 101 + 3 * 102 + 3 * 103 + 104) / 10)
    assert [e.fill_id for e in events] == [f"{decision.client_order_id}-{n}" for n in (1, 2, 3, 4)]
    assert engine.order(decision.client_order_id).status is OrderStatus.FILLED


def test_orders_on_one_bar_share_its_participation_budget() -> None:
    engine = make_engine(max_participation=0.25)
    engine.on_decision(approve("buy", BUY, 3, at=bar_time(0)))
    engine.on_decision(approve("sell", SELL, 3, at=bar_time(0)))

    events = fills(feed(engine, [make_bar(1, 100.0, volume=16.0)]))

    assert [(e.side, e.last_quantity) for e in events] == [(BUY, 3.0), (SELL, 1.0)]


def test_a_trade_bar_without_volume_fills_nothing() -> None:
    engine = make_engine(max_participation=0.5)
    engine.on_decision(approve("a", BUY, 1, at=bar_time(0)))

    assert feed(engine, [make_bar(1, 100.0, volume=0.0)]) == []
    assert len(engine.working_orders) == 1


def test_quote_bars_carry_no_traded_volume_and_are_not_capped() -> None:
    engine = make_engine(max_participation=0.01)
    engine.on_decision(approve("a", BUY, 1_000_000, at=bar_time(0)))

    [filled] = fills(feed(engine, [make_bar(1, 1.0931, volume=0.0, price_type=PriceType.MID)]))

    assert filled.last_quantity == 1_000_000.0


def test_without_a_cap_the_whole_order_fills_on_one_bar_whatever_its_volume() -> None:
    engine = make_engine()
    engine.on_decision(approve("a", BUY, 500, at=bar_time(0)))

    [filled] = fills(feed(engine, [make_bar(1, 100.0, volume=1.0)]))

    assert filled.last_quantity == 500.0
