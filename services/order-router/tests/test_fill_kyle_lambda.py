"""kyle_lambda: reference price plus lambda times the signed quantity."""

from __future__ import annotations

from typing import Any

import pytest
from jules_contracts import OrderSide, OrderType
from jules_order_router.engine import KyleLambda, OrderRouterEngine

from .helpers import (  # type: ignore[import-not-found]
    T0,
    approve,
    bar_time,
    feed,
    fills,
    make_bar,
    make_engine,
    make_quote,
    make_trade,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def kyle_engine(impact_lambda: float, **kwargs: Any) -> OrderRouterEngine:
    model = KyleLambda(impact_lambda=impact_lambda)
    engine: OrderRouterEngine = make_engine(fill_model=model, **kwargs)
    return engine


@pytest.mark.parametrize(("side", "price"), [(BUY, 100.0 + 0.02 * 50), (SELL, 100.0 - 0.02 * 50)])
def test_the_impact_moves_the_bar_open_against_the_order(side: OrderSide, price: float) -> None:
    engine = kyle_engine(0.02)
    engine.on_decision(approve("a", side, 50, at=bar_time(0)))

    [filled] = fills(feed(engine, [make_bar(1, 100.0, 110.0, 90.0, 105.0)]))

    assert filled.last_price == pytest.approx(price, rel=1e-15)


def test_on_a_quote_the_reference_is_the_mid() -> None:
    engine = kyle_engine(0.001)
    engine.on_decision(approve("a", BUY, 100, at=T0))

    [filled] = fills(feed(engine, [make_quote(T0 + 1, 99.0, 101.0)]))

    assert filled.last_price == pytest.approx(100.0 + 0.1)


def test_on_a_trade_the_reference_is_its_price_and_participation_caps_the_size() -> None:
    engine = kyle_engine(0.01, max_participation=0.5)
    engine.on_decision(approve("a", SELL, 10, at=T0))

    [partial] = fills(feed(engine, [make_trade(T0 + 1, 200.0, 4.0)]))

    assert partial.last_quantity == 2.0
    assert partial.last_price == pytest.approx(200.0 - 0.01 * 2.0)


def test_the_impact_is_capped_so_a_big_sell_keeps_a_positive_price() -> None:
    engine = make_engine(fill_model=KyleLambda(impact_lambda=10.0, max_impact_fraction=0.25))
    engine.on_decision(approve("a", SELL, 1_000, at=bar_time(0)))

    [filled] = fills(feed(engine, [make_bar(1, 100.0)]))

    assert filled.last_price == 75.0


def test_a_limit_order_fills_the_quantity_whose_impact_stays_within_the_limit() -> None:
    engine = kyle_engine(0.5)
    engine.on_decision(
        approve("l", BUY, 10, at=bar_time(0), order_type=OrderType.LIMIT, limit=102.0)
    )

    [partial] = fills(feed(engine, [make_bar(1, 100.0, 100.0, 100.0, 100.0)]))

    assert partial.last_quantity == pytest.approx(4.0)  # 100 + 0.5 * 4 = 102
    assert partial.last_price == pytest.approx(102.0)
    assert partial.last_price <= 102.0
