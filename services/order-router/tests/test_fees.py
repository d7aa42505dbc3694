"""Maker/taker fees in basis points with a per-order minimum."""

from __future__ import annotations

import pytest
from jules_contracts import LiquiditySide, OrderSide, OrderType
from jules_order_router.engine import FeeSchedule

from .helpers import (  # type: ignore[import-not-found]
    BTC,
    approve,
    bar_time,
    feed,
    fills,
    make_bar,
    make_engine,
)

BUY = OrderSide.BUY


def test_a_market_order_pays_the_taker_fee_on_its_notional() -> None:
    engine = make_engine(fees=FeeSchedule(taker_bps=10, maker_bps=2))
    engine.on_decision(approve("a", BUY, 2, at=bar_time(0)))

    [filled] = fills(feed(engine, [make_bar(1, 250.0)]))

    assert filled.liquidity is LiquiditySide.TAKER
    assert filled.fee == pytest.approx(2 * 250.0 * 10 / 10_000)
    assert filled.fee_currency == "USDT"
    assert engine.cash == pytest.approx(100_000.0 - 500.0 - 0.5)


def test_a_resting_limit_order_pays_the_maker_fee() -> None:
    engine = make_engine(fees=FeeSchedule(taker_bps=10, maker_bps=2))
    engine.on_decision(approve("l", BUY, 4, at=bar_time(0), order_type=OrderType.LIMIT, limit=95.0))

    [filled] = fills(feed(engine, [make_bar(1, 100.0, 101.0, 94.0, 99.0)]))

    assert (filled.liquidity, filled.last_price) == (LiquiditySide.MAKER, 95.0)
    assert filled.fee == pytest.approx(4 * 95.0 * 2 / 10_000)


def test_a_maker_rebate_is_a_negative_fee_that_adds_cash() -> None:
    engine = make_engine(fees=FeeSchedule(maker_bps=-1, min_fee=5.0))
    engine.on_decision(
        approve("l", BUY, 10, at=bar_time(0), order_type=OrderType.LIMIT, limit=90.0)
    )

    [filled] = fills(feed(engine, [make_bar(1, 100.0, 100.0, 85.0, 95.0)]))

    assert filled.fee == pytest.approx(-0.09)  # rebates pay no minimum
    assert engine.cash == pytest.approx(100_000.0 - 900.0 + 0.09)


def test_a_small_order_pays_the_minimum_fee() -> None:
    engine = make_engine(fees=FeeSchedule(taker_bps=10, min_fee=1.5))
    engine.on_decision(approve("a", BUY, 0.01, at=bar_time(0)))

    [filled] = fills(feed(engine, [make_bar(1, 100.0)]))

    assert filled.fee == 1.5


def test_the_minimum_fee_is_charged_once_per_order_across_partial_fills() -> None:
    engine = make_engine(fees=FeeSchedule(taker_bps=10, min_fee=1.0), max_participation=0.5)
    engine.on_decision(approve("a", BUY, 30, at=bar_time(0)))

    events = fills(
        feed(engine, [make_bar(i, 100.0, volume=20.0) for i in range(1, 4)])  # 10 per bar
    )

    # bps fees are 1.0 per fill (10 * 100 * 10 bps): the first fill's 1.0 meets the minimum
    assert [e.fee for e in events] == pytest.approx([1.0, 1.0, 1.0])
    assert sum(e.fee for e in events) == pytest.approx(max(1.0, 3.0))


def test_the_minimum_tops_up_on_the_first_fill_and_later_fills_pay_only_beyond_it() -> None:
    engine = make_engine(fees=FeeSchedule(taker_bps=10, min_fee=2.5), max_participation=0.5)
    engine.on_decision(approve("a", BUY, 30, at=bar_time(0)))

    events = fills(feed(engine, [make_bar(i, 100.0, volume=20.0) for i in range(1, 4)]))

    assert [e.fee for e in events] == pytest.approx([2.5, 0.0, 0.5])
    assert engine.snapshot(bar_time(3), events[-1]).fees_paid == pytest.approx(3.0)
    assert engine.position(BTC).quantity == 30.0
