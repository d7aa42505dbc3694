"""bar_close_slippage: the next bar's close, moved against the order by the slippage."""

from __future__ import annotations

import pytest
from jules_contracts import OrderSide
from jules_order_router.engine import BarCloseSlippage

from .helpers import (  # type: ignore[import-not-found]
    approve,
    bar_time,
    feed,
    fills,
    make_bar,
    make_engine,
)


@pytest.mark.parametrize(
    ("side", "expected"),
    [(OrderSide.BUY, 200.0 * (1 + 25 / 10_000)), (OrderSide.SELL, 200.0 * (1 - 25 / 10_000))],
)
def test_the_close_is_moved_against_the_order(side: OrderSide, expected: float) -> None:
    engine = make_engine(fill_model=BarCloseSlippage(slippage_bps=25))
    engine.on_decision(approve("a", side, 1, at=bar_time(0)))

    [filled] = fills(feed(engine, [make_bar(1, 190.0, 205.0, 185.0, 200.0)]))

    assert filled.last_price == pytest.approx(expected, rel=1e-15)
    assert filled.event_time == bar_time(1)


def test_zero_slippage_fills_at_the_close_exactly() -> None:
    engine = make_engine(fill_model=BarCloseSlippage())
    engine.on_decision(approve("a", OrderSide.BUY, 1, at=bar_time(0)))

    [filled] = fills(feed(engine, [make_bar(1, 190.0, 205.0, 185.0, 200.0)]))

    assert filled.last_price == 200.0


def test_the_model_is_chosen_by_kind_from_plain_data() -> None:
    engine = make_engine(fill_model={"kind": "bar_close_slippage", "slippage_bps": 10})
    engine.on_decision(approve("a", OrderSide.SELL, 1, at=bar_time(0)))

    [filled] = fills(feed(engine, [make_bar(1, 100.0, 101.0, 99.0, 100.0)]))

    assert filled.last_price == pytest.approx(99.9)
