"""l1_quote: buys pay the ask, sells get the bid, at most the quoted size if configured."""

from __future__ import annotations

from typing import Any

import pytest
from jules_contracts import LiquiditySide, OrderFilled, OrderPartiallyFilled, OrderSide
from jules_order_router.engine import L1Quote, OrderRouterEngine

from .helpers import (  # type: ignore[import-not-found]
    SECOND,
    T0,
    approve,
    feed,
    fills,
    make_bar,
    make_engine,
    make_quote,
)

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def l1_engine(**kwargs: Any) -> OrderRouterEngine:
    engine: OrderRouterEngine = make_engine(fill_model=L1Quote(**kwargs))
    return engine


@pytest.mark.parametrize(("side", "price"), [(BUY, 1.09315), (SELL, 1.09312)])
def test_an_order_crosses_the_spread(side: OrderSide, price: float) -> None:
    engine = l1_engine()
    engine.on_decision(approve("a", side, 1_000, at=T0))

    [filled] = fills(feed(engine, [make_quote(T0 + SECOND, 1.09312, 1.09315)]))

    assert filled.last_price == price
    assert filled.liquidity is LiquiditySide.TAKER


def test_the_quoted_size_limits_a_fill_and_the_rest_fills_on_later_quotes() -> None:
    engine = l1_engine()
    engine.on_decision(approve("a", BUY, 1.0, at=T0))

    events = fills(
        feed(
            engine,
            [
                make_quote(T0 + 1, 100.0, 100.5, ask_size=0.3),
                make_quote(T0 + 2, 100.2, 100.7, ask_size=0.5),
                make_quote(T0 + 3, 100.4, 100.9, ask_size=5.0),
            ],
        )
    )

    assert [type(e) for e in events] == [OrderPartiallyFilled, OrderPartiallyFilled, OrderFilled]
    assert [e.last_quantity for e in events] == pytest.approx([0.3, 0.5, 0.2])
    assert [e.last_price for e in events] == [100.5, 100.7, 100.9]
    assert events[-1].leaves_quantity == 0.0
    assert events[-1].cumulative_quantity == 1.0
    expected_average = (0.3 * 100.5 + 0.5 * 100.7 + 0.2 * 100.9) / 1.0
    assert events[-1].average_price == pytest.approx(expected_average, rel=1e-12)


def test_a_zero_quoted_size_means_no_size_and_does_not_limit() -> None:
    engine = l1_engine()
    engine.on_decision(approve("a", SELL, 5_000_000, at=T0))

    [filled] = fills(feed(engine, [make_quote(T0 + 1, 1.0931, 1.0932)]))

    assert filled.last_quantity == 5_000_000.0


def test_sizes_are_ignored_when_not_limiting_to_them() -> None:
    engine = l1_engine(limit_to_quoted_size=False)
    engine.on_decision(approve("a", BUY, 10, at=T0))

    [filled] = fills(feed(engine, [make_quote(T0 + 1, 99.0, 100.0, ask_size=0.1)]))

    assert filled.last_quantity == 10.0


def test_two_orders_share_the_quoted_size_in_acceptance_order() -> None:
    engine = l1_engine()
    engine.on_decision(approve("first", BUY, 0.6, at=T0))
    engine.on_decision(approve("second", BUY, 0.6, at=T0))

    events = fills(feed(engine, [make_quote(T0 + 1, 99.0, 100.0, ask_size=1.0)]))

    assert [e.last_quantity for e in events] == pytest.approx([0.6, 0.4])
    assert isinstance(events[0], OrderFilled)
    assert isinstance(events[1], OrderPartiallyFilled)


def test_bars_do_not_fill_under_the_quote_model() -> None:
    engine = l1_engine()
    engine.on_decision(approve("a", BUY, 1, at=T0))

    assert feed(engine, [make_bar(0, 100.0), make_bar(1, 100.0)]) == []
    assert len(engine.working_orders) == 1
